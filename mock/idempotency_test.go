package mock

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIdempotencyKeyReplay(t *testing.T) {
	t.Parallel()
	s := setup(t)
	first := do(t, s, http.MethodPost, "/docs", `{"n":1}`, "Idempotency-Key", "k1")
	require.Equal(t, http.StatusCreated, first.status)
	require.Empty(t, first.header.Get("Idempotent-Replayed"))

	again := do(t, s, http.MethodPost, "/docs", `{"n":1}`, "Idempotency-Key", "k1")
	require.Equal(t, first.status, again.status)
	require.Equal(t, first.body, again.body)
	require.Equal(t, first.header.Get("Location"), again.header.Get("Location"))
	require.Equal(t, first.header.Get("ETag"), again.header.Get("ETag"))
	require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	_, _, ok := s.Document("/docs/2")
	require.False(t, ok, "the replay created nothing")
	require.True(t, s.Requests()[1].Replayed)

	other := do(t, s, http.MethodPost, "/docs", `{"n":2}`, "Idempotency-Key", "k1")
	require.Equal(t, http.StatusUnprocessableEntity, other.status)
	require.Equal(t, ProblemIdempotencyKeyReused, other.problem(t).Type)
	otherPath := do(t, s, http.MethodPost, "/things", `{"n":1}`, "Idempotency-Key", "k1")
	require.Equal(t, http.StatusUnprocessableEntity, otherPath.status)

	fresh := do(t, s, http.MethodPost, "/docs", `{"n":1}`, "Idempotency-Key", "k2")
	require.Equal(t, "/docs/2", fresh.header.Get("Location"))
}

func TestIdempotencyKeyInProgress(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	s := setup(t, WithBeforeHandle(func(r *http.Request) {
		if r.Header.Get("X-Hold") != "" {
			close(entered)
			<-release
		}
	}))
	done := make(chan int)
	go func() {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, s.URL+"/docs/a", strings.NewReader(`{}`))
		req.Header.Set("Idempotency-Key", "k")
		req.Header.Set("X-Hold", "1")
		resp, err := s.Client().Do(req)
		if err != nil {
			done <- 0
			return
		}
		_ = resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-entered
	busy := do(t, s, http.MethodPut, "/docs/a", `{}`, "Idempotency-Key", "k")
	require.Equal(t, http.StatusConflict, busy.status)
	p := busy.problem(t)
	require.Equal(t, ProblemIdempotencyKeyInUse, p.Type)
	require.Equal(t, "A request is outstanding for this Idempotency-Key", p.Title)
	close(release)
	require.Equal(t, http.StatusCreated, <-done)
	replay := do(t, s, http.MethodPut, "/docs/a", `{}`, "Idempotency-Key", "k")
	require.Equal(t, http.StatusCreated, replay.status)
	require.Equal(t, "true", replay.header.Get("Idempotent-Replayed"))
}

func TestIdempotencyKeyAfterLostResponse(t *testing.T) {
	t.Parallel()
	s := setup(t)
	s.FailNext(1, FaultLostResponse)
	_, err := send(t, freshClient(t), http.MethodPost, s.URL+"/docs", `{"n":1}`, "Idempotency-Key", "k")
	require.Error(t, err)
	body, _, ok := s.Document("/docs/1")
	require.True(t, ok, "the write was applied")
	require.Equal(t, `{"n":1}`, string(body))

	retry := do(t, s, http.MethodPost, "/docs", `{"n":1}`, "Idempotency-Key", "k")
	require.Equal(t, http.StatusCreated, retry.status)
	require.Equal(t, "/docs/1", retry.header.Get("Location"))
	require.Equal(t, "true", retry.header.Get("Idempotent-Replayed"))
	_, _, ok = s.Document("/docs/2")
	require.False(t, ok, "applied once")
}

func TestIdempotencyKeyReleasedOnFailure(t *testing.T) {
	t.Parallel()
	s := setup(t)
	require.NoError(t, s.Seed("/docs/a", []byte(`{}`)))
	_, tag, _ := s.Document("/docs/a")
	stale := do(t, s, http.MethodPut, "/docs/a", `{"n":1}`, "Idempotency-Key", "k", "If-Match", `"0"`)
	require.Equal(t, http.StatusPreconditionFailed, stale.status)
	ok := do(t, s, http.MethodPut, "/docs/a", `{"n":1}`, "Idempotency-Key", "k", "If-Match", tag)
	require.Equal(t, http.StatusOK, ok.status)
	require.Empty(t, ok.header.Get("Idempotent-Replayed"))
}

func TestIdempotencyKeyIgnored(t *testing.T) {
	t.Parallel()
	s := setup(t)
	require.Equal(t, http.StatusNotFound, do(t, s, http.MethodGet, "/docs/a", "", "Idempotency-Key", "k").status)
	do(t, s, http.MethodPut, "/docs/a", `{}`)
	require.Equal(t, http.StatusOK, do(t, s, http.MethodGet, "/docs/a", "", "Idempotency-Key", "k").status)
}

func TestIdempotencyLimit(t *testing.T) {
	t.Parallel()
	s := setup(t, WithIdempotencyLimit(2))
	for _, k := range []string{"a", "b", "c"} {
		require.Equal(t, http.StatusCreated, do(t, s, http.MethodPost, "/docs", `{}`, "Idempotency-Key", k).status)
	}
	// "a" is forgotten, "b" and "c" are kept.
	require.Equal(t, http.StatusCreated, do(t, s, http.MethodPost, "/docs", `{"x":1}`, "Idempotency-Key", "a").status)
	require.Equal(t, http.StatusUnprocessableEntity, do(t, s, http.MethodPost, "/docs", `{"x":1}`, "Idempotency-Key", "c").status)
	s.Reset()
	require.Equal(t, http.StatusCreated, do(t, s, http.MethodPost, "/docs", `{"x":1}`, "Idempotency-Key", "c").status)
}
