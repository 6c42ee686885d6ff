// Package preflight looks at media before a container is created, so an
// agent hears "the image is PNG; Instagram takes JPEG only" at once instead
// of a container that fails minutes later. It reads only what the rules need
// (headers and the first bytes: format, size, dimensions, the MP4/MOV box
// layout and duration) and judges them against Instagram's media specs
// (docs/graph-api.md §13).
//
// A definite violation is a media_rejected error naming the rule; media the
// server cannot fetch itself is only a warning, since Instagram may still
// reach it (docs/reference.md §3). IGMCP_PREFLIGHT=off means no Checker at all: no
// media is fetched.
package preflight

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/localfile"
	"github.com/igmcp/igmcp/netguard"
)

// Kind is what a media will become; each kind has its own rules.
type Kind string

const (
	FeedImage     Kind = "feed_image"     // single image post or carousel image
	StoryImage    Kind = "story_image"    // image story
	Cover         Kind = "cover"          // Reel cover image
	Reel          Kind = "reel"           // Reel video
	StoryVideo    Kind = "story_video"    // video story
	CarouselVideo Kind = "carousel_video" // video item of a carousel
)

// Media is one media argument to check: a URL Instagram will fetch, or a
// local file that will be uploaded or staged.
type Media struct {
	Field string // JSON path of the argument, e.g. "items[2].image_url"
	URL   string
	Path  string // local file (file_path); wins over URL
	Kind  Kind
}

// Rules are Instagram's documented limits for one kind (§13). Limits are
// read generously (MiB where the docs say MB) so a rejection is definite.
type Rules struct {
	Video                bool
	MaxBytes             int64
	MinAspect, MaxAspect float64       // width / height; 0 = no limit
	MaxWidth             int           // video columns; 0 = no limit
	MinDur, MaxDur       time.Duration // 0 = no limit
}

const mib = 1 << 20

// RulesFor returns the rules of a kind.
func RulesFor(k Kind) Rules {
	switch k {
	case FeedImage:
		return Rules{MaxBytes: 8 * mib, MinAspect: 4.0 / 5.0, MaxAspect: 1.91}
	case StoryImage, Cover:
		return Rules{MaxBytes: 8 * mib}
	case Reel:
		return Rules{Video: true, MaxBytes: 300 * mib, MinAspect: 0.01, MaxAspect: 10, MaxWidth: 1920, MinDur: 3 * time.Second, MaxDur: 15 * time.Minute}
	case StoryVideo:
		return Rules{Video: true, MaxBytes: 100 * mib, MinAspect: 0.1, MaxAspect: 10, MaxWidth: 1920, MinDur: 3 * time.Second, MaxDur: 60 * time.Second}
	case CarouselVideo:
		return Rules{Video: true, MaxBytes: 300 * mib, MaxWidth: 1920}
	}
	return Rules{}
}

// aspectSlack absorbs rounding (1080×1352 is still "4:5").
const aspectSlack = 0.005

// Info is what was learned about one media.
type Info struct {
	Field       string        `json:"field" jsonschema_description:"The argument checked."`
	Checked     bool          `json:"checked" jsonschema_description:"Whether the media itself was examined (false: unreachable, or preflight is off)."`
	ContentType string        `json:"content_type,omitempty" jsonschema_description:"Content-Type the host sent."`
	Format      string        `json:"format,omitempty" jsonschema_description:"Format read from the bytes: jpeg, png, mp4, mov, html, …"`
	Bytes       int64         `json:"bytes,omitempty" jsonschema_description:"Size in bytes, when known."`
	Width       int           `json:"width,omitempty" jsonschema_description:"Displayed width in pixels."`
	Height      int           `json:"height,omitempty" jsonschema_description:"Displayed height in pixels."`
	Duration    time.Duration `json:"-"`
	Seconds     float64       `json:"duration_seconds,omitempty" jsonschema_description:"Video duration in seconds."`
}

// Violation is one rule a media breaks.
type Violation struct {
	Field   string `json:"field" jsonschema_description:"The argument that breaks the rule."`
	Rule    string `json:"rule" jsonschema_description:"The rule, e.g. image.format, image.aspect_ratio, video.moov_first."`
	Message string `json:"message" jsonschema_description:"What is wrong and what Instagram accepts."`
}

// Report is the outcome of looking at one media.
type Report struct {
	Info       Info
	Warnings   []string
	Violations []Violation
}

// Options configure a Checker.
type Options struct {
	// Client fetches remote media. Default: 15 s timeout, https only, at
	// most 3 redirects, and a dialer that connects only to global unicast
	// addresses (netguard: the server must not become a probe of its own
	// network; Instagram cannot fetch from there either).
	Client *http.Client
	// Network configures the default client's dialer (tests: a resolver
	// stub, or loopback allowed explicitly). Ignored with Client.
	Network netguard.Options
	// ProbeBytes is how much of a file is read (default 512 KiB): enough
	// for image headers and, in a fast-start video, the moov header.
	ProbeBytes int64
	// Offline never fetches remote media (the sandbox: nothing may leave
	// the machine); local files are still checked.
	Offline bool
	// Concurrency bounds parallel fetches of one Check (default 4).
	Concurrency int
}

// Checker runs preflight checks. It is safe for concurrent use.
type Checker struct {
	client  *http.Client
	probe   int64
	offline bool
	workers int
}

// New builds a Checker.
func New(o Options) *Checker {
	c := &Checker{client: o.Client, probe: o.ProbeBytes, offline: o.Offline, workers: o.Concurrency}
	if c.client == nil {
		c.client = defaultClient(o.Network)
	}
	if c.probe <= 0 {
		c.probe = 512 << 10
	}
	if c.workers <= 0 {
		c.workers = 4
	}
	return c
}

// Offline reports whether the checker never fetches remote media.
func (c *Checker) Offline() bool { return c == nil || c.offline }

// ParseMode reads IGMCP_PREFLIGHT: on (the default) or off.
func ParseMode(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "on", "1", "true", "yes":
		return true, nil
	case "off", "0", "false", "no":
		return false, nil
	}
	return false, fmt.Errorf("IGMCP_PREFLIGHT must be on or off, got %q", s)
}

// Check examines every media (remote ones in parallel) and returns the
// warnings, and the first definite violation as a media_rejected
// *failure.Error naming the field and the rule (nil when none). A nil
// Checker checks nothing: preflight is off.
func (c *Checker) Check(ctx context.Context, media []Media) ([]string, error) {
	if c == nil {
		return nil, nil
	}
	reports := c.InspectAll(ctx, media)
	var warnings []string
	for _, r := range reports {
		warnings = append(warnings, r.Warnings...)
	}
	for _, r := range reports {
		if len(r.Violations) > 0 {
			return warnings, Rejected(r.Violations[0])
		}
	}
	return warnings, nil
}

// InspectAll examines every media and reports on each, in order. A nil
// Checker reports every media unchecked (local files excepted: they are
// read whenever they are given).
func (c *Checker) InspectAll(ctx context.Context, media []Media) []Report {
	out := make([]Report, len(media))
	workers := 4
	if c != nil {
		workers = c.workers
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i, m := range media {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = c.Inspect(ctx, m)
		}()
	}
	wg.Wait()
	return out
}

// Inspect examines one media.
func (c *Checker) Inspect(ctx context.Context, m Media) Report {
	if m.Path != "" {
		r, err := InspectFile(m)
		if err != nil {
			// A file we cannot read will not upload either: that is an
			// input error, reported as a violation so callers see it.
			r.Violations = append(r.Violations, Violation{Field: m.Field, Rule: "file.readable", Message: err.Error()})
		}
		return r
	}
	r := Report{Info: Info{Field: m.Field}}
	if c == nil || c.offline || m.URL == "" {
		return r
	}
	b, size, ct, ignoresRange, err := c.fetch(ctx, m.URL)
	if err != nil {
		// One sentence whatever went wrong: no address, port, status or
		// errno, which would turn preflight into a scanner of what the
		// server can reach.
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s: igmcp could not fetch the media to check it; Instagram may still reach it.", m.Field))
		return r
	}
	r = judge(m, b, size, ct)
	if ignoresRange && RulesFor(m.Kind).Video {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s: the host ignores HTTP Range requests; Instagram often fails to download such videos (error 2207077): host it where Range works.", m.Field))
	}
	return r
}

// InspectFile examines a local file. The error is about the file itself
// (missing, not a regular file, unreadable, empty). The file is opened
// through localfile, so a FIFO, a device or /proc cannot block or leak.
func InspectFile(m Media) (Report, error) {
	r := Report{Info: Info{Field: m.Field}}
	b, size, err := localfile.ReadHead(m.Path, 1<<20)
	if err != nil {
		return r, fmt.Errorf("cannot read %s: %v", m.Path, unwrapPath(err))
	}
	if size == 0 {
		return r, fmt.Errorf("%s is empty", m.Path)
	}
	return judge(m, b, size, ""), nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Rejected turns a violation into the media_rejected error (invalid_input
// for a local file that cannot be read).
func Rejected(v Violation) *failure.Error {
	if v.Rule == "file.readable" {
		e := failure.Invalid(v.Field, "%s", v.Message)
		e.Action = "Give the path of a readable media file on the server's machine, or a public https URL instead."
		return e
	}
	e := failure.New(failure.MediaRejected, fmt.Sprintf("%s: %s (rule %s)", v.Field, v.Message, v.Rule))
	e.Field = v.Field
	e.Action = "Change the media so it meets the rule named in the message (or give other media), then call the tool again; nothing was sent to Instagram."
	return e
}

// judge applies the kind's rules to what was read.
func judge(m Media, b []byte, size int64, contentType string) Report {
	rules := RulesFor(m.Kind)
	h := sniff(b)
	r := Report{Info: Info{Field: m.Field, Checked: true, ContentType: contentType, Format: h.format, Bytes: max(size, 0),
		Width: h.width, Height: h.height, Duration: h.duration, Seconds: h.duration.Seconds()}}
	bad := func(rule, format string, args ...any) {
		r.Violations = append(r.Violations, Violation{Field: m.Field, Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	what := "image"
	if rules.Video {
		what = "video"
	}
	if size > 0 && rules.MaxBytes > 0 && size > rules.MaxBytes {
		bad(what+".size", "the %s is %s; Instagram accepts at most %s for %s", what, humanBytes(size), humanBytes(rules.MaxBytes), kindName(m.Kind))
	}
	if !rules.Video {
		switch h.format {
		case FormatJPEG:
		case FormatHTML:
			bad("image.format", "the URL serves an HTML page (%s), not the image: a login, preview or error page? Give the direct link to a JPEG", orUnknown(contentType))
			return r
		case FormatUnknown:
			bad("image.format", "the bytes are not a JPEG (content type %s); Instagram accepts JPEG only", orUnknown(contentType))
			return r
		default:
			bad("image.format", "the image is %s; Instagram accepts JPEG only (convert it to .jpg)", strings.ToUpper(h.format))
			return r
		}
		if h.width == 0 || h.height == 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: the JPEG's size could not be read from its header.", m.Field))
			return r
		}
		checkAspect(&r, m, rules, h, "image")
		if m.Kind == FeedImage && (h.width < 320 || h.width > 1440) {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: the image is %d px wide; Instagram scales feed images to 320–1440 px.", m.Field, h.width))
		}
		return r
	}
	switch h.format {
	case FormatMP4, FormatMOV:
	case FormatHTML:
		bad("video.container", "the URL serves an HTML page (%s), not the video: give the direct link to an MP4 or MOV", orUnknown(contentType))
		return r
	case FormatUnknown:
		bad("video.container", "the bytes are not an MP4 or MOV file (content type %s); Instagram accepts MP4 and MOV", orUnknown(contentType))
		return r
	default:
		bad("video.container", "the file is %s; Instagram accepts MP4 and MOV (H.264 or HEVC) only", strings.ToUpper(h.format))
		return r
	}
	switch {
	case h.mdatAt >= 0 && (h.moovAt < 0 || h.mdatAt < h.moovAt):
		bad("video.moov_first", "the moov atom comes after the media data; Instagram needs it first (re-mux with `ffmpeg -i in.mp4 -c copy -movflags +faststart out.mp4`)")
		return r
	case h.moovAt < 0:
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s: the video's moov atom was not in the first %s; its duration and size were not checked.", m.Field, humanBytes(int64(len(b)))))
		return r
	}
	if h.duration > 0 {
		if rules.MinDur > 0 && h.duration < rules.MinDur {
			bad("video.duration", "the video lasts %.1f s; %s must last at least %s", h.duration.Seconds(), kindName(m.Kind), rules.MinDur)
		}
		if rules.MaxDur > 0 && h.duration > rules.MaxDur+500*time.Millisecond {
			bad("video.duration", "the video lasts %.1f s; %s may last at most %s", h.duration.Seconds(), kindName(m.Kind), rules.MaxDur)
		}
	}
	if h.width > 0 && h.height > 0 {
		if rules.MaxWidth > 0 && h.width > rules.MaxWidth {
			bad("video.width", "the video is %d px wide; Instagram accepts at most %d columns", h.width, rules.MaxWidth)
		}
		checkAspect(&r, m, rules, h, "video")
	}
	return r
}

func checkAspect(r *Report, m Media, rules Rules, h header, what string) {
	if rules.MinAspect == 0 && rules.MaxAspect == 0 {
		return
	}
	ar := float64(h.width) / float64(h.height)
	if (rules.MinAspect > 0 && ar < rules.MinAspect-aspectSlack) || (rules.MaxAspect > 0 && ar > rules.MaxAspect+aspectSlack) {
		r.Violations = append(r.Violations, Violation{Field: m.Field, Rule: what + ".aspect_ratio", Message: fmt.Sprintf(
			"the %s is %d×%d (aspect ratio %.2f:1); %s must be between %s and %s", what, h.width, h.height, ar, kindName(m.Kind), ratio(rules.MinAspect), ratio(rules.MaxAspect))})
	}
}

func ratio(f float64) string {
	switch f {
	case 0.8:
		return "4:5"
	case 1.91:
		return "1.91:1"
	}
	return strconv.FormatFloat(f, 'f', -1, 64) + ":1"
}

func kindName(k Kind) string {
	switch k {
	case FeedImage:
		return "a feed image"
	case StoryImage:
		return "a story image"
	case Cover:
		return "a Reel cover"
	case Reel:
		return "a Reel"
	case StoryVideo:
		return "a story video"
	case CarouselVideo:
		return "a carousel video"
	}
	return "this media"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func humanBytes(n int64) string {
	switch {
	case n >= mib:
		return fmt.Sprintf("%.1f MiB", float64(n)/mib)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// fetch reads the first ProbeBytes of url with a Range request. size is
// the whole file's size when the host says it (-1 otherwise); ignoresRange
// is true when the host answered 200 to the Range request.
func (c *Checker) fetch(ctx context.Context, raw string) (b []byte, size int64, ct string, ignoresRange bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil || req.URL.Scheme != "https" || req.URL.User != nil {
		// Instagram fetches only https; nothing else is worth a connection.
		return nil, -1, "", false, errors.New("not a public https URL")
	}
	req.Header.Set("Range", "bytes=0-"+strconv.FormatInt(c.probe-1, 10))
	req.Header.Set("User-Agent", "igmcp-preflight")
	resp, err := c.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, -1, "", false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		return nil, -1, "", false, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	ct = resp.Header.Get("Content-Type")
	if mt, _, perr := mime.ParseMediaType(ct); perr == nil {
		ct = mt
	}
	b, err = io.ReadAll(io.LimitReader(resp.Body, c.probe))
	if err != nil && len(b) == 0 {
		return nil, -1, ct, false, err
	}
	size = -1
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if cr := resp.Header.Get("Content-Range"); cr != "" {
			if i := strings.LastIndexByte(cr, '/'); i >= 0 {
				if n, perr := strconv.ParseInt(cr[i+1:], 10, 64); perr == nil {
					size = n
				}
			}
		}
	default:
		ignoresRange = true
		size = resp.ContentLength
	}
	if size < 0 && int64(len(b)) < c.probe {
		size = int64(len(b)) // the whole file came
	}
	return b, size, ct, ignoresRange, nil
}

// defaultClient connects only to global unicast addresses (netguard), on
// every redirect hop too, and follows only https redirects.
func defaultClient(n netguard.Options) *http.Client {
	return &http.Client{Transport: n.Transport(), Timeout: 15 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("more than 3 redirects")
		}
		if req.URL.Scheme != "https" {
			return errors.New("redirect to a URL that is not https")
		}
		return nil
	}}
}
