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

// requestLog keeps the last requests, oldest first, bounded by a number
// of entries and by the bytes their methods, targets and headers hold.
type requestLog struct {
	entries []Request
	head    int   // entries[head:] are the log
	bytes   int64 // what entries[head:] hold
}

// entrySize is what e holds, as the log's byte bound counts it.
func entrySize(e *Request) int64 {
	n := len(e.Method) + len(e.Path)
	for k, vs := range e.Header {
		n += len(k)
		for _, v := range vs {
			n += len(v)
		}
	}
	return int64(n)
}

// add appends r, then drops the oldest entries until at most limit
// entries and maxBytes bytes remain. An entry alone over maxBytes is kept
// without its header.
func (l *requestLog) add(limit int, maxBytes int64, r Request) {
	if limit <= 0 {
		return
	}
	size := entrySize(&r)
	if size > maxBytes {
		r.Header = nil
		size = entrySize(&r)
	}
	l.entries = append(l.entries, r)
	l.bytes += size
	for len(l.entries)-l.head > limit || (l.bytes > maxBytes && len(l.entries)-l.head > 1) {
		l.bytes -= entrySize(&l.entries[l.head])
		l.entries[l.head] = Request{} // let the header go
		l.head++
	}
	if l.head > len(l.entries)/2 {
		l.entries = append(l.entries[:0], l.entries[l.head:]...)
		clear(l.entries[len(l.entries):cap(l.entries)])
		l.head = 0
	}
}

func (l *requestLog) list() []Request {
	return append([]Request(nil), l.entries[l.head:]...)
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
	b.log.add(b.cfg.logLimit, b.cfg.logBytes, *e)
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
// the limits of [WithLogLimit] and [WithLogBytes].
func (b *Backend) Requests() []Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.log.list()
}
