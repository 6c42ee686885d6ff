package httpserver_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/httpserver"
)

// Schedules and jobs belong to the token that created them as well as to
// the account: another scoped token on the same account cannot list, read
// or cancel them; the unscoped IGMCP_HTTP_TOKEN sees and cancels all.
// (Mutant: tools' requester without the caller's grant, Token "": team b
// lists and cancels team a's schedule.)
func TestSchedulesBelongToTheToken_OverHTTP(t *testing.T) {
	t.Parallel()
	const teamBToken = "team-b-token-0123456789abcdef"
	both := []string{"publish", "schedule"}
	path := writeTokens(t, map[string]any{"tokens": []map[string]any{
		{"name": "team-a", "token": teamAToken, "accounts": []string{"brand_a"}, "toolsets": both},
		{"name": "team-b", "token": teamBToken, "accounts": []string{"brand_a"}, "toolsets": both},
	}})
	entries, err := httpserver.LoadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	e := startServer(t, srvOpts{cfg: httpserver.Config{Token: adminToken, Tokens: entries}, schedules: true})
	for _, tc := range []struct {
		kind transportKind
		era  string
	}{{streamable, ""}, {streamable, mcp.LATEST_LEGACY_PROTOCOL_VERSION}, {sse, mcp.LATEST_LEGACY_PROTOCOL_VERSION}} {
		t.Run(string(tc.kind)+"/"+eraName(tc.era), func(t *testing.T) {
			a := e.mustConnect(t, tc.kind, tc.era, teamAToken)
			b := e.mustConnect(t, tc.kind, tc.era, teamBToken)
			admin := e.mustConnect(t, tc.kind, tc.era, adminToken)
			at := time.Now().Add(time.Hour).Format(time.RFC3339)
			schedule := func(c *client.Client, caption string) string {
				m := ok(t, c, "schedule_post", map[string]any{"kind": "post", "publish_at": at, "post": map[string]any{"image_url": jpeg, "caption": caption}})
				return m["schedule_id"].(string)
			}
			aSched, bSched := schedule(a, "team a's"), schedule(b, "team b's")
			aJob := ok(t, a, "create_post", map[string]any{"image_url": jpeg, "caption": "team a's job", "wait": false})["job_id"].(string)

			if got := listed(t, a); !slices.Equal(got, []string{aSched}) {
				t.Errorf("team a lists %v, want only %s", got, aSched)
			}
			if got := listed(t, b); !slices.Equal(got, []string{bSched}) {
				t.Errorf("team b lists %v, want only %s", got, bSched)
			}
			for _, call := range []struct {
				tool string
				args map[string]any
			}{
				{"cancel_scheduled_post", map[string]any{"schedule_id": aSched}},
				{"get_job", map[string]any{"job_id": aJob}},
			} {
				res, err := callTool(context.Background(), b, call.tool, call.args)
				if k, _ := errKind(res); err != nil || k != "not_found" {
					t.Errorf("team b %s of team a's: %v %+v", call.tool, err, res)
				}
			}
			if got := listed(t, admin); !slices.Contains(got, aSched) || !slices.Contains(got, bSched) {
				t.Errorf("the unscoped token lists %v, want both teams' schedules", got)
			}
			ok(t, admin, "get_job", map[string]any{"job_id": aJob})
			if m := ok(t, admin, "cancel_scheduled_post", map[string]any{"schedule_id": bSched}); m["state"] != "cancelled" {
				t.Errorf("unscoped cancel: %v", m)
			}
			// Team a's schedule survived team b's attempt.
			if m := ok(t, a, "cancel_scheduled_post", map[string]any{"schedule_id": aSched}); m["state"] != "cancelled" {
				t.Errorf("team a cancels its own: %v", m)
			}
		})
	}
}

// ok calls a tool that must succeed and returns its structuredContent.
func ok(t *testing.T, c *client.Client, tool string, args map[string]any) map[string]any {
	t.Helper()
	res, err := callTool(context.Background(), c, tool, args)
	if err != nil || res.IsError {
		t.Fatalf("%s: %v %+v", tool, err, res)
	}
	m, _ := res.StructuredContent.(map[string]any)
	return m
}

// listed is the schedule ids list_scheduled_posts shows the client (of the
// default account, brand_a).
func listed(t *testing.T, c *client.Client) []string {
	t.Helper()
	var ids []string
	for _, s := range ok(t, c, "list_scheduled_posts", map[string]any{"account": "brand_a", "states": []string{"scheduled"}})["schedules"].([]any) {
		ids = append(ids, s.(map[string]any)["schedule_id"].(string))
	}
	return ids
}
