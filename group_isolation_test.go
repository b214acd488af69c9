package optimist

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist/mock"
)

// Tests of what a batch may hold and how its callers are kept apart.
// Batches are formed deterministically: a leader's mutation blocks until
// the test releases it, and c.queuedHook reports each caller that queues
// behind it.

// wrappedServer serves a mock backend behind mw, on 127.0.0.1.
func wrappedServer(t *testing.T, mw func(b *mock.Backend, next http.Handler) http.Handler) (*mock.Backend, *httptest.Server) {
	t.Helper()
	b := mock.Handler()
	ts := httptest.NewServer(mw(b, b))
	t.Cleanup(ts.Close)
	return b, ts
}

// events counts callers that queued (through c.queuedHook) or finished.
type events chan struct{}

func watchQueue(c *Client) events {
	ev := make(events, 256)
	c.queuedHook = func(int) { ev <- struct{}{} }
	return ev
}

// wait waits for n events.
func (ev events) wait(n int) {
	for range n {
		<-ev
	}
}

// drain forgets the events seen so far.
func (ev events) drain() {
	for {
		select {
		case <-ev:
		default:
			return
		}
	}
}

// holdLeader starts an Update of url that sets "held" and whose mutation
// blocks until release is called, so that the updates of its batch key
// made meanwhile queue behind it. It returns once the mutation runs.
func holdLeader(t *testing.T, ctx context.Context, c *Client, ev events, url string, opts ...RequestOption) (release func(), done <-chan error) {
	t.Helper()
	gate, entered, errc := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	var once sync.Once
	go func() {
		_, err := Update(ctx, c, url, func(m *map[string]any) error {
			once.Do(func() { close(entered); <-gate })
			(*m)["held"] = true
			return nil
		}, opts...)
		errc <- err
	}()
	<-entered
	ev.drain() // the leader's own queueing, where it queues
	return sync.OnceFunc(func() { close(gate) }), errc
}

// TestGroupCommitKeepsCredentialsApart: alice's mutation is never written
// under bob's token (issue 12, case 1).
func TestGroupCommitKeepsCredentialsApart(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var violations []string
	b, ts := wrappedServer(t, func(b *mock.Backend, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut {
				mu.Lock()
				defer mu.Unlock()
				if bad := foreignMembers(t, b, r, func(member string, h http.Header) bool {
					return h.Get("Authorization") == "Bearer "+member
				}); bad != "" {
					violations = append(violations, bad)
					w.WriteHeader(http.StatusForbidden)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	})
	require.NoError(t, b.Seed("/docs/shared", []byte(`{}`)))
	url := ts.URL + "/docs/shared"
	c := New(WithHTTPClient(ts.Client()))
	ev := watchQueue(c)
	as := func(user string) context.Context {
		return NewContext(t.Context(), Header("Authorization", "Bearer "+user))
	}

	// bob's first write is in flight; his second update queues behind it
	// and leads the next batch. alice must not join that batch.
	release, leader := holdLeader(t, as("bob"), c, ev, url)
	bobDone := make(chan error, 1)
	go func() {
		_, err := Update(as("bob"), c, url, func(m *map[string]any) error {
			(*m)["bob"] = 1.0
			return nil
		})
		bobDone <- err
	}()
	ev.wait(1)
	aliceDone := make(chan error, 1)
	go func() {
		_, err := Update(as("alice"), c, url, func(m *map[string]any) error {
			(*m)["alice"] = 1.0
			return nil
		})
		aliceDone <- err
	}()
	var aliceErr error
	select {
	case <-ev: // alice queued behind bob's write
		release()
		aliceErr = <-aliceDone
	case aliceErr = <-aliceDone: // alice wrote on her own
		release()
	}
	require.NoError(t, <-leader)
	bobErr := <-bobDone
	require.Empty(t, violations)
	require.NoError(t, aliceErr)
	require.NoError(t, bobErr)
	body, _, _ := b.Document("/docs/shared")
	require.JSONEq(t, `{"held":true,"alice":1,"bob":1}`, string(body))
}

// foreignMembers returns the first member the PUT r would change (its
// If-Match names the stored version) that its sender may not write (allowed says; "held" is the leader's), or "". It
// restores r.Body.
func foreignMembers(t *testing.T, b *mock.Backend, r *http.Request, allowed func(member string, h http.Header) bool) string {
	t.Helper()
	var sent, stored map[string]any
	body := readAll(t, r)
	if json.Unmarshal(body, &sent) != nil {
		return ""
	}
	prev, etag, _ := b.Document(r.URL.Path)
	if r.Header.Get("If-Match") != etag {
		return "" // it will fail its precondition: it changes nothing
	}
	_ = json.Unmarshal(prev, &stored)
	for member, v := range sent {
		if member == "held" {
			continue
		}
		old, _ := json.Marshal(stored[member])
		now, _ := json.Marshal(v)
		if string(old) != string(now) && !allowed(member, r.Header) {
			return member + " written under " + r.Header.Get("Authorization")
		}
	}
	return ""
}

// TestGroupCommitBatchesEqualOptions: callers with equal request options
// are batched (issue 12, case 2), as Azure Blob's required header needs.
func TestGroupCommitBatchesEqualOptions(t *testing.T) {
	t.Parallel()
	const writers = 8
	s := mock.NewServer()
	t.Cleanup(s.Close)
	require.NoError(t, s.Seed("/blobs/b", []byte(`{"n":0}`)))
	url := s.URL + "/blobs/b"
	c := New(WithHTTPClient(s.Client()))
	ev := watchQueue(c)
	blobType := Header("X-Ms-Blob-Type", "BlockBlob")
	release, leader := holdLeader(t, t.Context(), c, ev, url, blobType)
	errs := make(chan error, writers)
	for range writers {
		go func() {
			_, err := Update(t.Context(), c, url, func(m *map[string]any) error {
				(*m)["n"] = (*m)["n"].(float64) + 1
				return nil
			}, blobType)
			ev <- struct{}{}
			errs <- err
		}()
	}
	ev.wait(writers) // each queued or finished
	release()
	require.NoError(t, <-leader)
	for range writers {
		require.NoError(t, <-errs)
	}
	body, _, _ := s.Document("/blobs/b")
	require.JSONEq(t, `{"n":8,"held":true}`, string(body))
	require.Equal(t, 2, s.Count(http.MethodPut, http.StatusOK), "the leader's write, then one batch")
	for _, r := range s.Requests() {
		require.Equal(t, "BlockBlob", r.Header.Get("X-Ms-Blob-Type"), "%s %s", r.Method, r.Path)
	}
}

// TestGroupCommitIsolatesRefusal: a 422 caused by one caller's change
// fails that caller only; the batch's other changes land (issue 12, case 3).
func TestGroupCommitIsolatesRefusal(t *testing.T) {
	t.Parallel()
	const writers, culprit = 8, 5
	b, ts := wrappedServer(t, func(_ *mock.Backend, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.Contains(string(readAll(t, r)), `"taken"`) {
				http.Error(w, `{"error":"name is taken"}`, http.StatusUnprocessableEntity)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	require.NoError(t, b.Seed("/users/u", []byte(`{"n":0}`)))
	url := ts.URL + "/users/u"
	c := New(WithHTTPClient(ts.Client()))
	ev := watchQueue(c)
	release, leader := holdLeader(t, t.Context(), c, ev, url)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = Update(t.Context(), c, url, func(m *map[string]any) error {
				(*m)["n"] = (*m)["n"].(float64) + 1
				if i == culprit {
					(*m)["name"] = "taken"
				}
				return nil
			})
		}()
	}
	ev.wait(writers)
	release()
	require.NoError(t, <-leader)
	wg.Wait()
	for i, err := range errs {
		if i != culprit {
			require.NoError(t, err, "caller %d", i)
			continue
		}
		var se *StatusError
		require.ErrorAs(t, err, &se)
		require.Equal(t, http.StatusUnprocessableEntity, se.StatusCode)
	}
	body, _, _ := b.Document("/users/u")
	require.JSONEq(t, `{"n":7,"held":true}`, string(body))
}

// TestGroupCommitPanicStaysWithCaller: a mutation's panic is raised in its
// caller's goroutine, with its value; the others land (issue 12, case 4).
func TestGroupCommitPanicStaysWithCaller(t *testing.T) {
	t.Parallel()
	const writers, panicker = 6, 2
	s := mock.NewServer()
	t.Cleanup(s.Close)
	require.NoError(t, s.Seed("/counters/p", []byte(`{"n":0}`)))
	url := s.URL + "/counters/p"
	c := New(WithHTTPClient(s.Client()))
	ev := watchQueue(c)
	release, leader := holdLeader(t, t.Context(), c, ev, url)
	errs := make([]error, writers)
	recovered := make([]any, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { recovered[i] = recover() }()
			_, errs[i] = Update(t.Context(), c, url, func(m *map[string]any) error {
				if i == panicker {
					panic("boom")
				}
				(*m)["n"] = (*m)["n"].(float64) + 1
				return nil
			})
		}()
	}
	ev.wait(writers)
	release()
	require.NoError(t, <-leader)
	wg.Wait()
	for i := range writers {
		if i == panicker {
			require.Equal(t, "boom", recovered[i])
			continue
		}
		require.Nil(t, recovered[i])
		require.NoError(t, errs[i])
	}
	body, _, _ := s.Document("/counters/p")
	require.JSONEq(t, `{"n":5,"held":true}`, string(body))
}

// TestGroupCommitPanicUncontended: a lone caller's panic leaves its URL
// usable for the next update.
func TestGroupCommitPanicUncontended(t *testing.T) {
	t.Parallel()
	s := mock.NewServer()
	t.Cleanup(s.Close)
	require.NoError(t, s.Seed("/counters/q", []byte(`{"n":0}`)))
	url := s.URL + "/counters/q"
	c := New(WithHTTPClient(s.Client()))
	require.PanicsWithValue(t, "boom", func() {
		_, _ = Update(t.Context(), c, url, func(*map[string]any) error { panic("boom") })
	})
	_, err := Update(t.Context(), c, url, func(m *map[string]any) error { (*m)["n"] = 1; return nil })
	require.NoError(t, err)
}

// TestUpdateInvalidURLRedacted: an invalid URL's error carries no
// password, with group commit on or off (issue 12, case 5).
func TestUpdateInvalidURLRedacted(t *testing.T) {
	t.Parallel()
	for _, group := range []bool{true, false} {
		c := New(WithGroupCommit(group))
		_, err := Update(t.Context(), c, "http://alice:s3cret@example.com:port/x", func(*map[string]any) error { return nil })
		require.Error(t, err)
		require.NotContains(t, err.Error(), "s3cret", "group commit %v", group)
		for e := error(err); e != nil; e = errors.Unwrap(e) {
			require.NotContains(t, e.Error(), "s3cret")
		}
	}
}

// TestGroupCommitUncontendedRunsOnCaller: with no one queued, the update
// runs on the caller's goroutine (issue 18): no committer goroutine.
func TestGroupCommitUncontendedRunsOnCaller(t *testing.T) {
	t.Parallel()
	s := mock.NewServer()
	t.Cleanup(s.Close)
	require.NoError(t, s.Seed("/counters/c", []byte(`{"n":0}`)))
	c := New(WithHTTPClient(s.Client()))
	var stack string
	_, err := Update(t.Context(), c, s.URL+"/counters/c", func(m *map[string]any) error {
		buf := make([]byte, 64<<10)
		stack = string(buf[:runtime.Stack(buf, false)])
		(*m)["n"] = 1
		return nil
	})
	require.NoError(t, err)
	require.Contains(t, stack, ".TestGroupCommitUncontendedRunsOnCaller(", "the test's own frame is below the mutation")
}

// readAll reads r's body and puts it back for the next handler.
func readAll(t *testing.T, r *http.Request) []byte {
	t.Helper()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("reading the request body: %v", err) // on the server's goroutine: no FailNow
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body
}
