package interop_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
)

// Azurite's well-known development account (public, documented by
// Microsoft for the emulator; it protects nothing).
const (
	azuriteAccount = "devstoreaccount1"
	azuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// accountSAS returns an account shared access signature for the Blob and
// Table services (version 2019-12-12), valid until 2099: a query string
// that authorises every request without signing each one.
func accountSAS() string {
	const (
		version     = "2019-12-12"
		services    = "bt"
		types       = "sco"
		permissions = "rwdlacup"
		expiry      = "2099-01-01T00:00:00Z"
	)
	toSign := strings.Join([]string{azuriteAccount, permissions, services, types, "", expiry, "", "", version, ""}, "\n")
	key, err := base64.StdEncoding.DecodeString(azuriteKey)
	if err != nil {
		panic(err) // a constant
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(toSign))
	q := url.Values{
		"sv": {version}, "ss": {services}, "srt": {types}, "sp": {permissions}, "se": {expiry},
		"sig": {base64.StdEncoding.EncodeToString(mac.Sum(nil))},
	}
	return q.Encode()
}
