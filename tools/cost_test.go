package tools_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/igmcp/igmcp/tools"
)

// Context budget (docs/reference.md §3): what the default toolsets cost a
// model (each tool's name, description and inputSchema as JSON, plus the
// server instructions) and the whole tools/list with every toolset.
const (
	defaultBudget = 16 << 10
	allBudget     = 28 << 10
)

// contextCost is the measured cost of one selection, through an MCP client.
type contextCost struct {
	tools        int
	toolBytes    int // name, description and inputSchema of every tool
	instructions int // the server instructions
	listBytes    int // the tools/list result, everything included
}

func (c contextCost) model() int { return c.toolBytes + c.instructions }

func (c contextCost) list() int { return c.listBytes }

func measure(t *testing.T, d *tools.Deps, sel tools.Selection, only func(name string) bool) contextCost {
	t.Helper()
	w := wireOf(t, d, sel)
	c := contextCost{instructions: len(w.instructions), listBytes: w.listBytes}
	for _, raw := range w.tools {
		wt := w.tool(t, raw)
		if only == nil || only(wt.Name) {
			c.tools++
			c.toolBytes += wt.cost(t)
		}
	}
	return c
}

// The default must fit 16 KB and everything 28 KB, with webhooks configured
// (the default then adds the events toolset) and with IGMCP_CONFIRM=1 (every
// write tool then takes `confirm`) too; the figures are logged per tool so a
// regression names its cause.
func TestToolsList_ContextCost(t *testing.T) {
	for _, tc := range []struct {
		name string
		deps tools.Deps
		sel  tools.Selection
		// cost is the figure held to the budget.
		cost   func(contextCost) int
		budget int
	}{
		{"default", tools.Deps{}, tools.Selection{Toolsets: tools.DefaultToolsets(false)}, contextCost.model, defaultBudget},
		{"default with webhooks", tools.Deps{}, tools.Selection{Toolsets: tools.DefaultToolsets(true)}, contextCost.model, defaultBudget},
		{"all: tools/list", tools.Deps{}, tools.Selection{}, contextCost.list, allBudget},
		{"all with IGMCP_CONFIRM=1: tools/list", tools.Deps{Confirm: true}, tools.Selection{}, contextCost.list, allBudget},
	} {
		c := measure(t, &tc.deps, tc.sel, nil)
		toolsets := "every toolset"
		if tc.sel.Toolsets != nil {
			toolsets = strings.Join(tc.sel.Toolsets, ",") + " + context"
		}
		t.Logf("%s (%s): %d tools, %d bytes of tools + %d of instructions = %d to the model; tools/list %d; held: %d (budget %d)",
			tc.name, toolsets, c.tools, c.toolBytes, c.instructions, c.model(), c.listBytes, tc.cost(c), tc.budget)
		if got := tc.cost(c); got > tc.budget {
			t.Errorf("%s costs %d bytes, over the %d budget", tc.name, got, tc.budget)
		}
	}
	for _, d := range []*tools.Deps{{}, {Confirm: true}} {
		w := wireOf(t, d, tools.Selection{})
		for _, raw := range w.tools {
			wt := w.tool(t, raw)
			t.Logf("  confirm=%-5v %-24s %5d bytes to the model, %5d in tools/list", d.Confirm, wt.Name, wt.cost(t), len(raw))
		}
	}
}

// costTable is the README's context-cost table: per toolset, what it adds
// to a model's context; then the default and everything.
func costTable(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("| toolsets | tools | bytes to the model | tools/list bytes |\n| --- | --- | --- | --- |\n")
	row := func(label string, c contextCost) {
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", label, c.tools, c.model(), c.listBytes)
	}
	for _, ts := range tools.Toolsets() {
		if len(ts.Tools) == 0 {
			continue
		}
		sel := tools.Selection{Toolsets: []string{ts.Name}}
		if ts.When == tools.AlwaysOn {
			row("`"+ts.Name+"` (always on)", measure(t, &tools.Deps{}, sel, nil))
			continue
		}
		row("`"+ts.Name+"` + context", measure(t, &tools.Deps{}, sel, nil))
	}
	row("default (`"+strings.Join(tools.DefaultToolsets(false), ",")+"`)", measure(t, &tools.Deps{}, tools.Selection{Toolsets: tools.DefaultToolsets(false)}, nil))
	row("default with webhooks configured (`"+strings.Join(tools.DefaultToolsets(true), ",")+"`)", measure(t, &tools.Deps{}, tools.Selection{Toolsets: tools.DefaultToolsets(true)}, nil))
	row("`all`", measure(t, &tools.Deps{}, tools.Selection{}, nil))
	row("`all` with `IGMCP_CONFIRM=1`", measure(t, &tools.Deps{Confirm: true}, tools.Selection{}, nil))
	return b.String()
}
