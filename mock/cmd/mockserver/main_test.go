package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is a run in progress.
type server struct {
	url    string
	stderr *syncBuffer
	client *http.Client
	stop   func() error // cancels the run and gives its result
}

// start runs the command with args and waits for its listening line.
func start(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	stderr := &syncBuffer{}
	errc := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), pw, stderr)
		_ = pw.Close()
		errc <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err, stderr.String())
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	require.True(t, ok, line)
	require.NotContains(t, url, ":0")
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	stop := func() error {
		cancel()
		return <-errc
	}
	return &server{url: url, stderr: stderr, client: &http.Client{Transport: tr}, stop: stop}
}

func (s *server) do(t *testing.T, method, path, body string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.url+path, strings.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.client.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	return resp
}

func TestRun(t *testing.T) {
	t.Parallel()
	seedFile := filepath.Join(t.TempDir(), "seed.json")
	require.NoError(t, os.WriteFile(seedFile, []byte(`{"/docs/a":{"n":1},"/docs/b":[1,2]}`), 0o600))
	s := start(t, "-seed", seedFile, "-conflict-status", "409", "-require-if-match")

	got := s.do(t, http.MethodGet, "/docs/a", "")
	require.Equal(t, http.StatusOK, got.StatusCode)
	require.Equal(t, `"1"`, got.Header.Get("ETag"), "seeded in path order")
	require.Equal(t, http.StatusConflict, s.do(t, http.MethodPut, "/docs/a", `{}`, "If-Match", `"2"`).StatusCode)
	require.Equal(t, http.StatusPreconditionRequired, s.do(t, http.MethodPut, "/docs/a", `{}`).StatusCode)
	require.Equal(t, http.StatusOK, s.do(t, http.MethodPut, "/docs/a", `{}`, "If-Match", `"1"`).StatusCode)

	require.NoError(t, s.stop())
	log := s.stderr.String()
	require.Contains(t, log, "method=GET path=/docs/a status=200")
	require.Contains(t, log, "status=409")
	require.Contains(t, log, "fault=none")
}

func TestRunFaultsAndJobs(t *testing.T) {
	t.Parallel()
	s := start(t, "-rate-503", "1", "-retry-after", "3", "-fault-methods", "PUT, PATCH",
		"-jobs-path", "/v1/ops", "-job-polls", "0", "-version-query", "rev")
	resp := s.do(t, http.MethodPut, "/docs/a", `{}`)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, "3", resp.Header.Get("Retry-After"))
	resp = s.do(t, http.MethodPost, "/v1/ops", ``)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Equal(t, "/v1/ops/1", resp.Header.Get("Location"))
	require.Equal(t, http.StatusOK, s.do(t, http.MethodGet, "/v1/ops/1", "").StatusCode)
	resp = s.do(t, http.MethodGet, "/v1/results/1", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("X-Version"))
	require.NoError(t, s.stop())
	require.Contains(t, s.stderr.String(), "fault=503")
}

func TestRunArguments(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.json")
	tests := []struct {
		name  string
		args  []string
		usage bool
	}{
		{"unknown flag", []string{"-nope"}, true},
		{"extra argument", []string{"serve"}, true},
		{"conflict status", []string{"-conflict-status", "418"}, true},
		{"rate", []string{"-rate-503", "2"}, true},
		{"version field", []string{"-version-field", "_rev"}, true},
		{"fail-next fault", []string{"-fail-next", "500"}, true},
		{"fail-next count", []string{"-fail-next", "503:x"}, true},
		{"control path", []string{"-control-path", "_mock"}, true},
		{"seed file", []string{"-seed", missing}, false},
		{"address", []string{"-addr", "127.0.0.1:-1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tt.args, &stdout, &stderr)
			require.Error(t, err)
			require.Equal(t, tt.usage, errors.Is(err, errUsage), err)
			require.Empty(t, stdout.String())
		})
	}
	var stderr bytes.Buffer
	require.ErrorIs(t, run(t.Context(), []string{"-h"}, io.Discard, &stderr), flag.ErrHelp)
	require.Contains(t, stderr.String(), "-conflict-status")
}

func TestControl(t *testing.T) {
	t.Parallel()
	seedFile := filepath.Join(t.TempDir(), "seed.json")
	require.NoError(t, os.WriteFile(seedFile, []byte(`{"/docs/a":{"n":1}}`), 0o600))
	s := start(t, "-seed", seedFile, "-fail-next", "429,503:2", "-fault-methods", "PUT")
	defer func() { require.NoError(t, s.stop()) }()

	statuses := func() []int {
		var out []int
		for range 4 {
			out = append(out, s.do(t, http.MethodPut, "/docs/b", `{}`).StatusCode)
		}
		return out
	}
	require.Equal(t, []int{429, 503, 503, 201}, statuses(), "-fail-next")
	require.Equal(t, http.StatusNoContent, s.do(t, http.MethodPost, "/_mock/fail-next?fault=lost-response", "").StatusCode)
	_, err := s.client.Do(mustRequest(t, http.MethodPut, s.url+"/docs/b", `{"n":2}`))
	require.Error(t, err, "the lost response is a cut connection")

	var log []logEntry
	getJSON(t, s, "/_mock/requests", &log)
	require.Len(t, log, 5, "control requests are not logged")
	require.Equal(t, "429", log[0].Fault)
	require.Equal(t, "lost-response", log[4].Fault)
	require.Equal(t, http.StatusOK, log[4].Status)
	var count struct{ Count int }
	getJSON(t, s, "/_mock/count?method=put&status=503", &count)
	require.Equal(t, 2, count.Count)
	getJSON(t, s, "/_mock/count", &count)
	require.Equal(t, 5, count.Count)

	require.Equal(t, http.StatusNoContent, s.do(t, http.MethodPost, "/_mock/reset", "").StatusCode)
	require.Equal(t, http.StatusNotFound, s.do(t, http.MethodGet, "/docs/b", "").StatusCode)
	require.Equal(t, http.StatusOK, s.do(t, http.MethodGet, "/docs/a", "").StatusCode, "seeded again")
	require.Equal(t, []int{429, 503, 503, 201}, statuses(), "faults queued again")
	getJSON(t, s, "/_mock/count", &count)
	require.Equal(t, 6, count.Count, "counters reset")

	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/_mock/nope", http.StatusNotFound},
		{http.MethodGet, "/_mock/reset", http.StatusMethodNotAllowed},
		{http.MethodPost, "/_mock/requests", http.StatusMethodNotAllowed},
		{http.MethodPost, "/_mock/fail-next?fault=500", http.StatusBadRequest},
		{http.MethodPost, "/_mock/fail-next?fault=503&n=x", http.StatusBadRequest},
		{http.MethodGet, "/_mock/count?status=x", http.StatusBadRequest},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, s.do(t, tt.method, tt.path, "").StatusCode, tt.method+" "+tt.path)
	}
}

func TestControlDisabled(t *testing.T) {
	t.Parallel()
	s := start(t, "-control-path", "")
	require.Equal(t, http.StatusNotFound, s.do(t, http.MethodGet, "/_mock/requests", "").StatusCode)
	require.Equal(t, http.StatusCreated, s.do(t, http.MethodPut, "/_mock/reset", "{}").StatusCode, "an ordinary document")
	require.NoError(t, s.stop())
}

func mustRequest(t *testing.T, method, url, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	require.NoError(t, err)
	return req
}

func getJSON(t *testing.T, s *server, path string, out any) {
	t.Helper()
	resp, err := s.client.Do(mustRequest(t, http.MethodGet, s.url+path, ""))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
}
