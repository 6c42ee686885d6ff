package publish

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/igmcp/igmcp/failure"
)

// The counting rules, written out by hand: hashtags and @mentions written
// together each count, full-width ＃ and ＠ count, e-mail addresses do not.
func TestCountHashtagsAndMentions(t *testing.T) {
	cases := []struct {
		s        string
		hashtags []string
		mentions []string
	}{
		{"", nil, nil},
		{"#a #b #c", []string{"#a", "#b", "#c"}, nil},
		{"#café #日本 #a_b", []string{"#café", "#日本", "#a_b"}, nil},
		{"# not a tag", nil, nil},
		{"#a#b#c", []string{"#a", "#b", "#c"}, nil},
		{"＃全角 and ＃b", []string{"＃全角", "＃b"}, nil},
		{"#नमस्ते", []string{"#नमस्ते"}, nil}, // combining marks stay in the tag
		{"@alice and @bob.smith", nil, []string{"alice", "bob.smith"}},
		{"mail me at me@example.com", nil, nil},
		{"(@alice) @bob, hi", nil, []string{"alice", "bob"}},
		{"@a@b", nil, []string{"a", "b"}},
		{"@a@b@c @d", nil, []string{"a", "b", "c", "d"}},
		{"＠full ＠width@mixed", nil, []string{"full", "width", "mixed"}},
		{"x@a@b", nil, nil}, // an address, however many @ it has
		{"#a@b", []string{"#a"}, nil},
		{"@b#a", []string{"#a"}, []string{"b"}},
	}
	for _, tc := range cases {
		if h := Hashtags(tc.s); strings.Join(h, " ") != strings.Join(tc.hashtags, " ") {
			t.Errorf("%q: hashtags %q, want %q", tc.s, h, tc.hashtags)
		}
		if m := Mentions(tc.s); strings.Join(m, " ") != strings.Join(tc.mentions, " ") {
			t.Errorf("%q: mentions %q, want %q", tc.s, m, tc.mentions)
		}
		if CountHashtags(tc.s) != len(tc.hashtags) || CountMentions(tc.s) != len(tc.mentions) {
			t.Errorf("%q: counts %d %d", tc.s, CountHashtags(tc.s), CountMentions(tc.s))
		}
	}
}

func TestCaptionLimitsAreInclusive(t *testing.T) {
	ok := []string{
		strings.Repeat("é", 2200), // characters, not bytes
		"#a #b #c #d #e",
		strings.Repeat("@u ", 20),
	}
	for _, s := range ok {
		if err := CheckCaption("caption", s); err != nil {
			t.Errorf("at the limit rejected: %v", err)
		}
	}
	bad := []string{strings.Repeat("é", 2201), "#a #b #c #d #e #f", "#a#b#c#d#e#f", "＃a ＃b ＃c ＃d ＃e #f", strings.Repeat("@u ", 21), strings.Repeat("@u", 21)}
	for _, s := range bad {
		if err := CheckCaption("caption", s); err == nil {
			t.Errorf("over the limit accepted: %q", s)
		}
	}
}

// The 5-hashtag refusal says why: it is Instagram's new limit, and a
// caller that knew the old one learns of the change.
func TestCaptionHashtagErrorSaysWhy(t *testing.T) {
	err := CheckCaption("caption", "#a #b #c #d #e #f")
	var fe *failure.Error
	if !errors.As(err, &fe) || fe.Kind != failure.InvalidInput || fe.Field != "caption" {
		t.Fatalf("%v", err)
	}
	for _, want := range []string{"6 hashtags", "at most 5", "December 2025", "30"} {
		if !strings.Contains(fe.Message, want) {
			t.Errorf("message %q lacks %q", fe.Message, want)
		}
	}
}

// A comment's rules, one function for create_comment, reply_comment and
// first_comment: text required, 2200 characters, 30 hashtags (the post
// limit of 5 is not a comment rule), 20 mentions.
func TestCheckComment(t *testing.T) {
	cases := []struct {
		s  string
		ok bool
	}{
		{"Thanks!", true},
		{"", false},
		{" \n\t", false},
		{strings.Repeat("x", 2200), true},
		{strings.Repeat("x", 2201), false},
		{strings.Repeat("#t ", 30), true},
		{strings.Repeat("#t ", 31), false},
		{strings.Repeat("@u ", 20), true},
		{strings.Repeat("@u", 21), false},
		{"caf\xe9", false},
	}
	for _, tc := range cases {
		err := CheckComment("first_comment", tc.s)
		if (err == nil) != tc.ok {
			t.Errorf("%.40q: err %v, want ok=%v", tc.s, err, tc.ok)
		}
		var fe *failure.Error
		if err != nil && (!errors.As(err, &fe) || fe.Field != "first_comment") {
			t.Errorf("%.40q: error without the field: %v", tc.s, err)
		}
	}
}

// Tags need a position on images and videos; Stories may leave it out, but
// never half of it.
func TestUserTagPositions(t *testing.T) {
	half := 0.5
	cases := []struct {
		name  string
		tag   UserTag
		story bool
		field string // "" when accepted
	}{
		{"image placed", UserTag{Username: "a", X: &half, Y: &half}, false, ""},
		{"image unplaced", UserTag{Username: "a"}, false, "user_tags[0].x"},
		{"story unplaced", UserTag{Username: "a"}, true, ""},
		{"story placed", UserTag{Username: "a", X: &half, Y: &half}, true, ""},
		{"story half placed", UserTag{Username: "a", X: &half}, true, "user_tags[0]"},
	}
	for _, tc := range cases {
		var err error
		if tc.story {
			err = (&StoryInput{ImageURL: "https://cdn.example.com/s.jpg", UserTags: []UserTag{tc.tag}}).Validate()
		} else {
			err = (&PostInput{ImageURL: "https://cdn.example.com/p.jpg", UserTags: []UserTag{tc.tag}}).Validate()
		}
		wantField(t, tc.name, err, tc.field)
	}
}

// wantField checks a validation outcome: accepted when field is "", else
// invalid_input on field.
func wantField(t *testing.T, name string, err error, field string) {
	t.Helper()
	var fe *failure.Error
	switch {
	case field == "" && err != nil:
		t.Errorf("%s: refused: %v", name, err)
	case field != "" && (!errors.As(err, &fe) || fe.Kind != failure.InvalidInput || fe.Field != field):
		t.Errorf("%s: %v, want invalid_input on %s", name, err, field)
	}
}

// The labels: sponsors only with the partnership label, at most 2, numeric
// and distinct.
func TestLabels(t *testing.T) {
	cases := []struct {
		name  string
		l     Labels
		field string
	}{
		{"AI label", Labels{AIGenerated: true}, ""},
		{"partnership without brand", Labels{PaidPartnership: true}, ""},
		{"two brands", Labels{PaidPartnership: true, SponsorIDs: []string{"1784140000001", "1784140000002"}}, ""},
		{"brands without the label", Labels{SponsorIDs: []string{"1784140000001"}}, "sponsor_ids"},
		{"three brands", Labels{PaidPartnership: true, SponsorIDs: []string{"1", "2", "3"}}, "sponsor_ids"},
		{"username", Labels{PaidPartnership: true, SponsorIDs: []string{"nike"}}, "sponsor_ids[0]"},
		{"twice", Labels{PaidPartnership: true, SponsorIDs: []string{"7", "7"}}, "sponsor_ids[1]"},
	}
	for _, tc := range cases {
		err := (&PostInput{ImageURL: "https://cdn.example.com/p.jpg", Common: Common{Labels: tc.l}}).Validate()
		wantField(t, tc.name, err, tc.field)
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

// TestMediaURLHosts: loopback, private and reserved addresses are refused
// in every form a resolver accepts; public hosts pass.
func TestMediaURLHosts(t *testing.T) {
	refused := []string{
		"localhost", "LOCALHOST", "img.localhost", "localhost.",
		"0", "0.0.0.0", "0.1.2.3", "127.0.0.1", "127.1", "127.0.1", "127.0.0.1.", "0x7f.0.0.1", "0X7F.0.0.1", "0x7f000001",
		"0177.0.0.1", "017700000001", "2130706433", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
		"100.64.0.1", "198.18.0.1", "224.0.0.1", "255.255.255.255", "240.0.0.1", "192.0.2.10",
		"[::]", "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::ffff:10.0.0.1]", "[::127.0.0.1]",
		"[fe80::1]", "[fe80::1%25eth0]", "[fc00::1]", "[fd12:3456::1]", "[ff02::1]", "[2001:db8::1]",
		"[64:ff9b::7f00:1]", "[64:ff9b::808:808]", "[2002:7f00:1::]", "[2002:808:808::1]", "[2606:4700:4700::1111%25eth0]",
	}
	for _, h := range refused {
		err := checkMediaURL("image_url", "https://"+h+"/a.jpg", true)
		var fe *failure.Error
		if !errors.As(err, &fe) || fe.Kind != failure.InvalidInput || fe.Field != "image_url" {
			t.Errorf("host %s accepted (%v)", h, err)
		}
	}
	accepted := []string{
		"cdn.example.com", "8.8.8.8", "134744072" /* 8.8.8.8 */, "0x8.0x8.0x8.0x8", "1.1", /* 1.0.0.1 */
		"[2606:4700:4700::1111]", "[::ffff:8.8.8.8]",
		"localhost.example.com", "127.0.0.1.nip.io", "0x7f.example", "08.0.0.1", "1.2.3.4.5", "4294967296",
	}
	for _, h := range accepted {
		if err := checkMediaURL("image_url", "https://"+h+"/a.jpg", true); err != nil {
			t.Errorf("host %s refused: %v", h, err)
		}
	}
}

// FuzzPostValidate: validation never panics, errors are invalid_input
// with a field, and anything it accepts has an https URL with a host that
// is not a loopback, private, link-local or unspecified IP address, a
// caption within Instagram's limits (counted here by hand) and tags within
// the image.
func FuzzPostValidate(f *testing.F) {
	f.Add("https://cdn.example.com/a.jpg", "hello #x @y", "alt", "bob", 0.5, 0.5)
	f.Add("http://x", strings.Repeat("#a", 40), "", "@bob", 2.0, -1.0)
	f.Add("https://127.0.0.1/x.jpg", "", "", "", 0.0, 1.0)
	f.Add("https://ex.com/\u00e9.jpg", "\x00", "", "a b", 0.1, 0.1)
	f.Fuzz(func(t *testing.T, u, caption, alt, tag string, x, y float64) {
		in := &PostInput{ImageURL: u, AltText: alt, Common: Common{Caption: caption}}
		if tag != "" {
			in.UserTags = []UserTag{{Username: tag, X: &x, Y: &y}}
		}
		err := in.Validate()
		if err != nil {
			var fe *failure.Error
			if !errors.As(err, &fe) || fe.Kind != failure.InvalidInput || fe.Field == "" {
				t.Fatalf("validation error is not invalid_input with a field: %v", err)
			}
			return
		}
		// The scheme is case-insensitive (RFC 3986 §3.1).
		if len(u) < len("https://") || !strings.EqualFold(u[:len("https://")], "https://") {
			t.Fatalf("accepted non-https URL %q", u)
		}
		if pu, err := url.Parse(u); err == nil {
			if a, err := netip.ParseAddr(pu.Hostname()); err == nil {
				a = a.Unmap()
				if a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() || a.IsLinkLocalUnicast() || a.IsMulticast() {
					t.Fatalf("accepted URL %q of a non-public address", u)
				}
			}
		}
		if n := utf8.RuneCountInString(caption); n > MaxCaptionChars {
			t.Fatalf("accepted a caption of %d characters", n)
		}
		if n := countTagsByHand(caption); n > MaxHashtags {
			t.Fatalf("accepted a caption with %d hashtags", n)
		}
		if n := countMentionsByHand(caption); n > MaxMentions {
			t.Fatalf("accepted a caption with %d mentions", n)
		}
		if tag != "" && (x < 0 || x > 1 || y < 0 || y > 1) {
			t.Fatalf("accepted tag position %v,%v", x, y)
		}
	})
}

// FuzzCaptionCounts: the counting rules agree with the counts written out
// by hand for any valid text (the preview counts with the same patterns).
func FuzzCaptionCounts(f *testing.F) {
	for _, s := range []string{"#a#b @c@d", "x@a@b", "＃a＠b.c@d", "@@a", "@a.@b", "#\u0301 é@x", "(@a)@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		if got, want := CountHashtags(s), countTagsByHand(s); got != want {
			t.Fatalf("%q: %d hashtags, by hand %d", s, got, want)
		}
		if got, want := CountMentions(s), countMentionsByHand(s); got != want {
			t.Fatalf("%q: %d mentions, by hand %d", s, got, want)
		}
	})
}

// countTagsByHand counts '#' or '＃' followed by a letter, a mark, a
// number or '_'.
func countTagsByHand(s string) int {
	rs := []rune(s)
	n := 0
	for i := 0; i+1 < len(rs); i++ {
		c := rs[i+1]
		if (rs[i] == '#' || rs[i] == '＃') && (unicode.IsLetter(c) || unicode.IsMark(c) || unicode.IsNumber(c) || c == '_') {
			n++
		}
	}
	return n
}

// countMentionsByHand counts '@' or '＠' followed by an ASCII username
// character, either not preceded by a letter, mark, number, '_' or '.'
// (e-mail addresses), or ending a mention that counted (@a@b).
func countMentionsByHand(s string) int {
	rs := []rune(s)
	userChar := func(c rune) bool {
		return c < 0x80 && (c == '.' || c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9'))
	}
	n := 0
	for i := 0; i+1 < len(rs); i++ {
		if (rs[i] != '@' && rs[i] != '＠') || !userChar(rs[i+1]) {
			continue
		}
		if i > 0 {
			p := rs[i-1]
			if unicode.IsLetter(p) || unicode.IsMark(p) || unicode.IsNumber(p) || p == '_' || p == '.' {
				continue
			}
		}
		// a counted mention: so is every '@' that follows its username
		for {
			n++
			i++
			for i < len(rs) && userChar(rs[i]) {
				i++
			}
			if i+1 >= len(rs) || (rs[i] != '@' && rs[i] != '＠') || !userChar(rs[i+1]) {
				break
			}
		}
		i--
	}
	return n
}

// FuzzMediaHost: an IPv4 address gets the same verdict in every form a
// resolver accepts (dotted, one number, hex, octal, two or three parts,
// IPv4-mapped IPv6), and loopback, private, link-local, unspecified and
// multicast addresses are refused in all of them.
func FuzzMediaHost(f *testing.F) {
	for _, v := range []uint32{0, 0x7f000001, 0x0a000001, 0xc0a80101, 0xa9fea9fe, 0x08080808, 0xe0000001, 0x64400001, 0x01000001} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v uint32) {
		b := [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
		dotted := fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3])
		forms := []string{
			dotted,
			fmt.Sprintf("%d", v),
			fmt.Sprintf("0x%x", v),
			fmt.Sprintf("0%o", v),
			fmt.Sprintf("0x%x.0x%x.0x%x.0x%x", b[0], b[1], b[2], b[3]),
			fmt.Sprintf("0%o.0%o.0%o.0%o", b[0], b[1], b[2], b[3]),
			fmt.Sprintf("%d.%d", b[0], v&0xffffff),
			fmt.Sprintf("%d.%d.%d", b[0], b[1], v&0xffff),
			"[::ffff:" + dotted + "]",
			dotted + ".",
		}
		refused := func(h string) bool { return checkMediaURL("image_url", "https://"+h+"/a.jpg", true) != nil }
		want := refused(dotted)
		for _, h := range forms {
			if refused(h) != want {
				t.Fatalf("%s refused=%v but %s refused=%v", h, refused(h), dotted, want)
			}
		}
		a := netip.AddrFrom4(b)
		if (a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() || a.IsLinkLocalUnicast() || a.IsMulticast()) && !want {
			t.Fatalf("non-public address %s accepted", dotted)
		}
	})
}
