// Command generated-client passes an optimist.Client as the HttpRequestDoer
// of an API client in the shape oapi-codegen generates (petstore.go). The
// generated code sends plain GETs and PUTs; optimist adds If-Match, settles
// the conflict with another writer by a three-way merge and writes again,
// and the caller gets a 200 as if nothing had happened. A wire log shows
// what is sent.
//
//	go run ./examples/generated-client
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/examples/internal/demo"
)

func main() { demo.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := demo.Parse("generated-client", args, stderr, nil)
	if err != nil {
		return err
	}
	base, _, stop := demo.Server(f)
	defer stop()
	if err := reset(ctx, base); err != nil {
		return err
	}

	wire := &http.Client{Transport: &wireLog{next: http.DefaultTransport.(*http.Transport).Clone(), out: stdout, base: base}}
	api, err := NewClientWithResponses(base, WithHTTPClient(optimist.New(optimist.WithHTTPClient(wire))))
	if err != nil {
		return err
	}
	other, err := NewClientWithResponses(base, WithHTTPClient(optimist.New()))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "The front desk's generated client sends through an optimist.Client; > and < are the wire.")
	if err := conflict(ctx, stdout, api, other); err != nil {
		return err
	}
	return create(ctx, stdout, api)
}

// conflict has the front desk rename a pet from a stale copy after the
// adoption service changed it.
func conflict(ctx context.Context, out io.Writer, api, other *ClientWithResponses) error {
	fmt.Fprintln(out, "front desk: GetPetWithResponse(1)")
	got, err := api.GetPetWithResponse(ctx, "1")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  = %d %s\n", got.StatusCode(), got.Body)
	pet := *got.JSON200

	theirs, err := other.GetPetWithResponse(ctx, "1")
	if err != nil {
		return err
	}
	adopted := *theirs.JSON200
	adopted.Status = "adopted"
	if _, err := other.UpdatePetWithResponse(ctx, "1", adopted); err != nil {
		return err
	}
	fmt.Fprintln(out, "adoption service, with a client of its own: marks pet 1 adopted")

	pet.Name = "Max"
	fmt.Fprintln(out, "front desk: UpdatePetWithResponse(1) renames it Max, from its copy")
	updated, err := api.UpdatePetWithResponse(ctx, "1", pet)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  = %d %s\n", updated.StatusCode(), updated.Body)
	if updated.JSON200 == nil || *updated.JSON200 != (Pet{Name: "Max", Status: "adopted"}) {
		return fmt.Errorf("unexpected update answer: %d %s", updated.StatusCode(), updated.Body)
	}
	return nil
}

// create creates pet 2 twice with optimist.CreateOnly in the requests'
// context: the generated client gets the second answer as a status, as it
// would from any Doer.
func create(ctx context.Context, out io.Writer, api *ClientWithResponses) error {
	ctx = optimist.NewContext(ctx, optimist.CreateOnly())
	fmt.Fprintln(out, "front desk: UpdatePetWithResponse(2), twice, with optimist.CreateOnly() in the context")
	for range 2 {
		res, err := api.UpdatePetWithResponse(ctx, "2", Pet{Name: "Bella", Status: "available"})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  = %d\n", res.StatusCode())
	}
	return nil
}

// reset puts pet 1 in its starting state and deletes pet 2.
func reset(ctx context.Context, base string) error {
	c := optimist.New()
	rex, opt := Pet{Name: "Rex", Status: "available"}, optimist.Resolve(optimist.OursWins)
	if _, err := c.Get(ctx, base+"/pets/1", nil); errors.Is(err, optimist.ErrNotFound) {
		opt = optimist.CreateOnly()
	} else if err != nil {
		return err
	}
	if _, err := c.Put(ctx, base+"/pets/1", rex, nil, opt); err != nil {
		return err
	}
	if _, err := c.Get(ctx, base+"/pets/2", nil); errors.Is(err, optimist.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	_, err := c.Delete(ctx, base+"/pets/2")
	return err
}

// wireLog prints the requests a client sends and the statuses it gets.
type wireLog struct {
	next http.RoundTripper
	out  io.Writer
	base string
}

func (w *wireLog) RoundTrip(req *http.Request) (*http.Response, error) {
	line := "  > " + req.Method + " " + strings.TrimPrefix(req.URL.String(), w.base)
	for _, h := range []string{"If-Match", "If-None-Match"} {
		if v := req.Header.Get(h); v != "" {
			line += "  " + h + ": " + v
		}
	}
	fmt.Fprintln(w.out, line)
	resp, err := w.next.RoundTrip(req)
	if err != nil {
		fmt.Fprintln(w.out, "  < error:", err)
		return nil, err
	}
	fmt.Fprintln(w.out, "  <", resp.Status)
	return resp, nil
}
