package optimist

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLockFrom: the one decision whether an answer is a lock, table-tested.
func TestLockFrom(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	js := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		extra  map[string]LockKind
		lock   bool
		kind   LockKind
		code   string
	}{
		{name: "423 bare", status: 423, header: http.Header{}, lock: true, kind: LockLease},
		{name: "412 LeaseIdMissing header", status: 412, header: http.Header{"X-Ms-Error-Code": {"LeaseIdMissing"}}, lock: true, kind: LockLease, code: "LeaseIdMissing"},
		{name: "412 LeaseIdMismatch prefix", status: 412, header: http.Header{"X-Ms-Error-Code": {"LeaseIdMismatchWithBlobOperation"}}, lock: true, kind: LockLease, code: "LeaseIdMismatchWithBlobOperation"},
		{name: "409 LeaseAlreadyPresent XML", status: 409, header: http.Header{"Content-Type": {"application/xml"}},
			body: `<?xml version="1.0"?><Error><Code>LeaseAlreadyPresent</Code><Message>m</Message></Error>`, lock: true, kind: LockLease, code: "LeaseAlreadyPresent"},
		{name: "409 LeaseLost", status: 409, header: http.Header{"X-Ms-Error-Code": {"LeaseLost"}}, lock: true, kind: LockLease, code: "LeaseLost"},
		{name: "409 OperationNotAllowed", status: 409, header: js, body: `{"error":{"code":"OperationNotAllowed","message":"in progress"}}`, lock: true, kind: LockTransient, code: "OperationNotAllowed"},
		{name: "409 S3 OperationAborted", status: 409, header: http.Header{"Content-Type": {"application/xml"}},
			body: `<Error><Code>OperationAborted</Code><Message>A conflicting conditional operation is currently in progress</Message></Error>`, lock: true, kind: LockTransient, code: "OperationAborted"},
		{name: "409 numeric code is no lock", status: 409, header: js, body: `{"code":409}`},
		{name: "409 top-level code", status: 409, header: js, body: `{"code":"AnotherOperationInProgress"}`, lock: true, kind: LockTransient, code: "AnotherOperationInProgress"},
		{name: "409 no-conflicting-lock", status: 409, header: http.Header{"Content-Type": {"application/xml"}},
			body: `<D:error xmlns:D="DAV:"><D:no-conflicting-lock/></D:error>`, lock: true, kind: LockLease, code: "no-conflicting-lock"},
		{name: "a DAV:error of another namespace is no code", status: 409, header: http.Header{"Content-Type": {"application/xml"}},
			body: `<error><no-conflicting-lock/></error>`},
		{name: "409 ScopeLocked permanent", status: 409, header: http.Header{"X-Ms-Error-Code": {"ScopeLocked"}}, lock: true, kind: LockPermanent, code: "ScopeLocked"},
		{name: "409 caller code", status: 409, header: js, body: `{"error":{"code":"CheckedOut"}}`, extra: map[string]LockKind{"checkedout": LockPermanent}, lock: true, kind: LockPermanent, code: "CheckedOut"},
		{name: "409 Stripe-Should-Retry false", status: 409, header: http.Header{"Stripe-Should-Retry": {"false"}}},
		{name: "409 Stripe-Should-Retry true", status: 409, header: http.Header{"Stripe-Should-Retry": {"true"}}, lock: true, kind: LockTransient},
		{name: "409 version conflict", status: 409, header: js, body: `{"title":"version conflict"}`},
		{name: "409 other code", status: 409, header: http.Header{"X-Ms-Error-Code": {"BlobAlreadyExists"}}},
		{name: "412 plain", status: 412, header: http.Header{}},
		{name: "400 with a lock code", status: 400, header: http.Header{"X-Ms-Error-Code": {"LeaseIdMissing"}}},
		{name: "503 locked", status: 503, header: js, body: `{"code":"Locked"}`},
		{name: "423 malformed XML", status: 423, header: http.Header{"Content-Type": {"application/xml"}}, body: `<D:prop xmlns:D="DAV:"><D:lockdiscovery><D:activelock><D:owner>`, lock: true, kind: LockLease},
		{name: "409 malformed JSON", status: 409, header: js, body: `{"code":"Locked"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			se := &StatusError{Method: "PUT", URL: "http://x/doc", StatusCode: tt.status, Header: tt.header, Body: []byte(tt.body), versionConflict: true}
			lk := lockFrom(se, tt.extra, now)
			if !tt.lock {
				require.Nil(t, lk)
				return
			}
			require.NotNil(t, lk)
			require.Equal(t, tt.kind, lk.Kind)
			require.Equal(t, tt.code, lk.Code)
			require.Same(t, se, lk.Response)
			require.True(t, errors.Is(lk, ErrLocked))
		})
	}
}

// TestLockedErrorIsNoConflict: a lock answer, as the client returns it,
// matches ErrLocked and not ErrConflict, though its status is 409 or 412.
func TestLockedErrorIsNoConflict(t *testing.T) {
	t.Parallel()
	for _, status := range []int{409, 412, 423} {
		c := New()
		se := &StatusError{StatusCode: status, Header: http.Header{"X-Ms-Error-Code": {"LeaseIdMissing"}}, versionConflict: true}
		r := &request{method: "PUT"}
		_, err := c.settleLock(noLockWait(t.Context()), r, nil, se)
		require.ErrorIs(t, err, ErrLocked)
		require.NotErrorIs(t, err, ErrConflict)
		var got *StatusError
		require.ErrorAs(t, err, &got)
		require.False(t, got.isVersionConflict())
	}
}

// FuzzLockBody: any error body gives an answer, never a panic.
func FuzzLockBody(f *testing.F) {
	f.Add("application/xml", `<D:prop xmlns:D="DAV:"><D:lockdiscovery><D:activelock><D:owner><D:href>a</D:href></D:owner><D:timeout>Second-60</D:timeout><D:locktoken><D:href>t</D:href></D:locktoken></D:activelock></D:lockdiscovery></D:prop>`)
	f.Add("application/json", `{"error":{"code":"LeaseIdMissing"},"lock":{"id":"1","owner":{"name":"n"}}}`)
	f.Add("application/json", `{"ID":"1","Who":"w"}`)
	f.Add("text/plain", "Locked")
	f.Fuzz(func(t *testing.T, contentType, body string) {
		info := parseLockBody(contentType, []byte(body))
		_ = info.expires(time.Now())
		se := &StatusError{StatusCode: 423, Header: http.Header{"Content-Type": {contentType}}, Body: []byte(body)}
		require.NotNil(t, lockFrom(se, nil, time.Time{}))
	})
}
