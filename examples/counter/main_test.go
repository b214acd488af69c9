package main

import (
	"regexp"
	"testing"

	"github.com/optimist-go/optimist/examples/internal/demotest"
	"github.com/optimist-go/optimist/mock"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"defaults", nil, []string{"16 writers x 25 increments, starting at 0", "final count: 400 (expected 400)",
			"faults injected: none"}},
		{"shared client", []string{"-writers", "8", "-increments", "10", "-shared"},
			[]string{"final count: 80 (expected 80)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			demotest.Output(t, run, tt.args, tt.want...)
		})
	}
}

// With 20 % of requests answered 503, 5 % of connections reset and 5 % of
// requests applied but never answered, every increment still lands once.
func TestRunWithFaults(t *testing.T) {
	t.Parallel()
	out := demotest.Output(t, run,
		[]string{"-writers", "8", "-increments", "20", "-rate-503", "0.2", "-rate-reset", "0.05", "-rate-lost", "0.05"},
		"final count: 160 (expected 160)")
	injected := regexp.MustCompile(`faults injected: 503: \d+, reset: \d+, lost-response: \d+`)
	require.Regexp(t, injected, out, "every kind of fault happened")
}

func TestRunWithURL(t *testing.T) {
	t.Parallel()
	srv := mock.NewServer()
	t.Cleanup(srv.Close)
	demotest.Output(t, run, []string{"-url", srv.URL, "-writers", "4", "-increments", "5"}, "final count: 20 (expected 20)")
	demotest.Output(t, run, []string{"-url", srv.URL, "-writers", "4", "-increments", "5"},
		"starting at 20", "final count: 40 (expected 40)")
}

func TestRunBadFlag(t *testing.T) {
	t.Parallel()
	demotest.Fails(t, run, "-writers", "many")
}
