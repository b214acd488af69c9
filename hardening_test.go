package optimist_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

// Non-idempotent safety: a request that may have reached the server is
// sent again only when a second copy cannot apply twice.

// idempotencyKeys returns the Idempotency-Key of every logged request with
// the method, in order.
func idempotencyKeys(s *mock.Server, method string) []string {
	var keys []string
	for _, r := range s.Requests() {
		if r.Method == method {
			keys = append(keys, r.Header.Get("Idempotency-Key"))
		}
	}
	return keys
}

func TestResentOnlyWhenSafe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		keys     bool // WithIdempotencyKeys
		fault    mock.Fault
		call     func(ctx context.Context, c *optimist.Client, s *mock.Server) (*optimist.Response, error)
		method   string
		wantSent int
		wantErr  bool
		want     string // the document afterwards
	}{
		{name: "POST without a key, reset", fault: mock.FaultReset, call: postThing,
			method: http.MethodPost, wantSent: 1, wantErr: true},
		{name: "POST without a key, answer lost", fault: mock.FaultLostResponse, call: postThing,
			method: http.MethodPost, wantSent: 1, wantErr: true, want: `{"title":"new","count":0}`},
		{name: "POST with a key, reset", keys: true, fault: mock.FaultReset, call: postThing,
			method: http.MethodPost, wantSent: 2, want: `{"title":"new","count":0}`},
		{name: "POST with a key, answer lost", keys: true, fault: mock.FaultLostResponse, call: postThing,
			method: http.MethodPost, wantSent: 2, want: `{"title":"new","count":0}`},
		{name: "unconditional PATCH, reset", fault: mock.FaultReset, call: patchDoc(optimist.Unconditional()),
			method: http.MethodPatch, wantSent: 1, wantErr: true, want: `{"title":"d","count":1}`},
		{name: "conditional PATCH, reset", fault: mock.FaultReset, call: patchDoc(),
			method: http.MethodPatch, wantSent: 2, want: `{"title":"d","count":5}`},
		{name: "conditional PATCH, answer lost", fault: mock.FaultLostResponse, call: patchDoc(),
			method: http.MethodPatch, wantSent: 2, wantErr: true, want: `{"title":"d","count":5}`},
		{name: "conditional PATCH with a key, answer lost", keys: true, fault: mock.FaultLostResponse,
			call: patchDoc(), method: http.MethodPatch, wantSent: 2, want: `{"title":"d","count":5}`},
		{name: "conditional DELETE with a key, answer lost", keys: true, fault: mock.FaultLostResponse,
			call: func(ctx context.Context, c *optimist.Client, s *mock.Server) (*optimist.Response, error) {
				if _, err := c.Get(ctx, s.URL+"/docs/d", nil); err != nil {
					return nil, err
				}
				return c.Delete(ctx, s.URL+"/docs/d")
			}, method: http.MethodDelete, wantSent: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, mock.WithFaults(mock.Faults{Methods: []string{tt.method}}))
			seed(t, s, "/docs/d", `{"title":"d","count":1}`)
			s.FailNext(1, tt.fault)
			opts := []optimist.Option{}
			if tt.keys {
				opts = append(opts, optimist.WithIdempotencyKeys())
			}
			c := newClient(s, opts...)
			_, err := tt.call(t.Context(), c, s)
			require.Equal(t, tt.wantErr, err != nil, "error: %v", err)
			keys := idempotencyKeys(s, tt.method)
			require.Len(t, keys, tt.wantSent)
			for _, k := range keys {
				require.Equal(t, keys[0], k, "one key across the retries of one request")
			}
			path := "/docs/d"
			if tt.method == http.MethodPost {
				path = "/things/1"
			}
			body, _, ok := s.Document(path)
			require.Equal(t, tt.want != "", ok)
			if ok {
				require.JSONEq(t, tt.want, string(body), "applied once")
			}
			_, _, second := s.Document("/things/2")
			require.False(t, second, "a POST applied twice")
		})
	}
}

func postThing(ctx context.Context, c *optimist.Client, s *mock.Server) (*optimist.Response, error) {
	return c.Post(ctx, s.URL+"/things", doc{Title: "new"}, nil)
}

// patchDoc reads /docs/d, then patches its count to 5.
func patchDoc(opts ...optimist.RequestOption) func(context.Context, *optimist.Client, *mock.Server) (*optimist.Response, error) {
	return func(ctx context.Context, c *optimist.Client, s *mock.Server) (*optimist.Response, error) {
		if _, err := c.Get(ctx, s.URL+"/docs/d", nil); err != nil {
			return nil, err
		}
		return c.Patch(ctx, s.URL+"/docs/d", map[string]int{"count": 5}, nil, opts...)
	}
}

// TestIdempotencyKeyPerLogicalRequest: each logical request has its own
// key, kept across its transport retries; a write the conflict loop sends
// again with a new payload is a new request with a new key.
func TestIdempotencyKeyPerLogicalRequest(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	url := seed(t, s, "/docs/d", `{"title":"d","count":1}`)
	c := newClient(s, optimist.WithIdempotencyKeys())
	_, err := c.Get(t.Context(), url, nil)
	require.NoError(t, err)

	s.FailNext(2, mock.FaultReset)
	_, err = c.Put(t.Context(), url, doc{Title: "d", Count: 2}, nil)
	require.NoError(t, err)
	require.NoError(t, s.Seed("/docs/d", []byte(`{"title":"theirs","count":2}`)))
	_, err = c.Put(t.Context(), url, doc{Title: "d", Count: 3}, nil) // conflict, merged, sent again
	require.NoError(t, err)

	keys := idempotencyKeys(s, http.MethodPut)
	require.Len(t, keys, 5)
	require.Equal(t, keys[0], keys[1])
	require.Equal(t, keys[0], keys[2], "kept across the retries")
	require.NotEqual(t, keys[0], keys[3], "a new request, a new key")
	require.NotEqual(t, keys[3], keys[4], "a new payload, a new key")
	require.Empty(t, idempotencyKeys(s, http.MethodGet)[0], "reads carry no key")
	body, _, _ := s.Document("/docs/d")
	require.JSONEq(t, `{"title":"theirs","count":3}`, string(body))
}

// TestKeyedResendSettlesAmbiguity: a write whose connection was reset may
// or may not have been applied. Sent again with its Idempotency-Key, the
// server's answer settles it: a 412 then means the first copy was not
// applied, even when another writer has meanwhile written the very
// document this write meant to produce. The update is not taken for done.
func TestKeyedResendSettlesAmbiguity(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	url := seed(t, s, "/counters/c", `{"n":1}`)
	var once sync.Once
	// No connection reuse: net/http would re-send a keyed request on a
	// reused connection by itself, without optimist's retry hooks.
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	c := newClient(s, optimist.WithHTTPClient(&http.Client{Transport: tr}), optimist.WithIdempotencyKeys(),
		optimist.WithClock(nil, func(ctx context.Context, _ time.Duration) error {
			once.Do(func() { _ = s.Seed("/counters/c", []byte(`{"n":2}`)) }) // another writer, before the retry
			return ctx.Err()
		}))
	_, err := c.Get(t.Context(), url, nil)
	require.NoError(t, err)

	s.FailNext(1, mock.FaultReset) // not applied, but the client cannot know
	got, err := optimist.Update(t.Context(), c, url, func(v *counter) error { v.N++; return nil })
	require.NoError(t, err)
	require.Equal(t, 3, got.N)
	body, _, _ := s.Document("/counters/c")
	require.JSONEq(t, `{"n":3}`, string(body), "the other writer's increment and ours")
}

// TestLostResponseUnderContentionIsNotAppliedTwice: without an
// Idempotency-Key, a write whose answer was lost, re-sent and refused
// because another writer wrote meanwhile, cannot be told from one that was
// never applied. Update must not apply its mutation a second time then: it
// may fail, saying the outcome is unknown, but the count stays exact.
func TestLostResponseUnderContentionIsNotAppliedTwice(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	url := seed(t, s, "/counters/c", `{"n":1}`)
	other := newClient(s)
	var (
		once     sync.Once
		otherErr error
	)
	c := newClient(s, optimist.WithClock(nil, func(ctx context.Context, _ time.Duration) error {
		once.Do(func() { // another writer increments before the re-send
			_, otherErr = optimist.Update(ctx, other, url, func(v *counter) error { v.N++; return nil })
		})
		return ctx.Err()
	}))
	_, err := c.Get(t.Context(), url, nil)
	require.NoError(t, err)

	s.FailNext(1, mock.FaultLostResponse) // applied: n is 2, but the answer is lost
	_, err = optimist.Update(t.Context(), c, url, func(v *counter) error { v.N++; return nil })
	require.NoError(t, otherErr)
	body, _, _ := s.Document("/counters/c")
	require.JSONEq(t, `{"n":3}`, string(body), "two increments, each applied once (error: %v)", err)
}

// TestIdempotencyKeyInUseIsWaitedFor: a 409 saying that a request with the
// same Idempotency-Key is still being processed means wait and send the
// same request again; it then gets the first request's answer.
func TestIdempotencyKeyInUseIsWaitedFor(t *testing.T) {
	t.Parallel()
	held, release := make(chan struct{}), make(chan struct{})
	var holdOnce, releaseOnce sync.Once
	s := newServer(t, mock.WithBeforeHandle(func(r *http.Request) {
		if r.Method == http.MethodPost {
			holdOnce.Do(func() {
				close(held)
				<-release
			})
		}
	}))
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })

	firstDone := make(chan struct{})
	var waits []time.Duration
	c := newClient(s, optimist.WithClock(nil, func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		releaseOnce.Do(func() { close(release) }) // let the first request finish
		select {
		case <-firstDone:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}))
	key := optimist.Header("Idempotency-Key", "order-1")

	first := make(chan error, 1)
	go func() {
		defer close(firstDone)
		_, err := c.Post(t.Context(), s.URL+"/orders", doc{Title: "order"}, nil, key)
		first <- err
	}()
	<-held
	resp, err := c.Post(t.Context(), s.URL+"/orders", doc{Title: "order"}, nil, key)
	require.NoError(t, err)
	require.NoError(t, <-first)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"), "the first request's answer")
	require.Equal(t, 2, resp.Attempts)
	require.Len(t, waits, 1, "waited once")
	require.Equal(t, 1, s.Count(http.MethodPost, http.StatusConflict))
	_, _, second := s.Document("/orders/2")
	require.False(t, second, "applied once")
}

// TestIdempotencyKeyInUseIsNoVersionConflict: when the attempts run out,
// a 409 for a key in use is returned as it is, not taken for a version
// conflict to resolve.
func TestIdempotencyKeyInUseIsNoVersionConflict(t *testing.T) {
	t.Parallel()
	var gets int
	ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			gets++
			w.Header().Set("ETag", `"1"`)
			_, _ = io.WriteString(w, `{}`)
			return
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusConflict)
		_, _ = io.WriteString(w, `{"type":"urn:example:idempotency-key-in-use","title":"A request is outstanding for this Idempotency-Key"}`)
	})
	c := optimist.New(optimist.WithIdempotencyKeys(), optimist.WithRetry(optimist.RetryOptions{MaxRetries: 2}), optimist.WithClock(nil, new(sleeper).sleep))
	t.Cleanup(c.CloseIdleConnections)
	_, err := c.Get(t.Context(), ts.URL, nil)
	require.NoError(t, err)
	_, err = c.Put(t.Context(), ts.URL, doc{Title: "x"}, nil)
	var se *optimist.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusConflict, se.StatusCode)
	require.Equal(t, 3, se.Attempts, "waited for, up to the retries allowed")
	require.False(t, errors.Is(err, optimist.ErrConflict))
	require.Equal(t, 1, gets, "no refetch: nothing to resolve")
}

// TestIdempotencyKeyReusedIsAnError: a 422 for a key reused with another
// payload is a clear error at once, never retried.
func TestIdempotencyKeyReusedIsAnError(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	c := newClient(s)
	key := optimist.Header("Idempotency-Key", "order-7")
	_, err := c.Post(t.Context(), s.URL+"/orders", doc{Title: "seven"}, nil, key)
	require.NoError(t, err)

	_, err = c.Post(t.Context(), s.URL+"/orders", doc{Title: "eight"}, nil, key)
	var se *optimist.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusUnprocessableEntity, se.StatusCode)
	require.Equal(t, 1, se.Attempts)
	require.ErrorContains(t, err, "Idempotency-Key")
	require.False(t, errors.Is(err, optimist.ErrConflict))
	require.Equal(t, 2, s.Count(http.MethodPost, 0), "never retried")
}

// Memory: the ETag memory stays within its bounds however many URLs pass
// through it.

// cannedTransport answers every request 200 with an ETag and a JSON body
// of 20 to 120 bytes, without a network. The answer has no Content-Length,
// so the body is read into a buffer with room to spare (io.ReadAll's first
// buffer holds 512 bytes).
type cannedTransport struct{}

func (cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	n := 10 + len(r.URL.Path)*37%100
	body := `{"pad":"` + string(bytes.Repeat([]byte{'x'}, n)) + `"}`
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Etag": {`"v1"`}, "Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader([]byte(body))),
		ContentLength: -1,
		Request:       r,
	}, nil
}

func TestMemoryBoundWithManyURLs(t *testing.T) {
	t.Parallel()
	const (
		urls       = 100_000
		maxEntries = 50_000 // the byte bound binds first
		maxBytes   = 1 << 20
	)
	c := optimist.New(optimist.WithHTTPClient(&http.Client{Transport: cannedTransport{}}),
		optimist.WithMemory(optimist.MemoryOptions{Entries: maxEntries, Bytes: maxBytes}))
	for i := range urls {
		_, err := c.Get(t.Context(), "http://api.example/items/"+strconv.Itoa(i), nil)
		require.NoError(t, err)
		if i%1000 == 0 {
			st := c.MemoryStats()
			require.LessOrEqual(t, st.Bytes, int64(maxBytes))
			require.LessOrEqual(t, st.Entries, maxEntries)
		}
	}
	st := c.MemoryStats()
	require.LessOrEqual(t, st.Bytes, int64(maxBytes))
	require.Greater(t, st.Bytes, int64(maxBytes)*3/4, "the memory is used")

	// The accounting covers what the entries hold on to: the capacity of
	// their bodies, not just their length.
	var held int64
	remembered := 0
	for i := urls - 1; i >= 0 && remembered < st.Entries; i-- {
		url := "http://api.example/items/" + strconv.Itoa(i)
		if v, ok := c.Remembered(url); ok {
			remembered++
			held += int64(len(url) + len(v.ETag) + len(v.LastModified) + cap(v.Body))
		}
	}
	require.Equal(t, st.Entries, remembered, "the most recent URLs are the ones kept")
	require.LessOrEqual(t, held, st.Bytes)
}

// BenchmarkMemory passes distinct URLs through a client with the default
// memory limits and reports, besides bytes/op, what the memory charges
// per entry and what the heap holds per entry.
func BenchmarkMemory(b *testing.B) {
	c := optimist.New(optimist.WithHTTPClient(&http.Client{Transport: cannedTransport{}}))
	ctx := b.Context()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := c.Get(ctx, fmt.Sprint("http://api.example/items/", i), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	st := c.MemoryStats()
	if st.Bytes > defaultMemoryBytes || st.Entries > defaultMemoryEntries {
		b.Fatalf("memory over its bounds: %+v", st)
	}
	b.ReportMetric(float64(st.Bytes)/float64(st.Entries), "charged-B/entry")
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(st.Entries), "heap-B/entry")
	runtime.KeepAlive(c)
}
