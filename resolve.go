package optimist

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

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

// ThreeWayMerge is the default [Resolver]: it applies the change from Base
// to Ours onto Theirs with [Merge]. A member both sides changed differently
// is a true conflict, returned as a [*MergeConflictError].
func ThreeWayMerge(_ context.Context, c *Conflict) ([]byte, error) {
	return Merge(c.Base, c.Ours, c.Theirs)
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

// Fail is a [Resolver] that returns every conflict to the caller at once.
// Its error is the [*MergeConflictError] naming the members both sides
// changed when there are any, else [ErrConflict].
func Fail(_ context.Context, c *Conflict) ([]byte, error) {
	if _, err := Merge(c.Base, c.Ours, c.Theirs); err != nil {
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
		return MergeFunc(c.Base, c.Ours, c.Theirs, func(ptr string, base, ours, theirs json.RawMessage) (json.RawMessage, bool, error) {
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
	return MergeFunc(before, encoded, doc, oursChange)
}

// oursChange is the [PathResolver] of a two-way change: ours' value, or
// ours' deletion, at every member where doc and the change disagree.
func oursChange(_ string, _, ours, _ json.RawMessage) (json.RawMessage, bool, error) {
	return ours, true, nil
}
