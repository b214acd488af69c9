package jsonmerge

import (
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A merge of large documents that differ in few places allocates at most
// 6 bytes per byte of input (issue 18: it was 10.7). Not parallel: the
// allocation counter is the process's, and parallel tests only start once
// the sequential ones are done.
func TestMergeLargeDocumentMemory(t *testing.T) {
	base, ours, theirs := benchDocuments(2 << 20)
	_, err := Merge(base, ours, theirs, nil) // warm up
	require.NoError(t, err)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = Merge(base, ours, theirs, nil)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	perByte := float64(after.TotalAlloc-before.TotalAlloc) / float64(len(base))
	require.LessOrEqual(t, perByte, 6.0, "bytes allocated per input byte")
}

// A merge of large documents, whose deeper objects are parsed again only
// where the merge looks inside, gives what the merge of the same
// documents held in full gives: the small cases of the property test,
// each wrapped in a large document, merge to the wrapped result with the
// same conflicts under "/doc".
func TestMergeLargeDocumentsAsSmall(t *testing.T) {
	t.Parallel()
	pad := `{"pad":"` + strings.Repeat("x", shallowJSONSize) + `","doc":`
	wrap := func(doc []byte) []byte { return []byte(pad + string(doc) + "}") }
	for i, c := range generateMergeCases(18, 300) {
		if len(c.base) == 0 {
			continue
		}
		want, wantErr := Merge(c.base, c.ours, c.theirs, nil)
		got, err := Merge(wrap(c.base), wrap(c.ours), wrap(c.theirs), nil)
		if wantErr != nil {
			var want, got *ConflictError
			require.ErrorAs(t, wantErr, &want, "case %d", i)
			require.ErrorAs(t, err, &got, "case %d", i)
			paths := pointers(want)
			for k := range paths {
				paths[k] = "/doc" + paths[k]
			}
			require.Equal(t, paths, pointers(got), "case %d", i)
			continue
		}
		require.NoError(t, err, "case %d", i)
		require.Equal(t, string(wrap(want)), string(got), "case %d", i)
	}
}
