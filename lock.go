package optimist

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Recognising a lock. A 409, 412 or 423 answer may say that the resource
// is locked rather than changed: such an answer is not a version conflict
// and must never be merged over. lockFrom is the one place that decides.

// lockFrom decides whether se, an answer to a request, reports a lock, and
// returns the lock (with se as its Response) or nil. Its rules:
//   - only 409, 412 and 423 answers can be locks;
//   - an error code that extra or the known codes name is a lock of
//     that kind; the code is a header's (X-Ms-Error-Code,
//     X-Amz-Error-Code, X-Error-Code), else the JSON body's "code" or
//     "error.code", else the XML body's Error/Code or DAV:error element;
//   - a 409 with Stripe-Should-Retry: true is a transient lock;
//   - a body holding a Terraform LockInfo or a Git LFS lock is a lease;
//   - every other 423 is a lease.
//
// The holder, token and expiry come from a WebDAV lockdiscovery, a
// Terraform LockInfo or a Git LFS lock in the body; a WebDAV timeout
// counts from now. lockFrom reads no clock and does no I/O.
func lockFrom(se *StatusError, extra map[string]LockKind, now time.Time) *LockedError {
	switch se.StatusCode {
	case http.StatusConflict, http.StatusPreconditionFailed, http.StatusLocked:
	default:
		return nil
	}
	info := parseLockBody(se.Header.Get("Content-Type"), se.Body)
	code := info.code
	for _, name := range [...]string{"X-Ms-Error-Code", "X-Amz-Error-Code", "X-Error-Code"} {
		if v := strings.TrimSpace(se.Header.Get(name)); v != "" {
			code = v
			break
		}
	}
	kind, known := lockKind(code, extra)
	switch {
	case known:
	case se.StatusCode == http.StatusConflict && strings.EqualFold(se.Header.Get("Stripe-Should-Retry"), "true"):
		kind = LockTransient
	case info.holder != "" || info.token != "" || se.StatusCode == http.StatusLocked:
		kind, code = LockLease, ""
	default:
		return nil
	}
	return &LockedError{
		Method: se.Method, URL: se.URL, Kind: kind, Code: code,
		Holder: info.holder, Token: info.token, Expires: info.expires(now),
		RetryAfter: se.RetryAfter, Attempts: se.Attempts, Response: se,
	}
}

// lockKind looks code up in extra, then in the known codes.
func lockKind(code string, extra map[string]LockKind) (LockKind, bool) {
	if code == "" {
		return 0, false
	}
	code = strings.ToLower(code)
	if k, ok := extra[code]; ok {
		return k, true
	}
	return knownLockKind(code)
}

// knownLockKind gives the kind of the lock a lower-cased error code
// names, if it names one: the Azure lease codes (LeaseIdMismatch* too),
// the "operation in progress" family (Azure AnotherOperationInProgress and
// OperationNotAllowed, S3 OperationAborted, Stripe lock_timeout), Microsoft
// Graph resourceLocked, the WebDAV lock preconditions (RFC 4918, section
// 16), and permanent locks (Azure ScopeLocked, immutable blobs).
func knownLockKind(code string) (LockKind, bool) {
	switch code {
	case "leasealreadypresent", "leaseidmissing", "leaselost", "leaseisbreakingandcannotbeacquired", "leaseisbreakingandcannotbechanged", "leaseisbrokenandcannotberenewed", "leasenotpresentwithbloboperation", "leasenotpresentwithleaseoperation", "leasenotpresentwithcontaineroperation", "locked", "resourcelocked", "lock-token-submitted", "no-conflicting-lock":
		return LockLease, true
	case "anotheroperationinprogress", "operationnotallowed", "operationinprogress", "operationaborted", "lock_timeout":
		return LockTransient, true
	case "scopelocked", "blobimmutableduetopolicy", "blobimmutableduetolegalhold", "containerimmutableduetopolicy":
		return LockPermanent, true
	}
	if strings.HasPrefix(code, "leaseidmismatch") {
		return LockLease, true
	}
	return 0, false
}

// lockInfo is what an error body says about a lock.
type lockInfo struct {
	code, holder, token string
	timeout             time.Duration // a WebDAV lock's timeout; 0: none given, or infinite
}

// expires is when the lock ends, counted from now; zero if unknown.
func (i lockInfo) expires(now time.Time) time.Time {
	if i.timeout <= 0 {
		return time.Time{}
	}
	return now.Add(i.timeout)
}

// parseLockBody reads an error code and lock details from a JSON or XML
// body; anything else gives nothing.
func parseLockBody(contentType string, body []byte) lockInfo {
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return lockInfo{}
	case trimmed[0] == '{':
		return parseLockJSON(trimmed)
	case trimmed[0] == '<' || strings.Contains(contentType, "xml"):
		return parseLockXML(trimmed)
	}
	return lockInfo{}
}

// lockJSON holds the members of the JSON error bodies lockFrom knows:
// {"code"}, {"error":{"code"}} (Azure, Microsoft Graph, Stripe), a
// Terraform LockInfo ({"ID","Who",...}) and a Git LFS lock answer
// ({"lock":{"id","owner":{"name"}}}).
type lockJSON struct {
	Code  json.RawMessage `json:"code"`
	Error json.RawMessage `json:"error"`
	ID    string          `json:"ID"`
	Who   string          `json:"Who"`
	Lock  *struct {
		ID    string `json:"id"`
		Owner struct {
			Name string `json:"name"`
		} `json:"owner"`
	} `json:"lock"`
}

func parseLockJSON(body []byte) lockInfo {
	var doc lockJSON
	if json.Unmarshal(body, &doc) != nil {
		return lockInfo{}
	}
	var info lockInfo
	info.code = jsonString(doc.Code)
	if info.code == "" && len(doc.Error) > 0 {
		var inner struct {
			Code json.RawMessage `json:"code"`
		}
		if json.Unmarshal(doc.Error, &inner) == nil {
			info.code = jsonString(inner.Code)
		}
	}
	switch {
	case doc.Lock != nil && doc.Lock.ID != "":
		info.token, info.holder = doc.Lock.ID, doc.Lock.Owner.Name
	case doc.ID != "" && doc.Who != "":
		info.token, info.holder = doc.ID, doc.Who
	}
	return info
}

// jsonString is raw as a string: a JSON string's text, a number's digits.
func jsonString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if n := bytes.TrimSpace(raw); len(n) > 0 && n[0] >= '0' && n[0] <= '9' {
		return string(n)
	}
	return ""
}

// parseLockXML reads <Error><Code> (Azure Storage, S3), the first child
// of a DAV:error and the first DAV:activelock of a DAV:lockdiscovery.
func parseLockXML(body []byte) lockInfo {
	var (
		info  lockInfo
		path  []string
		text  strings.Builder
		locks int
	)
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = false
	for {
		tok, err := d.Token()
		if err != nil {
			return info
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(path) == 1 && path[0] == "error" && t.Name.Space == "DAV:" && info.code == "" {
				info.code = t.Name.Local
			}
			path = append(path, t.Name.Local)
			text.Reset()
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if len(path) == 0 {
				return info
			}
			locks += davLockField(&info, path, strings.TrimSpace(text.String()), locks)
			path = path[:len(path)-1]
			text.Reset()
		}
	}
}

// davLockField records the element that path ends with, of text text,
// into info; it returns 1 at the end of the first activelock.
func davLockField(info *lockInfo, path []string, text string, locks int) int {
	last := path[len(path)-1]
	switch {
	case len(path) == 2 && path[0] == "Error" && last == "Code" && info.code == "":
		info.code = text
	case locks > 0 || !contains(path, "activelock"):
	case last == "activelock":
		return 1
	case last == "href" && contains(path, "locktoken") && info.token == "":
		info.token = text
	case contains(path, "owner") && text != "" && info.holder == "":
		info.holder = text
	case last == "timeout":
		if secs, ok := strings.CutPrefix(text, "Second-"); ok {
			if n, err := strconv.ParseInt(secs, 10, 64); err == nil && n >= 0 {
				info.timeout = saturatingDuration(n, time.Second)
			}
		}
	}
	return 0
}

func contains(path []string, name string) bool {
	for _, p := range path {
		if p == name {
			return true
		}
	}
	return false
}

// LockKind says what kind of lock a server reported.
type LockKind int

const (
	// LockTransient is a short-lived lock: another operation is in
	// progress (Azure AnotherOperationInProgress, S3 OperationAborted,
	// Stripe lock_timeout). Waiting helps.
	LockTransient LockKind = iota
	// LockLease is a lock or lease another client holds, or one this
	// client should hold and does not (Azure LeaseIdMissing, LeaseLost,
	// a WebDAV lock, a Terraform state lock, any other 423). It ends when
	// its holder releases it or it expires.
	LockLease
	// LockPermanent is a lock that waiting does not end, such as a
	// read-only management lock (Azure ScopeLocked) or an immutable blob
	// (BlobImmutableDueToPolicy); name others, such as an S3 Object Lock
	// answer, with [LockOptions].Codes. It is reported at once.
	LockPermanent
)

// String gives "transient", "lease" or "permanent".
func (k LockKind) String() string {
	switch k {
	case LockTransient:
		return "transient"
	case LockLease:
		return "lease"
	case LockPermanent:
		return "permanent"
	}
	return "LockKind(" + strconv.Itoa(int(k)) + ")"
}
