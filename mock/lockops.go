package mock

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The lock operations: WebDAV LOCK (new and refresh) and UNLOCK, and the
// Azure lease actions acquire, renew, release and break.

// maxLockTimeout caps the timeout a LOCK gets.
const maxLockTimeout = time.Hour

// davLock answers LOCK: with a DAV:lockinfo body it takes a new exclusive
// lock (423 no-conflicting-lock when another is active); without a body it
// refreshes the lock its If header names (412 when none is held).
func (b *Backend) davLock(r *http.Request, p string, body []byte) *response {
	now := b.cfg.clock()
	l := b.locks[p]
	if l != nil && !l.active(now) {
		delete(b.locks, p)
		l = nil
	}
	timeout := parseTimeout(r.Header.Get("Timeout"))
	if len(strings.TrimSpace(string(body))) == 0 {
		if l == nil || l.kind != davLock || !strings.Contains(r.Header.Get("If"), "<"+l.token+">") {
			return problem(http.StatusPreconditionFailed, ProblemPreconditionFailed, "precondition failed",
				"the If header names no lock held on "+p)
		}
		l.expires = time.Time{}
		if timeout > 0 {
			l.expires = now.Add(timeout)
		}
		return b.lockDiscovery(http.StatusOK, p, l)
	}
	if l != nil {
		return davError(http.StatusLocked, "no-conflicting-lock", p)
	}
	var info struct {
		Owner struct {
			Inner string `xml:",innerxml"`
		} `xml:"owner"`
	}
	if err := xml.Unmarshal(body, &info); err != nil {
		return badRequest("the LOCK body is not a DAV:lockinfo: " + err.Error())
	}
	status := http.StatusOK
	if b.store.get(p) == nil {
		if _, err := b.store.write(p, []byte("{}"), now); err != nil { // a lock-null resource
			return badRequest(err.Error())
		}
		status = http.StatusCreated
	}
	return b.lockDiscovery(status, p, b.newLock(p, davLock, strings.TrimSpace(info.Owner.Inner), timeout, ""))
}

// parseTimeout reads a Timeout header: the first "Second-N", capped at
// maxLockTimeout; Infinite or nothing is zero.
func parseTimeout(h string) time.Duration {
	for _, v := range strings.Split(h, ",") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(v), "Second-"); ok {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
				return min(time.Duration(n)*time.Second, maxLockTimeout)
			}
		}
	}
	return 0
}

// davUnlock answers UNLOCK: 204 when Lock-Token names the lock of p, 409
// otherwise.
func (b *Backend) davUnlock(r *http.Request, p string) *response {
	l := b.locks[p]
	token := strings.Trim(strings.TrimSpace(r.Header.Get("Lock-Token")), "<>")
	if l == nil || l.kind != davLock || l.token != token || !l.active(b.cfg.clock()) {
		return davError(http.StatusConflict, "lock-token-matches-request-uri", p)
	}
	delete(b.locks, p)
	return &response{status: http.StatusNoContent, header: http.Header{}}
}

// leaseAction answers PUT ?comp=lease per its x-ms-lease-action.
func (b *Backend) leaseAction(r *http.Request, p string) *response {
	if b.store.get(p) == nil {
		return azureError(http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.")
	}
	now := b.cfg.clock()
	l := b.locks[p]
	if l != nil && l.kind != lease {
		return davError(http.StatusLocked, "no-conflicting-lock", p)
	}
	id := r.Header.Get("X-Ms-Lease-Id")
	switch r.Header.Get("X-Ms-Lease-Action") {
	case "acquire":
		return b.acquireLease(r, p, l, now)
	case "renew":
		if res := leaseMatch(l, id, now); res != nil {
			return res
		}
		if l.duration > 0 {
			l.expires = now.Add(l.duration)
		}
		return leaseAnswer(http.StatusOK, l)
	case "release":
		if res := leaseMatch(l, id, time.Time{}); res != nil {
			return res
		}
		delete(b.locks, p)
		return &response{status: http.StatusOK, header: http.Header{}}
	case "break":
		return b.breakLease(r, p, l, now)
	}
	return azureError(http.StatusBadRequest, "InvalidHeaderValue", "x-ms-lease-action must be acquire, renew, release or break")
}

// leaseMatch refuses a lease action with id unless l is the lease and,
// for a nonzero now, is active then.
func leaseMatch(l *heldLock, id string, now time.Time) *response {
	switch {
	case l == nil:
		return azureError(http.StatusConflict, "LeaseNotPresentWithLeaseOperation", "There is currently no lease on the blob.")
	case l.token != id:
		return azureError(http.StatusConflict, "LeaseIdMismatchWithLeaseOperation",
			"The lease ID specified did not match the lease ID for the blob.")
	case now.IsZero() || l.active(now):
		return nil
	case !l.breaking.IsZero():
		return azureError(http.StatusConflict, "LeaseIsBrokenAndCannotBeRenewed", "The lease ID matched, but the lease has been broken.")
	}
	// Azure renews an expired lease nobody else took; the mock calls it
	// lost, so that tests can make a renewal fail by moving the clock.
	return azureError(http.StatusConflict, "LeaseLost", "A lease ID was specified, but the lease for the blob has expired.")
}

// acquireLease takes a lease of x-ms-lease-duration seconds (15 to 60, or
// -1 for infinite) with x-ms-proposed-lease-id or a new id.
func (b *Backend) acquireLease(r *http.Request, p string, l *heldLock, now time.Time) *response {
	secs, err := strconv.Atoi(r.Header.Get("X-Ms-Lease-Duration"))
	if err != nil || (secs != -1 && (secs < 15 || secs > 60)) {
		return azureError(http.StatusBadRequest, "InvalidHeaderValue", "x-ms-lease-duration must be -1 or 15 to 60")
	}
	proposed := r.Header.Get("X-Ms-Proposed-Lease-Id")
	switch {
	case l != nil && l.active(now) && !l.breaking.IsZero():
		return azureError(http.StatusConflict, "LeaseIsBreakingAndCannotBeAcquired",
			"There is already a lease present, and it is being broken.")
	case l != nil && l.active(now) && (proposed == "" || proposed != l.token):
		return azureError(http.StatusConflict, "LeaseAlreadyPresent", "There is already a lease present.")
	}
	d := time.Duration(max(secs, 0)) * time.Second
	return leaseAnswer(http.StatusCreated, b.newLock(p, lease, "", d, proposed))
}

// breakLease breaks the lease at once or after x-ms-lease-break-period
// seconds (0 to 60).
func (b *Backend) breakLease(r *http.Request, p string, l *heldLock, now time.Time) *response {
	if l == nil || !l.active(now) {
		return azureError(http.StatusConflict, "LeaseNotPresentWithLeaseOperation", "There is currently no lease on the blob.")
	}
	period := 0
	if v := r.Header.Get("X-Ms-Lease-Break-Period"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 60 {
			return azureError(http.StatusBadRequest, "InvalidHeaderValue", "x-ms-lease-break-period must be 0 to 60")
		}
		period = n
	}
	if period == 0 {
		delete(b.locks, p)
	} else {
		l.breaking = now.Add(time.Duration(period) * time.Second)
	}
	res := &response{status: http.StatusAccepted, header: http.Header{}}
	res.header.Set("X-Ms-Lease-Time", strconv.Itoa(period))
	return res
}

func leaseAnswer(status int, l *heldLock) *response {
	res := &response{status: status, header: http.Header{}}
	res.header.Set("X-Ms-Lease-Id", l.token)
	return res
}
