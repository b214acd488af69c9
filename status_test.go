package optimist_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
)

// step is one canned answer of a script server.
type step struct {
	status int
	header map[string]string
	body   string
}

// script is a server that answers every request but a GET with accepted,
// a GET of /ops/status with its steps in turn (the last one again when
// they run out), and any other GET with {"at": path}. It logs the
// requests.
type script struct {
	*httptest.Server
	mu       sync.Mutex
	accepted step
	steps    []step
	log      []*http.Request
}

func newScript(t *testing.T, accepted step, steps ...step) *script {
	t.Helper()
	s := &script{accepted: accepted, steps: steps}
	s.Server = newFuncServer(t, s.serve)
	return s
}

func (s *script) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.log = append(s.log, r.Clone(context.Background()))
	st := step{status: http.StatusOK, body: `{"at":"` + r.URL.Path + `"}`}
	switch {
	case r.Method != http.MethodGet:
		st = s.accepted
	case r.URL.Path == "/ops/status" && len(s.steps) > 0:
		st = s.steps[0]
		if len(s.steps) > 1 {
			s.steps = s.steps[1:]
		}
	}
	s.mu.Unlock()
	for k, v := range st.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(st.status)
	_, _ = io.WriteString(w, st.body)
}

// lines gives the script's log as "METHOD path" lines.
func (s *script) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var lines []string
	for _, r := range s.log {
		lines = append(lines, r.Method+" "+r.URL.Path)
	}
	return lines
}

// header gives the header of the i-th request.
func (s *script) header(i int) http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log[i].Header
}

// accepted is a 202 whose status URL is the script's /ops/status.
func accepted(header ...string) step {
	h := map[string]string{"Operation-Location": "/ops/status"}
	for i := 0; i+1 < len(header); i += 2 {
		h[header[i]] = header[i+1]
	}
	return step{status: http.StatusAccepted, header: h}
}

// running and succeeded are status documents; header pairs are added.
func running(header ...string) step {
	st := accepted(header...)
	delete(st.header, "Operation-Location")
	st.status, st.body = http.StatusOK, `{"status":"Running"}`
	return st
}

var succeeded = step{status: http.StatusOK, body: `{"status":"Succeeded","resourceLocation":"/ops/result"}`}

func TestDefaultStatusDecoder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		status              int
		location, body      string
		state               string
		done, failed        bool
		resultURL, errorDoc string
	}{
		{name: "running", status: 200, body: `{"status":"Running"}`, state: "Running"},
		{name: "unknown state runs", status: 200, body: `{"status":"queued"}`, state: "queued"},
		{name: "succeeded", status: 200, body: `{"status":"Succeeded","resourceLocation":"/r/1"}`,
			state: "Succeeded", done: true, resultURL: "/r/1"},
		{name: "completed", status: 200, body: `{"status":"COMPLETED"}`, state: "COMPLETED", done: true},
		{name: "done", status: 200, body: `{"status":"done"}`, state: "done", done: true},
		{name: "state member", status: 200, body: `{"state":"done"}`, state: "done", done: true},
		{name: "status before state", status: 200, body: `{"state":"failed","status":"running"}`, state: "running"},
		{name: "member name in any case", status: 200, body: `{"STATUS":"Failed"}`, state: "Failed", done: true,
			failed: true, errorDoc: `{"STATUS":"Failed"}`},
		{name: "failed with error", status: 200, body: `{"status":"failed","error":{"code":"E","message":"m"}}`,
			state: "failed", done: true, failed: true, errorDoc: `{"code":"E","message":"m"}`},
		{name: "canceled", status: 200, body: `{"status":"Canceled","error":null}`, state: "Canceled",
			done: true, failed: true, errorDoc: `{"status":"Canceled","error":null}`},
		{name: "cancelled", status: 200, body: `{"status":"cancelled"}`, state: "cancelled", done: true, failed: true,
			errorDoc: `{"status":"cancelled"}`},
		{name: "numeric status is no state", status: 200, body: `{"status":500,"title":"x"}`, done: true},
		{name: "result without status", status: 200, body: `{"id":7}`, done: true},
		{name: "not JSON", status: 200, body: `<html>`, done: true},
		{name: "no content", status: 204, done: true},
		{name: "202 runs", status: 202, body: `{"id":7}`},
		{name: "201 with Location", status: 201, location: "/r/2", done: true, resultURL: "/r/2"},
		{name: "201 status document", status: 201, location: "/r/2", body: `{"status":"succeeded"}`,
			state: "succeeded", done: true, resultURL: "/r/2"},
		{name: "201 still running", status: 201, location: "/r/2", body: `{"status":"running"}`, state: "running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := &optimist.Response{StatusCode: tt.status, Header: http.Header{}, Body: []byte(tt.body)}
			if tt.location != "" {
				resp.Header.Set("Location", tt.location)
			}
			st, err := optimist.DefaultStatusDecoder(resp)
			require.NoError(t, err)
			require.Equal(t, tt.state, st.State)
			require.Equal(t, tt.done, st.Done, "done")
			require.Equal(t, tt.failed, st.Failed, "failed")
			require.Equal(t, tt.resultURL, st.ResultURL)
			if tt.errorDoc == "" {
				require.Empty(t, st.Error)
			} else {
				require.JSONEq(t, tt.errorDoc, string(st.Error))
			}
		})
	}
}

func TestStatusConventions(t *testing.T) {
	t.Parallel()
	statusAndResult := []string{"POST /ops/start", "GET /ops/status", "GET /ops/result"}
	tests := []struct {
		name     string
		method   string
		accepted step
		steps    []step
		opts     []optimist.Option
		want     []string // requests after the first
		body     string
	}{
		{name: "303 See Other", accepted: accepted(),
			steps: []step{{status: 303, header: map[string]string{"Location": "/ops/result"}}},
			want:  statusAndResult, body: `{"at":"/ops/result"}`},
		{name: "201 Created", accepted: accepted(),
			steps: []step{{status: 201, header: map[string]string{"Location": "/ops/result"}}},
			want:  statusAndResult, body: `{"at":"/ops/result"}`},
		{name: "200 is the result", accepted: accepted(),
			steps: []step{{status: 202}, {status: 200, body: `{"id":1}`}},
			want:  []string{"POST /ops/start", "GET /ops/status", "GET /ops/status"}, body: `{"id":1}`},
		{name: "status document is the result", accepted: accepted("Location", "/ops/status"),
			steps: []step{{status: 200, body: `{"state":"Completed"}`}},
			want:  []string{"POST /ops/start", "GET /ops/status"}, body: `{"state":"Completed"}`},
		{name: "POST result at the 202's Location", accepted: accepted("Location", "/ops/made"),
			steps: []step{{status: 200, body: `{"status":"done"}`}},
			want:  []string{"POST /ops/start", "GET /ops/status", "GET /ops/made"}, body: `{"at":"/ops/made"}`},
		{name: "PUT result at the request URL", method: http.MethodPut, accepted: accepted(),
			steps: []step{{status: 200, body: `{"status":"done"}`}},
			want:  []string{"PUT /ops/start", "GET /ops/status", "GET /ops/start"}, body: `{"at":"/ops/start"}`},
		{name: "DELETE waits too", method: http.MethodDelete, accepted: accepted(),
			steps: []step{running(), {status: 204}},
			want:  []string{"DELETE /ops/start", "GET /ops/status", "GET /ops/status"}},
		{name: "Azure-AsyncOperation before Location",
			accepted: accepted("Operation-Location", "", "Azure-AsyncOperation", "/ops/status", "Location", "/ops/x"),
			steps:    []step{succeeded}, want: statusAndResult, body: `{"at":"/ops/result"}`},
		// A Location or Content-Location is where the result will be, not
		// a status monitor: its 2xx answer is the result, state and all.
		{name: "Content-Location", accepted: step{status: 202, header: map[string]string{"Content-Location": "/ops/status"}},
			steps: []step{succeeded}, want: []string{"POST /ops/start", "GET /ops/status"}, body: succeeded.body},
		{name: "Link header", accepted: step{status: 202, header: map[string]string{
			"Link": `</a,b>; rel="next", </ops/status>; title="x;y"; rel="self Monitor"`}},
			opts:  []optimist.Option{optimist.WithPolling(optimist.PollOptions{StatusURL: optimist.LinkStatusURL("monitor")})},
			steps: []step{succeeded}, want: statusAndResult, body: `{"at":"/ops/result"}`},
		{name: "body member", accepted: step{status: 202, body: `{"statusUrl":"/ops/status"}`},
			opts:  []optimist.Option{optimist.WithPolling(optimist.PollOptions{StatusURL: optimist.BodyStatusURL("statusUrl")})},
			steps: []step{succeeded}, want: statusAndResult, body: `{"at":"/ops/result"}`},
		{name: "custom decoder", accepted: accepted(),
			steps: []step{{status: 200, body: `{"phase":"Pending"}`}, {status: 200, body: `{"phase":"Ready"}`}},
			opts: []optimist.Option{optimist.WithPolling(optimist.PollOptions{Decoder: func(resp *optimist.Response) (optimist.OperationStatus, error) {
				var doc struct{ Phase string }
				err := json.Unmarshal(resp.Body, &doc)
				return optimist.OperationStatus{State: doc.Phase, Done: doc.Phase == "Ready", ResultURL: "result"}, err
			}})},
			want: []string{"POST /ops/start", "GET /ops/status", "GET /ops/status", "GET /ops/result"},
			body: `{"at":"/ops/result"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newScript(t, tt.accepted, tt.steps...)
			c := optimist.New(append(tt.opts, newFakeClock().option())...)
			req, err := http.NewRequestWithContext(optimist.NewContext(t.Context(), optimist.FollowOperation(true), optimist.Unconditional()),
				cmpOr(tt.method, http.MethodPost), s.URL+"/ops/start", nil)
			require.NoError(t, err)
			resp, err := c.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, tt.body, string(body))
			require.Equal(t, tt.want, s.lines())
		})
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func TestStatusURLMustBeHTTP(t *testing.T) {
	t.Parallel()
	for _, loc := range []string{"ftp://example.com/op", "file:///etc/passwd", "javascript:alert(1)", "http:///op"} {
		t.Run(loc, func(t *testing.T) {
			t.Parallel()
			s := newScript(t, accepted("Operation-Location", loc))
			resp, err := optimist.New().Post(t.Context(), s.URL+"/ops/start", nil, nil)
			require.ErrorContains(t, err, "must be an http or https URL")
			require.Equal(t, http.StatusAccepted, resp.StatusCode)
			require.Equal(t, []string{"POST /ops/start"}, s.lines())
		})
	}
}

func TestOperationErrorBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, message string
	}{
		{"code and message", `{"status":"Failed","error":{"code":"QuotaExceeded","message":"no room"}}`,
			": QuotaExceeded: no room"},
		{"message only", `{"status":"Failed","error":{"message":"no room"}}`, ": no room"},
		{"cancelled, no error", `{"status":"Cancelled"}`, ""},
		{"error not an object", `{"status":"Failed","error":"boom"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newScript(t, accepted(), step{status: 200, body: tt.body})
			_, err := optimist.New(newFakeClock().option()).Post(t.Context(), s.URL+"/ops/start", nil, nil)
			var opErr *optimist.OperationError
			require.ErrorAs(t, err, &opErr)
			require.True(t, errors.Is(err, optimist.ErrOperationFailed))
			state := strings.ToLower(opErr.State)
			require.Equal(t, "optimist: operation "+s.URL+"/ops/status "+state+tt.message, err.Error())
			require.Nil(t, opErr.Problem)
		})
	}
}

// FuzzStatusDocument: the default decoder never panics, and it classifies
// by the state alone, the same way whatever its case or whatever else the
// document holds.
func FuzzStatusDocument(f *testing.F) {
	for _, body := range []string{
		`{"status":"Running","percentComplete":12.5}`, `{"status":"succeeded","resourceLocation":"/r/1"}`,
		`{"state":"FAILED","error":{"code":"E"}}`, `{"Status":"done","status":"Cancelled"}`,
		`{"status":7}`, `{"status":"ſucceeded"}`, `[]`, `null`, `{"id":1}`, `{"percentComplete":1e400}`, ``,
	} {
		f.Add(200, "", []byte(body))
	}
	f.Add(201, "/r/2", []byte(`{"status":"running"}`))
	f.Add(202, "", []byte(`{"status":"done"}`))
	f.Fuzz(func(t *testing.T, code int, location string, body []byte) {
		resp := &optimist.Response{StatusCode: code, Header: http.Header{"Location": {location}}, Body: body}
		st, err := optimist.DefaultStatusDecoder(resp)
		require.NoError(t, err)
		again, _ := optimist.DefaultStatusDecoder(resp)
		require.Equal(t, st, again, "deterministic")
		if st.Failed {
			require.True(t, st.Done, "failed implies done")
			require.NotEmpty(t, st.Error)
		}
		if !st.Done || st.Failed {
			require.Empty(t, st.ResultURL)
		}
		if st.PercentComplete != nil {
			require.False(t, *st.PercentComplete != *st.PercentComplete, "NaN")
		}
		if st.State == "" {
			return
		}
		// The same state alone, its ASCII letters in upper case, is
		// classified the same.
		upper := strings.Map(func(r rune) rune {
			if 'a' <= r && r <= 'z' {
				return r - 'a' + 'A'
			}
			return r
		}, st.State)
		doc, err := json.Marshal(map[string]string{"status": upper})
		require.NoError(t, err)
		alone, _ := optimist.DefaultStatusDecoder(&optimist.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: doc})
		require.Equal(t, st.Done, alone.Done, "done for %q", st.State)
		require.Equal(t, st.Failed, alone.Failed, "failed for %q", st.State)
	})
}
