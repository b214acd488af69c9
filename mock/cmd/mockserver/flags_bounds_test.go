package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Rates must be numbers in [0, 1]; durations and counts must not be
// negative. Each gets a message naming the flag.
func TestFlagsRejectOutOfRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-rate-503", "NaN"}, "-rate-503"},
		{[]string{"-rate-lost", "1.5"}, "-rate-lost"},
		{[]string{"-rate-429", "-0.1"}, "-rate-429"},
		{[]string{"-latency", "-1s"}, "-latency"},
		{[]string{"-jitter", "-1ms"}, "-jitter"},
		{[]string{"-job-duration", "-5s"}, "-job-duration"},
		{[]string{"-job-polls", "-1"}, "-job-polls"},
		{[]string{"-fail-next", "503:-2"}, "-fail-next"},
	}
	for _, tt := range tests {
		t.Run(tt.args[0]+"="+tt.args[1], func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			_, err := parseFlags(tt.args, &stderr)
			require.ErrorIs(t, err, errUsage)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

// -h prints the usage and is no error.
func TestHelpIsNoError(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	_, err := parseFlags([]string{"-h"}, &stderr)
	require.True(t, err == nil || errors.Is(err, flag.ErrHelp))
	require.Contains(t, stderr.String(), "-seed")
	require.Zero(t, exitCode(err, io.Discard))
}

// The seed file the README names ships, and loads.
func TestREADMESeedFileShips(t *testing.T) {
	t.Parallel()
	path := filepath.Join("testdata", "docs.json")
	_, err := os.Stat(path)
	require.NoError(t, err)
	s := start(t, "-seed", path)
	resp := s.do(t, "GET", "/docs/a", "")
	require.Equal(t, 200, resp.StatusCode)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, s.stop())
}

// A huge count of queued faults, by flag or by the control API, is a
// count: the server starts and answers at once.
func TestHugeFailNextIsACount(t *testing.T) {
	t.Parallel()
	s := start(t, "-fail-next", "429:100000000")
	resp := s.do(t, "POST", "/_mock/fail-next?fault=503&n=100000000", "")
	require.Equal(t, 204, resp.StatusCode)
	require.NoError(t, resp.Body.Close())
	resp = s.do(t, "GET", "/docs/a", "")
	require.Equal(t, 429, resp.StatusCode)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, s.stop())
}
