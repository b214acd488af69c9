package optimist_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
	"github.com/optimist-go/optimist/webhook"
)

// A POST answered 202 Accepted is followed to the operation's end: the
// client polls the status URL and decodes the final result into out.
func ExampleClient_Post_accepted() {
	ctx := context.Background()
	srv := mock.NewServer(mock.WithJobPolls(1))
	defer srv.Close()

	c := optimist.New()
	var report struct {
		Rows int `json:"rows"`
	}
	job := map[string]any{"result": map[string]int{"rows": 1200}}
	if _, err := c.Post(ctx, srv.URL+"/jobs", job, &report); err != nil {
		panic(err)
	}
	fmt.Println("rows:", report.Rows)
	// Output:
	// rows: 1200
}

// Submit a job without waiting, keep its resume token, and finish it
// later, here in a fresh client as after a restart, with ResumeOperation;
// Result decodes the result into a typed value.
func ExampleClient_ResumeOperation() {
	ctx := context.Background()
	srv := mock.NewServer(mock.WithJobPolls(1))
	defer srv.Close()

	c := optimist.New()
	job := map[string]any{"result": map[string]int{"rows": 1200}}
	resp, err := c.Post(ctx, srv.URL+"/jobs", job, nil, optimist.FollowOperation(false))
	if err != nil {
		panic(err)
	}
	op, err := c.Operation(resp)
	if err != nil {
		panic(err)
	}
	saved := op.ResumeToken() // store it: it is all a restarted process needs

	later := optimist.New()
	op, err = later.ResumeOperation(saved, optimist.OnProgress(func(ev optimist.OperationStatus) {
		fmt.Printf("poll %d: %s %.0f%%\n", ev.Attempt, ev.State, *ev.PercentComplete)
	}))
	if err != nil {
		panic(err)
	}
	var report struct {
		Rows int `json:"rows"`
	}
	result, err := op.Result(ctx, &report)
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, "then", result.StatusCode, "rows:", report.Rows)
	// Output:
	// poll 1: running 50%
	// poll 2: succeeded 100%
	// 202 then 200 rows: 1200
}

// A failed operation is an *OperationError carrying the server's account
// of the failure.
func ExampleOperationError() {
	ctx := context.Background()
	srv := mock.NewServer(mock.WithJobPolls(0))
	defer srv.Close()

	c := optimist.New()
	_, err := c.Post(ctx, srv.URL+"/jobs", map[string]any{"fail": true, "detail": "disk full"}, nil)
	var opErr *optimist.OperationError
	if errors.As(err, &opErr) {
		fmt.Println(opErr.State, "-", opErr.Problem.Detail)
	}
	fmt.Println(errors.Is(err, optimist.ErrOperationFailed))
	// Output:
	// failed - disk full
	// true
}

// Wait for a job's callback or its status, whichever comes first. The API
// here, the mock, calls back when a job ends, signed as Standard Webhooks
// say; the application mounts the Callbacks handler where the API can
// reach it, and attaches it to the request. The callback ends the wait;
// the one status GET it triggers gives the result.
func ExampleCallbacks() {
	ctx := context.Background()
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // shared with the API
	api := mock.NewServer(mock.WithJobDuration(50*time.Millisecond), mock.WithJobRetryAfter("5"),
		mock.WithCallbacks(secret))
	defer api.Close()

	verifier, err := webhook.Standard(secret)
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	app := httptest.NewServer(mux) // the application's public server
	defer app.Close()
	hooks := optimist.NewCallbacks(optimist.CallbackOptions{URL: app.URL + "/hooks", Verify: verifier})
	mux.Handle("/hooks/", hooks)

	c := optimist.New()
	var report struct {
		Rows int `json:"rows"`
	}
	job := map[string]any{"result": map[string]int{"rows": 1200}}
	_, err = c.Post(ctx, api.URL+"/jobs", job, &report,
		hooks.Attach(optimist.CallbackPlacement{Body: "callbackUrl"}),
		optimist.OnProgress(func(ev optimist.OperationStatus) { fmt.Println("status GET:", ev.State) }))
	if err != nil {
		panic(err)
	}
	fmt.Println("rows:", report.Rows)
	// Output:
	// status GET: succeeded
	// rows: 1200
}
