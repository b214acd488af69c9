package optimist

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// isRequestPath, describesTarget's shortcut, says yes only where the full
// resolution says yes too.
func TestIsRequestPathAgreesWithResolution(t *testing.T) {
	t.Parallel()
	targets := []string{"http://h/a/b", "http://h/a%2Fb", "http://h/a%41", "http://h/a b", "http://h/", "http://h",
		"http://h/a/b?x=1", "http://h/a/b?", "http://h/a/./b", "http://h/a/../b", "http://u:p@h:80/a"}
	locs := []string{"/a/b", "/a%2Fb", "/a%41", "/aA", "/a%20b", "/a b", "/", "", "//h/a/b", "/a/b?x=1", "/a/b#f",
		"/a/./b", "/a/../b", "/b", "a/b", "http://h/a/b", "/a"}
	for _, target := range targets {
		u, err := url.Parse(target)
		require.NoError(t, err)
		for _, loc := range locs {
			if loc == "" || !isRequestPath(loc, u) {
				continue
			}
			slow := describesTarget(&request{url: u}, http.Header{"Content-Location": {loc + "#"}}) // "#": past the shortcut
			require.True(t, slow, "shortcut yes, resolution no: %q against %q", loc, target)
		}
	}
	u, _ := url.Parse("http://h/a/b")
	require.True(t, isRequestPath("/a/b", u))
	require.False(t, isRequestPath("/a/./b", u))
}
