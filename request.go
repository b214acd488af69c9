package optimist

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"mime"
	"net/http"
	"net/url"

	"github.com/optimist-go/optimist/internal/jsonmerge"
)

// Stage 1 of every call: building the request. A public method (client.go,
// update.go) turns its arguments into a request: the method, the parsed URL,
// the header with the request options applied, the body as the document
// it means (a version token's encoding is applied on the wire, version.go),
// and the resource key of its record (state.go). Requests derived from
// another (the conflict loop's re-read, an operation's status GET) are made
// here too, with the header policy of headers.go. Next: client.go's do
// routes a write to the conflict loop (conflict.go) and every request to
// one exchange (exchange.go).

// RequestOption configures one request.
type RequestOption func(*requestOptions)

type preconditionMode int

const (
	preconditionAuto preconditionMode = iota
	preconditionNone
	preconditionCreateOnly
	preconditionIfMatch
)

type requestOptions struct {
	precondition preconditionMode
	ifMatch      ETag
	resolver     Resolver
	header       http.Header
	wait         bool // follow a 202 Accepted to the operation's end
	token        VersionToken
	tokenSet     bool
	// raw marks the requests of [Client.UpdateBytes]: the body is bytes of
	// contentType, never merged as JSON.
	raw         bool
	contentType string

	async asyncOptions // progress hook and callback; see pollopts.go
}

// Unconditional sends a write with no precondition at all: a forced write
// that overwrites whatever the server has.
func Unconditional() RequestOption {
	return func(o *requestOptions) { o.precondition = preconditionNone }
}

// CreateOnly sends If-None-Match: *, so the write fails with a conflict if
// the resource already exists.
func CreateOnly() RequestOption {
	return func(o *requestOptions) { o.precondition = preconditionCreateOnly }
}

// IfMatch sends If-Match with t instead of the remembered ETag.
func IfMatch(t ETag) RequestOption {
	return func(o *requestOptions) { o.precondition, o.ifMatch = preconditionIfMatch, t }
}

// Resolve resolves this request's conflicts with r instead of the client's
// resolver.
func Resolve(r Resolver) RequestOption {
	return func(o *requestOptions) { o.resolver = r }
}

// Header adds a header to the request.
func Header(key, value string) RequestOption {
	return func(o *requestOptions) {
		if o.header == nil {
			o.header = make(http.Header)
		}
		o.header.Add(key, value)
	}
}

type requestOptionsKey struct{}

// NewContext returns a context that carries request options. Requests
// sent through [Client.Do] with it, such as those of a generated API
// client, use them; so do the Client's own methods, before their own.
// Options added to a context that carries some already come after them.
func NewContext(ctx context.Context, opts ...RequestOption) context.Context {
	prev, _ := ctx.Value(requestOptionsKey{}).([]RequestOption)
	all := append(append([]RequestOption(nil), prev...), opts...)
	return context.WithValue(ctx, requestOptionsKey{}, all)
}

// FollowOperation says whether a 202 Accepted answer is followed to the
// operation's end (see [Operation.Wait]) or returned as it is, for
// [Client.Operation] to make a handle of. The Client's methods follow by
// default; [Client.Do] and [Client.StandardClient] do not, as a generated
// client expects the 202, unless the request's context carries
// FollowOperation(true).
func FollowOperation(on bool) RequestOption {
	return func(o *requestOptions) { o.wait = on }
}

// collectOptions applies the context's request options, then opts, over
// the defaults; wait is whether a 202 is followed unless an option says.
func collectOptions(ctx context.Context, wait bool, opts []RequestOption) requestOptions {
	fromCtx, _ := ctx.Value(requestOptionsKey{}).([]RequestOption)
	if len(fromCtx) == 0 && len(opts) == 0 {
		return requestOptions{wait: wait} // nothing escapes: no allocation
	}
	o := &requestOptions{wait: wait}
	for _, opt := range fromCtx {
		opt(o)
	}
	for _, opt := range opts {
		opt(o)
	}
	return *o
}

// rawBody makes a request carry bytes of contentType ("" for none) rather
// than JSON, and accept any media type.
func rawBody(contentType string) RequestOption {
	return func(o *requestOptions) { o.raw, o.contentType = true, contentType }
}

// request is one logical HTTP request: what is sent, and again on a retry.
type request struct {
	method string
	url    *url.URL
	// canonical is url's canonical form (canonicalURL), and key the
	// memory's key: canonical, with a digest of the credentials if any.
	canonical string
	key       string
	header    http.Header
	body      []byte
	opts      requestOptions
	token     VersionToken
	// version is the version a non-ETag token writes on the wire (see
	// wire), and sendURL the URL the request was last sent to.
	version string
	sendURL *url.URL
	// createOnly says the token's Create makes the write create-only.
	createOnly bool
	// revalidate is the record a read is conditional on (If-None-Match),
	// so that a 304 answer can be taken as proof that it is current.
	revalidate *Version
	// origin is the origin the request's credentials belong to when that
	// is not its URL's, as for a status URL on another origin.
	origin *url.URL
	// change, for the writes of Update and UpdateBytes, makes the document
	// to write from the server's current one: the conflict loop calls it
	// on a conflict, in place of a resolver, so that the caller's mutation
	// is applied again to what the server has.
	change func(current []byte) ([]byte, error)
	// headerValues back the Accept and Content-Type values newRequest sets
	// and the If-Match value of setVersion; parsedURL is url when
	// newRequest found it parsed already (see parseURL), and firstExchange
	// the state of r's first exchange (see newExchange). Each is allocated
	// with r, not apart.
	headerValues  [3]string
	parsedURL     url.URL
	firstExchange exchangeState
	exchanged     bool
}

// newExchange returns the state of an exchange of r: the first one's is
// r's own, each later one's new, as the transport may still hold the
// context of the one before (the state is that context: see
// [exchangeState.bind]).
func (r *request) newExchange(replayable bool) *exchangeState {
	st := &r.firstExchange
	if r.exchanged {
		st = new(exchangeState)
	}
	r.exchanged = true
	st.replayable = replayable
	return st
}

// credentialOrigin is the origin r's credentials (its Cookie, the caller's
// cookie jar) belong to: r.origin, else r's URL.
func (r *request) credentialOrigin() *url.URL {
	if r.origin != nil {
		return r.origin
	}
	return r.url
}

func (c *Client) newRequest(ctx context.Context, method, rawURL string, body []byte, opts []RequestOption) (*request, error) {
	r := new(request)
	u, canonical, err := c.parseURL(method, rawURL, &r.parsedURL)
	if err != nil {
		return nil, err
	}
	c.initRequest(ctx, r, method, u, canonical, body, opts)
	return r, nil
}

// parsedURL is a URL newRequest parsed: the string, the URL and its
// canonical form (canonicalURL).
type parsedURL struct {
	raw       string
	url       url.URL
	canonical string
}

// parseURL parses rawURL, which must be an http or https URL, and gives it
// with its canonical form. The client keeps the last URL it parsed, so
// that calls to one resource (an Update loop, a poller) do not parse and
// canonicalize it again: both depend on the string alone. Each call gets
// its own copy of the URL, written to into, so that a transport that
// changes the URL of its request changes no other's. A URL with user
// information is not kept: its password stays no longer than the call.
func (c *Client) parseURL(method, rawURL string, into *url.URL) (*url.URL, string, error) {
	if last := c.lastURL.Load(); last != nil && last.raw == rawURL {
		*into = last.url
		return into, last.canonical, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("optimist: %s: invalid URL: %w", method, parseError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, "", fmt.Errorf("optimist: %s %s: URL scheme must be http or https", method, redactURL(rawURL))
	}
	canonical := canonicalURL(u)
	if u.User == nil {
		c.lastURL.Store(&parsedURL{raw: rawURL, url: *u, canonical: canonical})
	}
	return u, canonical, nil
}

// requestTo is newRequest for u, an http or https URL already parsed
// (and not to be changed: requests share it), whose canonical form is
// canonical.
func (c *Client) requestTo(ctx context.Context, method string, u *url.URL, canonical string, body []byte, opts []RequestOption) *request {
	r := new(request)
	c.initRequest(ctx, r, method, u, canonical, body, opts)
	return r
}

// initRequest makes r, a new request, requestTo's.
func (c *Client) initRequest(ctx context.Context, r *request, method string, u *url.URL, canonical string, body []byte, opts []RequestOption) {
	r.method, r.url, r.canonical = method, u, canonical
	r.header, r.body = make(http.Header, 4), body
	r.opts = collectOptions(ctx, true, opts)
	// The values live in r, allocated with it: Header.Set would allocate
	// each.
	values := &r.headerValues
	values[0], values[1] = "application/json", "application/json"
	if r.opts.raw {
		values[0], values[1] = "*/*", r.opts.contentType
	}
	r.header["Accept"] = values[0:1:1]
	if body != nil && values[1] != "" {
		if method == http.MethodPatch && !r.opts.raw {
			values[1] = "application/merge-patch+json"
		}
		r.header["Content-Type"] = values[1:2:2]
	}
	r.token = c.tokenFor(u, &r.opts)
	r.applyOptionHeaders()
	r.key = c.resourceKey(canonical, u, r.header)
}

func (r *request) applyOptionHeaders() {
	for k, vs := range r.opts.header {
		r.header[k] = append(r.header[k][:0:0], vs...)
	}
}

// mergeable reports whether r's body is a JSON document, or for a PATCH an
// RFC 7396 merge patch: what the conflict loop can merge and express again.
// The Content-Type says so; a body without one is taken for JSON only if it
// is valid JSON. Any other body is bytes, resolved only by a caller's
// strategy.
func (r *request) mergeable() bool {
	if r.opts.raw {
		return false
	}
	if r.method == http.MethodPatch {
		ct, _, _ := mime.ParseMediaType(field(r.header, "Content-Type"))
		return ct == "application/merge-patch+json"
	}
	if field(r.header, "Content-Type") == "" {
		return len(r.body) > 0 && jsonmerge.Valid(r.body)
	}
	return isJSON(r.header)
}

// conditional reports whether the request carries a precondition.
func (r *request) conditional() bool {
	return r.version != "" || r.createOnly || field(r.header, "If-Match") != "" ||
		field(r.header, "If-None-Match") != "" || field(r.header, "If-Unmodified-Since") != ""
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
	return r.conditional() || hasIdempotencyKey(h)
}

// sendHeader is the header r is sent with: r's own, and a fresh
// Idempotency-Key when the client adds them and r has none. The key is
// kept across the transport retries of this one exchange.
func (c *Client) sendHeader(r *request) http.Header {
	if !c.idempotencyKeys || safeMethod(r.method) || hasIdempotencyKey(r.header) {
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

// readRequest is a read (GET or HEAD) of the resource r writes, with r's own
// header, Accept included, without its write headers.
func (r *request) readRequest(method string) *request {
	return &request{method: method, url: r.url, key: r.key, header: readHeader(r.header), opts: r.opts, token: r.token}
}

// sameDocument reports whether a and b are the same document: equal JSON
// for a mergeable request, equal bytes for any other.
func (r *request) sameDocument(a, b []byte) bool {
	if r.mergeable() {
		return jsonmerge.Equal(a, b)
	}
	return bytes.Equal(a, b)
}
