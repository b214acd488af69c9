package mock

import (
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
)

// Backend is the in-memory API: an [http.Handler] holding the documents,
// jobs, fault settings, Idempotency-Key answers, counters and request log.
// It is safe for concurrent use; one lock guards all its state.
type Backend struct {
	cfg config

	mu      sync.Mutex
	store   store
	jobs    map[string]*job
	nextJob uint64
	nextID  uint64 // the last id POST gave to a new document
	faults  Faults
	queue   []faultRun // the faults of FailNext, first first
	rng     *rand.Rand
	idem    idempotencyStore
	counts  map[countKey]int
	log     requestLog
	cb      callbackState // outgoing callbacks; see callbacks.go
	// locks.go
	locks    map[string]*heldLock
	busy     map[string]busyWindow
	nextLock uint64
}

// Handler makes a [Backend] with the options, ready to serve requests under
// any server (or [httptest.NewRecorder]). It panics if the pointer of
// [WithVersionField] is not a JSON pointer naming a member.
func Handler(opts ...Option) *Backend {
	cfg := newConfig(opts)
	st, err := newStore(cfg.versionField)
	if err != nil {
		panic(err)
	}
	seed := uint64(cfg.randomSeed)
	return &Backend{
		cfg:    cfg,
		store:  st,
		jobs:   map[string]*job{},
		faults: cfg.faults.clone(),
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		idem:   newIdempotencyStore(cfg.idempotencyLimit),
		counts: map[countKey]int{},
	}
}

// ServeHTTP answers r. See the package documentation for the API.
func (b *Backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e := b.begin(r)
	res, fault := b.respond(r, e)
	e.Fault = fault
	if res != nil {
		e.Status = res.status
	}
	b.record(e)
	b.deliver(w, r, res, fault)
}

// respond makes the answer to r: it waits the latency, draws a fault, reads
// the body and handles the request. A nil answer means none is sent.
func (b *Backend) respond(r *http.Request, e *Request) (*response, Fault) {
	if err := b.cfg.sleep(r.Context(), b.latency(r)); err != nil {
		return nil, FaultNone
	}
	fault := b.pickFault(r)
	switch fault {
	case FaultReset:
		return nil, fault
	case Fault503, Fault429:
		return b.throttle(fault), fault
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, b.cfg.maxBodyBytes+1))
	switch {
	case err != nil:
		return badRequest("reading the body: " + err.Error()), fault
	case int64(len(body)) > b.cfg.maxBodyBytes:
		return problem(http.StatusRequestEntityTooLarge, "", "", "the body is too large"), fault
	}
	return b.serve(r, body, e), fault
}

// serve handles r with its body under the Idempotency-Key rules.
func (b *Backend) serve(r *http.Request, body []byte, e *Request) *response {
	key := r.Header.Get("Idempotency-Key")
	if key == "" || r.Method == http.MethodGet || r.Method == http.MethodHead {
		b.beforeHandle(r)
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.handle(r, body)
	}
	fp := fingerprint(r, body)
	b.mu.Lock()
	claim, res, replayed := b.idem.begin(key, fp)
	b.mu.Unlock()
	if claim == nil {
		e.Replayed = replayed
		return res
	}
	b.beforeHandle(r)
	b.mu.Lock()
	defer b.mu.Unlock()
	res = b.handle(r, body)
	b.idem.finish(key, claim, res)
	return res
}

func (b *Backend) beforeHandle(r *http.Request) {
	if b.cfg.beforeHandle != nil {
		b.cfg.beforeHandle(r)
	}
}

// Reset returns the backend to its state when it was made, but for its
// configuration (options and [Backend.SetFaults]): it forgets documents,
// jobs, Idempotency-Key answers, pending [Backend.FailNext] faults, counters,
// the log, and locks, leases and busy windows. Entity-tags and ids keep
// counting up, so none is reused.
func (b *Backend) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.store.reset()
	b.jobs = map[string]*job{}
	b.queue = nil
	b.idem = newIdempotencyStore(b.cfg.idempotencyLimit)
	b.counts = map[countKey]int{}
	b.log = requestLog{}
	b.locks, b.busy = nil, nil
}

// Server is a [Backend] listening on a loopback port, in the manner of
// [httptest.Server]. The Backend's methods (Count, Seed, FailNext, ...) are
// promoted to it.
type Server struct {
	// URL is the base URL of the server, http://127.0.0.1:port, with no
	// trailing slash.
	URL string

	*Backend

	ts *httptest.Server
}

// NewServer starts a [Server] with the options on 127.0.0.1 and a free
// port. The caller must call Close when done with it.
func NewServer(opts ...Option) *Server {
	b := Handler(opts...)
	ts := httptest.NewServer(b)
	return &Server{URL: ts.URL, Backend: b, ts: ts}
}

// Close stops the server and blocks until every in-flight request has been
// answered. It closes the idle connections of [Server.Client] and
// [http.DefaultTransport]. Calling Close again does nothing more.
// Callbacks (see [WithCallbacks]) not sent yet are dropped; those in flight
// are cancelled and waited for.
func (s *Server) Close() {
	s.ts.Close()
	s.closeCallbacks()
}

// Client gives an [http.Client] for the server. It keeps connections alive;
// see the package documentation on faults and connection reuse.
func (s *Server) Client() *http.Client { return s.ts.Client() }
