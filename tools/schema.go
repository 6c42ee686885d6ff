package tools

import (
	"encoding/json"
	"fmt"

	"github.com/invopop/jsonschema"
)

// inputSchema is the JSON Schema of a tool's arguments, generated from the
// Go struct so the schema and the decoder can never disagree. Unknown
// arguments are refused (additionalProperties: false) rather than ignored: a
// misspelt `captoin` must not publish a post without its caption.
func inputSchema[T any]() json.RawMessage {
	r := jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true}
	return marshalSchema(r.Reflect(new(T)))
}

// outputSchema describes structuredContent. It allows additional properties
// so new result fields never break a client validating against an old
// snapshot, and always lists `sandbox`. It carries no descriptions: the
// model reads results, not their schema, and every byte of tools/list is
// context an agent pays for (the field names say enough; README documents
// them).
func outputSchema[T any]() json.RawMessage {
	r := jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true, AllowAdditionalProperties: true}
	s := r.Reflect(new(T))
	s.Properties.Set("sandbox", &jsonschema.Schema{Type: "boolean"})
	stripDescriptions(s)
	return marshalSchema(s)
}

func stripDescriptions(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	s.Description = ""
	if s.Properties != nil {
		for pair := s.Properties.Oldest(); pair != nil; pair = pair.Next() {
			stripDescriptions(pair.Value)
		}
	}
	stripDescriptions(s.Items)
	for _, sub := range s.AnyOf {
		stripDescriptions(sub)
	}
}

func marshalSchema(s *jsonschema.Schema) json.RawMessage {
	s.Version = "" // $schema is noise in tools/list
	s.ID = ""
	b, err := json.Marshal(s)
	if err != nil {
		// Only a programming error (a type invopop cannot describe) gets here.
		panic(fmt.Sprintf("tools: schema: %v", err))
	}
	return b
}
