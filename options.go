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

// Option configures a [Client]. The options come in groups, one per
// concern, each with an options struct whose zero value means every
// default: [WithRetry] (transport retries), [WithConflicts] (version
// conflicts), [WithMemory] (the resource records), [WithLocks] and
// [WithPolling]; the others each set one thing.
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
	// try. Zero means 4; a negative value means no transport retries.
	MaxRetries int
	// Backoff is the wait before each retry. nil means
	// ExponentialBackoff(100*time.Millisecond, 5*time.Second, nil). A
	// server's Retry-After lengthens the wait, never shortens it.
	Backoff Backoff
	// MaxRetryAfter is the longest Retry-After the client waits for; a
	// server asking for more gets an error matching
	// [ErrRetryAfterTooLong] instead of a wait. Zero or negative means one
	// minute.
	MaxRetryAfter time.Duration
	// StatusCodes are the statuses retried. nil means 429, 500, 502, 503
	// and 504; an empty, non-nil list retries no status. Ignored when
	// ShouldRetry is set.
	StatusCodes []int
	// ShouldRetry, when set, decides instead of StatusCodes and the
	// default fault rules whether a try is repeated, from the request's
	// method and either the answer (resp, with err nil; its body is
	// readable) or the fault (err, with resp nil). It is asked after
	// each try while the context is live; its yes is overruled for a
	// request that may not be sent twice, and when no retry remains.
	// [DefaultRetryPolicy] is the default rule, to build on.
	ShouldRetry func(method string, resp *http.Response, err error) bool
	// TryTimeout bounds each try: connecting, sending, following its
	// redirects and reading its answer, as [http.Client.Timeout] does for
	// one call. A try that times out is a fault and retried as one. Zero
	// or negative means no bound but the context's.
	TryTimeout time.Duration
	// OnRetry, when set, is called before each retry's wait, on the
	// calling goroutine; it must not block for long.
	OnRetry func(RetryEvent)
}

// WithRetry sets the transport retry options. A later WithRetry replaces
// an earlier one as a whole.
func WithRetry(o RetryOptions) Option {
	return func(c *Client) {
		c.retryOpts = o
		c.maxRetryAfter = o.MaxRetryAfter
	}
}

// ConflictOptions shape how a write's version conflicts (a 409 or 412
// answer to a conditional write) are resolved. The zero value means every
// default.
type ConflictOptions struct {
	// Resolver decides what to write after a conflict. nil means
	// [ThreeWayMerge]; [Resolve] overrides it for one request.
	Resolver Resolver
	// Attempts bounds the writes one conflicted call sends. Zero or
	// negative means 25.
	Attempts int
	// Timeout bounds the total time of one conflicted call. Zero or
	// negative means 30 seconds.
	Timeout time.Duration
	// Backoff is the wait between conflict retries. nil means full
	// jitter, a wait drawn from [0, 20ms·2^(n-1)) capped at 250ms: a
	// conflict means another writer is between its read and its write,
	// and the writers that lose should step aside for several of its
	// round trips. BenchmarkContention measured bases from 0.5 ms to 20
	// ms with 8 to 128 writers in separate clients: the short ones
	// re-collide (up to 1.8 writes per update at 128 writers); 20 ms
	// keeps it to about 1.2 and the highest rate at every writer count.
	Backoff Backoff
	// OnConflict, when set, is called for every version conflict the
	// client meets, with the conflict and the resolver's error (nil when
	// it resolved the conflict; a [*MergeConflictError] names the members
	// both sides changed). It runs on the writing goroutine, must not
	// block for long, and must not modify the conflict's documents.
	OnConflict func(c *Conflict, err error)
}

// WithConflicts sets how version conflicts are resolved. A later
// WithConflicts replaces an earlier one as a whole.
func WithConflicts(o ConflictOptions) Option {
	return func(c *Client) {
		c.resolver = o.Resolver
		c.conflictAttempts, c.conflictTimeout, c.conflictBackoff = o.Attempts, o.Timeout, o.Backoff
		c.onConflict = o.OnConflict
	}
}

// MemoryOptions shape the client's memory of resources: what it keeps of
// each (its version and document, the base of a later merge) and how much.
// The zero value means every default.
type MemoryOptions struct {
	// Entries and Bytes bound the memory by number of resources and total
	// bytes; the least recently used are forgotten first. Zero or
	// negative values mean 10,000 entries and 64 MiB.
	Entries int
	Bytes   int64
	// RepresentationAnswers tells the client that its API answers every
	// successful PUT and PATCH with the resource's new representation (as
	// Kubernetes does), so the answer's body becomes the remembered
	// document. Without it, a write answer is a representation only when
	// its Content-Location names the request's target (RFC 9110, section
	// 8.7); otherwise the client remembers the document it sent.
	RepresentationAnswers bool
	// ServerMembers names members of the API's JSON documents that the
	// server owns, as JSON Pointers: metadata it adds to every
	// representation, such as OData's "/odata.metadata" or Kubernetes'
	// "/metadata/managedFields". The client never sends them back: they
	// are removed from every JSON body it writes (a document read,
	// changed by [Update] and written again would otherwise carry them as
	// if they were the caller's), and so a merge sees them only on the
	// server's side. Members of a document are the caller's unless named
	// here; the version member of a [JSONField] token is pinned to the
	// server's value instead (see [VersionToken]).
	ServerMembers []string
}

// WithMemory sets what the client remembers of resources. A later
// WithMemory replaces an earlier one as a whole.
func WithMemory(o MemoryOptions) Option {
	return func(c *Client) {
		c.memoryEntries, c.memoryBytes = o.Entries, o.Bytes
		c.representationAnswers = o.RepresentationAnswers
		c.serverMembers = append([]string(nil), o.ServerMembers...)
	}
}

// WithMaxBodyBytes sets the largest response body the client reads; a
// longer one is an error matching [ErrBodyTooLarge]. Zero or negative
// means 32 MiB. An error body is kept up to 64 KiB in a [StatusError].
func WithMaxBodyBytes(n int64) Option {
	return func(c *Client) { c.maxBodyBytes = n }
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
