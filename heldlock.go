package optimist

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Holding a lock. [Client.WithLock] takes a lock with a [LockSpec], runs a
// function with the lock's token on every write it makes to the resource,
// renews the lock in the background and releases it at the end.

// Lock is a lock a client holds on a resource.
type Lock struct {
	// URL is the locked resource.
	URL string
	// Token is the lock's token (a WebDAV lock token, an Azure lease id).
	Token string
	// Duration is how long the lock lasts unless renewed; zero or negative
	// means until it is released, with no renewal.
	Duration time.Duration
}

// SendFunc sends one request as it is, for a [LockSpec]: with the
// client's transport retries and lock policy, but no precondition and no
// ETag memory. A non-2xx answer is an error ([*StatusError], or
// [*LockedError] for a lock answer).
type SendFunc func(ctx context.Context, method, url string, header http.Header, body []byte) (*Response, error)

// LockSpec says how an API takes, renews and releases a lock, and how a
// write shows that it holds one. [WebDAVLock] and [AzureLease] are specs;
// implement it for another API. Its methods send their requests with
// send; a lock held by someone else is best returned as the
// [*LockedError] send gives, so that the client's lock policy applies.
type LockSpec interface {
	// Acquire takes a lock on url.
	Acquire(ctx context.Context, send SendFunc, url string) (Lock, error)
	// Renew extends l, giving the lock as renewed.
	Renew(ctx context.Context, send SendFunc, l Lock) (Lock, error)
	// Release gives l up.
	Release(ctx context.Context, send SendFunc, l Lock) error
	// Authorize adds l's token to h, the header of a write to l.URL that
	// already carries its precondition (If-Match, If-None-Match).
	Authorize(h http.Header, l Lock)
}

// releaseTimeout bounds the release of a lock, which is sent even when
// the caller's context has ended.
const releaseTimeout = 30 * time.Second

// WithLock takes a lock on the resource at url as spec says, waiting for
// a lock another client holds as [LockOptions].MaxWait allows, and calls fn. The
// lock's token goes on every write fn makes to url through c with the
// context fn is given (PUT, PATCH, DELETE, POST, and the requests of
// [Client.Do]). The lock is renewed in the background when a third of its
// duration has passed; if a renewal fails, fn's context is cancelled with
// a [*LockedError] (Lost set) as its cause, so that no write goes out
// without the lock, and WithLock returns that error with fn's. The lock is
// released when fn returns, also when ctx has ended.
//
// Errors: spec's from acquiring the lock (a [*LockedError] when it is
// held by another), fn's, a lost lock's, and a failure to release.
func (c *Client) WithLock(ctx context.Context, url string, spec LockSpec, fn func(ctx context.Context) error) error {
	if spec == nil || fn == nil {
		return errors.New("optimist: WithLock needs a LockSpec and a function")
	}
	key, err := lockKey(url)
	if err != nil {
		return err
	}
	l, err := spec.Acquire(ctx, c.sendAsIs, url)
	if err != nil {
		return err
	}
	if l.URL == "" {
		l.URL = url
	}
	h := &heldLock{key: key, spec: spec, lock: l}
	h.parent, _ = ctx.Value(heldLockKey{}).(*heldLock)
	fnCtx, lose := context.WithCancelCause(context.WithValue(ctx, heldLockKey{}, h))
	defer lose(nil)
	renewCtx, stopRenewing := context.WithCancel(ctx)
	defer stopRenewing() // also if fn panics
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		c.renew(renewCtx, h, lose)
	}()
	err = fn(fnCtx)
	stopRenewing()
	<-renewed
	var lost *LockedError
	if errors.As(context.Cause(fnCtx), &lost) {
		err = errors.Join(err, lost)
	}
	relCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if relErr := spec.Release(noLockWait(relCtx), c.sendAsIs, h.current()); relErr != nil && lost == nil {
		err = errors.Join(err, fmt.Errorf("optimist: releasing the lock on %s: %w", redactURL(url), relErr))
	}
	return err
}

// renew renews h at a third of its duration until ctx ends; on a failure
// it calls lose with the lost lock and stops.
func (c *Client) renew(ctx context.Context, h *heldLock, lose context.CancelCauseFunc) {
	for {
		l := h.current()
		if l.Duration <= 0 {
			return
		}
		if c.sleep(ctx, l.Duration/3) != nil {
			return
		}
		next, err := h.spec.Renew(noLockWait(ctx), c.sendAsIs, l)
		if ctx.Err() != nil {
			return // stopped while renewing: fn has returned
		}
		if err != nil {
			var se *StatusError
			if errors.As(err, &se) {
				se.versionConflict = false
			}
			lose(&LockedError{URL: redactURL(l.URL), Kind: LockLease, Token: l.Token, Lost: true, Cause: err})
			return
		}
		h.set(next)
	}
}

// noLockWait marks ctx so that a lock answer to a request sent with it is
// reported at once: a renewal or release that meets a lock has lost it.
func noLockWait(ctx context.Context) context.Context {
	return context.WithValue(ctx, lockWaitKey{}, true)
}

// sendAsIs is the client's SendFunc.
func (c *Client) sendAsIs(ctx context.Context, method, rawURL string, header http.Header, body []byte) (*Response, error) {
	r, err := c.newRequest(ctx, method, rawURL, body, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		r.header[k] = v
	}
	resp, err := c.exchange(ctx, r)
	if method == http.MethodPut || method == http.MethodPatch {
		c.memory.forget(r.key) // a lease action's answer is no version of a document
	}
	return resp, err
}

// heldLock is a lock held by WithLock, found in the context of fn.
type heldLock struct {
	key    string // the canonical URL of the locked resource
	spec   LockSpec
	parent *heldLock // a lock held by an enclosing WithLock

	mu   sync.Mutex
	lock Lock
}

type heldLockKey struct{}

func (h *heldLock) current() Lock {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lock
}

func (h *heldLock) set(l Lock) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lock = l
}

// withLockToken is header with the tokens of the locks ctx holds on r's
// resource, when r is a write; header itself when there are none. It is
// the one place where a held lock meets a request.
func withLockToken(ctx context.Context, r *request, header http.Header) http.Header {
	h, _ := ctx.Value(heldLockKey{}).(*heldLock)
	if h == nil || safeMethod(r.method) {
		return header
	}
	var out http.Header // a copy: r's header stays as it is, for a re-send
	for ; h != nil; h = h.parent {
		if h.key != r.key {
			continue
		}
		if out == nil {
			out = header.Clone()
			if out == nil {
				out = make(http.Header)
			}
		}
		h.spec.Authorize(out, h.current())
	}
	if out == nil {
		return header
	}
	return out
}

// holdsLock reports whether ctx holds a lock taken by WithLock.
func holdsLock(ctx context.Context) bool {
	h, _ := ctx.Value(heldLockKey{}).(*heldLock)
	return h != nil
}

func lockKey(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("optimist: WithLock: invalid URL: %w", parseError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("optimist: WithLock %s: URL scheme must be http or https", redactURL(rawURL))
	}
	return canonicalURL(u), nil
}
