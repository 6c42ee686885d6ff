package publish

import (
	"errors"
	"strings"
	"testing"

	"github.com/igmcp/igmcp/failure"
)

func TestCountHashtagsAndMentions(t *testing.T) {
	cases := []struct {
		s                  string
		hashtags, mentions int
	}{
		{"", 0, 0},
		{"#a #b #c", 3, 0},
		{"#café #日本 #a_b", 3, 0},
		{"# not a tag", 0, 0},
		{"@alice and @bob.smith", 0, 2},
		{"mail me at me@example.com", 0, 0},
		{"(@alice) @bob, hi", 0, 2},
		{"#a@b", 1, 0},
	}
	for _, tc := range cases {
		if h, m := CountHashtags(tc.s), CountMentions(tc.s); h != tc.hashtags || m != tc.mentions {
			t.Errorf("%q: hashtags %d mentions %d, want %d %d", tc.s, h, m, tc.hashtags, tc.mentions)
		}
	}
}

func TestCaptionLimitsAreInclusive(t *testing.T) {
	ok := []string{
		strings.Repeat("é", MaxCaptionChars), // characters, not bytes
		strings.Repeat("#t ", MaxHashtags),
		strings.Repeat("@u ", MaxMentions),
	}
	for _, s := range ok {
		if err := CheckCaption("caption", s); err != nil {
			t.Errorf("at the limit rejected: %v", err)
		}
	}
	bad := []string{strings.Repeat("é", MaxCaptionChars+1), strings.Repeat("#t ", MaxHashtags+1), strings.Repeat("@u ", MaxMentions+1)}
	for _, s := range bad {
		if err := CheckCaption("caption", s); err == nil {
			t.Errorf("over the limit accepted (%d chars)", len(s))
		}
	}
}

func TestStatusSubcode(t *testing.T) {
	cases := map[string]int{
		"Error: Media upload has failed with error code 2207026": 2207026,
		"In Progress: Media is still being processed.":           0,
		"":          0,
		"Error: 12": 0,
		"Finished: Media has been uploaded and it is ready to be published.": 0,
	}
	for s, want := range cases {
		if got := StatusSubcode(s); got != want {
			t.Errorf("%q: %d, want %d", s, got, want)
		}
	}
}

func TestBackoffGrowsToMax(t *testing.T) {
	b := DefaultPollPolicy().Video
	d, total, polls := b.Initial, b.Initial, 1
	for total < 120_000_000_000 { // two minutes of processing
		d = b.next(d)
		total += d
		polls++
	}
	if d != b.Max {
		t.Errorf("backoff did not reach its max: %v", d)
	}
	if polls > 12 {
		t.Errorf("%d status reads for a 2-minute Reel; the budget is 12", polls)
	}
}

// FuzzPostValidate: validation never panics, and anything it accepts has an
// https image URL and a caption within Instagram's limits.
func FuzzPostValidate(f *testing.F) {
	f.Add("https://cdn.example.com/a.jpg", "hello #x @y", "alt", "bob", 0.5, 0.5)
	f.Add("http://x", strings.Repeat("#a", 40), "", "@bob", 2.0, -1.0)
	f.Add("https://127.0.0.1/x.jpg", "", "", "", 0.0, 1.0)
	f.Add("https://ex.com/\u00e9.jpg", "\x00", "", "a b", 0.1, 0.1)
	f.Fuzz(func(t *testing.T, u, caption, alt, tag string, x, y float64) {
		in := &PostInput{ImageURL: u, AltText: alt, Common: Common{Caption: caption}}
		if tag != "" {
			in.UserTags = []UserTag{{Username: tag, X: x, Y: y}}
		}
		err := in.Validate()
		if err == nil {
			if !strings.HasPrefix(u, "https://") {
				t.Fatalf("accepted non-https URL %q", u)
			}
			if CheckCaption("caption", caption) != nil {
				t.Fatalf("accepted caption over the limits")
			}
			if tag != "" && (x < 0 || x > 1 || y < 0 || y > 1) {
				t.Fatalf("accepted tag position %v,%v", x, y)
			}
			return
		}
		var fe *failure.Error
		if !errors.As(err, &fe) || fe.Kind != failure.InvalidInput || fe.Field == "" {
			t.Fatalf("validation error is not invalid_input with a field: %v", err)
		}
	})
}
