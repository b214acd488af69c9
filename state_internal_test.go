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

// parseURL keeps the last URL it parsed, but not one with a password in
// it, and a URL it keeps is parsed as before.
func TestParseURLKeepsNoUserinfo(t *testing.T) {
	t.Parallel()
	c := New()
	_, _, err := c.parseURL(http.MethodGet, "http://h/a", new(url.URL))
	require.NoError(t, err)
	require.Equal(t, "http://h/a", c.lastURL.Load().raw)

	u, canonical, err := c.parseURL(http.MethodGet, "http://user:s3cret@h/b", new(url.URL))
	require.NoError(t, err)
	password, ok := u.User.Password()
	require.True(t, ok)
	require.Equal(t, "s3cret", password)
	require.Equal(t, "http://h/b", canonical)
	require.Equal(t, "http://h/a", c.lastURL.Load().raw, "a URL with a password was kept")

	for range 2 { // parsed, then kept
		u, canonical, err = c.parseURL(http.MethodGet, "HTTP://H:80/c#f", new(url.URL))
		require.NoError(t, err)
		require.Equal(t, "http://h/c", canonical)
		require.Equal(t, "H:80", u.Host)
		require.Equal(t, "f", u.Fragment)
	}
	_, _, err = c.parseURL(http.MethodGet, "ftp://h/d", new(url.URL))
	require.Error(t, err)
	require.Equal(t, "HTTP://H:80/c#f", c.lastURL.Load().raw)
}
