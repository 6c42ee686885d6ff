package webhooks_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkDeliveries posts signed one-comment deliveries over real HTTP
// from 64 concurrent senders (a burst from Meta) and reports stored
// deliveries per second and the answer latency (p50, p99).
//
//	go test -run '^$' -bench BenchmarkDeliveries -benchtime 3000x ./webhooks/
func BenchmarkDeliveries(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			st := open(b, be.cfg(b))
			srv := httptest.NewServer(newReceiver(b, st))
			defer srv.Close()
			client := srv.Client()
			client.Transport.(*http.Transport).MaxIdleConnsPerHost = 128
			var seq atomic.Int64
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(32) // × GOMAXPROCS senders
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					i := seq.Add(1)
					body := fmt.Sprintf(`{"object":"instagram","entry":[{"id":"17841400000000001","time":1758700000,"changes":[{"field":"comments","value":{"id":"17865%012d","text":"bench %d","from":{"id":"9","username":"fan"},"media":{"id":"17900000000000001","media_product_type":"FEED"}}}]}]}`, i, i)
					start := time.Now()
					status, err := deliverHTTP(client, srv.URL, body)
					mine = append(mine, time.Since(start))
					if err != nil || status != 200 {
						b.Errorf("delivery: %d %v", status, err)
						return
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
			if n := len(allEvents(b, st)); n != b.N {
				b.Fatalf("stored %d of %d", n, b.N)
			}
		})
	}
}
