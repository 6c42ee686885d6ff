package tools

import (
	"context"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/store"
)

type listActivityArgs struct {
	Action string `json:"action,omitempty" jsonschema:"enum=publish,enum=comment,enum=moderate,enum=delete" jsonschema_description:"Only this kind of write."`
	ListOptions
	AccountArg
}

func (listActivityArgs) maxLimit() int { return 200 }

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
	return newTool[listActivityArgs, ActivityResult](d, "list_activity",
		"This server's writes, newest first.",
		annotations{readOnly: true, idempotent: true, closedWorld: true}, auth.NoScopes(),
		func(ctx context.Context, c *call, a *listActivityArgs) (any, string, error) {
			limit := a.Limit
			if limit == 0 {
				limit = 20
			}
			acct, err := c.account(ctx)
			if err != nil {
				return nil, "", err
			}
			entries, next, err := d.Journal.ListJournal(ctx, store.JournalQuery{AccountID: acct.ID, Action: a.Action, Limit: limit, Cursor: a.Cursor})
			if err != nil {
				return nil, "", invalid("cursor", "cannot read the journal page: %v", err)
			}
			res := ActivityResult{Entries: []ActivityEntry{}, NextCursor: next}
			for _, e := range entries {
				res.Entries = append(res.Entries, ActivityEntry{Time: e.Time.UTC().Format(time.RFC3339), AccountID: e.AccountID,
					Action: e.Action, GraphIDs: e.GraphIDs, Outcome: e.Outcome, ErrorKind: e.ErrorKind})
			}
			return res, count(len(res.Entries), "journal entry", "journal entries"), nil
		})
}
