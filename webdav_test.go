package optimist_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/webdav"

	"github.com/optimist-go/optimist"
)

// Locks against a real WebDAV implementation, golang.org/x/net/webdav,
// in process.

// davServer is a golang.org/x/net/webdav server on 127.0.0.1 whose lock
// clock runs ahead of time.Now by a shift the test moves, and which counts
// the PUTs it is sent.
type davServer struct {
	URL  string
	ls   *shiftedLocks
	fs   *gatedFS
	puts atomic.Int32
}

func newDAVServer(t *testing.T) *davServer {
	t.Helper()
	d := &davServer{ls: &shiftedLocks{LockSystem: webdav.NewMemLS()}, fs: &gatedFS{FileSystem: webdav.NewMemFS()}}
	h := &webdav.Handler{FileSystem: d.fs, LockSystem: d.ls}
	d.URL = newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			d.puts.Add(1)
		}
		h.ServeHTTP(w, r)
	}).URL
	return d
}

// raw sends a request as another, plain HTTP client would.
func (d *davServer) raw(t *testing.T, method, path, body string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, d.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	return resp
}

// lockAsOther takes a lock on path for another client and gives its token.
func (d *davServer) lockAsOther(t *testing.T, path string, timeout string) string {
	t.Helper()
	resp := d.raw(t, "LOCK", path, `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>`+
		`<D:locktype><D:write/></D:locktype><D:owner>another client</D:owner></D:lockinfo>`, "Timeout", timeout)
	require.Contains(t, []int{http.StatusOK, http.StatusCreated}, resp.StatusCode)
	return strings.Trim(resp.Header.Get("Lock-Token"), "<>")
}

func (d *davServer) content(t *testing.T, path string) string {
	t.Helper()
	f, err := d.fs.FileSystem.OpenFile(t.Context(), path, os.O_RDONLY, 0)
	require.NoError(t, err)
	defer f.Close()
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	return string(b)
}

// shiftedLocks is a webdav.LockSystem whose clock is ahead by shift.
type shiftedLocks struct {
	webdav.LockSystem
	mu    sync.Mutex
	shift time.Duration
}

func (s *shiftedLocks) advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shift += d
}

func (s *shiftedLocks) at(now time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return now.Add(s.shift)
}

func (s *shiftedLocks) Confirm(now time.Time, name0, name1 string, conditions ...webdav.Condition) (func(), error) {
	return s.LockSystem.Confirm(s.at(now), name0, name1, conditions...)
}

func (s *shiftedLocks) Create(now time.Time, details webdav.LockDetails) (string, error) {
	return s.LockSystem.Create(s.at(now), details)
}

func (s *shiftedLocks) Refresh(now time.Time, token string, duration time.Duration) (webdav.LockDetails, error) {
	return s.LockSystem.Refresh(s.at(now), token, duration)
}

func (s *shiftedLocks) Unlock(now time.Time, token string) error {
	return s.LockSystem.Unlock(s.at(now), token)
}

// gatedFS is a webdav.FileSystem whose opens for writing wait for the
// gate, when one is set.
type gatedFS struct {
	webdav.FileSystem
	mu      sync.Mutex
	gate    chan struct{}
	entered chan struct{}
}

func (g *gatedFS) hold() (entered chan struct{}, open func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate, open = newGate()
	g.entered = make(chan struct{}, 1)
	return g.entered, open
}

// newGate returns a channel that stays open until the function returned
// with it is called, which closes it; later calls do nothing.
func newGate() (gate chan struct{}, release func()) {
	gate, once := make(chan struct{}), new(sync.Once)
	return gate, func() { once.Do(func() { close(gate) }) }
}

func (g *gatedFS) OpenFile(ctx context.Context, name string, flag int, perm os.FileMode) (webdav.File, error) {
	g.mu.Lock()
	gate, entered := g.gate, g.entered
	if flag&os.O_CREATE != 0 {
		g.gate, g.entered = nil, nil // one write waits
	}
	g.mu.Unlock()
	if gate != nil && flag&os.O_CREATE != 0 {
		entered <- struct{}{}
		<-gate
	}
	return g.FileSystem.OpenFile(ctx, name, flag, perm)
}

// TestWebDAVLockIsWaitedOut: a lock another client holds answers 423; with
// LockOptions.MaxWait the write waits until the lock has expired on the server
// and then lands. Without it, the 423 is reported as a lock.
func TestWebDAVLockIsWaitedOut(t *testing.T) {
	t.Parallel()
	for _, wait := range []bool{false, true} {
		d := newDAVServer(t)
		require.Equal(t, http.StatusCreated, d.raw(t, http.MethodPut, "/doc.json", `{"n":1}`).StatusCode)
		d.lockAsOther(t, "/doc.json", "Second-60")
		var waits []time.Duration
		opts := []optimist.Option{optimist.WithClock(nil, func(ctx context.Context, w time.Duration) error {
			waits = append(waits, w)
			d.ls.advance(61 * time.Second) // the other client's lock expires
			return ctx.Err()
		})}
		if wait {
			opts = append(opts, optimist.WithLocks(optimist.LockOptions{MaxWait: time.Minute}))
		}
		c := optimist.New(opts...)
		t.Cleanup(c.CloseIdleConnections)

		_, err := c.Get(t.Context(), d.URL+"/doc.json", nil)
		require.NoError(t, err)
		_, err = c.Put(t.Context(), d.URL+"/doc.json", map[string]int{"n": 2}, nil)
		if !wait {
			require.ErrorIs(t, err, optimist.ErrLocked)
			require.NotErrorIs(t, err, optimist.ErrConflict)
			var se *optimist.StatusError
			require.True(t, errors.As(err, &se))
			require.Equal(t, http.StatusLocked, se.StatusCode)
			require.Empty(t, waits)
			require.Equal(t, `{"n":1}`, d.content(t, "/doc.json"))
			continue
		}
		require.NoError(t, err)
		require.Len(t, waits, 1)
		require.Less(t, waits[0], time.Second)
		require.Equal(t, `{"n":2}`, d.content(t, "/doc.json"))
	}
}

// TestWebDAVConcurrentPutIsWaitedOut: golang.org/x/net/webdav answers a
// PUT 423 while another PUT of the same file is in progress; the write
// waits for it and then lands.
func TestWebDAVConcurrentPutIsWaitedOut(t *testing.T) {
	t.Parallel()
	d := newDAVServer(t)
	entered, open := d.fs.hold()
	first := make(chan int, 1)
	go func() { // another client's PUT, outside the test's goroutine
		status := 0
		req, _ := http.NewRequest(http.MethodPut, d.URL+"/doc.json", strings.NewReader(`{"n":1}`))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			status = resp.StatusCode
			_ = resp.Body.Close()
		}
		first <- status
	}()
	t.Cleanup(func() { open(); <-first }) // also when the test fails before it opens the gate
	<-entered                             // the first PUT holds its lock while it opens the file

	var waits int
	c := optimist.New(optimist.WithLocks(optimist.LockOptions{MaxWait: time.Minute}), optimist.WithClock(nil, func(ctx context.Context, _ time.Duration) error {
		waits++
		open()
		status := <-first
		first <- status // for the cleanup
		require.Equal(t, http.StatusCreated, status)
		return ctx.Err()
	}))
	t.Cleanup(c.CloseIdleConnections)
	_, err := c.Put(t.Context(), d.URL+"/doc.json", map[string]int{"n": 2}, nil, optimist.Unconditional())
	require.NoError(t, err)
	require.Equal(t, 1, waits)
	require.Equal(t, int32(2+1), d.puts.Load(), "the first PUT, ours refused, ours again")
	require.Equal(t, `{"n":2}`, d.content(t, "/doc.json"))
}

// TestWebDAVWithLock: WithLock takes a real WebDAV lock, renews it across
// several lifetimes, writes with its token while other clients are kept
// out, and unlocks.
func TestWebDAVWithLock(t *testing.T) {
	t.Parallel()
	d := newDAVServer(t)
	url := d.URL + "/doc.json"
	require.Equal(t, http.StatusCreated, d.raw(t, http.MethodPut, "/doc.json", `{"n":1}`).StatusCode)
	st := newStepSleeper()
	c := optimist.New(optimist.WithClock(nil, st.sleep))
	t.Cleanup(c.CloseIdleConnections)
	_, err := c.Get(t.Context(), url, nil)
	require.NoError(t, err)

	err = c.WithLock(t.Context(), url, optimist.WebDAVLock("optimist-test", 30*time.Second), func(ctx context.Context) error {
		if _, err := c.Put(ctx, url, map[string]int{"n": 2}, nil); err != nil {
			return err
		}
		for range 9 { // three lifetimes
			require.Equal(t, 10*time.Second, st.step(t, d.ls.advance))
		}
		<-st.calls // the last renewal is done
		require.Equal(t, http.StatusLocked, d.raw(t, http.MethodPut, "/doc.json", `{"n":-1}`).StatusCode, "others are kept out")
		_, err := optimist.Update(ctx, c, url, func(v *map[string]int) error { (*v)["n"]++; return nil })
		return err
	})
	require.NoError(t, err)
	require.Equal(t, `{"n":3}`, d.content(t, "/doc.json"))
	require.Equal(t, http.StatusCreated, d.raw(t, http.MethodPut, "/doc.json", `{"n":4}`).StatusCode, "unlocked")
}

// TestWebDAVWithLockLost: when the lock expires on the server before its
// renewal, the renewal fails and the function's context is cancelled
// before its next write, which never reaches the server.
func TestWebDAVWithLockLost(t *testing.T) {
	t.Parallel()
	d := newDAVServer(t)
	url := d.URL + "/doc.json"
	st := newStepSleeper()
	c := optimist.New(optimist.WithClock(nil, st.sleep))
	t.Cleanup(c.CloseIdleConnections)

	var writeErr error
	err := c.WithLock(t.Context(), url, optimist.WebDAVLock("optimist-test", 30*time.Second), func(ctx context.Context) error {
		if _, err := c.Put(ctx, url, map[string]int{"n": 1}, nil, optimist.CreateOnly()); err != nil {
			return err
		}
		st.step(t, func(time.Duration) { d.ls.advance(31 * time.Second) }) // the renewal comes too late
		<-ctx.Done()
		_, writeErr = c.Put(ctx, url, map[string]int{"n": 2}, nil)
		return writeErr
	})
	require.ErrorIs(t, writeErr, context.Canceled)
	require.Equal(t, int32(1), d.puts.Load(), "no write after the lock was lost")
	var lk *optimist.LockedError
	require.True(t, errors.As(err, &lk))
	require.True(t, lk.Lost)
	require.ErrorIs(t, err, optimist.ErrLocked)
	require.NotErrorIs(t, err, optimist.ErrConflict)
	require.Equal(t, `{"n":1}`, d.content(t, "/doc.json"))
}

// tornFS is a webdav.FileSystem that can hold one write between the
// truncation and the copy of x/net/webdav's PUT (OpenFile with O_TRUNC,
// then io.Copy): meanwhile readers are served the empty file, as they are
// by any server whose PUT is not atomic.
type tornFS struct {
	webdav.FileSystem
	mu        sync.Mutex
	truncated chan struct{}
	release   chan struct{}
}

// hold makes the next truncating open wait in its first write: truncated
// is closed once the file is empty, and release lets the write go on.
func (f *tornFS) hold() (truncated chan struct{}, release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.truncated = make(chan struct{})
	f.release, release = newGate()
	return f.truncated, release
}

func (f *tornFS) OpenFile(ctx context.Context, name string, flag int, perm os.FileMode) (webdav.File, error) {
	file, err := f.FileSystem.OpenFile(ctx, name, flag, perm)
	if err != nil || flag&os.O_TRUNC == 0 {
		return file, err
	}
	f.mu.Lock()
	truncated, release := f.truncated, f.release
	f.truncated, f.release = nil, nil
	f.mu.Unlock()
	if truncated == nil {
		return file, nil
	}
	close(truncated)
	return &heldFile{File: file, release: release}, nil
}

type heldFile struct {
	webdav.File
	release chan struct{}
}

func (h *heldFile) Write(p []byte) (int, error) {
	<-h.release
	return h.File.Write(p)
}

// TestProbeRewritesNoHalfWrittenFile: x/net/webdav ignores If-Match and
// its PUT truncates before it copies. A probe that reads the file in
// between reads the same empty body twice; re-writing it after the other
// write has finished would empty the file for good. A body that is not
// the JSON its Content-Type names is not written back.
func TestProbeRewritesNoHalfWrittenFile(t *testing.T) {
	t.Parallel()
	fs := &tornFS{FileSystem: webdav.NewMemFS()}
	url := newFuncServer(t, (&webdav.Handler{FileSystem: fs, LockSystem: webdav.NewMemLS()}).ServeHTTP).URL + "/c.json"
	d := &davServer{URL: strings.TrimSuffix(url, "/c.json")}
	require.Equal(t, http.StatusCreated, d.raw(t, http.MethodPut, "/c.json", `{"count":0}`).StatusCode)

	truncated, release := fs.hold()
	defer release()
	written := make(chan error, 1)
	go func() { // the other writer, held in its copy
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, url, strings.NewReader(`{"count":1}`))
		if err == nil {
			var resp *http.Response
			if resp, err = http.DefaultClient.Do(req); err == nil {
				err = resp.Body.Close()
			}
		}
		written <- err
	}()
	<-truncated

	// The probe's writes, if it sends any, wait until the other write is
	// done, so that they land after it.
	probePut, probeGo := make(chan struct{}, 1), make(chan struct{})
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := optimist.New(optimist.WithHTTPClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPut {
			select {
			case probePut <- struct{}{}:
			default:
			}
			<-probeGo
		}
		return tr.RoundTrip(r)
	})}))
	probed := make(chan error, 1)
	go func() {
		_, err := c.Probe(t.Context(), url)
		probed <- err
	}()
	var err error
	finished := false
	select {
	case <-probePut:
	case err = <-probed:
		finished = true
	}
	release()
	require.NoError(t, <-written)
	close(probeGo)
	if !finished {
		err = <-probed
	}
	resp, getErr := (&http.Client{Transport: tr}).Get(url)
	require.NoError(t, getErr)
	body, _ := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.JSONEq(t, `{"count":1}`, string(body), "the probe re-wrote a half-written file over the finished write")
	require.ErrorContains(t, err, "not the JSON its Content-Type names")
}
