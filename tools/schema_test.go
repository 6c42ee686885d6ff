package tools_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

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

// Tool schemas are snapshot-tested so a change to what the model sees is
// always deliberate: the snapshot is the tool exactly as the server sends it
// in tools/list (raw bytes, not a client's decoded view, which would drop
// parts such as the output schemas' anyOf). UPDATE_TOOLSNAPS=true go test
// ./tools/ rewrites them; a missing snapshot fails under CI.
func TestToolSnapshots(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	e.server.HandleMessage(ctx, []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"snap","version":"1"}}}`))
	resp := e.server.HandleMessage(ctx, []byte(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`))
	raw, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Result struct {
			Tools []json.RawMessage `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(raw, &list); err != nil || len(list.Result.Tools) == 0 {
		t.Fatalf("tools/list: %v %s", err, raw)
	}
	for _, tl := range list.Result.Tools {
		var named struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(tl, &named)
		t.Run(named.Name, func(t *testing.T) {
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, normalizeJSON(t, tl), "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("__toolsnaps__", named.Name+".snap")
			want, err := os.ReadFile(path)
			switch {
			case os.Getenv("UPDATE_TOOLSNAPS") == "true" || (os.IsNotExist(err) && os.Getenv("CI") != "true"):
				if err := os.MkdirAll("__toolsnaps__", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			case err != nil:
				t.Fatalf("no snapshot %s (run UPDATE_TOOLSNAPS=true go test ./tools/ and commit it): %v", path, err)
			case !bytes.Equal(want, pretty.Bytes()):
				t.Fatalf("tool %s changed from its snapshot %s; if deliberate, run UPDATE_TOOLSNAPS=true go test ./tools/\n--- got\n%s", named.Name, path, pretty.String())
			}
		})
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

// Repo-wide guards on every tool the model can see.
func TestToolDefinitions(t *testing.T) {
	seen := map[string]bool{}
	for _, tl := range listTools(t, tools.Selection{}) {
		if seen[tl.Name] {
			t.Errorf("duplicate tool %s", tl.Name)
		}
		seen[tl.Name] = true
		a := tl.Annotations
		if a.ReadOnlyHint == nil || a.DestructiveHint == nil || a.IdempotentHint == nil || a.OpenWorldHint == nil {
			t.Errorf("%s: all four annotation hints must be set: %+v", tl.Name, a)
			continue
		}
		readOnlyByName := strings.HasPrefix(tl.Name, "get_") || strings.HasPrefix(tl.Name, "list_") || strings.HasPrefix(tl.Name, "validate_")
		if *a.ReadOnlyHint != readOnlyByName {
			t.Errorf("%s: readOnlyHint=%v, but docs/reference.md says read-only tools are exactly get_*/list_*/validate_*", tl.Name, *a.ReadOnlyHint)
		}
		if len(tl.Description) == 0 || len(tl.Description) > 300 {
			t.Errorf("%s: description length %d", tl.Name, len(tl.Description))
		}
		var wire struct {
			InputSchema  map[string]any `json:"inputSchema"`
			OutputSchema map[string]any `json:"outputSchema"`
		}
		b, _ := json.Marshal(tl)
		if err := json.Unmarshal(b, &wire); err != nil {
			t.Fatalf("%s: %v", tl.Name, err)
		}
		in := wire.InputSchema
		for _, k := range []string{"anyOf", "oneOf", "allOf"} {
			if _, ok := in[k]; ok {
				t.Errorf("%s: top-level %s in input schema", tl.Name, k)
			}
		}
		if in["type"] != "object" {
			t.Errorf("%s: input schema type %v", tl.Name, in["type"])
		}
		props, _ := in["properties"].(map[string]any)
		if _, ok := props["account"]; !ok {
			t.Errorf("%s: no account argument", tl.Name)
		}
		checkDescriptions(t, tl.Name, "", in)
		if wire.OutputSchema["type"] != "object" {
			t.Errorf("%s: output schema must be an object schema: %v", tl.Name, wire.OutputSchema)
		}
	}
	for _, want := range []string{"create_post", "create_carousel", "publish_reel", "get_container_status", "publish_container", "reply_comment", "get_insights", "publish_story", "validate_post", "get_publishing_limit", "list_comments", "moderate_comment", "create_comment", "list_media", "get_media", "search_hashtag", "get_hashtag_media", "list_mentions", "get_business_profile"} {
		if !seen[want] {
			t.Errorf("tool %s missing", want)
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
	if got := names(listTools(t, tools.Selection{ReadOnly: true})); got != "get_business_profile,get_container_status,get_hashtag_media,get_insights,get_job,get_media,get_publishing_limit,list_accounts,list_activity,list_comments,list_media,list_mentions,list_scheduled_posts,validate_post" {
		t.Errorf("read-only tools: %s", got)
	}
	if got := names(listTools(t, tools.Selection{Toolsets: []string{"comments", "insights"}})); got != "create_comment,get_insights,get_media,list_comments,list_media,moderate_comment,reply_comment" {
		t.Errorf("comments+insights tools: %s", got)
	}
	if _, err := tools.ParseToolsets("publish,nope"); err == nil {
		t.Error("unknown toolset accepted")
	}
}

func TestSandboxResultsAreMarked(t *testing.T) {
	e := newEnv(t, envOpts{sandbox: true})
	m := mustOK(t, e.call(t, "create_post", map[string]any{"image_url": jpeg}))
	if m["sandbox"] != true {
		t.Fatalf("sandbox result without sandbox:true: %v", m)
	}
}
