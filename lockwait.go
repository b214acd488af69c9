package optimist

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Waiting out a lock. A lock answer is reported at once as a
// [*LockedError], or, with [LockOptions].MaxWait, waited out and the very same
// request sent again: a lock never makes the client merge or rewrite what
// it sends.

// Defaults of the lock wait (see [LockOptions].MaxWait).
const (
	// defaultLockWaitBase and defaultLockWaitCap shape the wait between
	// sends when a lock answer gives no Retry-After and no expiry: full
	// jitter over min(cap, base·2^(n-1)).
	defaultLockWaitBase = time.Second
	defaultLockWaitCap  = 16 * time.Second
	// maxLockSends bounds the sends of one request that keeps meeting
	// locks, whatever the waits.
	maxLockSends = 100
)

// lockConfig is the client's lock policy.
type lockConfig struct {
	maxWait time.Duration
	codes   map[string]LockKind // caller-added codes, lower-cased
	onLock  func(LockEvent)
	backoff Backoff // nil: defaultLockWaitBase doubling to defaultLockWaitCap
}

// LockEvent describes one lock answer, for [LockOptions].OnLock.
type LockEvent struct {
	// Method and URL identify the request.
	Method, URL string
	// Attempt counts the lock answers to this request, from 1.
	Attempt int
	// Lock is the lock answer.
	Lock *LockedError
	// Waiting says whether the client waits and sends the request again;
	// when it is false, the lock is reported to the caller.
	Waiting bool
	// Wait is how long the client waits before sending again; zero when
	// Waiting is false.
	Wait time.Duration
}

// LockOptions shape what the client does when an answer says the
// resource is locked (see [LockedError]). The zero value reports every
// lock at once.
type LockOptions struct {
	// MaxWait makes the client wait out locks: a request answered with a
	// lock is sent again, unchanged, after the answer's Retry-After, else
	// until the lock's announced expiry, else after a full-jitter backoff
	// from one second doubling to 16 seconds; all the waits of one request
	// together stay within MaxWait and the context. A Retry-After beyond
	// what is left of MaxWait, and a permanent lock, are reported at
	// once. Zero or negative (the default) reports every lock at once, as
	// Terraform's -lock-timeout=0. The waits go through the sleep of
	// [WithClock].
	MaxWait time.Duration
	// Codes adds error codes that mean the resource is locked, each of
	// its kind, to those the client knows; they are compared without
	// regard to case. A code is read from the X-Ms-Error-Code header or
	// the "code" or "error.code" member of a JSON error body, among
	// others.
	Codes map[string]LockKind
	// OnLock, when set, is called for every lock answer the client meets,
	// before it waits or reports it. It runs on the requesting goroutine
	// and must not block for long.
	OnLock func(LockEvent)
}

// WithLocks sets the client's lock policy. A later WithLocks replaces an
// earlier one as a whole.
func WithLocks(o LockOptions) Option {
	return func(c *Client) {
		c.locks.maxWait, c.locks.onLock = o.MaxWait, o.OnLock
		c.locks.codes = make(map[string]LockKind, len(o.Codes))
		for code, kind := range o.Codes {
			c.locks.codes[strings.ToLower(code)] = kind
		}
	}
}

type lockWaitKey struct{}

// settleLock turns a lock answer into a [*LockedError] and, as the lock
// policy says, waits it out and sends r again. Every other outcome passes
// through. It is the one place where exchange's answers meet the lock
// policy, before the conflict loop sees them.
func (c *Client) settleLock(ctx context.Context, r *request, resp *Response, err error) (*Response, error) {
	se, ok := err.(*StatusError)
	if !ok {
		return resp, err
	}
	lk := lockFrom(se, c.locks.codes, c.now())
	if lk == nil {
		return resp, err
	}
	se.versionConflict = false // a lock is not a version conflict
	if ctx.Value(lockWaitKey{}) != nil {
		return resp, lk // a send of waitLock's: it decides
	}
	return c.waitLock(context.WithValue(ctx, lockWaitKey{}, true), r, resp, lk)
}

// waitLock waits out lk and sends r again, until an answer is no lock or
// the policy says to report the lock.
func (c *Client) waitLock(ctx context.Context, r *request, resp *Response, lk *LockedError) (*Response, error) {
	var waited time.Duration
	attempts := lk.Attempts
	for n := 1; ; n++ {
		lk.Attempts = attempts
		d, wait := c.lockDelay(lk, n, waited)
		c.reportLock(ctx, r, lk, n, d, wait)
		if !wait {
			return resp, lk
		}
		if err := c.sleep(ctx, d); err != nil {
			return resp, fmt.Errorf("optimist: %s %s: waiting out a lock: %w (%w)", r.method, redactURL(r.url.String()), err, lk)
		}
		waited += d
		next, err := c.exchange(ctx, r)
		if next != nil {
			attempts += next.Attempts
		}
		again, isLock := err.(*LockedError)
		if !isLock {
			return next, err
		}
		resp, lk = next, again
	}
}

// lockDelay is the wait before sending again after the n-th lock answer
// lk, having waited waited already; wait false means report lk instead.
func (c *Client) lockDelay(lk *LockedError, n int, waited time.Duration) (d time.Duration, wait bool) {
	left := c.locks.maxWait - waited
	if lk.Kind == LockPermanent || left <= 0 || n >= maxLockSends {
		return 0, false
	}
	switch {
	case lk.RetryAfter > 0:
		if lk.RetryAfter > left {
			return 0, false // the server says it will not be free in time
		}
		return lk.RetryAfter, true
	case !lk.Expires.IsZero() && lk.Expires.After(c.now()):
		d = lk.Expires.Sub(c.now())
	default:
		backoff := c.locks.backoff
		if backoff == nil {
			backoff = ExponentialBackoff(defaultLockWaitBase, defaultLockWaitCap, nil)
		}
		d = backoff(n)
	}
	return min(d, left), true
}

// reportLock tells the hook and the log about a lock answer.
func (c *Client) reportLock(ctx context.Context, r *request, lk *LockedError, n int, d time.Duration, wait bool) {
	if c.locks.onLock != nil {
		c.locks.onLock(LockEvent{Method: lk.Method, URL: lk.URL, Attempt: n, Lock: lk, Wait: d, Waiting: wait})
	}
	if c.logger == nil {
		return
	}
	level, msg := slog.LevelDebug, "optimist: resource locked, waiting"
	if !wait {
		level, msg = slog.LevelWarn, "optimist: resource locked"
	}
	c.logger.LogAttrs(ctx, level, msg,
		slog.String("method", r.method), slog.String("url", lk.URL),
		slog.Int("attempt", n), slog.String("kind", lk.Kind.String()),
		slog.String("code", lk.Code), slog.String("holder", lk.Holder),
		slog.Int("status", lk.Response.StatusCode), slog.Duration("wait", d))
}
