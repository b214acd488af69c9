package optimist

import (
	"errors"
	"net/http"
)

// A drop-in for SDKs that take an *http.Client or an http.RoundTripper
// rather than a Doer: go-github, the Azure and Google SDKs, oapi-codegen's
// WithHTTPClient. Both send every request through [Client.Do].

// StandardClient returns an [*http.Client] that sends every request
// through c, as [Client.Do] does: with c's ETag memory, conditional
// writes, conflict resolution and transport retries, and c's own redirect
// policy. Its Transport is the [http.RoundTripper] to give SDKs that take
// one. It follows no redirect itself, as c follows them, has no cookie jar
// and no timeout: bound each call with its request's context. Request
// options travel in the request's context (see [NewContext]). It is safe
// for concurrent use.
//
// What the standard position cannot offer, compared with c's own methods:
//
//   - The request body is read in full before the first try, so that it
//     can be sent again; the answer is read in full (bounded by
//     [WithMaxBodyBytes]) before it is returned. Nothing streams.
//   - A 202 Accepted is returned as it is, unless the request's context
//     carries [FollowOperation](true).
//   - What the client learnt (the Attempts, the ETag it remembered) is
//     not in the *http.Response; [Client.Remembered] has the ETag.
//   - A call that ends without an answer to give (a transport fault, a
//     conflict the client gave up on, a wait past the deadline) is an
//     error, not a response, which the http.Client wraps in a
//     [*url.Error] that quotes the request URL (its password replaced by
//     "***", its user name and query kept: keep credentials out of URLs
//     there). [errors.Is] and [errors.As] reach optimist's errors through
//     it.
//   - An http.Client of one's own around the Transport must not follow
//     redirects or keep cookies: c has done both already. Give a cookie
//     jar to c with [WithHTTPClient].
func (c *Client) StandardClient() *http.Client {
	return &http.Client{
		Transport: roundTripper{c},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// roundTripper is c as an http.RoundTripper.
type roundTripper struct{ c *Client }

// RoundTrip sends req through the client. It does not change req, and
// it closes req's body, as an http.RoundTripper must.
func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, errors.New("optimist: request without a URL")
	}
	return rt.c.Do(req) // Do reads and closes the body
}

// CloseIdleConnections closes the client's idle connections, so that
// [http.Client.CloseIdleConnections] on a StandardClient reaches them.
func (rt roundTripper) CloseIdleConnections() { rt.c.CloseIdleConnections() }
