package tools

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/store"
)

// Hashtag budget: Instagram lets an account query at most 30 unique
// hashtags in a rolling 7 days (re-querying one of them is free). The
// budget is tracked per account in memory; on first use, and whenever it
// looks exhausted, it is synchronised with Instagram's own list
// (recently_searched_hashtags), so searches made before a restart or by
// another app are counted too. That list gives hashtag ids only (Meta's
// reference shows no name), so it is matched by id with the names this
// server searched. A search the budget cannot take is refused before any
// call, with the time the oldest search leaves the window — unless some of
// the counted hashtags are known only by id: the name asked for may be one
// of them (free), and only Instagram can tell.
const (
	HashtagLimit  = 30
	HashtagWindow = 7 * 24 * time.Hour
)

// HashtagBudget tracks hashtag searches per account. It is safe for
// concurrent use; the zero value is ready and keeps everything in memory.
//
// With a Store, the in-memory view is a cache of two sources: Instagram's
// list says which names count, the store says since when. Every search
// this process makes is recorded there, and the store is read before each
// decision, so processes sharing a database count each other's searches
// and a restarted process knows exactly when its searches leave the window.
//
// Across processes this is best effort, not a lock: two processes that
// decide at the same moment can both take the last slot, and a search
// whose record failed to be written is known to the others only through
// Instagram's list (without its time). Instagram itself refuses a search
// over the limit (code 18), which ends as the same rate_limited error;
// hashtag searches are reads, so nothing wrong can be published by such a
// race.
type HashtagBudget struct {
	mu       sync.Mutex
	accounts map[string]*tagBudget
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// Store shares the searches and their times with other processes and
	// across restarts; nil keeps them in this process only.
	Store store.Hashtags
}

type tagBudget struct {
	synced bool
	// searches are the hashtags that count, each once: by lower-case name,
	// or by idKey for one Instagram listed that this server never searched
	// by name.
	searches map[string]tagSearch
}

// idKey is the key of a hashtag known only by its id: never a hashtag name
// (names are letters, digits and '_').
func idKey(id string) string { return "#" + id }

type tagSearch struct {
	id string
	at time.Time // when it entered the window; zero: known from Instagram, time unknown
}

// BudgetReport is the budget in results.
type BudgetReport struct {
	Used       int    `json:"used"`
	Limit      int    `json:"limit"`
	Remaining  int    `json:"remaining"`
	WindowDays int    `json:"window_days"`
	Counted    bool   `json:"counted"`
	Note       string `json:"note,omitempty"`
}

func (b *HashtagBudget) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// account returns the account's budget, pruned to the window. Caller holds b.mu.
func (b *HashtagBudget) account(id string) *tagBudget {
	if b.accounts == nil {
		b.accounts = map[string]*tagBudget{}
	}
	tb := b.accounts[id]
	if tb == nil {
		tb = &tagBudget{searches: map[string]tagSearch{}}
		b.accounts[id] = tb
	}
	cut := b.now().Add(-HashtagWindow)
	for k, s := range tb.searches {
		if !s.at.IsZero() && s.at.Before(cut) {
			delete(tb.searches, k)
		}
	}
	return tb
}

// recorded reads the account's searches in the window from the store; none
// without a store.
func (b *HashtagBudget) recorded(ctx context.Context, accountID string) ([]store.HashtagSearch, error) {
	if b.Store == nil {
		return nil, nil
	}
	hs, err := b.Store.HashtagSearches(ctx, accountID, b.now().Add(-HashtagWindow))
	if err != nil {
		return nil, fmt.Errorf("hashtag budget: %w", err)
	}
	return hs, nil
}

// merge adds searches the store knows (other processes', earlier runs') to
// the view, and their times where the view has none or a later one. It
// never removes: only Instagram's list decides that a name stopped
// counting. Caller holds b.mu.
func (tb *tagBudget) merge(hs []store.HashtagSearch) {
	for _, h := range hs {
		s, ok := tb.searches[h.Name]
		if !ok || s.at.IsZero() || h.At.Before(s.at) {
			s.at = h.At
		}
		if s.id == "" {
			s.id = h.HashtagID
		}
		tb.put(h.Name, s)
	}
}

// put records the search of name; a hashtag known until now only by its
// id becomes this name's (it is one hashtag, counted once), and keeps its
// time if this one has none.
func (tb *tagBudget) put(name string, s tagSearch) {
	if s.id != "" {
		if byID, ok := tb.searches[idKey(s.id)]; ok {
			delete(tb.searches, idKey(s.id))
			if s.at.IsZero() {
				s.at = byID.at
			}
		}
	}
	tb.searches[name] = s
}

// unsure reports whether some counted hashtags of the account are known
// only by id: a name not known to count may still be one of them, and only
// Instagram can tell.
func (b *HashtagBudget) unsure(accountID string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range b.account(accountID).searches {
		if strings.HasPrefix(k, "#") {
			return true
		}
	}
	return false
}

// sync replaces what Instagram no longer counts with its list, matched by
// id, keeping the times and names we know, and the store's. It forgets
// recorded searches that Instagram no longer lists, except those made
// after the list was asked for: they may be missing from it only because
// they are newer.
func (b *HashtagBudget) sync(ctx context.Context, c *graph.Client, accountID string) error {
	asked := b.now()
	tags, _, err := c.RecentlySearchedHashtags(ctx, accountID)
	if err != nil {
		return err
	}
	listed := map[string]bool{}
	var ids []string
	for _, t := range tags {
		if t.ID != "" && !listed[t.ID] {
			listed[t.ID] = true
			ids = append(ids, t.ID)
		}
	}
	var recorded []store.HashtagSearch
	if b.Store != nil {
		if _, err := b.Store.ForgetHashtagSearches(ctx, accountID, ids, asked); err != nil {
			return fmt.Errorf("hashtag budget: %w", err)
		}
		if recorded, err = b.recorded(ctx, accountID); err != nil {
			return err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	tb := b.account(accountID)
	fresh := map[string]tagSearch{}
	for key, s := range tb.searches {
		if listed[s.id] {
			fresh[key] = s
		}
	}
	tb.searches, tb.synced = fresh, true
	for _, id := range ids {
		if !tb.knows(id) {
			tb.searches[idKey(id)] = tagSearch{id: id}
		}
	}
	tb.merge(recorded)
	return nil
}

// knows reports whether a counted search has hashtag id.
func (tb *tagBudget) knows(id string) bool {
	for _, s := range tb.searches {
		if s.id == id {
			return true
		}
	}
	return false
}

// reserve decides whether searching name is allowed: known names are free;
// a new one takes a slot. It first takes in what other processes recorded.
// It does not record the search (commit does).
func (b *HashtagBudget) reserve(ctx context.Context, accountID, name string) (known bool, id string, full bool, retryAfter time.Duration, err error) {
	recorded, err := b.recorded(ctx, accountID)
	if err != nil {
		return false, "", false, 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	tb := b.account(accountID)
	tb.merge(recorded)
	if s, ok := tb.searches[name]; ok {
		return true, s.id, false, 0, nil
	}
	if len(tb.searches) < HashtagLimit {
		return false, "", false, 0, nil
	}
	oldest := time.Time{}
	for _, s := range tb.searches {
		if !s.at.IsZero() && (oldest.IsZero() || s.at.Before(oldest)) {
			oldest = s.at
		}
	}
	if oldest.IsZero() {
		return false, "", true, 24 * time.Hour, nil // Instagram does not say when its searches age out
	}
	return false, "", true, oldest.Add(HashtagWindow).Sub(b.now()), nil
}

// commit records a search that was made, in the view and in the store,
// and reports whether it took a slot: a hashtag Instagram already listed
// (by id) did not, and keeps its time, none when Instagram gave none: the
// search now is not when it entered the window.
func (b *HashtagBudget) commit(ctx context.Context, accountID, name, id string) (counted bool, err error) {
	b.mu.Lock()
	tb := b.account(accountID)
	s, ok := tb.searches[name]
	_, listed := tb.searches[idKey(id)]
	counted = !ok && !(id != "" && listed)
	if counted {
		s.at = b.now()
	}
	s.id = id
	tb.put(name, s)
	s = tb.searches[name]
	b.mu.Unlock()
	if b.Store == nil || s.at.IsZero() {
		return counted, nil
	}
	// A record that left the window must go first: the store keeps the
	// earlier time of a name, and that one no longer counts.
	if _, err := b.Store.PruneHashtagSearches(ctx, b.now().Add(-HashtagWindow)); err != nil {
		return counted, fmt.Errorf("hashtag budget: %w", err)
	}
	if err := b.Store.RecordHashtagSearch(ctx, accountID, name, id, s.at); err != nil {
		return counted, fmt.Errorf("hashtag budget: %w", err)
	}
	return counted, nil
}

func (b *HashtagBudget) synced(accountID string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.account(accountID).synced
}

func (b *HashtagBudget) report(accountID string, counted bool) BudgetReport {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.account(accountID).searches)
	return BudgetReport{Used: n, Limit: HashtagLimit, Remaining: max(HashtagLimit-n, 0), WindowDays: 7, Counted: counted}
}

// budgetExhausted: the 30 hashtags of the last 7 days are used up; sent
// says whether the search went to Instagram (and Instagram refused it).
func budgetExhausted(retry time.Duration, sent bool) error {
	what := "nothing was sent"
	if sent {
		what = "Instagram refused the search"
	}
	e := failure.New(failure.RateLimited, fmt.Sprintf("This account has searched %d different hashtags in the last 7 days, Instagram's limit; %s.", HashtagLimit, what))
	e.RetryAfter = max(int(retry.Seconds()), 60)
	e.Action = "Search one of the hashtags already searched this week (free), or wait retry_after_seconds for the oldest search to leave the 7-day window."
	return e
}

type searchHashtagArgs struct {
	Hashtag string `json:"hashtag" jsonschema_description:"Name, without '#'."`
	AccountArg
}

// HashtagFound is the search_hashtag result.
type HashtagFound struct {
	Hashtag   string       `json:"hashtag"`
	HashtagID string       `json:"hashtag_id,omitempty"`
	Found     bool         `json:"found"`
	Budget    BudgetReport `json:"budget"`
}

// SearchHashtag finds a hashtag's id, spending the account's weekly
// hashtag budget only on hashtags not searched this week.
func SearchHashtag(d *Deps) Tool {
	budget := d.Hashtags
	if budget == nil {
		budget = &HashtagBudget{}
	}
	return newTool[searchHashtagArgs, HashtagFound](d, "search_hashtag",
		"A hashtag's id, for get_hashtag_media.",
		annotations{idempotent: true}, auth.FacebookOnlyScopes("instagram_basic"),
		func(ctx context.Context, c *call, a *searchHashtagArgs) (any, string, error) {
			name := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(a.Hashtag), "#"))
			if !graph.ValidHashtagName(name) {
				return nil, "", invalid("hashtag", "a hashtag is letters, digits and underscores (no spaces, punctuation or emoji), got %q", a.Hashtag)
			}
			acct, err := discoveryAccount(ctx, c, "Hashtag search")
			if err != nil {
				return nil, "", err
			}
			if !budget.synced(acct.ID) {
				if err := budget.sync(ctx, acct.Client, acct.ID); err != nil {
					return nil, "", err
				}
			}
			known, id, full, retry, err := budget.reserve(ctx, acct.ID, name)
			if err != nil {
				return nil, "", err
			}
			if full {
				// Before refusing, ask Instagram: searches may have aged out.
				if err := budget.sync(ctx, acct.Client, acct.ID); err != nil {
					return nil, "", err
				}
				if known, id, full, retry, err = budget.reserve(ctx, acct.ID, name); err != nil {
					return nil, "", err
				}
				if full && !budget.unsure(acct.ID) {
					return nil, "", budgetExhausted(retry, false)
				}
			}
			res := HashtagFound{Hashtag: name}
			if known && id != "" {
				res.HashtagID, res.Found = id, true
				res.Budget = budget.report(acct.ID, false)
				return res, fmt.Sprintf("#%s is %s (already searched this week: free)", name, id), nil
			}
			id, _, err = acct.Client.SearchHashtag(ctx, acct.ID, name)
			var ge *graph.Error
			if errors.As(err, &ge) && ge.Code == 18 {
				// Instagram counted searches we did not see (another app, or
				// another process that took the last slot at the same time).
				// Once synced, the recorded times may say when one frees.
				retry := 24 * time.Hour
				if budget.sync(ctx, acct.Client, acct.ID) == nil {
					if _, _, full, r, err := budget.reserve(ctx, acct.ID, name); err == nil && full {
						retry = r
					}
				}
				return nil, "", budgetExhausted(retry, true)
			}
			if err != nil {
				return nil, "", err
			}
			// The search was made and counts whatever happens to the record,
			// so a failing store costs the other processes its time, not
			// this call its result.
			counted, err := budget.commit(context.WithoutCancel(ctx), acct.ID, name, id)
			if err != nil && d.Logger != nil {
				d.Logger.Error("could not record a hashtag search", "account", acct.ID, "err", err)
			}
			res.HashtagID, res.Found = id, id != ""
			res.Budget = budget.report(acct.ID, counted)
			if !res.Found {
				return res, fmt.Sprintf("no hashtag #%s", name), nil
			}
			return res, fmt.Sprintf("#%s is %s; %d of %d hashtags used this week", name, id, res.Budget.Used, HashtagLimit), nil
		})
}

// discoveryAccount is the account of a discovery tool, every one of which
// Meta documents for Facebook Login only (docs/graph-api.md §1, §9: hashtag
// search, business discovery, and the tags and mentioned_media/comment
// references, which list Facebook Login tokens only): an Instagram Login
// account is refused before any call, by all four alike.
func discoveryAccount(ctx context.Context, c *call, what string) (*auth.Account, error) {
	acct, err := c.account(ctx)
	if err != nil {
		return nil, err
	}
	return acct, facebookOnly(acct, what)
}

// PublicMedia is another account's media: its caption is untrusted.
type PublicMedia struct {
	ID               string `json:"id"`
	Username         string `json:"username,omitempty"`
	MediaType        string `json:"media_type,omitempty"`
	UntrustedCaption string `json:"untrusted_caption,omitempty"`
	Permalink        string `json:"permalink,omitempty"`
	Timestamp        string `json:"timestamp,omitempty"`
	LikeCount        *int   `json:"like_count,omitempty"`
	CommentsCount    *int   `json:"comments_count,omitempty"`
}

func publicMedia(m graph.Media) PublicMedia {
	return PublicMedia{ID: m.ID, Username: untrusted(m.Username), MediaType: m.MediaType, UntrustedCaption: untrusted(m.Caption),
		Permalink: m.Permalink, Timestamp: m.Timestamp, LikeCount: m.LikeCount, CommentsCount: m.CommentsCount}
}

func publicList(media []graph.Media) []PublicMedia {
	out := []PublicMedia{}
	for _, m := range media {
		out = append(out, publicMedia(m))
	}
	return out
}

type hashtagMediaArgs struct {
	HashtagID string `json:"hashtag_id" jsonschema_description:"From search_hashtag."`
	Order     string `json:"order,omitempty" jsonschema:"enum=top,enum=recent" jsonschema_description:"Default top; recent: 24 h."`
	ListOptions
	AccountArg
}

func (hashtagMediaArgs) maxLimit() int { return 50 }

// PublicMediaList is the result of the discovery lists.
type PublicMediaList struct {
	Media      []PublicMedia `json:"media"`
	NextCursor string        `json:"next_cursor,omitempty"`
	Notice     string        `json:"notice"`
}

// GetHashtagMedia lists a hashtag's top or recent public media.
func GetHashtagMedia(d *Deps) Tool {
	return newTool[hashtagMediaArgs, PublicMediaList](d, "get_hashtag_media", "A hashtag's top or recent media.",
		annotations{readOnly: true, idempotent: true}, auth.FacebookOnlyScopes("instagram_basic"),
		func(ctx context.Context, c *call, a *hashtagMediaArgs) (any, string, error) {
			if err := checkID("hashtag_id", a.HashtagID); err != nil {
				return nil, "", err
			}
			edge := graph.HashtagTopMedia
			switch a.Order {
			case "", "top":
			case "recent":
				edge = graph.HashtagRecentMedia
			default:
				return nil, "", invalid("order", "order must be top or recent, got %q", a.Order)
			}
			acct, err := discoveryAccount(ctx, c, "Hashtag media")
			if err != nil {
				return nil, "", err
			}
			media, resp, err := acct.Client.HashtagMedia(ctx, acct.ID, a.HashtagID, edge, a.graph())
			if err != nil {
				return nil, "", err
			}
			res := PublicMediaList{Media: publicList(media), NextCursor: nextCursor(resp), Notice: untrustedNotice}
			return res, fmt.Sprintf("%s for hashtag %s", count(len(res.Media), "media", "media"), a.HashtagID), nil
		})
}

type mentionsArgs struct {
	MediaID   string `json:"media_id,omitempty" jsonschema_description:"Mentioning media (webhook id)."`
	CommentID string `json:"comment_id,omitempty" jsonschema_description:"Mentioning comment (webhook id)."`
	ListOptions
	AccountArg
}

func (mentionsArgs) maxLimit() int { return 100 }

// MentionedComment is a comment by another user that mentions the account.
type MentionedComment struct {
	ID            string `json:"id"`
	Username      string `json:"username,omitempty"`
	UntrustedText string `json:"untrusted_text"`
	Timestamp     string `json:"timestamp,omitempty"`
	MediaID       string `json:"media_id,omitempty"`
	Permalink     string `json:"permalink,omitempty"`
}

// Mentions is the list_mentions result.
type Mentions struct {
	Source     string            `json:"source" jsonschema:"enum=tags,enum=mentioned_media,enum=mentioned_comment"`
	Media      []PublicMedia     `json:"media,omitempty"`
	Comment    *MentionedComment `json:"comment,omitempty"`
	NextCursor string            `json:"next_cursor,omitempty"`
	Notice     string            `json:"notice"`
}

// ListMentions lists media the account is tagged in, or reads a media or
// comment that @mentions it.
func ListMentions(d *Deps) Tool {
	return newTool[mentionsArgs, Mentions](d, "list_mentions", "Media the account is tagged in, or an @mention.",
		annotations{readOnly: true, idempotent: true}, auth.FacebookOnlyScopes(auth.CommentScopes()[auth.LoginFacebook]...),
		func(ctx context.Context, c *call, a *mentionsArgs) (any, string, error) {
			if a.MediaID != "" && a.CommentID != "" {
				return nil, "", invalid("comment_id", "give media_id or comment_id, not both")
			}
			for f, v := range map[string]string{"media_id": a.MediaID, "comment_id": a.CommentID} {
				if v != "" {
					if err := checkID(f, v); err != nil {
						return nil, "", err
					}
				}
			}
			acct, err := discoveryAccount(ctx, c, "Tags and mentions")
			if err != nil {
				return nil, "", err
			}
			res := Mentions{Notice: untrustedNotice}
			switch {
			case a.MediaID != "":
				m, _, err := acct.Client.MentionedMedia(ctx, acct.ID, a.MediaID)
				if err != nil {
					return nil, "", mentionError(err, "media_id")
				}
				res.Source, res.Media = "mentioned_media", []PublicMedia{publicMedia(*m)}
			case a.CommentID != "":
				cm, _, err := acct.Client.MentionedComment(ctx, acct.ID, a.CommentID)
				if err != nil {
					return nil, "", mentionError(err, "comment_id")
				}
				mc := &MentionedComment{ID: cm.ID, Username: untrusted(cm.Username), UntrustedText: untrusted(cm.Text), Timestamp: cm.Timestamp}
				if cm.Media != nil {
					mc.MediaID, mc.Permalink = cm.Media.ID, cm.Media.Permalink
				}
				res.Source, res.Comment = "mentioned_comment", mc
			default:
				media, resp, err := acct.Client.TaggedMedia(ctx, acct.ID, a.graph())
				if err != nil {
					return nil, "", err
				}
				res.Source, res.Media, res.NextCursor = "tags", publicList(media), nextCursor(resp)
			}
			if res.Comment != nil {
				return res, res.Source + ": 1 comment", nil
			}
			return res, res.Source + ": " + count(len(res.Media), "media", "media"), nil
		})
}

// mentionError: Graph answers a wrong mention id with a generic code 100.
func mentionError(err error, field string) error {
	var ge *graph.Error
	if errors.As(err, &ge) && ge.Code == 100 {
		e := failure.New(failure.NotFound, "Instagram has no @mention of this account with that "+field+": "+ge.Message)
		e.Field = field
		return e
	}
	return err
}

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9._]{1,30}$`)

type businessArgs struct {
	Username   string `json:"username" jsonschema_description:"Username."`
	MediaLimit *int   `json:"media_limit,omitempty" jsonschema:"minimum=0,maximum=50" jsonschema_description:"Media count; default 6."`
	Cursor     string `json:"cursor,omitempty" jsonschema_description:"A next_cursor."`
	AccountArg
}

// BusinessProfile is the get_business_profile result.
type BusinessProfile struct {
	ID                 string        `json:"id"`
	Username           string        `json:"username"`
	UntrustedName      string        `json:"untrusted_name,omitempty"`
	UntrustedBiography string        `json:"untrusted_biography,omitempty"`
	Website            string        `json:"website,omitempty"`
	FollowersCount     *int          `json:"followers_count,omitempty"`
	FollowsCount       *int          `json:"follows_count,omitempty"`
	MediaCount         *int          `json:"media_count,omitempty"`
	Media              []PublicMedia `json:"media,omitempty"`
	NextCursor         string        `json:"next_cursor,omitempty"`
	Notice             string        `json:"notice"`
}

// GetBusinessProfile reads another professional account through business
// discovery.
func GetBusinessProfile(d *Deps) Tool {
	return newTool[businessArgs, BusinessProfile](d, "get_business_profile", "A professional account's profile and media.",
		annotations{readOnly: true, idempotent: true}, auth.FacebookOnlyScopes("instagram_basic", "pages_read_engagement"),
		func(ctx context.Context, c *call, a *businessArgs) (any, string, error) {
			username := strings.TrimPrefix(strings.TrimSpace(a.Username), "@")
			if !usernameRE.MatchString(username) {
				return nil, "", invalid("username", "%q is not an Instagram username (letters, digits, '.' and '_', at most 30)", a.Username)
			}
			limit := 6
			if a.MediaLimit != nil {
				limit = *a.MediaLimit
			}
			if limit < 0 || limit > 50 {
				return nil, "", invalid("media_limit", "media_limit must be between 0 and 50")
			}
			if err := checkCursor("cursor", a.Cursor); err != nil {
				return nil, "", err
			}
			acct, err := discoveryAccount(ctx, c, "Business discovery")
			if err != nil {
				return nil, "", err
			}
			p, _, err := acct.Client.BusinessDiscovery(ctx, acct.ID, username, graph.BusinessDiscoveryOptions{MediaLimit: limit, After: a.Cursor})
			var ge *graph.Error
			if errors.As(err, &ge) && ge.Code == 110 {
				e := failure.New(failure.NotFound, fmt.Sprintf("@%s is not a business or creator account Instagram can show (personal, private, age-gated or unknown).", username))
				e.Field = "username"
				return nil, "", e
			}
			if err != nil {
				return nil, "", err
			}
			res := BusinessProfile{ID: p.ID, Username: p.Username, UntrustedName: untrusted(p.Name), UntrustedBiography: untrusted(p.Biography),
				Website: p.Website, FollowersCount: p.FollowersCount, FollowsCount: p.FollowsCount, MediaCount: p.MediaCount,
				NextCursor: p.MediaAfter, Notice: untrustedNotice}
			if limit > 0 {
				res.Media = publicList(p.Media)
			}
			return res, fmt.Sprintf("@%s: %s followers", res.Username, countText(res.FollowersCount)), nil
		})
}

func countText(n *int) string {
	if n == nil {
		return "?"
	}
	return fmt.Sprint(*n)
}
