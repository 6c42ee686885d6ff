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
// that only read text.
func errorResult(err error) *mcp.CallToolResult {
	fe := failure.Classify(err)
	text := fmt.Sprintf("%s: %s %s", fe.Kind, fe.Message, fe.Action)
	return &mcp.CallToolResult{
		IsError:           true,
		StructuredContent: map[string]any{"error": fe},
		Content:           []mcp.Content{mcp.NewTextContent(text)},
	}
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
	raw := req.Params.RawArguments
	if len(raw) == 0 {
		if req.Params.Arguments == nil {
			raw = []byte("{}")
		} else {
			b, err := json.Marshal(req.Params.Arguments)
			if err != nil {
				return failure.Invalid("", "arguments are not a JSON object")
			}
			raw = b
		}
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		raw = []byte("{}")
	}
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
