package optimist_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
)

// A 503 whose Retry-After cannot fit in the context's deadline is returned
// at once, as the 503's StatusError that also matches DeadlineExceeded.
func TestRetryAfterPastDeadlineStopsAtOnce(t *testing.T) {
	t.Parallel()
	url, hits := countedServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "7200")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	sl := new(sleeper)
	c := optimist.New(optimist.WithRetry(optimist.RetryOptions{MaxRetryAfter: 10 * time.Hour}), optimist.WithClock(nil, sl.sleep))
	t.Cleanup(c.CloseIdleConnections)
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	defer cancel()

	_, err := c.Get(ctx, url, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	var se *optimist.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusServiceUnavailable, se.StatusCode)
	require.Equal(t, 2*time.Hour, se.RetryAfter)
	require.Equal(t, int32(1), hits.Load())
	require.Empty(t, sl.recorded(), "no wait that cannot end before the deadline")
}

// A Retry-After too large for int64 is too long, not malformed.
func TestRetryAfterPastInt64IsTooLong(t *testing.T) {
	t.Parallel()
	url, hits := countedServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "99999999999999999999")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	c := optimist.New(optimist.WithClock(nil, new(sleeper).sleep))
	t.Cleanup(c.CloseIdleConnections)
	_, err := c.Get(t.Context(), url, nil)
	require.ErrorIs(t, err, optimist.ErrRetryAfterTooLong)
	require.Equal(t, int32(1), hits.Load())
}

// Retry-After: 0 does not make the client hammer the server: it still
// waits its backoff.
func TestRetryAfterZeroWaitsBackoff(t *testing.T) {
	t.Parallel()
	url, _ := countedServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	sl := new(sleeper)
	c := optimist.New(optimist.WithClock(nil, sl.sleep),
		optimist.WithRetry(optimist.RetryOptions{MaxRetries: 2, Backoff: func(int) time.Duration { return 50 * time.Millisecond }}))
	t.Cleanup(c.CloseIdleConnections)
	_, err := c.Get(t.Context(), url, nil)
	require.Error(t, err)
	require.Equal(t, []time.Duration{50 * time.Millisecond, 50 * time.Millisecond}, sl.recorded())
}

// net/http sends a request again by itself when a reused connection fails
// before the answer (a GET, or a write with an Idempotency-Key); those
// copies count in the attempts reported.
func TestAttemptsCountTransportResends(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call func(ctx context.Context, c *optimist.Client, url string) error
	}{
		{name: "GET", call: getJSON},
		{name: "PUT with a key", call: func(ctx context.Context, c *optimist.Client, url string) error {
			_, err := c.Put(ctx, url, doc{}, nil, optimist.Unconditional())
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var warm atomic.Bool
			url, hits := countedServer(t, func(w http.ResponseWriter, _ *http.Request) {
				if warm.CompareAndSwap(false, true) {
					_, _ = io.WriteString(w, `{}`)
					return
				}
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					_ = conn.Close()
				}
			})
			c := optimist.New(optimist.WithIdempotencyKeys(), optimist.WithClock(nil, new(sleeper).sleep))
			t.Cleanup(c.CloseIdleConnections)
			_, err := c.Get(t.Context(), url, nil) // leaves a connection to reuse
			require.NoError(t, err)
			err = tt.call(t.Context(), c, url)
			var te *optimist.TransportError
			require.ErrorAs(t, err, &te)
			require.Greater(t, hits.Load(), int32(6), "net/http re-sent a copy")
			require.Equal(t, int(hits.Load())-1, te.Attempts, "every copy that reached the server is an attempt")
		})
	}
}

// Query parameters that name passwords and tokens are redacted.
func TestSecretQueryParamsRedacted(t *testing.T) {
	t.Parallel()
	url, _ := countedServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	for _, name := range []string{"pwd", "pw", "jwt", "bearer", "passwd", "id_token", "client_assertion", "private"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			logger, logs := debugLogger()
			c := optimist.New(optimist.WithLogger(logger), optimist.WithRetry(optimist.RetryOptions{MaxRetries: 1}), optimist.WithClock(nil, new(sleeper).sleep))
			t.Cleanup(c.CloseIdleConnections)
			_, err := c.Get(t.Context(), url+"/x?"+name+"="+queryToken, nil)
			require.Error(t, err)
			require.NotContains(t, err.Error()+logs.String(), queryToken)
		})
	}
}

// Nothing reachable from an error holds a secret: not the *url.Error that
// net/http wraps a fault in either.
func TestWrappedErrorsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	url, _ := countedServer(t, func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	})
	c := optimist.New(optimist.WithRetry(optimist.RetryOptions{MaxRetries: 1}), optimist.WithClock(nil, new(sleeper).sleep))
	t.Cleanup(c.CloseIdleConnections)
	_, err := c.Get(t.Context(), credentialURL(url+"/x"), nil)
	require.Error(t, err)
	requireNoSecretReachable(t, err)
}

// requireNoSecretReachable walks every error reachable from err by Unwrap
// and fails if one of them, printed as a value or with its fields, holds a
// planted credential.
func requireNoSecretReachable(t *testing.T, err error) {
	t.Helper()
	var walk func(e error)
	walk = func(e error) {
		if e == nil {
			return
		}
		text := fmt.Sprintf("%v %+v %#v", e, e, e)
		for _, token := range []string{userinfoToken, queryToken, headerToken} {
			require.NotContains(t, text, token, "in %T", e)
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				walk(inner)
			}
		}
	}
	walk(err)
}

// A cookie from the caller's jar stays with its origin: not sent on a
// redirect to, nor to a status URL on, another port of the same host.
func TestJarCookiesStayWithTheirOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		handle func(w http.ResponseWriter, r *http.Request, other string)
		call   func(ctx context.Context, c *optimist.Client, url string) error
	}{
		{name: "redirect", handle: func(w http.ResponseWriter, r *http.Request, other string) {
			http.Redirect(w, r, other+"/landing", http.StatusFound)
		}, call: getJSON},
		{name: "status URL", handle: func(w http.ResponseWriter, _ *http.Request, other string) {
			acceptWithStatusURL(w, other+"/status")
		}, call: postJob},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var firstCookies, secondCookies atomic.Int32
			second := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
				if strings.Contains(r.Header.Get("Cookie"), cookieToken) {
					secondCookies.Add(1)
				}
				_, _ = io.WriteString(w, `{"status":"succeeded"}`)
			})
			first := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
				if strings.Contains(r.Header.Get("Cookie"), cookieToken) {
					firstCookies.Add(1)
				}
				if r.URL.Path == "/login" {
					http.SetCookie(w, &http.Cookie{Name: "session", Value: cookieToken, Path: "/"})
					_, _ = io.WriteString(w, `{}`)
					return
				}
				tt.handle(w, r, second.URL)
			})
			jar, err := cookiejar.New(nil)
			require.NoError(t, err)
			c := optimist.New(optimist.WithHTTPClient(&http.Client{Jar: jar}), optimist.WithClock(nil, new(sleeper).sleep))
			t.Cleanup(c.CloseIdleConnections)
			_, err = c.Get(t.Context(), first.URL+"/login", nil)
			require.NoError(t, err)
			require.NoError(t, tt.call(t.Context(), c, first.URL+"/start"))
			require.Equal(t, int32(1), firstCookies.Load(), "the jar's cookie goes to its own origin")
			require.Zero(t, secondCookies.Load(), "the jar's cookie crossed origins")
		})
	}
}

var _ = errors.New

// statusServer answers every request with status, and counts them.
func statusServer(t *testing.T, status int) (string, *atomic.Int32) {
	t.Helper()
	return countedServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) })
}

func TestRetryStatusCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		codes  []int
		status int
		hits   int32
	}{
		{name: "default retries 503", status: http.StatusServiceUnavailable, hits: 3},
		{name: "default leaves 408", status: http.StatusRequestTimeout, hits: 1},
		{name: "listed 408 is retried", codes: []int{http.StatusRequestTimeout}, status: http.StatusRequestTimeout, hits: 3},
		{name: "unlisted 503 is not", codes: []int{http.StatusRequestTimeout}, status: http.StatusServiceUnavailable, hits: 1},
		{name: "empty list retries no status", codes: []int{}, status: http.StatusServiceUnavailable, hits: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, hits := statusServer(t, tt.status)
			c := optimist.New(optimist.WithClock(nil, new(sleeper).sleep),
				optimist.WithRetry(optimist.RetryOptions{MaxRetries: 2, StatusCodes: tt.codes}))
			t.Cleanup(c.CloseIdleConnections)
			_, err := c.Get(t.Context(), url, nil)
			var se *optimist.StatusError
			require.ErrorAs(t, err, &se)
			require.Equal(t, tt.status, se.StatusCode)
			require.Equal(t, tt.hits, hits.Load())
			require.Equal(t, int(tt.hits), se.Attempts)
		})
	}
}

// ShouldRetry decides which answers are retried, sees the method, and
// cannot make a POST without a key be sent twice.
func TestShouldRetry(t *testing.T) {
	t.Parallel()
	type seen struct {
		method string
		status int
	}
	tests := []struct {
		name   string
		status int
		post   bool
		hits   int32
		seen   []seen
	}{
		{name: "retries what it says", status: http.StatusTeapot, hits: 3,
			seen: []seen{{"GET", 418}, {"GET", 418}, {"GET", 418}}},
		{name: "vetoes a default", status: http.StatusServiceUnavailable, hits: 1,
			seen: []seen{{"GET", 503}}},
		{name: "cannot re-send a POST", status: http.StatusTeapot, post: true, hits: 1,
			seen: []seen{{"POST", 418}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, hits := statusServer(t, tt.status)
			var got []seen
			policy := func(method string, resp *http.Response, err error) bool {
				require.NoError(t, err)
				got = append(got, seen{method, resp.StatusCode})
				return resp.StatusCode == http.StatusTeapot
			}
			c := optimist.New(optimist.WithClock(nil, new(sleeper).sleep),
				optimist.WithRetry(optimist.RetryOptions{MaxRetries: 2, ShouldRetry: policy}))
			t.Cleanup(c.CloseIdleConnections)
			var err error
			if tt.post {
				_, err = c.Post(t.Context(), url, doc{}, nil)
			} else {
				_, err = c.Get(t.Context(), url, nil)
			}
			require.Error(t, err)
			require.Equal(t, tt.hits, hits.Load())
			require.Equal(t, tt.seen, got)
		})
	}
}

// A fault the policy does not retry is returned after one attempt; the
// default policy, which a policy of one's own may call, retries it.
func TestShouldRetrySeesFaults(t *testing.T) {
	t.Parallel()
	url, hits := countedServer(t, func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	})
	for _, retryFaults := range []bool{false, true} {
		var faults atomic.Int32
		policy := func(method string, resp *http.Response, err error) bool {
			if err != nil {
				faults.Add(1)
				return retryFaults && optimist.DefaultRetryPolicy(method, resp, err)
			}
			return false
		}
		c := optimist.New(optimist.WithClock(nil, new(sleeper).sleep),
			optimist.WithRetry(optimist.RetryOptions{MaxRetries: 2, ShouldRetry: policy}))
		before := hits.Load()
		_, err := c.Get(t.Context(), url+"/x", nil)
		c.CloseIdleConnections()
		var te *optimist.TransportError
		require.ErrorAs(t, err, &te)
		want := int32(1)
		if retryFaults {
			want = 3
		}
		require.Equal(t, want, faults.Load())
		require.Equal(t, int(want), te.Attempts)
		require.GreaterOrEqual(t, hits.Load()-before, want)
	}
}

// TryTimeout ends a try that gets no answer and retries it; the call
// succeeds on the try the server answers.
func TestTryTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var n atomic.Int32
	url, _ := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			select { // the first try hangs until the client gives up on it
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	var events []optimist.RetryEvent
	c := optimist.New(optimist.WithClock(nil, new(sleeper).sleep), optimist.WithRetry(optimist.RetryOptions{
		TryTimeout: 50 * time.Millisecond,
		OnRetry:    func(ev optimist.RetryEvent) { events = append(events, ev) },
	}))
	t.Cleanup(c.CloseIdleConnections)
	resp, err := c.Get(t.Context(), url+"/slow", nil)
	require.NoError(t, err)
	require.Equal(t, 2, resp.Attempts)
	require.Len(t, events, 1)
	require.Equal(t, 2, events[0].Attempt)
	require.Zero(t, events[0].StatusCode)
	var timeout interface{ Timeout() bool }
	require.ErrorAs(t, events[0].Err, &timeout)
	require.True(t, timeout.Timeout())
}

// OnRetry sees every retry: its attempt, wait and cause, with no
// credential in the URL or the fault.
func TestOnRetry(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	url, _ := countedServer(t, func(w http.ResponseWriter, _ *http.Request) {
		switch n.Add(1) {
		case 1: // on a fresh connection, which net/http does not retry itself
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		case 2:
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			_, _ = io.WriteString(w, `{}`)
		}
	})
	var events []optimist.RetryEvent
	c := optimist.New(optimist.WithClock(nil, new(sleeper).sleep), optimist.WithRetry(optimist.RetryOptions{
		Backoff: func(attempt int) time.Duration { return time.Duration(attempt) * time.Millisecond },
		OnRetry: func(ev optimist.RetryEvent) { events = append(events, ev) },
	}))
	t.Cleanup(c.CloseIdleConnections)
	_, err := c.Get(t.Context(), credentialURL(url+"/r"), nil)
	require.NoError(t, err)
	require.Len(t, events, 2)
	require.Equal(t, 2, events[0].Attempt)
	require.Equal(t, time.Millisecond, events[0].Wait)
	require.Zero(t, events[0].StatusCode)
	require.Error(t, events[0].Err)
	require.Equal(t, 3, events[1].Attempt)
	require.Equal(t, 2*time.Second, events[1].Wait, "Retry-After, longer than the backoff")
	require.Equal(t, http.StatusServiceUnavailable, events[1].StatusCode)
	require.NoError(t, events[1].Err)
	for _, ev := range events {
		require.Equal(t, "GET", ev.Method)
		require.NotContains(t, ev.URL, userinfoToken)
		require.NotContains(t, ev.URL, queryToken)
		if ev.Err != nil {
			requireNoSecretReachable(t, ev.Err)
		}
	}
}

// MaxRetries below zero disables transport retries.
func TestNegativeMaxRetriesDisablesRetries(t *testing.T) {
	t.Parallel()
	url, hits := statusServer(t, http.StatusServiceUnavailable)
	c := optimist.New(optimist.WithRetry(optimist.RetryOptions{MaxRetries: -1}))
	t.Cleanup(c.CloseIdleConnections)
	_, err := c.Get(t.Context(), url, nil)
	require.Error(t, err)
	require.Equal(t, int32(1), hits.Load())
}

// A fault whose retry cannot fit in the deadline ends the call at once
// with the fault, matching DeadlineExceeded.
func TestFaultBackoffPastDeadlineStopsAtOnce(t *testing.T) {
	t.Parallel()
	url, hits := countedServer(t, func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	})
	sl := new(sleeper)
	c := optimist.New(optimist.WithClock(nil, sl.sleep),
		optimist.WithRetry(optimist.RetryOptions{Backoff: func(int) time.Duration { return 2 * time.Hour }}))
	t.Cleanup(c.CloseIdleConnections)
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	defer cancel()
	_, err := c.Get(ctx, credentialURL(url+"/x"), nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Contains(t, err.Error(), "needs a wait of 2h0m0s")
	var te *optimist.TransportError
	require.ErrorAs(t, err, &te)
	require.Equal(t, 1, te.Attempts)
	require.Equal(t, int32(1), hits.Load())
	require.Empty(t, sl.recorded())
	requireNoSecretReachable(t, err)
}
