package optimist_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"

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

// UpdateBytes is read-modify-write for any media type: here a plain-text
// list that another writer changes between the read and the write. The
// function runs again on the fresh bytes; nothing is merged as JSON.
func ExampleClient_UpdateBytes() {
	var mu sync.Mutex
	list, version := "milk\n", 1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		tag := strconv.Quote(strconv.Itoa(version))
		if r.Method == http.MethodPut {
			if r.Header.Get("If-Match") != tag {
				w.WriteHeader(http.StatusPreconditionFailed)
				return
			}
			list, version = string(body), version+1
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("ETag", tag)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, list)
	}))
	defer srv.Close()
	ctx, url := context.Background(), srv.URL+"/shopping.txt"

	c := optimist.New()
	first := true
	got, err := c.UpdateBytes(ctx, url, func(current []byte) ([]byte, error) {
		if first { // another writer slips in before our write
			first = false
			mu.Lock()
			list, version = list+"eggs\n", version+1
			mu.Unlock()
		}
		return append(bytes.Clone(current), "bread\n"...), nil
	})
	fmt.Printf("%v %q\n", err, got)
	// Output: <nil> "milk\neggs\nbread\n"
}
