// Command counter runs N goroutines that each increment one field of one
// document with optimist.Update, and reports how many writes and
// conflicts it took. Every increment lands: the final count is exact,
// with or without injected faults.
//
//	go run ./examples/counter -writers 16 -increments 25
//	go run ./examples/counter -rate-503 0.2 -rate-reset 0.05 -rate-lost 0.05
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/examples/internal/demo"
	"github.com/optimist-go/optimist/mock"
)

func main() { demo.Main(run) }

type counter struct {
	Count int `json:"count"`
}

type settings struct {
	writers, increments int
	shared              bool
	faults              mock.Faults
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var s settings
	f, err := demo.Parse("counter", args, stderr, func(fs *flag.FlagSet) {
		fs.IntVar(&s.writers, "writers", 16, "concurrent writers")
		fs.IntVar(&s.increments, "increments", 25, "increments per writer")
		fs.BoolVar(&s.shared, "shared", false, "share one client (group commit) instead of one per writer")
		fs.Float64Var(&s.faults.Rate503, "rate-503", 0, "fraction of requests the in-process mock answers 503")
		fs.Float64Var(&s.faults.RateReset, "rate-reset", 0, "fraction of connections the in-process mock resets")
		fs.Float64Var(&s.faults.RateLost, "rate-lost", 0, "fraction of requests the in-process mock applies but never answers")
	})
	if err != nil {
		return err
	}
	base, srv, stop := demo.Server(f, mock.WithFaults(s.faults))
	defer stop()
	url := base + "/counters/visits"
	if err := create(ctx, url); err != nil {
		return err
	}

	var conflicts atomic.Int64
	newClient := func() *optimist.Client {
		return optimist.New(
			optimist.WithIdempotencyKeys(), // a re-sent write is recognised, never applied twice
			optimist.WithRetry(optimist.RetryOptions{MaxRetries: 10}),
			optimist.WithConflicts(optimist.ConflictOptions{OnConflict: func(*optimist.Conflict, error) { conflicts.Add(1) }}),
		)
	}
	start, err := read(ctx, newClient(), url)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d writers x %d increments, starting at %d\n", s.writers, s.increments, start)
	if err := increment(ctx, s, url, newClient); err != nil {
		return err
	}
	final, err := read(ctx, newClient(), url)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "conflicts resolved: %d\n", conflicts.Load())
	if srv != nil {
		fmt.Fprintf(stdout, "writes sent: %d\n", srv.Count("PUT", 0))
		fmt.Fprintf(stdout, "faults injected: %s\n", faultsSeen(srv))
	}
	fmt.Fprintf(stdout, "final count: %d (expected %d)\n", final, start+s.writers*s.increments)
	if final != start+s.writers*s.increments {
		return fmt.Errorf("lost or doubled updates: got %d", final)
	}
	return nil
}

func increment(ctx context.Context, s settings, url string, newClient func() *optimist.Client) error {
	shared := newClient()
	var (
		wg       sync.WaitGroup
		firstErr error
		once     sync.Once
	)
	for range s.writers {
		c := shared
		if !s.shared {
			c = newClient()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range s.increments {
				if _, err := optimist.Update(ctx, c, url, func(v *counter) error {
					v.Count++
					return nil
				}); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// create creates the counter at url unless it exists.
func create(ctx context.Context, url string) error {
	_, err := optimist.New().Put(ctx, url, counter{}, nil, optimist.CreateOnly())
	if errors.Is(err, optimist.ErrConflict) {
		return nil
	}
	return err
}

// faultsSeen tallies the faults srv injected, "none" if it injected none.
func faultsSeen(srv *mock.Server) string {
	n := map[mock.Fault]int{}
	for _, r := range srv.Requests() {
		n[r.Fault]++
	}
	var parts []string
	for f := mock.Fault503; f <= mock.FaultLostResponse; f++ {
		if n[f] > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d", f, n[f]))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func read(ctx context.Context, c *optimist.Client, url string) (int, error) {
	var v counter
	_, err := c.Get(ctx, url, &v)
	return v.Count, err
}
