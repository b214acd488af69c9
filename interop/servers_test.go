package interop_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/webdav"

	"github.com/optimist-go/optimist"
)

// jsonCount reads {"count": n} from a GET of url.
func jsonCount(header http.Header) func(t *testing.T, url string) int {
	return func(t *testing.T, url string) int {
		t.Helper()
		body := mustStatus(t, http.MethodGet, url, header, "", http.StatusOK)
		var c counter
		if err := json.Unmarshal(body, &c); err != nil {
			t.Fatalf("GET %s: %v: %s", url, err, truncate(string(body), 200))
		}
		return c.Count
	}
}

// fileTarget is a server that stores what is PUT to a path (WebDAV).
func fileTarget(name, base string, control bool) target {
	return target{
		name: name,
		setup: func(t *testing.T, run string) string {
			u := base + "/" + run + ".json"
			mustStatus(t, http.MethodPut, u, http.Header{"Content-Type": {"application/json"}}, `{"count":0}`,
				http.StatusCreated, http.StatusNoContent, http.StatusOK)
			return u
		},
		count:   jsonCount(nil),
		control: control,
	}
}

// mod_dav serves a weak ETag for a second after each write and refuses it
// in If-Match, so conditional writes alone land at about one a second per
// file; and its If-Match check is not atomic (two PUTs on one version can
// both be accepted), so only a WebDAV lock around the read-modify-write
// is exact there.
func apacheTargets(t *testing.T) []target {
	base := serverURL(t, "OPTIMIST_INTEROP_APACHE")
	conditional := fileTarget("apache", base, false)
	conditional.racy = "mod_dav's If-Match check is not atomic"
	conditional.loads = []load{{4, 5}}
	conditional.budget = 90 * time.Second
	locked := fileTarget("apache/WithLock", base, false)
	locked.config = []optimist.Option{optimist.WithLocks(optimist.LockOptions{MaxWait: time.Minute})}
	locked.increment = func(ctx context.Context, c *optimist.Client, u string) error {
		return c.WithLock(ctx, u, optimist.WebDAVLock("optimist-interop", 30*time.Second), func(ctx context.Context) error {
			return jsonIncrement(ctx, c, u)
		})
	}
	locked.budget = 5 * time.Minute
	locked.losesLocks = "mod_dav's lock database drops about one lock in 300 under contention: " +
		"its log says \"a State-token was supplied, but it was not found in the locks on this resource\""
	return []target{conditional, locked}
}

func nginxTargets(t *testing.T) []target {
	return controlTargets(fileTarget("nginx", serverURL(t, "OPTIMIST_INTEROP_NGINX"), true))
}

func webdavTargets(t *testing.T) []target {
	srv := httptest.NewServer(&webdav.Handler{FileSystem: webdav.NewMemFS(), LockSystem: webdav.NewMemLS()})
	t.Cleanup(srv.Close)
	return controlTargets(fileTarget("x-net-webdav", srv.URL, true))
}

func jsonServerTargets(t *testing.T) []target {
	base := serverURL(t, "OPTIMIST_INTEROP_JSON_SERVER")
	tg := target{
		name: "json-server",
		setup: func(t *testing.T, run string) string {
			mustStatus(t, http.MethodPost, base+"/counters", http.Header{"Content-Type": {"application/json"}},
				`{"id":"`+run+`","count":0}`, http.StatusCreated)
			return base + "/counters/" + run
		},
		count:   jsonCount(nil),
		control: true,
	}
	return controlTargets(tg)
}

// controlTargets returns a control as the README configures it, and with
// WithPreconditionCheck, which must refuse every write and lose nothing.
func controlTargets(tg target) []target {
	guarded := tg
	guarded.name += "+check"
	guarded.control, guarded.refuses = false, true
	guarded.config = append(guarded.config, optimist.WithPreconditionCheck())
	return []target{tg, guarded}
}

func pouchdbTargets(t *testing.T) []target {
	base := serverURL(t, "OPTIMIST_INTEROP_POUCHDB")
	setup := func(t *testing.T, run string) string {
		mustStatus(t, http.MethodPut, base+"/interop", nil, "", http.StatusCreated, http.StatusPreconditionFailed)
		u := base + "/interop/" + run
		mustStatus(t, http.MethodPut, u, http.Header{"Content-Type": {"application/json"}}, `{"count":0}`, http.StatusCreated)
		return u
	}
	return []target{
		{name: "pouchdb/_rev", setup: setup, count: jsonCount(nil),
			config: []optimist.Option{optimist.WithVersionToken(optimist.JSONField("/_rev"))}},
		{name: "pouchdb/CouchDB()", setup: setup, count: jsonCount(nil),
			config: []optimist.Option{optimist.CouchDB()}},
	}
}

// etcdNode is an etcd v2 keys API answer.
type etcdNode struct {
	Node struct {
		Value string `json:"value"`
	} `json:"node"`
}

func etcdTargets(t *testing.T) []target {
	base := serverURL(t, "OPTIMIST_INTEROP_ETCD")
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	count := func(t *testing.T, u string) int {
		var n etcdNode
		if err := json.Unmarshal(mustStatus(t, http.MethodGet, u, nil, "", http.StatusOK), &n); err != nil {
			t.Fatal(err)
		}
		v, err := strconv.Atoi(n.Node.Value)
		if err != nil {
			return -1 << 20 // wiped: an empty or non-numeric value counts as a loss
		}
		return v
	}
	increment := func(ctx context.Context, c *optimist.Client, u string) error {
		_, err := optimist.Update(ctx, c, u, func(n *etcdNode) error {
			v, err := strconv.Atoi(n.Node.Value)
			if err != nil {
				return errors.New("value is not a number: " + strconv.Quote(n.Node.Value))
			}
			n.Node.Value = strconv.Itoa(v + 1)
			return nil
		})
		return err
	}
	setup := func(t *testing.T, run string) string {
		u := base + "/v2/keys/interop/" + run
		mustStatus(t, http.MethodPut, u, form, "value=0", http.StatusCreated, http.StatusOK)
		return u
	}
	return []target{
		{name: "etcd/X-Etcd-Index", setup: setup, count: count, increment: increment,
			config: []optimist.Option{optimist.WithVersionToken(optimist.QueryParam("prevIndex").FromHeader("X-Etcd-Index"))}},
		{name: "etcd/EtcdV2()", setup: setup, count: count, increment: increment,
			config: []optimist.Option{optimist.EtcdV2()}},
	}
}

// The Radicale counter is an event whose SUMMARY is "count=N".
const icsCounter = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//optimist//interop//EN\r\n" +
	"BEGIN:VEVENT\r\nUID:counter@optimist\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260101T000000Z\r\n" +
	"SUMMARY:count=0\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

var icsSummary = regexp.MustCompile(`SUMMARY:count=(\d+)`)

func radicaleTargets(t *testing.T) []target {
	base := serverURL(t, "OPTIMIST_INTEROP_RADICALE")
	setup := func(t *testing.T, run string) string {
		mustStatus(t, "MKCOL", base+"/interop/", nil, "", http.StatusCreated, http.StatusMethodNotAllowed, http.StatusConflict)
		mustStatus(t, "MKCALENDAR", base+"/interop/"+run+"/", nil, "", http.StatusCreated, http.StatusMethodNotAllowed, http.StatusConflict)
		u := base + "/interop/" + run + "/counter.ics"
		mustStatus(t, http.MethodPut, u, http.Header{"Content-Type": {"text/calendar"}}, icsCounter, http.StatusCreated, http.StatusNoContent)
		return u
	}
	count := func(t *testing.T, u string) int {
		m := icsSummary.FindSubmatch(mustStatus(t, http.MethodGet, u, nil, "", http.StatusOK))
		if m == nil {
			t.Fatalf("GET %s: no count in the event", u)
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	// Radicale takes about 75 writes/s: 32 writers need 15-20 s.
	return []target{
		{name: "radicale/UpdateBytes", setup: setup, count: count, increment: icsUpdateBytes, budget: 45 * time.Second},
		// The same by hand, through Client.Do, as a baseline.
		{name: "radicale/hand-loop", setup: setup, count: count, increment: icsIncrement, budget: 45 * time.Second},
	}
}

// icsUpdateBytes increments the event's count with UpdateBytes: the bytes
// are changed again after every conflict, and written with the event's
// own media type.
func icsUpdateBytes(ctx context.Context, c *optimist.Client, u string) error {
	_, err := c.UpdateBytes(ctx, u, func(cur []byte) ([]byte, error) {
		m := icsSummary.FindSubmatch(cur)
		if m == nil {
			return nil, errors.New("no count in the event")
		}
		n, _ := strconv.Atoi(string(m[1]))
		return icsSummary.ReplaceAll(cur, []byte("SUMMARY:count="+strconv.Itoa(n+1))), nil
	})
	return err
}

// icsIncrement reads the event, rewrites its SUMMARY and writes it back
// through Client.Do with If-Match on the version read; on a conflict it
// starts over. Do hands back the 412 of a body that is not JSON as it is.
func icsIncrement(ctx context.Context, c *optimist.Client, u string) error {
	for attempt := 0; ; attempt++ {
		if attempt > 0 { // full jitter over 20 ms doubling to 250 ms, as optimist's conflict backoff
			ceiling := min(20*time.Millisecond<<min(attempt-1, 4), 250*time.Millisecond)
			select {
			case <-time.After(time.Duration(rand.Int64N(int64(ceiling)))):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		resp, err := c.Get(ctx, u, nil)
		if err != nil {
			return err
		}
		m := icsSummary.FindSubmatch(resp.Body)
		if m == nil {
			return errors.New("no count in the event")
		}
		n, _ := strconv.Atoi(string(m[1]))
		next := icsSummary.ReplaceAll(resp.Body, []byte("SUMMARY:count="+strconv.Itoa(n+1)))
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(next))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "text/calendar")
		req.Header.Set("If-Match", string(resp.ETag))
		put, err := c.Do(req)
		switch {
		case errors.Is(err, optimist.ErrConflict):
			continue
		case err != nil:
			return err
		}
		put.Body.Close()
		switch {
		case put.StatusCode == http.StatusPreconditionFailed:
			continue
		case put.StatusCode >= 300:
			return fmt.Errorf("PUT %s: %s", u, put.Status)
		}
		return nil
	}
}

func azuriteBlobTargets(t *testing.T) []target {
	base := serverURL(t, "OPTIMIST_INTEROP_AZURITE_BLOB")
	sas := accountSAS()
	header := http.Header{"X-Ms-Version": {"2019-12-12"}, "X-Ms-Blob-Type": {"BlockBlob"}}
	return []target{{
		name:   "azurite-blob",
		header: header,
		setup: func(t *testing.T, run string) string {
			mustStatus(t, http.MethodPut, base+"/interop?restype=container&"+sas, header, "", http.StatusCreated, http.StatusConflict)
			u := base + "/interop/" + run + ".json?" + sas
			h := header.Clone()
			h.Set("Content-Type", "application/json")
			mustStatus(t, http.MethodPut, u, h, `{"count":0}`, http.StatusCreated)
			return u
		},
		count: jsonCount(header),
	}}
}

func azuriteTableTargets(t *testing.T) []target {
	base := serverURL(t, "OPTIMIST_INTEROP_AZURITE_TABLE")
	sas := accountSAS()
	header := http.Header{"X-Ms-Version": {"2019-02-02"}}
	read := header.Clone()
	read.Set("Accept", "application/json;odata=nometadata")
	setup := func(t *testing.T, run string) string {
		h := read.Clone()
		h.Set("Content-Type", "application/json")
		mustStatus(t, http.MethodPost, base+"/Tables?"+sas, h, `{"TableName":"interop"}`, http.StatusCreated, http.StatusNoContent, http.StatusConflict)
		u := base + "/interop(PartitionKey='p',RowKey='" + url.PathEscape(run) + "')?" + sas
		mustStatus(t, http.MethodPut, u, h, `{"count":0}`, http.StatusNoContent)
		return u
	}
	withAccept := header.Clone()
	withAccept.Set("Accept", "application/json;odata=nometadata")
	return []target{
		{name: "azurite-table", header: header, setup: setup, count: jsonCount(read)},
		// The caller's own Accept is kept, on the conflict re-read too.
		{name: "azurite-table/Accept", header: withAccept, setup: setup, count: jsonCount(read)},
		{name: "azurite-table/WithServerMembers", header: header, setup: setup, count: jsonCount(read),
			config: []optimist.Option{optimist.WithMemory(optimist.MemoryOptions{ServerMembers: []string{"/odata.metadata"}})}},
		{name: "azurite-table/AzureTable()", header: header, setup: setup, count: jsonCount(read),
			config: []optimist.Option{optimist.AzureTable()}},
		// The probe finds If-None-Match: * ignored (a PUT upserts) and
		// If-Match honoured: the check lets the conditional writes through.
		{name: "azurite-table/AzureTable()+check", header: header, setup: setup, count: jsonCount(read), probing: true,
			config: []optimist.Option{optimist.AzureTable(), optimist.WithPreconditionCheck()}},
	}
}

// TestEtcdCreateOnly: with EtcdV2, CreateOnly is etcd's ?prevExist=false:
// the first create lands, a second is refused, and the created key's
// version is remembered for the next Update.
func TestEtcdCreateOnly(t *testing.T) {
	base := serverURL(t, "OPTIMIST_INTEROP_ETCD")
	u := base + "/v2/keys/interop/create-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	doc := map[string]any{"node": map[string]any{"value": "1"}}
	c := optimist.New(optimist.EtcdV2())
	if _, err := c.Put(t.Context(), u, doc, nil, optimist.CreateOnly()); err != nil {
		t.Fatalf("first create: %v", err)
	}
	if _, err := optimist.New(optimist.EtcdV2()).Put(t.Context(), u, doc, nil, optimist.CreateOnly()); !errors.Is(err, optimist.ErrPreconditionFailed) {
		t.Fatalf("second create: %v, want a 412", err)
	}
	got, err := optimist.Update(t.Context(), c, u, func(n *etcdNode) error { n.Node.Value += "2"; return nil })
	if err != nil || got.Node.Value != "12" {
		t.Fatalf("update after the create: %q, %v", got.Node.Value, err)
	}
}
