package optimist_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

// The fault suite: the contended-update workload and an asynchronous job
// against a mock that injects the faults of a bad day, 20 % 503 with
// Retry-After, 5 % 429, 5 % connections reset before the request is read,
// 5 % lost responses (applied, then the connection cut) and latency
// jitter. Nothing may be lost and nothing applied twice. The clients wait
// through a sleep that does not sleep, so the suite runs in seconds.

// badDay is the fault mix.
func badDay() mock.Faults {
	return mock.Faults{
		Rate503:    0.20,
		Rate429:    0.05,
		RateReset:  0.05,
		RateLost:   0.05,
		Jitter:     time.Millisecond,
		RetryAfter: "1",
	}
}

// sleeper is a WithClock sleep that returns at once, yielding the
// processor, and records what it was asked to wait.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	runtime.Gosched()
	return ctx.Err()
}

func (s *sleeper) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.waits)
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// debugLogger logs at debug level into a buffer.
func debugLogger() (*slog.Logger, *syncBuffer) {
	var buf syncBuffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

// Planted credentials: none of them may appear in an error or a log line.
const (
	headerToken   = "HEADER-TOKEN-6f1c"
	userinfoToken = "USERINFO-TOKEN-93ab"
	queryToken    = "QUERY-TOKEN-27de"
)

// withCredentials returns rawURL with a user name and password and a
// token query parameter, and ctx carrying an Authorization header.
func withCredentials(ctx context.Context, rawURL string) (context.Context, string) {
	u := strings.Replace(rawURL, "http://", "http://"+userinfoToken+":"+userinfoToken+"@", 1)
	ctx = optimist.NewContext(ctx, optimist.Header("Authorization", "Bearer "+headerToken))
	return ctx, u + "?access_token=" + queryToken
}

// requireNoSecrets fails if text contains a planted credential. The query
// token is checked only when checkQuery is set (see secrets_test.go).
func requireNoSecrets(t *testing.T, text string, checkQuery bool) {
	t.Helper()
	require.NotContains(t, text, headerToken)
	require.NotContains(t, text, userinfoToken)
	if checkQuery {
		require.NotContains(t, text, queryToken)
	}
}

// faultClient is a client for the fault suite: transport retries and
// conflict attempts enough for the fault rates, Idempotency-Keys, no real
// waits, and debug logging. hc nil gives the client its own connections.
func faultClient(hc *http.Client, sl *sleeper, logger *slog.Logger) *optimist.Client {
	return optimist.New(
		optimist.WithHTTPClient(hc),
		optimist.WithIdempotencyKeys(),
		optimist.WithRetry(optimist.RetryOptions{MaxRetries: 30}),
		optimist.WithConflicts(optimist.ConflictOptions{Attempts: 500, Timeout: time.Hour}),
		optimist.WithClock(nil, sl.sleep),
		optimist.WithLogger(logger),
	)
}

func TestFaultSuiteContendedUpdate(t *testing.T) {
	t.Parallel()
	for _, clients := range []int{1, 4} {
		t.Run(fmt.Sprintf("%d clients", clients), func(t *testing.T) {
			t.Parallel()
			s := newServer(t, mock.WithFaults(badDay()), mock.WithLogLimit(1<<20), mock.WithRandomSeed(7))
			seed(t, s, "/counters/c", `{"n":0,"label":"keep me"}`)
			ctx, url := withCredentials(t.Context(), s.URL+"/counters/c")
			sl := new(sleeper)
			logger, logs := debugLogger()
			pool := make([]*optimist.Client, clients)
			for i := range pool {
				pool[i] = faultClient(nil, sl, logger)
				t.Cleanup(pool[i].CloseIdleConnections)
				_, err := pool[i].Get(ctx, url, nil)
				require.NoError(t, err)
			}
			// The clients remember the counter, so their first requests
			// are writes: these faults meet writes, whatever the rates draw.
			for _, f := range []mock.Fault{mock.FaultLostResponse, mock.FaultReset, mock.Fault429, mock.Fault503} {
				s.FailNext(1, f)
			}

			const writers, increments = 32, 50
			var (
				mu      sync.Mutex
				results []int
			)
			errs := runWriters(writers, func(i int) error {
				c := pool[i%clients]
				for range increments {
					got, err := optimist.Update(ctx, c, url, func(v *counter) error {
						v.N++
						return nil
					})
					if err != nil {
						return err
					}
					mu.Lock()
					results = append(results, got.N)
					mu.Unlock()
				}
				return nil
			})
			for _, err := range errs {
				requireNoSecrets(t, err.Error(), true)
			}
			require.Empty(t, errs)

			body, _, _ := s.Document("/counters/c")
			require.JSONEq(t, `{"n":1600,"label":"keep me"}`, string(body), "the exact count")
			slices.Sort(results)
			for i, n := range results {
				require.Equal(t, i+1, n, "each update wrote its own value, once")
			}
			requireFaultsHit(t, s, http.MethodPut)
			requireAppliedOnce(t, s, http.MethodPut)
			require.NotEmpty(t, sl.recorded(), "retries waited through the injected sleep")
			require.Contains(t, logs.String(), "optimist: retrying")
			requireNoSecrets(t, logs.String(), true)
		})
	}
}

// requireFaultsHit checks that every kind of fault met requests of the
// method: the suite tested what it claims to.
func requireFaultsHit(t *testing.T, s *mock.Server, method string) {
	t.Helper()
	hit := map[mock.Fault]int{}
	for _, r := range s.Requests() {
		if r.Method == method {
			hit[r.Fault]++
		}
	}
	for _, f := range []mock.Fault{mock.Fault503, mock.Fault429, mock.FaultReset, mock.FaultLostResponse} {
		require.Positive(t, hit[f], "no %s %s fault injected", method, f)
	}
}

// requireAppliedOnce checks that no request of the method was applied
// twice: every applied one (a 2xx made anew, whether its answer arrived
// or was lost) carries an Idempotency-Key no other applied one carries.
func requireAppliedOnce(t *testing.T, s *mock.Server, method string) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range s.Requests() {
		if r.Method != method || r.Replayed || r.Status < 200 || r.Status > 299 {
			continue
		}
		key := r.Header.Get("Idempotency-Key")
		require.NotEmpty(t, key)
		require.False(t, seen[key], "request with Idempotency-Key %s applied twice", key)
		seen[key] = true
	}
}

func TestFaultSuiteJobCompletesOnce(t *testing.T) {
	t.Parallel()
	for seedValue := range int64(8) {
		t.Run(fmt.Sprint("seed ", seedValue), func(t *testing.T) {
			t.Parallel()
			s := newServer(t, mock.WithFaults(badDay()), mock.WithRandomSeed(seedValue), mock.WithJobPolls(6))
			// The POST is applied and its 202 lost; then each fault meets
			// a status request, before the fault rates take over.
			s.FailNext(1, mock.FaultLostResponse)
			s.FailNext(1, mock.FaultNone)
			for _, f := range []mock.Fault{mock.Fault503, mock.FaultReset, mock.FaultLostResponse, mock.Fault429} {
				s.FailNext(1, f)
			}
			ctx, url := withCredentials(t.Context(), s.URL+"/jobs")
			sl := new(sleeper)
			logger, logs := debugLogger()
			c := faultClient(s.Client(), sl, logger)

			var result map[string]int
			_, err := c.Post(ctx, url, map[string]any{"result": map[string]int{"answer": 42}}, &result)
			if err != nil {
				requireNoSecrets(t, err.Error(), true)
			}
			require.NoError(t, err)
			require.Equal(t, map[string]int{"answer": 42}, result)

			var created, statusFaults int
			for _, r := range s.Requests() {
				switch {
				case r.Method == http.MethodPost && r.Status == http.StatusAccepted && !r.Replayed:
					created++
				case r.Method == http.MethodGet && strings.HasPrefix(r.Path, "/jobs/") && r.Fault != mock.FaultNone:
					statusFaults++
				}
			}
			require.Equal(t, 1, created, "the job was started exactly once")
			require.Positive(t, statusFaults, "the status endpoint failed at times")
			requireNoSecrets(t, logs.String(), true)
		})
	}
}
