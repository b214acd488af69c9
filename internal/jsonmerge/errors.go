package jsonmerge

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// The errors of the package: its sentinels and the conflict error of a
// merge.

// ErrNotJSON is matched when an input that must be a JSON document is
// not. Package optimist exports this very value as optimist.ErrNotJSON.
var ErrNotJSON = errors.New("optimist: not a JSON document")

// errNullNotExpressible is returned when a patch's target sets a member to
// null, which a merge patch cannot say (null in a merge patch deletes).
var errNullNotExpressible = errors.New("optimist: a merge patch cannot set a member to null")

// ConflictError is returned by [Merge] when both sides changed members to
// different values. It lists every such member, in the order the members
// appear in the result.
type ConflictError struct {
	Conflicts []Conflict
}

// Conflict is one member both sides changed differently. A nil value
// means the member is absent on that side; JSON null is the four bytes
// "null". Values are compact.
type Conflict struct {
	// Pointer is the member's JSON Pointer (RFC 6901); "" is the whole document.
	Pointer string
	Base    json.RawMessage
	Ours    json.RawMessage
	Theirs  json.RawMessage
}

// Error lists the conflicting paths.
func (e *ConflictError) Error() string {
	paths := make([]string, len(e.Conflicts))
	for i, c := range e.Conflicts {
		paths[i] = strconv.Quote(c.Pointer)
	}
	return "optimist: merge conflict at " + strings.Join(paths, ", ")
}
