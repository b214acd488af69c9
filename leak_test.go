package optimist_test

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

// Leaks. main_test.go checks that no goroutine outlives the run; the
// tests here check it for each way a call can end, and that every
// response body the transport hands out is closed.

// countingTransport counts the response bodies base hands out, the bytes
// read from them and how many were closed.
type countingTransport struct {
	base                 http.RoundTripper
	opened, closed, read atomic.Int64
}

// newCountingTransport wraps a clone of http.DefaultTransport.
func newCountingTransport(t *testing.T) *countingTransport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &countingTransport{base: tr}
}

func (ct *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := ct.base.RoundTrip(req)
	if resp != nil && resp.Body != nil {
		ct.opened.Add(1)
		resp.Body = &countedBody{ReadCloser: resp.Body, ct: ct}
	}
	return resp, err
}

func (ct *countingTransport) requireAllClosed(t *testing.T) {
	t.Helper()
	require.Positive(t, ct.opened.Load())
	require.Equal(t, ct.opened.Load(), ct.closed.Load(), "response bodies opened and closed")
}

type countedBody struct {
	io.ReadCloser
	ct   *countingTransport
	once sync.Once
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.ct.read.Add(int64(n))
	return n, err
}

func (b *countedBody) Close() error {
	b.once.Do(func() { b.ct.closed.Add(1) })
	return b.ReadCloser.Close()
}

// TestEveryBodyIsClosed sends requests down every path that ends a
// response, one client per path, and counts the bodies.
func TestEveryBodyIsClosed(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	paths := []struct {
		name   string
		opts   []mock.Option
		fault  mock.Fault
		faults int
		call   func(ctx context.Context, c *optimist.Client, s *mock.Server) error
		none   bool // no response at all
	}{
		{name: "read", call: bodyPathGet},
		{name: "write", call: bodyPathPut},
		{name: "not found", call: func(ctx context.Context, c *optimist.Client, s *mock.Server) error {
			_, err := c.Get(ctx, s.URL+"/missing", nil)
			return err
		}},
		{name: "503 retried", fault: mock.Fault503, faults: 2, call: bodyPathGet},
		{name: "503 exhausted", fault: mock.Fault503, faults: 10, call: bodyPathGet},
		{name: "429 exhausted", fault: mock.Fault429, faults: 10, call: bodyPathPut},
		{name: "reset", fault: mock.FaultReset, faults: 2, call: bodyPathPut},
		{name: "truncated", fault: mock.FaultTruncate, faults: 1, call: bodyPathGet},
		{name: "lost response", fault: mock.FaultLostResponse, faults: 1, call: bodyPathPut},
		{name: "retry-after too long", opts: []mock.Option{mock.WithFaults(mock.Faults{RetryAfter: "86400"})},
			fault: mock.Fault503, faults: 1, call: bodyPathGet},
		{name: "conflict resolved", call: func(ctx context.Context, c *optimist.Client, s *mock.Server) error {
			if err := bodyPathGet(ctx, c, s); err != nil {
				return err
			}
			if err := s.Seed("/docs/d", []byte(`{"title":"theirs","count":1}`)); err != nil {
				return err
			}
			_, err := c.Put(ctx, s.URL+"/docs/d", doc{Title: "d", Count: 2}, nil)
			return err
		}},
		{name: "conflict given up", call: func(ctx context.Context, c *optimist.Client, s *mock.Server) error {
			if err := bodyPathGet(ctx, c, s); err != nil {
				return err
			}
			if err := s.Seed("/docs/d", []byte(`{"title":"theirs","count":1}`)); err != nil {
				return err
			}
			_, err := c.Put(ctx, s.URL+"/docs/d", doc{Title: "ours", Count: 1}, nil)
			return err
		}},
		{name: "conflict answer carries the document", opts: []mock.Option{mock.WithConflictRepresentation()},
			call: func(ctx context.Context, c *optimist.Client, s *mock.Server) error {
				_, err := optimist.Update(ctx, c, s.URL+"/docs/d", func(d *doc) error { d.Count++; return nil })
				if err != nil {
					return err
				}
				if err := s.Seed("/docs/d", []byte(`{"title":"theirs","count":1}`)); err != nil {
					return err
				}
				_, err = optimist.Update(ctx, c, s.URL+"/docs/d", func(d *doc) error { d.Count++; return nil })
				return err
			}},
		{name: "operation", call: func(ctx context.Context, c *optimist.Client, s *mock.Server) error {
			_, err := c.Post(ctx, s.URL+"/jobs", nil, nil)
			return err
		}},
		{name: "failed operation", call: func(ctx context.Context, c *optimist.Client, s *mock.Server) error {
			_, err := c.Post(ctx, s.URL+"/jobs", map[string]bool{"fail": true}, nil)
			return err
		}},
		{name: "cancelled", none: true, call: func(_ context.Context, c *optimist.Client, s *mock.Server) error {
			return bodyPathGet(cancelled, c, s)
		}},
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, p.opts...)
			seed(t, s, "/docs/d", `{"title":"d","count":1}`)
			s.FailNext(p.faults, p.fault)
			ct := newCountingTransport(t)
			sl := new(sleeper)
			c := optimist.New(optimist.WithHTTPClient(&http.Client{Transport: ct}),
				optimist.WithRetry(optimist.RetryOptions{MaxRetries: 3}), optimist.WithClock(nil, sl.sleep))
			_ = p.call(t.Context(), c, s)
			if p.none {
				require.Zero(t, ct.opened.Load())
				return
			}
			ct.requireAllClosed(t)
		})
	}
}

func bodyPathGet(ctx context.Context, c *optimist.Client, s *mock.Server) error {
	var d doc
	_, err := c.Get(ctx, s.URL+"/docs/d", &d)
	return err
}

func bodyPathPut(ctx context.Context, c *optimist.Client, s *mock.Server) error {
	_, err := c.Put(ctx, s.URL+"/docs/d", doc{Title: "p", Count: 9}, nil, optimist.Unconditional())
	return err
}

// The leak tests below are not parallel: each compares the goroutines
// after its calls with those before.

// TestNoLeakAfterCancelledUpdate: updates whose callers give up while
// their write is in flight leave nothing running once the write ends.
func TestNoLeakAfterCancelledUpdate(t *testing.T) {
	held, stop := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s := mock.NewServer(mock.WithBeforeHandle(func(r *http.Request) {
		if r.Method == http.MethodPut {
			once.Do(func() { close(held) })
			select { // hold every write until its client gives up
			case <-r.Context().Done():
			case <-stop: // or the test ends, if the client never does
			}
		}
	}))
	defer s.Close()
	defer close(stop)
	seed(t, s, "/counters/c", `{"n":0}`)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	c := optimist.New()
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithCancel(t.Context())
	errs := make(chan error, 3)
	for range cap(errs) {
		go func() {
			_, err := optimist.Update(ctx, c, s.URL+"/counters/c", func(v *counter) error { v.N++; return nil })
			errs <- err
		}()
	}
	<-held
	cancel()
	for range cap(errs) {
		require.ErrorIs(t, <-errs, context.Canceled)
	}
}

// TestNoLeakAfterClose: a client whose idle connections are closed, and a
// mock server that is closed, leave nothing running; the mock's faults
// (connections reset, answers cut) included.
func TestNoLeakAfterClose(t *testing.T) {
	for _, closeServer := range []bool{false, true} {
		name := "client closed"
		if closeServer {
			name = "server closed"
		}
		t.Run(name, func(t *testing.T) {
			s := mock.NewServer(mock.WithFaults(badDay()))
			defer s.Close()
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			seed(t, s, "/counters/c", `{"n":0}`)

			sl := new(sleeper)
			c := optimist.New(optimist.WithIdempotencyKeys(), optimist.WithRetry(optimist.RetryOptions{MaxRetries: 20}), optimist.WithClock(nil, sl.sleep))
			errs := runWriters(8, func(int) error {
				for range 5 {
					if _, err := optimist.Update(t.Context(), c, s.URL+"/counters/c", func(v *counter) error {
						v.N++
						return nil
					}); err != nil {
						return err
					}
				}
				_, err := c.Post(t.Context(), s.URL+"/jobs", nil, nil)
				return err
			})
			require.Empty(t, errs)
			if closeServer {
				s.Close()
			} else {
				c.CloseIdleConnections()
			}
		})
	}
}
