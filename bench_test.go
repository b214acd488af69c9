package optimist_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/internal/jsonmerge"
	"github.com/optimist-go/optimist/mock"
)

// newBenchServer is a mock server for a benchmark: one that keeps no
// request log (its counters still count). The log holds the last 10,000
// requests with a copy of each header, megabytes of pointers in the
// benchmark's own heap that every garbage collection cycle marks again,
// so each byte the client under test allocates would be charged for the
// server's bookkeeping; a server in its own process costs the client
// nothing of the kind.
func newBenchServer(opts ...mock.Option) *mock.Server {
	return mock.NewServer(append([]mock.Option{mock.WithLogLimit(0)}, opts...)...)
}

// benchCounter runs total increments of one counter over writers
// goroutines, each with the client newClient gives it, and reports
// updates/s and attempts/update. It returns the rate.
func benchCounter(b *testing.B, writers int, newClient func(s *mock.Server) *optimist.Client) float64 {
	s := newBenchServer()
	defer s.Close()
	if err := s.Seed("/counters/c", []byte(`{"n":0}`)); err != nil {
		b.Fatal(err)
	}
	url := s.URL + "/counters/c"
	clients := make([]*optimist.Client, writers)
	for i := range clients {
		clients[i] = newClient(s)
	}
	var next atomic.Int64
	b.ResetTimer()
	runWriters(writers, func(i int) error {
		for next.Add(1) <= int64(b.N) {
			if _, err := optimist.Update(context.Background(), clients[i], url, func(v *counter) error {
				v.N++
				return nil
			}); err != nil {
				b.Error(err)
				return err
			}
		}
		return nil
	})
	b.StopTimer()
	body, _, _ := s.Document("/counters/c")
	if want := fmt.Sprintf(`{"n":%d}`, b.N); string(body) != want {
		b.Fatalf("lost updates: got %s, want %s", body, want)
	}
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "updates/s")
	b.ReportMetric(float64(s.Count(http.MethodPut, 0))/float64(b.N), "attempts/update")
	b.ReportMetric(float64(s.Count(http.MethodGet, 0))/float64(b.N), "reads/update")
	return rate
}

// perWriterClient gives each writer a client with its own connection
// pool, as separate processes would have. (A shared pool would measure
// net/http's connection churn: it keeps 2 idle connections per host.)
func perWriterClient(*mock.Server) *optimist.Client {
	return optimist.New()
}

// BenchmarkContendedUpdate: writers with a client each (as separate
// processes would be) increment one counter.
func BenchmarkContendedUpdate(b *testing.B) {
	for _, writers := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			benchCounter(b, writers, perWriterClient)
		})
	}
}

// BenchmarkContention compares one shared client (group commit), a client
// per writer, and the loop most code uses today. efficiency is updates/s
// over the single-writer rate measured first in the same run.
func BenchmarkContention(b *testing.B) {
	var single float64
	b.Run("writers=1/serial", func(b *testing.B) {
		single = benchCounter(b, 1, perWriterClient)
	})
	for _, writers := range []int{1, 8, 32, 128} {
		b.Run(fmt.Sprintf("writers=%d/shared", writers), func(b *testing.B) {
			shared := optimist.New()
			rate := benchCounter(b, writers, func(s *mock.Server) *optimist.Client { return shared })
			b.ReportMetric(rate/single, "efficiency")
		})
		b.Run(fmt.Sprintf("writers=%d/per-writer", writers), func(b *testing.B) {
			rate := benchCounter(b, writers, perWriterClient)
			b.ReportMetric(rate/single, "efficiency")
		})
		b.Run(fmt.Sprintf("writers=%d/baseline", writers), func(b *testing.B) {
			rate := benchBaseline(b, writers)
			b.ReportMetric(rate/single, "efficiency")
		})
	}
}

// benchBaseline is the common loop: GET, modify, PUT with If-Match; on a
// conflict sleep 10 ms (jitter 0.1) and retry, at most 5 tries.
func benchBaseline(b *testing.B, writers int) float64 {
	s := newBenchServer()
	defer s.Close()
	_ = s.Seed("/counters/c", []byte(`{"n":0}`))
	url := s.URL + "/counters/c"
	var next, lost atomic.Int64
	b.ResetTimer()
	runWriters(writers, func(int) error {
		hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		for next.Add(1) <= int64(b.N) {
			if !naiveIncrement(hc, url) {
				lost.Add(1)
			}
		}
		return nil
	})
	b.StopTimer()
	rate := float64(b.N-int(lost.Load())) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "updates/s")
	b.ReportMetric(float64(s.Count(http.MethodPut, 0))/float64(b.N), "attempts/update")
	b.ReportMetric(float64(lost.Load()), "lost")
	return rate
}

func naiveIncrement(hc *http.Client, url string) bool {
	for range 5 {
		resp, err := hc.Get(url)
		if err != nil {
			return false
		}
		var v counter
		_ = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		v.N++
		body, _ := json.Marshal(v)
		req, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
		req.Header.Set("If-Match", resp.Header.Get("ETag"))
		put, err := hc.Do(req)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, put.Body)
		put.Body.Close()
		if put.StatusCode == http.StatusOK {
			return true
		}
		time.Sleep(time.Duration(float64(10*time.Millisecond) * (0.9 + 0.2*rand.Float64())))
	}
	return false
}

// payload1KiB is a document of about 1 KiB.
func payload1KiB() []byte {
	type item struct {
		ID    int    `json:"id"`
		Name  string `json:"name"`
		Notes string `json:"notes"`
	}
	doc := struct {
		Title string `json:"title"`
		Items []item `json:"items"`
	}{Title: "overhead"}
	for i := range 10 {
		doc.Items = append(doc.Items, item{ID: i, Name: fmt.Sprint("item-", i), Notes: strings.Repeat("n", 60)})
	}
	b, _ := json.Marshal(doc)
	return b
}

// BenchmarkOverhead compares a GET and a conditional PUT of a 1 KiB
// document through net/http, go-retryablehttp and optimist; the optimist
// cases report x-nethttp, their ns/op over net/http's in the same run.
func BenchmarkOverhead(b *testing.B) {
	payload := payload1KiB()
	s := newBenchServer()
	defer s.Close()
	_ = s.Seed("/docs/o", payload)
	url := s.URL + "/docs/o"

	plain := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	retry := newRetryClient()
	opt := optimist.New()
	std := func(req *http.Request) (*http.Response, error) { return plain.Do(req) }
	rhttp := func(req *http.Request) (*http.Response, error) {
		rr, err := retryablehttp.FromRequest(req)
		if err != nil {
			return nil, err
		}
		return retry.Do(rr)
	}

	var getBase, putBase float64 // net/http's ns/op, measured first in the run
	perOp := func(b *testing.B) float64 { return float64(b.Elapsed().Nanoseconds()) / float64(b.N) }
	b.Run("GET/nethttp", func(b *testing.B) { benchGet(b, std, url); getBase = perOp(b) })
	b.Run("GET/retryablehttp", func(b *testing.B) { benchGet(b, rhttp, url) })
	b.Run("GET/optimist", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var out map[string]any
			if _, err := opt.Get(context.Background(), url, &out); err != nil {
				b.Fatal(err)
			}
		}
		if getBase > 0 {
			b.ReportMetric(perOp(b)/getBase, "x-nethttp")
		}
	})
	b.Run("PUT/nethttp", func(b *testing.B) { benchPut(b, std, url, payload); putBase = perOp(b) })
	b.Run("PUT/retryablehttp", func(b *testing.B) { benchPut(b, rhttp, url, payload) })
	b.Run("PUT/optimist", func(b *testing.B) {
		b.ReportAllocs()
		if _, err := opt.Get(context.Background(), url, nil); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := opt.Put(context.Background(), url, json.RawMessage(payload), nil); err != nil {
				b.Fatal(err)
			}
		}
		if putBase > 0 {
			b.ReportMetric(perOp(b)/putBase, "x-nethttp")
		}
	})
}

// BenchmarkOverheadPaired is BenchmarkOverhead's PUT with net/http,
// go-retryablehttp, the least a client keeping optimist's promises on
// go-retryablehttp does (newRecordingPutStep) and optimist taking turns
// in every iteration (see takeTurns), each on its own document of one
// server. It reports each one's total time over net/http's (x-nethttp for
// optimist, x-nethttp-retryablehttp for go-retryablehttp, which optimist
// sends through, x-nethttp-record for the least client): ratios that load
// on the shared machine shifts less than those of runs made one after the
// other.
func BenchmarkOverheadPaired(b *testing.B) {
	payload := payload1KiB()
	s := newBenchServer()
	defer s.Close()
	ctx := context.Background()
	plain := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	retry := newRetryClient()
	std := func(req *http.Request) (*http.Response, error) { return plain.Do(req) }
	rhttp := func(req *http.Request) (*http.Response, error) {
		rr, err := retryablehttp.FromRequest(req)
		if err != nil {
			return nil, err
		}
		return retry.Do(rr)
	}
	for _, path := range []string{"/docs/nethttp", "/docs/retryablehttp", "/docs/optimist", "/docs/record"} {
		_ = s.Seed(path, payload)
	}
	opt := optimist.New()
	steps := []func(){
		newPutStep(b, std, s.URL+"/docs/nethttp", payload),
		newPutStep(b, rhttp, s.URL+"/docs/retryablehttp", payload),
		func() {
			if _, err := opt.Put(ctx, s.URL+"/docs/optimist", json.RawMessage(payload), nil); err != nil {
				b.Fatal(err)
			}
		},
		newRecordingPutStep(b, s.URL+"/docs/record", payload),
	}
	if _, err := opt.Get(ctx, s.URL+"/docs/optimist", nil); err != nil {
		b.Fatal(err)
	}
	spent, cpu := takeTurns(b, steps)
	reportRatio(b, spent, cpu, 1, 0, "x-nethttp-retryablehttp")
	reportRatio(b, spent, cpu, 3, 0, "x-nethttp-record")
	reportRatio(b, spent, cpu, 2, 0, "x-nethttp")
}

// newRetryClient is a go-retryablehttp client with no logger and a
// transport of its own, so that no benchmark case shares another's
// connections.
func newRetryClient() *retryablehttp.Client {
	c := retryablehttp.NewClient()
	c.Logger = nil
	c.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	return c
}

// newRecordingPutStep returns the least that a client keeping optimist's
// promises does for a conditional PUT of a caller's JSON bytes on a
// go-retryablehttp client of its own: it checks them (as fast as optimist
// does) and copies them, sends them with the headers optimist sends and
// If-Match from its record of url, reads the answer into a buffer of its
// own, parses its ETag and records it with the body sent, under a lock.
// No Vary, credentials, redaction, attempt count or conflict handling: a
// floor that go-retryablehttp and the promises set together.
func newRecordingPutStep(b *testing.B, url string, payload []byte) func() {
	hc := newRetryClient()
	type record struct {
		etag optimist.ETag
		body []byte
	}
	var (
		mu      sync.Mutex
		records = map[string]record{}
	)
	resp, err := hc.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	records[url] = record{etag: optimist.ETag(resp.Header.Get("ETag")), body: body}
	return func() {
		if !jsonmerge.Valid(payload) {
			b.Fatal("invalid payload")
		}
		sent := bytes.Clone(payload)
		mu.Lock()
		rec := records[url]
		mu.Unlock()
		req, err := retryablehttp.NewRequestWithContext(context.Background(), http.MethodPut, url, sent)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("If-Match", string(rec.etag))
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if resp.ContentLength >= 0 { // as optimist reads it: one buffer of the declared length
			_, err = io.ReadFull(resp.Body, make([]byte, resp.ContentLength))
		} else {
			_, err = io.ReadAll(resp.Body)
		}
		resp.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		tag, err := optimist.ParseETag(resp.Header.Get("ETag"))
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatal(err, resp.StatusCode)
		}
		mu.Lock()
		records[url] = record{etag: tag, body: sent}
		mu.Unlock()
	}
}

// takeTurns runs every step once in each iteration, starting one step
// further on each time, so that no step always runs first or always
// after the same other one, and returns the time each step took in all,
// and the CPU time the process used while it ran (nil where processCPU
// cannot tell): client, server and runtime alike, which on a machine
// whose host steals time varies less than the time does.
func takeTurns(b *testing.B, steps []func()) (spent, cpu []time.Duration) {
	spent, cpu = make([]time.Duration, len(steps)), make([]time.Duration, len(steps))
	_, measured := processCPU()
	for n := 0; b.Loop(); n++ {
		for k := range steps {
			i := (n + k) % len(steps)
			t0 := time.Now()
			c0, _ := processCPU()
			steps[i]()
			c1, _ := processCPU()
			spent[i] += time.Since(t0)
			cpu[i] += c1 - c0
		}
	}
	if !measured {
		cpu = nil
	}
	return spent, cpu
}

// reportRatio reports spent[i] over spent[base] as unit, and the same
// ratio of CPU time as unit+"-cpu" when it was measured.
func reportRatio(b *testing.B, spent, cpu []time.Duration, i, base int, unit string) {
	b.ReportMetric(float64(spent[i])/float64(spent[base]), unit)
	if cpu != nil && cpu[base] > 0 {
		b.ReportMetric(float64(cpu[i])/float64(cpu[base]), unit+"-cpu")
	}
}

// newPutStep reads url through do and returns one conditional PUT of
// payload to it, with the ETag of the answer before.
func newPutStep(b *testing.B, do doFunc, url string, payload []byte) func() {
	resp, err := do(must(http.NewRequest(http.MethodGet, url, nil)))
	if err != nil {
		b.Fatal(err)
	}
	etag := resp.Header.Get("ETag")
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return func() {
		req, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(payload))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("If-Match", etag)
		resp, err := do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatal(err, resp.StatusCode)
		}
		etag = resp.Header.Get("ETag")
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
}

type doFunc func(*http.Request) (*http.Response, error)

func benchGet(b *testing.B, do doFunc, url string) {
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Accept", "application/json")
		resp, err := do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var out map[string]any
		if err := json.Unmarshal(body, &out); err != nil {
			b.Fatal(err)
		}
	}
}

func benchPut(b *testing.B, do doFunc, url string, payload []byte) {
	b.ReportAllocs()
	put := newPutStep(b, do, url, payload)
	for b.Loop() {
		put()
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
