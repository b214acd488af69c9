package optimist_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

// fakeEtcd is one key of the etcd v2 keys API: GET answers the envelope
// with the key's modifiedIndex; PUT takes a form value and, with
// ?prevIndex=, answers 412 unless it is the key's modifiedIndex.
type fakeEtcd struct {
	mu     sync.Mutex
	value  string
	index  int // the key's modifiedIndex
	store  int // the store-wide index, X-Etcd-Index
	bodies []string
}

func (f *fakeEtcd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.store++ // other keys change too: the store-wide index runs ahead
	w.Header().Set("X-Etcd-Index", strconv.Itoa(f.store))
	w.Header().Set("Content-Type", "application/json")
	node := func() map[string]any {
		return map[string]any{"key": r.URL.Path, "value": f.value, "modifiedIndex": f.index, "createdIndex": 1}
	}
	switch r.Method {
	case http.MethodGet:
		_ = json.NewEncoder(w).Encode(map[string]any{"action": "get", "node": node()})
	case http.MethodPut:
		body, _ := io.ReadAll(r.Body)
		f.bodies = append(f.bodies, r.Header.Get("Content-Type")+" "+string(body))
		form, _ := url.ParseQuery(string(body))
		if r.URL.Query().Get("prevExist") == "false" && f.index > 0 {
			w.WriteHeader(http.StatusPreconditionFailed)
			fmt.Fprintf(w, `{"errorCode":105,"message":"Key already exists","index":%d}`, f.store)
			return
		}
		if p := r.URL.Query().Get("prevIndex"); p != "" && p != strconv.Itoa(f.index) {
			w.WriteHeader(http.StatusPreconditionFailed)
			fmt.Fprintf(w, `{"errorCode":101,"message":"Compare failed","cause":"[%s != %d]","index":%d}`, p, f.index, f.store)
			return
		}
		prev := node()
		f.value, f.index = form.Get("value"), f.store
		_ = json.NewEncoder(w).Encode(map[string]any{"action": "compareAndSwap", "node": node(), "prevNode": prev})
	}
}

type etcdKey struct {
	Node struct {
		Value string `json:"value"`
	} `json:"node"`
}

func TestEtcdV2(t *testing.T) {
	t.Parallel()
	f := &fakeEtcd{value: "0", index: 1}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	url := srv.URL + "/v2/keys/counter"
	var wg sync.WaitGroup
	for range 4 {
		c := optimist.New(optimist.EtcdV2(), optimist.WithConflicts(optimist.ConflictOptions{Attempts: 100, Backoff: func(int) time.Duration { return 0 }}))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				_, err := optimist.Update(t.Context(), c, url, func(k *etcdKey) error {
					n, err := strconv.Atoi(k.Node.Value)
					k.Node.Value = strconv.Itoa(n + 1)
					return err
				})
				assert.NoError(t, err) // not require: this is not the test's goroutine
			}
		}()
	}
	wg.Wait()
	require.Equal(t, "40", f.value)
	for _, b := range f.bodies {
		require.Regexp(t, `^application/x-www-form-urlencoded value=\d+$`, b, "only the form value is sent")
	}
}

func TestEtcdV2RefusesDocumentWithoutValue(t *testing.T) {
	t.Parallel()
	f := &fakeEtcd{value: "0", index: 1}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c := optimist.New(optimist.EtcdV2())
	_, err := c.Get(t.Context(), srv.URL+"/v2/keys/k", nil)
	require.NoError(t, err)
	_, err = c.Put(t.Context(), srv.URL+"/v2/keys/k", map[string]int{"count": 1}, nil)
	require.ErrorContains(t, err, "no string node.value")
	require.Empty(t, f.bodies, "nothing was sent")
}

func TestAzureTableAcceptOnEveryRequest(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var accepts []string
	version := 1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		accepts = append(accepts, r.Method+" "+r.Header.Get("Accept"))
		tag := fmt.Sprintf(`W/"datetime'2026-01-01T00%%3A00%%3A0%dZ'"`, version)
		if r.Method == http.MethodPut {
			if r.Header.Get("If-Match") != tag {
				w.WriteHeader(http.StatusPreconditionFailed)
				return
			}
			version++
			w.Header().Set("ETag", fmt.Sprintf(`W/"datetime'2026-01-01T00%%3A00%%3A0%dZ'"`, version))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("ETag", tag)
		w.Header().Set("Content-Type", "application/json;odata=nometadata")
		_, _ = fmt.Fprintf(w, `{"PartitionKey":"p","RowKey":"r","count":%d}`, version)
	}))
	t.Cleanup(srv.Close)
	c := optimist.New(optimist.AzureTable())
	_, err := c.Put(t.Context(), srv.URL+"/t(PartitionKey='p',RowKey='r')", map[string]any{"count": 9}, nil,
		optimist.IfMatch(`W/"stale"`), optimist.Resolve(optimist.OursWins))
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{
		"PUT application/json;odata=nometadata",
		"GET application/json;odata=nometadata", // the re-read after the 412
		"PUT application/json;odata=nometadata",
	}, accepts)
}

func TestCouchDBPreset(t *testing.T) {
	t.Parallel()
	s := mock.NewServer(mock.WithVersionField("/_rev"), mock.WithCouchDBResponses(), mock.WithoutETags())
	t.Cleanup(s.Close)
	require.NoError(t, s.Seed("/db/doc", []byte(`{"count":0}`)))
	type counter struct {
		Count int `json:"count"`
	}
	var wg sync.WaitGroup
	for range 4 {
		c := optimist.New(optimist.CouchDB(), optimist.WithConflicts(optimist.ConflictOptions{Attempts: 100, Backoff: func(int) time.Duration { return 0 }}))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				_, err := optimist.Update(t.Context(), c, s.URL+"/db/doc", func(v *counter) error { v.Count++; return nil })
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	doc, _, ok := s.Document("/db/doc")
	require.True(t, ok)
	require.JSONEq(t, `40`, string(mustMember(t, doc, "count")))
}

// EtcdV2 makes etcd's v2 keys API a versioned resource: the document is
// etcd's envelope, the version its node.modifiedIndex, and a write the
// form etcd takes, with ?prevIndex= so that it lands only on that version.
func ExampleEtcdV2() {
	f := &fakeEtcd{value: "41", index: 7, store: 7}
	srv := httptest.NewServer(f)
	defer srv.Close()
	ctx, etcd := context.Background(), srv.URL

	c := optimist.New(optimist.EtcdV2())
	_, err := optimist.Update(ctx, c, etcd+"/v2/keys/counter", func(k *struct {
		Node struct {
			Value string `json:"value"`
		} `json:"node"`
	}) error {
		n, err := strconv.Atoi(k.Node.Value)
		k.Node.Value = strconv.Itoa(n + 1)
		return err
	})
	fmt.Println(err, f.value, f.bodies)
	// Output: <nil> 42 [application/x-www-form-urlencoded value=42]
}

// A preset that works in the transport does so whichever order
// WithHTTPClient comes in.
func TestAzureTableWithHTTPClientInAnyOrder(t *testing.T) {
	t.Parallel()
	var accepts []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		accepts = append(accepts, r.Header.Get("Accept"))
		mu.Unlock()
		w.Header().Set("ETag", `W/"1"`)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"count":1}`)
	}))
	t.Cleanup(srv.Close)
	hc := &http.Client{Transport: http.DefaultTransport}
	for _, opts := range [][]optimist.Option{
		{optimist.WithHTTPClient(hc), optimist.AzureTable()},
		{optimist.AzureTable(), optimist.WithHTTPClient(hc)},
	} {
		_, err := optimist.New(opts...).Get(t.Context(), srv.URL+"/t", nil)
		require.NoError(t, err)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"application/json;odata=nometadata", "application/json;odata=nometadata"}, accepts)
}

// CreateOnly with EtcdV2 is etcd's ?prevExist=false: the first create
// lands, the second is refused, and If-None-Match: *, which etcd ignores,
// is not sent.
func TestEtcdV2CreateOnly(t *testing.T) {
	t.Parallel()
	f := &fakeEtcd{} // index 0: no key yet
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c := optimist.New(optimist.EtcdV2())
	doc := map[string]any{"node": map[string]any{"value": "7"}}
	_, err := c.Put(t.Context(), srv.URL+"/v2/keys/new", doc, nil, optimist.CreateOnly())
	require.NoError(t, err)
	_, err = optimist.New(optimist.EtcdV2()).Put(t.Context(), srv.URL+"/v2/keys/new", doc, nil, optimist.CreateOnly())
	require.ErrorIs(t, err, optimist.ErrPreconditionFailed)
	require.Equal(t, "7", f.value)
	require.Equal(t, []string{"application/x-www-form-urlencoded value=7", "application/x-www-form-urlencoded value=7"}, f.bodies)

	_, err = optimist.Update(t.Context(), c, srv.URL+"/v2/keys/new", func(k *etcdKey) error {
		k.Node.Value += "1"
		return nil
	})
	require.NoError(t, err, "the created key's version is remembered")
	require.Equal(t, "71", f.value)
}

// A preset given paths applies to those paths only: one client writes a
// CouchDB database by _rev and a plain HTTP API by If-Match.
func TestCouchDBPresetScopedToPaths(t *testing.T) {
	t.Parallel()
	couch := mock.NewServer(mock.WithVersionField("/_rev"), mock.WithCouchDBResponses(), mock.WithoutETags())
	t.Cleanup(couch.Close)
	plain := mock.NewServer(mock.WithRequireIfMatch())
	t.Cleanup(plain.Close)
	require.NoError(t, couch.Seed("/db/doc", []byte(`{"count":0}`)))
	require.NoError(t, plain.Seed("/api/doc", []byte(`{"count":0}`)))
	type counter struct {
		Count int `json:"count"`
	}
	c := optimist.New(optimist.CouchDB("/db/*"))
	for _, url := range []string{couch.URL + "/db/doc", plain.URL + "/api/doc"} {
		_, err := optimist.Update(t.Context(), c, url, func(v *counter) error { v.Count++; return nil })
		require.NoError(t, err, url)
	}
	couchPut := couch.Requests()[len(couch.Requests())-1]
	require.Equal(t, http.MethodPut, couchPut.Method)
	require.Empty(t, couchPut.Header.Get("If-Match"), "CouchDB's version travels in the body")
	plainPut := plain.Requests()[len(plain.Requests())-1]
	require.Equal(t, http.MethodPut, plainPut.Method)
	require.NotEmpty(t, plainPut.Header.Get("If-Match"), "outside the paths, the version is the ETag")
	require.Equal(t, http.StatusOK, plainPut.Status)
	doc, _, ok := couch.Document("/db/doc")
	require.True(t, ok)
	require.JSONEq(t, `1`, string(mustMember(t, doc, "count")))
}
