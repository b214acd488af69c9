package optimist

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// An operation's callback: its URL placed in the request that starts the
// operation, the subscription that listens for its deliveries from before
// the request is sent, and the wait that a delivery cuts short.

// CallbackPlacement says where a request carries its operation's callback
// URL; exactly one of its fields is set. Another placement (none, or more
// than one) fails the request before it is sent.
type CallbackPlacement struct {
	// Body places the callback URL in the string member Body of the
	// request's JSON object body; a request without a body gets
	// {Body: URL}. A body that is not a JSON object, or has the member
	// already, is an error.
	Body string
	// Query places the callback URL in the query parameter Query.
	Query string
	// Header places the callback URL in the request header Header.
	Header string
}

// name returns the one name p sets, or "" when it sets none or several.
func (p CallbackPlacement) name() string {
	var name string
	for _, n := range [...]string{p.Body, p.Query, p.Header} {
		if n != "" && name != "" {
			return ""
		}
		if n != "" {
			name = n
		}
	}
	return name
}

// Attach returns a request option that gives the operation the request
// starts a callback URL of its own ([CallbackOptions].URL with an unguessable
// segment added), placed in the request where at says, and listens for
// its deliveries from before the request is sent, so that a callback that
// comes before the 202 Accepted counts. [Operation.Wait] then ends on a
// verified callback as on a poll (see there). Given to
// [Client.ResumeOperation], it listens again for the callback the resumed
// operation expects; at is then not used. With [FollowOperation](false), it listens while
// the request is in flight and then while [Operation.Wait] runs: a
// delivery in between is missed, and the next poll tells instead. A
// delivery that asks for a poll gets one at once, whatever
// PollOptions.MinInterval says: deliveries are signed and deduplicated,
// so only the API can ask so. Without a valid CallbackOptions.URL, without
// CallbackOptions.Verify, or with a placement that does not set exactly one
// name, the request fails before it is sent. The
// client methods and [Client.Do] attach callbacks; [Update] does not.
func (cb *Callbacks) Attach(at CallbackPlacement) RequestOption {
	return func(o *requestOptions) { o.async.callback = &callbackAttach{cb: cb, at: at} }
}

// callbackAttach is a callback attached to one request.
type callbackAttach struct {
	cb      *Callbacks
	at      CallbackPlacement
	id      string        // the operation's callback id, once placed
	sub     *subscription // listening since before the request was sent
	origURL *url.URL      // the request's URL before a query placement
}

// attachCallback places r's callback, if it has one, and subscribes to
// its deliveries; release ends the subscription unless an operation has
// taken it over.
func (r *request) attachCallback() (release func(), err error) {
	a := r.opts.async.callback
	if a == nil || a.id != "" {
		return func() {}, nil
	}
	if a.cb.base == nil {
		return nil, fmt.Errorf("optimist: %s %s: %w", r.method, redactURL(r.url.String()), a.cb.baseErr)
	}
	if a.cb.verify == nil {
		return nil, fmt.Errorf("optimist: %s %s: callbacks: no Verify", r.method, redactURL(r.url.String()))
	}
	name := a.at.name()
	if name == "" {
		return nil, fmt.Errorf("optimist: %s %s: callback placement has no name, or more than one: set one of Body, Query and Header",
			r.method, redactURL(r.url.String()))
	}
	id := rand.Text()
	u := a.cb.base.JoinPath(id).String()
	switch name {
	case a.at.Body:
		body, err := withJSONMember(r.body, name, u)
		if err != nil {
			return nil, fmt.Errorf("optimist: %s %s: placing the callback URL: %w", r.method, redactURL(r.url.String()), err)
		}
		r.body = body
		if r.header.Get("Content-Type") == "" {
			r.header.Set("Content-Type", "application/json")
		}
	case a.at.Query:
		sent := *r.url
		if sent.RawQuery != "" {
			sent.RawQuery += "&"
		}
		sent.RawQuery += url.QueryEscape(name) + "=" + url.QueryEscape(u)
		a.origURL, r.url = r.url, &sent
	default:
		r.header.Set(name, u)
	}
	a.id, a.sub = id, a.cb.subscribe(id)
	return a.sub.close, nil
}

// withJSONMember returns the JSON object body with the string member name
// added first; a nil body is an empty object.
func withJSONMember(body []byte, name, value string) ([]byte, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		trimmed = []byte("{}")
	}
	var members map[string]json.RawMessage
	if trimmed[0] != '{' || json.Unmarshal(trimmed, &members) != nil {
		return nil, fmt.Errorf("%w: the body is not a JSON object", ErrNotJSON)
	}
	if _, ok := members[name]; ok {
		return nil, fmt.Errorf("the body has a %q member already", name)
	}
	member, _ := json.Marshal(map[string]string{name: value}) // {"name":"value"}
	rest := bytes.TrimSpace(trimmed[1:])
	if rest[0] == '}' {
		return member, nil
	}
	return append(append(member[:len(member)-1:len(member)-1], ','), rest...), nil
}

func (a asyncOptions) requestURL(u *url.URL) *url.URL {
	if a.callback != nil && a.callback.origURL != nil {
		return a.callback.origURL
	}
	return u
}

// dropPlacedHeader keeps a header-placed callback URL out of the status
// and result GETs.
func (a asyncOptions) dropPlacedHeader(h http.Header) {
	if a.callback != nil && a.callback.id != "" && a.callback.at.Header != "" {
		h.Del(a.callback.at.Header)
	}
}

func (a asyncOptions) link() callbackLink {
	if a.callback == nil || a.callback.id == "" {
		return callbackLink{}
	}
	return callbackLink{cb: a.callback.cb, id: a.callback.id, sub: a.callback.sub}
}

// callbackLink is an operation's callback: the handler, the id, and the
// subscription while it listens.
type callbackLink struct {
	cb  *Callbacks
	id  string
	sub *subscription
}

func (l *callbackLink) expected() bool { return l.cb != nil }

// listen subscribes, unless a subscription is live, and returns the
// function that ends it.
func (l *callbackLink) listen() (stop func()) {
	if l.cb == nil {
		return func() {}
	}
	if l.sub == nil || l.sub.isClosed() {
		l.sub = l.cb.subscribe(l.id)
	}
	return l.sub.close
}

func (cb *Callbacks) subscribe(id string) *subscription {
	s := &subscription{}
	s.cancel = cb.bus.Subscribe(id, s.deliver)
	return s
}

// maxQueuedProgress bounds the progress callbacks kept between waits.
const maxQueuedProgress = 16

// errCallback is the cause of a wait a delivery cut short.
var errCallback = errors.New("optimist: callback received")

// subscription collects an operation's deliveries and wakes its wait.
type subscription struct {
	mu       sync.Mutex
	progress []OperationStatus
	poll     bool // a delivery asks for a poll
	wake     context.CancelCauseFunc
	cancel   func()
	closed   bool
}

func (s *subscription) deliver(d CallbackDelivery) {
	st, progress := callbackStatus(d.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if progress {
		if len(s.progress) == maxQueuedProgress {
			s.progress = s.progress[1:]
		}
		s.progress = append(s.progress, st)
	} else {
		s.poll = true
	}
	if s.wake != nil {
		s.wake(errCallback)
	}
}

// take returns the progress received and whether a poll was asked for,
// and forgets them.
func (s *subscription) take() (progress []OperationStatus, poll bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	progress, poll = s.progress, s.poll
	s.progress, s.poll = nil, false
	return progress, poll
}

func (s *subscription) close() {
	s.mu.Lock()
	closed := s.closed
	s.closed = true
	s.mu.Unlock()
	if !closed {
		s.cancel()
	}
}

func (s *subscription) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// callbackStatus reads a delivery's body, or its "data" member (as
// Standard Webhooks payloads have it), with [DefaultStatusDecoder]'s
// rules; progress is true for a state that is not terminal. Anything else
// asks for a poll.
func callbackStatus(body []byte) (st OperationStatus, progress bool) {
	doc := parseStatusDocument(body)
	if doc.state == "" {
		var envelope struct {
			Data json.RawMessage `json:"data"`
		}
		if json.Unmarshal(body, &envelope) == nil {
			doc = parseStatusDocument(envelope.Data)
		}
	}
	done, _ := classifyState(doc.state)
	return OperationStatus{State: doc.state, PercentComplete: doc.percent}, doc.state != "" && !done
}

// validCallbackID reports whether s could be an id rand.Text made.
func validCallbackID(s string) bool {
	return len(s) == 26 && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == ""
}

// sleep waits d before the next poll. While the operation listens for a
// callback, it reports progress callbacks as they come and ends early on
// a delivery that asks for a poll. A clock given to [WithClock] must end
// its sleep when the context ends for a delivery to cut it short.
func (op *Operation) sleep(ctx context.Context, d time.Duration) error {
	s := op.callback.sub
	if s == nil {
		return op.c.sleep(ctx, d)
	}
	deadline, wait := op.c.now().Add(d), d
	for {
		progress, poll := s.take()
		for _, st := range progress {
			op.report(ctx, op.event(0, st))
		}
		if poll {
			return nil
		}
		woke, err := s.sleep(ctx, op.c.sleep, wait)
		if err != nil || !woke {
			return err
		}
		if wait = deadline.Sub(op.c.now()); wait <= 0 {
			progress, _ := s.take() // poll now in any case
			for _, st := range progress {
				op.report(ctx, op.event(0, st))
			}
			return nil
		}
	}
}

// sleep waits d with sleep, and reports whether a delivery cut it short.
func (s *subscription) sleep(ctx context.Context, sleep func(context.Context, time.Duration) error,
	d time.Duration) (woke bool, err error) {
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s.mu.Lock()
	if s.poll || len(s.progress) > 0 {
		s.mu.Unlock()
		return true, nil
	}
	s.wake = cancel
	s.mu.Unlock()
	err = sleep(wctx, d)
	s.mu.Lock()
	s.wake = nil
	s.mu.Unlock()
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if errors.Is(context.Cause(wctx), errCallback) {
		return true, nil
	}
	return false, err
}
