package fakegraph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Container status codes (IG Container status_code).
const (
	StatusInProgress = "IN_PROGRESS"
	StatusFinished   = "FINISHED"
	StatusPublished  = "PUBLISHED"
	StatusError      = "ERROR"
	StatusExpired    = "EXPIRED"
)

// Container kinds.
const (
	KindImage    = "IMAGE"
	KindVideo    = "VIDEO" // carousel video item
	KindReels    = "REELS"
	KindStories  = "STORIES"
	KindCarousel = "CAROUSEL"
)

const (
	containerTTL     = 24 * time.Hour
	containersPerDay = 400
	maxCaptionRunes  = 2200
	// maxHashtags: the reference still says 30; Instagram has limited a
	// caption to 5 since December 2025 (docs/graph-api.md §2). The fake
	// takes the stricter, with the error documented for too many hashtags.
	maxHashtags         = 5
	maxMentions         = 20
	maxCollaborators    = 3
	maxAltText          = 1000
	maxThumbOffsetMilli = 15 * 60 * 1000 // longest reel: 15 min
)

// Status strings. Only the IN_PROGRESS and ERROR forms are observed in
// real responses; the others are test assumptions in the same style.
const (
	statusInProgress = "In Progress: Media is still being processed."
	statusFinished   = "Finished: Media has been uploaded and it is ready to be published."
	statusPublished  = "Published: Media has been successfully published."
	statusExpired    = "Expired: Media was not published within 24 hours and has expired."
	statusErrorFmt   = "Error: Media upload has failed with error code %d"
)

type container struct {
	id      string
	seq     int64
	acct    *account
	kind    string
	isItem  bool
	isVideo bool

	imageURL, videoURL, coverURL, caption, altText string
	children                                       []string
	params                                         url.Values
	shareToFeed                                    bool
	aiGenerated                                    bool

	resumable    bool
	uploaded     bool
	uploadedSize int64
	fileSize     int64

	created time.Time
	readyAt time.Time // processing over; zero while a resumable upload is pending
	reads   int       // GET answers that said IN_PROGRESS
	outcome *Outcome
	mediaID string
	// publishedAt is when media_publish put it live (StatusLag counts
	// from there).
	publishedAt time.Time
}

// containerStatus computes status_code and status at now. It is pure: it
// does not count as a status read.
func (s *Server) containerStatus(c *container, now time.Time) (code, status string) {
	if c.mediaID != "" {
		return StatusPublished, statusPublished
	}
	processed := !c.readyAt.IsZero() && !now.Before(c.readyAt) && c.reads >= s.opts.ProcessingPolls
	if c.kind == KindCarousel {
		for _, id := range c.children {
			ch := s.objs[id].(*container)
			switch cc, st := s.containerStatus(ch, now); cc {
			case StatusExpired, StatusError:
				return cc, st
			case StatusPublished:
				// the child went live inside another carousel: this
				// parent can no longer be published (test assumption)
				return StatusExpired, statusExpired
			case StatusInProgress:
				processed = false
			}
		}
	}
	if processed && c.outcome != nil && c.outcome.StatusCode == StatusError {
		return StatusError, fmt.Sprintf(statusErrorFmt, c.outcome.Subcode)
	}
	if !now.Before(c.created.Add(containerTTL)) {
		return StatusExpired, statusExpired
	}
	if !processed {
		return StatusInProgress, statusInProgress
	}
	if c.outcome != nil {
		switch c.outcome.StatusCode {
		case StatusExpired:
			return StatusExpired, statusExpired
		case StatusInProgress:
			return StatusInProgress, statusInProgress
		}
	}
	return StatusFinished, statusFinished
}

// readStatus is what a status read (or read-after-write) shows at now:
// the true status, except that a container published less than StatusLag
// ago still reads FINISHED (test assumption: Meta does not say how soon
// the status follows a publish).
func (s *Server) readStatus(c *container, now time.Time) (code, status string) {
	code, status = s.containerStatus(c, now)
	if code == StatusPublished && now.Before(c.publishedAt.Add(s.opts.StatusLag)) {
		return StatusFinished, statusFinished
	}
	return code, status
}

// containerGetter renders a container's fields as a read shows them
// (readStatus).
func (s *Server) containerGetter(c *container, now time.Time) getter {
	code, status := s.readStatus(c, now)
	return func(f field) (any, bool, bool, *apiError) {
		switch f.name {
		case "id":
			return c.id, true, true, nil
		case "status_code":
			return code, true, true, nil
		case "status":
			return status, true, true, nil
		case "copyright_check_status":
			if !c.isVideo {
				return nil, false, true, nil
			}
			st := "in_progress"
			if code == StatusFinished || code == StatusPublished {
				st = "completed"
			}
			return map[string]any{"status": st, "matches_found": false}, true, true, nil
		case "video_status":
			if !c.resumable {
				return nil, false, true, nil
			}
			up := "not_started"
			if c.uploaded {
				up = "complete"
			} else if c.uploadedSize > 0 {
				up = "in_progress"
			}
			proc := "not_started"
			if c.uploaded {
				proc = "in_progress"
				if code == StatusFinished || code == StatusPublished {
					proc = "complete"
				}
			}
			return map[string]any{
				"uploading_phase":  map[string]any{"status": up, "bytes_transferred": c.uploadedSize, "source_file_size": c.fileSize},
				"processing_phase": map[string]any{"status": proc},
			}, true, true, nil
		}
		return nil, false, false, nil
	}
}

// getContainer: GET /{container-id}. Answers that say IN_PROGRESS count as
// status reads for Options.ProcessingPolls.
func (s *Server) getContainer(w http.ResponseWriter, q *request, c *container) *apiError {
	fields, e := fieldsParam(q, "id")
	if e != nil {
		return e
	}
	now := s.now()
	out, e := renderNode("IGContainer", fields, s.containerGetter(c, now))
	if e != nil {
		return e
	}
	if code, _ := s.containerStatus(c, now); code == StatusInProgress {
		c.reads++
	}
	writeJSON(w, 200, out)
	return nil
}

var (
	hashtagRE = regexp.MustCompile(`(?:^|[^\p{L}\p{N}_&])#[\p{L}\p{N}_]+`)
	mentionRE = regexp.MustCompile(`(?:^|[^\p{L}\p{N}_.])@[A-Za-z0-9._]+`)
)

// checkCaption applies the caption limits: 2200 characters or 5 hashtags
// → 36004/2207010, 20 @mentions → 100/2207040.
func checkCaption(caption string) *apiError {
	if utf8.RuneCountInString(caption) > maxCaptionRunes || countHashtags(caption) > maxHashtags {
		return errMedia(2207010)
	}
	if len(mentionRE.FindAllString(caption, -1)) > maxMentions {
		return errMedia(2207040)
	}
	return nil
}

// countHashtags counts the hashtags of a caption as the worst plausible
// reading does: every # or full-width ＃ followed by a letter, digit or _,
// glued to a word or not ("#a#b" is two); "&#39;" (an HTML entity) is not.
func countHashtags(caption string) int {
	n := 0
	prev := rune(0)
	rs := []rune(caption)
	for i, r := range rs {
		if (r == '#' || r == '＃') && prev != '&' && i+1 < len(rs) && isTagRune(rs[i+1]) {
			n++
		}
		prev = r
	}
	return n
}

func isTagRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

func validMediaURL(raw string) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] >= 0x80 || raw[i] <= ' ' {
			return false
		}
	}
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

type userTag struct {
	Username string   `json:"username"`
	X        *float64 `json:"x"`
	Y        *float64 `json:"y"`
}

// parseList reads a JSON array of strings, or a comma-separated list.
func parseList(v string) ([]string, bool) {
	v = strings.TrimSpace(v)
	var out []string
	if strings.HasPrefix(v, "[") {
		var raw []any
		if err := json.Unmarshal([]byte(v), &raw); err != nil {
			return nil, false
		}
		for _, x := range raw {
			switch t := x.(type) {
			case string:
				out = append(out, strings.TrimSpace(t))
			case float64:
				out = append(out, strconv.FormatFloat(t, 'f', -1, 64))
			default:
				return nil, false
			}
		}
		return out, true
	}
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out, true
}

// inWindow counts the times in the rolling 24 h ending at now (an event
// exactly 24 h old has left the window).
func inWindow(ts []time.Time, now time.Time) int {
	n := 0
	for _, t := range ts {
		if now.Sub(t) < containerTTL {
			n++
		}
	}
	return n
}

func countSince(ts []time.Time, since time.Time) int {
	n := 0
	for _, t := range ts {
		if !t.Before(since) {
			n++
		}
	}
	return n
}

// errContainerLimit: the limit of 400 containers per rolling 24 h is
// documented, its error is not (test assumption: HTTP 400, code 9 like the
// publishing limit, no subcode, its own message).
func errContainerLimit() *apiError {
	return errIG(9, 0, "You have reached the maximum number of media containers (400) that can be created by Content Publishing API within 24 hours.",
		"Container limit reached", "Too many media containers were created in the last 24 hours. Please try again later.", false)
}

// readAfterWrite is the `fields` of a POST when the fake honours Graph
// read-after-write (Options.ReadAfterWrite or Optimistic), else nil: by
// default the answer is only the id (test assumption: Meta documents
// read-after-write Graph-wide, not for IG containers).
func (s *Server) readAfterWrite(q *request) ([]field, *apiError) {
	v := q.params.Get("fields")
	if v == "" || !s.opts.ReadAfterWrite || s.opts.NoReadAfterWrite {
		return nil, nil
	}
	return parseFields(v)
}

// errResumableLogin: Meta documents resumable upload for Facebook Login
// only (docs/graph-api.md §1, §6) and not the error an Instagram Login
// token gets (test assumption: 400/100 naming the parameter).
func errResumableLogin() *apiError {
	return errParam("Param upload_type=resumable is not supported with Instagram API with Instagram Login; resumable upload requires Facebook Login for Business. Give video_url instead")
}

// createContainer: POST /{ig-user-id}/media.
func (s *Server) createContainer(w http.ResponseWriter, q *request, a *account) *apiError {
	now := s.now()
	p := q.params
	fields, e := s.readAfterWrite(q)
	if e != nil {
		return e
	}
	if inWindow(a.created, now) >= containersPerDay {
		return errContainerLimit()
	}
	c := &container{acct: a, params: cloneValues(p), created: now}
	if v := p.Get("is_carousel_item"); v != "" {
		b, ok := parseBoolParam(v)
		if !ok {
			return errParam("Param is_carousel_item must be a boolean")
		}
		c.isItem = b
	}
	if ut := p.Get("upload_type"); ut != "" {
		if ut != "resumable" {
			return errParam("Param upload_type must be one of {resumable}")
		}
		if a.Login == LoginInstagram {
			return errResumableLogin()
		}
		c.resumable = true
	}
	c.imageURL, c.videoURL = p.Get("image_url"), p.Get("video_url")
	mt := p.Get("media_type")
	switch mt {
	case "":
		c.kind = KindImage
	case "VIDEO":
		if !c.isItem {
			return errIG(100, 2207023, "The media type VIDEO is not supported for single feed videos; use media_type=REELS.", "", "", false)
		}
		c.kind, c.isVideo = KindVideo, true
	case "REELS", "STORIES", "CAROUSEL":
		if c.isItem {
			return errIG(100, 2207023, fmt.Sprintf("The media type %s cannot be a carousel item; use VIDEO or an image.", mt), "", "", false)
		}
		c.kind = mt
		c.isVideo = mt == KindReels || mt == KindStories && (c.videoURL != "" || c.resumable)
	default:
		return errIG(100, 2207023, fmt.Sprintf("The media type %s is unknown.", mt), "", "", false)
	}
	what := describeKind(c)

	// media source
	switch {
	case c.kind == KindCarousel:
		for _, n := range []string{"image_url", "video_url", "upload_type"} {
			if p.Get(n) != "" {
				return errNotAllowed(n, what)
			}
		}
	case c.kind == KindStories && c.imageURL != "" && (c.videoURL != "" || c.resumable):
		return errParam("Only one of image_url and video_url may be given")
	case c.kind == KindStories && c.imageURL == "" && c.videoURL == "" && !c.resumable:
		return errRequired("image_url or video_url")
	case c.isVideo:
		if c.imageURL != "" {
			return errNotAllowed("image_url", what)
		}
		if c.resumable && c.videoURL != "" {
			return errNotAllowed("video_url", "upload_type=resumable (send the video to the upload uri)")
		}
		if !c.resumable && c.videoURL == "" {
			return errRequired("video_url")
		}
	default: // image, image story, image carousel item
		if c.resumable {
			return errParam("upload_type=resumable is only supported for video media")
		}
		if c.videoURL != "" {
			return errNotAllowed("video_url", what)
		}
		if c.imageURL == "" {
			return errRequired("image_url")
		}
	}

	if e := s.checkContainerParams(c, p, what); e != nil {
		return e
	}
	if e := s.checkPartnership(c, p, what); e != nil {
		return e
	}
	if c.kind == KindCarousel {
		if e := s.checkChildren(c, p, now); e != nil {
			return e
		}
	} else if p.Get("children") != "" {
		return errNotAllowed("children", what)
	}
	for _, u := range []string{c.imageURL, c.videoURL, c.coverURL} {
		if u != "" && !validMediaURL(u) {
			return errMedia(2207052)
		}
	}
	c.outcome = s.outcomeFor(c.imageURL, c.videoURL)
	if c.outcome != nil && c.outcome.StatusCode == StatusError && c.outcome.AtCreation {
		return errMedia(c.outcome.Subcode)
	}

	c.id, c.seq = s.newID("17889")
	if !c.resumable {
		c.readyAt = now.Add(s.processingTime(c))
	}
	s.objs[c.id] = c
	a.created = append(a.created, now)

	out := map[string]any{"id": c.id}
	if c.resumable {
		out["uri"] = uploadURI(q, c.id)
	}
	if fields != nil {
		rw, e := renderNode("IGContainer", fields, s.containerGetter(c, now))
		if e != nil {
			return e
		}
		for k, v := range rw {
			out[k] = v
		}
	}
	writeJSON(w, 200, out)
	return nil
}

func (s *Server) processingTime(c *container) time.Duration {
	switch {
	case c.kind == KindCarousel:
		return 0
	case c.isVideo:
		return s.opts.VideoProcessing
	default:
		return s.opts.ImageProcessing
	}
}

func describeKind(c *container) string {
	switch {
	case c.isItem:
		return "carousel items"
	case c.kind == KindImage:
		return "single image media"
	default:
		return "media_type " + c.kind
	}
}

func (s *Server) outcomeFor(urls ...string) *Outcome {
	for _, r := range s.outcomes {
		for _, u := range urls {
			if u != "" && strings.Contains(u, r.substr) {
				o := r.o
				return &o
			}
		}
	}
	return nil
}

// checkContainerParams validates the optional parameters of §2 against the
// container kind.
func (s *Server) checkContainerParams(c *container, p url.Values, what string) *apiError {
	isImage := !c.isVideo && c.kind != KindCarousel
	if c.caption = p.Get("caption"); c.caption != "" {
		if c.isItem {
			return errNotAllowed("caption", what)
		}
		if c.kind == KindStories {
			c.caption = "" // stories have no caption: accepted and ignored (test assumption)
		} else if e := checkCaption(c.caption); e != nil {
			return e
		}
	}
	if v := p.Get("location_id"); v != "" {
		if c.isItem {
			return errNotAllowed("location_id", what)
		}
		if e := s.checkLocationID(v); e != nil {
			return e
		}
	}
	if v := p.Get("user_tags"); v != "" {
		if c.kind == KindCarousel {
			return errNotAllowed("user_tags", what)
		}
		var tags []userTag
		if err := json.Unmarshal([]byte(v), &tags); err != nil {
			return errParam("Param user_tags must be a JSON array of {\"username\",\"x\",\"y\"} objects")
		}
		for i, t := range tags {
			if strings.TrimSpace(t.Username) == "" {
				return errParam("user_tags[%d].username is required", i)
			}
			if t.X == nil || t.Y == nil {
				if c.kind == KindStories {
					continue // x, y optional for stories
				}
				return errParam("user_tags[%d]: x and y are required", i)
			}
			if *t.X < 0 || *t.X > 1 || *t.Y < 0 || *t.Y > 1 {
				return errParam("user_tags[%d]: x and y must be between 0.0 and 1.0", i)
			}
		}
	}
	if v := p.Get("collaborators"); v != "" {
		if c.isItem || c.kind == KindStories {
			return errNotAllowed("collaborators", what)
		}
		list, ok := parseList(v)
		if !ok {
			return errParam("Param collaborators must be a JSON array of usernames")
		}
		if len(list) > maxCollaborators {
			return errParam("Param collaborators can have at most %d usernames", maxCollaborators)
		}
		for _, u := range list {
			if strings.HasPrefix(u, "@") {
				return errIG(100, 2207018, fmt.Sprintf("Invalid collaborator username %q: usernames must not start with @.", u), "", "", false)
			}
		}
	}
	for _, n := range []string{"cover_url", "share_to_feed", "audio_name", "trial_params"} {
		if p.Get(n) != "" && c.kind != KindReels {
			return errNotAllowed(n, what)
		}
	}
	c.coverURL = p.Get("cover_url")
	c.shareToFeed = true
	if v := p.Get("share_to_feed"); v != "" {
		b, ok := parseBoolParam(v)
		if !ok {
			return errParam("Param share_to_feed must be a boolean")
		}
		c.shareToFeed = b
	}
	if v := p.Get("trial_params"); v != "" {
		var tp struct {
			GraduationStrategy string `json:"graduation_strategy"`
		}
		if json.Unmarshal([]byte(v), &tp) != nil || (tp.GraduationStrategy != "MANUAL" && tp.GraduationStrategy != "SS_PERFORMANCE") {
			return errParam("Param trial_params must be {\"graduation_strategy\":\"MANUAL\"|\"SS_PERFORMANCE\"}")
		}
	}
	if v := p.Get("thumb_offset"); v != "" {
		if !c.isVideo {
			return errNotAllowed("thumb_offset", what)
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxThumbOffsetMilli {
			return errMedia(2207057)
		}
	}
	if v := p.Get("alt_text"); v != "" {
		if !isImage || c.kind == KindStories {
			return errNotAllowed("alt_text", what)
		}
		if utf8.RuneCountInString(v) > maxAltText {
			return errParam("Param alt_text must be at most %d characters", maxAltText)
		}
		c.altText = v
	}
	if v := p.Get("is_ai_generated"); v != "" {
		if c.isItem {
			return errNotAllowed("is_ai_generated", what)
		}
		b, ok := parseBoolParam(v)
		if !ok {
			return errParam("Param is_ai_generated must be a boolean")
		}
		c.aiGenerated = b
	}
	return nil
}

// checkChildren validates `children` of a carousel parent: 2–10 existing,
// FINISHED carousel-item containers of the same account.
func (s *Server) checkChildren(c *container, p url.Values, now time.Time) *apiError {
	raw := p.Get("children")
	if raw == "" {
		return errRequired("children")
	}
	ids, ok := parseList(raw)
	if !ok {
		return errParam("Param children must be a comma-separated list or a JSON array of container ids")
	}
	if len(ids) < 2 || len(ids) > 10 {
		return errMedia(2207028)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			return errParam("Param children contains the container id %s twice", id)
		}
		seen[id] = true
		ch, ok := s.objs[id].(*container)
		if !ok || ch.acct != c.acct {
			return errIG(24, 2207006, fmt.Sprintf("The media with id %s cannot be found.", id), "", "", false)
		}
		if !ch.isItem {
			return errParam("The container %s is not a carousel item (create it with is_carousel_item=true)", id)
		}
		switch code, _ := s.containerStatus(ch, now); code {
		case StatusFinished:
		case StatusInProgress:
			return errNotReady()
		case StatusError:
			return errMedia(2207032)
		case StatusExpired:
			return errMediaExpired()
		case StatusPublished:
			return errIG(24, 2207006, fmt.Sprintf("The media with id %s cannot be found.", id), "", "", false)
		}
	}
	c.children = ids
	return nil
}

// publish: POST /{ig-user-id}/media_publish.
func (s *Server) publish(w http.ResponseWriter, q *request, a *account) *apiError {
	now := s.now()
	fields, e := s.readAfterWrite(q)
	if e != nil {
		return e
	}
	id := q.params.Get("creation_id")
	if id == "" {
		return errRequired("creation_id")
	}
	c, ok := s.objs[id].(*container)
	if !ok || c.acct != a {
		return errBuilderMissing(id)
	}
	if c.isItem {
		return errParam("The container %s is a carousel item; publish the carousel container instead", id)
	}
	switch code, _ := s.containerStatus(c, now); code {
	case StatusPublished:
		// Meta documents no guard against publishing a container twice:
		// assume the worst, a second post (test assumption), unless the
		// optimistic RefuseRepublish answers "does not exist" (24/2207008).
		// The true state decides, not the status a read would show during
		// StatusLag.
		if s.opts.RefuseRepublish {
			return errBuilderMissing(id)
		}
	case StatusExpired:
		return errMediaExpired()
	case StatusError:
		// test assumption: publishing an ERROR container answers the
		// processing error itself, with its documented code
		return errMedia(s.errorSubcode(c))
	case StatusInProgress:
		return errNotReady()
	}
	if inWindow(a.publishes, now) >= s.opts.QuotaTotal {
		return errQuota()
	}
	m := s.publishContainer(c, now)
	out := map[string]any{"id": m.id}
	if fields != nil {
		rw, e := renderNode("IGMedia", fields, s.mediaGetter(m))
		if e != nil {
			return e
		}
		for k, v := range rw {
			out[k] = v
		}
	}
	writeJSON(w, 200, out)
	return nil
}

// errorSubcode is the subcode of a container in ERROR (a carousel parent
// takes its failed child's).
func (s *Server) errorSubcode(c *container) int {
	if c.outcome != nil && c.outcome.StatusCode == StatusError {
		return c.outcome.Subcode
	}
	for _, id := range c.children {
		if sc := s.errorSubcode(s.objs[id].(*container)); sc != 0 {
			return sc
		}
	}
	return 0
}

// publishContainer turns a FINISHED container into a live media object.
func (s *Server) publishContainer(c *container, now time.Time) *media {
	a := c.acct
	m := s.newMedia(c, now)
	switch c.kind {
	case KindCarousel:
		m.mediaType, m.productType = "CAROUSEL_ALBUM", "FEED"
		for _, id := range c.children {
			ch := s.objs[id].(*container)
			cm := s.newMedia(ch, now)
			cm.mediaType, cm.productType = "IMAGE", "FEED"
			if ch.isVideo {
				cm.mediaType = "VIDEO"
			}
			cm.parent = m
			ch.mediaID, ch.publishedAt = cm.id, now
			m.children = append(m.children, cm)
		}
		if len(m.children) > 0 {
			m.mediaURL = m.children[0].mediaURL
		}
	case KindReels:
		m.mediaType, m.productType = "VIDEO", "REELS"
	case KindStories:
		m.mediaType, m.productType = "IMAGE", "STORY"
		if c.isVideo {
			m.mediaType = "VIDEO"
		}
	default:
		m.mediaType, m.productType = "IMAGE", "FEED"
	}
	base := s.opts.PermalinkBase
	switch m.productType {
	case "REELS":
		m.permalink = base + "/reel/" + m.shortcode + "/"
	case "STORY":
		m.permalink = base + "/stories/" + a.Username + "/" + m.id + "/"
	default:
		m.permalink = base + "/p/" + m.shortcode + "/"
	}
	c.mediaID, c.publishedAt = m.id, now
	a.published = append(a.published, m.id)
	a.publishes = append(a.publishes, now)
	for i := 0; i < s.opts.SeedComments && m.productType != "STORY"; i++ { // stories take no comments
		u := seedUsers[(int(m.seq)+i)%len(seedUsers)]
		s.newComment(m, nil, u.name, igsid(u.name), u.text)
	}
	return m
}

var seedUsers = []struct{ name, text string }{
	{"sandbox_fan_1", "Love this! 😍"},
	{"sandbox_fan_2", "Where was this taken?"},
	{"sandbox_fan_3", "Great shot 🔥"},
	{"sandbox_fan_4", "Can't wait for the next one"},
}

func (s *Server) newMedia(c *container, now time.Time) *media {
	id, seq := s.newID("17900")
	m := &media{id: id, seq: seq, acct: c.acct, container: c, caption: c.caption, timestamp: now,
		commentEnabled: true, shareToFeed: c.shareToFeed, altText: c.altText, aiGenerated: c.aiGenerated}
	m.shortcode = shortcode(id)
	switch {
	case c.imageURL != "":
		m.mediaURL = c.imageURL
	case c.videoURL != "":
		m.mediaURL = c.videoURL
	default:
		m.mediaURL = "https://scontent.cdninstagram.com/o1/v/t16/f1/fakegraph/" + id + ".mp4"
	}
	if c.isVideo {
		m.thumbURL = c.coverURL
		if m.thumbURL == "" {
			m.thumbURL = "https://scontent.cdninstagram.com/v/t51/fakegraph/" + id + "_thumb.jpg"
		}
	}
	s.objs[id] = m
	return m
}

const shortcodeAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// shortcode is a stable 11-character Instagram-style shortcode.
func shortcode(id string) string {
	h := hash64("shortcode:" + id)
	b := make([]byte, 11)
	for i := range b {
		b[i] = shortcodeAlphabet[h%64]
		h /= 64
		if h == 0 {
			h = hash64(string(b[:i+1]) + id)
		}
	}
	return string(b)
}

// publishingLimit: GET /{ig-user-id}/content_publishing_limit.
func (s *Server) publishingLimit(w http.ResponseWriter, q *request, a *account) *apiError {
	fields, e := fieldsParam(q, "quota_usage")
	if e != nil {
		return e
	}
	now := s.now()
	since := now.Add(-containerTTL)
	if v := q.params.Get("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return errParam("The parameter since must be a Unix timestamp")
		}
		// test assumption: a since older than 24 h is clamped to 24 h
		if t := time.Unix(n, 0); t.After(since) {
			since = t
		}
	}
	usage := inWindow(a.publishes, now)
	if q.params.Get("since") != "" {
		usage = countSince(a.publishes, since)
	}
	item := map[string]any{}
	for _, f := range fields {
		switch f.name {
		case "quota_usage":
			item["quota_usage"] = usage
		case "config":
			item["config"] = map[string]int{"quota_total": s.opts.QuotaTotal, "quota_duration": 86400}
		case "rate_limit_settings":
			// named in the reference's sample request, never shown in a
			// response: accepted and left out (test assumption)
		default:
			return errNoField(f.name, "ContentPublishingLimit")
		}
	}
	writeJSON(w, 200, map[string]any{"data": []any{item}})
	return nil
}

// --- resumable upload (rupload) ------------------------------------------------

// uploadURI is the rupload uri of a resumable container. Meta answers
// https://rupload.facebook.com/ig-api-upload/<v>/<id>; the fake points at
// itself (same path) so sandbox and tests need no network.
func uploadURI(q *request, id string) string {
	v := q.version
	if v == "" {
		v = DefaultVersion
	}
	scheme := "https"
	if q.r.TLS == nil {
		scheme = "http"
	}
	host := q.r.Host
	if host == "" {
		host = "rupload.facebook.com"
	}
	return scheme + "://" + host + "/ig-api-upload/" + v + "/" + id
}

func writeUploadError(w http.ResponseWriter, status int, msg string, retriable bool) {
	inner, _ := json.Marshal(map[string]any{"success": false, "error": map[string]string{"message": msg}})
	writeJSON(w, status, map[string]any{"debug_info": map[string]any{
		"retriable": retriable, "type": "ProcessingFailedError", "message": string(inner)}})
}

// serveUpload: POST /ig-api-upload/<v>/<container-id> with
// "Authorization: OAuth <token>" and either offset+file_size headers and
// the bytes as body, or a file_url header.
func (s *Server) serveUpload(w http.ResponseWriter, q *request) {
	segs := q.segs[1:]
	if len(segs) > 0 && versionRE.MatchString(segs[0]) {
		segs = segs[1:]
	}
	if q.method != http.MethodPost || len(segs) != 1 {
		writeUploadError(w, 400, "unsupported request", false)
		return
	}
	ti := s.tokens[q.token]
	if q.token == "" || ti == nil || (!ti.expiry.IsZero() && !s.now().Before(ti.expiry)) {
		writeUploadError(w, 400, "unauthorized user request", false)
		return
	}
	c, ok := s.objs[segs[0]].(*container)
	if !ok || !ti.owns(c.acct) {
		writeUploadError(w, 400, "unauthorized user request", false)
		return
	}
	if !c.resumable || c.uploaded {
		writeUploadError(w, 400, "the media container does not accept an upload", false)
		return
	}
	now := s.now()
	h := q.r.Header
	if fu := h.Get("file_url"); fu != "" {
		if !validMediaURL(fu) {
			writeUploadError(w, 400, "file_url must be a public http(s) URL", false)
			return
		}
		c.videoURL = fu
		c.outcome = s.outcomeFor(fu)
		c.uploaded = true
		c.readyAt = now.Add(s.opts.VideoProcessing)
		writeJSON(w, 200, map[string]any{"success": true, "message": "Upload successful."})
		return
	}
	size, err1 := strconv.ParseInt(h.Get("file_size"), 10, 64)
	off, err2 := strconv.ParseInt(orDefault(h.Get("offset"), "0"), 10, 64)
	if err1 != nil || size <= 0 || err2 != nil {
		writeUploadError(w, 400, "offset and file_size headers are required", false)
		return
	}
	if c.fileSize != 0 && c.fileSize != size {
		writeUploadError(w, 400, "file_size does not match the earlier chunks", false)
		return
	}
	if off != c.uploadedSize {
		writeUploadError(w, 400, fmt.Sprintf("offset %d does not match the %d bytes received so far", off, c.uploadedSize), true)
		return
	}
	if off+q.bodyLen > size {
		writeUploadError(w, 400, "more bytes than file_size", false)
		return
	}
	c.fileSize = size
	c.uploadedSize += q.bodyLen
	if c.uploadedSize == size {
		c.uploaded = true
		c.readyAt = now.Add(s.opts.VideoProcessing)
	}
	writeJSON(w, 200, map[string]any{"success": true, "message": "Upload successful."})
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
