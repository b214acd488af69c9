package optimist

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/optimist-go/optimist/webhook"
)

// Callbacks: the other way an operation tells that it is done. A
// [Callbacks] is the http.Handler that receives webhook deliveries,
// verifies them and hands them, through a [DeliveryBus], to the operation
// waiting for them (callbackwait.go). A callback is a hint; the status
// GET it triggers is the truth.

// Defaults of a [Callbacks]; see [CallbackOptions].
const (
	defaultCallbackTolerance     = 5 * time.Minute
	defaultCallbackMaxBodyBytes  = 1 << 20
	defaultCallbackMaxDeliveries = 10_000
)

// Callbacks is an [http.Handler] for the webhook deliveries (callbacks)
// of operations: mount it where the API can reach it, at
// [CallbackOptions].URL, and attach it to a request with
// [Callbacks.Attach].
//
// It answers a POST to the URL of an operation at once: 204 No Content
// for a verified delivery (also for one already received, which is not
// handed on again), 401 when the signature does not verify, 400 when the
// timestamp is outside the tolerance, 413 when the body is too large, 404
// for a path whose last segment is not an operation id (whether the
// operation exists is not told) and 405 for another method. Verified
// deliveries go to the [DeliveryBus]. A Callbacks is safe for concurrent
// use.
type Callbacks struct {
	verify    webhook.Verifier
	base      *url.URL
	baseErr   error
	now       func() time.Time
	tolerance time.Duration
	maxBody   int64
	bus       DeliveryBus
	seen      seenDeliveries
}

// CallbackOptions configure a [Callbacks]. URL and Verify are required;
// each other field's zero value means its default.
type CallbackOptions struct {
	// URL is the public URL the handler is reachable at, such as
	// "https://app.example.com/hooks"; each operation's callback URL is
	// it with an unguessable last path segment added. It must be an
	// absolute http or https URL; otherwise (an empty URL included)
	// [Callbacks.Attach] fails its requests before they are sent.
	URL string
	// Verify checks each delivery's signature and returns its id and
	// signed timestamp: [webhook.Standard], [webhook.Stripe],
	// [webhook.GitHub] or one of your own. nil verifies nothing: the
	// handler answers every delivery 401 and [Callbacks.Attach] fails its
	// requests before they are sent.
	Verify webhook.Verifier
	// Bus carries verified deliveries to the operation waiting for them,
	// for several instances behind a load balancer: the instance that
	// receives a delivery may not be the one waiting for it. nil means an
	// in-process bus.
	Bus DeliveryBus
	// Now is the clock delivery timestamps are checked against; pass the
	// clock of the client's [WithClock]. nil means time.Now.
	Now func() time.Time
	// MaxBodyBytes is the largest delivery body read; a longer one is
	// answered 413. Zero or negative means 1 MiB.
	MaxBodyBytes int64
	// MaxDeliveries bounds how many delivery ids are remembered; when
	// full, the oldest is forgotten first, so a duplicate of it would be
	// handed on again: at worst, one more status GET. Zero or negative
	// means 10,000.
	MaxDeliveries int
	// Tolerance is how far a delivery's timestamp may be from the clock,
	// either way, and how long a delivery id is remembered to drop
	// duplicates. Zero or negative means 5 minutes.
	Tolerance time.Duration
}

// NewCallbacks returns a handler that accepts the deliveries o.Verify
// verifies, to be attached to requests with [Callbacks.Attach].
func NewCallbacks(o CallbackOptions) *Callbacks {
	cb := &Callbacks{verify: o.Verify, now: o.Now, tolerance: o.Tolerance, maxBody: o.MaxBodyBytes, bus: o.Bus}
	cb.seen.limit = o.MaxDeliveries
	cb.base, cb.baseErr = callbacksBase(o.URL)
	if cb.now == nil {
		cb.now = time.Now
	}
	if cb.tolerance <= 0 {
		cb.tolerance = defaultCallbackTolerance
	}
	if cb.maxBody <= 0 {
		cb.maxBody = defaultCallbackMaxBodyBytes
	}
	if cb.seen.limit <= 0 {
		cb.seen.limit = defaultCallbackMaxDeliveries
	}
	if cb.bus == nil {
		cb.bus = newLocalBus()
	}
	return cb
}

// callbacksBase parses the handler's public URL, without a trailing
// slash, or says why it cannot be used.
func callbacksBase(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("optimist: callbacks: no URL")
	}
	u, err := resolveHTTP(&url.URL{}, raw)
	if err != nil {
		return nil, err
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// CallbackDelivery is a verified delivery, as a [DeliveryBus] carries it.
type CallbackDelivery struct {
	// Operation is the operation's id: the last path segment of its
	// callback URL.
	Operation string
	// ID is the delivery's id (webhook-id, X-GitHub-Delivery, ...).
	ID string
	// Timestamp is the signed time of the delivery, zero if the scheme
	// signs none.
	Timestamp time.Time
	// Body is the delivery's body.
	Body []byte
}

// DeliveryBus carries verified deliveries from the [Callbacks] handler
// that received them to the operation waiting for them, perhaps in
// another process. Its methods must be safe for concurrent use.
type DeliveryBus interface {
	// Publish hands d to the subscribers of d.Operation, wherever they
	// are. An error is answered 503, so that the sender delivers again.
	Publish(ctx context.Context, d CallbackDelivery) error
	// Subscribe calls deliver with every delivery published for
	// operation until cancel is called. deliver does not block.
	Subscribe(operation string, deliver func(CallbackDelivery)) (cancel func())
}

// ServeHTTP receives one delivery; see [Callbacks].
func (cb *Callbacks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	op := path.Base(r.URL.Path)
	if !validCallbackID(op) {
		http.Error(w, "no such operation", http.StatusNotFound)
		return
	}
	body, err := readLimited(r.Body, r.ContentLength, cb.maxBody)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrBodyTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		http.Error(w, "unreadable body", status)
		return
	}
	d, status := cb.accept(r.Header, body)
	if status == http.StatusNoContent && d.ID != "" {
		d.Operation = op
		if err := cb.bus.Publish(r.Context(), d); err != nil {
			cb.seen.forget(d.ID)
			status = http.StatusServiceUnavailable
		}
	}
	if status != http.StatusNoContent {
		http.Error(w, http.StatusText(status), status)
		return
	}
	w.WriteHeader(status)
}

// accept verifies a delivery and checks its timestamp and id. It returns
// the delivery to hand on (none for a duplicate) and the status to answer.
func (cb *Callbacks) accept(h http.Header, body []byte) (CallbackDelivery, int) {
	if cb.verify == nil {
		return CallbackDelivery{}, http.StatusUnauthorized
	}
	id, ts, err := cb.verify(h, body)
	if err != nil || id == "" {
		return CallbackDelivery{}, http.StatusUnauthorized
	}
	now := cb.now()
	if !ts.IsZero() && (ts.Before(now.Add(-cb.tolerance)) || ts.After(now.Add(cb.tolerance))) {
		return CallbackDelivery{}, http.StatusBadRequest
	}
	if !cb.seen.add(id, now, cb.tolerance) {
		return CallbackDelivery{}, http.StatusNoContent
	}
	return CallbackDelivery{ID: id, Timestamp: ts, Body: body}, http.StatusNoContent
}

// seenDeliveries remembers delivery ids for a while, at most limit of
// them, oldest forgotten first.
type seenDeliveries struct {
	mu    sync.Mutex
	limit int
	until map[string]time.Time
	order []string
}

// add reports whether id is new, and remembers it until now+ttl.
func (s *seenDeliveries) add(id string, now time.Time, ttl time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.until == nil {
		s.until = make(map[string]time.Time)
	}
	for len(s.order) > 0 && !s.until[s.order[0]].After(now) {
		s.drop()
	}
	if _, ok := s.until[id]; ok {
		return false
	}
	for len(s.order) > 0 && len(s.until) >= s.limit {
		s.drop()
	}
	s.until[id] = now.Add(ttl)
	s.order = append(s.order, id)
	return true
}

// drop forgets the oldest id, or a stale entry of order.
func (s *seenDeliveries) drop() {
	delete(s.until, s.order[0])
	s.order = s.order[1:]
}

// forget drops id, so that a new delivery of it is handed on.
func (s *seenDeliveries) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.until, id) // its entry in order goes when it reaches the front
}

// localBus is the in-process DeliveryBus.
type localBus struct {
	mu   sync.Mutex
	next int
	subs map[string]map[int]func(CallbackDelivery)
}

func newLocalBus() *localBus {
	return &localBus{subs: make(map[string]map[int]func(CallbackDelivery))}
}

func (b *localBus) Publish(_ context.Context, d CallbackDelivery) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, deliver := range b.subs[d.Operation] {
		deliver(d)
	}
	return nil
}

func (b *localBus) Subscribe(op string, deliver func(CallbackDelivery)) func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	n := b.next
	if b.subs[op] == nil {
		b.subs[op] = make(map[int]func(CallbackDelivery))
	}
	b.subs[op][n] = deliver
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs[op], n)
		if len(b.subs[op]) == 0 {
			delete(b.subs, op)
		}
	}
}
