package tools_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/tools"
)

func promptText(t *testing.T, res *mcp.GetPromptResult) string {
	t.Helper()
	if len(res.Messages) != 1 || res.Messages[0].Role != mcp.RoleUser {
		t.Fatalf("messages: %+v", res.Messages)
	}
	tc, ok := res.Messages[0].Content.(mcp.TextContent)
	if !ok {
		t.Fatalf("content: %#v", res.Messages[0].Content)
	}
	return tc.Text
}

func getPrompt(ctx context.Context, e *mcpEnv, name string, args map[string]string) (*mcp.GetPromptResult, error) {
	req := mcp.GetPromptRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	return e.client.GetPrompt(ctx, req)
}

func TestPrompts_ListedAndRendered(t *testing.T) {
	for _, era := range eras {
		t.Run(eraName(era), func(t *testing.T) {
			t.Parallel()
			e := newMCPEnv(t, mcpEnvOpts{era: era})
			ctx := context.Background()
			list, err := e.client.ListPrompts(ctx, mcp.ListPromptsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, p := range list.Prompts {
				names = append(names, p.Name)
				if p.Description == "" {
					t.Fatalf("prompt %s has no description", p.Name)
				}
			}
			if !slices.Equal(names, []string{"performance_report", "plan_week"}) {
				t.Fatalf("prompts: %v", names)
			}

			res, err := getPrompt(ctx, e, "plan_week", map[string]string{"topic": "spring collection", "account": "brand_b", "start_date": "2026-12-01", "posts": "4"})
			if err != nil {
				t.Fatal(err)
			}
			text := promptText(t, res)
			for _, want := range []string{"spring collection", "brand_b", "2026-12-01", "4 posts", "igmcp://accounts", "get_insights", "schedule_post", "approval"} {
				if !strings.Contains(text, want) {
					t.Fatalf("plan_week text lacks %q:\n%s", want, text)
				}
			}

			res, err = getPrompt(ctx, e, "performance_report", map[string]string{"days": "28", "media_ids": "1790001, 1790002"})
			if err != nil {
				t.Fatal(err)
			}
			text = promptText(t, res)
			for _, want := range []string{"28 days", "get_insights", "1790001, 1790002", "retry_after_seconds"} {
				if !strings.Contains(text, want) {
					t.Fatalf("performance_report text lacks %q:\n%s", want, text)
				}
			}
			if strings.Contains(text, "impressions\"") || strings.Contains(text, "metrics impressions") {
				t.Fatalf("report asks for a retired metric:\n%s", text)
			}
		})
	}
}

func TestPrompts_BadArgumentsAreErrors(t *testing.T) {
	t.Parallel()
	e := newMCPEnv(t, mcpEnvOpts{})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		args map[string]string
	}{
		{"plan_week", nil},
		{"plan_week", map[string]string{"topic": "x", "posts": "99"}},
		{"plan_week", map[string]string{"topic": "x", "start_date": "next monday"}},
		{"performance_report", map[string]string{"days": "30"}},
		{"performance_report", map[string]string{"media_ids": "abc"}},
	} {
		if _, err := getPrompt(ctx, e, tc.name, tc.args); err == nil {
			t.Fatalf("%s %v: no error", tc.name, tc.args)
		}
	}
}

// Prompts only name tools the server exposes.
func TestPrompts_FollowTheToolSelection(t *testing.T) {
	t.Parallel()
	e := newMCPEnv(t, mcpEnvOpts{selection: tools.Selection{Toolsets: []string{tools.ToolsetComments}}})
	ctx := context.Background()
	list, err := e.client.ListPrompts(ctx, mcp.ListPromptsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Prompts) != 1 || list.Prompts[0].Name != "plan_week" {
		t.Fatalf("without insights: %+v", list.Prompts)
	}
	res, err := getPrompt(ctx, e, "plan_week", map[string]string{"topic": "x"})
	if err != nil {
		t.Fatal(err)
	}
	text := promptText(t, res)
	if strings.Contains(text, "get_insights") || strings.Contains(text, "create_post") {
		t.Fatalf("prompt names tools this server does not expose:\n%s", text)
	}
}

func TestCompletion_PromptAndTemplateArguments(t *testing.T) {
	t.Parallel()
	e := newMCPEnv(t, mcpEnvOpts{})
	ctx := context.Background()
	complete := func(ref any, name, value string) []string {
		t.Helper()
		req := mcp.CompleteRequest{}
		req.Params.Ref = ref
		req.Params.Argument.Name, req.Params.Argument.Value = name, value
		res, err := e.client.Complete(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res.Completion.Values
	}
	prompt := mcp.PromptReference{Type: "ref/prompt", Name: "performance_report"}
	if got := complete(prompt, "days", "2"); !slices.Equal(got, []string{"28"}) {
		t.Fatalf("days: %v", got)
	}
	if got := complete(prompt, "account", "brand"); !slices.Equal(got, []string{"brand_a", "brand_b"}) {
		t.Fatalf("account: %v", got)
	}
	tpl := mcp.ResourceReference{Type: "ref/resource", URI: "igmcp://accounts/{account}"}
	if got := complete(tpl, "account", "@brand_b"); !slices.Equal(got, []string{"brand_b"}) {
		t.Fatalf("template account: %v", got)
	}
	if got := complete(mcp.PromptReference{Type: "ref/prompt", Name: "unknown"}, "x", ""); len(got) != 0 {
		t.Fatalf("unknown argument: %v", got)
	}
}
