package jsonmerge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// Property tests and fuzz targets for Merge and parseJSON, checked against
// the reference merge of merge_oracle_test.go.

// mergeCase is one generated three-way merge.
type mergeCase struct{ base, ours, theirs []byte }

// generateMergeCases returns n merges of random documents, where each
// side changes a few members of a common base.
func generateMergeCases(seed uint64, n int) []mergeCase {
	g := newJSONGen(seed)
	cases := make([]mergeCase, n)
	for i := range cases {
		var base any = g.object(0)
		if g.r.IntN(20) == 0 {
			base = g.value(1) // a top-level array or scalar, sometimes
		}
		rate := []float64{0.05, 0.15, 0.4}[g.r.IntN(3)]
		ours, theirs := g.mutate(base, rate, 0), g.mutate(base, rate, 0)
		if g.r.IntN(8) == 0 {
			theirs = ours // the same change on both sides
		}
		c := mergeCase{g.encode(base), g.encode(ours), g.encode(theirs)}
		if g.r.IntN(25) == 0 {
			c.base = nil // unknown base
		}
		cases[i] = c
	}
	return cases
}

// TestMergeProperties checks Merge against the reference merge on
// generated documents, and its identities.
func TestMergeProperties(t *testing.T) {
	t.Parallel()
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			merged, conflicted := 0, 0
			for i, c := range generateMergeCases(seed, 800) {
				if checkMerge(t, c.base, c.ours, c.theirs) {
					merged++
				} else {
					conflicted++
				}
				if t.Failed() {
					t.Fatalf("case %d: base %s\nours %s\ntheirs %s", i, c.base, c.ours, c.theirs)
				}
			}
			// Both outcomes must be common for the checks to mean much.
			require.Greater(t, merged, 250)
			require.Greater(t, conflicted, 100)
		})
	}
}

// checkMerge checks one merge of valid JSON without repeated names, and
// reports whether it merged without conflict.
func checkMerge(t testing.TB, base, ours, theirs []byte) bool {
	t.Helper()
	b, o, th := mustOracleDecode(t, base), mustOracleDecode(t, ours), mustOracleDecode(t, theirs)
	sameAs := func(want any, got []byte, err error, what string) {
		t.Helper()
		require.NoError(t, err, what)
		require.True(t, oracleEqual(want, mustOracleDecode(t, got)), "%s: got %s", what, got)
	}
	if len(base) > 0 {
		got, err := Merge(base, ours, base, nil)
		sameAs(o, got, err, "Merge(b, o, b) = o")
		got, err = Merge(base, base, theirs, nil)
		sameAs(th, got, err, "Merge(b, b, t) = t")
	}
	got, err := Merge(base, ours, ours, nil)
	sameAs(o, got, err, "Merge(b, o, o) = o")
	got, err = Merge(base, theirs, theirs, nil)
	sameAs(th, got, err, "Merge(b, t, t) = t")
	require.Equal(t, oracleEqual(o, th), Equal(ours, theirs), "Equal(o, t)")

	oursWins := func(_ string, _, o, _ json.RawMessage) (json.RawMessage, bool, error) { return o, true, nil }
	got, err = Merge(base, ours, theirs, oursWins)
	want, _ := refMerge(nil, b, o, th, true)
	sameAs(want, got, err, "Merge(b, o, t, oursWins)")

	want, wantConflicts := refMerge(nil, b, o, th, false)
	got, err = Merge(base, ours, theirs, nil)
	if wantConflicts != nil {
		var mce *ConflictError
		require.ErrorAs(t, err, &mce)
		require.Len(t, mce.Conflicts, len(wantConflicts), "conflicts %v", pointers(mce))
		byPointer := make(map[string]refConflict)
		for _, c := range wantConflicts {
			byPointer[c.pointer] = c
		}
		for _, c := range mce.Conflicts {
			w, ok := byPointer[c.Pointer]
			require.True(t, ok, "unexpected conflict at %q", c.Pointer)
			for _, v := range [...]struct {
				want any
				got  json.RawMessage
			}{{w.base, c.Base}, {w.ours, c.Ours}, {w.theirs, c.Theirs}} {
				require.True(t, oracleEqual(v.want, mustOracleDecode(t, v.got)), "conflict %q: %s", c.Pointer, v.got)
			}
		}
		return false
	}
	sameAs(want, got, err, "Merge(b, o, t)")
	result := mustOracleDecode(t, got)
	for _, side := range [...]any{o, th} {
		refChanges(nil, b, side, func(path []string, v any) {
			require.True(t, oracleEqual(v, refAt(result, path)), "change at %q lost", refPointer(path))
		})
	}
	inputs := make(map[string]bool)
	for _, doc := range [][]byte{ours, theirs} {
		for _, n := range numberLiterals(t, doc) {
			inputs[n] = true
		}
	}
	for _, n := range numberLiterals(t, got) {
		require.True(t, inputs[n], "number %s is not spelled as in the inputs", n)
	}
	return true
}

func FuzzMerge(f *testing.F) {
	for _, c := range generateMergeCases(99, 40) {
		f.Add(c.base, c.ours, c.theirs)
	}
	for _, s := range [][3]string{
		{`{"a":1}`, `{"a":2}`, `{"a":3}`},
		{`{"a":{"b":1}}`, `{}`, `{"a":{"b":2}}`},
		{`{"a":1}`, `{"a":null}`, `{"a":1,"z":true}`},
		{`[1]`, `[2]`, `[3]`},
		{``, `{"a":1}`, `{"a":1.0}`},
		{`{"n":1}`, `{"n":12345678901234567890}`, `{"n":1e400}`},
		{`{"a/b":1,"m~n":1}`, `{"a\/b":2,"m~n":1}`, `{"a/b":1,"m\u007en":2}`},
		{`{"s":"\ud83d\ude00"}`, `{"s":"😀"}`, `{"s":"\ud800"}`},
		{`{"a":1,"a":2}`, `{}`, `{}`},
		{`{"n":1e400,"":1,"":2}`, `{}`, `{}`},
		{`{"n":1e99999999999999999999}`, `{"n":10e99999999999999999998}`, `{"n":0.1e100000000000000000000}`},
	} {
		f.Add([]byte(s[0]), []byte(s[1]), []byte(s[2]))
	}
	f.Fuzz(func(t *testing.T, base, ours, theirs []byte) {
		got, err := Merge(base, ours, theirs, nil)
		docs := [][]byte{ours, theirs}
		if len(base) > 0 {
			docs = append(docs, base)
		}
		for _, doc := range docs {
			if !json.Valid(doc) {
				require.ErrorIs(t, err, ErrNotJSON)
				return
			}
		}
		if errors.Is(err, ErrNotJSON) {
			// Only what encoding/json accepts and RFC 8259 advises
			// against: invalid UTF-8 or a repeated member name.
			for _, doc := range docs {
				if !utf8.Valid(doc) || hasRepeatedNames(doc) {
					return
				}
			}
			t.Fatalf("valid JSON rejected: %v", err)
		}
		if err == nil {
			require.True(t, json.Valid(got), "result %q", got)
		} else {
			var mce *ConflictError
			require.ErrorAs(t, err, &mce)
			require.NotEmpty(t, mce.Conflicts)
		}
		for _, doc := range docs {
			if !oracleSafe(doc) {
				return // encoding/json does not decode it exactly
			}
		}
		checkMerge(t, base, ours, theirs)
	})
}

// FuzzParseJSON checks that parseJSON accepts what encoding/json does,
// save invalid UTF-8 and repeated names, and compacts as it does.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":null}],"c":"\u00e9\"\\"}`, ` [ 1 , 2.5e-3 , -0 ] `, `"\ud800"`,
		`{"a":1,"a":2}`, "\"\xff\"", `{"\ud800":1,"\udc00":2}`, `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"\u0069":9}`,
		`[{"x":{"y":[{"z":1,"z":2}]}}]`, `{"n":1e400,"a":1,"a":2}`, `123456789012345678901234567890`, `tru`, `{"a" : }`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tree, err := parseJSON(data)
		valid := json.Valid(data)
		switch {
		case !valid:
			require.Error(t, err)
			return
		case !utf8.Valid(data):
			require.Error(t, err, "invalid UTF-8 accepted")
			return
		case hasRepeatedNames(data):
			if !loneSurrogate.Match(data) {
				require.Error(t, err, "repeated names accepted")
			}
			if err != nil {
				return
			}
		default:
			require.NoError(t, err)
		}
		var want bytes.Buffer
		require.NoError(t, json.Compact(&want, data))
		root := jsonRef{tree, &tree.root}
		require.Equal(t, want.String(), string(root.compact()))
		require.True(t, Equal(data, want.Bytes()))
	})
}
