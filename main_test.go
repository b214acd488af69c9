package optimist_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests: a retry
// wait, a group-commit committer, a poll or a connection left running.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
