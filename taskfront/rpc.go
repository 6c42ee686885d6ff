package taskfront

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/tools"
)

// request is one JSON-RPC request as the front reads it.
type request struct {
	ID     json.RawMessage
	Method string
	Params map[string]json.RawMessage
	// modern: protocol 2026-07-28 or later (stateless, per-request _meta).
	modern bool
	// version is the request's protocol version: _meta's (modern) or the
	// Mcp-Protocol-Version header's (a 2025 session's).
	version string
	meta    map[string]json.RawMessage
}

// parseRequest reads a single JSON-RPC request; ok is false for anything
// else (a notification, a response, a batch, malformed JSON), which the
// front leaves to mcp-go.
func parseRequest(h http.Header, body []byte) (request, bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return request{}, false
	}
	var raw struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  string          `json:"method"`
		Params  json.RawMessage `json:"params"`
	}
	if json.Unmarshal(body, &raw) != nil || raw.JSONRPC != mcp.JSONRPC_VERSION || raw.Method == "" ||
		len(raw.ID) == 0 || bytes.Equal(raw.ID, []byte("null")) {
		return request{}, false
	}
	m := request{ID: raw.ID, Method: raw.Method, Params: map[string]json.RawMessage{}}
	if len(raw.Params) > 0 && !bytes.Equal(raw.Params, []byte("null")) && json.Unmarshal(raw.Params, &m.Params) != nil {
		return request{}, false
	}
	_ = json.Unmarshal(m.Params["_meta"], &m.meta)
	var metaVersion string
	_ = json.Unmarshal(m.meta[mcp.MetaKeyProtocolVersion], &metaVersion)
	header := h.Get(mcp.HeaderProtocolVersion)
	m.modern = mcp.IsModernProtocol(metaVersion) || mcp.IsModernProtocol(header)
	m.version = header
	if m.modern {
		m.version = metaVersion
	}
	if m.version == "" {
		m.version = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	}
	return m, true
}

// str reads a string parameter ("" when absent or not a string).
func (m request) str(name string) string {
	var s string
	_ = json.Unmarshal(m.Params[name], &s)
	return s
}

// declaresTasks: a 2026-07-28 request that carries the Tasks extension in
// its per-request client capabilities.
func (m request) declaresTasks() bool {
	var caps struct {
		Extensions map[string]json.RawMessage `json:"extensions"`
	}
	if json.Unmarshal(m.meta[mcp.MetaKeyClientCapabilities], &caps) != nil {
		return false
	}
	_, ok := caps.Extensions[tools.TasksExtension]
	return ok
}

// rpcError is a JSON-RPC error answer.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

// writeResult answers with a result object.
func writeResult(w http.ResponseWriter, id json.RawMessage, result any) {
	writeJSON(w, http.StatusOK, map[string]any{"jsonrpc": mcp.JSONRPC_VERSION, "id": id, "result": result})
}

// writeError answers with a JSON-RPC error. 2026-07-28 maps error codes
// to HTTP statuses (as mcp-go does for its own answers); before, every
// JSON-RPC answer is a 200.
func writeError(w http.ResponseWriter, m request, e rpcError) {
	status := http.StatusOK
	if m.modern {
		switch e.Code {
		case mcp.METHOD_NOT_FOUND:
			status = http.StatusNotFound
		case mcp.INVALID_PARAMS, mcp.INVALID_REQUEST, mcp.HEADER_MISMATCH, mcp.MISSING_REQUIRED_CLIENT_CAPABILITY:
			status = http.StatusBadRequest
		}
	}
	writeJSON(w, status, map[string]any{"jsonrpc": mcp.JSONRPC_VERSION, "id": m.ID, "error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // our own maps of JSON-safe values
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// checkModernHeaders applies the Streamable HTTP rules of 2026-07-28 to a
// tasks/* request the front answers itself (mcp-go does the same for the
// requests it answers): the protocol version in the header and in _meta
// agree, Mcp-Method names the method, and Mcp-Name the task.
func checkModernHeaders(h http.Header, m request, taskID string) *rpcError {
	switch {
	case h.Get(mcp.HeaderProtocolVersion) != m.version:
		return &rpcError{Code: mcp.HEADER_MISMATCH, Message: mcp.HeaderProtocolVersion + " header must equal _meta " + mcp.MetaKeyProtocolVersion}
	case h.Get(mcp.HeaderMethod) != m.Method:
		return &rpcError{Code: mcp.HEADER_MISMATCH, Message: mcp.HeaderMethod + " header must equal the method " + m.Method}
	case taskID != "" && h.Get(mcp.HeaderName) != taskID:
		return &rpcError{Code: mcp.HEADER_MISMATCH, Message: mcp.HeaderName + " header must equal params.taskId"}
	}
	return nil
}

// missingCapability is -32021 for a 2026-07-28 client that did not
// declare the Tasks extension on a request that needs it.
func missingCapability() rpcError {
	return rpcError{Code: mcp.MISSING_REQUIRED_CLIENT_CAPABILITY, Message: "Missing required client capability",
		Data: map[string]any{"requiredCapabilities": map[string]any{"extensions": map[string]any{tools.TasksExtension: map[string]any{}}}}}
}
