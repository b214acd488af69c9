package mock

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FailNext stores a count, not one entry per request: queueing a hundred
// million faults costs no more than queueing one.
// Not parallel: AllocsPerRun refuses to run in a parallel test.
func TestFailNextStoresACount(t *testing.T) {
	b := Handler()
	allocs := testing.AllocsPerRun(1, func() { b.FailNext(1_000_000, Fault503) })
	require.LessOrEqual(t, allocs, 1.0)
	b.FailNext(100_000_000, Fault429)
	require.Len(t, b.queue, 2)
}

// Queued runs are served in order, a run of FaultNone included.
func TestFailNextRunsInOrder(t *testing.T) {
	t.Parallel()
	b := Handler()
	b.FailNext(2, Fault503)
	b.FailNext(0, FaultReset)
	b.FailNext(1, FaultNone)
	b.FailNext(1, Fault429)
	var got []int
	for range 5 {
		rec := httptest.NewRecorder()
		b.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
		got = append(got, rec.Code)
	}
	require.Equal(t, []int{503, 503, 404, 429, 404}, got)
}

// The request log is bounded by bytes as well as entries: big headers
// push the oldest entries out.
func TestRequestLogIsBoundedByBytes(t *testing.T) {
	t.Parallel()
	b := Handler()
	big := strings.Repeat("x", 512<<10)
	for range 100 {
		req := httptest.NewRequest(http.MethodGet, "/x", nil)
		req.Header.Set("X-Big", big)
		b.ServeHTTP(httptest.NewRecorder(), req)
	}
	total := 0
	for _, e := range b.Requests() {
		total += len(e.Method) + len(e.Path)
		for k, vs := range e.Header {
			total += len(k)
			for _, v := range vs {
				total += len(v)
			}
		}
	}
	require.LessOrEqual(t, total, 16<<20, "the log holds at most 16 MiB")
	require.Equal(t, 100, b.Count(http.MethodGet, 0), "the counters still count everything")
}

// A NaN rate injects nothing and leaves the other rates alone.
func TestNaNRateDisablesNothing(t *testing.T) {
	t.Parallel()
	f := Faults{Rate503: math.NaN(), Rate429: 1}
	require.Equal(t, Fault429, f.draw(0.5))
}
