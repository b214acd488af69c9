package mock

import (
	"net/http"
	"time"
)

// Request is one entry of the request log of [Backend.Requests].
type Request struct {
	// Time is when the request arrived, on the server's clock.
	Time time.Time
	// Duration is how long the server took to answer, on the server's
	// clock; with a stopped clock (see [WithClock]) it is 0.
	Duration time.Duration
	// Method is the request method.
	Method string
	// Path is the request target: the path and the query.
	Path string
	// Status is the status the server answered. With [FaultLostResponse]
	// and [FaultTruncate] it is the status of the answer that was lost or
	// cut; it is 0 when no answer was made: with [FaultReset], or when the
	// request was cancelled during its latency.
	Status int
	// Header is a copy of the request header.
	Header http.Header
	// Fault is the fault injected into the exchange, [FaultNone] if any.
	Fault Fault
	// Replayed is true when the answer was replayed from the
	// Idempotency-Key store rather than made anew.
	Replayed bool
}

// countKey indexes the request counters.
type countKey struct {
	method string
	status int
}

// requestLog keeps the last requests in a ring.
type requestLog struct {
	ring []Request
	next int  // the slot of the next entry
	full bool // the ring has wrapped
}

func (l *requestLog) add(limit int, r Request) {
	if limit <= 0 {
		return
	}
	if len(l.ring) < limit {
		l.ring = append(l.ring, r)
		return
	}
	l.ring[l.next] = r
	l.next = (l.next + 1) % limit
	l.full = true
}

func (l *requestLog) entries() []Request {
	out := make([]Request, 0, len(l.ring))
	if l.full {
		out = append(out, l.ring[l.next:]...)
		return append(out, l.ring[:l.next]...)
	}
	return append(out, l.ring...)
}

// begin starts the log entry of r.
func (b *Backend) begin(r *http.Request) *Request {
	return &Request{
		Time:   b.cfg.clock(),
		Method: r.Method,
		Path:   r.URL.RequestURI(),
		Header: r.Header.Clone(),
	}
}

// record counts and logs the finished entry e, then tells the observer. It
// runs before the answer is written, so a client that has its answer finds
// its request counted.
func (b *Backend) record(e *Request) {
	b.mu.Lock()
	e.Duration = b.cfg.clock().Sub(e.Time)
	b.counts[countKey{e.Method, e.Status}]++
	b.log.add(b.cfg.logLimit, *e)
	b.mu.Unlock()
	if b.cfg.observer != nil {
		b.cfg.observer(*e)
	}
}

// Count gives the number of requests with the method and the answered
// status (see [Request.Status]). An empty method counts every method, a
// status of 0 every status.
func (b *Backend) Count(method string, status int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for k, c := range b.counts {
		if (method == "" || k.method == method) && (status == 0 || k.status == status) {
			n += c
		}
	}
	return n
}

// Requests gives the request log, oldest first: the last requests up to
// the limit of [WithLogLimit].
func (b *Backend) Requests() []Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.log.entries()
}
