package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// README's requirements line names the Go version go.mod asks for.
func TestREADMERequirements(t *testing.T) {
	t.Parallel()
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Requirements: Go " + string(m[1]) + " or newer", "go install ./cmd/igmcp"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md lacks %q", want)
		}
	}
}

// exampleConfig is mcp.json.example: a block per client.
func exampleConfig(t *testing.T) map[string]map[string]map[string]map[string]any {
	t.Helper()
	raw, err := os.ReadFile("../../mcp.json.example")
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatalf("mcp.json.example: %v", err)
	}
	out := map[string]map[string]map[string]map[string]any{}
	for client, block := range all {
		if strings.HasPrefix(client, "_") {
			continue
		}
		var b map[string]map[string]map[string]any
		if err := json.Unmarshal(block, &b); err != nil {
			t.Fatalf("mcp.json.example %s: %v", client, err)
		}
		out[client] = b
	}
	return out
}

// mcp.json.example covers Claude Desktop, Cursor and VS Code (whose key is
// servers, with type stdio), names igmcp by an absolute path, and its
// sandbox entries start a working server (run with the built binary).
func TestMCPJSONExample(t *testing.T) {
	t.Parallel()
	blocks := exampleConfig(t)
	keys := map[string]string{"claude_desktop": "mcpServers", "cursor": "mcpServers", "vscode": "servers"}
	for client, key := range keys {
		b, ok := blocks[client]
		if !ok || len(b) != 1 || b[key] == nil {
			t.Errorf("mcp.json.example: %s must hold exactly {%q: …}, got keys %v", client, key, reflect.ValueOf(b).MapKeys())
			continue
		}
		for name, entry := range b[key] {
			cmd, _ := entry["command"].(string)
			if !filepath.IsAbs(cmd) || filepath.Base(cmd) != "igmcp" {
				t.Errorf("%s/%s: command %q is not an absolute path to igmcp", client, name, cmd)
			}
			if typ, has := entry["type"]; (client == "vscode") != has || (has && typ != "stdio") {
				t.Errorf("%s/%s: type %v (VS Code needs \"stdio\", the others none)", client, name, typ)
			}
			args, _ := entry["args"].([]any)
			if len(args) == 0 || args[0] != "stdio" {
				t.Errorf("%s/%s: args %v do not start with stdio", client, name, args)
			}
			if name != "instagram-sandbox" {
				continue
			}
			var argv []string
			for _, a := range args {
				argv = append(argv, a.(string))
			}
			t.Run(client, func(t *testing.T) {
				t.Parallel()
				s := startClient(t, "", childEnv(), argv...)
				if len(s.toolNames(t)) == 0 {
					t.Fatal("no tools")
				}
				s.close(t)
			})
		}
	}
	if len(blocks) != len(keys) {
		t.Errorf("mcp.json.example has blocks %v, want %v", reflect.ValueOf(blocks).MapKeys(), reflect.ValueOf(keys).MapKeys())
	}
}

// The JSON README shows under "Connect a client" is the example's.
func TestREADMEClientConfigsMatchExample(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	i := strings.Index(section, "## Connect a client")
	if i < 0 {
		t.Fatal(`README.md has no "Connect a client"`)
	}
	section = section[i:]
	if j := strings.Index(section[3:], "\n## "); j >= 0 {
		section = section[:j+3]
	}
	var examples []any
	for _, b := range exampleConfig(t) {
		examples = append(examples, any(b))
	}
	snippets := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(section, -1)
	if len(snippets) < 2 {
		t.Fatalf("want the mcpServers and the VS Code servers snippets, found %d JSON blocks", len(snippets))
	}
	for _, sn := range snippets {
		var got map[string]map[string]map[string]any
		if err := json.Unmarshal([]byte(sn[1]), &got); err != nil {
			t.Fatalf("README snippet is not JSON: %v\n%s", err, sn[1])
		}
		found := false
		for _, ex := range examples {
			if reflect.DeepEqual(normalizeJSON(t, got), normalizeJSON(t, ex)) {
				found = true
			}
		}
		if !found {
			t.Errorf("README snippet matches no block of mcp.json.example (the paths may differ only as /home/you vs /Users/you):\n%s", sn[1])
		}
	}
}

// normalizeJSON makes macOS and Linux example paths compare equal.
func normalizeJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(b), "/Users/you/", "/home/you/")), &out); err != nil {
		t.Fatal(err)
	}
	return out
}
