package optimist_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
)

// A Location status URL answering 200 with the resource is done.
func TestLocationPollEndsOnResource(t *testing.T) {
	t.Parallel()
	s := newScript(t, step{status: http.StatusAccepted, header: map[string]string{"Location": "/ops/status"}},
		step{status: http.StatusAccepted}, step{status: http.StatusOK, body: `{"status":"active"}`})
	c := optimist.New(newFakeClock().option())
	resp, err := c.Post(t.Context(), s.URL+"/ops/start", nil, nil)
	require.NoError(t, err)
	require.JSONEq(t, `{"status":"active"}`, string(resp.Body))
	require.Equal(t, []string{"POST /ops/start", "GET /ops/status", "GET /ops/status"}, s.lines())
}

// A resumed PUT operation gives what Wait gives, with the 202's Retry-After.
func TestResumeIsWhole(t *testing.T) {
	t.Parallel()
	s := newScript(t, accepted("Retry-After", "2"), running(), step{status: http.StatusOK, body: `{"status":"Succeeded"}`})
	first := optimist.New(newFakeClock().option())
	resp, err := first.Put(t.Context(), s.URL+"/ops/start", nil, nil, optimist.FollowOperation(false), optimist.Unconditional())
	require.NoError(t, err)
	started, err := first.Operation(resp)
	require.NoError(t, err)
	clk := newFakeClock()
	later := optimist.New(clk.option())
	op, err := later.ResumeOperation(started.ResumeToken())
	require.NoError(t, err)
	result, err := op.Wait(t.Context())
	require.NoError(t, err)
	require.JSONEq(t, `{"at":"/ops/start"}`, string(result.Body), "the PUT's resource, as Wait gives")
	require.Equal(t, []time.Duration{2 * time.Second}, clk.Waits(), "the 202's Retry-After")
	var out map[string]string
	_, err = op.Result(t.Context(), &out)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"at": "/ops/start"}, out, "a typed result")
}

// A negative minimum poll interval means no minimum.
func TestNoMinimumPollInterval(t *testing.T) {
	t.Parallel()
	s := newScript(t, accepted("Retry-After", "0"), running(), succeeded)
	clk := newFakeClock()
	c := optimist.New(clk.option(), optimist.WithPolling(optimist.PollOptions{MinInterval: -1}))
	_, err := c.Post(t.Context(), s.URL+"/ops/start", nil, nil)
	require.NoError(t, err)
	require.Equal(t, []time.Duration{0, 0}, clk.Waits())
}

// Each PollOptions field's zero and out-of-range values mean what its doc
// says.
func TestPollOptionsRanges(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		name string
		opts optimist.PollOptions
		want []time.Duration
	}{
		{"zero: defaults", optimist.PollOptions{}, []time.Duration{500 * ms, 750 * ms, 1125 * ms}},
		{"negative intervals: defaults", optimist.PollOptions{Interval: -1, MaxInterval: -1, Factor: -2},
			[]time.Duration{500 * ms, 750 * ms, 1125 * ms}},
		{"factor 1: fixed", optimist.PollOptions{Interval: time.Second, Factor: 1}, repeat(time.Second, 3)},
		{"factor 2, capped", optimist.PollOptions{Interval: time.Second, Factor: 2, MaxInterval: 3 * time.Second},
			[]time.Duration{time.Second, 2 * time.Second, 3 * time.Second}},
		{"minimum above the interval", optimist.PollOptions{Interval: ms, MinInterval: 50 * ms}, repeat(50*ms, 3)},
		{"no minimum", optimist.PollOptions{Interval: ms, Factor: 1, MinInterval: -1}, repeat(ms, 3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newScript(t, accepted(), running(), running(), succeeded)
			clk := newFakeClock()
			c := optimist.New(clk.option(), optimist.WithPolling(tt.opts))
			_, err := c.Post(t.Context(), s.URL+"/ops/start", nil, nil)
			require.NoError(t, err)
			require.Equal(t, tt.want, clk.Waits())
		})
	}
	t.Run("negative MaxTime leaves the bound to the context", func(t *testing.T) {
		t.Parallel()
		steps := append(slices.Repeat([]step{running("Retry-After", "60")}, 40), succeeded)
		s := newScript(t, accepted(), steps...)
		c := optimist.New(newFakeClock().option(), optimist.WithPolling(optimist.PollOptions{MaxTime: -1}))
		_, err := c.Post(t.Context(), s.URL+"/ops/start", nil, nil)
		require.NoError(t, err, "40 minutes of polls, past the default PollOptions.MaxTime")
	})
	t.Run("a later WithPolling replaces an earlier one", func(t *testing.T) {
		t.Parallel()
		s := newScript(t, accepted(), running(), succeeded)
		clk := newFakeClock()
		c := optimist.New(clk.option(), optimist.WithPolling(optimist.PollOptions{Interval: time.Hour}),
			optimist.WithPolling(optimist.PollOptions{}))
		_, err := c.Post(t.Context(), s.URL+"/ops/start", nil, nil)
		require.NoError(t, err)
		require.Equal(t, []time.Duration{500 * ms, 750 * ms}, clk.Waits())
	})
}
