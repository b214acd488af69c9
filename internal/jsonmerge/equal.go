package jsonmerge

import (
	"bytes"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Semantic equality of JSON values: the rules by which a merge decides
// that two sides agree, and [Equal], which applies them to documents.

// Equal reports whether two JSON documents mean the same, by the rules
// of [Merge]. Text that is not JSON, by the rules of [Merge], is equal
// only to the same bytes.
func Equal(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var stack []jsonMember
	ta, err := parseMergeDoc(a, &stack)
	if err != nil {
		return false
	}
	tb, err := parseMergeDoc(b, &stack)
	if err != nil {
		return false
	}
	return equalValues(jsonRef{ta, &ta.root}, jsonRef{tb, &tb.root})
}

// equalValues reports whether two values (nil nodes: absent) mean the same.
func equalValues(a, b jsonRef) bool {
	if a.n == nil || b.n == nil {
		return a.n == nil && b.n == nil
	}
	if a.n.kind != b.n.kind {
		return false
	}
	ra, rb := a.raw(), b.raw()
	if bytes.Equal(ra, rb) {
		return true
	}
	a, b = a.expand(), b.expand()
	if a.n.hi-a.n.lo != b.n.hi-b.n.lo {
		return false
	}
	switch a.n.kind {
	case kindNumber:
		return numberEqual(ra, rb)
	case kindString:
		return (a.n.escaped || b.n.escaped) && unquoteJSON(ra) == unquoteJSON(rb)
	case kindArray:
		if !a.t.arrays || !b.t.arrays {
			return equalValues(a.withArrays(), b.withArrays())
		}
		for i := range a.n.hi - a.n.lo {
			if !equalValues(a.child(a.n.lo+i), b.child(b.n.lo+i)) {
				return false
			}
		}
		return true
	case kindObject:
		hint := b.n.lo
		for i := a.n.lo; i < a.n.hi; i++ {
			j := b.t.find(b.n, a.t.name(i), hint)
			if j < 0 || !equalValues(a.child(i), b.child(j)) {
				return false
			}
			hint = j + 1
		}
		return true
	}
	return false // booleans (null is always byte-equal)
}

// unquoteJSON decodes a valid JSON string. An escaped surrogate that is
// not half of a pair is kept as its own three bytes (WTF-8), not replaced
// by U+FFFD, so that strings differing only in such escapes stay
// different; a valid string's UTF-8 text never holds those bytes.
func unquoteJSON(raw []byte) string {
	s := raw[1 : len(raw)-1]
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			out = append(out, s[i])
			continue
		}
		switch i++; s[i] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hexRune(s[i+1 : i+5])
			if i += 4; utf16.IsSurrogate(r) && r < 0xdc00 && i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
				if r2 := hexRune(s[i+3 : i+7]); r2 >= 0xdc00 && r2 < 0xe000 {
					r, i = utf16.DecodeRune(r, r2), i+6
				}
			}
			if utf16.IsSurrogate(r) {
				out = append(out, 0xe0|byte(r>>12), 0x80|byte(r>>6)&0x3f, 0x80|byte(r)&0x3f)
			} else {
				out = utf8.AppendRune(out, r)
			}
		default: // '"', '\\' or '/'
			out = append(out, s[i])
		}
	}
	return string(out)
}

// hexRune returns the value of four hex digits.
func hexRune(s []byte) rune {
	var r rune
	for _, c := range s {
		if c <= '9' {
			r = r<<4 | rune(c-'0')
		} else {
			r = r<<4 | rune(c|0x20-'a'+10)
		}
	}
	return r
}

// numberEqual reports whether two valid JSON numbers have the same value.
func numberEqual(a, b []byte) bool {
	na, da, ea, xa := splitNumber(a)
	nb, db, eb, xb := splitNumber(b)
	if len(da) == 0 || len(db) == 0 {
		return len(da) == len(db) // zero, whatever its sign
	}
	return na == nb && bytes.Equal(da, db) && exponent(ea, xa) == exponent(eb, xb)
}

// splitNumber splits a valid JSON number into its sign, its significant
// digits d (no leading or trailing zeros) and an exponent: the number is
// 0.d × 10^(exp+shift), exp being the text after 'e'.
func splitNumber(s []byte) (neg bool, d, exp []byte, shift int64) {
	if s[0] == '-' {
		neg, s = true, s[1:]
	}
	if i := bytes.IndexAny(s, "eE"); i >= 0 {
		s, exp = s[:i], s[i+1:]
	}
	point := len(s)
	if i := bytes.IndexByte(s, '.'); i >= 0 {
		point = i
		d = append(append(make([]byte, 0, len(s)), s[:i]...), s[i+1:]...)
	} else {
		d = s
	}
	lead := len(d) - len(bytes.TrimLeft(d, "0"))
	return neg, bytes.TrimRight(d[lead:], "0"), exp, int64(point - lead)
}

// exponent returns exp+shift as decimal text, for exponent text of any
// length (shift is far smaller than 10^18).
func exponent(exp []byte, shift int64) string {
	neg := len(exp) > 0 && exp[0] == '-'
	if len(exp) > 0 && (exp[0] == '-' || exp[0] == '+') {
		exp = exp[1:]
	}
	exp = bytes.TrimLeft(exp, "0")
	if len(exp) <= 18 {
		e, _ := strconv.ParseInt(string(exp), 10, 64) // "" is 0
		if neg {
			e = -e
		}
		return strconv.FormatInt(e+shift, 10)
	}
	// |exp| > |shift|: the sign stays, and shift moves the magnitude.
	digits, carry := []byte(string(exp)), shift
	if neg {
		carry = -shift
	}
	for i := len(digits) - 1; i >= 0 && carry != 0; i-- {
		v := int64(digits[i]-'0') + carry
		carry = v / 10
		if v %= 10; v < 0 {
			v, carry = v+10, carry-1
		}
		digits[i] = byte('0' + v)
	}
	text := string(bytes.TrimLeft(digits, "0"))
	if carry > 0 {
		text = strconv.FormatInt(carry, 10) + string(digits)
	}
	if neg {
		return "-" + text
	}
	return text
}
