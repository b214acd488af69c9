package mock

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/optimist-go/optimist/internal/wait"

	"github.com/stretchr/testify/require"
)

// freshClient gives a client that opens a new connection for every request,
// so that net/http never retries a request on its own.
func freshClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func TestFaultsSeenByClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fault   Fault
		method  string
		applied bool
		check   func(t *testing.T, res result, err error)
	}{
		{"503", Fault503, http.MethodPut, false, throttled(http.StatusServiceUnavailable)},
		{"429", Fault429, http.MethodPut, false, throttled(http.StatusTooManyRequests)},
		{"reset", FaultReset, http.MethodPut, false, failed},
		{"reset get", FaultReset, http.MethodGet, false, failed},
		{"lost response", FaultLostResponse, http.MethodPut, true, failed},
		{"truncate", FaultTruncate, http.MethodPut, true, truncated},
		{"truncate get", FaultTruncate, http.MethodGet, false, truncated},
		{"truncate head", FaultTruncate, http.MethodHead, false, failed},
		{"truncate delete", FaultTruncate, http.MethodDelete, true, failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := setup(t, WithFaults(Faults{RetryAfter: "7"}))
			require.NoError(t, s.Seed("/docs/a", []byte(`{"v":1}`)))
			_, before, _ := s.Document("/docs/a")
			s.FailNext(1, tt.fault)
			body := ""
			if tt.method == http.MethodPut {
				body = `{"v":2,"pad":"` + strings.Repeat("x", 100) + `"}`
			}
			res, err := send(t, freshClient(t), tt.method, s.URL+"/docs/a", body)
			tt.check(t, res, err)

			_, after, ok := s.Document("/docs/a")
			require.Equal(t, tt.applied, !ok || after != before, "applied")
			log := s.Requests()
			require.Len(t, log, 1)
			require.Equal(t, tt.fault, log[0].Fault)
			require.Equal(t, tt.fault == FaultReset, log[0].Status == 0)
			// The next request is served normally.
			require.Equal(t, tt.applied && tt.method == http.MethodDelete,
				do(t, s, http.MethodGet, "/docs/a", "").status == http.StatusNotFound)
		})
	}
}

func throttled(status int) func(t *testing.T, res result, err error) {
	return func(t *testing.T, res result, err error) {
		t.Helper()
		require.NoError(t, err)
		require.Equal(t, status, res.status)
		require.Equal(t, "7", res.header.Get("Retry-After"))
		require.Equal(t, ProblemInjectedFault, res.problem(t).Type)
	}
}

func failed(t *testing.T, _ result, err error) {
	t.Helper()
	require.Error(t, err)
}

func truncated(t *testing.T, res result, err error) {
	t.Helper()
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.Equal(t, http.StatusOK, res.status)
}

func TestFaultScope(t *testing.T) {
	t.Parallel()
	s := setup(t, WithFaults(Faults{Methods: []string{http.MethodPut}, Paths: []string{"/docs/"}}))
	s.FailNext(2, Fault503)
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/docs/a", http.StatusNotFound},
		{http.MethodPut, "/other/a", http.StatusCreated},
		{http.MethodPut, "/docs/a", http.StatusServiceUnavailable},
		{http.MethodGet, "/docs/a", http.StatusNotFound},
		{http.MethodPut, "/docs/a", http.StatusServiceUnavailable},
		{http.MethodPut, "/docs/a", http.StatusCreated},
	}
	for i, tt := range tests {
		res := do(t, s, tt.method, tt.path, `{}`)
		require.Equal(t, tt.want, res.status, "request %d", i)
		if tt.want == http.StatusServiceUnavailable {
			require.Equal(t, "0", res.header.Get("Retry-After"), "the default")
		}
	}
	// SetFaults keeps the queue; FailNext with FaultNone lets requests by.
	s.FailNext(1, FaultNone)
	s.FailNext(1, Fault429)
	s.SetFaults(Faults{})
	require.Equal(t, http.StatusOK, do(t, s, http.MethodGet, "/docs/a", "").status)
	require.Equal(t, http.StatusTooManyRequests, do(t, s, http.MethodGet, "/docs/a", "").status)
	require.Equal(t, http.StatusOK, do(t, s, http.MethodGet, "/docs/a", "").status)
}

func TestFaultRatesAreSeeded(t *testing.T) {
	t.Parallel()
	faults := Faults{Rate503: 0.2, Rate429: 0.2, RateTruncate: 0.2}
	run := func(seed int64) []Fault {
		s := setup(t, WithFaults(faults), WithRandomSeed(seed))
		var got []Fault
		for range 40 {
			_, _ = send(t, freshClient(t), http.MethodGet, s.URL+"/x", "")
		}
		for _, r := range s.Requests() {
			got = append(got, r.Fault)
		}
		return got
	}
	first := run(7)
	require.Equal(t, first, run(7))
	require.NotEqual(t, first, run(8))
	kinds := map[Fault]int{}
	for _, f := range first {
		kinds[f]++
	}
	require.Len(t, kinds, 4, "each rate fires at least once in 40 draws: %v", kinds)
}

func TestFaultDraw(t *testing.T) {
	t.Parallel()
	f := Faults{Rate503: 0.1, Rate429: 0.1, RateReset: 0.1, RateTruncate: 0.1, RateLost: 0.1}
	tests := []struct {
		u    float64
		want Fault
	}{
		{0, Fault503}, {0.15, Fault429}, {0.25, FaultReset}, {0.35, FaultTruncate},
		{0.45, FaultLostResponse}, {0.5, FaultNone}, {0.99, FaultNone},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, f.draw(tt.u), "u=%v", tt.u)
	}
	require.Equal(t, Fault503, (&Faults{Rate503: 2}).draw(0.99))
	require.Equal(t, FaultNone, (&Faults{Rate503: -1}).draw(0))
	require.Equal(t, "lost-response", FaultLostResponse.String())
	require.Equal(t, "Fault(42)", Fault(42).String())
}

func TestParseFault(t *testing.T) {
	t.Parallel()
	for f := FaultNone; f <= FaultLostResponse; f++ {
		got, err := ParseFault(f.String())
		require.NoError(t, err)
		require.Equal(t, f, got)
	}
	for _, bad := range []string{"", "500", "Reset", "Fault(42)"} {
		_, err := ParseFault(bad)
		require.Error(t, err, bad)
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	delays := make(chan time.Duration, 10)
	recordSleep := func(c *config) {
		c.sleep = func(_ context.Context, d time.Duration) error { delays <- d; return nil }
	}
	s := setup(t, WithLatency(time.Hour, time.Minute), recordSleep)
	for range 5 {
		do(t, s, http.MethodGet, "/x", "")
		d := <-delays
		require.GreaterOrEqual(t, d, time.Hour)
		require.Less(t, d, time.Hour+time.Minute)
	}
}

func TestLatencyEndsWithTheRequest(t *testing.T) {
	t.Parallel()
	sleeping := make(chan struct{})
	s := NewServer(WithLatency(time.Hour, 0), func(c *config) {
		c.sleep = func(ctx context.Context, d time.Duration) error {
			close(sleeping)
			return wait.Sleep(ctx, d)
		}
	})
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/x", nil)
	require.NoError(t, err)
	go func() {
		<-sleeping
		cancel()
	}()
	_, err = freshClient(t).Do(req)
	require.ErrorIs(t, err, context.Canceled)
	s.Close() // returns once the handler has given up its sleep
	log := s.Requests()
	require.Len(t, log, 1)
	require.Zero(t, log[0].Status)
}

// TestTransportRetriesReplayableRequests shows why fault tests want fresh
// connections: net/http retries a GET cut on a reused connection by itself.
func TestTransportRetriesReplayableRequests(t *testing.T) {
	t.Parallel()
	s := setup(t)
	require.Equal(t, http.StatusNotFound, do(t, s, http.MethodGet, "/x", "").status)
	s.FailNext(1, FaultReset)
	require.Equal(t, http.StatusNotFound, do(t, s, http.MethodGet, "/x", "").status)
	require.Equal(t, 3, s.Count(http.MethodGet, 0))
	require.Equal(t, FaultReset, s.Requests()[1].Fault)
}
