package jsonmerge

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/stretchr/testify/require"
)

// BenchmarkMerge compares Merge with the reference merge-patch pipeline
// (jsonpatch.CreateMergePatch of base and ours, then jsonpatch.MergePatch
// onto theirs) on documents where each side changes about 1% of the leaf
// members, disjointly.
func BenchmarkMerge(b *testing.B) {
	sizes := []struct {
		name string
		size int
	}{
		{"1KiB", 1 << 10},
		{"100KiB", 100 << 10},
		{"1MiB", 1 << 20},
		{"10MiB", 10 << 20},
	}
	var perOp1MiB float64 // ns/op of the 1MiB merge, measured earlier in the run
	for _, s := range sizes {
		base, ours, theirs := benchDocuments(s.size)
		b.Run(s.name, func(b *testing.B) {
			b.Run("optimist", func(b *testing.B) {
				b.SetBytes(int64(len(base)))
				b.ReportAllocs()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for b.Loop() {
					if _, err := Merge(base, ours, theirs, nil); err != nil {
						b.Fatal(err)
					}
				}
				runtime.ReadMemStats(&after)
				perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				alloc := float64(after.TotalAlloc-before.TotalAlloc) / float64(b.N)
				b.ReportMetric(alloc/float64(len(base)), "alloc-B/input-B")
				switch s.name {
				case "1MiB":
					perOp1MiB = perOp
				case "10MiB":
					if perOp1MiB > 0 {
						b.ReportMetric(perOp/perOp1MiB, "x-1MiB-time")
					}
				}
			})
			b.Run("jsonpatch", func(b *testing.B) {
				b.SetBytes(int64(len(base)))
				b.ReportAllocs()
				for b.Loop() {
					patch, err := jsonpatch.CreateMergePatch(base, ours)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := jsonpatch.MergePatch(theirs, patch); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkMergeScaling alternates one 1 MiB and one 10 MiB merge in every
// iteration and reports x-1MiB-time, the 10 MiB merges' total time over
// the 1 MiB ones': a ratio of near-linear growth (target ≤ 10.5) that load
// on the shared machine shifts less than one of runs made one after the
// other.
func BenchmarkMergeScaling(b *testing.B) {
	var docs [2][3][]byte
	docs[0][0], docs[0][1], docs[0][2] = benchDocuments(1 << 20)
	docs[1][0], docs[1][1], docs[1][2] = benchDocuments(10 << 20)
	var spent [2]time.Duration
	for b.Loop() {
		for i, d := range docs {
			t0 := time.Now()
			if _, err := Merge(d[0], d[1], d[2], nil); err != nil {
				b.Fatal(err)
			}
			spent[i] += time.Since(t0)
		}
	}
	b.ReportMetric(float64(spent[1])/float64(spent[0]), "x-1MiB-time")
}

// TestBenchDocuments checks that the benchmark's documents merge without
// conflict and as the reference does.
func TestBenchDocuments(t *testing.T) {
	t.Parallel()
	base, ours, theirs := benchDocuments(64 << 10)
	require.NotEqual(t, base, ours)
	require.NotEqual(t, base, theirs)
	got, err := Merge(base, ours, theirs, nil)
	require.NoError(t, err)
	patch, err := jsonpatch.CreateMergePatch(base, ours)
	require.NoError(t, err)
	want, err := jsonpatch.MergePatch(theirs, patch)
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(got))
}

// benchDocuments generates a catalogue of nested items of about size
// bytes, deterministically, with ours and theirs each changing about 1%
// of the leaf members (never the same one).
func benchDocuments(size int) (base, ours, theirs []byte) {
	r := rand.New(rand.NewPCG(1, 2))
	d := &docWriter{r: r}
	d.all(`{"version":3,"generated":"2025-01-01T00:00:00Z","items":{`)
	for i := 0; len(d.docs[0]) < size-300 || i == 0; i++ {
		if i > 0 {
			d.all(",")
		}
		id := strconv.Itoa(i)
		d.all(fmt.Sprintf(`"item-%06d":{`, i))
		d.leaf(`"id"`, id, id)
		d.leaf(`,"name"`, `"Item number `+id+`"`, `"Renamed item `+id+`"`)
		d.leaf(`,"price"`, fmt.Sprintf("%d.%02d", r.IntN(1000), r.IntN(100)), "19.99")
		d.leaf(`,"active"`, "true", "false")
		d.leaf(`,"tags"`, `["red","large","sale"]`, `["blue"]`)
		d.all(`,"dims":{`)
		d.leaf(`"w"`, strconv.Itoa(r.IntN(100)), "101")
		d.leaf(`,"h"`, strconv.Itoa(r.IntN(100)), "102")
		d.leaf(`,"d"`, strconv.Itoa(r.IntN(100)), "1.5e2")
		d.all(`},"owner":{`)
		d.leaf(`"id"`, strconv.Itoa(r.IntN(1e6)), "-1")
		d.leaf(`,"email"`, `"user`+id+`@example.com"`, `"owner`+id+`@example.org"`)
		d.leaf(`,"note"`, "null", `"checked"`)
		d.all(`}}`)
	}
	d.all(`}}`)
	return d.docs[0], d.docs[1], d.docs[2]
}

// docWriter writes base, ours and theirs side by side.
type docWriter struct {
	r    *rand.Rand
	docs [3][]byte
}

func (d *docWriter) all(s string) {
	for i := range d.docs {
		d.docs[i] = append(d.docs[i], s...)
	}
}

// leaf writes a member whose value one side changes to alt, 1% of the time.
func (d *docWriter) leaf(key, val, alt string) {
	vals := [3]string{val, val, val}
	if d.r.IntN(100) == 0 {
		vals[1+d.r.IntN(2)] = alt
	}
	for i := range d.docs {
		d.docs[i] = append(append(append(d.docs[i], key...), ':'), vals[i]...)
	}
}
