package store

import (
	"context"
	"fmt"
	"time"
)

// Confirmation is one confirmation dialog igmcp asked for (IGMCP_CONFIRM):
// the user's answer to it approves exactly one call of Tool by Owner with
// the arguments whose digest is Digest, once, before ExpiresAt. The client
// echoes Nonce back with the answer, possibly to another replica.
type Confirmation struct {
	Nonce     string
	Owner     string // bearer token name; "" without authentication
	Tool      string
	Digest    string
	CreatedAt time.Time // set by PutConfirmation
	ExpiresAt time.Time
}

// Confirmations keep the dialogs asked for until their answer is used.
type Confirmations interface {
	// PutConfirmation stores c. A nonce already stored is ErrConflict;
	// a missing nonce, tool or digest, or no expiry, ErrInvalid.
	PutConfirmation(ctx context.Context, c Confirmation) error
	// ConsumeConfirmation takes the answer to c.Nonce if the stored dialog
	// is for the same owner, tool and digest, was not taken before and has
	// not expired at at. It reports whether it did: of two calls racing
	// with one answer, on any replicas, exactly one gets true.
	ConsumeConfirmation(ctx context.Context, c Confirmation, at time.Time) (bool, error)
	// PruneConfirmations removes the dialogs that expired before before and
	// returns how many.
	PruneConfirmations(ctx context.Context, before time.Time) (int64, error)
}

func (s *sqlStore) PutConfirmation(ctx context.Context, c Confirmation) error {
	if err := required("confirmation nonce", c.Nonce, "confirmation tool", c.Tool, "confirmation digest", c.Digest); err != nil {
		return err
	}
	if c.ExpiresAt.IsZero() {
		return fmt.Errorf("store: confirmation needs an expiry: %w", ErrInvalid)
	}
	res, err := s.exec(ctx, `INSERT INTO confirmations (nonce, owner, tool, digest, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (nonce) DO NOTHING`,
		c.Nonce, c.Owner, c.Tool, c.Digest, s.d.time(time.Now()), s.d.time(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: put confirmation: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("store: confirmation nonce already stored: %w", ErrConflict)
	}
	return nil
}

func (s *sqlStore) ConsumeConfirmation(ctx context.Context, c Confirmation, at time.Time) (bool, error) {
	if c.Nonce == "" || at.IsZero() {
		return false, fmt.Errorf("store: consume confirmation needs a nonce and a time: %w", ErrInvalid)
	}
	// One compare-and-set: the engines apply concurrent UPDATEs of the row
	// one after the other and re-check the condition for the second, which
	// then finds consumed_at set.
	res, err := s.exec(ctx, `UPDATE confirmations SET consumed_at = ?
		WHERE nonce = ? AND owner = ? AND tool = ? AND digest = ? AND consumed_at IS NULL AND expires_at > ?`,
		s.d.time(at), c.Nonce, c.Owner, c.Tool, c.Digest, s.d.time(at))
	if err != nil {
		return false, fmt.Errorf("store: consume confirmation: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: consume confirmation: %w", err)
	}
	return n == 1, nil
}

func (s *sqlStore) PruneConfirmations(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM confirmations WHERE expires_at < ?`, s.d.time(before))
	if err != nil {
		return 0, fmt.Errorf("store: prune confirmations: %w", err)
	}
	return res.RowsAffected()
}
