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
		"  > PUT /pets/1  If-Match: \"1\"\n  < 412 Precondition Failed\n  > GET /pets/1  If-None-Match: \"1\"\n  < 200 OK\n"+
			"  > PUT /pets/1  If-Match: \"2\"\n  < 200 OK\n  = 200 {\"name\":\"Max\",\"status\":\"adopted\"}\n",
		"  > PUT /pets/2  If-None-Match: *\n  < 201 Created\n  = 201\n",
		"  > PUT /pets/2  If-None-Match: *\n  < 412 Precondition Failed\n  = 412\n")
}

// Against a server that answers conflicts 409 with the current document
// and demands If-Match, the generated client still gets its 200, run after
// run; the conflict answer spares the re-read.
func TestRunWithURL(t *testing.T) {
	t.Parallel()
	srv := mock.NewServer(mock.WithConflictStatus(http.StatusConflict), mock.WithConflictRepresentation(),
		mock.WithRequireIfMatch())
	t.Cleanup(srv.Close)
	for range 2 {
		demotest.Output(t, run, []string{"-url", srv.URL},
			"  < 409 Conflict\n  > GET /pets/1  If-None-Match: ",
			`= 200 {"name":"Max","status":"adopted"}`,
			"< 201 Created\n  = 201\n")
	}
	require.Equal(t, 4, srv.Count(http.MethodPut, http.StatusConflict), "a run: one conflict on pet 1, one on pet 2")
}

func TestPetResponse(t *testing.T) {
	t.Parallel()
	require.Zero(t, PetResponse{}.StatusCode())
	_, err := NewClient("http://example.com", func(*Client) error { return http.ErrNotSupported })
	require.ErrorIs(t, err, http.ErrNotSupported)
}
