package optimist

import (
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist/mock"
)

func TestGroupCommitFailedMutationIsLeftOut(t *testing.T) {
	t.Parallel()
	const writers = 8
	s := mock.NewServer()
	t.Cleanup(s.Close)
	require.NoError(t, s.Seed("/counters/f", []byte(`{"n":0}`)))
	url := s.URL + "/counters/f"
	c := New(WithHTTPClient(s.Client()))
	queued := make(chan struct{})
	c.queuedHook = func(pending int) {
		if pending == writers {
			close(queued)
		}
	}
	errOdd := errors.New("odd writers refuse")

	// Hold the first write in flight so the others queue behind it.
	gate := make(chan struct{})
	first := make(chan struct{})
	var once sync.Once
	go func() {
		_, err := Update(t.Context(), c, url, func(v *struct {
			N int `json:"n"`
		}) error {
			once.Do(func() { close(first); <-gate })
			v.N += 100
			return nil
		})
		require.NoError(t, err)
	}()
	<-first

	results := make([]struct {
		N int `json:"n"`
	}, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = Update(t.Context(), c, url, func(v *struct {
				N int `json:"n"`
			}) error {
				if i%2 == 1 {
					return errOdd
				}
				v.N++
				return nil
			})
		}()
	}
	<-queued
	close(gate)
	wg.Wait()

	for i := range writers {
		if i%2 == 1 {
			require.ErrorIs(t, errs[i], errOdd)
			continue
		}
		require.NoError(t, errs[i])
		require.Greater(t, results[i].N, 100)
	}
	body, _, _ := s.Document("/counters/f")
	require.JSONEq(t, `{"n":104}`, string(body))
	require.Equal(t, 2, s.Count(http.MethodPut, http.StatusOK), "the first write, then one batch")
}
