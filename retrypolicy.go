package optimist

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

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
