package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

const jobCols = `id, account_id, kind, args_json, idem_key, state, media_id, result_json,
	error_kind, error_json, created_at, updated_at`

func scanJob(sc rowScanner) (Job, error) {
	var j Job
	var kind, state string
	err := sc.Scan(&j.ID, &j.AccountID, &kind, jsonCol{&j.Args}, &j.IdempotencyKey, &state, &j.MediaID,
		jsonCol{&j.Result}, &j.ErrorKind, jsonCol{&j.Error}, timeCol{&j.CreatedAt}, timeCol{&j.UpdatedAt})
	j.Kind, j.State = Kind(kind), RunState(state)
	return j, err
}

func (s *sqlStore) CreateJob(ctx context.Context, j Job) (Job, error) {
	if err := required("id", j.ID, "account id", j.AccountID, "idempotency key", j.IdempotencyKey); err != nil {
		return Job{}, err
	}
	if !j.Kind.Valid() {
		return Job{}, fmt.Errorf("store: job kind %q: %w", j.Kind, ErrInvalid)
	}
	if j.State == "" {
		j.State = RunPublishing
	}
	if j.State != RunPublishing && j.State != RunScheduled {
		return Job{}, fmt.Errorf("store: a job starts scheduled or publishing, not %s: %w", j.State, ErrInvalid)
	}
	args, err := encodeJSON("job args", j.Args)
	if err != nil {
		return Job{}, err
	}
	now := s.d.time(time.Now())
	out, err := scanJob(s.queryRow(ctx, `INSERT INTO jobs
		(id, account_id, kind, args_json, idem_key, state, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING
		RETURNING `+jobCols,
		j.ID, j.AccountID, string(j.Kind), args, j.IdempotencyKey, string(j.State), now, now))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, fmt.Errorf("store: job %s already exists: %w", j.ID, ErrConflict)
	}
	if err != nil {
		return Job{}, fmt.Errorf("store: create job %s: %w", j.ID, err)
	}
	return out, nil
}

func (s *sqlStore) GetJob(ctx context.Context, id string) (Job, error) {
	out, err := scanJob(s.queryRow(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, fmt.Errorf("store: job %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Job{}, fmt.Errorf("store: job %s: %w", id, err)
	}
	return out, nil
}

func (s *sqlStore) UpdateJob(ctx context.Context, id string, from RunState, o RunOutcome) (Job, error) {
	if !from.CanMove(o.To) {
		return Job{}, fmt.Errorf("store: job %s: no step %s → %s: %w", id, from, o.To, ErrInvalid)
	}
	set, args, err := outcomeSet(o)
	if err != nil {
		return Job{}, err
	}
	all := append([]any{string(o.To), s.d.time(time.Now())}, args...)
	all = append(all, id, string(from))
	out, err := scanJob(s.queryRow(ctx, `UPDATE jobs SET state = ?, updated_at = ?`+set+`
		WHERE id = ? AND state = ? RETURNING `+jobCols, all...))
	if errors.Is(err, sql.ErrNoRows) {
		err = s.exists(ctx, "jobs", "id = ?", id)
	}
	if err != nil {
		return Job{}, fmt.Errorf("store: job %s %s → %s: %w", id, from, o.To, err)
	}
	return out, nil
}

func (s *sqlStore) ListJobs(ctx context.Context, f JobFilter) ([]Job, error) {
	var where []string
	var args []any
	if f.AccountID != "" {
		where = append(where, "account_id = ?")
		args = append(args, f.AccountID)
	}
	if len(f.States) > 0 {
		w, a := inStates("state", f.States)
		where = append(where, w)
		args = append(args, a...)
	}
	q := `SELECT ` + jobCols + ` FROM jobs`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY created_at, id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	out, err := queryAll(ctx, s, nil, scanJob, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list jobs: %w", err)
	}
	return out, nil
}
