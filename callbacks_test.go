package optimist_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
	"github.com/optimist-go/optimist/webhook"
)

// hooks is a Callbacks handler on its own loopback server, verifying the
// Standard Webhooks secret swSecret, on a clock that may be moved ahead,
// with a bus that records what it publishes.
type hooks struct {
	cb     *optimist.Callbacks
	bus    *recordingBus
	url    string
	offset atomic.Int64 // added to time.Now, in nanoseconds
}

func newHooks(t *testing.T) *hooks {
	t.Helper()
	h := &hooks{bus: &recordingBus{subs: map[string][]func(optimist.CallbackDelivery){}}}
	v, err := webhook.Standard(swSecret)
	require.NoError(t, err)
	ts := httptest.NewUnstartedServer(nil)
	h.url = "http://" + ts.Listener.Addr().String() + "/hooks"
	h.cb = optimist.NewCallbacks(optimist.CallbackOptions{URL: h.url, Verify: v, Bus: h.bus, Now: h.now})
	ts.Config.Handler = h.cb
	ts.Start()
	t.Cleanup(ts.Close)
	return h
}

func (h *hooks) now() time.Time { return time.Now().Add(time.Duration(h.offset.Load())) }

// recordingBus is an in-process DeliveryBus that keeps what it publishes.
type recordingBus struct {
	mu        sync.Mutex
	subs      map[string][]func(optimist.CallbackDelivery)
	published []optimist.CallbackDelivery
}

func (b *recordingBus) Publish(_ context.Context, d optimist.CallbackDelivery) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.published = append(b.published, d)
	for _, deliver := range b.subs[d.Operation] {
		deliver(d)
	}
	return nil
}

func (b *recordingBus) Subscribe(op string, deliver func(optimist.CallbackDelivery)) func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[op] = append(b.subs[op], deliver)
	n := len(b.subs[op]) - 1
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.subs[op][n] = func(optimist.CallbackDelivery) {}
	}
}

func (b *recordingBus) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.published)
}

// blockingClock's sleep ends only when its context ends or release is
// called; it sends each wait on sleeping as it begins.
type blockingClock struct {
	sleeping chan time.Duration
	wake     chan struct{}
}

func newBlockingClock() *blockingClock {
	return &blockingClock{sleeping: make(chan time.Duration, 100), wake: make(chan struct{})}
}

func (c *blockingClock) option() optimist.Option { return optimist.WithClock(time.Now, c.Sleep) }

func (c *blockingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.sleeping <- d
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.wake:
		return nil
	}
}

func (c *blockingClock) release() { c.wake <- struct{}{} }

type outcome struct {
	resp *optimist.Response
	err  error
	out  map[string]int
}

// postCallbackJob posts a job with a callback in the body from another goroutine.
func postCallbackJob(t *testing.T, c *optimist.Client, s *mock.Server, h *hooks, opts ...optimist.RequestOption) <-chan outcome {
	done := make(chan outcome, 1)
	opts = append(opts, h.cb.Attach(optimist.CallbackPlacement{Body: "callbackUrl"}))
	go func() {
		var o outcome
		o.resp, o.err = c.Post(t.Context(), s.URL+"/jobs", answer, &o.out, opts...)
		done <- o
	}()
	return done
}

var oneStatusGET = []string{"POST /jobs", "GET /jobs/1", "GET /results/1"}

func statuses(s *mock.Server) []int {
	var st []int
	for _, a := range s.CallbackLog() {
		st = append(st, a.Status)
	}
	return st
}

func TestCallbackEndsWait(t *testing.T) {
	t.Parallel()
	s := newServer(t, mock.WithJobPolls(100), mock.WithCallbacks(swSecret))
	h := newHooks(t)
	clk := newBlockingClock()
	done := postCallbackJob(t, newClient(s, clk.option()), s, h)
	require.Equal(t, defaultCallbackSlowdown*defaultMinPollInterval, <-clk.sleeping,
		"polling slows while a callback is expected")
	require.NoError(t, s.CompleteJob("1"))
	o := <-done
	require.NoError(t, o.err)
	require.Equal(t, map[string]int{"answer": 42}, o.out)
	require.Equal(t, oneStatusGET, requestLines(s), "the callback costs one status GET")
	require.Equal(t, []int{http.StatusNoContent}, statuses(s))
	require.Equal(t, 1, h.bus.count(), "the body's callbackUrl reached the handler")
	require.Len(t, h.bus.published[0].Operation, 26, "an unguessable id")
}

func TestCallbackDroppedPollingFinishes(t *testing.T) {
	t.Parallel()
	s := newServer(t, mock.WithJobPolls(2), mock.WithCallbacks(swSecret, mock.CallbackDropped))
	h := newHooks(t)
	clk := newFakeClock()
	done := postCallbackJob(t, newClient(s, clk.option()), s, h)
	o := <-done
	require.NoError(t, o.err)
	require.Equal(t, 42, o.out["answer"])
	require.Equal(t, jobLines(2), requestLines(s))
	require.Equal(t, repeat(4*defaultMinPollInterval, 3), clk.Waits())
	log := s.CallbackLog()
	require.Len(t, log, 1)
	require.Equal(t, mock.CallbackDropped, log[0].Fault)
	require.Zero(t, h.bus.count())
}

func TestCallbackDuplicatedCompletesOnce(t *testing.T) {
	t.Parallel()
	s := newServer(t, mock.WithJobPolls(100), mock.WithCallbacks(swSecret, mock.CallbackDuplicated))
	h := newHooks(t)
	clk := newBlockingClock()
	done := postCallbackJob(t, newClient(s, clk.option()), s, h)
	<-clk.sleeping
	require.NoError(t, s.CompleteJob("1"))
	o := <-done
	require.NoError(t, o.err)
	require.Equal(t, oneStatusGET, requestLines(s))
	require.Equal(t, []int{http.StatusNoContent, http.StatusNoContent}, statuses(s), "a duplicate is acknowledged")
	require.Equal(t, 1, h.bus.count(), "and not handed on")
}

func TestCallbackRejected(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fault  mock.CallbackFault
		offset time.Duration
		status int
	}{
		{"bad signature", mock.CallbackBadSignature, 0, http.StatusUnauthorized},
		{"expired timestamp", "", 10 * time.Minute, http.StatusBadRequest},
		{"timestamp from the future", "", -10 * time.Minute, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var faults []mock.CallbackFault
			if tt.fault != "" {
				faults = append(faults, tt.fault)
			}
			s := newServer(t, mock.WithJobPolls(100), mock.WithCallbacks(swSecret, faults...))
			h := newHooks(t)
			h.offset.Store(int64(tt.offset))
			clk := newBlockingClock()
			done := postCallbackJob(t, newClient(s, clk.option()), s, h)
			<-clk.sleeping
			require.NoError(t, s.CompleteJob("1"))
			require.Equal(t, []int{tt.status}, statuses(s))
			require.Zero(t, h.bus.count(), "nothing handed on")
			clk.release() // the wait runs out; the poll finds the job done
			o := <-done
			require.NoError(t, o.err)
			require.Equal(t, oneStatusGET, requestLines(s))
		})
	}
}

func TestCallbackReplayed(t *testing.T) {
	t.Parallel()
	s := newServer(t, mock.WithJobPolls(100), mock.WithCallbacks(swSecret))
	h := newHooks(t)
	clk := newBlockingClock()
	c := newClient(s, clk.option())
	done := postCallbackJob(t, c, s, h)
	<-clk.sleeping
	require.NoError(t, s.CompleteJob("1"))
	require.NoError(t, (<-done).err)

	// A second operation waits while the first one's delivery is replayed.
	second := postCallbackJob(t, c, s, h)
	<-clk.sleeping
	status, err := s.ReplayCallback(0)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, status, "within the tolerance: a duplicate, acknowledged")
	h.offset.Store(int64(time.Hour))
	status, err = s.ReplayCallback(0)
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, status, "later: too old")
	require.Equal(t, 1, h.bus.count(), "no extra completion")
	h.offset.Store(0)
	require.NoError(t, s.CompleteJob("2"))
	o := <-second
	require.NoError(t, o.err)
	require.Equal(t, []string{"POST /jobs", "GET /jobs/2", "GET /results/2"}, requestLines(s)[3:])
	require.Equal(t, 2, h.bus.count())
}

func TestCallbackBeforeAccepted(t *testing.T) {
	t.Parallel()
	s := newServer(t, mock.WithJobPolls(100), mock.WithCallbacks(swSecret, mock.CallbackEarly))
	h := newHooks(t)
	clk := newFakeClock()
	o := <-postCallbackJob(t, newClient(s, clk.option()), s, h)
	require.NoError(t, o.err)
	require.Equal(t, 42, o.out["answer"])
	require.Equal(t, oneStatusGET, requestLines(s))
	require.Empty(t, clk.Waits(), "the callback had come: no wait")
	require.Equal(t, 1, h.bus.count(), "completed once")
}

func TestCallbackProgress(t *testing.T) {
	t.Parallel()
	s := newServer(t, mock.WithJobPolls(100), mock.WithCallbacks(swSecret))
	h := newHooks(t)
	clk := newBlockingClock()
	events := make(chan optimist.OperationStatus, 10)
	done := postCallbackJob(t, newClient(s, clk.option()), s, h, optimist.OnProgress(func(ev optimist.OperationStatus) {
		events <- ev
	}))
	<-clk.sleeping
	require.NoError(t, s.SendJobProgress("1", 40))
	ev := <-events
	require.True(t, ev.Callback)
	require.Equal(t, "running", ev.State)
	require.InDelta(t, 40, *ev.PercentComplete, 0)
	require.Zero(t, ev.StatusCode)
	require.NoError(t, s.CompleteJob("1"))
	require.NoError(t, (<-done).err)
	require.Equal(t, "succeeded", (<-events).State, "the status GET's event")
	require.Equal(t, 1, s.Count(http.MethodGet, http.StatusOK)-1, "one status GET besides the result")
}

func TestCallbackResumeReattaches(t *testing.T) {
	t.Parallel()
	s := newServer(t, mock.WithJobPolls(100), mock.WithCallbacks(swSecret))
	h := newHooks(t)
	first := newClient(s)
	resp, err := first.Post(t.Context(), s.URL+"/jobs", answer, nil, optimist.FollowOperation(false),
		h.cb.Attach(optimist.CallbackPlacement{Body: "callbackUrl"}))
	require.NoError(t, err)
	op, err := first.Operation(resp)
	require.NoError(t, err)
	token := op.ResumeToken()

	clk := newBlockingClock()
	later := newClient(s, clk.option())
	resumed, err := later.ResumeOperation(token, h.cb.Attach(optimist.CallbackPlacement{}))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := resumed.Wait(t.Context())
		done <- err
	}()
	<-clk.sleeping // after the first poll, which does not wait
	require.NoError(t, s.CompleteJob("1"))
	require.NoError(t, <-done)
	require.Equal(t, []string{"POST /jobs", "GET /jobs/1", "GET /jobs/1", "GET /results/1"}, requestLines(s))
	require.Equal(t, 1, h.bus.count())
}

func TestCallbackPlacement(t *testing.T) {
	t.Parallel()
	h := newHooks(t)
	tests := []struct {
		name   string
		method string
		at     optimist.CallbackPlacement
		body   any
		check  func(t *testing.T, r *http.Request, url string)
	}{
		{"query", http.MethodPut, optimist.CallbackPlacement{Query: "notify"}, nil, func(t *testing.T, r *http.Request, url string) {
			require.Equal(t, "a=1&notify="+strings.ReplaceAll(url, ":", "%3A"), strings.ReplaceAll(r.URL.RawQuery, "%2F", "/"))
		}},
		{"header", http.MethodPost, optimist.CallbackPlacement{Header: "Callback-Url"}, map[string]int{"n": 1},
			func(t *testing.T, r *http.Request, url string) { require.Equal(t, url, r.Header.Get("Callback-Url")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newScript(t, accepted(), step{status: http.StatusOK, body: `{"status":"Succeeded"}`})
			c := optimist.New(newFakeClock().option())
			req, err := http.NewRequestWithContext(optimist.NewContext(t.Context(), optimist.FollowOperation(true),
				optimist.Unconditional(), h.cb.Attach(tt.at)), tt.method, s.URL+"/ops/start?a=1", nil)
			require.NoError(t, err)
			resp, err := c.Do(req)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			s.mu.Lock()
			first, rest := s.log[0], s.log[1:]
			s.mu.Unlock()
			url := first.Header.Get("Callback-Url")
			if url == "" {
				url = first.URL.Query().Get("notify")
			}
			require.True(t, strings.HasPrefix(url, h.url+"/"), url)
			tt.check(t, first, url)
			for _, r := range rest {
				require.Empty(t, r.Header.Get("Callback-Url"), r.URL)
				require.NotContains(t, r.URL.RawQuery, "notify", "status and result GETs carry no callback URL")
			}
			if tt.method == http.MethodPut {
				require.Equal(t, "/ops/start?a=1", rest[len(rest)-1].URL.RequestURI(), "the result is the PUT's URL")
			}
		})
	}
}

func TestCallbackAttachErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	c := newClient(s)
	h := newHooks(t)
	v, err := webhook.Standard(swSecret)
	require.NoError(t, err)
	body := optimist.CallbackPlacement{Body: "cb"}
	tests := []struct {
		name string
		body any
		opt  optimist.RequestOption
		want string
	}{
		{"no URL", nil, optimist.NewCallbacks(optimist.CallbackOptions{Verify: v}).Attach(body), "callbacks: no URL"},
		{"bad URL", nil, optimist.NewCallbacks(optimist.CallbackOptions{URL: "/relative", Verify: v}).Attach(body), "must be an http or https URL"},
		{"no Verify", nil, optimist.NewCallbacks(optimist.CallbackOptions{URL: h.url}).Attach(body), "callbacks: no Verify"},
		{"no name", nil, h.cb.Attach(optimist.CallbackPlacement{Header: ""}), "placement has no name"},
		{"two names", nil, h.cb.Attach(optimist.CallbackPlacement{Body: "cb", Header: "Callback-Url"}), "placement has no name, or more than one"},
		{"body not an object", []int{1}, h.cb.Attach(body), "not a JSON object"},
		{"member taken", map[string]string{"cb": "x"}, h.cb.Attach(body), `has a "cb" member already`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := c.Post(t.Context(), s.URL+"/jobs", tt.body, nil, tt.opt)
			require.ErrorContains(t, err, tt.want)
		})
	}
	require.Empty(t, s.Requests(), "nothing sent")
}

func TestCallbackSlowdown(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		name  string
		polls int
		opts  optimist.PollOptions
		want  []time.Duration
		err   error
	}{
		{"default ×4", 1, optimist.PollOptions{}, repeat(400*ms, 2), nil},
		{"×1", 1, optimist.PollOptions{CallbackSlowdown: 1}, repeat(100*ms, 2), nil},
		{"×2.5 of the minimum", 1, optimist.PollOptions{CallbackSlowdown: 2.5, MinInterval: time.Second},
			repeat(2500*ms, 2), nil},
		{"cut to MaxTime", 100, optimist.PollOptions{MaxTime: time.Second}, []time.Duration{400 * ms, 400 * ms, 200 * ms},
			context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, mock.WithJobPolls(tt.polls), mock.WithCallbacks(swSecret, mock.CallbackDropped))
			h := newHooks(t)
			clk := newFakeClock()
			o := <-postCallbackJob(t, newClient(s, clk.option(), optimist.WithPolling(tt.opts)), s, h)
			if tt.err != nil {
				require.ErrorIs(t, o.err, tt.err)
			} else {
				require.NoError(t, o.err)
			}
			require.Equal(t, tt.want, clk.Waits())
		})
	}
}
