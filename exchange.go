package optimist

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/hashicorp/go-retryablehttp"
)

// request is one logical HTTP request: what is sent, and again on a retry.
type request struct {
	method string
	url    *url.URL
	key    string // canonical URL, the ETag memory's key
	header http.Header
	body   []byte
	opts   requestOptions
	token  VersionToken
	// version is the version a non-ETag token was written with, and
	// sendURL the URL with it when the token is a query parameter.
	version string
	sendURL *url.URL
}

func (c *Client) newRequest(ctx context.Context, method, rawURL string, body []byte, opts []RequestOption) (*request, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("optimist: %s: invalid URL: %w", method, parseError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("optimist: %s %s: URL scheme must be http or https", method, redactURL(rawURL))
	}
	r := &request{
		method: method,
		url:    u,
		key:    canonicalURL(u),
		header: make(http.Header, 4),
		body:   body,
		opts:   collectOptions(ctx, true, opts),
	}
	// One backing array for both values: Header.Set would allocate each.
	values := [2]string{"application/json", "application/json"}
	r.header["Accept"] = values[0:1:1]
	if body != nil {
		if method == http.MethodPatch {
			values[1] = "application/merge-patch+json"
		}
		r.header["Content-Type"] = values[1:2:2]
	}
	r.token = c.tokenFor(u, &r.opts)
	r.applyOptionHeaders()
	return r, nil
}

func (r *request) applyOptionHeaders() {
	for k, vs := range r.opts.header {
		r.header[k] = append(r.header[k][:0:0], vs...)
	}
}

// conditional reports whether the request carries a precondition.
func (r *request) conditional() bool {
	return r.version != "" || r.header.Get("If-Match") != "" || r.header.Get("If-None-Match") != "" ||
		r.header.Get("If-Unmodified-Since") != ""
}

// replayable reports whether a request with header h may be sent again
// after it may have reached the server. Idempotent methods may (RFC 9110,
// section 9.2.2); so may a conditional request, whose precondition fails if
// the first copy was applied; and so may one with an Idempotency-Key, which
// the server uses to apply it once.
func (r *request) replayable(h http.Header) bool {
	switch r.method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace,
		http.MethodPut, http.MethodDelete:
		return true
	}
	return r.conditional() || h.Get("Idempotency-Key") != "" || h.Get("X-Idempotency-Key") != ""
}

// sendHeader is the header r is sent with: r's own, and a fresh
// Idempotency-Key when the client adds them and r has none. The key is
// kept across the transport retries of this one exchange.
func (c *Client) sendHeader(r *request) http.Header {
	if !c.idempotencyKeys || safeMethod(r.method) || r.header.Get("Idempotency-Key") != "" {
		return r.header
	}
	h := r.header.Clone()
	h.Set("Idempotency-Key", rand.Text())
	return h
}

func safeMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// exchange sends r once, with transport retries, reads the answer in full
// and updates the ETag memory from it. A non-2xx answer is returned with a
// *StatusError.
func (c *Client) exchange(ctx context.Context, r *request) (*Response, error) {
	header := withLockToken(ctx, r, c.sendHeader(r)) // heldlock.go: a held lock's token
	st := &exchangeState{replayable: r.replayable(header)}
	resp, err := c.retry.Do(r.httpRequest(context.WithValue(ctx, exchangeStateKey{}, st), header))
	if err != nil {
		return nil, c.transportError(r, st, resp, err)
	}
	out, err := c.readResponse(r, resp, st)
	if err != nil {
		return out, err
	}
	if err := c.remember(r, out); err != nil {
		return out, err
	}
	// Locks (lockwait.go): a lock answer is reported as a *LockedError, or
	// waited out and r sent again, before any conflict handling sees it.
	return c.settleLock(ctx, r, out, c.statusError(r, out, st))
}

// httpRequest builds the request to send without printing and parsing
// its URL again, as http.NewRequest would. The URL is shared, not copied:
// neither net/http nor go-retryablehttp changes it.
func (r *request) httpRequest(ctx context.Context, header http.Header) *retryablehttp.Request {
	u := r.url
	if r.sendURL != nil {
		u = r.sendURL
	}
	req := &retryablehttp.Request{Request: (&http.Request{
		Method:     r.method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     header,
		Host:       u.Host,
	}).WithContext(ctx)}
	if r.body != nil {
		_ = req.SetBody(r.body) // a []byte body cannot fail
	}
	return req
}

// readResponse reads and closes the body: up to the body limit for a 2xx
// answer (longer is ErrBodyTooLarge), up to the error limit otherwise.
func (c *Client) readResponse(r *request, resp *http.Response, st *exchangeState) (*Response, error) {
	defer resp.Body.Close()
	out := &Response{StatusCode: resp.StatusCode, Header: resp.Header, Attempts: st.attempts, raw: resp, req: r}
	limit, strict := c.maxBodyBytes, true
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		limit, strict = min(DefaultMaxErrorBodyBytes, c.maxBodyBytes), false
	}
	if r.method == http.MethodHead {
		return out, nil
	}
	body, err := readLimited(resp.Body, resp.ContentLength, limit)
	out.Body = body
	if errors.Is(err, ErrBodyTooLarge) && !strict {
		err = nil
	}
	if err != nil {
		return out, fmt.Errorf("optimist: %s %s: reading response: %w", r.method, redactURL(r.url.String()), err)
	}
	return out, nil
}

// readLimited reads at most limit bytes of body; a longer body is an error
// matching ErrBodyTooLarge, with the first limit bytes returned.
func readLimited(body io.Reader, contentLength, limit int64) ([]byte, error) {
	if contentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes declared, limit %d", ErrBodyTooLarge, contentLength, limit)
	}
	if contentLength >= 0 {
		buf := make([]byte, contentLength)
		if _, err := io.ReadFull(body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	buf, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(buf)) > limit {
		return buf[:limit], fmt.Errorf("%w: limit %d", ErrBodyTooLarge, limit)
	}
	return buf, nil
}

// statusError returns the *StatusError for a non-2xx answer, nil otherwise.
func (c *Client) statusError(r *request, resp *Response, st *exchangeState) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	e := &StatusError{
		Method:          r.method,
		URL:             redactURL(r.url.String()),
		StatusCode:      resp.StatusCode,
		Header:          resp.Header.Clone(),
		Body:            resp.Body,
		Problem:         parseProblem(resp.Header.Get("Content-Type"), resp.Body),
		Attempts:        resp.Attempts,
		versionConflict: resp.StatusCode == http.StatusPreconditionFailed || r.conditional(),
		ambiguous:       st.ambiguous,
		keyInUse: resp.StatusCode == http.StatusConflict && resp.raw != nil && resp.raw.Request != nil &&
			hasIdempotencyKey(resp.raw.Request.Header) && mentionsIdempotency(resp.Body),
	}
	e.Header.Del("Set-Cookie")
	if wait, ok := parseRetryAfter(resp.Header, c.now()); ok {
		e.RetryAfter = wait
	}
	return e
}

// transportError wraps the error of a request that got no usable answer.
func (c *Client) transportError(r *request, st *exchangeState, resp *http.Response, err error) error {
	var rae *RetryAfterError
	if resp != nil {
		out, readErr := c.readResponse(r, resp, st)
		if errors.As(err, &rae) && readErr == nil {
			rae.Response, _ = c.statusError(r, out, st).(*StatusError)
			return rae
		}
	}
	return &TransportError{Method: r.method, URL: redactURL(r.url.String()), Attempts: st.attempts, Err: err}
}

// remember updates the ETag memory from an answer to r.
func (c *Client) remember(r *request, resp *Response) error {
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		c.memory.forget(r.key)
		return nil
	case resp.StatusCode < 200 || resp.StatusCode > 299 || r.method == http.MethodPost:
		return nil
	case r.method == http.MethodDelete:
		c.memory.forget(r.key)
		return nil
	case r.method != http.MethodGet && r.method != http.MethodHead &&
		r.method != http.MethodPut && r.method != http.MethodPatch:
		return nil
	}
	v := Version{LastModified: resp.Header.Get("Last-Modified")}
	tag, representation, err := r.readVersion(resp.Header, resp.Body)
	if err != nil {
		c.memory.forget(r.key)
		return fmt.Errorf("optimist: %s %s: %w", r.method, redactURL(r.url.String()), err)
	}
	v.ETag, resp.ETag = tag, tag
	if v.ETag == "" && v.LastModified == "" {
		c.memory.forget(r.key)
		return nil
	}
	v.Body = c.rememberedBody(r, resp, v, representation)
	c.memory.put(r.key, v)
	return nil
}

// rememberedBody is the representation after r: the answer's body if it
// is one, else what r wrote (a PATCH applied to the remembered base), with
// the new version in it when the version is a member of the document.
func (c *Client) rememberedBody(r *request, resp *Response, v Version, representation bool) []byte {
	if representation {
		return resp.Body
	}
	prev, ok := c.memory.get(r.key)
	var written []byte
	switch r.method {
	case http.MethodHead:
		if ok && prev.ETag != "" && prev.ETag == v.ETag {
			return prev.Body
		}
	case http.MethodPut:
		written = r.body
	case http.MethodPatch:
		if ok && prev.Body != nil {
			written, _ = jsonpatch.MergePatch(prev.Body, r.body)
		}
	}
	if written == nil || r.token.Field == "" || v.ETag == "" {
		return written
	}
	withVersion, err := setJSONMember(written, r.token.Field, json.RawMessage(v.ETag))
	if err != nil {
		return nil
	}
	return withVersion
}
