package optimist

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/optimist-go/optimist/internal/jsonmerge"
)

// The resolvers: what the conflict loop (conflict.go) writes after a
// version conflict. The merge itself is package internal/jsonmerge, which
// is pure; this file turns its conflicts into a [*MergeConflictError].
// Next: the conflict loop sends what the resolver returns.

// Conflict is a version conflict handed to a [Resolver].
type Conflict struct {
	// Method and URL identify the write; the URL carries no credentials.
	Method, URL string
	// StatusCode is the conflict answer's status, 409 or 412.
	StatusCode int
	// Base is the document the write was based on (nil when unknown),
	// Ours the document it meant to produce, Theirs the server's current
	// document. All are JSON; a resolver must not modify them.
	Base, Ours, Theirs []byte
	// TheirETag is the ETag of Theirs; the next write is conditional on it.
	TheirETag ETag
	// Attempt counts the conflicts of this call, from 1.
	Attempt int
}

// Resolver decides what to write after a version conflict: it returns the
// JSON document to write conditionally on Theirs, or an error to give up.
// Returning Theirs unchanged writes nothing and reports success. A
// resolver may be called several times for one write, each time with the
// latest Theirs.
type Resolver func(ctx context.Context, c *Conflict) ([]byte, error)

// PathResolver decides one member that both sides of a [MergeWith] merge
// changed differently. pointer is the member's JSON Pointer (RFC 6901; ""
// is the whole document); base, ours and theirs are its compact values,
// nil where the member is absent on that side and the four bytes "null"
// for JSON null.
//
// It returns ok false to leave the member a conflict. With ok true, value
// is the member's merged value, or nil (or empty) to delete the member; a
// value for "" may not be nil. A non-nil error stops the merge, which
// returns it wrapped.
type PathResolver func(pointer string, base, ours, theirs json.RawMessage) (value json.RawMessage, ok bool, err error)

// ThreeWayMerge is the default [Resolver]: it applies the change from Base
// to Ours onto Theirs, after checking it against the change from Base to
// Theirs, in the spirit of an RFC 7396 merge patch.
//
// Objects are merged member by member, recursively. A member only one side
// changed takes that side's value (a member it deleted is deleted); a
// member both sides changed to semantically equal values takes ours'
// value. A member both sides changed differently is a true conflict, and
// so is a member one side deleted and the other changed, a member both
// sides added with different values, and an object one side changed
// inside while the other replaced it with a non-object. Arrays, strings,
// numbers, booleans and null are atomic values, and so is a document that
// is not an object. A JSON null a side sets is kept as null; only an
// absent member is a deletion. Values are equal when they mean the same:
// member order does not matter, strings compare by their decoded text and
// numbers by their exact decimal value (1.50 equals 1.5; no float64 is
// involved). A nil Base means the base is unknown: the result is Ours when
// Ours and Theirs are equal, and a conflict at "" otherwise.
//
// The result is compact JSON in Theirs' member order, members Ours added
// following in Ours' order; values are copied token for token, so numbers
// keep their exact text.
//
// True conflicts are returned together as a [*MergeConflictError] listing
// every one in document order. A document that is not JSON (invalid
// syntax or UTF-8, a member name repeated in one object, nesting deeper
// than 10000 levels) gives an error matching [ErrNotJSON].
func ThreeWayMerge(_ context.Context, c *Conflict) ([]byte, error) {
	return merge(c.Base, c.Ours, c.Theirs, nil)
}

// OursWins is a [Resolver] that writes Ours over Theirs, still
// conditionally on Theirs' ETag: what changed on the server is overwritten.
func OursWins(_ context.Context, c *Conflict) ([]byte, error) {
	return c.Ours, nil
}

// TheirsWins is a [Resolver] that keeps the server's document: nothing is
// written and the call returns Theirs.
func TheirsWins(_ context.Context, c *Conflict) ([]byte, error) {
	return c.Theirs, nil
}

// ReturnConflict is a Resolver that resolves nothing: it returns every
// conflict to the caller at once. Its error is the [*MergeConflictError]
// naming the members both sides changed differently when there are any
// (as [ThreeWayMerge] would find them), else [ErrConflict].
func ReturnConflict(_ context.Context, c *Conflict) ([]byte, error) {
	if _, err := merge(c.Base, c.Ours, c.Theirs, nil); err != nil {
		return nil, err
	}
	return nil, ErrConflict
}

// MergeWith returns a [Resolver] that merges like [ThreeWayMerge] but
// hands each conflicting member whose JSON Pointer is a key of paths to
// that function, e.g. to sum a counter both sides changed. Conflicts at
// other paths, or that their function declines, fail the merge.
func MergeWith(paths map[string]PathResolver) Resolver {
	return func(_ context.Context, c *Conflict) ([]byte, error) {
		return merge(c.Base, c.Ours, c.Theirs, func(ptr string, base, ours, theirs json.RawMessage) (json.RawMessage, bool, error) {
			fn, ok := paths[ptr]
			if !ok {
				return nil, false, nil
			}
			return fn(ptr, base, ours, theirs)
		})
	}
}

// Typed returns a [Resolver] that works on values of type T: Base (nil
// when unknown), Ours and Theirs are decoded into T and fn returns the
// value to write. Members of Theirs that T does not hold are kept. fn may
// return theirs itself to write nothing.
func Typed[T any](fn func(base, ours, theirs *T) (*T, error)) Resolver {
	return func(_ context.Context, c *Conflict) ([]byte, error) {
		var base *T
		if c.Base != nil {
			base = new(T)
			if err := json.Unmarshal(c.Base, base); err != nil {
				return nil, fmt.Errorf("%w: base: %w", ErrNotJSON, err)
			}
		}
		ours, theirs := new(T), new(T)
		if err := json.Unmarshal(c.Ours, ours); err != nil {
			return nil, fmt.Errorf("%w: ours: %w", ErrNotJSON, err)
		}
		if err := json.Unmarshal(c.Theirs, theirs); err != nil {
			return nil, fmt.Errorf("%w: theirs: %w", ErrNotJSON, err)
		}
		before, err := json.Marshal(theirs)
		if err != nil {
			return nil, err
		}
		result, err := fn(base, ours, theirs)
		if err != nil {
			return nil, err
		}
		if result == nil {
			return nil, errors.New("optimist: typed resolver returned nil")
		}
		return applyTyped(before, result, c.Theirs)
	}
}

// applyTyped writes the change a typed function made onto doc: the
// two-way difference from before (the typed value as decoded from doc,
// encoded again) to after. Members the type does not hold survive, and so
// do those it encodes differently from doc (an omitempty zero, 1.0 for 1):
// only what the function changed is written, and where doc differs from
// before at a member the function changed, the function's value wins.
func applyTyped[T any](before []byte, after *T, doc []byte) ([]byte, error) {
	encoded, err := json.Marshal(after)
	if err != nil {
		return nil, err
	}
	switch {
	case bytes.Equal(before, encoded):
		return doc, nil
	case bytes.Equal(before, doc):
		// doc is what the type encodes: the change is the whole of
		// encoded, which a merge onto doc would copy token for token.
		return encoded, nil
	}
	return merge(before, encoded, doc, oursChange)
}

// oursChange is the [PathResolver] of a two-way change: ours' value, or
// ours' deletion, at every member where doc and the change disagree.
func oursChange(_ string, _, ours, _ json.RawMessage) (json.RawMessage, bool, error) {
	return ours, true, nil
}

// merge is [jsonmerge.Merge] with its conflicts as a [*MergeConflictError].
func merge(base, ours, theirs []byte, resolve PathResolver) ([]byte, error) {
	out, err := jsonmerge.Merge(base, ours, theirs, jsonmerge.Resolver(resolve))
	var ce *jsonmerge.ConflictError
	if errors.As(err, &ce) {
		conflicts := make([]PathConflict, len(ce.Conflicts))
		for i, c := range ce.Conflicts {
			conflicts[i] = PathConflict(c)
		}
		return nil, &MergeConflictError{Conflicts: conflicts}
	}
	return out, err
}
