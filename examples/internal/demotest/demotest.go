// Package demotest runs an example's run function in a test.
package demotest

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// Run is the signature of every example's run function.
type Run func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// Output runs run with args, requires it to succeed (the example's exit
// status 0) and to print each of lines, and returns what it printed.
func Output(t *testing.T, run Run, args []string, lines ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), args, &stdout, &stderr)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	for _, line := range lines {
		require.Contains(t, stdout.String(), line)
	}
	return stdout.String()
}

// Fails runs run with args and requires it to fail (exit status 1 or 2).
func Fails(t *testing.T, run Run, args ...string) error {
	t.Helper()
	err := run(t.Context(), args, io.Discard, io.Discard)
	require.Error(t, err)
	return err
}
