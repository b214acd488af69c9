package optimist

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
		ok     bool
	}{
		{name: "delta seconds", header: http.Header{"Retry-After": {"3"}}, want: 3 * time.Second, ok: true},
		{name: "zero", header: http.Header{"Retry-After": {"0"}}, want: 0, ok: true},
		{name: "IMF-fixdate", header: http.Header{"Retry-After": {"Mon, 23 Nov 2026 12:00:10 GMT"}}, want: 10 * time.Second, ok: true},
		{name: "RFC 850", header: http.Header{"Retry-After": {"Monday, 23-Nov-26 12:01:00 GMT"}}, want: time.Minute, ok: true},
		{name: "ANSI C asctime", header: http.Header{"Retry-After": {"Mon Nov 23 12:00:05 2026"}}, want: 5 * time.Second, ok: true},
		{name: "date in the past", header: http.Header{"Retry-After": {"Mon, 23 Nov 2026 11:00:00 GMT"}}, want: 0, ok: true},
		{name: "retry-after-ms", header: http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"9"}}, want: 250 * time.Millisecond, ok: true},
		{name: "x-ms-retry-after-ms", header: http.Header{"X-Ms-Retry-After-Ms": {"40"}}, want: 40 * time.Millisecond, ok: true},
		{name: "a year", header: http.Header{"Retry-After": {"31536000"}}, want: 365 * 24 * time.Hour, ok: true},
		{name: "overflow saturates", header: http.Header{"Retry-After": {"9223372036854775807"}}, want: time.Duration(1<<63 - 1), ok: true},
		{name: "negative", header: http.Header{"Retry-After": {"-1"}}},
		{name: "garbage", header: http.Header{"Retry-After": {"soon"}}},
		{name: "number with junk", header: http.Header{"Retry-After": {"12abc"}}},
		{name: "absent", header: http.Header{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := parseRetryAfter(tt.header, now)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestExponentialBackoffIsFullJitter(t *testing.T) {
	t.Parallel()
	var ceilings []int64
	b := ExponentialBackoff(100*time.Millisecond, time.Second, func(n int64) int64 {
		ceilings = append(ceilings, n)
		return n - 1
	})
	for attempt := 1; attempt <= 6; attempt++ {
		require.Less(t, b(attempt), time.Second)
	}
	ms := int64(time.Millisecond)
	require.Equal(t, []int64{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1000 * ms, 1000 * ms}, ceilings)
	require.Equal(t, time.Second-1, b(1000), "no overflow for large attempts")
}
