package jsonmerge

import (
	"encoding/binary"
	"math/bits"
)

// The one-pass validator: whether a body is JSON at all, decided without
// building a tree.

// Valid reports whether b is one JSON value, by the same rules as
// encoding/json's Valid (RFC 8259 syntax; bytes of a string are not
// checked for UTF-8; nesting deeper than 10000 levels is invalid), in one
// pass that allocates nothing for documents nested up to 64 levels.
// Package optimist checks a []byte or json.RawMessage body with it, once,
// as the body enters.
func Valid(b []byte) bool {
	var small [64]byte
	v := jsonValidator{b: b}
	return v.run(small[:0])
}

// jsonValidator scans one document.
type jsonValidator struct {
	b []byte
	i int
}

// run scans the document; stack holds the open containers, '{' or '['.
func (v *jsonValidator) run(stack []byte) bool {
	for {
		open, ok := v.value(len(stack))
		if !ok {
			return false
		}
		if open != 0 {
			stack = append(stack, open)
			continue
		}
		// After a value: close containers, or go on to the next member.
		for {
			v.space()
			if len(stack) == 0 {
				return v.i == len(v.b)
			}
			if v.i >= len(v.b) {
				return false
			}
			c, open := v.b[v.i], stack[len(stack)-1]
			v.i++
			switch {
			case c == ',' && open == '{':
				if !v.name() {
					return false
				}
			case c == ',':
			case (c == '}' && open == '{') || (c == ']' && open == '['):
				stack = stack[:len(stack)-1]
				continue
			default:
				return false
			}
			break
		}
	}
}

// value scans a scalar or an empty container, or opens a container at
// depth and returns its bracket, having scanned an object's first name.
func (v *jsonValidator) value(depth int) (open byte, ok bool) {
	v.space()
	if v.i >= len(v.b) {
		return 0, false
	}
	switch c := v.b[v.i]; c {
	case '{', '[':
		if depth >= maxJSONDepth {
			return 0, false
		}
		v.i++
		v.space()
		if v.i < len(v.b) && v.b[v.i] == c+2 { // '}' is '{'+2, ']' is '['+2
			v.i++
			return 0, true
		}
		if c == '{' && !v.name() {
			return 0, false
		}
		return c, true
	case '"':
		return 0, v.str()
	case 't':
		return 0, v.literal("true")
	case 'f':
		return 0, v.literal("false")
	case 'n':
		return 0, v.literal("null")
	}
	return 0, v.number()
}

// name scans a member name and its colon.
func (v *jsonValidator) name() bool {
	v.space()
	if v.i >= len(v.b) || v.b[v.i] != '"' || !v.str() {
		return false
	}
	v.space()
	if v.i >= len(v.b) || v.b[v.i] != ':' {
		return false
	}
	v.i++
	return true
}

func (v *jsonValidator) space() {
	for v.i < len(v.b) {
		switch v.b[v.i] {
		case ' ', '\t', '\n', '\r':
			v.i++
		default:
			return
		}
	}
}

func (v *jsonValidator) literal(word string) bool {
	if len(v.b)-v.i < len(word) || string(v.b[v.i:v.i+len(word)]) != word {
		return false
	}
	v.i += len(word)
	return true
}

// str scans a string from its opening quote.
func (v *jsonValidator) str() bool {
	b := v.b
	for i := v.i + 1; ; i++ {
		i = stringSpecial(b, i)
		if i >= len(b) {
			return false
		}
		switch c := b[i]; {
		case c == '"':
			v.i = i + 1
			return true
		case c >= 0x80:
			continue // encoding/json does not check UTF-8
		case c < 0x20:
			return false
		}
		i++ // a backslash: the escape
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		case 'u':
			if len(b)-i < 5 || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
				return false
			}
			i += 4
		default:
			return false
		}
	}
}

// stringSpecial returns the index of the first byte of b from i on that
// a string scan must look at: a quote, a backslash, a control byte or a
// byte that is not ASCII; len(b) if there is none. It tests eight bytes at
// a time (the "has a zero byte" and "has a byte less than n" tests of
// Hacker's Delight, 6-1, for several conditions at once). A subtraction
// borrows only above a byte that meets its condition, so the lowest byte
// flagged is the first one that does.
func stringSpecial(b []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		quote, backslash := x^(ones*'"'), x^(ones*'\\')
		flags := ((x-ones*0x20)&^x | (quote-ones)&^quote | (backslash-ones)&^backslash | x) & highs
		if flags != 0 {
			return i + bits.TrailingZeros64(flags)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return i
		}
	}
	return i
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (v *jsonValidator) number() bool {
	b, i := v.b, v.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		if j := digits(b, i+1); j > i+1 {
			i = j
		} else {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return false
		}
		i = j
	}
	v.i = i
	return true
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}
