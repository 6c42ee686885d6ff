package main

// Issue 5's fleet check with the real binary: three `igmcp http` processes
// on one PostgreSQL, acting as 20 accounts from the shared token store, 500
// schedules made through the MCP tools and due within a minute, one process
// SIGKILLed midway. Every schedule must be published exactly once.

import (
	"bufio"
	"context"
	"fmt"
	"net/http/httptest"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/sourcegraph/conc/pool"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/store"
)

// httpProc is one `igmcp http` process and an MCP client connected to it.
type httpProc struct {
	name   string
	addr   string // host:port
	cmd    *exec.Cmd
	logs   *syncBuffer
	client *client.Client
	done   chan error
}

// startHTTPProc runs the binary as `igmcp http ARGS` on a free loopback
// port and connects a Streamable HTTP client to it (with the bearer token
// of the process's IGMCP_HTTP_TOKEN, if it has one).
func startHTTPProc(t *testing.T, name string, env []string, args ...string) *httpProc {
	t.Helper()
	p := &httpProc{name: name, logs: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(binPath, append([]string{"http", "--listen", "127.0.0.1:0"}, args...)...)
	p.cmd.Env = env
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.client != nil {
			_ = p.client.Close()
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(hangGuard):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	for deadline := time.Now().Add(hangGuard); p.addr == ""; time.Sleep(20 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(p.logs.String()); m != nil {
			p.addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("%s logged no address:\n%s", name, p.logs.String())
		}
	}
	// The client presents the process's IGMCP_HTTP_TOKEN, if it has one.
	var opts []transport.StreamableHTTPCOption
	for _, kv := range env {
		if tok, ok := strings.CutPrefix(kv, "IGMCP_HTTP_TOKEN="); ok {
			opts = []transport.StreamableHTTPCOption{transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + tok})}
		}
	}
	tr, err := transport.NewStreamableHTTP("http://"+p.addr+"/mcp", opts...)
	if err != nil {
		t.Fatal(err)
	}
	p.client = client.NewClient(tr)
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	if err := p.client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := initialize(ctx, p.client, "igmcp-fleet-test"); err != nil {
		t.Fatalf("%s: initialize: %v\n%s", name, err, p.logs.String())
	}
	return p
}

func (p *httpProc) call(ctx context.Context, name string, args map[string]any) (map[string]any, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := p.client.CallTool(ctx, req)
	if err != nil {
		return nil, err
	}
	m, _ := res.StructuredContent.(map[string]any)
	if res.IsError {
		return nil, fmt.Errorf("%s: %v", name, m)
	}
	return m, nil
}

func TestFleet_500Schedules20Accounts3HTTPProcesses(t *testing.T) {
	t.Parallel()
	dbURL := freshPostgres(t)
	ctx := context.Background()

	const (
		total  = 500
		nAccts = 20
		spread = 60 * time.Second
		// Scheduling 500 posts takes a few seconds under -race; posts due
		// before they are all made are published late, which schedule_post
		// accepts (publish_at up to a minute in the past) and the figures
		// below show.
		firstDue = 5 * time.Second
	)
	accts := make([]fakegraph.Account, nAccts)
	for i := range accts {
		accts[i] = fakegraph.Account{ID: fmt.Sprintf("178414200000%05d", i+1), Username: fmt.Sprintf("fleet_%02d", i+1), Token: fmt.Sprintf("EAAfleet%02dToken", i+1)}
	}
	// Realistic latency on every call, and media_publish answers arriving
	// 300 ms after the post went live. One front per process, all on one
	// Instagram, so the test knows whose answers are held.
	fake := fakegraph.New(fakegraph.Options{Accounts: accts, Latency: 20 * time.Millisecond, QuotaTotal: 1000})
	fronts := make([]*lateAnswers, 3)
	urls := make([]string, 3)
	for i := range fronts {
		fronts[i] = &lateAnswers{fake: fake, delay: 300 * time.Millisecond, held: map[string]bool{}}
		ts := httptest.NewServer(fronts[i])
		t.Cleanup(ts.Close)
		urls[i] = ts.URL
	}

	// The accounts as `igmcp auth add` would leave them, in the shared
	// store, sealed with the fleet's key.
	const key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	st, err := store.Open(ctx, store.Config{DatabaseURL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	settings, err := parseAuthSettings(envOf(map[string]string{"IGMCP_SECRET_KEY": key}))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := openTokenStore(ctx, st, settings)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accts {
		if _, err := tokens.Put(ctx, auth.Record{AccountID: a.ID, Username: a.Username, Login: auth.LoginFacebook,
			Token: auth.Secret(a.Token), IssuedAt: time.Now(), Scopes: auth.DefaultScopes(auth.LoginFacebook)}); err != nil {
			t.Fatal(err)
		}
	}

	procs := make([]*httpProc, 3)
	for i := range procs {
		procs[i] = startHTTPProc(t, fmt.Sprintf("igmcp-%d", i+1), childEnv(
			"INSTAGRAM_GRAPH_URL="+urls[i], "IGMCP_DATABASE_URL="+dbURL, "IGMCP_SECRET_KEY="+key,
			"IGMCP_DATA_DIR="+t.TempDir(), "IGMCP_LOG_LEVEL=info",
			"IGMCP_SCHEDULER_LEASE=5s", "IGMCP_SCHEDULER_TICK=200ms",
			// A publish the killed process sent that never reached
			// Instagram counts as in flight for the send grace (default
			// 2 min); shortened so the takeover does not idle for minutes.
			"IGMCP_SEND_GRACE=10s"))
	}

	// Scheduled through the tools, spread over the processes that survive,
	// due evenly over a minute once all are made.
	start := time.Now().Add(firstDue)
	due := make([]time.Time, total)
	ids := make([]string, total)
	p := pool.New().WithErrors().WithMaxGoroutines(8)
	for i := range total {
		due[i] = start.Add(spread * time.Duration(i) / total)
		p.Go(func() error {
			caption := fmt.Sprintf("fleet-%03d", i)
			m, err := procs[(i%2)*2].call(ctx, "schedule_post", map[string]any{
				"account": accts[i%nAccts].Username, "kind": "post", "publish_at": due[i].Format(time.RFC3339Nano),
				"post": map[string]any{"image_url": "https://cdn.example.com/" + caption + ".jpg", "caption": caption}})
			if err != nil {
				return err
			}
			ids[i], _ = m["schedule_id"].(string)
			return nil
		})
	}
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	if late := time.Since(start); late > 0 {
		t.Logf("scheduling 500 posts took %s longer than planned: the first ones are late from the start", late.Round(time.Millisecond))
	}

	published := func() map[string][]fakegraph.Media {
		byCaption := map[string][]fakegraph.Media{}
		for _, a := range accts {
			for _, m := range fake.Published(a.ID) {
				byCaption[m.Caption] = append(byCaption[m.Caption], m)
			}
		}
		return byCaption
	}
	countPublished := func() int {
		n := 0
		for _, ms := range published() {
			n += len(ms)
		}
		return n
	}
	final := func() int {
		ss, err := st.ListSchedules(ctx, store.ScheduleFilter{States: []store.RunState{store.RunPublished, store.RunFailed, store.RunMissed, store.RunCancelled}})
		if err != nil {
			t.Fatal(err)
		}
		return len(ss)
	}
	killed := false
	// Publishing follows publish_at (a minute); after the kill a takeover
	// waits for lease expiry (5 s), the send grace (10 s) and the ledger's
	// 30 s retry_after: a stall this long is a hang, not a slow machine.
	guard := newProgressGuard(2 * time.Minute)
	for n := final(); n < total; n = final() {
		if n := countPublished(); !killed && n >= total/2 {
			// Prefer a moment when process 2 has a post live at Instagram
			// with the answer held; under load there may be none for a
			// while, and then it is killed midway all the same.
			for wait := time.Now().Add(20 * time.Second); fronts[1].holdingAny() == 0 && time.Now().Before(wait); {
				time.Sleep(2 * time.Millisecond)
			}
			inFlight := fronts[1].holdingAny()
			if err := procs[1].cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
			t.Logf("SIGKILLed %s after %d of %d publishes, with %d of its publishes live but unanswered", procs[1].name, n, total, inFlight)
		}
		if guard.stuck(n) {
			t.Fatalf("%d of %d schedules final, no progress for %s; %d published at Instagram\nlogs of %s:\n%s", n, total, guard.idle, countPublished(), procs[0].name, procs[0].logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// What the tools report, read through a surviving process.
	listed := map[string]map[string]any{}
	for _, a := range accts {
		m, err := procs[2].call(ctx, "list_scheduled_posts", map[string]any{"account": a.Username, "limit": 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range m["schedules"].([]any) {
			sc := x.(map[string]any)
			listed[sc["schedule_id"].(string)] = sc
		}
	}
	byCaption := published()
	all, err := st.ListSchedules(ctx, store.ScheduleFilter{})
	if err != nil {
		t.Fatal(err)
	}
	attempts := map[string]int{}
	for _, sc := range all {
		attempts[sc.ID] = sc.Attempts
	}
	var lateness []time.Duration
	dups, lost, recovered := 0, 0, 0
	var first, last time.Time
	for i, id := range ids {
		caption := fmt.Sprintf("fleet-%03d", i)
		media, sc := byCaption[caption], listed[id]
		switch {
		case len(media) > 1:
			dups++
			t.Errorf("%s (%s) published %d times", id, caption, len(media))
		case len(media) == 0 || sc == nil || sc["state"] != "published":
			lost++
			t.Errorf("%s (%s): listed as %v, %d published", id, caption, sc, len(media))
			continue
		}
		if sc["media_id"] != media[0].ID {
			t.Errorf("%s: list_scheduled_posts says media %v, Instagram has %s", id, sc["media_id"], media[0].ID)
		}
		if attempts[id] > 0 {
			recovered++
		}
		at := media[0].Timestamp
		lateness = append(lateness, at.Sub(due[i]))
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	if len(byCaption) != total {
		t.Errorf("%d distinct posts at Instagram, want %d", len(byCaption), total)
	}
	sort.Slice(lateness, func(i, j int) bool { return lateness[i] < lateness[j] })
	pct := func(p float64) time.Duration {
		if len(lateness) == 0 {
			return 0
		}
		return lateness[min(len(lateness)-1, int(p*float64(len(lateness))))].Round(time.Millisecond)
	}
	t.Logf("%d schedules over %d accounts, 3 igmcp http processes on PostgreSQL, 1 SIGKILLed midway: %d published once, %d duplicates, %d lost, %d taken over after a lease expired",
		total, nAccts, total-lost-dups, dups, lost, recovered)
	t.Logf("throughput %.1f publishes/s over %s (publish_at spread over %s, so demand-bound); lateness of going live against publish_at: p50 %s, p99 %s, max %s",
		float64(len(lateness))/last.Sub(first).Seconds(), last.Sub(first).Round(time.Millisecond), spread, pct(0.50), pct(0.99), pct(1))
	for _, pr := range []*httpProc{procs[0], procs[2]} {
		for sc := bufio.NewScanner(strings.NewReader(pr.logs.String())); sc.Scan(); {
			if strings.Contains(sc.Text(), "level=ERROR") {
				t.Errorf("%s logged an error: %s", pr.name, sc.Text())
			}
		}
		for _, a := range accts {
			if strings.Contains(pr.logs.String(), a.Token) {
				t.Errorf("%s logged a token", pr.name)
			}
		}
	}
}
