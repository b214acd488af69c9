package optimist

import (
	"net/http"
	"strconv"
	"strings"
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
		{name: "past int64 saturates", header: http.Header{"Retry-After": {"99999999999999999999"}}, want: time.Duration(1<<63 - 1), ok: true},
		{name: "ms past int64 saturates", header: http.Header{"Retry-After-Ms": {"99999999999999999999"}}, want: time.Duration(1<<63 - 1), ok: true},
		{name: "negative past int64", header: http.Header{"Retry-After": {"-99999999999999999999"}}},
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

// FuzzParseRetryAfter: whatever the server sends, the wait is never
// negative, is zero when there is none, and a valid delta-seconds value
// means exactly that many seconds (the largest Duration when it overflows).
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"3", "0", "-1", "soon", "12abc", "31536000", "9223372036854775807",
		"99999999999999999999", "Mon, 23 Nov 2026 12:00:10 GMT", "Monday, 23-Nov-26 12:01:00 GMT",
		"Mon Nov 23 12:00:05 2026", "Fri, 31 Dec 9999 23:59:59 GMT", " 5 ", "+5", "1e3", ""} {
		f.Add(s, "", int64(1795437600))
	}
	f.Add("9", "250", int64(0))
	f.Add("", "-5", int64(0))
	f.Fuzz(func(t *testing.T, value, ms string, nowUnix int64) {
		h := http.Header{}
		if value != "" {
			h.Set("Retry-After", value)
		}
		if ms != "" {
			h.Set("Retry-After-Ms", ms)
		}
		wait, ok := parseRetryAfter(h, time.Unix(nowUnix, 0))
		require.GreaterOrEqual(t, wait, time.Duration(0))
		if !ok {
			require.Zero(t, wait)
		}
		if n, isCount := parseCount(ms); isCount { // a count past int64 is too long, not malformed
			require.True(t, ok)
			require.Equal(t, saturatingDuration(n, time.Millisecond), wait)
			return
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64); err == nil {
			require.Equal(t, n >= 0, ok)
			if n >= 0 {
				require.Equal(t, saturatingDuration(n, time.Second), wait)
				require.True(t, n > int64(1<<63-1)/int64(time.Second) || wait == time.Duration(n)*time.Second)
			}
		}
	})
}
