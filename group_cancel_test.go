package optimist

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist/mock"
)

// TestGroupCommitCallerLeaves: a caller whose context ends while its
// mutation is in a write in flight cannot know whether it lands: it gets
// an error matching ErrOutcomeUnknown and ctx's error, and the write may
// still land. One whose mutation still waits gets ctx's error alone, and
// nothing of it is written.
func TestGroupCommitCallerLeaves(t *testing.T) {
	t.Parallel()
	var puts atomic.Int32
	inFlight, gate, answered := make(chan struct{}), make(chan struct{}), make(chan struct{})
	b, ts := wrappedServer(t, func(_ *mock.Backend, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && puts.Add(1) == 2 { // the batch after the leader's
				readAll(t, r)
				close(inFlight)
				<-gate
				// The server applies the write although the client has gone.
				next.ServeHTTP(w, r.WithContext(context.WithoutCancel(r.Context())))
				close(answered)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	openGate := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(openGate) // before the server's Close, should the test fail early
	require.NoError(t, b.Seed("/counters/l", []byte(`{}`)))
	url := ts.URL + "/counters/l"
	c := New(WithHTTPClient(ts.Client()))
	ev := watchQueue(c)
	release, leader := holdLeader(t, t.Context(), c, ev, url)

	update := func(ctx context.Context, member string) <-chan error {
		errc := make(chan error, 1)
		go func() {
			_, err := Update(ctx, c, url, func(m *map[string]any) error {
				(*m)[member] = 1.0
				return nil
			})
			errc <- err
		}()
		return errc
	}
	inWriteCtx, leaveInWrite := context.WithCancel(t.Context())
	inWrite := update(inWriteCtx, "inWrite")
	ev.wait(1)
	release()
	require.NoError(t, <-leader)
	<-inFlight // the batch carrying inWrite's mutation is at the server

	waitingCtx, leaveWaiting := context.WithCancel(t.Context())
	waiting := update(waitingCtx, "waiting")
	ev.wait(1)
	leaveWaiting()
	err := <-waiting
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, ErrOutcomeUnknown, "its mutation was never sent")

	leaveInWrite()
	err = <-inWrite
	require.ErrorIs(t, err, ErrOutcomeUnknown)
	require.ErrorIs(t, err, context.Canceled)

	openGate()
	<-answered
	body, _, _ := b.Document("/counters/l")
	require.JSONEq(t, `{"held":true,"inWrite":1}`, string(body), "the write landed after its caller left")
}

// TestUpdateAloneCallerLeaves: an update writing on its own goroutine
// whose context ends while its write is at the server reports the same
// unknown outcome as one in a batch.
func TestUpdateAloneCallerLeaves(t *testing.T) {
	t.Parallel()
	for _, group := range []bool{true, false} {
		t.Run(fmt.Sprintf("group=%v", group), func(t *testing.T) {
			t.Parallel()
			inFlight, gate := make(chan struct{}), make(chan struct{})
			openGate := sync.OnceFunc(func() { close(gate) })
			b, ts := wrappedServer(t, func(_ *mock.Backend, next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodPut {
						readAll(t, r)
						close(inFlight)
						<-gate
					}
					next.ServeHTTP(w, r.WithContext(context.WithoutCancel(r.Context())))
				})
			})
			t.Cleanup(openGate)
			require.NoError(t, b.Seed("/counters/a", []byte(`{}`)))
			c := New(WithHTTPClient(ts.Client()), WithGroupCommit(group))
			ctx, leave := context.WithCancel(t.Context())
			errc := make(chan error, 1)
			go func() {
				_, err := Update(ctx, c, ts.URL+"/counters/a", func(m *map[string]any) error {
					(*m)["n"] = 1.0
					return nil
				})
				errc <- err
			}()
			<-inFlight
			leave()
			err := <-errc
			require.ErrorIs(t, err, ErrOutcomeUnknown)
			require.ErrorIs(t, err, context.Canceled)
		})
	}
}
