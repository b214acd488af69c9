package mock_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/optimist-go/optimist/mock"
)

// do sends a request with the header name, value pairs and returns the
// response, its body read and closed.
func do(c *http.Client, method, url, body string, header ...string) *http.Response {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		panic(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

// A write conditional on a stale ETag fails; the server counts it.
func ExampleNewServer() {
	srv := mock.NewServer(mock.WithConflictStatus(http.StatusConflict))
	defer srv.Close()
	_ = srv.Seed("/docs/a", []byte(`{"title":"Draft"}`))
	c := srv.Client()

	got := do(c, http.MethodGet, srv.URL+"/docs/a", "")
	fmt.Println("GET:", got.StatusCode, got.Header.Get("ETag"))
	put := do(c, http.MethodPut, srv.URL+"/docs/a", `{"title":"Final"}`, "If-Match", `"1"`)
	fmt.Println("PUT If-Match \"1\":", put.StatusCode, put.Header.Get("ETag"))
	stale := do(c, http.MethodPut, srv.URL+"/docs/a", `{"title":"Stale"}`, "If-Match", `"1"`)
	fmt.Println("PUT If-Match \"1\" again:", stale.StatusCode, stale.Header.Get("Content-Type"))

	body, etag, _ := srv.Document("/docs/a")
	fmt.Println(string(body), etag)
	fmt.Println("conflicts:", srv.Count(http.MethodPut, http.StatusConflict))
	// Output:
	// GET: 200 "1"
	// PUT If-Match "1": 200 "2"
	// PUT If-Match "1" again: 409 application/problem+json
	// {"title":"Final"} "2"
	// conflicts: 1
}

// FailNext queues faults for the next requests; Reset starts afresh.
func ExampleBackend_FailNext() {
	srv := mock.NewServer(mock.WithFaults(mock.Faults{RetryAfter: "1"}))
	defer srv.Close()

	srv.FailNext(2, mock.Fault503)
	for range 3 {
		resp := do(srv.Client(), http.MethodPut, srv.URL+"/docs/a", `{}`)
		fmt.Printf("%d Retry-After=%q\n", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	for _, r := range srv.Requests() {
		fmt.Println(r.Method, r.Path, r.Status, r.Fault)
	}
	srv.Reset()
	fmt.Println(len(srv.Requests()), "requests after Reset")
	// Output:
	// 503 Retry-After="1"
	// 503 Retry-After="1"
	// 201 Retry-After=""
	// PUT /docs/a 503 503
	// PUT /docs/a 503 503
	// PUT /docs/a 201 none
	// 0 requests after Reset
}
