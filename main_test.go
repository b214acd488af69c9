package optimist_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests: a retry
// wait, a group-commit committer, a poll or a connection left running.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The client's documented defaults that the external tests rely on.
const (
	defaultMemoryEntries     = 10_000
	defaultMemoryBytes       = 64 << 20
	defaultMaxBodyBytes      = 32 << 20
	defaultMaxErrorBodyBytes = 64 << 10
	defaultMaxRetryAfter     = time.Minute
)
