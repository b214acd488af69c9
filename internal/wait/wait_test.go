package wait_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist/internal/wait"
)

func TestSleepEndsWithTheContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, wait.Sleep(ctx, time.Hour), context.Canceled)
	require.ErrorIs(t, wait.Sleep(ctx, 0), context.Canceled)
}

func TestSleepWaitsItsTime(t *testing.T) {
	t.Parallel()
	require.NoError(t, wait.Sleep(t.Context(), time.Millisecond))
	require.NoError(t, wait.Sleep(t.Context(), -time.Second))
}
