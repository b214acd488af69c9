package mock

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Locks: WebDAV locks (LOCK and UNLOCK, RFC 4918), Azure Blob Storage
// style leases (PUT ?comp=lease) and "operation in progress" windows. A
// write (PUT, PATCH, DELETE, POST) of a path that is locked, leased or busy
// is refused before any precondition is evaluated.

// lockKind says whose rules a held lock follows.
type lockKind int

const (
	davLock lockKind = iota
	lease
)

// heldLock is a lock or lease on one path.
type heldLock struct {
	kind     lockKind
	token    string        // the WebDAV lock token or the lease id
	owner    string        // a WebDAV lock's owner
	expires  time.Time     // zero: until released
	duration time.Duration // a lease's duration, for renewal; zero: infinite
	breaking time.Time     // a lease being broken ends then; zero: not broken
}

// busyWindow is a time during which writes of a path are answered 409
// AnotherOperationInProgress.
type busyWindow struct {
	until      time.Time
	retryAfter string
}

func (l *heldLock) active(now time.Time) bool {
	return (l.expires.IsZero() || now.Before(l.expires)) && (l.breaking.IsZero() || now.Before(l.breaking))
}

// LockFor holds a WebDAV lock on path for d (zero: until [Backend.Unlock])
// as another client named owner would, and gives its token: a fault that
// locks the resource for a while. Writes without the token are answered
// 423 Locked.
func (b *Backend) LockFor(path, owner string, d time.Duration) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.newLock(path, davLock, owner, d, "").token
}

// LeaseFor holds an Azure-style lease on path for d (zero: infinite) as
// another client would, and gives the lease id. Writes without it are
// answered 412 LeaseIdMissing.
func (b *Backend) LeaseFor(path string, d time.Duration) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.newLock(path, lease, "", d, "").token
}

// BusyFor answers the writes of path 409 Conflict with the code
// AnotherOperationInProgress (in the x-ms-error-code header and the JSON
// body's error.code, as Azure Resource Manager does) for d, with
// Retry-After retryAfter unless it is empty.
func (b *Backend) BusyFor(path string, d time.Duration, retryAfter string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.busy == nil {
		b.busy = map[string]busyWindow{}
	}
	b.busy[path] = busyWindow{until: b.cfg.clock().Add(d), retryAfter: retryAfter}
}

// Unlock drops the lock, lease and busy window of path.
func (b *Backend) Unlock(path string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.locks, path)
	delete(b.busy, path)
}

// newLock holds a lock on path; token "" makes a new one.
func (b *Backend) newLock(path string, kind lockKind, owner string, d time.Duration, token string) *heldLock {
	if b.locks == nil {
		b.locks = map[string]*heldLock{}
	}
	if token == "" {
		b.nextLock++
		token = fmt.Sprintf("opaquelocktoken:mock-%d", b.nextLock)
		if kind == lease {
			token = fmt.Sprintf("00000000-0000-4000-8000-%012d", b.nextLock)
		}
	}
	l := &heldLock{kind: kind, token: token, owner: owner, duration: max(d, 0)}
	if d > 0 {
		l.expires = b.cfg.clock().Add(d)
	}
	b.locks[path] = l
	return l
}

// handleLocks answers the lock requests (LOCK, UNLOCK, PUT ?comp=lease)
// and refuses a write of a locked, leased or busy path; nil lets r
// through. It runs under the backend's lock.
func (b *Backend) handleLocks(r *http.Request, p string, body []byte) *response {
	switch {
	case r.Method == "LOCK":
		return b.davLock(r, p, body)
	case r.Method == "UNLOCK":
		return b.davUnlock(r, p)
	case r.Method == http.MethodPut && r.URL.Query().Get("comp") == "lease":
		return b.leaseAction(r, p)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return nil
	}
	now := b.cfg.clock()
	if w, ok := b.busy[p]; ok && now.Before(w.until) {
		res := azureError(http.StatusConflict, "AnotherOperationInProgress",
			"Operation is not allowed since another operation is in progress on "+p)
		if w.retryAfter != "" {
			res.header.Set("Retry-After", w.retryAfter)
		}
		return res
	}
	l := b.locks[p]
	if l != nil && l.kind == lease {
		return b.checkLease(r, l, now)
	}
	if l != nil && !l.active(now) {
		delete(b.locks, p)
		l = nil
	}
	return checkDAVLock(r, p, l)
}

// checkDAVLock refuses a write of p without the token of l, the active
// lock of p or nil: 423 without an If header, 412 with one that names no
// active lock.
func checkDAVLock(r *http.Request, p string, l *heldLock) *response {
	ifHeader := r.Header.Get("If")
	switch {
	case l != nil && ifHeader == "":
		return davError(http.StatusLocked, "lock-token-submitted", p)
	case l != nil && !strings.Contains(ifHeader, "<"+l.token+">"):
		return problem(http.StatusPreconditionFailed, ProblemPreconditionFailed, "precondition failed",
			"the If header names no lock held on "+p)
	case l == nil && strings.Contains(ifHeader, "<opaquelocktoken:"):
		return problem(http.StatusPreconditionFailed, ProblemPreconditionFailed, "precondition failed",
			"the If header names a lock that is not held on "+p)
	}
	return nil
}

// checkLease refuses a write of a leased blob without its lease id, as
// Azure Blob Storage does.
func (b *Backend) checkLease(r *http.Request, l *heldLock, now time.Time) *response {
	id := r.Header.Get("X-Ms-Lease-Id")
	switch {
	case !l.active(now) && id == l.token:
		return azureError(http.StatusPreconditionFailed, "LeaseLost",
			"A lease ID was specified, but the lease for the blob has expired.")
	case !l.active(now) && id != "":
		return azureError(http.StatusPreconditionFailed, "LeaseNotPresentWithBlobOperation",
			"There is currently no lease on the blob.")
	case !l.active(now):
		return nil
	case id == "":
		return azureError(http.StatusPreconditionFailed, "LeaseIdMissing",
			"There is currently a lease on the blob and no lease ID was specified in the request.")
	case id != l.token:
		return azureError(http.StatusPreconditionFailed, "LeaseIdMismatchWithBlobOperation",
			"The lease ID specified did not match the lease ID for the blob.")
	}
	return nil
}

// azureError is an Azure-style error answer: the code in x-ms-error-code
// and in the JSON body's error.code.
func azureError(status int, code, message string) *response {
	type inner struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	res := jsonResponse(status, "application/json", struct {
		Error inner `json:"error"`
	}{inner{code, message}})
	res.header.Set("X-Ms-Error-Code", code)
	return res
}

// davError is a WebDAV error answer naming the failed precondition.
func davError(status int, condition, p string) *response {
	var href strings.Builder
	_ = xml.EscapeText(&href, []byte(p))
	body := `<?xml version="1.0" encoding="utf-8"?><D:error xmlns:D="DAV:"><D:` + condition +
		`><D:href>` + href.String() + `</D:href></D:` + condition + `></D:error>`
	res := &response{status: status, header: http.Header{}, body: []byte(body)}
	res.header.Set("Content-Type", "application/xml; charset=utf-8")
	return res
}

// lockDiscovery answers a LOCK with l's DAV:lockdiscovery.
func (b *Backend) lockDiscovery(status int, p string, l *heldLock) *response {
	timeout := "Infinite"
	if !l.expires.IsZero() {
		timeout = "Second-" + strconv.FormatInt(int64(l.expires.Sub(b.cfg.clock()).Round(time.Second)/time.Second), 10)
	}
	var owner, root strings.Builder
	_ = xml.EscapeText(&owner, []byte(l.owner))
	_ = xml.EscapeText(&root, []byte(p))
	body := `<?xml version="1.0" encoding="utf-8"?><D:prop xmlns:D="DAV:"><D:lockdiscovery><D:activelock>` +
		`<D:locktype><D:write/></D:locktype><D:lockscope><D:exclusive/></D:lockscope><D:depth>0</D:depth>` +
		`<D:owner>` + owner.String() + `</D:owner><D:timeout>` + timeout + `</D:timeout>` +
		`<D:locktoken><D:href>` + l.token + `</D:href></D:locktoken>` +
		`<D:lockroot><D:href>` + root.String() + `</D:href></D:lockroot></D:activelock></D:lockdiscovery></D:prop>`
	res := &response{status: status, header: http.Header{}, body: []byte(body)}
	res.header.Set("Content-Type", "application/xml; charset=utf-8")
	res.header.Set("Lock-Token", "<"+l.token+">")
	return res
}
