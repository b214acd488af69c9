package optimist

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Presets: one option per API whose optimistic concurrency is not plain
// ETag and If-Match. Each is ordinary public API a caller could have
// written (a [VersionToken], an [http.RoundTripper]), named and tested
// against the real server by the interop suite (interop/).

// CouchDB configures the client for CouchDB and PouchDB Server: a
// document's version is its _rev member, a write carries it in its body
// (a DELETE in If-Match), and a stale _rev is answered 409 Conflict,
// which the client resolves as a version conflict. The write answer
// {"ok":true,"rev":"2-…"} updates the remembered version. It is
// WithVersionToken(JSONField("/_rev"), paths...): with paths, only the
// requests whose URL path matches one of them are CouchDB's.
func CouchDB(paths ...string) Option { return WithVersionToken(JSONField("/_rev"), paths...) }

// EtcdV2 configures the client for the etcd v2 keys API (etcd 3.4 and
// 3.5 with --enable-v2). Reads return etcd's envelope,
// {"action":"get","node":{"key":…,"value":…,"modifiedIndex":n,…}}, and
// that envelope is the document Update and the resolvers see: change its
// node.value. The version is node.modifiedIndex (not X-Etcd-Index, which
// is the index of the whole store); a write carries it as ?prevIndex=n,
// and its body is sent as the form etcd wants, value=<node.value>, with
// every other member of the document left out. etcd answers a stale
// prevIndex 412, a version conflict. [CreateOnly] sends ?prevExist=false,
// which etcd answers 412 when the key exists.
//
// Not covered: TTLs, directories and ?prevValue= are not used;
// [Client.Patch] has no meaning for etcd. With paths, only the requests
// whose URL path matches one of them (see [WithVersionToken]) are etcd's.
func EtcdV2(paths ...string) Option { return WithVersionToken(etcdV2Token(), paths...) }

// etcdV2Token is the version token of [EtcdV2].
func etcdV2Token() VersionToken {
	return VersionToken{
		Field: "/node/modifiedIndex",
		Read: func(_ http.Header, body []byte) string {
			v, _ := memberAt(body, "/node/modifiedIndex") // "" for a body without one
			return string(v)
		},
		Write: func(w *VersionedWrite, version string) error {
			if _, err := strconv.ParseUint(version, 10, 64); err != nil {
				return fmt.Errorf("etcd v2: modifiedIndex %q is not an index", version)
			}
			w.Query.Set("prevIndex", version)
			return etcdForm(w)
		},
		Create: func(w *VersionedWrite) error {
			w.Query.Set("prevExist", "false")
			return etcdForm(w)
		},
	}
}

// etcdForm turns w's body, an etcd envelope, into the form etcd takes:
// value=<node.value>. A write without a body (a DELETE) is left alone.
func etcdForm(w *VersionedWrite) error {
	if len(w.Body) == 0 {
		return nil
	}
	raw, ok := memberAt(w.Body, "/node/value")
	var value string
	if !ok || json.Unmarshal(raw, &value) != nil {
		return errors.New("etcd v2: the document to write has no string node.value")
	}
	w.Body = []byte(url.Values{"value": {value}}.Encode())
	w.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return nil
}

// AzureTable configures the client for Azure Table storage (and
// Azurite): every request asks for JSON without OData metadata
// (Accept: application/json;odata=nometadata), so that the entity the
// client reads, merges and writes back carries no odata.metadata or
// odata.etag member; the service's weak ETag, W/"datetime'…'", is the
// version, and the service accepts it in If-Match. Authentication
// (SharedKey or a SAS in the URL) and x-ms-version are the caller's.
//
// The Accept header is set in the transport of the client's HTTP client
// (whether [WithHTTPClient] comes before or after this option), so that
// every request carries it, reads made by Update included.
//
// Not covered: [CreateOnly] sends PUT with If-None-Match: *, which the
// service treats as an upsert; create an entity with a POST to the table.
func AzureTable() Option {
	return func(c *Client) {
		wrapTransport(c, func(next http.RoundTripper) http.RoundTripper {
			return acceptTransport{next: next, accept: "application/json;odata=nometadata"}
		})
	}
}

// acceptTransport sends every request with Accept: accept.
type acceptTransport struct {
	next   http.RoundTripper
	accept string
}

func (t acceptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Accept") != t.accept {
		r := req.Clone(req.Context()) // a RoundTripper must not change its request
		r.Header.Set("Accept", t.accept)
		req = r
	}
	return t.next.RoundTrip(req)
}

// wrapTransport makes c wrap the transport of its HTTP client with wrap,
// once every option has been applied (see wrapHTTPClient), so that it
// does not matter whether [WithHTTPClient] comes before or after.
func wrapTransport(c *Client, wrap func(http.RoundTripper) http.RoundTripper) {
	c.transportWraps = append(c.transportWraps, wrap)
}
