// Command quickstart shows optimist in three steps against the mock server
// (started in-process unless -url names another): concurrent writers that
// lose no update, a true conflict settled by the caller's strategy, and a
// 202 Accepted job followed to its result.
//
// With -v it prints the wire too: each request's method, URL and If-Match,
// and the status that answered it, so that the 412s and the re-reads
// behind each step show.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -v
//	go run ./examples/quickstart -url http://127.0.0.1:8080
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/examples/internal/demo"
)

func main() { demo.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var verbose bool
	f, err := demo.Parse("quickstart", args, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&verbose, "v", false, "print each request (method, URL, If-Match) and its status")
	})
	if err != nil {
		return err
	}
	base, srv, stop := demo.Server(f)
	defer stop()
	if srv != nil {
		fmt.Fprintf(stdout, "optimist quickstart, against the mock server started in-process at %s\n", base)
	} else {
		fmt.Fprintf(stdout, "optimist quickstart, against %s\n", base)
	}
	t := &tour{base: base}
	if verbose {
		t.wire = &wireLog{out: stdout, base: base, next: http.DefaultTransport.(*http.Transport).Clone()}
	}
	for _, step := range []func(context.Context, io.Writer, *tour) error{counter, trueConflict, job} {
		fmt.Fprintln(stdout)
		if err := step(ctx, stdout, t); err != nil {
			return err
		}
	}
	return nil
}

// tour is what the steps share: the server, and the wire log of -v.
type tour struct {
	base string
	wire *wireLog // nil without -v
}

// newClient returns a client that sends through the wire log, if any.
func (t *tour) newClient(opts ...optimist.Option) *optimist.Client {
	if t.wire != nil {
		opts = append(opts, optimist.WithHTTPClient(&http.Client{Transport: t.wire}))
	}
	return optimist.New(opts...)
}

// wireLog prints each request a client sends and the status it gets, one
// line each, for -v.
type wireLog struct {
	mu   sync.Mutex
	out  io.Writer
	base string
	next http.RoundTripper
}

func (w *wireLog) RoundTrip(req *http.Request) (*http.Response, error) {
	line := "   > " + req.Method + " " + strings.TrimPrefix(req.URL.String(), w.base)
	for _, h := range []string{"If-Match", "If-None-Match"} {
		if v := req.Header.Get(h); v != "" {
			line += "  " + h + ": " + v
		}
	}
	resp, err := w.next.RoundTrip(req)
	answer := "error: " + fmt.Sprint(err)
	if err == nil {
		answer = resp.Status
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	fmt.Fprintf(w.out, "%s\n   < %s\n", line, answer)
	return resp, err
}

type counterDoc struct {
	Count int `json:"count"`
}

// counter has writers, each with its own client as if in its own process,
// increment one counter with optimist.Update.
func counter(ctx context.Context, out io.Writer, t *tour) error {
	const writers, increments = 8, 10
	url := t.base + "/quickstart/counter"
	fmt.Fprintln(out, "1. Concurrent writers, no lost update")
	fmt.Fprintf(out, "   %d writers, each with its own client, add 1 to one counter %d times\n", writers, increments)
	if err := reset(ctx, t, url, counterDoc{}); err != nil {
		return err
	}
	var conflicts atomic.Int64
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for range writers {
		c := t.newClient(optimist.WithConflicts(optimist.ConflictOptions{OnConflict: func(*optimist.Conflict, error) { conflicts.Add(1) }}))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range increments {
				if _, err := optimist.Update(ctx, c, url, func(v *counterDoc) error {
					v.Count++
					return nil
				}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	var final counterDoc
	if _, err := t.newClient().Get(ctx, url, &final); err != nil {
		return err
	}
	fmt.Fprintf(out, "   final count %d of %d; %d conflicts, each settled by applying the change again\n",
		final.Count, writers*increments, conflicts.Load())
	if final.Count != writers*increments {
		return fmt.Errorf("lost updates: count %d, want %d", final.Count, writers*increments)
	}
	return nil
}

type ticket struct {
	Title string   `json:"title"`
	Tags  []string `json:"tags"`
}

// trueConflict has two users change the same member of one document; the
// default merge cannot settle it, a strategy the caller gives does.
func trueConflict(ctx context.Context, out io.Writer, t *tour) error {
	url := t.base + "/quickstart/tickets/7"
	fmt.Fprintln(out, "2. A true conflict, settled by your strategy")
	start := ticket{Title: "Printer jammed", Tags: []string{"hardware"}}
	if err := reset(ctx, t, url, start); err != nil {
		return err
	}
	alice, bob := t.newClient(), t.newClient()
	var a, b ticket
	if _, err := alice.Get(ctx, url, &a); err != nil {
		return err
	}
	if _, err := bob.Get(ctx, url, &b); err != nil {
		return err
	}
	fmt.Fprintf(out, "   alice and bob both read %s\n", compact(start))
	b.Tags = append(b.Tags, "urgent")
	if _, err := bob.Put(ctx, url, b, nil); err != nil {
		return err
	}
	fmt.Fprintln(out, `   bob adds the tag "urgent" and saves first`)
	fmt.Fprintln(out, `   alice adds the tag "office" and edits the title, from the version she read`)
	a.Title, a.Tags = "Printer jammed on floor 3", append(a.Tags, "office")
	union := optimist.MergeWith(map[string]optimist.PathResolver{"/tags": unionTags(out)})
	var saved ticket
	if _, err := alice.Put(ctx, url, a, &saved, optimist.Resolve(union)); err != nil {
		return err
	}
	fmt.Fprintf(out, "   saved: %s\n", compact(saved))
	return nil
}

// unionTags resolves a conflict on a list of tags by keeping the tags of
// both sides.
func unionTags(out io.Writer) optimist.PathResolver {
	return func(ptr string, _, ours, theirs json.RawMessage) (json.RawMessage, bool, error) {
		var o, t []string
		if json.Unmarshal(ours, &o) != nil || json.Unmarshal(theirs, &t) != nil {
			return nil, false, nil // not lists of strings: leave it a conflict
		}
		fmt.Fprintf(out, "   both changed %s (ours %s, theirs %s): the strategy keeps both\n", ptr, ours, theirs)
		for _, tag := range o {
			if !slices.Contains(t, tag) {
				t = append(t, tag)
			}
		}
		v, err := json.Marshal(t)
		return v, err == nil, err
	}
}

// job starts an asynchronous job, answered 202 Accepted, and follows it
// to its result.
func job(ctx context.Context, out io.Writer, t *tour) error {
	fmt.Fprintln(out, "3. A 202 Accepted job, followed to its result")
	c := t.newClient(optimist.WithPolling(optimist.PollOptions{OnProgress: func(ev optimist.OperationStatus) {
		if ev.PercentComplete != nil {
			fmt.Fprintf(out, "   %s %.0f%%\n", strings.ToLower(ev.State), *ev.PercentComplete)
		}
	}}))
	spec := map[string]any{"polls": 3, "result": map[string]any{"file": "report.csv", "rows": 1200}}
	resp, err := c.Post(ctx, t.base+"/jobs", spec, nil, optimist.FollowOperation(false))
	if err != nil {
		return err
	}
	op, err := c.Operation(resp)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "   POST /jobs: %d Accepted, status at %s\n", resp.StatusCode, strings.TrimPrefix(resp.Header.Get("Operation-Location"), t.base))
	result, err := op.Wait(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "   result: %s\n", result.Body)
	return nil
}

// reset writes doc at url whatever is there. optimist sends no write
// without a version, so reset reads the version first (or creates the
// document), and writes over whatever a conflict brings: OursWins.
func reset(ctx context.Context, t *tour, url string, doc any) error {
	c := t.newClient()
	if _, err := c.Get(ctx, url, nil); errors.Is(err, optimist.ErrNotFound) {
		_, err = c.Put(ctx, url, doc, nil, optimist.CreateOnly())
		return err
	} else if err != nil {
		return err
	}
	_, err := c.Put(ctx, url, doc, nil, optimist.Resolve(optimist.OursWins))
	return err
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
