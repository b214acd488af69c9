package optimist_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

// A blob another client has leased refuses writes without the lease: the
// answer is a lock, not a version conflict, and nothing is merged. Holding
// the lease with WithLock puts its id on every write made inside.
func ExampleClient_WithLock() {
	s := mock.NewServer()
	defer s.Close()
	_ = s.Seed("/blobs/report", []byte(`{"status":"draft","pages":3}`))
	ctx := context.Background()
	c := optimist.New()
	url := s.URL + "/blobs/report"

	if _, err := c.Get(ctx, url, nil); err != nil { // the version to write on
		panic(err)
	}
	s.LeaseFor("/blobs/report", 0) // another client's lease
	_, err := c.Put(ctx, url, map[string]any{"status": "final", "pages": 3}, nil)
	var lk *optimist.LockedError
	if errors.As(err, &lk) {
		fmt.Println("locked:", lk.Kind, lk.Code, "conflict:", errors.Is(err, optimist.ErrConflict))
	}
	s.Unlock("/blobs/report") // the other client lets go

	err = c.WithLock(ctx, url, optimist.AzureLease(15*time.Second), func(ctx context.Context) error {
		_, err := optimist.Update(ctx, c, url, func(v *map[string]any) error {
			(*v)["status"] = "final"
			return nil
		})
		return err
	})
	doc, _, _ := s.Document("/blobs/report")
	fmt.Println(err, string(doc))
	// Output:
	// locked: lease LeaseIdMissing conflict: false
	// <nil> {"status":"final","pages":3}
}

// LockOptions.MaxWait waits out a lock, here an operation in progress that
// asks for a second, and sends the very same write again.
func ExampleWithLocks() {
	s := mock.NewServer()
	defer s.Close()
	_ = s.Seed("/clusters/7", []byte(`{"nodes":3}`))
	ctx := context.Background()
	var waits []time.Duration
	c := optimist.New(
		optimist.WithLocks(optimist.LockOptions{MaxWait: time.Minute,
			OnLock: func(e optimist.LockEvent) { waits = append(waits, e.Wait) }}),
		optimist.WithClock(nil, func(ctx context.Context, d time.Duration) error {
			s.Unlock("/clusters/7") // the other operation ends while we wait
			return ctx.Err()
		}),
	)
	url := s.URL + "/clusters/7"
	if _, err := c.Get(ctx, url, nil); err != nil {
		fmt.Println(err)
		return
	}
	s.BusyFor("/clusters/7", time.Hour, "1")
	_, err := c.Put(ctx, url, map[string]int{"nodes": 5}, nil)
	doc, _, _ := s.Document("/clusters/7")
	fmt.Println(err, waits, string(doc))
	// Output: <nil> [1s] {"nodes":5}
}
