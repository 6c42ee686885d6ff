package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const tokenCols = `account_id, username, login_flow, ciphertext, expires_at, scopes, updated_at`

func scanToken(sc rowScanner) (TokenRecord, error) {
	var r TokenRecord
	err := sc.Scan(&r.AccountID, &r.Username, &r.LoginFlow, &r.Ciphertext, timeCol{&r.ExpiresAt},
		listCol{&r.Scopes}, timeCol{&r.UpdatedAt})
	return r, err
}

func (s *sqlStore) PutToken(ctx context.Context, r TokenRecord) (TokenRecord, error) {
	if err := required("account id", r.AccountID); err != nil {
		return TokenRecord{}, err
	}
	if len(r.Ciphertext) == 0 {
		return TokenRecord{}, fmt.Errorf("store: token of %s has no ciphertext: %w", r.AccountID, ErrInvalid)
	}
	out, err := scanToken(s.queryRow(ctx, `INSERT INTO tokens (`+tokenCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET
			username = excluded.username, login_flow = excluded.login_flow,
			ciphertext = excluded.ciphertext, expires_at = excluded.expires_at,
			scopes = excluded.scopes, updated_at = excluded.updated_at
		RETURNING `+tokenCols,
		r.AccountID, r.Username, r.LoginFlow, r.Ciphertext, s.d.nullTime(r.ExpiresAt),
		encodeList(r.Scopes), s.d.time(time.Now())))
	if err != nil {
		return TokenRecord{}, fmt.Errorf("store: put token of %s: %w", r.AccountID, err)
	}
	return out, nil
}

func (s *sqlStore) GetToken(ctx context.Context, accountID string) (TokenRecord, error) {
	out, err := scanToken(s.queryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE account_id = ?`, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return TokenRecord{}, fmt.Errorf("store: token of %s: %w", accountID, ErrNotFound)
	}
	if err != nil {
		return TokenRecord{}, fmt.Errorf("store: token of %s: %w", accountID, err)
	}
	return out, nil
}

func (s *sqlStore) ListTokens(ctx context.Context) ([]TokenRecord, error) {
	out, err := queryAll(ctx, s, nil, scanToken, `SELECT `+tokenCols+` FROM tokens ORDER BY account_id`)
	if err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	return out, nil
}

func (s *sqlStore) DeleteToken(ctx context.Context, accountID string) error {
	res, err := s.exec(ctx, `DELETE FROM tokens WHERE account_id = ?`, accountID)
	if err != nil {
		return fmt.Errorf("store: delete token of %s: %w", accountID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: delete token of %s: %w", accountID, err)
	} else if n == 0 {
		return fmt.Errorf("store: delete token of %s: %w", accountID, ErrNotFound)
	}
	return nil
}

func (s *sqlStore) GetMeta(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := s.queryRow(ctx, `SELECT value FROM meta WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: meta %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: meta %q: %w", name, err)
	}
	return v, nil
}

func (s *sqlStore) PutMeta(ctx context.Context, name string, value []byte) error {
	if err := required("meta name", name); err != nil {
		return err
	}
	if value == nil {
		value = []byte{} // the column is NOT NULL; empty is a value
	}
	if _, err := s.exec(ctx, `INSERT INTO meta (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value); err != nil {
		return fmt.Errorf("store: put meta %q: %w", name, err)
	}
	return nil
}

func (s *sqlStore) PutMetaIfAbsent(ctx context.Context, name string, value []byte) ([]byte, bool, error) {
	if err := required("meta name", name); err != nil {
		return nil, false, err
	}
	if value == nil {
		value = []byte{}
	}
	res, err := s.exec(ctx, `INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, value)
	if err != nil {
		return nil, false, fmt.Errorf("store: put meta %q: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, false, fmt.Errorf("store: put meta %q: %w", name, err)
	}
	if n == 1 {
		return value, true, nil
	}
	stored, err := s.GetMeta(ctx, name)
	return stored, false, err
}
