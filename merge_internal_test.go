package optimist

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist/internal/jsonmerge"
)

// TestMergeConflictError checks that merge turns the engine's conflicts
// into a *MergeConflictError, member for member, which matches
// ErrConflict and nothing else, and leaves its other errors as they are.
func TestMergeConflictError(t *testing.T) {
	t.Parallel()
	base := []byte(`{"a/b":1,"c":{"d":1},"e":1}`)
	ours := []byte(`{"a/b":2,"c":{"d":2},"e":2}`)
	theirs := []byte(`{"a/b":3,"c":{"d":3}}`)
	got, err := merge(base, ours, theirs, nil)
	require.Nil(t, got)
	var mce *MergeConflictError
	require.ErrorAs(t, err, &mce)
	require.Equal(t, []PathConflict{
		{Pointer: "/a~1b", Base: json.RawMessage(`1`), Ours: json.RawMessage(`2`), Theirs: json.RawMessage(`3`)},
		{Pointer: "/c/d", Base: json.RawMessage(`1`), Ours: json.RawMessage(`2`), Theirs: json.RawMessage(`3`)},
		{Pointer: "/e", Base: json.RawMessage(`1`), Ours: json.RawMessage(`2`)},
	}, mce.Conflicts)
	require.Equal(t, []string{"/a~1b", "/c/d", "/e"}, mce.pointers())
	require.Equal(t, `optimist: merge conflict at "/a~1b", "/c/d", "/e"`, err.Error())
	require.ErrorIs(t, err, ErrConflict)
	require.NotErrorIs(t, err, ErrNotJSON)
	require.NotErrorAs(t, err, new(*jsonmerge.ConflictError), "the engine's error does not leak")

	// A resolver's deletion, and what it leaves a conflict.
	got, err = merge(base, ours, theirs, func(pointer string, _, _, _ json.RawMessage) (json.RawMessage, bool, error) {
		return nil, pointer != "/e", nil
	})
	require.Nil(t, got)
	require.ErrorAs(t, err, &mce)
	require.Equal(t, []string{"/e"}, mce.pointers())

	_, err = merge(base, []byte(`{`), theirs, nil)
	require.ErrorIs(t, err, ErrNotJSON)
	require.NotErrorIs(t, err, ErrConflict)

	errResolver := errors.New("resolver failed")
	_, err = merge(base, ours, theirs, func(string, json.RawMessage, json.RawMessage, json.RawMessage) (json.RawMessage, bool, error) {
		return nil, false, errResolver
	})
	require.ErrorIs(t, err, errResolver)
	require.NotErrorIs(t, err, ErrConflict)

	got, err = merge(base, []byte(`{"a/b":1,"c":{"d":1},"e":1,"f":1}`), theirs, nil)
	require.NoError(t, err)
	require.Equal(t, `{"a/b":3,"c":{"d":3},"f":1}`, string(got))
}

// TestErrNotJSONIsTheEngines checks that the engine's errors match the
// package's ErrNotJSON.
func TestErrNotJSONIsTheEngines(t *testing.T) {
	t.Parallel()
	require.Same(t, jsonmerge.ErrNotJSON, ErrNotJSON)
	require.Equal(t, "optimist: not a JSON document", ErrNotJSON.Error())
	_, _, err := jsonmerge.Lookup([]byte(`{`), "/a")
	require.ErrorIs(t, err, ErrNotJSON)
}
