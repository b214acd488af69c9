package jsonmerge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The three-way merge: how each member is decided, and the compact text
// the merged document is written in.

// Resolver decides one member that both sides of a [Merge] changed
// differently. pointer is the member's JSON Pointer (RFC 6901; "" is the
// whole document); base, ours and theirs are its compact values, nil where
// the member is absent on that side and the four bytes "null" for JSON null.
//
// It returns ok false to leave the member a conflict. With ok true, value
// is the member's merged value, or nil (or empty) to delete the member; a
// value for "" may not be nil. A non-nil error stops the merge, which
// returns it wrapped.
type Resolver func(pointer string, base, ours, theirs json.RawMessage) (value json.RawMessage, ok bool, err error)

// Merge computes a three-way merge of JSON documents: the change from base
// to ours is applied onto theirs, after checking it against the change
// from base to theirs, in the spirit of an RFC 7396 merge patch.
//
// Objects are merged member by member, recursively. A member only one side
// changed takes that side's value (a member it deleted is deleted); a
// member both sides changed to semantically equal values takes ours'
// value. A member both sides changed differently is a conflict, and so is
// a member one side deleted and the other changed, a member both sides
// added with different values, and an object one side changed inside
// while the other replaced it with a non-object. Arrays, strings, numbers,
// booleans and null are atomic values, and so is a document that is not an
// object. A JSON null a side sets is kept as null; only an absent member is
// a deletion.
//
// Values are equal when they mean the same, as [Equal] decides: member
// order does not matter, strings compare by their decoded text and
// numbers by their exact decimal value (1.50 equals 1.5, 1e2 equals 100;
// no float64 is involved).
//
// An empty base means the base is unknown: the result is ours when ours
// and theirs are equal, and a conflict at "" otherwise.
//
// resolve, when not nil, is called for each conflicting member, in
// document order. A member it resolves is not merged further: its value is
// written as returned, compacted. A value that is not JSON gives an error
// matching [ErrNotJSON]; an error from resolve stops the merge and is
// returned wrapped. Conflicts resolve does not handle (or all of them,
// when resolve is nil) are reported as a [*ConflictError], not wrapped.
//
// The result is compact JSON. Members keep theirs' order, and members ours
// added follow in ours' order. Values are copied token for token, so
// numbers such as 12345678901234567890 keep their exact text; only
// whitespace outside strings is removed.
//
// Merge returns an error matching [ErrNotJSON] when an input is not one
// JSON document: invalid syntax, invalid UTF-8, a member name repeated in
// one object, or nesting deeper than 10000 levels. It returns a
// [*ConflictError] listing every conflict in the order the members appear
// in the result.
func Merge(base, ours, theirs []byte, resolve Resolver) ([]byte, error) {
	b, o, t, err := parseMergeInputs(base, ours, theirs)
	if err != nil {
		return nil, err
	}
	m := merger{out: make([]byte, 0, len(theirs)+len(ours)/8+16), resolve: resolve}
	m.value(nil, b, o, t)
	if m.err != nil {
		return nil, m.err
	}
	if len(m.conflicts) > 0 {
		return nil, &ConflictError{Conflicts: m.conflicts}
	}
	return m.out, nil
}

// parseMergeInputs parses the three documents, each distinct text once.
// The base is absent (a zero jsonRef) when it is empty.
func parseMergeInputs(base, ours, theirs []byte) (b, o, t jsonRef, err error) {
	var stack []jsonMember // scratch space the three parses share
	parse := func(side string, doc []byte, seen ...jsonRef) (jsonRef, error) {
		for _, r := range seen {
			if r.n != nil && bytes.Equal(doc, r.t.src) {
				return r, nil
			}
		}
		tr, err := parseMergeDoc(doc, &stack)
		if err != nil {
			return jsonRef{}, fmt.Errorf("optimist: merge: %s: %v: %w", side, err, ErrNotJSON)
		}
		return jsonRef{tr, &tr.root}, nil
	}
	if len(base) > 0 {
		if b, err = parse("base", base); err != nil {
			return b, o, t, err
		}
	}
	if o, err = parse("ours", ours, b); err != nil {
		return b, o, t, err
	}
	t, err = parse("theirs", theirs, b, o)
	return b, o, t, err
}

// merger writes a merged document and collects its conflicts.
type merger struct {
	out       []byte
	path      [][]byte // decoded member names from the root to the current member
	resolve   Resolver
	conflicts []Conflict
	err       error
}

// mergeAction is what [decideMerge] chose for one member.
type mergeAction uint8

const (
	takeTheirs mergeAction = iota
	takeOurs
	mergeMembers
	mergeConflict
)

// decideMerge chooses how to merge one member; an absent side has a nil
// node. Byte equality is tried first, as it settles most members cheaply.
func decideMerge(b, o, t jsonRef) mergeAction {
	switch {
	case o.n != nil && t.n != nil && bytes.Equal(o.raw(), t.raw()):
		return takeTheirs
	case b.n != nil && o.n != nil && bytes.Equal(b.raw(), o.raw()):
		return takeTheirs
	case b.n != nil && t.n != nil && bytes.Equal(b.raw(), t.raw()):
		return takeOurs
	case b.is(kindObject) && o.is(kindObject) && t.is(kindObject):
		return mergeMembers
	case equalValues(b, o):
		return takeTheirs
	case equalValues(b, t) || equalValues(o, t):
		return takeOurs
	}
	return mergeConflict
}

// value writes the merged member after key (nil at the root). It writes
// nothing for a deleted member.
func (m *merger) value(key []byte, b, o, t jsonRef) {
	switch decideMerge(b, o, t) {
	case takeTheirs:
		m.write(key, t)
	case takeOurs:
		m.write(key, o)
	case mergeMembers:
		m.out = appendJSONKey(m.out, key)
		m.object(b, o, t)
	default:
		m.conflict(key, b, o, t)
	}
}

func (m *merger) write(key []byte, r jsonRef) {
	if r.n != nil {
		m.out = appendJSONKey(m.out, key)
		m.out = r.appendTo(m.out)
	}
}

// object merges three objects: theirs' members in their order, then the
// members only ours has, in ours' order. Members only base has were
// deleted on both sides.
func (m *merger) object(b, o, t jsonRef) {
	b, o, t = b.expand(), o.expand(), t.expand()
	m.out = append(m.out, '{')
	first := true
	hb, ho := b.n.lo, o.n.lo
	for i := t.n.lo; i < t.n.hi && m.err == nil; i++ {
		name := t.t.name(i)
		bi, oi := b.t.find(b.n, name, hb), o.t.find(o.n, name, ho)
		hb, ho = nextHint(hb, bi), nextHint(ho, oi)
		first = m.member(first, t.t.key(i), name, b.child(bi), o.child(oi), t.child(i))
	}
	hb, ht := b.n.lo, t.n.lo
	for i := o.n.lo; i < o.n.hi && m.err == nil; i++ {
		name := o.t.name(i)
		if ti := t.t.find(t.n, name, ht); ti >= 0 {
			ht = ti + 1
			continue
		}
		bi := b.t.find(b.n, name, hb)
		hb = nextHint(hb, bi)
		first = m.member(first, o.t.key(i), name, b.child(bi), o.child(i), jsonRef{})
	}
	m.out = append(m.out, '}')
}

func nextHint(hint, found int32) int32 {
	if found >= 0 {
		return found + 1
	}
	return hint
}

// member writes one object member, preceded by a comma unless it is the
// first written, and reports whether none has been written yet.
func (m *merger) member(first bool, key, name []byte, b, o, t jsonRef) bool {
	mark := len(m.out)
	if !first {
		m.out = append(m.out, ',')
	}
	body := len(m.out)
	m.path = append(m.path, name)
	m.value(key, b, o, t)
	m.path = m.path[:len(m.path)-1]
	if len(m.out) == body {
		m.out = m.out[:mark]
		return first
	}
	return false
}

// conflict offers a conflicting member to the resolver and records it if
// the resolver does not handle it.
func (m *merger) conflict(key []byte, b, o, t jsonRef) {
	c := Conflict{Pointer: m.pointer(), Base: b.compact(), Ours: o.compact(), Theirs: t.compact()}
	if m.resolve != nil {
		v, ok, err := m.resolve(c.Pointer, c.Base, c.Ours, c.Theirs)
		if err != nil {
			m.err = fmt.Errorf("optimist: merge: resolving %q: %w", c.Pointer, err)
			return
		}
		if ok {
			m.err = m.resolved(key, c.Pointer, v)
			return
		}
	}
	m.conflicts = append(m.conflicts, c)
}

// resolved writes the value a resolver chose for the member at pointer.
func (m *merger) resolved(key []byte, pointer string, v json.RawMessage) error {
	if len(v) == 0 {
		if key == nil {
			return errors.New("optimist: merge: the resolver deleted the whole document")
		}
		return nil
	}
	tr, err := parseJSON(v)
	if err != nil {
		return fmt.Errorf("optimist: merge: resolved value at %q: %v: %w", pointer, err, ErrNotJSON)
	}
	m.out = appendJSONKey(m.out, key)
	m.out = jsonRef{tr, &tr.root}.appendTo(m.out)
	return nil
}

// pointer returns the JSON Pointer of the current member.
func (m *merger) pointer() string {
	var sb strings.Builder
	for _, name := range m.path {
		sb.WriteByte('/')
		for _, c := range name {
			switch c {
			case '~':
				sb.WriteString("~0")
			case '/':
				sb.WriteString("~1")
			default:
				sb.WriteByte(c)
			}
		}
	}
	return sb.String()
}

func appendJSONKey(dst, key []byte) []byte {
	if key == nil {
		return dst
	}
	return append(append(dst, key...), ':')
}

// appendCompactJSON appends valid JSON src without whitespace outside strings.
func appendCompactJSON(dst, src []byte) []byte {
	start, inString := 0, false
	for i := 0; i < len(src); i++ {
		switch c := src[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			dst = append(dst, src[start:i]...)
			start = i + 1
		}
	}
	return append(dst, src[start:]...)
}
