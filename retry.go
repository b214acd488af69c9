package optimist

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Transport retries, under every exchange (exchange.go). Underneath every
// request the client keeps a go-retryablehttp client, configured here with
// optimist's own policy: which faults and statuses are retried
// ([RetryOptions], [DefaultRetryPolicy]), how long to wait (the backoff and
// Retry-After), and when a request may be sent again at all (never a write
// that may have been applied, unless it is replayable). The other retries
// are not transport retries: a version conflict is conflict.go's, a lock
// answer lockwait.go's, an operation's polling poll.go's.

// exchangeState follows one logical request across its transport retries.
// The retry hooks find it in the request's context, which it is itself
// (see bind): no context value is allocated to carry it.
type exchangeState struct {
	// Context is the request's context, set by bind.
	context.Context
	// method is the request's; origin is the origin its credentials
	// belong to (see [request.credentialOrigin]).
	method string
	origin *url.URL
	// replayable says the request may be sent again even after it may have
	// reached the server: its method is idempotent, it is a conditional
	// write, or it carries an Idempotency-Key.
	replayable bool
	// tries counts the calls of checkRetry, attempts the times the request
	// was sent: a try net/http re-sent itself on a fresh connection is two.
	tries, attempts int
	// writes counts the request headers written to a connection (from the
	// transport's goroutines), hops the redirects followed; counted is how
	// many of both earlier tries accounted for.
	writes                 atomic.Int32
	hops                   int
	countedWrites, counted int
	trace                  httptrace.ClientTrace // counts writes; in st, not allocated apart
	// ambiguous says an earlier attempt may have been applied by the server
	// although no answer to it arrived.
	ambiguous bool
	// wait, status and fault are the wait before the next retry and what
	// made it necessary (fault redacted), set by checkRetry for
	// prepareRetry.
	wait   time.Duration
	status int
	fault  error
	cause  string
	// body is the request's body; first is the reader of its first copy.
	body  []byte
	first bytes.Reader
}

type exchangeStateKey struct{}

// Value returns st itself for exchangeStateKey, which makes st the
// context that carries it (see stateFrom), and what st's parent holds for
// any other key.
func (st *exchangeState) Value(key any) any {
	if _, ok := key.(exchangeStateKey); ok {
		return st
	}
	return st.Context.Value(key)
}

func stateFrom(ctx context.Context) *exchangeState {
	st, _ := ctx.Value(exchangeStateKey{}).(*exchangeState)
	if st == nil {
		st = &exchangeState{}
	}
	return st
}

// bind makes st the state of r's exchange in ctx, and returns the
// context to send r in: st itself, with a trace that counts the copies of
// the request the transport writes.
func (st *exchangeState) bind(ctx context.Context, r *request) context.Context {
	st.Context = ctx
	st.method, st.origin = r.method, r.credentialOrigin()
	st.trace.WroteHeaders = func() { st.writes.Add(1) }
	return httptrace.WithClientTrace(st, &st.trace)
}

// setBody gives req body, which the transport reads once per copy of req
// it writes: the first copy from st's own reader, each later one (a
// retry, net/http's rewind after a lost connection) from a reader of its
// own, as the transport may still hold the one before. Each is a
// *bytes.Reader in io.NopCloser, which net/http knows to be in memory and
// sends with its header in one write.
func (st *exchangeState) setBody(req *http.Request, body []byte) {
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body, req.GetBody = http.NoBody, noBody
		return
	}
	st.body = body
	st.first.Reset(body)
	req.Body, req.GetBody = io.NopCloser(&st.first), st.bodyCopy
}

func (st *exchangeState) bodyCopy() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(st.body)), nil
}

func noBody() (io.ReadCloser, error) { return http.NoBody, nil }

// countTry counts a finished try: one attempt, or as many as the copies
// net/http wrote beyond one per redirect followed.
func (st *exchangeState) countTry() {
	st.tries++
	writes := int(st.writes.Load())
	n := writes - st.countedWrites - (st.hops - st.counted)
	st.countedWrites, st.counted = writes, st.hops
	st.attempts += max(n, 1)
}

// newRetryClient builds the go-retryablehttp client with optimist's policy.
// The waits between retries go through the client's sleep (see
// [WithClock]) in prepareRetry, so go-retryablehttp's own wait is zero.
func (c *Client) newRetryClient(hc *http.Client) *retryablehttp.Client {
	return &retryablehttp.Client{
		HTTPClient:   hc,
		RetryMax:     c.retryOpts.MaxRetries,
		CheckRetry:   c.checkRetry,
		Backoff:      func(time.Duration, time.Duration, int, *http.Response) time.Duration { return 0 },
		PrepareRetry: c.prepareRetry,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
}

// CloseIdleConnections closes the connections the client keeps for reuse
// and that are idle now, as [http.Client.CloseIdleConnections] does. The
// client stays usable; connections in use are left alone.
func (c *Client) CloseIdleConnections() { c.retry.HTTPClient.CloseIdleConnections() }

// checkRetry decides whether a transport attempt is tried again: when the
// retry policy (see [RetryOptions]) says so, or when a 409 says that a
// request with the same Idempotency-Key is still being processed. A
// request that is not replayable is only sent again when its connection
// could not be made, so it cannot have reached the server; and no retry
// is made whose wait would outlast the context's deadline.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	st := stateFrom(ctx)
	wrote := int(st.writes.Load()) > st.countedWrites
	st.countTry()
	if ctxErr := ctx.Err(); ctxErr != nil {
		// A try the context cut off after its request was written may have
		// been applied: its outcome is open, as after any lost answer.
		st.ambiguous = st.ambiguous || (err != nil && wrote)
		return false, ctxErr
	}
	var retry bool
	if err != nil {
		retry, err = c.retryFault(st, err)
	} else {
		retry, err = c.retryStatus(st, resp)
	}
	if !retry || err != nil || st.tries > c.retryOpts.MaxRetries {
		return false, err
	}
	if deadline, ok := ctx.Deadline(); ok {
		if left := time.Until(deadline); st.wait > left {
			return false, &waitPastDeadline{wait: st.wait, left: left}
		}
	}
	return true, nil
}

// retryFault decides on an attempt that got no answer.
func (c *Client) retryFault(st *exchangeState, err error) (bool, error) {
	sent := !notSent(err)
	// A fault after the request may have reached the server leaves its
	// outcome open, whatever the retry policy says of retrying it.
	st.ambiguous = st.ambiguous || (sent && retryableError(err))
	if !c.retryOpts.ShouldRetry(st.method, nil, err) || (sent && !st.replayable) {
		return false, nil
	}
	st.fault, st.status = redactError(err), 0
	st.wait, st.cause = c.retryOpts.Backoff(st.attempts), faultText(err)
	return true, nil
}

// retryStatus decides on an attempt answered with resp. The wait is the
// client's backoff, or the server's Retry-After when that is longer.
func (c *Client) retryStatus(st *exchangeState, resp *http.Response) (bool, error) {
	inUse := resp.StatusCode == http.StatusConflict && keyInUse(resp)
	if (!inUse && !c.retryOpts.ShouldRetry(st.method, resp, nil)) || !st.replayable {
		return false, nil
	}
	wait, ok := parseRetryAfter(resp.Header, c.now())
	if ok && wait > c.maxRetryAfter {
		return false, &retryAfterError{Wait: wait, Max: c.maxRetryAfter}
	}
	if !inUse && !notProcessed(resp.StatusCode) {
		st.ambiguous = true
	}
	st.wait, st.cause = max(wait, c.retryOpts.Backoff(st.attempts)), resp.Status
	st.status, st.fault = resp.StatusCode, nil
	return true, nil
}

// notProcessed reports whether a status says the server did not act on
// the request: 408, 425, 429 and 503. Another retried answer, such as a
// 500, may come after the request was applied.
func notProcessed(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return true
	}
	return false
}

// prepareRetry runs before a retry is sent: it tells the OnRetry hook and
// the log, waits as checkRetry decided, and gives req a new reader of its
// body (go-retryablehttp is given none to rewind: see setBody). A re-sent
// request with an Idempotency-Key settles whether an earlier copy was
// applied, for a server that honours the key answers a copy of an applied
// request with the first answer.
func (c *Client) prepareRetry(req *http.Request) error {
	ctx := req.Context()
	st := stateFrom(ctx)
	if hasIdempotencyKey(req.Header) {
		st.ambiguous = false
	}
	if c.retryOpts.OnRetry != nil || c.logger != nil {
		ev := RetryEvent{Method: req.Method, URL: redactURL(req.URL.String()), Attempt: st.attempts + 1,
			Wait: st.wait, StatusCode: st.status, Err: st.fault}
		if c.retryOpts.OnRetry != nil {
			c.retryOpts.OnRetry(ev)
		}
		if c.logger != nil {
			c.logger.LogAttrs(ctx, slog.LevelDebug, "optimist: retrying",
				slog.String("method", ev.Method), slog.String("url", ev.URL),
				slog.Int("attempt", ev.Attempt), slog.String("cause", st.cause),
				slog.Duration("wait", ev.Wait))
		}
	}
	if err := c.sleep(ctx, st.wait); err != nil {
		return err
	}
	if req.GetBody != nil { // the try before read req.Body
		var err error
		req.Body, err = req.GetBody()
		return err
	}
	return nil
}

// keyInUseProbe is how much of a 409 answer keyInUse reads.
const keyInUseProbe = 4 << 10

// keyInUse reports whether resp, a 409 answer, says that a request with
// the same Idempotency-Key is still being processed
// (draft-ietf-httpapi-idempotency-key-header): the request carried a key
// and the start of the answer's body speaks of idempotency. The body stays
// readable in full.
func keyInUse(resp *http.Response) bool {
	if resp.Request == nil || !hasIdempotencyKey(resp.Request.Header) || resp.Body == nil {
		return false
	}
	probe, err := io.ReadAll(io.LimitReader(resp.Body, keyInUseProbe))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(probe), resp.Body), resp.Body}
	return err == nil && mentionsIdempotency(probe)
}

// mentionsIdempotency reports whether body speaks of idempotency, as the
// problem details of a 409 for an Idempotency-Key in use do.
func mentionsIdempotency(body []byte) bool {
	return bytes.Contains(bytes.ToLower(body), []byte("idempoten"))
}

// waitPastDeadline is checkRetry's word that a retry's wait would outlast
// the context's deadline; stopError turns it into a [*deadlineError].
type waitPastDeadline struct{ wait, left time.Duration }

func (w *waitPastDeadline) Error() string { return "optimist: retry wait past the deadline" }

// stopError returns the error for a retry refused because of the
// deadline, given what the last try got: out when it was answered (read
// in full), else the fault in st. ok is false for other errors.
func (c *Client) stopError(r *request, st *exchangeState, out *Response, err error) (error, bool) {
	var late *waitPastDeadline
	if !errors.As(err, &late) {
		return nil, false
	}
	var last error
	if out != nil {
		last = c.statusError(r, out, st)
	} else {
		last = &TransportError{Method: r.method, URL: redactURL(r.url.String()), Attempts: st.attempts, Err: st.fault}
	}
	return &deadlineError{Wait: late.wait, Left: late.left, Last: last}, true
}

// notSent reports whether a transport error happened before any byte of
// the request could reach the server: the connection was never made, or
// the guard of WithPreconditionCheck refused it.
func notSent(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial" || refusedUnsent(err)
}

// retryableError reports whether a transport error may go away on a retry.
// Certificate errors, redirect limits and malformed requests do not.
func retryableError(err error) bool {
	var (
		certErr   *tls.CertificateVerificationError
		authErr   x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		redirErr  *redirectError
		recordErr tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &certErr), errors.As(err, &authErr), errors.As(err, &hostErr),
		errors.As(err, &redirErr), errors.As(err, &recordErr):
		return false
	case strings.Contains(err.Error(), "unsupported protocol scheme"):
		return false
	case errors.Is(err, ErrPreconditionsIgnored): // refused unsent, and would be again
		return false
	}
	return true
}

// The retry policy: which answers and faults are worth another try, how
// long to wait before it, and what the server's Retry-After asks for.
// [RetryOptions] (options.go) is where a caller shapes it.

// Backoff returns how long to wait before retry number attempt (1 for the
// first retry).
type Backoff func(attempt int) time.Duration

// ExponentialBackoff returns a full-jitter exponential backoff: the wait
// before retry n is drawn uniformly from [0, min(maxWait, base·2^(n-1))).
// jitter(n) must return a number in [0, n); nil means math/rand/v2.Int64N.
func ExponentialBackoff(base, maxWait time.Duration, jitter func(n int64) int64) Backoff {
	if jitter == nil {
		jitter = rand.Int64N
	}
	return func(attempt int) time.Duration {
		ceiling := maxWait
		if attempt < 1 {
			attempt = 1
		}
		if attempt <= 62 && base > 0 && base <= maxWait>>(attempt-1) {
			ceiling = base << (attempt - 1)
		}
		if ceiling <= 0 {
			return 0
		}
		return time.Duration(jitter(int64(ceiling)))
	}
}

// retryPolicy decides whether a try is worth repeating: the type of
// [RetryOptions].ShouldRetry.
type retryPolicy = func(method string, resp *http.Response, err error) bool

// defaultRetryStatusCodes returns the statuses retried by default.
func defaultRetryStatusCodes() []int {
	return []int{http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}
}

// DefaultRetryPolicy is the policy of a client whose [RetryOptions] set
// neither StatusCodes nor ShouldRetry: it retries 429, 500, 502, 503 and
// 504 and every fault that may go away on another
// try, which excludes certificate errors, refused redirects and malformed
// requests. A ShouldRetry of one's own may call it for the cases it does
// not decide itself.
func DefaultRetryPolicy(method string, resp *http.Response, err error) bool {
	return retryOn(defaultRetryStatusCodes())(method, resp, err)
}

// retryOn is the default policy with the statuses codes.
func retryOn(codes []int) retryPolicy {
	return func(_ string, resp *http.Response, err error) bool {
		if err != nil {
			return retryableError(err)
		}
		return resp != nil && slices.Contains(codes, resp.StatusCode)
	}
}

// RetryEvent describes one transport retry, for [RetryOptions.OnRetry].
type RetryEvent struct {
	// Method and URL identify the request; the URL carries no credentials.
	Method, URL string
	// Attempt is the number of the try about to be sent: 2 for the first
	// retry.
	Attempt int
	// Wait is how long the client waits before it.
	Wait time.Duration
	// StatusCode is the status that made the retry necessary, or 0 when a
	// fault did; Err is that fault, with no credentials in it.
	StatusCode int
	Err        error
}

// resolved returns o with every default filled in.
func (o RetryOptions) resolved() RetryOptions {
	switch {
	case o.MaxRetries == 0:
		o.MaxRetries = defaultMaxRetries
	case o.MaxRetries < 0:
		o.MaxRetries = 0
	}
	if o.Backoff == nil {
		o.Backoff = ExponentialBackoff(defaultRetryBase, defaultRetryCap, nil)
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = defaultMaxRetryAfter
	}
	if o.ShouldRetry == nil {
		codes := o.StatusCodes
		if codes == nil {
			codes = defaultRetryStatusCodes()
		}
		o.ShouldRetry = retryOn(slices.Clone(codes))
	}
	return o
}

// parseRetryAfter reads the wait a response asks for: retry-after-ms (and
// x-ms-retry-after-ms) in milliseconds, else Retry-After as delta-seconds or
// an HTTP-date in any of the three formats. A date in the past is a zero
// wait; a number of seconds too large for a Duration is the largest one
// (too long, not malformed); a negative, malformed or absent value is no
// wait at all (ok false).
func parseRetryAfter(h http.Header, now time.Time) (wait time.Duration, ok bool) {
	for _, name := range [...]string{"Retry-After-Ms", "X-Ms-Retry-After-Ms"} {
		if ms, ok := parseCount(h.Get(name)); ok {
			return saturatingDuration(ms, time.Millisecond), true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, ok := parseCount(v); ok {
		return saturatingDuration(secs, time.Second), true
	}
	if c := v[0]; c >= '0' && c <= '9' {
		return 0, false // a number with junk in it
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(at.Sub(now), 0), true
}

// parseCount parses s, trimmed, as a non-negative decimal count; a count
// too large for int64 is the largest int64.
func parseCount(s string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	switch {
	case err == nil:
		return n, n >= 0
	case errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(strings.TrimSpace(s), "-"):
		return 1<<63 - 1, true
	}
	return 0, false
}

// saturatingDuration returns n·unit, or the largest Duration if that
// overflows.
func saturatingDuration(n int64, unit time.Duration) time.Duration {
	if n > int64(1<<63-1)/int64(unit) {
		return time.Duration(1<<63 - 1)
	}
	return time.Duration(n) * unit
}
