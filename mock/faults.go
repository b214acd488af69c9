package mock

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Fault is a failure the server can inject into an exchange.
type Fault int

const (
	// FaultNone serves the request normally. [Backend.FailNext] with
	// FaultNone lets requests through before later queued faults.
	FaultNone Fault = iota
	// Fault503 answers 503 Service Unavailable with Retry-After; the
	// request is not applied.
	Fault503
	// Fault429 answers 429 Too Many Requests with Retry-After; the request
	// is not applied.
	Fault429
	// FaultReset resets the connection (TCP RST) before the request body is
	// read; the request is not applied and no answer byte is sent.
	FaultReset
	// FaultTruncate applies the request, then sends its answer with a
	// Content-Length and only half of the body (half of the header section
	// when there is no body) and closes the connection.
	FaultTruncate
	// FaultLostResponse applies the request, stores its answer for its
	// Idempotency-Key, then resets the connection before any answer byte.
	FaultLostResponse
)

// String gives the name of f: "none", "503", "429", "reset", "truncate" or
// "lost-response".
func (f Fault) String() string {
	switch f {
	case FaultNone:
		return "none"
	case Fault503:
		return "503"
	case Fault429:
		return "429"
	case FaultReset:
		return "reset"
	case FaultTruncate:
		return "truncate"
	case FaultLostResponse:
		return "lost-response"
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

// ParseFault gives the fault named s, one of the names [Fault.String]
// gives.
func ParseFault(s string) (Fault, error) {
	for f := FaultNone; f <= FaultLostResponse; f++ {
		if f.String() == s {
			return f, nil
		}
	}
	return FaultNone, fmt.Errorf("mock: unknown fault %q (want none, 503, 429, reset, truncate or lost-response)", s)
}

// Faults configures fault injection. The zero value injects nothing.
//
// Each request in scope (see Methods and Paths) waits Latency plus a random
// part of Jitter, then takes the next fault queued by [Backend.FailNext] or,
// when none is queued, draws one fault with the given rates (the chances,
// from 0 to 1, of each fault; they add up, in the order of the fields, and a
// sum above 1 leaves later rates with what remains). A negative or NaN
// rate injects nothing.
type Faults struct {
	// Latency delays each request in scope. The delay ends early when the
	// request's context is cancelled; no answer is made then.
	Latency time.Duration
	// Jitter adds a random delay in [0, Jitter) to Latency.
	Jitter time.Duration

	// Rate503 is the chance of [Fault503].
	Rate503 float64
	// Rate429 is the chance of [Fault429].
	Rate429 float64
	// RateReset is the chance of [FaultReset].
	RateReset float64
	// RateTruncate is the chance of [FaultTruncate].
	RateTruncate float64
	// RateLost is the chance of [FaultLostResponse].
	RateLost float64

	// RetryAfter is the Retry-After header of 503 and 429 answers, in
	// seconds or as an HTTP date. Empty means "0".
	RetryAfter string

	// Methods limits faults (latency included) to requests with one of
	// these methods ("PUT"). Empty means every method.
	Methods []string
	// Paths limits faults (latency included) to requests whose path starts
	// with one of these prefixes ("/docs/"). Empty means every path.
	Paths []string
}

func (f Faults) clone() Faults {
	f.Methods, f.Paths = slices.Clone(f.Methods), slices.Clone(f.Paths)
	return f
}

// covers reports whether r is in the scope of f.
func (f *Faults) covers(r *http.Request) bool {
	if len(f.Methods) > 0 && !slices.Contains(f.Methods, r.Method) {
		return false
	}
	if len(f.Paths) == 0 {
		return true
	}
	return slices.ContainsFunc(f.Paths, func(p string) bool { return strings.HasPrefix(r.URL.Path, p) })
}

// draw maps u, uniform in [0, 1), to a fault by the rates.
func (f *Faults) draw(u float64) Fault {
	rates := []struct {
		rate  float64
		fault Fault
	}{
		{f.Rate503, Fault503}, {f.Rate429, Fault429}, {f.RateReset, FaultReset},
		{f.RateTruncate, FaultTruncate}, {f.RateLost, FaultLostResponse},
	}
	sum := 0.0
	for _, r := range rates {
		if !(r.rate > 0) { // NaN and negative rates inject nothing
			continue
		}
		sum += r.rate
		if u < sum {
			return r.fault
		}
	}
	return FaultNone
}

// SetFaults replaces the fault injection settings; requests already past
// their fault draw keep theirs. Faults queued by [Backend.FailNext] stay.
func (b *Backend) SetFaults(f Faults) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.faults = f.clone()
}

// FailNext queues f for the next n requests in the fault scope (see
// [Faults.Methods] and [Faults.Paths]), after any faults queued before.
// Queued faults take precedence over the rates. The queue holds a count
// per call, so any n costs the same; n of zero or less queues nothing.
func (b *Backend) FailNext(n int, f Fault) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if last := len(b.queue) - 1; last >= 0 && b.queue[last].fault == f {
		b.queue[last].n += n
		return
	}
	b.queue = append(b.queue, faultRun{fault: f, n: n})
}

// faultRun is one entry of the FailNext queue: n requests get fault.
type faultRun struct {
	fault Fault
	n     int
}

// latency draws the delay of r.
func (b *Backend) latency(r *http.Request) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.faults.covers(r) {
		return 0
	}
	d := b.faults.Latency
	if b.faults.Jitter > 0 {
		d += time.Duration(b.rng.Int64N(int64(b.faults.Jitter)))
	}
	return d
}

// pickFault takes the fault of r from the queue or draws it.
func (b *Backend) pickFault(r *http.Request) Fault {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.faults.covers(r) {
		return FaultNone
	}
	if len(b.queue) > 0 {
		run := &b.queue[0]
		if run.n--; run.n == 0 {
			b.queue = b.queue[1:]
		}
		return run.fault
	}
	return b.faults.draw(b.rng.Float64())
}

// throttle answers a 503 or 429 fault.
func (b *Backend) throttle(f Fault) *response {
	status := http.StatusServiceUnavailable
	if f == Fault429 {
		status = http.StatusTooManyRequests
	}
	b.mu.Lock()
	after := b.faults.RetryAfter
	b.mu.Unlock()
	if after == "" {
		after = "0"
	}
	res := problem(status, ProblemInjectedFault, "injected fault", "fault injected by the mock server")
	res.header.Set("Retry-After", after)
	return res
}

// deliver writes res on w, or cuts it as the fault says. A nil res means the
// exchange is cut without an answer.
func (b *Backend) deliver(w http.ResponseWriter, r *http.Request, res *response, f Fault) {
	switch {
	case res == nil, f == FaultLostResponse:
		abort(w)
	case f == FaultTruncate:
		truncate(w, r, res)
	default:
		res.write(w, r)
	}
}

// abort resets the connection of w without an answer: a TCP RST on an
// HTTP/1 connection, a stream reset on HTTP/2.
func abort(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}

// truncate sends half of res and closes the connection.
func truncate(w http.ResponseWriter, r *http.Request, res *response) {
	body := res.body
	if r.Method == http.MethodHead || bodyless(res.status) {
		body = nil
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil { // not HTTP/1: send half the body, then reset the stream
		h := w.Header()
		for k, v := range res.header {
			h[k] = slices.Clone(v)
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(res.status)
		_, _ = w.Write(body[:len(body)/2])
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "HTTP/1.1 %03d %s\r\n", res.status, http.StatusText(res.status))
	h := res.header.Clone()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_ = h.Write(&buf)
	buf.WriteString("\r\n")
	if len(body) == 0 {
		_, _ = conn.Write(buf.Bytes()[:buf.Len()/2])
		return
	}
	buf.Write(body[:len(body)/2])
	_, _ = conn.Write(buf.Bytes())
}
