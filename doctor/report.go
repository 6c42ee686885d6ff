package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Status is the outcome of one check.
type Status string

const (
	OK   Status = "ok"
	Warn Status = "warn" // works, but deserves attention; passes
	Fail Status = "fail" // igmcp will not work as configured
	Skip Status = "skip" // not run: optional and not configured, or an earlier check failed
)

// Check names, in report order (docs/reference.md §1).
const (
	CheckConfig    = "config"
	CheckStore     = "store"
	CheckMediaRoot = "media_root"
	CheckStaging   = "staging"
	CheckToken     = "token"
	CheckLogin     = "login"
	CheckAccount   = "account"
	CheckScopes    = "scopes"
	CheckQuota     = "quota"
	CheckRateLimit = "rate_limit"
	CheckWebhooks  = "webhooks"
	CheckProbe     = "probe"
)

// Result is one check's outcome. Per-account checks name the account.
type Result struct {
	Name     string `json:"name"`
	Account  string `json:"account,omitempty"`
	Username string `json:"username,omitempty"`
	Status   Status `json:"status"`
	// Detail is one line saying what was found (or why it was skipped).
	Detail string `json:"detail"`
	// Fix is one line saying what to do; set when Status is fail or warn.
	Fix string `json:"fix,omitempty"`
	// Facts are the check's findings as data (keys documented in
	// docs/reference.md §1).
	Facts map[string]any `json:"facts,omitempty"`
}

// Report is every check's result.
type Report struct {
	Sandbox bool
	Results []Result
}

// Passed reports whether no check failed.
func (r *Report) Passed() bool {
	for _, res := range r.Results {
		if res.Status == Fail {
			return false
		}
	}
	return true
}

// Write writes the report to w, as JSON or as text, and returns the exit
// status: ExitCode, or 1 when the report could not be written.
func (r *Report) Write(w io.Writer, asJSON bool) int {
	write := r.WriteText
	if asJSON {
		write = r.WriteJSON
	}
	if err := write(w); err != nil {
		return 1
	}
	return r.ExitCode()
}

// ExitCode is 0 when no check failed, 1 otherwise.
func (r *Report) ExitCode() int {
	if r.Passed() {
		return 0
	}
	return 1
}

// Counts is how many checks ended in each status.
type Counts struct {
	OK   int `json:"ok"`
	Warn int `json:"warn"`
	Fail int `json:"fail"`
	Skip int `json:"skip"`
}

func (r *Report) counts() Counts {
	var c Counts
	for _, res := range r.Results {
		switch res.Status {
		case OK:
			c.OK++
		case Warn:
			c.Warn++
		case Fail:
			c.Fail++
		case Skip:
			c.Skip++
		}
	}
	return c
}

// jsonReport is the --json shape (docs/reference.md §1).
type jsonReport struct {
	OK      bool     `json:"ok"`
	Sandbox bool     `json:"sandbox,omitempty"`
	Summary Counts   `json:"summary"`
	Checks  []Result `json:"checks"`
}

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	checks := r.Results
	if checks == nil {
		checks = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(jsonReport{OK: r.Passed(), Sandbox: r.Sandbox, Summary: r.counts(), Checks: checks})
}

// WriteText writes the report for a person: one line per check, a fix
// line under each failure or warning, and a summary.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	title := "igmcp doctor"
	if r.Sandbox {
		title += " (sandbox: the built-in simulated Graph API)"
	}
	b.WriteString(title + "\n")
	group := "\x00"
	for _, res := range r.Results {
		// Checks of one account follow each other under its name.
		if who := label(res.Account, res.Username); who != group {
			group = who
			if who == "" {
				b.WriteString("\n")
			} else {
				b.WriteString("\naccount " + who + "\n")
			}
		}
		fmt.Fprintf(&b, "%-4s  %-10s  %s\n", tag(res.Status), res.Name, oneLine(res.Detail))
		if res.Fix != "" {
			fmt.Fprintf(&b, "%-4s  %-10s  fix: %s\n", "", "", oneLine(res.Fix))
		}
	}
	c := r.counts()
	fmt.Fprintf(&b, "\n%d ok, %d %s, %d failed, %d skipped. ", c.OK, c.Warn, plural(c.Warn, "warning", "warnings"), c.Fail, c.Skip)
	if c.Fail == 0 {
		b.WriteString("igmcp is ready.\n")
	} else {
		fmt.Fprintf(&b, "Fix the failed %s and run igmcp doctor again.\n", plural(c.Fail, "check", "checks"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func tag(s Status) string {
	switch s {
	case Fail:
		return "FAIL"
	case Warn:
		return "warn"
	case Skip:
		return "skip"
	}
	return "ok"
}

// label names an account: @username (id), or the id alone.
func label(id, username string) string {
	switch {
	case username != "" && id != "":
		return "@" + username + " (" + id + ")"
	case username != "":
		return "@" + username
	}
	return id
}

// oneLine keeps a terminal line one line, whatever a Graph message held.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
