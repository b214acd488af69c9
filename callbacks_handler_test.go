package optimist_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/webhook"
)

const opID = "ABCDEFGHIJKLMNOPQRSTUVWXYZ" // a well-formed operation id

// Signed deliveries, the vectors of webhook/webhook_test.go (which says
// how they were computed outside the code under test): the example of the
// Standard Webhooks specification, and the secret of GitHub's example.
const (
	swSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	swID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	swTimestamp = "1614265330"
	swBody      = `{"test": 2432232314}`
	swSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

	githubSecret = "It's a Secret to Everybody"
)

// githubDelivery is a GitHub-signed delivery of body with id; the
// signature is computed here only to make many distinct deliveries: the
// scheme's vector is checked in webhook's TestVerifiers.
func githubDelivery(id, body string) *http.Request {
	m := hmac.New(sha256.New, []byte(githubSecret))
	m.Write([]byte(body))
	r := httptest.NewRequest(http.MethodPost, "/hooks/"+opID, strings.NewReader(body))
	r.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	r.Header.Set("X-GitHub-Delivery", id)
	return r
}

type failingBus struct{ recordingBus }

func (*failingBus) Publish(context.Context, optimist.CallbackDelivery) error {
	return errors.New("bus down")
}

func TestCallbacksHandler(t *testing.T) {
	t.Parallel()
	swAt := func(now time.Time) func() time.Time {
		return func() time.Time { return now }
	}
	sw, err := webhook.Standard(swSecret)
	require.NoError(t, err)
	swRequest := func(target string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(swBody))
		r.Header.Set("webhook-id", swID)
		r.Header.Set("webhook-timestamp", swTimestamp)
		r.Header.Set("webhook-signature", swSignature)
		return r
	}
	signedAt := time.Unix(1614265330, 0)
	tests := []struct {
		name   string
		v      webhook.Verifier
		opts   optimist.CallbackOptions
		req    *http.Request
		status int
	}{
		{"verified", sw, optimist.CallbackOptions{Now: swAt(signedAt)}, swRequest("/hooks/" + opID), http.StatusNoContent},
		{"at the tolerance", sw, optimist.CallbackOptions{Now: swAt(signedAt.Add(defaultCallbackTolerance))},
			swRequest("/hooks/" + opID), http.StatusNoContent},
		{"past the tolerance", sw, optimist.CallbackOptions{Now: swAt(signedAt.Add(defaultCallbackTolerance + time.Second))},
			swRequest("/hooks/" + opID), http.StatusBadRequest},
		{"shorter tolerance", sw, optimist.CallbackOptions{Now: swAt(signedAt.Add(time.Minute)), Tolerance: time.Second},
			swRequest("/hooks/" + opID), http.StatusBadRequest},
		{"GET", sw, optimist.CallbackOptions{}, httptest.NewRequest(http.MethodGet, "/hooks/"+opID, nil), http.StatusMethodNotAllowed},
		{"no operation", sw, optimist.CallbackOptions{}, swRequest("/hooks/"), http.StatusNotFound},
		{"malformed operation", sw, optimist.CallbackOptions{}, swRequest("/hooks/" + strings.ToLower(opID)), http.StatusNotFound},
		{"body too large", sw, optimist.CallbackOptions{Now: swAt(signedAt), MaxBodyBytes: 8},
			swRequest("/hooks/" + opID), http.StatusRequestEntityTooLarge},
		{"unsigned", sw, optimist.CallbackOptions{}, httptest.NewRequest(http.MethodPost, "/hooks/"+opID, strings.NewReader("{}")), http.StatusUnauthorized},
		{"bus down", sw, optimist.CallbackOptions{Now: swAt(signedAt), Bus: &failingBus{}},
			swRequest("/hooks/" + opID), http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := tt.opts
			o.Verify = tt.v
			cb := optimist.NewCallbacks(o)
			w := httptest.NewRecorder()
			cb.ServeHTTP(w, tt.req)
			require.Equal(t, tt.status, w.Code, w.Body.String())
		})
	}
}

func TestCallbacksDeduplicateInBoundedMemory(t *testing.T) {
	t.Parallel()
	bus := &recordingBus{subs: map[string][]func(optimist.CallbackDelivery){}}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	cb := optimist.NewCallbacks(optimist.CallbackOptions{Verify: webhook.GitHub(githubSecret), Bus: bus,
		MaxDeliveries: 2, Now: func() time.Time { return now }})
	send := func(id string) {
		w := httptest.NewRecorder()
		cb.ServeHTTP(w, githubDelivery(id, `{"status":"done"}`))
		require.Equal(t, http.StatusNoContent, w.Code)
	}
	send("a")
	send("a")
	require.Equal(t, 1, bus.count(), "a duplicate is not handed on")
	send("b")
	send("c") // forgets a, the oldest
	send("b")
	require.Equal(t, 3, bus.count())
	send("a")
	require.Equal(t, 4, bus.count(), "a forgotten id is handed on again: at worst one more status GET")
	now = now.Add(defaultCallbackTolerance + time.Second)
	send("a")
	require.Equal(t, 5, bus.count(), "ids are remembered for the tolerance")
}
