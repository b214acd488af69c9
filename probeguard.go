package optimist

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// The precondition guard. It sits in the client's HTTP transport, under
// the transport retries: every conditional write passes it on its way to
// the server, and the first one to each origin probes that origin's
// server first.

// WithPreconditionCheck makes the client probe each origin (scheme, host
// and port) once, with [Client.Probe] on the resource of the first
// conditional write to it (a PUT, PATCH, DELETE or POST carrying If-Match
// or If-None-Match), and refuse every write to that origin that carries a
// precondition its server ignored (Azure Table, say, honours If-Match but
// takes a PUT with If-None-Match: * as an upsert): such a write fails,
// unsent, with a [*PreconditionsIgnoredError] matching
// [ErrPreconditionsIgnored], and is not retried. Writes that carry their version elsewhere ([JSONField],
// [QueryParam]) are neither probed nor refused.
//
// The probe re-sends the write's headers (credentials, API versions)
// except its preconditions, body headers and Idempotency-Key. A first
// write to a resource that does not exist yet (a create) cannot be probed
// without creating it: it goes out unprobed and the next write to an
// existing resource of the origin probes. An origin whose probe proves
// nothing (a 400 or 405 to the probe's PUT) is let through. One whose
// probe fails or is inconclusive (a transport fault, a 5xx to the GET, a
// 423, 429 or 5xx to a probe write) refuses the write with that error,
// and is probed again at the transport's retry and at the next write. Concurrent first writes
// to one origin wait for one probe. See [Client.Probe] for what no probe
// can detect, and for the one-round-trip window in which the probe
// itself may overwrite a concurrent write to a server that ignores
// preconditions.
//
// The guard wraps the transport of the client's HTTP client, whether
// [WithHTTPClient] comes before or after this option.
func WithPreconditionCheck() Option {
	return func(c *Client) {
		wrapTransport(c, func(next http.RoundTripper) http.RoundTripper {
			return &preconditionGuard{next: next, client: c}
		})
	}
}

// preconditionGuard is the RoundTripper of [WithPreconditionCheck].
type preconditionGuard struct {
	next   http.RoundTripper
	client *Client // for its body limit, final once New returns

	mu      sync.Mutex
	origins map[string]*originProbe
}

// originProbe is one origin's probe; done is closed when it has ended.
type originProbe struct {
	done   chan struct{}
	url    string
	result ProbeResult
	err    error
	known  bool // the result stands; false: probe again next time
}

// RoundTrip refuses a conditional write to an origin that ignores
// preconditions and passes every other request to the next transport.
func (g *preconditionGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if isProbe(req.Context()) || !conditionalWrite(req) {
		return g.next.RoundTrip(req)
	}
	origin := strings.ToLower(req.URL.Scheme) + "://" + strings.ToLower(req.URL.Hostname()) + ":" + effectivePort(req.URL)
	p, err := g.probe(req, origin)
	if err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, &unsentError{err}
	}
	if p != nil && p.result.ignoredBy(req.Header) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, &PreconditionsIgnoredError{Origin: origin, ProbedURL: p.url, Probe: p.result}
	}
	return g.next.RoundTrip(req)
}

// conditionalWrite reports whether req is a write with an HTTP
// precondition the guard's probe can vouch for.
func conditionalWrite(req *http.Request) bool {
	switch req.Method {
	case http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodPost:
		return req.Header.Get("If-Match") != "" || req.Header.Get("If-None-Match") != ""
	}
	return false
}

// probe returns origin's probe, running it with req's URL and headers if
// no probe of origin stands, or nil when the resource could not be
// probed because it does not exist.
func (g *preconditionGuard) probe(req *http.Request, origin string) (*originProbe, error) {
	ctx := req.Context()
	for {
		g.mu.Lock()
		if g.origins == nil {
			g.origins = make(map[string]*originProbe)
		}
		p, running := g.origins[origin]
		if !running {
			p = &originProbe{done: make(chan struct{}), url: redactURL(req.URL.String())}
			g.origins[origin] = p
		}
		g.mu.Unlock()
		if !running {
			g.run(ctx, p, req, origin)
		}
		select {
		case <-p.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		switch {
		case p.known:
			return p, nil
		case !running:
			return nil, p.err // ours failed: report it; the next write probes again
		}
		// Another write's probe failed or found nothing: try ours.
	}
}

// run probes req's resource and publishes the outcome in p.
func (g *preconditionGuard) run(ctx context.Context, p *originProbe, req *http.Request, origin string) {
	defer close(p.done)
	header := readHeader(req.Header)
	send := (&http.Client{
		Transport:     g.next,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}).Do
	pr := prober{send: send, limit: g.client.maxBodyBytes, header: header}
	p.result, p.err = pr.run(context.WithValue(ctx, probingKey{}, true), req.URL.String())
	switch {
	case p.err == nil && (transientStatus(p.result.IfMatchStatus) || transientStatus(p.result.IfNoneMatchStatus)):
		// The answer says "not now", not "no": probe again, and write nothing until then.
		p.err = fmt.Errorf("optimist: probe of %s inconclusive: PUT answered %d and %d",
			p.url, p.result.IfMatchStatus, p.result.IfNoneMatchStatus)
	case p.err == nil:
		p.known = true
	case isNotFound(p.err):
		p.err = nil // nothing to probe yet: let this write through
	}
	if !p.known {
		g.mu.Lock()
		delete(g.origins, origin)
		g.mu.Unlock()
	}
}

// unsentError is a write the guard did not send because its probe failed:
// a transport retry may send it, and no copy of it can have been applied.
type unsentError struct{ err error }

func (e *unsentError) Error() string { return e.err.Error() }
func (e *unsentError) Unwrap() error { return e.err }

// refusedUnsent reports whether err is the guard's: the request was not
// sent.
func refusedUnsent(err error) bool {
	var ue *unsentError
	var pie *PreconditionsIgnoredError
	return errors.As(err, &ue) || errors.As(err, &pie)
}

// transientStatus reports whether a probe write's answer is about the
// server's state of the moment (423 Locked, 429, 5xx), not its rules.
func transientStatus(code int) bool {
	return code == http.StatusLocked || code == http.StatusTooManyRequests || code >= 500
}

func isNotFound(err error) bool {
	se, ok := asStatusError(err)
	return ok && se.Is(ErrNotFound)
}
