package optimist_test

import (
	"net/http"
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
	resp, err := first.Put(t.Context(), s.URL+"/ops/start", nil, nil, optimist.NoWait())
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
