package mock

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// rev reads the string member name of the JSON object body.
func rev(t *testing.T, body string, name string) string {
	t.Helper()
	var obj map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &obj))
	s, _ := obj[name].(string)
	return s
}

func TestVersionFieldCouchDB(t *testing.T) {
	t.Parallel()
	s := setup(t, WithVersionField("/_rev"))
	created := do(t, s, http.MethodPut, "/db/a", `{"n":1}`)
	require.Equal(t, http.StatusCreated, created.status)
	r1 := rev(t, created.body, "_rev")
	require.Regexp(t, `^1-[0-9a-f]{32}$`, r1)
	require.NotEmpty(t, created.header.Get("ETag"))

	got := do(t, s, http.MethodGet, "/db/a", "")
	require.JSONEq(t, `{"n":1,"_rev":"`+r1+`"}`, got.body)

	tests := []struct {
		name string
		body string
	}{
		{"missing", `{"n":2}`},
		{"stale", `{"n":2,"_rev":"0-00"}`},
		{"not a string", `{"n":2,"_rev":1}`},
	}
	for _, tt := range tests {
		res := do(t, s, http.MethodPut, "/db/a", tt.body)
		require.Equal(t, http.StatusConflict, res.status, tt.name)
		require.Equal(t, ProblemVersionConflict, res.problem(t).Type, tt.name)
	}

	updated := do(t, s, http.MethodPut, "/db/a", `{"n":2,"_rev":"`+r1+`"}`)
	require.Equal(t, http.StatusOK, updated.status, updated.body)
	r2 := rev(t, updated.body, "_rev")
	require.Regexp(t, `^2-[0-9a-f]{32}$`, r2)
	require.JSONEq(t, `{"n":2,"_rev":"`+r2+`"}`, updated.body)
	stale := do(t, s, http.MethodPut, "/db/a", `{"n":3,"_rev":"`+r1+`"}`)
	require.Equal(t, http.StatusConflict, stale.status)

	require.Equal(t, http.StatusConflict, do(t, s, http.MethodPut, "/db/b", `{"_rev":"`+r2+`"}`).status,
		"a creation carries no version")
	require.Equal(t, http.StatusBadRequest, do(t, s, http.MethodPut, "/db/b", `[1]`).status)
	require.Equal(t, http.StatusCreated, do(t, s, http.MethodPost, "/db", `{"x":1}`).status)
	require.Error(t, s.Seed("/db/c", []byte(`"text"`)))
}

func TestCouchDBResponses(t *testing.T) {
	t.Parallel()
	s := setup(t, WithVersionField("/_rev"), WithVersionQuery("rev"), WithCouchDBResponses())
	created := do(t, s, http.MethodPut, "/db/doc1", `{"n":1}`)
	require.Equal(t, http.StatusCreated, created.status)
	var ans struct {
		OK  bool   `json:"ok"`
		ID  string `json:"id"`
		Rev string `json:"rev"`
	}
	require.NoError(t, json.Unmarshal([]byte(created.body), &ans))
	require.True(t, ans.OK)
	require.Equal(t, "doc1", ans.ID)
	require.Equal(t, ans.Rev, created.header.Get("X-Version"))

	updated := do(t, s, http.MethodPut, "/db/doc1?rev="+ans.Rev, `{"n":2,"_rev":"`+ans.Rev+`"}`)
	require.Equal(t, http.StatusCreated, updated.status, updated.body)
	r2 := rev(t, updated.body, "rev")
	require.Regexp(t, `^2-`, r2)

	require.Equal(t, http.StatusPreconditionFailed, do(t, s, http.MethodDelete, "/db/doc1?rev="+ans.Rev, "").status)
	deleted := do(t, s, http.MethodDelete, "/db/doc1?rev="+r2, "")
	require.Equal(t, http.StatusOK, deleted.status)
	require.Regexp(t, `^3-`, rev(t, deleted.body, "rev"))
	require.Equal(t, "doc1", rev(t, deleted.body, "id"))
}

func TestVersionFieldKubernetes(t *testing.T) {
	t.Parallel()
	s := setup(t, WithVersionField("/metadata/resourceVersion"), WithoutETags(), WithConflictRepresentation())
	merge := []string{"Content-Type", "application/merge-patch+json"}
	created := do(t, s, http.MethodPost, "/api/v1/configmaps", `{"data":{"a":"1"}}`)
	require.Equal(t, http.StatusCreated, created.status)
	require.Empty(t, created.header.Get("ETag"))
	loc := created.header.Get("Location")
	var obj struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	require.NoError(t, json.Unmarshal([]byte(created.body), &obj))
	rv := obj.Metadata.ResourceVersion
	require.NotEmpty(t, rv)

	patched := do(t, s, http.MethodPatch, loc, `{"data":{"b":"2"}}`, merge...)
	require.Equal(t, http.StatusOK, patched.status, "a patch without a version is unconditional")
	stale := do(t, s, http.MethodPatch, loc, `{"metadata":{"resourceVersion":"`+rv+`"},"data":{"c":"3"}}`, merge...)
	require.Equal(t, http.StatusConflict, stale.status)
	require.Equal(t, "application/json", stale.header.Get("Content-Type"), "the conflict carries the document")
	require.Equal(t, patched.body, stale.body)

	require.NoError(t, json.Unmarshal([]byte(patched.body), &obj))
	ok := do(t, s, http.MethodPatch, loc, `{"metadata":{"resourceVersion":"`+obj.Metadata.ResourceVersion+`"},"data":{"c":"3"}}`, merge...)
	require.Equal(t, http.StatusOK, ok.status)
	require.Contains(t, ok.body, `"c":"3"`)
	require.NotContains(t, ok.body, obj.Metadata.ResourceVersion)
}

func TestVersionQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   []Option
		method string
		query  string // "CUR" stands for the current version
		path   string
		want   int
	}{
		{"put current", nil, http.MethodPut, "?rev=CUR", "/docs/a", http.StatusOK},
		{"put stale", nil, http.MethodPut, "?rev=0", "/docs/a", http.StatusPreconditionFailed},
		{"put stale 409", []Option{WithConflictStatus(http.StatusConflict)}, http.MethodPut, "?rev=0", "/docs/a", http.StatusConflict},
		{"put missing", nil, http.MethodPut, "", "/docs/a", http.StatusPreconditionRequired},
		{"patch current", nil, http.MethodPatch, "?rev=CUR", "/docs/a", http.StatusOK},
		{"patch stale", nil, http.MethodPatch, "?rev=0", "/docs/a", http.StatusPreconditionFailed},
		{"delete current", nil, http.MethodDelete, "?rev=CUR", "/docs/a", http.StatusNoContent},
		{"delete stale", nil, http.MethodDelete, "?rev=0", "/docs/a", http.StatusPreconditionFailed},
		{"create", nil, http.MethodPut, "", "/docs/b", http.StatusCreated},
		{"create with version", nil, http.MethodPut, "?rev=1", "/docs/b", http.StatusPreconditionFailed},
		{"etcd style", []Option{WithVersionQuery("prevIndex")}, http.MethodPut, "?prevIndex=CUR", "/docs/a", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := setup(t, append([]Option{WithVersionQuery("rev")}, tt.opts...)...)
			require.NoError(t, s.Seed("/docs/a", []byte(`{}`)))
			got := do(t, s, http.MethodGet, "/docs/a", "")
			cur := got.header.Get("X-Version")
			require.Equal(t, "1", cur)
			q := tt.query
			if q != "" && q[len(q)-3:] == "CUR" {
				q = q[:len(q)-3] + cur
			}
			res := do(t, s, tt.method, tt.path+q, `{"x":1}`, "Content-Type", "application/merge-patch+json")
			require.Equal(t, tt.want, res.status, res.body)
			if res.status == http.StatusOK || res.status == http.StatusCreated {
				require.NotEqual(t, cur, res.header.Get("X-Version"))
				require.NotEmpty(t, res.header.Get("X-Version"))
			}
			if res.status == http.StatusPreconditionFailed || res.status == http.StatusConflict {
				require.Equal(t, ProblemVersionConflict, res.problem(t).Type)
			}
		})
	}
}

func TestVersionFieldPointer(t *testing.T) {
	t.Parallel()
	require.Panics(t, func() { Handler(WithVersionField("_rev")) })
}
