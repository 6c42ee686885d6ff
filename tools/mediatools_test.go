package tools_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/tools"
)

// mediaToolNames are the tools MediaTools adds.
func mediaToolNames() []string {
	var names []string
	for _, t := range tools.MediaTools(&tools.Deps{}, nil) {
		names = append(names, t.Tool.Name)
	}
	return names
}

func listMediaTools(t *testing.T, sel tools.Selection) []mcp.Tool {
	t.Helper()
	e := newEnv7(t, env7Opts{sel: sel})
	res, err := e.client.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var out []mcp.Tool
	for _, tl := range res.Tools {
		if slices.Contains(mediaToolNames(), tl.Name) {
			out = append(out, tl)
		}
	}
	return out
}

// The MediaTools schemas are snapshot-tested like the others (same files,
// same format: TestToolSnapshots takes them over once All lists them).
func TestMediaToolSnapshots(t *testing.T) {
	if mediaToolsWired(&tools.Deps{}) {
		t.Skip("tools.All lists MediaTools: TestToolSnapshots covers them")
	}
	for _, tl := range listMediaTools(t, tools.Selection{}) {
		t.Run(tl.Name, func(t *testing.T) {
			got, err := json.Marshal(tl)
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, normalizeJSON(t, got), "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("__toolsnaps__", tl.Name+".snap")
			want, err := os.ReadFile(path)
			switch {
			case os.Getenv("UPDATE_TOOLSNAPS") == "true" || (os.IsNotExist(err) && os.Getenv("CI") != "true"):
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			case err != nil:
				t.Fatalf("no snapshot %s (run UPDATE_TOOLSNAPS=true go test ./tools/ and commit it): %v", path, err)
			case !bytes.Equal(want, pretty.Bytes()):
				t.Fatalf("tool %s changed from its snapshot %s; if deliberate, run UPDATE_TOOLSNAPS=true go test ./tools/\n--- got\n%s", tl.Name, path, pretty.String())
			}
		})
	}
}

// The repo-wide guards of TestToolDefinitions, for MediaTools, plus the
// share of tools/list they may take.
func TestMediaToolDefinitions(t *testing.T) {
	all := listMediaTools(t, tools.Selection{})
	if len(all) != len(mediaToolNames()) {
		t.Fatalf("%d of %d tools listed", len(all), len(mediaToolNames()))
	}
	size := 0
	for _, tl := range all {
		b, _ := json.Marshal(tl)
		size += len(b)
		a := tl.Annotations
		if a.ReadOnlyHint == nil || a.DestructiveHint == nil || a.IdempotentHint == nil || a.OpenWorldHint == nil {
			t.Errorf("%s: all four annotation hints must be set", tl.Name)
			continue
		}
		readOnlyByName := strings.HasPrefix(tl.Name, "get_") || strings.HasPrefix(tl.Name, "list_") || strings.HasPrefix(tl.Name, "validate_")
		if *a.ReadOnlyHint != readOnlyByName {
			t.Errorf("%s: readOnlyHint=%v breaks the reference's get_/list_/validate_ rule", tl.Name, *a.ReadOnlyHint)
		}
		if len(tl.Description) == 0 || len(tl.Description) > 200 {
			t.Errorf("%s: description length %d", tl.Name, len(tl.Description))
		}
		var wire struct {
			InputSchema  map[string]any `json:"inputSchema"`
			OutputSchema map[string]any `json:"outputSchema"`
		}
		if err := json.Unmarshal(b, &wire); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"anyOf", "oneOf", "allOf"} {
			if _, ok := wire.InputSchema[k]; ok {
				t.Errorf("%s: top-level %s", tl.Name, k)
			}
		}
		if props, _ := wire.InputSchema["properties"].(map[string]any); props["account"] == nil {
			t.Errorf("%s: no account argument", tl.Name)
		}
		if wire.InputSchema["additionalProperties"] != false {
			t.Errorf("%s: unknown arguments must be refused", tl.Name)
		}
		checkDescriptions(t, tl.Name, "", wire.InputSchema)
		if wire.OutputSchema["type"] != "object" {
			t.Errorf("%s: output schema %v", tl.Name, wire.OutputSchema)
		}
	}
	t.Logf("MediaTools: %d tools, %d bytes of tools/list JSON", len(all), size)
	if size > 11500 {
		t.Errorf("MediaTools take %d bytes of tools/list; their budget is 11500", size)
	}
	// read-only mode keeps exactly the get_/list_/validate_ tools
	var ro []string
	for _, tl := range listMediaTools(t, tools.Selection{ReadOnly: true}) {
		ro = append(ro, tl.Name)
	}
	if got := strings.Join(ro, ","); got != "get_business_profile,get_hashtag_media,get_media,get_publishing_limit,list_comments,list_media,list_mentions,validate_post" {
		t.Errorf("read-only: %s", got)
	}
}
