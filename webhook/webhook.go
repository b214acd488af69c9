package webhook

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The verifiers of the common webhook signature schemes, and the error a
// delivery that does not verify matches.

// ErrSignature is matched when a delivery's signature is missing,
// malformed or made with none of the verifier's secrets.
var ErrSignature = errors.New("optimist: callback signature not verified")

// Verifier checks a webhook delivery's signature over its header and body
// and returns its id and signed timestamp (zero when the scheme signs
// none). A delivery it does not verify is an error matching
// [ErrSignature]. A Verifier must be safe for concurrent use; those of
// this package are.
type Verifier func(header http.Header, body []byte) (id string, timestamp time.Time, err error)

// Standard returns a [Verifier] of the Standard Webhooks scheme
// (standardwebhooks.com): the headers webhook-id, webhook-timestamp (Unix
// seconds) and webhook-signature, a space-separated list of signatures
// over "id.timestamp.body": "v1,<base64 HMAC-SHA256>" checked with the
// "whsec_<base64>" secrets, and "v1a,<base64 ed25519>" checked with the
// "whpk_<base64>" public keys. One signature verified by one key
// suffices. A key of another form, or none, is an error.
func Standard(keys ...string) (Verifier, error) {
	var secrets [][]byte
	var public []ed25519.PublicKey
	for i, k := range keys {
		switch {
		case strings.HasPrefix(k, "whsec_"):
			raw, err := base64.StdEncoding.DecodeString(k[len("whsec_"):])
			if err != nil || len(raw) == 0 {
				return nil, fmt.Errorf("optimist: standard webhooks key %d: whsec_ secret is not base64", i)
			}
			secrets = append(secrets, raw)
		case strings.HasPrefix(k, "whpk_"):
			raw, err := base64.StdEncoding.DecodeString(k[len("whpk_"):])
			if err != nil || len(raw) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("optimist: standard webhooks key %d: whpk_ key is not a base64 ed25519 public key", i)
			}
			public = append(public, ed25519.PublicKey(raw))
		default:
			return nil, fmt.Errorf("optimist: standard webhooks key %d: want whsec_ or whpk_ prefix", i)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("optimist: standard webhooks: no key")
	}
	return func(h http.Header, body []byte) (string, time.Time, error) {
		id, ts := h.Get("Webhook-Id"), h.Get("Webhook-Timestamp")
		sec, err := strconv.ParseInt(ts, 10, 64)
		if id == "" || err != nil {
			return "", time.Time{}, fmt.Errorf("%w: webhook-id or webhook-timestamp missing or malformed", ErrSignature)
		}
		signed := []byte(id + "." + ts + "." + string(body))
		for _, sig := range strings.Fields(h.Get("Webhook-Signature")) {
			version, value, _ := strings.Cut(sig, ",")
			raw, err := base64.StdEncoding.DecodeString(value)
			if err != nil {
				continue
			}
			if version == "v1" && anyHMAC(secrets, signed, raw) || version == "v1a" && anyEd25519(public, signed, raw) {
				return id, time.Unix(sec, 0), nil
			}
		}
		return "", time.Time{}, ErrSignature
	}, nil
}

// Stripe returns a [Verifier] of Stripe's scheme: the header
// Stripe-Signature "t=<Unix seconds>,v1=<hex HMAC-SHA256>,..." over
// "t.body", keyed with a secret ("whsec_...") as it is written. The
// delivery id is the body's "id" member (the event id), else the
// signature.
func Stripe(secrets ...string) Verifier {
	keys := rawKeys(secrets)
	return func(h http.Header, body []byte) (string, time.Time, error) {
		var t string
		var sigs []string
		for _, item := range strings.Split(h.Get("Stripe-Signature"), ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(item), "=")
			switch k {
			case "t":
				t = v
			case "v1":
				sigs = append(sigs, v)
			}
		}
		sec, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("%w: Stripe-Signature has no timestamp", ErrSignature)
		}
		signed := []byte(t + "." + string(body))
		for _, sig := range sigs {
			if raw, err := hex.DecodeString(sig); err == nil && anyHMAC(keys, signed, raw) {
				return bodyID(body, sig), time.Unix(sec, 0), nil
			}
		}
		return "", time.Time{}, ErrSignature
	}
}

// GitHub returns a [Verifier] of GitHub's scheme: the header
// X-Hub-Signature-256 "sha256=<hex HMAC-SHA256>" over the body, keyed with
// a secret as it is written; the delivery id is X-GitHub-Delivery. GitHub
// signs no timestamp, so a replay is recognised only while its id is
// remembered (the Callbacks handler of [github.com/optimist-go/optimist]
// remembers ids for its Tolerance).
func GitHub(secrets ...string) Verifier {
	keys := rawKeys(secrets)
	return func(h http.Header, body []byte) (string, time.Time, error) {
		id := h.Get("X-Github-Delivery")
		sig, ok := strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256=")
		raw, err := hex.DecodeString(sig)
		if id == "" || !ok || err != nil || !anyHMAC(keys, body, raw) {
			return "", time.Time{}, ErrSignature
		}
		return id, time.Time{}, nil
	}
}

func rawKeys(secrets []string) [][]byte {
	var keys [][]byte
	for _, s := range secrets {
		if s != "" {
			keys = append(keys, []byte(s))
		}
	}
	return keys
}

// anyHMAC reports whether sig is the HMAC-SHA256 of msg under one of keys,
// comparing in constant time.
func anyHMAC(keys [][]byte, msg, sig []byte) bool {
	ok := false
	for _, k := range keys {
		m := hmac.New(sha256.New, k)
		m.Write(msg)
		ok = hmac.Equal(m.Sum(nil), sig) || ok
	}
	return ok
}

func anyEd25519(keys []ed25519.PublicKey, msg, sig []byte) bool {
	for _, k := range keys {
		if len(sig) == ed25519.SignatureSize && ed25519.Verify(k, msg, sig) {
			return true
		}
	}
	return false
}

// bodyID returns the body's string "id" member, else fallback.
func bodyID(body []byte, fallback string) string {
	var doc struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &doc) == nil && doc.ID != "" {
		return doc.ID
	}
	return fallback
}
