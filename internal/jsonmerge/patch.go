package jsonmerge

// RFC 7396 merge patch creation: the patch that turns one document into
// another, for a PATCH write that carries a resolved document. Applying
// a patch is apply.go.

// CreatePatch returns the RFC 7396 merge patch that turns from into to,
// keeping every value's text as to has it.
//
// When from and to are both JSON objects, the patch is an object: a member
// from has and to has not is set to null (deleted); a member to has and
// from has not, or has with a value that does not mean the same (as
// [Equal] decides), is set to to's value, as written, except that a
// member that is an object on both sides gets, recursively, the patch
// between the two. Members equal on both sides are left out, so a patch
// between equal objects is "{}". Arrays are atomic values, as in RFC 7396.
// The deletions come first, in from's order, then the rest in to's order.
//
// When either document is not a JSON object (an array, a scalar, null,
// empty or not JSON by the rules of [Merge]), the patch is to itself,
// byte for byte.
//
// A merge patch cannot set a member to null, as null in a patch deletes:
// CreatePatch returns an error when the patch would have to set one, that
// is when a value it would write is null or an object holding a null
// member at any depth (nulls inside arrays are fine).
func CreatePatch(from, to []byte) ([]byte, error) {
	tf, errFrom := parseJSON(from)
	tt, errTo := parseJSON(to)
	if errTo != nil {
		return to, nil // not JSON: the patch is the whole target
	}
	f, t := jsonRef{}, jsonRef{tt, &tt.root}
	if errFrom == nil {
		f = jsonRef{tf, &tf.root}
	}
	if !f.is(kindObject) || !t.is(kindObject) {
		if hasNull(t) {
			return nil, errNullNotExpressible
		}
		return to, nil // not both objects: the patch is the whole target
	}
	return appendPatch(make([]byte, 0, 64), f, t)
}

// appendMember appends key and a colon to dst, which ends with an object
// being written, with a comma first unless the object has no member yet
// (dst ends with its opening brace: no member value ends with one).
func appendMember(dst, key []byte) []byte {
	if dst[len(dst)-1] != '{' {
		dst = append(dst, ',')
	}
	return append(append(dst, key...), ':')
}

// appendPatch appends the merge patch between objects f and t.
func appendPatch(dst []byte, f, t jsonRef) ([]byte, error) {
	dst = append(dst, '{')
	hint := t.n.lo
	for i := f.n.lo; i < f.n.hi; i++ {
		j := t.t.find(t.n, f.t.name(i), hint)
		if j >= 0 {
			hint = j + 1
			continue
		}
		dst = appendMember(dst, f.t.key(i))
		dst = append(dst, "null"...)
	}
	hint = f.n.lo
	for i := t.n.lo; i < t.n.hi; i++ {
		j := f.t.find(f.n, t.t.name(i), hint)
		hint = nextHint(hint, j)
		old, val := f.child(j), t.child(i)
		if old.n != nil && equalValues(old, val) {
			continue
		}
		dst = appendMember(dst, t.t.key(i))
		if old.is(kindObject) && val.is(kindObject) {
			var err error
			if dst, err = appendPatch(dst, old, val); err != nil {
				return nil, err
			}
			continue
		}
		if hasNull(val) {
			return nil, errNullNotExpressible
		}
		dst = append(dst, val.raw()...)
	}
	return append(dst, '}'), nil
}

// hasNull reports whether v is null or an object holding a null member at
// any depth: values a merge patch would delete rather than set.
func hasNull(v jsonRef) bool {
	switch {
	case v.is(kindNull):
		return true
	case v.is(kindObject):
		for i := v.n.lo; i < v.n.hi; i++ {
			if hasNull(v.child(i)) {
				return true
			}
		}
	}
	return false
}
