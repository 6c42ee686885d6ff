package tools_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/tools"
)

// recorder is a client transport that keeps every result exactly as the
// server sent it: a client's decoded mcp.Tool drops schema keywords it does
// not model (the output schemas' anyOf, for one), so sizes and snapshots
// are taken from these bytes.
type recorder struct {
	transport.Interface
	mu      sync.Mutex
	results map[string][]json.RawMessage
}

func (r *recorder) SendRequest(ctx context.Context, req transport.JSONRPCRequest) (*transport.JSONRPCResponse, error) {
	resp, err := r.Interface.SendRequest(ctx, req)
	if err == nil && resp != nil && resp.Result != nil {
		r.mu.Lock()
		r.results[req.Method] = append(r.results[req.Method], append(json.RawMessage(nil), resp.Result...))
		r.mu.Unlock()
	}
	return resp, err
}

// wire is what a client received from a server at the start of a session.
type wire struct {
	// instructions are the server instructions of the initialize result.
	instructions string
	// listBytes is the size of the tools/list result(s).
	listBytes int
	// tools are the tools as sent, in the order sent.
	tools []json.RawMessage
}

// wireOf connects an MCP client (the initialize handshake of the
// 2025-11-25 era, where the instructions travel) to a server built with
// tools.NewServer and records what it was sent.
func wireOf(t *testing.T, d *tools.Deps, sel tools.Selection) *wire {
	t.Helper()
	rec := &recorder{Interface: transport.NewInProcessTransport(tools.NewServer(d, "test", sel)), results: map[string][]json.RawMessage{}}
	c := client.NewClient(rec, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
	ctx := t.Context()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "igmcp-wire", Version: "1"}
	init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListTools(ctx, mcp.ListToolsRequest{}); err != nil {
		t.Fatal(err)
	}
	w := &wire{}
	inits := rec.results[string(mcp.MethodInitialize)]
	if len(inits) != 1 {
		t.Fatalf("%d initialize results", len(inits))
	}
	var ir struct {
		Instructions string `json:"instructions"`
	}
	if err := json.Unmarshal(inits[0], &ir); err != nil {
		t.Fatal(err)
	}
	w.instructions = ir.Instructions
	for _, page := range rec.results[string(mcp.MethodToolsList)] {
		w.listBytes += len(page)
		var lr struct {
			Tools []json.RawMessage `json:"tools"`
		}
		if err := json.Unmarshal(page, &lr); err != nil {
			t.Fatal(err)
		}
		w.tools = append(w.tools, lr.Tools...)
	}
	if len(w.tools) == 0 {
		t.Fatal("tools/list sent no tools")
	}
	return w
}

// wireTool is the part of a tool a model is handed: name, description and
// input schema, as the raw JSON sent.
type wireTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"inputSchema"`
}

func (w *wire) tool(t *testing.T, raw json.RawMessage) wireTool {
	t.Helper()
	var wt wireTool
	if err := json.Unmarshal(raw, &wt); err != nil {
		t.Fatal(err)
	}
	return wt
}

// cost is the bytes of a tool's name, description and inputSchema as JSON:
// what it costs a model's context on every turn.
func (wt wireTool) cost(t *testing.T) int {
	t.Helper()
	b, err := json.Marshal(wt)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// byName indexes the tools sent by name.
func (w *wire) byName(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	for _, raw := range w.tools {
		out[w.tool(t, raw).Name] = raw
	}
	return out
}
