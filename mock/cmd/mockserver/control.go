package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/optimist-go/optimist/mock"
)

// control serves the control API under prefix, for tests that drive the
// command from outside: the request log, the counters, queued faults and a
// reset. Everything else goes to the backend. Control requests bypass
// faults and are neither logged nor counted.
type control struct {
	prefix string // "/_mock"; empty: no control API
	b      *mock.Backend
	reset  func() error // resets the backend and seeds it again
}

// logEntry is a request log entry as the control API sends it.
type logEntry struct {
	Time     string      `json:"time"`
	Duration string      `json:"duration"`
	Method   string      `json:"method"`
	Path     string      `json:"path"`
	Status   int         `json:"status"`
	Fault    string      `json:"fault"`
	Replayed bool        `json:"replayed"`
	Header   http.Header `json:"header"`
}

func (c *control) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, c.prefix+"/")
	if c.prefix == "" || !ok {
		c.b.ServeHTTP(w, r)
		return
	}
	want := map[string]string{"requests": http.MethodGet, "count": http.MethodGet,
		"reset": http.MethodPost, "fail-next": http.MethodPost}[name]
	switch {
	case want == "":
		answer(w, http.StatusNotFound, "no such control endpoint: "+r.URL.Path)
	case r.Method != want:
		w.Header().Set("Allow", want)
		answer(w, http.StatusMethodNotAllowed, "use "+want)
	case name == "requests":
		c.requests(w)
	case name == "count":
		c.count(w, r)
	case name == "reset":
		if err := c.reset(); err != nil {
			answer(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case name == "fail-next":
		c.failNext(w, r)
	}
}

// requests sends the request log, oldest first.
func (c *control) requests(w http.ResponseWriter) {
	log := c.b.Requests()
	out := make([]logEntry, len(log))
	for i, e := range log {
		out[i] = logEntry{Time: e.Time.UTC().Format("2006-01-02T15:04:05.000000Z"), Duration: e.Duration.String(),
			Method: e.Method, Path: e.Path, Status: e.Status, Fault: e.Fault.String(),
			Replayed: e.Replayed, Header: e.Header}
	}
	writeJSON(w, http.StatusOK, out)
}

// count sends {"count":n} for the query's method and status (both
// optional; see mock.Backend.Count).
func (c *control) count(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status := 0
	if s := q.Get("status"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			answer(w, http.StatusBadRequest, "status must be a number")
			return
		}
		status = n
	}
	writeJSON(w, http.StatusOK, map[string]int{"count": c.b.Count(strings.ToUpper(q.Get("method")), status)})
}

// failNext queues the query's fault for its next n requests (default 1).
func (c *control) failNext(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := mock.ParseFault(q.Get("fault"))
	if err != nil {
		answer(w, http.StatusBadRequest, err.Error())
		return
	}
	n := 1
	if s := q.Get("n"); s != "" {
		if n, err = strconv.Atoi(s); err != nil || n < 0 {
			answer(w, http.StatusBadRequest, "n must be a number of requests")
			return
		}
	}
	c.b.FailNext(n, f)
	w.WriteHeader(http.StatusNoContent)
}

// answer sends a problem details body with status and detail.
func answer(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	writeJSON(w, status, mock.Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v) // plain data only
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
