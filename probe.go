package optimist

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/optimist-go/optimist/internal/jsonmerge"
)

// Probing a server's preconditions. Optimistic concurrency is only as good
// as the server's check of If-Match: a server that ignores it applies a
// stale write and the client cannot notice. A probe asks the server, with
// writes that change nothing when they are honoured and re-write the
// current bytes when they are not.

// PreconditionSupport is what a probe found out about one precondition.
type PreconditionSupport int

const (
	// PreconditionUnknown means the probe's write got an answer that
	// proves nothing either way (400, 403, 405, 5xx, ...).
	PreconditionUnknown PreconditionSupport = iota
	// PreconditionHonoured means the server refused a write whose
	// precondition could not hold: 412 Precondition Failed, or 409
	// Conflict, as some servers answer it (Azure Storage's
	// BlobAlreadyExists to If-None-Match: *, CouchDB's update conflict).
	PreconditionHonoured
	// PreconditionIgnored means the server applied a write whose
	// precondition could not hold (it answered 2xx).
	PreconditionIgnored
)

// String names the finding.
func (s PreconditionSupport) String() string {
	switch s {
	case PreconditionHonoured:
		return "honoured"
	case PreconditionIgnored:
		return "ignored"
	}
	return "unknown"
}

// ProbeResult is what [Client.Probe] found out about a resource's server.
type ProbeResult struct {
	// ETag and LastModified are the validators the GET answer carried.
	// A weak ETag ([ETag.IsWeak]) is refused in If-Match by a server that
	// compares strongly, as RFC 9110 says it must; Last-Modified alone
	// makes writes conditional only to the second, with
	// If-Unmodified-Since.
	ETag         ETag
	LastModified string
	// IfMatch is how the server treated a PUT with an If-Match that
	// cannot match, and IfMatchStatus its answer's status.
	IfMatch       PreconditionSupport
	IfMatchStatus int
	// IfNoneMatch is how the server treated a PUT with If-None-Match: *
	// to the existing resource (guarded by If-Match on the ETag read), and
	// IfNoneMatchStatus its answer's status; 0 when it was not sent.
	IfNoneMatch       PreconditionSupport
	IfNoneMatchStatus int
}

// IgnoresPreconditions reports whether the server applied either probe
// write: conditional writes to it are last-writer-wins.
func (r ProbeResult) IgnoresPreconditions() bool {
	return r.IfMatch == PreconditionIgnored || r.IfNoneMatch == PreconditionIgnored
}

// ignoredBy reports whether a write with header h carries a precondition
// the server was found to ignore.
func (r ProbeResult) ignoredBy(h http.Header) bool {
	return (h.Get("If-Match") != "" && r.IfMatch == PreconditionIgnored) ||
		(h.Get("If-None-Match") != "" && r.IfNoneMatch == PreconditionIgnored)
}

// Probe tells whether the server of the resource at url honours If-Match
// and If-None-Match: *, and which validator it serves, without changing
// the resource's content. It reads the resource twice; if the two reads
// differ, someone is writing, and Probe returns an error without writing.
// Then it PUTs exactly the bytes it read, with their Content-Type, twice:
// with an If-Match of a random entity-tag, which cannot match, and with
// If-None-Match: *, which cannot hold for a resource that exists. A server
// that honours a precondition answers 412 (or 409) and writes nothing; a
// server that ignores it stores the bytes it already had. The second PUT
// also carries If-Match with the ETag read (If-Unmodified-Since without
// one), so that a server that honours If-Match but ignores If-None-Match
// (Azure Table upserts) re-writes the bytes only if no one wrote since;
// with a weak ETag or only Last-Modified its refusal may be If-Match's,
// so If-None-Match stays unknown, and with no validator it is not tested. A server that
// answers the random tag 400, as Azure Table does for a tag not in its
// format, gets one more PUT, with the current tag's last non-zero digit
// lowered: a tag in the server's format that is not the current one, nor a
// later one where tags count up. Only [Header] options are used: for
// credentials or API versions. The requests go through the client's HTTP
// client, without the ETag memory, conflict resolution or transport
// retries.
//
// What no probe can detect, and Probe does not claim:
//   - A precondition checked, but not atomically with the write (Apache
//     mod_dav): the probe sees a 412, while two writes racing with the
//     same If-Match may both be applied.
//   - A server that honours preconditions on some paths, methods or
//     media types and not on others, or not on every node behind a load
//     balancer, or only for entity-tags in its own format; or one that
//     changes after the probe.
//   - On a server that ignores If-Match, a write by someone else
//     between the probe's second GET and its PUTs (one round trip) is
//     overwritten by the probe, as any write to such a server may be;
//     and the server may count the re-write as a change (a new ETag or
//     Last-Modified) though the bytes are the same. Probe such a server
//     when no one else writes, or not at all.
//   - On a server that ignores If-Match and whose PUT is not atomic, two
//     reads that meet the same half-written file: a JSON body is checked
//     and not written back when it is not JSON, any other body is.
//   - An API whose PUT does not take the representation its GET returns
//     (etcd v2 answers an envelope and wants a form body) is changed by
//     the re-write when it ignores If-Match. Probe tests the HTTP
//     preconditions of the default (zero) [VersionToken] only: do not probe an API whose
//     version travels elsewhere ([QueryParam], [JSONField]).
//
// Errors: the GET's non-2xx answer as a [*StatusError] (a resource that
// does not exist cannot be probed without creating it: [ErrNotFound]),
// [ErrInvalidETag], [ErrBodyTooLarge], a [*TransportError], ctx's, an
// error saying the resource changed between the two reads, and one saying
// that a body whose Content-Type names JSON is not JSON: two reads may
// meet the same half-written file, and Probe does not write it back.
func (c *Client) Probe(ctx context.Context, url string, opts ...RequestOption) (ProbeResult, error) {
	o := collectOptions(ctx, false, opts)
	p := prober{send: c.retry.HTTPClient.Do, limit: c.maxBodyBytes, header: o.header}
	return p.run(context.WithValue(ctx, probingKey{}, true), url)
}

// probingKey marks the context of a probe's requests, which the guard of
// [WithPreconditionCheck] lets through.
type probingKey struct{}

func isProbe(ctx context.Context) bool { return ctx.Value(probingKey{}) != nil }

// prober sends the probe's requests with send, header on each, and reads
// at most limit bytes of the representation.
type prober struct {
	send   func(*http.Request) (*http.Response, error)
	limit  int64
	header http.Header
}

func (p prober) run(ctx context.Context, rawURL string) (ProbeResult, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ProbeResult{}, fmt.Errorf("optimist: probe: invalid URL: %w", parseError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return ProbeResult{}, fmt.Errorf("optimist: probe %s: URL scheme must be http or https", redactURL(rawURL))
	}
	var res, again ProbeResult
	body, contentType, err := p.current(ctx, u, &res)
	if err != nil {
		return res, err
	}
	// Read twice: bytes that another writer is changing (or, on a server
	// whose PUT is not atomic, a half-written file) are not re-sent.
	body2, _, err := p.current(ctx, u, &again)
	if err != nil {
		return res, err
	}
	if !bytes.Equal(body, body2) || res.ETag != again.ETag || res.LastModified != again.LastModified {
		return res, fmt.Errorf("optimist: probe %s: the resource changed between two reads; nothing written", redactURL(rawURL))
	}
	// Two reads can also meet the same half-written file (x/net/webdav
	// truncates, then copies): written back after the other write ends, it
	// would stay. Such a body is rarely the JSON it says it is.
	if isJSONMediaType(contentType) && !jsonmerge.Valid(body) {
		return res, fmt.Errorf("optimist: probe %s: the body is not the JSON its Content-Type names "+
			"(a write in progress on a server whose PUT is not atomic?); nothing written", redactURL(rawURL))
	}
	if err := p.probeIfMatch(ctx, u, body, contentType, &res); err != nil {
		return res, err
	}
	return res, p.probeIfNoneMatch(ctx, u, body, contentType, &res)
}

// probeIfMatch PUTs body with an If-Match that cannot match.
func (p prober) probeIfMatch(ctx context.Context, u *url.URL, body []byte, contentType string, res *ProbeResult) error {
	var err error
	noMatch := http.Header{"If-Match": {`"optimist-probe-` + rand.Text() + `"`}}
	if res.IfMatch, res.IfMatchStatus, err = p.write(ctx, u, body, contentType, noMatch); err != nil {
		return err
	}
	if past, ok := pastETag(res.ETag); ok && res.IfMatchStatus == http.StatusBadRequest {
		// The server checks the tag's format (Azure Table): try one in it.
		res.IfMatch, res.IfMatchStatus, err = p.write(ctx, u, body, contentType, http.Header{"If-Match": {string(past)}})
	}
	return err
}

// probeIfNoneMatch PUTs body with If-None-Match: *, guarded by If-Match on
// the validator read (If-Unmodified-Since without an ETag): a server that
// ignores If-None-Match then re-writes the bytes only if no one wrote
// since, and loses nothing. With no validator it sends nothing. A refusal
// proves If-None-Match honoured only when the guard must have held: a
// strong ETag, still current after the refusal; a weak one may be what
// the server refused (mod_dav compares If-Match strongly).
func (p prober) probeIfNoneMatch(ctx context.Context, u *url.URL, body []byte, contentType string, res *ProbeResult) error {
	h := http.Header{"If-None-Match": {"*"}}
	switch {
	case res.ETag != "":
		h.Set("If-Match", string(res.ETag))
	case res.LastModified != "":
		h.Set("If-Unmodified-Since", res.LastModified)
	default:
		return nil // untested: PreconditionUnknown, status 0
	}
	var err error
	if res.IfNoneMatch, res.IfNoneMatchStatus, err = p.write(ctx, u, body, contentType, h); err != nil {
		return err
	}
	if res.IfNoneMatch != PreconditionHonoured {
		return nil
	}
	if res.ETag == "" || res.ETag.IsWeak() {
		res.IfNoneMatch = PreconditionUnknown
		return nil
	}
	var now ProbeResult
	if _, _, err := p.current(ctx, u, &now); err != nil {
		return err
	}
	if now.ETag != res.ETag {
		res.IfNoneMatch = PreconditionUnknown
		return fmt.Errorf("optimist: probe %s: the resource changed during the probe", redactURL(u.String()))
	}
	return nil
}

// current GETs the representation and records its validators in res.
func (p prober) current(ctx context.Context, u *url.URL, res *ProbeResult) (body []byte, contentType string, err error) {
	resp, err := p.do(ctx, http.MethodGet, u, nil, nil)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err = readLimited(resp.Body, resp.ContentLength, p.limit)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, "", probeStatusError(http.MethodGet, u, resp, body)
	}
	if err != nil {
		return nil, "", fmt.Errorf("optimist: probe GET %s: reading response: %w", redactURL(u.String()), err)
	}
	res.LastModified = resp.Header.Get("Last-Modified")
	if raw := resp.Header.Get("ETag"); raw != "" {
		if res.ETag, err = ParseETag(raw); err != nil {
			return nil, "", fmt.Errorf("optimist: probe GET %s: %w", redactURL(u.String()), err)
		}
	}
	return body, resp.Header.Get("Content-Type"), nil
}

// write PUTs body with the preconditions h, which cannot all hold, and
// says what the answer shows.
func (p prober) write(ctx context.Context, u *url.URL, body []byte, contentType string, h http.Header) (PreconditionSupport, int, error) {
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	resp, err := p.do(ctx, http.MethodPut, u, body, h)
	if err != nil {
		return PreconditionUnknown, 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, defaultMaxErrorBodyBytes))
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPreconditionFailed, resp.StatusCode == http.StatusConflict:
		return PreconditionHonoured, resp.StatusCode, nil
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		return PreconditionIgnored, resp.StatusCode, nil
	}
	return PreconditionUnknown, resp.StatusCode, nil
}

// do sends one probe request with p's header and extra.
func (p prober) do(ctx context.Context, method string, u *url.URL, body []byte, extra http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("optimist: probe %s %s: %w", method, redactURL(u.String()), err)
	}
	for k, vs := range p.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	for k, vs := range extra {
		req.Header[k] = vs
	}
	if body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	resp, err := p.send(req)
	if err != nil {
		return nil, &TransportError{Method: method, URL: redactURL(u.String()), Attempts: 1, Err: err}
	}
	return resp, nil
}

// pastETag returns tag with its last non-zero digit lowered and the digits
// after it raised to 9: a tag in the server's own format that is not the
// current one and, for tags that count up (versions, timestamps), cannot
// be a later one either, so a concurrent write cannot make it match.
func pastETag(tag ETag) (ETag, bool) {
	b := []byte(tag)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] >= '1' && b[i] <= '9' {
			b[i]--
			for j := i + 1; j < len(b); j++ {
				if b[j] == '0' {
					b[j] = '9'
				}
			}
			return ETag(b), true
		}
	}
	return "", false
}

// probeStatusError is the error for the probe GET's non-2xx answer.
func probeStatusError(method string, u *url.URL, resp *http.Response, body []byte) error {
	if int64(len(body)) > defaultMaxErrorBodyBytes {
		body = body[:defaultMaxErrorBodyBytes]
	}
	e := &StatusError{
		Method: method, URL: redactURL(u.String()), StatusCode: resp.StatusCode,
		Header: resp.Header.Clone(), Body: body, Attempts: 1,
		Problem: parseProblem(resp.Header.Get("Content-Type"), body),
	}
	e.Header.Del("Set-Cookie")
	return e
}
