package optimist

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Reading an operation's responses: where a 202 Accepted answer names its
// status URL, what a status response says of the operation, and what a
// failed operation's error says. This file does no I/O; poll.go does.

// StatusURLFunc finds the status URL in a 202 Accepted answer, for APIs
// that name it somewhere other than the usual headers; it reports false
// when it finds none. A relative URL is resolved against the request's
// URL. See [PollOptions], [LinkStatusURL] and [BodyStatusURL].
type StatusURLFunc func(resp *Response) (string, bool)

// LinkStatusURL returns a [StatusURLFunc] that reads the target of the
// first link in the answer's Link header (RFC 8288) whose relation types
// include rel, compared case-insensitively: "monitor" (RFC 5989), for
// instance.
func LinkStatusURL(rel string) StatusURLFunc {
	return func(resp *Response) (string, bool) {
		for _, field := range resp.Header.Values("Link") {
			for rest := field; rest != ""; {
				target, params, tail, ok := nextLink(rest)
				if !ok {
					break
				}
				if linkHasRel(params, rel) {
					return target, true
				}
				rest = tail
			}
		}
		return "", false
	}
}

// nextLink splits the first link-value off a Link field: its target, its
// parameters and what follows them.
func nextLink(s string) (target, params, rest string, ok bool) {
	s = strings.TrimLeft(s, " \t,")
	end := strings.IndexByte(s, '>')
	if !strings.HasPrefix(s, "<") || end < 0 {
		return "", "", "", false
	}
	params, rest, _ = cutOutsideQuotes(s[end+1:], ',')
	return strings.TrimSpace(s[1:end]), params, rest, true
}

// linkHasRel reports whether the link parameters params have a rel
// parameter that lists rel.
func linkHasRel(params, rel string) bool {
	for params != "" {
		var param string
		param, params, _ = cutOutsideQuotes(params, ';')
		name, value, found := strings.Cut(param, "=")
		if !found || !strings.EqualFold(strings.TrimSpace(name), "rel") {
			continue
		}
		for _, r := range strings.Fields(strings.Trim(strings.TrimSpace(value), `"`)) {
			if strings.EqualFold(r, rel) {
				return true
			}
		}
	}
	return false
}

// cutOutsideQuotes cuts s around the first sep that is not inside a
// quoted string.
func cutOutsideQuotes(s string, sep byte) (before, after string, found bool) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// BodyStatusURL returns a [StatusURLFunc] that reads the status URL from
// the string member name of the answer's JSON body, matched exactly.
func BodyStatusURL(name string) StatusURLFunc {
	return func(resp *Response) (string, bool) {
		var members map[string]json.RawMessage
		var u string
		if json.Unmarshal(resp.Body, &members) != nil || json.Unmarshal(members[name], &u) != nil {
			return "", false
		}
		return u, u != ""
	}
}

// statusURLOf returns the status URL a 202 answer names, and whether it is
// a status monitor: found by fn when it is not nil and finds one, else the
// first of the Operation-Location, Azure-AsyncOperation (both monitors),
// Location and Content-Location (both where the result will be) headers
// present.
func statusURLOf(resp *Response, fn StatusURLFunc) (u string, monitor, ok bool) {
	if fn != nil {
		if u, ok := fn(resp); ok {
			return u, true, true
		}
	}
	for i, name := range [...]string{"Operation-Location", "Azure-AsyncOperation", "Location", "Content-Location"} {
		if u := strings.TrimSpace(resp.Header.Get(name)); u != "" {
			return u, i < 2, true
		}
	}
	return "", false, false
}

// locationStatus reads an answer to a GET of a Location status URL, as
// azcore's Location poller does: 202 Accepted means running; any other 2xx
// is the result itself, whatever its body says. State members are read
// only from status monitors.
func locationStatus(resp *Response) OperationStatus {
	return OperationStatus{Done: resp.StatusCode != http.StatusAccepted}
}

// resolveHTTP resolves raw against base and checks it is an http or https
// URL with a host.
func resolveHTTP(base *url.URL, raw string) (*url.URL, error) {
	ref, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("optimist: invalid operation URL: %w", parseError(err))
	}
	u := base.ResolveReference(ref)
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("optimist: operation URL %s: must be an http or https URL", redactURL(u.String()))
	}
	return u, nil
}

// redirectedBySeeOther reports whether resp was reached by following a
// 303 See Other.
func redirectedBySeeOther(resp *http.Response) bool {
	for req := resp.Request; req != nil && req.Response != nil; req = req.Response.Request {
		if req.Response.StatusCode == http.StatusSeeOther {
			return true
		}
	}
	return false
}

// serverWait is the wait a response's Retry-After asked for, if any.
type serverWait struct {
	d  time.Duration
	ok bool
}

// retryAfterOf returns the wait resp asks for (see parseRetryAfter).
func retryAfterOf(resp *Response, now time.Time) serverWait {
	d, ok := parseRetryAfter(resp.Header, now)
	return serverWait{d, ok}
}

// StatusDecoder reads a status response: a 2xx answer to a GET of an
// operation's status URL. An error stops the polling and is returned to
// the caller. See [DefaultStatusDecoder] and [PollOptions].
type StatusDecoder func(resp *Response) (OperationStatus, error)

// OperationStatus is what a status response says of an operation. A
// [StatusDecoder] sets State, Done, Failed, ResultURL, PercentComplete and
// Error. The progress hooks ([PollOptions].OnProgress, [OnProgress]) get
// one for every status response and every verified progress callback,
// with State, Done, Failed and PercentComplete as the server reported
// them and the client's fields, StatusURL, Attempt, StatusCode and
// Callback, set; ResultURL and Error are then empty.
type OperationStatus struct {
	// State is the state the status document names, as written, such as
	// "Running" or "Succeeded". Empty means the response is no status
	// document: when Done, it is the result itself.
	State string
	// Done reports that the operation has ended; Failed, that it ended
	// without success. Failed implies Done.
	Done, Failed bool
	// ResultURL is where the result of a successful operation is read,
	// relative to the status URL. When it is empty the result is the
	// status response itself, except for a status document (State not
	// empty) answering a PUT or PATCH, whose result is read from the
	// request's URL, or a POST whose 202 named another Location than the
	// status URL, whose result is read from there.
	ResultURL string
	// PercentComplete is the progress the document reports, nil if none.
	PercentComplete *float64
	// Error is the server's account of a failure: the document's error
	// member, or the whole body when it has none.
	Error json.RawMessage

	// StatusURL is the URL polled, without user information. Set by the
	// client for progress hooks; a StatusDecoder leaves it empty.
	StatusURL string
	// Attempt counts the status responses of the operation, from 1; a
	// callback's report carries the count so far. Set by the client for
	// progress hooks; a StatusDecoder leaves it zero.
	Attempt int
	// StatusCode is the status response's HTTP status; 0 for a callback.
	// Set by the client for progress hooks; a StatusDecoder leaves it
	// zero.
	StatusCode int
	// Callback reports that the report comes from a progress callback
	// (see [Callbacks]), not from a status response. Set by the client
	// for progress hooks; a StatusDecoder leaves it false.
	Callback bool
}

// DefaultStatusDecoder reads the common conventions; it never fails.
//
// A JSON object with a string member "status" (or else "state"), the
// member name matched case-insensitively, is a status document. Its state,
// also matched case-insensitively, is one of:
//   - succeeded, completed or done: success, with the result at the
//     document's "resourceLocation" when it names one (or at the Location
//     of a 201 Created answer);
//   - failed, canceled or cancelled: failure, with the document's "error"
//     member (or the whole document) as the server's account;
//   - anything else: the operation is running.
//
// Its numeric "percentComplete" is the progress. Any other answer is no
// status document: a 201 Created with Location means success with the
// result there, a 202 Accepted means running, and any other status (200 OK,
// 204 No Content) means the answer is the result itself.
func DefaultStatusDecoder(resp *Response) (OperationStatus, error) {
	doc := parseStatusDocument(resp.Body)
	st := OperationStatus{State: doc.state, PercentComplete: doc.percent}
	created := ""
	if resp.StatusCode == http.StatusCreated {
		created = resp.Header.Get("Location")
	}
	switch {
	case doc.state != "":
		st.Done, st.Failed = classifyState(doc.state)
		switch {
		case st.Failed:
			st.Error = doc.err
			if len(st.Error) == 0 {
				st.Error = resp.Body
			}
		case st.Done:
			st.ResultURL = doc.resourceLocation
			if st.ResultURL == "" {
				st.ResultURL = created
			}
		}
	case created != "":
		st.Done, st.ResultURL = true, created
	default:
		st.Done = resp.StatusCode != http.StatusAccepted
	}
	return st, nil
}

// classifyState reports whether a status document's state ends the
// operation, and whether in failure.
func classifyState(state string) (done, failed bool) {
	for _, s := range [...]string{"succeeded", "completed", "done"} {
		if strings.EqualFold(state, s) {
			return true, false
		}
	}
	for _, s := range [...]string{"failed", "canceled", "cancelled"} {
		if strings.EqualFold(state, s) {
			return true, true
		}
	}
	return false, false
}

// statusDocument is what DefaultStatusDecoder reads from a body.
type statusDocument struct {
	state, resourceLocation string
	percent                 *float64
	err                     json.RawMessage
}

// parseStatusDocument reads the members DefaultStatusDecoder knows from
// body, ignoring those of another type. encoding/json matches the names
// case-insensitively, the last of equal names winning, so the outcome does
// not depend on map order.
func parseStatusDocument(body []byte) statusDocument {
	var (
		doc     statusDocument
		members struct {
			Status           json.RawMessage `json:"status"`
			State            json.RawMessage `json:"state"`
			ResourceLocation json.RawMessage `json:"resourceLocation"`
			PercentComplete  json.RawMessage `json:"percentComplete"`
			Error            json.RawMessage `json:"error"`
		}
		status, state string
		percent       float64
	)
	if json.Unmarshal(body, &members) != nil {
		return doc
	}
	_ = json.Unmarshal(members.Status, &status)
	_ = json.Unmarshal(members.State, &state)
	_ = json.Unmarshal(members.ResourceLocation, &doc.resourceLocation)
	if json.Unmarshal(members.PercentComplete, &percent) == nil && members.PercentComplete != nil {
		doc.percent = &percent
	}
	if len(members.Error) > 0 && string(members.Error) != "null" {
		doc.err = members.Error
	}
	doc.state = status
	if doc.state == "" {
		doc.state = state
	}
	return doc
}
