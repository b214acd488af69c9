package optimist_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
)

// The lock answers of issue 13: each is recognised before the conflict
// loop, reported as ErrLocked (never ErrConflict), and waited out only
// when the client is told to.

// lockedServer is a one-document JSON server with strong ETags. While
// locked returns an answer for a write, the write gets it and changes
// nothing; otherwise a write with a stale If-Match gets 412.
type lockedServer struct {
	URL    string
	mu     sync.Mutex
	doc    string
	ver    int
	puts   int
	gets   int
	bodies []string
	locked func(r *http.Request, put int) (status int, header http.Header, body string)
}

func newLockedServer(t *testing.T, doc string, locked func(r *http.Request, put int) (int, http.Header, string)) *lockedServer {
	t.Helper()
	s := &lockedServer{doc: doc, ver: 1, locked: locked}
	s.URL = newFuncServer(t, s.serve).URL + "/doc"
	return s
}

func (s *lockedServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("ETag", `"`+strconv.Itoa(s.ver)+`"`)
	if r.Method == http.MethodGet {
		s.gets++
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, s.doc)
		return
	}
	s.puts++
	s.bodies = append(s.bodies, string(body))
	if status, h, msg := s.locked(r, s.puts); status != 0 {
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, msg)
		return
	}
	if m := r.Header.Get("If-Match"); m != "" && m != `"`+strconv.Itoa(s.ver)+`"` {
		w.WriteHeader(http.StatusPreconditionFailed)
		return
	}
	s.doc, s.ver = string(body), s.ver+1
	w.Header().Set("ETag", `"`+strconv.Itoa(s.ver)+`"`)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, s.doc)
}

func (s *lockedServer) counts() (puts, gets int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts, s.gets
}

// lockedUntil answers the first n writes with status, header and body.
func lockedUntil(n, status int, header http.Header, body string) func(*http.Request, int) (int, http.Header, string) {
	return func(_ *http.Request, put int) (int, http.Header, string) {
		if put <= n {
			return status, header, body
		}
		return 0, nil, ""
	}
}

func requireLocked(t *testing.T, err error, kind optimist.LockKind, code string) *optimist.LockedError {
	t.Helper()
	require.ErrorIs(t, err, optimist.ErrLocked)
	require.NotErrorIs(t, err, optimist.ErrConflict)
	var lk *optimist.LockedError
	require.True(t, errors.As(err, &lk), "want a *LockedError, got %T: %v", err, err)
	require.Equal(t, kind, lk.Kind)
	require.Equal(t, code, lk.Code)
	return lk
}

// putAfterGet reads the document, then writes {"n":2} conditionally.
func putAfterGet(ctx context.Context, c *optimist.Client, url string) error {
	if _, err := c.Get(ctx, url, nil); err != nil {
		return err
	}
	_, err := c.Put(ctx, url, map[string]int{"n": 2}, nil)
	return err
}

// TestLockAzureLeaseIDMissing: a blob under a lease answers a write
// without the lease id 412 LeaseIdMissing with its ETag unchanged. That
// was 25 PUTs and 26 GETs, then a version conflict; it is one PUT and a
// lock.
func TestLockAzureLeaseIDMissing(t *testing.T) {
	t.Parallel()
	h := http.Header{"X-Ms-Error-Code": {"LeaseIdMissing"}, "Content-Type": {"application/xml"}}
	s := newLockedServer(t, `{"n":1}`, lockedUntil(1<<30, http.StatusPreconditionFailed, h,
		`<?xml version="1.0" encoding="utf-8"?><Error><Code>LeaseIdMissing</Code>`+
			`<Message>There is currently a lease on the blob and no lease ID was specified in the request.</Message></Error>`))
	sl := new(sleeper)
	c := optimist.New(optimist.WithClock(nil, sl.sleep))
	t.Cleanup(c.CloseIdleConnections)

	err := putAfterGet(t.Context(), c, s.URL)
	lk := requireLocked(t, err, optimist.LockLease, "LeaseIdMissing")
	require.Equal(t, http.StatusPreconditionFailed, lk.Response.StatusCode)
	puts, gets := s.counts()
	require.Equal(t, 1, puts)
	require.Equal(t, 1, gets)
	require.Empty(t, sl.recorded())
}

// TestLockOperationInProgress: Azure Resource Manager's 409
// AnotherOperationInProgress is reported at once by default, and with
// LockOptions.MaxWait waited out (full jitter from 1 s) and the same write sent
// again, unmerged.
func TestLockOperationInProgress(t *testing.T) {
	t.Parallel()
	body := `{"error":{"code":"AnotherOperationInProgress","message":"Operation 'put' is not allowed since another operation is in progress."}}`
	h := http.Header{"Content-Type": {"application/json"}}
	t.Run("reported", func(t *testing.T) {
		t.Parallel()
		s := newLockedServer(t, `{"n":1}`, lockedUntil(2, http.StatusConflict, h, body))
		sl := new(sleeper)
		c := optimist.New(optimist.WithClock(nil, sl.sleep))
		t.Cleanup(c.CloseIdleConnections)
		err := putAfterGet(t.Context(), c, s.URL)
		requireLocked(t, err, optimist.LockTransient, "AnotherOperationInProgress")
		puts, _ := s.counts()
		require.Equal(t, 1, puts)
		require.Empty(t, sl.recorded())
	})
	t.Run("waited out", func(t *testing.T) {
		t.Parallel()
		s := newLockedServer(t, `{"n":1}`, lockedUntil(2, http.StatusConflict, h, body))
		sl := new(sleeper)
		var events []optimist.LockEvent
		c := optimist.New(optimist.WithClock(nil, sl.sleep), optimist.WithLocks(optimist.LockOptions{MaxWait: time.Minute,
			OnLock: func(e optimist.LockEvent) { events = append(events, e) }}))
		t.Cleanup(c.CloseIdleConnections)
		require.NoError(t, putAfterGet(t.Context(), c, s.URL))
		puts, gets := s.counts()
		require.Equal(t, 3, puts)
		require.Equal(t, 1, gets)
		require.Equal(t, []string{`{"n":2}`, `{"n":2}`, `{"n":2}`}, s.bodies)
		waits := sl.recorded()
		require.Len(t, waits, 2)
		require.Less(t, waits[0], time.Second)
		require.Less(t, waits[1], 2*time.Second)
		require.Len(t, events, 2)
		require.True(t, events[1].Waiting)
		require.Equal(t, 2, events[1].Attempt)
	})
}

// TestLockRetryAfter: a 409 "locked" with Retry-After: 2 waited 2 s and
// returned the 409 without sending again. It is reported at once with no
// wait by default; with LockOptions.MaxWait it waits 2 s and sends again.
func TestLockRetryAfter(t *testing.T) {
	t.Parallel()
	h := http.Header{"Retry-After": {"2"}, "Content-Type": {"application/json"}}
	body := `{"code":"Locked","message":"the resource is locked"}`
	tests := []struct {
		name  string
		opts  []optimist.Option
		puts  int
		waits []time.Duration
	}{
		{name: "reported", puts: 1},
		{name: "waited", opts: []optimist.Option{optimist.WithLocks(optimist.LockOptions{MaxWait: 10 * time.Second})}, puts: 2, waits: []time.Duration{2 * time.Second}},
		{name: "longer than allowed", opts: []optimist.Option{optimist.WithLocks(optimist.LockOptions{MaxWait: time.Second})}, puts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newLockedServer(t, `{"n":1}`, lockedUntil(1, http.StatusConflict, h, body))
			sl := new(sleeper)
			c := optimist.New(append(tt.opts, optimist.WithClock(nil, sl.sleep))...)
			t.Cleanup(c.CloseIdleConnections)
			err := putAfterGet(t.Context(), c, s.URL)
			if tt.puts == 1 {
				lk := requireLocked(t, err, optimist.LockLease, "Locked")
				require.Equal(t, 2*time.Second, lk.RetryAfter)
			} else {
				require.NoError(t, err)
			}
			puts, _ := s.counts()
			require.Equal(t, tt.puts, puts)
			require.Equal(t, tt.waits, sl.recorded())
		})
	}
}

// TestLock423: a 423 Locked answer was a bare StatusError; it is a lock,
// with the holder, token and expiry the answer gives.
func TestLock423(t *testing.T) {
	t.Parallel()
	xmlCT := http.Header{"Content-Type": {"application/xml; charset=utf-8"}}
	jsonCT := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name          string
		status        int
		header        http.Header
		body          string
		kind          optimist.LockKind
		code, holder  string
		token         string
		expiresInSecs int
	}{
		{name: "bare", status: http.StatusLocked, header: http.Header{}, body: "Locked", kind: optimist.LockLease},
		{name: "webdav precondition", status: http.StatusLocked, header: xmlCT,
			body: `<?xml version="1.0"?><D:error xmlns:D="DAV:"><D:lock-token-submitted><D:href>/doc</D:href></D:lock-token-submitted></D:error>`,
			kind: optimist.LockLease, code: "lock-token-submitted"},
		{name: "webdav lockdiscovery", status: http.StatusLocked, header: xmlCT,
			body: `<?xml version="1.0"?><D:prop xmlns:D="DAV:"><D:lockdiscovery><D:activelock>` +
				`<D:locktype><D:write/></D:locktype><D:lockscope><D:exclusive/></D:lockscope><D:depth>0</D:depth>` +
				`<D:owner><D:href>mailto:ann@example.com</D:href></D:owner><D:timeout>Second-600</D:timeout>` +
				`<D:locktoken><D:href>opaquelocktoken:e71d4fae-5dec</D:href></D:locktoken>` +
				`</D:activelock></D:lockdiscovery></D:prop>`,
			kind: optimist.LockLease, holder: "mailto:ann@example.com", token: "opaquelocktoken:e71d4fae-5dec", expiresInSecs: 600},
		{name: "terraform LockInfo", status: http.StatusLocked, header: jsonCT,
			body: `{"ID":"2b6a6738-5dd5","Operation":"OperationTypeApply","Info":"","Who":"ann@build-7","Version":"1.9.0","Created":"2026-12-01T10:00:00Z","Path":""}`,
			kind: optimist.LockLease, holder: "ann@build-7", token: "2b6a6738-5dd5"},
		{name: "graph resourceLocked", status: http.StatusLocked, header: jsonCT,
			body: `{"error":{"code":"resourceLocked","message":"The resource you are attempting to access is locked"}}`,
			kind: optimist.LockLease, code: "resourceLocked"},
		{name: "git lfs lock", status: http.StatusConflict, header: jsonCT,
			body: `{"lock":{"id":"lfs-42","path":"doc","locked_at":"2026-12-01T10:00:00Z","owner":{"name":"Ann"}},"message":"already created lock"}`,
			kind: optimist.LockLease, holder: "Ann", token: "lfs-42"},
		{name: "stripe should retry", status: http.StatusConflict,
			header: http.Header{"Content-Type": {"application/json"}, "Stripe-Should-Retry": {"true"}},
			body:   `{"error":{"code":"lock_timeout","type":"invalid_request_error"}}`,
			kind:   optimist.LockTransient, code: "lock_timeout"},
		{name: "azure management lock", status: http.StatusConflict, header: jsonCT,
			body: `{"error":{"code":"ScopeLocked","message":"The scope cannot perform write operation because of a read-only lock."}}`,
			kind: optimist.LockPermanent, code: "ScopeLocked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newLockedServer(t, `{"n":1}`, lockedUntil(1, tt.status, tt.header, tt.body))
			now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
			sl := new(sleeper)
			c := optimist.New(optimist.WithClock(func() time.Time { return now }, sl.sleep))
			t.Cleanup(c.CloseIdleConnections)
			err := putAfterGet(t.Context(), c, s.URL)
			lk := requireLocked(t, err, tt.kind, tt.code)
			require.Equal(t, tt.holder, lk.Holder)
			require.Equal(t, tt.token, lk.Token)
			require.Equal(t, tt.status, lk.Response.StatusCode)
			if tt.expiresInSecs > 0 {
				require.Equal(t, now.Add(time.Duration(tt.expiresInSecs)*time.Second), lk.Expires)
			}
			puts, _ := s.counts()
			require.Equal(t, 1, puts)
		})
	}
}

// TestLockPermanentIsNotWaited: a permanent lock fails at once even when
// the client waits out locks.
func TestLockPermanentIsNotWaited(t *testing.T) {
	t.Parallel()
	body := `{"error":{"code":"ScopeLocked","message":"read-only lock"}}`
	s := newLockedServer(t, `{"n":1}`, lockedUntil(1<<30, http.StatusConflict, http.Header{"Content-Type": {"application/json"}}, body))
	sl := new(sleeper)
	c := optimist.New(optimist.WithClock(nil, sl.sleep), optimist.WithLocks(optimist.LockOptions{MaxWait: time.Hour}))
	t.Cleanup(c.CloseIdleConnections)
	requireLocked(t, putAfterGet(t.Context(), c, s.URL), optimist.LockPermanent, "ScopeLocked")
	puts, _ := s.counts()
	require.Equal(t, 1, puts)
	require.Empty(t, sl.recorded())
}

// TestLockCallerCodes: a code the caller names is a lock of its kind.
func TestLockCallerCodes(t *testing.T) {
	t.Parallel()
	body := `{"code":"DocumentCheckedOut"}`
	s := newLockedServer(t, `{"n":1}`, lockedUntil(1<<30, http.StatusConflict, http.Header{"Content-Type": {"application/json"}}, body))
	c := optimist.New(optimist.WithLocks(optimist.LockOptions{Codes: map[string]optimist.LockKind{"documentcheckedout": optimist.LockLease}}))
	t.Cleanup(c.CloseIdleConnections)
	requireLocked(t, putAfterGet(t.Context(), c, s.URL), optimist.LockLease, "DocumentCheckedOut")
}

// TestLockWaitIsBoundedByMax: a lock that never ends is waited for at most
// the max given, then reported with every send counted.
func TestLockWaitIsBoundedByMax(t *testing.T) {
	t.Parallel()
	body := `{"error":{"code":"AnotherOperationInProgress"}}`
	s := newLockedServer(t, `{"n":1}`, lockedUntil(1<<30, http.StatusConflict, http.Header{"Content-Type": {"application/json"}}, body))
	sl := new(sleeper)
	c := optimist.New(optimist.WithClock(nil, sl.sleep), optimist.WithLocks(optimist.LockOptions{MaxWait: 20 * time.Second}))
	t.Cleanup(c.CloseIdleConnections)
	lk := requireLocked(t, putAfterGet(t.Context(), c, s.URL), optimist.LockTransient, "AnotherOperationInProgress")
	var total time.Duration
	for _, d := range sl.recorded() {
		total += d
	}
	require.LessOrEqual(t, total, 20*time.Second)
	puts, _ := s.counts()
	require.Equal(t, len(sl.recorded())+1, puts)
	require.Equal(t, puts, lk.Attempts)
}

// TestLockWaitEndsWithContext: the wait for a lock stops when the context
// ends, with the context's error and the lock.
func TestLockWaitEndsWithContext(t *testing.T) {
	t.Parallel()
	body := `{"error":{"code":"AnotherOperationInProgress"}}`
	s := newLockedServer(t, `{"n":1}`, lockedUntil(1<<30, http.StatusConflict, http.Header{"Content-Type": {"application/json"}}, body))
	ctx, cancel := context.WithCancel(t.Context())
	c := optimist.New(optimist.WithLocks(optimist.LockOptions{MaxWait: time.Hour}), optimist.WithClock(nil, func(ctx context.Context, _ time.Duration) error {
		cancel()
		return ctx.Err()
	}))
	t.Cleanup(c.CloseIdleConnections)
	err := putAfterGet(ctx, c, s.URL)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, optimist.ErrLocked)
	puts, _ := s.counts()
	require.Equal(t, 1, puts)
}

// TestVersionConflictMentioningIdempotency: a version-conflict 409 whose
// body happens to speak of idempotency is a version conflict when the
// request carried no Idempotency-Key: it is resolved, not returned.
func TestVersionConflictMentioningIdempotency(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		doc = `{"a":1,"b":1}`
		ver = 1
	)
	ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodPut {
			if r.Header.Get("If-Match") != fmt.Sprintf(`"%d"`, ver) {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusConflict)
				_, _ = io.WriteString(w, `{"title":"version conflict","detail":"the document changed (this is not about idempotency)"}`)
				return
			}
			doc, ver = string(body), ver+1
		}
		w.Header().Set("ETag", fmt.Sprintf(`"%d"`, ver))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, doc)
	})
	c := optimist.New(optimist.WithClock(nil, new(sleeper).sleep))
	t.Cleanup(c.CloseIdleConnections)
	url := ts.URL + "/doc"
	_, err := c.Get(t.Context(), url, nil)
	require.NoError(t, err)
	mu.Lock()
	doc, ver = `{"a":1,"b":2}`, 2 // another writer
	mu.Unlock()

	_, err = c.Put(t.Context(), url, map[string]int{"a": 2, "b": 1}, nil)
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.JSONEq(t, `{"a":2,"b":2}`, doc)
}

// TestUnchangedVersion412IsNoConflict: a 412 with no lock code whose
// re-read shows the very strong ETag the write sent is about another
// precondition: it is returned after one re-read, not written 25 times
// and called a version conflict.
func TestUnchangedVersion412IsNoConflict(t *testing.T) {
	t.Parallel()
	s := newLockedServer(t, `{"n":1}`, lockedUntil(1<<30, http.StatusPreconditionFailed, http.Header{}, ""))
	c := optimist.New(optimist.WithClock(nil, new(sleeper).sleep))
	t.Cleanup(c.CloseIdleConnections)
	err := putAfterGet(t.Context(), c, s.URL)
	require.ErrorIs(t, err, optimist.ErrPreconditionFailed)
	require.NotErrorIs(t, err, optimist.ErrConflict)
	puts, gets := s.counts()
	require.Equal(t, 1, puts)
	require.Equal(t, 2, gets, "the read, and the re-read that shows the version unchanged")
}

// TestLockIsLogged: each lock answer is a log line naming the lock, at
// debug level while waiting, at warn level when reported.
func TestLockIsLogged(t *testing.T) {
	t.Parallel()
	h := http.Header{"Retry-After": {"1"}, "X-Ms-Error-Code": {"AnotherOperationInProgress"}}
	s := newLockedServer(t, `{"n":1}`, lockedUntil(1<<30, http.StatusConflict, h, ""))
	logger, logs := debugLogger()
	c := optimist.New(optimist.WithLogger(logger), optimist.WithLocks(optimist.LockOptions{MaxWait: time.Second}), optimist.WithClock(nil, new(sleeper).sleep))
	t.Cleanup(c.CloseIdleConnections)
	require.ErrorIs(t, putAfterGet(t.Context(), c, s.URL), optimist.ErrLocked)
	out := logs.String()
	require.Contains(t, out, `level=DEBUG msg="optimist: resource locked, waiting"`)
	require.Contains(t, out, `level=WARN msg="optimist: resource locked"`)
	require.Contains(t, out, "code=AnotherOperationInProgress")
	require.Contains(t, out, "wait=1s")
}
