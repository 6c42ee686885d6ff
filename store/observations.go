package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Observation is one thing igmcp measured about how the Graph API answers
// an app acting as an account (`igmcp doctor --probe`), and when.
type Observation struct {
	AppID     string // "" when no app id is configured
	AccountID string
	Name      string
	Value     string
	At        time.Time // when it was measured
}

// Observations keeps the newest measurement of each (app, account, name),
// shared by every process using the store.
type Observations interface {
	// PutObservation records o unless a measurement of the same name taken
	// after o.At is already stored: the newest one is the truth, whatever
	// the order of arrival. AccountID, Name and At are required.
	PutObservation(ctx context.Context, o Observation) error
	// Observations returns the app and account's observations by name.
	Observations(ctx context.Context, appID, accountID string) ([]Observation, error)
	// CheckWritable proves the database takes writes from this process (a
	// read-only file, role or replica does not): it writes an observation
	// in a transaction it then rolls back, so nothing is kept.
	CheckWritable(ctx context.Context) error
}

func (s *sqlStore) PutObservation(ctx context.Context, o Observation) error {
	if err := required("account id", o.AccountID, "observation name", o.Name); err != nil {
		return err
	}
	if o.At.IsZero() {
		return fmt.Errorf("store: an observation needs the time it was measured: %w", ErrInvalid)
	}
	if _, err := s.exec(ctx, putObservation, o.AppID, o.AccountID, o.Name, o.Value, s.d.time(o.At)); err != nil {
		return fmt.Errorf("store: record observation %s of %s: %w", o.Name, o.AccountID, err)
	}
	return nil
}

const putObservation = `INSERT INTO observations (app_id, account_id, name, value, at) VALUES (?, ?, ?, ?, ?)
	ON CONFLICT (app_id, account_id, name) DO UPDATE SET value = excluded.value, at = excluded.at
	WHERE observations.at <= excluded.at`

func (s *sqlStore) Observations(ctx context.Context, appID, accountID string) ([]Observation, error) {
	out, err := queryAll(ctx, s, nil, func(r rowScanner) (Observation, error) {
		o := Observation{AppID: appID, AccountID: accountID}
		err := r.Scan(&o.Name, &o.Value, timeCol{&o.At})
		return o, err
	}, `SELECT name, value, at FROM observations WHERE app_id = ? AND account_id = ? ORDER BY name`, appID, accountID)
	if err != nil {
		return nil, fmt.Errorf("store: observations of %s: %w", accountID, err)
	}
	return out, nil
}

func (s *sqlStore) CheckWritable(ctx context.Context) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: write check: %w", err)
	}
	defer func() {
		if rbErr := tx.Rollback(); err == nil && rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			err = fmt.Errorf("store: write check: roll back: %w", rbErr)
		}
	}()
	// An empty account id cannot collide with a real observation, which
	// always names its account.
	if _, err := tx.ExecContext(ctx, s.d.bind(putObservation), "", "", "write-check", "", s.d.time(time.Now())); err != nil {
		return fmt.Errorf("store: write check: %w", err)
	}
	return nil
}
