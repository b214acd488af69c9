package interop_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optimist-go/optimist"
)

// A target is one server in one client configuration: how to make its
// counter resource, the client options, and how to read the count back
// without optimist.
type target struct {
	// name is the server and configuration, e.g. "pouchdb/_rev"; it is
	// the key prefix of knownBroken.
	name string
	// config is the client configuration, as the README documents it.
	config []optimist.Option
	// header is sent with every request (credentials, API versions), as
	// request options in the context.
	header http.Header
	// setup makes a counter at 0 for one run and returns its URL.
	setup func(t *testing.T, run string) string
	// count reads the counter with a plain HTTP client.
	count func(t *testing.T, url string) int
	// increment adds one through c; nil means optimist.Update.
	increment func(ctx context.Context, c *optimist.Client, url string) error
	// control marks a server that ignores preconditions: without a probe
	// no client can keep its updates, so losses are measured, not failed.
	control bool
	// probing marks a target behind WithPreconditionCheck on a server
	// that honours If-Match: a call may be held back, unsent, when its
	// client's probe finds the resource changing under other writers.
	probing bool
	// budget, when longer than the run budget, bounds each run instead:
	// for a server that is exact but slow.
	budget time.Duration
	// racy names a server whose own precondition check is not atomic:
	// every call must land, but its losses are the server's, measured and
	// reported rather than failed.
	racy string
	// losesLocks names how a server loses a lock a client holds now and
	// then: the counter must be exact, and a call that fails because its
	// lock was lost is reported, not failed.
	losesLocks string
	// loads, when set, replaces the default loads: for a server that is
	// exact but slow by design (one write a second per file).
	loads []load
	// refuses marks a control behind WithPreconditionCheck: the counter
	// must match the calls that returned nil, and writes be refused. (Other
	// honest errors may occur: x/net/webdav serves a file half-written by
	// a concurrent probe, which is not JSON.)
	refuses bool
}

// A mode is how the writers share clients.
type mode struct {
	name   string
	shared bool
}

var (
	modes = []mode{{"shared", true}, {"per-writer", false}}
	loads = []load{{8, 25}, {32, 10}}
)

// A load is how many writers make how many increments each.
type load struct{ writers, increments int }

// counter is the document every JSON target holds.
type counter struct {
	Count int `json:"count"`
}

func jsonIncrement(ctx context.Context, c *optimist.Client, url string) error {
	_, err := optimist.Update(ctx, c, url, func(v *counter) error { v.Count++; return nil })
	return err
}

// result is what one run measured.
type result struct {
	run                    string
	ok, unknown, notTried  int
	calls, final, writes   int
	refused                int
	kinds                  map[string]int
	elapsed                time.Duration
	consistent, allLanded  bool
	firstError, lostReport string
}

// runTarget runs every mode and load against tg and prints its table.
func runTarget(t *testing.T, tg target) {
	var results []result
	runLoads := loads
	if tg.loads != nil {
		runLoads = tg.loads
	}
	for _, m := range modes {
		for _, l := range runLoads {
			run := fmt.Sprintf("%s/%dx%d", m.name, l.writers, l.increments)
			t.Run(run, func(t *testing.T) {
				res := measure(t, tg, m, l.writers, l.increments, run)
				results = append(results, res)
				judge(t, tg, m, res)
			})
		}
	}
	printTable(tg.name, results)
}

// measure runs writers × increments increments of a fresh counter.
func measure(t *testing.T, tg target, m mode, writers, increments int, run string) result {
	// A fresh resource per run, named apart from those of earlier runs
	// against the same server.
	id := strings.NewReplacer("/", "-", "+", "-", "_", "").Replace(tg.name+"-"+run) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	url := tg.setup(t, id)
	initial := tg.count(t, url)
	ctx, cancel := context.WithTimeout(t.Context(), max(runBudget(), tg.budget))
	defer cancel()
	ctx = withHeader(ctx, tg.header)
	inc := tg.increment
	if inc == nil {
		inc = jsonIncrement
	}
	var writes atomic.Int64
	newClient := func() *optimist.Client {
		hc := &http.Client{Transport: &countingTransport{next: newTransport(), writes: &writes}}
		return optimist.New(append([]optimist.Option{optimist.WithHTTPClient(hc)}, tg.config...)...)
	}
	shared := newClient()
	res := result{run: run, kinds: map[string]int{}, calls: writers * increments}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range writers {
		c := shared
		if !m.shared {
			c = newClient()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.CloseIdleConnections()
			for i := range increments {
				if ctx.Err() != nil {
					mu.Lock()
					res.notTried += increments - i
					res.kinds["not tried (run budget spent)"] += increments - i
					mu.Unlock()
					return
				}
				err := inc(ctx, c, url)
				mu.Lock()
				res.record(err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	shared.CloseIdleConnections()
	res.final = tg.count(t, url) - initial
	res.writes = int(writes.Load())
	res.consistent = res.final >= res.ok && res.final <= res.ok+res.unknown
	res.allLanded = res.ok == res.calls
	return res
}

// record sorts one call's outcome.
func (r *result) record(err error) {
	kind, unknown := classify(err)
	r.kinds[kind]++
	switch {
	case err == nil:
		r.ok++
	case errors.Is(err, optimist.ErrPreconditionsIgnored):
		r.refused++
	case unknown:
		r.unknown++
	}
	if err != nil && r.firstError == "" {
		r.firstError = err.Error()
	}
}

const heldBack = "held back: probe inconclusive"

// bounded counts the calls that ended in an honest error a correct
// client may give under this contention: the conflict bound
// (WithConflictRetries: 25 attempts, 30 s) reached, and for a probing
// target a write held back unsent. Every other error fails the run.
func (r *result) bounded(tg target) int {
	n := r.kinds["gave up: attempts exhausted"] + r.kinds["gave up: time exhausted"]
	if tg.probing {
		n += r.kinds[heldBack]
	}
	return n
}

// classify names an outcome, and says whether the call may have landed
// although it returned an error.
func classify(err error) (kind string, unknown bool) {
	var (
		ce *optimist.ConflictError
		se *optimist.StatusError
		te *optimist.TransportError
	)
	switch {
	case err == nil:
		return "ok", false
	case errors.Is(err, optimist.ErrPreconditionsIgnored):
		return "refused: server ignores preconditions", false
	case errors.As(err, &ce) && strings.HasPrefix(ce.Reason, "outcome unknown"):
		return "outcome unknown", true
	case errors.As(err, &ce):
		reason := ce.Reason
		if i := strings.Index(reason, ` W/"`); i >= 0 {
			reason = reason[:i]
		}
		return "gave up: " + reason, false
	case strings.Contains(err.Error(), "optimist: probe "):
		return heldBack, false // the guard sent nothing
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "run budget spent mid-call", true
	case errors.As(err, &te):
		return "transport error", true
	case errors.As(err, &se) && se.StatusCode >= 500:
		return fmt.Sprintf("status %d", se.StatusCode), true
	case errors.As(err, &se):
		return fmt.Sprintf("status %d", se.StatusCode), false
	case errors.Is(err, optimist.ErrNotJSON):
		return "not JSON", false
	}
	return "other: " + truncate(err.Error(), 60), false
}

// judge fails the run unless it is consistent (the counter moved by the
// calls that returned nil, plus at most those whose outcome is unknown)
// and, on a server that honours preconditions, every call landed or hit
// the conflict bound (see bounded). A
// known-broken run is skipped with its numbers instead; a control's
// losses are reported.
func judge(t *testing.T, tg target, m mode, res result) {
	t.Logf("%s: %d calls, %d nil, %d unknown, counter +%d, %d writes, %s; %s",
		res.run, res.calls, res.ok, res.unknown, res.final, res.writes, res.elapsed.Round(time.Millisecond), kindsText(res.kinds))
	var problem string
	switch {
	case !res.consistent && tg.racy != "":
		t.Logf("the server's own race (%s): counter moved by %d, %d calls returned nil, %d unknown",
			tg.racy, res.final, res.ok, res.unknown)
		if res.ok+res.bounded(tg) != res.calls {
			problem = fmt.Sprintf("only %d of %d updates landed (first error: %s)", res.ok, res.calls, res.firstError)
		}
	case !res.consistent:
		problem = fmt.Sprintf("counter moved by %d, but %d calls returned nil and %d have an unknown outcome",
			res.final, res.ok, res.unknown)
	case tg.refuses && res.refused == 0:
		problem = "WithPreconditionCheck refused nothing"
	case tg.losesLocks != "" && res.ok+res.bounded(tg) != res.calls:
		t.Logf("the server lost a lock (%s): %d of %d updates failed honestly (first error: %s)",
			tg.losesLocks, res.calls-res.ok, res.calls, res.firstError)
	case !tg.control && !tg.refuses && res.ok+res.bounded(tg) != res.calls:
		problem = fmt.Sprintf("only %d of %d updates landed (first error: %s)", res.ok, res.calls, res.firstError)
	}
	if problem == "" {
		if reason, ok := knownBroken[tg.name+"/"+m.name]; ok {
			t.Logf("PASSES NOW: remove %q from knownBroken (%s)", tg.name+"/"+m.name, reason)
		}
		return
	}
	if tg.control {
		t.Logf("control: %s: expected of a server that ignores preconditions, and why WithPreconditionCheck exists", problem)
		return
	}
	if reason, ok := knownBroken[tg.name+"/"+m.name]; ok {
		t.Skipf("known broken (%s): %s", reason, problem)
	}
	t.Errorf("%s: %s", tg.name, problem)
}

func kindsText(kinds map[string]int) string {
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s %d", k, kinds[k])
	}
	return strings.Join(parts, ", ")
}

// printTable prints one server's runs: expected (calls that returned nil,
// plus those of unknown outcome) against the final count, errors by kind,
// and writes per update.
func printTable(name string, results []result) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n== interop %s\n", name)
	fmt.Fprintf(&b, "%-18s %-12s %6s %10s %9s %8s  %s\n", "run", "expected", "final", "writes/upd", "time", "verdict", "outcomes")
	for _, r := range results {
		expected := fmt.Sprint(r.ok)
		if r.unknown > 0 {
			expected = fmt.Sprintf("%d..%d", r.ok, r.ok+r.unknown)
		}
		perUpdate := "-"
		if r.final > 0 {
			perUpdate = fmt.Sprintf("%.2f", float64(r.writes)/float64(r.final))
		}
		verdict := "exact"
		switch {
		case !r.consistent:
			verdict = "LOST"
		case r.refused+r.ok == r.calls && r.refused > 0:
			verdict = "refused"
		case !r.allLanded:
			verdict = "partial"
		}
		fmt.Fprintf(&b, "%-18s %-12s %6d %10s %9s %8s  %s\n", r.run, expected, r.final, perUpdate,
			r.elapsed.Round(10*time.Millisecond), verdict, kindsText(r.kinds))
	}
	fmt.Fprint(os.Stdout, b.String())
}

// runBudget bounds one run: OPTIMIST_INTEROP_RUN_BUDGET (a Go duration),
// default 20 s. Calls not started by then are counted as not tried.
func runBudget() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("OPTIMIST_INTEROP_RUN_BUDGET")); err == nil && d > 0 {
		return d
	}
	return 20 * time.Second
}

// serverURL returns the URL the start script exported in env, or skips t.
func serverURL(t *testing.T, env string) string {
	t.Helper()
	u := os.Getenv(env)
	if u == "" {
		t.Skipf("%s is not set: start the server with interop/start.sh and source $OPTIMIST_INTEROP_STATE/env (see interop/README.md)", env)
	}
	return strings.TrimRight(u, "/")
}

func withHeader(ctx context.Context, h http.Header) context.Context {
	var opts []optimist.RequestOption
	for k, vs := range h {
		for _, v := range vs {
			opts = append(opts, optimist.Header(k, v))
		}
	}
	if len(opts) == 0 {
		return ctx
	}
	return optimist.NewContext(ctx, opts...)
}

// countingTransport counts the writes a run sends.
type countingTransport struct {
	next   http.RoundTripper
	writes *atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	switch r.Method {
	case http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete:
		c.writes.Add(1)
	}
	return c.next.RoundTrip(r)
}

// newTransport is a pool of its own, as a separate process would have.
func newTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return tr
}

// plain sends one request without optimist and returns the status and
// body; it fails t on a transport error.
func plain(t *testing.T, method, url string, header http.Header, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("%s %s: reading: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, data
}

// mustStatus is plain that fails t unless the status is one of want.
func mustStatus(t *testing.T, method, url string, header http.Header, body string, want ...int) []byte {
	t.Helper()
	status, _, data := plain(t, method, url, header, body)
	for _, w := range want {
		if status == w {
			return data
		}
	}
	t.Fatalf("%s %s: status %d, want %v: %s", method, url, status, want, truncate(string(data), 300))
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
