package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/igmcp/igmcp/store"
)

// Secret is a credential that prints as REDACTED in fmt, slog and JSON, so
// a Record can be logged or printed by mistake without leaking it.
type Secret string

func (Secret) String() string               { return "REDACTED" }
func (Secret) GoString() string             { return `"REDACTED"` }
func (Secret) LogValue() slog.Value         { return slog.StringValue("REDACTED") }
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"REDACTED"`), nil }

// Reveal is the credential itself, for the Authorization header only.
func (s Secret) Reveal() string { return string(s) }

// Record is one stored account: the token (sealed at rest), and beside it,
// in clear, what `igmcp auth status` shows.
type Record struct {
	AccountID string
	Username  string
	Login     Login
	Token     Secret
	// IssuedAt is when Meta issued Token (Instagram refuses to refresh a
	// token younger than 24 h); zero when unknown (a token brought by the
	// user).
	IssuedAt time.Time
	// Expiry is when Token stops working; zero when it never expires or is
	// unknown.
	Expiry time.Time
	// Scopes are the granted permissions; empty when unknown.
	Scopes    []string
	UpdatedAt time.Time // set by the store
}

// payload is what is sealed: the token and what must not be changed
// without the key.
type payload struct {
	Version     int       `json:"v"`
	AccessToken string    `json:"access_token"`
	IssuedAt    time.Time `json:"issued_at,omitzero"`
}

// TokenStore keeps Records in the store, tokens sealed with AES-256-GCM
// and bound to their account id (additional data), so a ciphertext moved
// to another row does not open.
type TokenStore struct {
	st  store.Tokens
	key *Sealer
}

// NewTokenStore checks the key against the store (ErrWrongKey when it is
// not the key the store was first used with).
func NewTokenStore(ctx context.Context, st store.Tokens, key *Sealer) (*TokenStore, error) {
	if err := key.Check(ctx, st); err != nil {
		return nil, err
	}
	return &TokenStore{st: st, key: key}, nil
}

func tokenAD(accountID string) []byte { return []byte(tokenADPref + accountID) }

// Put creates or replaces the account's record.
func (t *TokenStore) Put(ctx context.Context, r Record) (Record, error) {
	if r.AccountID == "" || r.Token == "" {
		return Record{}, errors.New("auth: a record needs an account id and a token")
	}
	pt, err := json.Marshal(payload{Version: 1, AccessToken: r.Token.Reveal(), IssuedAt: r.IssuedAt.UTC()})
	if err != nil {
		return Record{}, err
	}
	ct, err := t.key.seal(pt, tokenAD(r.AccountID))
	if err != nil {
		return Record{}, err
	}
	out, err := t.st.PutToken(ctx, store.TokenRecord{
		AccountID: r.AccountID, Username: r.Username, LoginFlow: string(r.Login),
		Ciphertext: ct, ExpiresAt: r.Expiry, Scopes: slices.Clone(r.Scopes),
	})
	if err != nil {
		return Record{}, err
	}
	r.UpdatedAt = out.UpdatedAt
	r.Expiry = out.ExpiresAt
	return r, nil
}

// Get returns the account's record; errors.Is(err, store.ErrNotFound) when
// there is none.
func (t *TokenStore) Get(ctx context.Context, accountID string) (Record, error) {
	tr, err := t.st.GetToken(ctx, accountID)
	if err != nil {
		return Record{}, err
	}
	return t.open(tr)
}

// List returns every record, by account id. A record that does not open is
// an error: with the key checked, that means it was tampered with.
func (t *TokenStore) List(ctx context.Context) ([]Record, error) {
	trs, err := t.st.ListTokens(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(trs))
	for _, tr := range trs {
		r, err := t.open(tr)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Delete removes the account's record.
func (t *TokenStore) Delete(ctx context.Context, accountID string) error {
	return t.st.DeleteToken(ctx, accountID)
}

// ResetTokenStore deletes every record and makes key the store's key (the
// way out of ErrWrongKey when the old key is lost).
func ResetTokenStore(ctx context.Context, st store.Tokens, key *Sealer) error {
	trs, err := st.ListTokens(ctx)
	if err != nil {
		return err
	}
	for _, tr := range trs {
		if err := st.DeleteToken(ctx, tr.AccountID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return key.resetCheck(ctx, st.PutMeta)
}

func (t *TokenStore) open(tr store.TokenRecord) (Record, error) {
	pt, err := t.key.open(tr.Ciphertext, tokenAD(tr.AccountID))
	if err != nil {
		return Record{}, fmt.Errorf("auth: the stored token of account %s does not decrypt (tampered with, or stored under another account id)", tr.AccountID)
	}
	var p payload
	if err := json.Unmarshal(pt, &p); err != nil || p.AccessToken == "" {
		return Record{}, fmt.Errorf("auth: the stored token of account %s is malformed", tr.AccountID)
	}
	login, err := ParseLogin(tr.LoginFlow)
	if err != nil {
		return Record{}, fmt.Errorf("auth: account %s: %w", tr.AccountID, err)
	}
	return Record{
		AccountID: tr.AccountID, Username: tr.Username, Login: login, Token: Secret(p.AccessToken),
		IssuedAt: p.IssuedAt, Expiry: tr.ExpiresAt, Scopes: tr.Scopes, UpdatedAt: tr.UpdatedAt,
	}, nil
}
