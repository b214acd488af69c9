package optimist_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

// Holding a lock with WithLock, against the mock's Azure-style leases and
// WebDAV locks.

// stepSleeper is a sleep that waits for the test: each sleep announces
// its duration on calls and returns when the test calls step, or when its
// context ends.
type stepSleeper struct {
	calls   chan time.Duration
	release chan struct{}
}

func newStepSleeper() *stepSleeper {
	return &stepSleeper{calls: make(chan time.Duration), release: make(chan struct{})}
}

func (s *stepSleeper) sleep(ctx context.Context, d time.Duration) error {
	select {
	case s.calls <- d:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-s.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// step waits for the next sleep, lets advance move the server's time by
// its duration, and ends the sleep.
func (s *stepSleeper) step(t *testing.T, advance func(time.Duration)) time.Duration {
	t.Helper()
	d := <-s.calls
	advance(d)
	s.release <- struct{}{}
	return d
}

// mockClock is a clock that moves only when told.
type mockClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *mockClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *mockClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// lockActions lists the lock requests the mock saw: "acquire", "renew",
// "release", "LOCK", "UNLOCK".
func lockActions(s *mock.Server) []string {
	var out []string
	for _, r := range s.Requests() {
		switch {
		case strings.Contains(r.Path, "comp=lease"):
			out = append(out, r.Header.Get("X-Ms-Lease-Action"))
		case r.Method == "LOCK" || r.Method == "UNLOCK":
			out = append(out, r.Method)
		}
	}
	return out
}

// writesOf counts the writes of path (not lock requests) the mock saw.
func writesOf(s *mock.Server, path string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Path == path && (r.Method == http.MethodPut || r.Method == http.MethodPatch || r.Method == http.MethodDelete) {
			n++
		}
	}
	return n
}

type lockFlow struct {
	name     string
	spec     optimist.LockSpec
	lifetime time.Duration
	acquire  string // the first lock action
}

func lockFlows() []lockFlow {
	return []lockFlow{
		{name: "azure lease", spec: optimist.AzureLease(15 * time.Second), lifetime: 15 * time.Second, acquire: "acquire"},
		{name: "webdav lock", spec: optimist.WebDAVLock("optimist-test", 30*time.Second), lifetime: 30 * time.Second, acquire: "LOCK"},
	}
}

// TestWithLockRenewsAndReleases: WithLock takes the lock, writes with its
// token, renews it at a third of its lifetime across three lifetimes, and
// releases it.
func TestWithLockRenewsAndReleases(t *testing.T) {
	t.Parallel()
	for _, tt := range lockFlows() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := &mockClock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
			s := newServer(t, mock.WithClock(clock.Now))
			url := seed(t, s, "/b", `{"n":1}`)
			st := newStepSleeper()
			c := newClient(s, optimist.WithClock(clock.Now, st.sleep))

			err := c.WithLock(t.Context(), url, tt.spec, func(ctx context.Context) error {
				if _, err := c.Get(ctx, url, nil); err != nil { // the version the write is conditional on
					return err
				}
				if _, err := c.Put(ctx, url, map[string]int{"n": 2}, nil); err != nil {
					return err
				}
				var slept time.Duration
				for slept < 3*tt.lifetime {
					d := st.step(t, clock.Advance)
					require.Equal(t, tt.lifetime/3, d)
					slept += d
				}
				<-st.calls // the renewal after the last step is done; its sleep is cancelled on return
				_, err := optimist.Update(ctx, c, url, func(v *map[string]int) error { (*v)["n"]++; return nil })
				return err
			})
			require.NoError(t, err)
			body, _, _ := s.Document("/b")
			require.JSONEq(t, `{"n":3}`, string(body))

			actions := lockActions(s)
			require.Len(t, actions, 1+9+1)
			require.Equal(t, tt.acquire, actions[0])
			require.NotEqual(t, actions[0], actions[len(actions)-1], "released")

			_, err = c.Put(t.Context(), url, map[string]int{"n": 4}, nil)
			require.NoError(t, err, "the lock is gone")
		})
	}
}

// TestWithLockLostCancelsFunction: when the lock expires on the server
// before its renewal, the renewal fails, the function's context is
// cancelled, and the function's next write never goes out.
func TestWithLockLostCancelsFunction(t *testing.T) {
	t.Parallel()
	for _, tt := range lockFlows() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := &mockClock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
			s := newServer(t, mock.WithClock(clock.Now))
			url := seed(t, s, "/b", `{"n":1}`)
			st := newStepSleeper()
			c := newClient(s, optimist.WithClock(clock.Now, st.sleep))

			var writeErr error
			err := c.WithLock(t.Context(), url, tt.spec, func(ctx context.Context) error {
				if _, err := c.Get(ctx, url, nil); err != nil { // the version the write is conditional on
					return err
				}
				if _, err := c.Put(ctx, url, map[string]int{"n": 2}, nil); err != nil {
					return err
				}
				st.step(t, func(time.Duration) { clock.Advance(tt.lifetime + time.Second) })
				<-ctx.Done()
				_, writeErr = c.Put(ctx, url, map[string]int{"n": 3}, nil)
				return writeErr
			})
			require.ErrorIs(t, writeErr, context.Canceled)
			require.Equal(t, 1, writesOf(s, "/b"), "no write after the lock was lost")
			require.ErrorIs(t, err, optimist.ErrLocked)
			require.NotErrorIs(t, err, optimist.ErrConflict)
			var lk *optimist.LockedError
			require.True(t, errors.As(err, &lk))
			require.True(t, lk.Lost)
			body, _, _ := s.Document("/b")
			require.JSONEq(t, `{"n":2}`, string(body))
		})
	}
}

// TestWithLockWaitsForAnotherHolder: a lock another client holds is
// waited out (LockOptions.MaxWait) before WithLock acquires; without
// LockOptions.MaxWait it is reported at once.
func TestWithLockWaitsForAnotherHolder(t *testing.T) {
	t.Parallel()
	for _, tt := range lockFlows() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, wait := range []bool{false, true} {
				s := newServer(t)
				url := seed(t, s, "/b", `{"n":1}`)
				if tt.acquire == "acquire" {
					s.LeaseFor("/b", 0)
				} else {
					s.LockFor("/b", "someone else", 0)
				}
				var once sync.Once
				opts := []optimist.Option{optimist.WithClock(nil, func(ctx context.Context, _ time.Duration) error {
					first := false
					once.Do(func() { first = true })
					if first {
						s.Unlock("/b") // the other client lets go while we wait
						return ctx.Err()
					}
					<-ctx.Done() // the renewals wait for the end
					return ctx.Err()
				})}
				if wait {
					opts = append(opts, optimist.WithLocks(optimist.LockOptions{MaxWait: time.Minute}))
				}
				c := newClient(s, opts...)
				ran := false
				err := c.WithLock(t.Context(), url, tt.spec, func(ctx context.Context) error {
					ran = true
					if _, err := c.Get(ctx, url, nil); err != nil {
						return err
					}
					_, err := c.Put(ctx, url, map[string]int{"n": 2}, nil)
					return err
				})
				if !wait {
					require.ErrorIs(t, err, optimist.ErrLocked)
					require.NotErrorIs(t, err, optimist.ErrConflict)
					require.False(t, ran)
					continue
				}
				require.NoError(t, err)
				require.True(t, ran)
				require.Equal(t, []string{tt.acquire, tt.acquire}, lockActions(s)[:2])
			}
		})
	}
}

// TestLockWaitForMockWindows: the mock's busy window (with and without
// Retry-After), lock and lease are each waited out by a plain write.
func TestLockWaitForMockWindows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		lock func(s *mock.Server, clock *mockClock)
		wait time.Duration // the first wait, when it is not jittered
	}{
		{name: "busy with Retry-After", lock: func(s *mock.Server, _ *mockClock) { s.BusyFor("/b", 3*time.Second, "3") }, wait: 3 * time.Second},
		{name: "busy", lock: func(s *mock.Server, _ *mockClock) { s.BusyFor("/b", 3*time.Second, "") }},
		{name: "webdav lock", lock: func(s *mock.Server, _ *mockClock) { s.LockFor("/b", "other", 2*time.Second) }},
		{name: "lease", lock: func(s *mock.Server, _ *mockClock) { s.LeaseFor("/b", 15*time.Second) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := &mockClock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
			s := newServer(t, mock.WithClock(clock.Now))
			url := seed(t, s, "/b", `{"n":1}`)
			var waits []time.Duration
			c := newClient(s, optimist.WithLocks(optimist.LockOptions{MaxWait: time.Hour}), optimist.WithClock(clock.Now, func(ctx context.Context, d time.Duration) error {
				waits = append(waits, d)
				clock.Advance(d)
				return ctx.Err()
			}))
			_, err := c.Get(t.Context(), url, nil)
			require.NoError(t, err)
			tt.lock(s, clock)
			_, err = c.Put(t.Context(), url, map[string]int{"n": 2}, nil)
			require.NoError(t, err)
			require.NotEmpty(t, waits)
			if tt.wait > 0 {
				require.Equal(t, tt.wait, waits[0])
			}
			body, _, _ := s.Document("/b")
			require.JSONEq(t, `{"n":2}`, string(body))
		})
	}
}

// recordingSpec is a LockSpec around another that records the lock it
// acquired: a spec is an interface callers can wrap or implement.
type recordingSpec struct {
	optimist.LockSpec
	mu   sync.Mutex
	lock optimist.Lock
}

func (r *recordingSpec) Acquire(ctx context.Context, send optimist.SendFunc, url string) (optimist.Lock, error) {
	l, err := r.LockSpec.Acquire(ctx, send, url)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lock = l
	return l, err
}

func (r *recordingSpec) token() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lock.Token
}

// TestWithLockTokenOnWrites: inside WithLock, writes to the locked URL
// carry the token (with the ETag, for WebDAV); reads and writes of other
// URLs do not.
func TestWithLockTokenOnWrites(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		spec   optimist.LockSpec
		header string
		want   func(token, etag string) string
	}{
		{name: "webdav", spec: optimist.WebDAVLock("me", 0), header: "If",
			want: func(token, etag string) string { return "(<" + token + "> [" + etag + "])" }},
		{name: "azure", spec: optimist.AzureLease(0), header: "X-Ms-Lease-Id",
			want: func(token, _ string) string { return token }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			url := seed(t, s, "/b", `{"n":1}`)
			other := seed(t, s, "/other", `{"n":1}`)
			c := newClient(s)
			resp, err := c.Get(t.Context(), url, nil)
			require.NoError(t, err)
			spec := &recordingSpec{LockSpec: tt.spec}
			err = c.WithLock(t.Context(), url, spec, func(ctx context.Context) error {
				if _, err := c.Put(ctx, url, map[string]int{"n": 2}, nil); err != nil {
					return err
				}
				if _, err := c.Get(ctx, url, nil); err != nil {
					return err
				}
				if _, err := c.Get(ctx, other, nil); err != nil {
					return err
				}
				_, err := c.Put(ctx, other, map[string]int{"n": 2}, nil)
				return err
			})
			require.NoError(t, err)
			require.NotEmpty(t, spec.token())
			puts := 0
			for _, r := range s.Requests() {
				switch {
				case r.Path == "/b" && r.Method == http.MethodPut:
					puts++
					require.Equal(t, tt.want(spec.token(), string(resp.ETag)), r.Header.Get(tt.header))
				case r.Path == "/b" && r.Method == http.MethodGet, r.Path == "/other":
					require.Empty(t, r.Header.Get(tt.header), "%s %s", r.Method, r.Path)
				}
			}
			require.Equal(t, 1, puts)
		})
	}
}
