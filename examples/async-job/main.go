// Command async-job submits a long-running job, which the server answers
// 202 Accepted, watches its progress, and saves its resume token. Then, as a
// process that restarted would, it picks the job up again in a fresh
// client with optimist.ResumeOperation and waits for the result. Last, with
// the in-process mock, it submits a second job with a callback URL and
// waits for the signed callback or the status, whichever comes first.
//
//	go run ./examples/async-job
//	go run ./examples/async-job -duration 2s -state /tmp/job-token
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/examples/internal/demo"
	"github.com/optimist-go/optimist/mock"
	"github.com/optimist-go/optimist/webhook"
)

func main() { demo.Main(run) }

// secret signs the in-process mock's callbacks (Standard Webhooks).
const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		duration time.Duration
		state    string
	)
	f, err := demo.Parse("async-job", args, stderr, func(fs *flag.FlagSet) {
		fs.DurationVar(&duration, "duration", 500*time.Millisecond, "how long the in-process mock's job runs")
		fs.StringVar(&state, "state", "", "file to save the resume token in (default: a temporary file)")
	})
	if err != nil {
		return err
	}
	base, srv, stop := demo.Server(f, mock.WithJobDuration(duration), mock.WithCallbacks(secret))
	defer stop()
	if state == "" {
		dir, err := os.MkdirTemp("", "async-job")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		state = filepath.Join(dir, "resume-token")
	}

	progress := optimist.WithPolling(optimist.PollOptions{OnProgress: func(ev optimist.OperationStatus) {
		pct := ""
		if ev.PercentComplete != nil {
			pct = fmt.Sprintf(" %.0f%%", *ev.PercentComplete)
		}
		fmt.Fprintf(stdout, "  poll %d: %s%s\n", ev.Attempt, ev.State, pct)
	}})
	if err := submit(ctx, optimist.New(progress), base+"/jobs", state, stdout); err != nil {
		return err
	}
	if err := resume(ctx, optimist.New(progress), state, stdout); err != nil {
		return err
	}
	if srv == nil {
		return nil // a server of its own may not call back
	}
	return callback(ctx, optimist.New(progress), base+"/jobs", stdout)
}

// callback serves a Callbacks handler on a loopback port, submits a job
// with its callback URL in the body, and waits for the job's end.
func callback(ctx context.Context, c *optimist.Client, jobsURL string, stdout io.Writer) error {
	verifier, err := webhook.Standard(secret)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hooks := optimist.NewCallbacks(optimist.CallbackOptions{URL: "http://" + ln.Addr().String() + "/hooks", Verify: verifier})
	app := &http.Server{Handler: hooks, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = app.Serve(ln) }()
	defer app.Close()

	fmt.Fprintln(stdout, "submitted a second job, with a callback URL")
	job := map[string]any{"result": map[string]any{"report": "monthly", "rows": 310}}
	var out struct {
		Report string `json:"report"`
	}
	if _, err := c.Post(ctx, jobsURL, job, &out, hooks.Attach(optimist.CallbackPlacement{Body: "callbackUrl"})); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "called back; result: %s report\n", out.Report)
	return nil
}

// statusURL is the status URL the 202 answer resp names (the mock names
// it in Operation-Location), resolved against the request's URL.
func statusURL(jobsURL string, resp *optimist.Response) string {
	base, err := url.Parse(jobsURL)
	if err != nil {
		return ""
	}
	ref, err := url.Parse(resp.Header.Get("Operation-Location"))
	if err != nil {
		return ""
	}
	return base.ResolveReference(ref).String()
}

// submit starts the job without waiting for it, looks at it once and
// saves its resume token in the file state.
func submit(ctx context.Context, c *optimist.Client, jobsURL, state string, stdout io.Writer) error {
	job := map[string]any{"result": map[string]any{"report": "quarterly", "rows": 1200}}
	resp, err := c.Post(ctx, jobsURL, job, nil, optimist.FollowOperation(false))
	if err != nil {
		return err
	}
	op, err := c.Operation(resp)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "submitted: %d %s, status at %s\n", resp.StatusCode, http.StatusText(resp.StatusCode),
		statusURL(jobsURL, resp))
	if _, err := op.Poll(ctx); err != nil {
		return err
	}
	if err := os.WriteFile(state, []byte(op.ResumeToken()+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "saved the resume token to %s\n", state)
	return nil
}

// resume reads the resume token saved in the file state and waits for the
// job's result.
func resume(ctx context.Context, c *optimist.Client, state string, stdout io.Writer) error {
	saved, err := os.ReadFile(state)
	if err != nil {
		return err
	}
	op, err := c.ResumeOperation(strings.TrimSpace(string(saved)))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "resumed in a fresh client")
	result, err := op.Wait(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "result: %s\n", result.Body)
	return nil
}
