package tools

import (
	"strings"
	"testing"
)

// pointerPath turns RFC 6901 pointers into argument paths.
func TestPointerPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "",
		"/caption":          "caption",
		"/items/1/alt_text": "items[1].alt_text",
		"/post/user_tags/0": "post.user_tags[0]",
		"/a~1b/c~0d":        "a/b.c~d",
		"/0":                "0",
	} {
		if got := pointerPath(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// The cost of the text check on a large publish's arguments: plain UTF-8
// (one scan) and with \u escapes (a second, validating decode).
func BenchmarkCheckText(b *testing.B) {
	caption := strings.Repeat("Golden hour on the pier, café 🌅 #sunset ", 50)
	for _, tc := range []struct{ name, raw string }{
		{"utf8", `{"image_url":"https://cdn.example.com/a.jpg","caption":"` + caption + `"}`},
		{"escapes", `{"image_url":"https://cdn.example.com/a.jpg","caption":"` + strings.ReplaceAll(caption, "é", `\u00e9`) + `"}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			raw := []byte(tc.raw)
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if err := checkText(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
