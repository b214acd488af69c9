package mock

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// entityTag is a parsed entity-tag (RFC 9110, section 8.8.3). opaque is the
// text between the quotes.
type entityTag struct {
	weak   bool
	opaque string
}

// parseETags parses an If-Match or If-None-Match field value: "*" or a
// comma-separated list of entity-tags. ok is false when the value is
// malformed; tags then holds the tags read before the fault.
func parseETags(s string) (tags []entityTag, star, ok bool) {
	s = strings.TrimSpace(s)
	if s == "*" {
		return nil, true, true
	}
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return tags, false, len(tags) > 0
		}
		t, rest, good := scanETag(s)
		if !good {
			return tags, false, false
		}
		tags = append(tags, t)
		s = strings.TrimLeft(rest, " \t")
		if s != "" && s[0] != ',' {
			return tags, false, false
		}
	}
}

// scanETag reads one entity-tag from the start of s.
func scanETag(s string) (t entityTag, rest string, ok bool) {
	if strings.HasPrefix(s, "W/") {
		t.weak, s = true, s[2:]
	}
	if len(s) < 2 || s[0] != '"' {
		return t, s, false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			t.opaque = s[1:i]
			return t, s[i+1:], true
		case c == 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80:
		default:
			return t, s, false
		}
	}
	return t, s, false
}

// verdict is the outcome of evaluating a request's preconditions.
type verdict int

const (
	pass        verdict = iota // go on with the request
	fail                       // 412, or the conflict status for a write
	notModified                // 304 Not Modified (GET and HEAD)
	malformed                  // 400 Bad Request (WithWeakIfMatch)
)

// evaluate applies the preconditions of h to the current document d (nil
// when there is none) in the order of RFC 9110, section 13.2.2. safe tells
// a GET or HEAD, for which a matching If-None-Match means 304. The string
// explains a verdict other than pass.
func (b *Backend) evaluate(h http.Header, d *document, safe bool) (verdict, string) {
	if v := h.Values("If-Match"); len(v) > 0 {
		if res, detail := b.ifMatch(strings.Join(v, ","), d); res != pass {
			return res, detail
		}
	} else if d != nil && !unmodifiedSince(h.Get("If-Unmodified-Since"), d) {
		return fail, "the document was modified after If-Unmodified-Since"
	}
	if v := h.Values("If-None-Match"); len(v) > 0 {
		if !b.ifNoneMatch(strings.Join(v, ","), d) {
			if safe {
				return notModified, ""
			}
			return fail, "If-None-Match matches the current document"
		}
	} else if safe && d != nil && !modifiedSince(h.Get("If-Modified-Since"), d) {
		return notModified, ""
	}
	return pass, ""
}

// ifMatch evaluates If-Match (RFC 9110, section 13.1.1): strong comparison,
// or weak comparison of byte-exact weak tags under WithWeakIfMatch.
func (b *Backend) ifMatch(value string, d *document) (verdict, string) {
	tags, star, ok := parseETags(value)
	if b.cfg.weakIfMatch && !star && (!ok || !allWeak(tags)) {
		return malformed, "If-Match must echo the ETag byte for byte, W/ included: " + value
	}
	if d == nil {
		return fail, "If-Match " + value + " but there is no current document"
	}
	if star {
		return pass, ""
	}
	cur := strconv.FormatUint(d.tag, 10)
	for _, t := range tags {
		if t.opaque == cur && (b.cfg.weakIfMatch || (!t.weak && !b.cfg.weakETags)) {
			return pass, ""
		}
		// In version-field mode, CouchDB also takes the revision as If-Match.
		if b.cfg.versionField != "" && !t.weak && t.opaque == d.version {
			return pass, ""
		}
	}
	return fail, "If-Match " + value + " does not match the current entity-tag " + b.etag(d)
}

// ifNoneMatch evaluates If-None-Match (RFC 9110, section 13.1.2) with weak
// comparison: it holds when no listed tag matches the current document.
func (b *Backend) ifNoneMatch(value string, d *document) bool {
	if d == nil {
		return true
	}
	tags, star, _ := parseETags(value)
	if star {
		return false
	}
	cur := strconv.FormatUint(d.tag, 10)
	for _, t := range tags {
		if t.opaque == cur {
			return false
		}
	}
	return true
}

func allWeak(tags []entityTag) bool {
	for _, t := range tags {
		if !t.weak {
			return false
		}
	}
	return true
}

// unmodifiedSince evaluates If-Unmodified-Since; an absent or invalid date
// holds (RFC 9110, section 13.1.4).
func unmodifiedSince(value string, d *document) bool {
	t, err := http.ParseTime(value)
	if value == "" || err != nil {
		return true
	}
	return !d.modified.Truncate(time.Second).After(t)
}

// modifiedSince evaluates If-Modified-Since; an absent or invalid date
// holds (RFC 9110, section 13.1.3).
func modifiedSince(value string, d *document) bool {
	t, err := http.ParseTime(value)
	if value == "" || err != nil {
		return true
	}
	return d.modified.Truncate(time.Second).After(t)
}

// hasPrecondition reports whether r carries any precondition a write can
// be conditioned on.
func (b *Backend) hasPrecondition(r *http.Request) bool {
	for _, k := range []string{"If-Match", "If-None-Match", "If-Unmodified-Since"} {
		if len(r.Header.Values(k)) > 0 {
			return true
		}
	}
	return b.cfg.versionQuery != "" && r.URL.Query().Has(b.cfg.versionQuery)
}

// checkWrite applies the rules every write of the document d (nil: the
// write creates it) goes through: 428 without a precondition, the
// preconditions, then the version query parameter. A nil result means go on.
func (b *Backend) checkWrite(r *http.Request, d *document) *response {
	if d != nil && b.cfg.requireIfMatch && !b.hasPrecondition(r) {
		return problem(http.StatusPreconditionRequired, ProblemPreconditionRequired,
			"precondition required", "send If-Match with the document's current ETag")
	}
	switch v, detail := b.evaluate(r.Header, d, false); v {
	case fail:
		return b.conflict(b.cfg.conflictStatus, d, ProblemPreconditionFailed, "precondition failed", detail)
	case malformed:
		return problem(http.StatusBadRequest, ProblemETagNotEchoed, "entity-tag not echoed", detail)
	}
	return b.checkVersionQuery(r, d)
}

// conflict answers a failed precondition or a stale version: the current
// document under WithConflictRepresentation, a problem otherwise.
func (b *Backend) conflict(status int, d *document, typ, title, detail string) *response {
	if b.cfg.conflictRepresentation && d != nil {
		return b.docResponse(status, d)
	}
	return problem(status, typ, title, detail)
}
