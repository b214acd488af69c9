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
//   - the creation of RFC 7396 merge patches, [CreatePatch];
//   - semantic equality of documents, [Equal]: member order does not
//     matter, strings compare by their decoded text and numbers by their
//     exact decimal value;
//   - member lookup by JSON Pointer (RFC 6901), [Lookup].
//
// Applying patches, RFC 7396 merge patches and RFC 6902 JSON Patches, is
// left to github.com/evanphx/json-patch/v5, which package optimist uses
// directly: applying a patch is what that library is for, and it is well
// kept. This package computes what to write; it never applies a patch.
//
// Errors start with "optimist:", as they reach callers of package
// optimist unchanged. An input that is not JSON gives an error matching
// [ErrNotJSON], which package optimist exports as its own ErrNotJSON.
package jsonmerge
