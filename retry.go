package optimist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// The conflict loop. A conditional PUT or PATCH answered 409 or 412 is a
// version conflict: the loop takes the server's current document (from the
// conflict answer when it carries one, else by a GET), asks the resolver
// what to write, and writes it conditionally on the new ETag, until a write
// lands or the bound (attempts, time, context) is reached.

// ConflictEvent describes one version conflict, for [WithOnConflict].
type ConflictEvent struct {
	// Method and URL identify the write.
	Method, URL string
	// Attempt counts the conflicts of this call, from 1.
	Attempt int
	// StatusCode is the conflict answer's status, 409 or 412.
	StatusCode int
	// TheirETag is the ETag of the server's current document.
	TheirETag ETag
	// Paths are the members both sides changed, when the resolver found
	// a merge conflict.
	Paths []string
	// Err is the resolver's error, nil when it resolved the conflict.
	Err error
}

// write sends a PUT, PATCH or DELETE with a precondition and resolves what
// conflicts it meets.
func (c *Client) write(ctx context.Context, r *request) (*Response, error) {
	callerSet := r.conditional()
	base, err := c.setPrecondition(r, callerSet)
	if err != nil {
		return nil, err
	}
	resp, err := c.exchange(ctx, r)
	if statusOf(err) == http.StatusPreconditionRequired && !callerSet &&
		r.opts.precondition == preconditionAuto {
		// The server wants a read first: read, then write conditionally, once.
		if _, rerr := c.refetch(ctx, r); rerr != nil {
			return resp, err
		}
		if base, err = c.setPrecondition(r, false); err != nil {
			return nil, err
		}
		resp, err = c.exchange(ctx, r)
	}
	conflict, ok := asStatusError(err)
	if !ok || !conflict.IsVersionConflict() ||
		r.method == http.MethodDelete || r.opts.precondition == preconditionCreateOnly {
		return resp, err
	}
	l := &conflictLoop{c: c, r: r, base: base.Body, resolver: c.resolver, start: c.now()}
	if r.opts.resolver != nil {
		l.resolver = r.opts.resolver
	}
	if l.ours, err = l.oursFromRequest(); err != nil {
		return resp, err
	}
	return l.run(ctx, conflict)
}

// setPrecondition adds the request's precondition and returns the version
// it is conditional on. A precondition the caller set is left alone. The
// version's body, the base of a later merge, is the remembered one only if
// the precondition names the remembered version; otherwise it is unknown.
func (c *Client) setPrecondition(r *request, callerSet bool) (Version, error) {
	v, _ := c.memory.get(r.key)
	if !callerSet {
		r.header.Del("If-Match")
		r.header.Del("If-Unmodified-Since")
		var err error
		switch r.opts.precondition {
		case preconditionCreateOnly:
			r.header.Set("If-None-Match", "*")
		case preconditionIfMatch:
			err = r.setVersion(string(r.opts.ifMatch))
		case preconditionAuto:
			if v.ETag != "" {
				err = r.setVersion(string(v.ETag))
			} else if v.LastModified != "" {
				r.header.Set("If-Unmodified-Since", v.LastModified)
			}
		}
		if err != nil {
			return v, err
		}
	}
	if m := r.sentVersion(); m != "" && m != v.ETag {
		v.Body = nil
	}
	if s := r.header.Get("If-Unmodified-Since"); s != "" && (v.ETag != "" || s != v.LastModified) {
		v.Body = nil
	}
	return v, nil
}

// conflictLoop is the state of one write's conflict resolution.
type conflictLoop struct {
	c        *Client
	r        *request
	resolver Resolver
	start    time.Time
	base     []byte // the document the last write was based on
	ours     []byte // the document the last write meant to produce
	attempt  int
}

func (l *conflictLoop) run(ctx context.Context, conflict *StatusError) (*Response, error) {
	for {
		l.attempt++
		if err := l.wait(ctx, conflict); err != nil {
			return nil, err
		}
		theirs, err := l.theirs(ctx, conflict)
		if err != nil {
			return nil, l.giveUp(conflict, "refetch failed", err)
		}
		switch outcome, err := l.settle(conflict, theirs); outcome {
		case settled:
			if err != nil {
				return nil, err
			}
			return theirs, nil
		case refetchAgain:
			continue
		}
		next, err := l.resolve(ctx, conflict, theirs)
		if err != nil {
			return nil, l.giveUp(conflict, "resolver failed", err)
		}
		if jsonEqual(next, theirs.Body) {
			return theirs, nil // nothing left to write: the server has it
		}
		if l.attempt >= l.c.conflictAttempts {
			return nil, l.giveUp(conflict, "attempts exhausted", conflict)
		}
		resp, err := l.send(ctx, theirs, next)
		if !errors.As(err, &conflict) || !conflict.IsVersionConflict() {
			return resp, err
		}
	}
}

// wait sleeps the backoff before the next refetch, or the conflict's
// Retry-After when longer, within the time bound and the context.
func (l *conflictLoop) wait(ctx context.Context, conflict *StatusError) error {
	d := l.c.conflictBackoff(l.attempt)
	if conflict.RetryAfter > d {
		d = conflict.RetryAfter
	}
	if d > l.c.maxRetryAfter {
		return l.giveUp(conflict, "retry-after too long",
			&RetryAfterError{Wait: d, Max: l.c.maxRetryAfter, Response: conflict})
	}
	if l.c.now().Add(d).Sub(l.start) > l.c.conflictTimeout {
		return l.giveUp(conflict, "time exhausted", conflict)
	}
	return l.c.sleep(ctx, d)
}

// theirs returns the server's current document: the conflict answer's, if
// it carries a JSON representation and its ETag, else a fresh read.
func (l *conflictLoop) theirs(ctx context.Context, conflict *StatusError) (*Response, error) {
	if conflict.Problem == nil {
		if tag, repr, err := l.r.readVersion(conflict.Header, conflict.Body); err == nil && repr && tag != "" {
			resp := &Response{StatusCode: http.StatusOK, Header: conflict.Header, ETag: tag, Body: conflict.Body}
			l.c.memory.put(l.r.key, Version{ETag: tag, LastModified: conflict.Header.Get("Last-Modified"), Body: conflict.Body})
			return resp, nil
		}
	}
	return l.c.refetch(ctx, l.r)
}

type settlement int

const (
	toResolve    settlement = iota // a version conflict: resolve and write
	settled                        // the call ends here
	refetchAgain                   // wait and read again, resolving nothing
)

// settle sorts out the conflicts that are not version conflicts to
// resolve: a 409, or a 412 to a strong ETag, about the very version we
// sent (a business-rule answer, another precondition),
// a weak ETag the server will not accept yet, and a write that did land
// though its answer was lost. For settled, the error is the call's.
func (l *conflictLoop) settle(conflict *StatusError, theirs *Response) (settlement, error) {
	sent := l.r.sentVersion()
	switch {
	case sent != "" && theirs.ETag == sent && (conflict.StatusCode == http.StatusConflict || !sent.IsWeak()):
		// The server still has the very version we sent: the answer is
		// about something else (a business rule, a precondition that is
		// not the version), and writing again would meet it again.
		conflict.versionConflict = false
		return settled, conflict
	case sent != "" && theirs.ETag == sent && sent.IsWeak():
		if l.attempt >= l.c.conflictAttempts {
			return settled, l.giveUp(conflict, "server keeps refusing the weak ETag "+string(sent), conflict)
		}
		return refetchAgain, nil
	case conflict.ambiguous && l.landed(theirs):
		return settled, nil
	case conflict.ambiguous:
		// The server's document is not ours, but an earlier copy of the
		// write may have been applied before another writer's: resolving
		// would apply the change twice. Only an Idempotency-Key (which
		// clears the ambiguity) could tell.
		return settled, l.giveUp(conflict, "outcome unknown: an earlier copy of the write may have been applied, its answer lost", conflict)
	}
	return toResolve, nil
}

// landed reports whether theirs is what our write meant to produce,
// version member aside: our write landed though its answer was lost.
func (l *conflictLoop) landed(theirs *Response) bool {
	_, ours := l.r.pinVersionField(nil, l.ours, theirs.Body)
	return jsonEqual(theirs.Body, ours)
}

// resolve asks the resolver for the document to write and reports the
// conflict to the hook and the log.
func (l *conflictLoop) resolve(ctx context.Context, conflict *StatusError, theirs *Response) ([]byte, error) {
	base, ours := l.r.pinVersionField(l.base, l.ours, theirs.Body)
	next, err := l.resolver(ctx, &Conflict{
		Method: l.r.method, URL: redactURL(l.r.url.String()),
		Base: base, Ours: ours, Theirs: theirs.Body, TheirETag: theirs.ETag, Attempt: l.attempt,
	})
	event := ConflictEvent{
		Method: l.r.method, URL: redactURL(l.r.url.String()), Attempt: l.attempt,
		StatusCode: conflict.StatusCode, TheirETag: theirs.ETag, Err: err,
	}
	var mce *MergeConflictError
	if errors.As(err, &mce) {
		event.Paths = mce.Paths()
	}
	if l.c.onConflict != nil {
		l.c.onConflict(event)
	}
	if l.c.logger != nil {
		l.c.logger.LogAttrs(ctx, slog.LevelDebug, "optimist: version conflict",
			slog.String("method", event.Method), slog.String("url", event.URL),
			slog.Int("attempt", event.Attempt), slog.Int("status", event.StatusCode),
			slog.Any("paths", event.Paths))
	}
	if err == nil && next != nil && !validJSON(next) {
		err = fmt.Errorf("%w: resolver result", ErrNotJSON)
	}
	return next, err
}

// send writes next conditionally on theirs.
func (l *conflictLoop) send(ctx context.Context, theirs *Response, next []byte) (*Response, error) {
	body := next
	if l.r.method == http.MethodPatch {
		patch, err := createMergePatch(theirs.Body, next)
		if err != nil {
			return nil, l.giveUp(nil, "cannot express the resolution as a merge patch", err)
		}
		body = patch
	}
	l.base, l.ours = theirs.Body, next
	l.r.body = body
	l.r.header.Del("Idempotency-Key") // a new payload is a new request
	l.r.header.Del("If-Match")
	l.r.header.Del("If-Unmodified-Since")
	if theirs.ETag == "" {
		l.r.header.Set("If-Unmodified-Since", theirs.Header.Get("Last-Modified"))
	} else if err := l.r.setVersion(string(theirs.ETag)); err != nil {
		return nil, l.giveUp(nil, "cannot write the version", err)
	}
	return l.c.exchange(ctx, l.r)
}

// oursFromRequest is the document the first write meant to produce: its
// body, or for a PATCH the patch applied to the base.
func (l *conflictLoop) oursFromRequest() ([]byte, error) {
	if l.r.method != http.MethodPatch {
		return l.r.body, nil
	}
	if l.base == nil {
		return nil, nil
	}
	return applyMergePatch(l.base, l.r.body)
}

func (l *conflictLoop) giveUp(last *StatusError, reason string, cause error) error {
	err := &ConflictError{
		Method: l.r.method, URL: redactURL(l.r.url.String()),
		Attempts: l.attempt, Reason: reason, Last: last, Cause: cause,
	}
	if errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) {
		return cause
	}
	if l.c.logger != nil {
		l.c.logger.Warn("optimist: giving up on conflict", slog.String("method", err.Method),
			slog.String("url", err.URL), slog.Int("attempts", err.Attempts), slog.String("reason", reason))
	}
	return err
}

// refetch reads the resource r writes, with r's headers but none of its
// write headers, and remembers it.
func (c *Client) refetch(ctx context.Context, r *request) (*Response, error) {
	h := r.header.Clone()
	for _, name := range [...]string{"If-Match", "If-None-Match", "If-Unmodified-Since",
		"Content-Type", "Content-Length", "Idempotency-Key", "X-Idempotency-Key"} {
		h.Del(name)
	}
	h.Set("Accept", "application/json")
	return c.exchange(ctx, &request{method: http.MethodGet, url: r.url, key: r.key, header: h, opts: r.opts, token: r.token})
}

func statusOf(err error) int {
	if se, ok := asStatusError(err); ok {
		return se.StatusCode
	}
	return 0
}

// asStatusError is errors.As for a *StatusError, allocating nothing when
// err is nil: the happy path.
func asStatusError(err error) (*StatusError, bool) {
	if err == nil {
		return nil, false
	}
	var se *StatusError
	ok := errors.As(err, &se)
	return se, ok
}
