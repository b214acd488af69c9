package optimist_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

type counter struct {
	N int `json:"n"`
}

// runWriters runs fn(i) in n goroutines and returns the errors they report.
func runWriters(n int, fn func(i int) error) []error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(i); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errs
}

func TestContendedUpdateLosesNothing(t *testing.T) {
	t.Parallel()
	for _, shared := range []bool{true, false} {
		t.Run(fmt.Sprintf("shared client %v", shared), func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			url := seed(t, s, "/counters/c", `{"n":0,"label":"keep me"}`)
			one := newClient(s)
			const writers, increments = 32, 50
			errs := runWriters(writers, func(int) error {
				c := one
				if !shared {
					// 32 separate writers on one hot document under -race and
					// a loaded machine: allow more than the default attempts.
					c = newClient(s, optimist.WithConflicts(optimist.ConflictOptions{Attempts: 500, Timeout: time.Minute}))
				}
				for range increments {
					if _, err := optimist.Update(t.Context(), c, url, func(v *counter) error {
						v.N++
						return nil
					}); err != nil {
						return err
					}
				}
				return nil
			})
			require.Empty(t, errs)
			body, _, _ := s.Document("/counters/c")
			require.JSONEq(t, `{"n":1600,"label":"keep me"}`, string(body))
		})
	}
}

func TestEachWritersFieldLands(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	url := seed(t, s, "/docs/shared", `{}`)
	const writers = 32
	errs := runWriters(writers, func(i int) error {
		c := newClient(s) // one client per writer, as separate processes
		var m map[string]any
		if _, err := c.Get(t.Context(), url, &m); err != nil {
			return err
		}
		m["field"+strconv.Itoa(i)] = i
		_, err := c.Put(t.Context(), url, m, nil)
		return err
	})
	require.Empty(t, errs)
	body, _, _ := s.Document("/docs/shared")
	var got map[string]int
	require.NoError(t, json.Unmarshal(body, &got))
	require.Len(t, got, writers)
	for i := range writers {
		require.Equal(t, i, got["field"+strconv.Itoa(i)])
	}
}

// conflicted returns a mock with /docs/a, a client that has read it, and
// another write to it since.
func conflicted(t *testing.T, theirs string, opts ...mock.Option) (*mock.Server, *optimist.Client, string) {
	t.Helper()
	s := newServer(t, opts...)
	url := seed(t, s, "/docs/a", `{"title":"base","count":1}`)
	c := newClient(s)
	_, err := c.Get(t.Context(), url, nil)
	require.NoError(t, err)
	_, err = newClient(s).Put(t.Context(), url, json.RawMessage(theirs), nil, optimist.Unconditional())
	require.NoError(t, err)
	return s, c, url
}

func TestResolvers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		resolver optimist.Resolver
		ours     string
		want     string // the server's document afterwards
		wantErr  error
		// wantMerge says the error is a *MergeConflictError.
		wantMerge bool
	}{
		{name: "three-way merge", resolver: optimist.ThreeWayMerge, ours: `{"title":"ours","count":1}`, want: `{"title":"ours","count":5}`},
		{name: "ours wins", resolver: optimist.OursWins, ours: `{"title":"ours","count":1}`, want: `{"title":"ours","count":1}`},
		{name: "theirs wins", resolver: optimist.TheirsWins, ours: `{"title":"ours","count":1}`, want: `{"title":"base","count":5}`},
		{name: "return conflict", resolver: optimist.ReturnConflict, ours: `{"title":"ours","count":1}`, want: `{"title":"base","count":5}`, wantErr: optimist.ErrConflict},
		{name: "true conflict", resolver: optimist.ThreeWayMerge, ours: `{"title":"base","count":2}`, want: `{"title":"base","count":5}`, wantErr: optimist.ErrConflict, wantMerge: true},
		{
			name: "sum the counters, merge the rest",
			resolver: optimist.MergeWith(map[string]optimist.PathResolver{
				"/count": func(_ string, base, ours, theirs json.RawMessage) (json.RawMessage, bool, error) {
					b, o, th := atoi(t, base), atoi(t, ours), atoi(t, theirs)
					return json.RawMessage(strconv.Itoa(th + o - b)), true, nil
				},
			}),
			ours: `{"title":"ours","count":3}`, want: `{"title":"ours","count":7}`,
		},
		{
			name: "typed",
			resolver: optimist.Typed(func(base, ours, theirs *doc) (*doc, error) {
				return &doc{Title: ours.Title + "+" + theirs.Title, Count: max(ours.Count, theirs.Count)}, nil
			}),
			ours: `{"title":"ours","count":2}`, want: `{"title":"ours+base","count":5}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, c, url := conflicted(t, `{"title":"base","count":5}`)
			_, err := c.Put(t.Context(), url, json.RawMessage(tt.ours), nil, optimist.Resolve(tt.resolver))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				var mce *optimist.MergeConflictError
				require.Equal(t, tt.wantMerge, errors.As(err, &mce), "a *MergeConflictError")
			} else {
				require.NoError(t, err)
			}
			body, _, _ := s.Document("/docs/a")
			require.JSONEq(t, tt.want, string(body))
		})
	}
}

// conflictPointers returns the JSON Pointers of the members of e.
func conflictPointers(e *optimist.MergeConflictError) []string {
	paths := make([]string, len(e.Conflicts))
	for i, c := range e.Conflicts {
		paths[i] = c.Pointer
	}
	return paths
}

func atoi(t *testing.T, raw json.RawMessage) int {
	n, err := strconv.Atoi(string(raw))
	require.NoError(t, err)
	return n
}

func TestTrueConflictNamesThePath(t *testing.T) {
	t.Parallel()
	type seen struct {
		conflict optimist.Conflict
		err      error
	}
	var events []seen
	s := newServer(t)
	url := seed(t, s, "/docs/t", `{"title":"base","count":1}`)
	c := newClient(s, optimist.WithConflicts(optimist.ConflictOptions{Resolver: optimist.ReturnConflict,
		OnConflict: func(cf *optimist.Conflict, err error) { events = append(events, seen{*cf, err}) }}))
	_, err := c.Get(t.Context(), url, nil)
	require.NoError(t, err)
	_, err = newClient(s).Put(t.Context(), url, json.RawMessage(`{"title":"theirs","count":1}`), nil, optimist.Unconditional())
	require.NoError(t, err)

	_, err = c.Put(t.Context(), url, json.RawMessage(`{"title":"ours","count":1}`), nil)
	var mce *optimist.MergeConflictError
	require.ErrorAs(t, err, &mce)
	require.Equal(t, []string{"/title"}, conflictPointers(mce))
	require.Equal(t, `"base"`, string(mce.Conflicts[0].Base))
	require.Equal(t, `"ours"`, string(mce.Conflicts[0].Ours))
	require.Equal(t, `"theirs"`, string(mce.Conflicts[0].Theirs))
	require.Len(t, events, 1)
	require.Equal(t, 1, events[0].conflict.Attempt)
	require.Equal(t, http.StatusPreconditionFailed, events[0].conflict.StatusCode)
	require.Equal(t, `{"title":"theirs","count":1}`, string(events[0].conflict.Theirs))
	var seenMCE *optimist.MergeConflictError
	require.ErrorAs(t, events[0].err, &seenMCE)
	require.Equal(t, "/title", seenMCE.Conflicts[0].Pointer)
}

// A write whose answer was lost, re-sent and refused with 412, may or may
// not have been applied as far as the client can tell: it says so, and
// does not resolve the 412 as a conflict (which would apply it twice).
func TestLostAnswerIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	for _, viaUpdate := range []bool{false, true} {
		t.Run(fmt.Sprintf("update %v", viaUpdate), func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			url := seed(t, s, "/counters/l", `{"n":1}`)
			c := newClient(s)
			_, err := c.Get(t.Context(), url, nil)
			require.NoError(t, err)

			s.FailNext(1, mock.FaultLostResponse)
			if viaUpdate {
				_, err = optimist.Update(t.Context(), c, url, func(v *counter) error { v.N++; return nil })
			} else {
				_, err = c.Put(t.Context(), url, counter{N: 2}, nil)
			}
			require.ErrorIs(t, err, optimist.ErrOutcomeUnknown)
			require.NotErrorIs(t, err, optimist.ErrConflict, "retrying on it could apply the change twice")
			var unknown *optimist.OutcomeUnknownError
			require.ErrorAs(t, err, &unknown)
			require.Equal(t, http.StatusPreconditionFailed, unknown.StatusCode)
			require.Equal(t, 2, unknown.Attempts)
			body, _, _ := s.Document("/counters/l")
			require.JSONEq(t, `{"n":2}`, string(body), "applied once")
			require.Equal(t, 2, s.Count(http.MethodPut, 0), "the lost write and its rejected copy")
		})
	}
}

func TestBusinessRuleConflictIsNotRetried(t *testing.T) {
	t.Parallel()
	var puts atomic.Int32
	ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"1"`)
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"name":"a"}`)
			return
		}
		puts.Add(1)
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusConflict)
		_, _ = io.WriteString(w, `{"title":"name taken"}`)
	})
	c := optimist.New()
	_, err := c.Get(t.Context(), ts.URL+"/u", nil)
	require.NoError(t, err)
	_, err = c.Put(t.Context(), ts.URL+"/u", map[string]string{"name": "b"}, nil)
	var se *optimist.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusConflict, se.StatusCode)
	require.NotErrorIs(t, err, optimist.ErrConflict, "not a version conflict")
	require.EqualValues(t, 1, puts.Load())
}

// A server that refuses its own weak ETag is waited for by time, not by
// attempts: cheap HEADs until the conflict timeout, then an error that
// says why.
func TestWeakETagRefusedUntilBound(t *testing.T) {
	t.Parallel()
	s := newServer(t, mock.WithWeakETags()) // strong comparison: weak tags never match
	url := seed(t, s, "/docs/w", `{"title":"w","count":1}`)
	clock := &mockClock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	var waits []time.Duration
	c := newClient(s,
		optimist.WithConflicts(optimist.ConflictOptions{Attempts: 2, Timeout: time.Second, Backoff: func(int) time.Duration { return 100 * time.Millisecond }}),
		optimist.WithClock(clock.Now, func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			clock.Advance(d)
			return ctx.Err()
		}))
	_, err := c.Get(t.Context(), url, nil)
	require.NoError(t, err)
	_, err = c.Put(t.Context(), url, doc{Title: "w", Count: 2}, nil)
	require.ErrorIs(t, err, optimist.ErrConflict)
	require.Contains(t, err.Error(), "refusing the weak ETag")
	require.Len(t, waits, 10, "waited out the conflict timeout, more than the 2 attempts")
	require.Equal(t, 1, s.Count(http.MethodPut, 0), "nothing to resolve: the same version was refused")
	require.Equal(t, 2, s.Count(http.MethodGet, 0), "the read, and one re-read")
	require.Equal(t, 9, s.Count(http.MethodHead, 0), "then HEADs")
}

// A server like Apache mod_dav serves a weak ETag for a while after each
// write and compares If-Match strongly: the write waits, by cheap HEADs,
// for the strong tag, and then lands, without using up its attempts.
func TestWeakETagTurnsStrong(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	version, weakFor := 1, 5 // the next weakFor reads see a weak tag
	var heads, gets, puts int
	ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		strong := strconv.Quote(strconv.Itoa(version))
		tag := strong
		if weakFor > 0 {
			tag = "W/" + strong
		}
		switch r.Method {
		case http.MethodHead, http.MethodGet:
			if r.Method == http.MethodHead {
				heads++
			} else {
				gets++
			}
			if weakFor > 0 {
				weakFor--
			}
			w.Header().Set("ETag", tag)
			w.Header().Set("Content-Type", "application/json")
			if r.Method == http.MethodGet {
				_, _ = io.WriteString(w, `{"title":"t","count":1}`)
			}
		case http.MethodPut:
			puts++
			if r.Header.Get("If-Match") != strong { // strong comparison
				w.WriteHeader(http.StatusPreconditionFailed)
				return
			}
			_ = body
			version++
			w.WriteHeader(http.StatusNoContent) // no ETag on PUT answers
		}
	})
	c := optimist.New(optimist.WithConflicts(optimist.ConflictOptions{Attempts: 2, Timeout: time.Minute, Backoff: func(int) time.Duration { return 0 }}))
	_, err := c.Get(t.Context(), ts.URL+"/d", nil)
	require.NoError(t, err)
	_, err = c.Put(t.Context(), ts.URL+"/d", doc{Title: "t", Count: 2}, nil)
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 2, puts, "the refused weak write, then the write on the strong tag")
	require.Equal(t, 2, version)
	require.Equal(t, 4, heads, "three HEADs while the tag stayed weak, and the one that saw it strong")
	require.Equal(t, 3, gets, "the read, the re-read that saw it weak, the re-read of the strong version")
}

// A conflict answer that carries the current document and its ETag is
// still an error answer: the client reads the resource again rather than
// take an error body for the document.
func TestConflictAnswerIsNotTheDocument(t *testing.T) {
	t.Parallel()
	s, c, url := conflicted(t, `{"title":"base","count":9}`, mock.WithConflictRepresentation())
	gets := s.Count(http.MethodGet, 0)
	_, err := c.Put(t.Context(), url, doc{Title: "ours", Count: 1}, nil)
	require.NoError(t, err)
	require.Equal(t, gets+1, s.Count(http.MethodGet, 0), "one refetch")
	body, _, _ := s.Document("/docs/a")
	require.JSONEq(t, `{"title":"ours","count":9}`, string(body))
}

func TestConflictRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	var puts atomic.Int32
	ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		n := puts.Load()
		w.Header().Set("ETag", strconv.Quote(strconv.Itoa(int(n))))
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, `{"a":1}`)
			return
		}
		if puts.Add(1) == 1 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusPreconditionFailed)
			return
		}
		_, _ = io.WriteString(w, `{"a":2}`)
	})
	var waits []time.Duration
	c := optimist.New(optimist.WithClock(nil, func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return nil
	}))
	_, err := c.Get(t.Context(), ts.URL+"/r", nil)
	require.NoError(t, err)
	_, err = c.Put(t.Context(), ts.URL+"/r", map[string]int{"a": 2}, nil)
	require.NoError(t, err)
	require.Equal(t, []time.Duration{2 * time.Second}, waits)
}

func TestConflictBoundedByAttempts(t *testing.T) {
	t.Parallel()
	var gets atomic.Int32
	ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		// Every read shows a new version; every write is too late.
		n := gets.Add(1)
		w.Header().Set("ETag", strconv.Quote(strconv.Itoa(int(n))))
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet {
			fmt.Fprintf(w, `{"v":%d}`, n)
			return
		}
		w.WriteHeader(http.StatusConflict)
	})
	c := optimist.New(optimist.WithConflicts(optimist.ConflictOptions{Attempts: 5, Backoff: func(int) time.Duration { return 0 }}))
	_, err := c.Get(t.Context(), ts.URL+"/busy", nil)
	require.NoError(t, err)
	_, err = c.Put(t.Context(), ts.URL+"/busy", map[string]any{"v": 1, "mine": true}, nil)
	require.ErrorIs(t, err, optimist.ErrConflict)
	var ce *optimist.ConflictError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, 5, ce.Attempts, "%v", err)
	require.Equal(t, "attempts exhausted", ce.Reason)
}

func TestCancelledContextEndsConflictLoop(t *testing.T) {
	t.Parallel()
	_, c, url := conflicted(t, `{"title":"base","count":5}`)
	ctx, cancel := context.WithCancel(t.Context())
	cancelling := optimist.Resolve(func(ctx context.Context, cf *optimist.Conflict) ([]byte, error) {
		cancel()
		return optimist.ThreeWayMerge(ctx, cf)
	})
	_, err := c.Put(ctx, url, doc{Title: "ours", Count: 1}, nil, cancelling)
	require.ErrorIs(t, err, context.Canceled)
}
