package optimist_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

// newFuncServer starts an httptest server for one test.
func newFuncServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

func TestTransportFaultOnGetIsRetried(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	url := seed(t, s, "/docs/f", `{"title":"f","count":1}`)
	s.FailNext(2, mock.Fault503)
	c := newClient(s)

	var d doc
	resp, err := c.Get(t.Context(), url, &d)
	require.NoError(t, err)
	require.Equal(t, 3, resp.Attempts)
	require.Equal(t, 2, s.Count(http.MethodGet, http.StatusServiceUnavailable))
	require.Equal(t, doc{Title: "f", Count: 1}, d)
}

func TestPostIsNotResentAfterReset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      []optimist.RequestOption
		wantSent  int
		wantError bool
	}{
		{name: "no idempotency key", wantSent: 1, wantError: true},
		{name: "idempotency key", opts: []optimist.RequestOption{optimist.Header("Idempotency-Key", "k-1")}, wantSent: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			s.FailNext(1, mock.FaultReset)
			c := newClient(s)
			_, err := c.Post(t.Context(), s.URL+"/things", doc{Title: "once"}, nil, tt.opts...)
			require.Equal(t, tt.wantError, err != nil, "err: %v", err)
			require.Equal(t, tt.wantSent, s.Count(http.MethodPost, 0))
			if tt.wantError {
				var te *optimist.TransportError
				require.ErrorAs(t, err, &te)
				require.Equal(t, 1, te.Attempts)
			}
		})
	}
}

func TestRetriesExhaustedKeepLastResponse(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("X-Request-Id", "r-1")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "overloaded")
	})
	c := optimist.New(optimist.WithRetry(optimist.RetryOptions{MaxRetries: 2, Backoff: func(int) time.Duration { return 0 }}))
	_, err := c.Get(t.Context(), ts.URL, nil)
	var se *optimist.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusServiceUnavailable, se.StatusCode)
	require.Equal(t, 3, se.Attempts)
	require.Equal(t, "r-1", se.Header.Get("X-Request-Id"))
	require.Equal(t, "overloaded", string(se.Body))
	require.EqualValues(t, 3, hits.Load())
}

func TestRetryAfterBeyondClampGivesUp(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	c := optimist.New(optimist.WithRetry(optimist.RetryOptions{MaxRetryAfter: time.Minute}))
	_, err := c.Get(t.Context(), ts.URL, nil)
	require.ErrorIs(t, err, optimist.ErrRetryAfterTooLong)
	require.Contains(t, err.Error(), "1h0m0s")
	var se *optimist.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusTooManyRequests, se.StatusCode)
	require.Equal(t, time.Hour, se.RetryAfter)
	require.EqualValues(t, 1, hits.Load())
}

func TestConnectionRefusedIsRetriedEvenForPost(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now

	c := optimist.New(optimist.WithRetry(optimist.RetryOptions{MaxRetries: 2, Backoff: func(int) time.Duration { return 0 }}))
	_, err = c.Post(t.Context(), "http://"+addr+"/x", doc{}, nil)
	var te *optimist.TransportError
	require.ErrorAs(t, err, &te)
	require.Equal(t, 3, te.Attempts, "a request that never left may be sent again")
}

func TestCancelledContextEndsRetries(t *testing.T) {
	t.Parallel()
	ts := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	ctx, cancel := context.WithCancel(t.Context())
	c := optimist.New(optimist.WithRetry(optimist.RetryOptions{Backoff: func(attempt int) time.Duration {
		cancel()
		return time.Hour
	}}))
	_, err := c.Get(ctx, ts.URL, nil)
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, errors.Is(err, optimist.ErrConflict))
}
