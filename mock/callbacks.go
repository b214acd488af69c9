package mock

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Callbacks: a job created with a "callbackUrl" is announced to that URL by
// Standard Webhooks deliveries (standardwebhooks.com), signed with the
// secret of WithCallbacks, when it ends and when SendJobProgress asks, with
// the faults of WithCallbacks.

// CallbackFault is a fault of callback delivery; see [WithCallbacks].
type CallbackFault string

// The callback faults.
const (
	// CallbackDropped sends nothing: the webhook silently never arrives.
	CallbackDropped CallbackFault = "dropped"
	// CallbackDelayed sends the delivery after the delay of
	// [WithCallbackDelay], from another goroutine.
	CallbackDelayed CallbackFault = "delayed"
	// CallbackDuplicated sends the delivery twice, as a sender that
	// retries after a lost answer does.
	CallbackDuplicated CallbackFault = "duplicated"
	// CallbackReplayed sends, after the delivery, the server's oldest
	// delivery again, unchanged: an old, validly signed delivery replayed.
	CallbackReplayed CallbackFault = "replayed"
	// CallbackBadSignature signs the delivery with another secret.
	CallbackBadSignature CallbackFault = "bad-signature"
	// CallbackEarly ends a job as it is created and sends its callback
	// before the 202 Accepted is written (while the backend's lock is
	// held: the receiver must not call the backend).
	CallbackEarly CallbackFault = "early"
)

// callbackConfig is the callback part of config.
type callbackConfig struct {
	secret []byte
	faults map[CallbackFault]bool
	delay  time.Duration
}

// WithCallbacks makes the server send signed callbacks to jobs created
// with a "callbackUrl" member, with the faults. secret is a Standard
// Webhooks secret, "whsec_" and base64; any other string is used as the
// key as it is.
func WithCallbacks(secret string, faults ...CallbackFault) Option {
	return func(c *config) {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		if !strings.HasPrefix(secret, "whsec_") || err != nil {
			key = []byte(secret)
		}
		c.callbacks.secret = key
		c.callbacks.faults = make(map[CallbackFault]bool)
		for _, f := range faults {
			c.callbacks.faults[f] = true
		}
	}
}

// WithCallbackDelay sets the delay of [CallbackDelayed] (default 50 ms),
// waited with the sleep of the server's clock.
func WithCallbackDelay(d time.Duration) Option {
	return func(c *config) { c.callbacks.delay = max(d, 0) }
}

// CallbackAttempt is one callback the server sent, or meant to send.
type CallbackAttempt struct {
	// ID is the delivery's webhook-id; Job, the job's id; Type, the
	// payload's type ("job.progress", "job.succeeded", "job.failed").
	ID, Job, Type string
	// Timestamp is the delivery's webhook-timestamp.
	Timestamp time.Time
	// Fault is the fault applied to it, or empty.
	Fault CallbackFault
	// Status is the receiver's answer, 0 if none (dropped, or an error).
	Status int
	// Err is why sending failed, or empty.
	Err string
}

// delivery is one signed callback.
type delivery struct {
	id, url, job, typ string
	ts                time.Time
	body              []byte
	sig               string
}

// callbackState is the backend's outgoing deliveries.
type callbackState struct {
	mu     sync.Mutex
	next   int
	sent   []delivery // every delivery made, oldest first
	log    []CallbackAttempt
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
	client *http.Client
}

func (s *callbackState) init() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil {
		s.ctx, s.cancel = context.WithCancel(context.Background())
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
}

// closeCallbacks stops the delayed and timed deliveries and waits for
// those in flight.
func (b *Backend) closeCallbacks() {
	b.cb.init()
	b.cb.cancel()
	b.cb.wg.Wait()
}

// CallbackLog returns the callbacks sent so far, oldest first.
func (b *Backend) CallbackLog() []CallbackAttempt {
	b.cb.mu.Lock()
	defer b.cb.mu.Unlock()
	return append([]CallbackAttempt(nil), b.cb.log...)
}

// CompleteJob ends the job id now, as it would end after its polls: its
// next status answer is its terminal state, and its callback, if it has
// one that was not sent yet, is sent before CompleteJob returns (a
// [CallbackDelayed] one later).
func (b *Backend) CompleteJob(id string) error {
	b.mu.Lock()
	j := b.jobs[id]
	if j == nil {
		b.mu.Unlock()
		return fmt.Errorf("mock: no job %q", id)
	}
	j.finished = true
	d, ok := b.terminalDelivery(j)
	b.mu.Unlock()
	if ok {
		b.dispatch(d, false)
	}
	return nil
}

// SendJobProgress sends the running job id's callback a progress report
// of percent, and returns when it has been answered.
func (b *Backend) SendJobProgress(id string, percent int) error {
	b.mu.Lock()
	j := b.jobs[id]
	if j == nil || j.callbackURL == "" {
		b.mu.Unlock()
		return fmt.Errorf("mock: no job %q with a callback", id)
	}
	d := b.newDelivery(j, "job.progress", jobStatus{ID: j.id, Status: "running", PercentComplete: percent})
	b.mu.Unlock()
	b.dispatch(d, false)
	return nil
}

// ReplayCallback sends the i-th delivery the server made (from 0) again,
// unchanged, and returns the receiver's answer.
func (b *Backend) ReplayCallback(i int) (status int, err error) {
	b.cb.mu.Lock()
	if i < 0 || i >= len(b.cb.sent) {
		b.cb.mu.Unlock()
		return 0, fmt.Errorf("mock: no delivery %d", i)
	}
	d := b.cb.sent[i]
	b.cb.mu.Unlock()
	return b.post(d, CallbackReplayed)
}

// terminalDelivery makes j's terminal callback once; b.mu is held.
func (b *Backend) terminalDelivery(j *job) (delivery, bool) {
	if j.callbackURL == "" || j.notified {
		return delivery{}, false
	}
	j.notified = true
	st := jobStatus{ID: j.id, Status: "succeeded", PercentComplete: 100}
	if j.fail {
		st.Status = "failed"
	}
	return b.newDelivery(j, "job."+st.Status, st), true
}

// newDelivery signs a callback of j; b.mu is held.
func (b *Backend) newDelivery(j *job, typ string, data jobStatus) delivery {
	ts := b.cfg.clock().Truncate(time.Second)
	body, _ := json.Marshal(map[string]any{"type": typ, "timestamp": ts.UTC().Format(time.RFC3339), "data": data})
	b.cb.mu.Lock()
	b.cb.next++
	d := delivery{id: "msg_" + strconv.Itoa(b.cb.next), url: j.callbackURL, job: j.id, typ: typ, ts: ts, body: body}
	b.cb.mu.Unlock()
	secret := b.cfg.callbacks.secret
	if b.cfg.callbacks.faults[CallbackBadSignature] {
		secret = append([]byte("not "), secret...)
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(d.id + "." + strconv.FormatInt(ts.Unix(), 10) + "." + string(body)))
	d.sig = "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	return d
}

// dispatch sends d with the configured faults; async sends from another
// goroutine, as a delayed delivery always is.
func (b *Backend) dispatch(d delivery, async bool) {
	faults := b.cfg.callbacks.faults
	b.cb.mu.Lock()
	b.cb.sent = append(b.cb.sent, d)
	b.cb.mu.Unlock()
	if faults[CallbackDropped] {
		b.logAttempt(d, CallbackDropped, 0, nil)
		return
	}
	send := func() {
		fault := CallbackFault("")
		if faults[CallbackBadSignature] {
			fault = CallbackBadSignature
		}
		_, _ = b.post(d, fault)
		if faults[CallbackDuplicated] {
			_, _ = b.post(d, CallbackDuplicated)
		}
		if faults[CallbackReplayed] {
			b.cb.mu.Lock()
			old := b.cb.sent[0]
			b.cb.mu.Unlock()
			_, _ = b.post(old, CallbackReplayed)
		}
	}
	delay := time.Duration(0)
	if faults[CallbackDelayed] {
		delay, async = cmpOr(b.cfg.callbacks.delay, 50*time.Millisecond), true
	}
	if !async {
		send()
		return
	}
	b.cb.init()
	b.cb.wg.Add(1)
	go func() {
		defer b.cb.wg.Done()
		if b.cfg.sleep(b.cb.ctx, delay) == nil {
			send()
		}
	}()
}

// post sends d once and logs the attempt with fault.
func (b *Backend) post(d delivery, fault CallbackFault) (int, error) {
	b.cb.init()
	req, err := http.NewRequestWithContext(b.cb.ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		b.logAttempt(d, fault, 0, err)
		return 0, err
	}
	req.Close = true
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Webhook-Id", d.id)
	req.Header.Set("Webhook-Timestamp", strconv.FormatInt(d.ts.Unix(), 10))
	req.Header.Set("Webhook-Signature", d.sig)
	resp, err := b.cb.client.Do(req)
	status := 0
	if err == nil {
		status = resp.StatusCode
		_ = resp.Body.Close()
	}
	b.logAttempt(d, fault, status, err)
	return status, err
}

func (b *Backend) logAttempt(d delivery, fault CallbackFault, status int, err error) {
	a := CallbackAttempt{ID: d.id, Job: d.job, Type: d.typ, Timestamp: d.ts, Fault: fault, Status: status}
	if err != nil {
		a.Err = err.Error()
	}
	b.cb.mu.Lock()
	defer b.cb.mu.Unlock()
	b.cb.log = append(b.cb.log, a)
}

// startJobCallbacks arranges j's callbacks as it is created; b.mu is held.
func (b *Backend) startJobCallbacks(j *job) {
	switch {
	case j.callbackURL == "":
	case b.cfg.callbacks.faults[CallbackEarly]:
		j.finished = true
		if d, ok := b.terminalDelivery(j); ok {
			b.dispatch(d, false)
		}
	case b.cfg.jobDuration > 0:
		b.cb.init()
		b.cb.wg.Add(1)
		go func() {
			defer b.cb.wg.Done()
			if b.cfg.sleep(b.cb.ctx, b.cfg.jobDuration) == nil {
				_ = b.CompleteJob(j.id)
			}
		}()
	}
}

// validCallbackURL reports whether s is an absolute http or https URL.
func validCallbackURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
