package demo

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// -h prints the usage and exits 0; other errors exit 1 and say why.
func TestExitCode(t *testing.T) {
	t.Parallel()
	var usage bytes.Buffer
	_, err := Parse("quickstart", []string{"-h"}, &usage, nil)
	require.Error(t, err)
	require.Contains(t, usage.String(), "-url")
	var stderr bytes.Buffer
	require.Zero(t, ExitCode(err, &stderr))
	require.Empty(t, stderr.String(), "no error: flag: help requested")

	require.Equal(t, 1, ExitCode(errors.New("boom"), &stderr))
	require.Equal(t, "error: boom\n", stderr.String())
	require.Zero(t, ExitCode(nil, &stderr))
}
