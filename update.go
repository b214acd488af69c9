package optimist

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/optimist-go/optimist/internal/jsonmerge"
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
// Concurrent calls through one Client whose requests would be identical
// apart from the body (the same URL, request options of the same effect,
// those of ctx included, and so the same credentials) are committed
// together (see [WithGroupCommit]): while one write is in flight, the
// mutations that arrive are applied in arrival order to the next document
// and sent as one write. Each caller still gets its own value and error: a
// failing mutation is left out, a mutation's panic is raised in its own
// caller's Update, and a write refused for one caller's change (a 4xx
// such as 422) is split until only that caller is refused. A call that
// finds no write of its key in flight writes on its own goroutine. Updates
// made under [Client.WithLock], or with [UseVersionToken] or [OnProgress],
// are not grouped.
//
// Update returns the value as written. Errors: those of [Client.Get] and
// [Client.Put], a [*ConflictError] when the bound is reached, and mutate's.
// When ctx ends before the update's change was sent, ctx's error; once it
// was sent, an [*OutcomeUnknownError] that also matches ctx's error: the
// write may still land.
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
	if key, ok := c.batchKey(ctx, url, opts); ok {
		err = c.commitGrouped(ctx, key, url, opts, apply)
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
	raw := collectOptions(ctx, false, opts).raw
	same := jsonmerge.Equal
	if raw {
		same = bytes.Equal
	}
	ours, err := apply(current.Body)
	if err != nil {
		return err
	}
	if same(ours, current.Body) {
		if fresh {
			return nil
		}
		if current, err = c.read(ctx, url, opts); err != nil {
			return err
		}
		if ours, err = apply(current.Body); err != nil || same(ours, current.Body) {
			return err
		}
	}
	pin := IfMatch(current.ETag) // the version ours was computed from, not a newer one
	if current.ETag == "" {
		pin = Header("If-Unmodified-Since", current.LastModified)
	}
	resolve := func(_ context.Context, cf *Conflict) ([]byte, error) { return apply(cf.Theirs) }
	opts = append(opts[:len(opts):len(opts)], pin, Resolve(resolve))
	if raw {
		return c.putBytes(ctx, url, ours, append(opts, rawBody(current.contentType)))
	}
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
	v := Version{ETag: resp.ETag, LastModified: resp.Header.Get("Last-Modified"), Body: resp.Body,
		contentType: resp.Header.Get("Content-Type")}
	if v.ETag == "" && v.LastModified == "" {
		return Version{}, fmt.Errorf("%w: GET %s: the answer carries no ETag or Last-Modified", ErrNoVersion, redactURL(url))
	}
	return v, nil
}

// UpdateBytes is [Update] for a resource of any media type: iCalendar,
// XML, plain text, a form. It reads the resource (or uses the body the
// client remembers), calls mutate with its bytes, and writes what mutate
// returns conditionally on the version read, with the Content-Type the
// representation was read with (a [Header] option overrides it). The read
// accepts any media type unless an option sets Accept.
//
// On a version conflict no merge is attempted: mutate is called again with
// the server's current bytes, until the write lands or the client's
// conflict bound is reached. mutate may therefore run more than once; it
// must derive its change from the bytes it is given, and must neither
// modify them nor keep them. Returning them unchanged writes nothing, once
// a read has shown that the server holds them. UpdateBytes returns the
// bytes written. Its errors are those of [Update].
func (c *Client) UpdateBytes(ctx context.Context, url string, mutate func(current []byte) ([]byte, error), opts ...RequestOption) ([]byte, error) {
	var result []byte
	apply := func(doc []byte) ([]byte, error) {
		out, err := mutate(doc)
		if err == nil {
			result = out
		}
		return out, err
	}
	opts = append([]RequestOption{rawBody("")}, opts...)
	if err := c.applyAndWrite(ctx, url, apply, opts); err != nil {
		return nil, err
	}
	return result, nil
}

// putBytes writes body, as it is, to url.
func (c *Client) putBytes(ctx context.Context, url string, body []byte, opts []RequestOption) error {
	r, err := c.newRequest(ctx, http.MethodPut, url, bytes.Clone(body), opts)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, r)
	return err
}
