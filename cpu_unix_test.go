//go:build unix

package optimist_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the process has used so far, user and
// system, all goroutines and the server's in the same process included.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
