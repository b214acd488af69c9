package optimist_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/optimist-go/optimist"
)

// byteCounter counts the response body bytes a transport delivers.
type byteCounter struct {
	next  http.RoundTripper
	bytes atomic.Int64
}

func (bc *byteCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := bc.next.RoundTrip(r)
	if resp != nil {
		resp.Body = countingBody{resp.Body, &bc.bytes}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// BenchmarkRevalidatedGet reads a 10 KiB document again and again: with
// the record kept, each read is a 304 without a body; forgotten, each is a
// full 200. body-B/read is what crossed the wire per read.
func BenchmarkRevalidatedGet(b *testing.B) {
	doc := `{"text":"` + strings.Repeat("x", 10<<10) + `"}`
	for _, mode := range []string{"revalidated", "full"} {
		b.Run(mode, func(b *testing.B) {
			s := newBenchServer()
			defer s.Close()
			if err := s.Seed("/docs/big", []byte(doc)); err != nil {
				b.Fatal(err)
			}
			bc := &byteCounter{next: s.Client().Transport}
			c := optimist.New(optimist.WithHTTPClient(&http.Client{Transport: bc}))
			url := s.URL + "/docs/big"
			var v struct{ Text string }
			b.ReportAllocs()
			for b.Loop() {
				if mode == "full" {
					c.Forget(url)
				}
				if _, err := c.Get(b.Context(), url, &v); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(bc.bytes.Load())/float64(b.N), "body-B/read")
		})
	}
}
