package mock

import (
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/optimist-go/optimist/internal/jsonmerge"
)

// Documents: the requests on stored resources. handle routes a request to
// jobs (jobs.go), locks (locks.go) or the documents here: GET and HEAD
// with their validators, PUT, PATCH (RFC 7396, applied by the client's
// own engine, internal/jsonmerge) and DELETE, each after the preconditions
// of precondition.go.

// handle answers r, whose body has been read, from the store. It runs under
// the backend's lock.
func (b *Backend) handle(r *http.Request, body []byte) *response {
	p := r.URL.Path
	if p == b.cfg.jobsPath || strings.HasPrefix(p, b.cfg.jobsPath+"/") {
		return b.handleJobs(r, body)
	}
	if res := b.handleLocks(r, p, body); res != nil { // locks.go
		return res
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return b.getDoc(r, p)
	case http.MethodPut:
		return b.putDoc(r, p, body)
	case http.MethodPatch:
		return b.patchDoc(r, p, body)
	case http.MethodDelete:
		return b.deleteDoc(r, p)
	case http.MethodPost:
		return b.postDoc(p, body)
	}
	return methodNotAllowed("GET, HEAD, PUT, PATCH, DELETE, POST, LOCK, UNLOCK")
}

// docResponse answers status with the document d and its validators.
func (b *Backend) docResponse(status int, d *document) *response {
	res := &response{status: status, header: http.Header{}, body: d.body}
	res.header.Set("Content-Type", "application/json")
	b.setValidators(res.header, d)
	return res
}

// setValidators sets the ETag, Last-Modified and X-Version headers of d.
func (b *Backend) setValidators(h http.Header, d *document) {
	if !b.cfg.noETags {
		h.Set("ETag", b.etag(d))
	}
	h.Set("Last-Modified", d.modified.UTC().Format(http.TimeFormat))
	if b.cfg.versionQuery != "" {
		h.Set("X-Version", d.version)
	}
}

// written answers a successful write of the document d at p with its
// representation, which Content-Location says it is (RFC 9110, section
// 8.7), or with CouchDB's acknowledgement.
func (b *Backend) written(status int, p string, d *document) *response {
	if !b.cfg.couchDBResponses {
		res := b.docResponse(status, d)
		res.header.Set("Content-Location", p)
		return res
	}
	res := couchResponse(http.StatusCreated, p, d.version)
	b.setValidators(res.header, d)
	return res
}

func (b *Backend) getDoc(r *http.Request, p string) *response {
	d := b.store.get(p)
	if d == nil {
		return notFound(p)
	}
	switch v, detail := b.evaluate(r.Header, d, true); v {
	case notModified:
		res := &response{status: http.StatusNotModified, header: http.Header{}}
		b.setValidators(res.header, d)
		return res
	case fail:
		return b.conflict(http.StatusPreconditionFailed, d, ProblemPreconditionFailed, "precondition failed", detail)
	case malformed:
		return problem(http.StatusBadRequest, ProblemETagNotEchoed, "entity-tag not echoed", detail)
	}
	return b.docResponse(http.StatusOK, d)
}

func (b *Backend) putDoc(r *http.Request, p string, body []byte) *response {
	if !json.Valid(body) {
		return badRequest("the body is not a JSON document")
	}
	old := b.store.get(p)
	if res := b.checkWrite(r, old); res != nil {
		return res
	}
	if res := b.checkVersionField(body, old, false); res != nil {
		return res
	}
	d, err := b.store.write(p, body, b.cfg.clock())
	if err != nil {
		return badRequest(err.Error())
	}
	if old == nil {
		return b.written(http.StatusCreated, p, d)
	}
	return b.written(http.StatusOK, p, d)
}

func (b *Backend) patchDoc(r *http.Request, p string, patch []byte) *response {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/merge-patch+json" {
		res := problem(http.StatusUnsupportedMediaType, "", "",
			"PATCH takes application/merge-patch+json (RFC 7396)")
		res.header.Set("Accept-Patch", "application/merge-patch+json")
		return res
	}
	old := b.store.get(p)
	if old == nil {
		return notFound(p)
	}
	if !json.Valid(patch) {
		return badRequest("the merge patch is not JSON")
	}
	if res := b.checkWrite(r, old); res != nil {
		return res
	}
	if res := b.checkVersionField(patch, old, true); res != nil {
		return res
	}
	merged, err := jsonmerge.ApplyPatch(old.body, patch)
	if err != nil {
		return badRequest("applying the merge patch: " + err.Error())
	}
	d, err := b.store.write(p, merged, b.cfg.clock())
	if err != nil {
		return badRequest(err.Error())
	}
	return b.written(http.StatusOK, p, d)
}

func (b *Backend) deleteDoc(r *http.Request, p string) *response {
	old := b.store.get(p)
	if old == nil {
		return notFound(p)
	}
	if res := b.checkWrite(r, old); res != nil {
		return res
	}
	rev := b.store.remove(p)
	if b.cfg.couchDBResponses {
		return couchResponse(http.StatusOK, p, rev)
	}
	return &response{status: http.StatusNoContent, header: http.Header{}}
}

// postDoc creates a document with a new id in the collection p.
func (b *Backend) postDoc(p string, body []byte) *response {
	if !json.Valid(body) {
		return badRequest("the body is not a JSON document")
	}
	if res := b.checkVersionField(body, nil, false); res != nil {
		return res
	}
	dir := strings.TrimSuffix(p, "/")
	var child string
	for {
		b.nextID++
		child = dir + "/" + strconv.FormatUint(b.nextID, 10)
		if b.store.get(child) == nil {
			break
		}
	}
	d, err := b.store.write(child, body, b.cfg.clock())
	if err != nil {
		return badRequest(err.Error())
	}
	res := b.written(http.StatusCreated, child, d)
	res.header.Set("Location", child)
	return res
}
