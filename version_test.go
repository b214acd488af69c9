package optimist_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

// versionModes are the API styles of the version-token issue, each with
// the mock configured as such an API and the client configured for it.
var versionModes = []struct {
	name   string
	server []mock.Option
	token  optimist.VersionToken
	field  string
	status int
}{
	{"couchdb _rev in body", []mock.Option{mock.WithVersionField("/_rev"), mock.WithCouchDBResponses(), mock.WithoutETags()},
		optimist.JSONField("/_rev"), "/_rev", http.StatusConflict},
	{"kubernetes resourceVersion", []mock.Option{mock.WithVersionField("/metadata/resourceVersion")},
		optimist.JSONField("/metadata/resourceVersion"), "/metadata/resourceVersion", http.StatusConflict},
	{"query token", []mock.Option{mock.WithVersionQuery("rev"), mock.WithConflictStatus(http.StatusPreconditionFailed)},
		optimist.QueryParam("rev"), "", http.StatusPreconditionFailed},
}

type versionedCounter struct {
	N int `json:"n"`
}

func TestVersionTokensContendedUpdate(t *testing.T) {
	t.Parallel()
	for _, mode := range versionModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			s := mock.NewServer(mode.server...)
			t.Cleanup(s.Close)
			require.NoError(t, s.Seed("/db/counter", []byte(`{"n":0,"metadata":{"name":"c"}}`)))
			url := s.URL + "/db/counter"

			const writers, increments = 16, 25
			var (
				mu    sync.Mutex
				paths []string
			)
			onConflict := optimist.WithConflicts(optimist.ConflictOptions{OnConflict: func(_ *optimist.Conflict, err error) {
				mu.Lock()
				defer mu.Unlock()
				var mce *optimist.MergeConflictError
				if errors.As(err, &mce) {
					for _, pc := range mce.Conflicts {
						paths = append(paths, pc.Pointer)
					}
				}
			}})
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for range writers {
				// A client per writer, as separate processes: their writes conflict.
				c := optimist.New(optimist.WithVersionToken(mode.token), onConflict,
					optimist.WithConflicts(optimist.ConflictOptions{Attempts: 200, Timeout: time.Minute, Backoff: optimist.ExponentialBackoff(2*time.Millisecond, 100*time.Millisecond, nil)}))
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range increments {
						if _, err := optimist.Update(t.Context(), c, url, func(v *versionedCounter) error {
							v.N++
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
			for err := range errs {
				require.NoError(t, err)
			}

			body, _, ok := s.Document("/db/counter")
			require.True(t, ok)
			var got struct {
				N        int `json:"n"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			require.NoError(t, json.Unmarshal(body, &got))
			require.Equal(t, writers*increments, got.N, "no lost update: %s", body)
			require.Equal(t, "c", got.Metadata.Name, "members the writers do not touch are kept")
			require.Positive(t, s.Count(http.MethodPut, mode.status), "the writers did conflict")
			for _, p := range paths {
				require.NotEqual(t, mode.field, p, "the version member is never a merge conflict")
			}
		})
	}
}

// TestVersionFieldIsNotAConflict: both sides changed the document, so
// both carry a different version member than the base; the merge takes
// theirs and reports only the real conflict.
func TestVersionFieldIsNotAConflict(t *testing.T) {
	t.Parallel()
	s := mock.NewServer(mock.WithVersionField("/_rev"))
	t.Cleanup(s.Close)
	require.NoError(t, s.Seed("/db/doc", []byte(`{"title":"a","tags":["x"]}`)))
	url := s.URL + "/db/doc"
	mine := optimist.New(optimist.WithVersionToken(optimist.JSONField("/_rev")))
	other := optimist.New(optimist.WithVersionToken(optimist.JSONField("/_rev")))

	var doc map[string]any
	_, err := mine.Get(t.Context(), url, &doc)
	require.NoError(t, err)
	require.NotEmpty(t, doc["_rev"])
	_, err = optimist.Update(t.Context(), other, url, func(d *map[string]any) error {
		(*d)["title"] = "theirs"
		return nil
	})
	require.NoError(t, err)

	doc["title"] = "ours"
	_, err = mine.Put(t.Context(), url, doc, nil, optimist.Resolve(optimist.ReturnConflict))
	var mce *optimist.MergeConflictError
	require.ErrorAs(t, err, &mce)
	require.Equal(t, []string{"/title"}, conflictPointers(mce))

	doc["title"] = "theirs"
	doc["tags"] = []string{"x", "y"}
	var out map[string]any
	_, err = mine.Put(t.Context(), url, doc, &out)
	require.NoError(t, err, "a change theirs did not touch merges; the stale _rev is no conflict")
	body, _, _ := s.Document("/db/doc")
	require.JSONEq(t, `["x","y"]`, string(mustMember(t, body, "tags")))
}

// TestVersionTokenFromAcknowledgement: a CouchDB write answers
// {"ok":true,"rev":...}; the next write uses that rev without a read, and
// the base for a merge is the document as written.
func TestVersionTokenFromAcknowledgement(t *testing.T) {
	t.Parallel()
	s := mock.NewServer(mock.WithVersionField("/_rev"), mock.WithCouchDBResponses(), mock.WithoutETags())
	t.Cleanup(s.Close)
	require.NoError(t, s.Seed("/db/doc", []byte(`{"n":1}`)))
	url := s.URL + "/db/doc"
	c := optimist.New(optimist.WithVersionToken(optimist.JSONField("/_rev")))

	var doc map[string]any
	_, err := c.Get(t.Context(), url, &doc)
	require.NoError(t, err)
	doc["n"] = 2
	resp, err := c.Put(t.Context(), url, doc, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	_, etag, _ := s.Document("/db/doc")
	_ = etag
	current, _, _ := s.Document("/db/doc")
	v, ok := c.Remembered(url)
	require.True(t, ok)
	require.Equal(t, string(mustMember(t, current, "_rev")), string(v.ETag), "the version of the acknowledgement")
	require.JSONEq(t, string(current), string(v.Body), "the base is the document as written, with its new version")

	reads := s.Count(http.MethodGet, 0)
	doc["n"] = 3
	_, err = c.Put(t.Context(), url, doc, nil)
	require.NoError(t, err)
	require.Equal(t, reads, s.Count(http.MethodGet, 0), "no read before the next write")
	require.Zero(t, s.Count(http.MethodPut, http.StatusConflict))
}

func TestVersionTokenPerPath(t *testing.T) {
	t.Parallel()
	couch := mock.NewServer(mock.WithVersionQuery("rev"), mock.WithConflictStatus(http.StatusPreconditionFailed))
	t.Cleanup(couch.Close)
	plain := mock.NewServer(mock.WithRequireIfMatch())
	t.Cleanup(plain.Close)
	require.NoError(t, couch.Seed("/couch/db/doc", []byte(`{"n":1}`)))
	require.NoError(t, plain.Seed("/api/doc", []byte(`{"n":1}`)))

	c := optimist.New(optimist.WithVersionToken(optimist.QueryParam("rev"), "/couch/*/*"))
	for _, url := range []string{couch.URL + "/couch/db/doc", plain.URL + "/api/doc"} {
		_, err := optimist.Update(t.Context(), c, url, func(v *versionedCounter) error {
			v.N++
			return nil
		})
		require.NoError(t, err, url)
	}
	log := couch.Requests()
	last := log[len(log)-1]
	require.Equal(t, http.MethodPut, last.Method)
	require.Empty(t, last.Header.Get("If-Match"))
	require.Equal(t, http.StatusOK, last.Status)
	require.Equal(t, http.StatusOK, plain.Requests()[len(plain.Requests())-1].Status)
}

// TestConflictBodyOfAnyMediaType: a conflict body that is not JSON is kept,
// bounded, and never parsed as JSON.
func TestConflictBodyOfAnyMediaType(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"text/html", "application/xml", "text/plain", "application/problem+json"} {
		body := `<html>name taken</html>`
		if strings.HasSuffix(ct, "json") {
			body = `{"type":"about:blank","title":"name taken","status":409}`
		}
		ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"1"`)
			if r.Method == http.MethodGet {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"name":"a"}`))
				return
			}
			w.Header().Set("Content-Type", ct)
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(body))
		})
		c := optimist.New()
		_, err := c.Get(t.Context(), ts.URL+"/r", nil)
		require.NoError(t, err)
		_, err = c.Put(t.Context(), ts.URL+"/r", map[string]string{"name": "b"}, nil)
		var se *optimist.StatusError
		require.ErrorAs(t, err, &se, ct)
		require.Equal(t, body, string(se.Body), ct)
		require.Equal(t, strings.HasSuffix(ct, "json"), se.Problem != nil, ct)
	}
}

func mustMember(t *testing.T, doc []byte, name string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(doc, &m))
	v, ok := m[name]
	require.True(t, ok, "%s has no %q", doc, name)
	return v
}

func TestVersionFieldDeleteIsConditional(t *testing.T) {
	t.Parallel()
	s := mock.NewServer(mock.WithVersionField("/_rev"), mock.WithCouchDBResponses(), mock.WithoutETags())
	t.Cleanup(s.Close)
	require.NoError(t, s.Seed("/db/doc", []byte(`{"n":1}`)))
	url := s.URL + "/db/doc"
	c := optimist.New(optimist.WithVersionToken(optimist.JSONField("/_rev")))
	_, err := c.Get(t.Context(), url, nil)
	require.NoError(t, err)
	v, _ := c.Remembered(url)
	_, err = c.Delete(t.Context(), url)
	require.NoError(t, err)
	log := s.Requests()
	del := log[len(log)-1]
	require.Equal(t, http.MethodDelete, del.Method)
	var rev string
	require.NoError(t, json.Unmarshal([]byte(v.ETag), &rev))
	require.Equal(t, `"`+rev+`"`, del.Header.Get("If-Match"))
}
