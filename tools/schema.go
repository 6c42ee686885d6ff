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
// snapshot, and always lists `sandbox`.
func outputSchema[T any]() json.RawMessage {
	r := jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true, AllowAdditionalProperties: true}
	s := r.Reflect(new(T))
	s.Properties.Set("sandbox", &jsonschema.Schema{Type: "boolean", Description: "true when the server runs against the built-in simulated Graph API."})
	return marshalSchema(s)
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
