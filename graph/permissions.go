package graph

import "context"

// Permission is one entry of GET /me/permissions: a permission and what
// the user did with it ("granted", "declined" or "expired").
type Permission struct {
	Permission string `json:"permission"`
	Status     string `json:"status"`
}

// Permissions: GET /me/permissions — the permissions the user granted or
// declined to the app (Graph API reference: User permissions). Facebook
// Login only: Instagram Login documents no such edge, and reports the
// permissions only at login (docs/graph-api.md §12).
func (c *Client) Permissions(ctx context.Context) ([]Permission, *Response, error) {
	return list[Permission](ctx, c, "me/permissions", nil)
}

// Granted is the names of the granted permissions.
func Granted(ps []Permission) []string {
	var out []string
	for _, p := range ps {
		if p.Status == "granted" {
			out = append(out, p.Permission)
		}
	}
	return out
}
