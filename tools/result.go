package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/igmcp/igmcp/argjson"
	"github.com/igmcp/igmcp/failure"
)

// errorResult is the docs/reference.md §4 error: a tool result with isError and
// {"error": {...}} in structuredContent, plus a one-line text for clients
// that only read text (many hosts hand the model nothing else).
func errorResult(err error) *mcp.CallToolResult {
	fe := failure.Classify(err)
	return &mcp.CallToolResult{
		IsError:           true,
		StructuredContent: map[string]any{"error": fe},
		Content:           []mcp.Content{mcp.NewTextContent(errorText(fe))},
	}
}

// errorText is the error in one line with everything an agent acts on:
// "kind (field): message. Retry after N seconds. Action: action".
func errorText(fe *failure.Error) string {
	var b strings.Builder
	b.WriteString(string(fe.Kind))
	if fe.Field != "" {
		b.WriteString(" (" + fe.Field + ")")
	}
	b.WriteString(": " + sentence(fe.Message))
	if fe.Retryable && fe.RetryAfter > 0 {
		b.WriteString(" Retry after " + count(fe.RetryAfter, "second", "seconds") + ".")
	}
	if fe.Action != "" {
		b.WriteString(" Action: " + sentence(fe.Action))
	}
	return b.String()
}

// sentence ends s with a full stop unless it already ends a sentence.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "?") {
		return s
	}
	return s + "."
}

// count is n with the noun in the right number: "1 comment", "2 comments".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// successResult renders v as structuredContent (with "sandbox": true in the
// sandbox) and a short text.
func successResult(v any, text string, sandbox bool) (*mcp.CallToolResult, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if sandbox {
		m["sandbox"] = true
		text = "[sandbox] " + text
	}
	return mcp.NewToolResultStructured(m, text), nil
}

// decodeArgs decodes the arguments strictly: unknown fields and wrong types
// are invalid_input naming the field, before anything reaches Instagram.
func decodeArgs(req mcp.CallToolRequest, into any) error {
	raw, err := argumentBytes(req)
	if err != nil {
		return failure.Invalid("", "arguments are not a JSON object")
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		raw = []byte("{}")
	}
	if err := argjson.Decode(raw, into); err != nil {
		return err
	}
	return checkText(raw)
}
