package httpserver_test

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/igmcp/igmcp/httpserver"
	"github.com/igmcp/igmcp/tools"
)

// recordingFront answers tasks/get itself and records what it was shown.
type recordingFront struct {
	mu     sync.Mutex
	owners []string
	bodies []string
}

func (f *recordingFront) ServeMCP(w http.ResponseWriter, _ *http.Request, body []byte, owner string, _ http.Handler) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.owners, f.bodies = append(f.owners, owner), append(f.bodies, string(body))
	if !strings.Contains(string(body), `"tasks/get"`) {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{"answered":"by the front"}}`)
	return true
}

// The task front sees every /mcp POST after the guards, with the token's
// name, and answers what it claims; mcp-go answers the rest. The SSE
// transport refuses task traffic instead of keeping tasks in memory.
func TestTaskFrontHook(t *testing.T) {
	front := &recordingFront{}
	srv := tools.NewServer(&tools.Deps{Tasks: true}, "test", tools.Selection{})
	hs, err := httpserver.New(srv, httpserver.Config{Tasks: front, Tokens: []httpserver.TokenEntry{{Name: "team-a", Token: teamAToken}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(hs.Handler())
	defer ts.Close()
	post := func(path, token, body string, h map[string]string) (int, string) {
		header := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
		if token != "" {
			header["Authorization"] = "Bearer " + token
		}
		maps.Copy(header, h)
		return send(t, http.MethodPost, ts.URL+path, []byte(body), header)
	}
	modern := map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "tasks/get"}
	get := `{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"taskId":"job_x","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`
	if status, body := post("/mcp", teamAToken, get, modern); status != 200 || !strings.Contains(body, "by the front") {
		t.Fatalf("tasks/get: %d %s", status, body)
	}
	if status, _ := post("/mcp", "", get, modern); status != http.StatusUnauthorized {
		t.Errorf("without a token the front was reached (%d)", status)
	}
	list := `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"}}}}`
	if status, body := post("/mcp", teamAToken, list, map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/list"}); status != 200 || !strings.Contains(body, "create_post") {
		t.Fatalf("tools/list through mcp-go: %d %s", status, body)
	}
	front.mu.Lock()
	if len(front.owners) != 2 || front.owners[0] != "team-a" || front.owners[1] != "team-a" {
		t.Errorf("the front saw owners %q", front.owners)
	}
	front.mu.Unlock()
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":3,"method":"tasks/get","params":{"taskId":"job_x"}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"publish_reel","arguments":{},"task":{}}}`,
	} {
		if status, _ := post("/message?sessionId=sse-x", teamAToken, body, nil); status != http.StatusBadRequest {
			t.Errorf("SSE transport: %s answered %d, want 400", body, status)
		}
	}
}
