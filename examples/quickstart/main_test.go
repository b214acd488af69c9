package main

import (
	"flag"
	"testing"

	"github.com/optimist-go/optimist/examples/internal/demotest"
	"github.com/optimist-go/optimist/mock"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	t.Parallel()
	demotest.Output(t, run, nil,
		"final count 80 of 80;",
		`both changed /tags (ours ["hardware","office"], theirs ["hardware","urgent"])`,
		`saved: {"title":"Printer jammed on floor 3","tags":["hardware","urgent","office"]}`,
		"POST /jobs: 202 Accepted, status at /jobs/1\n   running 25%\n   running 50%\n   running 75%\n   succeeded 100%\n",
		`result: {"file":"report.csv","rows":1200}`,
	)
}

// The example runs against a server it did not start, and again.
func TestRunWithURL(t *testing.T) {
	t.Parallel()
	srv := mock.NewServer(mock.WithRequireIfMatch())
	t.Cleanup(srv.Close)
	for range 2 {
		demotest.Output(t, run, []string{"-url", srv.URL}, "final count 80 of 80;", "succeeded 100%")
	}
	body, _, ok := srv.Document("/quickstart/tickets/7")
	require.True(t, ok)
	require.JSONEq(t, `{"title":"Printer jammed on floor 3","tags":["hardware","urgent","office"]}`, string(body))
}

func TestRunBadFlag(t *testing.T) {
	t.Parallel()
	demotest.Fails(t, run, "-nope")
}

// -v shows the wire: the stale write's If-Match, its 412 and the re-read.
func TestRunVerbose(t *testing.T) {
	t.Parallel()
	out := demotest.Output(t, run, []string{"-v"},
		"   < 412 Precondition Failed\n   > GET /quickstart/tickets/7  If-None-Match: \"",
		"   > POST /jobs\n   < 202 Accepted\n",
	)
	require.Regexp(t, `> PUT /quickstart/tickets/7  If-Match: "\d+"\n   < 412 Precondition Failed`, out)
}

func TestRunHelp(t *testing.T) {
	t.Parallel()
	err := demotest.Fails(t, run, "-h")
	require.ErrorIs(t, err, flag.ErrHelp, "demo.Main exits 0 on it")
}
