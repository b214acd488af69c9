package jsonmerge

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// Valid accepts exactly what encoding/json's Valid accepts.
func TestValidJSONAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	inputs := []string{
		``, ` `, `0`, `-0`, `01`, `-`, `1.`, `1.5`, `1e`, `1e+`, `1E-7`, `.5`, `+1`, `1.5e3x`,
		`"a"`, `"`, `"\u00e9"`, `"\u00g9"`, `"\x"`, `"\/"`, "\"\x01\"", "\"\xff\"", `"\`,
		`true`, `tru`, `false `, `nul`, `null null`, `[]`, `[ ]`, `[1,]`, `[,1]`, `[1 2]`, `[[]]`,
		`{}`, `{ }`, `{"a":1}`, `{"a" : [1, {"b":null}] }`, `{"a":1,}`, `{"a"}`, `{1:2}`,
		`{"a":1 "b":2}`, `{"a":1]`, `[1}`, `{"a":{"b":[true,false]},"c":"d"}`, " \t\n\r[1]\n",
		`{"a":1}}`, `]`, `}`, `[`, `{`, `{"a":`, `{"a":1`, `[1,2,3`,
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
		strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001),
	}
	for _, in := range inputs {
		require.Equal(t, json.Valid([]byte(in)), Valid([]byte(in)), "%.40q", in)
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e3,"x\u0041"],"b":{}}`, `[true,false,null]`, `-0.0e-0`, `"\\"`,
		`{"a long member name":"a value of more than eight bytes, \"quoted\" and \u00e9scaped"}`, "\"abcdefgh\xc3\xa9ijklmnop\x01\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid %v", b, got, want)
		}
	})
}

// Every byte value, at every position of a string long enough for the
// word-at-a-time scan, after a high byte or an escape or neither, and
// followed by plain bytes, a quote (which a backslash escapes) or a UTF-8
// continuation byte: Valid agrees with encoding/json, and the tree parser
// accepts the string exactly when it is valid JSON and valid UTF-8.
func TestStringBytesAgreeWithEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"", "\xc3\xa9", "\xe9", `\n`, `\u00e9`, "\x7f"} {
		for _, next := range []string{"b", `"`, "\xa9"} {
			for pos := range 17 {
				for c := range 256 {
					body := []byte(`"` + prefix + strings.Repeat("a", pos) + "?" + next + strings.Repeat("b", 17-pos) + `"`)
					body[1+len(prefix)+pos] = byte(c)
					valid := json.Valid(body)
					require.Equal(t, valid, Valid(body), "%q", body)
					_, err := parseJSON(body)
					require.Equal(t, valid && utf8.Valid(body), err == nil, "%q: %v", body, err)
				}
			}
		}
	}
}
