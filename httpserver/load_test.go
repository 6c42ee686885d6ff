package httpserver_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/httpserver"
)

// TestLoad_ConcurrentSessions runs 200 concurrent sessions over real HTTP
// (Streamable HTTP, half in each protocol era), each calling the read tools
// get_container_status and get_insights against the fake. Any error fails
// the test; latency and memory are only logged (a shared CI machine makes
// timings meaningless as assertions). IGMCP_LOAD_SESSIONS and
// IGMCP_LOAD_CALLS change the size.
func TestLoad_ConcurrentSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	sessions, calls := envInt("IGMCP_LOAD_SESSIONS", 200), envInt("IGMCP_LOAD_CALLS", 10)
	// Info level, as a deployment runs: debug writes an access-log line per
	// request, which would measure the log buffer.
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	e := startServer(t, srvOpts{cfg: httpserver.Config{Token: adminToken, Logger: logger}})
	ctx := context.Background()

	// One draft container for the status reads.
	setup := e.mustConnect(t, streamable, "", adminToken)
	res, err := callTool(ctx, setup, "create_post", map[string]any{"image_url": jpeg, "publish": false})
	if err != nil || res.IsError {
		t.Fatalf("setup: %v %+v", err, res)
	}
	containerID := res.StructuredContent.(map[string]any)["container_id"].(string)

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: sessions + 10, MaxConnsPerHost: 0}}
	t.Cleanup(hc.CloseIdleConnections)

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutinesBefore := runtime.NumGoroutine()
	var peakHeap atomic.Uint64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peakHeap.Load() {
					peakHeap.Store(m.HeapInuse)
				}
			}
		}
	}()

	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      []string
		wg        sync.WaitGroup
		ready     sync.WaitGroup
		start     = make(chan struct{})
		clients   = make([]*client.Client, sessions)
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(errs) < 10 {
			errs = append(errs, fmt.Sprintf(format, args...))
		} else {
			errs = append(errs, "")
		}
	}
	ready.Add(sessions)
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			era := ""
			if i%2 == 1 {
				era = mcp.LATEST_LEGACY_PROTOCOL_VERSION
			}
			c, err := connectWith(hc, e.url, era)
			ready.Done()
			if err != nil {
				fail("session %d connect: %v", i, err)
				return
			}
			clients[i] = c
			<-start // every session is open before the first call: 200 at once
			local := make([]time.Duration, 0, calls)
			for j := range calls {
				name, args := "get_container_status", map[string]any{"container_id": containerID}
				if j%2 == 1 {
					name, args = "get_insights", map[string]any{"metrics": []string{"reach", "views"}}
				}
				t0 := time.Now()
				res, err := callTool(ctx, c, name, args)
				local = append(local, time.Since(t0))
				if err != nil {
					fail("session %d %s: %v", i, name, err)
					continue
				}
				if res.IsError {
					fail("session %d %s: %v", i, name, res.StructuredContent)
				}
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		}()
	}
	ready.Wait()
	var connected runtime.MemStats
	runtime.ReadMemStats(&connected)
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	close(stopSampling)
	<-sampled
	goroutinesDuring := runtime.NumGoroutine()
	for _, c := range clients {
		if c != nil {
			_ = c.Close()
		}
	}
	if len(errs) > 0 {
		t.Fatalf("%d errors under load, first: %v", len(errs), errs[0])
	}
	if len(latencies) != sessions*calls {
		t.Fatalf("%d calls completed, want %d", len(latencies), sessions*calls)
	}
	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latencies[int(p*float64(len(latencies)-1))] }
	mib := func(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
	t.Logf("load: %d concurrent sessions (half 2026-07-28, half %s) x %d read calls = %d calls in %s (%.0f calls/s), 0 errors",
		sessions, mcp.LATEST_LEGACY_PROTOCOL_VERSION, calls, len(latencies), elapsed.Round(time.Millisecond), float64(len(latencies))/elapsed.Seconds())
	t.Logf("latency: p50 %s  p90 %s  p99 %s  max %s", pct(0.50).Round(10*time.Microsecond), pct(0.90).Round(10*time.Microsecond),
		pct(0.99).Round(10*time.Microsecond), latencies[len(latencies)-1].Round(10*time.Microsecond))
	t.Logf("memory (server, fake and clients in one process): heap in use %s before, %s with %d sessions open, peak %s; ~%s per open session; goroutines %d -> %d",
		mib(before.HeapInuse), mib(connected.HeapInuse), sessions, mib(peakHeap.Load()),
		fmt.Sprintf("%.0f KiB", float64(int64(connected.HeapInuse)-int64(before.HeapInuse))/float64(sessions)/1024),
		goroutinesBefore, goroutinesDuring)
	t.Logf("race detector: %v (timings under -race are several times slower)", raceEnabled)
}

func connectWith(hc *http.Client, base, era string) (*client.Client, error) {
	tr, err := transport.NewStreamableHTTP(base+"/mcp", transport.WithHTTPBasicClient(hc),
		transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + adminToken}))
	if err != nil {
		return nil, err
	}
	var opts []client.ClientOption
	if era != "" {
		opts = append(opts, client.WithProtocolVersion(era))
	}
	c := client.NewClient(tr, opts...)
	if err := c.Start(context.Background()); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "igmcp-load", Version: "1"}
	init.Params.ProtocolVersion = era
	if _, err := c.Initialize(ctx, init); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
