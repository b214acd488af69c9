package optimist_test

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
)

// Hostile or broken servers get a clear error: never a panic, a hang or
// unbounded memory.

// countedServer starts a server for one test and counts its requests.
func countedServer(t *testing.T, h http.HandlerFunc) (string, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	})
	return ts.URL, &hits
}

// cutBody answers with a Content-Length of 100 and ten bytes of body, then
// closes the connection.
func cutBody(w http.ResponseWriter, _ *http.Request) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"title\":\"")
	_ = buf.Flush()
}

// The hostile servers below relent in the end, far beyond any bound the
// client should keep, so that a missing bound fails a test instead of
// hanging it.
const relentAfter = 50

// endlessBody answers a JSON body that does not end until the client goes
// (or 8 MiB are sent).
func endlessBody(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	chunk := []byte(strings.Repeat(" ", 32<<10))
	_, _ = io.WriteString(w, `{"title":"`)
	for range 8 << 20 / len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
	_, _ = io.WriteString(w, `"}`)
}

func zeroBackoff(int) time.Duration { return 0 }

func TestHostileServers(t *testing.T) {
	t.Parallel()
	get := func(ctx context.Context, c *optimist.Client, url string) error {
		var d doc
		_, err := c.Get(ctx, url, &d)
		return err
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		opts    []optimist.Option
		want    error // nil: any error, checked by check
		check   func(t *testing.T, err error)
		hits    int32
	}{
		{
			name: "malformed JSON",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"title": "cut`)
			},
			want: optimist.ErrNotJSON, hits: 1,
		},
		{
			name: "body stops half-way", handler: cutBody,
			want: io.ErrUnexpectedEOF, hits: 1,
		},
		{
			name: "endless body", handler: endlessBody,
			opts: []optimist.Option{optimist.WithMaxBodyBytes(64 << 10)},
			want: optimist.ErrBodyTooLarge, hits: 1,
		},
		{
			name: "compressed body that inflates past the limit",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Encoding", "gzip")
				gz := gzip.NewWriter(w)
				_, _ = io.WriteString(gz, `{"title":"`)
				zeros := make([]byte, 64<<10)
				for range 16 { // 1 MiB inflated, sixteen times the limit
					if _, err := gz.Write(zeros); err != nil {
						return
					}
				}
				_ = gz.Close()
			},
			opts: []optimist.Option{optimist.WithMaxBodyBytes(64 << 10)},
			want: optimist.ErrBodyTooLarge, hits: 1,
		},
		{
			name: "declared length over the limit",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(1<<20))
				_, _ = w.Write(make([]byte, 1<<20))
			},
			opts: []optimist.Option{optimist.WithMaxBodyBytes(64 << 10)},
			want: optimist.ErrBodyTooLarge, hits: 1,
		},
		{
			name: "entity-tag not quoted",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("ETag", `abc"def`)
				_, _ = io.WriteString(w, `{}`)
			},
			want: optimist.ErrInvalidETag, hits: 1,
		},
		{
			name: "entity-tag with a tab",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("ETag", "W/\"a\tb\"")
				_, _ = io.WriteString(w, `{}`)
			},
			want: optimist.ErrInvalidETag, hits: 1,
		},
		{
			name: "Retry-After of a year",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "31536000")
				w.WriteHeader(http.StatusServiceUnavailable)
			},
			want: optimist.ErrRetryAfterTooLong, hits: 1,
		},
		{
			name: "Retry-After a year from now",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", time.Now().AddDate(1, 0, 0).UTC().Format(http.TimeFormat))
				w.WriteHeader(http.StatusTooManyRequests)
			},
			want: optimist.ErrRetryAfterTooLong, hits: 1,
		},
		{
			name: "503 forever",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusServiceUnavailable)
			},
			opts: []optimist.Option{optimist.WithRetry(optimist.RetryOptions{MaxRetries: 3, Backoff: zeroBackoff})},
			check: func(t *testing.T, err error) {
				var se *optimist.StatusError
				require.ErrorAs(t, err, &se)
				require.Equal(t, 4, se.Attempts)
			},
			hits: 4,
		},
		{
			name: "redirect loop",
			handler: func(w http.ResponseWriter, r *http.Request) {
				n, _ := strconv.Atoi(r.URL.Query().Get("n"))
				if n == relentAfter {
					_, _ = io.WriteString(w, `{}`)
					return
				}
				http.Redirect(w, r, fmt.Sprintf("/loop?n=%d", n+1), http.StatusFound)
			},
			check: func(t *testing.T, err error) {
				var te *optimist.TransportError
				require.ErrorAs(t, err, &te)
				require.Equal(t, 1, te.Attempts, "a refused redirect is not retried")
				require.ErrorContains(t, err, "redirect")
			},
			hits: 10,
		},
		{
			name: "redirect to file",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
			},
			check: func(t *testing.T, err error) {
				require.ErrorContains(t, err, "redirect")
				require.NotContains(t, err.Error(), "root:")
			},
			hits: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, hits := countedServer(t, tt.handler)
			sl := new(sleeper)
			opts := append([]optimist.Option{optimist.WithClock(nil, sl.sleep), optimist.WithRetry(optimist.RetryOptions{Backoff: zeroBackoff})}, tt.opts...)
			c := optimist.New(opts...)
			t.Cleanup(c.CloseIdleConnections)

			err := get(t.Context(), c, url+"/hostile")
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), "optimist: "), "a clear error: %v", err)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
			require.Equal(t, tt.hits, hits.Load())
			_, remembered := c.Remembered(url + "/hostile")
			require.False(t, remembered)
		})
	}
}

// TestRetryAfterHostileValues: a wait the server asks for is honoured up
// to the client's bound (and never shortens its backoff), a longer one,
// past int64 included, is an error at once, and a negative or malformed
// one is ignored for the client's own backoff.
func TestRetryAfterHostileValues(t *testing.T) {
	t.Parallel()
	const backoff = 3 * time.Millisecond
	tests := []struct {
		value string
		waits []time.Duration // the waits before the two retries
	}{
		{value: "2", waits: []time.Duration{2 * time.Second, 2 * time.Second}},
		{value: "-1", waits: []time.Duration{backoff, backoff}},
		{value: "soon", waits: []time.Duration{backoff, backoff}},
		{value: "1e3", waits: []time.Duration{backoff, backoff}},
		{value: "0", waits: []time.Duration{backoff, backoff}},
		{value: "31536000"},
		{value: "99999999999999999999999"},
		{value: "Fri, 31 Dec 9999 23:59:59 GMT"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int32
			ts := newFuncServer(t, func(w http.ResponseWriter, _ *http.Request) {
				if hits.Add(1) <= 2 {
					w.Header().Set("Retry-After", tt.value)
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				_, _ = io.WriteString(w, `{}`)
			})
			sl := new(sleeper)
			c := optimist.New(optimist.WithClock(nil, sl.sleep),
				optimist.WithRetry(optimist.RetryOptions{Backoff: func(int) time.Duration { return backoff }}))
			t.Cleanup(c.CloseIdleConnections)
			_, err := c.Get(t.Context(), ts.URL, nil)
			require.Equal(t, tt.waits, sl.recorded(), "the waits, through the client's sleep")
			if tt.waits == nil {
				require.ErrorIs(t, err, optimist.ErrRetryAfterTooLong)
				require.EqualValues(t, 1, hits.Load())
				return
			}
			require.NoError(t, err)
			require.EqualValues(t, 3, hits.Load())
		})
	}
}

// accepted answers a POST with 202 and statusURL as Operation-Location.
func acceptWithStatusURL(w http.ResponseWriter, statusURL string) {
	w.Header().Set("Operation-Location", statusURL)
	w.Header().Set("Retry-After", "0")
	w.WriteHeader(http.StatusAccepted)
}

func TestHostileStatusURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		hits    int32
	}{
		{
			name: "redirects in a loop",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					acceptWithStatusURL(w, "/status")
					return
				}
				n, _ := strconv.Atoi(r.URL.Query().Get("n"))
				if n == relentAfter {
					_, _ = io.WriteString(w, `{"status":"succeeded"}`)
					return
				}
				http.Redirect(w, r, "/status?n="+strconv.Itoa(n+1), http.StatusFound)
			},
			hits: 1 + 10,
		},
		{
			name: "redirects to file",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					acceptWithStatusURL(w, "/status")
					return
				}
				http.Redirect(w, r, "file://localhost/secret.json", http.StatusFound)
			},
			hits: 1 + 1,
		},
		{
			name: "is a file",
			handler: func(w http.ResponseWriter, r *http.Request) {
				acceptWithStatusURL(w, "file://localhost/secret.json")
			},
			hits: 1,
		},
		{
			name: "names a file as the result",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					acceptWithStatusURL(w, "/status")
					return
				}
				_, _ = io.WriteString(w, `{"status":"succeeded","resourceLocation":"file://localhost/secret.json"}`)
			},
			hits: 1 + 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A transport that serves file:// URLs, as a caller's might:
			// only optimist's own checks keep the client off the file.
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "secret.json"), []byte(`{"secret":"FILE-CONTENT"}`), 0o600))
			tr := http.DefaultTransport.(*http.Transport).Clone()
			files := &countingTransport{base: http.NewFileTransport(http.Dir(dir))}
			tr.RegisterProtocol("file", files)
			t.Cleanup(tr.CloseIdleConnections)

			url, hits := countedServer(t, tt.handler)
			sl := new(sleeper)
			c := optimist.New(optimist.WithHTTPClient(&http.Client{Transport: tr}), optimist.WithClock(nil, sl.sleep))
			_, err := c.Post(t.Context(), url+"/jobs", doc{}, nil)
			require.Error(t, err)
			require.NotContains(t, err.Error(), "FILE-CONTENT")
			require.Zero(t, files.opened.Load(), "the file was never read")
			require.Equal(t, tt.hits, hits.Load())
		})
	}
}

// TestConflictForeverIsBounded: a server that answers every write 409,
// though every read shows a new version, is given up on after the
// attempts allowed, or when the context ends.
func TestConflictForeverIsBounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		attempts int
		cancelAt int32 // cancel the context at this PUT; 0: never
		want     error
		puts     int32
	}{
		{name: "by attempts", attempts: 7, want: optimist.ErrConflict, puts: 7},
		{name: "by context", attempts: 1 << 30, cancelAt: 20, want: context.Canceled, puts: 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var version, puts atomic.Int32
			url, _ := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("ETag", fmt.Sprintf(`"%d"`, version.Add(1)))
				w.Header().Set("Content-Type", "application/json")
				if r.Method == http.MethodGet {
					_, _ = io.WriteString(w, `{"n":0}`)
					return
				}
				switch n := puts.Add(1); {
				case n == tt.cancelAt:
					cancel()
				case n > relentAfter:
					_, _ = io.WriteString(w, `{"n":1}`)
					return
				}
				w.WriteHeader(http.StatusConflict)
				_, _ = io.WriteString(w, `{"n":-1}`)
			})
			sl := new(sleeper)
			c := optimist.New(optimist.WithClock(nil, sl.sleep), optimist.WithConflicts(optimist.ConflictOptions{Attempts: tt.attempts, Timeout: time.Hour}))
			t.Cleanup(c.CloseIdleConnections)
			_, err := optimist.Update(ctx, c, url+"/c", func(v *counter) error { v.N++; return nil })
			require.ErrorIs(t, err, tt.want)
			require.Equal(t, tt.puts, puts.Load())
		})
	}
}

// TestSilentServerEndsWithContext: a server that never answers, or stops
// in the middle of its answer, or never finishes its operation, holds the
// client only until the context's deadline.
func TestSilentServerEndsWithContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		call    func(ctx context.Context, c *optimist.Client, url string) error
	}{
		{
			name:    "no answer",
			handler: func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
		},
		{
			name: "answer stalls after the header",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "100")
				w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(w, `{"title":`)
				_ = http.NewResponseController(w).Flush()
				<-r.Context().Done()
			},
		},
		{
			name: "operation never done",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					acceptWithStatusURL(w, "/status")
					return
				}
				w.Header().Set("Retry-After", "0")
				_, _ = io.WriteString(w, `{"status":"running"}`)
			},
			call: func(ctx context.Context, c *optimist.Client, url string) error {
				_, err := c.Post(ctx, url, doc{}, nil)
				return err
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, _ := countedServer(t, tt.handler)
			c := optimist.New(optimist.WithPolling(optimist.PollOptions{Interval: time.Millisecond, MaxInterval: time.Millisecond}))
			t.Cleanup(c.CloseIdleConnections)
			call := tt.call
			if call == nil {
				call = func(ctx context.Context, c *optimist.Client, url string) error {
					_, err := c.Get(ctx, url, nil)
					return err
				}
			}
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			err := call(ctx, c, url+"/silent")
			require.ErrorIs(t, err, context.DeadlineExceeded)
		})
	}
}

// TestBodyReadStopsAtLimit: an endless body is read up to the limit and
// no further; a body declared longer than the documented default limit is
// not read at all.
func TestBodyReadStopsAtLimit(t *testing.T) {
	t.Parallel()
	declared := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(defaultMaxBodyBytes+1))
		w.WriteHeader(http.StatusOK)
		endlessBody(w, r)
	}
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		opts     []optimist.Option
		min, max int64 // bytes read
	}{
		{name: "endless", handler: endlessBody, opts: []optimist.Option{optimist.WithMaxBodyBytes(100 << 10)},
			min: 100<<10 + 1, max: 100<<10 + 1},
		{name: "declared over the default limit", handler: declared, min: 0, max: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, _ := countedServer(t, tt.handler)
			ct := newCountingTransport(t)
			c := optimist.New(append(tt.opts, optimist.WithHTTPClient(&http.Client{Transport: ct}))...)
			_, err := c.Get(t.Context(), url, nil)
			require.ErrorIs(t, err, optimist.ErrBodyTooLarge)
			require.GreaterOrEqual(t, ct.read.Load(), tt.min)
			require.LessOrEqual(t, ct.read.Load(), tt.max)
			ct.requireAllClosed(t)
		})
	}
}

// TestErrorBodyIsBounded: the body of a non-2xx answer is kept only up to
// the error limit, however long it is.
func TestErrorBodyIsBounded(t *testing.T) {
	t.Parallel()
	url, _ := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		endlessBody(w, r)
	})
	ct := newCountingTransport(t)
	c := optimist.New(optimist.WithHTTPClient(&http.Client{Transport: ct}))
	_, err := c.Get(t.Context(), url, nil)
	var se *optimist.StatusError
	require.ErrorAs(t, err, &se)
	require.Len(t, se.Body, defaultMaxErrorBodyBytes)
	require.LessOrEqual(t, ct.read.Load(), int64(defaultMaxErrorBodyBytes+1))
	ct.requireAllClosed(t)
}
