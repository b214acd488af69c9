package optimist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/optimist-go/optimist/internal/jsonmerge"
)

// Stage 3: the conflict loop, under every PUT, PATCH and DELETE. write
// sets the precondition from the record (state.go) and sends the write
// through one exchange (exchange.go). A version conflict is resolved here:
// the server's document is read again, the resolver (merge.go) or the
// write's own change (change.go) says what to write, and the write is sent
// again, until it lands or the bound is reached. The transport retries of
// each exchange are retry.go's.

// The conflict loop. A conditional PUT or PATCH answered 409 or 412 is a
// version conflict: the loop reads the server's current document (never
// from the conflict answer, whose body is an error, not a document), asks
// the resolver what to write, and writes it conditionally on the version
// read, until a write lands or the bound (attempts, time, context) is
// reached. A re-read that proves the document unchanged settles the
// refusal as something other than a version conflict.

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
		// The server wants another precondition than the one sent: read,
		// then write conditionally on what was read, once.
		if _, rerr := c.refetch(ctx, r, ""); rerr != nil {
			return resp, fmt.Errorf("%w; reading the resource for its version: %w", err, rerr)
		}
		if base, err = c.setPrecondition(r, false); err != nil {
			return nil, err
		}
		resp, err = c.exchange(ctx, r)
	}
	if errors.Is(err, ErrOutcomeUnknown) {
		if r.method == http.MethodDelete && resp != nil &&
			(resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone) {
			return resp, nil // the resource is gone, as asked
		}
		return resp, err
	}
	conflict, ok := asStatusError(err)
	if !ok || !conflict.isVersionConflict() ||
		r.method == http.MethodDelete || r.opts.precondition == preconditionCreateOnly {
		return resp, err
	}
	resolver := c.resolverFor(r)
	if resolver == nil {
		return resp, err // not to be resolved here: the caller's to settle
	}
	l := &conflictLoop{c: c, r: r, base: base.Body, resolver: resolver, start: c.now(), last: resp}
	if l.ours, err = l.oursFromRequest(); err != nil {
		return resp, err
	}
	return l.run(ctx, conflict)
}

// resolverFor says how a version conflict of r is resolved: by r's own
// change (Update's mutation made again on theirs), else by the request's
// or the client's resolver, else, for a JSON document, by [ThreeWayMerge].
// It is nil when the conflict cannot be resolved here: a PATCH of another
// kind than a merge patch cannot be expressed again, and bytes with no
// strategy of the caller's have no merge.
func (c *Client) resolverFor(r *request) Resolver {
	if r.method == http.MethodPatch && !r.mergeable() {
		return nil
	}
	if r.change != nil {
		return func(_ context.Context, cf *Conflict) ([]byte, error) { return r.change(cf.Theirs) }
	}
	if r.opts.resolver != nil {
		return r.opts.resolver
	}
	if c.resolver != nil {
		return c.resolver
	}
	if r.mergeable() {
		return ThreeWayMerge
	}
	return nil
}

// setPrecondition adds the request's precondition and returns the version
// it is conditional on. A precondition the caller set is left alone. With
// no version known and none asked for, the write is refused with
// ErrNoVersion rather than sent blind. The version's body, the base of a
// later merge, is the remembered one only if the precondition names the
// remembered version; otherwise it is unknown.
func (c *Client) setPrecondition(r *request, callerSet bool) (Version, error) {
	v, _ := c.recall(r)
	if !callerSet {
		delete(r.header, "If-Match")
		delete(r.header, "If-Unmodified-Since")
		switch r.opts.precondition {
		case preconditionCreateOnly:
			if r.token.Create != nil {
				r.createOnly = true
			} else {
				r.header.Set("If-None-Match", "*")
			}
		case preconditionIfMatch:
			r.setVersion(string(r.opts.ifMatch))
		case preconditionAuto:
			switch {
			case v.ETag != "":
				r.setVersion(string(v.ETag))
			case v.LastModified != "":
				r.header.Set("If-Unmodified-Since", v.LastModified)
			default:
				return v, fmt.Errorf("%w: %s %s: not read, or forgotten: read it first, use Update, or say IfMatch, CreateOnly or Unconditional",
					ErrNoVersion, r.method, redactURL(r.url.String()))
			}
		}
	}
	if m := r.sentVersion(); m != "" && m != v.ETag {
		v.Body = nil
	}
	if s := field(r.header, "If-Unmodified-Since"); s != "" && (v.ETag != "" || s != v.LastModified) {
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
	last     *Response // the last conflict answer, returned with a give-up
	// weakPolls counts the re-reads made while the server refused the weak
	// ETag the write sent and still served it.
	weakPolls int
}

// maxWeakPolls bounds the re-reads of one write waiting for a server to
// serve a strong ETag in place of a weak one it refuses; the conflict
// timeout bounds their time.
const maxWeakPolls = 1000

func (l *conflictLoop) run(ctx context.Context, conflict *StatusError) (*Response, error) {
	for {
		l.attempt++
		if err := l.wait(ctx, conflict); err != nil {
			return l.last, err
		}
		theirs, err := l.reread(ctx)
		if err != nil {
			return l.last, l.giveUp(conflict, "refetch failed", err)
		}
		switch outcome, err := l.settle(conflict, theirs); outcome {
		case settled:
			return l.last, err
		case refetchAgain:
			l.attempt-- // waiting for a strong tag costs time, not attempts
			l.weakPolls++
			continue
		}
		next, err := l.resolve(ctx, conflict, theirs)
		if err != nil {
			return l.last, l.giveUp(conflict, "resolver failed", err)
		}
		if l.r.sameDocument(next, theirs.Body) {
			return theirs, nil // nothing left to write: the server, just read, has it
		}
		if l.attempt >= l.c.conflictAttempts {
			return l.last, l.giveUp(conflict, "attempts exhausted", conflict)
		}
		resp, err := l.send(ctx, theirs, next)
		if errors.Is(err, ErrOutcomeUnknown) || !errors.As(err, &conflict) || !conflict.isVersionConflict() {
			return resp, err
		}
		l.last = resp
	}
}

// wait sleeps the backoff before the next refetch, or the conflict's
// Retry-After when longer, within the time bound and the context.
func (l *conflictLoop) wait(ctx context.Context, conflict *StatusError) error {
	d := l.c.conflictBackoff(l.attempt + l.weakPolls)
	if conflict.RetryAfter > d {
		d = conflict.RetryAfter
	}
	if d > l.c.maxRetryAfter {
		return l.giveUp(conflict, "retry-after too long",
			&retryAfterError{Wait: d, Max: l.c.maxRetryAfter, Response: conflict})
	}
	if l.c.now().Add(d).Sub(l.start) > l.c.conflictTimeout {
		if l.weakPolls > 0 {
			return l.giveUp(conflict, "time exhausted: the server keeps refusing the weak ETag "+string(l.r.sentVersion()), conflict)
		}
		return l.giveUp(conflict, "time exhausted", conflict)
	}
	return l.c.sleep(ctx, d)
}

type settlement int

const (
	toResolve    settlement = iota // a version conflict: resolve and write
	settled                        // the call ends here, with the error
	refetchAgain                   // wait and read again, resolving nothing
)

// settle sorts out the refusals that are not version conflicts: the
// server's document is still at the version the write was conditional on
// (a 304 to the conditional re-read, or the same version read back), so
// the refusal was about something else: a business rule, a precondition
// that is not the version, or a weak ETag the server will not accept yet.
func (l *conflictLoop) settle(conflict *StatusError, theirs *Response) (settlement, error) {
	sent := l.r.sentVersion()
	if sent == "" || (!theirs.Revalidated && theirs.ETag != sent) {
		return toResolve, nil
	}
	if sent.IsWeak() && conflict.StatusCode != http.StatusConflict {
		if l.weakPolls >= maxWeakPolls {
			return settled, l.giveUp(conflict, "the server keeps refusing the weak ETag "+string(sent), conflict)
		}
		return refetchAgain, nil
	}
	conflict.versionConflict = false
	return settled, conflict
}

// reread returns the server's current document. While the server refuses
// the weak ETag the write sent and still serves it, a HEAD is enough to
// see whether it has changed (to a strong tag, or another version); only
// then is the document read again.
func (l *conflictLoop) reread(ctx context.Context) (*Response, error) {
	sent := l.r.sentVersion()
	if l.weakPolls > 0 {
		resp, err := l.c.exchange(ctx, l.r.readRequest(http.MethodHead))
		if err != nil || resp.ETag == sent {
			return resp, err
		}
	}
	return l.c.refetch(ctx, l.r, sent)
}

// resolve asks the resolver for the document to write and reports the
// conflict to the hook and the log.
func (l *conflictLoop) resolve(ctx context.Context, conflict *StatusError, theirs *Response) ([]byte, error) {
	base, ours := l.r.pinVersionField(l.base, l.ours, theirs.Body)
	cf := &Conflict{
		Method: l.r.method, URL: redactURL(l.r.url.String()), StatusCode: conflict.StatusCode,
		Base: base, Ours: ours, Theirs: theirs.Body, TheirETag: theirs.ETag, Attempt: l.attempt,
	}
	next, err := l.resolver(ctx, cf)
	if l.c.onConflict != nil {
		l.c.onConflict(cf, err)
	}
	if l.c.logger != nil {
		var paths []string
		var mce *MergeConflictError
		if errors.As(err, &mce) {
			paths = mce.pointers()
		}
		l.c.logger.LogAttrs(ctx, slog.LevelDebug, "optimist: version conflict",
			slog.String("method", cf.Method), slog.String("url", cf.URL),
			slog.Int("attempt", cf.Attempt), slog.Int("status", cf.StatusCode),
			slog.Any("paths", paths))
	}
	if err == nil && next != nil && l.r.mergeable() && !jsonmerge.Valid(next) {
		err = fmt.Errorf("%w: resolver result", ErrNotJSON)
	}
	return next, err
}

// send writes next conditionally on theirs.
func (l *conflictLoop) send(ctx context.Context, theirs *Response, next []byte) (*Response, error) {
	body := next
	if l.r.method == http.MethodPatch {
		patch, err := jsonmerge.CreatePatch(theirs.Body, next)
		if err != nil {
			return nil, l.giveUp(nil, "cannot express the resolution as a merge patch", err)
		}
		body = patch
	}
	l.base, l.ours = theirs.Body, next
	l.r.body = body
	dropIdempotencyKeys(l.r.header) // a new payload is a new request
	l.r.header.Del("If-Match")
	l.r.header.Del("If-Unmodified-Since")
	switch lm := theirs.Header.Get("Last-Modified"); {
	case theirs.ETag != "":
		l.r.setVersion(string(theirs.ETag))
	case lm != "":
		l.r.header.Set("If-Unmodified-Since", lm)
	default:
		return nil, l.giveUp(nil, "the server's document has no version", ErrNoVersion)
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
	return jsonmerge.ApplyPatch(l.base, l.r.body)
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

// refetch reads the resource r writes and records it. It sends r's own
// headers (Accept included) but none of its write headers; when known is
// a strong ETag, it adds If-None-Match with it and Cache-Control:
// no-cache, so that a 304 proves the resource is still at known
// ([Response.Revalidated]) at the cost of no body.
func (c *Client) refetch(ctx context.Context, r *request, known ETag) (*Response, error) {
	read := r.readRequest(http.MethodGet)
	if known != "" && !known.IsWeak() && r.token.isETag() {
		read.header.Set("If-None-Match", string(known))
		read.header.Set("Cache-Control", "no-cache")
		v, ok := c.recall(read)
		if !ok || v.ETag != known {
			v = Version{ETag: known}
		}
		read.revalidate = &v
	}
	return c.exchange(ctx, read)
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
