package optimist

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Transport retries. Underneath every request the client keeps a
// go-retryablehttp client, configured here with optimist's own policy:
// which faults are retried, how long to wait, and when a request may be
// sent again at all.

// exchangeState follows one logical request across its transport retries.
// The retry hooks find it in the request's context.
type exchangeState struct {
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
}

type exchangeStateKey struct{}

func stateFrom(ctx context.Context) *exchangeState {
	st, _ := ctx.Value(exchangeStateKey{}).(*exchangeState)
	if st == nil {
		st = &exchangeState{}
	}
	return st
}

// bindState records r in the exchange state ctx carries, if any, and
// returns ctx with a trace that counts the copies of the request the
// transport writes.
func bindState(ctx context.Context, r *request) context.Context {
	st, ok := ctx.Value(exchangeStateKey{}).(*exchangeState)
	if !ok {
		return ctx
	}
	st.method, st.origin = r.method, r.credentialOrigin()
	st.trace.WroteHeaders = func() { st.writes.Add(1) }
	return httptrace.WithClientTrace(ctx, &st.trace)
}

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
// the log, and waits as checkRetry decided. A re-sent request with an
// Idempotency-Key settles whether an earlier copy was applied, for a
// server that honours the key answers a copy of an applied request with
// the first answer.
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
	return c.sleep(ctx, st.wait)
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

// retryAfterError is returned when a server asks for a longer wait than the
// client allows. It matches [ErrRetryAfterTooLong].
type retryAfterError struct {
	// Wait is what the server asked for; Max is the client's limit.
	Wait, Max time.Duration
	// Response is the answer that carried the Retry-After, when known.
	Response *StatusError
}

// Error names the wait the server asked for.
func (e *retryAfterError) Error() string {
	msg := fmt.Sprintf("optimist: server asked to retry after %s, more than the allowed %s", e.Wait, e.Max)
	if e.Response != nil {
		msg += ": " + e.Response.Error()
	}
	return msg
}

// Is matches [ErrRetryAfterTooLong].
func (e *retryAfterError) Is(target error) bool { return target == ErrRetryAfterTooLong }

// Unwrap returns the response's status error, if any.
func (e *retryAfterError) Unwrap() error {
	if e.Response == nil {
		return nil
	}
	return e.Response
}

// deadlineError is returned when the wait before the next retry would
// not end before the context's deadline: the client stops at once rather
// than sleep into the deadline. It matches [context.DeadlineExceeded];
// Unwrap gives the last try's outcome, a [*StatusError] (with the
// RetryAfter the server asked for) or a [*TransportError], so [errors.As]
// reaches it.
type deadlineError struct {
	// Wait is the wait the next retry needed; Left is the time that was
	// left before the deadline.
	Wait, Left time.Duration
	// Last is the last try's outcome.
	Last error
}

// Error describes the last outcome and the wait that did not fit.
func (e *deadlineError) Error() string {
	return fmt.Sprintf("%s; not retried: the next try needs a wait of %s, the context's deadline is %s away",
		e.Last, e.Wait, e.Left.Round(time.Millisecond))
}

// Is matches [context.DeadlineExceeded].
func (e *deadlineError) Is(target error) bool { return target == context.DeadlineExceeded }

// Unwrap returns the last outcome.
func (e *deadlineError) Unwrap() error { return e.Last }

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
