package tools

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/igmcp/igmcp/failure"
)

// checkText refuses arguments whose text is not valid UTF-8 — raw bytes
// that are not UTF-8, or a \u escape of half a surrogate pair — naming the
// argument. encoding/json would turn such text into U+FFFD without a word,
// and a caption or a comment must reach Instagram as the agent wrote it or
// not at all. raw has passed strictDecode: its syntax is valid, so the
// stricter decoder can only object to the text (duplicate names are left
// to encoding/json, as before).
func checkText(raw []byte) error {
	if utf8.Valid(raw) && !bytes.Contains(raw, []byte(`\u`)) {
		return nil // nothing to replace: the common case costs one scan
	}
	d := jsontext.NewDecoder(bytes.NewReader(raw), jsontext.AllowDuplicateNames(true))
	_, err := d.ReadValue()
	if err == nil {
		return nil
	}
	field := ""
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		field = pointerPath(string(se.JSONPointer))
	}
	where := "an argument"
	if field != "" {
		where = field
	}
	return failure.Invalid(field, "%s is not valid UTF-8 text (invalid bytes or half a surrogate pair); send the text as UTF-8", where)
}

// pointerPath turns a JSON Pointer (RFC 6901: "/items/1/alt_text") into the
// argument's JSON path ("items[1].alt_text").
func pointerPath(p string) string {
	if p == "" {
		return ""
	}
	var b strings.Builder
	for _, tok := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}
