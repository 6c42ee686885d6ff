package doctor_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/doctor"
	"github.com/igmcp/igmcp/fakegraph"
)

func sample() *doctor.Report {
	return &doctor.Report{Results: []doctor.Result{
		{Name: "config", Status: doctor.OK, Detail: "Facebook Login, Graph API v25.0"},
		{Name: "staging", Status: doctor.Skip, Detail: "IGMCP_STAGING_BUCKET is not set (optional)"},
		{Name: "token", Account: "1784", Username: "brand", Status: doctor.Warn, Detail: "valid, but it expires soon", Fix: "renew it",
			Facts: map[string]any{"expires_at": "2031-01-02T03:04:05Z"}},
		{Name: "quota", Account: "1784", Username: "brand", Status: doctor.Fail, Detail: "used up:\n3 of 3", Fix: "wait"},
		{Name: "token", Account: "1785", Status: doctor.OK, Detail: "valid"},
	}}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if code := sample().Write(&b, false); code != 1 {
		t.Fatalf("exit %d with a failed check", code)
	}
	want := `igmcp doctor

ok    config      Facebook Login, Graph API v25.0
skip  staging     IGMCP_STAGING_BUCKET is not set (optional)

account @brand (1784)
warn  token       valid, but it expires soon
                  fix: renew it
FAIL  quota       used up: 3 of 3
                  fix: wait

account 1785
ok    token       valid

2 ok, 1 warning, 1 failed, 1 skipped. Fix the failed check and run igmcp doctor again.
`
	if b.String() != want {
		t.Fatalf("text:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if code := sample().Write(&b, true); code != 1 {
		t.Fatalf("exit %d", code)
	}
	var got any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal([]byte(`{
	  "ok": false,
	  "summary": {"ok": 2, "warn": 1, "fail": 1, "skip": 1},
	  "checks": [
	    {"name": "config", "status": "ok", "detail": "Facebook Login, Graph API v25.0"},
	    {"name": "staging", "status": "skip", "detail": "IGMCP_STAGING_BUCKET is not set (optional)"},
	    {"name": "token", "account": "1784", "username": "brand", "status": "warn", "detail": "valid, but it expires soon", "fix": "renew it",
	     "facts": {"expires_at": "2031-01-02T03:04:05Z"}},
	    {"name": "quota", "account": "1784", "username": "brand", "status": "fail", "detail": "used up:\n3 of 3", "fix": "wait"},
	    {"name": "token", "account": "1785", "status": "ok", "detail": "valid"}
	  ]
	}`), &want); err != nil {
		t.Fatal(err)
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Fatalf("JSON:\n%s\nwant:\n%s", gotJSON, wantJSON)
	}
}

// Warnings and skipped checks pass; an empty report passes; the sandbox
// says so.
func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		results []doctor.Result
		code    int
	}{
		{nil, 0},
		{[]doctor.Result{{Name: "a", Status: doctor.OK}, {Name: "b", Status: doctor.Warn, Fix: "x"}, {Name: "c", Status: doctor.Skip}}, 0},
		{[]doctor.Result{{Name: "a", Status: doctor.OK}, {Name: "b", Status: doctor.Fail, Fix: "x"}}, 1},
	} {
		r := &doctor.Report{Results: tc.results}
		var text, js bytes.Buffer
		if got := r.Write(&text, false); got != tc.code {
			t.Errorf("%v: text exit %d, want %d", tc.results, got, tc.code)
		}
		if got := r.Write(&js, true); got != tc.code {
			t.Errorf("%v: JSON exit %d, want %d", tc.results, got, tc.code)
		}
		var m struct {
			OK     bool              `json:"ok"`
			Checks []json.RawMessage `json:"checks"`
		}
		if err := json.Unmarshal(js.Bytes(), &m); err != nil || m.OK != (tc.code == 0) || m.Checks == nil {
			t.Errorf("JSON %s (%v)", js.String(), err)
		}
	}
	var b bytes.Buffer
	(&doctor.Report{Sandbox: true}).Write(&b, true)
	if !strings.Contains(b.String(), `"sandbox": true`) {
		t.Errorf("sandbox JSON: %s", b.String())
	}
}

// Command, as cmd/igmcp calls it: run, render, exit status.
func TestCommand(t *testing.T) {
	s := newSetup(t, fakegraph.Options{NoReadAfterWrite: true})
	var out bytes.Buffer
	if code := doctor.Command(t.Context(), s.cfg, &out, false); code != 0 {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
	if !strings.HasSuffix(out.String(), "igmcp is ready.\n") {
		t.Fatalf("text:\n%s", out.String())
	}
	out.Reset()
	s.cfg.Token = auth.Secret("EAAbad")
	if code := doctor.Command(t.Context(), s.cfg, &out, true); code != 1 {
		t.Fatalf("exit %d with a bad token", code)
	}
	var m struct {
		OK      bool           `json:"ok"`
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal(out.Bytes(), &m); err != nil || m.OK || m.Summary["fail"] != 1 {
		t.Fatalf("JSON %s (%v)", out.String(), err)
	}
}

func TestFlags(t *testing.T) {
	var f doctor.Flags
	fs := flag.NewFlagSet("igmcp doctor", flag.ContinueOnError)
	f.Register(fs)
	if err := fs.Parse(nil); err != nil || f.JSON || f.Probe.Enabled || f.Probe.ImageURL != doctor.DefaultProbeImageURL || f.Probe.Timeout != 2*time.Minute {
		t.Fatalf("defaults %+v %v", f, err)
	}
	if err := fs.Parse([]string{"--json", "--probe", "--probe-image-url", "https://cdn.example.com/p.jpg", "--probe-timeout", "5m"}); err != nil {
		t.Fatal(err)
	}
	if !f.JSON || !f.Probe.Enabled || f.Probe.ImageURL != "https://cdn.example.com/p.jpg" || f.Probe.Timeout != 5*time.Minute {
		t.Fatalf("parsed %+v", f)
	}
}
