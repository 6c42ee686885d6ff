package tools_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/tools"
)

// The tool reference (docs/tools.md), the README's tool table and its
// context-cost figures are generated from the code, as github-mcp-server's
// generate_docs does; this test fails when they drift.
// UPDATE_DOCS=1 go test -run TestGeneratedDocs ./tools/ (or go generate
// ./tools/) rewrites them.
func TestGeneratedDocs(t *testing.T) {
	update := os.Getenv("UPDATE_DOCS") == "1"
	all := tools.All(&tools.Deps{})
	check := func(path string, render func(old string) (string, error)) {
		t.Helper()
		old, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := render(string(old))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if got == string(old) {
			return
		}
		if update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("%s is out of date with the code; run UPDATE_DOCS=1 go test -run TestGeneratedDocs ./tools/ and commit it", path)
	}
	readme := filepath.Join("..", "README.md")
	check(readme, func(old string) (string, error) { return replaceBlock(old, "tools", toolTable(all)) })
	check(readme, func(old string) (string, error) { return replaceBlock(old, "context-cost", costTable(t)) })
	check(filepath.Join("..", "docs", "tools.md"), func(string) (string, error) { return toolReference(t, all), nil })
}

// replaceBlock replaces what lies between the markers of a generated block.
func replaceBlock(doc, name, body string) (string, error) {
	begin := "<!-- BEGIN GENERATED " + name + ": UPDATE_DOCS=1 go test -run TestGeneratedDocs ./tools/ -->\n"
	end := "<!-- END GENERATED " + name + " -->"
	i := strings.Index(doc, begin)
	j := strings.Index(doc, end)
	if i < 0 || j < i {
		return "", fmt.Errorf("no generated block %q (markers %q … %q)", name, strings.TrimSpace(begin), end)
	}
	return doc[:i+len(begin)] + body + doc[j:], nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// toolTable is the README's table of tools.
func toolTable(all []tools.Tool) string {
	var b strings.Builder
	b.WriteString("| tool | toolset | read-only | does |\n| --- | --- | --- | --- |\n")
	for _, tl := range all {
		fmt.Fprintf(&b, "| [`%s`](docs/tools.md#%s) | %s | %s | %s |\n", tl.Tool.Name, tl.Tool.Name, tl.Toolset, yesNo(tl.ReadOnly()), cell(tl.Tool.Description))
	}
	return b.String()
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// toolReference is docs/tools.md: the toolsets, then every tool with its
// annotations, scopes and arguments, from the definitions the server sends.
func toolReference(t *testing.T, all []tools.Tool) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("# Tool reference\n\n")
	b.WriteString("<!-- Generated from the code: UPDATE_DOCS=1 go test -run TestGeneratedDocs ./tools/ (a test fails when it drifts). -->\n\n")
	b.WriteString("Generated from the tool definitions (`tools/`); the interface they implement is\n")
	b.WriteString("docs/reference.md §3, the errors they return §4. Every tool also takes `account`;\n")
	b.WriteString("with `IGMCP_CONFIRM=1` every write tool also takes `confirm`. Scopes are checked\n")
	b.WriteString("against the account's stored permissions before any Graph call.\n\n")
	b.WriteString("## Toolsets\n\n| toolset | on | tools | for |\n| --- | --- | --- | --- |\n")
	defaults := tools.DefaultToolsets(false)
	for _, ts := range tools.Toolsets() {
		on := "opt-in"
		switch {
		case ts.When == tools.AlwaysOn:
			on = "always"
		case slices.Contains(defaults, ts.Name):
			on = "default"
		case ts.When == tools.WithWebhooks:
			on = "default with webhooks"
		}
		var names []string
		for _, tl := range all {
			if tl.Toolset == ts.Name {
				names = append(names, "`"+tl.Tool.Name+"`")
			}
		}
		list := strings.Join(names, ", ")
		if list == "" {
			list = "(none yet)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", ts.Name, on, list, cell(ts.Description))
	}
	for _, ts := range tools.Toolsets() {
		first := true
		for _, tl := range all {
			if tl.Toolset != ts.Name {
				continue
			}
			if first {
				fmt.Fprintf(&b, "\n## Toolset `%s`\n", ts.Name)
				first = false
			}
			writeTool(t, &b, tl)
		}
	}
	return b.String()
}

func writeTool(t *testing.T, b *strings.Builder, tl tools.Tool) {
	t.Helper()
	a := tl.Tool.Annotations
	fmt.Fprintf(b, "\n### %s\n\n%s\n\n", tl.Tool.Name, tl.Tool.Description)
	fmt.Fprintf(b, "read-only: %s · destructive: %s · idempotent: %s · open world: %s\n\n",
		yesNo(*a.ReadOnlyHint), yesNo(*a.DestructiveHint), yesNo(*a.IdempotentHint), yesNo(*a.OpenWorldHint))
	var parts []string
	for _, l := range auth.Logins() {
		if sc := tl.Scopes[l]; len(sc) > 0 {
			parts = append(parts, l.Title()+" Login `"+strings.Join(sc, "`, `")+"`")
		} else {
			parts = append(parts, l.Title()+" Login none")
		}
	}
	scopes := strings.Join(parts, "; ")
	if len(tl.Scopes[auth.LoginFacebook])+len(tl.Scopes[auth.LoginInstagram]) == 0 {
		scopes = "none checked before the call"
	}
	b.WriteString("Scopes: " + scopes + ".\n\n")
	var schema jsonSchema
	if err := json.Unmarshal(tl.Tool.RawInputSchema, &schema); err != nil {
		t.Fatalf("%s: %v", tl.Tool.Name, err)
	}
	b.WriteString("| argument | type | required | description |\n| --- | --- | --- | --- |\n")
	schema.rows(b, "")
}

// jsonSchema is the part of an input schema the reference shows.
type jsonSchema struct {
	Type        string       `json:"type"`
	Description string       `json:"description"`
	Properties  orderedProps `json:"properties"`
	Required    []string     `json:"required"`
	Items       *jsonSchema  `json:"items"`
	Enum        []any        `json:"enum"`
	Minimum     *json.Number `json:"minimum"`
	Maximum     *json.Number `json:"maximum"`
	MinItems    *int         `json:"minItems"`
	MaxItems    *int         `json:"maxItems"`
	MinLength   *int         `json:"minLength"`
	MaxLength   *int         `json:"maxLength"`
	Format      string       `json:"format"`
}

// orderedProps keeps the properties in the order the schema lists them
// (the order the model reads them in).
type orderedProps struct {
	names []string
	props map[string]jsonSchema
}

func (o *orderedProps) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return err
	}
	o.props = map[string]jsonSchema{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		var s jsonSchema
		if err := dec.Decode(&s); err != nil {
			return err
		}
		name := k.(string)
		o.names = append(o.names, name)
		o.props[name] = s
	}
	return nil
}

func (s jsonSchema) rows(b *strings.Builder, prefix string) {
	for _, name := range s.Properties.names {
		p := s.Properties.props[name]
		path := prefix + name
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", path, p.typeText(), yesNo(slices.Contains(s.Required, name)), cell(p.Description))
		switch {
		case p.Items != nil && len(p.Items.Properties.names) > 0:
			p.Items.rows(b, path+"[].")
		case len(p.Properties.names) > 0:
			p.rows(b, path+".")
		}
	}
}

// typeText is the type with its constraints: "integer, 0–900".
func (s jsonSchema) typeText() string {
	typ := s.Type
	if s.Items != nil {
		typ = "array of " + s.Items.typeText()
	}
	var c []string
	if len(s.Enum) > 0 {
		var vs []string
		for _, v := range s.Enum {
			vs = append(vs, fmt.Sprintf("`%v`", v))
		}
		c = append(c, "one of "+strings.Join(vs, ", "))
	}
	bound := func(lo, hi string, what string) {
		switch {
		case lo != "" && hi != "":
			c = append(c, lo+"–"+hi+what)
		case lo != "":
			c = append(c, "≥ "+lo+what)
		case hi != "":
			c = append(c, "≤ "+hi+what)
		}
	}
	num := func(n *json.Number) string {
		if n == nil {
			return ""
		}
		return n.String()
	}
	in := func(n *int) string {
		if n == nil {
			return ""
		}
		return fmt.Sprint(*n)
	}
	bound(num(s.Minimum), num(s.Maximum), "")
	bound(in(s.MinItems), in(s.MaxItems), " items")
	bound(in(s.MinLength), in(s.MaxLength), " characters")
	if s.Format != "" {
		c = append(c, s.Format)
	}
	if len(c) == 0 {
		return typ
	}
	return typ + " (" + strings.Join(c, "; ") + ")"
}
