package mock

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConcurrentConditionalWrites races writers that all read the same
// version: exactly one wins each round.
func TestConcurrentConditionalWrites(t *testing.T) {
	t.Parallel()
	s := setup(t)
	require.NoError(t, s.Seed("/docs/a", []byte(`{"n":0}`)))
	const rounds, writers = 5, 16
	for round := 1; round <= rounds; round++ {
		_, tag, _ := s.Document("/docs/a")
		var wg sync.WaitGroup
		statuses := make([]int, writers)
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := strings.NewReader(fmt.Sprintf(`{"n":%d,"by":%d}`, round, i))
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, s.URL+"/docs/a", body)
				if err != nil {
					return
				}
				req.Header.Set("If-Match", tag)
				resp, err := s.Client().Do(req)
				if err != nil {
					return
				}
				_ = resp.Body.Close()
				statuses[i] = resp.StatusCode
			}()
		}
		wg.Wait()
		wins := 0
		for _, st := range statuses {
			if st == http.StatusOK {
				wins++
			} else {
				require.Equal(t, http.StatusPreconditionFailed, st)
			}
		}
		require.Equal(t, 1, wins, "round %d", round)
	}
	require.Equal(t, rounds, s.Count(http.MethodPut, http.StatusOK))
	require.Equal(t, rounds*(writers-1), s.Count(http.MethodPut, http.StatusPreconditionFailed))
}
