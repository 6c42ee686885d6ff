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

// The default must fit 16 KB and everything 28 KB; the figures are logged
// per tool so a regression names its cause.
func TestToolsList_ContextCost(t *testing.T) {
	def := measure(t, &tools.Deps{}, tools.Selection{Toolsets: tools.DefaultToolsets(false)}, nil)
	t.Logf("default (%s + context): %d tools, %d bytes of tools + %d of instructions = %d (budget %d)",
		strings.Join(tools.DefaultToolsets(false), ","), def.tools, def.toolBytes, def.instructions, def.model(), defaultBudget)
	if def.model() > defaultBudget {
		t.Errorf("the default toolsets cost a model %d bytes, over the %d budget", def.model(), defaultBudget)
	}
	// With webhooks configured the default also has the events toolset
	// (docs/reference.md §2); logged, not held to the budget: see README.
	hooks := measure(t, &tools.Deps{}, tools.Selection{Toolsets: tools.DefaultToolsets(true)}, nil)
	t.Logf("default with webhooks (%s + context): %d tools, %d bytes", strings.Join(tools.DefaultToolsets(true), ","), hooks.tools, hooks.model())
	all := measure(t, &tools.Deps{}, tools.Selection{}, nil)
	t.Logf("all: %d tools, tools/list result %d bytes (budget %d); model cost %d", all.tools, all.listBytes, allBudget, all.model())
	if all.listBytes > allBudget {
		t.Errorf("tools/list with every toolset is %d bytes, over the %d budget", all.listBytes, allBudget)
	}
	w := wireOf(t, &tools.Deps{}, tools.Selection{})
	for _, raw := range w.tools {
		wt := w.tool(t, raw)
		t.Logf("  %-24s %5d bytes to the model, %5d in tools/list", wt.Name, wt.cost(t), len(raw))
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
