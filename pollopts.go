package optimist

import (
	"net/url"
	"time"
)

// Defaults of polling; [PollOptions] documents each.
const (
	defaultPollInterval     = 500 * time.Millisecond
	defaultPollFactor       = 1.5
	defaultMaxPollInterval  = 10 * time.Second
	defaultMinPollInterval  = 100 * time.Millisecond // polling never becomes a busy loop
	defaultMaxPollTime      = 30 * time.Minute
	defaultMaxStatusBytes   = 1 << 20
	defaultCallbackSlowdown = 4
)

// PollOptions configure how a client follows operations a 202 Accepted
// answer started. The zero value means every default; each field
// documents its zero and out-of-range meanings.
type PollOptions struct {
	// StatusURL finds the status URL of a 202 answer, for APIs that name
	// it in a Link header or the body (see [LinkStatusURL],
	// [BodyStatusURL]). When it is nil or finds none, the headers are
	// read, in this order of preference: Operation-Location,
	// Azure-AsyncOperation, Location, Content-Location. A relative URL is
	// resolved against the request's URL; one that is not http or https
	// is an error.
	//
	// A URL found by StatusURL, Operation-Location or
	// Azure-AsyncOperation names a status monitor, whose answers Decoder
	// reads. A Location or Content-Location names where the result will
	// be: 202 means running, and any other 2xx answer is the result.
	StatusURL StatusURLFunc
	// Decoder reads the answers of a status monitor. nil means
	// [DefaultStatusDecoder].
	Decoder StatusDecoder
	// OnProgress is called after every status response and every
	// verified progress callback of every operation, with what it says
	// and the client's fields of [OperationStatus] (StatusURL, Attempt,
	// StatusCode, Callback) set; [OnProgress] adds one for a single
	// request. It runs on the waiting goroutine and must not block for
	// long. nil means none.
	OnProgress func(OperationStatus)
	// TrustedOrigins names origins, such as "https://status.example.com",
	// that may receive the credentials (Authorization,
	// Proxy-Authorization, Cookie and [WithSecretHeaders]) of the request
	// that started an operation when they serve its status or result URL.
	// Other origins than the request's receive none. Entries that are not
	// http or https URLs with a host are ignored. Redirects are not
	// affected.
	TrustedOrigins []string
	// Interval is the first wait between polls when the server gives no
	// Retry-After; each later one is Factor times longer, up to
	// MaxInterval. Zero or negative Interval means 500ms, and zero or
	// negative MaxInterval 10s; a Factor below 1 (zero included) means
	// 1.5, and 1 a fixed interval.
	Interval, MaxInterval time.Duration
	Factor                float64
	// MinInterval is the shortest wait between polls, even when the
	// server asks for less, so that polling never becomes a busy loop.
	// Zero means 100ms; a negative value means no minimum.
	MinInterval time.Duration
	// MaxTime bounds the total wait for one operation, besides the
	// context's deadline; an operation not done in time is an error
	// matching [context.DeadlineExceeded]. Zero means 30 minutes; a
	// negative value leaves the bound to the context.
	MaxTime time.Duration
	// MaxStatusBytes is the largest status response body read; a longer
	// one is an error matching [ErrBodyTooLarge], and the read stops at
	// the limit. A result that is the status response itself is bounded by
	// it too; a result read from another URL, or reached through a 303
	// See Other, is bounded by [WithMaxBodyBytes]. Zero or negative means
	// 1 MiB.
	MaxStatusBytes int64
	// CallbackSlowdown multiplies the waits between polls while a
	// callback is expected, a Retry-After's too (after it is cut to
	// [RetryOptions].MaxRetryAfter), so that no wait is shorter than the server
	// asked; a slowed wait is cut to what remains of MaxTime. Values below
	// 1 (zero included) mean 4; 1 polls as if none were expected.
	CallbackSlowdown float64
}

// WithPolling sets how the client follows 202 Accepted operations. A
// later WithPolling replaces an earlier one as a whole.
func WithPolling(o PollOptions) Option {
	return func(c *Client) { c.poll = newPollConfig(o) }
}

// pollConfig is PollOptions with the trusted origins parsed; its accessors
// resolve the defaults.
type pollConfig struct {
	PollOptions
	trusted []*url.URL
}

func newPollConfig(o PollOptions) pollConfig {
	p := pollConfig{PollOptions: o}
	p.TrustedOrigins = append([]string(nil), o.TrustedOrigins...)
	for _, s := range p.TrustedOrigins {
		if u, err := url.Parse(s); err == nil && u.Host != "" &&
			(u.Scheme == "http" || u.Scheme == "https") {
			p.trusted = append(p.trusted, u)
		}
	}
	return p
}

func (p *pollConfig) decode(resp *Response) (OperationStatus, error) {
	if p.Decoder == nil {
		return DefaultStatusDecoder(resp)
	}
	return p.Decoder(resp)
}

func (p *pollConfig) statusLimit() int64 {
	if p.MaxStatusBytes <= 0 {
		return defaultMaxStatusBytes
	}
	return p.MaxStatusBytes
}

// maxPollTime returns the bound on one operation's wait, 0 for none.
func (p *pollConfig) maxPollTime() time.Duration {
	if p.MaxTime == 0 {
		return defaultMaxPollTime
	}
	return max(p.MaxTime, 0)
}

func (p *pollConfig) minPollInterval() time.Duration {
	switch {
	case p.MinInterval == 0:
		return defaultMinPollInterval
	case p.MinInterval < 0:
		return 0
	}
	return p.MinInterval
}

func (p *pollConfig) slowdown() float64 {
	if p.CallbackSlowdown < 1 {
		return defaultCallbackSlowdown
	}
	return p.CallbackSlowdown
}

// backoff returns the n-th wait (from 0) that has no Retry-After: the
// start interval grown n times, capped.
func (p *pollConfig) backoff(n int) time.Duration {
	d, ceiling, factor := p.Interval, p.MaxInterval, p.Factor
	if d <= 0 {
		d = defaultPollInterval
	}
	if ceiling <= 0 {
		ceiling = defaultMaxPollInterval
	}
	if factor < 1 {
		factor = defaultPollFactor
	}
	for ; n > 0 && d < ceiling && factor > 1; n-- {
		d = time.Duration(float64(d) * factor)
	}
	return min(d, ceiling)
}

func (p *pollConfig) trusts(u *url.URL) bool {
	for _, t := range p.trusted {
		if sameOrigin(u, t) {
			return true
		}
	}
	return false
}

// asyncOptions are the request options of an operation a request starts.
type asyncOptions struct {
	onProgress func(OperationStatus)
	callback   *callbackAttach
}

// OnProgress calls fn after every status response and every verified
// progress callback of the operation this request starts (or, given to
// [Client.ResumeOperation], resumes), after [PollOptions].OnProgress, with
// the same [OperationStatus]. fn runs on the waiting goroutine and must
// not block for long.
func OnProgress(fn func(OperationStatus)) RequestOption {
	return func(o *requestOptions) { o.async.onProgress = fn }
}
