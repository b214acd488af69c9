package optimist

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseETag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    ETag
		wantErr bool
	}{
		{name: "strong", in: `"abc"`, want: `"abc"`},
		{name: "weak kept verbatim", in: `W/"abc"`, want: `W/"abc"`},
		{name: "empty opaque", in: `""`, want: `""`},
		{name: "spaces trimmed", in: ` "x" `, want: `"x"`},
		{name: "obs-text allowed", in: "\"caf\xc3\xa9\"", want: "\"caf\xc3\xa9\""},
		{name: "unquoted", in: `abc`, wantErr: true},
		{name: "lower-case weak prefix", in: `w/"abc"`, wantErr: true},
		{name: "inner quote", in: `"a"b"`, wantErr: true},
		{name: "inner space", in: `"a b"`, wantErr: true},
		{name: "lone quote", in: `"`, wantErr: true},
		{name: "empty", in: ``, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseETag(tt.in)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrInvalidETag)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestETagComparison(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b         ETag
		strong, weak bool
	}{
		{a: `"1"`, b: `"1"`, strong: true, weak: true},
		{a: `W/"1"`, b: `W/"1"`, strong: false, weak: true},
		{a: `W/"1"`, b: `"1"`, strong: false, weak: true},
		{a: `"1"`, b: `"2"`, strong: false, weak: false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s~%s", tt.a, tt.b), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.strong, tt.a.Equals(tt.b))
			require.Equal(t, tt.weak, tt.a.WeakEquals(tt.b))
		})
	}
}

func TestMemoryEntryBound(t *testing.T) {
	t.Parallel()
	m := newMemory(3, 1<<20)
	for i := range 5 {
		m.put(fmt.Sprint("k", i), Version{ETag: `"x"`})
	}
	require.Equal(t, 3, m.stats().Entries)
	_, ok := m.get("k0")
	require.False(t, ok, "oldest entry evicted")
	_, ok = m.get("k4")
	require.True(t, ok)
}

func TestMemoryByteBound(t *testing.T) {
	t.Parallel()
	body := make([]byte, 1000)
	m := newMemory(1000, 3*Version{Body: body}.size("k0"))
	for i := range 10 {
		m.put(fmt.Sprint("k", i), Version{Body: body})
		require.LessOrEqual(t, m.stats().Bytes, m.maxBytes)
	}
	require.Equal(t, 3, m.stats().Entries)
	m.put("huge", Version{Body: make([]byte, 1<<20)})
	_, ok := m.get("huge")
	require.False(t, ok, "an entry larger than the bound is not kept")
}

func TestMemoryLRUOrder(t *testing.T) {
	t.Parallel()
	m := newMemory(2, 1<<20)
	m.put("a", Version{ETag: `"a"`})
	m.put("b", Version{ETag: `"b"`})
	_, _ = m.get("a") // a is now more recent than b
	m.put("c", Version{ETag: `"c"`})
	_, ok := m.get("b")
	require.False(t, ok)
	_, ok = m.get("a")
	require.True(t, ok)
}

func TestMemoryReplaceKeepsAccounting(t *testing.T) {
	t.Parallel()
	m := newMemory(10, 1<<20)
	m.put("a", Version{Body: make([]byte, 100)})
	m.put("a", Version{Body: make([]byte, 10)})
	require.Equal(t, Version{Body: make([]byte, 10)}.size("a"), m.stats().Bytes)
	m.forget("a")
	require.Equal(t, MemoryStats{}, m.stats())
}

func TestCanonicalURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"HTTP://Example.COM:80/a?b=1#frag", "http://example.com/a?b=1"},
		{"https://u:p@example.com:443/a", "https://example.com/a"},
		{"https://example.com:8443/a", "https://example.com:8443/a"},
		{"http://example.com", "http://example.com/"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		require.NoError(t, err)
		require.Equal(t, tt.want, canonicalURL(u), tt.in)
	}
}

// FuzzParseETag: any header value is either an error matching
// ErrInvalidETag, with a bounded message, or an entity-tag that is the
// trimmed value itself, safe to send back in If-Match as it is.
func FuzzParseETag(f *testing.F) {
	for _, s := range []string{`"abc"`, `W/"abc"`, `""`, ` "x" `, "\"caf\xc3\xa9\"", `abc`, `w/"a"`,
		`"a"b"`, `"a b"`, `"`, ``, `W/`, `W/""`, "\"a\r\nX-Injected: 1\"", `"` + strings.Repeat("x", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tag, err := ParseETag(s)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidETag)
			require.Empty(t, tag)
			require.Less(t, len(err.Error()), 400, "the message quotes a bounded prefix")
			return
		}
		require.Equal(t, strings.TrimSpace(s), string(tag))
		opaque := strings.TrimPrefix(string(tag), "W/")
		require.GreaterOrEqual(t, len(opaque), 2)
		require.Equal(t, byte('"'), opaque[0])
		require.Equal(t, byte('"'), opaque[len(opaque)-1])
		require.Equal(t, 2, strings.Count(opaque, `"`))
		for i := 0; i < len(tag); i++ {
			require.False(t, tag[i] < 0x21 || tag[i] == 0x7f, "byte %#x in %q", tag[i], tag)
		}
		again, err := ParseETag(string(tag))
		require.NoError(t, err)
		require.Equal(t, tag, again)
		require.Equal(t, strings.HasPrefix(string(tag), "W/"), tag.IsWeak())
		require.True(t, tag.WeakEquals(tag))
		require.Equal(t, !tag.IsWeak(), tag.Equals(tag))
	})
}
