package jsonmerge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// conflict is a compact way to write a Conflict in a table; "-" is
// an absent value.
func conflict(pointer, base, ours, theirs string) Conflict {
	raw := func(s string) json.RawMessage {
		if s == "-" {
			return nil
		}
		return json.RawMessage(s)
	}
	return Conflict{Pointer: pointer, Base: raw(base), Ours: raw(ours), Theirs: raw(theirs)}
}

// requireSameJSON checks that got means want and spells its numbers as
// want does.
func requireSameJSON(t testing.TB, want string, got []byte) {
	t.Helper()
	require.True(t, oracleEqual(mustOracleDecode(t, []byte(want)), mustOracleDecode(t, got)),
		"want %s\n got %s", want, got)
	require.Equal(t, numberLiterals(t, []byte(want)), numberLiterals(t, got), "number text in %s", got)
}

// requireConflicts checks that err is a *ConflictError listing want.
func requireConflicts(t testing.TB, want []Conflict, got []byte, err error) {
	t.Helper()
	require.Nil(t, got)
	require.NotErrorIs(t, err, ErrNotJSON)
	var mce *ConflictError
	require.ErrorAs(t, err, &mce)
	require.Same(t, mce, err, "a *ConflictError is returned unwrapped")
	require.Equal(t, want, mce.Conflicts)
}

// pointers returns the JSON Pointers of the conflicts of e.
func pointers(e *ConflictError) []string {
	paths := make([]string, len(e.Conflicts))
	for i, c := range e.Conflicts {
		paths[i] = c.Pointer
	}
	return paths
}

// TestMerge covers each rule of Merge: what merges, what conflicts, and
// the values each conflict reports.
func TestMerge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name               string
		base, ours, theirs string
		want               string // the merged document, if no conflicts
		conflicts          []Conflict
	}{
		{name: "no changes", base: `{"a":1}`, ours: `{"a":1}`, theirs: `{"a":1}`, want: `{"a":1}`},
		{name: "disjoint members", base: `{"a":1,"b":1}`, ours: `{"a":2,"b":1}`, theirs: `{"a":1,"b":2}`, want: `{"a":2,"b":2}`},
		{name: "nested disjoint", base: `{"o":{"x":1,"y":1}}`, ours: `{"o":{"x":2,"y":1}}`, theirs: `{"o":{"x":1,"y":3}}`, want: `{"o":{"x":2,"y":3}}`},
		{name: "deeply nested disjoint", base: `{"a":{"b":{"c":{"d":1,"e":1}}}}`, ours: `{"a":{"b":{"c":{"d":2,"e":1}}}}`, theirs: `{"a":{"b":{"c":{"d":1,"e":2}},"f":3}}`, want: `{"a":{"b":{"c":{"d":2,"e":2}},"f":3}}`},
		{name: "same change on both sides", base: `{"a":1}`, ours: `{"a":5}`, theirs: `{"a":5}`, want: `{"a":5}`},
		{name: "same number spelled differently", base: `{"a":1}`, ours: `{"a":1.50}`, theirs: `{"a":15e-1}`, want: `{"a":1.50}`},
		{name: "same string spelled differently", base: `{"s":"x"}`, ours: `{"s":"\u00e9\/\ud83d\ude00"}`, theirs: `{"s":"é/😀"}`, want: `{"s":"é/😀"}`},
		{name: "same object in another order", base: `{"o":1}`, ours: `{"o":{"x":1,"y":[1,{"z":2}]}}`, theirs: `{"o":{"y":[1,{"z":2}],"x":1}}`, want: `{"o":{"x":1,"y":[1,{"z":2}]}}`},
		{name: "respelling alone is no change", base: `{"a":100,"b":"A"}`, ours: `{"a":1e2,"b":"\u0041"}`, theirs: `{"a":7,"b":"B"}`, want: `{"a":7,"b":"B"}`},
		{name: "ours adds, theirs adds another", base: `{}`, ours: `{"p":1}`, theirs: `{"q":2}`, want: `{"p":1,"q":2}`},
		{name: "both add the same", base: `{}`, ours: `{"p":{"x":1}}`, theirs: `{"p":{"x":1.0}}`, want: `{"p":{"x":1}}`},
		{name: "ours deletes", base: `{"a":1,"b":1}`, ours: `{"b":1}`, theirs: `{"a":1,"b":1,"c":1}`, want: `{"b":1,"c":1}`},
		{name: "theirs deletes", base: `{"a":1,"b":1}`, ours: `{"a":1,"b":2}`, theirs: `{"b":1}`, want: `{"b":2}`},
		{name: "both delete", base: `{"a":1,"b":1}`, ours: `{"b":1}`, theirs: `{"b":1}`, want: `{"b":1}`},
		{name: "delete an object, other side unchanged", base: `{"o":{"x":1},"k":0}`, ours: `{"k":0}`, theirs: `{"o":{"x":1},"k":1}`, want: `{"k":1}`},
		{name: "ours sets null", base: `{"a":1}`, ours: `{"a":null}`, theirs: `{"a":1,"z":true}`, want: `{"a":null,"z":true}`},
		{name: "theirs sets null", base: `{"a":1,"b":1}`, ours: `{"a":1,"b":2}`, theirs: `{"a":null,"b":1}`, want: `{"a":null,"b":2}`},
		{name: "ours adds null", base: `{}`, ours: `{"n":null}`, theirs: `{"t":1}`, want: `{"t":1,"n":null}`},
		{name: "nested null kept", base: `{"o":{"x":1}}`, ours: `{"o":{"x":null,"y":null}}`, theirs: `{"o":{"x":1},"k":1}`, want: `{"o":{"x":null,"y":null},"k":1}`},
		{name: "both set null", base: `{"a":1}`, ours: `{"a":null}`, theirs: `{"a":null}`, want: `{"a":null}`},
		{name: "null in base replaced", base: `{"a":null}`, ours: `{"a":3}`, theirs: `{"a":null,"b":1}`, want: `{"a":3,"b":1}`},
		{name: "array changed on one side", base: `{"l":[1,2]}`, ours: `{"l":[1,2,3]}`, theirs: `{"l":[1,2],"k":1}`, want: `{"l":[1,2,3],"k":1}`},
		{name: "array changed the same on both sides", base: `{"l":[1]}`, ours: `{"l":[1,{"a":2}]}`, theirs: `{"l":[ 1 , { "a" : 2.0 } ]}`, want: `{"l":[1,{"a":2}]}`},
		{name: "array respelled is unchanged", base: `{"l":[1,"a"]}`, ours: `{"l":[1.0,"\u0061"]}`, theirs: `{"l":[2]}`, want: `{"l":[2]}`},
		{name: "object replaced by a scalar on one side", base: `{"o":{"x":1},"k":1}`, ours: `{"o":7,"k":1}`, theirs: `{"o":{"x":1},"k":2}`, want: `{"o":7,"k":2}`},
		{name: "scalar replaced by an object on one side", base: `{"o":7}`, ours: `{"o":7}`, theirs: `{"o":{"x":1}}`, want: `{"o":{"x":1}}`},
		{name: "exact number text", base: `{"n":1,"f":0.5}`, ours: `{"n":12345678901234567890,"f":0.5}`, theirs: `{"n":1,"f":1.10,"e":1E400}`, want: `{"n":12345678901234567890,"f":1.10,"e":1E400}`},
		{name: "big integers differing in the last digit", base: `{"n":12345678901234567890}`, ours: `{"n":12345678901234567891}`, theirs: `{"n":12345678901234567890,"m":0}`, want: `{"n":12345678901234567891,"m":0}`},
		{name: "whitespace", base: " {\n\t\"a\" : [ 1 , 2 ] } ", ours: `{"a":[1,2],"b":"x y"}`, theirs: "{ \"a\" : [ 1 , 2 ] , \"c\" : { } }\n", want: `{"a":[1,2],"c":{},"b":"x y"}`},
		{name: "large objects in other orders", base: `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":{"x":1,"y":1}}`,
			ours:   `{"j":{"y":1,"x":2},"i":9,"h":8,"g":7,"f":6,"e":5,"d":4,"c":3,"b":2,"a":0}`,
			theirs: `{"b":2,"d":4,"f":6,"h":8,"j":{"x":1,"y":3},"a":1,"c":3,"e":5,"g":7,"i":9,"k":1}`,
			want:   `{"b":2,"d":4,"f":6,"h":8,"j":{"x":2,"y":3},"a":0,"c":3,"e":5,"g":7,"i":9,"k":1}`},
		{name: "escaped names match", base: `{"a/b":1,"é":1}`, ours: `{"a\/b":2,"\u00e9":1}`, theirs: `{"a/b":1,"é":3}`, want: `{"a/b":2,"é":3}`},
		{name: "top-level array changed by ours", base: `[1]`, ours: `[1,2]`, theirs: `[1]`, want: `[1,2]`},
		{name: "top-level array changed by theirs", base: `[1]`, ours: `[1]`, theirs: `[]`, want: `[]`},
		{name: "top-level scalar", base: `1`, ours: `"two"`, theirs: `1`, want: `"two"`},
		{name: "top-level null set", base: `{"a":1}`, ours: `null`, theirs: `{"a":1}`, want: `null`},
		{name: "top-level object to array", base: `{"a":1}`, ours: `{"a":1}`, theirs: `[{"a":1}]`, want: `[{"a":1}]`},
		{name: "unknown base, same documents", base: ``, ours: `{"a":1}`, theirs: `{"a":1}`, want: `{"a":1}`},
		{name: "unknown base, same meaning", base: ``, ours: `{"a":1.0,"b":[2]}`, theirs: `{"b":[2.00],"a":1}`, want: `{"a":1.0,"b":[2]}`},

		{name: "both change one member", base: `{"a":1}`, ours: `{"a":2}`, theirs: `{"a":3}`,
			conflicts: []Conflict{conflict("/a", "1", "2", "3")}},
		{name: "both change one array differently", base: `{"l":[1]}`, ours: `{"l":[1,2]}`, theirs: `{"l":[0,1]}`,
			conflicts: []Conflict{conflict("/l", "[1]", "[1,2]", "[0,1]")}},
		{name: "both change one array element differently", base: `{"l":[{"x":1,"y":1}]}`, ours: `{"l":[{"x":2,"y":1}]}`, theirs: `{"l":[{"x":1,"y":2}]}`,
			conflicts: []Conflict{conflict("/l", `[{"x":1,"y":1}]`, `[{"x":2,"y":1}]`, `[{"x":1,"y":2}]`)}},
		{name: "ours deletes, theirs changes", base: `{"a":{"b":1}}`, ours: `{}`, theirs: `{"a":{"b":2}}`,
			conflicts: []Conflict{conflict("/a", `{"b":1}`, "-", `{"b":2}`)}},
		{name: "ours changes, theirs deletes", base: `{"a":1,"k":1}`, ours: `{"a":2,"k":1}`, theirs: `{"k":1}`,
			conflicts: []Conflict{conflict("/a", "1", "2", "-")}},
		{name: "ours deletes, theirs sets null", base: `{"a":1}`, ours: `{}`, theirs: `{"a":null}`,
			conflicts: []Conflict{conflict("/a", "1", "-", "null")}},
		{name: "ours sets null, theirs changes", base: `{"a":1}`, ours: `{"a":null}`, theirs: `{"a":2}`,
			conflicts: []Conflict{conflict("/a", "1", "null", "2")}},
		{name: "both add one member differently", base: `{}`, ours: `{"new":1}`, theirs: `{"new":2}`,
			conflicts: []Conflict{conflict("/new", "-", "1", "2")}},
		{name: "both add one object differently", base: `{}`, ours: `{"o":{"x":1}}`, theirs: `{"o":{"y":1}}`,
			conflicts: []Conflict{conflict("/o", "-", `{"x":1}`, `{"y":1}`)}},
		{name: "object replaced by a scalar versus nested change", base: `{"o":{"x":1}}`, ours: `{"o":7}`, theirs: `{"o":{"x":2}}`,
			conflicts: []Conflict{conflict("/o", `{"x":1}`, "7", `{"x":2}`)}},
		{name: "nested conflict", base: `{"o":{"p":{"x":1}}}`, ours: `{"o":{"p":{"x":2}}}`, theirs: `{"o":{"p":{"x":3}}}`,
			conflicts: []Conflict{conflict("/o/p/x", "1", "2", "3")}},
		{name: "conflict values are compact", base: `{"a": [1, 2]}`, ours: `{"a": [ 1 ]}`, theirs: "{\"a\":\n[2, \"x y\" ] }",
			conflicts: []Conflict{conflict("/a", "[1,2]", "[1]", `[2,"x y"]`)}},
		{name: "exact numbers in conflicts", base: `{"n":1.0}`, ours: `{"n":12345678901234567890}`, theirs: `{"n":12345678901234567891}`,
			conflicts: []Conflict{conflict("/n", "1.0", "12345678901234567890", "12345678901234567891")}},
		{name: "every conflict, in result order", base: `{"a":1,"b":1,"c":1,"d":1}`, ours: `{"d":2,"a":2,"c":1,"b":2,"e":1}`, theirs: `{"b":3,"c":3,"a":3,"e":2}`,
			conflicts: []Conflict{conflict("/b", "1", "2", "3"), conflict("/a", "1", "2", "3"), conflict("/e", "-", "1", "2"), conflict("/d", "1", "2", "-")}},
		{name: "pointer escapes", base: `{"a/b":1,"m~n":1,"~1":1,"":1}`, ours: `{"a/b":2,"m~n":2,"~1":2,"":2}`, theirs: `{"a/b":3,"m~n":3,"~1":3,"":3}`,
			conflicts: []Conflict{conflict("/a~1b", "1", "2", "3"), conflict("/m~0n", "1", "2", "3"), conflict("/~01", "1", "2", "3"), conflict("/", "1", "2", "3")}},
		{name: "pointer of an escaped name", base: `{"x\/\u007e\"":{"é":1}}`, ours: `{"x\/\u007e\"":{"\u00e9":2}}`, theirs: `{"x/~\"":{"é":3}}`,
			conflicts: []Conflict{conflict(`/x~1~0"/é`, "1", "2", "3")}},
		{name: "top-level arrays are atomic", base: `[1]`, ours: `[2]`, theirs: `[3]`,
			conflicts: []Conflict{conflict("", "[1]", "[2]", "[3]")}},
		{name: "top-level scalars", base: `"a"`, ours: `"b"`, theirs: `true`,
			conflicts: []Conflict{conflict("", `"a"`, `"b"`, "true")}},
		{name: "top-level object versus array", base: `{"a":1}`, ours: `{"a":2}`, theirs: `[1]`,
			conflicts: []Conflict{conflict("", `{"a":1}`, `{"a":2}`, "[1]")}},
		{name: "unknown base, different documents", base: ``, ours: `{"a":1,"b":1}`, theirs: `{"a":1,"b":2}`,
			conflicts: []Conflict{conflict("", "-", `{"a":1,"b":1}`, `{"a":1,"b":2}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Merge([]byte(tt.base), []byte(tt.ours), []byte(tt.theirs), nil)
			if tt.conflicts != nil {
				requireConflicts(t, tt.conflicts, got, err)
				return
			}
			require.NoError(t, err)
			requireSameJSON(t, tt.want, got)
			require.True(t, json.Valid(got), "%s", got)
			require.NotContains(t, string(got), "\n", "the result is compact")
		})
	}
}

// TestMergeNilBase checks that a nil base means an unknown one, as an
// empty one does.
func TestMergeNilBase(t *testing.T) {
	t.Parallel()
	got, err := Merge(nil, []byte(`{"a":[1]}`), []byte(`{"a":[1.0]}`), nil)
	require.NoError(t, err)
	requireSameJSON(t, `{"a":[1]}`, got)
	got, err = Merge(nil, []byte(`{"a":1}`), []byte(`{"a":2}`), nil)
	requireConflicts(t, []Conflict{conflict("", "-", `{"a":1}`, `{"a":2}`)}, got, err)
}

// TestMergeLoneSurrogates checks that escaped surrogates that are not
// half of a pair keep strings and names distinct: encoding/json would
// decode each to U+FFFD, and a merge comparing that way loses ours'
// change.
func TestMergeLoneSurrogates(t *testing.T) {
	t.Parallel()
	got, err := Merge([]byte(`{"s":"\ud800"}`), []byte(`{"s":"\udbff"}`), []byte(`{"s":"x"}`), nil)
	requireConflicts(t, []Conflict{conflict("/s", `"\ud800"`, `"\udbff"`, `"x"`)}, got, err)
	got, err = Merge([]byte(`{"s":"\ufffd"}`), []byte(`{"s":"\ud800"}`), []byte(`{"s":"x"}`), nil)
	requireConflicts(t, []Conflict{conflict("/s", `"\ufffd"`, `"\ud800"`, `"x"`)}, got, err)
	got, err = Merge([]byte(`{"s":"\ud800\ud800"}`), []byte(`{"s":"\uD800\ud800"}`), []byte(`{"s":"x"}`), nil)
	require.NoError(t, err)
	require.Equal(t, `{"s":"x"}`, string(got))

	base := []byte(`{"\ud800":1,"\udc00":2}`)
	got, err = Merge(base, []byte(`{"\ud800":1,"\udc00":3}`), []byte(`{"\udc00":2,"\ud800":4}`), nil)
	require.NoError(t, err)
	require.Equal(t, `{"\udc00":3,"\ud800":4}`, string(got))
}

// TestMergeOutputText checks the result's exact text: theirs' member
// order, then ours' added members, no whitespace outside strings, and
// values copied as written.
func TestMergeOutputText(t *testing.T) {
	t.Parallel()
	base := []byte(`{"a":1, "b":2, "s":"x"}`)
	ours := []byte(`{ "c" : [ 1.50, "a b" ], "a":1, "b":20, "s":"x", "n":null }`)
	theirs := []byte("{\"b\":2,\n\"s\":\"\\u0078\",\"a\":1,\"d\":{ \"e\" : 1E400 }}")
	got, err := Merge(base, ours, theirs, nil)
	require.NoError(t, err)
	require.Equal(t, `{"b":20,"s":"\u0078","a":1,"d":{"e":1E400},"c":[1.50,"a b"],"n":null}`, string(got))
}

// TestMergeInvalidJSON checks that each input is validated, and that what
// is not one JSON document is an error matching ErrNotJSON.
func TestMergeInvalidJSON(t *testing.T) {
	t.Parallel()
	invalid := []struct {
		name string
		doc  string
	}{
		{"empty", ""},
		{"whitespace", " \n"},
		{"unterminated object", `{"a":1`},
		{"trailing comma", `{"a":1,}`},
		{"array trailing comma", `[1,]`},
		{"unterminated array", `[1,2`},
		{"missing colon", `{"a" 1}`},
		{"name not a string", `{a:1}`},
		{"bad literal", `nul`},
		{"truncated literal", `tru`},
		{"leading zero", `01`},
		{"plus sign", `+1`},
		{"bare fraction", `.5`},
		{"empty fraction", `1.`},
		{"empty exponent", `1e`},
		{"exponent sign only", `1e+`},
		{"minus only", `-`},
		{"NaN", `NaN`},
		{"control character in string", "\"a\x01\""},
		{"bad escape", `"\x"`},
		{"short unicode escape", `"\u12"`},
		{"unterminated string", `"abc`},
		{"invalid UTF-8", "\"\xff\""},
		{"truncated UTF-8", "{\"a\":\"\xc3\"}"},
		{"repeated name", `{"a":1,"a":1}`},
		{"repeated escaped name", `{"a":1,"\u0061":2}`},
		{"repeated name in an array", `[{"x":1,"x":2}]`},
		{"repeated name in a large object", `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"a":0}`},
		{"repeated name last in a large sorted object", `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"i":0}`},
		{"repeated escaped name in a large sorted object", `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"\u0068":0}`},
		{"repeated name in a large unsorted object", `{"i":1,"b":2,"h":3,"d":4,"a":5,"f":6,"g":7,"c":8,"e":9,"b":0}`},
		{"two documents", `{} {}`},
		{"data after", `{"a":1}x`},
		{"too deep", strings.Repeat("[", 10001) + strings.Repeat("]", 10001)},
		{"lone bracket", `]`},
	}
	valid := []byte(`{"a":1}`)
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := []byte(tt.doc)
			for i, in := range [][3][]byte{{doc, valid, valid}, {valid, doc, valid}, {valid, valid, doc}} {
				if i == 0 && len(doc) == 0 {
					continue // an empty base is an unknown base
				}
				got, err := Merge(in[0], in[1], in[2], nil)
				require.ErrorIs(t, err, ErrNotJSON, "input %d", i)
				require.NotErrorAs(t, err, new(*ConflictError), "input %d", i)
				require.Nil(t, got)
			}
		})
	}
	// The deepest nesting allowed merges, member by member.
	deep := []byte(strings.Repeat("[", 10000) + strings.Repeat("]", 10000))
	got, err := Merge(valid, deep, valid, nil)
	require.NoError(t, err)
	require.Equal(t, deep, got)
	nested := func(leaf string) []byte {
		return []byte(strings.Repeat(`{"a":`, 9999) + `{"a":1,"b":` + leaf + strings.Repeat("}", 10000))
	}
	got, err = Merge(nested("0"), nested("1"), nested("2"), nil)
	requireConflicts(t, []Conflict{conflict(strings.Repeat("/a", 9999)+"/b", "0", "1", "2")}, got, err)
	got, err = Merge(nested("0"), nested("1"), nested("0"), nil)
	require.NoError(t, err)
	require.Equal(t, nested("1"), got)
}

// TestMergeFuncResolver checks that the resolver is offered each conflict
// in document order, and that what it leaves stays a conflict.
func TestMergeFuncResolver(t *testing.T) {
	t.Parallel()
	base := []byte(`{"a":1,"b":1,"c":1,"d":{"e":1},"k":1}`)
	ours := []byte(`{"a":2,"b":2,"c":2,"d":{"e":2},"k":1}`)
	theirs := []byte(`{"a":3,"b":3,"c":3,"d":{"e":3},"k":2}`)
	type call struct{ pointer, base, ours, theirs string }
	var calls []call
	resolve := func(pointer string, b, o, th json.RawMessage) (json.RawMessage, bool, error) {
		calls = append(calls, call{pointer, string(b), string(o), string(th)})
		switch pointer {
		case "/a":
			return o, true, nil
		case "/b":
			return nil, true, nil // delete
		case "/d/e":
			return json.RawMessage(" [ 4 , 5 ] "), true, nil
		}
		return nil, false, nil
	}
	got, err := Merge(base, ours, theirs, resolve)
	requireConflicts(t, []Conflict{conflict("/c", "1", "2", "3")}, got, err)
	require.Equal(t, []call{{"/a", "1", "2", "3"}, {"/b", "1", "2", "3"}, {"/c", "1", "2", "3"}, {"/d/e", "1", "2", "3"}}, calls)

	resolveAll := func(pointer string, b, o, th json.RawMessage) (json.RawMessage, bool, error) {
		if pointer == "/c" {
			return json.RawMessage(`12345678901234567890`), true, nil
		}
		return resolve(pointer, b, o, th)
	}
	got, err = Merge(base, ours, theirs, resolveAll)
	require.NoError(t, err)
	require.Equal(t, `{"a":2,"c":12345678901234567890,"d":{"e":[4,5]},"k":2}`, string(got))
}

// TestMergeFuncResolverErrors checks the errors a resolver can cause.
func TestMergeFuncResolverErrors(t *testing.T) {
	t.Parallel()
	errResolver := errors.New("resolver failed")
	tests := []struct {
		name               string
		base, ours, theirs string
		value              string
		err                error
		wantIs             error
	}{
		{name: "resolver error is wrapped", base: `{"a":1}`, ours: `{"a":2}`, theirs: `{"a":3}`, err: errResolver, wantIs: errResolver},
		{name: "resolved value not JSON", base: `{"a":1}`, ours: `{"a":2}`, theirs: `{"a":3}`, value: `{"x":`, wantIs: ErrNotJSON},
		{name: "resolved value two documents", base: `{"a":1}`, ours: `{"a":2}`, theirs: `{"a":3}`, value: `1 2`, wantIs: ErrNotJSON},
		{name: "whole document deleted", base: `[1]`, ours: `[2]`, theirs: `[3]`},
		{name: "unknown base deleted", base: ``, ours: `{"a":2}`, theirs: `{"a":3}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resolve := func(string, json.RawMessage, json.RawMessage, json.RawMessage) (json.RawMessage, bool, error) {
				if tt.value == "" {
					return nil, tt.err == nil, tt.err
				}
				return json.RawMessage(tt.value), true, nil
			}
			got, err := Merge([]byte(tt.base), []byte(tt.ours), []byte(tt.theirs), resolve)
			require.Error(t, err)
			require.Nil(t, got)
			require.NotErrorAs(t, err, new(*ConflictError))
			if tt.wantIs != nil {
				require.ErrorIs(t, err, tt.wantIs)
			}
			require.True(t, strings.HasPrefix(err.Error(), "optimist: "), err.Error())
		})
	}
}

// TestMergeFuncNotCalledWithoutConflict checks that a merge without
// conflicts does not call the resolver.
func TestMergeFuncNotCalledWithoutConflict(t *testing.T) {
	t.Parallel()
	resolve := func(string, json.RawMessage, json.RawMessage, json.RawMessage) (json.RawMessage, bool, error) {
		t.Error("resolver called")
		return nil, false, nil
	}
	got, err := Merge([]byte(`{"a":1,"b":1}`), []byte(`{"a":2,"b":1}`), []byte(`{"a":1,"b":2}`), resolve)
	require.NoError(t, err)
	require.Equal(t, `{"a":2,"b":2}`, string(got))
}

// TestMergeConflictErrorPaths checks the error's pointers and message.
func TestMergeConflictErrorPaths(t *testing.T) {
	t.Parallel()
	_, err := Merge([]byte(`{"a/b":1,"c":{"d":1}}`), []byte(`{"a/b":2,"c":{"d":2}}`), []byte(`{"a/b":3,"c":{"d":3}}`), nil)
	var mce *ConflictError
	require.ErrorAs(t, err, &mce)
	require.Equal(t, []string{"/a~1b", "/c/d"}, pointers(mce))
	require.Equal(t, `optimist: merge conflict at "/a~1b", "/c/d"`, err.Error())
}

// TestJSONEqual checks the semantic equality Merge and the rest of the
// package use: exact decimal numbers, decoded strings, unordered members.
func TestJSONEqual(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b  string
		equal bool
	}{
		{`1.5`, `1.50`, true},
		{`100`, `1e2`, true},
		{`100`, `1E+2`, true},
		{`0.001`, `1e-3`, true},
		{`-0`, `0.0e7`, true},
		{`-1`, `1`, false},
		{`10`, `1`, false},
		{`0.1`, `0.01`, false},
		{`12345678901234567890`, `12345678901234567891`, false},
		{`12345678901234567890`, `1.234567890123456789e19`, true},
		{`1e400`, `10E399`, true},
		{`1e99999999999999999999`, `10e99999999999999999998`, true},
		{`1e99999999999999999999`, `1e99999999999999999998`, false},
		{`-0.01e-99999999999999999999`, `-1e-100000000000000000001`, true},
		{`1e-99999999999999999999`, `1e99999999999999999999`, false},
		{`"A"`, `"\u0041"`, true},
		{`"\/"`, `"/"`, true},
		{`"😀"`, `"\uD83D\ude00"`, true},
		{`"\ud800"`, `"\udfff"`, false},
		{`"\ud800"`, `"\ufffd"`, false},
		{`"a"`, `"b"`, false},
		{`{"a":1,"b":[1,{"c":2,"d":3}]}`, ` { "b" : [ 1.0 , { "d" : 3 , "c" : 2 } ] , "a" : 1 } `, true},
		{`{"a":1,"b":2}`, `{"a":1}`, false},
		{`{"a":1}`, `{"b":1}`, false},
		{`{"a":null}`, `{}`, false},
		{`[1,2]`, `[2,1]`, false},
		{`[[1],{"a":[2]}]`, `[[1.0],{"a":[2e0]}]`, true},
		{`[]`, `{}`, false},
		{`true`, `false`, false},
		{`null`, ` null `, true},
		{`{`, `{`, true},
		{`{`, `{ `, false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.equal, Equal([]byte(tt.a), []byte(tt.b)), "%s %s", tt.a, tt.b)
		require.Equal(t, tt.equal, Equal([]byte(tt.b), []byte(tt.a)), "%s %s", tt.b, tt.a)
	}
}

// readSharedTestdata reads a file of ../shared/testdata from the project
// root, three levels up from this package. It skips the test when the
// file is missing, unless CI is set.
func readSharedTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "testdata", name))
	if errors.Is(err, fs.ErrNotExist) {
		if os.Getenv("CI") != "" {
			t.Fatalf("shared test data missing: %v", err)
		}
		t.Skipf("shared test data missing: %v", err)
	}
	require.NoError(t, err)
	return data
}

// appendixA returns the 15 merge-patch examples of RFC 7396, Appendix A,
// from the shared test data.
func appendixA(t *testing.T) []struct{ Target, Patch, Result json.RawMessage } {
	t.Helper()
	var examples []struct{ Target, Patch, Result json.RawMessage }
	require.NoError(t, json.Unmarshal(readSharedTestdata(t, "rfc7396-appendix-a.json"), &examples))
	require.Len(t, examples, 15)
	return examples
}

// TestRFC7396AppendixA checks the merge-patch examples of RFC 7396: Merge
// carries each change from target to result onto the target, and onto a
// target that also gained an unrelated member. (That ApplyPatch applies
// each patch is TestApplyPatchRFC7396AppendixA.)
func TestRFC7396AppendixA(t *testing.T) {
	t.Parallel()
	examples := appendixA(t)
	for i, ex := range examples {
		t.Run(fmt.Sprintf("A%d", i+1), func(t *testing.T) {
			t.Parallel()
			got, err := Merge(ex.Target, ex.Result, ex.Target, nil)
			require.NoError(t, err, "example %d", i+1)
			requireSameJSON(t, string(ex.Result), got)

			// theirs also adds a member: unless ours replaced the whole
			// document, the merge keeps both changes.
			theirs, ok := withMember(ex.Target, `"theirs"`, `[true]`)
			if !ok {
				return
			}
			got, err = Merge(ex.Target, ex.Result, theirs, nil)
			if want, ok := withMember(ex.Result, `"theirs"`, `[true]`); ok {
				require.NoError(t, err, "example %d", i+1)
				requireSameJSON(t, string(want), got)
			} else {
				requireConflicts(t, []Conflict{{Pointer: "", Base: compactJSON(t, ex.Target),
					Ours: compactJSON(t, ex.Result), Theirs: compactJSON(t, theirs)}}, got, err)
			}
		})
	}
}

// withMember returns the object doc with one more member, or false if doc
// is not an object.
func withMember(doc json.RawMessage, key, value string) (json.RawMessage, bool) {
	s := strings.TrimSpace(string(doc))
	if !strings.HasPrefix(s, "{") {
		return nil, false
	}
	if strings.TrimSpace(s[1:]) == "}" {
		return json.RawMessage("{" + key + ":" + value + "}"), true
	}
	return json.RawMessage("{" + key + ":" + value + "," + s[1:]), true
}

// compactJSON returns doc without whitespace outside strings.
func compactJSON(t testing.TB, doc []byte) json.RawMessage {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, json.Compact(&buf, doc))
	return buf.Bytes()
}

// TestThreeWayCases runs the shared three-way merge cases, and checks
// each against the reference merge too.
func TestThreeWayCases(t *testing.T) {
	t.Parallel()
	var cases []struct {
		Name                       string
		Base, Ours, Theirs, Result json.RawMessage
		Conflicts                  []string
	}
	require.NoError(t, json.Unmarshal(readSharedTestdata(t, "threeway.json"), &cases))
	require.NotEmpty(t, cases)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			require.True(t, (tc.Result == nil) != (tc.Conflicts == nil), "a case has a result or conflicts")
			checkMerge(t, tc.Base, tc.Ours, tc.Theirs)
			got, err := Merge(tc.Base, tc.Ours, tc.Theirs, nil)
			if tc.Conflicts != nil {
				var mce *ConflictError
				require.ErrorAs(t, err, &mce)
				require.ElementsMatch(t, tc.Conflicts, pointers(mce))
				return
			}
			require.NoError(t, err)
			requireSameJSON(t, string(tc.Result), got)
		})
	}
}
