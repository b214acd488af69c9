package mock

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// receiver records the callbacks it gets.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []http.Header
	raw     [][]byte
	arrived chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{arrived: make(chan struct{}, 10)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got, r.raw = append(r.got, req.Header.Clone()), append(r.raw, body)
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		r.arrived <- struct{}{}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) deliveries() ([]http.Header, [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got, r.raw
}

func TestJobCallbacks(t *testing.T) {
	t.Parallel()
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	rcv := newReceiver(t)
	clock := newTestClock()
	s := setup(t, WithCallbacks(secret), WithClock(clock.Now), WithJobPolls(5))
	created := do(t, s, http.MethodPost, "/jobs", `{"callbackUrl":"`+rcv.URL+`/hook"}`)
	require.Equal(t, http.StatusAccepted, created.status, created.body)
	require.NoError(t, s.SendJobProgress("1", 40))
	require.NoError(t, s.CompleteJob("1"))
	require.NoError(t, s.CompleteJob("1"), "the callback is made once")
	require.Equal(t, "succeeded", jobStatusOf(t, do(t, s, http.MethodGet, "/jobs/1", "")).Status)

	headers, bodies := rcv.deliveries()
	require.Len(t, headers, 2)
	require.JSONEq(t, `{"type":"job.progress","timestamp":"`+clock.Now().UTC().Format(time.RFC3339)+`",
		"data":{"id":"1","status":"running","percentComplete":40}}`, string(bodies[0]))
	require.JSONEq(t, `{"type":"job.succeeded","timestamp":"`+clock.Now().UTC().Format(time.RFC3339)+`",
		"data":{"id":"1","status":"succeeded","percentComplete":100}}`, string(bodies[1]))
	key, err := base64.StdEncoding.DecodeString(secret[len("whsec_"):])
	require.NoError(t, err)
	for i, h := range headers {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(h.Get("Webhook-Id") + "." + h.Get("Webhook-Timestamp") + "." + string(bodies[i])))
		require.Equal(t, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)), h.Get("Webhook-Signature"))
	}
	require.Equal(t, []string{"msg_1", "msg_2"}, []string{headers[0].Get("Webhook-Id"), headers[1].Get("Webhook-Id")})

	status, err := s.ReplayCallback(1)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, status)
	headers, _ = rcv.deliveries()
	require.Equal(t, headers[1], headers[2], "a replay is the delivery unchanged")
	log := s.CallbackLog()
	require.Len(t, log, 3)
	require.Equal(t, CallbackReplayed, log[2].Fault)

	_, err = s.ReplayCallback(3)
	require.Error(t, err)
	require.Error(t, s.CompleteJob("9"))
	require.Error(t, s.SendJobProgress("9", 1))
	bad := do(t, s, http.MethodPost, "/jobs", `{"callbackUrl":"file:///etc/passwd"}`)
	require.Equal(t, http.StatusBadRequest, bad.status)
}

func TestJobCallbackFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fault CallbackFault
		sent  int
	}{
		{CallbackDropped, 0}, {CallbackDuplicated, 2}, {CallbackBadSignature, 1}, {CallbackReplayed, 2}, {CallbackDelayed, 1},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault), func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t)
			slept := make(chan time.Duration, 1)
			s := setup(t, WithCallbacks("whsec_c2VjcmV0", tt.fault), WithCallbackDelay(time.Second),
				WithClock(newTestClock().Now))
			s.cfg.sleep = func(ctx context.Context, d time.Duration) error {
				if d > 0 {
					slept <- d
				}
				return nil
			}
			do(t, s, http.MethodPost, "/jobs", `{"callbackUrl":"`+rcv.URL+`/hook"}`)
			require.NoError(t, s.CompleteJob("1"))
			if tt.fault == CallbackDelayed {
				require.Equal(t, time.Second, <-slept)
				<-rcv.arrived
			}
			headers, _ := rcv.deliveries()
			require.Len(t, headers, tt.sent)
			if tt.fault == CallbackBadSignature {
				require.NotEmpty(t, headers[0].Get("Webhook-Signature"))
			}
		})
	}
}

func TestJobCallbackEarly(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	s := setup(t, WithCallbacks("whsec_c2VjcmV0", CallbackEarly))
	created := do(t, s, http.MethodPost, "/jobs", `{"callbackUrl":"`+rcv.URL+`/hook"}`)
	require.Equal(t, http.StatusAccepted, created.status)
	headers, _ := rcv.deliveries()
	require.Len(t, headers, 1, "sent before the 202 was written")
	require.Equal(t, "succeeded", jobStatusOf(t, do(t, s, http.MethodGet, "/jobs/1", "")).Status)
}
