package jsonmerge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// The tree parser: a validating recursive-descent parser into a flat
// index of nodes (no maps, no interface values), which the merge, the
// patch creation, equality and lookup all read.

const (
	maxJSONDepth    = 10000 // deepest nesting accepted, as in encoding/json
	smallJSONObject = 8     // objects up to this size are searched linearly
)

// jsonKind is the type of a parsed JSON value.
type jsonKind uint8

const (
	kindNull jsonKind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

// jsonNode is one parsed value: its text src[start:end] and, for objects
// (and arrays, in a tree parsed with arrays), its children members[lo:hi].
type jsonNode struct {
	start, end int32
	lo, hi     int32
	kind       jsonKind
	compact    bool // no whitespace outside strings
	escaped    bool // a string with backslash escapes
	escapedKey bool // the member name holding this value has escapes
}

// jsonMember is an object member, or an array element (with no name).
type jsonMember struct {
	keyStart, keyEnd int32 // the quoted name
	val              jsonNode
}

// jsonTree is a parsed document. Each object's members are contiguous;
// objects over smallJSONObject members also have their member indices
// sorted by name at order[lo:hi]. Arrays are atomic in a merge, so their
// elements are only kept when arrays is set.
type jsonTree struct {
	src     []byte
	root    jsonNode
	members []jsonMember
	order   []int32
	names   map[int32][]byte // decoded names that have escapes, by keyStart
	arrays  bool
	// keep, when not 0, is the depth (the root is 1) below which objects
	// are only validated: their members are dropped and the node marked
	// with hi -1, for [jsonRef.expand] to parse again when a merge looks
	// inside. A merge of large documents that differ in few places then
	// holds the members of the few objects it opens, not of all.
	keep int
}

// name returns the decoded name of member i.
func (t *jsonTree) name(i int32) []byte {
	if m := &t.members[i]; m.val.escapedKey {
		return t.names[m.keyStart]
	}
	return t.src[t.members[i].keyStart+1 : t.members[i].keyEnd-1]
}

// key returns the quoted name of member i as written.
func (t *jsonTree) key(i int32) []byte {
	return t.src[t.members[i].keyStart:t.members[i].keyEnd]
}

// find returns the index of obj's member called name, or -1. The member
// at hint, if in obj, is tried first.
func (t *jsonTree) find(obj *jsonNode, name []byte, hint int32) int32 {
	if obj == nil {
		return -1
	}
	if hint < obj.hi && bytes.Equal(t.name(hint), name) {
		return hint
	}
	if obj.hi-obj.lo <= smallJSONObject {
		for i := obj.lo; i < obj.hi; i++ {
			if bytes.Equal(t.name(i), name) {
				return i
			}
		}
		return -1
	}
	ord := t.order[obj.lo:obj.hi]
	k, ok := slices.BinarySearchFunc(ord, name, func(i int32, name []byte) int {
		return bytes.Compare(t.name(i), name)
	})
	if !ok {
		return -1
	}
	return ord[k]
}

// jsonRef is a value in a tree; a nil n means absent.
type jsonRef struct {
	t *jsonTree
	n *jsonNode
}

func (r jsonRef) raw() []byte        { return r.t.src[r.n.start:r.n.end] }
func (r jsonRef) is(k jsonKind) bool { return r.n != nil && r.n.kind == k }

func (r jsonRef) appendTo(dst []byte) []byte {
	if r.n.compact {
		return append(dst, r.raw()...)
	}
	return appendCompactJSON(dst, r.raw())
}

// child returns member i of r, or an absent value for i < 0.
func (r jsonRef) child(i int32) jsonRef {
	if i < 0 {
		return jsonRef{}
	}
	return jsonRef{r.t, &r.t.members[i].val}
}

// compact returns a compact copy of the value, or nil if absent.
func (r jsonRef) compact() json.RawMessage {
	if r.n == nil {
		return nil
	}
	return r.appendTo(make([]byte, 0, r.n.end-r.n.start))
}

// dropped reports whether r is an object whose members were dropped.
func (r jsonRef) dropped() bool { return r.n != nil && r.n.kind == kindObject && r.n.hi < 0 }

// expand returns r with its members: r itself, or for an object whose
// members were dropped, the object parsed again (its own members kept,
// and those of the levels below it up to the tree's keep depth).
func (r jsonRef) expand() jsonRef {
	if !r.dropped() {
		return r
	}
	t := newJSONParser(r.raw(), r.t.keep, nil)
	_ = t.value(&t.root) // r was validated
	return jsonRef{&t.jsonTree, &t.root}
}

// withArrays returns the value parsed again with its array elements.
func (r jsonRef) withArrays() jsonRef {
	if r.t.arrays {
		return r
	}
	p := jsonParser{jsonTree: jsonTree{src: r.raw(), arrays: true}}
	_ = p.value(&p.root) // r was validated
	return jsonRef{&p.jsonTree, &p.root}
}

// jsonParser is a recursive-descent parser that validates as it builds.
type jsonParser struct {
	jsonTree
	i, ws, depth int // ws counts the runs of whitespace skipped
	inArray      int // arrays open around the current value
	stack        []jsonMember
	// A small document's members and stack live in the parser itself:
	// one allocation for the whole parse.
	smallMembers, smallStack [smallJSONParse]jsonMember
}

// smallJSONParse is the member count up to which a parse allocates once.
const smallJSONParse = 8

// shallowJSONSize is the document size from which a merge's parse keeps
// members of the top shallowJSONDepth levels only (see jsonTree.keep).
const (
	shallowJSONSize  = 64 << 10
	shallowJSONDepth = 2
)

// parseJSON parses one JSON document, keeping every object's members.
func parseJSON(src []byte) (*jsonTree, error) { return parseJSONKeep(src, 0, nil) }

// parseMergeDoc parses one input of a merge: a large one keeps the
// members of its top levels only, the rest on demand ([jsonRef.expand]).
// stack, when not nil, is scratch space that parses done one after
// another share: the parse starts from *stack and leaves it there, grown,
// for the next, so the inputs of one merge grow one stack, not one each.
func parseMergeDoc(src []byte, stack *[]jsonMember) (*jsonTree, error) {
	if len(src) >= shallowJSONSize {
		return parseJSONKeep(src, shallowJSONDepth, stack)
	}
	return parseJSONKeep(src, 0, stack)
}

// newJSONParser returns a parser of src with room for its members. Its
// stack is stack when that has room for more than a small parse.
func newJSONParser(src []byte, keep int, stack []jsonMember) *jsonParser {
	// Every member but the first of an object follows a comma.
	n := 0
	if keep == 0 || len(src) < shallowJSONSize {
		n = bytes.Count(src, []byte{','}) + bytes.Count(src, []byte{'{'})
	}
	p := &jsonParser{jsonTree: jsonTree{src: src, keep: keep}}
	p.stack = p.smallStack[:0]
	if cap(stack) > smallJSONParse {
		p.stack = stack[:0]
	}
	if n <= smallJSONParse {
		p.members = p.smallMembers[:0]
	} else {
		p.members = make([]jsonMember, 0, n)
	}
	return p
}

// parseJSONKeep parses one JSON document, keeping members to depth keep
// (0: all), with the shared scratch stack of [parseMergeDoc] (or nil).
func parseJSONKeep(src []byte, keep int, stack *[]jsonMember) (*jsonTree, error) {
	if len(src) > math.MaxInt32 {
		return nil, errors.New("document larger than 2 GiB")
	}
	var scratch []jsonMember
	if stack != nil {
		scratch = *stack
	}
	p := newJSONParser(src, keep, scratch)
	err := p.value(&p.root)
	if stack != nil && cap(p.stack) > smallJSONParse {
		*stack = p.stack[:0]
	}
	if err == nil {
		if p.skipSpace(); p.i < len(src) {
			err = p.fail("data after the document")
		}
	}
	if err != nil {
		return nil, err
	}
	return &p.jsonTree, nil
}

func (p *jsonParser) fail(msg string) error {
	return fmt.Errorf("%s at offset %d", msg, p.i)
}

func (p *jsonParser) skipSpace() {
	i := p.i
	if i < len(p.src) && p.src[i] > ' ' {
		return
	}
	for i < len(p.src) && (p.src[i] == ' ' || p.src[i] == '\n' || p.src[i] == '\r' || p.src[i] == '\t') {
		i++
	}
	if i != p.i {
		p.i, p.ws = i, p.ws+1
	}
}

// value parses a value into n, leaving n.escapedKey as it is.
func (p *jsonParser) value(n *jsonNode) error {
	p.skipSpace()
	if p.i >= len(p.src) {
		return p.fail("unexpected end of input")
	}
	n.start = int32(p.i)
	ws := p.ws
	var err error
	switch c := p.src[p.i]; {
	case c == '{' || c == '[':
		err = p.container(n, c == '{')
	case c == '"':
		n.kind = kindString
		n.escaped, err = p.str()
	case c == 't' || c == 'f' || c == 'n':
		n.kind = kindBool
		if c == 'n' {
			n.kind = kindNull
		}
		err = p.literal()
	case c == '-' || c >= '0' && c <= '9':
		n.kind = kindNumber
		err = p.number()
	default:
		err = p.fail("unexpected character " + strconv.QuoteRune(rune(c)))
	}
	n.end, n.compact = int32(p.i), p.ws == ws
	return err
}

// container parses an object or an array. Unless the tree keeps arrays,
// values inside arrays are only validated: their members are dropped once
// checked for repeated names.
func (p *jsonParser) container(n *jsonNode, object bool) error {
	if p.depth++; p.depth > maxJSONDepth {
		return p.fail("nesting too deep")
	}
	end, keep := byte('}'), object && p.inArray == 0 || p.arrays
	deep := keep && p.keep > 0 && p.depth > p.keep && !p.arrays
	if n.kind = kindObject; !object {
		end, n.kind = ']', kindArray
		p.inArray++
	}
	p.i++
	mark := len(p.stack)
	if p.skipSpace(); p.i < len(p.src) && p.src[p.i] == end {
		p.i++
	} else if err := p.elements(object, keep || object, end); err != nil {
		return err
	}
	if p.depth--; !object {
		p.inArray--
	}
	n.lo = int32(len(p.members))
	p.members = append(p.members, p.stack[mark:]...)
	p.stack = p.stack[:mark]
	n.hi = int32(len(p.members))
	var err error
	if object {
		err = p.index(n)
	}
	if !keep || deep {
		p.members, n.lo, n.hi = p.members[:n.lo], 0, 0
	}
	if deep {
		n.hi = -1 // dropped: jsonRef.expand parses it again
	}
	return err
}

// elements parses the members or elements of a container up to its end,
// pushing them on the stack if push is set.
func (p *jsonParser) elements(object, push bool, end byte) error {
	for {
		var m jsonMember
		if object {
			if err := p.memberName(&m); err != nil {
				return err
			}
		}
		if err := p.value(&m.val); err != nil {
			return err
		}
		if push {
			p.push(m)
		}
		if p.skipSpace(); p.i >= len(p.src) || p.src[p.i] != ',' && p.src[p.i] != end {
			return p.fail("expected ',' or '" + string(end) + "'")
		}
		if p.i++; p.src[p.i-1] == end {
			return nil
		}
	}
}

// push puts m on the stack. A full stack doubles: a large object's members
// are then copied about twice while it grows, not the five times that
// append's growth by a quarter costs.
func (p *jsonParser) push(m jsonMember) {
	if len(p.stack) == cap(p.stack) {
		p.stack = slices.Grow(p.stack, len(p.stack))
	}
	p.stack = append(p.stack, m)
}

// memberName parses a member name and the colon after it.
func (p *jsonParser) memberName(m *jsonMember) error {
	if p.skipSpace(); p.i >= len(p.src) || p.src[p.i] != '"' {
		return p.fail("expected a member name")
	}
	m.keyStart = int32(p.i)
	escaped, err := p.str()
	if err != nil {
		return err
	}
	if m.keyEnd, m.val.escapedKey = int32(p.i), escaped; escaped {
		if p.names == nil {
			p.names = make(map[int32][]byte)
		}
		p.names[m.keyStart] = []byte(unquoteJSON(p.src[m.keyStart:p.i]))
	}
	if p.skipSpace(); p.i >= len(p.src) || p.src[p.i] != ':' {
		return p.fail("expected ':'")
	}
	p.i++
	return nil
}

// index rejects repeated member names in object n and, for a large
// object, sorts its member indices by name. A large object whose names are
// in order already (as encoding/json writes a map) needs no sort.
func (p *jsonParser) index(n *jsonNode) error {
	if n.hi-n.lo <= smallJSONObject {
		var names [smallJSONObject][]byte
		for i := n.lo; i < n.hi; i++ {
			name := p.name(i)
			for _, earlier := range names[:i-n.lo] {
				if bytes.Equal(name, earlier) {
					return p.fail("repeated member name " + string(p.key(i)))
				}
			}
			names[i-n.lo] = name
		}
		return nil
	}
	if len(p.order) < int(n.hi) {
		p.order = slices.Grow(p.order, int(n.hi)-len(p.order))[:n.hi]
	}
	ord := p.order[n.lo:n.hi]
	for k := range ord {
		ord[k] = n.lo + int32(k)
	}
	if p.namesAscend(n) {
		return nil
	}
	slices.SortFunc(ord, func(a, b int32) int { return bytes.Compare(p.name(a), p.name(b)) })
	for k := 1; k < len(ord); k++ {
		if bytes.Equal(p.name(ord[k-1]), p.name(ord[k])) {
			return p.fail("repeated member name " + string(p.key(ord[k])))
		}
	}
	return nil
}

// namesAscend reports whether each member name of object n is greater
// than the one before it: then the names are sorted and none repeats.
func (p *jsonParser) namesAscend(n *jsonNode) bool {
	prev := p.name(n.lo)
	for i := n.lo + 1; i < n.hi; i++ {
		name := p.name(i)
		if bytes.Compare(prev, name) >= 0 {
			return false
		}
		prev = name
	}
	return true
}

// str parses a string and reports whether it has escapes.
func (p *jsonParser) str() (escaped bool, err error) {
	s, start, high := p.src, p.i+1, false
	for i := start; i < len(s); i++ {
		i = stringSpecial(s, i)
		if i >= len(s) {
			break
		}
		switch c := s[i]; {
		case c == '"':
			p.i = i + 1
			if high && !utf8.Valid(s[start:i]) {
				return escaped, p.fail("invalid UTF-8 in string")
			}
			return escaped, nil
		case c >= 0x80:
			high = true
		case c == '\\' && i+1 < len(s) && bytes.IndexByte([]byte(`"\/bfnrt`), s[i+1]) >= 0:
			escaped, i = true, i+1
		case c == '\\' && i+5 < len(s) && s[i+1] == 'u' && isHex4(s[i+2:i+6]):
			escaped, i = true, i+5
		default:
			p.i = i
			return escaped, p.fail("invalid character in string")
		}
	}
	p.i = len(s)
	return escaped, p.fail("unterminated string")
}

func isHex4(s []byte) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f') {
			return false
		}
	}
	return true
}

func (p *jsonParser) literal() error {
	for _, lit := range [...]string{"true", "false", "null"} {
		if bytes.HasPrefix(p.src[p.i:], []byte(lit)) {
			p.i += len(lit)
			return nil
		}
	}
	return p.fail("invalid literal")
}

// number parses -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *jsonParser) number() error {
	s, i := p.src, p.i
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = skipDigits(s, i)
	default:
		p.i = i
		return p.fail("invalid number")
	}
	if i < len(s) && s[i] == '.' {
		if j := skipDigits(s, i+1); j > i+1 {
			i = j
		} else {
			p.i = j
			return p.fail("invalid number")
		}
	}
	if i < len(s) && s[i]|0x20 == 'e' {
		if i++; i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := skipDigits(s, i)
		if j == i {
			p.i = j
			return p.fail("invalid number")
		}
		i = j
	}
	p.i = i
	return nil
}

func skipDigits(s []byte, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
