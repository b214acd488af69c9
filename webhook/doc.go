// Package webhook verifies the signatures of webhook deliveries: a
// [Verifier] for each common scheme ([Standard] for Standard Webhooks,
// [Stripe], [GitHub]), and [ErrSignature] for a delivery that does not
// verify. Each verifier compares in constant time and accepts any of
// several secrets, for rotation.
//
// The package does no I/O and reads no clock: it returns a delivery's id
// and signed timestamp, and the receiver decides whether the timestamp is
// recent and the id new. It stands on its own, for anyone receiving
// webhooks; the Callbacks handler of
// [github.com/optimist-go/optimist] takes a Verifier and does those
// checks.
package webhook
