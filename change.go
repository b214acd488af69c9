package optimist

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
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
	current, fresh, u, err := c.current(ctx, rawURL, opts)
	if err != nil {
		return err
	}
	raw := collectOptions(ctx, false, opts).raw
	r, err := c.changeRequest(ctx, u, current, raw, apply, opts)
	if err != nil {
		return err
	}
	if unchanged(r, current.Body) {
		if fresh {
			return nil
		}
		if current, err = c.read(ctx, rawURL, opts); err != nil {
			return err
		}
		if r, err = c.changeRequest(ctx, u, current, raw, apply, opts); err != nil || unchanged(r, current.Body) {
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

// changeRequest is the write of apply's change to current: a PUT of what
// apply makes of current's document, conditional on current's version
// (the version the document was computed from, not a newer one), carrying
// apply as the change the conflict loop makes again on the server's
// document. A raw change (UpdateBytes's) is sent with the media type
// current was read with, unless an option sets one.
func (c *Client) changeRequest(ctx context.Context, u *url.URL, current Version, raw bool, apply func([]byte) ([]byte, error), opts []RequestOption) (*request, error) {
	ours, err := apply(current.Body)
	if err != nil {
		return nil, err
	}
	if raw {
		ours = bytes.Clone(ours) // the caller's bytes: the record keeps what was sent
		opts = append(opts[:len(opts):len(opts)], rawBody(current.contentType))
	}
	r := c.requestTo(ctx, http.MethodPut, u, ours, opts)
	if current.ETag != "" {
		r.opts.precondition, r.opts.ifMatch = preconditionIfMatch, current.ETag
	} else {
		r.header.Set("If-Unmodified-Since", current.LastModified)
	}
	r.change = apply
	return r, nil
}

// current returns the remembered version of url if its body is known
// (fresh false), else reads it (fresh true), and url parsed, for the
// write.
func (c *Client) current(ctx context.Context, rawURL string, opts []RequestOption) (v Version, fresh bool, u *url.URL, err error) {
	r, err := c.newRequest(ctx, http.MethodGet, rawURL, nil, opts)
	if err != nil {
		return Version{}, false, nil, err
	}
	if v, ok := c.recall(r); ok && v.Body != nil && (v.ETag != "" || v.LastModified != "") {
		return v, false, r.url, nil
	}
	v, err = c.read(ctx, rawURL, opts)
	return v, true, r.url, err
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
