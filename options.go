package optimist

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Defaults of a [Client] made by [New] with no options.
const (
	// defaultMaxRetries is the number of transport retries after the first
	// attempt (see [RetryOptions]).
	defaultMaxRetries = 4
	// defaultRetryBase and defaultRetryCap shape the transport backoff:
	// full jitter over min(defaultRetryCap, defaultRetryBase·2^(n-1)).
	defaultRetryBase = 100 * time.Millisecond
	defaultRetryCap  = 5 * time.Second
	// defaultMaxRetryAfter is the longest Retry-After the client waits for.
	defaultMaxRetryAfter = time.Minute
	// defaultMaxBodyBytes is the largest response body the client reads.
	defaultMaxBodyBytes = 32 << 20
	// defaultMaxErrorBodyBytes is the longest error body kept in a
	// [StatusError].
	defaultMaxErrorBodyBytes = 64 << 10
	// defaultMemoryEntries and defaultMemoryBytes bound the ETag memory.
	defaultMemoryEntries = 10_000
	defaultMemoryBytes   = 64 << 20
	// defaultConflictAttempts bounds the writes one conflicted call sends.
	defaultConflictAttempts = 25
	// defaultConflictBase and defaultConflictCap shape the backoff between
	// conflict retries: full jitter, a wait drawn from [0, base·2^(n-1))
	// capped at the cap. A conflict means another writer is between its
	// read and its write on the same resource; the writers that lose should
	// step aside for several of its round trips, so that about one writer
	// at a time is in that window. BenchmarkContention measured bases from
	// 0.5 ms to 20 ms with 8 to 128 writers in separate clients: the short
	// ones re-collide (up to 1.8 writes per update at 128 writers) and leave
	// a third of the serial rate; 20 ms keeps it to about 1.2 writes per
	// update and the highest rate at every writer count. The cap bounds what
	// one unlucky writer waits.
	defaultConflictBase = 20 * time.Millisecond
	defaultConflictCap  = 250 * time.Millisecond
	// defaultConflictTimeout bounds the total time of one conflicted call.
	defaultConflictTimeout = 30 * time.Second
)

// Option configures a [Client].
type Option func(*Client)

// WithHTTPClient makes the client send requests through hc, for its
// transport (TLS, proxies, instrumentation), cookie jar and timeout. nil
// means a new client with its own pooled transport. The client's redirect
// policy is wrapped: optimist checks every redirect first (see [New]).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.httpClient = hc }
}

// RetryOptions shape the transport retries: how often a request is sent
// again after a fault or a retryable status, how long the client waits in
// between, and which answers are worth another try. The zero value means
// every default. Whatever the options say, a request that may have reached
// the server is only sent again when that is safe: its method is
// idempotent, it is conditional, or it carries an Idempotency-Key.
type RetryOptions struct {
	// MaxRetries is how many times a request is sent again after its first
	// try. Zero means [defaultMaxRetries]; a negative value means no
	// transport retries.
	MaxRetries int
	// Backoff is the wait before each retry. nil means
	// [ExponentialBackoff] of [defaultRetryBase] and [defaultRetryCap]. A
	// server's Retry-After lengthens the wait, never shortens it.
	Backoff Backoff
	// MaxRetryAfter is the longest Retry-After the client waits for; a
	// server asking for more gets an error matching
	// [ErrRetryAfterTooLong] instead of a wait. Zero or negative means
	// [defaultMaxRetryAfter].
	MaxRetryAfter time.Duration
	// StatusCodes are the statuses retried. nil means
	// [DefaultRetryStatusCodes]; an empty, non-nil list retries no status.
	// Ignored when ShouldRetry is set.
	StatusCodes []int
	// ShouldRetry, when set, decides instead of StatusCodes and the
	// default fault rules whether a try is repeated. It is asked after
	// each try while the context is live; its yes is overruled for a
	// request that may not be sent twice, and when no retry remains.
	ShouldRetry RetryPolicy
	// TryTimeout bounds each try: connecting, sending, following its
	// redirects and reading its answer, as [http.Client.Timeout] does for
	// one call. A try that times out is a fault and retried as one. Zero
	// or negative means no bound but the context's.
	TryTimeout time.Duration
	// OnRetry, when set, is called before each retry's wait, on the
	// calling goroutine; it must not block for long.
	OnRetry func(RetryEvent)
}

// WithRetry sets the transport retry options; see [RetryOptions] for each
// field's default. A later WithRetry replaces an earlier one as a whole.
func WithRetry(o RetryOptions) Option {
	return func(c *Client) {
		c.retryOpts = o
		c.maxRetryAfter = o.MaxRetryAfter
	}
}

// WithMaxBodyBytes sets the largest response body the client reads; a
// longer one is an error matching [ErrBodyTooLarge]. Zero or negative
// means [defaultMaxBodyBytes].
func WithMaxBodyBytes(n int64) Option {
	return func(c *Client) { c.maxBodyBytes = n }
}

// WithMemoryLimits bounds the ETag memory by number of resources and total
// bytes; the least recently used are forgotten first. Zero or negative
// values mean [defaultMemoryEntries] and [defaultMemoryBytes].
func WithMemoryLimits(entries int, bytes int64) Option {
	return func(c *Client) { c.memoryEntries, c.memoryBytes = entries, bytes }
}

// WithResolver sets how version conflicts are resolved. nil means
// [ThreeWayMerge].
func WithResolver(r Resolver) Option {
	return func(c *Client) { c.resolver = r }
}

// WithConflictRetries bounds one conflicted write: at most attempts writes
// in at most timeout, waiting per backoff between them. Zero values keep
// the defaults ([defaultConflictAttempts], [defaultConflictTimeout], and
// full jitter over [defaultConflictBase] doubling to [defaultConflictCap]).
func WithConflictRetries(attempts int, timeout time.Duration, backoff Backoff) Option {
	return func(c *Client) {
		if attempts > 0 {
			c.conflictAttempts = attempts
		}
		if timeout > 0 {
			c.conflictTimeout = timeout
		}
		if backoff != nil {
			c.conflictBackoff = backoff
		}
	}
}

// WithIdempotencyKeys makes the client send a fresh Idempotency-Key header
// (IETF httpapi draft) with every request that is not GET, HEAD, OPTIONS or
// TRACE and has none, kept across that request's transport retries. A
// server that honours the header applies a re-sent request once, so even
// a POST may then be retried after a fault, and a write whose answer was
// lost is recognised when it is sent again.
func WithIdempotencyKeys() Option {
	return func(c *Client) { c.idempotencyKeys = true }
}

// WithGroupCommit turns group commit of [Update] calls on or off. It is on
// by default: concurrent updates through one client whose requests would
// be identical apart from the body (URL, request options, credentials) are
// batched into one conditional write while another is in flight; see
// [Update] for what each caller observes.
func WithGroupCommit(on bool) Option {
	return func(c *Client) { c.groupCommit = on }
}

// WithOnConflict calls fn for every version conflict the client meets.
// fn runs on the writing goroutine and must not block for long.
func WithOnConflict(fn func(ConflictEvent)) Option {
	return func(c *Client) { c.onConflict = fn }
}

// WithLogger sets where the client logs retries and conflicts (at debug
// level) and give-ups (at warn level). nil means no logging.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) { c.logger = l }
}

// WithClock replaces the clock and the wait the client uses between
// retries and between polls of an operation; tests use it to run without
// sleeping. now nil means time.Now; sleep nil means a timer that stops
// early, with ctx's error, when ctx ends.
func WithClock(now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.clockNow, c.sleep = now, sleep }
}

// WithSecretHeaders names request headers, besides Authorization,
// Proxy-Authorization and Cookie, that must never be sent to another
// origin nor appear in errors or logs.
func WithSecretHeaders(names ...string) Option {
	return func(c *Client) {
		for _, n := range names {
			c.secretHeaders = append(c.secretHeaders, http.CanonicalHeaderKey(n))
		}
	}
}

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

// WithOptions returns a context that carries request options. Requests
// sent through [Client.Do] with it, such as those of a generated API
// client, use them; so do the Client's own methods, before their own.
func WithOptions(ctx context.Context, opts ...RequestOption) context.Context {
	prev, _ := ctx.Value(requestOptionsKey{}).([]RequestOption)
	all := append(append([]RequestOption(nil), prev...), opts...)
	return context.WithValue(ctx, requestOptionsKey{}, all)
}

// NoWait returns a 202 Accepted answer as it is, without polling the
// operation; [Client.Operation] gives a handle to it.
func NoWait() RequestOption {
	return func(o *requestOptions) { o.wait = false }
}

// Wait follows a 202 Accepted answer to the operation's end. It is the
// default for the Client's methods; [Client.Do] does not wait unless its
// request's context carries Wait.
func Wait() RequestOption {
	return func(o *requestOptions) { o.wait = true }
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
