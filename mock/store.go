package mock

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// document is one stored JSON document. Documents are immutable: a write
// replaces the *document.
type document struct {
	body     []byte
	tag      uint64    // the store-wide write counter at the last write: the ETag
	gen      uint64    // writes of this path since it was created, from 1
	version  string    // the version of WithVersionField and WithVersionQuery
	modified time.Time // Last-Modified
}

// store maps paths to documents. Every write (and delete) advances one
// counter, so an entity-tag is never reused, not even after Reset.
type store struct {
	docs    map[string]*document
	counter uint64
	field   []string // the tokens of the WithVersionField pointer; nil: none
}

func newStore(versionField string) (store, error) {
	s := store{docs: map[string]*document{}}
	if versionField == "" {
		return s, nil
	}
	toks, err := parsePointer(versionField)
	if err != nil {
		return s, err
	}
	if len(toks) == 0 {
		return s, errors.New("mock: the version field cannot be the whole document")
	}
	s.field = toks
	return s, nil
}

func (s *store) get(p string) *document { return s.docs[p] }

// write stores body at p as a new document. In version-field mode it sets
// the new version inside the body; that fails for a body that is not a JSON
// object.
func (s *store) write(p string, body []byte, now time.Time) (*document, error) {
	prev := s.docs[p]
	d := &document{gen: 1, modified: now, body: bytes.Clone(body)}
	if prev != nil {
		d.gen = prev.gen + 1
	}
	if s.field != nil {
		d.version = s.revision(prev, body)
		b, err := setMember(body, s.field, d.version)
		if err != nil {
			return nil, err
		}
		d.body = b
	}
	s.counter++
	d.tag = s.counter
	if s.field == nil {
		d.version = strconv.FormatUint(d.tag, 10)
	}
	s.docs[p] = d
	return d, nil
}

// remove deletes the document at p, which exists, and gives the version of
// the deletion (CouchDB answers it as the tombstone's rev).
func (s *store) remove(p string) string {
	prev := s.docs[p]
	delete(s.docs, p)
	rev := s.revision(prev, nil)
	s.counter++
	if s.field != nil {
		return rev
	}
	return strconv.FormatUint(s.counter, 10)
}

// revision makes a CouchDB-style version "<generation>-<hash>" for the
// write of body after prev (nil when the document is new).
func (s *store) revision(prev *document, body []byte) string {
	gen, last := uint64(1), ""
	if prev != nil {
		gen, last = prev.gen+1, prev.version
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d\n", last, s.counter+1)
	h.Write(body)
	return fmt.Sprintf("%d-%x", gen, h.Sum(nil)[:16])
}

// reset forgets every document; the counter goes on.
func (s *store) reset() { s.docs = map[string]*document{} }

// etag formats the entity-tag the server sends for d.
func (b *Backend) etag(d *document) string {
	t := `"` + strconv.FormatUint(d.tag, 10) + `"`
	if b.cfg.weakETags {
		return "W/" + t
	}
	return t
}

// Seed stores doc at path as if it had been PUT, with a new ETag. path must
// start with "/" and doc must be JSON (a JSON object in version-field mode).
func (b *Backend) Seed(path string, doc []byte) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("mock: seed path %q does not start with /", path)
	}
	if !json.Valid(doc) {
		return fmt.Errorf("mock: seed document for %s is not JSON", path)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	_, err := b.store.write(path, doc, b.cfg.clock())
	return err
}

// Document gives a copy of the document stored at path and the ETag the
// server sends for it (even under [WithoutETags]); ok is false when there is
// no document at path.
func (b *Backend) Document(path string) (body []byte, etag string, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.store.get(path)
	if d == nil {
		return nil, "", false
	}
	return bytes.Clone(d.body), b.etag(d), true
}
