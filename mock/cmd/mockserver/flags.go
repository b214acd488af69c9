package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/optimist-go/optimist/mock"
)

// errUsage is returned for invalid command-line arguments.
var errUsage = errors.New("invalid arguments")

// flags holds the command line.
type flags struct {
	addr, seedFile                         string
	conflictStatus                         int
	requireIfMatch, weakETags, weakIfMatch bool
	conflictRepresentation, withoutETags   bool
	faults                                 mock.Faults
	faultMethods, faultPaths               string
	failNext                               string
	queued                                 []queuedFault // failNext parsed
	controlPath                            string
	seedRandom                             int64
	jobsPath, jobRetryAfter                string
	jobPolls                               int
	jobDuration                            time.Duration
	absoluteJobURLs                        bool
	versionField, versionQuery             string
	couchDBResponses                       bool
}

// parseFlags parses args. Errors and -h output go to stderr.
func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	var f flags
	fs := flag.NewFlagSet("mockserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen `address` (port 0 picks a free port)")
	fs.StringVar(&f.seedFile, "seed", "", "preload documents from a JSON `file` mapping paths to documents")
	fs.IntVar(&f.conflictStatus, "conflict-status", http.StatusPreconditionFailed, "`status` of a failed precondition: 409 or 412")
	fs.BoolVar(&f.requireIfMatch, "require-if-match", false, "answer 428 to unconditional writes of existing documents")
	fs.BoolVar(&f.weakETags, "weak-etags", false, `send weak ETags (W/"n"), which never satisfy If-Match`)
	fs.BoolVar(&f.weakIfMatch, "weak-if-match", false, "send weak ETags and accept them, echoed byte for byte, in If-Match")
	fs.BoolVar(&f.conflictRepresentation, "conflict-representation", false, "answer conflicts with the current document and its ETag")
	fs.BoolVar(&f.withoutETags, "without-etags", false, "send no ETag headers")
	fs.DurationVar(&f.faults.Latency, "latency", 0, "fixed `delay` of every request")
	fs.DurationVar(&f.faults.Jitter, "jitter", 0, "random extra `delay` up to this")
	fs.Float64Var(&f.faults.Rate503, "rate-503", 0, "`fraction` of requests answered 503")
	fs.Float64Var(&f.faults.Rate429, "rate-429", 0, "`fraction` of requests answered 429")
	fs.Float64Var(&f.faults.RateReset, "rate-reset", 0, "`fraction` of connections reset before the request is read")
	fs.Float64Var(&f.faults.RateTruncate, "rate-truncate", 0, "`fraction` of answers cut in half")
	fs.Float64Var(&f.faults.RateLost, "rate-lost", 0, "`fraction` of requests applied, then answered by a reset")
	fs.StringVar(&f.faults.RetryAfter, "retry-after", "0", "Retry-After of 503 and 429 answers")
	fs.StringVar(&f.faultMethods, "fault-methods", "", "comma-separated `methods` faults apply to (default all)")
	fs.StringVar(&f.faultPaths, "fault-paths", "", "comma-separated path `prefixes` faults apply to (default all)")
	fs.StringVar(&f.failNext, "fail-next", "", "faults for the first requests in the fault scope, in order: a `list` of FAULT or FAULT:N\n(503, 429, reset, truncate, lost-response, none), e.g. 503:2,reset")
	fs.Int64Var(&f.seedRandom, "seed-random", 0, "`seed` of the fault random source")
	fs.StringVar(&f.jobsPath, "jobs-path", "/jobs", "`path` of the asynchronous jobs collection")
	fs.IntVar(&f.jobPolls, "job-polls", 2, "status requests a job answers running")
	fs.StringVar(&f.jobRetryAfter, "job-retry-after", "0", "Retry-After of job answers")
	fs.DurationVar(&f.jobDuration, "job-duration", 0, "make jobs run for this `duration` instead of a number of polls")
	fs.BoolVar(&f.absoluteJobURLs, "absolute-job-urls", false, "send absolute job URLs")
	fs.StringVar(&f.versionField, "version-field", "", "JSON `pointer` of a version member in documents (/_rev)")
	fs.StringVar(&f.versionQuery, "version-query", "", "query `parameter` writes must carry the current version in (rev)")
	fs.BoolVar(&f.couchDBResponses, "couchdb-responses", false, `answer writes {"ok":true,"id":...,"rev":...}`)
	fs.StringVar(&f.controlPath, "control-path", "/_mock", "`path` of the control API (requests, count, reset, fail-next); empty disables it")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err // the usage is printed; not a failure
		}
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	if err := f.validate(fs.Args()); err != nil {
		fmt.Fprintln(stderr, err)
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	return &f, nil
}

// validate checks what the flag package cannot.
func (f *flags) validate(rest []string) error {
	switch {
	case len(rest) > 0:
		return fmt.Errorf("unexpected arguments %q", rest)
	case f.conflictStatus != http.StatusConflict && f.conflictStatus != http.StatusPreconditionFailed:
		return fmt.Errorf("-conflict-status must be 409 or 412, not %d", f.conflictStatus)
	case f.versionField != "" && !strings.HasPrefix(f.versionField, "/"):
		return fmt.Errorf("-version-field must be a JSON pointer such as /_rev, not %q", f.versionField)
	case f.controlPath != "" && (!strings.HasPrefix(f.controlPath, "/") || f.controlPath == "/"):
		return fmt.Errorf("-control-path must be a path such as /_mock, not %q", f.controlPath)
	}
	queued, err := parseQueue(f.failNext)
	if err != nil {
		return err
	}
	f.queued = queued
	return f.validateRanges()
}

// validateRanges checks that rates are numbers in [0, 1] (NaN is none)
// and that durations and counts are not negative.
func (f *flags) validateRanges() error {
	for _, r := range []struct {
		name string
		v    float64
	}{
		{"-rate-503", f.faults.Rate503}, {"-rate-429", f.faults.Rate429}, {"-rate-reset", f.faults.RateReset},
		{"-rate-truncate", f.faults.RateTruncate}, {"-rate-lost", f.faults.RateLost},
	} {
		if !(r.v >= 0 && r.v <= 1) {
			return fmt.Errorf("%s must be a fraction between 0 and 1, not %v", r.name, r.v)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"-latency", f.faults.Latency}, {"-jitter", f.faults.Jitter}, {"-job-duration", f.jobDuration},
	} {
		if d.v < 0 {
			return fmt.Errorf("%s must not be negative, not %s", d.name, d.v)
		}
	}
	if f.jobPolls < 0 {
		return fmt.Errorf("-job-polls must not be negative, not %d", f.jobPolls)
	}
	return nil
}

// options maps the flags to options of package mock.
func (f *flags) options() []mock.Option {
	faults := f.faults
	faults.Methods, faults.Paths = split(f.faultMethods), split(f.faultPaths)
	opts := []mock.Option{
		mock.WithConflictStatus(f.conflictStatus),
		mock.WithFaults(faults),
		mock.WithRandomSeed(f.seedRandom),
		mock.WithJobsPath(f.jobsPath),
		mock.WithJobPolls(f.jobPolls),
		mock.WithJobRetryAfter(f.jobRetryAfter),
		mock.WithJobDuration(f.jobDuration),
		mock.WithVersionField(f.versionField),
		mock.WithVersionQuery(f.versionQuery),
	}
	for _, o := range []struct {
		on  bool
		opt func() mock.Option
	}{
		{f.requireIfMatch, mock.WithRequireIfMatch},
		{f.weakETags, mock.WithWeakETags},
		{f.weakIfMatch, mock.WithWeakIfMatch},
		{f.conflictRepresentation, mock.WithConflictRepresentation},
		{f.withoutETags, mock.WithoutETags},
		{f.absoluteJobURLs, mock.WithAbsoluteJobURLs},
		{f.couchDBResponses, mock.WithCouchDBResponses},
	} {
		if o.on {
			opts = append(opts, o.opt())
		}
	}
	return opts
}

// queuedFault is an item of -fail-next.
type queuedFault struct {
	fault mock.Fault
	n     int
}

// parseQueue parses the -fail-next list: FAULT or FAULT:N items.
func parseQueue(s string) ([]queuedFault, error) {
	var out []queuedFault
	for _, item := range split(s) {
		name, count, hasCount := strings.Cut(item, ":")
		q := queuedFault{n: 1}
		var err error
		if q.fault, err = mock.ParseFault(name); err != nil {
			return nil, fmt.Errorf("-fail-next: %w", err)
		}
		if hasCount {
			if q.n, err = strconv.Atoi(count); err != nil || q.n < 0 {
				return nil, fmt.Errorf("-fail-next: %q is not FAULT:N with N a number of requests", item)
			}
		}
		out = append(out, q)
	}
	return out, nil
}

// split splits a comma-separated list, dropping empty items.
func split(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
