package publish

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/netguard"
	"github.com/igmcp/igmcp/preflight"
)

// Documented limits (docs/graph-api.md §2, §7, §13).
const (
	MaxCaptionChars = 2200
	// MaxHashtags is Instagram's limit for the caption of a post or Reel
	// since December 2025 (docs/graph-api.md §2); it was 30 before.
	MaxHashtags = 5
	MaxMentions = 20
	// Comments (create_comment, reply_comment, first_comment) keep the
	// limits of Instagram's text fields: the December 2025 cut to 5
	// hashtags is about post and Reel captions.
	MaxCommentChars    = 2200
	MaxCommentHashtags = 30
	MaxAltText         = 1000
	MaxCollaborators   = 3
	// MaxSponsors is how many brands one paid partnership label may name
	// (docs/graph-api.md §2).
	MaxSponsors       = 2
	MinCarouselItems  = 2
	MaxCarouselItems  = 10
	maxURLLength      = 2048
	maxUsernameLength = 30
)

// What counts in a caption or a comment (docs/reference.md §3). The
// patterns are written in the syntax Go's regexp (RE2) and JavaScript's
// RegExp with the u flag share, so the post preview (package views) counts
// with these very rules.
const (
	// HashtagPattern is a hashtag: '#' or the full-width '＃' followed by
	// letters, marks, digits or '_'. Tags written together (#a#b) each
	// count.
	HashtagPattern = `[#＃][\p{L}\p{M}\p{N}_]+`
	// MentionPattern is a run of @mentions ('@' or the full-width '＠' and
	// a username) that does not follow a letter, mark, digit, '_' or '.'
	// (so an e-mail address is none). Group 2 is the run; each '@' in it is
	// one mention, so @a@b is two.
	MentionPattern = `(^|[^\p{L}\p{M}\p{N}_.])((?:[@＠][A-Za-z0-9._]+)+)`
)

var (
	hashtagRE  = regexp.MustCompile(HashtagPattern)
	mentionRE  = regexp.MustCompile(MentionPattern)
	usernameRE = regexp.MustCompile(`^[A-Za-z0-9._]{1,30}$`)
	numericRE  = regexp.MustCompile(`^[0-9]{1,30}$`)
)

// Hashtags lists the hashtags of s, in order, as Instagram limits them.
func Hashtags(s string) []string { return hashtagRE.FindAllString(s, -1) }

// Mentions lists the usernames s @mentions, in order, as Instagram limits
// them.
func Mentions(s string) []string {
	var out []string
	for _, m := range mentionRE.FindAllStringSubmatch(s, -1) {
		out = append(out, strings.FieldsFunc(m[2], func(r rune) bool { return r == '@' || r == '＠' })...)
	}
	return out
}

// CountHashtags counts the hashtags of s (Hashtags).
func CountHashtags(s string) int { return len(Hashtags(s)) }

// CountMentions counts the @mentions of s (Mentions).
func CountMentions(s string) int { return len(Mentions(s)) }

// Validate checks the post against every rule that can be checked without
// calling Instagram.
func (in *PostInput) Validate() error {
	_, err := in.check()
	return err
}

func (in *PostInput) check() (*LocalFile, error) {
	if err := checkMediaURL("image_url", in.ImageURL, true); err != nil {
		return nil, err
	}
	if err := checkAltText("alt_text", in.AltText); err != nil {
		return nil, err
	}
	if err := checkUserTags("user_tags", in.UserTags, true); err != nil {
		return nil, err
	}
	return nil, in.Common.validate("")
}

// Validate checks the carousel and each of its items.
func (in *CarouselInput) Validate() error {
	_, err := in.check()
	return err
}

func (in *CarouselInput) check() (*LocalFile, error) {
	n := len(in.Items)
	if n < MinCarouselItems || n > MaxCarouselItems {
		return nil, failure.Invalid("items", "a carousel needs %d to %d items, got %d", MinCarouselItems, MaxCarouselItems, n)
	}
	for i := range in.Items {
		if err := in.Items[i].validate(fmt.Sprintf("items[%d]", i)); err != nil {
			return nil, err
		}
	}
	return nil, in.Common.validate("")
}

func (it *CarouselItem) validate(p string) error {
	switch {
	case it.ImageURL != "" && it.VideoURL != "":
		return failure.Invalid(p, "give either image_url or video_url, not both")
	case it.ImageURL == "" && it.VideoURL == "":
		return failure.Invalid(p+".image_url", "each item needs image_url or video_url")
	case it.ImageURL != "":
		if err := checkMediaURL(p+".image_url", it.ImageURL, true); err != nil {
			return err
		}
		if err := checkAltText(p+".alt_text", it.AltText); err != nil {
			return err
		}
	default:
		if err := checkMediaURL(p+".video_url", it.VideoURL, true); err != nil {
			return err
		}
		if it.AltText != "" {
			return failure.Invalid(p+".alt_text", "alt_text applies to image items only")
		}
	}
	return checkUserTags(p+".user_tags", it.UserTags, true)
}

// Validate checks the Reel; a file_path video is opened and its first
// bytes judged.
func (in *ReelInput) Validate() error {
	_, err := in.check()
	return err
}

func (in *ReelInput) check() (*LocalFile, error) {
	var f *LocalFile
	if in.FilePath != "" {
		if in.VideoURL != "" {
			return nil, failure.Invalid("file_path", "give video_url or file_path, not both")
		}
		var err error
		if f, err = checkLocalFile("file_path", in.FilePath, "", preflight.Reel); err != nil {
			return nil, err
		}
	} else if err := checkMediaURL("video_url", in.VideoURL, true); err != nil {
		return nil, err
	}
	if err := in.Trial.validate("trial_params"); err != nil {
		return nil, err
	}
	if err := checkMediaURL("cover_url", in.CoverURL, false); err != nil {
		return nil, err
	}
	if in.ThumbOffset != nil && *in.ThumbOffset < 0 {
		return nil, failure.Invalid("thumb_offset", "thumb_offset is milliseconds from the start and cannot be negative")
	}
	if err := checkText("audio_name", in.AudioName); err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(in.AudioName) > 100 {
		return nil, failure.Invalid("audio_name", "audio_name is at most 100 characters")
	}
	if err := checkUserTags("user_tags", in.UserTags, true); err != nil {
		return nil, err
	}
	return f, in.Common.validate("")
}

func (c *Common) validate(prefix string) error {
	if err := CheckCaption(prefix+"caption", c.Caption); err != nil {
		return err
	}
	if c.LocationID != "" && !numericRE.MatchString(c.LocationID) {
		return failure.Invalid(prefix+"location_id", "location_id is the numeric id of a Facebook Page with a location")
	}
	if len(c.Collaborators) > MaxCollaborators {
		return failure.Invalid(prefix+"collaborators", "at most %d collaborators, got %d", MaxCollaborators, len(c.Collaborators))
	}
	seen := map[string]bool{}
	for i, u := range c.Collaborators {
		f := fmt.Sprintf("%scollaborators[%d]", prefix, i)
		if err := checkUsername(f, u); err != nil {
			return err
		}
		if seen[strings.ToLower(u)] {
			return failure.Invalid(f, "collaborator %q is listed twice", u)
		}
		seen[strings.ToLower(u)] = true
	}
	// The first comment is posted after the publish: a comment Instagram
	// would refuse must be refused now, not leave a post without it.
	if c.FirstComment != "" {
		if err := CheckComment(prefix+"first_comment", c.FirstComment); err != nil {
			return err
		}
	}
	return c.Labels.validate(prefix)
}

// validate checks the labels: sponsors are numeric account ids, at most
// MaxSponsors, and only with the paid partnership label itself.
func (l *Labels) validate(prefix string) error {
	if len(l.SponsorIDs) > 0 && !l.PaidPartnership {
		return failure.Invalid(prefix+"sponsor_ids", "sponsor_ids name the brands of a paid partnership label: set is_paid_partnership to true as well")
	}
	if len(l.SponsorIDs) > MaxSponsors {
		return failure.Invalid(prefix+"sponsor_ids", "a paid partnership label names at most %d brands, got %d", MaxSponsors, len(l.SponsorIDs))
	}
	seen := map[string]bool{}
	for i, id := range l.SponsorIDs {
		f := fmt.Sprintf("%ssponsor_ids[%d]", prefix, i)
		if !numericRE.MatchString(id) {
			return failure.Invalid(f, "a sponsor is the brand's numeric Instagram account id (get_business_profile gives it), got %q", id)
		}
		if seen[id] {
			return failure.Invalid(f, "sponsor %s is listed twice", id)
		}
		seen[id] = true
	}
	return nil
}

// CheckCaption applies Instagram's caption limits.
func CheckCaption(field, s string) error {
	if err := checkText(field, s); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(s); n > MaxCaptionChars {
		return failure.Invalid(field, "caption is %d characters; Instagram allows at most %d", n, MaxCaptionChars)
	}
	if n := CountHashtags(s); n > MaxHashtags {
		return failure.Invalid(field, "caption has %d hashtags; since December 2025 Instagram allows at most %d on a post or Reel (the old limit was 30): keep the %d that matter most", n, MaxHashtags, MaxHashtags)
	}
	if n := CountMentions(s); n > MaxMentions {
		return failure.Invalid(field, "caption has %d @mentions; Instagram allows at most %d", n, MaxMentions)
	}
	return nil
}

// CheckComment applies the rules of a comment's text, the same for
// create_comment, reply_comment and a post's first_comment: text is
// required (docs/graph-api.md §7: message is required), within Instagram's
// text limits.
func CheckComment(field, s string) error {
	if err := checkText(field, s); err != nil {
		return err
	}
	if strings.TrimSpace(s) == "" {
		return failure.Invalid(field, "%s is required: a comment needs text", field)
	}
	if n := utf8.RuneCountInString(s); n > MaxCommentChars {
		return failure.Invalid(field, "%s is %d characters; Instagram allows at most %d", field, n, MaxCommentChars)
	}
	if n := CountHashtags(s); n > MaxCommentHashtags {
		return failure.Invalid(field, "%s has %d hashtags; Instagram allows at most %d in a comment", field, n, MaxCommentHashtags)
	}
	if n := CountMentions(s); n > MaxMentions {
		return failure.Invalid(field, "%s has %d @mentions; Instagram allows at most %d", field, n, MaxMentions)
	}
	return nil
}

// checkText refuses text that is not valid UTF-8: the tools refuse it in
// the raw arguments already, and this keeps every other caller of the
// package to the same rule instead of sending replacement characters.
func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return failure.Invalid(field, "%s is not valid UTF-8 text", field)
	}
	return nil
}

// checkMediaURL requires a public https URL: Instagram fetches media itself,
// so a file path, an http URL or a loopback host can never work.
func checkMediaURL(field, raw string, required bool) error {
	if raw == "" {
		if required {
			return failure.Invalid(field, "%s is required: a public https URL that Instagram can fetch", field)
		}
		return nil
	}
	if len(raw) > maxURLLength {
		return failure.Invalid(field, "URL is longer than %d characters", maxURLLength)
	}
	for _, r := range raw {
		if r > 0x7e || r < 0x21 {
			return failure.Invalid(field, "URL must be US-ASCII without spaces: percent-encode other characters")
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return failure.Invalid(field, "not a valid absolute URL")
	}
	if u.Scheme != "https" {
		return failure.Invalid(field, "URL must use https (got %q); Instagram fetches media only from public https URLs", u.Scheme)
	}
	if u.User != nil {
		return failure.Invalid(field, "URL must not contain credentials")
	}
	if why := nonPublicHost(u.Hostname()); why != "" {
		return failure.Invalid(field, "URL host %s is %s; Instagram fetches media only from public hosts", u.Hostname(), why)
	}
	return nil
}

// nonPublicHost says why host can never be a public host ("" when it may
// be): a name of this machine (localhost), or an IP literal, in any form a
// resolver accepts (0, 127.1, 0x7f.0.0.1, 0177.0.0.1, 2130706433, [::],
// [::ffff:127.0.0.1] …), that netguard.Public — the address rule of the
// dial-time guard — refuses. Names are not resolved here; one that
// resolves to a private address is for the dial-time guard to refuse.
func nonPublicHost(host string) string {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return "this machine"
	}
	a, ok := ipLiteral(h)
	if !ok || netguard.Public(a) {
		return ""
	}
	return "not a public address (" + a.String() + ")"
}

// ipLiteral parses host as an IP address: IPv6 (brackets already removed
// by url.Hostname), or IPv4 in the inet_aton forms resolvers accept — one
// to four parts, each decimal, octal (leading 0) or hex (0x), the last
// filling the remaining bytes.
func ipLiteral(host string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a, true
	}
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		n, ok := atonPart(p)
		// every part but the last is one byte; the last fills the rest
		limit := uint64(0xff)
		if i == len(parts)-1 {
			limit = 1<<(8*(4-i)) - 1
		}
		if !ok || n > limit {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			v |= n << (8 * (3 - i))
		} else {
			v |= n
		}
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func atonPart(p string) (uint64, bool) {
	base := 10
	switch {
	case len(p) > 2 && p[:2] == "0x":
		p, base = p[2:], 16
	case len(p) > 1 && p[0] == '0':
		p, base = p[1:], 8
	}
	if p == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(p, base, 32)
	return n, err == nil
}

func checkAltText(field, s string) error {
	if err := checkText(field, s); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(s); n > MaxAltText {
		return failure.Invalid(field, "alt_text is %d characters; at most %d", n, MaxAltText)
	}
	return nil
}

func checkUsername(field, u string) error {
	if strings.HasPrefix(u, "@") {
		return failure.Invalid(field, "give the username without '@' (%q)", u)
	}
	if !usernameRE.MatchString(u) {
		return failure.Invalid(field, "%q is not an Instagram username (letters, digits, '.' and '_', at most %d)", u, maxUsernameLength)
	}
	return nil
}

// checkUserTags checks tags of people; positioned: every tag needs x and
// y (images and videos; Stories may leave them out, docs/graph-api.md §2).
func checkUserTags(field string, tags []UserTag, positioned bool) error {
	for i, t := range tags {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := checkUsername(f+".username", t.Username); err != nil {
			return err
		}
		if (t.X == nil) != (t.Y == nil) {
			return failure.Invalid(f, "give both x and y, or neither")
		}
		if t.X == nil {
			if positioned {
				return failure.Invalid(f+".x", "a tag on an image or video needs its position x and y (0 to 1); only Story tags may leave them out")
			}
			continue
		}
		if !(*t.X >= 0 && *t.X <= 1) {
			return failure.Invalid(f+".x", "x must be between 0 and 1, got %v", *t.X)
		}
		if !(*t.Y >= 0 && *t.Y <= 1) {
			return failure.Invalid(f+".y", "y must be between 0 and 1, got %v", *t.Y)
		}
	}
	return nil
}
