package main

import (
	"net/http"
	"testing"

	"github.com/optimist-go/optimist/examples/internal/demotest"
	"github.com/optimist-go/optimist/mock"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	t.Parallel()
	demotest.Output(t, run, nil,
		"PUT /db/profile: ok true, rev 1-",
		"mobile changes the name and saves, with _rev 1-",
		"  409 Conflict: the _rev sent is stale; optimist re-reads and merges\n  saved: ok true, rev 3-",
		`the document: name "Ada Lovelace", email "ada@lovelace.dev", visits 20, _rev `)
}

// Run twice against one server, the example deletes and creates the
// document again; the server never sees a write without the current _rev.
func TestRunWithURL(t *testing.T) {
	t.Parallel()
	srv := mock.NewServer(mock.WithVersionField("/_rev"), mock.WithCouchDBResponses(), mock.WithoutETags())
	t.Cleanup(srv.Close)
	for range 2 {
		demotest.Output(t, run, []string{"-url", srv.URL}, "rev 1-", "visits 20")
	}
	require.Equal(t, 1, srv.Count(http.MethodDelete, http.StatusOK))
	require.Zero(t, srv.Count(http.MethodPut, http.StatusBadRequest))
	for _, r := range srv.Requests() {
		if r.Method == http.MethodDelete {
			require.NotEmpty(t, r.Header.Get("If-Match"), "a DELETE has no body: its _rev goes in If-Match")
			continue
		}
		require.Empty(t, r.Header.Get("If-Match"), "a write's version travels in its body")
	}
}

func TestShort(t *testing.T) {
	t.Parallel()
	require.Equal(t, "12-9f86d0…", short("12-9f86d081884c7d659a2feaa0c55ad015"))
	require.Equal(t, "1-abc", short("1-abc"))
	require.Equal(t, "opaque", short("opaque"))
}
