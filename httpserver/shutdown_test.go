package httpserver_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/httpserver"
)

type callResult struct {
	res *mcp.CallToolResult
	err error
	at  time.Time
}

// startReel starts publish_reel in the background and returns once its
// container exists, i.e. once the call is waiting for Instagram.
func startReel(t *testing.T, e *srvEnv, kind transportKind, era string) <-chan callResult {
	t.Helper()
	c := e.mustConnect(t, kind, era, adminToken)
	before := len(e.fake.Containers())
	out := make(chan callResult, 1)
	go func() {
		res, err := callTool(context.Background(), c, "publish_reel", map[string]any{"video_url": mp4, "wait_seconds": 600})
		out <- callResult{res, err, time.Now()}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(e.fake.Containers()) == before {
		if time.Now().After(deadline) {
			t.Fatal("the Reel container was never created")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return out
}

// A shutdown during a Reel publish whose processing outlasts the grace
// period: the call's context is cancelled only when the grace period ends,
// and the call still ends with a proper docs/reference.md §4 result (not a dropped
// connection), which says what happened; nothing is published.
func TestShutdown_DuringReelPublish_EndsCleanly(t *testing.T) {
	t.Parallel()
	const grace = 700 * time.Millisecond
	for _, kind := range []transportKind{streamable, sse} {
		for _, era := range eras {
			t.Run(string(kind)+"/"+eraName(era), func(t *testing.T) {
				t.Parallel()
				e := startServer(t, srvOpts{
					cfg:  httpserver.Config{Token: adminToken, ShutdownGrace: grace},
					fake: fakegraph.Options{VideoProcessing: time.Hour},
				})
				call := startReel(t, e, kind, era)
				stopAt := time.Now()
				stopped := make(chan error, 1)
				go func() { stopped <- e.stop(t, 30*time.Second) }()

				var r callResult
				select {
				case r = <-call:
				case <-time.After(20 * time.Second):
					t.Fatal("the Reel call never returned")
				}
				if r.err != nil {
					t.Fatalf("the Reel call failed at the protocol level: %v", r.err)
				}
				if waited := r.at.Sub(stopAt); waited < grace {
					t.Fatalf("the call ended %s after the shutdown began, before the %s grace period", waited, grace)
				}
				kindName, msg := errKind(r.res)
				if kindName != "transient" || !strings.Contains(msg, "shut down") || !strings.Contains(msg, "nothing was published") {
					t.Fatalf("result: %+v", r.res.StructuredContent)
				}
				if err := <-stopped; !isServerClosed(err) {
					t.Fatalf("Serve: %v", err)
				}
				if n := len(e.fake.Published(brandA.ID)); n != 0 {
					t.Fatalf("%d posts published", n)
				}
			})
		}
	}
}

// A Reel that finishes within the grace period is published and its result
// delivered before the server stops.
func TestShutdown_InflightCallFinishesWithinGrace(t *testing.T) {
	t.Parallel()
	for _, kind := range []transportKind{streamable, sse} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			e := startServer(t, srvOpts{
				cfg:  httpserver.Config{Token: adminToken, ShutdownGrace: 20 * time.Second},
				fake: fakegraph.Options{VideoProcessing: 1500 * time.Millisecond},
			})
			call := startReel(t, e, kind, "")
			stopped := make(chan error, 1)
			go func() { stopped <- e.stop(t, 30*time.Second) }()

			// New connections are refused and /healthz is gone while draining.
			time.Sleep(100 * time.Millisecond)
			if res, err := http.Get(e.url + "/healthz"); err == nil {
				_ = res.Body.Close()
				if res.StatusCode == http.StatusOK {
					t.Fatal("healthz still says ok during the drain")
				}
			}

			r := <-call
			if r.err != nil || r.res.IsError {
				t.Fatalf("Reel during a graceful shutdown: %v %+v", r.err, r.res)
			}
			m, _ := r.res.StructuredContent.(map[string]any)
			if m["status"] != "published" {
				t.Fatalf("result: %v", m)
			}
			select {
			case err := <-stopped:
				if !isServerClosed(err) {
					t.Fatalf("Serve: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("server did not stop after the last call ended")
			}
			if n := len(e.fake.Published(brandA.ID)); n != 1 {
				t.Fatalf("%d posts published, want 1", n)
			}
		})
	}
}
