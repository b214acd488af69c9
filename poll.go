package optimist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Long-running operations. A request answered 202 Accepted has started an
// operation on the server; the answer names a status URL to poll. An
// [Operation] polls it, waiting as the server asks, until a status response
// says the operation ended, then reads the result.

// Defaults of polling; see the options that change them.
const (
	// DefaultPollInterval is the first wait between polls when the server
	// gives no Retry-After; each later wait is DefaultPollFactor times the
	// one before, up to DefaultMaxPollInterval.
	DefaultPollInterval    = 500 * time.Millisecond
	DefaultPollFactor      = 1.5
	DefaultMaxPollInterval = 10 * time.Second
	// MinPollInterval is the shortest wait between polls, whatever the
	// server asks for: polling never becomes a busy loop.
	MinPollInterval = 100 * time.Millisecond
	// DefaultMaxPollTime bounds the total wait for one operation.
	DefaultMaxPollTime = 30 * time.Minute
	// DefaultMaxStatusBytes is the largest status document the client reads.
	DefaultMaxStatusBytes = 1 << 20
)

// pollConfig is the client's polling configuration; zero values mean the
// defaults, resolved by its accessors.
type pollConfig struct {
	statusURL      func(resp *Response) (string, bool)
	decoder        StatusDecoder
	onPoll         func(PollEvent)
	trusted        []*url.URL
	maxTime        time.Duration
	maxStatusBytes int64
	interval       time.Duration
	maxInterval    time.Duration
}

// WithStatusURL makes the client ask fn for the status URL of a 202
// Accepted answer, for APIs that name it in a Link header or the body. When
// fn reports false, the headers are read as usual: Operation-Location,
// Azure-AsyncOperation, Location, then Content-Location, the first present.
// A relative URL is resolved against the request's URL.
func WithStatusURL(fn func(resp *Response) (string, bool)) Option {
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
// that may receive the credentials of requests sent to another origin when
// they are an operation's status or result URL. Entries that are not http
// or https URLs with a host are ignored. Redirects are not affected.
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

// WithMaxStatusBytes sets the largest status document the client reads; a
// longer one is an error matching [ErrBodyTooLarge]. A result reached
// through a 303 redirect is bounded by [WithMaxBodyBytes] instead. Zero or
// negative means [DefaultMaxStatusBytes].
func WithMaxStatusBytes(n int64) Option {
	return func(c *Client) { c.poll.maxStatusBytes = n }
}

// WithPollInterval sets the first wait between polls and its cap, used when
// the server gives no Retry-After; waits grow by [DefaultPollFactor]. Zero
// or negative values keep [DefaultPollInterval] and
// [DefaultMaxPollInterval]; no wait is shorter than [MinPollInterval].
func WithPollInterval(start, maxInterval time.Duration) Option {
	return func(c *Client) { c.poll.interval, c.poll.maxInterval = start, maxInterval }
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

// backoff returns the wait before the n-th poll (from 0) that has no
// Retry-After: the start interval grown n times, capped.
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

// StatusDecoder reads a status response: the answer to a GET of an
// operation's status URL. See [DefaultStatusDecoder].
type StatusDecoder func(resp *Response) (OperationStatus, error)

// OperationStatus is what a status response says of an operation.
type OperationStatus struct {
	// State is the state the status document names, as written, such as
	// "Running" or "succeeded". Empty means the response is no status
	// document: when Done, it is the result itself.
	State string
	// Done reports that the operation has ended; Failed, that it ended
	// without success (Failed implies Done).
	Done, Failed bool
	// ResultURL is where the result of a successful operation is read,
	// relative to the status URL; empty means the response is the result
	// (or, for a status document, the request's own URL when it was a PUT
	// or PATCH, else the 202's Location when it differs from the status
	// URL, else the status response).
	ResultURL string
	// PercentComplete is the progress the document reports, nil when none.
	PercentComplete *float64
	// Error is the server's account of a failure: the document's error
	// member, or the whole body when it has none.
	Error json.RawMessage
}

// DefaultStatusDecoder reads the common conventions. A JSON body with a
// string member "status" (or else "state"), matched case-insensitively, is
// a status document: succeeded, completed or done end the operation, with
// the result at its "resourceLocation" when it names one; failed, canceled
// or cancelled end it in failure, with its "error" member; any other state
// means running. Its "percentComplete" is the progress. Without a state, a
// 201 Created with Location is done with the result there, a 202 means
// running, and any other answer is the result itself. It never fails.
func DefaultStatusDecoder(resp *Response) (OperationStatus, error) {
	doc := parseStatusDocument(resp.Body)
	st := OperationStatus{State: doc.state, PercentComplete: doc.percent}
	switch strings.ToLower(doc.state) {
	case "failed", "canceled", "cancelled":
		st.Done, st.Failed, st.Error = true, true, doc.err
		if len(st.Error) == 0 {
			st.Error = resp.Body
		}
		return st, nil
	case "succeeded", "completed", "done":
		st.Done, st.ResultURL = true, doc.resourceLocation
	}
	if loc := resp.Header.Get("Location"); resp.StatusCode == http.StatusCreated && loc != "" {
		st.Done, st.ResultURL = true, loc
	} else if doc.state == "" && resp.StatusCode != http.StatusAccepted {
		st.Done = true
	}
	return st, nil
}

type statusDocument struct {
	state, resourceLocation string
	percent                 *float64
	err                     json.RawMessage
}

// parseStatusDocument reads the members DefaultStatusDecoder knows from
// body, ignoring those of another type.
func parseStatusDocument(body []byte) statusDocument {
	var (
		doc     statusDocument
		members map[string]json.RawMessage
		status  string
	)
	if json.Unmarshal(body, &members) != nil {
		return doc
	}
	for k, v := range members {
		switch strings.ToLower(k) {
		case "status":
			_ = json.Unmarshal(v, &status)
		case "state":
			_ = json.Unmarshal(v, &doc.state)
		case "resourcelocation":
			_ = json.Unmarshal(v, &doc.resourceLocation)
		case "percentcomplete":
			var f float64
			if json.Unmarshal(v, &f) == nil {
				doc.percent = &f
			}
		case "error":
			if string(v) != "null" {
				doc.err = v
			}
		}
	}
	if status != "" {
		doc.state = status
	}
	return doc
}

// PollEvent describes one status response, for [WithOnPoll].
type PollEvent struct {
	// StatusURL is the URL polled, without user information.
	StatusURL string
	// Attempt counts the status responses of the operation, from 1.
	Attempt int
	// StatusCode is the status response's HTTP status.
	StatusCode int
	// State is the operation's state as the server names it, or empty.
	State string
	// Done reports that the operation has ended.
	Done bool
	// PercentComplete is the progress the server reports, nil when none.
	PercentComplete *float64
}

// OperationError is returned when an operation ends in a failed or
// cancelled state. It matches [ErrOperationFailed]; use [errors.As] to read
// the server's account of the failure.
type OperationError struct {
	// StatusURL is the operation's status URL, without user information.
	StatusURL string
	// State is the final state as the server names it, e.g. "Failed".
	State string
	// Body is the server's error: the status document's error member, or
	// the whole document.
	Body json.RawMessage
	// Problem is Body read as RFC 9457 problem details, when it has any of
	// their members; nil otherwise.
	Problem *Problem

	message string // the server's message, from Problem or code/message
}

// Error names the operation, its final state and the server's message.
func (e *OperationError) Error() string {
	state := strings.ToLower(e.State)
	if state == "" {
		state = "failed"
	}
	msg := "optimist: operation " + e.StatusURL + " " + state
	if e.message != "" {
		msg += ": " + e.message
	}
	return msg
}

// Is matches [ErrOperationFailed].
func (e *OperationError) Is(target error) bool { return target == ErrOperationFailed }

func newOperationError(statusURL, state string, body json.RawMessage) *OperationError {
	e := &OperationError{StatusURL: statusURL, State: state, Body: body}
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) != nil {
		return e
	}
	str := func(name string) string {
		var s string
		_ = json.Unmarshal(members[name], &s)
		return s
	}
	p := Problem{Type: str("type"), Title: str("title"), Detail: str("detail"), Instance: str("instance")}
	_ = json.Unmarshal(members["status"], &p.Status)
	if p != (Problem{}) {
		e.Problem, e.message = &p, p.message()
	}
	if code, msg := str("code"), str("message"); e.message == "" && (code != "" || msg != "") {
		e.message = code + ": " + msg
		e.message = strings.TrimSuffix(strings.TrimPrefix(e.message, ": "), ": ")
	}
	return e
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

	retryAfter    time.Duration // the last Retry-After seen
	hasRetryAfter bool
	attempts      int // status responses read
	backoffs      int // waits without Retry-After
	done          bool
	result        *Response
	err           error
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

// ResumeOperation returns a handle to the operation whose status URL, from
// [Operation.StatusURL], is statusURL, to finish an operation another
// process started. The headers of opts (see [Header]) are sent with each
// status GET, and with the result GET when it goes to the same origin or a
// trusted one (see [WithTrustedOrigins]). The first poll does not wait.
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
	raw, ok := "", false
	if c.poll.statusURL != nil {
		raw, ok = c.poll.statusURL(resp)
	}
	for _, name := range [...]string{"Operation-Location", "Azure-AsyncOperation", "Location", "Content-Location"} {
		if !ok {
			raw = resp.Header.Get(name)
			ok = raw != ""
		}
	}
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
	op.noteRetryAfter(resp)
	switch r.method {
	case http.MethodPut, http.MethodPatch:
		op.hint = r.url
	case http.MethodPost:
		if loc, err := resolveHTTP(r.url, resp.Header.Get("Location")); err == nil {
			op.hint = loc
		}
	}
	if op.hint != nil && op.hint.String() == u.String() {
		op.hint = nil
	}
	return op, nil
}

// resolveHTTP resolves raw against base and checks it is an http or https
// URL with a host.
func resolveHTTP(base *url.URL, raw string) (*url.URL, error) {
	ref, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("optimist: invalid operation URL: %w", err)
	}
	u := base.ResolveReference(ref)
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("optimist: operation URL %s: must be http or https", redactURL(u.String()))
	}
	return u, nil
}

// await follows the operation a 202 answer to r started to its end. A 202
// that names no status URL is returned as it is.
func (c *Client) await(ctx context.Context, r *request, resp *Response) (*Response, error) {
	op, err := c.newOperation(r, resp)
	if op == nil || err != nil {
		return resp, err
	}
	return op.Wait(ctx)
}

// StatusURL returns the operation's status URL: what [Client.ResumeOperation]
// needs to pick the operation up again.
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
// then returns. Between polls it waits as the last Retry-After asked (the
// 202's until a status response gives another), at most the client's
// [WithMaxRetryAfter], else for the growing interval of [WithPollInterval];
// never less than [MinPollInterval]. It stops, with an error, when ctx ends
// or the operation outlasts [WithMaxPollTime]; the operation can then be
// waited for again, or resumed.
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
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("optimist: operation %s: %w", op.redacted(), err)
	}
	d := op.retryAfter
	if !op.hasRetryAfter {
		d = op.c.poll.backoff(op.backoffs)
		op.backoffs++
	}
	d = max(min(d, op.c.maxRetryAfter), MinPollInterval)
	if limit := op.c.poll.maxPollTime(); limit > 0 && op.c.now().Add(d).Sub(op.start) > limit {
		return fmt.Errorf("optimist: operation %s: not done after %s: %w", op.redacted(), limit, context.DeadlineExceeded)
	}
	err := op.c.sleep(ctx, d)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("optimist: operation %s: %w", op.redacted(), err)
	}
	return nil
}

// Poll reads the operation's status once, without waiting, and when the
// operation has succeeded, its result. It reports whether the operation is
// done; a failed operation is done with an [*OperationError]. Any other
// error (a [*StatusError], [*TransportError], ErrBodyTooLarge) leaves the
// operation as it was, to poll again. Once done, Poll sends nothing.
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
	op.noteRetryAfter(resp)
	op.report(ctx, resp, st)
	if !st.Done && !st.Failed {
		return false, nil
	}
	if st.Failed {
		op.done, op.result = true, resp
		op.err = newOperationError(op.redacted(), st.State, st.Error)
		return true, op.err
	}
	result, err := op.fetchResult(ctx, resp, st)
	if err != nil {
		return false, err
	}
	op.done, op.result = true, result
	return true, nil
}

// status GETs the status URL and decodes the answer. A 303 See Other is
// done, the result at its Location, whether the transport followed it (the
// answer is then the result) or not.
func (op *Operation) status(ctx context.Context) (*Response, OperationStatus, error) {
	resp, err := op.c.exchange(ctx, op.get(op.url))
	op.c.memory.forget(canonicalURL(op.url)) // remembered again if it is the result
	var se *StatusError
	if errors.As(err, &se) && se.StatusCode == http.StatusSeeOther && se.Header.Get("Location") != "" {
		return resp, OperationStatus{Done: true, ResultURL: se.Header.Get("Location")}, nil
	}
	if err != nil {
		return nil, OperationStatus{}, err
	}
	if via := resp.raw.Request; via != nil && via.Response != nil && via.Response.StatusCode == http.StatusSeeOther {
		return resp, OperationStatus{Done: true}, nil
	}
	if limit := op.c.poll.statusLimit(); int64(len(resp.Body)) > limit {
		return nil, OperationStatus{}, fmt.Errorf("optimist: GET %s: status document: %w: limit %d",
			op.redacted(), ErrBodyTooLarge, limit)
	}
	st, err := op.c.poll.decode(resp)
	if err != nil {
		return nil, st, fmt.Errorf("optimist: GET %s: decoding status: %w", op.redacted(), err)
	}
	return resp, st, nil
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
		u := op.url
		if resp.raw != nil && resp.raw.Request != nil {
			u = resp.raw.Request.URL // after redirects
		}
		return resp, op.c.remember(&request{method: http.MethodGet, url: u, key: canonicalURL(u)}, resp)
	}
	return resp, nil
}

// get returns a GET of u with the operation's headers, without credentials
// when u is another origin than the request's and not a trusted one.
func (op *Operation) get(u *url.URL) *request {
	h := op.header.Clone()
	if !sameOrigin(u, op.origin) && !op.c.poll.trusts(u) {
		op.c.stripSecrets(h)
	}
	return &request{method: http.MethodGet, url: u, key: canonicalURL(u), header: h, opts: requestOptions{}}
}

func (op *Operation) noteRetryAfter(resp *Response) {
	if d, ok := parseRetryAfter(resp.Header, op.c.now()); ok {
		op.retryAfter, op.hasRetryAfter = d, true
	}
}

// report tells the hook and the log of a status response.
func (op *Operation) report(ctx context.Context, resp *Response, st OperationStatus) {
	ev := PollEvent{StatusURL: op.redacted(), Attempt: op.attempts, StatusCode: resp.StatusCode,
		State: st.State, Done: st.Done || st.Failed, PercentComplete: st.PercentComplete}
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
