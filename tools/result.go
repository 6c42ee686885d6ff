package tools

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

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
	if err := strictDecode(raw, into); err != nil {
		return err
	}
	return checkText(raw)
}

// strictDecode decodes one JSON object as the tools do: unknown fields and
// wrong types are invalid_input naming the field.
func strictDecode(raw []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return argError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return failure.Invalid("", "arguments must be a single JSON object")
	}
	return nil
}

func argError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := jsonPath(te.Field)
		if field == "" {
			return failure.Invalid("", "arguments must be a JSON object")
		}
		return failure.Invalid(field, "%s must be of type %s, got %s", field, jsonType(te.Type.Kind().String()), te.Value)
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return failure.Invalid(name, "unknown argument %q; see the tool's input schema", name)
	}
	return failure.Invalid("", "arguments are not valid JSON: %s", strings.TrimPrefix(msg, "json: "))
}

// jsonPath turns encoding/json's field path ("PostInput.user_tags.x") into
// the argument's JSON path: embedded Go struct names are not arguments.
func jsonPath(p string) string {
	var out []string
	for _, seg := range strings.Split(p, ".") {
		if seg != "" && seg[0] >= 'A' && seg[0] <= 'Z' {
			continue
		}
		out = append(out, seg)
	}
	return strings.Join(out, ".")
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	case "float64", "float32":
		return "number"
	default:
		if strings.HasPrefix(kind, "int") || strings.HasPrefix(kind, "uint") {
			return "integer"
		}
		return kind
	}
}
