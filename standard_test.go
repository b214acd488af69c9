package optimist_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/internal/settingsapi"
	"github.com/optimist-go/optimist/mock"
)

// The settings document both SDKs below edit, and what another writer
// changes in it meanwhile.
const (
	startSettings  = `{"theme":"light","language":"en","pageSize":20}`
	mergedSettings = `{"theme":"dark","language":"de","pageSize":20}`
)

// otherWriterChangesLanguage has a writer with a client of its own set the
// language to "de".
func otherWriterChangesLanguage(t *testing.T, url string) {
	t.Helper()
	_, err := optimist.Update(t.Context(), optimist.New(), url, func(v *map[string]any) error {
		(*v)["language"] = "de"
		return nil
	})
	require.NoError(t, err)
}

// requireMerged checks that the server holds both changes and that the
// write went through a conflict.
func requireMerged(t *testing.T, srv *mock.Server) {
	t.Helper()
	body, _, ok := srv.Document("/settings")
	require.True(t, ok)
	require.JSONEq(t, mergedSettings, string(body))
	require.Equal(t, 1, srv.Count(http.MethodPut, http.StatusPreconditionFailed), "one stale write, resolved")
}

// An oapi-codegen client (internal/settingsapi, generated from a spec)
// over c.StandardClient() writes from a stale copy: optimist adds
// If-Match, meets the 412, merges and writes again; the generated code
// sees a 200 with both changes.
func TestStandardClientUnderGeneratedClient(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	url := seed(t, srv, "/settings", startSettings)
	c := newClient(srv)
	api, err := settingsapi.NewClientWithResponses(srv.URL, settingsapi.WithHTTPClient(c.StandardClient()))
	require.NoError(t, err)

	got, err := api.GetSettingsWithResponse(t.Context())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, got.StatusCode())
	settings := *got.JSON200
	otherWriterChangesLanguage(t, url)

	dark := "dark"
	settings.Theme = &dark
	put, err := api.PutSettingsWithResponse(t.Context(), settings)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, put.StatusCode())
	require.NotNil(t, put.JSON200)
	require.Equal(t, "de", *put.JSON200.Language)
	require.Equal(t, "dark", *put.JSON200.Theme)
	requireMerged(t, srv)
}

// settingsService is an SDK written by hand in the shape of go-github: it
// takes an *http.Client and knows nothing of ETags.
type settingsService struct {
	hc   *http.Client
	base string
}

type sdkSettings struct {
	Theme    string `json:"theme"`
	Language string `json:"language"`
	PageSize int    `json:"pageSize"`
}

func (s *settingsService) do(ctx context.Context, method string, in any) (*sdkSettings, *http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, nil, err
		}
		body = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+"/settings", body)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, resp, fmt.Errorf("settings: %s", resp.Status)
	}
	var out sdkSettings
	return &out, resp, json.NewDecoder(resp.Body).Decode(&out)
}

func (s *settingsService) Get(ctx context.Context) (*sdkSettings, *http.Response, error) {
	return s.do(ctx, http.MethodGet, nil)
}

func (s *settingsService) Update(ctx context.Context, v *sdkSettings) (*sdkSettings, *http.Response, error) {
	return s.do(ctx, http.MethodPut, v)
}

func TestStandardClientUnderHandWrittenSDK(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	url := seed(t, srv, "/settings", startSettings)
	sdk := &settingsService{hc: newClient(srv).StandardClient(), base: srv.URL}

	settings, _, err := sdk.Get(t.Context())
	require.NoError(t, err)
	otherWriterChangesLanguage(t, url)

	settings.Theme = "dark"
	updated, resp, err := sdk.Update(t.Context(), settings)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, sdkSettings{Theme: "dark", Language: "de", PageSize: 20}, *updated)
	requireMerged(t, srv)
}

// The RoundTripper leaves the request alone, closes its body, and returns
// a non-2xx answer as a response; a call with no answer is an error that
// errors.As reaches through the *url.Error of net/http.
func TestRoundTripperContract(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := newClient(srv, optimist.WithRetry(optimist.RetryOptions{MaxRetries: -1}))
	body := &closeRecorder{Reader: strings.NewReader(`{"a":1}`)}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, srv.URL+"/docs/new", body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("If-None-Match", "*") // a create: optimist sends no write blind
	resp, err := c.StandardClient().Transport.RoundTrip(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.True(t, body.closed)
	require.Empty(t, req.Header.Get("If-Match"), "the caller's request is not changed")
	require.Equal(t, "*", req.Header.Get("If-None-Match"))

	resp, err = c.StandardClient().Get(srv.URL + "/docs/missing")
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.NoError(t, resp.Body.Close())

	c.CloseIdleConnections() // on a reused connection net/http would retry the GET itself
	srv.FailNext(1, mock.FaultReset)
	_, err = c.StandardClient().Get(srv.URL + "/docs/new")
	var te *optimist.TransportError
	require.ErrorAs(t, err, &te)

	_, err = c.StandardClient().Transport.RoundTrip(&http.Request{Method: http.MethodGet})
	require.Error(t, err, "no URL is an error, not a panic")
	require.False(t, errors.Is(err, context.Canceled))
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (r *closeRecorder) Close() error { r.closed = true; return nil }
