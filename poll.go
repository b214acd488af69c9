package optimist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Long-running operations. A request answered 202 Accepted has started an
// operation on the server; the answer names a status URL to poll. An
// [Operation] polls it, waiting as the server asks, until a status response
// says the operation ended, then reads the result. status.go reads the
// responses; this file waits, sends and decides.

// Defaults of polling; see the options that change them.
const (
	// DefaultPollInterval is the first wait between polls when the server
	// gives no Retry-After; each later wait is DefaultPollFactor times the
	// one before, up to DefaultMaxPollInterval.
	DefaultPollInterval    = 500 * time.Millisecond
	DefaultPollFactor      = 1.5
	DefaultMaxPollInterval = 10 * time.Second
	// DefaultMinPollInterval is the shortest wait between polls, whatever
	// the server asks for: polling never becomes a busy loop.
	DefaultMinPollInterval = 100 * time.Millisecond
	// DefaultMaxPollTime bounds the total wait for one operation.
	DefaultMaxPollTime = 30 * time.Minute
	// DefaultMaxStatusBytes is the largest status response body read.
	DefaultMaxStatusBytes = 1 << 20
)

// pollConfig is the client's polling configuration; zero values mean the
// defaults, resolved by its accessors.
type pollConfig struct {
	statusURL      StatusURLFunc
	decoder        StatusDecoder
	onPoll         func(PollEvent)
	trusted        []*url.URL
	maxTime        time.Duration
	maxStatusBytes int64
	interval       time.Duration
	maxInterval    time.Duration
	minInterval    time.Duration
}

// WithStatusURL makes the client ask fn for the status URL of a 202
// Accepted answer, for APIs that name it in a Link header or the body (see
// [LinkStatusURL], [BodyStatusURL]). When fn is nil or finds none, the
// headers are read, in this order of preference: Operation-Location,
// Azure-AsyncOperation, Location, Content-Location. A relative URL is
// resolved against the request's URL; one that is not http or https is an
// error.
func WithStatusURL(fn StatusURLFunc) Option {
	return func(c *Client) { c.poll.statusURL = fn }
}

// WithStatusDecoder makes the client read status responses with d, for
// APIs with other conventions than [DefaultStatusDecoder]'s. nil means
// DefaultStatusDecoder.
func WithStatusDecoder(d StatusDecoder) Option {
	return func(c *Client) { c.poll.decoder = d }
}

// WithOnPoll calls fn after every status response. fn runs on the polling
// goroutine and must not block for long.
func WithOnPoll(fn func(PollEvent)) Option {
	return func(c *Client) { c.poll.onPoll = fn }
}

// WithTrustedOrigins names origins, such as "https://status.example.com",
// that may receive the credentials (Authorization, Proxy-Authorization,
// Cookie and [WithSecretHeaders]) of the request that started an
// operation when they serve its status or result URL. Other origins than
// the request's receive none. Entries that are not http or https URLs with
// a host are ignored. Redirects are not affected.
func WithTrustedOrigins(origins ...string) Option {
	return func(c *Client) {
		for _, o := range origins {
			if u, err := url.Parse(o); err == nil && u.Host != "" &&
				(u.Scheme == "http" || u.Scheme == "https") {
				c.poll.trusted = append(c.poll.trusted, u)
			}
		}
	}
}

// WithMaxPollTime bounds the total wait for one operation, besides the
// context's deadline; an operation not done in time is an error matching
// [context.DeadlineExceeded]. Zero means [DefaultMaxPollTime]; a negative
// value leaves the bound to the context.
func WithMaxPollTime(d time.Duration) Option {
	return func(c *Client) { c.poll.maxTime = d }
}

// WithMaxStatusBytes sets the largest status response body the client
// reads; a longer one is an error matching [ErrBodyTooLarge], and the read
// stops at the limit. A result that is the status response itself is
// bounded by it too; a result read from another URL, or reached through a
// 303 See Other, is bounded by [WithMaxBodyBytes]. Zero or negative means
// [DefaultMaxStatusBytes].
func WithMaxStatusBytes(n int64) Option {
	return func(c *Client) { c.poll.maxStatusBytes = n }
}

// WithPollInterval sets the first wait between polls and its cap, used when
// the server gives no Retry-After; waits grow by [DefaultPollFactor]. Zero
// or negative values keep [DefaultPollInterval] and
// [DefaultMaxPollInterval].
func WithPollInterval(start, maxInterval time.Duration) Option {
	return func(c *Client) { c.poll.interval, c.poll.maxInterval = start, maxInterval }
}

// WithMinPollInterval sets the shortest wait between polls, even when the
// server asks for less. Zero or negative means [DefaultMinPollInterval].
func WithMinPollInterval(d time.Duration) Option {
	return func(c *Client) { c.poll.minInterval = d }
}

func (p *pollConfig) decode(resp *Response) (OperationStatus, error) {
	if p.decoder == nil {
		return DefaultStatusDecoder(resp)
	}
	return p.decoder(resp)
}

func (p *pollConfig) statusLimit() int64 {
	if p.maxStatusBytes <= 0 {
		return DefaultMaxStatusBytes
	}
	return p.maxStatusBytes
}

// maxPollTime returns the bound on one operation's wait, 0 for none.
func (p *pollConfig) maxPollTime() time.Duration {
	if p.maxTime == 0 {
		return DefaultMaxPollTime
	}
	return max(p.maxTime, 0)
}

func (p *pollConfig) minPollInterval() time.Duration {
	if p.minInterval <= 0 {
		return DefaultMinPollInterval
	}
	return p.minInterval
}

// backoff returns the n-th wait (from 0) that has no Retry-After: the
// start interval grown n times, capped.
func (p *pollConfig) backoff(n int) time.Duration {
	d, ceiling := p.interval, p.maxInterval
	if d <= 0 {
		d = DefaultPollInterval
	}
	if ceiling <= 0 {
		ceiling = DefaultMaxPollInterval
	}
	for ; n > 0 && d < ceiling; n-- {
		d = time.Duration(float64(d) * DefaultPollFactor)
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

// Operation is a long-running operation a request started: a handle to
// poll it to its end. It is not safe for concurrent use. Its status URL is
// its resume token; see [Client.ResumeOperation].
type Operation struct {
	c         *Client
	url       *url.URL    // the status URL
	origin    *url.URL    // the origin the credentials belong to
	header    http.Header // sent with status and result GETs
	hint      *url.URL    // the result, when a status document names none
	start     time.Time
	waitFirst bool // wait before the first poll

	accepted serverWait // what the 202 asked for
	last     serverWait // what the last status response asked for
	attempts int        // status responses read
	backoffs int        // waits that no response asked for
	done     bool
	result   *Response
	err      error
}

// Operation returns a handle to the operation resp, a 202 Accepted answer
// to a request of this client sent with [NoWait], started. It is an error
// if resp is no such answer, names no status URL, or names one that is not
// http or https.
func (c *Client) Operation(resp *Response) (*Operation, error) {
	if resp == nil || resp.req == nil || resp.StatusCode != http.StatusAccepted {
		return nil, errors.New("optimist: not a 202 Accepted answer to a request of this client")
	}
	op, err := c.newOperation(resp.req, resp)
	if err == nil && op == nil {
		err = fmt.Errorf("optimist: %s %s: 202 Accepted names no status URL",
			resp.req.method, redactURL(resp.req.url.String()))
	}
	return op, err
}

// ResumeOperation returns a handle to the operation whose status URL is
// statusURL (from [Operation.StatusURL]), to finish an operation that
// another process, or an earlier run, started. The headers of opts (see
// [Header]; other options are ignored) are sent with each status GET, and
// with a result GET to the same origin or a trusted one (see
// [WithTrustedOrigins]). The first poll does not wait. It is an error if
// statusURL is not an absolute http or https URL.
func (c *Client) ResumeOperation(statusURL string, opts ...RequestOption) (*Operation, error) {
	u, err := resolveHTTP(&url.URL{}, statusURL)
	if err != nil {
		return nil, err
	}
	h := make(http.Header)
	for k, vs := range collectOptions(context.Background(), false, opts).header {
		h[k] = append([]string(nil), vs...)
	}
	h.Set("Accept", "application/json")
	return &Operation{c: c, url: u, origin: u, header: h, start: c.now()}, nil
}

// newOperation returns the operation a 202 answer to r started, or nil
// when the answer names no status URL.
func (c *Client) newOperation(r *request, resp *Response) (*Operation, error) {
	raw, ok := statusURLOf(resp, c.poll.statusURL)
	if !ok {
		return nil, nil
	}
	u, err := resolveHTTP(r.url, raw)
	if err != nil {
		return nil, err
	}
	h := r.header.Clone()
	for _, name := range [...]string{"If-Match", "If-None-Match", "If-Unmodified-Since", "If-Modified-Since",
		"Content-Type", "Content-Length", "Idempotency-Key", "X-Idempotency-Key"} {
		h.Del(name)
	}
	h.Set("Accept", "application/json")
	op := &Operation{c: c, url: u, origin: r.url, header: h, start: c.now(), waitFirst: true}
	op.accepted = retryAfterOf(resp, c.now())
	switch r.method {
	case http.MethodPut, http.MethodPatch:
		op.hint = r.url
	case http.MethodPost:
		if loc := resp.Header.Get("Location"); loc != "" {
			op.hint, _ = resolveHTTP(r.url, loc)
		}
	}
	if op.hint != nil && op.hint.String() == u.String() {
		op.hint = nil
	}
	return op, nil
}

// await follows the operation that accepted, a 202 answer to r, started
// to its end. A 202 that names no status URL is returned as it is; so is
// one whose operation could not be waited for to its end, with the error,
// so that it may be resumed with [Client.Operation].
func (c *Client) await(ctx context.Context, r *request, accepted *Response) (*Response, error) {
	op, err := c.newOperation(r, accepted)
	if op == nil || err != nil {
		return accepted, err
	}
	resp, err := op.Wait(ctx)
	if err != nil && !op.done {
		return accepted, err
	}
	return resp, err
}

// StatusURL returns the operation's status URL: what
// [Client.ResumeOperation] needs to pick the operation up again. It keeps
// any user information the URL has; store it as a credential if so.
func (op *Operation) StatusURL() string { return op.url.String() }

// Done reports whether the operation has ended.
func (op *Operation) Done() bool { return op.done }

// Result returns the operation's outcome once it is done: the result and
// nil, or the last status response and an [*OperationError]. Before then it
// returns an error.
func (op *Operation) Result() (*Response, error) {
	if !op.done {
		return nil, fmt.Errorf("optimist: operation %s is not done", op.redacted())
	}
	return op.result, op.err
}

// Wait polls the operation to its end and returns what [Operation.Result]
// then returns. Before each poll it waits for what the last status
// response's Retry-After asked, else the 202's, else a growing interval
// (see [WithPollInterval]); a Retry-After is cut to [RetryOptions].MaxRetryAfter,
// and no wait is shorter than [WithMinPollInterval]. A resumed operation
// polls once without waiting first. Wait stops with an error when ctx ends,
// when the operation outlasts [WithMaxPollTime], or when a poll fails after
// its own transport retries (the status endpoint keeps failing, or answers
// what cannot be decoded); the operation is then not done, and Wait can be
// called again.
func (op *Operation) Wait(ctx context.Context) (*Response, error) {
	for !op.done {
		if op.attempts > 0 || op.waitFirst {
			if err := op.pause(ctx); err != nil {
				return nil, err
			}
		}
		if _, err := op.Poll(ctx); err != nil && !op.done {
			return nil, err
		}
	}
	return op.result, op.err
}

// pause waits before the next poll.
func (op *Operation) pause(ctx context.Context) error {
	d := op.nextWait()
	if limit := op.c.poll.maxPollTime(); limit > 0 && op.c.now().Add(d).Sub(op.start) > limit {
		return fmt.Errorf("optimist: operation %s: not done within %s: %w", op.redacted(), limit, context.DeadlineExceeded)
	}
	err := ctx.Err()
	if err == nil {
		err = op.c.sleep(ctx, d)
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("optimist: operation %s: %w", op.redacted(), err)
	}
	return nil
}

// nextWait returns the wait before the next poll.
func (op *Operation) nextWait() time.Duration {
	w := op.last
	if !w.ok {
		w = op.accepted
	}
	if !w.ok {
		w.d = op.c.poll.backoff(op.backoffs)
		op.backoffs++
	}
	return max(min(w.d, op.c.maxRetryAfter), op.c.poll.minPollInterval())
}

// Poll reads the operation's status once, without waiting, and when the
// operation has succeeded, its result. It reports whether the operation is
// done; a failed operation is done with an [*OperationError]. Any other
// error (a [*StatusError], a [*TransportError], one matching
// [ErrBodyTooLarge]) leaves the operation as it was, to poll again. Once
// the operation is done, Poll sends nothing. Calling Poll in a loop is
// the caller's business: [Operation.Wait] waits between polls.
func (op *Operation) Poll(ctx context.Context) (done bool, err error) {
	if op.done {
		return true, op.err
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("optimist: operation %s: %w", op.redacted(), err)
	}
	resp, st, err := op.status(ctx)
	if err != nil {
		return false, err
	}
	op.attempts++
	op.last = retryAfterOf(resp, op.c.now())
	op.report(ctx, resp, st)
	switch {
	case st.Failed:
		op.done, op.result = true, resp
		op.err = newOperationError(op.redacted(), st.State, st.Error)
	case st.Done:
		result, err := op.fetchResult(ctx, resp, st)
		if err != nil {
			return false, err
		}
		op.done, op.result = true, result
	}
	return op.done, op.err
}

// status GETs the status URL and decodes the answer. A 303 See Other
// means done, with the result at its Location; when the transport followed
// it, the answer is the result.
func (op *Operation) status(ctx context.Context) (*Response, OperationStatus, error) {
	resp, err := op.getStatus(ctx)
	if resp != nil && resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") != "" {
		return resp, OperationStatus{Done: true, ResultURL: resp.Header.Get("Location")}, nil
	}
	if err != nil {
		return nil, OperationStatus{}, err
	}
	if redirectedBySeeOther(resp.raw) {
		return resp, OperationStatus{Done: true}, nil
	}
	st, err := op.c.poll.decode(resp)
	if err != nil {
		return nil, st, fmt.Errorf("optimist: GET %s: decoding status: %w", op.redacted(), err)
	}
	st.Done = st.Done || st.Failed
	return resp, st, nil
}

// getStatus sends one status GET, with transport retries, and reads at
// most the status limit of the answer (the body limit for a result the
// transport reached through a 303). Unlike exchange, it leaves the ETag
// memory alone: a status document is no resource to write.
func (op *Operation) getStatus(ctx context.Context) (*Response, error) {
	c, r := op.c, op.get(op.url)
	st := &exchangeState{replayable: true}
	raw, err := c.retry.Do(r.httpRequest(context.WithValue(ctx, exchangeStateKey{}, st), r.header))
	if err != nil {
		return nil, c.transportError(r, st, raw, err)
	}
	defer raw.Body.Close()
	limit := c.poll.statusLimit()
	if redirectedBySeeOther(raw) {
		limit = c.maxBodyBytes
	}
	resp := &Response{StatusCode: raw.StatusCode, Header: raw.Header, Attempts: st.attempts, raw: raw, req: r}
	resp.Body, err = readLimited(raw.Body, raw.ContentLength, limit)
	success := raw.StatusCode >= 200 && raw.StatusCode <= 299
	if err != nil && (success || !errors.Is(err, ErrBodyTooLarge)) {
		return nil, fmt.Errorf("optimist: GET %s: reading status: %w", op.redacted(), err)
	}
	return resp, c.statusError(r, resp, st)
}

// fetchResult returns the result of a successful operation: the resource
// the status names, else (for a status document) the hint, else resp,
// remembered under the URL that answered it.
func (op *Operation) fetchResult(ctx context.Context, resp *Response, st OperationStatus) (*Response, error) {
	target := op.hint
	if st.State == "" {
		target = nil
	}
	if st.ResultURL != "" {
		u, err := resolveHTTP(op.url, st.ResultURL)
		if err != nil {
			return nil, err
		}
		target = u
	}
	if target != nil {
		return op.c.exchange(ctx, op.get(target))
	}
	if st.State == "" {
		return resp, op.c.remember(op.get(resp.raw.Request.URL), resp) // the URL after redirects
	}
	return resp, nil
}

// get returns a GET of u with the operation's headers, without credentials
// when u is another origin than the request's and not a trusted one.
func (op *Operation) get(u *url.URL) *request {
	h := op.header.Clone()
	r := &request{method: http.MethodGet, url: u, key: canonicalURL(u), header: h}
	if !sameOrigin(u, op.origin) && !op.c.poll.trusts(u) {
		op.c.stripSecrets(h)
		r.origin = op.origin // no cookie of the caller's jar either
	}
	r.token = op.c.tokenFor(u, &r.opts)
	return r
}

// report tells the hook and the log of a status response.
func (op *Operation) report(ctx context.Context, resp *Response, st OperationStatus) {
	ev := PollEvent{StatusURL: op.redacted(), Attempt: op.attempts, StatusCode: resp.StatusCode,
		State: st.State, Done: st.Done, Failed: st.Failed, PercentComplete: st.PercentComplete}
	if op.c.poll.onPoll != nil {
		op.c.poll.onPoll(ev)
	}
	if op.c.logger != nil {
		op.c.logger.LogAttrs(ctx, slog.LevelDebug, "optimist: operation polled",
			slog.String("url", ev.StatusURL), slog.Int("attempt", ev.Attempt),
			slog.Int("status", ev.StatusCode), slog.String("state", ev.State))
	}
}

func (op *Operation) redacted() string { return redactURL(op.url.String()) }
