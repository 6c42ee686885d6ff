// Benchmarks report figures with b.ReportMetric; nothing here asserts on a
// duration. Run them with:
//
//	go test -run '^$' -bench . -benchtime 5x ./bench/ ./cmd/igmcp/
//
// or one at a time, e.g.
//
//	go test -run '^$' -bench 'Carousel10Latency100ms' -benchtime 5x ./bench/
//	go test -run '^$' -bench 'ImagePostGraphRequests' ./bench/
//	go test -run '^$' -bench 'Reel2MinGraphCalls' -benchtime 5x ./bench/
//	go test -run '^$' -bench 'ToolsListBytes' ./bench/
//	go test -run '^$' -bench 'StartToInitialize' -benchtime 5x ./cmd/igmcp/
//	go test -run '^$' -bench 'ConcurrentCreatePost' -benchtime 3x ./bench/
//
// The figures:
//
//	BenchmarkCarousel10Latency100ms  wall-ms/op, x-critical-path (wall / 4×100 ms), graph-requests/op
//	BenchmarkImagePostGraphRequests  graph-requests/op (steady), cold-graph-requests, wall-ms/op at 100 ms
//	BenchmarkReel2MinGraphCalls      graph-calls/op, status-reads/op, sim-status-reads
//	BenchmarkToolsListBytes          bytes of the tools/list result, tools
//	BenchmarkStartToInitialize       ms/op from process start to the initialize response
//	BenchmarkConcurrentCreatePost    seq-ms/50, conc-ms/50, x-concurrent-rate (SQLite, PostgreSQL)
//
// The first three run against both variants of the simulated Graph API
// (fakegraph/README.md): pessimistic (the default and the sandbox's: no
// read-after-write, a status that lags the publish) and optimistic.
package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/ratelimit"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/tools"
)

// variants are the two fakes every publishing benchmark runs against
// (fakegraph.Options.Optimistic).
var variants = []struct {
	name       string
	optimistic bool
}{{"pessimistic", false}, {"optimistic", true}}

type benchEnv struct {
	fake    *fakegraph.Server
	account fakegraph.Account
	client  *client.Client
}

// newEnv wires the production pieces the way cmd/igmcp does (Graph client,
// single account, publisher, MCP server) around a fakegraph server, and
// connects an in-process MCP client in the client's default protocol era.
func newEnv(b *testing.B, fo fakegraph.Options, pp publish.PollPolicy, copts ...client.ClientOption) *benchEnv {
	b.Helper()
	fake := fakegraph.New(fo)
	base, stop := fake.Start()
	b.Cleanup(stop)
	acct := fakegraph.DefaultAccount
	newClient := func(ts oauth2.TokenSource) (*graph.Client, error) {
		// As in production: the account's rate-limit governor gates every call.
		return graph.NewClient(graph.WithBaseURL(base), graph.WithTokenSource(ts), graph.WithLimiter(ratelimit.New(ratelimit.Config{}).For(acct.ID)))
	}
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: acct.Token})
	accounts, err := auth.NewSingle(ts, acct.ID, auth.LoginFacebook, newClient)
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	deps := &tools.Deps{Accounts: accounts, Publisher: publish.New(st, publish.WithPollPolicy(pp)), Journal: st, Sandbox: true}
	srv := tools.NewServer(deps, "bench", tools.Selection{})
	c, err := client.NewInProcessClientWithOptions(srv, copts...)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		b.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "igmcp-bench", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return &benchEnv{fake: fake, account: acct, client: c}
}

// call invokes a tool and fails the benchmark unless it succeeded with the
// wanted status.
func (e *benchEnv) call(b *testing.B, name string, args map[string]any, wantStatus string) map[string]any {
	b.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := e.client.CallTool(context.Background(), req)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	raw, _ := json.Marshal(res.StructuredContent)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		b.Fatalf("%s: structuredContent: %v", name, err)
	}
	if res.IsError || m["status"] != wantStatus {
		b.Fatalf("%s: want status %s, got %s", name, wantStatus, raw)
	}
	return m
}

// warmUp publishes one image post so per-account state the publisher reads
// once and caches (the content_publishing_limit quota, trusted for 10
// minutes) is not charged to the measured operations. It returns how many
// Graph requests that first, cold publish made.
func (e *benchEnv) warmUp(b *testing.B) int {
	b.Helper()
	before := len(e.fake.Calls())
	e.call(b, "create_post", map[string]any{"image_url": "https://cdn.example.com/bench/warmup.jpg"}, "published")
	return len(e.fake.Calls()) - before
}

// publishN calls the publishing tool b.N times (timed) and returns the
// mean wall time and Graph requests of one call.
func (e *benchEnv) publishN(b *testing.B, tool string, args map[string]any) (time.Duration, float64) {
	b.Helper()
	before := len(e.fake.Calls())
	var wall time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		e.call(b, tool, args, "published")
		wall += time.Since(start)
	}
	b.StopTimer()
	return wall / time.Duration(b.N), float64(len(e.fake.Calls())-before) / float64(b.N)
}

// BenchmarkCarousel10Latency100ms publishes a 10-image carousel against a
// Graph API that answers every request after 100 ms, once the process
// knows the quota. Item containers are created in parallel and the album
// right after them, so the wall time should stay near the critical path
// (items → album → publish → permalink = 4 × 100 ms; with read-after-write
// the permalink comes with the publish) rather than grow with the number
// of items.
func BenchmarkCarousel10Latency100ms(b *testing.B) {
	const latency = 100 * time.Millisecond
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			e := newEnv(b, fakegraph.Options{Latency: latency, Optimistic: v.optimistic}, publish.DefaultPollPolicy())
			items := make([]any, 10)
			for i := range items {
				items[i] = map[string]any{"image_url": fmt.Sprintf("https://cdn.example.com/bench/%d.jpg", i)}
			}
			args := map[string]any{"items": items, "caption": "ten"}
			e.warmUp(b)
			wall, requests := e.publishN(b, "create_carousel", args)
			b.ReportMetric(float64(wall)/float64(time.Millisecond), "wall-ms/op")
			b.ReportMetric(float64(wall)/float64(4*latency), "x-critical-path")
			b.ReportMetric(requests, "graph-requests/op")
			b.ReportMetric(float64(e.fake.MaxConcurrent("POST", "/media")), "max-parallel-creates")
			b.ReportMetric(float64(latency)/float64(time.Millisecond), "graph-latency-ms")
		})
	}
}

// BenchmarkImagePostGraphRequests counts the Graph requests of an image post
// whose container is ready at once, each answered after 100 ms: without
// read-after-write the publish is tried right after the creation and the
// permalink read after it; with it the creation answers FINISHED and the
// publish the permalink. graph-requests/op and wall-ms/op are the steady
// figures; cold-graph-requests is the first publish of the process (it
// also reads the publishing quota).
func BenchmarkImagePostGraphRequests(b *testing.B) {
	const latency = 100 * time.Millisecond
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			e := newEnv(b, fakegraph.Options{Latency: latency, Optimistic: v.optimistic}, publish.DefaultPollPolicy())
			args := map[string]any{"image_url": "https://cdn.example.com/bench/photo.jpg", "caption": "bench"}
			cold := e.warmUp(b)
			wall, requests := e.publishN(b, "create_post", args)
			b.ReportMetric(requests, "graph-requests/op")
			b.ReportMetric(float64(cold), "cold-graph-requests")
			b.ReportMetric(float64(wall)/float64(time.Millisecond), "wall-ms/op")
		})
	}
}

// reelTimeScale speeds BenchmarkReel2MinGraphCalls up.
//
// publish waits with time.Now and real timers (publish.go: wait, sleepCtx)
// and has no clock option, so fakegraph's Options.Now alone cannot drive it.
// Instead both sides run the real schedule 100× faster: the publisher uses
// DefaultPollPolicy with every duration divided by reelTimeScale, and
// fakegraph's clock runs reelTimeScale× faster than real time, so the
// container still takes 2 minutes on the fake's clock. The number of status
// reads is the same as at full speed as long as a Graph round trip (well
// under a millisecond on loopback) is small against the scaled margins
// (the last IN_PROGRESS poll lands 12.6 s = 126 ms scaled before FINISHED).
const reelTimeScale = 100

// scaledClock runs reelTimeScale× faster than the wall clock.
type scaledClock struct {
	mu    sync.Mutex
	start time.Time
}

func (c *scaledClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.start.Add(time.Since(c.start) * reelTimeScale)
}

func scaled(bo publish.Backoff) publish.Backoff {
	return publish.Backoff{Initial: bo.Initial / reelTimeScale, Max: bo.Max / reelTimeScale, Factor: bo.Factor}
}

// simulateStatusReads replays a Backoff schedule (Initial, ×Factor, capped
// at Max, as publish documents it) and counts the status reads until one
// lands at or after processing: the figure publish would reach with an
// instantaneous Graph API.
func simulateStatusReads(bo publish.Backoff, processing time.Duration) int {
	var at time.Duration
	d := bo.Initial
	for reads := 1; ; reads++ {
		at += d
		if at >= processing {
			return reads
		}
		d = min(max(time.Duration(float64(d)*bo.Factor), bo.Initial), bo.Max)
	}
}

// BenchmarkReel2MinGraphCalls counts the Graph calls spent to publish a Reel
// that processes for 2 minutes under the DEFAULT poll policy (README: "a
// two-minute Reel costs about 8 status reads"; Meta's guidance allows no
// more than 15).
func BenchmarkReel2MinGraphCalls(b *testing.B) {
	const processing = 2 * time.Minute
	def := publish.DefaultPollPolicy()
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			clock := &scaledClock{start: time.Now()}
			e := newEnv(b,
				fakegraph.Options{VideoProcessing: processing, Now: clock.Now, Optimistic: v.optimistic},
				publish.PollPolicy{Image: scaled(def.Image), Video: scaled(def.Video)})
			args := map[string]any{"video_url": "https://cdn.example.com/bench/clip.mp4", "caption": "reel", "wait_seconds": 900}
			e.warmUp(b)
			before := len(e.fake.Calls())
			containers := map[string]bool{}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m := e.call(b, "publish_reel", args, "published")
				id, _ := m["container_id"].(string)
				containers["/"+id] = true
			}
			b.StopTimer()
			calls := e.fake.Calls()[before:]
			statusReads := 0
			for _, c := range calls {
				if c.Method == "GET" && containers[c.Path] {
					statusReads++ // GET /{container-id}
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(len(calls))/n, "graph-calls/op")
			b.ReportMetric(float64(statusReads)/n, "status-reads/op")
			b.ReportMetric(float64(simulateStatusReads(def.Video, processing)), "sim-status-reads")
		})
	}
}

// BenchmarkToolsListBytes measures the tools/list result the model reads
// (default toolsets: every tool), as JSON, in both protocol eras: the
// 2026-07-28 result also carries resultType, ttlMs, cacheScope and _meta.
func BenchmarkToolsListBytes(b *testing.B) {
	for _, era := range []struct {
		name string
		opts []client.ClientOption
	}{
		{mcp.LATEST_PROTOCOL_VERSION, nil},
		{mcp.LATEST_LEGACY_PROTOCOL_VERSION, []client.ClientOption{client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION)}},
	} {
		b.Run(era.name, func(b *testing.B) {
			e := newEnv(b, fakegraph.Options{}, publish.DefaultPollPolicy(), era.opts...)
			var size, count int
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := e.client.ListTools(context.Background(), mcp.ListToolsRequest{})
				if err != nil {
					b.Fatal(err)
				}
				raw, err := json.Marshal(res)
				if err != nil {
					b.Fatal(err)
				}
				size, count = len(raw), len(res.Tools)
			}
			b.StopTimer()
			b.ReportMetric(float64(size), "bytes")
			b.ReportMetric(float64(count), "tools")
		})
	}
}
