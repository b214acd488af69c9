// Package mock is an in-memory HTTP JSON API with optimistic concurrency:
// real entity-tags and conflicts, asynchronous jobs, Idempotency-Key replay
// and fault injection, for testing clients of such APIs (optimist's, or
// your own) without a real server.
//
// # Starting it
//
// [NewServer] starts a [Server] on 127.0.0.1 and a free port, in the manner
// of [net/http/httptest.Server]; [Handler] gives the bare [http.Handler]
// (a [*Backend]) to mount anywhere. Give each test its own:
//
//	srv := mock.NewServer(mock.WithConflictStatus(http.StatusConflict))
//	defer srv.Close()
//	_ = srv.Seed("/carts/7", []byte(`{"items":[]}`))
//	// ... point the code under test at srv.URL + "/carts/7" ...
//	fmt.Println(srv.Count(http.MethodPut, http.StatusConflict), "conflicts")
//
// The command github.com/optimist-go/optimist/mock/cmd/mockserver serves
// the same API over a real port, configured by flags.
//
// # Documents
//
// Any path holds at most one JSON document. GET and HEAD read it (404 when
// there is none); PUT creates (201) or replaces (200) it; PATCH applies an
// RFC 7396 merge patch sent as application/merge-patch+json; DELETE removes
// it (204); POST to a collection path creates a document at a new child
// path, named in Location. A PUT or PATCH is answered with the document as
// written and a Content-Location naming it, which says (RFC 9110, section
// 8.7) that the body is its representation. Every answer carries an ETag, a quoted decimal
// number taken from one server-wide counter, so a tag is never reused (not
// even after [Backend.Reset]), and Last-Modified. Errors are RFC 9457
// problem details (application/problem+json); see [Problem].
//
// # Preconditions and conflicts
//
// If-Match, If-None-Match, If-Unmodified-Since and If-Modified-Since are
// evaluated as RFC 9110 says: If-Match compares strongly, If-None-Match
// weakly, and a GET whose If-None-Match matches is answered 304. A write
// whose precondition fails is answered 412 Precondition Failed, or 409
// Conflict with [WithConflictStatus]. Options make the server behave like
// the APIs a client meets in the wild:
//
//   - [WithRequireIfMatch]: an unconditional write of an existing document
//     is answered 428 Precondition Required.
//   - [WithConflictRepresentation]: a conflict answer carries the current
//     document and its ETag instead of a problem, as some APIs do.
//   - [WithWeakETags]: tags are sent weak (W/"7"), and so never satisfy
//     If-Match; [WithWeakIfMatch]: they are sent weak and honoured when
//     echoed byte for byte.
//   - [WithoutETags]: no ETag header at all.
//
// # Versions in the body or the query
//
// Some APIs keep the version elsewhere than in ETag. [WithVersionField]
// keeps it inside each document, at a JSON pointer ("/_rev" as in CouchDB,
// "/metadata/resourceVersion" as in Kubernetes): the server sets the member
// on every write, documents must be JSON objects, a write of an existing
// document must carry its current version (a merge patch may leave it out),
// a creation must carry none, and anything else is answered 409 Conflict.
// A DELETE, which has no body, is checked against its conditional headers
// only.
// [WithCouchDBResponses] answers writes {"ok":true,"id":...,"rev":...}.
// [WithVersionQuery] requires the current version in a query parameter
// (?rev=) instead, sends it in the X-Version header, and answers a stale
// one with the conflict status (412 by default) and a missing one 428.
//
// # Asynchronous jobs
//
// A POST to the jobs path ("/jobs", see [WithJobsPath]) starts a job and
// is answered 202 Accepted, with the status URL in Location and
// Operation-Location and a Retry-After ([WithJobRetryAfter], default "0").
// A GET of the status URL answers a status document
//
//	{"id":"1","status":"running","percentComplete":33}
//
// for a number of polls ([WithJobPolls], default 2) or a duration on the
// server's clock ([WithJobDuration]), then "succeeded" with the result's URL
// in "resourceLocation" (the result is stored in the sibling "results"
// collection), or "failed" with an "error" problem. The POST body may set
// the job's "polls", "retryAfter", "result" (any JSON) and "fail" (with a
// "detail").
//
// With [WithCallbacks], a job whose POST body names a "callbackUrl" is
// announced there by Standard Webhooks deliveries (webhook-id,
// webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256>") with
// the body {"type":"job.succeeded","timestamp":...,"data":<status>}: when
// it ends, and on [Backend.SendJobProgress]. [Backend.CompleteJob] ends a
// job at once; [CallbackFault]s drop, delay, duplicate, replay, mis-sign
// or send early; [Backend.CallbackLog] lists the deliveries and answers.
//
// # Idempotency keys
//
// A write carrying an Idempotency-Key header is applied once: a repeat of
// the same request (method, target and body) replays the stored answer with
// Idempotent-Replayed: true, one that arrives while the first is in
// progress gets 409, and another request under the same key gets 422. Only
// 2xx answers are stored; a failed request frees its key.
//
// # Faults
//
// [Faults] (set by [WithFaults] and [WithLatency], changed by
// [Backend.SetFaults]) delays requests and makes a fraction of them fail;
// [Backend.FailNext] queues faults for the next requests, which take
// precedence over the rates. A 503 or 429 carries Retry-After and applies
// nothing; a reset cuts the connection before the request is read; a
// truncated answer is applied and then cut halfway; a lost response is
// applied (and stored for its Idempotency-Key) and then answered by a
// reset, so the client cannot know it landed. [Faults.Methods] and
// [Faults.Paths] narrow what is affected. The random source is seeded
// ([WithRandomSeed], default 0): a run's faults are the same every time for the
// same sequence of requests.
//
// Note that net/http itself re-sends a GET, HEAD or request with an
// Idempotency-Key whose reused keep-alive connection was cut before any
// answer byte, so a client may never see a fault injected on such a
// connection; the log still shows it. A test that must see every fault
// uses a transport with DisableKeepAlives.
//
// # Locks and leases
//
// LOCK takes a WebDAV exclusive write lock (RFC 4918) for the Timeout
// asked (Second-N, at most an hour, or Infinite) and answers the
// DAV:lockdiscovery with a Lock-Token; a LOCK without a body and with
// If: (<token>) refreshes it, and UNLOCK with Lock-Token releases it. A
// write of a locked path without the token in its If header is answered
// 423 Locked (DAV:lock-token-submitted); an If header that names no held
// lock, 412. PUT path?comp=lease with x-ms-lease-action acquire, renew,
// release or break manages an Azure Blob Storage style lease; a write of a
// leased path without its x-ms-lease-id is answered 412 LeaseIdMissing
// (LeaseIdMismatchWithBlobOperation, LeaseLost), the codes in
// x-ms-error-code and the JSON body's error.code. Unlike Azure, an expired
// lease cannot be renewed (LeaseLost), so tests can make a renewal fail by
// moving the clock. [Backend.LockFor] and [Backend.LeaseFor] lock a path
// for a while as another client would, [Backend.BusyFor] answers its
// writes 409 AnotherOperationInProgress for a while (with Retry-After or
// without), and [Backend.Unlock] ends all of these.
//
// # Inspecting it in tests
//
// [Backend.Requests] gives the request log (method, target, headers,
// status, fault, replay) and [Backend.Count] counts requests by method and
// status; [WithObserver] sees each request as it is answered and
// [WithBeforeHandle] can hold one in flight. [Backend.Document] reads a
// stored document and its ETag directly, [Backend.Seed] stores one, and
// [Backend.Reset] forgets documents, jobs, keys, queued faults, counters
// and log while keeping the configuration. [WithClock] fixes the clock.
//
// A Backend is safe for concurrent use: one lock guards all its state.
package mock
