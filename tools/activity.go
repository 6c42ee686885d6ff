package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/store"
)

type listActivityArgs struct {
	Action string `json:"action,omitempty" jsonschema:"enum=publish,enum=comment,enum=moderate" jsonschema_description:"Only this kind of write."`
	Limit  int    `json:"limit,omitempty" jsonschema:"minimum=1,maximum=200,default=20" jsonschema_description:"Entries per page."`
	Cursor string `json:"cursor,omitempty" jsonschema_description:"next_cursor of the previous page."`
	AccountArg
}

// ActivityEntry is one journal entry.
type ActivityEntry struct {
	Time      string   `json:"time"`
	AccountID string   `json:"account_id"`
	Action    string   `json:"action"`
	GraphIDs  []string `json:"graph_ids,omitempty"`
	Outcome   string   `json:"outcome"`
	ErrorKind string   `json:"error_kind,omitempty"`
}

// ActivityResult is the list_activity result.
type ActivityResult struct {
	Entries    []ActivityEntry `json:"entries"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

// ListActivity shows the journal of writes this server made.
func ListActivity(d *Deps) Tool {
	return Tool{
		Toolset:  ToolsetDiscovery,
		ReadOnly: true,
		Tool: tool("list_activity",
			"The journal of writes this server made (publishes, comments), newest first, with Graph ids and outcomes.",
			inputSchema[listActivityArgs](), outputSchema[ActivityResult](),
			annotations{title: "List activity", readOnly: true, idempotent: true}),
		Handler: bind(d, func(ctx context.Context, _ mcp.CallToolRequest, a *listActivityArgs) (any, string, error) {
			if a.Limit < 0 || a.Limit > 200 {
				return nil, "", invalid("limit", "limit must be between 1 and 200")
			}
			if a.Limit == 0 {
				a.Limit = 20
			}
			acct, err := d.Accounts.Resolve(ctx, a.Account)
			if err != nil {
				return nil, "", err
			}
			entries, next, err := d.Journal.ListJournal(ctx, store.JournalQuery{AccountID: acct.ID, Action: a.Action, Limit: a.Limit, Cursor: a.Cursor})
			if err != nil {
				return nil, "", invalid("cursor", "cannot read the journal page: %v", err)
			}
			res := ActivityResult{Entries: []ActivityEntry{}, NextCursor: next}
			for _, e := range entries {
				res.Entries = append(res.Entries, ActivityEntry{Time: e.Time.UTC().Format(time.RFC3339), AccountID: e.AccountID,
					Action: e.Action, GraphIDs: e.GraphIDs, Outcome: e.Outcome, ErrorKind: e.ErrorKind})
			}
			return res, fmt.Sprintf("%d journal entries", len(res.Entries)), nil
		}),
	}
}
