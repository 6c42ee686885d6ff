package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

func commandSummary(cmd string) string {
	if cmd == "http" {
		return "MCP server over HTTP: Streamable HTTP at /mcp, legacy SSE at /sse, /healthz."
	}
	return "MCP server on standard input/output. An MCP client (Claude Desktop, Cursor, VS Code) starts it;\n" +
		"logs go to standard error, never to standard output."
}

// commandHelp is `igmcp stdio --help` / `igmcp http --help`: the command's
// flags and environment variables, from the settings table.
func commandHelp(w io.Writer, cmd string) {
	use := commandOf(cmd)
	fmt.Fprintf(w, "usage: igmcp %s [flags]\n\n%s\n\nflags (a flag overrides its environment variable):\n", cmd, commandSummary(cmd))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
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
	fmt.Fprint(w, "\nREADME.md \"Configuration\" explains every setting.\n"+exitStatusHelp)
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
