package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

func commandSummary(cmd string) string {
	switch cmd {
	case "http":
		return "MCP server over HTTP: Streamable HTTP at /mcp, legacy SSE at /sse, /healthz, and /webhooks/instagram\n" +
			"when webhooks are configured."
	case "doctor":
		return "Checks the server's configuration against Instagram and says what to fix (README \"Check a setup\").\n" +
			"Exit status 0 when no check failed, 1 when one did, 2 for a bad flag."
	case "webhooks":
		return "subscribe: subscribe this app to each account's webhooks where Meta wants them (Instagram Login:\n" +
			"the account; Facebook Login: its Page). status: show what is subscribed. Exit status 0 when every\n" +
			"account's subscription is complete, 1 otherwise, 2 for a bad command line."
	}
	return "MCP server on standard input/output. An MCP client (Claude Desktop, Cursor, VS Code) starts it;\n" +
		"logs go to standard error, never to standard output."
}

// commandHelp is `igmcp stdio --help`, `igmcp http --help`, … : the
// command's own flags (extra), then its settings from the settings table.
func commandHelp(w io.Writer, cmd string, extra ...func(*flag.FlagSet)) {
	use := commandOf(cmd)
	name := cmd
	if cmd == "webhooks" {
		name = "webhooks subscribe|status"
	}
	fmt.Fprintf(w, "usage: igmcp %s [flags]\n\n%s\n\nflags (a flag overrides its environment variable):\n", name, commandSummary(cmd))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	own := flag.NewFlagSet(cmd, flag.ContinueOnError)
	for _, register := range extra {
		register(own)
	}
	own.VisitAll(func(f *flag.Flag) {
		arg := " VALUE"
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			arg = ""
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" {
			def = " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(tw, "  --%s%s\t%s%s\n", f.Name, arg, f.Usage, def)
	})
	for _, s := range settings {
		if s.flag == "" || s.cmds&use == 0 {
			continue
		}
		arg := " VALUE"
		if s.boolean {
			arg = ""
		}
		fmt.Fprintf(tw, "  --%s%s\t%s%s\n", s.flag, arg, plain(s.usage), helpSuffix(s))
	}
	_ = tw.Flush()
	fmt.Fprint(w, "\nenvironment only (secrets have a NAME_FILE variant that reads the value from a file):\n")
	for _, s := range settings {
		if s.flag == "" && s.env != "" && s.cmds&use != 0 {
			fmt.Fprintf(tw, "  %s\t%s%s\n", envName(s), plain(s.usage), helpSuffix(s))
		}
	}
	_ = tw.Flush()
	fmt.Fprint(w, "\nREADME.md \"Configuration\" explains every setting.\n")
	if use&cmdServer != 0 {
		fmt.Fprint(w, exitStatusHelp)
	}
}

func envName(s setting) string {
	if s.file {
		return s.env + "[_FILE]"
	}
	return s.env
}

func helpSuffix(s setting) string {
	var parts []string
	if s.flag != "" && s.env != "" {
		parts = append(parts, s.env)
	}
	switch {
	case s.doc != "":
		parts = append(parts, "default "+plain(s.doc))
	case s.def != "":
		parts = append(parts, "default "+s.def)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// plain drops Markdown code marks for the terminal.
func plain(s string) string { return strings.ReplaceAll(s, "`", "") }
