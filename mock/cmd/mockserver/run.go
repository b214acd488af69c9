package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/optimist-go/optimist/mock"
)

// shutdownTimeout bounds the wait for requests in flight at shutdown.
const shutdownTimeout = 5 * time.Second

// run parses args, serves until ctx is done, then shuts down. It writes the
// "listening on" line to stdout and the request log to stderr. It returns nil
// after a clean shutdown.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	opts := append(f.options(), mock.WithObserver(func(r mock.Request) {
		logger.Info("request", "method", r.Method, "path", r.Path, "status", r.Status,
			"duration", r.Duration, "fault", r.Fault.String(), "replayed", r.Replayed)
	}))
	b := mock.Handler(opts...)
	reset := func() error {
		b.Reset()
		for _, q := range f.queued {
			b.FailNext(q.n, q.fault)
		}
		return seed(b, f.seedFile)
	}
	if err := reset(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	var conns freshConns
	srv := &http.Server{
		Handler:           &control{prefix: strings.TrimSuffix(f.controlPath, "/"), b: b, reset: reset},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		// Requests see ctx end, so that injected latency stops at shutdown.
		BaseContext: func(net.Listener) context.Context { return ctx },
		ConnState:   conns.track,
	}
	srv.RegisterOnShutdown(conns.closeNew)
	return serve(ctx, srv, ln, stdout)
}

// serve runs srv on ln until ctx is done, then shuts it down.
func serve(ctx context.Context, srv *http.Server, ln net.Listener, stdout io.Writer) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// freshConns knows the connections that have not sent a request yet.
// http.Server.Shutdown waits up to five seconds for such a connection (a
// client may have dialled it and then used another), so at shutdown they
// are closed at once.
type freshConns struct {
	mu    sync.Mutex
	fresh map[net.Conn]bool
}

func (t *freshConns) track(c net.Conn, state http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fresh == nil {
		t.fresh = map[net.Conn]bool{}
	}
	if state == http.StateNew {
		t.fresh[c] = true
	} else {
		delete(t.fresh, c)
	}
}

func (t *freshConns) closeNew() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.fresh {
		_ = c.Close()
	}
}

// seed preloads the documents of the JSON object in file, which maps paths
// to documents. An empty file name seeds nothing.
func seed(b *mock.Backend, file string) error {
	if file == "" {
		return nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var docs map[string]json.RawMessage
	if err := json.Unmarshal(data, &docs); err != nil {
		return fmt.Errorf("seed file %s: %w", file, err)
	}
	paths := make([]string, 0, len(docs))
	for p := range docs {
		paths = append(paths, p)
	}
	slices.Sort(paths) // so that ETags do not depend on map order
	for _, p := range paths {
		if err := b.Seed(p, docs[p]); err != nil {
			return err
		}
	}
	return nil
}
