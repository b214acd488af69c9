package jsonmerge

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"math/big"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// This file holds what the merge tests check against: a reference merge
// over documents decoded by encoding/json (sharing no code with merge.go
// or jsontree.go), and a seeded generator of JSON documents.

// jsonAbsent stands for a member that is not there (or an unknown base).
type jsonAbsent struct{}

// oracleDecode decodes one JSON document with exact numbers; empty input
// is absent.
func oracleDecode(data []byte) (any, error) {
	if len(data) == 0 {
		return jsonAbsent{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the document")
	}
	return v, nil
}

func mustOracleDecode(t testing.TB, data []byte) any {
	t.Helper()
	v, err := oracleDecode(data)
	require.NoError(t, err, "decoding %q", data)
	return v
}

// oracleEqual reports whether two decoded values mean the same; numbers
// compare by exact decimal value.
func oracleEqual(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, va := range a {
			if vb, ok := b[k]; !ok || !oracleEqual(va, vb) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		return ok && slices.EqualFunc(a, b, oracleEqual)
	case json.Number:
		b, ok := b.(json.Number)
		return ok && canonicalNumber(string(a)) == canonicalNumber(string(b))
	}
	return a == b // string, bool, nil, jsonAbsent
}

// canonicalNumber writes a valid JSON number as -?DIGITSeEXP with no
// leading or trailing zeros in DIGITS, or as "0".
func canonicalNumber(s string) string {
	neg := strings.HasPrefix(s, "-")
	mantissa, expText, _ := strings.Cut(strings.ToLower(strings.TrimPrefix(s, "-")), "e")
	exp := new(big.Int)
	if expText != "" {
		exp.SetString(strings.TrimPrefix(expText, "+"), 10)
	}
	whole, frac, _ := strings.Cut(mantissa, ".")
	digits := strings.TrimLeft(whole+frac, "0")
	trimmed := strings.TrimRight(digits, "0")
	if trimmed == "" {
		return "0"
	}
	exp.Add(exp, big.NewInt(int64(len(digits)-len(trimmed)-len(frac))))
	if neg {
		trimmed = "-" + trimmed
	}
	return trimmed + "e" + exp.String()
}

// refConflict is a conflict found by refMerge.
type refConflict struct {
	pointer            string
	base, ours, theirs any
}

// refMerge is the reference three-way merge: a side's change wins unless
// both sides changed a value differently; objects merge member by member.
// With oursWins, ours' value settles each conflict.
func refMerge(path []string, b, o, t any, oursWins bool) (any, []refConflict) {
	switch {
	case oracleEqual(o, t), oracleEqual(b, t):
		return o, nil
	case oracleEqual(b, o):
		return t, nil
	}
	bm, bok := b.(map[string]any)
	om, ook := o.(map[string]any)
	tm, tok := t.(map[string]any)
	if !bok || !ook || !tok {
		if oursWins {
			return o, nil
		}
		return nil, []refConflict{{refPointer(path), b, o, t}}
	}
	out := make(map[string]any)
	var conflicts []refConflict
	for _, k := range unionKeys(bm, om, tm) {
		v, c := refMerge(append(path[:len(path):len(path)], k), member(bm, k), member(om, k), member(tm, k), oursWins)
		conflicts = append(conflicts, c...)
		if _, gone := v.(jsonAbsent); !gone && c == nil {
			out[k] = v
		}
	}
	return out, conflicts
}

// refChanges calls visit for each value that differs between b and x:
// objects are compared member by member, anything else as a whole.
func refChanges(path []string, b, x any, visit func(path []string, v any)) {
	bm, bok := b.(map[string]any)
	xm, xok := x.(map[string]any)
	if !bok || !xok {
		if !oracleEqual(b, x) {
			visit(path, x)
		}
		return
	}
	for _, k := range unionKeys(bm, xm) {
		refChanges(append(path[:len(path):len(path)], k), member(bm, k), member(xm, k), visit)
	}
}

// refAt returns the value at path in v, or absent.
func refAt(v any, path []string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return jsonAbsent{}
		}
		v = member(m, k)
	}
	return v
}

func member(m map[string]any, k string) any {
	if v, ok := m[k]; ok {
		return v
	}
	return jsonAbsent{}
}

func unionKeys(ms ...map[string]any) []string {
	seen := make(map[string]bool)
	for _, m := range ms {
		for k := range m {
			seen[k] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

func refPointer(path []string) string {
	var sb strings.Builder
	for _, k := range path {
		sb.WriteString("/" + strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1"))
	}
	return sb.String()
}

// numberLiterals returns the text of every number in a JSON document, sorted.
func numberLiterals(t testing.TB, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var nums []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if n, ok := tok.(json.Number); ok {
			nums = append(nums, string(n))
		}
	}
	slices.Sort(nums)
	return nums
}

// hasRepeatedNames reports whether an object in valid JSON data has two
// members whose names decode to the same text.
func hasRepeatedNames(data []byte) bool {
	type level struct {
		names    map[string]bool // nil for an array
		wantName bool
	}
	var stack []*level
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].names != nil {
			stack[n-1].wantName = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // a number beyond float64 must not end the scan
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &level{names: map[string]bool{}, wantName: true})
			continue
		case json.Delim('['):
			stack = append(stack, &level{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
			continue
		}
		if top := len(stack) - 1; top >= 0 && stack[top].wantName {
			name := tok.(string)
			if stack[top].names[name] {
				return true
			}
			stack[top].names[name], stack[top].wantName = true, false
			continue
		}
		valueDone()
	}
}

// loneSurrogate matches a \u escape of a surrogate, which encoding/json
// decodes to U+FFFD when it is unpaired.
var loneSurrogate = regexp.MustCompile(`\\u[dD][89a-fA-F]`)

// oracleSafe reports whether encoding/json decodes data exactly: its text
// is UTF-8 and it has no surrogate escapes.
func oracleSafe(data []byte) bool {
	return utf8.Valid(data) && !loneSurrogate.Match(data)
}

// jsonGen generates random JSON values, deterministically from its seed.
// Values are *genObject, []any, genString and genLiteral.
type jsonGen struct {
	r *rand.Rand
}

type genObject struct {
	keys []string
	vals []any
}

type (
	genString  string // decoded text, written with random escapes
	genLiteral string // a number, true, false or null as written
)

func newJSONGen(seed uint64) *jsonGen {
	return &jsonGen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *jsonGen) pick(options ...string) string { return options[g.r.IntN(len(options))] }

func (g *jsonGen) value(depth int) any {
	switch n := g.r.IntN(10); {
	case depth < 3 && n < 3:
		return g.object(depth + 1)
	case depth < 3 && n < 4:
		elems := make([]any, g.r.IntN(4))
		for i := range elems {
			elems[i] = g.value(depth + 1)
		}
		return elems
	case n < 6:
		return g.str()
	case n < 8:
		return g.number()
	}
	return genLiteral(g.pick("true", "false", "null"))
}

func (g *jsonGen) object(depth int) *genObject {
	obj, size := &genObject{}, g.r.IntN(6)
	if g.r.IntN(4<<depth) == 0 {
		size = 9 + g.r.IntN(12) // large objects are indexed differently
	}
	for range size {
		if k := g.key(); !slices.Contains(obj.keys, k) {
			obj.keys = append(obj.keys, k)
			obj.vals = append(obj.vals, g.value(depth))
		}
	}
	return obj
}

func (g *jsonGen) key() string {
	return g.pick("a", "b", "c", "d", "e", "f", "g", "h", "id", "name", "a/b", "m~n", "~1", "",
		"é", "\"q\"", "tab\t", "😀", "x y", "k1", "k2", "k10")
}

func (g *jsonGen) number() genLiteral {
	switch g.r.IntN(4) {
	case 0:
		return genLiteral(strconv.Itoa(g.r.IntN(2000) - 1000))
	case 1:
		return genLiteral(strconv.FormatFloat(g.r.NormFloat64()*1e3, 'g', -1, 64))
	}
	return genLiteral(g.pick("0", "-0", "0.0", "1.5", "1.50", "15e-1", "100", "1e2", "1E+2",
		"12345678901234567890", "12345678901234567891", "9007199254740993",
		"-98765432109876543210.000000000000000000001", "1e400", "1E400", "-2.5e-400", "5e-324"))
}

func (g *jsonGen) str() genString {
	runes := []rune("ab0 \"\\/~\n\t\x01\x1féé€\u2028😀𝄞")
	var sb strings.Builder
	for range g.r.IntN(7) {
		sb.WriteRune(runes[g.r.IntN(len(runes))])
	}
	return genString(sb.String())
}

// mutate returns a copy of v with about rate of its members changed,
// deleted, set to null or added, recursively.
func (g *jsonGen) mutate(v any, rate float64, depth int) any {
	obj, ok := v.(*genObject)
	if !ok {
		if g.r.Float64() < rate {
			return g.value(depth)
		}
		return v
	}
	out := &genObject{}
	for i, k := range obj.keys {
		val := obj.vals[i]
		if g.r.Float64() < rate {
			switch g.r.IntN(4) {
			case 0:
				continue // deleted
			case 1:
				val = genLiteral("null")
			default:
				val = g.value(depth + 1)
			}
		} else if _, nested := val.(*genObject); nested {
			val = g.mutate(val, rate, depth+1)
		}
		out.keys, out.vals = append(out.keys, k), append(out.vals, val)
	}
	if k := g.key(); g.r.Float64() < rate && !slices.Contains(out.keys, k) {
		out.keys, out.vals = append(out.keys, k), append(out.vals, g.value(depth+1))
	}
	return out
}

// encode writes v as JSON with random whitespace and string escapes.
func (g *jsonGen) encode(v any) []byte {
	var buf bytes.Buffer
	g.write(&buf, v)
	return buf.Bytes()
}

func (g *jsonGen) write(buf *bytes.Buffer, v any) {
	space := func() {
		if g.r.IntN(8) == 0 {
			buf.WriteString(g.pick(" ", "\n", "\t  ", "\r\n"))
		}
	}
	space()
	switch v := v.(type) {
	case *genObject:
		buf.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			space()
			g.writeString(buf, k)
			space()
			buf.WriteByte(':')
			g.write(buf, v.vals[i])
		}
		space()
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			g.write(buf, e)
		}
		space()
		buf.WriteByte(']')
	case genString:
		g.writeString(buf, string(v))
	case genLiteral:
		buf.WriteString(string(v))
	}
	space()
}

func (g *jsonGen) writeString(buf *bytes.Buffer, s string) {
	buf.WriteByte('"')
	for _, c := range s {
		escape := g.r.IntN(6) == 0
		switch {
		case c == '"' || c == '\\' || c == '/' && escape:
			buf.WriteString(`\` + string(c))
		case c == '\n' && !escape:
			buf.WriteString(`\n`)
		case c < 0x20 || escape && c <= 0xffff:
			buf.WriteString(`\u` + hex4(c))
		case escape:
			c -= 0x10000
			buf.WriteString(`\u` + hex4(0xd800+c>>10) + `\u` + hex4(0xdc00+c&0x3ff))
		default:
			buf.WriteRune(c)
		}
	}
	buf.WriteByte('"')
}

func hex4(c rune) string {
	s := strconv.FormatInt(int64(c)+0x10000, 16)[1:]
	if c&1 == 0 {
		return strings.ToUpper(s)
	}
	return s
}
