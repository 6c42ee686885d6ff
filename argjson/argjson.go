// Package argjson decodes the arguments an agent passes (JSON objects,
// possibly written by a prompt injection) strictly into Go structs, and
// turns every refusal into invalid_input naming the argument by its JSON
// path, so the agent can fix what it sent. Every tool and the publisher's
// stored requests decode through it.
package argjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/igmcp/igmcp/failure"
)

// Decode decodes one JSON object into into, strictly: an unknown field or
// a wrong type is invalid_input naming the argument by its JSON path
// (relative to raw), trailing data is invalid_input too.
func Decode(raw []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return argError(err, raw, reflect.TypeOf(into))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return failure.Invalid("", "arguments must be a single JSON object")
	}
	return nil
}

// argError turns a decoding error into invalid_input naming the argument
// by its full path (items[1].user_tags[0].z), with the list indices that
// encoding/json does not give, found by walking raw against t.
func argError(err error, raw []byte, t reflect.Type) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := jsonPath(t, te.Field)
		if p, class := firstProblem(raw, t); class == wrongType && p != "" {
			field = p // with the indices encoding/json leaves out
		}
		if field == "" {
			return failure.Invalid("", "arguments must be a JSON object")
		}
		return failure.Invalid(field, "%s must be of type %s, got %s", field, jsonType(te.Type.Kind().String()), te.Value)
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		if p, class := firstProblem(raw, t); class == unknownKey {
			name = p
		}
		return failure.Invalid(name, "unknown argument %q; see the tool's input schema", name)
	}
	return failure.Invalid("", "arguments are not valid JSON: %s", strings.TrimPrefix(msg, "json: "))
}

// jsonPath turns encoding/json's field path ("PostInput.user_tags.x",
// with the Go names of embedded structs) into the argument's JSON path
// ("user_tags.x"), following t: embedded structs are not arguments.
func jsonPath(t reflect.Type, p string) string {
	var out []string
	for _, seg := range strings.Split(p, ".") {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() == reflect.Struct {
			if f, ok := t.FieldByName(seg); ok && f.Anonymous {
				t = f.Type
				continue
			}
			if f, ok := jsonField(t, seg); ok {
				t = f.Type
			}
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

// Problem classes firstProblem tells apart.
const (
	unknownKey = "unknown"
	wrongType  = "type"
)

// firstProblem is the JSON path of the first problem in raw (in document
// order, as encoding/json reports the first one) against t: a key t has no
// field for (as encoding/json matches them: by json name,
// case-insensitively, through embedded structs), or a value of the wrong
// JSON kind; "" when it finds none, or t decodes itself.
func firstProblem(raw []byte, t reflect.Type) (path, class string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Interface || t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) ||
		t.Implements(textUnmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return "", ""
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", ""
	}
	if !kindFits(raw[0], t) {
		return "", wrongType
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		dec := json.NewDecoder(bytes.NewReader(raw))
		if _, err := dec.Token(); err != nil {
			return "", ""
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return "", ""
			}
			key, _ := tok.(string)
			var val json.RawMessage
			if err := dec.Decode(&val); err != nil {
				return "", ""
			}
			vt := t
			if t.Kind() == reflect.Map {
				vt = t.Elem()
			} else {
				f, ok := jsonField(t, key)
				if !ok {
					return key, unknownKey
				}
				if strings.Contains(f.Tag.Get("json"), ",string") {
					continue
				}
				vt = f.Type
			}
			if sub, class := firstProblem(val, vt); class != "" {
				return join(key, sub), class
			}
		}
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return "", ""
		}
		for i, it := range items {
			if sub, class := firstProblem(it, t.Elem()); class != "" {
				return join(fmt.Sprintf("[%d]", i), sub), class
			}
		}
	}
	return "", ""
}

// kindFits: a JSON value starting with c can decode into t.
func kindFits(c byte, t reflect.Type) bool {
	if t == reflect.TypeFor[json.Number]() {
		return c == '"' || c == '-' || c >= '0' && c <= '9'
	}
	switch k := t.Kind(); {
	case c == '"':
		return k == reflect.String || k == reflect.Slice && t.Elem().Kind() == reflect.Uint8
	case c == '{':
		return k == reflect.Struct || k == reflect.Map
	case c == '[':
		return k == reflect.Slice || k == reflect.Array
	case c == 't' || c == 'f':
		return k == reflect.Bool
	default: // a number
		return k >= reflect.Int && k <= reflect.Float64
	}
}

// join puts a sub-path after a key or index: a.b, a[0], [0].b.
func join(prefix, sub string) string {
	if sub == "" || sub[0] == '[' {
		return prefix + sub
	}
	return prefix + "." + sub
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// jsonField finds the field encoding/json decodes key into: the exact json
// name first, else a case-insensitive match; embedded structs' fields
// count as the outer struct's.
func jsonField(t reflect.Type, key string) (reflect.StructField, bool) {
	var fold *reflect.StructField
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("json") == "" {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f, true
		}
		if fold == nil && strings.EqualFold(name, key) {
			fold = &f
		}
	}
	if fold != nil {
		return *fold, true
	}
	return reflect.StructField{}, false
}
