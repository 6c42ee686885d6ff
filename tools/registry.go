// Package tools defines igmcp's MCP tools: one constructor per tool, grouped
// in a file per toolset, all listed in All.
package tools

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/scheduler"
	"github.com/igmcp/igmcp/store"
)

// Toolset names (IGMCP_TOOLSETS).
const (
	ToolsetPublish   = "publish"
	ToolsetComments  = "comments"
	ToolsetInsights  = "insights"
	ToolsetSchedule  = "schedule"
	ToolsetDiscovery = "discovery"
)

// Toolsets lists every toolset name, in display order.
var toolsetNames = []string{ToolsetPublish, ToolsetComments, ToolsetInsights, ToolsetSchedule, ToolsetDiscovery}

// Accounts resolves the `account` argument every tool takes.
type Accounts interface {
	Resolve(ctx context.Context, name string) (*auth.Account, error)
}

// Deps is what the tools need; tests build it around the fake Graph API.
type Deps struct {
	Accounts  Accounts
	Publisher *publish.Publisher
	// Journal is the record of writes (list_activity).
	Journal store.Journal
	// Scheduler runs schedule_post's schedules and wait: false jobs. With
	// none (tests without durable state) the schedule tools and wait: false
	// answer invalid_input.
	Scheduler *scheduler.Scheduler
	// Media configures preflight, media staging, uploads and the hashtag
	// budget (MediaTools); nil: preflight off, no staging.
	Media *MediaDeps
	// Sandbox marks every successful result with "sandbox": true.
	Sandbox bool
	// Confirm asks the user (MCP elicitation, where the client supports it)
	// before anything is published or deleted (IGMCP_CONFIRM=1).
	Confirm bool
	Logger  *slog.Logger
}

// Tool is one MCP tool with its toolset and read-only status as data, so
// filtering happens at registration and the model never sees a hidden tool.
type Tool struct {
	Tool     mcp.Tool
	Handler  server.ToolHandlerFunc
	Toolset  string
	ReadOnly bool
}

// All is the one list of tools.
func All(d *Deps) []Tool {
	return append([]Tool{
		CreatePost(d),
		CreateCarousel(d),
		PublishReel(d),
		GetContainerStatus(d),
		PublishContainer(d),
		ReplyComment(d),
		GetInsights(d),
		ListActivity(d),
		ListAccounts(d),
		SchedulePost(d, d.Scheduler),
		ListScheduledPosts(d, d.Scheduler),
		CancelScheduledPost(d, d.Scheduler),
		GetJob(d, d.Scheduler),
	}, MediaTools(d, d.Media)...)
}

// Selection is which tools to expose (IGMCP_TOOLSETS, IGMCP_READ_ONLY).
type Selection struct {
	Toolsets []string // empty or ["all"]: every toolset
	ReadOnly bool
}

// ParseToolsets validates a comma list of toolset names.
func ParseToolsets(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "all" {
		return nil, nil
	}
	var out []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(strings.ToLower(name))
		if name == "" {
			continue
		}
		if name == "all" {
			return nil, nil
		}
		if !slices.Contains(toolsetNames, name) {
			return nil, fmt.Errorf("toolsets (IGMCP_TOOLSETS, --toolsets): unknown toolset %q (known: %s, all)", name, strings.Join(toolsetNames, ", "))
		}
		out = append(out, name)
	}
	return out, nil
}

// Select filters tools by toolset and read-only mode. Read-only wins over
// everything: a write tool is never exposed in read-only mode.
func Select(all []Tool, sel Selection) []Tool {
	var out []Tool
	for _, t := range all {
		if sel.ReadOnly && !t.ReadOnly {
			continue
		}
		if len(sel.Toolsets) > 0 && !slices.Contains(sel.Toolsets, t.Toolset) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// bind wraps a typed handler: strict argument decoding, account resolution
// errors and Graph errors all become docs/reference.md §4 error results; only genuine
// bugs would be Go errors.
func bind[A any](d *Deps, fn func(ctx context.Context, req mcp.CallToolRequest, args *A) (any, string, error)) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args A
		if err := decodeArgs(req, &args); err != nil {
			return errorResult(err), nil
		}
		v, text, err := fn(ctx, req, &args)
		if err != nil {
			if d.Logger != nil {
				d.Logger.Debug("tool failed", "tool", req.Params.Name, "err", err)
			}
			return errorResult(err), nil
		}
		return successResult(v, text, d.Sandbox)
	}
}

// tool builds the mcp.Tool with all four annotations set explicitly (the raw
// schema constructor leaves them nil).
func tool(name, description string, in, out []byte, a annotations) mcp.Tool {
	t := mcp.NewToolWithRawSchema(name, description, in)
	t.RawOutputSchema = out
	// No annotation title: clients show the tool name, and titles would cost
	// every agent context on every turn.
	t.Annotations = mcp.ToolAnnotation{
		ReadOnlyHint:    mcp.ToBoolPtr(a.readOnly),
		DestructiveHint: mcp.ToBoolPtr(a.destructive),
		IdempotentHint:  mcp.ToBoolPtr(a.idempotent),
		OpenWorldHint:   mcp.ToBoolPtr(true), // every tool talks to Instagram
	}
	return t
}

type annotations struct {
	title                             string
	readOnly, destructive, idempotent bool
}

// AccountArg is the `account` argument every tool takes.
type AccountArg struct {
	Account string `json:"account,omitempty" jsonschema_description:"Account id or username."`
}
