package optimist_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
)

// preconditionServer is one resource, /doc, on a server that honours
// If-Match and If-None-Match or ignores them.
type preconditionServer struct {
	ignore       bool // apply every write, whatever its preconditions
	weak         bool // serve W/ ETags (compared weakly on If-Match)
	lastModified bool // serve Last-Modified and no ETag
	putStatus    int  // answer every PUT with this status, if set
	strictTags   bool // answer 400 to an If-Match not of the form "vN"
	upsert       bool // apply a PUT with If-None-Match: * (Azure Table)
	lockedPuts   int  // answer the first PUTs 423 Locked
	// beforeCreateOnly runs, locked, before a PUT with If-None-Match.
	beforeCreateOnly func(s *preconditionServer)
	missing          bool // /doc does not exist until written
	mu               sync.Mutex
	body             []byte // the document
	version          int
	writes           int // PUTs applied
	gets             atomic.Int64
}

func (s *preconditionServer) etag() string {
	tag := `"v` + strconv.Itoa(s.version) + `"`
	if s.weak {
		return "W/" + tag
	}
	return tag
}

func (s *preconditionServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	exists := !s.missing || s.writes > 0
	setValidator := func() {
		if s.lastModified {
			w.Header().Set("Last-Modified", "Mon, 30 Nov 2026 10:00:0"+strconv.Itoa(s.version%10)+" GMT")
		} else {
			w.Header().Set("ETag", s.etag())
		}
	}
	switch r.Method {
	case http.MethodGet:
		s.gets.Add(1)
		if !exists {
			http.NotFound(w, r)
			return
		}
		setValidator()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.body)
	case http.MethodPut:
		body, _ := io.ReadAll(r.Body)
		if s.lockedPuts > 0 {
			s.lockedPuts--
			w.WriteHeader(http.StatusLocked)
			return
		}
		if s.putStatus != 0 {
			w.WriteHeader(s.putStatus)
			return
		}
		if s.beforeCreateOnly != nil && r.Header.Get("If-None-Match") != "" {
			s.beforeCreateOnly(s)
		}
		if m := r.Header.Get("If-Match"); s.strictTags && m != "" && !strings.HasPrefix(m, `"v`) {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if !s.ignore && !s.preconditionsHold(r, exists) {
			w.WriteHeader(http.StatusPreconditionFailed)
			return
		}
		s.body, s.version, s.writes = body, s.version+1, s.writes+1
		setValidator()
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (s *preconditionServer) preconditionsHold(r *http.Request, exists bool) bool {
	if m := r.Header.Get("If-Match"); m != "" && !(exists && (m == "*" || m == s.etag())) {
		return false
	}
	if r.Header.Get("If-None-Match") == "*" {
		return !exists || s.upsert
	}
	return true
}

func (s *preconditionServer) state() (body string, writes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.body), s.writes
}

func startPreconditionServer(t *testing.T, s *preconditionServer) string {
	t.Helper()
	if s.body == nil {
		s.body = []byte(`{"count":7}`)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv.URL + "/doc"
}

func TestProbe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		server      *preconditionServer
		validator   string
		ifMatch     optimist.PreconditionSupport
		ifNoneMatch optimist.PreconditionSupport
		status      int // of both probe writes
		writes      int // probe writes the server applied
	}{
		{"honours, strong ETag", &preconditionServer{}, "strong ETag",
			optimist.PreconditionHonoured, optimist.PreconditionHonoured, 412, 0},
		// A refusal of If-None-Match: * guarded by a weak If-Match proves
		// nothing: the server may have refused the weak tag.
		{"honours, weak ETag", &preconditionServer{weak: true}, "weak ETag",
			optimist.PreconditionHonoured, optimist.PreconditionUnknown, 412, 0},
		{"honours, Last-Modified only", &preconditionServer{lastModified: true}, "Last-Modified",
			optimist.PreconditionHonoured, optimist.PreconditionUnknown, 412, 0},
		{"upserts on If-None-Match", &preconditionServer{upsert: true}, "strong ETag",
			optimist.PreconditionHonoured, optimist.PreconditionIgnored, 0, 1},
		{"ignores", &preconditionServer{ignore: true}, "strong ETag",
			optimist.PreconditionIgnored, optimist.PreconditionIgnored, 204, 2},
		{"honours with 409", &preconditionServer{putStatus: 409}, "strong ETag",
			optimist.PreconditionHonoured, optimist.PreconditionHonoured, 409, 0},
		{"checks the tag's format", &preconditionServer{strictTags: true, version: 40}, "strong ETag",
			optimist.PreconditionHonoured, optimist.PreconditionHonoured, 412, 0},
		{"PUT not allowed", &preconditionServer{putStatus: 405}, "strong ETag",
			optimist.PreconditionUnknown, optimist.PreconditionUnknown, 405, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := tt.server
			url := startPreconditionServer(t, s)
			res, err := optimist.New().Probe(t.Context(), url)
			require.NoError(t, err)
			require.Equal(t, tt.validator, validatorOf(res))
			require.Equal(t, tt.ifMatch, res.IfMatch, "If-Match")
			require.Equal(t, tt.ifNoneMatch, res.IfNoneMatch, "If-None-Match")
			if tt.status != 0 {
				require.Equal(t, tt.status, res.IfMatchStatus)
				require.Equal(t, tt.status, res.IfNoneMatchStatus)
			}
			require.Equal(t, tt.ifMatch == optimist.PreconditionIgnored || tt.ifNoneMatch == optimist.PreconditionIgnored,
				res.IgnoresPreconditions())
			body, writes := s.state()
			require.JSONEq(t, `{"count":7}`, body, "the probe changed the content")
			require.Equal(t, tt.writes, writes)
		})
	}
}

func TestProbeErrors(t *testing.T) {
	t.Parallel()
	s := &preconditionServer{missing: true}
	url := startPreconditionServer(t, s)
	c := optimist.New()
	_, err := c.Probe(t.Context(), url)
	require.ErrorIs(t, err, optimist.ErrNotFound)
	_, writes := s.state()
	require.Zero(t, writes, "a missing resource must not be created by a probe")

	_, err = c.Probe(t.Context(), "ftp://127.0.0.1/doc")
	require.ErrorContains(t, err, "scheme")
	_, err = c.Probe(t.Context(), "http://127.0.0.1:0/\x7f")
	require.ErrorContains(t, err, "invalid URL")

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = c.Probe(ctx, startPreconditionServer(t, &preconditionServer{}))
	require.ErrorIs(t, err, context.Canceled)
}

func TestProbeSendsHeaderOptions(t *testing.T) {
	t.Parallel()
	var seen []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.Header.Get("X-Api-Version"))
		mu.Unlock()
		if r.Method == http.MethodGet {
			w.Header().Set("ETag", `"1"`)
			_, _ = w.Write([]byte(`{}`))
			return
		}
		w.WriteHeader(http.StatusPreconditionFailed)
	}))
	t.Cleanup(srv.Close)
	_, err := optimist.New().Probe(t.Context(), srv.URL, optimist.Header("X-Api-Version", "2"))
	require.NoError(t, err)
	require.Equal(t, []string{"GET 2", "GET 2", "PUT 2", "PUT 2", "GET 2"}, seen)
}

// counterWriters runs writers goroutines, each with its own client made by
// newClient, each doing increments Updates of the counter at url; it
// returns how many returned nil and the errors of the others.
func counterWriters(t *testing.T, url string, writers, increments int, newClient func() *optimist.Client) (ok int, errs []error) {
	t.Helper()
	type counter struct {
		Count int `json:"count"`
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range writers {
		c := newClient()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range increments {
				_, err := optimist.Update(t.Context(), c, url, func(v *counter) error { v.Count++; return nil })
				mu.Lock()
				if err == nil {
					ok++
				} else {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return ok, errs
}

func TestPreconditionCheckRefusesIgnoringServer(t *testing.T) {
	t.Parallel()
	s := &preconditionServer{ignore: true, body: []byte(`{"count":0}`)}
	url := startPreconditionServer(t, s)
	ok, errs := counterWriters(t, url, 8, 5, func() *optimist.Client {
		return optimist.New(optimist.WithPreconditionCheck())
	})
	body, writes := s.state()
	// Each client probes once (two PUTs of the same bytes) and sends no
	// write of its own: every update is refused, none is lost.
	require.Equal(t, 0, ok, "updates reported as landed on a server that ignores If-Match")
	require.Len(t, errs, 40)
	for _, err := range errs {
		require.ErrorIs(t, err, optimist.ErrPreconditionsIgnored)
		var pie *optimist.PreconditionsIgnoredError
		require.ErrorAs(t, err, &pie)
		require.Equal(t, optimist.PreconditionIgnored, pie.Probe.IfMatch)
		require.Contains(t, pie.Origin, "http://127.0.0.1:")
		var te *optimist.TransportError
		require.False(t, errors.As(err, &te), "a write held back unsent is no missing answer: %v", err)
		require.NotContains(t, err.Error(), "no answer")
	}
	require.JSONEq(t, `{"count":0}`, body)
	require.Equal(t, 16, writes, "probe re-writes only: 2 per client")
}

func TestPreconditionCheckLetsHonouringServerThrough(t *testing.T) {
	t.Parallel()
	s := &preconditionServer{body: []byte(`{"count":0}`)}
	url := startPreconditionServer(t, s)
	c := optimist.New(optimist.WithPreconditionCheck(), optimist.WithConflicts(optimist.ConflictOptions{Attempts: 200, Backoff: func(int) time.Duration { return 0 }}))
	ok, errs := counterWriters(t, url, 4, 10, func() *optimist.Client { return c })
	require.Empty(t, errs)
	require.Equal(t, 40, ok)
	body, _ := s.state()
	require.JSONEq(t, `{"count":40}`, body)
}

func TestPreconditionCheckProbesOriginOnce(t *testing.T) {
	t.Parallel()
	s := &preconditionServer{ignore: true}
	url := startPreconditionServer(t, s)
	c := optimist.New(optimist.WithPreconditionCheck())
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Put(t.Context(), url, map[string]int{"count": i}, nil, optimist.IfMatch(`"v0"`))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.ErrorIs(t, err, optimist.ErrPreconditionsIgnored)
	}
	_, writes := s.state()
	require.Equal(t, 2, writes, "one probe for the origin, no write")
	require.Equal(t, int64(2), s.gets.Load(), "one probe: two reads")
}

func TestPreconditionCheckLetsCreateThrough(t *testing.T) {
	t.Parallel()
	s := &preconditionServer{ignore: true, missing: true}
	url := startPreconditionServer(t, s)
	c := optimist.New(optimist.WithPreconditionCheck())
	// The resource does not exist: a probe would create it, so the create
	// goes out unprobed.
	_, err := c.Put(t.Context(), url, map[string]int{"count": 1}, nil, optimist.CreateOnly())
	require.NoError(t, err)
	// Now it exists: the next conditional write probes, and is refused.
	_, err = c.Put(t.Context(), url, map[string]int{"count": 2}, nil)
	require.ErrorIs(t, err, optimist.ErrPreconditionsIgnored)
	body, writes := s.state()
	require.JSONEq(t, `{"count":1}`, body)
	require.Equal(t, 3, writes, "the create and the probe's two re-writes")
}

func TestPreconditionCheckKeepsHTTPClient(t *testing.T) {
	t.Parallel()
	s := &preconditionServer{ignore: true}
	url := startPreconditionServer(t, s)
	var sent atomic.Int64
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	c := optimist.New(optimist.WithHTTPClient(hc), optimist.WithPreconditionCheck())
	_, err := c.Put(t.Context(), url, map[string]int{"count": 1}, nil, optimist.IfMatch(`"v0"`))
	require.ErrorIs(t, err, optimist.ErrPreconditionsIgnored)
	require.Equal(t, int64(4), sent.Load(), "the probe goes through the given transport")
	require.NotNil(t, fmt.Sprint(err))
	require.False(t, errors.Is(err, optimist.ErrConflict))
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestPreconditionCheckRefusesOnlyWhatIsIgnored(t *testing.T) {
	t.Parallel()
	// Like Azure Table: If-Match honoured, If-None-Match: * an upsert.
	s := &preconditionServer{upsert: true}
	url := startPreconditionServer(t, s)
	res, err := optimist.New().Probe(t.Context(), url)
	require.NoError(t, err)
	require.Equal(t, optimist.PreconditionHonoured, res.IfMatch)
	require.Equal(t, optimist.PreconditionIgnored, res.IfNoneMatch)

	c := optimist.New(optimist.WithPreconditionCheck())
	_, err = c.Put(t.Context(), url, map[string]int{"count": 2}, nil, optimist.CreateOnly())
	require.ErrorIs(t, err, optimist.ErrPreconditionsIgnored, "If-None-Match: * is ignored: refused")
	resp, err := c.Get(t.Context(), url, nil)
	require.NoError(t, err)
	_, err = c.Put(t.Context(), url, map[string]int{"count": 1}, nil, optimist.IfMatch(resp.ETag))
	require.NoError(t, err, "If-Match is honoured: the write goes out")
	body, _ := s.state()
	require.JSONEq(t, `{"count":1}`, body)
}

func TestPreconditionCheckProbesAgainAfterInconclusiveAnswer(t *testing.T) {
	t.Parallel()
	// An ignoring server whose first probe writes meet a lock (423), as
	// x/net/webdav's do while other writers hold it.
	s := &preconditionServer{ignore: true, putStatus: http.StatusLocked}
	url := startPreconditionServer(t, s)
	c := optimist.New(optimist.WithPreconditionCheck(), optimist.WithRetry(optimist.RetryOptions{MaxRetries: -1}))
	_, err := c.Put(t.Context(), url, map[string]int{"count": 1}, nil, optimist.IfMatch(`"v0"`))
	require.ErrorContains(t, err, "inconclusive", "an inconclusive probe must not let the write through")
	_, writes := s.state()
	require.Zero(t, writes)

	s.mu.Lock()
	s.putStatus = 0 // the lock is gone
	s.mu.Unlock()
	_, err = c.Put(t.Context(), url, map[string]int{"count": 1}, nil, optimist.IfMatch(`"v0"`))
	require.ErrorIs(t, err, optimist.ErrPreconditionsIgnored, "probed again")
	body, _ := s.state()
	require.JSONEq(t, `{"count":7}`, body)
}

func TestProbeWritesNothingWhileTheResourceChanges(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	reads, writes := 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method != http.MethodGet {
			writes++
			return
		}
		reads++ // another writer is at work: every read sees a new version
		w.Header().Set("ETag", `"`+strconv.Itoa(reads)+`"`)
		_, _ = fmt.Fprintf(w, `{"count":%d}`, reads)
	}))
	t.Cleanup(srv.Close)
	_, err := optimist.New().Probe(t.Context(), srv.URL)
	require.ErrorContains(t, err, "changed between two reads")
	mu.Lock()
	defer mu.Unlock()
	require.Zero(t, writes, "bytes that may be stale must not be re-sent")
}

func TestProbeIfNoneMatchLosesNoConcurrentWrite(t *testing.T) {
	t.Parallel()
	// Azure Table upserts a PUT with If-None-Match: *. Another writer
	// writes between the probe's reads and that PUT: the probe's If-Match
	// guard must keep the probe from writing back the bytes it read.
	s := &preconditionServer{upsert: true, beforeCreateOnly: func(s *preconditionServer) {
		s.body, s.version, s.writes = []byte(`{"count":8}`), s.version+1, s.writes+1
	}}
	url := startPreconditionServer(t, s)
	res, err := optimist.New().Probe(t.Context(), url)
	require.ErrorContains(t, err, "changed during the probe")
	require.Equal(t, optimist.PreconditionHonoured, res.IfMatch)
	require.Equal(t, http.StatusPreconditionFailed, res.IfNoneMatchStatus)
	require.Equal(t, optimist.PreconditionUnknown, res.IfNoneMatch, "a refusal under an If-Match that no longer holds proves nothing")
	body, writes := s.state()
	require.JSONEq(t, `{"count":8}`, body, "the concurrent write was overwritten by the probe")
	require.Equal(t, 1, writes)
}

func TestPreconditionCheckRefusalIsNotAnUnknownOutcome(t *testing.T) {
	t.Parallel()
	// The first probe meets a lock: the write is held back, unsent, and the
	// transport's retry probes again and sends it. Its 412 is an ordinary
	// conflict, not "outcome unknown": no copy of it was ever sent.
	s := &preconditionServer{lockedPuts: 2}
	url := startPreconditionServer(t, s)
	c := optimist.New(optimist.WithPreconditionCheck(), optimist.WithRetry(optimist.RetryOptions{MaxRetries: 1, Backoff: func(int) time.Duration { return 0 }}))
	_, err := c.Put(t.Context(), url, map[string]int{"count": 9}, nil,
		optimist.IfMatch(`"stale"`), optimist.Resolve(optimist.OursWins))
	require.NoError(t, err)
	body, _ := s.state()
	require.JSONEq(t, `{"count":9}`, body)
}

// validatorOf names the kind of validator a probe found.
func validatorOf(res optimist.ProbeResult) string {
	switch {
	case res.ETag.IsWeak():
		return "weak ETag"
	case res.ETag != "":
		return "strong ETag"
	case res.LastModified != "":
		return "Last-Modified"
	}
	return "none"
}
