package jsonmerge_test

import (
	"errors"
	"fmt"

	"github.com/optimist-go/optimist/internal/jsonmerge"
)

// Merge is the three-way merge the default resolver of package optimist
// uses: each side's changes survive, and a member both changed
// differently is reported.
func ExampleMerge() {
	base := []byte(`{"title":"Draft","tags":["a"],"words":120}`)
	ours := []byte(`{"title":"Final","tags":["a"],"words":120}`)
	theirs := []byte(`{"title":"Draft","tags":["a","b"],"words":135}`)
	merged, err := jsonmerge.Merge(base, ours, theirs, nil)
	fmt.Println(string(merged), err)

	_, err = jsonmerge.Merge(base, ours, []byte(`{"title":"Published","tags":["a"],"words":120}`), nil)
	var conflict *jsonmerge.ConflictError
	if errors.As(err, &conflict) {
		fmt.Println("conflict at", conflict.Conflicts[0].Pointer)
	}
	// Output:
	// {"title":"Final","tags":["a","b"],"words":135} <nil>
	// conflict at /title
}

// CreatePatch expresses a resolved document as the merge patch a PATCH
// write sends.
func ExampleCreatePatch() {
	from := []byte(`{"title":"Draft","tags":["a"],"meta":{"words":120,"lang":"en"}}`)
	to := []byte(`{"title":"Final","tags":["a"],"meta":{"words":135}}`)
	patch, err := jsonmerge.CreatePatch(from, to)
	fmt.Println(string(patch), err)
	// Output:
	// {"title":"Final","meta":{"lang":null,"words":135}} <nil>
}

// ApplyPatch gives the document a PATCH write makes: null deletes a
// member, except inside an array, which the patch carries as it is.
func ExampleApplyPatch() {
	doc := []byte(`{"title":"Draft","tags":[],"meta":{"words":120,"lang":"en"}}`)
	patch := []byte(`{"meta":{"lang":null},"tags":[{"x":null,"y":1}],"state":"review"}`)
	got, err := jsonmerge.ApplyPatch(doc, patch)
	fmt.Println(string(got), err)
	// Output:
	// {"title":"Draft","tags":[{"x":null,"y":1}],"meta":{"words":120},"state":"review"} <nil>
}
