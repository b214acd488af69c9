package optimist_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

// A generated client sees through Do what the server answered: a conflict
// the client gives up on is its last 409 or 412, not an error with no
// response; an unknown outcome is an error, never a 412 that reads as "not
// applied".
func TestDoHandsOverTheLastConflictAnswer(t *testing.T) {
	t.Parallel()
	put := func(t *testing.T, c *optimist.Client, url string, opts ...optimist.RequestOption) (*http.Response, error) {
		t.Helper()
		req, err := http.NewRequestWithContext(optimist.NewContext(t.Context(), opts...), http.MethodPut, url,
			strings.NewReader(`{"title":"ours","count":1}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		return c.Do(req)
	}
	t.Run("merge conflict", func(t *testing.T) {
		t.Parallel()
		_, c, url := conflicted(t, `{"title":"theirs","count":1}`)
		resp, err := put(t, c, url)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusPreconditionFailed, resp.StatusCode)
	})
	t.Run("attempts exhausted", func(t *testing.T) {
		t.Parallel()
		store, url := newFakeStore(t, `{"n":0}`, func(s *fakeStore) {
			s.onWrite = func(s *fakeStore, _ *http.Request, _ []byte) (bool, bool) {
				s.set(fmt.Sprintf(`{"n":%d}`, len(s.puts))) // always moved on
				return false, false
			}
			s.conflict = func(w http.ResponseWriter, _ *fakeStore) { w.WriteHeader(http.StatusConflict) }
		})
		c := optimist.New(optimist.WithConflicts(optimist.ConflictOptions{Attempts: 3, Backoff: func(int) time.Duration { return 0 }}))
		_, err := c.Get(t.Context(), url, nil)
		require.NoError(t, err)
		resp, err := put(t, c, url, optimist.Resolve(optimist.OursWins))
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusConflict, resp.StatusCode)
		_, writes := store.state()
		require.Len(t, writes, 3)
	})
	t.Run("outcome unknown", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, mock.WithFaults(mock.Faults{Methods: []string{http.MethodPut}}))
		url := seed(t, s, "/docs/a", `{"title":"base","count":1}`)
		c := newClient(s)
		_, err := c.Get(context.Background(), url, nil)
		require.NoError(t, err)
		s.FailNext(1, mock.FaultLostResponse)
		resp, err := put(t, c, url)
		require.ErrorIs(t, err, optimist.ErrOutcomeUnknown)
		require.Nil(t, resp)
	})
}
