package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/learned"
	"github.com/igmcp/igmcp/store"
)

// doctorReport is the --json shape of docs/reference.md §1.
type doctorReport struct {
	OK      bool           `json:"ok"`
	Sandbox bool           `json:"sandbox"`
	Summary map[string]int `json:"summary"`
	Checks  []struct {
		Name   string         `json:"name"`
		Status string         `json:"status"`
		Detail string         `json:"detail"`
		Fix    string         `json:"fix"`
		Facts  map[string]any `json:"facts"`
	} `json:"checks"`
}

func parseDoctor(t *testing.T, out string) doctorReport {
	t.Helper()
	var r doctorReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, out)
	}
	return r
}

// check returns the first check named name.
func (r doctorReport) check(t *testing.T, name string) (status, detail string, facts map[string]any) {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c.Status, c.Detail, c.Facts
		}
	}
	t.Fatalf("no %s check in %+v", name, r.Checks)
	return "", "", nil
}

// igmcp doctor as the real binary: it reads the servers' configuration
// (toolsets, webhooks) through the settings table, runs against the
// sandbox or a Graph API, keeps a bad setting a failed check (exit 1) and a
// bad flag a usage error (exit 2), and never prints the token.
func TestDoctorBinary(t *testing.T) {
	t.Parallel()

	t.Run("sandbox probe recorded", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		code, out, errOut := runBinary(t, childEnv("IGMCP_DATA_DIR="+dir, "IGMCP_TOOLSETS=comments,events"),
			"doctor", "--sandbox", "--sandbox-image-delay", "0s", "--probe", "--json")
		if code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		r := parseDoctor(t, out)
		if !r.OK || !r.Sandbox || r.Summary["fail"] != 0 {
			t.Fatalf("report: %+v", r)
		}
		status, detail, facts := r.check(t, "probe")
		if status != "ok" || facts["recorded"] != true || facts["status"] != "FINISHED" {
			t.Fatalf("probe: %s %s %v", status, detail, facts)
		}
		// The toolsets checked are the server's: IGMCP_TOOLSETS as set.
		if _, _, facts := r.check(t, "config"); !slices.Equal(anyStrings(facts["toolsets"]), []string{"comments", "events"}) {
			t.Fatalf("config toolsets: %v", facts["toolsets"])
		}
		// The store holds what the probe learned, for the sandbox account
		// (no INSTAGRAM_APP_ID: the app is ""): the sandbox, like the
		// pessimistic fake, ignores read-after-write.
		st, err := store.Open(context.Background(), store.Config{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		f, err := learned.Load(context.Background(), st, "", fakegraph.DefaultAccount.ID)
		if err != nil || !f.Known() || f.ReadAfterWrite == nil || *f.ReadAfterWrite || f.ImageReady == nil {
			t.Fatalf("learned facts %+v (%v)", f, err)
		}
	})

	t.Run("webhooks configured", func(t *testing.T) {
		t.Parallel()
		// The default toolsets gain events; the sandbox account is
		// subscribed as the sandbox server's simulated Meta does.
		code, out, errOut := runBinary(t, childEnv("INSTAGRAM_WEBHOOK_VERIFY_TOKEN=verify-me", "INSTAGRAM_APP_SECRET=doctor-app-secret"),
			"doctor", "--sandbox", "--json")
		r := parseDoctor(t, out)
		if code != 0 || !r.OK {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
		if _, _, facts := r.check(t, "config"); !slices.Equal(anyStrings(facts["toolsets"]), []string{"publish", "comments", "insights", "schedule", "events"}) {
			t.Fatalf("config toolsets: %v", facts["toolsets"])
		}
		if status, detail, facts := r.check(t, "webhooks"); status != "ok" || !slices.Equal(anyStrings(facts["fields"]), []string{"feed"}) {
			t.Fatalf("webhooks: %s %s %v", status, detail, facts)
		}
		if strings.Contains(out+errOut, "doctor-app-secret") || strings.Contains(out+errOut, "verify-me") {
			t.Fatal("a secret is in the output")
		}
	})

	t.Run("bad token against a Graph API", func(t *testing.T) {
		t.Parallel()
		fake := fakegraph.New(fakegraph.Options{})
		url, stop := fake.Start()
		defer stop()
		const bad = "EAAdoctor-bad-token-0123456789"
		env := childEnv("INSTAGRAM_ACCESS_TOKEN="+bad, "INSTAGRAM_GRAPH_URL="+url, "IGMCP_DATA_DIR="+t.TempDir())
		for _, args := range [][]string{{"doctor"}, {"doctor", "--json"}} {
			code, out, errOut := runBinary(t, env, args...)
			if code != 1 {
				t.Fatalf("%v: exit %d, want 1\n%s\n%s", args, code, out, errOut)
			}
			if strings.Contains(out, bad) || strings.Contains(errOut, bad) {
				t.Fatalf("%v: the token is in the output:\n%s\n%s", args, out, errOut)
			}
			if len(args) == 2 {
				if status, detail, _ := parseDoctor(t, out).check(t, "token"); status != "fail" {
					t.Fatalf("token: %s %s", status, detail)
				}
			} else if !strings.Contains(out, "FAIL  token") {
				t.Fatalf("text report:\n%s", out)
			}
		}
		// The token reached the Graph API it was pointed at.
		if calls := fake.Calls(); len(calls) == 0 || !slices.ContainsFunc(calls, func(c fakegraph.Call) bool { return c.Token == bad }) {
			t.Fatalf("the fake saw no call with the token: %d calls", len(calls))
		}
	})

	t.Run("a bad flag is a usage error", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := runBinary(t, childEnv(), "doctor", "--no-such-flag")
		requireOneLineExit(t, code, out, errOut, 2, "no-such-flag", "igmcp doctor --help")
	})

	t.Run("a bad setting is the failed config check", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := runBinary(t, childEnv("INSTAGRAM_LOGIN=myspace"), "doctor", "--json")
		if code != 1 || errOut != "" {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		r := parseDoctor(t, out)
		if status, detail, _ := r.check(t, "config"); status != "fail" || !strings.Contains(detail, "INSTAGRAM_LOGIN") {
			t.Fatalf("config: %s %s", status, detail)
		}
		if status, _, _ := r.check(t, "store"); status != "skip" {
			t.Fatalf("store ran after a configuration that does not parse: %s", status)
		}
	})

	t.Run("webhooks without the app secret is doctor's finding", func(t *testing.T) {
		t.Parallel()
		// The servers refuse to start with it (one line, exit 2); doctor
		// says what to do instead of failing to parse.
		code, out, _ := runBinary(t, childEnv("INSTAGRAM_WEBHOOK_VERIFY_TOKEN=verify-me"), "doctor", "--sandbox", "--json")
		status, detail, _ := parseDoctor(t, out).check(t, "config")
		if code != 1 || status != "fail" || !strings.Contains(detail, "INSTAGRAM_APP_SECRET is not") {
			t.Fatalf("exit %d, config %s: %s", code, status, detail)
		}
	})

	t.Run("help", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := runBinary(t, childEnv(), "doctor", "--help")
		if code != 0 || errOut != "" {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		for _, want := range []string{"usage: igmcp doctor", "--probe ", "--json ", "--probe-image-url VALUE", "--sandbox ", "--toolsets VALUE", "INSTAGRAM_WEBHOOK_VERIFY_TOKEN[_FILE]"} {
			if !strings.Contains(out, want) {
				t.Errorf("help lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "--scheduler") || strings.Contains(out, "--listen") {
			t.Errorf("help lists a server-only flag:\n%s", out)
		}
	})
}

func anyStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
