package main

// A cluster for the replica tests and the load benchmark (README "Running
// several replicas"): three real `igmcp http` processes on one
// PostgreSQL, acting as the accounts of one fake Instagram, behind a real
// HAProxy started from deploy/haproxy.cfg (round-robin, health checks on
// /healthz, stickiness on Mcp-Session-Id only).

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/internal/mcpwire"
	"github.com/igmcp/igmcp/store"
)

// lbToken is the replicas' IGMCP_HTTP_TOKEN.
const lbToken = "cluster-token-0123456789abcdef"

type clusterOpts struct {
	fake fakegraph.Options
	// env are extra settings of every replica.
	env []string
}

type cluster struct {
	t        testing.TB
	fake     *fakegraph.Server
	accounts []fakegraph.Account
	graph    *httptest.Server
	st       store.Store // the test's own handle
	url      string      // http://LB/mcp
	lbBase   string
	replicas []*replica
	haproxy  *exec.Cmd
	hapLog   *syncBuffer
	hapDone  chan error
	http     *http.Client
}

// replica is one `igmcp http` process.
type replica struct {
	name string // r1, r2, r3: HAProxy's server names (X-Igmcp-Replica)
	addr string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error

	mu     sync.Mutex
	killed bool
}

// haproxyBin finds Debian's haproxy. Missing, the test fails under
// CI=true (.ci/install-haproxy.sh installs it) and skips otherwise.
func haproxyBin(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("haproxy"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/haproxy"); err == nil {
		return "/usr/sbin/haproxy"
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("haproxy is missing: the replica tests need it under CI=true (bash .ci/install-haproxy.sh)")
	}
	t.Skip("haproxy is missing: bash .ci/install-haproxy.sh (Debian's package) to run the replica tests")
	return ""
}

// startCluster starts the fake, three replicas and HAProxy, and waits
// until HAProxy has each replica up.
func startCluster(t testing.TB, o clusterOpts) *cluster {
	t.Helper()
	bin := haproxyBin(t)
	dbURL := freshPostgres(t)
	if len(o.fake.Accounts) == 0 {
		o.fake.Accounts = []fakegraph.Account{fakegraph.DefaultAccount}
	}
	c := &cluster{t: t, fake: fakegraph.New(o.fake), accounts: o.fake.Accounts, hapLog: &syncBuffer{}, hapDone: make(chan error, 1)}
	c.graph = httptest.NewServer(c.fake)
	t.Cleanup(c.graph.Close)
	st, err := store.Open(context.Background(), store.Config{DatabaseURL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	c.st = st
	c.http = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 0}}
	t.Cleanup(c.http.CloseIdleConnections)

	env := append([]string{
		"INSTAGRAM_GRAPH_URL=" + c.graph.URL, "IGMCP_DATABASE_URL=" + dbURL, "IGMCP_HTTP_TOKEN=" + lbToken, "IGMCP_LOG_LEVEL=info",
		"IGMCP_SCHEDULER_LEASE=3s", "IGMCP_SCHEDULER_TICK=100ms", "IGMCP_SEND_GRACE=5s",
	}, o.env...)
	if acct := o.fake.Accounts[0]; len(o.fake.Accounts) == 1 {
		env = append(env, "INSTAGRAM_ACCESS_TOKEN="+acct.Token, "INSTAGRAM_USER_ID="+acct.ID)
	} else {
		// Several accounts: the shared token store, as igmcp auth add
		// leaves it, sealed with the cluster's key.
		env = append(env, "IGMCP_SECRET_KEY="+clusterKey)
		c.storeAccounts(o.fake.Accounts)
	}
	for i := range 3 {
		c.replicas = append(c.replicas, startReplica(t, fmt.Sprintf("r%d", i+1), childEnv(append(env, "IGMCP_DATA_DIR="+t.TempDir())...)))
	}

	port := freePort(t)
	c.lbBase = "http://127.0.0.1:" + strconv.Itoa(port)
	c.url = c.lbBase + "/mcp"
	c.haproxy = exec.Command(bin, "-db", "-f", filepath.Join(repoRoot(t), "deploy", "haproxy.cfg"))
	c.haproxy.Env = []string{"IGMCP_LB_BIND=127.0.0.1:" + strconv.Itoa(port),
		"IGMCP_REPLICA_1=" + c.replicas[0].addr, "IGMCP_REPLICA_2=" + c.replicas[1].addr, "IGMCP_REPLICA_3=" + c.replicas[2].addr}
	c.haproxy.Stdout, c.haproxy.Stderr = c.hapLog, c.hapLog
	c.haproxy.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.haproxy.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.hapDone <- c.haproxy.Wait() }()
	t.Cleanup(func() {
		_ = c.haproxy.Process.Signal(syscall.SIGUSR1) // soft stop
		select {
		case <-c.hapDone:
		case <-time.After(10 * time.Second):
			_ = c.haproxy.Process.Kill()
			<-c.hapDone
		}
		if t.Failed() {
			t.Logf("haproxy log (tail):\n%s", tail(c.hapLog.String(), 40))
			for _, r := range c.replicas {
				t.Logf("%s log (tail):\n%s", r.name, tail(r.logs.String(), 40))
			}
		}
	})
	c.waitAllUp()
	return c
}

// clusterKey seals the token store of a cluster with several accounts.
const clusterKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func (c *cluster) storeAccounts(accts []fakegraph.Account) {
	c.t.Helper()
	ctx := context.Background()
	settings, err := parseAuthSettings(envOf(map[string]string{"IGMCP_SECRET_KEY": clusterKey}))
	if err != nil {
		c.t.Fatal(err)
	}
	tokens, err := openTokenStore(ctx, c.st, settings)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, a := range accts {
		if _, err := tokens.Put(ctx, auth.Record{AccountID: a.ID, Username: a.Username, Login: auth.LoginFacebook,
			Token: auth.Secret(a.Token), IssuedAt: time.Now(), Scopes: auth.DefaultScopes(auth.LoginFacebook)}); err != nil {
			c.t.Fatal(err)
		}
	}
}

// waitAllUp waits until HAProxy answers /healthz and has sent requests to
// each replica: all three are in the rotation.
func (c *cluster) waitAllUp() {
	c.t.Helper()
	seen := map[string]bool{}
	deadline := time.Now().Add(hangGuard)
	for len(seen) < 3 {
		if time.Now().After(deadline) {
			c.t.Fatalf("HAProxy did not bring all replicas up (seen %v):\n%s", seen, tail(c.hapLog.String(), 30))
		}
		select {
		case err := <-c.hapDone:
			c.t.Fatalf("haproxy exited: %v\n%s", err, c.hapLog.String())
		default:
		}
		resp, err := c.http.Get(c.lbBase + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				seen[resp.Header.Get("X-Igmcp-Replica")] = true
				continue
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// client returns a client of the load balancer.
func (c *cluster) client(version string, tasks bool) *mcpwire.Client {
	return &mcpwire.Client{URL: c.url, HTTP: c.http, Token: lbToken, Version: version, Tasks: tasks}
}

// byName is the replica HAProxy calls name.
func (c *cluster) byName(name string) *replica {
	for _, r := range c.replicas {
		if r.name == name {
			return r
		}
	}
	c.t.Fatalf("no replica %q", name)
	return nil
}

// byPID is the replica whose process has pid.
func (c *cluster) byPID(pid int) *replica {
	for _, r := range c.replicas {
		if r.cmd.Process.Pid == pid {
			return r
		}
	}
	return nil
}

// leaseHolder is the replica holding job id's lease ("" while none does):
// a lease owner is host/pid/random (scheduler.Config.Owner).
func (c *cluster) leaseHolder(id string) *replica {
	sc, err := c.st.GetSchedule(context.Background(), id)
	if err != nil || sc.State != store.RunPublishing {
		return nil
	}
	parts := strings.Split(sc.LeaseOwner, "/")
	if len(parts) < 2 {
		return nil
	}
	pid, _ := strconv.Atoi(parts[len(parts)-2])
	return c.byPID(pid)
}

func startReplica(t testing.TB, name string, env []string) *replica {
	t.Helper()
	r := &replica{name: name, logs: &syncBuffer{}, done: make(chan error, 1)}
	r.cmd = exec.Command(binPath, "http", "--listen", "127.0.0.1:0")
	r.cmd.Env = env
	r.cmd.Stderr = r.logs
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		if !r.isKilled() {
			_ = r.cmd.Process.Signal(syscall.SIGTERM)
		}
		select {
		case <-r.done:
		case <-time.After(hangGuard):
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	for deadline := time.Now().Add(hangGuard); r.addr == ""; time.Sleep(20 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(r.logs.String()); m != nil {
			r.addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("%s logged no address:\n%s", name, r.logs.String())
		}
	}
	return r
}

// kill SIGKILLs the replica: no drain, no lease handed back.
func (r *replica) kill(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	r.killed = true
	r.mu.Unlock()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.done:
	case <-time.After(hangGuard):
		t.Fatalf("%s survived SIGKILL", r.name)
	}
	r.done <- errors.New("killed") // for the cleanup's wait
}

func (r *replica) isKilled() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.killed
}

// peakRSS is the replica's peak resident memory (VmHWM), in KiB; 0 once
// it is gone.
func (r *replica) peakRSS() int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", r.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// repoRoot is the module's root (deploy/ lives there).
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

func tail(s string, lines int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}
