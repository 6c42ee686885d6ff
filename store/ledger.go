package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const publishCols = `account_id, idem_key, input_digest, state, container_id, child_ids,
	media_id, permalink, result_json, error_kind, error_json, created_at, updated_at`

func scanPublish(sc rowScanner) (Publish, error) {
	var p Publish
	var state string
	err := sc.Scan(&p.AccountID, &p.Key, &p.InputDigest, &state, &p.ContainerID, listCol{&p.ChildIDs},
		&p.MediaID, &p.Permalink, jsonCol{&p.Result}, &p.ErrorKind, jsonCol{&p.Error},
		timeCol{&p.CreatedAt}, timeCol{&p.UpdatedAt})
	p.State = PublishState(state)
	return p, err
}

func (s *sqlStore) Reserve(ctx context.Context, accountID, key, inputDigest string) (Publish, bool, error) {
	if err := required("account id", accountID, "idempotency key", key, "input digest", inputDigest); err != nil {
		return Publish{}, false, err
	}
	now := s.d.time(time.Now())
	var p Publish
	created := false
	err := s.write(ctx, func(ctx context.Context, q querier) error {
		// ON CONFLICT DO NOTHING makes creation atomic in both engines: of
		// two racers exactly one inserts (PostgreSQL makes the second wait
		// for the first to commit), and the loser reads the winner's row,
		// on q: in SQLite it may be in the same, uncommitted, batch.
		var err error
		p, err = scanPublish(s.rowOn(ctx, q, `INSERT INTO publishes
			(account_id, idem_key, input_digest, state, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (account_id, idem_key) DO NOTHING
			RETURNING `+publishCols,
			accountID, key, inputDigest, string(PublishReserved), now, now))
		if err == nil {
			created = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		p, err = scanPublish(s.rowOn(ctx, q, `SELECT `+publishCols+` FROM publishes
			WHERE account_id = ? AND idem_key = ?`, accountID, key))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound // deleted since; the store never deletes publishes
		}
		return err
	})
	if err != nil {
		return Publish{}, false, fmt.Errorf("store: reserve %s/%s: %w", accountID, key, err)
	}
	if !created && p.InputDigest != inputDigest {
		return p, false, fmt.Errorf("store: idempotency key %q of account %s was used for different input: %w", key, accountID, ErrConflict)
	}
	return p, created, nil
}

func (s *sqlStore) GetPublish(ctx context.Context, accountID, key string) (Publish, error) {
	p, err := scanPublish(s.readRow(ctx, `SELECT `+publishCols+` FROM publishes
		WHERE account_id = ? AND idem_key = ?`, accountID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return Publish{}, fmt.Errorf("store: publish %s/%s: %w", accountID, key, ErrNotFound)
	}
	if err != nil {
		return Publish{}, fmt.Errorf("store: publish %s/%s: %w", accountID, key, err)
	}
	return p, nil
}

func (s *sqlStore) AdvancePublish(ctx context.Context, accountID, key string, step PublishStep) (Publish, error) {
	if !step.From.CanAdvance(step.To) {
		return Publish{}, fmt.Errorf("store: publish %s/%s: no step %s → %s: %w", accountID, key, step.From, step.To, ErrInvalid)
	}
	set := ``
	var args []any
	switch step.To {
	case PublishContainerCreated:
		if step.ContainerID == "" {
			return Publish{}, fmt.Errorf("store: publish %s/%s: container id is required: %w", accountID, key, ErrInvalid)
		}
		set = `, container_id = ?, child_ids = ?`
		args = append(args, step.ContainerID, encodeList(step.ChildIDs))
	case PublishPublished:
		result, err := encodeJSON("result", step.Result)
		if err != nil {
			return Publish{}, err
		}
		set = `, media_id = ?, permalink = ?, result_json = ?`
		args = append(args, step.MediaID, step.Permalink, result)
	case PublishFailed:
		errJSON, err := encodeJSON("error", step.Error)
		if err != nil {
			return Publish{}, err
		}
		set = `, error_kind = ?, error_json = ?`
		args = append(args, step.ErrorKind, errJSON)
	case PublishReserved:
		set = `, container_id = '', child_ids = '[]', error_kind = '', error_json = NULL`
	}
	// The WHERE on the old state is the compare-and-set: the engines apply
	// concurrent UPDATEs of a row one after the other and re-check the
	// condition for the second (PostgreSQL re-reads the row it waited for),
	// so only the first racer matches.
	sqlText := `UPDATE publishes SET state = ?, updated_at = ?` + set + `
		WHERE account_id = ? AND idem_key = ? AND state = ?
		RETURNING ` + publishCols
	all := append([]any{string(step.To), s.d.time(time.Now())}, args...)
	all = append(all, accountID, key, string(step.From))
	p, err := writeRow(ctx, s, scanPublish, s.exists("publishes", "account_id = ? AND idem_key = ?", accountID, key), sqlText, all...)
	if errors.Is(err, ErrConflict) {
		return Publish{}, fmt.Errorf("store: publish %s/%s is no longer %s: %w", accountID, key, step.From, err)
	}
	if err != nil {
		return Publish{}, fmt.Errorf("store: publish %s/%s %s → %s: %w", accountID, key, step.From, step.To, err)
	}
	return p, nil
}

func (s *sqlStore) ListPublishes(ctx context.Context, state PublishState) ([]Publish, error) {
	ps, err := queryAll(ctx, s, s.rdb, scanPublish, `SELECT `+publishCols+` FROM publishes
		WHERE state = ? ORDER BY updated_at, account_id, idem_key`, string(state))
	if err != nil {
		return nil, fmt.Errorf("store: list publishes: %w", err)
	}
	return ps, nil
}
