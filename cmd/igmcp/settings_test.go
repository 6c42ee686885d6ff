package main

import (
	"flag"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/igmcp/igmcp/staging"
)

var updateDocs = flag.Bool("update", false, "rewrite README.md's generated configuration table")

const (
	readmePath  = "../../README.md"
	tableBegin  = "<!-- BEGIN configuration table: generated from cmd/igmcp/settings.go by `go test ./cmd/igmcp -run TestREADMEConfigTable -update` -->\n"
	tableEnd    = "<!-- END configuration table -->\n"
	tableHeader = "| env | flag | meaning | default |\n| --- | --- | --- | --- |\n"
)

// configTable renders the settings as README's Markdown table.
func configTable() string {
	var b strings.Builder
	b.WriteString(tableHeader)
	for _, s := range settings {
		env, flg, def := "—", "—", "none"
		if s.env != "" {
			env = "`" + s.env + "`"
			if s.file {
				env += " (`_FILE`)"
			}
			if s.secret {
				env += ", secret"
			}
		}
		if s.flag != "" {
			flg = "`--" + s.flag + "`"
		}
		switch {
		case s.doc != "":
			def = s.doc
		case s.def != "":
			def = "`" + s.def + "`"
		}
		meaning := s.usage
		if s.cmds == cmdHTTP {
			meaning = "`igmcp http`: " + meaning
		}
		b.WriteString("| " + env + " | " + flg + " | " + meaning + " | " + def + " |\n")
	}
	return b.String()
}

// README's configuration table is the settings table: edit settings.go and
// run the test with -update, never the README by hand.
func TestREADMEConfigTable(t *testing.T) {
	raw, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	i, j := strings.Index(readme, tableBegin), strings.Index(readme, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the markers of the generated configuration table:\n%s%s", tableBegin, tableEnd)
	}
	got, want := readme[i+len(tableBegin):j], configTable()
	if got == want {
		return
	}
	if *updateDocs {
		readme = readme[:i+len(tableBegin)] + want + readme[j:]
		if err := os.WriteFile(readmePath, []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	for k := range max(len(gl), len(wl)) {
		g, w := "", ""
		if k < len(gl) {
			g = gl[k]
		}
		if k < len(wl) {
			w = wl[k]
		}
		if g != w {
			t.Fatalf("README.md's configuration table differs from cmd/igmcp/settings.go at row %d:\nREADME: %s\ncode:   %s\n(run go test ./cmd/igmcp -run TestREADMEConfigTable -update)", k+1, g, w)
		}
	}
}

// Every variable a command reads is a row of the table, and every row is
// read: a name the parsers read past the table (or a row nothing reads)
// fails here, so README cannot miss a variable.
func TestSettingsTableIsWhatIsRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	read := map[string]bool{}
	for _, cmd := range []string{"stdio", "http", "auth", "doctor", "webhooks"} {
		for _, vars := range []map[string]string{
			{"IGMCP_DATA_DIR": dir},
			// Staging on: staging.FromEnv reads the rest of its variables.
			{"IGMCP_DATA_DIR": dir, staging.EnvBucket: "b", staging.EnvAccessKeyID: "k", staging.EnvSecretAccessKey: "s"},
		} {
			_, _ = parseConfig(cmd, nil, func(name string) string {
				read[name] = true
				return vars[name]
			})
		}
	}
	known := map[string]bool{}
	for _, s := range settings {
		if s.env == "" {
			continue
		}
		if known[s.env] {
			t.Errorf("%s is in the table twice", s.env)
		}
		known[s.env] = true
		if s.file {
			known[s.env+"_FILE"] = true
		}
		if !read[s.env] {
			t.Errorf("%s is in the table but no command reads it", s.env)
		}
	}
	// staging falls back on the AWS SDK's own names (README: the defaults).
	for _, aws := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		known[aws] = true
	}
	var unknown []string
	for name := range read {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	if len(unknown) > 0 {
		t.Errorf("read but not in the settings table (README would miss them): %v", unknown)
	}
}

// The table's own rules: secrets never have a flag (flags show in process
// listings); flags are unique; every row says what it is for.
func TestSettingsTableRules(t *testing.T) {
	t.Parallel()
	flags := map[string]bool{}
	for _, s := range settings {
		name := s.names()
		if s.env == "" && s.flag == "" {
			t.Errorf("a row without env or flag: %+v", s)
		}
		if s.secret && s.flag != "" {
			t.Errorf("%s: a secret has no flag", name)
		}
		if s.flag != "" {
			if flags[s.flag] {
				t.Errorf("--%s twice", s.flag)
			}
			flags[s.flag] = true
		}
		if s.usage == "" {
			t.Errorf("%s: no usage", name)
		}
		if s.cmds == 0 {
			t.Errorf("%s: no command reads it", name)
		}
		if s.apply == nil && !strings.HasPrefix(s.env, "IGMCP_STAGING_") {
			t.Errorf("%s: no parser", name)
		}
	}
}
