package jsonmerge

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLookup covers what Lookup finds, and what it does not.
func TestLookup(t *testing.T) {
	t.Parallel()
	doc := `{"a":{"b" : [1, 2], "c":{"d":null}}, "x/y":1, "m~n":2, "\u00e9":3, "":4, "l":[{"z":1}]}`
	tests := []struct {
		pointer string
		want    string // the value found, or "-" for none
	}{
		{"", `{"a":{"b":[1,2],"c":{"d":null}},"x/y":1,"m~n":2,"\u00e9":3,"":4,"l":[{"z":1}]}`},
		{"/a", `{"b":[1,2],"c":{"d":null}}`},
		{"/a/b", `[1,2]`},
		{"/a/c/d", `null`},
		{"/x~1y", `1`},
		{"/m~0n", `2`},
		{"/é", `3`},
		{"/", `4`},
		{"/missing", "-"},
		{"/a/missing", "-"},
		{"/a/b/0", "-"}, // arrays are not addressed
		{"/l/0/z", "-"},
		{"/a/c/d/e", "-"}, // through a scalar
		{"/x/y", "-"},
	}
	for _, tt := range tests {
		got, ok, err := Lookup([]byte(doc), tt.pointer)
		require.NoError(t, err, "%q", tt.pointer)
		if tt.want == "-" {
			require.False(t, ok, "%q", tt.pointer)
			require.Nil(t, got, "%q", tt.pointer)
			continue
		}
		require.True(t, ok, "%q", tt.pointer)
		require.Equal(t, tt.want, string(got), "%q", tt.pointer)
	}
}

// TestLookupLargeObject finds members of an object over smallJSONObject
// members, through its sorted index.
func TestLookupLargeObject(t *testing.T) {
	t.Parallel()
	var members []string
	for i := range 30 {
		members = append(members, fmt.Sprintf(`"k%02d":%d`, 29-i, 29-i))
	}
	doc := []byte("{" + strings.Join(members, ",") + "}")
	for i := range 30 {
		got, ok, err := Lookup(doc, fmt.Sprintf("/k%02d", i))
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, fmt.Sprint(i), string(got))
	}
}

// TestLookupErrors checks that Lookup rejects what is not JSON and what
// is not a JSON Pointer.
func TestLookupErrors(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{``, `{`, `{"a":1,"a":2}`, "\"\xff\"", `1 2`} {
		got, ok, err := Lookup([]byte(doc), "/a")
		require.ErrorIs(t, err, ErrNotJSON, "%q", doc)
		require.False(t, ok)
		require.Nil(t, got)
	}
	got, ok, err := Lookup([]byte(`{"a":1}`), "a")
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrNotJSON)
	require.True(t, strings.HasPrefix(err.Error(), "optimist: "), err.Error())
	require.False(t, ok)
	require.Nil(t, got)
}
