// Package interop_test runs optimist against real servers started by
// interop/start.sh; see interop/README.md. Each test skips when its
// server's URL is not in the environment.
package interop_test

import (
	"testing"

	"github.com/optimist-go/optimist"
)

// servers lists every server of the suite, each as its targets.
var servers = []struct {
	name    string
	targets func(t *testing.T) []target
}{
	{"azurite-blob", azuriteBlobTargets},
	{"azurite-table", azuriteTableTargets},
	{"apache", apacheTargets},
	{"pouchdb", pouchdbTargets},
	{"etcd", etcdTargets},
	{"radicale", radicaleTargets},
	{"nginx", nginxTargets},
	{"x-net-webdav", webdavTargets},
	{"json-server", jsonServerTargets},
}

// TestInterop runs contended increments, 8 writers × 25 and 32 × 10, on
// one shared Client and on a Client per writer, against every server.
func TestInterop(t *testing.T) {
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			for _, tg := range s.targets(t) {
				t.Run(tg.name, func(t *testing.T) { runTarget(t, tg) })
			}
		})
	}
}

// TestProbe probes a fresh resource on every server: the controls must be
// found ignoring preconditions, the others honouring them.
func TestProbe(t *testing.T) {
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			tg := s.targets(t)[0]
			if tg.name == "etcd/X-Etcd-Index" || tg.name == "pouchdb/_rev" {
				t.Skip("its version is not in If-Match: Probe tests ETag preconditions only")
			}
			url := tg.setup(t, "probe")
			opts := []optimist.RequestOption{optimist.Header("Accept", "application/json")}
			for k, vs := range tg.header {
				opts = append(opts, optimist.Header(k, vs[0]))
			}
			before := tg.count(t, url)
			res, err := optimist.New().Probe(t.Context(), url, opts...)
			if err != nil {
				t.Fatal(err)
			}
			after := tg.count(t, url)
			t.Logf("%s: ETag %s, Last-Modified %q, If-Match %s (%d), If-None-Match: * %s (%d)", s.name, res.ETag, res.LastModified,
				res.IfMatch, res.IfMatchStatus, res.IfNoneMatch, res.IfNoneMatchStatus)
			if before != after {
				t.Errorf("the probe changed the count from %d to %d", before, after)
			}
			want := optimist.PreconditionHonoured
			if tg.control {
				want = optimist.PreconditionIgnored
			}
			if res.IfMatch != want {
				t.Errorf("If-Match %s, want %s", res.IfMatch, want)
			}
			if tg.control && res.IfNoneMatch != optimist.PreconditionIgnored {
				t.Errorf("If-None-Match: * %s, want ignored", res.IfNoneMatch)
			}
		})
	}
}
