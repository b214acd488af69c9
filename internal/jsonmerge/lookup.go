package jsonmerge

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Member lookup by JSON Pointer, for the version a document carries in
// one of its members.

// Lookup returns the compact value at pointer, a JSON Pointer (RFC 6901),
// in the JSON document doc, and whether doc has a value there; "" is the
// whole document. Only object members are addressed: a pointer whose path
// goes through an array or a scalar finds nothing.
//
// Lookup returns an error matching [ErrNotJSON] when doc is not one JSON
// document by the rules of [Merge], and an error when pointer is neither
// "" nor starts with "/".
func Lookup(doc []byte, pointer string) (json.RawMessage, bool, error) {
	if pointer != "" && !strings.HasPrefix(pointer, "/") {
		return nil, false, fmt.Errorf("optimist: invalid JSON Pointer %q", pointer)
	}
	t, err := parseJSON(doc)
	if err != nil {
		return nil, false, fmt.Errorf("optimist: lookup: %v: %w", err, ErrNotJSON)
	}
	node := jsonRef{t, &t.root}
	if pointer == "" {
		return node.compact(), true, nil
	}
	unescape := strings.NewReplacer("~1", "/", "~0", "~")
	for _, token := range strings.Split(pointer[1:], "/") {
		if !node.is(kindObject) {
			return nil, false, nil
		}
		node = node.child(t.find(node.n, []byte(unescape.Replace(token)), node.n.lo))
		if node.n == nil {
			return nil, false, nil
		}
	}
	return node.compact(), true, nil
}
