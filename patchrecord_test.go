package optimist_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/internal/jsonmerge"
)

// What a PATCH leaves in the record, and what a conflicting PATCH meant,
// against a server that stores RFC 7396 results: a patch's arrays are
// values, null members of their objects included.

// rfc7396Store is one JSON document served over HTTP: GET answers it with
// ETag "<version>"; PATCH checks If-Match, applies the merge patch as RFC
// 7396 says and answers 204 with the new ETag and no body.
type rfc7396Store struct {
	mu      sync.Mutex
	doc     []byte
	version int
}

func newRFC7396Store(t *testing.T, doc string) (*rfc7396Store, string) {
	t.Helper()
	s := &rfc7396Store{doc: []byte(doc), version: 1}
	ts := newFuncServer(t, s.serve)
	return s, ts.URL + "/doc"
}

func (s *rfc7396Store) etag() string { return fmt.Sprintf(`"%d"`, s.version) }

func (s *rfc7396Store) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("ETag", s.etag())
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.doc)
	case http.MethodPatch:
		if r.Header.Get("If-Match") != s.etag() {
			w.WriteHeader(http.StatusPreconditionFailed)
			return
		}
		patch, _ := io.ReadAll(r.Body)
		doc, err := jsonmerge.ApplyPatch(s.doc, patch)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.doc, s.version = doc, s.version+1
		w.Header().Set("ETag", s.etag())
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// set changes the document as another writer would.
func (s *rfc7396Store) set(doc string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.doc, s.version = []byte(doc), s.version+1
}

func (s *rfc7396Store) state() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.doc...)
}

// TestPatchRecordKeepsNullsInArrays checks that the record after a PATCH
// answered without a body is the server's document, member for member:
// a null member of an object inside an array of the patch is kept.
func TestPatchRecordKeepsNullsInArrays(t *testing.T) {
	t.Parallel()
	store, url := newRFC7396Store(t, `{"title":"t","tags":[]}`)
	c := optimist.New()
	_, err := c.Get(t.Context(), url, nil)
	require.NoError(t, err)

	_, err = c.Patch(t.Context(), url, json.RawMessage(`{"tags":[{"x":null,"y":1}]}`), nil)
	require.NoError(t, err)
	doc := store.state()
	require.JSONEq(t, `{"title":"t","tags":[{"x":null,"y":1}]}`, string(doc))
	v, ok := c.Remembered(url)
	require.True(t, ok)
	require.JSONEq(t, string(doc), string(v.Body), "the record is the server's document")
	require.True(t, jsonmerge.Equal(doc, v.Body))
}

// TestConflictingPatchKeepsNullsInArrays checks that a PATCH that meets
// another writer's change carries, merged onto theirs, the document its
// patch meant: null members of objects inside its arrays included.
func TestConflictingPatchKeepsNullsInArrays(t *testing.T) {
	t.Parallel()
	store, url := newRFC7396Store(t, `{"title":"t","tags":[]}`)
	c := optimist.New()
	_, err := c.Get(t.Context(), url, nil)
	require.NoError(t, err)
	store.set(`{"title":"u","tags":[]}`) // another writer

	_, err = c.Patch(t.Context(), url, json.RawMessage(`{"tags":[{"x":null,"y":1}]}`), nil)
	require.NoError(t, err)
	doc := store.state()
	require.JSONEq(t, `{"title":"u","tags":[{"x":null,"y":1}]}`, string(doc), "both changes, the null member kept")
	v, ok := c.Remembered(url)
	require.True(t, ok)
	require.JSONEq(t, string(doc), string(v.Body), "the record is the server's document")
}
