package graph

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"
)

var (
	errMissingID  = errors.New("answer has no id")
	errNotSuccess = errors.New("answer says success=false")
)

// maxAccountPages bounds PageAccounts: a user with more than ~250 Pages is
// not the case igmcp serves, and a cursor loop must end.
const maxAccountPages = 10

// PublishingLimit: GET /{igUserID}/content_publishing_limit?fields=quota_usage,config.
func (c *Client) PublishingLimit(ctx context.Context, igUserID string) (*PublishingLimit, *Response, error) {
	if igUserID == "" {
		return nil, nil, argError("PublishingLimit", "empty Instagram user id")
	}
	type entry struct {
		QuotaUsage flexInt `json:"quota_usage"`
		Config     *struct {
			QuotaTotal    flexInt `json:"quota_total"`
			QuotaDuration flexInt `json:"quota_duration"`
		} `json:"config"`
	}
	path := seg(igUserID) + "/content_publishing_limit"
	data, resp, err := list[entry](ctx, c, path, url.Values{"fields": {"quota_usage,config"}})
	if err != nil {
		return nil, resp, err
	}
	if len(data) == 0 {
		return nil, resp, &DecodeError{Method: http.MethodGet, Path: "/" + path, Err: errors.New("empty data")}
	}
	out := &PublishingLimit{QuotaUsage: int(data[0].QuotaUsage)}
	if cfg := data[0].Config; cfg != nil {
		out.QuotaTotal = int(cfg.QuotaTotal)
		out.QuotaDuration = time.Duration(cfg.QuotaDuration) * time.Second
	}
	return out, resp, nil
}

// Me: GET /me?fields=user_id,username (Instagram Login) — the professional
// account id and username behind the token. user_id is the id to call and
// the one webhooks use; id (app-scoped) is the fallback when user_id is
// absent. With a Facebook Login token Graph rejects the user_id field: use
// PageAccounts there.
func (c *Client) Me(ctx context.Context) (igUserID, username string, resp *Response, err error) {
	var out struct {
		UserID   flexString `json:"user_id"`
		ID       flexString `json:"id"`
		Username string     `json:"username"`
	}
	resp, err = c.Do(ctx, http.MethodGet, "me", url.Values{"fields": {"user_id,username"}}, &out)
	if err != nil {
		return "", "", resp, err
	}
	igUserID = string(out.UserID)
	if igUserID == "" {
		igUserID = string(out.ID)
	}
	if igUserID == "" {
		return "", "", resp, &DecodeError{Method: http.MethodGet, Path: "/me", Err: errMissingID}
	}
	return igUserID, out.Username, resp, nil
}

// PageAccount is one Facebook Page with its linked Instagram professional
// account.
type PageAccount struct {
	PageID     string
	PageName   string
	IGUserID   string
	IGUsername string
}

// PageAccounts: GET /me/accounts?fields=id,name,instagram_business_account{id,username}
// (Facebook Login) — the IG professional accounts linked to the user's Pages.
// Pages without a linked account are left out. It follows the `after` cursor
// while `next` is present, for at most 10 pages; Response is the last page's.
func (c *Client) PageAccounts(ctx context.Context) ([]PageAccount, *Response, error) {
	type page struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		IG   *struct {
			ID       flexString `json:"id"`
			Username string     `json:"username"`
		} `json:"instagram_business_account"`
	}
	var (
		out   []PageAccount
		resp  *Response
		after string
	)
	for range maxAccountPages {
		params := url.Values{"fields": {"id,name,instagram_business_account{id,username}"}}
		if after != "" {
			params.Set("after", after)
		}
		pages, r, err := list[page](ctx, c, "me/accounts", params)
		if err != nil {
			return nil, r, err
		}
		resp = r
		for _, p := range pages {
			if p.IG == nil || p.IG.ID == "" {
				continue
			}
			out = append(out, PageAccount{PageID: p.ID, PageName: p.Name, IGUserID: string(p.IG.ID), IGUsername: p.IG.Username})
		}
		pg := r.Paging
		// A repeated cursor would loop forever on a misbehaving server.
		if pg == nil || pg.Next == "" || pg.After == "" || pg.After == after {
			break
		}
		after = pg.After
	}
	return out, resp, nil
}

// flexString takes an id sent as a JSON string or a number (Instagram's
// token endpoints send user_id as a number); numbers keep every digit.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var str string
	if json.Unmarshal(b, &str) == nil {
		*s = flexString(str)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*s = flexString(n.String())
	return nil
}

// flexInt takes a count sent as a number or numeric string.
type flexInt int

func (n *flexInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	v, ok := num(b)
	if !ok {
		return errors.New("not a number: " + string(b[:min(len(b), 32)]))
	}
	*n = flexInt(v)
	return nil
}
