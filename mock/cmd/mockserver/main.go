// Command mockserver serves the in-memory JSON API of package
// github.com/optimist-go/optimist/mock over HTTP, for trying a client
// against optimistic concurrency, asynchronous jobs and injected faults.
//
// Usage:
//
//	go run github.com/optimist-go/optimist/mock/cmd/mockserver [flags]
//
// It prints "listening on http://ADDR" on standard output once it accepts
// connections (with -addr 127.0.0.1:0, ADDR holds the port it was given),
// logs one line per request on standard error, and exits 0 on SIGINT or
// SIGTERM after the requests in flight are answered. Run it with -h for the
// flags; each maps to an option of package mock.
//
// Tests that run it as a separate process drive it through its control API
// under -control-path (default /_mock), which bypasses faults and is not
// logged:
//
//	GET  /_mock/requests                    the request log, oldest first, as JSON
//	GET  /_mock/count?method=PUT&status=412 {"count":n}; method and status optional
//	POST /_mock/fail-next?fault=503&n=2     queue faults for the next requests
//	POST /_mock/reset                       back to the start: -seed documents, -fail-next faults
//
// The -seed flag loads documents from a JSON file that maps paths to
// documents, as testdata/docs.json does; -seed-random seeds the fault
// random source.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode is the process's exit status after run returned err: 0 for a
// clean shutdown and for -h (the usage is printed), 2 for invalid
// arguments (the flag package has said why), 1 for any other failure,
// which it prints to stderr.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintln(stderr, "mockserver:", err)
	return 1
}
