package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// CheckResponse is the single classifier of Graph answers, as in go-github:
// any non-2xx, or a 2xx whose JSON has a top-level "error" object, is an
// *Error (with Usage from the headers); anything else is nil. At most 1 MiB
// of the body is read, and what was read is put back so the caller can still
// read the whole body. Method and Path come from r.Request (full URL path,
// no query); the Client's own calls report the path after the version.
func CheckResponse(r *http.Response) error {
	if r == nil {
		return &Error{Message: "no response"}
	}
	usage := UsageFromHeader(r.Header)
	var data []byte
	if r.Body != nil {
		data, _ = io.ReadAll(io.LimitReader(r.Body, maxErrorBodySize))
		r.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(data), r.Body), Closer: r.Body}
	}
	e := classify(r.StatusCode, usage, data)
	if e == nil {
		return nil
	}
	if r.Request != nil {
		e.Method = r.Request.Method
		if r.Request.URL != nil {
			e.Path = r.Request.URL.Path
		}
	}
	e.scrub()
	return e
}

type replayBody struct {
	io.Reader
	io.Closer
}

// classify decodes an answer into *Error, or nil when it is a success. It
// never fails: an error answer we cannot decode still becomes an *Error with
// the HTTP status and its text.
func classify(status int, usage Usage, body []byte) *Error {
	var top map[string]json.RawMessage
	decoded := json.Unmarshal(body, &top) == nil && top != nil

	if is2xx(status) {
		// Graph sometimes answers 200 with an error envelope (batch-style
		// and some legacy paths); only an object counts, so a field named
		// "error" inside a real result never trips this.
		if !decoded {
			return nil
		}
		obj, ok := object(top["error"])
		if !ok {
			return nil
		}
		e := &Error{HTTPStatus: status, Usage: usage}
		fillGraph(e, obj)
		if e.Message == "" {
			e.Message = statusText(status)
		}
		return e
	}

	e := &Error{HTTPStatus: status, Usage: usage}
	if decoded {
		if obj, ok := object(top["error"]); ok {
			fillGraph(e, obj) // {"error":{message,type,code,…}}
		} else if _, ok := top["error_message"]; ok {
			fillFlat(e, top) // api.instagram.com: {"error_type","code","error_message"}
		} else if _, ok := top["error_type"]; ok {
			fillFlat(e, top)
		} else if meta, ok := object(top["meta"]); ok {
			fillFlat(e, meta) // legacy Instagram API: {"meta":{…}}
		} else if s, ok := str(top["error"]); ok {
			// RFC 6749 token errors: {"error":"invalid_request","error_description":"…"}
			e.Type = s
			e.Message, _ = str(top["error_description"])
			if e.Message == "" {
				e.Message = s
			}
		}
	}
	if e.Message == "" {
		e.Message = statusText(status)
	}
	return e
}

func fillGraph(e *Error, obj map[string]json.RawMessage) {
	e.Message, _ = str(obj["message"])
	e.Type, _ = str(obj["type"])
	e.Code, e.CodeName = code(obj["code"])
	e.Subcode, _ = num(obj["error_subcode"])
	e.IsTransient = boolean(obj["is_transient"])
	e.UserTitle, _ = str(obj["error_user_title"])
	e.UserMsg, _ = str(obj["error_user_msg"])
	e.FBTraceID, _ = str(obj["fbtrace_id"])
}

func fillFlat(e *Error, obj map[string]json.RawMessage) {
	e.Type, _ = str(obj["error_type"])
	e.Code, e.CodeName = code(obj["code"])
	e.Message, _ = str(obj["error_message"])
}

func statusText(status int) string {
	if t := http.StatusText(status); t != "" {
		return t
	}
	return fmt.Sprintf("HTTP status %d", status)
}

// Lenient field readers: Meta's bodies are not always typed as documented
// (codes as strings, booleans as strings), and a wrong type must not hide the
// rest of the error.

func object(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	if len(raw) == 0 {
		return nil, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, false
	}
	return m, true
}

func str(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// code reads an error code: a number (or numeric string) is Code; any other
// string is kept whole as CodeName, since Meta's string codes
// (INSTAGRAM_PLATFORM_API__INVALID_LOCATION_ID, __PERMISSION, __INVALID_PARAM)
// are what tells those errors apart.
func code(raw json.RawMessage) (int, string) {
	if n, ok := num(raw); ok {
		return n, ""
	}
	s, _ := str(raw)
	return 0, strings.TrimSpace(s)
}

// num reads an integer from a JSON number or numeric string; fractions are
// dropped and anything out of range is 0.
func num(raw json.RawMessage) (int, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		n = json.Number(strings.TrimSpace(s))
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil && i >= math.MinInt && i <= math.MaxInt {
		return int(i), true
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || f >= math.MaxInt64 || f <= math.MinInt64 {
		return 0, false
	}
	return int(f), true
}

func boolean(raw json.RawMessage) bool {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b
	}
	if s, ok := str(raw); ok {
		return strings.EqualFold(s, "true") || s == "1"
	}
	n, _ := num(raw)
	return n != 0
}
