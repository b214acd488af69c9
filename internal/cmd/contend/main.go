// Command contend measures separate processes incrementing one counter:
// it starts a mock server in a process of its own, then worker processes
// (itself again, each with its own optimist.Client), first one alone for
// the baseline rate, then -p of them at once, each doing -n increments.
// It checks that the counter ends exact and prints benchmark-style lines:
// the rate, efficiency (the rate of -p workers over the single worker's,
// measured in the same run), the p50 and p99 of one Update's latency, and
// starved workers (those that took more than half the run for their first
// increment).
//
// Usage:
//
//	go run ./internal/cmd/contend -p 16 -n 1000
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

func main() {
	role := flag.String("role", "", "internal: server or worker")
	url := flag.String("url", "", "internal: the counter a worker increments")
	procs := flag.Int("p", 16, "worker processes")
	n := flag.Int("n", 1000, "increments per worker")
	flag.Parse()
	var err error
	switch *role {
	case "server":
		err = serve(os.Stdin, os.Stdout)
	case "worker":
		err = work(*url, *n, os.Stdout)
	case "":
		err = run(*procs, *n, os.Stdout)
	default:
		err = fmt.Errorf("unknown role %q", *role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "contend:", err)
		os.Exit(1)
	}
}

type counter struct {
	N int `json:"n"`
}

// serve runs a mock server on 127.0.0.1 with two counters, prints its URL
// and serves until stdin closes.
func serve(stdin io.Reader, stdout io.Writer) error {
	s := mock.NewServer()
	defer s.Close()
	for _, p := range []string{"/counters/single", "/counters/many"} {
		if err := s.Seed(p, []byte(`{"n":0}`)); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, s.URL)
	_, err := io.Copy(io.Discard, stdin)
	return err
}

// work increments the counter at url n times and prints the latency of
// each increment, in microseconds, as one JSON array.
func work(url string, n int, stdout io.Writer) error {
	c, ctx := optimist.New(), context.Background()
	lat := make([]int64, 0, n)
	for range n {
		t0 := time.Now()
		if _, err := optimist.Update(ctx, c, url, func(v *counter) error {
			v.N++
			return nil
		}); err != nil {
			return err
		}
		lat = append(lat, time.Since(t0).Microseconds())
	}
	return json.NewEncoder(stdout).Encode(lat)
}

// run starts the server, runs the single worker and then procs workers,
// and prints the results.
func run(procs, n int, stdout io.Writer) error {
	if procs < 1 || n < 1 {
		return errors.New("-p and -n must be at least 1")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	srv := exec.Command(self, "-role", "server")
	stdin, err := srv.StdinPipe()
	if err != nil {
		return err
	}
	out, err := srv.StdoutPipe()
	if err != nil {
		return err
	}
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { _ = stdin.Close(); _ = srv.Wait() }()
	base, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	base = strings.TrimSpace(base)
	single, err := phase(self, base+"/counters/single", 1, n, stdout, 0)
	if err != nil {
		return err
	}
	_, err = phase(self, base+"/counters/many", procs, n, stdout, single)
	return err
}

// phase runs procs workers on url at once, checks the counter and prints
// one line; single, when not 0, is the baseline rate for efficiency.
func phase(self, url string, procs, n int, stdout io.Writer, single float64) (float64, error) {
	cmds := make([]*exec.Cmd, procs)
	outs := make([]*strings.Builder, procs)
	start := time.Now()
	for i := range cmds {
		outs[i] = &strings.Builder{}
		cmds[i] = exec.Command(self, "-role", "worker", "-url", url, "-n", fmt.Sprint(n))
		cmds[i].Stdout, cmds[i].Stderr = outs[i], os.Stderr
		if err := cmds[i].Start(); err != nil {
			return 0, err
		}
	}
	var all []int64
	starved := 0
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			return 0, fmt.Errorf("worker %d: %w", i, err)
		}
		var lat []int64
		if err := json.Unmarshal([]byte(outs[i].String()), &lat); err != nil {
			return 0, fmt.Errorf("worker %d: %w", i, err)
		}
		all = append(all, lat...)
		if len(lat) > 0 && time.Duration(lat[0])*time.Microsecond > time.Since(start)/2 {
			starved++
		}
	}
	elapsed := time.Since(start)
	if err := check(url, procs*n); err != nil {
		return 0, err
	}
	slices.Sort(all)
	rate := float64(procs*n) / elapsed.Seconds()
	line := fmt.Sprintf("processes=%d\t%d\t%12.0f ns/op\t%10.1f updates/s\t%8.3f p50-ms\t%8.3f p99-ms\t%d starved",
		procs, procs*n, float64(elapsed.Nanoseconds())/float64(procs*n), rate,
		ms(all[len(all)/2]), ms(all[min(len(all)-1, len(all)*99/100)]), starved)
	if single > 0 {
		line += fmt.Sprintf("\t%6.3f efficiency", rate/single)
	}
	fmt.Fprintln(stdout, line)
	return rate, nil
}

// check reads the counter and compares it with want.
func check(url string, want int) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var v counter
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return err
	}
	if v.N != want {
		return fmt.Errorf("lost updates: counter %d, want %d", v.N, want)
	}
	return nil
}

func ms(us int64) float64 { return float64(us) / 1000 }
