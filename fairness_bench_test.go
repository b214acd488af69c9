package optimist_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optimist-go/optimist"
)

// BenchmarkFairness: writers with a client each (optimist.New() per
// writer, as separate processes would have) increment one counter for a
// fixed window. It reports the rate, efficiency (the rate over the
// single-writer rate measured first in the same run), the p50 and p99 of
// one Update's latency, starved-writers, the writers that completed
// nothing in the window, and gave-up, the Updates that reached the
// conflict bound (an error matching ErrConflict, nothing of them
// written). Each iteration is one window: run it with -benchtime=1x.
func BenchmarkFairness(b *testing.B) {
	var single float64
	b.Run("writers=1", func(b *testing.B) {
		for b.Loop() {
			single = fairnessWindow(b, 1, time.Second).rate
		}
	})
	for _, writers := range []int{16, 128} {
		b.Run(fmt.Sprintf("writers=%d/separate-clients", writers), func(b *testing.B) {
			var w windowResult
			for b.Loop() {
				w = fairnessWindow(b, writers, 2*time.Second)
			}
			if single > 0 {
				b.ReportMetric(w.rate/single, "efficiency")
			}
		})
	}
}

type windowResult struct{ rate float64 }

// fairnessWindow runs writers for window, checks that no increment was
// lost, and reports the metrics of the window.
func fairnessWindow(b *testing.B, writers int, window time.Duration) windowResult {
	s := newBenchServer()
	defer s.Close()
	if err := s.Seed("/counters/c", []byte(`{"n":0}`)); err != nil {
		b.Fatal(err)
	}
	url := s.URL + "/counters/c"
	var (
		stop      atomic.Bool
		mu        sync.Mutex
		latencies []time.Duration
		done      = make([]int, writers)
		total     atomic.Int64
		gaveUp    atomic.Int64
	)
	start := time.Now()
	end := start.Add(window)
	timer := time.AfterFunc(window, func() { stop.Store(true) })
	defer timer.Stop()
	runWriters(writers, func(i int) error {
		c := optimist.New()
		var mine []time.Duration
		for !stop.Load() {
			t0 := time.Now()
			_, err := optimist.Update(context.Background(), c, url, func(v *counter) error {
				v.N++
				return nil
			})
			if errors.Is(err, optimist.ErrConflict) {
				gaveUp.Add(1) // the bound was reached: reported, nothing written
				continue
			}
			if err != nil {
				b.Error(err)
				return err
			}
			t1 := time.Now()
			total.Add(1)
			if t1.Before(end) {
				done[i]++
				mine = append(mine, t1.Sub(t0))
			}
		}
		mu.Lock()
		latencies = append(latencies, mine...)
		mu.Unlock()
		return nil
	})
	elapsed := time.Since(start)
	body, _, _ := s.Document("/counters/c")
	if want := `{"n":` + strconv.FormatInt(total.Load(), 10) + `}`; string(body) != want {
		b.Fatalf("lost updates: got %s, want %s", body, want)
	}
	slices.Sort(latencies)
	starved := 0
	for _, n := range done {
		if n == 0 {
			starved++
		}
	}
	rate := float64(total.Load()) / elapsed.Seconds()
	b.ReportMetric(rate, "updates/s")
	b.ReportMetric(ms(quantile(latencies, 0.50)), "p50-ms")
	b.ReportMetric(ms(quantile(latencies, 0.99)), "p99-ms")
	b.ReportMetric(float64(starved), "starved-writers")
	b.ReportMetric(float64(gaveUp.Load()), "gave-up")
	b.ReportMetric(float64(s.Count(http.MethodPut, 0))/float64(total.Load()), "attempts/update")
	return windowResult{rate: rate}
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
