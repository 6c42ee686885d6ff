// Package argjson decodes the arguments an agent passes (JSON objects,
// possibly written by a prompt injection) strictly into Go structs, and
// turns every refusal into invalid_input naming the argument by its JSON
// path, so the agent can fix what it sent. Every tool and the publisher's
// stored requests decode through it.
package argjson

import (
	"bytes"
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

// argError turns a decoding error into invalid_input naming the argument:
// for an unknown one its full path (items[1].user_tags[0].z), which
// encoding/json does not give, found by walking raw against t.
func argError(err error, raw []byte, t reflect.Type) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := jsonPath(t, te.Field)
		if field == "" {
			return failure.Invalid("", "arguments must be a JSON object")
		}
		return failure.Invalid(field, "%s must be of type %s, got %s", field, jsonType(te.Type.Kind().String()), te.Value)
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		if p := unknownPath(raw, t); p != "" {
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

// unknownPath is the JSON path of the first key in raw (keys in order of
// appearance) that t has no field for, as encoding/json matches them (by
// json name, case-insensitively, through embedded structs); "" when there
// is none or t decodes itself.
func unknownPath(raw []byte, t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		return ""
	}
	switch t.Kind() {
	case reflect.Struct:
		dec := json.NewDecoder(bytes.NewReader(raw))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			return ""
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return ""
			}
			key, _ := tok.(string)
			var val json.RawMessage
			if err := dec.Decode(&val); err != nil {
				return ""
			}
			f, ok := jsonField(t, key)
			if !ok {
				return key
			}
			if sub := unknownPath(val, f.Type); sub != "" {
				if sub[0] == '[' {
					return key + sub
				}
				return key + "." + sub
			}
		}
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return ""
		}
		for i, it := range items {
			if sub := unknownPath(it, t.Elem()); sub != "" {
				if sub[0] == '[' {
					return fmt.Sprintf("[%d]%s", i, sub)
				}
				return fmt.Sprintf("[%d].%s", i, sub)
			}
		}
	}
	return ""
}

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
