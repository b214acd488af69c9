package optimist_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
)

func TestGroupCommitBatchesWrites(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		group     bool
		wantFewer bool
	}{
		{name: "on", group: true, wantFewer: true},
		{name: "off", group: false, wantFewer: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			url := seed(t, s, "/counters/g", `{"n":0}`)
			c := newClient(s, optimist.WithGroupCommit(tt.group))
			const writers, increments = 16, 20
			errs := runWriters(writers, func(int) error {
				for range increments {
					if _, err := optimist.Update(t.Context(), c, url, func(v *counter) error {
						v.N++
						return nil
					}); err != nil {
						return err
					}
				}
				return nil
			})
			require.Empty(t, errs)
			body, _, _ := s.Document("/counters/g")
			require.JSONEq(t, `{"n":320}`, string(body))
			writes := s.Count(http.MethodPut, http.StatusOK)
			if tt.wantFewer {
				require.Less(t, writes, writers*increments, "mutations were batched")
			} else {
				require.Equal(t, writers*increments, writes, "one write per update")
			}
		})
	}
}

func TestGroupCommitCallerCancelled(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	url := seed(t, s, "/counters/x", `{"n":0}`)
	c := newClient(s)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := optimist.Update(ctx, c, url, func(v *counter) error { v.N++; return nil })
	require.ErrorIs(t, err, context.Canceled)
	body, _, _ := s.Document("/counters/x")
	require.JSONEq(t, `{"n":0}`, string(body))
}
