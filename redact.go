package optimist

import (
	"errors"
	"net/url"
	"strings"
)

// Redaction. Everything the client puts in an error or a log line passes
// through here: a URL loses its user information and the values of query
// parameters whose names say they carry a credential, and a fault from
// net/http loses the raw URL it quotes. No error and no log line of the
// client carries a header value.

// redactURL returns rawURL without user information, and with the value
// of every credential query parameter (see secretParam) replaced by
// REDACTED. A URL that does not parse is "(invalid URL)".
func redactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(invalid URL)"
	}
	u.User = nil
	if u.RawQuery != "" {
		q, redacted := u.Query(), false
		for name, values := range q {
			if secretParam(name) {
				for i := range values {
					values[i] = "REDACTED"
				}
				redacted = true
			}
		}
		if redacted {
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

// secretWords are the parts of query parameter names that say the value
// may be a credential: access_token, api_key, sig, X-Amz-Signature,
// password, pwd, jwt, bearer, client_assertion, private_key, ...
var secretWords = [...]string{
	"token", "key", "secret", "sig", "pass", "pwd", "auth", "cred", "session", "code",
	"jwt", "bearer", "assertion", "private", "csrf", "xsrf", "otp", "saml", "ticket",
}

// secretParam reports whether a query parameter's name says it may carry
// a credential: it contains one of secretWords, or it is "pw".
func secretParam(name string) bool {
	name = strings.ToLower(name)
	if name == "pw" {
		return true
	}
	for _, s := range secretWords {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// redactError returns err with the *url.Error net/http wraps faults in
// rebuilt around a redacted URL, so that nothing reachable from err by
// Unwrap quotes a user name, password or credential query parameter.
// The rebuilt error keeps its Op and cause: errors.Is still finds
// context.DeadlineExceeded, and Timeout still answers.
func redactError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) || ue != err {
		return err
	}
	return &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: redactError(ue.Err)}
}

// faultText describes a transport fault without the *url.Error wrapper
// net/http adds, which repeats the URL.
func faultText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err.Error()
	}
	return err.Error()
}

// parseError is url.Parse's error without the *url.Error around it,
// which quotes the raw URL, password and all.
func parseError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
