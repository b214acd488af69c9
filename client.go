package optimist

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/optimist-go/optimist/internal/wait"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/optimist-go/optimist/internal/jsonmerge"
)

// The Client and its HTTP methods: the way in. Each method builds a
// request (request.go) and hands it to do, which routes it: a PUT, PATCH
// or DELETE goes through the conflict loop (conflict.go), anything else
// straight to one exchange (exchange.go); a 202 Accepted is followed to the
// operation's end (poll.go). [Update] enters through update.go and
// change.go, and meets do here.

// Client is an HTTP client for JSON APIs with optimistic concurrency. It
// remembers the ETag and body of every resource it reads, sends writes
// conditionally, resolves version conflicts and retries transport faults.
//
// A Client is safe for concurrent use by many goroutines and is meant to be
// made once and reused: its ETag memory and connection pool are shared by
// all its calls.
type Client struct {
	httpClient *http.Client
	retry      *retryablehttp.Client
	memory     *memory
	lastURL    atomic.Pointer[parsedURL] // request.go's parseURL

	retryOpts        RetryOptions  // resolved by New
	maxRetryAfter    time.Duration // retryOpts.MaxRetryAfter, resolved
	maxBodyBytes     int64
	memoryEntries    int
	memoryBytes      int64
	resolver         Resolver
	conflictAttempts int
	conflictTimeout  time.Duration
	conflictBackoff  Backoff
	onConflict       func(*Conflict, error)
	logger           *slog.Logger
	clockNow         func() time.Time
	sleep            func(ctx context.Context, d time.Duration) error
	secretHeaders    []string
	// credentialHeaders are the request headers that say who is asking:
	// Authorization, Proxy-Authorization, Cookie and the secret headers,
	// in canonical form.
	credentialHeaders     []string
	representationAnswers bool
	serverMembers         []string
	transportWraps        []func(http.RoundTripper) http.RoundTripper // presets.go
	poll                  pollConfig
	groupCommit           bool
	groups                groups
	idempotencyKeys       bool
	versionToken          VersionToken
	versionRoutes         []versionRoute
	queuedHook            func(pending int) // tests: called as an update queues
	locks                 lockConfig        // lockwait.go
}

// New returns a Client configured by opts; see each [Option] for its
// default.
//
// Redirects are followed at most 10 times, only to http and https URLs;
// a redirect to another origin (scheme, host and port) carries no
// Authorization, Proxy-Authorization, Cookie or secret header.
func New(opts ...Option) *Client {
	c := &Client{groupCommit: true}
	for _, opt := range opts {
		opt(c)
	}
	if c.conflictAttempts <= 0 {
		c.conflictAttempts = defaultConflictAttempts
	}
	if c.conflictTimeout <= 0 {
		c.conflictTimeout = defaultConflictTimeout
	}
	c.retryOpts = c.retryOpts.resolved()
	if c.conflictBackoff == nil {
		c.conflictBackoff = ExponentialBackoff(defaultConflictBase, defaultConflictCap, nil)
	}
	if c.maxRetryAfter <= 0 {
		c.maxRetryAfter = defaultMaxRetryAfter
	}
	if c.maxBodyBytes <= 0 {
		c.maxBodyBytes = defaultMaxBodyBytes
	}
	if c.memoryEntries <= 0 {
		c.memoryEntries = defaultMemoryEntries
	}
	if c.memoryBytes <= 0 {
		c.memoryBytes = defaultMemoryBytes
	}
	if c.clockNow == nil {
		c.clockNow = time.Now
	}
	if c.sleep == nil {
		c.sleep = wait.Sleep
	}
	c.credentialHeaders = append([]string{"Authorization", "Proxy-Authorization", "Cookie"}, c.secretHeaders...)
	c.memory = newMemory(c.memoryEntries, c.memoryBytes)
	c.retry = c.newRetryClient(c.wrapHTTPClient(c.httpClient))
	return c
}

func (c *Client) now() time.Time { return c.clockNow() }

// Response is a response the client has read in full.
type Response struct {
	// StatusCode and Header are the response's.
	StatusCode int
	Header     http.Header
	// ETag is the response's entity-tag, or empty.
	ETag ETag
	// Body is the response body. It may be shared with the ETag memory:
	// do not modify it.
	Body []byte
	// Attempts is how many times the final request was sent, transport
	// retries included.
	Attempts int
	// Revalidated reports that the server answered 304 Not Modified to the
	// remembered ETag: StatusCode is 304 and Body is the remembered
	// representation, which the 304 proved current.
	Revalidated bool

	raw *http.Response
	req *request // what was sent, for following a 202 later
}

// Get reads the JSON resource at url into out (nil out skips decoding) and
// remembers its ETag, Last-Modified and body. When it remembers the
// resource's ETag and body already, it revalidates them: the request
// carries If-None-Match, and a 304 Not Modified answer decodes the
// remembered body, the Response saying so ([Response.Revalidated]). A
// non-2xx answer is a [*StatusError]; a malformed ETag, [ErrInvalidETag];
// a body over the limit, [ErrBodyTooLarge].
func (c *Client) Get(ctx context.Context, url string, out any, opts ...RequestOption) (*Response, error) {
	r, err := c.newRequest(ctx, http.MethodGet, url, nil, opts)
	if err != nil {
		return nil, err
	}
	c.revalidate(r)
	return c.decode(c.do(ctx, r))(out)
}

// revalidate makes the read r conditional on the remembered version, when
// the client remembers its ETag and body and r has no condition of its own.
// The comparison is weak (RFC 9110, section 13.1.2), as it should be for a
// read.
func (c *Client) revalidate(r *request) {
	if !r.token.isETag() || r.header.Get("If-None-Match") != "" || r.header.Get("If-Modified-Since") != "" {
		return
	}
	if v, ok := c.recall(r); ok && v.ETag != "" && v.Body != nil {
		r.header.Set("If-None-Match", string(v.ETag))
		r.revalidate = &v
	}
}

// Put replaces the resource at url with in (JSON-encoded; []byte and
// json.RawMessage are sent as they are, copied) and decodes the answer
// into out. The write carries If-Match with the remembered ETag
// (If-Unmodified-Since when only Last-Modified is known); with no version
// known it is not sent and the error matches [ErrNoVersion]. A version
// conflict is resolved by the client's [Resolver] and the write retried;
// what cannot be resolved is a [*ConflictError] matching [ErrConflict]. A
// write that may have been applied although the client cannot tell is an
// [*OutcomeUnknownError].
//
// The write is conditional on the newest version of url this client knows.
// When goroutines sharing a client read-modify-write one URL at once, pin
// the version each read with [IfMatch](resp.ETag), or use [Update].
func (c *Client) Put(ctx context.Context, url string, in, out any, opts ...RequestOption) (*Response, error) {
	return c.sendJSON(ctx, http.MethodPut, url, in, out, opts)
}

// Patch applies patch, an RFC 7396 JSON merge patch sent as
// application/merge-patch+json, to the resource at url, conditionally and
// with conflicts resolved as for [Client.Put].
func (c *Client) Patch(ctx context.Context, url string, patch, out any, opts ...RequestOption) (*Response, error) {
	return c.sendJSON(ctx, http.MethodPatch, url, patch, out, opts)
}

// Post sends in to url and decodes the answer into out. A POST is not
// re-sent after a fault that may have reached the server unless it carries
// an Idempotency-Key header.
func (c *Client) Post(ctx context.Context, url string, in, out any, opts ...RequestOption) (*Response, error) {
	return c.sendJSON(ctx, http.MethodPost, url, in, out, opts)
}

// Delete deletes the resource at url, with If-Match as for [Client.Put],
// and forgets it. A conflict is not resolved: deleting a resource that
// changed since it was read is returned as an error matching [ErrConflict].
// With no version known, Delete sends nothing and returns an error
// matching [ErrNoVersion]: an unconditional delete of a resource someone
// just changed would lose their change ([Unconditional] forces it). When
// an earlier copy's answer was lost and the re-sent DELETE finds the
// resource gone (404 or 410), the resource is gone as asked: Delete returns
// that answer and no error.
func (c *Client) Delete(ctx context.Context, url string, opts ...RequestOption) (*Response, error) {
	r, err := c.newRequest(ctx, http.MethodDelete, url, nil, opts)
	if err != nil {
		return nil, err
	}
	return c.do(ctx, r)
}

func (c *Client) sendJSON(ctx context.Context, method, url string, in, out any, opts []RequestOption) (*Response, error) {
	body, err := encodeJSON(in)
	if err != nil {
		return nil, fmt.Errorf("optimist: %s %s: %w", method, redactURL(url), err)
	}
	r, err := c.newRequest(ctx, method, url, body, opts)
	if err != nil {
		return nil, err
	}
	return c.decode(c.do(ctx, r))(out)
}

// Do sends req through the client: the same ETag memory, conditional
// writes, conflict resolution and transport retries as the other methods.
// Like [http.Client.Do], it returns a non-2xx answer as a response, not an
// error. Its signature is that of the HttpRequestDoer interface generated
// API clients accept. Request options travel in req's context; see
// [NewContext]. A precondition header set on req is sent as it is; a
// write without one carries the remembered version through the client's
// [VersionToken], as [Client.Put] does, and fails with [ErrNoVersion] when
// none is known. Do adds no If-None-Match of its own: a 304 answer to the
// caller's is passed through as it is.
//
// Do returns an error and no response only when there is no answer to
// hand over: the request could not be sent or got no answer
// ([*TransportError]), no version was known ([ErrNoVersion]), the write's
// outcome is unknown ([*OutcomeUnknownError]: a 412 then would read as "not
// applied", which may be false), or the context ended. A conflict the
// client gives up on is returned as its last 409 or 412 answer, with no
// error, as a generated client expects.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	body, err := requestBody(req)
	if err != nil {
		return nil, fmt.Errorf("optimist: %s %s: reading request body: %w", req.Method, redactURL(req.URL.String()), err)
	}
	r := &request{
		method: req.Method,
		url:    req.URL,
		header: req.Header.Clone(),
		body:   body,
		opts:   collectOptions(ctx, false, nil), // a generated client expects the 202
	}
	if r.header == nil {
		r.header = make(http.Header)
	}
	r.token = c.tokenFor(req.URL, &r.opts)
	r.applyOptionHeaders()
	r.canonical = canonicalURL(r.url)
	r.key = c.resourceKey(r.canonical, r.url, r.header)
	resp, err := c.do(ctx, r)
	if err != nil && (resp == nil || errors.Is(err, ErrOutcomeUnknown) || !answered(err)) {
		return nil, err
	}
	return resp.httpResponse(req), nil
}

// answered reports whether err is the server's answer, to be handed to a
// Do caller as a response: a non-2xx status, or a conflict given up after
// one. An outcome the client does not know is never such an answer.
func answered(err error) bool {
	var (
		statusErr   *StatusError
		conflictErr *ConflictError
	)
	return errors.As(err, &statusErr) || errors.As(err, &conflictErr)
}

// do routes a request: reads are remembered, writes are conditional, and
// a 202 Accepted is followed to the operation's end unless the request
// says not to wait.
func (c *Client) do(ctx context.Context, r *request) (*Response, error) {
	var (
		resp *Response
		err  error
	)
	release, err := r.attachCallback() // callbackwait.go: a no-op without a callback
	if err != nil {
		return nil, err
	}
	defer release()
	switch r.method {
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		resp, err = c.write(ctx, r)
	default:
		resp, err = c.exchange(ctx, r)
	}
	if err == nil && resp.StatusCode == http.StatusAccepted && r.opts.wait {
		return c.await(ctx, r, resp)
	}
	return resp, err
}

// decode returns a function that decodes a response's body into out.
func (c *Client) decode(resp *Response, err error) func(out any) (*Response, error) {
	return func(out any) (*Response, error) {
		if err != nil || out == nil || resp == nil || len(resp.Body) == 0 {
			return resp, err
		}
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return resp, fmt.Errorf("%w: decoding response: %w", ErrNotJSON, err)
		}
		return resp, nil
	}
}

// encodeJSON encodes in. []byte and json.RawMessage must already be JSON;
// they are copied, for the client keeps what it sent as the resource's
// document and the caller may reuse its buffer.
func encodeJSON(in any) ([]byte, error) {
	var raw []byte
	switch v := in.(type) {
	case nil:
		return nil, nil
	case []byte:
		raw = v
	case json.RawMessage:
		raw = v
	default:
		return json.Marshal(in)
	}
	if !jsonmerge.Valid(raw) {
		return nil, fmt.Errorf("%w: request body", ErrNotJSON)
	}
	return bytes.Clone(raw), nil
}

func requestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	return io.ReadAll(req.Body)
}

func (r *Response) httpResponse(req *http.Request) *http.Response {
	hr := &http.Response{
		Status:        fmt.Sprintf("%d %s", r.StatusCode, http.StatusText(r.StatusCode)),
		StatusCode:    r.StatusCode,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        r.Header,
		ContentLength: int64(len(r.Body)),
		Body:          io.NopCloser(bytes.NewReader(r.Body)),
		Request:       req,
	}
	if r.raw != nil {
		hr.Status, hr.Proto, hr.ProtoMajor, hr.ProtoMinor = r.raw.Status, r.raw.Proto, r.raw.ProtoMajor, r.raw.ProtoMinor
		hr.TLS, hr.Trailer = r.raw.TLS, r.raw.Trailer
	}
	return hr
}

func isJSON(h http.Header) bool { return isJSONMediaType(h.Get("Content-Type")) }

// isJSONMediaType reports whether the Content-Type ct names JSON:
// application/json or a +json type.
func isJSONMediaType(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(strings.ToLower(ct))
	return ct == "application/json" || strings.HasSuffix(ct, "+json")
}
