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
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Transport retries. Underneath every request the client keeps a
// go-retryablehttp client, configured here with optimist's own policy:
// which faults are retried, how long to wait, and when a request may be
// sent again at all.

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

// exchangeState follows one logical request across its transport retries.
// The retry hooks find it in the request's context.
type exchangeState struct {
	// replayable says the request may be sent again even after it may have
	// reached the server: its method is idempotent, it is a conditional
	// write, or it carries an Idempotency-Key.
	replayable bool
	// attempts counts the times the request was sent.
	attempts int
	// ambiguous says an earlier attempt may have been applied by the server
	// although no answer to it arrived.
	ambiguous bool
	// wait and cause are the wait before the next retry and what made it
	// necessary, set by checkRetry for prepareRetry.
	wait  time.Duration
	cause string
}

type exchangeStateKey struct{}

func stateFrom(ctx context.Context) *exchangeState {
	st, _ := ctx.Value(exchangeStateKey{}).(*exchangeState)
	if st == nil {
		st = &exchangeState{}
	}
	return st
}

// newRetryClient builds the go-retryablehttp client with optimist's policy.
// The waits between retries go through the client's sleep (see
// [WithClock]) in prepareRetry, so go-retryablehttp's own wait is zero.
func (c *Client) newRetryClient(hc *http.Client) *retryablehttp.Client {
	return &retryablehttp.Client{
		HTTPClient:   hc,
		RetryMax:     c.maxRetries,
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

// checkRetry decides whether a transport attempt is tried again. Faults that
// are retried: connection errors, 429, 500, 502, 503 and 504, and a 409 that
// says a request with the same Idempotency-Key is still being processed. A
// request that is not replayable is only sent again when its connection
// could not be made, so it cannot have reached the server.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	st := stateFrom(ctx)
	st.attempts++
	if ctxErr := ctx.Err(); ctxErr != nil {
		return false, ctxErr
	}
	if err != nil {
		return c.retryFault(st, err)
	}
	return c.retryStatus(st, resp)
}

// retryFault decides on an attempt that got no answer.
func (c *Client) retryFault(st *exchangeState, err error) (bool, error) {
	sent := !notSent(err)
	if !retryableError(err) || (sent && !st.replayable) {
		return false, err
	}
	st.ambiguous = st.ambiguous || sent
	st.wait, st.cause = c.backoff(st.attempts), faultText(err)
	return true, nil
}

// retryStatus decides on an attempt answered with resp.
func (c *Client) retryStatus(st *exchangeState, resp *http.Response) (bool, error) {
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		st.ambiguous = st.ambiguous || st.replayable
	case http.StatusConflict:
		if !keyInUse(resp) {
			return false, nil
		}
	default:
		return false, nil
	}
	if !st.replayable {
		return false, nil
	}
	wait, ok := parseRetryAfter(resp.Header, c.now())
	if ok && wait > c.maxRetryAfter {
		return false, &RetryAfterError{Wait: wait, Max: c.maxRetryAfter}
	}
	if !ok {
		wait = c.backoff(st.attempts)
	}
	st.wait, st.cause = wait, resp.Status
	return true, nil
}

// prepareRetry runs before a retry is sent: it logs the retry and waits,
// the server's Retry-After when it gave one (checkRetry has clamped it),
// else the client's backoff. A re-sent request with an Idempotency-Key
// settles whether an earlier copy was applied, for a server that honours
// the key answers a copy of an applied request with the first answer.
func (c *Client) prepareRetry(req *http.Request) error {
	ctx := req.Context()
	st := stateFrom(ctx)
	if hasIdempotencyKey(req.Header) {
		st.ambiguous = false
	}
	if c.logger != nil {
		c.logger.LogAttrs(ctx, slog.LevelDebug, "optimist: retrying",
			slog.String("method", req.Method), slog.String("url", redactURL(req.URL.String())),
			slog.Int("attempt", st.attempts+1), slog.String("cause", st.cause),
			slog.Duration("wait", st.wait))
	}
	return c.sleep(ctx, st.wait)
}

func hasIdempotencyKey(h http.Header) bool {
	return h.Get("Idempotency-Key") != "" || h.Get("X-Idempotency-Key") != ""
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

// faultText describes a transport fault without the *url.Error wrapper
// net/http adds, which repeats the URL with its user name and query.
func faultText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err.Error()
	}
	return err.Error()
}

// RetryAfterError is returned when a server asks for a longer wait than the
// client allows. It matches [ErrRetryAfterTooLong].
type RetryAfterError struct {
	// Wait is what the server asked for; Max is the client's limit.
	Wait, Max time.Duration
	// Response is the answer that carried the Retry-After, when known.
	Response *StatusError
}

// Error names the wait the server asked for.
func (e *RetryAfterError) Error() string {
	msg := fmt.Sprintf("optimist: server asked to retry after %s, more than the allowed %s", e.Wait, e.Max)
	if e.Response != nil {
		msg += ": " + e.Response.Error()
	}
	return msg
}

// Is matches [ErrRetryAfterTooLong].
func (e *RetryAfterError) Is(target error) bool { return target == ErrRetryAfterTooLong }

// Unwrap returns the response's status error, if any.
func (e *RetryAfterError) Unwrap() error {
	if e.Response == nil {
		return nil
	}
	return e.Response
}

// parseRetryAfter reads the wait a response asks for: retry-after-ms (and
// x-ms-retry-after-ms) in milliseconds, else Retry-After as delta-seconds or
// an HTTP-date in any of the three formats. A date in the past is a zero
// wait; a negative, malformed or absent value is no wait at all (ok false).
func parseRetryAfter(h http.Header, now time.Time) (wait time.Duration, ok bool) {
	for _, name := range [...]string{"Retry-After-Ms", "X-Ms-Retry-After-Ms"} {
		if ms, err := strconv.ParseInt(strings.TrimSpace(h.Get(name)), 10, 64); err == nil && ms >= 0 {
			return saturatingDuration(ms, time.Millisecond), true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return saturatingDuration(secs, time.Second), true
	}
	if len(v) > 0 && v[0] >= '0' && v[0] <= '9' {
		return 0, false // a number that does not parse: too large or malformed
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(at.Sub(now), 0), true
}

// saturatingDuration returns n·unit, or the largest Duration if that
// overflows.
func saturatingDuration(n int64, unit time.Duration) time.Duration {
	if n > int64(1<<63-1)/int64(unit) {
		return time.Duration(1<<63 - 1)
	}
	return time.Duration(n) * unit
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
