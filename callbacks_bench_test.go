package optimist_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
	"github.com/optimist-go/optimist/webhook"
)

// BenchmarkJobResult measures, for a job that takes 2 s, how long a
// client takes to get the result and how many status GETs it sends:
// polling only, and a callback with polling. Time runs 100 times faster
// than in production, in real time: the job takes 20 ms, and the default
// poll intervals are scaled alike (500 ms growing ×1.5 to 10 s, at least
// 100 ms, become 5 ms to 100 ms, at least 1 ms); the server sends no
// Retry-After. ms-to-result is in the benchmark's real milliseconds
// (multiply by 100 for production time).
func BenchmarkJobResult(b *testing.B) {
	const scale = 100
	job := 2 * time.Second / scale
	polling := optimist.WithPolling(optimist.PollOptions{
		Interval:    defaultPollInterval / scale,
		MaxInterval: defaultMaxPollInterval / scale,
		MinInterval: defaultMinPollInterval / scale,
	})
	for _, withCallback := range []bool{false, true} {
		name := "polling"
		if withCallback {
			name = "callback+polling"
		}
		b.Run(name, func(b *testing.B) {
			s := newBenchServer(mock.WithJobDuration(job), mock.WithJobRetryAfter(""),
				mock.WithCallbacks(swSecret), mock.WithLogLimit(0))
			defer s.Close()
			h := newBenchHooks(b)
			c := optimist.New(optimist.WithHTTPClient(s.Client()), polling)
			var gets int
			opts := []optimist.RequestOption{optimist.OnProgress(func(ev optimist.OperationStatus) {
				if !ev.Callback {
					gets++
				}
			})}
			if withCallback {
				opts = append(opts, h.Attach(optimist.CallbackPlacement{Body: "callbackUrl"}))
			}
			var total time.Duration
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				resp, err := c.Post(b.Context(), s.URL+"/jobs", nil, nil, opts...)
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatal(resp, err)
				}
				total += time.Since(start)
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms-to-result")
			b.ReportMetric(float64(gets)/float64(b.N), "status-GETs/op")
		})
	}
}

// newBenchHooks is a Callbacks handler on a loopback server.
func newBenchHooks(b *testing.B) *optimist.Callbacks {
	v, err := webhook.Standard(swSecret)
	if err != nil {
		b.Fatal(err)
	}
	ts := httptestServer(b)
	cb := optimist.NewCallbacks(optimist.CallbackOptions{URL: ts.url + "/hooks", Verify: v})
	ts.start(cb)
	return cb
}

type unstarted struct {
	*httptest.Server
	url string
}

func httptestServer(tb testing.TB) *unstarted {
	ts := httptest.NewUnstartedServer(nil)
	tb.Cleanup(ts.Close)
	return &unstarted{Server: ts, url: "http://" + ts.Listener.Addr().String()}
}

func (u *unstarted) start(h http.Handler) {
	u.Config.Handler = h
	u.Start()
}
