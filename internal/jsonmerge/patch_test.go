package jsonmerge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/stretchr/testify/require"
)

// TestCreatePatch covers each rule of CreatePatch, with the exact text of
// each patch.
func TestCreatePatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		from, to string
		want     string // the patch, byte for byte, unless null
		null     bool   // the patch would have to set a member to null
	}{
		{name: "unchanged", from: `{"a":1,"o":{"x":[1]}}`, to: `{"a":1,"o":{"x":[1]}}`, want: `{}`},
		{name: "semantically equal", from: `{"a":1.0,"s":"\u0041","o":{"x":1,"y":2}}`, to: ` { "o" : {"y":2,"x":1e0}, "s":"A", "a":1 } `, want: `{}`},
		{name: "empty objects", from: `{}`, to: `{}`, want: `{}`},
		{name: "changed member", from: `{"a":1,"b":2}`, to: `{"a":1,"b":3}`, want: `{"b":3}`},
		{name: "added member", from: `{"a":1}`, to: `{"a":1,"b":{"c":[true]}}`, want: `{"b":{"c":[true]}}`},
		{name: "deleted member", from: `{"a":1,"b":2}`, to: `{"a":1}`, want: `{"b":null}`},
		{name: "deletions first, in from's order", from: `{"a":1,"b":2,"c":3}`, to: `{"d":4,"c":3,"e":5}`, want: `{"a":null,"b":null,"d":4,"e":5}`},
		{name: "nested objects", from: `{"o":{"x":1,"y":2,"p":{"q":1,"r":1}},"k":1}`, to: `{"o":{"x":1,"y":3,"z":4,"p":{"q":2}},"k":1}`,
			want: `{"o":{"y":3,"z":4,"p":{"r":null,"q":2}}}`},
		{name: "arrays are atomic", from: `{"l":[1,2,{"a":1}]}`, to: `{"l":[1,3,{"a":1}]}`, want: `{"l":[1,3,{"a":1}]}`},
		{name: "arrays may hold null", from: `{"l":[1]}`, to: `{"l":[null,{"a":null}]}`, want: `{"l":[null,{"a":null}]}`},
		{name: "object replaced by a scalar", from: `{"o":{"x":1}}`, to: `{"o":7}`, want: `{"o":7}`},
		{name: "scalar replaced by an object", from: `{"o":7}`, to: `{"o":{"x":1}}`, want: `{"o":{"x":1}}`},
		{name: "array replaced by an object", from: `{"o":[1]}`, to: `{"o":{"x":1}}`, want: `{"o":{"x":1}}`},
		{name: "values keep to's text", from: `{"n":1,"s":"x"}`, to: `{"n":1.50, "s" : [ 1 , "a b" ], "m":12345678901234567890}`,
			want: `{"n":1.50,"s":[ 1 , "a b" ],"m":12345678901234567890}`},
		{name: "names keep to's text", from: `{"\u0061":1,"b":1}`, to: `{"a":2,"\u0062":1}`, want: `{"a":2}`},
		{name: "deleted names keep from's text", from: `{"\u0061":1}`, to: `{}`, want: `{"\u0061":null}`},
		{name: "member set to null", from: `{"a":1}`, to: `{"a":null}`, null: true},
		{name: "member added as null", from: `{}`, to: `{"a":null}`, null: true},
		{name: "null deep in an added object", from: `{"o":7}`, to: `{"o":{"x":{"y":null}}}`, null: true},
		{name: "null deep in a changed object", from: `{"o":{"x":{"y":1}}}`, to: `{"o":{"x":{"y":null}}}`, null: true},
		{name: "null kept unchanged", from: `{"a":null,"b":1}`, to: `{"a":null,"b":2}`, want: `{"b":2}`},
		{name: "to an array", from: `{"a":1}`, to: ` [1, 2] `, want: ` [1, 2] `},
		{name: "from an array", from: `[1]`, to: `{"a":1}`, want: `{"a":1}`},
		{name: "scalars", from: `"x"`, to: ` "y" `, want: ` "y" `},
		{name: "from null", from: `null`, to: `{ "a" : 1 }`, want: `{ "a" : 1 }`},
		{name: "from empty", from: ``, to: `{"a":1}`, want: `{"a":1}`},
		{name: "from not JSON", from: `<html>`, to: `{"a":1}`, want: `{"a":1}`},
		{name: "to not JSON", from: `{"a":1}`, to: `{"a":`, want: `{"a":`},
		{name: "to null", from: `{"a":1}`, to: `null`, null: true},
		{name: "to an object holding null, from not an object", from: `[1]`, to: `{"a":{"b":null}}`, null: true},
		{name: "to an array holding null, from not an object", from: `1`, to: `[null]`, want: `[null]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := CreatePatch([]byte(tt.from), []byte(tt.to))
			if tt.null {
				require.ErrorIs(t, err, errNullNotExpressible)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, string(got))
		})
	}
}

// TestCreatePatchLargeObjects checks objects over smallJSONObject
// members, whose members are found through their sorted index.
func TestCreatePatchLargeObjects(t *testing.T) {
	t.Parallel()
	var from, to, want []string
	for i := range 40 {
		from = append(from, fmt.Sprintf(`"k%02d":%d`, i, i))
		switch {
		case i%10 == 3: // deleted
			want = append(want, fmt.Sprintf(`"k%02d":null`, i))
		case i%10 == 5: // changed
			to = append(to, fmt.Sprintf(`"k%02d":"x"`, i))
		default:
			to = append(to, fmt.Sprintf(`"k%02d":%d`, i, i))
		}
	}
	for i := 39; i >= 0; i-- {
		if i%10 == 5 {
			want = append(want, fmt.Sprintf(`"k%02d":"x"`, i))
		}
	}
	for l, r := 0, len(to)-1; l < r; l, r = l+1, r-1 { // to in reverse order
		to[l], to[r] = to[r], to[l]
	}
	got, err := CreatePatch([]byte("{"+strings.Join(from, ",")+"}"), []byte("{"+strings.Join(to, ",")+"}"))
	require.NoError(t, err)
	require.Equal(t, "{"+strings.Join(want, ",")+"}", string(got))
}

// TestCreatePatchRFC7396AppendixA checks that the patch CreatePatch makes
// from each example's target to its result turns the one into the other.
func TestCreatePatchRFC7396AppendixA(t *testing.T) {
	t.Parallel()
	examples := appendixA(t)
	for i, ex := range examples {
		patch, err := CreatePatch(ex.Target, ex.Result)
		if bytes.Equal(ex.Result, []byte("null")) {
			// A merge patch can only say null by being null, and null
			// is not a value CreatePatch sets.
			require.ErrorIs(t, err, errNullNotExpressible, "example %d", i+1)
			continue
		}
		require.NoError(t, err, "example %d", i+1)
		got, err := jsonpatch.MergePatch(ex.Target, patch)
		require.NoError(t, err, "example %d", i+1)
		requireSameJSON(t, string(ex.Result), got)
	}
}

// TestCreatePatchProperties checks CreatePatch on generated documents
// against the encoding/json implementation it replaced, and that applying
// each patch (as RFC 7396 says) gives the target.
func TestCreatePatchProperties(t *testing.T) {
	t.Parallel()
	made, null := 0, 0
	for i, c := range generateMergeCases(7, 1500) {
		for _, pair := range [...][2][]byte{{c.base, c.ours}, {c.ours, c.theirs}} {
			if checkCreatePatch(t, pair[0], pair[1]) {
				made++
			} else {
				null++
			}
			if t.Failed() {
				t.Fatalf("case %d: from %s\nto %s", i, pair[0], pair[1])
			}
		}
	}
	// Both outcomes must be common for the checks to mean much.
	require.Greater(t, made, 1000)
	require.Greater(t, null, 300)
}

// checkCreatePatch checks one patch between oracle-safe documents, and
// reports whether one could be made.
func checkCreatePatch(t testing.TB, from, to []byte) bool {
	t.Helper()
	got, err := CreatePatch(from, to)
	want, wantErr := refCreatePatch(from, to)
	if wantErr != nil {
		require.ErrorIs(t, err, errNullNotExpressible)
		return false
	}
	require.NoError(t, err)
	require.True(t, oracleEqual(mustOracleDecode(t, want), mustOracleDecode(t, got)), "want %s\n got %s", want, got)
	require.True(t, json.Valid(got), "%s", got)
	applied := refApplyPatch(mustOracleDecode(t, from), mustOracleDecode(t, got))
	require.True(t, oracleEqual(mustOracleDecode(t, to), applied), "patch %s does not give %s", got, to)
	return true
}

// FuzzCreatePatch checks CreatePatch against the encoding/json
// implementation it replaced, and that the patch turns from into to.
func FuzzCreatePatch(f *testing.F) {
	for _, c := range generateMergeCases(98, 20) {
		f.Add(c.base, c.ours)
	}
	for _, s := range [][2]string{
		{`{"a":1}`, `{"a":2}`}, {`{"a":{"b":1}}`, `{}`}, {`{"a":1}`, `{"a":null}`}, {`[1]`, `{"a":[null]}`},
		{`{"o":{"p":{"q":1}}}`, `{"o":{"p":{"q":1,"r":2}}}`}, {`{"n":1}`, `{"n":1.0}`}, {`{"\u0061":1}`, `{"a":1}`},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, from, to []byte) {
		for _, doc := range [][]byte{from, to} {
			// Only documents both implementations read alike: JSON
			// encoding/json decodes exactly, without repeated names.
			if len(doc) > 0 && (!json.Valid(doc) || !oracleSafe(doc) || hasRepeatedNames(doc)) {
				return
			}
		}
		if len(to) == 0 {
			return
		}
		checkCreatePatch(t, from, to)
	})
}

// refApplyPatch applies a decoded merge patch to a decoded target as
// RFC 7396, section 2 says. (json-patch's MergePatch also drops null
// members of objects inside arrays of the patch, which the RFC keeps.)
func refApplyPatch(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	out := make(map[string]any)
	if tm, ok := target.(map[string]any); ok {
		maps.Copy(out, tm)
	}
	for k, v := range pm {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = refApplyPatch(out[k], v)
	}
	return out
}

// refCreatePatch is the implementation CreatePatch replaced, over
// encoding/json maps, kept as the reference it must agree with.
func refCreatePatch(from, to []byte) ([]byte, error) {
	var fromObj, toObj map[string]json.RawMessage
	if json.Unmarshal(from, &fromObj) != nil || json.Unmarshal(to, &toObj) != nil ||
		fromObj == nil || toObj == nil {
		if refHasNull(to) {
			return nil, errNullNotExpressible
		}
		return to, nil
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	member := func(name string, value []byte) {
		if !first {
			buf.WriteByte(',')
		}
		first = false
		key, _ := json.Marshal(name)
		buf.Write(key)
		buf.WriteByte(':')
		buf.Write(value)
	}
	for name := range fromObj {
		if _, ok := toObj[name]; !ok {
			member(name, []byte("null"))
		}
	}
	for name, value := range toObj {
		old, ok := fromObj[name]
		if ok && oracleEqual(mustDecodeRef(old), mustDecodeRef(value)) {
			continue
		}
		if !ok || refIsObject(value) != refIsObject(old) || !refIsObject(value) {
			if refHasNull(value) {
				return nil, errNullNotExpressible
			}
			member(name, value)
			continue
		}
		sub, err := refCreatePatch(old, value)
		if err != nil {
			return nil, err
		}
		member(name, sub)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func mustDecodeRef(raw []byte) any {
	v, err := oracleDecode(raw)
	if err != nil {
		panic(err)
	}
	return v
}

func refIsObject(raw []byte) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == '{'
}

func refHasNull(v []byte) bool {
	v = bytes.TrimSpace(v)
	if bytes.Equal(v, []byte("null")) {
		return true
	}
	if !refIsObject(v) {
		return false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(v, &obj) != nil {
		return false
	}
	for _, m := range obj {
		if refHasNull(m) {
			return true
		}
	}
	return false
}
