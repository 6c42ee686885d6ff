package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"golang.org/x/oauth2"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/httpserver"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/ratelimit"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/store/storetest"
	"github.com/igmcp/igmcp/tools"
)

// writeBatch is the figure: 50 create_post calls at once against
// the same 50 one after another.
const writeBatch = 50

const benchHTTPToken = "bench-http-token-0123456789abcdef"

// writeRig is the production stack cmd/igmcp builds (governor sharing its
// state through the store, publisher, every default tool), on the given
// store, reached through an MCP client.
type writeRig struct {
	fake   *fakegraph.Server
	acct   fakegraph.Account
	client *client.Client
	posts  int // create_post calls made so far, each with its own caption
}

func newWriteRig(b testing.TB, st store.Store, overHTTP bool) *writeRig {
	b.Helper()
	// Images are ready at once and the quota is out of reach: the figure
	// is about igmcp's own work per publish, the store's writes first.
	fake := fakegraph.New(fakegraph.Options{QuotaTotal: 1 << 30})
	base, stop := fake.Start()
	b.Cleanup(stop)
	acct := fakegraph.DefaultAccount
	// Usage headers on every answer, as Instagram sends them: the governor
	// records each one in the shared store, as it does in production.
	fake.SetUsage(acct.ID, 5, 0)
	governor := ratelimit.New(ratelimit.Config{Shared: st})
	newClient := func(ts oauth2.TokenSource) (*graph.Client, error) {
		return graph.NewClient(graph.WithBaseURL(base), graph.WithTokenSource(ts), graph.WithLimiter(governor.For(acct.ID)))
	}
	accounts, err := auth.NewSingle(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: acct.Token}), acct.ID, auth.LoginFacebook, newClient)
	if err != nil {
		b.Fatal(err)
	}
	deps := &tools.Deps{Accounts: accounts, Publisher: publish.New(st), Journal: st, Sandbox: true}
	srv := tools.NewServer(deps, "bench", tools.Selection{})

	var c *client.Client
	if overHTTP {
		c = serveHTTP(b, srv)
	} else {
		if c, err = client.NewInProcessClient(srv); err != nil {
			b.Fatal(err)
		}
		if err := c.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() { _ = c.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "igmcp-bench", Version: "1"}
	if _, err := c.Initialize(context.Background(), init); err != nil {
		b.Fatal(err)
	}
	return &writeRig{fake: fake, acct: acct, client: c}
}

// serveHTTP puts srv behind the real HTTP front on a loopback port and
// connects a Streamable HTTP client (the client's default era).
func serveHTTP(b testing.TB, srv *server.MCPServer) *client.Client {
	b.Helper()
	hs, err := httpserver.New(srv, httpserver.Config{Token: benchHTTPToken})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ctx, ln) }()
	b.Cleanup(func() {
		cancel()
		<-done
	})
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: writeBatch + 10}}
	b.Cleanup(hc.CloseIdleConnections)
	tr, err := transport.NewStreamableHTTP("http://"+ln.Addr().String()+"/mcp",
		transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + benchHTTPToken}),
		transport.WithHTTPBasicClient(hc))
	if err != nil {
		b.Fatal(err)
	}
	c := client.NewClient(tr)
	if err := c.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	return c
}

// createPost publishes one image post with a caption of its own and
// returns an error unless it was published.
func (r *writeRig) createPost(ctx context.Context, n int) error {
	req := mcp.CallToolRequest{}
	req.Params.Name = "create_post"
	req.Params.Arguments = map[string]any{
		"image_url": fmt.Sprintf("https://cdn.example.com/bench/w%d.jpg", n),
		"caption":   fmt.Sprintf("write bench %d", n),
	}
	res, err := r.client.CallTool(ctx, req)
	if err != nil {
		return err
	}
	raw, _ := json.Marshal(res.StructuredContent)
	var m struct{ Status string }
	_ = json.Unmarshal(raw, &m)
	if res.IsError || m.Status != "published" {
		return fmt.Errorf("create_post %d: %s", n, raw)
	}
	return nil
}

// batch makes writeBatch create_post calls, all at once or one after
// another, and returns how long they took.
func (r *writeRig) batch(b testing.TB, concurrent bool) time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	first := r.posts
	r.posts += writeBatch
	errs := make([]error, writeBatch)
	start := time.Now()
	if concurrent {
		var wg sync.WaitGroup
		for i := range writeBatch {
			wg.Go(func() { errs[i] = r.createPost(ctx, first+i) })
		}
		wg.Wait()
	} else {
		for i := range writeBatch {
			errs[i] = r.createPost(ctx, first+i)
		}
	}
	took := time.Since(start)
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	return took
}

// checkEachPublishedOnce fails unless every create_post made one live
// post, with its own caption.
func (r *writeRig) checkEachPublishedOnce(tb testing.TB) {
	tb.Helper()
	live := r.fake.Published(r.acct.ID)
	captions := map[string]bool{}
	for _, m := range live {
		captions[m.Caption] = true
	}
	if len(live) != r.posts || len(captions) != r.posts {
		tb.Fatalf("%d create_post calls, %d posts live, %d distinct captions", r.posts, len(live), len(captions))
	}
}

// TestConcurrentCreatePost makes the benchmark's concurrent batch on a
// SQLite store over HTTP and checks what the store recorded: each post is
// published once, its ledger record is published, and the journal has one
// publish entry per post.
func TestConcurrentCreatePost(t *testing.T) {
	st := openBenchStore(t, store.Config{DataDir: t.TempDir()})
	r := newWriteRig(t, st, true)
	r.batch(t, true)
	r.checkEachPublishedOnce(t)
	ctx := context.Background()
	sent, err := st.ListPublishes(ctx, store.PublishSent)
	if err != nil || len(sent) != 0 {
		t.Errorf("ledger records left publish_sent: %d, %v", len(sent), err)
	}
	// Each post has two published records: its own key's and its
	// container's (publish_container answers from it).
	done, err := st.ListPublishes(ctx, store.PublishPublished)
	if err != nil || len(done) != 2*writeBatch {
		t.Errorf("published ledger records: %d (want %d), %v", len(done), 2*writeBatch, err)
	}
	entries, _, err := st.ListJournal(ctx, store.JournalQuery{Action: "publish", Limit: 1000})
	if err != nil || len(entries) != writeBatch {
		t.Errorf("journal publish entries: %d (want %d), %v", len(entries), writeBatch, err)
	}
	for _, e := range entries {
		if e.Outcome != "published" {
			t.Errorf("journal entry %d: outcome %q", e.ID, e.Outcome)
		}
	}
}

// BenchmarkConcurrentCreatePost publishes 50 image posts through the real
// create_post tool, all at once and one after another, on each store and
// over each transport, and reports x-concurrent-rate: the rate of the
// concurrent batch over the rate of the sequential one (sequential time /
// concurrent time; below 1 the store makes concurrency a loss). Batches
// alternate which goes first so a drifting machine favours neither. Every
// post must be published, and exactly once. One account makes every post,
// and the fake keeps Instagram's 400 containers per 24 hours: a warm batch
// plus two per iteration allows -benchtime 3x at most.
//
//	go test -run '^$' -bench ConcurrentCreatePost -benchtime 3x ./bench/
func BenchmarkConcurrentCreatePost(b *testing.B) {
	pg, pgErr := storetest.StartPostgres(context.Background())
	if pg != nil {
		b.Cleanup(pg.Stop)
	}
	stores := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"sqlite", func(b *testing.B) store.Store {
			return openBenchStore(b, store.Config{DataDir: b.TempDir()})
		}},
		{"postgres", func(b *testing.B) store.Store {
			storetest.RequirePostgres(b, pg, pgErr)
			return openBenchStore(b, store.Config{DatabaseURL: pg.FreshURL(b)})
		}},
	}
	for _, s := range stores {
		for _, overHTTP := range []bool{false, true} {
			name := s.name + "/inprocess"
			if overHTTP {
				name = s.name + "/http"
			}
			b.Run(name, func(b *testing.B) {
				r := newWriteRig(b, s.open(b), overHTTP)
				r.batch(b, false) // warm: quota read, connections, caches
				var seq, conc time.Duration
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if i%2 == 0 {
						seq += r.batch(b, false)
						conc += r.batch(b, true)
					} else {
						conc += r.batch(b, true)
						seq += r.batch(b, false)
					}
				}
				b.StopTimer()
				r.checkEachPublishedOnce(b)
				n := float64(b.N)
				b.ReportMetric(float64(seq)/float64(time.Millisecond)/n, "seq-ms/50")
				b.ReportMetric(float64(conc)/float64(time.Millisecond)/n, "conc-ms/50")
				b.ReportMetric(float64(seq)/float64(conc), "x-concurrent-rate")
			})
		}
	}
}

func openBenchStore(b testing.TB, cfg store.Config) store.Store {
	b.Helper()
	st, err := store.Open(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	return st
}
