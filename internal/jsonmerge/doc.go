// Package jsonmerge is the pure JSON half of optimist: it does no I/O,
// reads no clock and keeps no state, so all of it is table-tested and
// fuzzed.
//
// It owns:
//
//   - parsing and validation: [Valid] accepts exactly what encoding/json's
//     Valid does, in one pass; the merge's own parser also rejects invalid
//     UTF-8 and member names repeated in one object;
//   - the three-way merge of JSON documents, [Merge], which reports every
//     member both sides changed differently as a [*ConflictError];
//   - RFC 7396 merge patches: creating one, [CreatePatch], and applying
//     one, [ApplyPatch];
//   - semantic equality of documents, [Equal]: member order does not
//     matter, strings compare by their decoded text and numbers by their
//     exact decimal value;
//   - member lookup by JSON Pointer (RFC 6901), [Lookup].
//
// RFC 7396 merge patches are applied here, on the same parser, and not by
// github.com/evanphx/json-patch/v5: its MergePatch (v5.9.11) drops the
// null members of objects inside arrays of a patch, so that
// {"a":[{"x":null,"y":1}]} gives {"a":[{"y":1}]}, where RFC 7396, section
// 2, writes an array of a patch as it is. Upstream issues
// evanphx/json-patch#132 and #143 were fixed for bare nulls in arrays
// ([null] is kept) only. json-patch is used for applying RFC 6902 JSON
// Patches only, by package optimist (version.go).
//
// Errors start with "optimist:", as they reach callers of package
// optimist unchanged. An input that is not JSON gives an error matching
// [ErrNotJSON], which package optimist exports as its own ErrNotJSON.
package jsonmerge
