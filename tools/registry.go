// Package tools defines igmcp's MCP tools: one constructor per tool, in a
// file per area, all listed by toolset in Toolsets (All flattens them).
package tools

// The tool reference (docs/tools.md), the README's tool table and context
// figures, and the schema snapshots are generated from these definitions.
//go:generate env UPDATE_DOCS=1 UPDATE_TOOLSNAPS=true go test -count=1 -run ^(TestGeneratedDocs|TestToolSnapshots)$ .

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/localfile"
	"github.com/igmcp/igmcp/preflight"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/scheduler"
	"github.com/igmcp/igmcp/store"
)

// Toolset names (IGMCP_TOOLSETS, docs/reference.md §2).
const (
	ToolsetContext   = "context"
	ToolsetPublish   = "publish"
	ToolsetComments  = "comments"
	ToolsetInsights  = "insights"
	ToolsetSchedule  = "schedule"
	ToolsetDiscovery = "discovery"
	ToolsetEvents    = "events"
)

// When says whether a toolset is on when IGMCP_TOOLSETS does not name it.
type When int

const (
	OptIn        When = iota // only when named (or with `all`)
	ByDefault                // in the default list
	WithWebhooks             // in the default list when webhooks are configured
	AlwaysOn                 // whatever IGMCP_TOOLSETS says
)

// Toolset is a group of tools switched on and off together.
type Toolset struct {
	Name string
	When When
	// Description says what the toolset is for (generated docs).
	Description string
	// Instructions is the workflow guidance the server instructions carry
	// while the toolset is on: said once there instead of in every tool
	// description, because every byte of tools/list is context an agent
	// pays for on every turn.
	Instructions string
	// Tools builds the toolset's tools, in display order.
	Tools []func(*Deps) Tool
}

// Toolsets is every toolset with its tools, in display order: the one list
// of tools (All flattens it), of toolset names, defaults and instructions.
func Toolsets() []Toolset {
	return []Toolset{
		{Name: ToolsetContext, When: AlwaysOn,
			Description:  "Who the server acts as and what it did: always on.",
			Instructions: "Omit account to act as the default account; list_accounts lists them.",
			Tools:        []func(*Deps) Tool{ListAccounts, ListActivity}},
		{Name: ToolsetPublish, When: ByDefault,
			Description: "Publish posts, carousels, Reels and Stories exactly once; check a post before publishing.",
			Instructions: "A publishing tool creates, waits for, publishes and first-comments in one call. " +
				"On status processing, poll get_container_status, then call publish_container. " +
				"Never re-run a publishing tool after processing or outcome_unknown: that posts twice.",
			Tools: []func(*Deps) Tool{CreatePost, CreateCarousel, PublishReel, PublishStory, PublishContainer, GetContainerStatus, ValidatePost, GetPublishingLimit, DeleteMedia}},
		{Name: ToolsetComments, When: ByDefault,
			Description: "Read, write and moderate comments on the account's media.",
			Tools:       []func(*Deps) Tool{ListComments, CreateComment, ReplyComment, ModerateComment, SetCommentsEnabled}},
		{Name: ToolsetInsights, When: ByDefault,
			Description: "The account's media and their metrics.",
			Tools:       []func(*Deps) Tool{GetInsights, ListMedia, GetMedia}},
		{Name: ToolsetSchedule, When: ByDefault,
			Description:  "Posts the server publishes later by itself, and background publishes.",
			Instructions: "wait: false returns a job_id at once: poll get_job, never publish again.",
			Tools:        []func(*Deps) Tool{SchedulePost, ListScheduledPosts, CancelScheduledPost, GetJob}},
		{Name: ToolsetDiscovery, When: OptIn,
			Description:  "Other accounts' public media: hashtags, mentions, business discovery (Facebook Login only).",
			Instructions: "search_hashtag spends 1 of 30 new hashtags per 7 days; repeats are free.",
			Tools:        []func(*Deps) Tool{SearchHashtag, GetHashtagMedia, ListMentions, GetBusinessProfile}},
		{Name: ToolsetEvents, When: WithWebhooks,
			Description:  "What Meta's webhooks delivered.",
			Instructions: "Subscribe to instagram://events for new events. own: true marks the account's own comments: never answer them.",
			Tools:        []func(*Deps) Tool{ListEvents}},
	}
}

// DefaultToolsets is the IGMCP_TOOLSETS default (docs/reference.md §2):
// every ByDefault toolset, plus the WithWebhooks ones when webhooks are
// configured. Always-on toolsets are not listed: they need no naming.
func DefaultToolsets(webhooks bool) []string {
	var out []string
	for _, ts := range Toolsets() {
		if ts.When == ByDefault || (webhooks && ts.When == WithWebhooks) {
			out = append(out, ts.Name)
		}
	}
	return out
}

// ToolsetNames is every toolset name, in display order.
func ToolsetNames() []string {
	var out []string
	for _, ts := range Toolsets() {
		out = append(out, ts.Name)
	}
	return out
}

func alwaysOn(toolset string) bool {
	return slices.ContainsFunc(Toolsets(), func(ts Toolset) bool { return ts.Name == toolset && ts.When == AlwaysOn })
}

// ParseToolsets validates a comma list of toolset names; `all` is every
// toolset. A list that names none (empty, or only commas and spaces) is an
// error, as is an unknown name: a typo must not silently expose a different
// set of tools. The caller decides what an unset variable means
// (DefaultToolsets).
func ParseToolsets(s string) ([]string, error) {
	known := ToolsetNames()
	var out []string
	for _, name := range strings.Split(s, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		switch {
		case name == "":
			continue
		case name == "all":
			return known, nil
		case !slices.Contains(known, name):
			return nil, fmt.Errorf("unknown toolset %q (known: %s, all)", name, strings.Join(known, ", "))
		case !slices.Contains(out, name):
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q names no toolset (known: %s, all)", s, strings.Join(known, ", "))
	}
	return out, nil
}

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
	// Preflight checks media before containers are created
	// (IGMCP_PREFLIGHT=on); nil when off.
	Preflight *preflight.Checker
	// Stager stages image files given as file_path (IGMCP_STAGING_*); nil
	// without a bucket.
	Stager publish.Stager
	// MediaRoot, when set (IGMCP_MEDIA_ROOT), is the only directory
	// file_path may point into.
	MediaRoot string
	// Files is the media-root gate for file_path (IGMCP_MEDIA_ROOT and the
	// transport's default, docs/reference.md §2); nil: one built from
	// MediaRoot with the stdio defaults.
	Files *localfile.Policy
	// Upload tunes resumable uploads (chunk size, attempts).
	Upload graph.UploadOptions
	// Hashtags tracks the 30-hashtags-per-7-days budget per account (shared
	// through the store when it has one); nil: search_hashtag keeps one in
	// memory.
	Hashtags *HashtagBudget
	// Events are the webhook deliveries the receiver stored (list_events,
	// instagram://events, and the Story insights get_insights falls back
	// to); nil when webhooks are not configured.
	Events store.Events
	// EventNotices tells subscribers of instagram://events that events
	// arrived: the process's webhooks.Hub (one per process; on PostgreSQL
	// it hears every replica). The goroutine that forwards its notices
	// ends when it stops. nil: no notifications.
	EventNotices EventSource
	// Signals tells of posts that went live on any replica (the process's
	// webhooks.Hub), so subscribers of the accounts resources hear of every
	// publish: the publisher's store must signal store.NoticePublished
	// (cmd/igmcp wires it so). nil: they hear of this server's publishing
	// tools only.
	Signals SignalSource
	// Tasks offers MCP tasks on the publishing tools (docs/reference.md
	// §6): the capabilities, and execution.taskSupport on TaskTools. Only
	// where a front answers tasks from the store (igmcp http, taskfront).
	Tasks bool
	// Sandbox marks every successful result with "sandbox": true.
	Sandbox bool
	// Confirm asks the user (MCP elicitation, where the client supports it)
	// before anything is published or deleted (IGMCP_CONFIRM=1).
	Confirm bool
	// Confirmations keep the dialogs Confirm asks for until their answer
	// is used, once, on any replica (the store); nil: this server's memory.
	Confirmations store.Confirmations
	Logger        *slog.Logger
}

// Tool is one MCP tool with what the server needs to know about it as data,
// so filtering and checks happen before the handler runs and the model
// never sees a hidden tool.
type Tool struct {
	Tool    mcp.Tool
	Handler server.ToolHandlerFunc
	// Toolset is the toolset that lists the tool (set by All).
	Toolset string
	// Scopes are the permissions the tool needs under each login flow,
	// checked against the account's stored scopes before the call.
	Scopes auth.Scopes
}

// ReadOnly reports the tool's readOnlyHint: the annotation is the only
// record of it, so what clients are told and what read-only mode exposes
// cannot disagree.
func (t Tool) ReadOnly() bool {
	h := t.Tool.Annotations.ReadOnlyHint
	return h != nil && *h
}

// All is every tool, grouped by toolset as Toolsets lists them.
func All(d *Deps) []Tool {
	var out []Tool
	for _, ts := range Toolsets() {
		for _, build := range ts.Tools {
			t := build(d)
			t.Toolset = ts.Name
			out = append(out, t)
		}
	}
	return out
}

// Selection is which tools to expose (IGMCP_TOOLSETS, IGMCP_READ_ONLY).
type Selection struct {
	// Toolsets to expose; empty: every toolset. Always-on toolsets are
	// exposed whatever it says.
	Toolsets []string
	ReadOnly bool
}

// Select filters tools by toolset and read-only mode. Read-only wins over
// everything: a write tool is never exposed in read-only mode.
func Select(all []Tool, sel Selection) []Tool {
	var out []Tool
	for _, t := range all {
		if sel.ReadOnly && !t.ReadOnly() {
			continue
		}
		if len(sel.Toolsets) > 0 && !slices.Contains(sel.Toolsets, t.Toolset) && !alwaysOn(t.Toolset) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// annotations are a tool's MCP hints; every one is set explicitly.
type annotations struct {
	readOnly, destructive, idempotent bool
	// closedWorld: the tool reads or changes only igmcp's own state (the
	// account may still be resolved through Instagram).
	closedWorld bool
}

// handler is a tool's typed handler: its decoded arguments and the call
// they came with; it returns structuredContent and the one-line text.
type handler[A any] func(ctx context.Context, c *call, a *A) (any, string, error)

// newTool defines a tool: input schema from A, output schema from R, all
// four annotations, its scopes, and the handler bound to strict argument
// decoding and the docs/reference.md §4 error results.
func newTool[A, R any](d *Deps, name, description string, a annotations, scopes auth.Scopes, h handler[A]) Tool {
	t := mcp.NewToolWithRawSchema(name, description, inputSchema[A]())
	t.RawOutputSchema = outputSchema[R]()
	// No annotation title: clients show the tool name, and titles would cost
	// every agent context on every turn.
	t.Annotations = mcp.ToolAnnotation{
		ReadOnlyHint:    mcp.ToBoolPtr(a.readOnly),
		DestructiveHint: mcp.ToBoolPtr(a.destructive),
		IdempotentHint:  mcp.ToBoolPtr(a.idempotent),
		OpenWorldHint:   mcp.ToBoolPtr(!a.closedWorld),
	}
	return Tool{Tool: t, Scopes: scopes, Handler: bind(d, h)}
}

// bind wraps a typed handler: strict argument decoding (and the paging
// rules of list tools), account resolution errors and Graph errors all
// become docs/reference.md §4 error results; only genuine bugs would be Go
// errors.
func bind[A any](d *Deps, fn handler[A]) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args A
		if err := decodeArgs(req, &args); err != nil {
			return errorResult(err), nil
		}
		if p, ok := any(&args).(paged); ok {
			if err := p.listOptions().check(p.maxLimit()); err != nil {
				return errorResult(err), nil
			}
		}
		c := &call{d: d, req: req, acct: accountOf(ctx, req)}
		v, text, err := fn(ctx, c, &args)
		if err != nil {
			if d.Logger != nil {
				d.Logger.Debug("tool failed", "tool", req.Params.Name, "err", err)
			}
			return errorResult(err), nil
		}
		return successResult(v, text, d.Sandbox)
	}
}

// call is one tool call as its handler sees it.
type call struct {
	d    *Deps
	req  mcp.CallToolRequest
	acct *callAccount
}

// account is the account the call acts as: the one helper every handler
// resolves `account` with. Handlers check their input first (resolving may
// call Instagram), then ask for it.
func (c *call) account(ctx context.Context) (*auth.Account, error) {
	return c.acct.resolve(ctx, c.d)
}

// callAccount is the `account` argument of one call, resolved at most once:
// the middleware that checks the caller's grant and the account's scopes
// and the handler act on the very same account.
type callAccount struct {
	name string
	bad  error // the argument is not a string
	once sync.Once
	acct *auth.Account
	err  error
}

type callAccountKey struct{}

// withCallAccount starts the call's account in ctx; the outermost tool
// middleware does this, so every later step shares it.
func withCallAccount(ctx context.Context, req mcp.CallToolRequest) context.Context {
	return context.WithValue(ctx, callAccountKey{}, newCallAccount(req))
}

// accountOf is the call's account started by the middleware, or a new one
// for a handler run without it.
func accountOf(ctx context.Context, req mcp.CallToolRequest) *callAccount {
	if ca, ok := ctx.Value(callAccountKey{}).(*callAccount); ok {
		return ca
	}
	return newCallAccount(req)
}

func newCallAccount(req mcp.CallToolRequest) *callAccount {
	name, err := accountArgument(req)
	return &callAccount{name: name, bad: err}
}

func (ca *callAccount) resolve(ctx context.Context, d *Deps) (*auth.Account, error) {
	ca.once.Do(func() {
		if ca.bad != nil {
			ca.err = ca.bad
			return
		}
		ca.acct, ca.err = d.Accounts.Resolve(ctx, ca.name)
	})
	return ca.acct, ca.err
}

// AccountArg is the `account` argument every tool takes.
type AccountArg struct {
	Account string `json:"account,omitempty" jsonschema_description:"Username or id."`
}

// ListOptions are the paging arguments of list tools, embedded in their
// argument structs as go-github embeds its ListOptions. A tool that embeds
// them says its largest page with maxLimit: the input schema and the check
// before the handler both read it there.
type ListOptions struct {
	Limit  int    `json:"limit,omitempty" jsonschema:"minimum=1" jsonschema_description:"Page size."`
	Cursor string `json:"cursor,omitempty" jsonschema_description:"A next_cursor."`
}

func (o *ListOptions) listOptions() *ListOptions { return o }

// paged is an argument struct that embeds ListOptions.
type paged interface {
	listOptions() *ListOptions
	maxLimit() int
}

func (o *ListOptions) check(maxLimit int) error {
	if o.Limit < 0 || o.Limit > maxLimit {
		return invalid("limit", "limit must be between 1 and %d, got %d", maxLimit, o.Limit)
	}
	return checkCursor("cursor", o.Cursor)
}

// checkCursor keeps a cursor to what a previous page can have returned: it
// travels into a Graph URL.
func checkCursor(field, cursor string) error {
	if len(cursor) > 512 || strings.ContainsAny(cursor, " \t\r\n&?#") {
		return invalid(field, "%s must be the next_cursor of a previous page", field)
	}
	return nil
}

// graph is the Graph API form of the options.
func (o ListOptions) graph() *graph.ListOptions {
	return &graph.ListOptions{Limit: o.Limit, After: o.Cursor}
}

// nextCursor is the cursor of the next page, "" on the last one.
func nextCursor(resp *graph.Response) string {
	if resp == nil || resp.Paging == nil || resp.Paging.Next == "" {
		return ""
	}
	return resp.Paging.After
}
