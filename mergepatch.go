package optimist

import (
	"fmt"

	jsonpatch "github.com/evanphx/json-patch/v5"
)

// Applying RFC 7396 merge patches, for PATCH writes: the document a patch
// makes of a remembered base. Applying is left to json-patch; creating a
// patch is internal/jsonmerge's CreatePatch.

// applyMergePatch applies an RFC 7396 merge patch to doc.
func applyMergePatch(doc, patch []byte) ([]byte, error) {
	out, err := jsonpatch.MergePatch(doc, patch)
	if err != nil {
		return nil, fmt.Errorf("%w: applying merge patch: %w", ErrNotJSON, err)
	}
	return out, nil
}
