package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

func (s *sqlStore) RecordUsage(ctx context.Context, accountID string, appPct, businessPct int, at time.Time) error {
	if err := required("account id", accountID); err != nil {
		return err
	}
	if at.IsZero() {
		return fmt.Errorf("store: usage needs the time it was observed: %w", ErrInvalid)
	}
	// The conditional DO UPDATE keeps the newest observation when
	// processes report out of order; blocked_until is left alone.
	if _, err := s.exec(ctx, `INSERT INTO rate_state (account_id, app_pct, business_pct, usage_at, updated_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET
			app_pct = excluded.app_pct, business_pct = excluded.business_pct,
			usage_at = excluded.usage_at, updated_at = excluded.updated_at
		WHERE rate_state.usage_at IS NULL OR rate_state.usage_at <= excluded.usage_at`,
		accountID, appPct, businessPct, s.d.time(at), s.d.time(time.Now())); err != nil {
		return fmt.Errorf("store: record usage of %s: %w", accountID, err)
	}
	return nil
}

func (s *sqlStore) BlockUntil(ctx context.Context, accountID string, until time.Time) error {
	if err := required("account id", accountID); err != nil {
		return err
	}
	if until.IsZero() {
		return fmt.Errorf("store: block needs an end: %w", ErrInvalid)
	}
	if _, err := s.exec(ctx, `INSERT INTO rate_state (account_id, blocked_until, updated_at)
		VALUES (?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET
			blocked_until = excluded.blocked_until, updated_at = excluded.updated_at
		WHERE rate_state.blocked_until IS NULL OR rate_state.blocked_until < excluded.blocked_until`,
		accountID, s.d.time(until), s.d.time(time.Now())); err != nil {
		return fmt.Errorf("store: block %s: %w", accountID, err)
	}
	return nil
}

func (s *sqlStore) GetRateState(ctx context.Context, accountID string) (RateState, error) {
	r := RateState{AccountID: accountID}
	err := s.readRow(ctx, `SELECT app_pct, business_pct, usage_at, blocked_until, updated_at
		FROM rate_state WHERE account_id = ?`, accountID).
		Scan(&r.AppUsagePct, &r.BusinessUsagePct, timeCol{&r.UsageAt}, timeCol{&r.BlockedUntil}, timeCol{&r.UpdatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return RateState{}, fmt.Errorf("store: rate state of %s: %w", accountID, ErrNotFound)
	}
	if err != nil {
		return RateState{}, fmt.Errorf("store: rate state of %s: %w", accountID, err)
	}
	return r, nil
}

func (s *sqlStore) RecordPublish(ctx context.Context, accountID string, at time.Time) error {
	if err := required("account id", accountID); err != nil {
		return err
	}
	if at.IsZero() {
		return fmt.Errorf("store: publish time is required: %w", ErrInvalid)
	}
	if _, err := s.exec(ctx, `INSERT INTO publish_log (account_id, at) VALUES (?, ?)`,
		accountID, s.d.time(at)); err != nil {
		return fmt.Errorf("store: record publish of %s: %w", accountID, err)
	}
	return nil
}

func (s *sqlStore) CountPublishes(ctx context.Context, accountID string, since time.Time) (int, error) {
	var n int
	if err := s.readRow(ctx, `SELECT COUNT(*) FROM publish_log WHERE account_id = ? AND at >= ?`,
		accountID, s.d.time(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count publishes of %s: %w", accountID, err)
	}
	return n, nil
}

func (s *sqlStore) PrunePublishes(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM publish_log WHERE at < ?`, s.d.time(before))
	if err != nil {
		return 0, fmt.Errorf("store: prune publishes: %w", err)
	}
	return res.RowsAffected()
}
