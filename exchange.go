package optimist

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/hashicorp/go-retryablehttp"
)

// Stage 2: one exchange. exchange sends a request through the transport
// with its retries (retry.go), reads the answer in full (bounded), hands it
// to the resource record (state.go's observe), decides what the outcome
// proves (outcome: a write that may have been applied without a 2xx is
// an [*OutcomeUnknownError]) and lets the lock policy see a lock answer
// (lockwait.go). Next: the caller, the conflict loop (conflict.go) for a
// write.

// exchange sends r once, with transport retries, reads the answer in full
// and records what it proves (see observe). A non-2xx answer is returned
// with a *StatusError; a write that may have been applied without the
// client knowing, with an *OutcomeUnknownError.
func (c *Client) exchange(ctx context.Context, r *request) (*Response, error) {
	if len(c.serverMembers) > 0 && len(r.body) > 0 && !safeMethod(r.method) {
		r.body = c.withoutServerMembers(r.body)
	}
	body, header, u, err := r.wire(withLockToken(ctx, r, c.sendHeader(r))) // heldlock.go: a held lock's token
	if err != nil {
		return nil, err
	}
	r.sendURL = u
	st := r.newExchange(r.replayable(header))
	resp, err := c.send(ctx, r, st, header, u, body)
	if err != nil {
		return nil, c.outcome(r, st, 0, err)
	}
	out, err := c.readResponse(r, resp, st)
	if err != nil {
		if !landedWrite(r, out) {
			return out, err
		}
		out.Body = nil // the write landed; only its answer's body was cut
	}
	if err := c.observe(r, out); err != nil {
		return out, err
	}
	// Locks (lockwait.go): a lock answer is reported as a *LockedError, or
	// waited out and r sent again, before any conflict handling sees it;
	// a write whose outcome is unknown is not sent again.
	return c.settleLock(ctx, r, out, c.outcome(r, st, out.StatusCode, c.statusError(r, out, st)))
}

// send is the one trip through the transport, with its retries
// (retry.go), that every request of the client makes: an exchange's, and
// an operation's status GET (poll.go), which reads its answer with its own
// limits and records nothing. st, in the request's context, is what the
// retry hooks know of it. A request that got no usable answer is a
// transport error (transportError); the caller reads and closes the
// answer.
func (c *Client) send(ctx context.Context, r *request, st *exchangeState, header http.Header, u *url.URL, body []byte) (*http.Response, error) {
	resp, err := c.retry.Do(r.httpRequest(st.bind(ctx, r), st, header, u, body))
	if err != nil {
		return nil, c.transportError(r, st, resp, err)
	}
	return resp, nil
}

// landedWrite reports whether resp, whose body could not be read in full,
// still proves that the write r was applied: its status line said 2xx.
func landedWrite(r *request, resp *Response) bool {
	return resp != nil && !safeMethod(r.method) && r.method != http.MethodPost &&
		resp.StatusCode >= 200 && resp.StatusCode <= 299
}

// outcome is the error a write's exchange ends with. When an attempt may
// have been applied with its answer lost and the exchange ended without a
// 2xx answer (a 412 to the re-send, a 503, no answer at all), the client
// cannot tell whether the write happened: err becomes an
// *OutcomeUnknownError, and a 409 or 412 in it is no longer a version
// conflict, since resolving it could apply the write twice.
func (c *Client) outcome(r *request, st *exchangeState, status int, err error) error {
	if err == nil || !st.ambiguous || safeMethod(r.method) {
		return err
	}
	if se, ok := err.(*StatusError); ok {
		se.versionConflict = false
	}
	return &OutcomeUnknownError{
		Method: r.method, URL: redactURL(r.url.String()),
		Attempts: st.attempts, StatusCode: status, Err: err,
	}
}

// httpRequest builds the request to send without printing and parsing
// its URL again, as http.NewRequest would. The URL is shared, not copied:
// neither net/http nor go-retryablehttp changes it.
func (r *request) httpRequest(ctx context.Context, st *exchangeState, header http.Header, u *url.URL, body []byte) *retryablehttp.Request {
	req := &retryablehttp.Request{Request: (&http.Request{
		Method:     r.method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     header,
		Host:       u.Host,
	}).WithContext(ctx)}
	if body != nil {
		st.setBody(req.Request, body)
	}
	return req
}

// readResponse reads and closes the body: up to the body limit for a 2xx
// answer (longer is ErrBodyTooLarge), up to the error limit otherwise.
func (c *Client) readResponse(r *request, resp *http.Response, st *exchangeState) (*Response, error) {
	defer resp.Body.Close()
	out := &Response{StatusCode: resp.StatusCode, Header: resp.Header, Attempts: st.attempts, raw: resp, req: r}
	limit, strict := c.maxBodyBytes, true
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		limit, strict = min(defaultMaxErrorBodyBytes, c.maxBodyBytes), false
	}
	if r.method == http.MethodHead {
		return out, nil
	}
	body, err := readLimited(resp.Body, resp.ContentLength, limit)
	out.Body = body
	if errors.Is(err, ErrBodyTooLarge) && !strict {
		err = nil
	}
	if err != nil {
		return out, fmt.Errorf("optimist: %s %s: reading response: %w", r.method, redactURL(r.url.String()), err)
	}
	return out, nil
}

// readLimited reads at most limit bytes of body; a longer body is an error
// matching ErrBodyTooLarge, with the first limit bytes returned.
func readLimited(body io.Reader, contentLength, limit int64) ([]byte, error) {
	if contentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes declared, limit %d", ErrBodyTooLarge, contentLength, limit)
	}
	if contentLength >= 0 {
		buf := make([]byte, contentLength)
		if _, err := io.ReadFull(body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	buf, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(buf)) > limit {
		return buf[:limit], fmt.Errorf("%w: limit %d", ErrBodyTooLarge, limit)
	}
	return buf, nil
}

// statusError returns the *StatusError for a non-2xx answer, nil for a
// 2xx answer and for a 304 to a revalidation.
func (c *Client) statusError(r *request, resp *Response, st *exchangeState) error {
	if (resp.StatusCode >= 200 && resp.StatusCode <= 299) || resp.Revalidated {
		return nil
	}
	e := &StatusError{
		Method:          r.method,
		URL:             redactURL(r.url.String()),
		StatusCode:      resp.StatusCode,
		Header:          resp.Header.Clone(),
		Body:            resp.Body,
		Problem:         parseProblem(resp.Header.Get("Content-Type"), resp.Body),
		Attempts:        resp.Attempts,
		versionConflict: resp.StatusCode == http.StatusPreconditionFailed || r.conditional(),
		keyInUse: resp.StatusCode == http.StatusConflict && resp.raw != nil && resp.raw.Request != nil &&
			hasIdempotencyKey(resp.raw.Request.Header) && mentionsIdempotency(resp.Body),
	}
	e.Header.Del("Set-Cookie")
	if wait, ok := parseRetryAfter(resp.Header, c.now()); ok {
		e.RetryAfter = wait
	}
	return e
}

// transportError wraps the error of a request that got no usable answer.
func (c *Client) transportError(r *request, st *exchangeState, resp *http.Response, err error) error {
	var (
		rae *retryAfterError
		out *Response
	)
	if resp != nil {
		var readErr error
		out, readErr = c.readResponse(r, resp, st)
		if errors.As(err, &rae) && readErr == nil {
			rae.Response, _ = c.statusError(r, out, st).(*StatusError)
			return rae
		}
	}
	if stop, ok := c.stopError(r, st, out, err); ok {
		return stop
	}
	var refused *PreconditionsIgnoredError
	if errors.As(err, &refused) {
		return refused // held back unsent by WithPreconditionCheck: not a missing answer
	}
	return &TransportError{Method: r.method, URL: redactURL(r.url.String()), Attempts: st.attempts, Err: redactError(err)}
}
