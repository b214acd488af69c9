package optimist

import (
	"context"
	"encoding/json"
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
// says the operation ended, then reads the result. pollopts.go holds the
// settings, status.go reads the responses, resume.go makes and reads resume
// tokens, callbacks.go wakes a wait early; this file waits, sends and
// decides.

// Operation is a long-running operation a request started: a handle to
// poll it to its end. It is not safe for concurrent use. See
// [Operation.ResumeToken] to pick it up again in another process.
type Operation struct {
	c          *Client
	url        *url.URL    // the status URL
	monitor    bool        // the status URL is a status monitor, not a Location
	method     string      // the method of the request that started it
	origin     *url.URL    // the request's URL: the credentials' origin
	header     http.Header // sent with status and result GETs
	hint       *url.URL    // the result, when a status document names none
	start      time.Time
	waitFirst  bool // wait before the first poll
	onProgress func(OperationStatus)
	callback   callbackLink // the callback this operation expects, if any

	accepted serverWait // what the 202 asked for
	last     serverWait // what the last status response asked for
	attempts int        // status responses read
	backoffs int        // waits that no response asked for
	done     bool
	result   *Response
	err      error
}

// Operation returns a handle to the operation resp, a 202 Accepted answer
// to a request of this client sent with [FollowOperation](false), started. It is an error
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

// newOperation returns the operation a 202 answer to r started, or nil
// when the answer names no status URL.
func (c *Client) newOperation(r *request, resp *Response) (*Operation, error) {
	raw, monitor, ok := statusURLOf(resp, c.poll.StatusURL)
	if !ok {
		return nil, nil
	}
	reqURL := r.opts.async.requestURL(r.url)
	u, err := resolveHTTP(reqURL, raw)
	if err != nil {
		return nil, err
	}
	h := readHeader(r.header)
	r.opts.async.dropPlacedHeader(h)
	h.Set("Accept", "application/json")
	op := &Operation{c: c, url: u, monitor: monitor, method: r.method, origin: reqURL, header: h,
		start: c.now(), waitFirst: true, onProgress: r.opts.async.onProgress}
	op.accepted = retryAfterOf(resp, c.now())
	op.callback = r.opts.async.link()
	switch r.method {
	case http.MethodPut, http.MethodPatch:
		op.hint = reqURL
	case http.MethodPost:
		if loc := resp.Header.Get("Location"); loc != "" {
			op.hint, _ = resolveHTTP(reqURL, loc)
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

// Done reports whether the operation has ended.
func (op *Operation) Done() bool { return op.done }

// Result waits for the operation's end as [Operation.Wait] does (once it
// is done, it sends nothing) and decodes the result's JSON body into out;
// nil out, or an empty body, skips decoding. It returns the result, or the
// last status response and an [*OperationError] when the operation
// failed, or the error that stopped the wait; a body that does not decode
// is an error matching [ErrNotJSON].
func (op *Operation) Result(ctx context.Context, out any) (*Response, error) {
	resp, err := op.Wait(ctx)
	if err != nil || out == nil || len(resp.Body) == 0 {
		return resp, err
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return resp, fmt.Errorf("%w: decoding the result of operation %s: %w", ErrNotJSON, op.redacted(), err)
	}
	return resp, nil
}

// Wait polls the operation to its end and returns its result, or the last
// status response and an [*OperationError] when it failed. Before each
// poll it waits for what the last status response's Retry-After asked,
// else the 202's, else a growing interval (see [PollOptions]); a
// Retry-After is cut to [RetryOptions].MaxRetryAfter, and no wait is shorter than
// PollOptions.MinInterval. While a callback is expected (see
// [Callbacks.Attach]) the waits are PollOptions.CallbackSlowdown times
// longer, and a verified callback that is not a progress report ends the
// wait at once: the next poll, not the callback, tells the outcome. A
// resumed operation polls once without waiting first. Wait stops with an
// error when ctx ends, when the operation outlasts PollOptions.MaxTime,
// or when a poll fails after its own transport retries (the status
// endpoint keeps failing, or answers what cannot be decoded); the
// operation is then not done, and Wait can be called again. Once the
// operation is done, Wait sends nothing.
func (op *Operation) Wait(ctx context.Context) (*Response, error) {
	if !op.done {
		defer op.callback.listen()()
	}
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

// pause waits before the next poll: the time nextWait gives, slowed down
// while a callback is expected, or until a callback says to poll.
func (op *Operation) pause(ctx context.Context) error {
	d := op.nextWait()
	limit := op.c.poll.maxPollTime()
	if op.callback.expected() {
		slowed := time.Duration(float64(d) * op.c.poll.slowdown())
		if limit > 0 {
			slowed = min(slowed, op.start.Add(limit).Sub(op.c.now()))
		}
		d = max(d, slowed)
	}
	if limit > 0 && op.c.now().Add(d).Sub(op.start) > limit {
		return fmt.Errorf("optimist: operation %s: not done within %s: %w", op.redacted(), limit, context.DeadlineExceeded)
	}
	err := ctx.Err()
	if err == nil {
		err = op.sleep(ctx, d)
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
	op.report(ctx, op.event(resp.StatusCode, st))
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
	if !op.monitor {
		return resp, locationStatus(resp), nil
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
// transport reached through a 303). It makes exchange's trip (send), but
// not the rest of an exchange: a status document is no resource to write,
// so the record is left alone, and its answers are read with the status
// limits, error bodies included, and never taken for a lock.
func (op *Operation) getStatus(ctx context.Context) (*Response, error) {
	c, r := op.c, op.get(op.url)
	st := &exchangeState{replayable: true}
	raw, err := c.send(ctx, r, st, r.header, r.url, r.body) // exchange.go: the same trip, without the record
	if err != nil {
		return nil, err
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
		return resp, op.c.observe(op.get(resp.raw.Request.URL), resp) // the URL after redirects
	}
	return resp, nil
}

// get returns a GET of u with the operation's headers, without credentials
// when u is another origin than the request's and not a trusted one.
func (op *Operation) get(u *url.URL) *request {
	h := op.header.Clone()
	r := &request{method: http.MethodGet, url: u, header: h}
	if !sameOrigin(u, op.origin) && !op.c.poll.trusts(u) {
		op.c.stripSecrets(h)
		r.origin = op.origin // no cookie of the caller's jar either
	}
	r.canonical = canonicalURL(u)
	r.key = op.c.resourceKey(r.canonical, u, h)
	r.token = op.c.tokenFor(u, &r.opts)
	return r
}

// event describes a status response, or a callback when status is 0, for
// the progress hooks.
func (op *Operation) event(status int, st OperationStatus) OperationStatus {
	return OperationStatus{StatusURL: op.redacted(), Attempt: op.attempts, StatusCode: status,
		Callback: status == 0, State: st.State, Done: st.Done, Failed: st.Failed,
		PercentComplete: st.PercentComplete}
}

// report tells the hooks and the log of a status response or callback.
func (op *Operation) report(ctx context.Context, ev OperationStatus) {
	if op.c.poll.OnProgress != nil {
		op.c.poll.OnProgress(ev)
	}
	if op.onProgress != nil {
		op.onProgress(ev)
	}
	if op.c.logger != nil {
		op.c.logger.LogAttrs(ctx, slog.LevelDebug, "optimist: operation polled",
			slog.String("url", ev.StatusURL), slog.Int("attempt", ev.Attempt),
			slog.Int("status", ev.StatusCode), slog.String("state", ev.State),
			slog.Bool("callback", ev.Callback))
	}
}

func (op *Operation) redacted() string { return redactURL(op.url.String()) }
