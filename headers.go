package optimist

import (
	"net/http"
	"net/url"
	"strings"
)

// The header policy: what a request carries when the client sends it on,
// in one place. Every path that derives one request from another calls
// these functions rather than keep a list of its own:
//
//   - To another origin (a redirect, a status or result URL), a request
//     carries no credential: Authorization, Proxy-Authorization, Cookie and
//     the secret headers ([WithSecretHeaders]) are removed (stripSecrets);
//     origin.go applies it to redirects and the cookie jar.
//   - A read derived from a write (the conflict loop's re-read and weak-tag
//     HEAD, an operation's status and result GETs, the precondition probe)
//     carries the caller's headers (credentials, API versions, tenant
//     headers) but none that belong to the write: its preconditions, its
//     body's headers and its idempotency keys (readHeader).
//   - An idempotency key is Idempotency-Key or X-Idempotency-Key; either
//     makes a request safe to send again (hasIdempotencyKey), the client
//     adds one only to a request that has neither, and a write whose body
//     changes (a conflict's resolution) drops both (dropIdempotencyKeys):
//     a new payload is a new request.

// alwaysSecret are the headers that always carry credentials.
var alwaysSecret = [...]string{"Authorization", "Proxy-Authorization", "Cookie"}

// idempotencyKeys are the headers that carry an idempotency key.
var idempotencyKeys = [...]string{"Idempotency-Key", "X-Idempotency-Key"}

// writeOnly are the headers of a write that a read derived from it must
// not carry, besides the idempotency keys.
var writeOnly = [...]string{"If-Match", "If-None-Match", "If-Unmodified-Since", "If-Modified-Since",
	"Content-Type", "Content-Length", "Content-Encoding"}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		effectivePort(a) == effectivePort(b)
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// stripSecrets removes credential headers from h.
func (c *Client) stripSecrets(h http.Header) {
	for _, name := range alwaysSecret {
		h.Del(name)
	}
	for _, name := range c.secretHeaders {
		h.Del(name)
	}
}

// readHeader returns a copy of h, the header of a write, for a read
// derived from it: without the write's preconditions, body headers and
// idempotency keys.
func readHeader(h http.Header) http.Header {
	h = h.Clone()
	if h == nil {
		h = make(http.Header)
	}
	for _, name := range writeOnly {
		h.Del(name)
	}
	dropIdempotencyKeys(h)
	return h
}

// field is h.Get(name) for a name already in canonical form (as
// http.CanonicalHeaderKey writes it: "Etag", not "ETag"), without
// canonicalizing it again: the write path reads a handful of fields per
// request.
func field(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// hasIdempotencyKey reports whether h carries an idempotency key.
func hasIdempotencyKey(h http.Header) bool {
	for _, name := range idempotencyKeys {
		if h.Get(name) != "" {
			return true
		}
	}
	return false
}

// dropIdempotencyKeys removes every idempotency key from h.
func dropIdempotencyKeys(h http.Header) {
	for _, name := range idempotencyKeys {
		h.Del(name)
	}
}
