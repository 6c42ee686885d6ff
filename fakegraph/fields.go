package fakegraph

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// field is one entry of a `fields` list: name, modifiers (.limit(n)) and an
// optional nested list ({...}).
type field struct {
	name   string
	sub    []field
	hasSub bool
	limit  int
}

// parseFields parses Graph field-expansion syntax:
// "id,caption,children{id,media_url},replies.limit(5){id,text}".
func parseFields(s string) ([]field, *apiError) {
	i := 0
	out, err := parseFieldList(s, &i, 0)
	if err != nil {
		return nil, errParam("Syntax error \"%s\" at character %d: %s", err.Error(), i, s)
	}
	if i != len(s) {
		return nil, errParam("Syntax error \"Expected end of string instead of \"%c\".\" at character %d: %s", s[i], i, s)
	}
	return out, nil
}

func isNameChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func skipSpace(s string, i *int) {
	for *i < len(s) && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\n') {
		*i++
	}
}

func parseFieldList(s string, i *int, depth int) ([]field, error) {
	var out []field
	for {
		skipSpace(s, i)
		start := *i
		for *i < len(s) && isNameChar(s[*i]) {
			*i++
		}
		f := field{name: s[start:*i]}
		for *i < len(s) && s[*i] == '.' {
			*i++
			ms := *i
			for *i < len(s) && isNameChar(s[*i]) {
				*i++
			}
			mod := s[ms:*i]
			if *i >= len(s) || s[*i] != '(' {
				return nil, fmt.Errorf("Expected \"(\"")
			}
			end := strings.IndexByte(s[*i:], ')')
			if end < 0 {
				return nil, fmt.Errorf("Expected \")\"")
			}
			arg := s[*i+1 : *i+end]
			*i += end + 1
			if mod == "limit" {
				n, err := strconv.Atoi(strings.TrimSpace(arg))
				if err != nil {
					return nil, fmt.Errorf("Expected a number")
				}
				f.limit = n
			}
		}
		skipSpace(s, i)
		if *i < len(s) && s[*i] == '{' {
			*i++
			sub, err := parseFieldList(s, i, depth+1)
			if err != nil {
				return nil, err
			}
			if *i >= len(s) || s[*i] != '}' {
				return nil, fmt.Errorf("Expected \"}\"")
			}
			*i++
			f.sub, f.hasSub = sub, true
		}
		if f.name == "" {
			if f.hasSub || *i < len(s) && s[*i] != '}' {
				return nil, fmt.Errorf("Expected a field name")
			}
		} else {
			out = append(out, f)
		}
		skipSpace(s, i)
		if *i >= len(s) {
			if depth > 0 {
				return nil, fmt.Errorf("Expected \"}\"")
			}
			return out, nil
		}
		switch s[*i] {
		case ',':
			*i++
		default: // '}' closes this list; anything else is a syntax error the caller reports
			return out, nil
		}
	}
}

// fieldsParam parses the request's `fields`, falling back to def.
func fieldsParam(q *request, def string) ([]field, *apiError) {
	v := strings.TrimSpace(q.params.Get("fields"))
	if v == "" {
		v = def
	}
	return parseFields(v)
}

func fieldList(names ...string) []field {
	out := make([]field, len(names))
	for i, n := range names {
		out[i] = field{name: n}
	}
	return out
}

// getter returns the value of one field of a node: present=false leaves it
// out of the answer; known=false is a "nonexisting field" error.
type getter func(f field) (value any, present, known bool, err *apiError)

// renderNode renders the requested fields of a node; "id" is always
// included, as Graph does.
func renderNode(node string, fields []field, get getter) (map[string]any, *apiError) {
	out := map[string]any{}
	for _, f := range append(fields, field{name: "id"}) {
		if _, done := out[f.name]; done {
			continue
		}
		v, present, known, err := get(f)
		if err != nil {
			return nil, err
		}
		if !known {
			return nil, errNoField(f.name, node)
		}
		if present {
			out[f.name] = v
		}
	}
	return out, nil
}

// --- cursor paging -------------------------------------------------------------

// item is a listable object: its position key (the creation sequence, so
// cursors survive deletions) and the rendered value.
type pageItem struct {
	key int64
	val any
}

func encodeCursor(key int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("fg:" + strconv.FormatInt(key, 10)))
}

func decodeCursor(c string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), "fg:") {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b[3:]), 10, 64)
	return n, err == nil
}

// paginate cuts one page from items, which must be sorted in list order
// (newestFirst: descending keys). It honours limit (default def, at most
// max), after and before, and returns the Graph list envelope.
func paginate(q *request, items []pageItem, def, max int) (map[string]any, *apiError) {
	limit := def
	if l := q.params.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return nil, errParam("The parameter limit must be a non-negative integer")
		}
		if n > 0 {
			limit = n
		}
	}
	if limit > max {
		limit = max
	}
	// position in list order
	pos := func(key int64) int {
		return sort.Search(len(items), func(i int) bool { return items[i].key <= key })
	}
	start, end := 0, len(items)
	if a := q.params.Get("after"); a != "" {
		k, ok := decodeCursor(a)
		if !ok {
			return nil, errParam("The after cursor is invalid")
		}
		start = sort.Search(len(items), func(i int) bool { return items[i].key < k })
		end = start + limit
	} else if b := q.params.Get("before"); b != "" {
		k, ok := decodeCursor(b)
		if !ok {
			return nil, errParam("The before cursor is invalid")
		}
		end = pos(k)
		start = end - limit
	} else {
		end = limit
	}
	if start < 0 {
		start = 0
	}
	if end > len(items) {
		end = len(items)
	}
	if start > end {
		start = end
	}
	page := items[start:end]
	data := make([]any, len(page))
	for i, it := range page {
		data[i] = it.val
	}
	out := map[string]any{"data": data}
	if len(page) == 0 {
		return out, nil
	}
	paging := map[string]any{"cursors": map[string]string{
		"before": encodeCursor(page[0].key),
		"after":  encodeCursor(page[len(page)-1].key),
	}}
	if end < len(items) {
		paging["next"] = pageURL(q, "after", encodeCursor(page[len(page)-1].key), limit)
	}
	if start > 0 {
		paging["previous"] = pageURL(q, "before", encodeCursor(page[0].key), limit)
	}
	out["paging"] = paging
	return out, nil
}

// pageURL builds a next/previous link for cursor paging.
func pageURL(q *request, key, cursor string, limit int) string {
	set := map[string]string{"after": "", "before": "", "limit": strconv.Itoa(limit)}
	set[key] = cursor
	return selfURL(q, set)
}

// selfURL is the request's own URL with parameters replaced (set; an
// empty value removes the parameter). Unlike Meta's paging links it never
// carries access_token or appsecret_proof (the fake never echoes
// credentials): a client following it must authenticate again.
func selfURL(q *request, set map[string]string) string {
	v := cloneValues(q.params)
	v.Del("appsecret_proof")
	for k, val := range set {
		if val == "" {
			v.Del(k)
		} else {
			v.Set(k, val)
		}
	}
	scheme := "https"
	if q.r.TLS == nil {
		scheme = "http"
	}
	host := q.r.Host
	if host == "" {
		host = "graph.facebook.com"
	}
	return scheme + "://" + host + q.r.URL.Path + "?" + v.Encode()
}

func nestedList(items []any) map[string]any { return map[string]any{"data": items} }
