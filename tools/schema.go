package tools

import (
	"encoding/json"
	"fmt"

	"github.com/invopop/jsonschema"
)

// inputSchema is the JSON Schema of a tool's arguments, generated from the
// Go struct so the schema and the decoder can never disagree. Unknown
// arguments are refused rather than ignored (a misspelt `captoin` must not
// publish a post without its caption), by the decoder, at every level, as
// invalid_input naming the argument; the schema carries no
// additionalProperties. The keyword cost 29 bytes of every tool's context
// (the 16 KB budget, docs/reference.md §3), and Gemini's function
// declarations (its OpenAPI subset) refuse it, so clients bridging MCP tools
// to Gemini must strip it.
//
// Shared fragments (user tags, labels) are written out in each schema, never
// as $defs/$ref: several MCP clients fail to list tools whose schemas use
// them, and no fragment repeats within one tool's schema anyway.
func inputSchema[T any]() json.RawMessage {
	r := jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true, AllowAdditionalProperties: true}
	s := r.Reflect(new(T))
	if p, ok := any(new(T)).(paged); ok {
		// the page size the tool's check allows, so the two cannot differ
		if l, ok := s.Properties.Get("limit"); ok {
			l.Maximum = json.Number(fmt.Sprint(p.maxLimit()))
		}
	}
	return marshalSchema(s)
}

// outputSchema describes structuredContent: its top-level fields and their
// JSON types. It allows additional properties so new result fields never
// break a client validating against an old snapshot; that is also how the
// sandbox's "sandbox": true passes (docs/reference.md §1 documents it, and
// listing it in every tool cost 30 bytes of tools/list each). It stops at
// the top level and carries no descriptions or enums: the model reads
// results, not their schema, and every byte of tools/list is context an
// agent pays for on every turn (nested shapes are in README.md).
func outputSchema[T any]() json.RawMessage {
	r := jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true, AllowAdditionalProperties: true}
	s := r.Reflect(new(T))
	for pair := s.Properties.Oldest(); pair != nil; pair = pair.Next() {
		pair.Value = &jsonschema.Schema{Type: pair.Value.Type}
		s.Properties.Set(pair.Key, pair.Value)
	}
	s.Description = ""
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
