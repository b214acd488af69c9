package optimist

import (
	"context"
	"encoding/json"
	"fmt"
)

// [Update] and [Client.UpdateBytes]: a caller's mutation, turned into a
// change of the resource's bytes. A mutation that can share a write with
// others goes to group commit (group.go); one that cannot, straight to the
// read-modify-write of change.go.

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
