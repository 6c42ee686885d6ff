package main

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/igmcp/igmcp/fakegraph"
)

// BenchmarkReplicas is the load of README "Running several replicas":
// three replicas behind HAProxy on one PostgreSQL, 300 concurrent clients
// (half 2026-07-28, half 2025-11-25 sessions), 2,000 calls of which 200
// publishes and 100 task-augmented Reels, one replica SIGKILLed midway.
// One iteration is the whole scenario (it takes minutes: Reels process
// for 20 s on the fake, polled as igmcp polls Instagram):
//
//	go test -run '^$' -bench BenchmarkReplicas -benchtime 1x -timeout 30m ./cmd/igmcp/
//
// It reports posts lost and duplicated, tasks lost, p50/p99 per call and
// peak memory per replica; IGMCP_BENCH_REPORT=file.md also writes the
// table there.
func BenchmarkReplicas(b *testing.B) {
	for b.Loop() {
		rep := runLoad(b, loadConfig{clients: 300, calls: 2000, publishes: 200, reels: 100, accounts: 5, kill: true,
			fake:         fakegraph.Options{Latency: 80 * time.Millisecond, ImageProcessing: time.Second, VideoProcessing: 20 * time.Second},
			callDeadline: 5 * time.Minute})
		table := rep.table()
		b.Logf("\n%s", table)
		if path := os.Getenv("IGMCP_BENCH_REPORT"); path != "" {
			if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
				b.Error(err)
			}
		}
		b.ReportMetric(float64(len(rep.postsLost)), "posts_lost")
		b.ReportMetric(float64(len(rep.postsDup)+rep.extraSends), "posts_duplicated")
		b.ReportMetric(float64(len(rep.tasksLost)), "tasks_lost")
		for k, ds := range rep.latency {
			if strings.HasPrefix(k, "create_post") && strings.HasSuffix(k, "(2026-07-28)") {
				ds = slices.Sorted(slices.Values(ds))
				b.ReportMetric(float64(ds[len(ds)/2].Milliseconds()), "create_post_p50_ms")
			}
		}
		rep.requireClean(b)
	}
}
