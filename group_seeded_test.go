package optimist

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist/mock"
)

// TestGroupCommitSeededCallers: 32 callers on one URL through one client,
// with 4 tokens and 2 option sets between them, each counting its own
// member. The server refuses, and the test reports, any write that changes
// a member under another caller's token or option set; the final document
// holds every caller's count exactly.
func TestGroupCommitSeededCallers(t *testing.T) {
	t.Parallel()
	const callers, tokens, optionSets, seed = 32, 4, 2, 12
	rng := rand.New(rand.NewPCG(seed, seed))
	increments := make([]int, callers)
	for i := range increments {
		increments[i] = 1 + rng.IntN(5)
	}
	id := func(i int) string { return fmt.Sprintf("c%02d", i) }
	token := func(i int) string { return fmt.Sprintf("Bearer token-%d", i%tokens) }
	// Option set 0 is no request option at all, set 1 a header.
	optionSet := func(i int) string { return [optionSets]string{"", "set-1"}[i%optionSets] }
	owner := make(map[string]int, callers)
	for i := range callers {
		owner[id(i)] = i
	}

	var mu sync.Mutex
	var violations []string
	b, ts := wrappedServer(t, func(b *mock.Backend, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut {
				mu.Lock()
				defer mu.Unlock() // one write at a time: the check reads what it replaces
				if bad := foreignMembers(t, b, r, func(member string, h http.Header) bool {
					i, ok := owner[member]
					return ok && h.Get("Authorization") == token(i) && h.Get("X-Option-Set") == optionSet(i)
				}); bad != "" {
					violations = append(violations, bad)
					w.WriteHeader(http.StatusForbidden)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	})
	require.NoError(t, b.Seed("/docs/ids", []byte(`{}`)))
	url := ts.URL + "/docs/ids"
	var jitterMu sync.Mutex
	jitter := func(n int64) int64 { jitterMu.Lock(); defer jitterMu.Unlock(); return rng.Int64N(n) }
	c := New(WithHTTPClient(ts.Client()),
		WithConflicts(ConflictOptions{Attempts: 200, Timeout: time.Minute, Backoff: ExponentialBackoff(time.Millisecond, 8*time.Millisecond, jitter)}))

	start := make(chan struct{})
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := NewContext(context.WithoutCancel(t.Context()), Header("Authorization", token(i)))
			<-start
			var opts []RequestOption
			if set := optionSet(i); set != "" {
				opts = append(opts, Header("X-Option-Set", set))
			}
			for range increments[i] {
				_, err := Update(ctx, c, url, func(m *map[string]float64) error {
					(*m)[id(i)]++
					return nil
				}, opts...)
				if err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	require.Empty(t, violations)
	total := 0
	for _, n := range increments {
		total += n
	}
	t.Logf("%d updates in %d writes", total, b.Count(http.MethodPut, http.StatusOK))
	want := make(map[string]float64, callers)
	for i := range callers {
		require.NoError(t, errs[i], "caller %d", i)
		want[id(i)] = float64(increments[i])
	}
	body, _, _ := b.Document("/docs/ids")
	var got map[string]float64
	require.NoError(t, json.Unmarshal(body, &got))
	require.Equal(t, want, got)
}
