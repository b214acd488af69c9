package optimist_test

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
)

// An idempotency key is Idempotency-Key or X-Idempotency-Key, by one rule
// everywhere: a request that carries either gets no second key from
// WithIdempotencyKeys, and a conflict's resolution, a new payload, carries
// neither of the keys the first payload was sent with.

func TestIdempotencyKeyOfEitherNameIsNotDoubled(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		seen []http.Header
	)
	ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	})
	c := optimist.New(optimist.WithIdempotencyKeys())
	_, err := c.Post(t.Context(), ts.URL+"/jobs", json.RawMessage(`{}`), nil, optimist.Header("X-Idempotency-Key", "k1"))
	require.NoError(t, err)
	require.Len(t, seen, 1)
	require.Equal(t, "k1", seen[0].Get("X-Idempotency-Key"))
	require.Empty(t, seen[0].Get("Idempotency-Key"), "a second key, unrelated to the caller's")
}

func TestConflictResolutionDropsEveryIdempotencyKey(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		puts []http.Header
	)
	ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case http.MethodGet:
			w.Header().Set("ETag", `"2"`)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"a":1,"b":2}`))
		case http.MethodPut:
			puts = append(puts, r.Header.Clone())
			if r.Header.Get("If-Match") != `"2"` {
				w.WriteHeader(http.StatusPreconditionFailed)
				return
			}
			w.Header().Set("ETag", `"3"`)
			w.WriteHeader(http.StatusNoContent)
		}
	})
	c := optimist.New()
	_, err := c.Put(t.Context(), ts.URL+"/doc", json.RawMessage(`{"a":1,"c":3}`), nil,
		optimist.IfMatch(`"1"`), optimist.Resolve(optimist.OursWins), optimist.Header("X-Idempotency-Key", "k1"), optimist.Header("Idempotency-Key", "k2"))
	require.NoError(t, err)
	require.Len(t, puts, 2)
	require.Equal(t, "k1", puts[0].Get("X-Idempotency-Key"))
	require.Equal(t, "k2", puts[0].Get("Idempotency-Key"))
	require.Empty(t, puts[1].Get("X-Idempotency-Key"), "the merged write is a new payload")
	require.Empty(t, puts[1].Get("Idempotency-Key"), "the merged write is a new payload")
}
