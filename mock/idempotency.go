package mock

import (
	"crypto/sha256"
	"net/http"
)

// idempotencyEntry is what the server knows of one Idempotency-Key.
type idempotencyEntry struct {
	fingerprint [sha256.Size]byte
	seq         uint64    // tells this use of the key from an earlier one
	res         *response // nil while the first request is in progress
}

// idempotencyStore keeps the answers of requests with an Idempotency-Key
// (draft-ietf-httpapi-idempotency-key-header), the most recent limit keys.
type idempotencyStore struct {
	entries map[string]*idempotencyEntry
	order   []idempotencyUse // oldest first
	seq     uint64
	limit   int
}

type idempotencyUse struct {
	key string
	seq uint64
}

func newIdempotencyStore(limit int) idempotencyStore {
	return idempotencyStore{entries: map[string]*idempotencyEntry{}, limit: limit}
}

// fingerprint identifies a request for its Idempotency-Key: method, target
// (path and query) and body.
func fingerprint(r *http.Request, body []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.RequestURI() + "\n"))
	h.Write(body)
	var fp [sha256.Size]byte
	h.Sum(fp[:0])
	return fp
}

// begin looks key up. When the key is free, begin reserves it for this
// request and gives the claim, which the request must pass to finish.
// Otherwise it gives the answer to send: a replay of the stored answer
// (replayed true), 409 while the first request is in progress, or 422 for
// another request under the key.
func (s *idempotencyStore) begin(key string, fp [sha256.Size]byte) (
	claim *idempotencyEntry, res *response, replayed bool,
) {
	e := s.entries[key]
	switch {
	case e == nil:
		s.seq++
		claim = &idempotencyEntry{fingerprint: fp, seq: s.seq}
		s.entries[key] = claim
		s.order = append(s.order, idempotencyUse{key, s.seq})
		s.evict()
		return claim, nil, false
	case e.fingerprint != fp:
		return nil, problem(http.StatusUnprocessableEntity, ProblemIdempotencyKeyReused,
			"Idempotency-Key is already used",
			"the Idempotency-Key was used for another request (method, path or body)"), false
	case e.res == nil:
		return nil, problem(http.StatusConflict, ProblemIdempotencyKeyInUse,
			"A request is outstanding for this Idempotency-Key",
			"a request with the same Idempotency-Key is being processed"), false
	}
	replay := &response{status: e.res.status, header: e.res.header.Clone(), body: e.res.body}
	replay.header.Set("Idempotent-Replayed", "true")
	return nil, replay, true
}

// finish stores res, the answer to the request holding claim on key. Only
// a 2xx answer is stored: any other releases the key, so that the request may
// be retried (a failed precondition, say, changed nothing).
func (s *idempotencyStore) finish(key string, claim *idempotencyEntry, res *response) {
	if s.entries[key] != claim { // evicted while in progress
		return
	}
	e := claim
	if res.status < 200 || res.status > 299 {
		delete(s.entries, key)
		return
	}
	e.res = res
}

// evict forgets the oldest keys beyond the limit.
func (s *idempotencyStore) evict() {
	for len(s.order) > s.limit {
		u := s.order[0]
		s.order = s.order[1:]
		if e := s.entries[u.key]; e != nil && e.seq == u.seq {
			delete(s.entries, u.key)
		}
	}
}
