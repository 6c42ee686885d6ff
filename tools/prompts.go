package tools

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/igmcp/igmcp/scope"
)

// Prompt names.
const (
	PromptPlanWeek          = "plan_week"
	PromptPerformanceReport = "performance_report"
)

// addPrompts registers the prompts for common jobs. Their text names only
// tools this server exposes (toolsets and read-only mode change that), so a
// prompt never sends the agent after a tool it cannot call.
func addPrompts(s *server.MCPServer, tools []Tool) {
	has := func(name string) bool {
		return slices.ContainsFunc(tools, func(t Tool) bool { return t.Tool.Name == name })
	}
	s.AddPrompt(mcp.NewPrompt(PromptPlanWeek,
		mcp.WithPromptTitle("Plan a week of posts"),
		mcp.WithPromptDescription("Draft a 7-day Instagram content plan (formats, captions, hashtags, times) within the account's publishing quota, for the user to approve before anything is published."),
		mcp.WithArgument("topic", mcp.RequiredArgument(), mcp.ArgumentDescription("What the week is about, e.g. a product launch or a theme.")),
		mcp.WithArgument("account", mcp.ArgumentDescription("Username or id of the account; default: the only configured account.")),
		mcp.WithArgument("start_date", mcp.ArgumentDescription("First day of the plan, YYYY-MM-DD; default: tomorrow.")),
		mcp.WithArgument("posts", mcp.ArgumentDescription("How many posts in the week, 1-21; default 5.")),
	), func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return planWeek(req.Params.Arguments, has, time.Now())
	})
	if has("get_insights") {
		s.AddPrompt(mcp.NewPrompt(PromptPerformanceReport,
			mcp.WithPromptTitle("Performance report"),
			mcp.WithPromptDescription("Collect account and post metrics with get_insights and write a short report: headline numbers, best posts and what to do next."),
			mcp.WithArgument("account", mcp.ArgumentDescription("Username or id of the account; default: the only configured account.")),
			mcp.WithArgument("days", mcp.ArgumentDescription("Length of the period ending today: 7 or 28; default 7.")),
			mcp.WithArgument("media_ids", mcp.ArgumentDescription("Optional comma list of media ids to report on individually.")),
		), func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return performanceReport(req.Params.Arguments, has, time.Now())
		})
	}
}

func planWeek(args map[string]string, has func(string) bool, now time.Time) (*mcp.GetPromptResult, error) {
	topic := strings.TrimSpace(args["topic"])
	if topic == "" {
		return nil, fmt.Errorf("argument topic is required")
	}
	start := now.AddDate(0, 0, 1).Format(time.DateOnly)
	if s := strings.TrimSpace(args["start_date"]); s != "" {
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return nil, fmt.Errorf("argument start_date must be YYYY-MM-DD, got %q", s)
		}
		start = s
	}
	posts := 5
	if s := strings.TrimSpace(args["posts"]); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 21 {
			return nil, fmt.Errorf("argument posts must be a number from 1 to 21, got %q", s)
		}
		posts = n
	}
	acct := accountPhrase(args["account"])
	var b strings.Builder
	fmt.Fprintf(&b, "Plan a week of Instagram posts for %s about: %s.\nThe week starts on %s and has %d posts.\n\n", acct, topic, start, posts)
	step := stepper(&b)
	step("Read the resource %s for the account and its publishing quota (posts left in the rolling 24 hours); never plan more posts on one day than the quota allows.", AccountsURI)
	if has("get_insights") {
		step("Call get_insights for the account (metrics views, reach, total_interactions; period day; since 28 days ago) to see what performs; prefer the formats and days that did best. If a call fails, follow structuredContent.error.action.")
	}
	step("Propose the plan as a table: day, local time, format (image post, carousel of 2-10 items, or Reel), the media needed, caption (at most 2200 characters, 30 hashtags and 20 @mentions), alt text and an optional first comment.")
	step("Show the plan to the user and wait for their approval. Publish nothing in this step.")
	switch {
	case has("schedule_post"):
		step("After approval, schedule each post with schedule_post at its time, once its media is at a public https URL.")
	case has("create_post"):
		step("After approval, and only for posts whose media is already at a public https URL, you may prepare drafts with create_post publish=false; publish them with publish_container when the user says so.")
	default:
		step("This server exposes no publishing tools: hand the approved plan to the user.")
	}
	return mcp.NewGetPromptResult("A week of posts about "+topic,
		[]mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(b.String()))}), nil
}

func performanceReport(args map[string]string, has func(string) bool, now time.Time) (*mcp.GetPromptResult, error) {
	days := 7
	if s := strings.TrimSpace(args["days"]); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || (n != 7 && n != 28) {
			return nil, fmt.Errorf("argument days must be 7 or 28, got %q", s)
		}
		days = n
	}
	var ids []string
	for _, id := range strings.Split(args["media_ids"], ",") {
		if id = strings.TrimSpace(id); id != "" {
			if !numericID.MatchString(id) {
				return nil, fmt.Errorf("argument media_ids must be numeric media ids, got %q", id)
			}
			ids = append(ids, id)
		}
	}
	until := now.Format(time.DateOnly)
	since := now.AddDate(0, 0, -days).Format(time.DateOnly)
	acct := accountPhrase(args["account"])
	var b strings.Builder
	fmt.Fprintf(&b, "Write an Instagram performance report for %s for the %d days from %s to %s.\n\n", acct, days, since, until)
	step := stepper(&b)
	step("Call get_insights for the account with metrics views, reach, accounts_engaged, total_interactions, follows_and_unfollows; period day; metric_type total_value; since %s; until %s.", since, until)
	switch {
	case len(ids) > 0:
		step("For each media id %s, call get_insights with media_id and metrics views, reach, likes, comments, saved, shares, total_interactions.", strings.Join(ids, ", "))
	case has("list_media"):
		step("Call list_media to find the posts of the period, then get_insights for each of them (at most 10) with metrics views, reach, likes, comments, saved, shares, total_interactions.")
	default:
		step("If the user names posts (media ids), call get_insights for each with metrics views, reach, likes, comments, saved, shares, total_interactions.")
	}
	step("If a call fails, follow structuredContent.error.action; on rate_limited wait retry_after_seconds instead of retrying at once. Retired metric names such as impressions are refused: use the replacement the error names.")
	step("Report: the headline numbers, the best three posts and why they worked, and three concrete suggestions for the next %d days. Quote numbers exactly as returned and say which metrics were unavailable.", days)
	return mcp.NewGetPromptResult(fmt.Sprintf("Performance report, last %d days", days),
		[]mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(b.String()))}), nil
}

func accountPhrase(a string) string {
	if a = strings.TrimSpace(a); a != "" {
		return "the account " + a + " (pass account=" + a + " to every tool)"
	}
	return "the default account"
}

// stepper numbers the steps of a prompt.
func stepper(b *strings.Builder) func(format string, args ...any) {
	n := 0
	return func(format string, args ...any) {
		n++
		fmt.Fprintf(b, "%d. ", n)
		fmt.Fprintf(b, format, args...)
		b.WriteByte('\n')
	}
}

// completer suggests values for prompt arguments and the account resource
// template (completion/complete): accounts the caller may act as, and the
// few values days and posts take. Anything else gets no suggestions, which
// the protocol allows.
type completer struct{ d *Deps }

func (c completer) CompletePromptArgument(ctx context.Context, _ string, arg mcp.CompleteArgument, _ mcp.CompleteContext) (*mcp.Completion, error) {
	switch arg.Name {
	case "account":
		return c.accounts(ctx, arg.Value), nil
	case "days":
		return prefixed([]string{"7", "28"}, arg.Value), nil
	case "posts":
		return prefixed([]string{"3", "5", "7", "14"}, arg.Value), nil
	case "start_date":
		var days []string
		for i := 1; i <= 7; i++ {
			days = append(days, time.Now().AddDate(0, 0, i).Format(time.DateOnly))
		}
		return prefixed(days, arg.Value), nil
	}
	return &mcp.Completion{Values: []string{}}, nil
}

func (c completer) CompleteResourceArgument(ctx context.Context, _ string, arg mcp.CompleteArgument, _ mcp.CompleteContext) (*mcp.Completion, error) {
	if arg.Name == "account" {
		return c.accounts(ctx, arg.Value), nil
	}
	return &mcp.Completion{Values: []string{}}, nil
}

// accounts lists usernames (or ids) the caller may act as; a failure (no
// token, say) is simply no suggestions.
func (c completer) accounts(ctx context.Context, prefix string) *mcp.Completion {
	var names []string
	for _, a := range listAccountsNoQuota(ctx, c.d) {
		if a.Username != "" {
			names = append(names, a.Username)
		} else {
			names = append(names, a.ID)
		}
	}
	return prefixed(names, scope.Normalize(prefix))
}

func prefixed(values []string, prefix string) *mcp.Completion {
	out := []string{}
	for _, v := range values {
		if strings.HasPrefix(strings.ToLower(v), strings.ToLower(prefix)) {
			out = append(out, v)
		}
	}
	return &mcp.Completion{Values: out, Total: len(out)}
}
