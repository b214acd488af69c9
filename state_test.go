package optimist_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

// The resource record (issue 11): one test per way the client used to
// guess what the server has. Each runs against a server that behaves like
// a real one in the way that matters (an Express-style body-hash ETag on
// every answer, an acknowledgement body, an OData service, etcd's query
// version), written here as a fakeStore with hooks.

// fakeStore is one JSON document with a version counter, served over
// HTTP: GET answers the document with ETag "<version>", PUT and PATCH
// check If-Match (when sent) and write. Hooks change the answers.
type fakeStore struct {
	mu      sync.Mutex
	doc     []byte
	version int
	exists  bool
	puts    []fakeWrite

	// onWrite, when set, runs before a write is checked; it may change the
	// store (a concurrent writer) and return true to have the connection
	// reset without an answer (after applying the write when apply says).
	onWrite func(s *fakeStore, r *http.Request, body []byte) (reset, apply bool)
	// answer, when set, writes the answer to a write that landed.
	answer func(w http.ResponseWriter, s *fakeStore)
	// conflict, when set, writes the answer to a refused write.
	conflict func(w http.ResponseWriter, s *fakeStore)
	// get, when set, writes the answer to a GET.
	get func(w http.ResponseWriter, r *http.Request, s *fakeStore)
}

// fakeWrite is one write the store received.
type fakeWrite struct {
	Method, IfMatch, Query string
	Body                   string
}

func (s *fakeStore) etag() string { return strconv.Quote(strconv.Itoa(s.version)) }

func newFakeStore(t *testing.T, doc string, setup func(*fakeStore)) (*fakeStore, string) {
	t.Helper()
	s := &fakeStore{doc: []byte(doc), version: 1, exists: true}
	if setup != nil {
		setup(s)
	}
	ts := newFuncServer(t, s.serve)
	return s, ts.URL + "/doc"
}

func (s *fakeStore) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method == http.MethodGet {
		s.serveGet(w, r)
		return
	}
	s.puts = append(s.puts, fakeWrite{r.Method, r.Header.Get("If-Match"), r.URL.RawQuery, string(body)})
	if s.onWrite != nil {
		if reset, apply := s.onWrite(s, r, body); reset {
			if apply {
				s.apply(r, body)
			}
			resetConn(w)
			return
		}
	}
	if m := r.Header.Get("If-Match"); m != "" && m != s.etag() {
		if s.conflict != nil {
			s.conflict(w, s)
			return
		}
		w.WriteHeader(http.StatusPreconditionFailed)
		return
	}
	s.apply(r, body)
	if r.Method == http.MethodDelete {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if s.answer != nil {
		s.answer(w, s)
		return
	}
	w.Header().Set("ETag", s.etag())
	w.WriteHeader(http.StatusNoContent)
}

func (s *fakeStore) serveGet(w http.ResponseWriter, r *http.Request) {
	if s.get != nil {
		s.get(w, r, s)
		return
	}
	if !s.exists {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set("ETag", s.etag())
	if r.Header.Get("If-None-Match") == s.etag() {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.doc)
}

// apply writes body as the request says: PUT replaces, PATCH merges (RFC
// 7396, top level is enough here), DELETE removes.
func (s *fakeStore) apply(r *http.Request, body []byte) {
	s.version++
	switch r.Method {
	case http.MethodDelete:
		s.exists, s.doc = false, nil
	case http.MethodPatch:
		var doc, patch map[string]json.RawMessage
		_ = json.Unmarshal(s.doc, &doc)
		_ = json.Unmarshal(body, &patch)
		for k, v := range patch {
			doc[k] = v
		}
		s.doc, _ = json.Marshal(doc)
	default:
		s.exists, s.doc = true, body
	}
}

// set changes the document as another writer would.
func (s *fakeStore) set(doc string) {
	s.doc, s.exists = []byte(doc), true
	s.version++
}

func (s *fakeStore) state() (string, []fakeWrite) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.doc), append([]fakeWrite(nil), s.puts...)
}

// resetConn cuts the connection of w without an answer.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

type n struct {
	N int `json:"n"`
}

// Case 1: equal content is no proof that a write landed. A's PUT is reset
// before the server applies it; B increments 0 to 1; A's re-send meets
// 412 and the server's document is what A meant to write. A must not be
// told its write landed.
func TestStateEqualContentIsNoProofOfLanding(t *testing.T) {
	t.Parallel()
	var once sync.Once
	store, url := newFakeStore(t, `{"n":0}`, func(s *fakeStore) {
		s.onWrite = func(s *fakeStore, r *http.Request, _ []byte) (bool, bool) {
			reset := false
			if r.Header.Get("X-Writer") == "A" {
				once.Do(func() { s.set(`{"n":1}`); reset = true }) // B's write, then A's reset
			}
			return reset, false
		}
	})
	a := optimist.New()
	ctx := optimist.NewContext(t.Context(), optimist.Header("X-Writer", "A"))
	_, err := a.Get(ctx, url, nil)
	require.NoError(t, err)
	_, err = a.Put(ctx, url, n{N: 1}, nil)
	require.ErrorIs(t, err, optimist.ErrOutcomeUnknown, "A cannot know whether its write landed")
	require.NotErrorIs(t, err, optimist.ErrConflict)
	doc, _ := store.state()
	require.JSONEq(t, `{"n":1}`, doc, "B's increment only")
}

// Case 2: an error body is never the server's document, even when the
// answer carries an ETag as Express-based servers (pouchdb-server,
// json-server) put on every answer, or looks like etcd's error document.
func TestStateErrorBodyIsNotTheDocument(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"pouchdb-style 409", http.StatusConflict, `{"error":"conflict","reason":"Document update conflict."}`},
		{"etcd-style 412", http.StatusPreconditionFailed, `{"errorCode":101,"message":"Compare failed","cause":"[1 != 2]","index":2}`},
		{"problem+json 412", http.StatusPreconditionFailed, `{"type":"about:blank","title":"Precondition Failed","status":412}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store, url := newFakeStore(t, `{"a":0,"b":0}`, func(s *fakeStore) {
				s.conflict = func(w http.ResponseWriter, _ *fakeStore) {
					w.Header().Set("ETag", fmt.Sprintf(`W/"%x"`, len(tt.body))) // a hash of the error body
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(tt.status)
					_, _ = io.WriteString(w, tt.body)
				}
			})
			c := optimist.New()
			_, err := c.Get(t.Context(), url, nil)
			require.NoError(t, err)
			store.mu.Lock()
			store.set(`{"a":0,"b":1}`)
			store.mu.Unlock()

			_, err = c.Put(t.Context(), url, json.RawMessage(`{"a":1,"b":0}`), nil)
			require.NoError(t, err)
			doc, writes := store.state()
			require.JSONEq(t, `{"a":1,"b":1}`, doc, "both changes, merged on the document read again")
			for _, w := range writes {
				require.NotContains(t, w.Body, "rror", "no error member written back")
				require.NotContains(t, w.Body, "reason")
			}
		})
	}
}

// Case 3: a write's acknowledgement is not the document: the next Update
// works on what was written, not on {"ok":true}.
func TestStateAcknowledgementIsNotTheDocument(t *testing.T) {
	t.Parallel()
	store, url := newFakeStore(t, `{"n":0}`, func(s *fakeStore) {
		s.answer = func(w http.ResponseWriter, s *fakeStore) {
			w.Header().Set("ETag", s.etag())
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"ok":true}`)
		}
	})
	c := optimist.New()
	for range 2 {
		_, err := optimist.Update(t.Context(), c, url, func(v *n) error { v.N++; return nil })
		require.NoError(t, err)
	}
	doc, _ := store.state()
	require.JSONEq(t, `{"n":2}`, doc)
}

// Case 4: an unconditional PATCH says nothing of the members it did not
// touch: the record must not be the stale body with the patch applied.
func TestStateUnconditionalPatchForgetsTheBody(t *testing.T) {
	t.Parallel()
	store, url := newFakeStore(t, `{"a":1,"b":1}`, nil)
	c := optimist.New()
	_, err := c.Get(t.Context(), url, nil)
	require.NoError(t, err)
	store.mu.Lock()
	store.set(`{"a":1,"b":2}`) // another writer
	store.mu.Unlock()

	_, err = c.Patch(t.Context(), url, json.RawMessage(`{"a":2}`), nil, optimist.Unconditional())
	require.NoError(t, err)
	type ab struct {
		A int `json:"a"`
		B int `json:"b"`
	}
	_, err = optimist.Update(t.Context(), c, url, func(v *ab) error { v.A++; return nil })
	require.NoError(t, err)
	doc, _ := store.state()
	require.JSONEq(t, `{"a":3,"b":2}`, doc, "the other writer's b survives")
}

// Case 5: the caller's buffer is copied: reusing it after a Put changes
// nothing the client keeps.
func TestStateCallerBufferIsCopied(t *testing.T) {
	t.Parallel()
	for _, raw := range []bool{false, true} {
		t.Run(fmt.Sprintf("RawMessage %v", raw), func(t *testing.T) {
			t.Parallel()
			store, url := newFakeStore(t, `{"n":0}`, nil)
			c := optimist.New()
			_, err := c.Get(t.Context(), url, nil)
			require.NoError(t, err)
			buf := []byte(`{"n":1}`)
			var in any = buf
			if raw {
				in = json.RawMessage(buf)
			}
			_, err = c.Put(t.Context(), url, in, nil)
			require.NoError(t, err)
			copy(buf, `{"n":7}`) // the caller reuses its buffer

			_, err = optimist.Update(t.Context(), c, url, func(v *n) error { v.N++; return nil })
			require.NoError(t, err)
			doc, _ := store.state()
			require.JSONEq(t, `{"n":2}`, doc)
		})
	}
}

// Case 6: a mutation that changes nothing of a remembered, stale body is
// not a success until the server's document has been read.
func TestStateNoOpUpdateChecksTheServer(t *testing.T) {
	t.Parallel()
	store, url := newFakeStore(t, `{"n":1}`, nil)
	c := optimist.New()
	_, err := c.Get(t.Context(), url, nil)
	require.NoError(t, err)
	store.mu.Lock()
	store.set(`{"n":2}`)
	store.mu.Unlock()

	got, err := optimist.Update(t.Context(), c, url, func(v *n) error { v.N = 1; return nil })
	require.NoError(t, err)
	require.Equal(t, 1, got.N)
	doc, writes := store.state()
	require.JSONEq(t, `{"n":1}`, doc, "the server holds what Update reported")
	require.Len(t, writes, 1)
}

// A mutation that changes nothing of the document just read writes
// nothing, however the server spells the document (spacing, member order,
// members the type does not hold), alone or with group commit.
func TestStateNoOpUpdateOfFreshDocumentWritesNothing(t *testing.T) {
	t.Parallel()
	for _, group := range []bool{false, true} {
		t.Run(fmt.Sprintf("group commit %v", group), func(t *testing.T) {
			t.Parallel()
			store, url := newFakeStore(t, `{ "z": [1, 2], "n" : 1 }`, nil)
			c := optimist.New(optimist.WithGroupCommit(group))
			got, err := optimist.Update(t.Context(), c, url, func(v *n) error { v.N = 1; return nil })
			require.NoError(t, err)
			require.Equal(t, 1, got.N)
			_, writes := store.state()
			require.Empty(t, writes)
		})
	}
}

// Case 7: no write goes out blind. With no version known (a fresh client,
// an evicted record) a write fails with ErrNoVersion and nothing is sent;
// Unconditional and CreateOnly say what to send instead.
func TestStateNoBlindWrites(t *testing.T) {
	t.Parallel()
	writes := map[string]func(c *optimist.Client, url string) error{
		"PUT": func(c *optimist.Client, url string) error {
			_, err := c.Put(t.Context(), url, n{N: 5}, nil)
			return err
		},
		"PATCH": func(c *optimist.Client, url string) error {
			_, err := c.Patch(t.Context(), url, n{N: 5}, nil)
			return err
		},
		"DELETE": func(c *optimist.Client, url string) error {
			_, err := c.Delete(t.Context(), url)
			return err
		},
	}
	for method, write := range writes {
		for _, evicted := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s evicted %v", method, evicted), func(t *testing.T) {
				t.Parallel()
				store, url := newFakeStore(t, `{"n":0}`, nil)
				c := optimist.New(optimist.WithMemory(optimist.MemoryOptions{Entries: 1}))
				if evicted {
					_, err := c.Get(t.Context(), url, nil)
					require.NoError(t, err)
					_, err = c.Get(t.Context(), url+"?other", nil) // evicts url's record
					require.NoError(t, err)
				}
				err := write(c, url)
				require.ErrorIs(t, err, optimist.ErrNoVersion)
				require.Contains(t, err.Error(), "Unconditional")
				doc, sent := store.state()
				require.Empty(t, sent, "nothing sent")
				require.JSONEq(t, `{"n":0}`, doc)
			})
		}
	}
	t.Run("Unconditional forces, CreateOnly creates", func(t *testing.T) {
		t.Parallel()
		store, url := newFakeStore(t, `{"n":0}`, nil)
		c := optimist.New()
		_, err := c.Put(t.Context(), url, n{N: 5}, nil, optimist.Unconditional())
		require.NoError(t, err)
		_, err = optimist.New().Put(t.Context(), url+"2", n{N: 1}, nil, optimist.CreateOnly())
		require.NoError(t, err)
		_, sent := store.state()
		require.Len(t, sent, 2)
		require.Empty(t, sent[0].IfMatch)
	})
}

type sparse struct {
	N int `json:"n,omitempty"`
}

// Case 8: a typed mutation's change is the difference between the value
// before and after it, applied to the document, however the type encodes
// the members it did not change.
func TestStateTypedChangeIsTheTwoWayDifference(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	url := seed(t, s, "/docs/sparse", `{"n":0,"keep":1.50}`)
	c := newClient(s)
	got, err := optimist.Update(t.Context(), c, url, func(v *sparse) error { v.N++; return nil })
	require.NoError(t, err)
	require.Equal(t, 1, got.N)
	body, _, _ := s.Document("/docs/sparse")
	require.JSONEq(t, `{"n":1,"keep":1.50}`, string(body))

	t.Run("Typed resolver", func(t *testing.T) {
		s, c, url := conflicted(t, `{"title":"base","count":0}`)
		type sparseDoc struct {
			Title string `json:"title,omitempty"`
			Count int    `json:"count,omitempty"`
		}
		resolver := optimist.Typed(func(_, ours, theirs *sparseDoc) (*sparseDoc, error) {
			theirs.Count = ours.Count
			return theirs, nil
		})
		_, err := c.Put(t.Context(), url, doc{Title: "base", Count: 3}, nil, optimist.Resolve(resolver))
		require.NoError(t, err)
		body, _, _ := s.Document("/docs/a")
		require.Contains(t, string(body), `"count":3`)
	})
}

// Case 9: a write that may have landed is never reported as a plain
// failure, and a DELETE whose re-send finds the resource gone succeeded.
func TestStateLostAnswerOutcomes(t *testing.T) {
	t.Parallel()
	t.Run("answer lost, then 503s", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, mock.WithFaults(mock.Faults{Methods: []string{http.MethodPut}}))
		url := seed(t, s, "/docs/l", `{"n":0}`)
		c := newClient(s, optimist.WithRetry(optimist.RetryOptions{MaxRetries: 2, Backoff: zeroBackoff}))
		_, err := c.Get(t.Context(), url, nil)
		require.NoError(t, err)
		s.FailNext(1, mock.FaultLostResponse)
		s.FailNext(2, mock.Fault503)
		_, err = c.Put(t.Context(), url, n{N: 1}, nil)
		require.ErrorIs(t, err, optimist.ErrOutcomeUnknown)
		var unknown *optimist.OutcomeUnknownError
		require.ErrorAs(t, err, &unknown)
		require.Equal(t, http.StatusServiceUnavailable, unknown.StatusCode)
		body, _, _ := s.Document("/docs/l")
		require.JSONEq(t, `{"n":1}`, string(body), "it had landed")
	})
	t.Run("answer lost, then no answer at all", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, mock.WithFaults(mock.Faults{Methods: []string{http.MethodPut}}))
		url := seed(t, s, "/docs/l", `{"n":0}`)
		c := newClient(s, optimist.WithRetry(optimist.RetryOptions{MaxRetries: 1, Backoff: zeroBackoff}))
		_, err := c.Get(t.Context(), url, nil)
		require.NoError(t, err)
		s.FailNext(1, mock.FaultLostResponse)
		s.FailNext(1, mock.FaultReset)
		_, err = c.Put(t.Context(), url, n{N: 1}, nil)
		require.ErrorIs(t, err, optimist.ErrOutcomeUnknown)
		var te *optimist.TransportError
		require.ErrorAs(t, err, &te)
	})
	t.Run("DELETE answer lost, re-send finds it gone", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, mock.WithFaults(mock.Faults{Methods: []string{http.MethodDelete}}))
		url := seed(t, s, "/docs/d", `{"n":0}`)
		c := newClient(s)
		_, err := c.Get(t.Context(), url, nil)
		require.NoError(t, err)
		s.FailNext(1, mock.FaultLostResponse)
		resp, err := c.Delete(t.Context(), url)
		require.NoError(t, err, "the resource is gone, as asked")
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		_, _, ok := s.Document("/docs/d")
		require.False(t, ok)
	})
	t.Run("DELETE answer lost, re-send refused", func(t *testing.T) {
		t.Parallel()
		var once sync.Once
		store, url := newFakeStore(t, `{"n":0}`, func(s *fakeStore) {
			s.onWrite = func(s *fakeStore, _ *http.Request, _ []byte) (bool, bool) {
				reset := false
				once.Do(func() { reset = true })
				if reset {
					return true, true
				}
				s.set(`{"n":9}`) // recreated by someone else before the re-send
				return false, false
			}
		})
		c := optimist.New()
		_, err := c.Get(t.Context(), url, nil)
		require.NoError(t, err)
		_, err = c.Delete(t.Context(), url)
		require.ErrorIs(t, err, optimist.ErrOutcomeUnknown)
		require.NotErrorIs(t, err, optimist.ErrConflict)
		_, sent := store.state()
		require.Len(t, sent, 2)
	})
}

// Case 11: the conflict re-read sends the caller's own headers, Accept
// included: an OData service then answers without the metadata members
// that Update would otherwise write back.
func TestStateRereadKeepsTheCallersHeaders(t *testing.T) {
	t.Parallel()
	const nometadata = "application/json;odata=nometadata"
	var accepts []string
	store, url := newFakeStore(t, `{"n":0}`, func(s *fakeStore) {
		s.get = func(w http.ResponseWriter, r *http.Request, s *fakeStore) {
			accepts = append(accepts, r.Header.Get("Accept"))
			w.Header().Set("ETag", s.etag())
			w.Header().Set("Content-Type", "application/json")
			if r.Header.Get("Accept") == nometadata {
				_, _ = w.Write(s.doc)
				return
			}
			var m map[string]json.RawMessage
			_ = json.Unmarshal(s.doc, &m)
			m["odata.metadata"] = json.RawMessage(`"http://127.0.0.1/$metadata#t/@Element"`)
			out, _ := json.Marshal(m)
			_, _ = w.Write(out)
		}
	})
	header := optimist.Header("Accept", nometadata)
	writer := optimist.New()
	_, err := writer.Get(t.Context(), url, nil, header)
	require.NoError(t, err)
	store.mu.Lock()
	store.set(`{"n":10}`)
	store.mu.Unlock()

	_, err = optimist.Update(t.Context(), writer, url, func(v *n) error { v.N++; return nil }, header)
	require.NoError(t, err)
	doc, writes := store.state()
	require.JSONEq(t, `{"n":11}`, doc)
	for _, w := range writes {
		require.NotContains(t, w.Body, "odata.metadata")
	}
	for _, a := range accepts {
		require.Equal(t, nometadata, a)
	}
}

// Case 12: Do honours the version token: with etcd's ?prevIndex= a
// generated client's write is conditional, and a stale one is refused.
func TestStateDoHonoursTheVersionToken(t *testing.T) {
	t.Parallel()
	store, url := newFakeStore(t, `{"a":0,"b":0}`, func(s *fakeStore) {
		s.get = func(w http.ResponseWriter, _ *http.Request, s *fakeStore) {
			w.Header().Set("X-Etcd-Index", strconv.Itoa(s.version))
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(s.doc)
		}
		s.onWrite = func(s *fakeStore, r *http.Request, _ []byte) (bool, bool) {
			if r.URL.Query().Get("prevIndex") != strconv.Itoa(s.version) {
				r.Header.Set("If-Match", `"stale"`) // let the store refuse it
			} else {
				r.Header.Del("If-Match")
			}
			return false, false
		}
		s.answer = func(w http.ResponseWriter, s *fakeStore) {
			w.Header().Set("X-Etcd-Index", strconv.Itoa(s.version))
			w.WriteHeader(http.StatusOK)
		}
	})
	token := optimist.WithVersionToken(optimist.QueryParam("prevIndex").FromHeader("X-Etcd-Index"))
	a, b := optimist.New(token), optimist.New(token)
	for _, c := range []*optimist.Client{a, b} {
		_, err := c.Get(t.Context(), url, nil)
		require.NoError(t, err)
	}
	do := func(c *optimist.Client, body string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, url, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	do(b, `{"a":0,"b":1}`)
	do(a, `{"a":1,"b":0}`)
	doc, writes := store.state()
	require.JSONEq(t, `{"a":1,"b":1}`, doc, "a's stale write was refused, then merged")
	for _, w := range writes {
		require.Contains(t, w.Query, "prevIndex=")
	}
}

// Members the server owns (MemoryOptions.ServerMembers) are never written back:
// an OData service adds odata.metadata to every representation.
func TestStateServerMembersAreNotWrittenBack(t *testing.T) {
	t.Parallel()
	store, url := newFakeStore(t, `{"n":0}`, func(s *fakeStore) {
		s.get = func(w http.ResponseWriter, _ *http.Request, s *fakeStore) {
			var m map[string]json.RawMessage
			_ = json.Unmarshal(s.doc, &m)
			m["odata.metadata"] = json.RawMessage(`"http://127.0.0.1/$metadata#t/@Element"`)
			out, _ := json.Marshal(m)
			w.Header().Set("ETag", s.etag())
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(out)
		}
	})
	c := optimist.New(optimist.WithMemory(optimist.MemoryOptions{ServerMembers: []string{"/odata.metadata"}}))
	for range 3 {
		_, err := optimist.Update(t.Context(), c, url, func(v *n) error { v.N++; return nil })
		require.NoError(t, err)
		store.mu.Lock()
		store.set(strings.Replace(string(store.doc), `"n":`, `"other":1,"n":`, 1)) // another writer in between
		store.mu.Unlock()
	}
	doc, writes := store.state()
	require.NotContains(t, doc, "odata")
	require.Contains(t, doc, `"n":3`)
	require.Len(t, writes, 5, "the first write, then two per conflicted update")
}

// Get revalidates what it remembers: If-None-Match with the remembered
// tag, and a 304 decodes the remembered body. Do passes a 304 the caller
// asked for through as it is.
func TestStateGetRevalidates(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	url := seed(t, s, "/docs/r", `{"title":"r","count":1}`)
	c := newClient(s)
	first, err := c.Get(t.Context(), url, nil)
	require.NoError(t, err)
	require.False(t, first.Revalidated)

	var d doc
	again, err := c.Get(t.Context(), url, &d)
	require.NoError(t, err)
	require.True(t, again.Revalidated)
	require.Equal(t, http.StatusNotModified, again.StatusCode)
	require.Equal(t, doc{Title: "r", Count: 1}, d)
	require.Equal(t, string(first.ETag), lastRequest(t, s, http.MethodGet).Header.Get("If-None-Match"))
	require.Equal(t, 1, s.Count(http.MethodGet, http.StatusNotModified))

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("If-None-Match", string(first.ETag))
	resp, err := c.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusNotModified, resp.StatusCode)
	require.Empty(t, body, "the caller's 304, untouched")

	_, err = newClient(s).Put(t.Context(), url, doc{Title: "new"}, nil, optimist.Unconditional())
	require.NoError(t, err)
	changed, err := c.Get(t.Context(), url, &d)
	require.NoError(t, err)
	require.False(t, changed.Revalidated)
	require.Equal(t, "new", d.Title)
}

// One shared client never hands one caller's document or version to a
// caller with other credentials, nor to one whose request differs in a
// header the answer varied on.
func TestStateRecordsBelongToTheirCaller(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string // If-None-Match of each GET
	ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("If-None-Match"))
		mu.Unlock()
		who := r.Header.Get("Authorization") + "|" + r.Header.Get("Accept-Language")
		tag := strconv.Quote(fmt.Sprintf("%x", len(who)) + strings.NewReplacer(" ", "", "|", "-").Replace(who))
		w.Header().Set("ETag", tag)
		w.Header().Set("Vary", "Accept-Language")
		if r.Header.Get("If-None-Match") == tag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"who":%q}`, who)
	})
	c := optimist.New()
	get := func(auth, lang string) string {
		t.Helper()
		var v struct{ Who string }
		_, err := c.Get(t.Context(), ts.URL+"/me", &v,
			optimist.Header("Authorization", auth), optimist.Header("Accept-Language", lang))
		require.NoError(t, err)
		return v.Who
	}
	require.Equal(t, "Bearer alice|en", get("Bearer alice", "en"))
	require.Equal(t, "Bearer bob|en", get("Bearer bob", "en"))
	require.Equal(t, "Bearer alice|en", get("Bearer alice", "en"))
	require.Equal(t, "Bearer alice|fr", get("Bearer alice", "fr"))
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, "", seen[1], "bob is not offered alice's version")
	require.NotEmpty(t, seen[2], "alice revalidates her own")
	require.Equal(t, "", seen[3], "another Accept-Language is another representation")
	_, ok := c.Remembered(ts.URL + "/me")
	require.False(t, ok, "records made with credentials are not the anonymous one")
}

// A conflict re-read carries If-None-Match with the strong tag the write
// sent: a 304 proves the document unchanged, so the refusal was not a
// version conflict, and nothing is merged or written again.
func TestStateRereadClassifiesRefusals(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusConflict, http.StatusPreconditionFailed} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			var rereads []http.Header
			store, url := newFakeStore(t, `{"name":"a"}`, func(s *fakeStore) {
				s.onWrite = func(_ *fakeStore, r *http.Request, _ []byte) (bool, bool) {
					r.Header.Set("If-Match", `"refused"`) // refuse every write, version unchanged
					return false, false
				}
				s.conflict = func(w http.ResponseWriter, _ *fakeStore) { w.WriteHeader(status) }
			})
			c := optimist.New(optimist.WithClock(nil, func(context.Context, time.Duration) error { return nil }))
			_, err := c.Get(t.Context(), url, nil)
			require.NoError(t, err)
			store.get = func(w http.ResponseWriter, r *http.Request, s *fakeStore) {
				rereads = append(rereads, r.Header.Clone())
				s.get = nil
				s.serveGet(w, r)
			}
			_, err = c.Put(t.Context(), url, json.RawMessage(`{"name":"b"}`), nil)
			var se *optimist.StatusError
			require.ErrorAs(t, err, &se)
			require.Equal(t, status, se.StatusCode)
			require.NotErrorIs(t, err, optimist.ErrConflict, "the document did not change: no version conflict")
			_, writes := store.state()
			require.Len(t, writes, 1, "nothing merged, nothing written again")
			require.Len(t, rereads, 1)
			require.Equal(t, `"1"`, rereads[0].Get("If-None-Match"))
			require.Equal(t, "no-cache", rereads[0].Get("Cache-Control"))
		})
	}
}

// A version token that rewrites the wire body (etcd's form value=…) changes
// only what is sent: the record keeps the JSON document the write meant,
// so the next Update works on it, and the conflict loop still merges it.
func TestStateTokenEncodingStaysOnTheWire(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	value, index := `{"n":0}`, 1
	var forms []string
	ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodPut {
			_ = r.ParseForm()
			forms = append(forms, r.Header.Get("Content-Type"))
			if r.URL.Query().Get("prevIndex") != strconv.Itoa(index) {
				w.WriteHeader(http.StatusPreconditionFailed)
				return
			}
			value, index = r.PostForm.Get("value"), index+1
			w.Header().Set("X-Index", strconv.Itoa(index))
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Header().Set("X-Index", strconv.Itoa(index))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, value)
	})
	form := optimist.VersionToken{
		Read: func(h http.Header, _ []byte) string { return h.Get("X-Index") },
		Write: func(w *optimist.VersionedWrite, version string) error {
			w.Query.Set("prevIndex", version)
			w.Body = []byte(url.Values{"value": {string(w.Body)}}.Encode())
			w.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return nil
		},
	}
	c := optimist.New(optimist.WithVersionToken(form))
	for i := range 3 {
		_, err := optimist.Update(t.Context(), c, ts.URL+"/k", func(v *n) error { v.N++; return nil })
		require.NoError(t, err)
		rec, ok := c.Remembered(ts.URL + "/k")
		require.True(t, ok)
		require.JSONEq(t, fmt.Sprintf(`{"n":%d}`, i+1), string(rec.Body), "the document, not its wire form")
	}
	mu.Lock()
	value, index = `{"n":10}`, index+1 // another writer
	mu.Unlock()
	_, err := optimist.Update(t.Context(), c, ts.URL+"/k", func(v *n) error { v.N++; return nil })
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.JSONEq(t, `{"n":11}`, value)
	for _, ct := range forms {
		require.Equal(t, "application/x-www-form-urlencoded", ct)
	}
}

// Credentials in the URL's user information are credentials too: two
// users of one shared client do not share a record.
func TestStateUserinfoIsACredential(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		user, _, _ := r.BasicAuth()
		mu.Lock()
		seen = append(seen, user+" "+r.Header.Get("If-None-Match"))
		mu.Unlock()
		w.Header().Set("ETag", strconv.Quote(user))
		if r.Header.Get("If-None-Match") == strconv.Quote(user) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"who":%q}`, user)
	})
	c := optimist.New()
	for _, user := range []string{"alice", "bob", "alice"} {
		var v struct{ Who string }
		_, err := c.Get(t.Context(), strings.Replace(ts.URL, "http://", "http://"+user+":pw@", 1)+"/me", &v)
		require.NoError(t, err)
		require.Equal(t, user, v.Who)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"alice ", "bob ", `alice "alice"`}, seen, "bob is not offered alice's version")
}
