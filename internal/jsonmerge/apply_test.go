package jsonmerge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/stretchr/testify/require"
)

// Tests of ApplyPatch: its rules, RFC 7396 Appendix A, and properties
// checked against CreatePatch, the reference application refApplyPatch
// (patch_test.go) and json-patch's MergePatch.

// TestApplyPatch covers each rule of ApplyPatch, with the exact text of
// each result.
func TestApplyPatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		doc, patch string
		want       string // byte for byte
	}{
		{name: "empty patch", doc: `{"a":1,"b":[2]}`, patch: `{}`, want: `{"a":1,"b":[2]}`},
		{name: "changed member", doc: `{"a":1,"b":2}`, patch: `{"b":3}`, want: `{"a":1,"b":3}`},
		{name: "deleted member", doc: `{"a":1,"b":2,"c":3}`, patch: `{"b":null}`, want: `{"a":1,"c":3}`},
		{name: "deleting an absent member", doc: `{"a":1}`, patch: `{"z":null}`, want: `{"a":1}`},
		{name: "doc's order, then the patch's", doc: `{"c":1,"a":2,"b":3}`, patch: `{"z":0,"b":4,"y":5,"c":null}`,
			want: `{"a":2,"b":4,"z":0,"y":5}`},
		{name: "null members of a document stay", doc: `{"e":null}`, patch: `{"a":1}`, want: `{"e":null,"a":1}`},
		{name: "nested objects", doc: `{"o":{"x":1,"y":2,"p":{"q":1,"r":1}},"k":1}`, patch: `{"o":{"y":3,"z":4,"p":{"r":null,"q":2}}}`,
			want: `{"o":{"x":1,"y":3,"p":{"q":2},"z":4},"k":1}`},
		{name: "nulls pruned from an added object", doc: `{}`, patch: `{"a":{"b":null,"c":{"d":null,"e":1}}}`, want: `{"a":{"c":{"e":1}}}`},
		{name: "nulls pruned from an object replacing a scalar", doc: `{"a":7}`, patch: `{"a":{"b":null,"c":1}}`, want: `{"a":{"c":1}}`},
		{name: "object replacing an array", doc: `{"a":[1]}`, patch: `{"a":{"b":1}}`, want: `{"a":{"b":1}}`},
		{name: "scalar replacing an object", doc: `{"a":{"b":1}}`, patch: `{"a":true}`, want: `{"a":true}`},
		{name: "arrays are replaced whole", doc: `{"a":[1,2,{"b":1}]}`, patch: `{"a":[3]}`, want: `{"a":[3]}`},
		// RFC 7396, section 2: an array in a patch is a value, written as
		// it is; json-patch's MergePatch drops the null members of its
		// objects.
		{name: "null member of an object in an array", doc: `{"a":[1]}`, patch: `{"a":[{"x":null,"y":1}]}`, want: `{"a":[{"x":null,"y":1}]}`},
		{name: "null in an array", doc: `{"a":[1]}`, patch: `{"a":[null]}`, want: `{"a":[null]}`},
		{name: "nulls deep in arrays", doc: `{}`, patch: `{"a":{"b":[[{"c":{"d":null}}],null]}}`, want: `{"a":{"b":[[{"c":{"d":null}}],null]}}`},
		{name: "added array with null members", doc: `{"tags":[]}`, patch: `{"n":1,"tags":[{"x":null,"y":1}]}`, want: `{"tags":[{"x":null,"y":1}],"n":1}`},
		{name: "array patch holding an object with null", doc: `{"a":1}`, patch: `[{"x":null},null]`, want: `[{"x":null},null]`},
		{name: "patch is null", doc: `{"a":1}`, patch: `null`, want: `null`},
		{name: "patch is a scalar", doc: `{"a":1}`, patch: ` "s" `, want: `"s"`},
		{name: "patch is an array", doc: `[1,2]`, patch: ` [ 3 , 4 ] `, want: `[3,4]`},
		{name: "doc is an array", doc: `[1,2]`, patch: `{"a":"b","c":null}`, want: `{"a":"b"}`},
		{name: "doc is a scalar", doc: `1`, patch: `{"a":1}`, want: `{"a":1}`},
		{name: "doc is null", doc: `null`, patch: `{"a":1,"b":null}`, want: `{"a":1}`},
		{name: "compact output", doc: " {\n \"a\" : [ 1, 2 ] ,\t\"b\" : { \"c\" : \"x y\" } } ", patch: ` { "b" : { "d" : 1 } } `,
			want: `{"a":[1,2],"b":{"c":"x y","d":1}}`},
		{name: "values keep their text", doc: `{"n":1.50,"s":"\u0041"}`, patch: `{"m":12345678901234567890,"e":1E400}`,
			want: `{"n":1.50,"s":"\u0041","m":12345678901234567890,"e":1E400}`},
		{name: "names match by decoded text, doc's spelling kept", doc: `{"\u0061":1,"b":{"c":1}}`, patch: `{"a":2,"\u0062":{"\u0063":null}}`,
			want: `{"\u0061":2,"b":{}}`},
		{name: "added names keep the patch's spelling", doc: `{}`, patch: `{"\u0061":1}`, want: `{"\u0061":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ApplyPatch([]byte(tt.doc), []byte(tt.patch))
			require.NoError(t, err)
			require.Equal(t, tt.want, string(got))
			require.True(t, json.Valid(got), "%s", got)
		})
	}
}

// TestApplyPatchLargeObjects checks objects over smallJSONObject members,
// whose members are found through their sorted index, and documents large
// enough that their deeper objects are parsed on demand.
func TestApplyPatchLargeObjects(t *testing.T) {
	t.Parallel()
	var doc, patch, want []string
	for i := range 40 {
		doc = append(doc, fmt.Sprintf(`"k%02d":%d`, i, i))
		switch {
		case i%10 == 3: // deleted
			patch = append(patch, fmt.Sprintf(`"k%02d":null`, i))
		case i%10 == 5: // changed
			patch = append(patch, fmt.Sprintf(`"k%02d":"x"`, i))
			want = append(want, fmt.Sprintf(`"k%02d":"x"`, i))
		default:
			want = append(want, fmt.Sprintf(`"k%02d":%d`, i, i))
		}
	}
	for i := 30; i < 40; i++ { // added
		patch = append(patch, fmt.Sprintf(`"n%02d":[{"x":null}]`, i))
	}
	for l, r := 0, len(patch)-1; l < r; l, r = l+1, r-1 { // the patch in reverse order
		patch[l], patch[r] = patch[r], patch[l]
	}
	for i := 39; i >= 30; i-- { // added members follow, in the patch's order
		want = append(want, fmt.Sprintf(`"n%02d":[{"x":null}]`, i))
	}
	obj := func(m []string) string { return "{" + strings.Join(m, ",") + "}" }
	got, err := ApplyPatch([]byte(obj(doc)), []byte(obj(patch)))
	require.NoError(t, err)
	require.Equal(t, obj(want), string(got))

	// The same objects three levels down in a document over
	// shallowJSONSize.
	filler := `"filler":"` + strings.Repeat("x", shallowJSONSize) + `"`
	deep := func(inner string) string { return `{"a":{"b":{"c":` + inner + `}},` + filler + `}` }
	got, err = ApplyPatch([]byte(deep(obj(doc))), []byte(`{"a":{"b":{"c":`+obj(patch)+`}}}`))
	require.NoError(t, err)
	require.Equal(t, deep(obj(want)), string(got))
}

// TestApplyPatchRFC7396AppendixA checks the merge-patch examples of RFC
// 7396: ApplyPatch gives each result, from the target and from a target
// that also gained an unrelated member.
func TestApplyPatchRFC7396AppendixA(t *testing.T) {
	t.Parallel()
	examples := appendixA(t)
	for i, ex := range examples {
		t.Run(fmt.Sprintf("A%d", i+1), func(t *testing.T) {
			t.Parallel()
			got, err := ApplyPatch(ex.Target, ex.Patch)
			require.NoError(t, err, "example %d", i+1)
			requireSameJSON(t, string(ex.Result), got)
			require.Equal(t, string(compactJSON(t, got)), string(got), "the result is compact")

			theirs, ok := withMember(ex.Target, `"theirs"`, `[true]`)
			if !ok {
				return
			}
			if want, ok := withMember(ex.Result, `"theirs"`, `[true]`); ok {
				patched, err := ApplyPatch(theirs, ex.Patch)
				require.NoError(t, err)
				requireSameJSON(t, string(want), patched)
			}
		})
	}
}

// TestApplyPatchInvalidJSON checks that a document or patch that is not
// JSON, by the rules of Merge, gives ErrNotJSON, saying which it was.
func TestApplyPatchInvalidJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc, patch, side string
	}{
		{name: "empty document", doc: ``, patch: `{}`, side: "document"},
		{name: "document syntax", doc: `{"a":`, patch: `{}`, side: "document"},
		{name: "empty patch", doc: `{}`, patch: ``, side: "patch"},
		{name: "patch syntax", doc: `{}`, patch: `{"a":1,}`, side: "patch"},
		{name: "data after the patch", doc: `{}`, patch: `{} {}`, side: "patch"},
		{name: "repeated name", doc: `{"a":1,"a":2}`, patch: `{}`, side: "document"},
		{name: "repeated name in the patch", doc: `{}`, patch: `{"a":1,"\u0061":2}`, side: "patch"},
		{name: "invalid UTF-8", doc: `{}`, patch: "\"\xff\"", side: "patch"},
		{name: "too deep", doc: strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1), patch: `{}`, side: "document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ApplyPatch([]byte(tt.doc), []byte(tt.patch))
			require.ErrorIs(t, err, ErrNotJSON)
			require.Nil(t, got)
			require.Contains(t, err.Error(), "optimist: applying a merge patch: "+tt.side+": ")
		})
	}
}

// TestApplyPatchProperties checks ApplyPatch on generated documents: each
// patch CreatePatch makes gives its target, and any document read as a
// patch gives what RFC 7396 says and, without nulls in objects inside
// arrays, what json-patch's MergePatch gives.
func TestApplyPatchProperties(t *testing.T) {
	t.Parallel()
	roundTrips, agreed := 0, 0
	for i, c := range generateMergeCases(11, 1500) {
		for _, pair := range [...][2][]byte{{c.base, c.ours}, {c.ours, c.theirs}} {
			if len(pair[0]) == 0 {
				continue // an unknown base
			}
			if checkApplyCreatedPatch(t, pair[0], pair[1]) {
				roundTrips++
			}
			if checkApplyPatch(t, pair[0], pair[1]) {
				agreed++
			}
			if t.Failed() {
				t.Fatalf("case %d: from %s\nto %s", i, pair[0], pair[1])
			}
		}
	}
	require.Greater(t, roundTrips, 1000)
	require.Greater(t, agreed, 1000)
}

// checkApplyCreatedPatch checks that the patch CreatePatch makes from from
// to to turns from into to, and reports whether there was one.
func checkApplyCreatedPatch(t testing.TB, from, to []byte) bool {
	t.Helper()
	patch, err := CreatePatch(from, to)
	if err != nil {
		require.ErrorIs(t, err, errNullNotExpressible)
		return false
	}
	got, err := ApplyPatch(from, patch)
	require.NoError(t, err, "patch %s", patch)
	require.True(t, Equal(to, got), "patch %s\nwant %s\n got %s", patch, to, got)
	return true
}

// checkApplyPatch applies patch to doc, both oracle-safe JSON, and checks
// the result against refApplyPatch and, when the patch has no null member
// in an object inside an array and doc is not null, against json-patch's
// MergePatch. It reports whether json-patch was compared.
func checkApplyPatch(t testing.TB, doc, patch []byte) bool {
	t.Helper()
	got, err := ApplyPatch(doc, patch)
	require.NoError(t, err)
	require.True(t, json.Valid(got), "%s", got)
	require.Equal(t, string(compactJSON(t, got)), string(got), "the result is compact")
	want := refApplyPatch(mustOracleDecode(t, doc), mustOracleDecode(t, patch))
	require.True(t, oracleEqual(want, mustOracleDecode(t, got)), "patch %s\nto %s\ngot %s", patch, doc, got)
	if nullInArrayObject(mustOracleDecode(t, patch), false) || bytes.Equal(bytes.TrimSpace(doc), []byte("null")) {
		return false // json-patch drops those nulls, and rejects a null document
	}
	theirs, err := jsonpatch.MergePatch(doc, patch)
	require.NoError(t, err)
	require.True(t, Equal(theirs, got), "patch %s\nto %s\njson-patch %s\ngot %s", patch, doc, theirs, got)
	return true
}

// nullInArrayObject reports whether decoded v has an object with a null
// member inside an array (inArray: v itself is inside one).
func nullInArrayObject(v any, inArray bool) bool {
	switch v := v.(type) {
	case map[string]any:
		for _, m := range v {
			if m == nil && inArray || nullInArrayObject(m, inArray) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if nullInArrayObject(e, true) {
				return true
			}
		}
	}
	return false
}

// FuzzApplyPatch checks that the patch CreatePatch makes from from to to
// turns from into to, and that to, read as a patch of from, gives what RFC
// 7396 says and (without nulls in objects inside arrays) what json-patch's
// MergePatch gives.
func FuzzApplyPatch(f *testing.F) {
	for _, c := range generateMergeCases(97, 20) {
		f.Add(c.base, c.ours)
	}
	for _, s := range [][2]string{
		{`{"a":[1]}`, `{"a":[{"x":null,"y":1}]}`}, {`{"a":1}`, `{"a":null}`}, {`[1]`, `{"a":[null]}`},
		{`{"o":{"p":{"q":1}}}`, `{"o":{"p":{"q":null,"r":2}}}`}, {`{"n":1}`, `{"n":1.0}`}, {`{"\u0061":1}`, `{"a":{"b":null}}`},
		{`null`, `{"a":1}`}, {`{"a":"b"}`, `["c",{"d":null}]`}, {`{"a":1,"a":2}`, `{}`}, {`{}`, `{"a":`},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, from, to []byte) {
		for _, doc := range [][]byte{from, to} {
			// Only documents all three implementations read alike:
			// JSON encoding/json decodes exactly, without repeated names.
			if !json.Valid(doc) || !oracleSafe(doc) || hasRepeatedNames(doc) {
				_, err := ApplyPatch(from, to)
				if !json.Valid(doc) {
					require.ErrorIs(t, err, ErrNotJSON)
				}
				return
			}
		}
		checkApplyCreatedPatch(t, from, to)
		checkApplyPatch(t, from, to)
	})
}
