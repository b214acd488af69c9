package interop_test

// knownBroken lists the target/mode runs that fail today with the
// configuration the README documents, each with what fixes it. Such a run
// is reported as skipped, with its measured numbers; one that passes logs
// "PASSES NOW". Remove an entry when its fix lands.
var knownBroken = map[string]string{
	"azurite-table/per-writer": "issue 11: the re-read asks for application/json, so odata.metadata comes back and is " +
		"written back, then returned twice; AzureTable() forces odata=nometadata",
	"apache/shared": "issue 14 (weak ETags): mod_dav serves a weak ETag for a second after each write and refuses it " +
		"in If-Match; writes crawl and the run budget ends",
	"apache/per-writer": "issue 14 (weak ETags): the conflict loop gives up with \"server keeps refusing the weak " +
		"ETag\"; mod_dav's precondition check is not atomic either (needs the lock issue's WebDAV LOCK)",
	"etcd/README/shared": "issue 14 (presets): X-Etcd-Index is store-wide and Put sends JSON where etcd wants " +
		"value=…, so the value is wiped; EtcdV2() is exact",
	"etcd/README/per-writer": "issue 14 (presets): as etcd/README/shared",
	"radicale/Update/shared": "issue 14 (non-JSON resources): Update is for JSON documents only; " +
		"radicale/hand-loop shows the server is exact",
	"radicale/Update/per-writer": "issue 14 (non-JSON resources): as radicale/Update/shared",
}
