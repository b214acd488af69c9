package optimist_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/optimist-go/optimist"
)

// BenchmarkUpdateFloor measures one writer incrementing a counter against
// the physical floors, all in one run: "floor=PUT-only" is net/http
// sending a PUT with the last answer's ETag on a keep-alive connection
// (what an ETag memory allows: no read), "floor=GET+PUT" reads, decodes,
// increments, encodes and writes. The Update cases report their rate as
// x-PUT-floor and x-GET+PUT-floor; "update/default" also reports
// x-group-off, its rate over "update/group-commit-off".
func BenchmarkUpdateFloor(b *testing.B) {
	var putFloor, getPutFloor, groupOff float64
	b.Run("floor=PUT-only", func(b *testing.B) { putFloor = benchFloor(b, false) })
	b.Run("floor=GET+PUT", func(b *testing.B) { getPutFloor = benchFloor(b, true) })
	report := func(b *testing.B, rate float64) {
		if putFloor > 0 && getPutFloor > 0 { // measured, not filtered out by -bench
			b.ReportMetric(rate/putFloor, "x-PUT-floor")
			b.ReportMetric(rate/getPutFloor, "x-GET+PUT-floor")
		}
	}
	b.Run("update/group-commit-off", func(b *testing.B) {
		groupOff = benchUpdateOne(b, optimist.New(optimist.WithGroupCommit(false)))
		report(b, groupOff)
	})
	b.Run("update/default", func(b *testing.B) {
		rate := benchUpdateOne(b, optimist.New())
		report(b, rate)
		if groupOff > 0 {
			b.ReportMetric(rate/groupOff, "x-group-off")
		}
	})
}

// benchUpdateOne increments a counter b.N times with c and returns the
// rate in updates/s.
func benchUpdateOne(b *testing.B, c *optimist.Client) float64 {
	s := newBenchServer()
	defer s.Close()
	if err := s.Seed("/counters/c", []byte(`{"n":0}`)); err != nil {
		b.Fatal(err)
	}
	url := s.URL + "/counters/c"
	b.ReportAllocs()
	ctx := context.Background()
	for b.Loop() {
		if _, err := optimist.Update(ctx, c, url, func(v *counter) error {
			v.N++
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	body, _, _ := s.Document("/counters/c")
	if want := `{"n":` + strconv.Itoa(b.N) + `}`; string(body) != want {
		b.Fatalf("lost updates: got %s, want %s", body, want)
	}
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "updates/s")
	return rate
}

// benchFloor increments a counter b.N times with net/http and returns the
// rate.
func benchFloor(b *testing.B, read bool) float64 {
	f := newFloorWriter(b, read)
	b.ReportAllocs()
	for b.Loop() {
		f.step(b)
	}
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "updates/s")
	return rate
}

// BenchmarkUpdatePaired alternates one PUT-only floor increment and one
// Update increment (each against its own mock server) in every iteration,
// each going first every other time (takeTurns), and reports x-PUT-floor,
// the floor's total time over Update's: a ratio that load on the shared
// machine shifts less than one of rates measured one after the other.
func BenchmarkUpdatePaired(b *testing.B) {
	for _, group := range []bool{false, true} {
		b.Run(fmt.Sprintf("group-commit=%v", group), func(b *testing.B) {
			f := newFloorWriter(b, false)
			s := newBenchServer()
			defer s.Close()
			if err := s.Seed("/counters/c", []byte(`{"n":0}`)); err != nil {
				b.Fatal(err)
			}
			c, url, ctx := optimist.New(optimist.WithGroupCommit(group)), s.URL+"/counters/c", context.Background()
			spent, cpu := takeTurns(b, []func(){
				func() { f.step(b) },
				func() {
					if _, err := optimist.Update(ctx, c, url, func(v *counter) error {
						v.N++
						return nil
					}); err != nil {
						b.Fatal(err)
					}
				},
			})
			if body, _, _ := s.Document("/counters/c"); string(body) != `{"n":`+strconv.Itoa(b.N)+`}` {
				b.Fatalf("lost updates: got %s after %d", body, b.N)
			}
			reportRatio(b, spent, cpu, 0, 1, "x-PUT-floor")
		})
	}
}

// floorWriter increments a counter with net/http: with read, a GET before
// each PUT; without, each PUT carries the ETag of the previous answer and
// the counter value the client knows.
type floorWriter struct {
	hc   *http.Client
	url  string
	read bool
	etag string
	v    counter
}

func newFloorWriter(b *testing.B, read bool) *floorWriter {
	s := newBenchServer()
	b.Cleanup(s.Close)
	if err := s.Seed("/counters/c", []byte(`{"n":0}`)); err != nil {
		b.Fatal(err)
	}
	f := &floorWriter{hc: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		url: s.URL + "/counters/c", read: read}
	f.etag, f.v = floorGet(b, f.hc, f.url)
	return f
}

func (f *floorWriter) step(b *testing.B) {
	if f.read {
		f.etag, f.v = floorGet(b, f.hc, f.url)
	}
	f.v.N++
	body, _ := json.Marshal(f.v)
	req, _ := http.NewRequest(http.MethodPut, f.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("If-Match", f.etag)
	resp, err := f.hc.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatal(err, resp)
	}
	f.etag = resp.Header.Get("ETag")
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func floorGet(b *testing.B, hc *http.Client, url string) (string, counter) {
	resp, err := hc.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var v counter
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		b.Fatal(err)
	}
	return resp.Header.Get("ETag"), v
}
