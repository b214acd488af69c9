package optimist

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/optimist-go/optimist/internal/jsonmerge"
)

// The resource record. What the client knows of a resource, its version
// and its document, is decided here and nowhere else: observe reads one
// exchange (the request as sent and the answer to it) and updates the ETag
// memory (memory.go); recall finds the record a request may use. The
// stages before this one (building the request, the exchange with its
// transport retries, resolving conflicts) ask; none of them decides. It is
// the last stage: exchange.go calls observe once per answer.
//
// The rules, which the package documentation repeats under "Guarantees":
//   - A non-2xx answer is never a document, whatever its body and headers
//     say; 404 and 410 forget the resource.
//   - A 304 to a revalidation proves the remembered body current; the record
//     takes the 304's validators.
//   - A 2xx answer to a GET is a representation. One to a HEAD freshens the
//     validators and keeps the body only when the version is the same.
//   - A 2xx answer to a PUT or PATCH is a representation only when RFC 9110
//     says so (section 8.7: a Content-Location naming the target URI) or the
//     client was told its API answers writes with representations
//     ([MemoryOptions].RepresentationAnswers). Otherwise the document is the body the
//     PUT sent, or the remembered document with the PATCH applied as RFC
//     7396 says (jsonmerge.ApplyPatch), and only when the PATCH was an RFC
//     7396 merge patch sent against the remembered version; else the body
//     is unknown.
//   - The version comes from a 2xx answer only; an answer without one
//     forgets the record, so the next write must read first.
//   - A 2xx DELETE forgets the resource.
//   - Bodies are the client's own: a caller's buffer is copied before it is
//     sent (see encodeJSON), and an answer's body is read into a new slice.
//   - A record belongs to the credentials of the request that made it and
//     to the values of the request headers the answer's Vary names; another
//     caller's request never sees it. Vary: * is not remembered.

// withoutServerMembers returns body without the members the server owns.
// A body that is not a JSON object is returned as it is.
func (c *Client) withoutServerMembers(body []byte) []byte {
	for _, pointer := range c.serverMembers {
		if _, ok := memberAt(body, pointer); !ok {
			continue
		}
		if out, err := removeJSONMember(body, pointer); err == nil {
			body = out
		}
	}
	return body
}

// observe records what a complete answer to r proves about the resource,
// and sets resp.ETag. It returns an error matching [ErrInvalidETag] when a
// 2xx answer carries a malformed ETag.
func (c *Client) observe(r *request, resp *Response) error {
	switch status := resp.StatusCode; {
	case status == http.StatusNotModified && r.revalidate != nil:
		c.freshen(r, resp)
		return nil
	case status == http.StatusNotFound || status == http.StatusGone:
		c.memory.forget(r.key)
		return nil
	case status < 200 || status > 299:
		return nil
	}
	switch r.method {
	case http.MethodDelete:
		c.memory.forget(r.key)
		return nil
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch:
	default:
		return nil // a POST's answer is about another resource, if any
	}
	tag, err := r.readVersion(resp.Header, resp.Body)
	if err != nil {
		c.memory.forget(r.key)
		return fmt.Errorf("optimist: %s %s: %w", r.method, redactURL(r.url.String()), err)
	}
	resp.ETag = tag
	v := Version{ETag: tag, LastModified: field(resp.Header, "Last-Modified")}
	vary, ok := varyOf(resp.Header, r.header)
	if !ok || (v.ETag == "" && v.LastModified == "") {
		c.memory.forget(r.key)
		return nil
	}
	v.vary = vary
	v.Body, v.contentType = c.document(r, resp, v)
	c.memory.put(r.key, v)
	return nil
}

// document is the body the record of r's resource holds after a 2xx
// answer carrying version v, nil when it is not known, and its media type.
func (c *Client) document(r *request, resp *Response, v Version) (body []byte, contentType string) {
	switch r.method {
	case http.MethodGet:
		return resp.Body, resp.Header.Get("Content-Type")
	case http.MethodHead:
		if prev, ok := c.recall(r); ok && prev.sameVersion(v) {
			return prev.Body, prev.contentType
		}
		return nil, ""
	}
	if len(resp.Body) > 0 && (c.representationAnswers || describesTarget(r, resp.Header)) {
		return resp.Body, resp.Header.Get("Content-Type")
	}
	var written []byte
	switch r.method {
	case http.MethodPut:
		written, contentType = r.body, field(r.header, "Content-Type")
	case http.MethodPatch:
		prev, ok := c.recall(r)
		if sent := r.sentVersion(); ok && prev.Body != nil && sent != "" && sent == prev.ETag && r.mergeable() {
			written, _ = jsonmerge.ApplyPatch(prev.Body, r.body)
			contentType = prev.contentType
		}
	}
	if written == nil || r.token.Field == "" || v.ETag == "" {
		return written, contentType
	}
	withVersion, err := setJSONMember(written, r.token.Field, json.RawMessage(v.ETag))
	if err != nil {
		return nil, ""
	}
	return withVersion, contentType
}

// describesTarget reports whether a write answer's Content-Location names
// the request's target, which makes its body a representation of it (RFC
// 9110, section 8.7).
func describesTarget(r *request, h http.Header) bool {
	loc := field(h, "Content-Location")
	if loc == "" {
		return false
	}
	if isRequestPath(loc, r.url) {
		return true // the usual answer, decided without parsing
	}
	ref, err := url.Parse(loc)
	if err != nil {
		return false
	}
	abs := canonicalURL(r.url.ResolveReference(ref))
	return abs == canonicalURL(r.url) || (r.sendURL != nil && abs == canonicalURL(r.sendURL))
}

// isRequestPath reports, without allocating, whether loc is exactly the
// escaped path of u, a URL with no query, as an absolute-path reference
// with no dot segment: a Content-Location that resolves to u itself. Any
// other form is left to the full resolution of describesTarget.
func isRequestPath(loc string, u *url.URL) bool {
	return u.RawQuery == "" && !u.ForceQuery && strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") &&
		!strings.ContainsAny(loc, "?#") && !strings.Contains(loc, "/.") && loc == u.EscapedPath()
}

// freshen takes a 304 answer to a revalidation: the remembered body is
// current, with the validators the 304 carries.
func (c *Client) freshen(r *request, resp *Response) {
	v := *r.revalidate
	if tag, err := ParseETag(resp.Header.Get("ETag")); err == nil {
		v.ETag = tag
	}
	if lm := resp.Header.Get("Last-Modified"); lm != "" {
		v.LastModified = lm
	}
	if v.Body != nil {
		c.memory.put(r.key, v)
	}
	resp.Body, resp.ETag, resp.Revalidated = v.Body, v.ETag, true
}

// recall returns the record r may use: the one kept under r's key, when
// the request headers its answer varied on have the same values in r.
func (c *Client) recall(r *request) (Version, bool) {
	v, ok := c.memory.get(r.key)
	if !ok {
		return Version{}, false
	}
	for i := 0; i+1 < len(v.vary); i += 2 {
		if strings.Join(r.header.Values(v.vary[i]), ", ") != v.vary[i+1] {
			return Version{}, false
		}
	}
	return v, true
}

// sameVersion reports whether v and o name the same version: equal
// entity-tags, or equal Last-Modified dates when neither has a tag.
func (v Version) sameVersion(o Version) bool {
	if v.ETag != "" || o.ETag != "" {
		return v.ETag == o.ETag
	}
	return v.LastModified != "" && v.LastModified == o.LastModified
}

// varyOf returns the names the answer's Vary header lists, each followed
// by the value the request had for it; ok is false for Vary: *, which
// no later request can be shown to match.
func varyOf(resp, req http.Header) (pairs []string, ok bool) {
	for _, line := range resp.Values("Vary") {
		for _, name := range strings.Split(line, ",") {
			name = http.CanonicalHeaderKey(strings.TrimSpace(name))
			switch name {
			case "":
				continue
			case "*":
				return nil, false
			}
			pairs = append(pairs, name, strings.Join(req.Values(name), ", "))
		}
	}
	return pairs, true
}

// resourceKey is the memory's key for a request to u, whose canonical
// form is canonical, with header h: canonical, followed by a digest of the
// credentials the request carries when it carries any (the URL's user
// information, credential headers), so that callers with different
// credentials never share a record.
func (c *Client) resourceKey(canonical string, u *url.URL, h http.Header) string {
	key := canonical
	var sum []byte
	if u.User != nil { // net/http sends it as Basic authentication
		sum = append(append(sum, "userinfo\x00"...), u.User.String()...)
	}
	for _, name := range c.credentialHeaders { // canonical already
		for _, value := range h[name] {
			if sum == nil {
				sum = make([]byte, 0, 128)
			}
			sum = append(append(append(append(sum, name...), 0), value...), 0)
		}
	}
	if sum == nil {
		return key
	}
	digest := sha256.Sum256(sum)
	return key + " " + hex.EncodeToString(digest[:16])
}
