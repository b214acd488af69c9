//go:build !unix

package optimist_test

import "time"

// processCPU is not measured here: the paired benchmarks then report
// their time ratios only.
func processCPU() (time.Duration, bool) { return 0, false }
