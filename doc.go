// Package optimist is an HTTP client for JSON APIs that use optimistic
// concurrency: APIs that answer 409 Conflict or 412 Precondition Failed
// when a write is based on a stale version, and 202 Accepted when work
// goes on in the background.
//
// # Reading and writing
//
// A [Client] remembers the ETag (or Last-Modified) and the body of every
// resource it reads, keyed by URL, and sends every later write to that URL
// conditionally:
//
//	c := optimist.New()
//	var doc Doc
//	if _, err := c.Get(ctx, url, &doc); err != nil { // remembers ETag and body
//		return err
//	}
//	doc.Title = "new"
//	_, err := c.Put(ctx, url, doc, &doc) // sends If-Match: <that ETag>
//	return err
//
// PUT, PATCH and DELETE carry If-Match with the remembered ETag, byte for
// byte as the server sent it (a weak W/"..." tag included), or
// If-Unmodified-Since when only Last-Modified is known. With no version
// known, no write is sent blind: it fails with [ErrNoVersion]. [CreateOnly]
// sends If-None-Match: * instead; [IfMatch] names a version; [Unconditional]
// forces a write. A 428 Precondition Required makes the client read the
// resource and write again, conditionally, once. [Client.Get] of a
// remembered resource revalidates it with If-None-Match.
//
// What the client remembers is decided by one set of rules (state.go): an
// error body is never a document; a write answer is one only when its
// Content-Location names the target ([MemoryOptions].RepresentationAnswers says an
// API always answers so), else the document is what was written; records
// are kept per credentials and Vary headers; members the server owns
// ([MemoryOptions].ServerMembers) are never written back. The memory is bounded (see
// [MemoryOptions]) and forgets a resource on DELETE, 404 and 410.
// [Client.Remembered] and [Client.Forget] inspect and clear it.
//
// # Conflicts
//
// When a conditional PUT or PATCH meets a version conflict, the client
// reads the server's current document (a GET with the caller's headers and
// If-None-Match: a 304 proves the refusal was no version conflict), asks a
// [Resolver] what to write, and writes
// that conditionally on the new ETag, with a jittered backoff between
// attempts, until a write lands or the bound set by [ConflictOptions]
// or the context is reached. The default resolver, [ThreeWayMerge], applies
// the caller's change (from the remembered base to the document written)
// onto the server's document, member by member; members both sides
// changed differently are a true conflict, returned as a
// [*MergeConflictError]. [OursWins], [TheirsWins], [ReturnConflict],
// [MergeWith] and [Typed] are the other strategies.
//
// Note that a server comparing validators strongly, as RFC 9110 requires
// for If-Match, answers a weak ETag with 412 even when nothing changed;
// the loop treats that as an ordinary conflict, backs off and reads again,
// and says so in its error if the server never accepts the tag.
//
// A write whose answer was lost, and whose outcome the client cannot prove,
// is an [*OutcomeUnknownError] (matching [ErrOutcomeUnknown], never
// [ErrConflict]): it is not resolved, for that could apply it twice.
//
// For read-modify-write, [Update] is the safe form: it reads, applies a
// function to a typed value, writes the change the function made
// conditionally, and on a conflict applies the function again to the fresh
// document:
//
//	n, err := optimist.Update(ctx, c, url, func(v *Counter) error {
//		v.Count++
//		return nil
//	})
//
// # Versions that are not ETags
//
// For APIs that keep the version in the document (CouchDB's _rev,
// Kubernetes' metadata.resourceVersion) or take it in the query (?rev=),
// a [VersionToken] says where it is read and how a write carries it:
// [JSONField], [QueryParam], or one of your own, set per client, per path
// pattern or per request. A version kept in the document is taken from the
// server's side of every merge, never merged and never a conflict.
// Presets configure the APIs people use in one option: [CouchDB],
// [EtcdV2], [AzureTable].
//
// # Servers that ignore preconditions
//
// A server that applies a write whatever its If-Match loses updates
// whatever the client does. [Client.Probe] asks a resource's server,
// without changing the resource's content, whether it honours If-Match
// and If-None-Match: *; [WithPreconditionCheck] probes each origin once
// and refuses writes whose precondition its server ignores.
//
// # Asynchronous operations
//
// A request answered 202 Accepted is followed to the operation's end: the
// client polls the status URL the answer names, honouring Retry-After, and
// returns the final result. [FollowOperation](false) returns the 202 instead, and
// [Client.Operation] and [Client.ResumeOperation] (from an
// [Operation.ResumeToken]) give a handle to poll later; [PollOptions] set
// the waits. A [Callbacks] handler, attached to a request, lets a verified
// webhook (signatures by package [github.com/optimist-go/optimist/webhook])
// end the wait early: a callback is a hint, and the one status GET
// it triggers is the truth. A failed operation is an [*OperationError].
//
// # Faults
//
// Connection errors, 429 and 5xx answers are retried by a go-retryablehttp
// client underneath, with full-jitter exponential backoff and Retry-After
// honoured up to a bound; [WithRetry] shapes it all ([RetryOptions]), and a
// retry whose wait cannot end before the context's deadline is not begun
// (the error matches [context.DeadlineExceeded]). A request that may have
// reached the
// server is sent again only when that is safe: its method is idempotent,
// it is conditional (a second copy fails its precondition instead of
// applying twice), or it carries an Idempotency-Key ([WithIdempotencyKeys]
// adds a fresh one to every non-idempotent request).
//
// # Locks
//
// A 423 Locked, or a 409 or 412 whose error code says the resource is
// locked, leased or busy with another operation (Azure's LeaseIdMissing
// or AnotherOperationInProgress, a WebDAV lock-token-submitted, ...), is
// no version conflict: it is never merged over, and comes back as a
// [*LockedError] matching [ErrLocked]. [LockOptions].MaxWait waits it out and
// sends the same request again. [Client.WithLock] holds a lock itself
// ([WebDAVLock], [AzureLease], or any [LockSpec]): the writes made inside
// carry its token, and it is renewed in the background and released at
// the end.
//
// # Errors
//
// Every non-2xx answer is an error: a [*StatusError] carrying the status,
// headers and the start of the body, decoded as RFC 9457 problem details
// when it is one. Test errors with [errors.Is] against [ErrConflict],
// [ErrPreconditionFailed], [ErrNotFound] and the other sentinels, or with
// [errors.As] against the typed errors. No error carries an Authorization
// or Cookie value.
//
// # Generated clients
//
// [Client.Do] has the signature of the HttpRequestDoer interface that
// generated API clients accept, so such a client gets the same ETag memory,
// conditional writes and retries; request options travel in the request's
// context ([NewContext]). For SDKs that take an *http.Client or an
// http.RoundTripper instead, [Client.StandardClient] (and its Transport)
// sends through Do.
//
// # Testing
//
// Package [github.com/optimist-go/optimist/mock] is an in-memory server
// with real ETags, conflicts, asynchronous jobs and fault injection, for
// tests and examples.
//
// # How the package is built
//
// A map for those who change it. Every call flows one way through files
// named for their stage, each saying at its top what it owns and what
// comes next:
//
//  1. The way in: client.go (the Client, Get, Put, Patch, Post, Delete,
//     Do; do routes a request), update.go (Update, UpdateBytes), group.go
//     and groupwrite.go (group commit of concurrent updates), change.go
//     (the read-modify-write, whose write carries its change), standard.go
//     (the *http.Client drop-in).
//  2. Building the request: request.go (the request, its options, the
//     requests derived from it), version.go (where a version travels:
//     VersionToken), headers.go (the one header policy: credentials to
//     other origins, headers of derived reads, idempotency keys).
//  3. The conflict loop: conflict.go (preconditions, re-read, resolve,
//     send again) and merge.go (the resolvers; the pure merge is
//     internal/jsonmerge, which also creates RFC 7396 merge patches and
//     applies them, for conflict.go and state.go; version.go sets a
//     version member with an RFC 6902 JSON Patch, the one use of
//     github.com/evanphx/json-patch/v5).
//  4. One exchange: exchange.go (send, read, outcome), retry.go (the
//     transport retries over go-retryablehttp and their policy), origin.go
//     (redirects and the cookie jar keep credentials on their origin),
//     redact.go (the one redaction of URLs and faults in errors and logs).
//  5. The resource record: state.go (every rule of what a resource's
//     document and version are) over memory.go (the bounded LRU).
//
// Beside the write path: lock.go (recognising a lock answer), lockwait.go
// (waiting one out), heldlock.go and lockspecs.go (holding a lock);
// poll.go, pollopts.go, status.go, resume.go (202 Accepted operations),
// callbacks.go and callbackwait.go (their webhooks); probe.go and
// probeguard.go (servers that ignore preconditions); presets.go (CouchDB,
// etcd, Azure Table); options.go (the client options); errors.go (every
// error type and sentinel); etag.go (the ETag type).
//
// Where a change goes: a rule about what the client believes of a resource
// goes in state.go; a header a derived request must or must not carry, in
// headers.go; what is worth a transport retry, in retry.go; how a conflict
// is settled, in conflict.go, or merge.go for a new strategy; a new error,
// in errors.go. A second place deciding any of these is a bug.
package optimist
