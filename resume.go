package optimist

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Resume tokens: what a process needs to finish an operation another
// process, or an earlier run, started, and to get the same result the
// starting process's Wait would have given.

// resumeTokenPrefix starts every token, with the token format's version.
const resumeTokenPrefix = "optimist1."

// resumeState is what a resume token carries.
type resumeState struct {
	StatusURL  string `json:"s"`
	Monitor    bool   `json:"m,omitempty"`
	Method     string `json:"x"`
	RequestURL string `json:"u"`
	ResultURL  string `json:"r,omitempty"`
	RetryAfter *int64 `json:"a,omitempty"` // the 202's Retry-After, in nanoseconds
	Callback   string `json:"c,omitempty"` // the id of the expected callback
}

// ResumeToken returns an opaque string from which [Client.ResumeOperation]
// makes a handle that gives the same result as this one's [Operation.Wait]:
// it carries the status URL, whether it is a status monitor, the method
// and URL of the request that started the operation, where its result
// will be, the 202's Retry-After and the id of the callback it expects.
// It carries no header. It keeps any user information or signature the
// URLs have, and the callback id is a secret too: store the token as a
// credential.
func (op *Operation) ResumeToken() string {
	st := resumeState{StatusURL: op.url.String(), Monitor: op.monitor, Method: op.method,
		RequestURL: op.origin.String(), Callback: op.callback.id}
	if op.hint != nil {
		st.ResultURL = op.hint.String()
	}
	if op.accepted.ok {
		d := int64(op.accepted.d)
		st.RetryAfter = &d
	}
	raw, _ := json.Marshal(st) // strings, a bool and an int
	return resumeTokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
}

// ResumeOperation returns a handle to the operation token, from
// [Operation.ResumeToken], names: to finish an operation that another
// process, or an earlier run, started. The headers of opts (see [Header])
// are sent with each status GET, and with a result GET to the same origin
// as the request that started the operation or a trusted one (see
// [PollOptions].TrustedOrigins); [OnProgress] is called as the operation
// progresses; [Callbacks.Attach] listens again for the callback the
// operation expects. Other options are ignored. The first poll does not
// wait. It is an error matching [ErrInvalidResumeToken] if token is not
// such a token, or names URLs that are not absolute http or https URLs.
func (c *Client) ResumeOperation(token string, opts ...RequestOption) (*Operation, error) {
	st, err := parseResumeToken(token)
	if err != nil {
		return nil, err
	}
	op := &Operation{c: c, monitor: st.Monitor, method: st.Method, start: c.now()}
	if op.url, err = resolveHTTP(&url.URL{}, st.StatusURL); err == nil {
		op.origin, err = resolveHTTP(&url.URL{}, st.RequestURL)
	}
	if err == nil && st.ResultURL != "" {
		op.hint, err = resolveHTTP(&url.URL{}, st.ResultURL)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidResumeToken, err)
	}
	if st.RetryAfter != nil {
		op.accepted = serverWait{d: max(time.Duration(*st.RetryAfter), 0), ok: true}
	}
	o := collectOptions(context.Background(), false, opts)
	op.header = make(http.Header)
	for k, vs := range o.header {
		op.header[k] = append([]string(nil), vs...)
	}
	op.header.Set("Accept", "application/json")
	op.onProgress = o.async.onProgress
	if st.Callback != "" && o.async.callback != nil {
		op.callback = callbackLink{cb: o.async.callback.cb, id: st.Callback}
	}
	return op, nil
}

// parseResumeToken reads a token ResumeToken made.
func parseResumeToken(token string) (resumeState, error) {
	var st resumeState
	rest, ok := strings.CutPrefix(strings.TrimSpace(token), resumeTokenPrefix)
	if !ok {
		return st, fmt.Errorf("%w: not made by Operation.ResumeToken", ErrInvalidResumeToken)
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err == nil {
		err = json.Unmarshal(raw, &st)
	}
	if err == nil && (st.StatusURL == "" || st.RequestURL == "" || st.Method == "") {
		err = errors.New("a member is missing")
	}
	if err != nil {
		return st, fmt.Errorf("%w: %w", ErrInvalidResumeToken, err)
	}
	return st, nil
}
