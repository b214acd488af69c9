package mock

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// status decodes a job status answer.
func jobStatusOf(t *testing.T, res result) jobStatus {
	t.Helper()
	require.Equal(t, http.StatusOK, res.status, res.body)
	var st jobStatus
	require.NoError(t, json.Unmarshal([]byte(res.body), &st))
	return st
}

func TestJobPolls(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     []Option
		body     string
		polls    int
		retry    string
		result   string
		location string
	}{
		{"defaults", nil, "", 2, "0", `{"id":"1","status":"done"}`, "/jobs/1"},
		{"body", nil, `{"polls":4,"retryAfter":"1","result":{"x":1}}`, 4, "1", `{"x":1}`, "/jobs/1"},
		{"numeric retry-after", nil, `{"polls":0,"retryAfter":3}`, 0, "3", `{"id":"1","status":"done"}`, "/jobs/1"},
		{"options", []Option{WithJobPolls(1), WithJobRetryAfter("5"), WithJobsPath("/v1/ops/")}, "", 1, "5", `{"id":"1","status":"done"}`, "/v1/ops/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := setup(t, tt.opts...)
			created := do(t, s, http.MethodPost, tt.location[:len(tt.location)-2], tt.body)
			require.Equal(t, http.StatusAccepted, created.status, created.body)
			require.Equal(t, tt.location, created.header.Get("Location"))
			require.Equal(t, tt.location, created.header.Get("Operation-Location"))
			require.Equal(t, tt.retry, created.header.Get("Retry-After"))

			last := 0
			for i := range tt.polls {
				res := do(t, s, http.MethodGet, tt.location, "")
				st := jobStatusOf(t, res)
				require.Equal(t, "running", st.Status, "poll %d", i)
				require.Greater(t, st.PercentComplete, last)
				require.Less(t, st.PercentComplete, 100)
				require.Equal(t, tt.retry, res.header.Get("Retry-After"))
				last = st.PercentComplete
			}
			st := jobStatusOf(t, do(t, s, http.MethodGet, tt.location, ""))
			require.Equal(t, "succeeded", st.Status)
			require.Equal(t, 100, st.PercentComplete)
			require.Nil(t, st.Error)
			got := do(t, s, http.MethodGet, st.ResourceLocation, "")
			require.Equal(t, http.StatusOK, got.status)
			require.JSONEq(t, tt.result, got.body)
			require.NotEmpty(t, got.header.Get("ETag"))
			// polls+1 status requests, then one for the result.
			require.Equal(t, tt.polls+2, s.Count(http.MethodGet, http.StatusOK))
			// The terminal state stays.
			require.Equal(t, st, jobStatusOf(t, do(t, s, http.MethodGet, tt.location, "")))
		})
	}
}

func TestJobFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		detail string
	}{
		{"detail", `{"polls":1,"fail":true,"detail":"disk full"}`, "disk full"},
		{"default detail", `{"polls":1,"fail":true}`, "the job failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := setup(t)
			loc := do(t, s, http.MethodPost, "/jobs", tt.body).header.Get("Location")
			require.Equal(t, "running", jobStatusOf(t, do(t, s, http.MethodGet, loc, "")).Status)
			st := jobStatusOf(t, do(t, s, http.MethodGet, loc, ""))
			require.Equal(t, "failed", st.Status)
			require.Empty(t, st.ResourceLocation)
			require.Equal(t, &Problem{Type: ProblemJobFailed, Title: "job failed",
				Status: http.StatusInternalServerError, Detail: tt.detail}, st.Error)
			require.Equal(t, http.StatusNotFound, do(t, s, http.MethodGet, "/results/1", "").status)
		})
	}
}

func TestJobDuration(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	s := setup(t, WithClock(clock.Now), WithJobDuration(10*time.Second))
	loc := do(t, s, http.MethodPost, "/jobs", `{"polls":0}`).header.Get("Location")
	for _, want := range []int{0, 20, 40} {
		st := jobStatusOf(t, do(t, s, http.MethodGet, loc, ""))
		require.Equal(t, "running", st.Status)
		require.Equal(t, want, st.PercentComplete)
		clock.Advance(2 * time.Second)
	}
	clock.Advance(4 * time.Second)
	require.Equal(t, "succeeded", jobStatusOf(t, do(t, s, http.MethodGet, loc, "")).Status)
}

func TestJobURLsAndErrors(t *testing.T) {
	t.Parallel()
	s := setup(t, WithAbsoluteJobURLs(), WithJobPolls(0))
	created := do(t, s, http.MethodPost, "/jobs", "")
	require.Equal(t, s.URL+"/jobs/1", created.header.Get("Location"))
	require.Equal(t, s.URL+"/jobs/1", created.header.Get("Operation-Location"))
	st := jobStatusOf(t, do(t, s, http.MethodGet, "/jobs/1", ""))
	require.Equal(t, s.URL+"/results/1", st.ResourceLocation)

	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"bad spec", http.MethodPost, "/jobs", `[1]`, http.StatusBadRequest},
		{"unknown job", http.MethodGet, "/jobs/99", "", http.StatusNotFound},
		{"list", http.MethodGet, "/jobs", "", http.StatusMethodNotAllowed},
		{"delete job", http.MethodDelete, "/jobs/1", "", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, s, tt.method, tt.path, tt.body)
			require.Equal(t, tt.want, res.status)
			require.Equal(t, tt.want, res.problem(t).Status)
		})
	}
}
