package optimist

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors. Test for them with [errors.Is]; the typed errors below
// match the sentinels that describe them.
var (
	// ErrConflict is matched by every version conflict: a 409 Conflict or
	// 412 Precondition Failed answered to a conditional request, a conflict
	// the retry loop gave up on, and a three-way merge that found both sides
	// changing the same member.
	ErrConflict = errors.New("optimist: conflict")

	// ErrPreconditionFailed is matched by 412 Precondition Failed and
	// 428 Precondition Required answers only.
	ErrPreconditionFailed = errors.New("optimist: precondition failed")

	// ErrNotFound is matched by 404 Not Found and 410 Gone answers.
	ErrNotFound = errors.New("optimist: not found")

	// ErrMergeConflict is matched by a [*MergeConflictError].
	ErrMergeConflict = errors.New("optimist: merge conflict")

	// ErrRetryAfterTooLong is matched when a server asked for a wait longer
	// than the client allows (see [WithMaxRetryAfter]).
	ErrRetryAfterTooLong = errors.New("optimist: retry-after exceeds the allowed wait")

	// ErrBodyTooLarge is matched when a response body is longer than the
	// client's limit (see [WithMaxBodyBytes]). The read stops at the limit.
	ErrBodyTooLarge = errors.New("optimist: response body too large")

	// ErrInvalidETag is matched when a server sends an ETag header that is
	// not a valid entity-tag (RFC 9110, section 8.8.3).
	ErrInvalidETag = errors.New("optimist: invalid entity-tag")

	// ErrNotJSON is matched when a body that must be a JSON document is not.
	ErrNotJSON = errors.New("optimist: not a JSON document")

	// ErrOperationFailed is matched by an [*OperationError]: an asynchronous
	// operation that ended in a failed or cancelled state.
	ErrOperationFailed = errors.New("optimist: operation failed")
)

// StatusError is the error for a response whose status is not 2xx. Use
// [errors.As] to read it; [errors.Is] matches it against [ErrConflict]
// (version conflicts), [ErrPreconditionFailed] (412, 428) and [ErrNotFound]
// (404, 410).
type StatusError struct {
	// Method and URL identify the request. The URL carries no user
	// information (credentials are removed).
	Method string
	URL    string
	// StatusCode is the response's status code.
	StatusCode int
	// Header is the response's header, with Set-Cookie removed.
	Header http.Header
	// Body is the start of the response body, at most the client's error
	// body limit.
	Body []byte
	// Problem is the RFC 9457 problem details document, when the response
	// was application/problem+json; nil otherwise.
	Problem *Problem
	// Attempts is how many times the request was sent, transport retries
	// included.
	Attempts int
	// RetryAfter is the wait the server asked for in Retry-After, or zero.
	RetryAfter time.Duration

	// versionConflict records whether a 409 or 412 is a version conflict
	// (true unless the client showed it is a business-rule answer).
	versionConflict bool
	// ambiguous records that an earlier transport attempt of the request
	// may have been applied although its answer was lost.
	ambiguous bool
}

// Error describes the failed request without its body or credentials.
func (e *StatusError) Error() string {
	var b strings.Builder
	b.WriteString("optimist: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.URL)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if text := http.StatusText(e.StatusCode); text != "" {
		b.WriteByte(' ')
		b.WriteString(text)
	}
	if e.Problem != nil {
		if msg := e.Problem.message(); msg != "" {
			b.WriteString(": ")
			b.WriteString(msg)
		}
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

// Is matches the sentinel that describes the status.
func (e *StatusError) Is(target error) bool {
	switch target {
	case ErrConflict:
		return e.IsVersionConflict()
	case ErrPreconditionFailed:
		return e.StatusCode == http.StatusPreconditionFailed ||
			e.StatusCode == http.StatusPreconditionRequired
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound || e.StatusCode == http.StatusGone
	}
	return false
}

// IsVersionConflict reports whether the response says the resource changed
// since the version the request named: a 412, or a 409 to a conditional
// request that the client did not show to be a business-rule conflict. A
// 409 saying that a request with the same Idempotency-Key is still being
// processed is none.
func (e *StatusError) IsVersionConflict() bool {
	switch {
	case !e.versionConflict:
		return false
	case e.StatusCode == http.StatusPreconditionFailed:
		return true
	}
	return e.StatusCode == http.StatusConflict && !mentionsIdempotency(e.Body)
}

// TransportError is returned when a request got no answer: the
// connection failed, or was cut, on every attempt allowed. Unwrap gives
// the last fault, so [errors.Is] finds [context.Canceled] or
// [context.DeadlineExceeded] when the context ended the request.
type TransportError struct {
	// Method and URL identify the request; the URL carries no credentials.
	Method string
	URL    string
	// Attempts is how many times the request was sent.
	Attempts int
	// Err is the last fault.
	Err error
}

// Error describes the fault and the attempts made. It leaves out the URL
// net/http puts in its errors, which keeps the user name and the query.
func (e *TransportError) Error() string {
	return fmt.Sprintf("optimist: %s %s: no answer after %d attempt(s): %s", e.Method, e.URL, e.Attempts, faultText(e.Err))
}

// Unwrap returns the last fault.
func (e *TransportError) Unwrap() error { return e.Err }

// Problem is an RFC 9457 problem details document.
type Problem struct {
	Type     string `json:"type,omitempty"`
	Title    string `json:"title,omitempty"`
	Status   int    `json:"status,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
}

func (p *Problem) message() string {
	switch {
	case p.Title != "" && p.Detail != "":
		return p.Title + ": " + p.Detail
	case p.Detail != "":
		return p.Detail
	}
	return p.Title
}

// parseProblem decodes body as problem details when the content type says
// it is one; it returns nil otherwise.
func parseProblem(contentType string, body []byte) *Problem {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != "application/problem+json" {
		return nil
	}
	var p Problem
	if json.Unmarshal(body, &p) != nil {
		return nil
	}
	return &p
}

// ConflictError is returned when a write's version conflict could not be
// resolved: the resolver failed, or the attempts or time allowed ran out.
// It matches [ErrConflict]; Unwrap gives the last cause (a
// [*MergeConflictError], a resolver's error or the last [*StatusError]),
// so [errors.As] reaches each of them.
type ConflictError struct {
	// Method and URL identify the write.
	Method string
	URL    string
	// Attempts is the number of writes sent.
	Attempts int
	// Reason says why the loop stopped, e.g. "attempts exhausted".
	Reason string
	// Last is the last conflict response, if any.
	Last *StatusError
	// Cause is the last error: the resolver's, or Last.
	Cause error
}

// Error describes the conflict and why it was given up.
func (e *ConflictError) Error() string {
	msg := fmt.Sprintf("optimist: %s %s: conflict not resolved after %d attempt(s): %s",
		e.Method, e.URL, e.Attempts, e.Reason)
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Is matches [ErrConflict].
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Unwrap returns the last cause.
func (e *ConflictError) Unwrap() error { return e.Cause }

// MergeConflictError is returned by [Merge] when both sides changed the same
// member to different values. It lists every such member. It matches
// [ErrMergeConflict] and [ErrConflict].
type MergeConflictError struct {
	Conflicts []PathConflict
}

// PathConflict is one member both sides changed differently. A nil value
// means the member is absent on that side; JSON null is the four bytes
// "null".
type PathConflict struct {
	// Pointer is the member's JSON Pointer (RFC 6901); "" is the whole document.
	Pointer string
	Base    json.RawMessage
	Ours    json.RawMessage
	Theirs  json.RawMessage
}

// Error lists the conflicting paths.
func (e *MergeConflictError) Error() string {
	paths := make([]string, len(e.Conflicts))
	for i, c := range e.Conflicts {
		paths[i] = strconv.Quote(c.Pointer)
	}
	return "optimist: merge conflict at " + strings.Join(paths, ", ")
}

// Is matches [ErrMergeConflict] and [ErrConflict].
func (e *MergeConflictError) Is(target error) bool {
	return target == ErrMergeConflict || target == ErrConflict
}

// Paths returns the JSON Pointers of the conflicting members.
func (e *MergeConflictError) Paths() []string {
	paths := make([]string, len(e.Conflicts))
	for i, c := range e.Conflicts {
		paths[i] = c.Pointer
	}
	return paths
}

// Servers that ignore preconditions (see [WithPreconditionCheck]).
var (
	// ErrPreconditionsIgnored is matched by a [*PreconditionsIgnoredError]:
	// a write refused before it was sent, because a probe showed that the
	// server of its origin applies writes whose precondition fails.
	ErrPreconditionsIgnored = errors.New("optimist: server ignores preconditions")
)

// PreconditionsIgnoredError is returned for a write that
// [WithPreconditionCheck] refused to send: its origin's server ignored the
// precondition it carries, so the write there would be last-writer-wins. Nothing of the write was sent. It matches
// [ErrPreconditionsIgnored].
type PreconditionsIgnoredError struct {
	// Origin is the scheme, host and port the probe found ignoring
	// preconditions; ProbedURL the resource it probed.
	Origin    string
	ProbedURL string
	// Probe is what the probe found.
	Probe ProbeResult
}

// Error names the origin and the precondition it ignored.
func (e *PreconditionsIgnoredError) Error() string {
	return fmt.Sprintf("optimist: write to %s refused: its server ignores preconditions (probe of %s: If-Match %s (%d), If-None-Match: * %s (%d))",
		e.Origin, e.ProbedURL, e.Probe.IfMatch, e.Probe.IfMatchStatus, e.Probe.IfNoneMatch, e.Probe.IfNoneMatchStatus)
}

// Is matches [ErrPreconditionsIgnored].
func (e *PreconditionsIgnoredError) Is(target error) bool { return target == ErrPreconditionsIgnored }
