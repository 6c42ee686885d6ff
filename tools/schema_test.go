package tools_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/scope"
	"github.com/igmcp/igmcp/tools"
)

// listTools returns what a client sees in tools/list.
func listTools(t *testing.T, sel tools.Selection) []mcp.Tool {
	t.Helper()
	e := newEnv(t, envOpts{selection: sel})
	res, err := e.client.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Tools
}

// wantTools is every tool, written out by hand: its toolset and whether it
// is read-only. A tool removed from tools.All, moved to another toolset or
// with a changed readOnlyHint fails TestToolDefinitions.
var wantTools = map[string]struct {
	toolset  string
	readOnly bool
}{
	"list_accounts":         {"context", true},
	"list_activity":         {"context", true},
	"create_post":           {"publish", false},
	"create_carousel":       {"publish", false},
	"publish_reel":          {"publish", false},
	"publish_story":         {"publish", false},
	"publish_container":     {"publish", false},
	"get_container_status":  {"publish", true},
	"validate_post":         {"publish", true},
	"get_publishing_limit":  {"publish", true},
	"delete_media":          {"publish", false},
	"list_comments":         {"comments", true},
	"create_comment":        {"comments", false},
	"reply_comment":         {"comments", false},
	"moderate_comment":      {"comments", false},
	"set_comments_enabled":  {"comments", false},
	"get_insights":          {"insights", true},
	"list_media":            {"insights", true},
	"get_media":             {"insights", true},
	"schedule_post":         {"schedule", false},
	"list_scheduled_posts":  {"schedule", true},
	"cancel_scheduled_post": {"schedule", false},
	"get_job":               {"schedule", true},
	"search_hashtag":        {"discovery", false},
	"get_hashtag_media":     {"discovery", true},
	"list_mentions":         {"discovery", true},
	"get_business_profile":  {"discovery", true},
	"list_events":           {"events", true},
}

// Tool schemas are snapshot-tested so a change to what the model sees is
// always deliberate: the snapshot is the tool exactly as the server sends it
// in tools/list. UPDATE_TOOLSNAPS=true go test ./tools/ rewrites them; a
// missing snapshot fails under CI, and a snapshot no tool has (a removed or
// renamed tool) always fails.
func TestToolSnapshots(t *testing.T) {
	w := wireOf(t, &tools.Deps{}, tools.Selection{})
	update := os.Getenv("UPDATE_TOOLSNAPS") == "true"
	sent := map[string]bool{}
	for _, raw := range w.tools {
		name := w.tool(t, raw).Name
		sent[name] = true
		t.Run(name, func(t *testing.T) {
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, normalizeJSON(t, raw), "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("__toolsnaps__", name+".snap")
			want, err := os.ReadFile(path)
			switch {
			case update || (os.IsNotExist(err) && os.Getenv("CI") != "true"):
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			case err != nil:
				t.Fatalf("no snapshot %s (run UPDATE_TOOLSNAPS=true go test ./tools/ and commit it): %v", path, err)
			case !bytes.Equal(want, pretty.Bytes()):
				t.Fatalf("tool %s changed from its snapshot %s; if deliberate, run UPDATE_TOOLSNAPS=true go test ./tools/\n--- got\n%s", name, path, pretty.String())
			}
		})
	}
	snaps, err := filepath.Glob(filepath.Join("__toolsnaps__", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range snaps {
		name, isSnap := strings.CutSuffix(filepath.Base(p), ".snap")
		if isSnap && sent[name] {
			continue
		}
		if update && isSnap {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("%s belongs to no tool the server lists: remove it (UPDATE_TOOLSNAPS=true removes stale snapshots)", p)
	}
}

// normalizeJSON sorts object keys so snapshots do not depend on map order.
func normalizeJSON(t *testing.T, b []byte) []byte {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Repo-wide guards on every tool the model can see, as sent.
func TestToolDefinitions(t *testing.T) {
	w := wireOf(t, &tools.Deps{}, tools.Selection{})
	seen := map[string]bool{}
	for _, raw := range w.tools {
		var tl struct {
			Name         string          `json:"name"`
			Description  string          `json:"description"`
			Title        string          `json:"title"`
			Annotations  map[string]any  `json:"annotations"`
			InputSchema  map[string]any  `json:"inputSchema"`
			OutputSchema map[string]any  `json:"outputSchema"`
			Extra        json.RawMessage `json:"_meta"`
		}
		if err := json.Unmarshal(raw, &tl); err != nil {
			t.Fatal(err)
		}
		if seen[tl.Name] {
			t.Errorf("duplicate tool %s", tl.Name)
		}
		seen[tl.Name] = true
		want, known := wantTools[tl.Name]
		if !known {
			t.Errorf("%s: not in wantTools (add it there, with its toolset)", tl.Name)
		}
		for _, hint := range []string{"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"} {
			if _, ok := tl.Annotations[hint].(bool); !ok {
				t.Errorf("%s: %s must be set: %v", tl.Name, hint, tl.Annotations)
			}
		}
		readOnly := tl.Annotations["readOnlyHint"] == true
		if known && readOnly != want.readOnly {
			t.Errorf("%s: readOnlyHint=%v, want %v", tl.Name, readOnly, want.readOnly)
		}
		byName := strings.HasPrefix(tl.Name, "get_") || strings.HasPrefix(tl.Name, "list_") || strings.HasPrefix(tl.Name, "validate_")
		if readOnly != byName {
			t.Errorf("%s: readOnlyHint=%v, but docs/reference.md §3 says read-only tools are exactly get_*/list_*/validate_*", tl.Name, readOnly)
		}
		if len(tl.Description) == 0 || len(tl.Description) > 200 {
			t.Errorf("%s: description length %d", tl.Name, len(tl.Description))
		}
		in := tl.InputSchema
		for _, k := range []string{"anyOf", "oneOf", "allOf"} {
			if _, ok := in[k]; ok {
				t.Errorf("%s: top-level %s in input schema", tl.Name, k)
			}
		}
		if in["type"] != "object" {
			t.Errorf("%s: input schema must be an object: %v", tl.Name, in)
		}
		props, _ := in["properties"].(map[string]any)
		if _, ok := props["account"]; !ok {
			t.Errorf("%s: no account argument", tl.Name)
		}
		checkDescriptions(t, tl.Name, "", in)
		// Several MCP clients fail to list tools whose schemas use $ref
		// (or $defs): every schema is written out in full.
		if k := refKeyword(raw); k != "" {
			t.Errorf("%s: schema uses %s", tl.Name, k)
		}
		if tl.OutputSchema["type"] != "object" {
			t.Errorf("%s: output schema must be an object schema: %v", tl.Name, tl.OutputSchema)
		}
	}
	for name := range wantTools {
		if !seen[name] {
			t.Errorf("tool %s missing from tools/list", name)
		}
	}
	// The toolset each tool is listed in: one toolset selected at a time.
	for _, ts := range tools.ToolsetNames() {
		var got, want []string
		for _, tl := range wireOf(t, &tools.Deps{}, tools.Selection{Toolsets: []string{ts}}).tools {
			got = append(got, w.tool(t, tl).Name)
		}
		for name, wt := range wantTools {
			if wt.toolset == ts || wt.toolset == tools.ToolsetContext {
				want = append(want, name)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("IGMCP_TOOLSETS=%s lists %v, want %v", ts, got, want)
		}
	}
}

// refKeyword is the first $ref, $defs or definitions key anywhere in a
// tool as sent, or "".
func refKeyword(raw json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if k, ok := tok.(string); ok && (k == "$ref" || k == "$defs" || k == "definitions") {
			return k
		}
	}
}

// checkDescriptions walks nested properties (carousel items, user tags).
func checkDescriptions(t *testing.T, tool, path string, schema map[string]any) {
	props, _ := schema["properties"].(map[string]any)
	for name, p := range props {
		ps, _ := p.(map[string]any)
		if d, _ := ps["description"].(string); strings.TrimSpace(d) == "" {
			t.Errorf("%s: property %s%s has no description", tool, path, name)
		}
		checkDescriptions(t, tool, path+name+".", ps)
		if items, ok := ps["items"].(map[string]any); ok {
			checkDescriptions(t, tool, path+name+"[].", items)
		}
	}
}

func TestReadOnlyAndToolsets(t *testing.T) {
	names := func(ts []mcp.Tool) string {
		var n []string
		for _, t := range ts {
			n = append(n, t.Name)
		}
		return strings.Join(n, ",")
	}
	if got := names(listTools(t, tools.Selection{ReadOnly: true})); got != "get_business_profile,get_container_status,get_hashtag_media,get_insights,get_job,get_media,get_publishing_limit,list_accounts,list_activity,list_comments,list_events,list_media,list_mentions,list_scheduled_posts,validate_post" {
		t.Errorf("read-only tools: %s", got)
	}
	if got := names(listTools(t, tools.Selection{Toolsets: []string{"comments", "insights"}})); got != "create_comment,get_insights,get_media,list_accounts,list_activity,list_comments,list_media,moderate_comment,reply_comment,set_comments_enabled" {
		t.Errorf("comments+insights tools: %s", got)
	}
}

func TestParseToolsets(t *testing.T) {
	all := "context,publish,comments,insights,schedule,discovery,events"
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "publish", want: "publish"},
		{in: " Comments , insights,comments ", want: "comments,insights"},
		{in: "all", want: all},
		{in: "publish,ALL", want: all},
		{in: "discovery,", want: "discovery"},
		{in: "", err: `"" names no toolset`},
		{in: " , ", err: `" , " names no toolset`},
		{in: "publish,nope", err: `unknown toolset "nope" (known: context, publish, comments, insights, schedule, discovery, events, all)`},
	} {
		got, err := tools.ParseToolsets(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseToolsets(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
		case tc.err == "" && (err != nil || strings.Join(got, ",") != tc.want):
			t.Errorf("ParseToolsets(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	if got := fmt.Sprint(tools.DefaultToolsets(false)); got != "[publish comments insights schedule]" {
		t.Errorf("default toolsets: %s", got)
	}
	if got := fmt.Sprint(tools.DefaultToolsets(true)); got != "[publish comments insights schedule events]" {
		t.Errorf("default toolsets with webhooks: %s", got)
	}
}

func TestSandboxResultsAreMarked(t *testing.T) {
	e := newEnv(t, envOpts{sandbox: true})
	m := mustOK(t, e.call(t, "create_post", map[string]any{"image_url": jpeg}))
	if m["sandbox"] != true {
		t.Fatalf("sandbox result without sandbox:true: %v", m)
	}
}

// wantScopes is what each tool needs, written out by hand from
// docs/graph-api.md §1, §5, §7, §8, §9: Facebook Login, then Instagram
// Login.
var wantScopes = map[string][2][]string{
	"list_accounts":         {nil, nil},
	"list_activity":         {nil, nil},
	"create_post":           {{"instagram_basic", "instagram_content_publish"}, {"instagram_business_basic", "instagram_business_content_publish"}},
	"create_carousel":       {{"instagram_basic", "instagram_content_publish"}, {"instagram_business_basic", "instagram_business_content_publish"}},
	"publish_reel":          {{"instagram_basic", "instagram_content_publish"}, {"instagram_business_basic", "instagram_business_content_publish"}},
	"publish_story":         {{"instagram_basic", "instagram_content_publish"}, {"instagram_business_basic", "instagram_business_content_publish"}},
	"publish_container":     {{"instagram_basic", "instagram_content_publish"}, {"instagram_business_basic", "instagram_business_content_publish"}},
	"get_container_status":  {{"instagram_basic"}, {"instagram_business_basic"}},
	"validate_post":         {nil, nil},
	"get_publishing_limit":  {{"instagram_basic"}, {"instagram_business_basic"}},
	"delete_media":          {nil, nil},
	"list_comments":         {{"instagram_basic", "instagram_manage_comments", "pages_read_engagement"}, {"instagram_business_basic", "instagram_business_manage_comments"}},
	"create_comment":        {{"instagram_basic", "instagram_manage_comments", "pages_read_engagement"}, {"instagram_business_basic", "instagram_business_manage_comments"}},
	"reply_comment":         {{"instagram_basic", "instagram_manage_comments", "pages_read_engagement"}, {"instagram_business_basic", "instagram_business_manage_comments"}},
	"moderate_comment":      {{"instagram_basic", "instagram_manage_comments", "pages_read_engagement"}, {"instagram_business_basic", "instagram_business_manage_comments"}},
	"set_comments_enabled":  {{"instagram_basic", "instagram_manage_comments", "pages_read_engagement"}, {"instagram_business_basic", "instagram_business_manage_comments"}},
	"get_insights":          {{"instagram_basic", "instagram_manage_insights"}, {"instagram_business_basic", "instagram_business_manage_insights"}},
	"list_media":            {{"instagram_basic"}, {"instagram_business_basic"}},
	"get_media":             {{"instagram_basic"}, {"instagram_business_basic"}},
	"schedule_post":         {{"instagram_basic", "instagram_content_publish"}, {"instagram_business_basic", "instagram_business_content_publish"}},
	"list_scheduled_posts":  {nil, nil},
	"cancel_scheduled_post": {nil, nil},
	"get_job":               {nil, nil},
	"search_hashtag":        {{"instagram_basic"}, nil},
	"get_hashtag_media":     {{"instagram_basic"}, nil},
	"list_mentions":         {{"instagram_basic", "instagram_manage_comments", "pages_read_engagement"}, nil},
	"get_business_profile":  {{"instagram_basic", "pages_read_engagement"}, nil},
	"list_events":           {nil, nil},
}

// Every tool declares its scopes for both login flows, they are the ones
// written out in wantScopes, and `igmcp auth login` asks for all of them by
// default.
func TestToolScopesDeclared(t *testing.T) {
	all := tools.All(&tools.Deps{})
	if len(all) != len(wantScopes) {
		t.Errorf("%d tools, %d in wantScopes", len(all), len(wantScopes))
	}
	for _, tl := range all {
		name := tl.Tool.Name
		if !tl.Scopes.Declared() {
			t.Errorf("%s declares no scopes for every login flow (Tool.Scopes): %v", name, tl.Scopes)
			continue
		}
		want, ok := wantScopes[name]
		if !ok {
			t.Errorf("%s: not in wantScopes", name)
			continue
		}
		for i, l := range []auth.Login{auth.LoginFacebook, auth.LoginInstagram} {
			if got := tl.Scopes[l]; !slices.Equal(got, want[i]) && !(len(got) == 0 && len(want[i]) == 0) {
				t.Errorf("%s/%s: scopes %v, want %v", name, l, got, want[i])
			}
			if m := tl.Scopes.Missing(l, auth.DefaultScopes(l)); m != nil {
				t.Errorf("%s/%s: `igmcp auth login` does not ask for %v", name, l, m)
			}
		}
	}
}

// A scoped token's toolsets are checked by scope (httpserver cannot import
// tools): its list must name exactly the toolsets the server has, or a
// grant would refuse a real toolset or accept one that does not exist.
func TestScopeToolsetsAreTheServers(t *testing.T) {
	got, want := slices.Sorted(slices.Values(scope.Toolsets())), slices.Sorted(slices.Values(tools.ToolsetNames()))
	if !slices.Equal(got, want) {
		t.Errorf("scope.Toolsets() = %v, the server's toolsets are %v", got, want)
	}
}
