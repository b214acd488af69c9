package mock

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCountsLogAndReset(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	var mu sync.Mutex
	var observed []Request
	s := setup(t, WithClock(clock.Now), WithObserver(func(r Request) {
		mu.Lock()
		defer mu.Unlock()
		observed = append(observed, r)
	}))

	do(t, s, http.MethodPut, "/docs/a?x=1", `{}`, "X-Test", "yes")
	do(t, s, http.MethodGet, "/docs/a", "")
	do(t, s, http.MethodGet, "/docs/b", "")
	do(t, s, http.MethodPut, "/docs/a", `{}`, "If-Match", `"0"`)

	require.Equal(t, 2, s.Count(http.MethodPut, 0))
	require.Equal(t, 1, s.Count(http.MethodPut, http.StatusCreated))
	require.Equal(t, 1, s.Count(http.MethodPut, http.StatusPreconditionFailed))
	require.Equal(t, 1, s.Count(http.MethodGet, http.StatusOK))
	require.Equal(t, 1, s.Count("", http.StatusNotFound))
	require.Equal(t, 4, s.Count("", 0))
	require.Zero(t, s.Count(http.MethodDelete, 0))

	log := s.Requests()
	require.Len(t, log, 4)
	require.Equal(t, http.MethodPut, log[0].Method)
	require.Equal(t, "/docs/a?x=1", log[0].Path)
	require.Equal(t, http.StatusCreated, log[0].Status)
	require.Equal(t, "yes", log[0].Header.Get("X-Test"))
	require.Equal(t, clock.Now(), log[0].Time)
	require.Equal(t, FaultNone, log[0].Fault)
	require.Equal(t, "/docs/b", log[2].Path)
	require.Equal(t, http.StatusNotFound, log[2].Status)
	mu.Lock()
	require.Equal(t, log, observed)
	mu.Unlock()

	s.Reset()
	require.Zero(t, s.Count("", 0))
	require.Empty(t, s.Requests())
	_, _, ok := s.Document("/docs/a")
	require.False(t, ok)
	require.Equal(t, http.StatusNotFound, do(t, s, http.MethodGet, "/docs/a", "").status)
	require.Equal(t, 1, s.Count("", 0))
}

func TestLogLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		limit int
		want  []string
	}{
		{"wraps", 3, []string{"/3", "/4", "/5"}},
		{"room", 10, []string{"/1", "/2", "/3", "/4", "/5"}},
		{"off", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := setup(t, WithLogLimit(tt.limit))
			for _, p := range []string{"/1", "/2", "/3", "/4", "/5"} {
				do(t, s, http.MethodGet, p, "")
			}
			var paths []string
			for _, r := range s.Requests() {
				paths = append(paths, r.Path)
			}
			require.Equal(t, tt.want, paths)
			require.Equal(t, 5, s.Count(http.MethodGet, http.StatusNotFound))
		})
	}
}

func TestRequestDuration(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	s := setup(t, WithClock(clock.Now), WithBeforeHandle(func(*http.Request) { clock.Advance(time.Second) }))
	do(t, s, http.MethodGet, "/x", "")
	require.Equal(t, time.Second, s.Requests()[0].Duration)
}
