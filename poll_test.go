package optimist_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

// The documented defaults of PollOptions and CallbackOptions, which the
// tests expect.
const (
	defaultPollInterval      = 500 * time.Millisecond
	defaultMaxPollInterval   = 10 * time.Second
	defaultMinPollInterval   = 100 * time.Millisecond
	defaultCallbackSlowdown  = 4
	defaultCallbackTolerance = 5 * time.Minute
)

// fakeClock is a WithClock pair whose sleep returns at once, records the
// wait and moves the clock on by it.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) option() optimist.Option { return optimist.WithClock(c.Now, c.Sleep) }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits, c.now = append(c.waits, d), c.now.Add(d)
	return nil
}

func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.waits)
}

func repeat(d time.Duration, n int) []time.Duration { return slices.Repeat([]time.Duration{d}, n) }

// requestLines gives the server's log as "METHOD path" lines.
func requestLines(s *mock.Server) []string {
	var lines []string
	for _, r := range s.Requests() {
		lines = append(lines, r.Method+" "+r.Path)
	}
	return lines
}

// jobLines are the requests of a job submitted to /jobs and done after
// polls running answers: N+1 status GETs and one result GET.
func jobLines(polls int) []string {
	lines := []string{"POST /jobs"}
	lines = append(lines, slices.Repeat([]string{"GET /jobs/1"}, polls+1)...)
	return append(lines, "GET /results/1")
}

var answer = map[string]any{"result": map[string]int{"answer": 42}}

func TestPostWaitsForOperation(t *testing.T) {
	t.Parallel()
	for _, polls := range []int{0, 1, 4} {
		t.Run(fmt.Sprint(polls, " polls"), func(t *testing.T) {
			t.Parallel()
			s := newServer(t, mock.WithJobPolls(polls))
			clk := newFakeClock()
			c := newClient(s, clk.option())

			var out map[string]int
			resp, err := c.Post(t.Context(), s.URL+"/jobs", answer, &out)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, map[string]int{"answer": 42}, out)
			require.Equal(t, jobLines(polls), requestLines(s))
			// The mock asks for Retry-After: 0; polling still waits.
			require.Equal(t, repeat(defaultMinPollInterval, polls+1), clk.Waits())
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	start := newFakeClock().Now()
	at := start.Add(10 * time.Second)
	tests := []struct {
		name       string
		retryAfter string
		opts       []optimist.Option
		want       []time.Duration
	}{
		{"delta-seconds", "1", nil, repeat(time.Second, 3)},
		// A date is a moment: once it has passed, the shortest wait.
		{"IMF-fixdate", at.Format(http.TimeFormat), nil, []time.Duration{10 * time.Second, defaultMinPollInterval, defaultMinPollInterval}},
		{"RFC 850", at.Format("Monday, 02-Jan-06 15:04:05 GMT"), nil, []time.Duration{10 * time.Second, defaultMinPollInterval, defaultMinPollInterval}},
		{"asctime", at.Format(time.ANSIC), nil, []time.Duration{10 * time.Second, defaultMinPollInterval, defaultMinPollInterval}},
		{"clamped", "3600", []optimist.Option{optimist.WithRetry(optimist.RetryOptions{MaxRetryAfter: 5 * time.Second})}, repeat(5*time.Second, 3)},
		{"default clamp", "86400", nil, repeat(defaultMaxRetryAfter, 3)},
		{"raised floor", "0", []optimist.Option{optimist.WithPolling(optimist.PollOptions{MinInterval: time.Second})}, repeat(time.Second, 3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, mock.WithJobPolls(2), mock.WithJobRetryAfter(tt.retryAfter))
			clk := newFakeClock()
			c := newClient(s, append(tt.opts, clk.option())...)
			_, err := c.Post(t.Context(), s.URL+"/jobs", answer, nil)
			require.NoError(t, err)
			require.Equal(t, tt.want, clk.Waits())
			require.Equal(t, jobLines(2), requestLines(s))
		})
	}
}

func TestPollWaitsWithoutRetryAfter(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		name     string
		accepted step
		steps    []step
		opts     []optimist.Option
		want     []time.Duration
	}{
		{"202's Retry-After kept", accepted("Retry-After", "2"),
			[]step{running(), running(), succeeded}, nil, repeat(2*time.Second, 3)},
		{"status Retry-After for one poll", accepted("Retry-After", "2"),
			[]step{running("Retry-After", "5"), running(), succeeded}, nil,
			[]time.Duration{2 * time.Second, 5 * time.Second, 2 * time.Second}},
		{"retry-after-ms", accepted(),
			[]step{running("Retry-After-Ms", "250"), running(), succeeded}, nil,
			[]time.Duration{500 * ms, 250 * ms, 750 * ms}},
		{"default growth and cap", accepted(), append(slices.Repeat([]step{running()}, 9), succeeded), nil,
			[]time.Duration{500 * ms, 750 * ms, 1125 * ms, 1687500 * time.Microsecond, 2531250 * time.Microsecond,
				3796875 * time.Microsecond, 5695312500, 8542968750, 10 * time.Second, 10 * time.Second}},
		{"Interval", accepted(), append(slices.Repeat([]step{running()}, 5), succeeded),
			[]optimist.Option{optimist.WithPolling(optimist.PollOptions{Interval: time.Second, MaxInterval: 3 * time.Second})},
			[]time.Duration{time.Second, 1500 * ms, 2250 * ms, 3 * time.Second, 3 * time.Second, 3 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newScript(t, tt.accepted, tt.steps...)
			clk := newFakeClock()
			c := optimist.New(append(tt.opts, clk.option())...)
			var out map[string]string
			_, err := c.Post(t.Context(), s.URL+"/ops/start", nil, &out)
			require.NoError(t, err)
			require.Equal(t, map[string]string{"at": "/ops/result"}, out)
			require.Equal(t, tt.want, clk.Waits())
		})
	}
}

func TestOperationFailed(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	c := newClient(s, newFakeClock().option())
	spec := map[string]any{"polls": 1, "fail": true, "detail": "disk full"}

	resp, err := c.Post(t.Context(), s.URL+"/jobs", spec, nil)
	require.ErrorIs(t, err, optimist.ErrOperationFailed)
	var opErr *optimist.OperationError
	require.ErrorAs(t, err, &opErr)
	require.Equal(t, s.URL+"/jobs/1", opErr.StatusURL)
	require.Equal(t, "failed", opErr.State)
	require.Equal(t, &optimist.Problem{Type: mock.ProblemJobFailed, Title: "job failed",
		Status: http.StatusInternalServerError, Detail: "disk full"}, opErr.Problem)
	require.JSONEq(t, `{"type":"`+mock.ProblemJobFailed+`","title":"job failed","status":500,"detail":"disk full"}`,
		string(opErr.Body))
	require.Equal(t, "optimist: operation "+s.URL+"/jobs/1 failed: job failed: disk full", err.Error())
	require.Equal(t, http.StatusOK, resp.StatusCode, "the last status response")
	require.Equal(t, []string{"POST /jobs", "GET /jobs/1", "GET /jobs/1"}, requestLines(s))
}

func TestContextCancelStopsPolling(t *testing.T) {
	t.Parallel()
	t.Run("while waiting", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, mock.WithJobRetryAfter("30"))
		c := newClient(s) // the real sleep
		resp, err := c.Post(t.Context(), s.URL+"/jobs", nil, nil, optimist.FollowOperation(false))
		require.NoError(t, err)
		op, err := c.Operation(resp)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(20*time.Millisecond, cancel)
		began := time.Now()
		_, err = op.Wait(ctx) // waits 30 s before the first poll
		require.ErrorIs(t, err, context.Canceled)
		require.Less(t, time.Since(began), 10*time.Second)
		require.Equal(t, []string{"POST /jobs"}, requestLines(s))
	})
	t.Run("from OnProgress", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, mock.WithJobPolls(5))
		clk := newFakeClock()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		c := newClient(s, clk.option())
		resp, err := c.Post(ctx, s.URL+"/jobs", nil, nil, optimist.OnProgress(func(ev optimist.OperationStatus) {
			if ev.Attempt == 2 {
				cancel()
			}
		}))
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, http.StatusAccepted, resp.StatusCode, "the 202, to resume from")
		require.Equal(t, []string{"POST /jobs", "GET /jobs/1", "GET /jobs/1"}, requestLines(s))
		require.Len(t, clk.Waits(), 2)
	})
}

func TestRelativeStatusURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []mock.Option
		path string
	}{
		{"absolute path", []mock.Option{mock.WithJobsPath("/api/v1/jobs")}, "/api/v1"},
		{"absolute URL", []mock.Option{mock.WithJobsPath("/api/v1/jobs"), mock.WithAbsoluteJobURLs()}, "/api/v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, append(tt.opts, mock.WithJobPolls(1))...)
			c := newClient(s, newFakeClock().option())
			var out map[string]int
			_, err := c.Post(t.Context(), s.URL+tt.path+"/jobs", answer, &out)
			require.NoError(t, err)
			require.Equal(t, 42, out["answer"])
			p := tt.path
			require.Equal(t, []string{"POST " + p + "/jobs", "GET " + p + "/jobs/1", "GET " + p + "/jobs/1",
				"GET " + p + "/results/1"}, requestLines(s))
		})
	}
	t.Run("relative path", func(t *testing.T) {
		t.Parallel()
		s := newScript(t, accepted("Operation-Location", "status"), running(), succeeded)
		_, err := optimist.New(newFakeClock().option()).Post(t.Context(), s.URL+"/ops/start", nil, nil)
		require.NoError(t, err)
		require.Equal(t, []string{"POST /ops/start", "GET /ops/status", "GET /ops/status", "GET /ops/result"}, s.lines())
	})
}

func TestCrossOriginStatusURLGetsNoCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		trusted bool
	}{{"other origin", false}, {"trusted origin", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			jobs := newServer(t, mock.WithJobPolls(1))
			created, err := jobs.Client().Post(jobs.URL+"/jobs", "application/json", nil)
			require.NoError(t, err)
			require.NoError(t, created.Body.Close())
			front := newScript(t, accepted("Operation-Location", jobs.URL+created.Header.Get("Location")))
			opts := []optimist.Option{newFakeClock().option(), optimist.WithSecretHeaders("X-Api-Key")}
			if tt.trusted {
				opts = append(opts, optimist.WithPolling(optimist.PollOptions{TrustedOrigins: []string{jobs.URL}}))
			}
			_, err = newClient(jobs, opts...).Post(t.Context(), front.URL+"/ops/start", nil, nil,
				optimist.Header("Authorization", "Bearer token"), optimist.Header("X-Api-Key", "key"),
				optimist.Header("Cookie", "session=1"), optimist.Header("X-Trace", "t1"))
			require.NoError(t, err)
			require.Equal(t, "Bearer token", front.header(0).Get("Authorization"))

			var gets int
			for _, r := range jobs.Requests() {
				if r.Method != http.MethodGet {
					continue
				}
				gets++
				require.Equal(t, "t1", r.Header.Get("X-Trace"), r.Path)
				for name, value := range map[string]string{"Authorization": "Bearer token", "X-Api-Key": "key", "Cookie": "session=1"} {
					if tt.trusted {
						require.Equal(t, value, r.Header.Get(name), "%s %s", r.Path, name)
					} else {
						require.Empty(t, r.Header.Values(name), "%s %s", r.Path, name)
					}
				}
			}
			require.Equal(t, 3, gets, "two status GETs and the result")
		})
	}
}

func TestStatusBodyLimit(t *testing.T) {
	t.Parallel()
	t.Run("mock status document", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		c := newClient(s, newFakeClock().option(), optimist.WithPolling(optimist.PollOptions{MaxStatusBytes: 16}))
		_, err := c.Post(t.Context(), s.URL+"/jobs", nil, nil)
		require.ErrorIs(t, err, optimist.ErrBodyTooLarge)
		require.Equal(t, []string{"POST /jobs", "GET /jobs/1"}, requestLines(s))
	})
	tests := []struct {
		name     string
		declared bool
	}{{"endless stream", false}, {"declared length", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var written atomic.Int64
			s := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					w.Header().Set("Location", "/status")
					w.WriteHeader(http.StatusAccepted)
					return
				}
				if tt.declared {
					w.Header().Set("Content-Length", "1073741824")
				}
				chunk := make([]byte, 32<<10)
				for written.Load() < 1<<30 {
					n, err := w.Write(chunk)
					written.Add(int64(n))
					if err != nil {
						return
					}
				}
			})
			c := optimist.New(newFakeClock().option(), optimist.WithPolling(optimist.PollOptions{MaxStatusBytes: 64 << 10}))
			_, err := c.Post(t.Context(), s.URL+"/start", nil, nil)
			require.ErrorIs(t, err, optimist.ErrBodyTooLarge)
			c.CloseIdleConnections()
			s.Close() // waits for the handler
			require.Less(t, written.Load(), int64(64<<20), "the client stopped reading")
		})
	}
}

func TestResumeOperation(t *testing.T) {
	t.Parallel()
	s := newServer(t, mock.WithJobPolls(3))
	first := newClient(s)
	var polled string
	resp, err := first.Post(t.Context(), s.URL+"/jobs", answer, nil, optimist.FollowOperation(false),
		optimist.OnProgress(func(st optimist.OperationStatus) { polled = st.StatusURL }))
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	op, err := first.Operation(resp)
	require.NoError(t, err)
	done, err := op.Poll(t.Context())
	require.NoError(t, err)
	require.False(t, done)
	require.Equal(t, s.URL+"/jobs/1", polled)
	saved := op.ResumeToken()

	clk := newFakeClock()
	later := newClient(s, clk.option()) // as after a restart
	resumed, err := later.ResumeOperation(saved, optimist.Header("X-Trace", "t2"))
	require.NoError(t, err)
	result, err := resumed.Wait(t.Context())
	require.NoError(t, err)
	require.JSONEq(t, `{"answer":42}`, string(result.Body))
	require.Equal(t, jobLines(3), requestLines(s))
	require.Equal(t, "t2", s.Requests()[4].Header.Get("X-Trace"))
	require.Len(t, clk.Waits(), 2, "the first poll after resuming does not wait")
	require.True(t, resumed.Done())
	var out map[string]int
	again, err := resumed.Result(t.Context(), &out)
	require.NoError(t, err)
	require.Same(t, result, again, "a done operation sends nothing")
	require.Equal(t, map[string]int{"answer": 42}, out)
	require.Equal(t, jobLines(3), requestLines(s))
	v, ok := later.Remembered(s.URL + "/results/1")
	require.True(t, ok, "the result is remembered")
	require.JSONEq(t, `{"answer":42}`, string(v.Body))
}

func TestOperationHandle(t *testing.T) {
	t.Parallel()
	s := newServer(t, mock.WithJobPolls(1))
	c := newClient(s)
	seeded := seed(t, s, "/docs/a", `{}`)
	got, err := c.Get(t.Context(), seeded, nil)
	require.NoError(t, err)
	for _, resp := range []*optimist.Response{nil, got, {StatusCode: http.StatusAccepted}} {
		_, err := c.Operation(resp)
		require.ErrorContains(t, err, "not a 202 Accepted answer")
	}
	for _, raw := range []string{"", s.URL + "/jobs/1", "optimist1.", "optimist1.!!", "optimist1.e30",
		resumeToken(`{"s":"ftp://example.com/1","x":"POST","u":"http://example.com/"}`),
		resumeToken(`{"s":"http://[::1","x":"POST","u":"http://example.com/"}`)} {
		_, err := c.ResumeOperation(raw)
		require.ErrorIs(t, err, optimist.ErrInvalidResumeToken, raw)
	}

	resp, err := c.Post(t.Context(), s.URL+"/jobs", nil, nil, optimist.FollowOperation(false))
	require.NoError(t, err)
	op, err := c.Operation(resp)
	require.NoError(t, err)
	require.False(t, op.Done())
	for _, want := range []bool{false, true, true} {
		done, err := op.Poll(t.Context())
		require.NoError(t, err)
		require.Equal(t, want, done)
	}
	require.Equal(t, jobLines(1), requestLines(s)[1:], "a done operation sends nothing")

	noURL := newScript(t, step{status: http.StatusAccepted, body: `{"queued":true}`})
	resp, err = c.Post(t.Context(), noURL.URL+"/ops/start", nil, nil)
	require.NoError(t, err, "a 202 without a status URL is the answer")
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	_, err = c.Operation(resp)
	require.ErrorContains(t, err, "names no status URL")
}

func TestPollEvents(t *testing.T) {
	t.Parallel()
	s := newServer(t, mock.WithJobPolls(2))
	var events []optimist.OperationStatus
	var perRequest []optimist.OperationStatus
	c := newClient(s, newFakeClock().option(), optimist.WithPolling(optimist.PollOptions{
		OnProgress: func(ev optimist.OperationStatus) { events = append(events, ev) },
	}))
	_, err := c.Post(t.Context(), s.URL+"/jobs", nil, nil, optimist.OnProgress(func(ev optimist.OperationStatus) {
		perRequest = append(perRequest, ev)
	}))
	require.NoError(t, err)
	require.Len(t, events, 3)
	require.Equal(t, events, perRequest)
	for i, want := range []struct {
		state   string
		percent float64
	}{{"running", 33}, {"running", 66}, {"succeeded", 100}} {
		ev := events[i]
		require.Equal(t, s.URL+"/jobs/1", ev.StatusURL)
		require.Equal(t, i+1, ev.Attempt)
		require.Equal(t, http.StatusOK, ev.StatusCode)
		require.Equal(t, want.state, ev.State)
		require.Equal(t, i == 2, ev.Done)
		require.False(t, ev.Failed)
		require.NotNil(t, ev.PercentComplete)
		require.InDelta(t, want.percent, *ev.PercentComplete, 0)
	}
}

func TestMaxPollTime(t *testing.T) {
	t.Parallel()
	s := newServer(t, mock.WithJobPolls(100), mock.WithJobRetryAfter("1"))
	clk := newFakeClock()
	c := newClient(s, clk.option(), optimist.WithPolling(optimist.PollOptions{MaxTime: 5 * time.Second}))
	_, err := c.Post(t.Context(), s.URL+"/jobs", nil, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "not done within 5s")
	require.Equal(t, repeat(time.Second, 5), clk.Waits())
	require.Equal(t, 5, s.Count(http.MethodGet, 0))
}

func TestDoWaitsOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	s := newServer(t, mock.WithJobPolls(1))
	c := newClient(s, newFakeClock().option())
	for _, tt := range []struct {
		ctx    context.Context
		status int
	}{
		{t.Context(), http.StatusAccepted},
		{optimist.NewContext(t.Context(), optimist.FollowOperation(true)), http.StatusOK},
	} {
		req, err := http.NewRequestWithContext(tt.ctx, http.MethodPost, s.URL+"/jobs", nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, tt.status, resp.StatusCode)
	}
}

// resumeToken makes a token from its JSON, as ResumeToken encodes it.
func resumeToken(js string) string {
	return "optimist1." + base64.RawURLEncoding.EncodeToString([]byte(js))
}
