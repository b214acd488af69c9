package jsonmerge

import "fmt"

// Applying RFC 7396 merge patches: the document a PATCH write makes of the
// document it patches, for package optimist's record of a resource and for
// the mock server's store. (Creating a patch is patch.go.)

// ApplyPatch applies the RFC 7396 merge patch patch to doc and returns the
// result, as section 2 of the RFC says.
//
// A patch that is not a JSON object (an array, a scalar or null) replaces
// the document: the result is the patch itself, compacted. A patch that is
// an object is applied member by member to doc, or to an empty object when
// doc is not one: a member set to null is deleted, a member whose value is
// an object is patched recursively, and any other value replaces the
// member. Arrays in the patch are values like any other and are written
// as they are, with every null they hold, inside objects too.
//
// The result is compact JSON. An object keeps doc's members in doc's order
// (each under its name as doc writes it), followed by the members the patch
// adds, in the patch's order. Values are copied token for token, so numbers
// keep their exact text; only whitespace outside strings is removed.
//
// ApplyPatch returns an error matching [ErrNotJSON] when doc or patch is
// not one JSON document by the rules of [Merge]: invalid syntax, invalid
// UTF-8, a member name repeated in one object, or nesting deeper than
// 10000 levels.
func ApplyPatch(doc, patch []byte) ([]byte, error) {
	var stack []jsonMember
	td, err := parseMergeDoc(doc, &stack)
	if err != nil {
		return nil, fmt.Errorf("optimist: applying a merge patch: document: %v: %w", err, ErrNotJSON)
	}
	tp, err := parseMergeDoc(patch, &stack)
	if err != nil {
		return nil, fmt.Errorf("optimist: applying a merge patch: patch: %v: %w", err, ErrNotJSON)
	}
	out := make([]byte, 0, len(doc)+len(patch))
	return appendPatched(out, jsonRef{td, &td.root}, jsonRef{tp, &tp.root}), nil
}

// appendPatched appends the value that patch p makes of d (absent, when
// d.n is nil).
func appendPatched(dst []byte, d, p jsonRef) []byte {
	if !p.is(kindObject) {
		return p.appendTo(dst)
	}
	p = p.expand()
	if !d.is(kindObject) {
		d = jsonRef{}
	} else {
		d = d.expand()
	}
	dst = append(dst, '{')
	var hint int32
	if d.n != nil {
		hint = p.n.lo
		for i := d.n.lo; i < d.n.hi; i++ {
			j := p.t.find(p.n, d.t.name(i), hint)
			hint = nextHint(hint, j)
			switch v := p.child(j); {
			case v.n == nil:
				dst = appendMember(dst, d.t.key(i))
				dst = d.child(i).appendTo(dst)
			case !v.is(kindNull):
				dst = appendMember(dst, d.t.key(i))
				dst = appendPatched(dst, d.child(i), v)
			}
		}
		hint = d.n.lo
	}
	for i := p.n.lo; i < p.n.hi; i++ {
		if d.n != nil {
			j := d.t.find(d.n, p.t.name(i), hint)
			if hint = nextHint(hint, j); j >= 0 {
				continue
			}
		}
		if v := p.child(i); !v.is(kindNull) {
			dst = appendMember(dst, p.t.key(i))
			dst = appendPatched(dst, jsonRef{}, v)
		}
	}
	return append(dst, '}')
}
