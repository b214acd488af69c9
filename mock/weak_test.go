package mock

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWeakETags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    []Option
		method  string
		headers []string
		want    int
		problem string
	}{
		{"weak get", []Option{WithWeakETags()}, http.MethodGet, nil, http.StatusOK, ""},
		{"weak if-none-match", []Option{WithWeakETags()}, http.MethodGet, []string{"If-None-Match", `W/"1"`}, http.StatusNotModified, ""},
		{"weak if-none-match strong form", []Option{WithWeakETags()}, http.MethodGet, []string{"If-None-Match", `"1"`}, http.StatusNotModified, ""},
		{"weak if-match echoed", []Option{WithWeakETags()}, http.MethodPut, []string{"If-Match", `W/"1"`}, http.StatusPreconditionFailed, ProblemPreconditionFailed},
		{"weak if-match stripped", []Option{WithWeakETags()}, http.MethodPut, []string{"If-Match", `"1"`}, http.StatusPreconditionFailed, ProblemPreconditionFailed},
		{"weak if-match star", []Option{WithWeakETags()}, http.MethodPut, []string{"If-Match", `*`}, http.StatusOK, ""},
		{"weak 409", []Option{WithWeakETags(), WithConflictStatus(http.StatusConflict)}, http.MethodPut, []string{"If-Match", `W/"1"`}, http.StatusConflict, ProblemPreconditionFailed},
		{"lenient echoed", []Option{WithWeakIfMatch()}, http.MethodPut, []string{"If-Match", `W/"1"`}, http.StatusOK, ""},
		{"lenient list", []Option{WithWeakIfMatch()}, http.MethodPut, []string{"If-Match", `W/"0", W/"1"`}, http.StatusOK, ""},
		{"lenient star", []Option{WithWeakIfMatch()}, http.MethodPut, []string{"If-Match", `*`}, http.StatusOK, ""},
		{"lenient stale", []Option{WithWeakIfMatch()}, http.MethodPut, []string{"If-Match", `W/"0"`}, http.StatusPreconditionFailed, ProblemPreconditionFailed},
		{"lenient stripped", []Option{WithWeakIfMatch()}, http.MethodPut, []string{"If-Match", `"1"`}, http.StatusBadRequest, ProblemETagNotEchoed},
		{"lenient requoted", []Option{WithWeakIfMatch()}, http.MethodPut, []string{"If-Match", `"W/\"1\""`}, http.StatusBadRequest, ProblemETagNotEchoed},
		{"lenient bare", []Option{WithWeakIfMatch()}, http.MethodPut, []string{"If-Match", `W/1`}, http.StatusBadRequest, ProblemETagNotEchoed},
		{"lenient lower w", []Option{WithWeakIfMatch()}, http.MethodPut, []string{"If-Match", `w/"1"`}, http.StatusBadRequest, ProblemETagNotEchoed},
		{"lenient get stripped", []Option{WithWeakIfMatch()}, http.MethodGet, []string{"If-Match", `"1"`}, http.StatusBadRequest, ProblemETagNotEchoed},
		{"lenient delete", []Option{WithWeakIfMatch()}, http.MethodDelete, []string{"If-Match", `W/"1"`}, http.StatusNoContent, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := setup(t, tt.opts...)
			require.NoError(t, s.Seed("/docs/a", []byte(`{}`)))
			_, tag, _ := s.Document("/docs/a")
			require.Equal(t, `W/"1"`, tag)
			res := do(t, s, tt.method, "/docs/a", `{"b":1}`, tt.headers...)
			require.Equal(t, tt.want, res.status, res.body)
			if tt.problem != "" {
				require.Equal(t, tt.problem, res.problem(t).Type)
			}
			if res.status == http.StatusOK {
				require.Regexp(t, `^W/"\d+"$`, res.header.Get("ETag"))
			}
		})
	}
}

func TestConflictRepresentation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    []Option
		method  string
		path    string
		headers []string
		want    int
		doc     bool
	}{
		{"412", nil, http.MethodPut, "/docs/a", []string{"If-Match", `"0"`}, http.StatusPreconditionFailed, true},
		{"409", []Option{WithConflictStatus(http.StatusConflict)}, http.MethodPut, "/docs/a", []string{"If-Match", `"0"`}, http.StatusConflict, true},
		{"delete", nil, http.MethodDelete, "/docs/a", []string{"If-Match", `"0"`}, http.StatusPreconditionFailed, true},
		{"get", nil, http.MethodGet, "/docs/a", []string{"If-Match", `"0"`}, http.StatusPreconditionFailed, true},
		{"if-none-match", nil, http.MethodPut, "/docs/a", []string{"If-None-Match", `*`}, http.StatusPreconditionFailed, true},
		{"no document", nil, http.MethodPut, "/docs/b", []string{"If-Match", `"1"`}, http.StatusPreconditionFailed, false},
		{"weak", []Option{WithWeakETags()}, http.MethodPut, "/docs/a", []string{"If-Match", `W/"1"`}, http.StatusPreconditionFailed, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := setup(t, append(tt.opts, WithConflictRepresentation())...)
			require.NoError(t, s.Seed("/docs/a", []byte(`{"cur":true}`)))
			body, tag, _ := s.Document("/docs/a")
			res := do(t, s, tt.method, tt.path, `{"new":true}`, tt.headers...)
			require.Equal(t, tt.want, res.status)
			if !tt.doc {
				require.Equal(t, ProblemPreconditionFailed, res.problem(t).Type)
				return
			}
			require.Equal(t, "application/json", res.header.Get("Content-Type"))
			require.Equal(t, string(body), res.body)
			require.Equal(t, tag, res.header.Get("ETag"))
		})
	}
}
