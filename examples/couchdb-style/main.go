// Command couchdb-style talks to an API that keeps each document's version
// in the document, as CouchDB's "_rev" (or Kubernetes'
// metadata.resourceVersion): no ETag, no If-Match; a write carries the
// _rev it is based on and a stale one is answered 409 Conflict. With
// optimist.JSONField("/_rev") the client reads the revision from the body,
// sends it back in the next write, and merges conflicts without ever
// merging the _rev member itself.
//
//	go run ./examples/couchdb-style
//	go run ./mock/cmd/mockserver -version-field /_rev -couchdb-responses -without-etags &
//	go run ./examples/couchdb-style -url http://127.0.0.1:8080
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/examples/internal/demo"
	"github.com/optimist-go/optimist/mock"
)

func main() { demo.Main(run) }

// Profile is a document; Rev is CouchDB's _rev.
type Profile struct {
	Rev    string `json:"_rev,omitempty"`
	Name   string `json:"name"`
	Email  string `json:"email"`
	Visits int    `json:"visits"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := demo.Parse("couchdb-style", args, stderr, nil)
	if err != nil {
		return err
	}
	base, _, stop := demo.Server(f, mock.WithVersionField("/_rev"), mock.WithCouchDBResponses(), mock.WithoutETags())
	defer stop()
	url := base + "/db/profile"
	newClient := func(opts ...optimist.Option) *optimist.Client {
		return optimist.New(append(opts, optimist.WithVersionToken(optimist.JSONField("/_rev")))...)
	}
	if err := create(ctx, stdout, newClient(), url); err != nil {
		return err
	}
	if err := staleRev(ctx, stdout, newClient, url); err != nil {
		return err
	}
	if err := visits(ctx, stdout, newClient, url); err != nil {
		return err
	}
	var final Profile
	if _, err := newClient().Get(ctx, url, &final); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "the document: name %q, email %q, visits %d, _rev %s\n",
		final.Name, final.Email, final.Visits, short(final.Rev))
	return nil
}

// ack is CouchDB's answer to a write.
type ack struct {
	OK  bool   `json:"ok"`
	Rev string `json:"rev"`
}

// create deletes the document if it exists and creates it anew.
func create(ctx context.Context, out io.Writer, c *optimist.Client, url string) error {
	if _, err := c.Get(ctx, url, nil); err == nil {
		if _, err := c.Delete(ctx, url); err != nil {
			return err
		}
	} else if !errors.Is(err, optimist.ErrNotFound) {
		return err
	}
	var ack ack
	if _, err := c.Put(ctx, url, Profile{Name: "Ada", Email: "ada@example.com"}, &ack, optimist.CreateOnly()); err != nil {
		return err
	}
	fmt.Fprintf(out, "PUT /db/profile: ok %v, rev %s\n", ack.OK, short(ack.Rev))
	return nil
}

// staleRev has two clients change different members from the same _rev.
func staleRev(ctx context.Context, out io.Writer, newClient func(...optimist.Option) *optimist.Client, url string) error {
	onConflict := optimist.WithConflicts(optimist.ConflictOptions{OnConflict: func(cf *optimist.Conflict, _ error) {
		fmt.Fprintf(out, "  %d Conflict: the _rev sent is stale; optimist re-reads and merges\n", cf.StatusCode)
	}})
	web, mobile := newClient(), newClient(onConflict)
	var w, m Profile
	if _, err := web.Get(ctx, url, &w); err != nil {
		return err
	}
	if _, err := mobile.Get(ctx, url, &m); err != nil {
		return err
	}
	fmt.Fprintf(out, "web and mobile both read _rev %s\n", short(w.Rev))
	w.Email = "ada@lovelace.dev"
	if _, err := web.Put(ctx, url, w, nil); err != nil {
		return err
	}
	fmt.Fprintln(out, "web changes the email and saves")
	m.Name = "Ada Lovelace"
	fmt.Fprintf(out, "mobile changes the name and saves, with _rev %s\n", short(m.Rev))
	var ack ack
	if _, err := mobile.Put(ctx, url, m, &ack); err != nil {
		return err
	}
	fmt.Fprintf(out, "  saved: ok %v, rev %s\n", ack.OK, short(ack.Rev))
	return nil
}

// visits has writers count visits with optimist.Update at once.
func visits(ctx context.Context, out io.Writer, newClient func(...optimist.Option) *optimist.Client, url string) error {
	const writers, each = 4, 5
	fmt.Fprintf(out, "%d writers count %d visits each with optimist.Update, at once\n", writers, each)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		c := newClient()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if _, err := optimist.Update(ctx, c, url, func(p *Profile) error {
					p.Visits++
					return nil
				}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// short abbreviates a revision "3-9f86d081884c7d65..." to "3-9f86d0…".
func short(rev string) string {
	gen, hash, ok := strings.Cut(rev, "-")
	if !ok || len(hash) <= 6 {
		return rev
	}
	return gen + "-" + hash[:6] + "…"
}
