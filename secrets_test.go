package optimist_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
)

// Secrets: credentials never cross origins, never appear in errors or
// logs.

// More planted credentials, besides those of faultsuite_test.go.
const (
	cookieToken    = "COOKIE-TOKEN-51e0"
	proxyToken     = "PROXY-TOKEN-c4a2"
	apiKeyToken    = "APIKEY-TOKEN-0b7d"
	setCookieToken = "SET-COOKIE-TOKEN-8e44"
)

// secretOptions are request options that plant every credential header.
func secretOptions() []optimist.RequestOption {
	return []optimist.RequestOption{
		optimist.Header("Authorization", "Bearer "+headerToken),
		optimist.Header("Proxy-Authorization", "Basic "+proxyToken),
		optimist.Header("Cookie", "session="+cookieToken),
		optimist.Header("X-Api-Key", apiKeyToken),
	}
}

// headerRecorder is a server that records the headers it receives.
type headerRecorder struct {
	mu      sync.Mutex
	headers []http.Header
}

func (h *headerRecorder) record(r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.headers = append(h.headers, r.Header.Clone())
}

// requireClean fails unless the recorder received requests and none of
// them carried a credential.
func (h *headerRecorder) requireClean(t *testing.T) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	require.NotEmpty(t, h.headers, "the other origin was never asked")
	for _, hd := range h.headers {
		for _, name := range []string{"Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key"} {
			require.Empty(t, hd.Values(name), "%s crossed origins", name)
		}
		text := fmt.Sprint(hd)
		for _, token := range []string{headerToken, proxyToken, cookieToken, apiKeyToken, userinfoToken, queryToken} {
			require.NotContains(t, text, token)
		}
	}
}

// requireAuthorized fails unless every request carried the Authorization.
func (h *headerRecorder) requireAuthorized(t *testing.T) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	require.NotEmpty(t, h.headers)
	for _, hd := range h.headers {
		require.Equal(t, "Bearer "+headerToken, hd.Get("Authorization"))
	}
}

func TestCredentialsStayWithTheirOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// handle answers on the first origin; other is the second's URL.
		handle  func(w http.ResponseWriter, r *http.Request, other string)
		call    func(ctx context.Context, c *optimist.Client, url string) error
		trusted bool // the second origin is trusted for status URLs
		want    func(t *testing.T, first, second *headerRecorder)
	}{
		{
			name: "redirect to another port",
			handle: func(w http.ResponseWriter, r *http.Request, other string) {
				http.Redirect(w, r, other+"/landing", http.StatusFound)
			},
			want: func(t *testing.T, _, second *headerRecorder) { second.requireClean(t) },
		},
		{
			name: "redirect there and back",
			handle: func(w http.ResponseWriter, r *http.Request, other string) {
				if r.URL.Path == "/back" {
					_, _ = io.WriteString(w, `{}`)
					return
				}
				http.Redirect(w, r, other+"/bounce", http.StatusFound)
			},
			want: func(t *testing.T, _, second *headerRecorder) { second.requireClean(t) },
		},
		{
			name: "status URL on another origin",
			handle: func(w http.ResponseWriter, r *http.Request, other string) {
				acceptWithStatusURL(w, other+"/status")
			},
			call: postJob,
			want: func(t *testing.T, first, second *headerRecorder) {
				first.requireAuthorized(t)
				second.requireClean(t)
			},
		},
		{
			name: "status URL on a trusted origin",
			handle: func(w http.ResponseWriter, r *http.Request, other string) {
				acceptWithStatusURL(w, other+"/status")
			},
			call:    postJob,
			trusted: true,
			want:    func(t *testing.T, _, second *headerRecorder) { second.requireAuthorized(t) },
		},
		{
			name: "result on another origin",
			handle: func(w http.ResponseWriter, r *http.Request, other string) {
				if r.Method == http.MethodPost {
					acceptWithStatusURL(w, "/status")
					return
				}
				_, _ = fmt.Fprintf(w, `{"status":"succeeded","resourceLocation":%q}`, other+"/result")
			},
			call: postJob,
			want: func(t *testing.T, first, second *headerRecorder) {
				first.requireAuthorized(t)
				second.requireClean(t)
			},
		},
		{
			name: "status URL redirects to another origin",
			handle: func(w http.ResponseWriter, r *http.Request, other string) {
				if r.Method == http.MethodPost {
					acceptWithStatusURL(w, "/status")
					return
				}
				http.Redirect(w, r, other+"/status", http.StatusTemporaryRedirect)
			},
			call: postJob,
			want: func(t *testing.T, first, second *headerRecorder) {
				first.requireAuthorized(t)
				second.requireClean(t)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				first, second headerRecorder
				firstURL      string
			)
			secondServer := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
				second.record(r)
				if r.URL.Path == "/bounce" {
					http.Redirect(w, r, firstURL+"/back", http.StatusFound)
					return
				}
				_, _ = io.WriteString(w, `{"status":"succeeded"}`)
			})
			firstServer := newFuncServer(t, func(w http.ResponseWriter, r *http.Request) {
				first.record(r)
				tt.handle(w, r, secondServer.URL)
			})
			firstURL = firstServer.URL
			opts := []optimist.Option{optimist.WithSecretHeaders("x-api-key"), optimist.WithClock(nil, new(sleeper).sleep)}
			if tt.trusted {
				opts = append(opts, optimist.WithPolling(optimist.PollOptions{TrustedOrigins: []string{secondServer.URL}}))
			}
			c := optimist.New(opts...)
			t.Cleanup(c.CloseIdleConnections)
			call := tt.call
			if call == nil {
				call = getJSON
			}
			ctx := optimist.NewContext(t.Context(), secretOptions()...)
			u := strings.Replace(firstURL, "http://", "http://"+userinfoToken+":"+userinfoToken+"@", 1) +
				"/start?access_token=" + queryToken
			require.NoError(t, call(ctx, c, u))
			tt.want(t, &first, &second)
		})
	}
}

func postJob(ctx context.Context, c *optimist.Client, url string) error {
	_, err := c.Post(ctx, url, doc{}, nil)
	return err
}

func getJSON(ctx context.Context, c *optimist.Client, url string) error {
	_, err := c.Get(ctx, url, nil)
	return err
}

// TestSecretsNeverInErrorsOrLogs plants credentials in the headers, the
// URL's user information and its query, and greps every error and every
// debug log line of failing calls for them.
func TestSecretsNeverInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	reset := func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		call    func(ctx context.Context, c *optimist.Client, url string) error
	}{
		{name: "503 forever", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}},
		{name: "connection reset forever", handler: reset},
		{name: "connection reset on a write", handler: reset, call: postJob},
		{name: "Retry-After too long", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "86400")
			w.WriteHeader(http.StatusTooManyRequests)
		}},
		{name: "problem details", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"title":"forbidden","detail":"no access"}`)
		}},
		{name: "conflict forever", handler: conflictForever(), call: func(ctx context.Context, c *optimist.Client, url string) error {
			_, err := optimist.Update(ctx, c, url, func(v *counter) error { v.N++; return nil })
			return err
		}},
		{name: "invalid entity-tag", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("ETag", "bare")
			_, _ = io.WriteString(w, `{}`)
		}},
		{name: "not JSON", handler: func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `<html>`)
		}, call: func(ctx context.Context, c *optimist.Client, url string) error {
			var d doc
			_, err := c.Get(ctx, url, &d)
			return err
		}},
		{name: "redirect loop", handler: func(w http.ResponseWriter, r *http.Request) {
			if len(r.URL.Path) > relentAfter {
				_, _ = io.WriteString(w, `{}`)
				return
			}
			http.Redirect(w, r, r.URL.Path+"x?"+r.URL.RawQuery, http.StatusFound)
		}},
		{name: "operation failed", handler: func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				acceptWithStatusURL(w, "/status")
				return
			}
			_, _ = io.WriteString(w, `{"status":"failed","error":{"code":"E1","message":"it broke"}}`)
		}, call: postJob},
		{name: "status URL gone", handler: func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				acceptWithStatusURL(w, "/status")
				return
			}
			w.WriteHeader(http.StatusGone)
		}, call: postJob},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, _ := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
				http.SetCookie(w, &http.Cookie{Name: "session", Value: setCookieToken})
				tt.handler(w, r)
			})
			logger, logs := debugLogger()
			c := optimist.New(optimist.WithLogger(logger), optimist.WithSecretHeaders("X-Api-Key"),
				optimist.WithRetry(optimist.RetryOptions{MaxRetries: 2}), optimist.WithConflicts(optimist.ConflictOptions{Attempts: 3, Timeout: time.Hour}),
				optimist.WithClock(nil, new(sleeper).sleep))
			t.Cleanup(c.CloseIdleConnections)
			call := tt.call
			if call == nil {
				call = getJSON
			}
			ctx := optimist.NewContext(t.Context(), secretOptions()...)
			err := call(ctx, c, credentialURL(url+"/secret"))
			require.Error(t, err)

			requireNoSecretReachable(t, err)
			text := err.Error() + "\n" + logs.String()
			for _, token := range []string{headerToken, proxyToken, cookieToken, apiKeyToken, setCookieToken, userinfoToken} {
				require.NotContains(t, text, token)
			}
			t.Run("query token", func(t *testing.T) {
				require.NotContains(t, text, queryToken)
			})
		})
	}
}

// credentialURL puts the planted user name, password and query token in
// rawURL.
func credentialURL(rawURL string) string {
	return strings.Replace(rawURL, "http://", "http://"+userinfoToken+":"+userinfoToken+"@", 1) +
		"?access_token=" + queryToken
}

// conflictForever returns a handler that answers every write 409 though
// every read shows a new version (until it relents).
func conflictForever() http.HandlerFunc {
	var version, writes atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", fmt.Sprintf(`"%d"`, version.Add(1)))
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodGet && writes.Add(1) <= relentAfter {
			w.WriteHeader(http.StatusConflict)
		}
		_, _ = io.WriteString(w, `{"n":0}`)
	}
}

// TestInvalidURLErrorHasNoSecrets: a URL that does not parse is not
// repeated in the error with its password.
func TestInvalidURLErrorHasNoSecrets(t *testing.T) {
	t.Parallel()
	_, err := optimist.New().Get(t.Context(), "http://user:"+userinfoToken+"@127.0.0.1/%zz", nil)
	require.Error(t, err)
	require.NotContains(t, err.Error(), userinfoToken)
}
