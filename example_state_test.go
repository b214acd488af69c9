package optimist_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

type article struct {
	Title string `json:"title"`
	Words int    `json:"words"`
}

// No write goes out blind: a client that has not read the resource knows
// no version to make its write conditional on, and says so instead of
// overwriting whatever the server has.
func ExampleErrNoVersion() {
	ctx := context.Background()
	srv := mock.NewServer()
	defer srv.Close()
	_ = srv.Seed("/articles/1", []byte(`{"title":"Draft","words":120}`))
	url := srv.URL + "/articles/1"

	c := optimist.New()
	_, err := c.Put(ctx, url, article{Title: "Final"}, nil) // nothing read: no version known
	fmt.Println(errors.Is(err, optimist.ErrNoVersion), len(srv.Requests()), "requests sent")

	var a article
	if _, err := c.Get(ctx, url, &a); err != nil { // now the client knows the version
		panic(err)
	}
	a.Title = "Final"
	_, err = c.Put(ctx, url, a, nil) // If-Match: the ETag read
	fmt.Println(err)
	// Output:
	// true 0 requests sent
	// <nil>
}

// A write whose answer was lost, and whose re-send the server refused,
// may or may not have been applied: the error says so, and is no conflict
// to resolve by writing again.
func ExampleOutcomeUnknownError() {
	ctx := context.Background()
	srv := mock.NewServer()
	defer srv.Close()
	_ = srv.Seed("/articles/1", []byte(`{"title":"Draft","words":120}`))
	url := srv.URL + "/articles/1"

	c := optimist.New()
	var a article
	if _, err := c.Get(ctx, url, &a); err != nil {
		panic(err)
	}
	srv.FailNext(1, mock.FaultLostResponse) // applied, then the connection is cut
	a.Words = 150
	_, err := c.Put(ctx, url, a, nil)
	var unknown *optimist.OutcomeUnknownError
	if errors.As(err, &unknown) {
		fmt.Println("outcome unknown after", unknown.Attempts, "attempts; last answer", unknown.StatusCode)
		fmt.Println("a conflict?", errors.Is(err, optimist.ErrConflict))
	}
	if _, err := c.Get(ctx, url, &a); err == nil { // read to learn what happened
		fmt.Println("the server has", a.Words, "words")
	}
	// Output:
	// outcome unknown after 2 attempts; last answer 412
	// a conflict? false
	// the server has 150 words
}

// Get revalidates what the client remembers: the second read sends
// If-None-Match, the server answers 304 Not Modified without a body, and
// the remembered document is decoded.
func ExampleResponse_revalidated() {
	ctx := context.Background()
	srv := mock.NewServer()
	defer srv.Close()
	_ = srv.Seed("/articles/1", []byte(`{"title":"Draft","words":120}`))
	url := srv.URL + "/articles/1"

	c := optimist.New()
	var a article
	if _, err := c.Get(ctx, url, &a); err != nil {
		panic(err)
	}
	resp, err := c.Get(ctx, url, &a)
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, resp.Revalidated, a.Title)
	// Output:
	// 304 true Draft
}
