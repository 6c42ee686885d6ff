package httpserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/igmcp/igmcp/scope"
)

// MinTokenLength is the shortest bearer token a tokens file may hold: a
// token is the only thing between the network and the Instagram account.
const MinTokenLength = 16

// TokenEntry is one bearer token and what it may do. Exactly one of Token
// and TokenSHA256 is set: a file that holds only hashes leaks nothing when
// read.
type TokenEntry struct {
	Name        string   `json:"name"`
	Token       string   `json:"token,omitempty"`
	TokenSHA256 string   `json:"token_sha256,omitempty"`
	Accounts    []string `json:"accounts,omitempty"`
	Toolsets    []string `json:"toolsets,omitempty"`
}

type tokensFile struct {
	Tokens []TokenEntry `json:"tokens"`
}

// LoadTokens reads a tokens file (IGMCP_HTTP_TOKENS_FILE):
//
//	{"tokens": [
//	  {"name": "team-a", "token": "…", "accounts": ["brand_a"], "toolsets": ["publish", "insights"]},
//	  {"name": "reporting", "token_sha256": "<hex sha256 of the token>", "toolsets": ["insights"]}
//	]}
//
// accounts are ids or usernames, toolsets are names from scope.Toolsets;
// leaving a key out allows every account or toolset, and any entry that does
// not name a real account or toolset is an error (a widening typo fails at
// start, not open). Errors name the entry, never a token.
func LoadTokens(path string) ([]TokenEntry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("IGMCP_HTTP_TOKENS_FILE: %w", err)
	}
	var f tokensFile
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("IGMCP_HTTP_TOKENS_FILE %s: %v", path, err)
	}
	if len(f.Tokens) == 0 {
		return nil, fmt.Errorf("IGMCP_HTTP_TOKENS_FILE %s: no tokens", path)
	}
	for i := range f.Tokens {
		if err := normalizeEntry(&f.Tokens[i]); err != nil {
			return nil, fmt.Errorf("IGMCP_HTTP_TOKENS_FILE %s: tokens[%d]: %v", path, i, err)
		}
	}
	return f.Tokens, nil
}

func normalizeEntry(e *TokenEntry) error {
	e.Name = strings.TrimSpace(e.Name)
	if e.Name == "" {
		return errors.New("name is required")
	}
	e.Token = strings.TrimSpace(e.Token)
	e.TokenSHA256 = strings.ToLower(strings.TrimSpace(e.TokenSHA256))
	switch {
	case e.Token != "" && e.TokenSHA256 != "":
		return fmt.Errorf("%s: set token or token_sha256, not both", e.Name)
	case e.Token == "" && e.TokenSHA256 == "":
		return fmt.Errorf("%s: token or token_sha256 is required", e.Name)
	case e.Token != "" && len(e.Token) < MinTokenLength:
		return fmt.Errorf("%s: token must be at least %d characters", e.Name, MinTokenLength)
	case e.TokenSHA256 != "":
		if d, err := hex.DecodeString(e.TokenSHA256); err != nil || len(d) != sha256.Size {
			return fmt.Errorf("%s: token_sha256 must be 64 hex digits", e.Name)
		}
	}
	// Every entry must name a real scope: an entry that normalizes to
	// nothing ("", "@", " ") or to "all" would otherwise leave the list
	// empty, and an empty list means every account or toolset. An empty
	// list given explicitly is refused for the same reason; omit the key
	// to allow everything.
	if e.Toolsets != nil && len(e.Toolsets) == 0 {
		return fmt.Errorf("%s: toolsets is empty (omit it to allow every toolset)", e.Name)
	}
	for i, t := range e.Toolsets {
		ts, err := scope.ParseToolset(t)
		if err != nil {
			return fmt.Errorf("%s: toolsets[%d]: %v", e.Name, i, err)
		}
		e.Toolsets[i] = ts
	}
	if e.Accounts != nil && len(e.Accounts) == 0 {
		return fmt.Errorf("%s: accounts is empty (omit it to allow every account)", e.Name)
	}
	for i, a := range e.Accounts {
		acct, err := scope.ParseAccount(a)
		if err != nil {
			return fmt.Errorf("%s: accounts[%d]: %v", e.Name, i, err)
		}
		e.Accounts[i] = acct
	}
	return nil
}

// CheckToken refuses an IGMCP_HTTP_TOKEN shorter than MinTokenLength when
// the server listens beyond loopback, as the tokens file does for its
// tokens; on loopback a short token is only worth a warning.
func CheckToken(token, listen string) error {
	if token != "" && len(token) < MinTokenLength && !IsLoopback(listen) {
		return fmt.Errorf("IGMCP_HTTP_TOKEN must be at least %d characters when listening on %s (not loopback): use a long random token", MinTokenLength, listen)
	}
	return nil
}

// credential is one accepted token, kept only as its SHA-256 digest so that
// every comparison has the same length and takes the same time.
type credential struct {
	digest [sha256.Size]byte
	grant  *scope.Grant // nil: unrestricted (IGMCP_HTTP_TOKEN)
	name   string
}

type authenticator struct {
	creds []credential
}

func newAuthenticator(token string, entries []TokenEntry) (*authenticator, error) {
	a := &authenticator{}
	seen := map[[sha256.Size]byte]string{}
	names := map[string]bool{}
	add := func(c credential) error {
		if other, dup := seen[c.digest]; dup {
			return fmt.Errorf("tokens %q and %q are the same token", other, c.name)
		}
		seen[c.digest] = c.name
		a.creds = append(a.creds, c)
		return nil
	}
	if token != "" {
		if err := add(credential{digest: sha256.Sum256([]byte(token)), name: "IGMCP_HTTP_TOKEN"}); err != nil {
			return nil, err
		}
	}
	for _, e := range entries {
		if names[e.Name] {
			return nil, fmt.Errorf("IGMCP_HTTP_TOKENS_FILE: two tokens are named %q", e.Name)
		}
		names[e.Name] = true
		c := credential{name: e.Name, grant: &scope.Grant{Name: e.Name, Accounts: e.Accounts, Toolsets: e.Toolsets}}
		if e.Token != "" {
			c.digest = sha256.Sum256([]byte(e.Token))
		} else {
			d, _ := hex.DecodeString(e.TokenSHA256)
			copy(c.digest[:], d)
		}
		if err := add(c); err != nil {
			return nil, fmt.Errorf("IGMCP_HTTP_TOKENS_FILE: %v", err)
		}
	}
	return a, nil
}

// enabled reports whether any token is configured; without one the server
// accepts every request (loopback only: see IsLoopback).
func (a *authenticator) enabled() bool { return len(a.creds) > 0 }

// check finds the credential for a presented token. It compares against
// every credential, without stopping at a match, so the time taken says
// nothing about which token (or how much of one) was right.
func (a *authenticator) check(presented string) (*credential, bool) {
	d := sha256.Sum256([]byte(presented))
	var found *credential
	for i := range a.creds {
		if subtle.ConstantTimeCompare(d[:], a.creds[i].digest[:]) == 1 {
			found = &a.creds[i]
		}
	}
	return found, found != nil
}

// bearer extracts the token of an "Authorization: Bearer …" header; the
// scheme is case-insensitive (RFC 6750 §2.1, RFC 9110 §11.1).
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
