package optimist

import (
	"net/http"
)

// Credentials stay with their origin. An origin is a URL's scheme, host and
// port (RFC 6454); a request that leaves it, by redirect or to a status URL,
// is stripped of every header that carries a credential (headers.go), and
// a redirect to another origin carries no Referer. This file wraps the
// caller's HTTP client so that its redirects and its cookie jar keep that
// rule.

// redirectError is a redirect the client refuses to follow.
type redirectError struct{ reason string }

func (e *redirectError) Error() string { return "optimist: redirect refused: " + e.reason }

// maxRedirects is how many redirects one request may follow.
const maxRedirects = 10

// wrapHTTPClient returns a copy of hc (a new pooled client if nil) whose
// redirect policy checks each redirect before hc's own policy does, whose
// cookie jar only adds cookies to requests on the origin their credentials
// belong to (see jarTransport), and whose timeout is at most the
// per-try timeout of [RetryOptions].
func (c *Client) wrapHTTPClient(hc *http.Client) *http.Client {
	var wrapped http.Client
	if hc != nil {
		wrapped = *hc
	} else {
		wrapped.Transport = newTransport()
	}
	for _, wrap := range c.transportWraps {
		next := wrapped.Transport
		if next == nil {
			next = http.DefaultTransport
		}
		wrapped.Transport = wrap(next)
	}
	if wrapped.Jar != nil {
		wrapped.Transport = &jarTransport{next: wrapped.Transport, jar: wrapped.Jar}
		wrapped.Jar = nil
	}
	if d := c.retryOpts.TryTimeout; d > 0 && (wrapped.Timeout <= 0 || d < wrapped.Timeout) {
		wrapped.Timeout = d
	}
	next := wrapped.CheckRedirect
	wrapped.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return &redirectError{reason: "stopped after 10 redirects"}
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return &redirectError{reason: "scheme " + req.URL.Scheme + " is not http or https"}
		}
		stateFrom(req.Context()).hops++
		if !sameOrigin(req.URL, via[0].URL) {
			c.stripSecrets(req.Header)
			// net/http sets Referer to the URL redirected from, query
			// (and any token in it) included.
			req.Header.Del("Referer")
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	return &wrapped
}

// jarTransport does what [http.Client] does with a cookie jar, with the
// origin rule of this file: it stores the cookies of every answer, but
// adds the jar's cookies only to a request on the origin its credentials
// belong to. A cookie is scoped by host, not port or scheme, so a plain
// jar would hand a cookie of one origin to a redirect or a status URL on
// another port of the same host.
type jarTransport struct {
	next http.RoundTripper // nil means http.DefaultTransport
	jar  http.CookieJar
}

func (t *jarTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	origin := stateFrom(req.Context()).origin
	if origin == nil || sameOrigin(req.URL, origin) {
		if cookies := t.jar.Cookies(req.URL); len(cookies) > 0 {
			req = req.Clone(req.Context()) // a RoundTripper must not change req
			for _, ck := range cookies {
				req.AddCookie(ck)
			}
		}
	}
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	if err == nil {
		if cookies := resp.Cookies(); len(cookies) > 0 {
			t.jar.SetCookies(req.URL, cookies)
		}
	}
	return resp, err
}

// CloseIdleConnections closes the idle connections of the transport
// underneath, if it can.
func (t *jarTransport) CloseIdleConnections() {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	if ci, ok := next.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// newTransport returns a transport like http.DefaultTransport, with its own
// connection pool sized for many concurrent calls to one host.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}
