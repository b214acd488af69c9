package optimist_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

// A read remembers the ETag; the next write to the same URL is conditional
// on it, and a stale write comes back as a conflict.
func Example() {
	ctx := context.Background()
	srv := mock.NewServer()
	defer srv.Close()
	_ = srv.Seed("/articles/1", []byte(`{"title":"Draft","words":120}`))

	c := optimist.New()
	var article struct {
		Title string `json:"title"`
		Words int    `json:"words"`
	}
	resp, err := c.Get(ctx, srv.URL+"/articles/1", &article)
	if err != nil {
		panic(err)
	}
	fmt.Println("read", article.Title, "at", resp.ETag)

	article.Title = "Final"
	if _, err := c.Put(ctx, srv.URL+"/articles/1", article, &article); err != nil {
		panic(err)
	}
	sent := srv.Requests()[len(srv.Requests())-1].Header.Get("If-Match")
	fmt.Println("wrote", article.Title, "with If-Match", sent)
	// Output:
	// read Draft at "1"
	// wrote Final with If-Match "1"
}

// Update is read-modify-write that survives contention: the mutation is
// applied again to the fresh document after every conflict.
func ExampleUpdate() {
	ctx := context.Background()
	srv := mock.NewServer()
	defer srv.Close()
	_ = srv.Seed("/counters/visits", []byte(`{"count":0}`))

	type counter struct {
		Count int `json:"count"`
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := optimist.New() // one client per writer, as if in separate processes
			for range 10 {
				if _, err := optimist.Update(ctx, c, srv.URL+"/counters/visits", func(v *counter) error {
					v.Count++
					return nil
				}); err != nil {
					panic(err)
				}
			}
		}()
	}
	wg.Wait()

	body, _, _ := srv.Document("/counters/visits")
	fmt.Println(string(body))
	// Output: {"count":100}
}

// CreateOnly sends If-None-Match: *, so a second create is a conflict.
func ExampleCreateOnly() {
	ctx := context.Background()
	srv := mock.NewServer()
	defer srv.Close()
	c := optimist.New()

	user := map[string]string{"name": "ada"}
	_, err := c.Put(ctx, srv.URL+"/users/ada", user, nil, optimist.CreateOnly())
	fmt.Println("first:", err)
	_, err = c.Put(ctx, srv.URL+"/users/ada", user, nil, optimist.CreateOnly())
	fmt.Println("second is a conflict:", errors.Is(err, optimist.ErrConflict))
	// Output:
	// first: <nil>
	// second is a conflict: true
}

// ThreeWayMerge, the default resolver, merges a stale write into the
// server's document: each side's changes survive, and a member both
// changed differently comes back as a *MergeConflictError.
func ExampleThreeWayMerge() {
	ctx := context.Background()
	srv := mock.NewServer()
	defer srv.Close()
	_ = srv.Seed("/articles/2", []byte(`{"title":"Draft","tags":["a"],"words":120}`))
	url := srv.URL + "/articles/2"

	alice, bob := optimist.New(optimist.WithConflicts(optimist.ConflictOptions{Resolver: optimist.ThreeWayMerge})), optimist.New()
	_, _ = alice.Get(ctx, url, nil)
	_, _ = bob.Get(ctx, url, nil)
	_, _ = bob.Put(ctx, url, json.RawMessage(`{"title":"Draft","tags":["a","b"],"words":135}`), nil)
	_, err := alice.Put(ctx, url, json.RawMessage(`{"title":"Final","tags":["a"],"words":120}`), nil)
	body, _, _ := srv.Document("/articles/2")
	fmt.Println(string(body), err)

	_, _ = bob.Get(ctx, url, nil)
	_, _ = bob.Put(ctx, url, json.RawMessage(`{"title":"Published","tags":["a","b"],"words":135}`), nil)
	_, err = alice.Put(ctx, url, json.RawMessage(`{"title":"Final, really","tags":["a","b"],"words":135}`), nil)
	var conflict *optimist.MergeConflictError
	if errors.As(err, &conflict) {
		c := conflict.Conflicts[0]
		fmt.Println("conflict at", c.Pointer, "ours", string(c.Ours), "theirs", string(c.Theirs))
	}
	// Output:
	// {"title":"Final","tags":["a","b"],"words":135} <nil>
	// conflict at /title ours "Final, really" theirs "Published"
}

// MergeWith resolves the members the merge cannot, here by summing a
// counter both sides changed, and merges the rest.
func ExampleMergeWith() {
	ctx := context.Background()
	srv := mock.NewServer()
	defer srv.Close()
	_ = srv.Seed("/carts/7", []byte(`{"items":3,"note":""}`))

	sum := optimist.MergeWith(map[string]optimist.PathResolver{
		"/items": func(_ string, base, ours, theirs json.RawMessage) (json.RawMessage, bool, error) {
			b, _ := strconv.Atoi(string(base))
			o, _ := strconv.Atoi(string(ours))
			t, _ := strconv.Atoi(string(theirs))
			return json.RawMessage(strconv.Itoa(t + o - b)), true, nil
		},
	})
	alice, bob := optimist.New(optimist.WithConflicts(optimist.ConflictOptions{Resolver: sum})), optimist.New()
	_, _ = alice.Get(ctx, srv.URL+"/carts/7", nil)
	_, _ = bob.Get(ctx, srv.URL+"/carts/7", nil)
	_, _ = bob.Put(ctx, srv.URL+"/carts/7", json.RawMessage(`{"items":5,"note":""}`), nil)          // +2
	_, err := alice.Put(ctx, srv.URL+"/carts/7", json.RawMessage(`{"items":4,"note":"gift"}`), nil) // +1

	body, _, _ := srv.Document("/carts/7")
	fmt.Println(string(body), err)
	// Output: {"items":6,"note":"gift"} <nil>
}

// Client.Do makes optimist the HttpRequestDoer of a generated API client,
// which then gets conditional writes without knowing it.
func ExampleClient_Do() {
	ctx := context.Background()
	srv := mock.NewServer(mock.WithRequireIfMatch()) // writes without a precondition get 428
	defer srv.Close()
	_ = srv.Seed("/pets/1", []byte(`{"name":"Rex"}`))

	var doer interface {
		Do(*http.Request) (*http.Response, error)
	} = optimist.New()

	get, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/pets/1", nil)
	resp, _ := doer.Do(get)
	resp.Body.Close()

	put, _ := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL+"/pets/1",
		strings.NewReader(`{"name":"Max"}`))
	resp, _ = doer.Do(put)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, "with If-Match", srv.Requests()[1].Header.Get("If-Match"))
	// Output: 200 with If-Match "1"
}

// The options come in groups, one struct per concern; each field's zero
// value is its default.
func ExampleNew_options() {
	srv := mock.NewServer()
	defer srv.Close()
	_ = srv.Seed("/counters/a", []byte(`{"n":1}`))

	c := optimist.New(
		optimist.WithRetry(optimist.RetryOptions{MaxRetries: 2}),
		optimist.WithConflicts(optimist.ConflictOptions{Resolver: optimist.OursWins, Attempts: 10}),
		optimist.WithMemory(optimist.MemoryOptions{Entries: 1000, ServerMembers: []string{"/odata.metadata"}}),
		optimist.WithLocks(optimist.LockOptions{MaxWait: 30 * time.Second}),
		optimist.WithPolling(optimist.PollOptions{MaxTime: 10 * time.Minute}),
	)
	type counter struct {
		N int `json:"n"`
	}
	v, err := optimist.Update(context.Background(), c, srv.URL+"/counters/a", func(v *counter) error {
		v.N++
		return nil
	})
	fmt.Println(v.N, err)
	// Output:
	// 2 <nil>
}
