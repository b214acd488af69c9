package optimist

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Update changes the JSON resource at url with mutate, safely under
// concurrency: it reads the resource (or uses the body the client
// remembers), decodes it into a T, calls mutate, and writes the result
// conditionally on the version it read. On a version conflict it calls
// mutate again on a fresh copy of the server's document, until the write
// lands or the client's conflict bound is reached.
//
// mutate may therefore run more than once, each time on a new value; it
// must derive its change from the value it is given (increment it, append
// to it), not from state captured outside, and it must not block. An error
// from mutate ends this update with that error and nothing of it written.
// Members of the document that T does not hold are kept as the server has
// them.
//
// Concurrent calls for one URL through one Client without request options
// are committed together (see [WithGroupCommit]): while one write is in
// flight, the mutations that arrive are applied in arrival order to the
// next document and sent as one write. Each caller still gets its own
// value and error. Updates made under [Client.WithLock] are not grouped.
//
// Update returns the value as written. Errors: those of [Client.Get] and
// [Client.Put], a [*ConflictError] when the bound is reached, mutate's, and
// ctx's (a mutation already in a write in flight may then still land).
func Update[T any](ctx context.Context, c *Client, url string, mutate func(*T) error, opts ...RequestOption) (T, error) {
	var result T
	apply := func(doc []byte) ([]byte, error) {
		var v T
		if err := json.Unmarshal(doc, &v); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotJSON, err)
		}
		before, err := json.Marshal(&v)
		if err != nil {
			return nil, err
		}
		if err := mutate(&v); err != nil {
			return nil, err
		}
		out, err := applyTyped(before, &v, doc)
		if err == nil {
			result = v
		}
		return out, err
	}
	var err error
	if c.groupCommit && len(opts) == 0 && !holdsLock(ctx) { // heldlock.go: not grouped with writes outside the lock
		err = c.commitGrouped(ctx, url, apply)
	} else {
		err = c.applyAndWrite(ctx, url, apply, opts)
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return result, nil
}

// applyAndWrite reads the current document of url, applies apply to it and
// writes the result conditionally on the version read; on a conflict it
// applies apply to the server's document and writes again. A change that
// leaves the document as it is writes nothing, but only once a read has
// shown that the server holds that document: a remembered one may be stale.
func (c *Client) applyAndWrite(ctx context.Context, url string, apply func([]byte) ([]byte, error), opts []RequestOption) error {
	current, fresh, err := c.current(ctx, url, opts)
	if err != nil {
		return err
	}
	ours, err := apply(current.Body)
	if err != nil {
		return err
	}
	if jsonEqual(ours, current.Body) {
		if fresh {
			return nil
		}
		if current, err = c.read(ctx, url, opts); err != nil {
			return err
		}
		if ours, err = apply(current.Body); err != nil || jsonEqual(ours, current.Body) {
			return err
		}
	}
	pin := IfMatch(current.ETag) // the version ours was computed from, not a newer one
	if current.ETag == "" {
		pin = Header("If-Unmodified-Since", current.LastModified)
	}
	resolve := func(_ context.Context, cf *Conflict) ([]byte, error) { return apply(cf.Theirs) }
	opts = append(opts[:len(opts):len(opts)], pin, Resolve(resolve))
	_, err = c.Put(ctx, url, ownedJSON(ours), nil, opts...)
	return err
}

// ownedJSON is a request body the client made itself (a merge's or
// encoding/json's output, never shared with a caller): valid JSON that
// needs neither a check nor a copy.
type ownedJSON []byte

// current returns the remembered version of url if its body is known
// (fresh false), else reads it (fresh true).
func (c *Client) current(ctx context.Context, url string, opts []RequestOption) (v Version, fresh bool, err error) {
	r, err := c.newRequest(ctx, http.MethodGet, url, nil, opts)
	if err != nil {
		return Version{}, false, err
	}
	if v, ok := c.recall(r); ok && v.Body != nil && (v.ETag != "" || v.LastModified != "") {
		return v, false, nil
	}
	v, err = c.read(ctx, url, opts)
	return v, true, err
}

// read reads url, revalidating what is remembered, and returns the
// version read. A document without a version cannot be written
// conditionally: that is an error matching [ErrNoVersion].
func (c *Client) read(ctx context.Context, url string, opts []RequestOption) (Version, error) {
	resp, err := c.Get(ctx, url, nil, opts...)
	if err != nil {
		return Version{}, err
	}
	v := Version{ETag: resp.ETag, LastModified: resp.Header.Get("Last-Modified"), Body: resp.Body}
	if v.ETag == "" && v.LastModified == "" {
		return Version{}, fmt.Errorf("%w: GET %s: the answer carries no ETag or Last-Modified", ErrNoVersion, redactURL(url))
	}
	return v, nil
}
