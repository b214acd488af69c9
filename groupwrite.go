package optimist

import (
	"context"
	"errors"
	"net/http"
)

// Writing one batch of group commit (see group.go): every member is
// settled exactly once, with its own outcome.

// errNothingToWrite ends a batch write whose members have all been left
// out: there is no change of theirs to send.
var errNothingToWrite = errors.New("optimist: group commit: nothing to write")

// commitBatch applies the mutations of batch to the current document and
// writes the result conditionally under ctx, re-applying them on each
// conflict, then settles every member. A write refused for its content is
// split in halves (see isolable), so the culprit alone gets the refusal.
func (c *Client) commitBatch(ctx context.Context, batch []*pendingUpdate) {
	p0 := batch[0]
	applyAll := func(doc []byte) ([]byte, error) {
		applied := 0
		for _, p := range batch {
			if next, ok := p.run(doc); ok {
				doc, applied = next, applied+1
			}
		}
		if applied == 0 {
			return nil, errNothingToWrite
		}
		return doc, nil
	}
	err := c.applyAndWrite(ctx, p0.url, applyAll, p0.opts)
	if errors.Is(err, errNothingToWrite) {
		err = nil // only members already settled remain
	}
	rest := batch[:0:0]
	for _, p := range batch {
		if !p.settled {
			rest = append(rest, p)
		}
	}
	if len(rest) > 1 && isolable(err) {
		half := len(rest) / 2
		c.commitBatch(ctx, rest[:half])
		c.commitBatch(ctx, rest[half:])
		return
	}
	for _, p := range rest {
		p.settle(updateResult{err: err})
	}
}

// run applies p's mutation to doc. A member whose caller has left, whose
// mutation fails or panics, is settled at once and left out (ok false) of
// this write and of every later one.
func (p *pendingUpdate) run(doc []byte) (next []byte, ok bool) {
	if p.settled {
		return nil, false
	}
	if err := p.ctx.Err(); err != nil || !p.take() {
		p.settle(updateResult{err: p.ctx.Err()})
		return nil, false
	}
	defer func() {
		if v := recover(); v != nil {
			p.settle(updateResult{panicked: true, value: v})
			next, ok = nil, false
		}
	}()
	next, err := p.apply(doc)
	if err != nil {
		p.settle(updateResult{err: err})
		return nil, false
	}
	return next, true
}

// take marks p as applied to a write, unless its caller withdrew it.
func (p *pendingUpdate) take() bool {
	return p.state.CompareAndSwap(waiting, taken) || p.state.Load() == taken
}

// settle gives p its outcome, once.
func (p *pendingUpdate) settle(res updateResult) {
	if p.settled {
		return
	}
	p.settled = true
	p.done <- res
}

// isolable reports whether err is a refusal of a write's content, which
// one member's change may have caused: a 4xx answer that is not a version
// conflict and says nothing that holds for every member alike (who is
// asking: 401, 403, 407; the resource: 404, 410; a lock: 423; the rate or
// the clock: 408, 429; the precondition: 412, 428). A write whose outcome
// is unknown is not refused.
func isolable(err error) bool {
	var se *StatusError
	if err == nil || errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, ErrConflict) || !errors.As(err, &se) {
		return false
	}
	switch se.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusProxyAuthRequired,
		http.StatusNotFound, http.StatusGone, http.StatusLocked,
		http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusPreconditionFailed, http.StatusPreconditionRequired:
		return false
	}
	return se.StatusCode >= 400 && se.StatusCode <= 499
}
