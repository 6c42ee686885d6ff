package fakegraph

import (
	"net/http"
	"slices"
	"time"
)

// Permissions of a token:
//
//	GET /me/permissions   Facebook Login: {"data":[{"permission","status"},…]}
//
// The Graph API reference (User permissions, graph.facebook.com) lists the
// user's granted and declined permissions. Instagram Login documents no
// such edge: there /me/permissions answers "Unknown path components" (test
// assumption), and the permissions are known only from the login.

// mePermissions serves GET /me/permissions: every scope of the token,
// granted. (The fake grants what it was asked, so nothing is declined.)
func (s *Server) mePermissions(w http.ResponseWriter, q *request) *apiError {
	data := []any{}
	for _, sc := range s.scopesOf(q.token, q.ti) {
		data = append(data, map[string]any{"permission": sc, "status": "granted"})
	}
	writeJSON(w, http.StatusOK, nestedList(data))
	return nil
}

// IssueToken registers a new access token of the login type ("facebook"
// or "instagram") acting as the accounts, granted exactly scopes: a user
// who left permissions unticked in the login dialog. It expires after ttl,
// or never when ttl <= 0. It returns "" when an account is unknown or not
// of that login type.
func (s *Server) IssueToken(login string, scopes []string, ttl time.Duration, accountIDs ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var accts []*account
	for _, id := range accountIDs {
		a := s.acctByID[id]
		if a == nil || a.Login != login {
			return ""
		}
		accts = append(accts, a)
	}
	if len(accts) == 0 {
		return ""
	}
	tok, _ := s.issue(accts, login, max(ttl, time.Nanosecond), slices.Clone(scopes), "")
	if ttl <= 0 {
		s.tokens[tok].expiry = time.Time{}
	}
	return tok
}
