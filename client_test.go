package optimist_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

// newServer starts a mock server for one test.
func newServer(t *testing.T, opts ...mock.Option) *mock.Server {
	t.Helper()
	s := mock.NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// newClient returns a client of s that retries without waiting.
func newClient(s *mock.Server, opts ...optimist.Option) *optimist.Client {
	base := []optimist.Option{
		optimist.WithHTTPClient(s.Client()),
		optimist.WithRetry(optimist.RetryOptions{Backoff: func(int) time.Duration { return 0 }}),
	}
	return optimist.New(append(base, opts...)...)
}

func seed(t *testing.T, s *mock.Server, path, doc string) string {
	t.Helper()
	require.NoError(t, s.Seed(path, []byte(doc)))
	return s.URL + path
}

// lastRequest returns the newest logged request with the method.
func lastRequest(t *testing.T, s *mock.Server, method string) mock.Request {
	t.Helper()
	log := s.Requests()
	for i := len(log) - 1; i >= 0; i-- {
		if log[i].Method == method {
			return log[i]
		}
	}
	t.Fatalf("no %s request logged", method)
	return mock.Request{}
}

type doc struct {
	Title string `json:"title"`
	Count int    `json:"count"`
}

func TestGetETagIsSentAsIfMatch(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	url := seed(t, s, "/docs/a", `{"title":"a","count":1}`)
	c := newClient(s)

	var d doc
	got, err := c.Get(t.Context(), url, &d)
	require.NoError(t, err)
	require.NotEmpty(t, got.ETag)
	require.Equal(t, doc{Title: "a", Count: 1}, d)

	d.Count++
	put, err := c.Put(t.Context(), url, d, &d)
	require.NoError(t, err)
	require.Equal(t, string(got.ETag), lastRequest(t, s, http.MethodPut).Header.Get("If-Match"))
	require.NotEqual(t, got.ETag, put.ETag)

	v, ok := c.Remembered(url)
	require.True(t, ok)
	require.Equal(t, put.ETag, v.ETag)
	require.JSONEq(t, `{"title":"a","count":2}`, string(v.Body))
}

func TestStaleETagIsConflict(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusConflict, http.StatusPreconditionFailed} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			s := newServer(t, mock.WithConflictStatus(status))
			url := seed(t, s, "/docs/a", `{"title":"a","count":1}`)
			stale, fresh := newClient(s), newClient(s)
			_, err := stale.Get(t.Context(), url, nil)
			require.NoError(t, err)
			_, err = fresh.Get(t.Context(), url, nil)
			require.NoError(t, err)
			_, err = fresh.Put(t.Context(), url, doc{Title: "b", Count: 1}, nil)
			require.NoError(t, err)

			_, err = stale.Delete(t.Context(), url)
			require.ErrorIs(t, err, optimist.ErrConflict)
			var se *optimist.StatusError
			require.ErrorAs(t, err, &se)
			require.Equal(t, status, se.StatusCode)
			require.Equal(t, status == http.StatusPreconditionFailed, errors.Is(err, optimist.ErrPreconditionFailed))

			_, err = stale.Put(t.Context(), url, doc{Title: "a", Count: 2}, nil, optimist.Resolve(optimist.ReturnConflict))
			require.ErrorIs(t, err, optimist.ErrConflict)
			var ce *optimist.ConflictError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, status, ce.Last.StatusCode)
			_, _, ok := s.Document("/docs/a")
			require.True(t, ok, "a stale delete must not apply")
			body, _, _ := s.Document("/docs/a")
			require.JSONEq(t, `{"title":"b","count":1}`, string(body), "a stale put must not apply")
		})
	}
}

func TestCreateOnly(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	c := newClient(s)
	url := s.URL + "/docs/new"

	_, err := c.Put(t.Context(), url, doc{Title: "first"}, nil, optimist.CreateOnly())
	require.NoError(t, err)
	require.Equal(t, "*", lastRequest(t, s, http.MethodPut).Header.Get("If-None-Match"))

	_, err = c.Put(t.Context(), url, doc{Title: "second"}, nil, optimist.CreateOnly())
	require.ErrorIs(t, err, optimist.ErrConflict)
	body, _, _ := s.Document("/docs/new")
	require.JSONEq(t, `{"title":"first","count":0}`, string(body))
}

func TestWeakETagIsEchoedVerbatim(t *testing.T) {
	t.Parallel()
	s := newServer(t, mock.WithWeakETags(), mock.WithWeakIfMatch())
	url := seed(t, s, "/docs/w", `{"title":"w","count":0}`)
	c := newClient(s)

	got, err := c.Get(t.Context(), url, nil)
	require.NoError(t, err)
	require.True(t, got.ETag.IsWeak(), "mock serves weak tags: %s", got.ETag)

	_, err = c.Put(t.Context(), url, doc{Title: "w", Count: 1}, nil)
	require.NoError(t, err)
	require.Equal(t, string(got.ETag), lastRequest(t, s, http.MethodPut).Header.Get("If-Match"))
}

func TestWriteAnswerUpdatesMemory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		etag     string
		wantKept bool
	}{
		{name: "204 with ETag", etag: `"v2"`, wantKept: true},
		{name: "204 without ETag", etag: "", wantKept: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					w.Header().Set("ETag", `"v1"`)
					w.Header().Set("Content-Type", "application/json")
					_, _ = io.WriteString(w, `{"title":"x","count":1}`)
					return
				}
				if tt.etag != "" {
					w.Header().Set("ETag", tt.etag)
				}
				w.WriteHeader(http.StatusNoContent)
			})
			c := optimist.New()
			url := ts.URL + "/d"
			_, err := c.Get(t.Context(), url, nil)
			require.NoError(t, err)
			_, err = c.Put(t.Context(), url, doc{Title: "x", Count: 2}, nil)
			require.NoError(t, err)

			v, ok := c.Remembered(url)
			require.Equal(t, tt.wantKept, ok)
			if tt.wantKept {
				require.Equal(t, optimist.ETag(tt.etag), v.ETag)
				require.JSONEq(t, `{"title":"x","count":2}`, string(v.Body), "the base is what was written")
			}
		})
	}
}

// lastModifiedOnlyServer knows /r by Last-Modified at first and wants
// If-Match on writes: a PUT with If-Unmodified-Since gets 428. Its later
// GETs answer reread.
func lastModifiedOnlyServer(t *testing.T, reread http.HandlerFunc) (url string, puts *atomic.Int32) {
	t.Helper()
	puts = new(atomic.Int32)
	var gets atomic.Int32
	ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && gets.Add(1) == 1:
			w.Header().Set("Last-Modified", "Mon, 02 Nov 2026 10:00:00 GMT")
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"title":"r","count":1}`)
		case r.Method == http.MethodGet:
			reread(w, r)
		case r.Header.Get("If-Match") == "":
			puts.Add(1)
			w.WriteHeader(http.StatusPreconditionRequired)
		default:
			puts.Add(1)
			w.Header().Set("ETag", `"2"`)
			w.WriteHeader(http.StatusNoContent)
		}
	})
	return ts.URL + "/r", puts
}

func TestPreconditionRequiredReadsThenWritesOnce(t *testing.T) {
	t.Parallel()
	url, puts := lastModifiedOnlyServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("ETag", `"1"`)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"title":"r","count":1}`)
	})
	c := optimist.New()
	_, err := c.Get(t.Context(), url, nil)
	require.NoError(t, err)
	_, err = c.Put(t.Context(), url, doc{Title: "r", Count: 5}, nil)
	require.NoError(t, err)
	require.EqualValues(t, 2, puts.Load(), "the 428 and the conditional write")
	v, ok := c.Remembered(url)
	require.True(t, ok)
	require.Equal(t, optimist.ETag(`"2"`), v.ETag)
}

// Issue 11, case 10: when the read a 428 asks for fails, the caller sees
// why, not only the 428.
func TestPreconditionRequiredKeepsTheReadError(t *testing.T) {
	t.Parallel()
	url, puts := lastModifiedOnlyServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden)
	})
	c := optimist.New()
	_, err := c.Get(t.Context(), url, nil)
	require.NoError(t, err)
	_, err = c.Put(t.Context(), url, doc{Title: "r", Count: 5}, nil)
	require.ErrorIs(t, err, optimist.ErrPreconditionFailed, "the 428")
	require.Equal(t, []int{http.StatusPreconditionRequired, http.StatusForbidden}, statusesIn(err))
	require.EqualValues(t, 1, puts.Load())
}

// statusesIn lists the status codes of every *StatusError in err's tree.
func statusesIn(err error) []int {
	var codes []int
	var walk func(error)
	walk = func(err error) {
		if se, ok := err.(*optimist.StatusError); ok {
			codes = append(codes, se.StatusCode)
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			if inner := u.Unwrap(); inner != nil {
				walk(inner)
			}
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				walk(inner)
			}
		}
	}
	walk(err)
	return codes
}

func TestNotFoundForgets(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	url := seed(t, s, "/docs/gone", `{"title":"g","count":1}`)
	c := newClient(s)
	_, err := c.Get(t.Context(), url, nil)
	require.NoError(t, err)
	_, err = c.Delete(t.Context(), url)
	require.NoError(t, err)
	_, ok := c.Remembered(url)
	require.False(t, ok, "forgotten on DELETE")

	_, err = c.Get(t.Context(), url, nil)
	require.ErrorIs(t, err, optimist.ErrNotFound)
}

// thingsAPI is written the way oapi-codegen writes a client: it knows only
// an HttpRequestDoer.
type thingsAPI struct {
	server string
	client interface {
		Do(req *http.Request) (*http.Response, error)
	}
}

func (a *thingsAPI) get(ctx context.Context, id string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.server+"/things/"+id, nil)
	if err != nil {
		return nil, err
	}
	return a.client.Do(req)
}

func (a *thingsAPI) put(ctx context.Context, id string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, a.server+"/things/"+id, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return a.client.Do(req)
}

func TestGeneratedClientGetsConditionalWrites(t *testing.T) {
	t.Parallel()
	s := newServer(t, mock.WithRequireIfMatch())
	seed(t, s, "/things/1", `{"title":"t","count":1}`)
	api := &thingsAPI{server: s.URL, client: newClient(s)}

	resp, err := api.get(t.Context(), "1")
	require.NoError(t, err)
	etag := resp.Header.Get("ETag")
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.JSONEq(t, `{"title":"t","count":1}`, string(body))

	resp, err = api.put(t.Context(), "1", []byte(`{"title":"t","count":2}`))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, etag, lastRequest(t, s, http.MethodPut).Header.Get("If-Match"))
	require.Zero(t, s.Count(http.MethodPut, http.StatusPreconditionRequired))
}

func TestDoReturnsNon2xxAsResponse(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	api := &thingsAPI{server: s.URL, client: newClient(s)}
	resp, err := api.get(t.Context(), "missing")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestPatchSendsMergePatch(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	url := seed(t, s, "/docs/p", `{"title":"p","count":1}`)
	c := newClient(s)
	_, err := c.Get(t.Context(), url, nil)
	require.NoError(t, err)

	var d doc
	_, err = c.Patch(t.Context(), url, map[string]any{"count": 7}, &d)
	require.NoError(t, err)
	require.Equal(t, doc{Title: "p", Count: 7}, d)
	req := lastRequest(t, s, http.MethodPatch)
	require.Equal(t, "application/merge-patch+json", req.Header.Get("Content-Type"))
	require.NotEmpty(t, req.Header.Get("If-Match"))
}

func TestInvalidInput(t *testing.T) {
	t.Parallel()
	c := optimist.New()
	_, err := c.Get(t.Context(), "file:///etc/passwd", nil)
	require.Error(t, err)
	_, err = c.Get(t.Context(), "http://[::1", nil)
	require.Error(t, err)
	_, err = c.Put(t.Context(), "http://127.0.0.1:1/x", []byte("{not json"), nil)
	require.ErrorIs(t, err, optimist.ErrNotJSON)
	_, err = c.Put(t.Context(), "http://127.0.0.1:1/x", func() {}, nil)
	require.Error(t, err)
}

func TestStatusErrorKeepsResponse(t *testing.T) {
	t.Parallel()
	ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Set-Cookie", "session=SECRET-COOKIE")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"title":"bad","detail":"title is required","status":400}`)
	})
	c := optimist.New()
	_, err := c.Post(t.Context(), ts.URL+"/x", doc{}, nil, optimist.Header("Authorization", "Bearer SECRET-TOKEN"))
	var se *optimist.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusBadRequest, se.StatusCode)
	require.Equal(t, "title is required", se.Problem.Detail)
	require.Contains(t, string(se.Body), "title is required")
	require.Empty(t, se.Header.Get("Set-Cookie"))
	require.Contains(t, err.Error(), "title is required")
	require.NotContains(t, err.Error(), "SECRET")
}

func TestMalformedBodyIsAnError(t *testing.T) {
	t.Parallel()
	ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"title": "cut`)
	})
	var d doc
	_, err := optimist.New().Get(t.Context(), ts.URL, &d)
	require.ErrorIs(t, err, optimist.ErrNotJSON)
}

func TestBodyOverLimitIsAnError(t *testing.T) {
	t.Parallel()
	big := `{"title":"` + strings.Repeat("x", 4096) + `"}`
	ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", fmt.Sprint(len(big)))
		}
		_, _ = io.WriteString(w, big)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	})
	c := optimist.New(optimist.WithMaxBodyBytes(1024))
	for _, q := range []string{"", "?chunked=1"} {
		_, err := c.Get(t.Context(), ts.URL+q, nil)
		require.ErrorIs(t, err, optimist.ErrBodyTooLarge, q)
	}
}

func TestInvalidETagIsAnError(t *testing.T) {
	t.Parallel()
	ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `unquoted"tag`)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	})
	c := optimist.New()
	_, err := c.Get(t.Context(), ts.URL+"/e", nil)
	require.ErrorIs(t, err, optimist.ErrInvalidETag)
	_, ok := c.Remembered(ts.URL + "/e")
	require.False(t, ok)
}

// TestRepeatedURLIsParsedIntoACopy: the client keeps the last URL it
// parsed, but each call gets its own copy of it, so a transport that
// rewrites its request's URL (against the RoundTripper contract) changes
// no later call to the same URL; and calls that alternate between URLs
// keep each one's record.
func TestRepeatedURLIsParsedIntoACopy(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a, b := seed(t, s, "/docs/a", `{"title":"a"}`), seed(t, s, "/docs/b", `{"title":"b"}`)
	var rewrite atomic.Bool
	hc := s.Client()
	next := hc.Transport
	hc.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if rewrite.Swap(false) {
			r.URL.Path = "/docs/b"
		}
		return next.RoundTrip(r)
	})
	c := optimist.New(optimist.WithHTTPClient(hc))
	var got doc
	rewrite.Store(true)
	_, err := c.Get(t.Context(), a, &got)
	require.NoError(t, err)
	require.Equal(t, "b", got.Title, "the transport rewrote this one")
	_, err = c.Get(t.Context(), a, &got)
	require.NoError(t, err)
	require.Equal(t, "a", got.Title, "the rewrite of the call before leaked into this one")

	for i := range 3 {
		for _, u := range []string{a, b} {
			var d doc
			_, err := optimist.Update(t.Context(), c, u, func(d *doc) error { d.Count++; return nil })
			require.NoError(t, err)
			_, err = c.Get(t.Context(), u, &d)
			require.NoError(t, err)
			require.Equal(t, i+1, d.Count, u)
			v, ok := c.Remembered(u)
			require.True(t, ok)
			require.JSONEq(t, fmt.Sprintf(`{"title":%q,"count":%d}`, u[len(u)-1:], i+1), string(v.Body))
		}
	}
}

// countingConn counts the writes made to a connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int32
}

func (c countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// TestWriteSendsHeaderAndBodyInOneWrite: a write's body goes to the
// transport as a reader net/http knows to be in memory, so a small
// request leaves in one write to the connection, its header and body
// together, as net/http sends a body of its own; a reader net/http does
// not know makes it flush the header first, two packets for one request.
func TestWriteSendsHeaderAndBodyInOneWrite(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	url := seed(t, s, "/docs/w", `{"title":"w"}`)
	var writes atomic.Int32
	dialer := &net.Dialer{}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{Conn: conn, writes: &writes}, nil
	}}}
	t.Cleanup(hc.CloseIdleConnections)
	c := optimist.New(optimist.WithHTTPClient(hc))
	_, err := c.Get(context.Background(), url, nil)
	require.NoError(t, err)

	writes.Store(0)
	body := fmt.Sprintf(`{"title":%q}`, strings.Repeat("x", 1000))
	_, err = c.Put(context.Background(), url, json.RawMessage(body), nil)
	require.NoError(t, err)
	require.Equal(t, int32(1), writes.Load(), "the PUT's header and body took more than one write")
	stored, _, ok := s.Document("/docs/w")
	require.True(t, ok)
	require.JSONEq(t, body, string(stored))
}
