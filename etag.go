package optimist

import (
	"fmt"
	"strings"
)

// ETag is an entity-tag exactly as the server sent it, weak prefix and
// quotes included: `"abc"` or `W/"abc"`. It is echoed back byte for byte.
type ETag string

// ParseETag checks that s is a valid entity-tag (RFC 9110, section 8.8.3)
// and returns it unchanged. Surrounding spaces are trimmed. It returns an
// error matching [ErrInvalidETag] otherwise.
func ParseETag(s string) (ETag, error) {
	s = strings.TrimSpace(s)
	opaque := strings.TrimPrefix(s, "W/")
	if len(opaque) < 2 || opaque[0] != '"' || opaque[len(opaque)-1] != '"' {
		return "", fmt.Errorf("%w: %q is not a quoted string", ErrInvalidETag, truncate(s, 64))
	}
	for i := 1; i < len(opaque)-1; i++ {
		if c := opaque[i]; c == '"' || c < 0x21 || c == 0x7f {
			return "", fmt.Errorf("%w: %q has a forbidden character", ErrInvalidETag, truncate(s, 64))
		}
	}
	return ETag(s), nil
}

// IsWeak reports whether the tag has the weak prefix W/.
func (t ETag) IsWeak() bool { return strings.HasPrefix(string(t), "W/") }

// opaque returns the quoted part of the tag, without the weak prefix.
func (t ETag) opaque() string { return strings.TrimPrefix(string(t), "W/") }

// Equals is the strong comparison of RFC 9110: both tags are strong and
// their opaque parts are identical.
func (t ETag) Equals(o ETag) bool {
	return !t.IsWeak() && !o.IsWeak() && t == o
}

// WeakEquals is the weak comparison of RFC 9110: the opaque parts are
// identical, whether or not either tag is weak.
func (t ETag) WeakEquals(o ETag) bool { return t.opaque() == o.opaque() }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
