package webhook_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist/webhook"
)

// Test vectors, computed outside the code under test:
//
// Standard Webhooks, the example of the published specification and its
// libraries, checked with
//
//	echo -n 'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}' |
//	  openssl dgst -sha256 -mac HMAC -macopt hexkey:$(echo -n MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw | base64 -d | xxd -p) -binary | base64
//
// ed25519 (v1a), a key made and the message signed with
//
//	openssl genpkey -algorithm ed25519 -out ed.pem
//	openssl pkey -in ed.pem -pubout -outform DER | tail -c 32 | base64
//	echo -n 'msg_ed1.1700000000.{"status":"succeeded"}' > m; openssl pkeyutl -sign -inkey ed.pem -rawin -in m | base64 -w0
//
// Stripe:
//
//	echo -n '1700000000.{"id":"evt_1","type":"job.succeeded"}' | openssl dgst -sha256 -hmac 'whsec_stripe_test_secret'
//
// GitHub, the example of GitHub's documentation, checked with
//
//	echo -n 'Hello, World!' | openssl dgst -sha256 -hmac "It's a Secret to Everybody"
const (
	swSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	swID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	swTimestamp = "1614265330"
	swBody      = `{"test": 2432232314}`
	swSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

	edPublic    = "whpk_FdRB70pZzsFukdJ08GJeVciTLlQxLK2aJsOBusBMMjw="
	edBody      = `{"status":"succeeded"}`
	edSignature = "v1a,bqC37XbK5lScMde9NYGhHf8QNL40plXA1KQDclsYaFWL31BugdxKq8WfjtR6EziSbDIOUSmwQwU3d3t2iPi7AQ=="

	stripeSecret    = "whsec_stripe_test_secret"
	stripeBody      = `{"id":"evt_1","type":"job.succeeded"}`
	stripeSignature = "bd5b8ddf9723ca46af06c54362c95af1d5bd0c672dad1745dc9f0e8000b48e6a"

	githubSecret    = "It's a Secret to Everybody"
	githubBody      = "Hello, World!"
	githubSignature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
)

func headers(kv ...string) http.Header {
	h := make(http.Header)
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestVerifiers(t *testing.T) {
	t.Parallel()
	sw, err := webhook.Standard("whsec_"+"b3RoZXI=", swSecret) // rotation: the second key signs
	require.NoError(t, err)
	ed, err := webhook.Standard(edPublic)
	require.NoError(t, err)
	wrong, err := webhook.Standard("whsec_b3RoZXI=")
	require.NoError(t, err)
	stripe := webhook.Stripe("whsec_old", stripeSecret)
	github := webhook.GitHub(githubSecret)
	swHeader := func(sig string) http.Header {
		return headers("webhook-id", swID, "webhook-timestamp", swTimestamp, "webhook-signature", sig)
	}
	tests := []struct {
		name   string
		v      webhook.Verifier
		header http.Header
		body   string
		id     string
		ts     time.Time
	}{
		{"standard webhooks v1", sw, swHeader(swSignature), swBody, swID, time.Unix(1614265330, 0)},
		{"standard webhooks, one of several signatures", sw, swHeader("v1,AAAA " + swSignature), swBody, swID, time.Unix(1614265330, 0)},
		{"standard webhooks v1a", ed, headers("webhook-id", "msg_ed1", "webhook-timestamp", "1700000000",
			"webhook-signature", edSignature), edBody, "msg_ed1", time.Unix(1700000000, 0)},
		{"stripe", stripe, headers("Stripe-Signature", "t=1700000000,v1=00ff,v1="+stripeSignature), stripeBody,
			"evt_1", time.Unix(1700000000, 0)},
		{"github", github, headers("X-Hub-Signature-256", githubSignature, "X-GitHub-Delivery", "d-1"), githubBody,
			"d-1", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id, ts, err := tt.v(tt.header, []byte(tt.body))
			require.NoError(t, err)
			require.Equal(t, tt.id, id)
			require.True(t, tt.ts.Equal(ts), ts)
			_, _, err = tt.v(tt.header, []byte(tt.body+" "))
			require.ErrorIs(t, err, webhook.ErrSignature, "a changed body")
		})
	}
	rejected := []struct {
		name   string
		v      webhook.Verifier
		header http.Header
		body   string
	}{
		{"standard webhooks, wrong secret", wrong, swHeader(swSignature), swBody},
		{"standard webhooks, other id", sw, headers("webhook-id", "msg_x", "webhook-timestamp", swTimestamp,
			"webhook-signature", swSignature), swBody},
		{"standard webhooks, other timestamp", sw, headers("webhook-id", swID, "webhook-timestamp", "1614265331",
			"webhook-signature", swSignature), swBody},
		{"standard webhooks, v1 signature checked as v1a", ed, swHeader("v1a" + swSignature[2:]), swBody},
		{"standard webhooks, no signature", sw, swHeader(""), swBody},
		{"standard webhooks, no timestamp", sw, headers("webhook-id", swID, "webhook-signature", swSignature), swBody},
		{"stripe, no timestamp", stripe, headers("Stripe-Signature", "v1="+stripeSignature), stripeBody},
		{"stripe, other timestamp", stripe, headers("Stripe-Signature", "t=1700000001,v1="+stripeSignature), stripeBody},
		{"stripe, wrong secret", webhook.Stripe("whsec_x"), headers("Stripe-Signature", "t=1700000000,v1="+stripeSignature), stripeBody},
		{"github, no delivery id", github, headers("X-Hub-Signature-256", githubSignature), githubBody},
		{"github, sha1 form", github, headers("X-Hub-Signature-256", "sha1="+githubSignature[7:], "X-GitHub-Delivery", "d-1"), githubBody},
		{"github, no secret", webhook.GitHub(""), headers("X-Hub-Signature-256", githubSignature, "X-GitHub-Delivery", "d-1"), githubBody},
	}
	for _, tt := range rejected {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := tt.v(tt.header, []byte(tt.body))
			require.ErrorIs(t, err, webhook.ErrSignature)
		})
	}
}

func TestStandardKeys(t *testing.T) {
	t.Parallel()
	for _, keys := range [][]string{nil, {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, {"whsec_!!"}, {"whsec_"}, {"whpk_AAAA"}} {
		_, err := webhook.Standard(keys...)
		require.Error(t, err, keys)
	}
}
