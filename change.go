package optimist

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
)

// A change: the read-modify-write under [Update] and [Client.UpdateBytes]
// (one caller's mutation, or a group commit's batch of them, group.go). It
// takes the resource's current version (the record, state.go, or a read),
// applies the change, and sends the result as one conditional write that
// carries the change with it, so that the conflict loop (conflict.go) can
// make it again on the server's document. Next: client.go's do, then
// conflict.go.

// applyAndWrite reads the current document of url, applies apply to it and
// writes the result conditionally on the version read; on a conflict the
// conflict loop applies apply to the server's document and writes again
// (the write request carries apply as its change). A change that leaves
// the document as it is writes nothing, but only once a read has shown
// that the server holds that document: a remembered one may be stale.
func (c *Client) applyAndWrite(ctx context.Context, rawURL string, apply func([]byte) ([]byte, error), opts []RequestOption) error {
	lookup, err := c.newRequest(ctx, http.MethodGet, rawURL, nil, opts)
	if err != nil {
		return err
	}
	current, remembered := c.recallDocument(lookup)
	if !remembered {
		if current, err = c.read(ctx, rawURL, opts); err != nil {
			return err
		}
	}
	r, err := changeRequest(lookup, current, apply)
	if err != nil {
		return err
	}
	if unchanged(r, current.Body) {
		if !remembered {
			return nil
		}
		if current, err = c.read(ctx, rawURL, opts); err != nil {
			return err
		}
		lookup = c.requestTo(ctx, http.MethodGet, lookup.url, lookup.canonical, nil, opts)
		if r, err = changeRequest(lookup, current, apply); err != nil || unchanged(r, current.Body) {
			return err
		}
	}
	_, err = c.do(ctx, r)
	return err
}

// unchanged reports whether r, the write of a change to doc, leaves doc as
// it is. A typed change returns doc itself when the value it decoded
// encodes as before (applyTyped), and so does a batch of them (group
// commit): any other bytes are a change, and finding so costs no parse. A
// raw change's bytes are compared.
func unchanged(r *request, doc []byte) bool {
	if r.opts.raw {
		return bytes.Equal(r.body, doc)
	}
	return len(r.body) == len(doc) && (len(doc) == 0 || &r.body[0] == &doc[0])
}

// changeRequest turns lookup, the GET whose record gave current (or that
// would have), into the write of apply's change to current: a PUT of what
// apply makes of current's document, with lookup's URL, record key and
// headers, conditional on current's version (the version the document was
// computed from, not a newer one), and carrying apply as the change the
// conflict loop makes again on the server's document. lookup is consumed.
// A raw change (UpdateBytes's) is sent with the media type current was
// read with, unless an option sets one.
func changeRequest(lookup *request, current Version, apply func([]byte) ([]byte, error)) (*request, error) {
	ours, err := apply(current.Body)
	if err != nil {
		return nil, err
	}
	r := lookup
	r.method, r.body, r.change = http.MethodPut, ours, apply
	contentType := "application/json"
	if r.opts.raw {
		r.body = bytes.Clone(ours) // the caller's bytes: the record keeps what was sent
		r.opts.contentType, contentType = current.contentType, current.contentType
	}
	if _, set := r.opts.header["Content-Type"]; !set && r.body != nil && contentType != "" {
		r.headerValues[1] = contentType
		r.header["Content-Type"] = r.headerValues[1:2:2]
	}
	if current.ETag != "" {
		r.opts.precondition, r.opts.ifMatch = preconditionIfMatch, current.ETag
	} else {
		r.header.Set("If-Unmodified-Since", current.LastModified)
	}
	return r, nil
}

// recallDocument returns the remembered version of lookup's resource, if
// the record holds its body and a version to write it on.
func (c *Client) recallDocument(lookup *request) (Version, bool) {
	v, ok := c.recall(lookup)
	return v, ok && v.Body != nil && (v.ETag != "" || v.LastModified != "")
}

// read reads url, revalidating what is remembered, and returns the
// version read. A document without a version cannot be written
// conditionally: that is an error matching [ErrNoVersion].
func (c *Client) read(ctx context.Context, rawURL string, opts []RequestOption) (Version, error) {
	resp, err := c.Get(ctx, rawURL, nil, opts...)
	if err != nil {
		return Version{}, err
	}
	v := Version{ETag: resp.ETag, LastModified: resp.Header.Get("Last-Modified"), Body: resp.Body,
		contentType: resp.Header.Get("Content-Type")}
	if v.ETag == "" && v.LastModified == "" {
		return Version{}, fmt.Errorf("%w: GET %s: the answer carries no ETag or Last-Modified", ErrNoVersion, redactURL(rawURL))
	}
	return v, nil
}
