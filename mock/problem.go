package mock

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
)

// Problem types of the server's problem details (RFC 9457) answers. Errors
// without a more specific type use "about:blank".
const (
	// ProblemPreconditionFailed: a conditional header (If-Match,
	// If-None-Match, If-Unmodified-Since) did not hold.
	ProblemPreconditionFailed = "urn:optimist:mock:precondition-failed"
	// ProblemPreconditionRequired: a write of an existing document carried
	// no precondition (see [WithRequireIfMatch] and [WithVersionQuery]).
	ProblemPreconditionRequired = "urn:optimist:mock:precondition-required"
	// ProblemVersionConflict: the version in the body or query is not the
	// current one (see [WithVersionField] and [WithVersionQuery]).
	ProblemVersionConflict = "urn:optimist:mock:version-conflict"
	// ProblemETagNotEchoed: under [WithWeakIfMatch], an If-Match that does
	// not echo the server's weak entity-tag byte for byte.
	ProblemETagNotEchoed = "urn:optimist:mock:etag-not-echoed"
	// ProblemIdempotencyKeyInUse: a request with the same Idempotency-Key
	// is still being processed; answered 409 Conflict.
	ProblemIdempotencyKeyInUse = "urn:optimist:mock:idempotency-key-in-use"
	// ProblemIdempotencyKeyReused: the Idempotency-Key was used before for
	// another request (method, path or body); answered 422.
	ProblemIdempotencyKeyReused = "urn:optimist:mock:idempotency-key-reused"
	// ProblemInjectedFault: a 429 or 503 answer made by fault injection.
	ProblemInjectedFault = "urn:optimist:mock:injected-fault"
	// ProblemJobFailed: the error of a failed job.
	ProblemJobFailed = "urn:optimist:mock:job-failed"
)

// Problem is the problem details object (RFC 9457) of the server's error
// answers, sent as application/problem+json. A failed job carries one in its
// "error" member.
type Problem struct {
	// Type is one of the Problem* constants or "about:blank".
	Type string `json:"type"`
	// Title is a short summary of the problem type.
	Title string `json:"title"`
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Detail explains this occurrence.
	Detail string `json:"detail,omitempty"`
}

// response is an answer computed under the backend's lock and written
// afterwards (or stored for an Idempotency-Key, or cut short by a fault).
// Its header and body are never modified once built.
type response struct {
	status int
	header http.Header
	body   []byte
}

// jsonResponse answers status with v encoded as contentType.
func jsonResponse(status int, contentType string, v any) *response {
	body, err := json.Marshal(v)
	if err != nil { // only plain data is encoded here
		panic("mock: encoding an answer: " + err.Error())
	}
	res := &response{status: status, header: http.Header{}, body: body}
	res.header.Set("Content-Type", contentType)
	return res
}

// problem answers status with a problem details body. An empty typ means
// "about:blank", whose title is the status text.
func problem(status int, typ, title, detail string) *response {
	if typ == "" {
		typ, title = "about:blank", http.StatusText(status)
	}
	return jsonResponse(status, "application/problem+json",
		Problem{Type: typ, Title: title, Status: status, Detail: detail})
}

func notFound(p string) *response {
	return problem(http.StatusNotFound, "", "", "no document at "+p)
}

func badRequest(detail string) *response {
	return problem(http.StatusBadRequest, "", "", detail)
}

func methodNotAllowed(allow string) *response {
	res := problem(http.StatusMethodNotAllowed, "", "", "allowed methods: "+allow)
	res.header.Set("Allow", allow)
	return res
}

// bodyless reports whether status forbids a body (RFC 9110, section 6.4.1).
func bodyless(status int) bool {
	return status == http.StatusNoContent || status == http.StatusNotModified ||
		(status >= 100 && status < 200)
}

// write sends res on w. A HEAD request gets the headers only.
func (res *response) write(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for k, v := range res.header {
		h[k] = slices.Clone(v)
	}
	if !bodyless(res.status) {
		h.Set("Content-Length", strconv.Itoa(len(res.body)))
	}
	w.WriteHeader(res.status)
	if r.Method != http.MethodHead && !bodyless(res.status) {
		_, _ = w.Write(res.body)
	}
}
