package optimist_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

// Probe asks a resource's server whether it honours If-Match and
// If-None-Match: *, re-sending the resource's current bytes with
// preconditions that cannot hold: nothing changes either way.
func ExampleClient_Probe() {
	s := mock.NewServer()
	defer s.Close()
	_ = s.Seed("/docs/a", []byte(`{"title":"Draft"}`))

	res, err := optimist.New().Probe(context.Background(), s.URL+"/docs/a")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("weak ETag:", res.ETag.IsWeak())
	fmt.Println("If-Match:", res.IfMatch, res.IfMatchStatus)
	fmt.Println("If-None-Match: *:", res.IfNoneMatch, res.IfNoneMatchStatus)
	fmt.Println("ignores preconditions:", res.IgnoresPreconditions())
	// Output:
	// weak ETag: false
	// If-Match: honoured 412
	// If-None-Match: *: honoured 412
	// ignores preconditions: false
}

// A server that ignores If-Match (here, one that stores whatever is PUT,
// as nginx's dav module does) makes every conditional write
// last-writer-wins. WithPreconditionCheck finds out with one probe and
// refuses to write there, instead of losing updates silently.
func ExampleWithPreconditionCheck() {
	var mu sync.Mutex
	doc := []byte(`{"count":0}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodPut {
			doc, _ = io.ReadAll(r.Body) // If-Match? never heard of it
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("ETag", `"same"`)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	}))
	defer srv.Close()

	c := optimist.New(optimist.WithPreconditionCheck())
	type counter struct {
		Count int `json:"count"`
	}
	_, err := optimist.Update(context.Background(), c, srv.URL+"/counter", func(v *counter) error {
		v.Count++
		return nil
	})
	var ignored *optimist.PreconditionsIgnoredError
	if errors.As(err, &ignored) {
		fmt.Println("refused:", errors.Is(err, optimist.ErrPreconditionsIgnored))
		fmt.Println("If-Match:", ignored.Probe.IfMatch)
	}
	mu.Lock()
	fmt.Println("document:", string(doc))
	mu.Unlock()
	// Output:
	// refused: true
	// If-Match: ignored
	// document: {"count":0}
}

// CouchDB (and PouchDB Server) keep a document's revision in its _rev
// member; the CouchDB preset reads it from there and sends it back in
// the body.
func ExampleCouchDB() {
	s := mock.NewServer(mock.WithVersionField("/_rev"), mock.WithCouchDBResponses(), mock.WithoutETags())
	defer s.Close()
	_ = s.Seed("/db/counter", []byte(`{"count":0}`))
	ctx := context.Background()

	c := optimist.New(optimist.CouchDB())
	type counter struct {
		Count int `json:"count"`
	}
	for range 2 {
		if _, err := optimist.Update(ctx, c, s.URL+"/db/counter", func(v *counter) error {
			v.Count++
			return nil
		}); err != nil {
			fmt.Println(err)
			return
		}
	}
	var doc map[string]any
	if _, err := c.Get(ctx, s.URL+"/db/counter", &doc); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("count:", doc["count"], "revision generation:", doc["_rev"].(string)[:2])
	// Output: count: 2 revision generation: 3-
}
