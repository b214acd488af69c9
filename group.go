package optimist

import (
	"context"
	"net/url"
	"sync"
	"sync/atomic"
)

// Group commit. Concurrent Update calls on one URL through one Client do
// not race each other over the network: they queue per URL, and while a
// write is in flight the mutations that arrive meanwhile wait; the next
// write applies all of them, in arrival order, to the current document and
// sends the result as one conditional write. On a conflict every mutation
// of the batch is applied again to the server's document. A mutation that
// fails is left out of the batch, the others still land, and each caller
// gets its own result and error.

// groups holds the per-URL queues of one client.
type groups struct {
	mu     sync.Mutex
	queues map[string]*updateQueue
}

// updateQueue is the queue of one URL. A committer goroutine runs while
// the queue has work and exits when it is empty.
type updateQueue struct {
	pending []*pendingUpdate
}

// pendingUpdate is one caller's mutation, typed away: apply changes a
// document and records the caller's result; done receives its outcome.
type pendingUpdate struct {
	ctx   context.Context
	apply func(doc []byte) ([]byte, error)
	done  chan error
}

// commitGrouped queues apply behind the other updates of rawURL and waits
// for the write that carries it. If ctx ends first, the caller gets ctx's
// error; a mutation already in a write in flight may still land.
func (c *Client) commitGrouped(ctx context.Context, rawURL string, apply func([]byte) ([]byte, error)) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	key := canonicalURL(u)
	p := &pendingUpdate{ctx: ctx, apply: apply, done: make(chan error, 1)}
	c.groups.mu.Lock()
	if c.groups.queues == nil {
		c.groups.queues = make(map[string]*updateQueue)
	}
	q, running := c.groups.queues[key]
	if !running {
		q = &updateQueue{}
		c.groups.queues[key] = q
	}
	q.pending = append(q.pending, p)
	if c.queuedHook != nil {
		c.queuedHook(len(q.pending))
	}
	c.groups.mu.Unlock()
	if !running {
		go c.commitLoop(key, rawURL, q)
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// commitLoop writes batches from q until it is empty.
func (c *Client) commitLoop(key, rawURL string, q *updateQueue) {
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
		c.commitBatch(rawURL, batch)
	}
}

// commitBatch applies every mutation of batch to the current document and
// writes the result conditionally, re-applying them on each conflict.
func (c *Client) commitBatch(rawURL string, batch []*pendingUpdate) {
	ctx, cancel := batchContext(batch)
	defer cancel()
	failed := make(map[*pendingUpdate]error)
	applyAll := func(doc []byte) ([]byte, error) {
		clear(failed)
		for _, p := range batch {
			if err := p.ctx.Err(); err != nil {
				failed[p] = err
				continue
			}
			next, err := p.apply(doc)
			if err != nil {
				failed[p] = err
				continue
			}
			doc = next
		}
		return doc, nil
	}
	err := c.applyAndWrite(ctx, rawURL, applyAll, nil)
	for _, p := range batch {
		if ferr, ok := failed[p]; ok {
			p.done <- ferr
		} else {
			p.done <- err
		}
	}
}

// batchContext returns a context that ends when every member's context
// has ended, carrying the first member's values.
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
