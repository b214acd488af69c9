package optimist

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/optimist-go/optimist/internal/jsonmerge"
)

// A VersionToken says where an API keeps a resource's version, for APIs
// that do optimistic concurrency without ETag and If-Match: where the
// version is read from in a response, and how a write carries it. The
// zero VersionToken is the HTTP default: the version is the entity-tag of
// the ETag header, and a write carries it in If-Match.
//
// Versions are opaque text to optimist: it remembers the version it read
// with the document, sends it back with the next write, and treats a 409
// or 412 answer to a write that carried one as a version conflict.
type VersionToken struct {
	// Read returns the version a 2xx response to a request for the
	// resource carries, or "" if none. body is the answer's body: a
	// representation, or the acknowledgement of a write (such as CouchDB's
	// {"ok":true,"rev":"2-…"}). Whether a body is the resource's document
	// is not Read's to say: the client decides that by the rules of its
	// resource record (see the package documentation, "Guarantees").
	Read func(header http.Header, body []byte) (version string)
	// Write makes a write carry version: it may set a header or a query
	// parameter, or change the JSON body (a document, or a merge patch
	// for PATCH).
	Write func(w *VersionedWrite, version string) error
	// Field is the JSON Pointer of a version the documents themselves
	// carry ("/_rev"), or "". A three-way merge takes that member from the
	// server's document: it is never merged and never a conflict.
	Field string
	// Create, when set, makes a write create-only ([CreateOnly]) the way
	// the API wants it (etcd's ?prevExist=false), in place of
	// If-None-Match: *. nil means If-None-Match: *.
	Create func(w *VersionedWrite) error
}

// VersionedWrite is the part of a write a [VersionToken] may change.
type VersionedWrite struct {
	Header http.Header
	Query  url.Values
	Body   []byte
}

// JSONField keeps the version in the document, at the JSON Pointer
// pointer: "/_rev" for CouchDB, "/metadata/resourceVersion" for
// Kubernetes. A write carries it in its body. The version is the member's
// JSON text, so a string stays a string and a number a number. A write
// answer without the member is read as an acknowledgement: the version is
// its "rev" member (CouchDB's answer) or else its ETag header. A write
// without a body, a DELETE, carries the version as If-Match, as CouchDB
// accepts it.
func JSONField(pointer string) VersionToken {
	return VersionToken{
		Field: pointer,
		Read: func(h http.Header, body []byte) string {
			if v, ok := memberAt(body, pointer); ok {
				return string(v)
			}
			if v, ok := memberAt(body, "/rev"); ok {
				return string(v)
			}
			if tag, err := ParseETag(h.Get("ETag")); err == nil && tag != "" {
				text, _ := json.Marshal(tag.text())
				return string(text)
			}
			return ""
		},
		Write: func(w *VersionedWrite, version string) error {
			if len(w.Body) == 0 {
				text := version
				_ = json.Unmarshal([]byte(version), &text) // a JSON string: its text
				w.Header.Set("If-Match", `"`+text+`"`)
				return nil
			}
			body, err := setJSONMember(w.Body, pointer, json.RawMessage(version))
			w.Body = body
			return err
		},
	}
}

// QueryParam sends the version of a write in the query parameter param
// (CouchDB's ?rev=, etcd's ?prevIndex=). The version is read from the
// ETag header's opaque text; [VersionToken.FromHeader] reads another.
func QueryParam(param string) VersionToken {
	return VersionToken{
		Read: func(h http.Header, _ []byte) string {
			tag, err := ParseETag(h.Get("ETag"))
			if err != nil {
				return ""
			}
			return tag.text()
		},
		Write: func(w *VersionedWrite, version string) error {
			w.Query.Set(param, version)
			return nil
		},
	}
}

// FromHeader returns t reading the version from the response header
// name as it stands (such as "X-Etcd-Index").
func (t VersionToken) FromHeader(name string) VersionToken {
	t.Read = func(h http.Header, _ []byte) string { return h.Get(name) }
	return t
}

func (t VersionToken) isETag() bool { return t.Write == nil }

// text is the entity-tag's opaque text without its quotes.
func (t ETag) text() string {
	s := t.opaque()
	if len(s) >= 2 {
		return s[1 : len(s)-1]
	}
	return s
}

// versionRoute is a token for the URLs whose path matches a pattern.
type versionRoute struct {
	pattern string
	token   VersionToken
}

// WithVersionToken sets the version token of the requests whose URL path
// matches one of paths, in the syntax of [path.Match] ("/couch/*/*"), or
// of every request when no path is given. Of several WithVersionToken
// options, the first whose paths match a request wins; one without paths
// serves the requests no other matches. [UseVersionToken] overrides them
// for one request. A malformed pattern matches nothing. The default is the
// zero VersionToken: ETag and If-Match.
func WithVersionToken(t VersionToken, paths ...string) Option {
	return func(c *Client) {
		if len(paths) == 0 {
			c.versionToken = t
		}
		for _, p := range paths {
			c.versionRoutes = append(c.versionRoutes, versionRoute{p, t})
		}
	}
}

// UseVersionToken sets the version token of one request.
func UseVersionToken(t VersionToken) RequestOption {
	return func(o *requestOptions) { o.token, o.tokenSet = t, true }
}

// tokenFor is the version token of a request for u.
func (c *Client) tokenFor(u *url.URL, o *requestOptions) VersionToken {
	if o.tokenSet {
		return o.token
	}
	for _, route := range c.versionRoutes {
		if ok, _ := path.Match(route.pattern, u.Path); ok {
			return route.token
		}
	}
	return c.versionToken
}

// setVersion makes r carry version through its token. r's body stays the
// document the write means, and its URL the resource's (the memory's key
// and the refetch's target): a token's encoding of the version (a body
// member, a query parameter, a form) is applied on the wire, by wire, so
// a token that refuses the version fails there, before anything is sent.
func (r *request) setVersion(version string) {
	if r.token.isETag() {
		delete(r.header, "If-Unmodified-Since")
		r.headerValues[2] = version
		r.header["If-Match"] = r.headerValues[2:3:3]
		return
	}
	r.version = version
}

// wire is what r is sent as: its body, header and URL as the version token
// writes r's version into them (unchanged for an ETag, or with no version).
// header is not changed; a token's changes go to a copy.
func (r *request) wire(header http.Header) (body []byte, h http.Header, u *url.URL, err error) {
	if !r.createOnly && (r.token.isETag() || r.version == "") {
		return r.body, header, r.url, nil
	}
	w := VersionedWrite{Header: header.Clone(), Query: r.url.Query(), Body: r.body}
	if r.createOnly {
		err = r.token.Create(&w)
	} else {
		err = r.token.Write(&w, r.version)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("optimist: %s %s: writing version: %w", r.method, redactURL(r.url.String()), err)
	}
	u = r.url
	if q := w.Query.Encode(); q != r.url.RawQuery {
		withQuery := *r.url
		withQuery.RawQuery = q
		u = &withQuery
	}
	return w.Body, w.Header, u, nil
}

// sentVersion is the version r was sent with, "" if none.
func (r *request) sentVersion() ETag {
	if r.token.isETag() {
		return ETag(field(r.header, "If-Match"))
	}
	return ETag(r.version)
}

// readVersion is the version a 2xx response to r carries, "" if none.
func (r *request) readVersion(h http.Header, body []byte) (ETag, error) {
	if !r.token.isETag() {
		return ETag(r.token.Read(h, body)), nil
	}
	raw := field(h, "Etag")
	if raw == "" {
		return "", nil
	}
	return ParseETag(raw)
}

// pinVersionField gives ours and base the version member of theirs, so
// that a merge neither merges nor reports it.
func (r *request) pinVersionField(base, ours, theirs []byte) (newBase, newOurs []byte) {
	field := r.token.Field
	if field == "" {
		return base, ours
	}
	v, ok := memberAt(theirs, field)
	if !ok {
		return base, ours
	}
	pin := func(doc []byte) []byte {
		if doc == nil {
			return nil
		}
		if out, err := setJSONMember(doc, field, v); err == nil {
			return out
		}
		return doc
	}
	return pin(base), pin(ours)
}

// memberAt returns the compact value at pointer in the JSON document
// doc, if doc is JSON and has it.
func memberAt(doc []byte, pointer string) (json.RawMessage, bool) {
	if len(doc) == 0 || !strings.HasPrefix(pointer, "/") {
		return nil, false
	}
	v, ok, err := jsonmerge.Lookup(doc, pointer)
	return v, ok && err == nil
}

// setJSONMember sets the member at pointer of the JSON object doc to
// value, creating the objects on its path.
func setJSONMember(doc []byte, pointer string, value json.RawMessage) ([]byte, error) {
	op, err := json.Marshal([]struct {
		Op    string          `json:"op"`
		Path  string          `json:"path"`
		Value json.RawMessage `json:"value"`
	}{{"add", pointer, value}})
	if err != nil {
		return nil, err
	}
	patch, err := jsonpatch.DecodePatch(op)
	if err != nil {
		return nil, err
	}
	opts := jsonpatch.NewApplyOptions()
	opts.EnsurePathExistsOnAdd = true
	return patch.ApplyWithOptions(doc, opts)
}

// removeJSONMember removes the member at pointer of the JSON object doc,
// which must have it.
func removeJSONMember(doc []byte, pointer string) ([]byte, error) {
	op, err := json.Marshal([]struct {
		Op   string `json:"op"`
		Path string `json:"path"`
	}{{"remove", pointer}})
	if err != nil {
		return nil, err
	}
	patch, err := jsonpatch.DecodePatch(op)
	if err != nil {
		return nil, err
	}
	return patch.Apply(doc)
}
