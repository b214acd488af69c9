package optimist

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
)

// Group commit. Concurrent Update calls with the same batch key (see
// batchKey: the same URL, request options of the same effect, the same
// credentials) do not race each other over the network: the first one
// writes on its own goroutine, and the ones that arrive while a write of
// their key is in flight queue; the next write applies all of them, in
// arrival order, to the current document and sends the result as one
// conditional write. On a conflict every mutation of the batch is applied
// again to the server's document.
//
// Each caller keeps its own outcome:
//   - a mutation that fails or panics is left out, at once and for good;
//     its caller gets its error, or panics with its value;
//   - a write the server refuses for its content (see isolable) is split
//     in halves, written one after the other, until the culprit alone is
//     refused;
//   - a caller whose context ends while its mutation waits gets ctx's
//     error and nothing of it is written; once its mutation is in a write
//     in flight it gets an [*OutcomeUnknownError] wrapping ctx's error.

// groups holds the per-key queues of one client.
type groups struct {
	mu     sync.Mutex
	queues map[string]*updateQueue
}

// updateQueue is the queue of one batch key. It exists while a write of
// that key is being committed, by the first caller on its own goroutine or
// by a committer goroutine, which exits when the queue is empty.
type updateQueue struct {
	pending []*pendingUpdate
}

// States of a pendingUpdate, as its caller and its committer agree on them.
const (
	waiting   int32 = iota // queued, not yet applied to a write
	withdrawn              // its caller left before it was applied
	taken                  // applied to a write; its caller can no longer withdraw it
)

// pendingUpdate is one caller's mutation, typed away: apply changes a
// document and records the caller's result.
type pendingUpdate struct {
	ctx   context.Context
	url   string
	opts  []RequestOption
	apply func(doc []byte) ([]byte, error)
	state atomic.Int32
	// settled belongs to the committer goroutine; done hands the outcome
	// over to the caller.
	settled bool
	done    chan updateResult
}

// updateResult is the outcome of one caller's update.
type updateResult struct {
	err      error
	panicked bool
	value    any // the mutation's panic value
}

// commitGrouped commits apply with the other updates of key, on the
// caller's goroutine when no write of key is in flight, and returns its
// caller's error; a panic of apply is raised here, in its caller.
func (c *Client) commitGrouped(ctx context.Context, key, rawURL string, opts []RequestOption, apply func([]byte) ([]byte, error)) error {
	c.groups.mu.Lock()
	if c.groups.queues == nil {
		c.groups.queues = make(map[string]*updateQueue)
	}
	q, busy := c.groups.queues[key]
	if !busy {
		// No write of key is in flight: this caller writes alone, on its
		// own goroutine, as an update outside group commit does; a panic
		// of apply goes up its own stack.
		q = &updateQueue{}
		c.groups.queues[key] = q
		c.groups.mu.Unlock()
		defer c.handOver(key, q)
		return c.applyAndWrite(ctx, rawURL, apply, opts)
	}
	p := &pendingUpdate{ctx: ctx, url: rawURL, opts: opts, apply: apply, done: make(chan updateResult, 1)}
	q.pending = append(q.pending, p)
	if c.queuedHook != nil {
		c.queuedHook(len(q.pending))
	}
	c.groups.mu.Unlock()
	return p.await().raise()
}

// raise returns r's error, or panics with the value its mutation panicked with.
func (r updateResult) raise() error {
	if r.panicked {
		panic(r.value)
	}
	return r.err
}

// await waits for p's outcome, or for its context to end: then it
// withdraws p if no write carries it yet, and otherwise cannot tell.
func (p *pendingUpdate) await() updateResult {
	select {
	case res := <-p.done:
		return res
	case <-p.ctx.Done():
	}
	if p.state.CompareAndSwap(waiting, withdrawn) {
		return updateResult{err: p.ctx.Err()}
	}
	select {
	case res := <-p.done:
		return res // settled meanwhile
	default:
	}
	return updateResult{err: &OutcomeUnknownError{
		Method: http.MethodPut, URL: redactURL(p.url), Err: p.ctx.Err(),
	}}
}

// handOver ends the first caller's turn on q: a committer goroutine takes
// the updates that queued meanwhile, if any.
func (c *Client) handOver(key string, q *updateQueue) {
	c.groups.mu.Lock()
	defer c.groups.mu.Unlock()
	if len(q.pending) == 0 {
		delete(c.groups.queues, key)
		return
	}
	go c.commitLoop(key, q)
}

// commitLoop writes batches from q until it is empty.
func (c *Client) commitLoop(key string, q *updateQueue) {
	for {
		c.groups.mu.Lock()
		batch := q.pending
		q.pending = nil
		if len(batch) == 0 {
			delete(c.groups.queues, key)
			c.groups.mu.Unlock()
			return
		}
		c.groups.mu.Unlock()
		ctx, cancel := batchContext(batch)
		c.commitBatch(ctx, batch)
		cancel()
	}
}

// batchContext returns a context that ends when every member's context
// has ended, carrying the first member's values: those that matter to a
// request (its options, its credentials) are the same for every member.
func batchContext(batch []*pendingUpdate) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(batch[0].ctx))
	var live atomic.Int64
	live.Store(int64(len(batch)))
	stops := make([]func() bool, len(batch))
	for i, p := range batch {
		stops[i] = context.AfterFunc(p.ctx, func() {
			if live.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}

// batchKey is the key of the batches an update of rawURL under ctx and
// opts may join, and false when it joins none: group commit is off, ctx
// holds a lock (heldlock.go), or an option has an effect that cannot be
// compared (a version token, a progress hook, a callback). Two updates
// share a key only when their requests would be identical apart from the
// body: the same URL as given (user information included), and request
// options, those of ctx ([NewContext]) included, of the same effect:
// every header they set, credentials among them (a stricter notion of who
// is asking than resourceKey's, which looks at credentials alone), the
// precondition and whether a 202 is waited for. A Resolve option is not
// compared: Update resolves with its mutation.
func (c *Client) batchKey(ctx context.Context, rawURL string, opts []RequestOption) (string, bool) {
	if !c.groupCommit || holdsLock(ctx) {
		return "", false
	}
	if fromCtx, _ := ctx.Value(requestOptionsKey{}).([]RequestOption); len(fromCtx) == 0 && len(opts) == 0 {
		return rawURL, true
	}
	o := collectOptions(ctx, true, opts)
	if o.tokenSet || o.async.onProgress != nil || o.async.callback != nil {
		return "", false
	}
	names := make([]string, 0, len(o.header))
	for name := range o.header {
		names = append(names, name)
	}
	slices.Sort(names)
	h := sha256.New()
	fmt.Fprintf(h, "%d\x00%q\x00%t\x00", o.precondition, o.ifMatch, o.wait)
	for _, name := range names {
		fmt.Fprintf(h, "%q:%q\x00", name, o.header[name])
	}
	return rawURL + " " + hex.EncodeToString(h.Sum(nil)[:16]), true
}
