package mock

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDocumentLifecycle(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	s := setup(t, WithClock(clock.Now))

	created := do(t, s, http.MethodPut, "/v1/things/42", `{"a":1}`)
	require.Equal(t, http.StatusCreated, created.status)
	require.Equal(t, `{"a":1}`, created.body)
	require.Equal(t, "application/json", created.header.Get("Content-Type"))
	require.Equal(t, clock.Now().Format(http.TimeFormat), created.header.Get("Last-Modified"))
	require.Regexp(t, `^"\d+"$`, created.header.Get("ETag"))

	got := do(t, s, http.MethodGet, "/v1/things/42", "")
	require.Equal(t, http.StatusOK, got.status)
	require.Equal(t, `{"a":1}`, got.body)
	require.Equal(t, created.header.Get("ETag"), got.header.Get("ETag"))

	head := do(t, s, http.MethodHead, "/v1/things/42", "")
	require.Equal(t, http.StatusOK, head.status)
	require.Empty(t, head.body)
	require.Equal(t, created.header.Get("ETag"), head.header.Get("ETag"))

	replaced := do(t, s, http.MethodPut, "/v1/things/42", `{"a":2}`)
	require.Equal(t, http.StatusOK, replaced.status)
	require.Equal(t, `{"a":2}`, replaced.body)
	require.NotEqual(t, created.header.Get("ETag"), replaced.header.Get("ETag"))

	body, etag, ok := s.Document("/v1/things/42")
	require.True(t, ok)
	require.Equal(t, `{"a":2}`, string(body))
	require.Equal(t, replaced.header.Get("ETag"), etag)

	require.Equal(t, http.StatusNoContent, do(t, s, http.MethodDelete, "/v1/things/42", "").status)
	missing := do(t, s, http.MethodGet, "/v1/things/42", "")
	require.Equal(t, http.StatusNotFound, missing.status)
	require.Equal(t, http.StatusNotFound, missing.problem(t).Status)
	require.Equal(t, http.StatusNotFound, do(t, s, http.MethodHead, "/v1/things/42", "").status)
	require.Equal(t, http.StatusNotFound, do(t, s, http.MethodDelete, "/v1/things/42", "").status)
	_, _, ok = s.Document("/v1/things/42")
	require.False(t, ok)
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	s := setup(t)
	require.NoError(t, s.Seed("/docs/a", []byte(`{"a":1}`)))
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		ctype  string
		want   int
	}{
		{"put not JSON", http.MethodPut, "/docs/a", `{"a":`, "application/json", http.StatusBadRequest},
		{"post not JSON", http.MethodPost, "/docs", `nope`, "application/json", http.StatusBadRequest},
		{"patch wrong type", http.MethodPatch, "/docs/a", `{"a":2}`, "application/json", http.StatusUnsupportedMediaType},
		{"patch not JSON", http.MethodPatch, "/docs/a", `{`, "application/merge-patch+json", http.StatusBadRequest},
		{"patch missing", http.MethodPatch, "/docs/b", `{}`, "application/merge-patch+json", http.StatusNotFound},
		{"options", http.MethodOptions, "/docs/a", "", "", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := do(t, s, tt.method, tt.path, tt.body, "Content-Type", tt.ctype)
			require.Equal(t, tt.want, res.status)
			require.Equal(t, tt.want, res.problem(t).Status)
		})
	}
	require.Error(t, s.Seed("docs/x", []byte(`{}`)))
	require.Error(t, s.Seed("/docs/x", []byte(`{`)))
}

func TestMergePatch(t *testing.T) {
	t.Parallel()
	s := setup(t)
	require.NoError(t, s.Seed("/docs/a", []byte(`{"a":1,"b":{"c":2,"d":3}}`)))
	_, before, _ := s.Document("/docs/a")

	res := do(t, s, http.MethodPatch, "/docs/a", `{"a":null,"b":{"c":5},"e":"x"}`,
		"Content-Type", "application/merge-patch+json; charset=utf-8")
	require.Equal(t, http.StatusOK, res.status)
	require.JSONEq(t, `{"b":{"c":5,"d":3},"e":"x"}`, res.body)
	require.NotEqual(t, before, res.header.Get("ETag"))
	got := do(t, s, http.MethodGet, "/docs/a", "")
	require.JSONEq(t, `{"b":{"c":5,"d":3},"e":"x"}`, got.body)
	require.Equal(t, res.header.Get("ETag"), got.header.Get("ETag"))
}

// TestMergePatchKeepsNullsInArrays checks that an array of a merge patch
// is stored as it is (RFC 7396, section 2), null members of its objects
// included.
func TestMergePatchKeepsNullsInArrays(t *testing.T) {
	t.Parallel()
	s := setup(t)
	require.NoError(t, s.Seed("/docs/a", []byte(`{"a":[1],"b":1}`)))

	res := do(t, s, http.MethodPatch, "/docs/a", `{"a":[{"x":null,"y":1},null],"b":null}`,
		"Content-Type", "application/merge-patch+json")
	require.Equal(t, http.StatusOK, res.status)
	require.JSONEq(t, `{"a":[{"x":null,"y":1},null]}`, res.body)
	got := do(t, s, http.MethodGet, "/docs/a", "")
	require.JSONEq(t, `{"a":[{"x":null,"y":1},null]}`, got.body)
	stored, _, ok := s.Document("/docs/a")
	require.True(t, ok)
	require.JSONEq(t, `{"a":[{"x":null,"y":1},null]}`, string(stored))
}

func TestPostCreatesInCollection(t *testing.T) {
	t.Parallel()
	s := setup(t)
	require.NoError(t, s.Seed("/docs/1", []byte(`{"taken":true}`)))

	res := do(t, s, http.MethodPost, "/docs/", `{"n":1}`)
	require.Equal(t, http.StatusCreated, res.status)
	require.Equal(t, "/docs/2", res.header.Get("Location"), "an id in use is skipped")
	require.Equal(t, `{"n":1}`, res.body)

	got := do(t, s, http.MethodGet, res.header.Get("Location"), "")
	require.Equal(t, http.StatusOK, got.status)
	require.Equal(t, res.header.Get("ETag"), got.header.Get("ETag"))
	require.Equal(t, "/docs/3", do(t, s, http.MethodPost, "/docs", `{}`).header.Get("Location"))
}

func TestETagChangesOnEveryWrite(t *testing.T) {
	t.Parallel()
	s := setup(t)
	seen := map[string]bool{}
	add := func(res result) {
		t.Helper()
		tag := res.header.Get("ETag")
		require.NotEmpty(t, tag)
		require.False(t, seen[tag], "ETag %s reused", tag)
		seen[tag] = true
	}
	add(do(t, s, http.MethodPut, "/docs/a", `{"v":1}`))
	add(do(t, s, http.MethodPut, "/docs/a", `{"v":1}`)) // same content, still a new tag
	add(do(t, s, http.MethodPatch, "/docs/a", `{}`, "Content-Type", "application/merge-patch+json"))
	add(do(t, s, http.MethodPost, "/docs", `{"v":2}`))
	do(t, s, http.MethodDelete, "/docs/a", "")
	add(do(t, s, http.MethodPut, "/docs/a", `{"v":1}`))
	s.Reset()
	add(do(t, s, http.MethodPut, "/docs/a", `{"v":1}`))
}
