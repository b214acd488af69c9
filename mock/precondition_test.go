package mock

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseETags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		tags []entityTag
		star bool
		ok   bool
	}{
		{"star", " * ", nil, true, true},
		{"one", `"1"`, []entityTag{{false, "1"}}, false, true},
		{"weak", `W/"1"`, []entityTag{{true, "1"}}, false, true},
		{"list", `"1", W/"2" ,"a,b"`, []entityTag{{false, "1"}, {true, "2"}, {false, "a,b"}}, false, true},
		{"empty opaque", `""`, []entityTag{{false, ""}}, false, true},
		{"unquoted", `1`, nil, false, false},
		{"lower w", `w/"1"`, nil, false, false},
		{"quoted twice", `"W/\"1\""`, []entityTag{{false, `W/\`}}, false, false},
		{"unterminated", `"1`, nil, false, false},
		{"junk after", `"1" x`, []entityTag{{false, "1"}}, false, false},
		{"empty", ``, nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tags, star, ok := parseETags(tt.in)
			require.Equal(t, tt.tags, tags)
			require.Equal(t, tt.star, star)
			require.Equal(t, tt.ok, ok)
		})
	}
}

func TestPreconditions(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	modified := clock.Now()
	before := modified.Add(-time.Second).Format(http.TimeFormat)
	at := modified.Format(http.TimeFormat)
	const cur, stale, weakCur = `"1"`, `"0"`, `W/"1"`
	merge := []string{"Content-Type", "application/merge-patch+json"}
	tests := []struct {
		name    string
		method  string
		path    string // default /docs/a, which exists with ETag "1"
		headers []string
		want    int
	}{
		{"get if-none-match current", http.MethodGet, "", []string{"If-None-Match", cur}, http.StatusNotModified},
		{"get if-none-match weak", http.MethodGet, "", []string{"If-None-Match", weakCur}, http.StatusNotModified},
		{"get if-none-match list", http.MethodGet, "", []string{"If-None-Match", `"7", "1"`}, http.StatusNotModified},
		{"get if-none-match star", http.MethodGet, "", []string{"If-None-Match", "*"}, http.StatusNotModified},
		{"get if-none-match stale", http.MethodGet, "", []string{"If-None-Match", stale}, http.StatusOK},
		{"head if-none-match current", http.MethodHead, "", []string{"If-None-Match", cur}, http.StatusNotModified},
		{"get if-match current", http.MethodGet, "", []string{"If-Match", cur}, http.StatusOK},
		{"get if-match stale", http.MethodGet, "", []string{"If-Match", stale}, http.StatusPreconditionFailed},
		{"get if-modified-since at", http.MethodGet, "", []string{"If-Modified-Since", at}, http.StatusNotModified},
		{"get if-modified-since before", http.MethodGet, "", []string{"If-Modified-Since", before}, http.StatusOK},
		{"get if-modified-since ignored", http.MethodGet, "", []string{"If-None-Match", stale, "If-Modified-Since", at}, http.StatusOK},
		{"get missing stays 404", http.MethodGet, "/docs/b", []string{"If-Match", cur}, http.StatusNotFound},
		{"put if-match current", http.MethodPut, "", []string{"If-Match", cur}, http.StatusOK},
		{"put if-match list", http.MethodPut, "", []string{"If-Match", `"9", "1"`}, http.StatusOK},
		{"put if-match two fields", http.MethodPut, "", []string{"If-Match", `"9"`, "If-Match", cur}, http.StatusOK},
		{"put if-match star", http.MethodPut, "", []string{"If-Match", "*"}, http.StatusOK},
		{"put if-match stale", http.MethodPut, "", []string{"If-Match", stale}, http.StatusPreconditionFailed},
		{"put if-match weak is never strong", http.MethodPut, "", []string{"If-Match", weakCur}, http.StatusPreconditionFailed},
		{"put if-match unquoted", http.MethodPut, "", []string{"If-Match", "1"}, http.StatusPreconditionFailed},
		{"put create if-match star", http.MethodPut, "/docs/b", []string{"If-Match", "*"}, http.StatusPreconditionFailed},
		{"put create if-match tag", http.MethodPut, "/docs/b", []string{"If-Match", cur}, http.StatusPreconditionFailed},
		{"put create if-none-match star", http.MethodPut, "/docs/b", []string{"If-None-Match", "*"}, http.StatusCreated},
		{"put if-none-match star", http.MethodPut, "", []string{"If-None-Match", "*"}, http.StatusPreconditionFailed},
		{"put if-none-match current", http.MethodPut, "", []string{"If-None-Match", weakCur}, http.StatusPreconditionFailed},
		{"put if-none-match stale", http.MethodPut, "", []string{"If-None-Match", stale}, http.StatusOK},
		{"put if-unmodified-since before", http.MethodPut, "", []string{"If-Unmodified-Since", before}, http.StatusPreconditionFailed},
		{"put if-unmodified-since at", http.MethodPut, "", []string{"If-Unmodified-Since", at}, http.StatusOK},
		{"put if-unmodified-since invalid", http.MethodPut, "", []string{"If-Unmodified-Since", "yesterday"}, http.StatusOK},
		{"put if-match beats if-unmodified-since", http.MethodPut, "", []string{"If-Match", cur, "If-Unmodified-Since", before}, http.StatusOK},
		{"put if-match then if-none-match", http.MethodPut, "", []string{"If-Match", cur, "If-None-Match", "*"}, http.StatusPreconditionFailed},
		{"patch if-match current", http.MethodPatch, "", append([]string{"If-Match", cur}, merge...), http.StatusOK},
		{"patch if-match stale", http.MethodPatch, "", append([]string{"If-Match", stale}, merge...), http.StatusPreconditionFailed},
		{"patch missing stays 404", http.MethodPatch, "/docs/b", append([]string{"If-Match", stale}, merge...), http.StatusNotFound},
		{"delete if-match current", http.MethodDelete, "", []string{"If-Match", cur}, http.StatusNoContent},
		{"delete if-match stale", http.MethodDelete, "", []string{"If-Match", stale}, http.StatusPreconditionFailed},
		{"delete missing stays 404", http.MethodDelete, "/docs/b", []string{"If-Match", stale}, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := setup(t, WithClock(clock.Now))
			require.NoError(t, s.Seed("/docs/a", []byte(`{"a":1}`)))
			_, tag, _ := s.Document("/docs/a")
			require.Equal(t, cur, tag)
			p := tt.path
			if p == "" {
				p = "/docs/a"
			}
			body := ""
			if tt.method == http.MethodPut || tt.method == http.MethodPatch {
				body = `{"a":2}`
			}
			res := do(t, s, tt.method, p, body, tt.headers...)
			require.Equal(t, tt.want, res.status, res.body)
			switch tt.want {
			case http.StatusNotModified:
				require.Equal(t, cur, res.header.Get("ETag"))
				require.Empty(t, res.body)
			case http.StatusPreconditionFailed:
				require.Equal(t, ProblemPreconditionFailed, res.problem(t).Type)
				_, after, _ := s.Document("/docs/a")
				require.Equal(t, cur, after, "a failed write changes nothing")
			}
		})
	}
}

func TestConflictStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []Option
		want int
	}{
		{"default", nil, http.StatusPreconditionFailed},
		{"409", []Option{WithConflictStatus(http.StatusConflict)}, http.StatusConflict},
		{"412", []Option{WithConflictStatus(http.StatusPreconditionFailed)}, http.StatusPreconditionFailed},
		{"other ignored", []Option{WithConflictStatus(http.StatusTeapot)}, http.StatusPreconditionFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := setup(t, tt.opts...)
			require.NoError(t, s.Seed("/docs/a", []byte(`{}`)))
			res := do(t, s, http.MethodPut, "/docs/a", `{}`, "If-Match", `"stale"`)
			require.Equal(t, tt.want, res.status)
			p := res.problem(t)
			require.Equal(t, ProblemPreconditionFailed, p.Type)
			require.Equal(t, tt.want, p.Status)
			require.Contains(t, p.Detail, `"stale"`)
			// A read keeps answering 412.
			get := do(t, s, http.MethodGet, "/docs/a", "", "If-Match", `"stale"`)
			require.Equal(t, http.StatusPreconditionFailed, get.status)
		})
	}
}

func TestRequireIfMatch(t *testing.T) {
	t.Parallel()
	merge := []string{"Content-Type", "application/merge-patch+json"}
	tests := []struct {
		name    string
		method  string
		path    string
		headers []string
		want    int
	}{
		{"put without", http.MethodPut, "/docs/a", nil, http.StatusPreconditionRequired},
		{"patch without", http.MethodPatch, "/docs/a", merge, http.StatusPreconditionRequired},
		{"delete without", http.MethodDelete, "/docs/a", nil, http.StatusPreconditionRequired},
		{"create without", http.MethodPut, "/docs/new", nil, http.StatusCreated},
		{"post without", http.MethodPost, "/docs", nil, http.StatusCreated},
		{"get without", http.MethodGet, "/docs/a", nil, http.StatusOK},
		{"patch missing", http.MethodPatch, "/docs/new", merge, http.StatusNotFound},
		{"put if-match", http.MethodPut, "/docs/a", []string{"If-Match", `"1"`}, http.StatusOK},
		{"put if-match stale", http.MethodPut, "/docs/a", []string{"If-Match", `"2"`}, http.StatusPreconditionFailed},
		{"put if-unmodified-since", http.MethodPut, "/docs/a", []string{"If-Unmodified-Since", time.Now().Add(time.Hour).Format(http.TimeFormat)}, http.StatusOK},
		{"delete if-match star", http.MethodDelete, "/docs/a", []string{"If-Match", "*"}, http.StatusNoContent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := setup(t, WithRequireIfMatch())
			require.NoError(t, s.Seed("/docs/a", []byte(`{}`)))
			res := do(t, s, tt.method, tt.path, `{"b":1}`, tt.headers...)
			require.Equal(t, tt.want, res.status, res.body)
			if tt.want == http.StatusPreconditionRequired {
				require.Equal(t, ProblemPreconditionRequired, res.problem(t).Type)
			}
		})
	}
}
