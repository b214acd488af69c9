// Package demo holds what every example shares: flags, and the mock server
// started in-process unless the example is pointed at a server with -url.
package demo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/optimist-go/optimist/mock"
)

// Flags are the flags every example takes.
type Flags struct {
	// URL is the server to talk to; empty means the in-process mock.
	URL string
}

// Parse parses args into a FlagSet named name, with the common flags and
// whatever define adds.
func Parse(name string, args []string, stderr io.Writer, define func(fs *flag.FlagSet)) (Flags, error) {
	var f Flags
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.URL, "url", "", "base URL of a server to use instead of the in-process mock")
	if define != nil {
		define(fs)
	}
	return f, fs.Parse(args)
}

// Server returns the base URL to use: f.URL, or that of a mock server
// started with opts, which stop closes.
func Server(f Flags, opts ...mock.Option) (base string, srv *mock.Server, stop func()) {
	if f.URL != "" {
		return f.URL, nil, func() {}
	}
	s := mock.NewServer(opts...)
	return s.URL, s, s.Close
}

// Main runs an example's run function with the process's arguments and
// streams, and exits with [ExitCode] of its error.
func Main(run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(ExitCode(err, os.Stderr))
}

// ExitCode is an example's exit status after its run returned err: 0 on
// success and for -h (the flag package has printed the usage), else 1,
// with err printed to stderr.
func ExitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "error:", err)
	return 1
}
