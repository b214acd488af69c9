package interop_test

// knownBroken lists the target/mode runs that fail today with the
// configuration the README documents, each with what fixes it. Such a run
// is reported as skipped, with its measured numbers; one that passes logs
// "PASSES NOW". Remove an entry when its fix lands.
var knownBroken = map[string]string{
	"azurite-table/per-writer": "no preset: Azure Table adds odata.metadata to every representation it sends, " +
		"and a client cannot tell a server's member from the caller's; AzureTable(), the caller's own Accept " +
		"(odata=nometadata) or MemoryOptions.ServerMembers keep it out (see those targets)",
	"etcd/X-Etcd-Index/shared": "the old README recipe: X-Etcd-Index is store-wide and Put sends JSON where etcd " +
		"wants value=…, so the value is wiped; EtcdV2() is exact",
	"etcd/X-Etcd-Index/per-writer": "as etcd/X-Etcd-Index/shared",
}
