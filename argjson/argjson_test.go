package argjson_test

import (
	"testing"

	"github.com/igmcp/igmcp/argjson"
	"github.com/igmcp/igmcp/failure"
)

type tag struct {
	Username string   `json:"username"`
	X        *float64 `json:"x"`
}

type base struct {
	Caption string `json:"caption"`
}

type item struct {
	ImageURL string `json:"image_url"`
	Tags     []tag  `json:"user_tags"`
}

type args struct {
	base
	Items  []item              `json:"items"`
	Trial  *struct{ When int } `json:"trial_params"`
	Matrix [][]tag             `json:"matrix"`
	Skip   string              `json:"-"`
}

func TestDecode_NamesTheArgument(t *testing.T) {
	for _, tc := range []struct {
		name, raw, field, msg string
	}{
		{"top level", `{"captoin":"x"}`, "captoin", `unknown argument "captoin"`},
		{"embedded struct's field is known", `{"caption":"x","zz":1}`, "zz", `unknown argument "zz"`},
		{"in a list item", `{"items":[{"image_url":"a"},{"image_url":"b","caption":"c"}]}`, "items[1].caption", `unknown argument "items[1].caption"`},
		{"two levels down", `{"items":[{"user_tags":[{"username":"a","Y":1}]}]}`, "items[0].user_tags[0].Y", ""},
		{"case-insensitive match is known, as encoding/json decodes it", `{"items":[{"IMAGE_URL":"a","user_tags":[{"X":0.1,"z":1}]}]}`, "items[0].user_tags[0].z", ""},
		{"nested object without tags", `{"trial_params":{"when":1,"how":2}}`, "trial_params.how", ""},
		{"list of lists", `{"matrix":[[],[{"username":"a"},{"q":1}]]}`, "matrix[1][1].q", ""},
		{"a json:\"-\" field is unknown", `{"Skip":"x"}`, "Skip", ""},
		{"wrong type", `{"caption":5}`, "caption", "caption must be of type string, got number"},
		{"wrong type in a list item", `{"items":[{"image_url":"a"},{"user_tags":[{"username":"b"},{"username":"c","x":"left"}]}]}`, "items[1].user_tags[1].x", "items[1].user_tags[1].x must be of type number, got string"},
		{"the first problem in document order", `{"items":[{"image_url":1,"zz":2}]}`, "items[0].image_url", "must be of type string"},
		{"an unknown key before a wrong type", `{"items":[{"zz":2,"image_url":1}]}`, "items[0].zz", `unknown argument "items[0].zz"`},
		{"trailing data", `{} {}`, "", "single JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a args
			fe := failure.Classify(argjson.Decode([]byte(tc.raw), &a))
			if fe == nil || fe.Kind != failure.InvalidInput || fe.Field != tc.field {
				t.Fatalf("got %+v, want invalid_input on %q", fe, tc.field)
			}
			if tc.msg != "" && !contains(fe.Message, tc.msg) {
				t.Errorf("message %q lacks %q", fe.Message, tc.msg)
			}
		})
	}
	var a args
	if err := argjson.Decode([]byte(`{"caption":"ok","items":[{"image_url":"a","user_tags":[{"username":"b","x":0.5}]}]}`), &a); err != nil {
		t.Fatalf("valid arguments refused: %v", err)
	}
	if a.Caption != "ok" || len(a.Items) != 1 || *a.Items[0].Tags[0].X != 0.5 {
		t.Errorf("decoded %+v", a)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// FuzzDecode: any input is decoded or refused as invalid_input, never a
// panic or another kind; an unknown argument's path names a key of the
// input.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, `{"captoin":1}`, `{"items":[{"user_tags":[{"z":1}]}]}`, `{"matrix":[[{"q":1}]]}`, `[`, `{"caption":5}`, `null`, `{"items":{"a":1}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var a args
		err := argjson.Decode([]byte(raw), &a)
		if err == nil {
			return
		}
		fe := failure.Classify(err)
		if fe.Kind != failure.InvalidInput {
			t.Fatalf("%q: %v is %s, want invalid_input", raw, err, fe.Kind)
		}
	})
}
