package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// EnvDatabaseURL names an existing PostgreSQL server to test against instead
// of starting a throwaway one. Each test gets its own schema in it, dropped
// afterwards.
const EnvDatabaseURL = "IGMCP_TEST_DATABASE_URL"

// ErrNoPostgres: no server was configured and no PostgreSQL binaries exist.
var ErrNoPostgres = errors.New("no PostgreSQL: set " + EnvDatabaseURL + " or install PostgreSQL (apt-get install -y postgresql)")

// Postgres is a PostgreSQL server for tests: either the one EnvDatabaseURL
// names, or a throwaway cluster this process started.
type Postgres struct {
	// URL connects to the server's "postgres" database.
	URL string

	cmd    *exec.Cmd  // nil when the server is external
	exited chan error // receives the server's exit
	dir    string
}

// StartPostgres returns the server named by EnvDatabaseURL, or initialises a
// throwaway cluster in a temporary directory and starts it listening on a
// unix socket only (no TCP port to collide with). Call it once per test
// binary, from TestMain, and Stop it at the end. ErrNoPostgres means neither
// is possible.
//
// initdb and postgres refuse to run as root. As root the cluster is created
// and run as the "postgres" OS user (which Debian's package creates), or
// "nobody", in a directory chowned to that user.
func StartPostgres(ctx context.Context) (*Postgres, error) {
	if u := os.Getenv(EnvDatabaseURL); u != "" {
		return &Postgres{URL: u}, nil
	}
	bin, err := findPostgresBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "igmcp-pg-")
	if err != nil {
		return nil, err
	}
	p := &Postgres{dir: dir}
	ok := false
	defer func() {
		if !ok {
			p.Stop()
		}
	}()

	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred, err = unprivilegedUser()
		if err != nil {
			return nil, err
		}
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}

	// Durability is pointless for a throwaway cluster; turning it off
	// makes every commit cheap.
	p.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-k", dir, "-c", "listen_addresses=", "-p", "5432",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=32MB")
	p.cmd.Dir = dir
	logFile, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return nil, err
	}
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	// Pdeathsig stops the server should the test binary die without
	// reaching Stop (a panic, a timeout). The kernel ties it to the OS
	// thread that started the process, which the Go runtime keeps for the
	// life of the binary unless it was locked to a goroutine; a best
	// effort, on top of Stop.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT}
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	logFile.Close()
	p.exited = make(chan error, 1)
	go func() { p.exited <- p.cmd.Wait() }()

	p.URL = "postgres://postgres@/postgres?host=" + url.QueryEscape(dir) + "&port=5432&sslmode=disable"
	db, err := sql.Open("pgx", p.URL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		pingCtx, cancel := context.WithTimeout(ctx, time.Second)
		err = db.PingContext(pingCtx)
		cancel()
		if err == nil {
			break
		}
		select {
		case werr := <-p.exited:
			p.cmd = nil
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			return nil, fmt.Errorf("postgres exited: %v\n%s", werr, log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("postgres did not accept connections: %w", err)
		}
	}
	ok = true
	return p, nil
}

// Stop shuts a started server down (fast shutdown) and removes its files.
// It does nothing to an external server.
func (p *Postgres) Stop() {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Signal(syscall.SIGINT) //nolint:errcheck // it may be gone already
		select {
		case <-p.exited:
		case <-time.After(20 * time.Second):
			p.cmd.Process.Kill() //nolint:errcheck
			<-p.exited
		}
		p.cmd = nil
	}
	if p.dir != "" {
		os.RemoveAll(p.dir)
		p.dir = ""
	}
}

// FreshURL creates an empty schema for t and returns a URL whose sessions
// use it (search_path), so each test starts from nothing without the cost
// of CREATE DATABASE. The schema is dropped when t ends; register it before
// anything that must be closed first (cleanups run last-in first-out).
func (p *Postgres) FreshURL(t testing.TB) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	schema := "igmcp_test_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", p.URL)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		db.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(p.URL)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvDatabaseURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// RequirePostgres skips t when PostgreSQL's binaries are missing
// (ErrNoPostgres), except under CI=true, where that is a failure: CI must
// exercise both backends. A server that exists but did not start fails t
// everywhere.
func RequirePostgres(t testing.TB, p *Postgres, startErr error) {
	t.Helper()
	if p != nil {
		return
	}
	if startErr != nil && !errors.Is(startErr, ErrNoPostgres) {
		t.Fatalf("PostgreSQL did not start: %v", startErr)
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("PostgreSQL tests cannot run under CI=true: %v", startErr)
	}
	t.Skipf("skipping PostgreSQL tests: %v", startErr)
}

// findPostgresBin finds the directory with initdb and postgres: PATH first,
// then Debian's /usr/lib/postgresql/<version>/bin, newest version first.
func findPostgresBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", ErrNoPostgres
}

func pgVersion(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

// unprivilegedUser picks the OS user to run the cluster as when we are root.
func unprivilegedUser() (*syscall.Credential, error) {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
	}
	return nil, fmt.Errorf("running as root and found no postgres or nobody user to run PostgreSQL as: %w", ErrNoPostgres)
}

// RunWithPostgres is the TestMain of a test binary that needs PostgreSQL:
// one server for the whole binary (a cluster costs about a second to start,
// a fresh schema per test almost nothing), stopped when the tests end. It
// sets *pg and *startErr before the tests run and exits with their code. A
// server that should have started but did not is reported on stderr; the
// tests then fail on *startErr (or skip, without binaries, outside CI).
func RunWithPostgres(m *testing.M, label string, pg **Postgres, startErr *error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	*pg, *startErr = StartPostgres(ctx)
	cancel()
	if *startErr != nil && !errors.Is(*startErr, ErrNoPostgres) {
		fmt.Fprintln(os.Stderr, label+": starting PostgreSQL:", *startErr)
	}
	code := m.Run()
	if *pg != nil {
		(*pg).Stop()
	}
	os.Exit(code)
}
