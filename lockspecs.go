package optimist

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Lock specs for two APIs: WebDAV (RFC 4918) and Azure Blob Storage
// leases.

// WebDAVLock is the [LockSpec] of a WebDAV exclusive write lock (RFC 4918,
// section 9.10) of depth 0 on one resource, asked for timeout (zero or
// negative: Infinite) with owner as the lock's DAV:owner. The server's
// granted timeout is the lock's duration. A write under the lock carries
// If: (<token>), or If: (<token> ["etag"]) when it has an If-Match with
// one entity-tag; the release is an UNLOCK.
func WebDAVLock(owner string, timeout time.Duration) LockSpec {
	return webDAVLock{owner: owner, timeout: timeout}
}

type webDAVLock struct {
	owner   string
	timeout time.Duration
}

func (w webDAVLock) timeoutHeader() string {
	if w.timeout <= 0 {
		return "Infinite"
	}
	return "Second-" + strconv.FormatInt(int64((w.timeout+time.Second-1)/time.Second), 10)
}

// Acquire sends LOCK with a DAV:lockinfo body.
func (w webDAVLock) Acquire(ctx context.Context, send SendFunc, url string) (Lock, error) {
	var owner bytes.Buffer
	_ = xml.EscapeText(&owner, []byte(w.owner)) // writing to a buffer cannot fail
	body := `<?xml version="1.0" encoding="utf-8"?>` +
		`<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>` +
		`<D:locktype><D:write/></D:locktype><D:owner>` + owner.String() + `</D:owner></D:lockinfo>`
	h := http.Header{
		"Content-Type": {"application/xml; charset=utf-8"}, "Accept": {"application/xml"},
		"Depth": {"0"}, "Timeout": {w.timeoutHeader()},
	}
	resp, err := send(ctx, "LOCK", url, h, []byte(body))
	if err != nil {
		return Lock{}, err
	}
	info := parseLockXML(resp.Body)
	token := strings.Trim(strings.TrimSpace(resp.Header.Get("Lock-Token")), "<>")
	if token == "" {
		token = info.token
	}
	if token == "" {
		return Lock{}, fmt.Errorf("optimist: LOCK %s: the answer carries no lock token", redactURL(url))
	}
	return Lock{URL: url, Token: token, Duration: w.granted(info)}, nil
}

// granted is the lock's duration: the timeout the server granted, else
// the one asked for.
func (w webDAVLock) granted(info lockInfo) time.Duration {
	if info.timeout > 0 {
		return info.timeout
	}
	return w.timeout
}

// Renew refreshes the lock: LOCK with no body and If: (<token>).
func (w webDAVLock) Renew(ctx context.Context, send SendFunc, l Lock) (Lock, error) {
	h := http.Header{"If": {"(<" + l.Token + ">)"}, "Accept": {"application/xml"}, "Timeout": {w.timeoutHeader()}}
	resp, err := send(ctx, "LOCK", l.URL, h, nil)
	if err != nil {
		return l, err
	}
	l.Duration = w.granted(parseLockXML(resp.Body))
	return l, nil
}

// Release sends UNLOCK with the lock's token.
func (w webDAVLock) Release(ctx context.Context, send SendFunc, l Lock) error {
	_, err := send(ctx, "UNLOCK", l.URL, http.Header{"Lock-Token": {"<" + l.Token + ">"}}, nil)
	return err
}

// Authorize sets the If header. The version the write is conditional on
// moves there from If-Match, as the tagged condition (<token> ["etag"]) of
// RFC 4918: a WebDAV server evaluates it with the lock, weak tags included,
// where Apache mod_dav refuses a weak ETag in If-Match (it serves a weak
// one for a second after every write). The write stays conditional on both.
func (w webDAVLock) Authorize(h http.Header, l Lock) {
	cond := "<" + l.Token + ">"
	if tags := h.Values("If-Match"); len(tags) == 1 && !strings.Contains(tags[0], ",") && tags[0] != "*" {
		cond += " [" + strings.TrimSpace(tags[0]) + "]"
		h.Del("If-Match")
	}
	h.Set("If", "("+cond+")")
}

// AzureLease is the [LockSpec] of an Azure Blob Storage (or container)
// lease of duration (15 to 60 seconds; zero or negative: infinite). The
// lease is taken, renewed and released with PUT ?comp=lease and the
// x-ms-lease-action header; a write under it carries x-ms-lease-id.
// Authentication and the x-ms-version the account needs are the
// caller's, through the client's HTTP client or request options.
func AzureLease(duration time.Duration) LockSpec {
	return azureLease{duration: duration}
}

type azureLease struct{ duration time.Duration }

// leaseURL is rawURL with comp=lease in its query.
func leaseURL(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("optimist: lease: invalid URL: %w", parseError(err))
	}
	q := u.Query()
	q.Set("comp", "lease")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (a azureLease) action(ctx context.Context, send SendFunc, rawURL, action string, h http.Header) (*Response, error) {
	lu, err := leaseURL(rawURL)
	if err != nil {
		return nil, err
	}
	h.Set("X-Ms-Lease-Action", action)
	return send(ctx, http.MethodPut, lu, h, nil)
}

// Acquire takes the lease.
func (a azureLease) Acquire(ctx context.Context, send SendFunc, url string) (Lock, error) {
	secs := "-1"
	if a.duration > 0 {
		secs = strconv.FormatInt(int64((a.duration+time.Second-1)/time.Second), 10)
	}
	resp, err := a.action(ctx, send, url, "acquire", http.Header{"X-Ms-Lease-Duration": {secs}})
	if err != nil {
		return Lock{}, err
	}
	id := resp.Header.Get("X-Ms-Lease-Id")
	if id == "" {
		return Lock{}, fmt.Errorf("optimist: lease %s: the answer carries no x-ms-lease-id", redactURL(url))
	}
	return Lock{URL: url, Token: id, Duration: max(a.duration, 0)}, nil
}

// Renew renews the lease.
func (a azureLease) Renew(ctx context.Context, send SendFunc, l Lock) (Lock, error) {
	_, err := a.action(ctx, send, l.URL, "renew", http.Header{"X-Ms-Lease-Id": {l.Token}})
	return l, err
}

// Release releases the lease.
func (a azureLease) Release(ctx context.Context, send SendFunc, l Lock) error {
	_, err := a.action(ctx, send, l.URL, "release", http.Header{"X-Ms-Lease-Id": {l.Token}})
	return err
}

// Authorize sets x-ms-lease-id.
func (a azureLease) Authorize(h http.Header, l Lock) { h.Set("X-Ms-Lease-Id", l.Token) }
