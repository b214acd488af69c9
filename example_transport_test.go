package optimist_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

// An SDK that takes an *http.Client gets conditional writes and conflict
// resolution from StandardClient: here a plain PUT from a stale copy lands
// as a merge with the other writer's change.
func ExampleClient_StandardClient() {
	ctx := context.Background()
	srv := mock.NewServer()
	defer srv.Close()
	_ = srv.Seed("/settings", []byte(`{"theme":"light","language":"en"}`))

	c := optimist.New()
	hc := c.StandardClient() // give this to the SDK
	get, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/settings", nil)
	resp, err := hc.Do(get) // c remembers the ETag
	if err != nil {
		panic(err)
	}
	_ = resp.Body.Close()

	// Another writer changes the language (forcing its write: it read nothing).
	if _, err := optimist.New().Patch(ctx, srv.URL+"/settings", map[string]string{"language": "de"}, nil, optimist.Unconditional()); err != nil {
		panic(err)
	}

	put, _ := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL+"/settings",
		strings.NewReader(`{"theme":"dark","language":"en"}`))
	put.Header.Set("Content-Type", "application/json")
	resp, err = hc.Do(put) // If-Match, 412, re-read, merge, write again
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// 200 {"theme":"dark","language":"de"}
}

// RetryOptions shape the transport retries: which statuses, how often,
// how long each try may take, and a hook that sees every retry.
func ExampleWithRetry() {
	ctx := context.Background()
	srv := mock.NewServer()
	defer srv.Close()
	_ = srv.Seed("/reports/1", []byte(`{"rows":3}`))
	srv.FailNext(2, mock.Fault503)

	c := optimist.New(optimist.WithRetry(optimist.RetryOptions{
		MaxRetries:  3,
		Backoff:     optimist.ExponentialBackoff(10*time.Millisecond, time.Second, nil),
		StatusCodes: []int{http.StatusTooManyRequests, http.StatusServiceUnavailable},
		TryTimeout:  10 * time.Second,
		OnRetry: func(ev optimist.RetryEvent) {
			fmt.Println("retry", ev.Attempt, "after", ev.StatusCode)
		},
	}))
	resp, err := c.Get(ctx, srv.URL+"/reports/1", nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, "after", resp.Attempts, "attempts")
	// Output:
	// retry 2 after 503
	// retry 3 after 503
	// 200 after 3 attempts
}

// A retry whose wait cannot end before the context's deadline is not
// made: the call returns at once with the server's answer, and the error
// matches context.DeadlineExceeded.
func ExampleRetryOptions_deadline() {
	srv := mock.NewServer(mock.WithFaults(mock.Faults{RetryAfter: "30"}))
	defer srv.Close()
	srv.FailNext(1, mock.Fault503)

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := optimist.New().Get(ctx, srv.URL+"/reports/1", nil)
	var se *optimist.StatusError
	fmt.Println(errors.Is(err, context.DeadlineExceeded), errors.As(err, &se), se.StatusCode, se.RetryAfter)
	// Output:
	// true true 503 30s
}
