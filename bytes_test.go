package optimist_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
)

// textStore is one resource of any media type with a strong ETag per
// version, refusing stale If-Match with 412, as a CalDAV server does for
// an iCalendar object.
type textStore struct {
	mu          sync.Mutex
	body        []byte
	contentType string
	version     int
	gets, puts  int
	putTypes    []string
	accepts     []string
}

func newTextStore(t *testing.T, contentType, body string) (*textStore, string) {
	t.Helper()
	s := &textStore{body: []byte(body), contentType: contentType, version: 1}
	ts := newFuncServer(t, s.serve)
	return s, ts.URL + "/cal/event.ics"
}

func (s *textStore) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	tag := strconv.Quote("v" + strconv.Itoa(s.version))
	switch r.Method {
	case http.MethodGet:
		s.gets++
		s.accepts = append(s.accepts, r.Header.Get("Accept"))
		w.Header().Set("ETag", tag)
		w.Header().Set("Content-Type", s.contentType)
		_, _ = w.Write(s.body)
	case http.MethodPut, http.MethodPatch:
		s.puts++
		s.putTypes = append(s.putTypes, r.Header.Get("Content-Type"))
		if r.Header.Get("If-Match") != tag {
			w.WriteHeader(http.StatusPreconditionFailed)
			return
		}
		s.body, s.version = body, s.version+1
		w.Header().Set("ETag", strconv.Quote("v"+strconv.Itoa(s.version)))
		w.WriteHeader(http.StatusNoContent)
	}
}

const calendar = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:Review\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

// UpdateBytes is read-modify-write for bytes: writers that each add an
// attendee to an iCalendar event all land, the change applied again to
// the fresh bytes after every conflict, with the event's own media type.
func TestUpdateBytesUnderContention(t *testing.T) {
	t.Parallel()
	store, url := newTextStore(t, "text/calendar; charset=utf-8", calendar)
	const writers = 8
	errs := runWriters(writers, func(i int) error {
		c := optimist.New(optimist.WithConflicts(optimist.ConflictOptions{Attempts: 100, Timeout: time.Minute, Backoff: func(int) time.Duration { return 0 }}))
		_, err := c.UpdateBytes(t.Context(), url, func(cur []byte) ([]byte, error) {
			line := fmt.Sprintf("ATTENDEE:mailto:w%d@example.com\r\n", i)
			return bytes.Replace(cur, []byte("END:VEVENT"), []byte(line+"END:VEVENT"), 1), nil
		})
		return err
	})
	for _, err := range errs {
		require.NoError(t, err)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	for i := range writers {
		require.Contains(t, string(store.body), fmt.Sprintf("ATTENDEE:mailto:w%d@example.com", i))
	}
	for _, ct := range store.putTypes {
		require.Equal(t, "text/calendar; charset=utf-8", ct)
	}
	for _, a := range store.accepts {
		require.Equal(t, "*/*", a)
	}
}

// UpdateBytes writes nothing when the bytes are left as they are, and
// returns what mutate's error says.
func TestUpdateBytesNoChange(t *testing.T) {
	t.Parallel()
	store, url := newTextStore(t, "text/plain", "hello")
	c := optimist.New()
	got, err := c.UpdateBytes(t.Context(), url, func(cur []byte) ([]byte, error) { return cur, nil })
	require.NoError(t, err)
	require.Equal(t, "hello", string(got))
	require.Zero(t, store.puts)
}

// Do never runs a JSON merge on a body that is not JSON: the conflict is
// handed back as the server's answer, with no re-read and no warning, so
// the caller's own loop decides. Nor is a JSON Patch taken for a merge
// patch.
func TestDoDoesNotMergeNonJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, contentType, body string
	}{
		{"iCalendar PUT", http.MethodPut, "text/calendar", calendar},
		{"XML PUT", http.MethodPut, "application/xml", "<a/>"},
		{"JSON Patch", http.MethodPatch, "application/json-patch+json", `[{"op":"add","path":"/x","value":1}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store, url := newTextStore(t, tt.contentType, tt.body)
			logger, logs := debugLogger()
			c := optimist.New(optimist.WithLogger(logger))
			_, err := c.Get(t.Context(), url, nil)
			require.NoError(t, err)
			store.mu.Lock()
			store.version++ // another writer
			store.mu.Unlock()

			req, err := http.NewRequestWithContext(t.Context(), tt.method, url, strings.NewReader(tt.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", tt.contentType)
			resp, err := c.Do(req)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, http.StatusPreconditionFailed, resp.StatusCode)
			store.mu.Lock()
			defer store.mu.Unlock()
			require.Equal(t, 1, store.gets, "no re-read")
			require.NotContains(t, logs.String(), "level=WARN")
		})
	}
}
