//go:build unix

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/optimist-go/optimist"
	"github.com/stretchr/testify/require"
)

// process is the command running as a separate process.
type process struct {
	url    string
	cmd    *exec.Cmd
	stderr *syncBuffer
	waited chan error // receives cmd.Wait's result
}

// build compiles the command into a temporary directory.
func build(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build mockserver with:", err)
	}
	bin := filepath.Join(t.TempDir(), "mockserver")
	out, err := exec.CommandContext(t.Context(), goBin, "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

// startProcess runs bin with args on a free loopback port and waits for its
// listening line. The process is killed when the test ends, if it still runs.
func startProcess(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hung process is killed
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &process{cmd: cmd, stderr: &syncBuffer{}, waited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	go func() { p.waited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.waited
	})
	require.NoError(t, err, p.stderr.String())
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	require.True(t, ok, line)
	p.url = url
	return p
}

// stop signals the process and requires it to exit 0 within three
// seconds: less than the five seconds http.Server.Shutdown would wait for
// a connection that sent nothing, with room for a loaded CI machine.
func (p *process) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(sig))
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	select {
	case err := <-p.waited:
		p.waited <- err // for the cleanup
		require.NoError(t, err, "exit status; stderr:\n%s", p.stderr.String())
	case <-ctx.Done():
		t.Fatalf("mockserver still running three seconds after %v; stderr:\n%s", sig, p.stderr.String())
	}
}

// newClient gives an optimist client whose connections the test closes.
func newClient(t *testing.T, opts ...optimist.Option) *optimist.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return optimist.New(append([]optimist.Option{optimist.WithHTTPClient(&http.Client{Transport: tr})}, opts...)...)
}

func TestProcess(t *testing.T) {
	t.Parallel()
	bin := build(t)
	t.Run("driven by the client, stopped by SIGTERM", func(t *testing.T) {
		t.Parallel()
		seedFile := filepath.Join(t.TempDir(), "seed.json")
		require.NoError(t, os.WriteFile(seedFile, []byte(`{"/docs/a":{"title":"Draft","words":100}}`), 0o600))
		p := startProcess(t, bin, "-seed", seedFile, "-conflict-status", "409", "-job-polls", "1")
		ctx := t.Context()

		alice, bob := newClient(t), newClient(t)
		_, err := alice.Get(ctx, p.url+"/docs/a", nil)
		require.NoError(t, err)
		_, err = bob.Get(ctx, p.url+"/docs/a", nil)
		require.NoError(t, err)
		_, err = bob.Put(ctx, p.url+"/docs/a", json.RawMessage(`{"title":"Draft","words":120}`), nil)
		require.NoError(t, err)
		var merged map[string]any
		_, err = alice.Put(ctx, p.url+"/docs/a", json.RawMessage(`{"title":"Final","words":100}`), &merged)
		require.NoError(t, err, "the conflict is merged")
		require.Equal(t, map[string]any{"title": "Final", "words": 120.0}, merged)
		require.Equal(t, 1, p.count(t, "PUT", http.StatusConflict))

		var result map[string]any
		_, err = alice.Post(ctx, p.url+"/jobs", json.RawMessage(`{"result":{"answer":42}}`), &result)
		require.NoError(t, err, "the 202 is followed to the job's result")
		require.Equal(t, map[string]any{"answer": 42.0}, result)

		p.control(t, "/_mock/fail-next?fault=503&n=2")
		resp, err := alice.Put(ctx, p.url+"/docs/c", json.RawMessage(`{"n":1}`), nil, optimist.CreateOnly())
		require.NoError(t, err, "the 503s are retried")
		require.Equal(t, 3, resp.Attempts)
		require.Equal(t, 2, p.count(t, "", http.StatusServiceUnavailable))

		p.stop(t, syscall.SIGTERM)
		log := p.stderr.String()
		require.Contains(t, log, "method=PUT path=/docs/a status=409")
		require.Contains(t, log, "method=POST path=/jobs status=202")
		require.Contains(t, log, "method=PUT path=/docs/c status=503")
		require.Contains(t, log, "fault=503")
	})
	t.Run("stopped by SIGINT with a connection that sent nothing", func(t *testing.T) {
		t.Parallel()
		p := startProcess(t, bin)
		_, err := newClient(t).Put(t.Context(), p.url+"/docs/a", json.RawMessage(`{}`), nil, optimist.CreateOnly())
		require.NoError(t, err)
		// A transport may dial a connection and then send its request on
		// another; http.Server.Shutdown alone would wait seconds for it.
		var d net.Dialer
		conn, err := d.DialContext(t.Context(), "tcp", strings.TrimPrefix(p.url, "http://"))
		require.NoError(t, err)
		defer conn.Close()
		// count answers on a connection dialled later: the server, which
		// accepts in order, holds the silent one.
		require.Equal(t, 1, p.count(t, "", 0))
		p.stop(t, os.Interrupt)
	})
}

// control posts to a control endpoint.
func (p *process) control(t *testing.T, path string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.url+path, nil)
	require.NoError(t, err)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
}

// count asks the control API how many requests had method and status.
func (p *process) count(t *testing.T, method string, status int) int {
	t.Helper()
	var out struct{ Count int }
	_, err := newClient(t).Get(t.Context(), p.url+"/_mock/count?method="+method+"&status="+strconv.Itoa(status), &out)
	require.NoError(t, err)
	return out.Count
}
