package optimist

import (
	"container/list"
	"net/url"
	"strings"
	"sync"
)

// The memory: a bounded LRU of resource records, one [Version] per
// resource key. It stores and evicts; what goes in and what a record means
// are decided by state.go, which every path calls. Keys are made by
// state.go's resourceKey from canonicalURL.

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

// Remembered returns what the client remembers of the resource at rawURL
// for requests without credentials. Records made by requests that carried
// credentials (Authorization, Cookie, a secret header) are kept apart, one
// per set of credentials, and are not returned here.
func (c *Client) Remembered(rawURL string) (Version, bool) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Version{}, false
	}
	return c.memory.get(canonicalURL(u))
}

// Forget drops every record of the resource at rawURL, those made with
// credentials included, so that the next write to it must read it first.
func (c *Client) Forget(rawURL string) {
	if u, err := url.Parse(rawURL); err == nil {
		c.memory.forgetResource(canonicalURL(u))
	}
}

// MemoryStats returns the ETag memory's accounting.
func (c *Client) MemoryStats() MemoryStats { return c.memory.stats() }
