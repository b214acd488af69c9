package optimist

import (
	"container/list"
	"fmt"
	"net/url"
	"strings"
	"sync"
)

// ETag is an entity-tag exactly as the server sent it, weak prefix and
// quotes included: `"abc"` or `W/"abc"`. It is echoed back byte for byte.
type ETag string

// ParseETag checks that s is a valid entity-tag (RFC 9110, section 8.8.3)
// and returns it unchanged. Surrounding spaces are trimmed. It returns an
// error matching [ErrInvalidETag] otherwise.
func ParseETag(s string) (ETag, error) {
	s = strings.TrimSpace(s)
	opaque := strings.TrimPrefix(s, "W/")
	if len(opaque) < 2 || opaque[0] != '"' || opaque[len(opaque)-1] != '"' {
		return "", fmt.Errorf("%w: %q is not a quoted string", ErrInvalidETag, truncate(s, 64))
	}
	for i := 1; i < len(opaque)-1; i++ {
		if c := opaque[i]; c == '"' || c < 0x21 || c == 0x7f {
			return "", fmt.Errorf("%w: %q has a forbidden character", ErrInvalidETag, truncate(s, 64))
		}
	}
	return ETag(s), nil
}

// IsWeak reports whether the tag has the weak prefix W/.
func (t ETag) IsWeak() bool { return strings.HasPrefix(string(t), "W/") }

// opaque returns the quoted part of the tag, without the weak prefix.
func (t ETag) opaque() string { return strings.TrimPrefix(string(t), "W/") }

// Equals is the strong comparison of RFC 9110: both tags are strong and
// their opaque parts are identical.
func (t ETag) Equals(o ETag) bool {
	return !t.IsWeak() && !o.IsWeak() && t == o
}

// WeakEquals is the weak comparison of RFC 9110: the opaque parts are
// identical, whether or not either tag is weak.
func (t ETag) WeakEquals(o ETag) bool { return t.opaque() == o.opaque() }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Version is what the client remembers of one resource: its validators and
// the JSON body it last read or wrote, the base of a later three-way merge.
type Version struct {
	// ETag is the entity-tag as the server sent it; empty when none. With
	// a [VersionToken] other than the default, it is the version that
	// token read (for [JSONField], the member's JSON text).
	ETag ETag
	// LastModified is the Last-Modified header as the server sent it.
	LastModified string
	// Body is the representation, or nil when it is not known. It is
	// shared: do not modify it.
	Body []byte

	// vary holds the request header names the answer varied on, each
	// followed by the value the request had (see varyOf).
	vary []string
	// contentType is the media type of Body, as its representation or
	// the write that produced it said.
	contentType string
}

// size is the number of bytes the version is charged in the memory. The
// body is charged its capacity, which it holds on to: a body read without
// a Content-Length has room to spare.
func (v Version) size(key string) int64 {
	n := len(key) + len(v.ETag) + len(v.LastModified) + len(v.contentType) + cap(v.Body) + entryOverhead
	for _, s := range v.vary {
		n += len(s) + 16
	}
	return int64(n)
}

// entryOverhead approximates the bookkeeping bytes of one memory entry.
const entryOverhead = 128

// memory is a bounded LRU of versions keyed by canonical URL, safe for
// concurrent use.
type memory struct {
	maxEntries int
	maxBytes   int64

	mu      sync.Mutex
	bytes   int64
	order   *list.List // front is most recently used; values are *memoryEntry
	entries map[string]*list.Element
}

type memoryEntry struct {
	key     string
	version Version
}

func newMemory(maxEntries int, maxBytes int64) *memory {
	return &memory{
		maxEntries: maxEntries,
		maxBytes:   maxBytes,
		order:      list.New(),
		entries:    make(map[string]*list.Element),
	}
}

// get returns the version remembered under key and marks it recently used.
func (m *memory) get(key string) (Version, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.entries[key]
	if !ok {
		return Version{}, false
	}
	m.order.MoveToFront(el)
	return el.Value.(*memoryEntry).version, true
}

// put remembers v under key, evicting the least recently used entries until
// both bounds hold. A version larger than the byte bound is not kept.
func (m *memory) put(key string, v Version) {
	m.mu.Lock()
	defer m.mu.Unlock()
	size := v.size(key)
	if m.maxEntries <= 0 || size > m.maxBytes {
		m.removeLocked(key)
		return
	}
	if el, ok := m.entries[key]; ok {
		// Replace in place: a write to a known resource allocates nothing.
		e := el.Value.(*memoryEntry)
		m.bytes += size - e.version.size(key)
		e.version = v
		m.order.MoveToFront(el)
	} else {
		m.entries[key] = m.order.PushFront(&memoryEntry{key: key, version: v})
		m.bytes += size
	}
	for m.order.Len() > m.maxEntries || m.bytes > m.maxBytes {
		m.removeLocked(m.order.Back().Value.(*memoryEntry).key)
	}
}

// forget drops what is remembered under key.
func (m *memory) forget(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.removeLocked(key)
}

// forgetResource drops every record of the resource whose canonical URL
// is key: the one made without credentials and those made with them.
func (m *memory) forgetResource(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.removeLocked(key)
	prefix := key + " "
	for k := range m.entries {
		if strings.HasPrefix(k, prefix) {
			m.removeLocked(k)
		}
	}
}

func (m *memory) removeLocked(key string) {
	el, ok := m.entries[key]
	if !ok {
		return
	}
	e := m.order.Remove(el).(*memoryEntry)
	delete(m.entries, key)
	m.bytes -= e.version.size(key)
}

// MemoryStats is the memory's own accounting.
type MemoryStats struct {
	// Entries is the number of resources remembered.
	Entries int
	// Bytes is the number of bytes charged for them: keys, validators,
	// bodies and a fixed overhead per entry.
	Bytes int64
}

func (m *memory) stats() MemoryStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return MemoryStats{Entries: m.order.Len(), Bytes: m.bytes}
}

// canonicalURL is the memory's key for a resource: scheme and host in
// lower case, default port and fragment removed, user information dropped.
// Path and query are kept as sent.
func canonicalURL(u *url.URL) string {
	c := *u
	c.Scheme = strings.ToLower(c.Scheme)
	c.Host = strings.ToLower(c.Host)
	if port := c.Port(); (port == "80" && c.Scheme == "http") || (port == "443" && c.Scheme == "https") {
		c.Host = strings.TrimSuffix(c.Host, ":"+port)
	}
	c.User = nil
	c.Fragment, c.RawFragment = "", ""
	if c.Path == "" && c.RawPath == "" {
		c.Path = "/"
	}
	return c.String()
}
