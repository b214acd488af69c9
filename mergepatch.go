package optimist

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	jsonpatch "github.com/evanphx/json-patch/v5"
)

// RFC 7396 merge patches between documents, for PATCH writes: applying one
// to a remembered base, and expressing a resolved document as the patch
// that turns the server's document into it.

// errNullNotExpressible is returned when the target sets a member to null,
// which a merge patch cannot say (null in a merge patch deletes).
var errNullNotExpressible = errors.New("optimist: a merge patch cannot set a member to null")

// applyMergePatch applies an RFC 7396 merge patch to doc.
func applyMergePatch(doc, patch []byte) ([]byte, error) {
	out, err := jsonpatch.MergePatch(doc, patch)
	if err != nil {
		return nil, fmt.Errorf("%w: applying merge patch: %w", ErrNotJSON, err)
	}
	return out, nil
}

// createMergePatch returns the merge patch that turns from into to,
// keeping every value's text as to has it.
func createMergePatch(from, to []byte) ([]byte, error) {
	var fromObj, toObj map[string]json.RawMessage
	if json.Unmarshal(from, &fromObj) != nil || json.Unmarshal(to, &toObj) != nil ||
		fromObj == nil || toObj == nil {
		if hasNull(to) {
			return nil, errNullNotExpressible
		}
		return to, nil // not both objects: the patch is the whole target
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	member := func(name string, value []byte) {
		if !first {
			buf.WriteByte(',')
		}
		first = false
		key, _ := json.Marshal(name)
		buf.Write(key)
		buf.WriteByte(':')
		buf.Write(value)
	}
	for name := range fromObj {
		if _, ok := toObj[name]; !ok {
			member(name, []byte("null"))
		}
	}
	for name, value := range toObj {
		old, ok := fromObj[name]
		if ok && jsonEqual(old, value) {
			continue
		}
		if !ok || isObject(value) != isObject(old) || !isObject(value) {
			if hasNull(value) {
				return nil, errNullNotExpressible
			}
			member(name, value)
			continue
		}
		sub, err := createMergePatch(old, value)
		if err != nil {
			return nil, err
		}
		member(name, sub)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func isObject(raw []byte) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == '{'
}

// hasNull reports whether v is null or an object holding a null member at
// any depth: values a merge patch would delete rather than set.
func hasNull(v []byte) bool {
	v = bytes.TrimSpace(v)
	if bytes.Equal(v, []byte("null")) {
		return true
	}
	if !isObject(v) {
		return false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(v, &obj) != nil {
		return false
	}
	for _, m := range obj {
		if hasNull(m) {
			return true
		}
	}
	return false
}
