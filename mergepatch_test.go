package optimist

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist/internal/jsonmerge"
)

// readSharedTestdata reads a file of ../shared/testdata. It skips the
// test when the file is missing, unless CI is set.
func readSharedTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "shared", "testdata", name))
	if errors.Is(err, fs.ErrNotExist) {
		if os.Getenv("CI") != "" {
			t.Fatalf("shared test data missing: %v", err)
		}
		t.Skipf("shared test data missing: %v", err)
	}
	require.NoError(t, err)
	return data
}

// TestApplyMergePatchRFC7396AppendixA checks the merge-patch examples of
// RFC 7396: applyMergePatch gives each result, from the target and from a
// target that also gained an unrelated member. (That the merge carries
// each change is internal/jsonmerge's TestRFC7396AppendixA.)
func TestApplyMergePatchRFC7396AppendixA(t *testing.T) {
	t.Parallel()
	var examples []struct {
		Target, Patch, Result json.RawMessage
	}
	require.NoError(t, json.Unmarshal(readSharedTestdata(t, "rfc7396-appendix-a.json"), &examples))
	require.Len(t, examples, 15)
	for i, ex := range examples {
		t.Run(fmt.Sprintf("A%d", i+1), func(t *testing.T) {
			t.Parallel()
			got, err := applyMergePatch(ex.Target, ex.Patch)
			require.NoError(t, err, "example %d", i+1)
			requireSameJSON(t, ex.Result, got)

			theirs, ok := withMember(ex.Target, `"theirs"`, `[true]`)
			if !ok {
				return
			}
			if want, ok := withMember(ex.Result, `"theirs"`, `[true]`); ok {
				patched, err := applyMergePatch(theirs, ex.Patch)
				require.NoError(t, err)
				requireSameJSON(t, want, patched)
			}
		})
	}
}

// requireSameJSON checks that got means want, by the merge's equality
// (exact numbers), and spells its numbers as want does.
func requireSameJSON(t testing.TB, want, got []byte) {
	t.Helper()
	require.True(t, jsonmerge.Equal(want, got), "want %s\n got %s", want, got)
	require.Equal(t, numberLiterals(t, want), numberLiterals(t, got), "number text in %s", got)
}

// numberLiterals returns the number literals of data as written, sorted.
func numberLiterals(t testing.TB, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			slices.Sort(out)
			return out
		}
		require.NoError(t, err)
		if n, ok := tok.(json.Number); ok {
			out = append(out, n.String())
		}
	}
}

// withMember returns the object doc with one more member, or false if doc
// is not an object.
func withMember(doc json.RawMessage, key, value string) (json.RawMessage, bool) {
	s := strings.TrimSpace(string(doc))
	if !strings.HasPrefix(s, "{") {
		return nil, false
	}
	if strings.TrimSpace(s[1:]) == "}" {
		return json.RawMessage("{" + key + ":" + value + "}"), true
	}
	return json.RawMessage("{" + key + ":" + value + "," + s[1:]), true
}
