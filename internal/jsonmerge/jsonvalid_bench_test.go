package jsonmerge

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkValid checks a 1 KiB document (ten items with a 60-byte note
// each, the body of the root package's BenchmarkOverhead) with Valid and
// with encoding/json's Valid, taking turns in every iteration, and
// reports x-encoding-json, Valid's total time over encoding/json's.
func BenchmarkValid(b *testing.B) {
	var doc strings.Builder
	doc.WriteString(`{"title":"overhead","items":[`)
	for i := range 10 {
		if i > 0 {
			doc.WriteByte(',')
		}
		fmt.Fprintf(&doc, `{"id":%d,"name":"item-%d","notes":"%s"}`, i, i, strings.Repeat("n", 60))
	}
	doc.WriteString(`]}`)
	body := []byte(doc.String())
	b.SetBytes(int64(len(body)))
	var ours, theirs time.Duration
	for b.Loop() {
		t0 := time.Now()
		okOurs := Valid(body)
		t1 := time.Now()
		okTheirs := json.Valid(body)
		ours, theirs = ours+t1.Sub(t0), theirs+time.Since(t1)
		if !okOurs || !okTheirs {
			b.Fatal("invalid")
		}
	}
	b.ReportMetric(float64(ours)/float64(theirs), "x-encoding-json")
}
