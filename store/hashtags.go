package store

import (
	"context"
	"fmt"
	"time"
)

func (s *sqlStore) RecordHashtagSearch(ctx context.Context, accountID, name, hashtagID string, at time.Time) error {
	if err := required("account id", accountID, "hashtag name", name); err != nil {
		return err
	}
	if at.IsZero() {
		return fmt.Errorf("store: hashtag search needs its time: %w", ErrInvalid)
	}
	// One statement, so processes recording the same name at once agree:
	// the earliest time wins whatever the order of arrival.
	if _, err := s.exec(ctx, `INSERT INTO hashtag_searches (account_id, name, hashtag_id, at) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id, name) DO UPDATE SET
			hashtag_id = CASE WHEN excluded.hashtag_id = '' THEN hashtag_searches.hashtag_id ELSE excluded.hashtag_id END,
			at = CASE WHEN excluded.at < hashtag_searches.at THEN excluded.at ELSE hashtag_searches.at END`,
		accountID, name, hashtagID, s.d.time(at)); err != nil {
		return fmt.Errorf("store: record hashtag search of %s: %w", accountID, err)
	}
	return nil
}

func (s *sqlStore) HashtagSearches(ctx context.Context, accountID string, since time.Time) ([]HashtagSearch, error) {
	out, err := queryAll(ctx, s, nil, func(r rowScanner) (HashtagSearch, error) {
		h := HashtagSearch{AccountID: accountID}
		err := r.Scan(&h.Name, &h.HashtagID, timeCol{&h.At})
		return h, err
	}, `SELECT name, hashtag_id, at FROM hashtag_searches WHERE account_id = ? AND at >= ? ORDER BY at, name`,
		accountID, s.d.time(since))
	if err != nil {
		return nil, fmt.Errorf("store: hashtag searches of %s: %w", accountID, err)
	}
	return out, nil
}

func (s *sqlStore) ForgetHashtagSearches(ctx context.Context, accountID string, keepIDs []string, before time.Time) (int64, error) {
	if err := required("account id", accountID); err != nil {
		return 0, err
	}
	q := `DELETE FROM hashtag_searches WHERE account_id = ? AND at < ?`
	args := []any{accountID, s.d.time(before)}
	if len(keepIDs) > 0 {
		in, inArgs := inStates("hashtag_id", keepIDs)
		q += ` AND NOT (` + in + `)`
		args = append(args, inArgs...)
	}
	res, err := s.exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("store: forget hashtag searches of %s: %w", accountID, err)
	}
	return res.RowsAffected()
}

func (s *sqlStore) PruneHashtagSearches(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM hashtag_searches WHERE at < ?`, s.d.time(before))
	if err != nil {
		return 0, fmt.Errorf("store: prune hashtag searches: %w", err)
	}
	return res.RowsAffected()
}
