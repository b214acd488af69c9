package main

import (
	"testing"

	"github.com/optimist-go/optimist/examples/internal/demotest"
	"github.com/optimist-go/optimist/mock"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	t.Parallel()
	demotest.Output(t, run, nil,
		"the phone adds 2 pears and saves: [apple x1, pear x2]\n",
		"this device changed [apple x1] to [apple x2, milk x1]\nsaved: [apple x2, pear x2, milk x1]\n",
		"this device changed [apple x1, pear x2] to [apple x1]\nsaved: [apple x2, milk x1]\n",
		"cart 42 on the server: [apple x2, milk x1]\n")
}

func TestRunWithURL(t *testing.T) {
	t.Parallel()
	srv := mock.NewServer(mock.WithConflictStatus(409), mock.WithRequireIfMatch())
	t.Cleanup(srv.Close)
	for range 2 {
		demotest.Output(t, run, []string{"-url", srv.URL}, "cart 42 on the server: [apple x2, milk x1]\n")
	}
	require.Equal(t, 4, srv.Count("PUT", 409), "two conflicts a run")
}

func TestMergeCarts(t *testing.T) {
	t.Parallel()
	cart := func(items ...Item) *Cart { return &Cart{Items: append([]Item{}, items...)} }
	tests := []struct {
		name               string
		base, ours, theirs *Cart
		want               *Cart
	}{
		{"both add", cart(Item{"a", 1}), cart(Item{"a", 1}, Item{"b", 1}), cart(Item{"a", 1}, Item{"c", 2}),
			cart(Item{"a", 1}, Item{"c", 2}, Item{"b", 1})},
		{"both add the same", cart(), cart(Item{"a", 1}), cart(Item{"a", 2}), cart(Item{"a", 3})},
		{"ours removes", cart(Item{"a", 1}, Item{"b", 1}), cart(Item{"b", 1}), cart(Item{"a", 1}, Item{"b", 2}),
			cart(Item{"b", 2})},
		{"theirs removed what ours raised", cart(Item{"a", 1}), cart(Item{"a", 2}), cart(), cart(Item{"a", 1})},
		{"both remove", cart(Item{"a", 1}), cart(), cart(), cart()},
		{"no base", nil, cart(Item{"a", 1}), cart(Item{"a", 1}), cart(Item{"a", 2})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := mergeCarts(tt.base, tt.ours, tt.theirs)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
