package mock

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const lockInfo = `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>` +
	`<D:locktype><D:write/></D:locktype><D:owner>ann</D:owner></D:lockinfo>`

func TestDAVLockLifecycle(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	s := setup(t, WithClock(clock.Now))
	require.NoError(t, s.Seed("/f", []byte(`{"v":1}`)))

	locked := do(t, s, "LOCK", "/f", lockInfo, "Timeout", "Second-60")
	require.Equal(t, http.StatusOK, locked.status)
	token := strings.Trim(locked.header.Get("Lock-Token"), "<>")
	require.NotEmpty(t, token)
	require.Contains(t, locked.body, "<D:timeout>Second-60</D:timeout>")
	require.Contains(t, locked.body, "<D:owner>ann</D:owner>")

	require.Equal(t, http.StatusLocked, do(t, s, "LOCK", "/f", lockInfo).status, "a second lock conflicts")
	res := do(t, s, http.MethodPut, "/f", `{"v":2}`)
	require.Equal(t, http.StatusLocked, res.status)
	require.Contains(t, res.body, "lock-token-submitted")
	require.Equal(t, http.StatusPreconditionFailed, do(t, s, http.MethodPut, "/f", `{"v":2}`, "If", "(<opaquelocktoken:other>)").status)
	require.Equal(t, http.StatusOK, do(t, s, http.MethodPut, "/f", `{"v":2}`, "If", "(<"+token+">)").status)
	require.Equal(t, http.StatusOK, do(t, s, http.MethodGet, "/f", "").status, "reads are not locked")

	clock.Advance(50 * time.Second)
	require.Equal(t, http.StatusOK, do(t, s, "LOCK", "/f", "", "If", "(<"+token+">)", "Timeout", "Second-60").status)
	clock.Advance(50 * time.Second)
	require.Equal(t, http.StatusOK, do(t, s, http.MethodPut, "/f", `{"v":3}`, "If", "(<"+token+">)").status, "refreshed")

	require.Equal(t, http.StatusConflict, do(t, s, "UNLOCK", "/f", "", "Lock-Token", "<opaquelocktoken:other>").status)
	require.Equal(t, http.StatusNoContent, do(t, s, "UNLOCK", "/f", "", "Lock-Token", "<"+token+">").status)
	require.Equal(t, http.StatusOK, do(t, s, http.MethodPut, "/f", `{"v":4}`).status)
}

func TestDAVLockExpires(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	s := setup(t, WithClock(clock.Now))
	token := s.LockFor("/f", "bob", 30*time.Second)
	require.Equal(t, http.StatusLocked, do(t, s, http.MethodPut, "/f", `{}`).status)
	clock.Advance(30 * time.Second)
	require.Equal(t, http.StatusPreconditionFailed, do(t, s, "LOCK", "/f", "", "If", "(<"+token+">)").status, "an expired lock is not refreshed")
	require.Equal(t, http.StatusCreated, do(t, s, http.MethodPut, "/f", `{}`).status)
}

func TestLeaseLifecycle(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	s := setup(t, WithClock(clock.Now))
	require.NoError(t, s.Seed("/b", []byte(`{"v":1}`)))
	lease := func(action string, headers ...string) result {
		return do(t, s, http.MethodPut, "/b?comp=lease", "", append([]string{"X-Ms-Lease-Action", action}, headers...)...)
	}
	require.Equal(t, http.StatusBadRequest, lease("acquire", "X-Ms-Lease-Duration", "5").status)
	got := lease("acquire", "X-Ms-Lease-Duration", "15")
	require.Equal(t, http.StatusCreated, got.status)
	id := got.header.Get("X-Ms-Lease-Id")
	require.NotEmpty(t, id)
	again := lease("acquire", "X-Ms-Lease-Duration", "15")
	require.Equal(t, http.StatusConflict, again.status)
	require.Equal(t, "LeaseAlreadyPresent", again.header.Get("X-Ms-Error-Code"))

	missing := do(t, s, http.MethodPut, "/b", `{"v":2}`)
	require.Equal(t, http.StatusPreconditionFailed, missing.status)
	require.Equal(t, "LeaseIdMissing", missing.header.Get("X-Ms-Error-Code"))
	require.Contains(t, missing.body, `"code":"LeaseIdMissing"`)
	require.Equal(t, "LeaseIdMismatchWithBlobOperation",
		do(t, s, http.MethodPut, "/b", `{"v":2}`, "X-Ms-Lease-Id", "other").header.Get("X-Ms-Error-Code"))
	require.Equal(t, http.StatusOK, do(t, s, http.MethodPut, "/b", `{"v":2}`, "X-Ms-Lease-Id", id).status)

	clock.Advance(10 * time.Second)
	require.Equal(t, http.StatusOK, lease("renew", "X-Ms-Lease-Id", id).status)
	clock.Advance(10 * time.Second)
	require.Equal(t, http.StatusOK, do(t, s, http.MethodPut, "/b", `{"v":3}`, "X-Ms-Lease-Id", id).status, "renewed")
	clock.Advance(15 * time.Second)
	require.Equal(t, "LeaseLost", lease("renew", "X-Ms-Lease-Id", id).header.Get("X-Ms-Error-Code"))
	require.Equal(t, "LeaseLost", do(t, s, http.MethodPut, "/b", `{}`, "X-Ms-Lease-Id", id).header.Get("X-Ms-Error-Code"))
	require.Equal(t, http.StatusOK, lease("release", "X-Ms-Lease-Id", id).status)
	require.Equal(t, http.StatusOK, do(t, s, http.MethodPut, "/b", `{"v":4}`).status)
}

func TestLeaseBreak(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	s := setup(t, WithClock(clock.Now))
	require.NoError(t, s.Seed("/b", []byte(`{}`)))
	id := s.LeaseFor("/b", 0)
	res := do(t, s, http.MethodPut, "/b?comp=lease", "", "X-Ms-Lease-Action", "break", "X-Ms-Lease-Break-Period", "10")
	require.Equal(t, http.StatusAccepted, res.status)
	require.Equal(t, "LeaseIsBreakingAndCannotBeAcquired",
		do(t, s, http.MethodPut, "/b?comp=lease", "", "X-Ms-Lease-Action", "acquire", "X-Ms-Lease-Duration", "-1").header.Get("X-Ms-Error-Code"))
	require.Equal(t, http.StatusOK, do(t, s, http.MethodPut, "/b", `{}`, "X-Ms-Lease-Id", id).status, "a breaking lease still holds")
	clock.Advance(10 * time.Second)
	require.Equal(t, http.StatusOK, do(t, s, http.MethodPut, "/b", `{}`).status, "broken")
}

func TestBusyWindow(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	s := setup(t, WithClock(clock.Now))
	s.BusyFor("/a", 5*time.Second, "2")
	s.BusyFor("/b", 5*time.Second, "")
	res := do(t, s, http.MethodPut, "/a", `{}`)
	require.Equal(t, http.StatusConflict, res.status)
	require.Equal(t, "AnotherOperationInProgress", res.header.Get("X-Ms-Error-Code"))
	require.Equal(t, "2", res.header.Get("Retry-After"))
	require.Empty(t, do(t, s, http.MethodPut, "/b", `{}`).header.Get("Retry-After"))
	clock.Advance(5 * time.Second)
	require.Equal(t, http.StatusCreated, do(t, s, http.MethodPut, "/a", `{}`).status)
	s.BusyFor("/a", time.Minute, "")
	s.Unlock("/a")
	require.Equal(t, http.StatusOK, do(t, s, http.MethodPut, "/a", `{}`).status)
}
