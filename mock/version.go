package mock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
)

// parsePointer splits a JSON pointer (RFC 6901) into its reference tokens.
func parsePointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("mock: JSON pointer %q does not start with /", p)
	}
	toks := strings.Split(p[1:], "/")
	for i, t := range toks {
		toks[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(t)
	}
	return toks, nil
}

// errNotObject is returned for a document that cannot hold a version field.
var errNotObject = errors.New("mock: in version-field mode a document must be a JSON object")

// decodeObject decodes a JSON object, keeping numbers exact.
func decodeObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, errNotObject
	}
	return obj, nil
}

// setMember sets the member at toks of the JSON object body to the string
// value, creating the objects on the way, and gives the new body.
func setMember(body []byte, toks []string, value string) ([]byte, error) {
	root, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	obj := root
	for _, t := range toks[:len(toks)-1] {
		next, ok := obj[t].(map[string]any)
		if !ok {
			if obj[t] != nil {
				return nil, fmt.Errorf("mock: member %q on the version field's path is not an object", t)
			}
			next = map[string]any{}
			obj[t] = next
		}
		obj = next
	}
	obj[toks[len(toks)-1]] = value
	return json.Marshal(root)
}

// member gives the member at toks of the JSON document body; ok is false
// when body is not an object or has no such member.
func member(body []byte, toks []string) (v any, ok bool) {
	obj, err := decodeObject(body)
	if err != nil {
		return nil, false
	}
	for _, t := range toks[:len(toks)-1] {
		if obj, ok = obj[t].(map[string]any); !ok {
			return nil, false
		}
	}
	v, ok = obj[toks[len(toks)-1]]
	return v, ok
}

// checkVersionField enforces WithVersionField on a write of body over the
// document old (nil: the write creates it). A write of an existing document
// must carry its current version, a creation must carry none; a merge patch
// (patch true) may leave the version out. Anything else is answered 409.
func (b *Backend) checkVersionField(body []byte, old *document, patch bool) *response {
	if b.store.field == nil {
		return nil
	}
	v, present := member(body, b.store.field)
	detail := ""
	switch {
	case old == nil && present:
		detail = "the document does not exist: a document to create must carry no version"
	case old == nil, !present && patch:
		return nil
	case !present:
		detail = fmt.Sprintf("the document must carry its current version at %s", b.cfg.versionField)
	case v != old.version:
		detail = fmt.Sprintf("version %v at %s is not the current version %s", v, b.cfg.versionField, old.version)
	default:
		return nil
	}
	return b.conflict(http.StatusConflict, old, ProblemVersionConflict, "version conflict", detail)
}

// checkVersionQuery enforces WithVersionQuery on a write of the document d
// (nil: the write creates it): a missing version is answered 428, a stale
// one with the conflict status.
func (b *Backend) checkVersionQuery(r *http.Request, d *document) *response {
	param := b.cfg.versionQuery
	if param == "" {
		return nil
	}
	q := r.URL.Query()
	switch {
	case d == nil && q.Has(param):
		return b.conflict(b.cfg.conflictStatus, nil, ProblemVersionConflict, "version conflict",
			"the document does not exist: a document to create must carry no "+param)
	case d == nil:
		return nil
	case !q.Has(param):
		return problem(http.StatusPreconditionRequired, ProblemPreconditionRequired, "precondition required",
			"send the document's current version (X-Version) as ?"+param+"=")
	case q.Get(param) != d.version:
		return b.conflict(b.cfg.conflictStatus, d, ProblemVersionConflict, "version conflict",
			fmt.Sprintf("%s=%s is not the current version %s", param, q.Get(param), d.version))
	}
	return nil
}

// couchResponse answers a write the way CouchDB does.
func couchResponse(status int, p, rev string) *response {
	return jsonResponse(status, "application/json", struct {
		OK  bool   `json:"ok"`
		ID  string `json:"id"`
		Rev string `json:"rev"`
	}{true, path.Base(p), rev})
}
