package optimist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/optimist-go/optimist/internal/jsonmerge"
)

// Every error the package returns is declared here: the sentinels, which
// callers test for with [errors.Is], and the typed errors, which carry what
// was seen and match the sentinels that describe them (use [errors.As] to
// read them). Two typed errors are unexported, for their facts are in the
// errors they wrap: a Retry-After longer than the client allows
// (retryAfterError, matching [ErrRetryAfterTooLong] and unwrapping to the
// [*StatusError] that asked) and a retry wait that would outlast the
// deadline (deadlineError, matching [context.DeadlineExceeded]). Messages
// carry no credential: URLs pass through redactURL (redact.go).

// Sentinel errors.
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

	// ErrRetryAfterTooLong is matched when a server asked for a wait longer
	// than the client allows (see [RetryOptions].MaxRetryAfter).
	ErrRetryAfterTooLong = errors.New("optimist: retry-after exceeds the allowed wait")

	// ErrBodyTooLarge is matched when a response body is longer than the
	// client's limit (see [WithMaxBodyBytes]). The read stops at the limit.
	ErrBodyTooLarge = errors.New("optimist: response body too large")

	// ErrInvalidETag is matched when a server sends an ETag header that is
	// not a valid entity-tag (RFC 9110, section 8.8.3).
	ErrInvalidETag = errors.New("optimist: invalid entity-tag")

	// ErrNotJSON is matched when a body that must be a JSON document is not.
	// It is the value internal/jsonmerge, the JSON engine, returns.
	ErrNotJSON = jsonmerge.ErrNotJSON

	// ErrOperationFailed is matched by an [*OperationError]: an asynchronous
	// operation that ended in a failed or cancelled state.
	ErrOperationFailed = errors.New("optimist: operation failed")

	// ErrNoVersion is matched when a write would go out with no
	// precondition because the client knows no version of the resource: it
	// never read it, or forgot it. Read the resource first, use [Update],
	// name the version with [IfMatch], create with [CreateOnly], or force
	// the write with [Unconditional].
	ErrNoVersion = errors.New("optimist: no known version to write conditionally")

	// ErrOutcomeUnknown is matched by an [*OutcomeUnknownError]: a write
	// that may or may not have been applied. It does not match
	// [ErrConflict]: writing again may apply the change twice.
	ErrOutcomeUnknown = errors.New("optimist: outcome unknown")

	// ErrLocked is matched by a [*LockedError]: the server refused a
	// request because the resource is locked, leased or busy with another
	// operation, or a lock this client held was lost. It is not
	// [ErrConflict]: another party holds the resource for now (see
	// lock.go).
	ErrLocked = errors.New("optimist: resource locked")

	// ErrPreconditionsIgnored is matched by a [*PreconditionsIgnoredError]:
	// a write refused before it was sent, because a probe showed that the
	// server of its origin applies writes whose precondition fails (see
	// [WithPreconditionCheck]).
	ErrPreconditionsIgnored = errors.New("optimist: server ignores preconditions")

	// ErrInvalidResumeToken is matched when [Client.ResumeOperation] is
	// given a token that [Operation.ResumeToken] did not make.
	ErrInvalidResumeToken = errors.New("optimist: invalid resume token")
)

// OutcomeUnknownError is returned when a write may have been applied but
// the client cannot prove whether it was: an attempt reached the server
// and its answer was lost, and what came after (a re-send's 412, a 503, no
// answer at all) does not settle it. It matches [ErrOutcomeUnknown]; Unwrap
// gives the last error (a [*StatusError] or [*TransportError], or the
// context's error of an [Update] caller that left while a group-committed
// write carried its change), which does not match [ErrConflict]. Read the resource to learn what it holds; an
// Idempotency-Key ([WithIdempotencyKeys]) lets a server settle the question
// for the client.
type OutcomeUnknownError struct {
	// Method and URL identify the write; the URL carries no credentials.
	Method string
	URL    string
	// Attempts is how many times the write was sent.
	Attempts int
	// StatusCode is the status of the last answer, 0 when none came.
	StatusCode int
	// Err is the last error.
	Err error
}

// Error says that the outcome is unknown and what was seen last.
func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("optimist: %s %s: outcome unknown: an attempt may have been applied, its answer lost (%d attempt(s)): %v",
		e.Method, e.URL, e.Attempts, e.Err)
}

// Is matches [ErrOutcomeUnknown].
func (e *OutcomeUnknownError) Is(target error) bool { return target == ErrOutcomeUnknown }

// Unwrap returns the last error.
func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

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
	// (true unless the client showed it is a business-rule answer, or the
	// answer to a write whose outcome is unknown).
	versionConflict bool
	// keyInUse records a 409 to a request that carried an Idempotency-Key
	// whose body speaks of idempotency: the key is in use, no version
	// conflict.
	keyInUse bool
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
		return e.isVersionConflict()
	case ErrPreconditionFailed:
		return e.StatusCode == http.StatusPreconditionFailed ||
			e.StatusCode == http.StatusPreconditionRequired
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound || e.StatusCode == http.StatusGone
	}
	return false
}

// isVersionConflict reports whether the response says the resource changed
// since the version the request named: a 412, or a 409 to a conditional
// request that the client did not show to be a business-rule conflict. A
// 409 to a request that carried an Idempotency-Key, saying that a request
// with the same key is still being processed, is none.
func (e *StatusError) isVersionConflict() bool {
	switch {
	case !e.versionConflict:
		return false
	case e.StatusCode == http.StatusPreconditionFailed:
		return true
	}
	return e.StatusCode == http.StatusConflict && !e.keyInUse
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

// MergeConflictError is returned by [ThreeWayMerge], [MergeWith] and
// [ReturnConflict] when both sides changed the same member to different
// values. It lists every such member. It matches [ErrConflict]; use
// [errors.As] to reach the members.
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

// Is matches [ErrConflict].
func (e *MergeConflictError) Is(target error) bool { return target == ErrConflict }

// pointers returns the JSON Pointers of the conflicting members.
func (e *MergeConflictError) pointers() []string {
	paths := make([]string, len(e.Conflicts))
	for i, c := range e.Conflicts {
		paths[i] = c.Pointer
	}
	return paths
}

// LockedError is returned when a request met a lock: the server's answer
// says the resource is locked (see [LockOptions].MaxWait for waiting it out), or
// a lock held with [Client.WithLock] was lost. It matches [ErrLocked],
// never [ErrConflict]; Unwrap gives the answer's [*StatusError] (which
// then does not match ErrConflict either) or, for a lost lock, the cause.
type LockedError struct {
	// Method and URL identify the request; the URL carries no credentials.
	Method, URL string
	// Kind says whether waiting may help.
	Kind LockKind
	// Code is the error code that identified the lock ("LeaseIdMissing",
	// "lock-token-submitted"), or "" when the status alone did (423).
	Code string
	// Holder names who holds the lock, when the answer says (a WebDAV
	// lock's owner, a Terraform lock's Who, a Git LFS lock's owner).
	Holder string
	// Token is the lock's token or id, when the answer gives it.
	Token string
	// Expires is when the lock ends, when the answer says; zero otherwise.
	Expires time.Time
	// RetryAfter is the wait the answer asked for, or zero.
	RetryAfter time.Duration
	// Attempts is how many times the request was sent in all, the sends
	// after lock waits included.
	Attempts int
	// Lost is set when the error reports a lock held with
	// [Client.WithLock] that could not be renewed.
	Lost bool
	// Response is the lock answer; nil for a lost lock.
	Response *StatusError
	// Cause is why a held lock was lost; nil otherwise.
	Cause error
}

// Error describes the lock without the answer's body.
func (e *LockedError) Error() string {
	var b strings.Builder
	b.WriteString("optimist: ")
	if e.Method != "" {
		b.WriteString(e.Method + " ")
	}
	b.WriteString(e.URL + ": ")
	if e.Lost {
		b.WriteString("lock lost")
	} else {
		fmt.Fprintf(&b, "resource locked (%s", e.Kind)
		if e.Code != "" {
			b.WriteString(", " + e.Code)
		}
		b.WriteByte(')')
	}
	if e.Holder != "" {
		fmt.Fprintf(&b, " by %q", e.Holder)
	}
	if e.Response != nil {
		fmt.Fprintf(&b, ": status %d", e.Response.StatusCode)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.Cause != nil {
		b.WriteString(": " + e.Cause.Error())
	}
	return b.String()
}

// Is matches [ErrLocked].
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Unwrap returns the lock answer, or the cause of a lost lock.
func (e *LockedError) Unwrap() error {
	if e.Response != nil {
		return e.Response
	}
	return e.Cause
}

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

// retryAfterError is returned when a server asks for a longer wait than the
// client allows. It matches [ErrRetryAfterTooLong].
type retryAfterError struct {
	// Wait is what the server asked for; Max is the client's limit.
	Wait, Max time.Duration
	// Response is the answer that carried the Retry-After, when known.
	Response *StatusError
}

// Error names the wait the server asked for.
func (e *retryAfterError) Error() string {
	msg := fmt.Sprintf("optimist: server asked to retry after %s, more than the allowed %s", e.Wait, e.Max)
	if e.Response != nil {
		msg += ": " + e.Response.Error()
	}
	return msg
}

// Is matches [ErrRetryAfterTooLong].
func (e *retryAfterError) Is(target error) bool { return target == ErrRetryAfterTooLong }

// Unwrap returns the response's status error, if any.
func (e *retryAfterError) Unwrap() error {
	if e.Response == nil {
		return nil
	}
	return e.Response
}

// deadlineError is returned when the wait before the next retry would
// not end before the context's deadline: the client stops at once rather
// than sleep into the deadline. It matches [context.DeadlineExceeded];
// Unwrap gives the last try's outcome, a [*StatusError] (with the
// RetryAfter the server asked for) or a [*TransportError], so [errors.As]
// reaches it.
type deadlineError struct {
	// Wait is the wait the next retry needed; Left is the time that was
	// left before the deadline.
	Wait, Left time.Duration
	// Last is the last try's outcome.
	Last error
}

// Error describes the last outcome and the wait that did not fit.
func (e *deadlineError) Error() string {
	return fmt.Sprintf("%s; not retried: the next try needs a wait of %s, the context's deadline is %s away",
		e.Last, e.Wait, e.Left.Round(time.Millisecond))
}

// Is matches [context.DeadlineExceeded].
func (e *deadlineError) Is(target error) bool { return target == context.DeadlineExceeded }

// Unwrap returns the last outcome.
func (e *deadlineError) Unwrap() error { return e.Last }

// OperationError is returned when an operation ends in a failed or
// cancelled state. It matches [ErrOperationFailed]; use [errors.As] to
// read the server's account of the failure.
type OperationError struct {
	// StatusURL is the operation's status URL, without user information.
	StatusURL string
	// State is the final state as the server names it, e.g. "Failed".
	State string
	// Body is the server's error: the status document's error member, or
	// the whole document. It is at most the status document's size limit
	// (see [PollOptions].MaxStatusBytes).
	Body json.RawMessage
	// Problem is Body read as RFC 9457 problem details when it has any of
	// their members; nil otherwise.
	Problem *Problem

	message string // the server's message, from Problem or code and message
}

// Error names the operation, its final state and the server's message.
func (e *OperationError) Error() string {
	state := strings.ToLower(e.State)
	if state == "" {
		state = "failed"
	}
	msg := "optimist: operation " + e.StatusURL + " " + state
	if e.message != "" {
		msg += ": " + e.message
	}
	return msg
}

// Is matches [ErrOperationFailed].
func (e *OperationError) Is(target error) bool { return target == ErrOperationFailed }

// newOperationError reads body, the server's account of a failure, as
// problem details or as the {"code", "message"} error of many APIs.
func newOperationError(statusURL, state string, body json.RawMessage) *OperationError {
	e := &OperationError{StatusURL: statusURL, State: state, Body: body}
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) != nil {
		return e
	}
	str := func(name string) string {
		var s string
		_ = json.Unmarshal(members[name], &s)
		return s
	}
	p := Problem{Type: str("type"), Title: str("title"), Detail: str("detail"), Instance: str("instance")}
	_ = json.Unmarshal(members["status"], &p.Status)
	if p != (Problem{}) {
		e.Problem, e.message = &p, p.message()
	}
	switch code, msg := str("code"), str("message"); {
	case e.message != "":
	case code != "" && msg != "":
		e.message = code + ": " + msg
	default:
		e.message = code + msg
	}
	return e
}
