package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "resume-token")
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"-duration", "300ms", "-state", state}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())

	out := stdout.String()
	for _, want := range []string{
		"submitted: 202 Accepted, status at http://127.0.0.1:",
		"  poll 1: running ",
		"saved the resume token to " + state + "\n",
		"resumed in a fresh client\n",
		"succeeded 100%\n",
		`result: {"report":"quarterly","rows":1200}` + "\n",
		"submitted a second job, with a callback URL\n",
		"called back; result: monthly report\n",
	} {
		require.Contains(t, out, want)
	}
	require.Less(t, strings.Index(out, "saved"), strings.Index(out, "resumed"))
	require.Empty(t, stderr.String())
}

func TestRunRejectsBadFlags(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	require.Error(t, run(t.Context(), []string{"-duration", "soon"}, &stdout, &stderr))
}
