package mock

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/optimist-go/optimist/internal/wait"
)

// Option configures a [Backend] (and so a [Server]). Options apply in
// order; a later option overrides an earlier one that sets the same thing.
type Option func(*config)

// config holds every setting of a Backend. Its zero value is not usable:
// newConfig fills in the defaults.
type config struct {
	conflictStatus         int
	requireIfMatch         bool
	weakETags              bool
	weakIfMatch            bool
	conflictRepresentation bool
	noETags                bool

	clock func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	faults     Faults
	randomSeed int64

	jobsPath        string
	jobPolls        int
	jobRetryAfter   string
	jobDuration     time.Duration
	absoluteJobURLs bool

	versionField     string
	versionQuery     string
	couchDBResponses bool

	idempotencyLimit int
	logLimit         int
	logBytes         int64
	maxBodyBytes     int64

	observer     func(Request)
	beforeHandle func(*http.Request)

	callbacks callbackConfig // see callbacks.go
}

func newConfig(opts []Option) config {
	c := config{
		conflictStatus:   http.StatusPreconditionFailed,
		clock:            time.Now,
		sleep:            wait.Sleep,
		jobsPath:         "/jobs",
		jobPolls:         2,
		jobRetryAfter:    "0",
		idempotencyLimit: 10000,
		logLimit:         10000,
		logBytes:         DefaultLogBytes,
		maxBodyBytes:     10 << 20,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&c)
		}
	}
	return c
}

// WithConflictStatus sets the status of the answer to a write whose
// precondition failed: [http.StatusConflict] (409) or
// [http.StatusPreconditionFailed] (412, the default). Other values are
// ignored. The version-query mode answers stale versions with it too.
func WithConflictStatus(status int) Option {
	return func(c *config) {
		if status == http.StatusConflict || status == http.StatusPreconditionFailed {
			c.conflictStatus = status
		}
	}
}

// WithRequireIfMatch makes the server answer 428 Precondition Required to a
// write of an existing document (PUT, PATCH, DELETE) that carries no
// precondition: none of If-Match, If-None-Match and If-Unmodified-Since, nor
// the version query parameter of [WithVersionQuery]. Creating a document
// needs no precondition.
func WithRequireIfMatch() Option {
	return func(c *config) { c.requireIfMatch = true }
}

// WithWeakETags makes the server send weak entity-tags (W/"7"). RFC 9110
// compares If-Match strongly, so a weak tag never satisfies If-Match: every
// write conditioned on one fails with the conflict status (If-Match: * still
// matches). If-None-Match compares weakly and works as usual.
func WithWeakETags() Option {
	return func(c *config) { c.weakETags = true }
}

// WithWeakIfMatch makes the server behave like the many real APIs that send
// weak entity-tags and still honour them in If-Match: tags are sent weak (as
// with [WithWeakETags]) and If-Match compares weakly. Such servers demand the
// tag echoed byte for byte, so an If-Match that is not a list of well-formed
// weak tags (a tag with its W/ stripped, a tag quoted a second time) is
// answered 400 Bad Request with the problem type [ProblemETagNotEchoed].
func WithWeakIfMatch() Option {
	return func(c *config) { c.weakETags, c.weakIfMatch = true, true }
}

// WithoutETags makes the server send no ETag header, like APIs whose only
// concurrency control is a version in the body ([WithVersionField]) or in
// the query ([WithVersionQuery]). Conditional headers are still evaluated.
func WithoutETags() Option {
	return func(c *config) { c.noETags = true }
}

// WithConflictRepresentation makes a 409 or 412 answer to a failed
// precondition or stale version carry the current document (Content-Type
// application/json) and its ETag, as some APIs do, instead of a problem
// details body. When no document exists the answer stays a problem.
func WithConflictRepresentation() Option {
	return func(c *config) { c.conflictRepresentation = true }
}

// WithClock sets the clock the server reads for Last-Modified, request
// times and time-based jobs. Nil means [time.Now].
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.clock = now
		}
	}
}

// WithFaults sets the fault injection, replacing any earlier [WithFaults]
// or [WithLatency]. [Backend.SetFaults] changes it at run time.
func WithFaults(f Faults) Option {
	return func(c *config) { c.faults = f.clone() }
}

// WithLatency delays every request in the fault scope by fixed plus a
// random duration in [0, jitter). The delay ends early when the request's
// context is cancelled.
func WithLatency(fixed, jitter time.Duration) Option {
	return func(c *config) { c.faults.Latency, c.faults.Jitter = fixed, jitter }
}

// WithRandomSeed seeds the random source behind fault rates and jitter
// (the -seed-random flag of the mockserver command). The default seed is
// 0: a server's random choices are the same on every run. To preload
// documents, see [Backend.Seed].
func WithRandomSeed(seed int64) Option {
	return func(c *config) { c.randomSeed = seed }
}

// WithJobsPath sets the path of the asynchronous jobs collection (default
// "/jobs"). Job results are stored under the sibling "results" collection:
// "/results" for "/jobs", "/v1/results" for "/v1/jobs". An empty path is
// ignored.
func WithJobsPath(p string) Option {
	return func(c *config) {
		p = "/" + strings.Trim(p, "/")
		if p != "/" {
			c.jobsPath = p
		}
	}
}

// WithJobPolls sets how many status requests a job answers "running" before
// it answers its terminal state (default 2). A job's POST body may override
// it with "polls". Negative values mean 0.
func WithJobPolls(n int) Option {
	return func(c *config) { c.jobPolls = max(n, 0) }
}

// WithJobRetryAfter sets the Retry-After header of job answers (default
// "0"). A job's POST body may override it with "retryAfter".
func WithJobRetryAfter(s string) Option {
	return func(c *config) { c.jobRetryAfter = s }
}

// WithJobDuration makes jobs time-based: a job runs until d has passed on
// the server's clock (see [WithClock]), whatever the number of polls.
// Zero, the default, means jobs are poll-based (see [WithJobPolls]).
func WithJobDuration(d time.Duration) Option {
	return func(c *config) { c.jobDuration = max(d, 0) }
}

// WithAbsoluteJobURLs makes job answers carry absolute URLs built from the
// request's Host ("http://127.0.0.1:4711/jobs/1") instead of absolute paths
// ("/jobs/1") in Location, Operation-Location and resourceLocation.
func WithAbsoluteJobURLs() Option {
	return func(c *config) { c.absoluteJobURLs = true }
}

// WithVersionField keeps each document's version inside the document, at
// the JSON pointer field ("/_rev" as CouchDB does, "/metadata/resourceVersion"
// as Kubernetes does). Documents must then be JSON objects. See the package
// documentation for the rules; stale versions are answered 409. If-Match
// may carry the revision too, as CouchDB accepts for DELETE.
func WithVersionField(pointer string) Option {
	return func(c *config) { c.versionField = pointer }
}

// WithVersionQuery requires every write of an existing document to carry
// the document's current version in the query parameter param ("rev" as in
// CouchDB's ?rev=, or etcd's "prevIndex"). The version is sent in the
// X-Version response header. A stale version is answered with the conflict
// status (see [WithConflictStatus]), a missing one 428.
func WithVersionQuery(param string) Option {
	return func(c *config) { c.versionQuery = param }
}

// WithCouchDBResponses makes writes answer as CouchDB does:
// {"ok":true,"id":"<last path segment>","rev":"<new version>"}, with 201
// Created for PUT, PATCH and POST and 200 OK for DELETE.
func WithCouchDBResponses() Option {
	return func(c *config) { c.couchDBResponses = true }
}

// WithIdempotencyLimit sets how many Idempotency-Key answers are kept
// (default 10,000); the oldest are forgotten first. Zero or less keeps the
// default.
func WithIdempotencyLimit(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.idempotencyLimit = n
		}
	}
}

// WithLogLimit sets how many requests [Backend.Requests] keeps (default
// 10,000); the oldest are dropped first. Zero or less keeps no log; the
// counters of [Backend.Count] are never limited.
func WithLogLimit(n int) Option {
	return func(c *config) { c.logLimit = max(n, 0) }
}

// DefaultLogBytes bounds the bytes the request log holds by default.
const DefaultLogBytes = 16 << 20

// WithLogBytes bounds the request log by the bytes its entries' methods,
// targets and headers hold (default [DefaultLogBytes]); the oldest are
// dropped first, and an entry alone over the bound is kept without its
// header. Zero or less keeps the default.
func WithLogBytes(n int64) Option {
	return func(c *config) {
		if n > 0 {
			c.logBytes = n
		}
	}
}

// WithObserver calls fn once for every request, after it is recorded in
// the log and before the answer is written. fn runs outside the backend's
// lock, on the request's goroutine, so it must be safe for concurrent use.
func WithObserver(fn func(Request)) Option {
	return func(c *config) { c.observer = fn }
}

// WithBeforeHandle calls fn for every request that is about to be handled:
// after latency, faults, reading the body and reserving its Idempotency-Key,
// before the store is read or written. fn runs outside the backend's lock
// and may block (to hold a request in flight) or call the backend (to slip in
// a concurrent write).
func WithBeforeHandle(fn func(r *http.Request)) Option {
	return func(c *config) { c.beforeHandle = fn }
}
