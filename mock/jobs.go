package mock

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// job is one asynchronous job.
type job struct {
	id         string
	polls      int // status requests answered "running" before the end
	polled     int // status requests answered "running" so far
	fail       bool
	detail     string
	result     []byte
	retryAfter string
	created    time.Time
	stored     bool   // the result document has been stored
	storeErr   string // why storing it failed

	callbackURL string // where its callbacks go; see callbacks.go
	finished    bool   // ended by CompleteJob or a callback fault
	notified    bool   // its terminal callback has been made
}

// jobSpec is the optional body of a POST to the jobs path.
type jobSpec struct {
	Polls      *int            `json:"polls"`
	Fail       bool            `json:"fail"`
	Detail     string          `json:"detail"`
	Result     json.RawMessage `json:"result"`
	RetryAfter json.RawMessage `json:"retryAfter"`
	Callback   string          `json:"callbackUrl"`
}

// jobStatus is the body of a job's status answer.
type jobStatus struct {
	ID               string   `json:"id"`
	Status           string   `json:"status"`
	PercentComplete  int      `json:"percentComplete"`
	ResourceLocation string   `json:"resourceLocation,omitempty"`
	Error            *Problem `json:"error,omitempty"`
}

// handleJobs answers a request to the jobs path or below it.
func (b *Backend) handleJobs(r *http.Request, body []byte) *response {
	if r.URL.Path == b.cfg.jobsPath {
		if r.Method != http.MethodPost {
			return methodNotAllowed("POST")
		}
		return b.createJob(r, body)
	}
	if r.Method != http.MethodGet {
		return methodNotAllowed("GET")
	}
	j := b.jobs[strings.TrimPrefix(r.URL.Path, b.cfg.jobsPath+"/")]
	if j == nil {
		return notFound(r.URL.Path)
	}
	return b.pollJob(r, j)
}

func (b *Backend) createJob(r *http.Request, body []byte) *response {
	b.nextJob++
	j := &job{
		id:         strconv.FormatUint(b.nextJob, 10),
		polls:      b.cfg.jobPolls,
		retryAfter: b.cfg.jobRetryAfter,
		detail:     "the job failed",
		created:    b.cfg.clock(),
	}
	j.result = []byte(`{"id":"` + j.id + `","status":"done"}`)
	if len(bytes.TrimSpace(body)) > 0 {
		var spec jobSpec
		if err := json.Unmarshal(body, &spec); err != nil {
			return badRequest("the job is not a JSON object: " + err.Error())
		}
		if spec.Callback != "" && !validCallbackURL(spec.Callback) {
			return badRequest("callbackUrl is not an absolute http or https URL")
		}
		spec.apply(j)
	}
	b.jobs[j.id] = j
	b.startJobCallbacks(j)
	res := jsonResponse(http.StatusAccepted, "application/json",
		jobStatus{ID: j.id, Status: "running"})
	loc := b.jobURL(r, b.cfg.jobsPath+"/"+j.id)
	res.header.Set("Location", loc)
	res.header.Set("Operation-Location", loc)
	res.header.Set("Retry-After", j.retryAfter)
	return res
}

// apply sets the fields of j that s gives.
func (s *jobSpec) apply(j *job) {
	if s.Polls != nil {
		j.polls = max(*s.Polls, 0)
	}
	j.fail = s.Fail
	j.callbackURL = s.Callback
	if s.Detail != "" {
		j.detail = s.Detail
	}
	if len(s.Result) > 0 {
		j.result = s.Result
	}
	var after string
	if json.Unmarshal(s.RetryAfter, &after) == nil {
		j.retryAfter = after
	} else if n := json.Number(""); json.Unmarshal(s.RetryAfter, &n) == nil {
		j.retryAfter = n.String()
	}
}

// pollJob answers a status request for j.
func (b *Backend) pollJob(r *http.Request, j *job) *response {
	if pct, running := b.progress(j); running {
		j.polled++
		res := jsonResponse(http.StatusOK, "application/json",
			jobStatus{ID: j.id, Status: "running", PercentComplete: pct})
		res.header.Set("Retry-After", j.retryAfter)
		return res
	}
	if d, ok := b.terminalDelivery(j); ok {
		b.dispatch(d, true) // not while the status answer waits
	}
	if !j.fail && !j.stored {
		j.stored = true
		if _, err := b.store.write(b.resultPath(j), j.result, b.cfg.clock()); err != nil {
			j.storeErr = "storing the result: " + err.Error()
		}
	}
	st := jobStatus{ID: j.id, Status: "succeeded", PercentComplete: 100}
	if j.fail || j.storeErr != "" {
		detail := j.detail
		if !j.fail {
			detail = j.storeErr
		}
		st.Status = "failed"
		st.Error = &Problem{Type: ProblemJobFailed, Title: "job failed",
			Status: http.StatusInternalServerError, Detail: detail}
	} else {
		st.ResourceLocation = b.jobURL(r, b.resultPath(j))
	}
	return jsonResponse(http.StatusOK, "application/json", st)
}

// progress tells whether j is still running, and how far along it is then.
func (b *Backend) progress(j *job) (percent int, running bool) {
	if j.finished {
		return 100, false
	}
	if d := b.cfg.jobDuration; d > 0 {
		elapsed := b.cfg.clock().Sub(j.created)
		return min(max(int(elapsed*100/d), 0), 99), elapsed < d
	}
	return (j.polled + 1) * 100 / (j.polls + 1), j.polled < j.polls
}

// resultPath is where the result of j is stored: in the "results"
// collection beside the jobs path.
func (b *Backend) resultPath(j *job) string {
	return path.Join(path.Dir(b.cfg.jobsPath), "results", j.id)
}

// jobURL gives the path p as the configured form of job URLs.
func (b *Backend) jobURL(r *http.Request, p string) string {
	if !b.cfg.absoluteJobURLs {
		return p
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + p
}
