// Command contend measures separate processes incrementing one counter:
// it starts a mock server in a process of its own, then worker processes
// (itself again, each with its own optimist.Client): one alone for the
// baseline rate, then -p of them at once, each doing -n increments, then
// one alone again; each single worker does half as many increments as
// the -p workers together. A phase's clock starts once all its workers
// have started and said they are ready, so process start-up is not
// counted. It checks that each counter ends exact and prints
// benchmark-style lines: the rate, efficiency (the rate of -p workers over
// the mean of the two single workers' rates, measured in the same run, one
// before and one after), idle-gaps and idle-ms (the gaps of more than 1 ms
// between successive writes of the phase's counter, and their total: time
// the server applied nothing while writers waited, which a shared
// machine's stolen CPU time makes too), the p50 and p99 of one Update's
// latency, starved workers (those that took more than half the phase for
// their first increment) and gave-up, the Updates that reached the
// conflict bound (an error matching optimist.ErrConflict, nothing of them
// written; the worker makes the increment again).
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
	"sync"
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
		err = work(*url, *n, os.Stdin, os.Stdout)
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

// serve runs a mock server on 127.0.0.1 with the counters, prints its
// URL, and answers each line read from stdin, a counter's path, with that
// counter's idle time (see idleTimes) as "gaps total-ns". It serves until
// stdin closes. The server keeps no request log: its counters are read
// back by GET, and a log would make its garbage collector mark every
// request kept.
func serve(stdin io.Reader, stdout io.Writer) error {
	idle := &idleTimes{last: map[string]time.Time{}, gaps: map[string]gapSum{}}
	s := mock.NewServer(mock.WithLogLimit(0), mock.WithObserver(idle.observe))
	defer s.Close()
	for _, p := range []string{"/counters/before", "/counters/many", "/counters/after"} {
		if err := s.Seed(p, []byte(`{"n":0}`)); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, s.URL)
	lines := bufio.NewScanner(stdin)
	for lines.Scan() {
		g := idle.of(lines.Text())
		fmt.Fprintln(stdout, g.n, g.total.Nanoseconds())
	}
	return lines.Err()
}

// idleTimes sums, per counter, the gaps of more than a millisecond between
// successive successful writes: time in which the server, with writers
// waiting, applied none of their increments.
type idleTimes struct {
	mu   sync.Mutex
	last map[string]time.Time
	gaps map[string]gapSum
}

type gapSum struct {
	n     int
	total time.Duration
}

func (t *idleTimes) observe(r mock.Request) {
	if r.Method != http.MethodPut || r.Status != http.StatusOK {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.last[r.Path]; ok {
		if d := r.Time.Sub(last); d > time.Millisecond {
			g := t.gaps[r.Path]
			t.gaps[r.Path] = gapSum{g.n + 1, g.total + d}
		}
	}
	t.last[r.Path] = r.Time
}

func (t *idleTimes) of(path string) gapSum {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.gaps[path]
}

// work prints a line saying it is ready, waits for a line on stdin, then
// increments the counter at url n times and prints its report as JSON.
// An Update that reached the conflict bound wrote nothing: it is counted
// and the increment made again.
func work(url string, n int, stdin io.Reader, stdout io.Writer) error {
	c, ctx := optimist.New(), context.Background()
	rep := report{LatencyMicros: make([]int64, 0, n)}
	if _, err := fmt.Fprintln(stdout, "ready"); err != nil {
		return err
	}
	if _, err := bufio.NewReader(stdin).ReadString('\n'); err != nil {
		return fmt.Errorf("waiting for the start: %w", err)
	}
	for len(rep.LatencyMicros) < n {
		t0 := time.Now()
		_, err := optimist.Update(ctx, c, url, func(v *counter) error {
			v.N++
			return nil
		})
		if errors.Is(err, optimist.ErrConflict) {
			rep.GaveUp++
			continue
		}
		if err != nil {
			return err
		}
		rep.LatencyMicros = append(rep.LatencyMicros, time.Since(t0).Microseconds())
	}
	return json.NewEncoder(stdout).Encode(rep)
}

// report is what a worker prints: the latency of each increment, and the
// Updates that gave up at the conflict bound.
type report struct {
	LatencyMicros []int64 `json:"latency_us"`
	GaveUp        int     `json:"gave_up"`
}

// run starts the server, runs a single worker, then procs workers, then a
// single worker again, and prints the phases' lines, the contended one
// last with its efficiency.
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
	replies := bufio.NewReader(out)
	base, err := replies.ReadString('\n')
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	base = strings.TrimSpace(base)
	// The two single phases together make as many increments as the
	// contended one: a short baseline would be the noisiest term.
	singleN := max(1, procs*n/2)
	idle := func(path string) (string, error) {
		var gaps int
		var nanos int64
		if _, err := fmt.Fprintln(stdin, path); err != nil {
			return "", err
		}
		if _, err := fmt.Fscanln(replies, &gaps, &nanos); err != nil {
			return "", fmt.Errorf("server: idle time: %w", err)
		}
		return fmt.Sprintf("\t%d idle-gaps\t%8.1f idle-ms", gaps, float64(nanos)/1e6), nil
	}
	var rates [3]float64
	var lines [3]string
	for i, p := range []struct {
		path     string
		procs, n int
	}{{"/counters/before", 1, singleN}, {"/counters/many", procs, n}, {"/counters/after", 1, singleN}} {
		res, err := phase(self, base+p.path, p.procs, p.n)
		if err != nil {
			return err
		}
		gaps, err := idle(p.path)
		if err != nil {
			return err
		}
		rates[i], lines[i] = res.rate, res.line+gaps
	}
	fmt.Fprintln(stdout, lines[0])
	fmt.Fprintln(stdout, lines[2])
	fmt.Fprintf(stdout, "%s\t%6.3f efficiency\n", lines[1], rates[1]/((rates[0]+rates[2])/2))
	return nil
}

// phaseResult is one phase's rate and its benchmark-style line.
type phaseResult struct {
	rate float64
	line string
}

// phase runs procs workers on url at once, checks the counter and returns
// the rate and line of the phase. The clock starts when every worker is
// ready.
func phase(self, url string, procs, n int) (phaseResult, error) {
	workers := make([]*worker, procs)
	for i := range workers {
		w, err := startWorker(self, url, n)
		if err != nil {
			return phaseResult{}, fmt.Errorf("worker %d: %w", i, err)
		}
		defer w.stop()
		workers[i] = w
	}
	start := time.Now()
	for _, w := range workers {
		if err := w.begin(); err != nil {
			return phaseResult{}, err
		}
	}
	var all []int64
	starved, gaveUp := 0, 0
	for i, w := range workers {
		rep, err := w.result()
		if err != nil {
			return phaseResult{}, fmt.Errorf("worker %d: %w", i, err)
		}
		lat := rep.LatencyMicros
		all = append(all, lat...)
		gaveUp += rep.GaveUp
		if len(lat) > 0 && time.Duration(lat[0])*time.Microsecond > time.Since(start)/2 {
			starved++
		}
	}
	elapsed := time.Since(start)
	if err := check(url, procs*n); err != nil {
		return phaseResult{}, err
	}
	slices.Sort(all)
	rate := float64(procs*n) / elapsed.Seconds()
	line := fmt.Sprintf("processes=%d\t%d\t%12.0f ns/op\t%10.1f updates/s\t%8.3f p50-ms\t%8.3f p99-ms\t%d starved\t%d gave-up",
		procs, procs*n, float64(elapsed.Nanoseconds())/float64(procs*n), rate,
		ms(all[len(all)/2]), ms(all[min(len(all)-1, len(all)*99/100)]), starved, gaveUp)
	return phaseResult{rate: rate, line: line}, nil
}

// worker is a started worker process that has said it is ready.
type worker struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

func startWorker(self, url string, n int) (*worker, error) {
	cmd := exec.Command(self, "-role", "worker", "-url", url, "-n", fmt.Sprint(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &worker{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	if line, err := w.out.ReadString('\n'); err != nil || line != "ready\n" {
		w.stop()
		return nil, fmt.Errorf("not ready: %q, %v", line, err)
	}
	return w, nil
}

// begin tells the worker to start incrementing.
func (w *worker) begin() error {
	_, err := io.WriteString(w.stdin, "go\n")
	return err
}

// result waits for the worker and returns its report.
func (w *worker) result() (report, error) {
	var rep report
	if err := json.NewDecoder(w.out).Decode(&rep); err != nil {
		return rep, err
	}
	return rep, w.cmd.Wait()
}

// stop ends the worker if it is still running; it is a no-op after result.
func (w *worker) stop() {
	_ = w.stdin.Close()
	if w.cmd.ProcessState == nil {
		_ = w.cmd.Process.Kill()
		_ = w.cmd.Wait()
	}
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
