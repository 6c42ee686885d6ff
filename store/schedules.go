package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

const scheduleCols = `id, account_id, kind, publish_at, args_json, idem_key, state, lease_owner,
	lease_expires_at, attempts, media_id, result_json, error_kind, error_json, created_at, updated_at, created_by`

func scanSchedule(sc rowScanner) (Schedule, error) {
	var s Schedule
	var kind, state string
	err := sc.Scan(&s.ID, &s.AccountID, &kind, timeCol{&s.PublishAt}, jsonCol{&s.Args}, &s.IdempotencyKey,
		&state, &s.LeaseOwner, timeCol{&s.LeaseExpiresAt}, &s.Attempts, &s.MediaID, jsonCol{&s.Result},
		&s.ErrorKind, jsonCol{&s.Error}, timeCol{&s.CreatedAt}, timeCol{&s.UpdatedAt}, &s.CreatedBy)
	s.Kind, s.State = Kind(kind), RunState(state)
	return s, err
}

// sortSchedules restores due order: RETURNING gives rows in no set order.
func sortSchedules(ss []Schedule) {
	sort.Slice(ss, func(i, j int) bool {
		if !ss[i].PublishAt.Equal(ss[j].PublishAt) {
			return ss[i].PublishAt.Before(ss[j].PublishAt)
		}
		return ss[i].ID < ss[j].ID
	})
}

func (s *sqlStore) CreateSchedule(ctx context.Context, sc Schedule) (Schedule, error) {
	if err := required("id", sc.ID, "account id", sc.AccountID, "idempotency key", sc.IdempotencyKey); err != nil {
		return Schedule{}, err
	}
	if !sc.Kind.Valid() {
		return Schedule{}, fmt.Errorf("store: schedule kind %q: %w", sc.Kind, ErrInvalid)
	}
	if sc.PublishAt.IsZero() {
		return Schedule{}, fmt.Errorf("store: schedule publish time is required: %w", ErrInvalid)
	}
	args, err := encodeJSON("schedule args", sc.Args)
	if err != nil {
		return Schedule{}, err
	}
	now := s.d.time(time.Now())
	// DO NOTHING + no row back means the id exists: a conflict, found
	// without parsing either engine's constraint-violation errors.
	out, err := writeRow(ctx, s, scanSchedule, nil, `INSERT INTO schedules
		(id, account_id, kind, publish_at, args_json, idem_key, state, created_at, updated_at, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING
		RETURNING `+scheduleCols,
		sc.ID, sc.AccountID, string(sc.Kind), s.d.time(sc.PublishAt), args, sc.IdempotencyKey,
		string(RunScheduled), now, now, sc.CreatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return Schedule{}, fmt.Errorf("store: schedule %s already exists: %w", sc.ID, ErrConflict)
	}
	if err != nil {
		return Schedule{}, fmt.Errorf("store: create schedule %s: %w", sc.ID, err)
	}
	return out, nil
}

func (s *sqlStore) GetSchedule(ctx context.Context, id string) (Schedule, error) {
	out, err := scanSchedule(s.readRow(ctx, `SELECT `+scheduleCols+` FROM schedules WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Schedule{}, fmt.Errorf("store: schedule %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Schedule{}, fmt.Errorf("store: schedule %s: %w", id, err)
	}
	return out, nil
}

func (s *sqlStore) ListSchedules(ctx context.Context, f ScheduleFilter) ([]Schedule, error) {
	var where []string
	var args []any
	if f.AccountID != "" {
		where = append(where, "account_id = ?")
		args = append(args, f.AccountID)
	}
	if f.CreatedBy != "" {
		where = append(where, "created_by = ?")
		args = append(args, f.CreatedBy)
	}
	if len(f.States) > 0 {
		w, a := inStates("state", f.States)
		where = append(where, w)
		args = append(args, a...)
	}
	if f.IDPrefix != "" {
		// substr rather than LIKE: a prefix with % or _ needs no escaping.
		where = append(where, "substr(id, 1, ?) = ?")
		args = append(args, len([]rune(f.IDPrefix)), f.IDPrefix)
	}
	q := `SELECT ` + scheduleCols + ` FROM schedules`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY publish_at, id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	out, err := queryAll(ctx, s, s.rdb, scanSchedule, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list schedules: %w", err)
	}
	return out, nil
}

// updateSchedule runs a compare-and-set UPDATE of one schedule: set applies
// only where cond still holds, and when no row matched the error says
// whether the schedule is missing or in the wrong state.
func (s *sqlStore) updateSchedule(ctx context.Context, op, id, set string, setArgs []any, cond string, condArgs ...any) (Schedule, error) {
	args := append(append(append([]any{}, setArgs...), id), condArgs...)
	out, err := writeRow(ctx, s, scanSchedule, s.exists("schedules", "id = ?", id), `UPDATE schedules SET `+set+`
		WHERE id = ? AND `+cond+` RETURNING `+scheduleCols, args...)
	if err != nil {
		return Schedule{}, fmt.Errorf("store: %s schedule %s: %w", op, id, err)
	}
	return out, nil
}

func (s *sqlStore) CancelSchedule(ctx context.Context, id string) (Schedule, error) {
	return s.updateSchedule(ctx, "cancel", id,
		`state = ?, updated_at = ?`, []any{string(RunCancelled), s.d.time(time.Now())},
		`state = ?`, string(RunScheduled))
}

func (s *sqlStore) ClaimDue(ctx context.Context, now time.Time, owner string, lease time.Duration, limit int, skipAccounts ...string) ([]Schedule, error) {
	if owner == "" || lease <= 0 || limit <= 0 {
		return nil, fmt.Errorf("store: claim needs an owner, a positive lease and a positive limit: %w", ErrInvalid)
	}
	pick := `SELECT id FROM schedules WHERE state = ? AND publish_at <= ?`
	pickArgs := []any{string(RunScheduled), s.d.time(now)}
	if len(skipAccounts) > 0 {
		w, a := inStates("account_id", skipAccounts)
		pick += ` AND NOT ` + w
		pickArgs = append(pickArgs, a...)
	}
	pick += ` ORDER BY publish_at, id LIMIT ?` + s.d.lockRows
	pickArgs = append(pickArgs, limit)
	// One transaction: pick, then move. In SQLite it is the writer's, so
	// nobody else writes between the two statements (other processes are
	// kept out by its BEGIN IMMEDIATE). In PostgreSQL the pick locks its
	// rows FOR UPDATE until commit, and SKIP LOCKED lets other claimers
	// take the next rows instead of waiting for these (and then finding
	// them gone).
	var claimed []Schedule
	err := s.writeTx(ctx, func(ctx context.Context, q querier) error {
		ids, err := queryAll(ctx, s, q, func(sc rowScanner) (any, error) {
			var id string
			return id, sc.Scan(&id)
		}, pick, pickArgs...)
		if err != nil {
			return fmt.Errorf("pick: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		in := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
		args := append([]any{string(RunPublishing), owner, s.d.time(now.Add(lease)), s.d.time(time.Now()), string(RunScheduled)}, ids...)
		claimed, err = queryAll(ctx, s, q, scanSchedule, `UPDATE schedules
			SET state = ?, lease_owner = ?, lease_expires_at = ?, updated_at = ?
			WHERE state = ? AND id IN (`+in+`)
			RETURNING `+scheduleCols, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim: %w", err)
	}
	sortSchedules(claimed)
	return claimed, nil
}

func (s *sqlStore) RenewLease(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (Schedule, error) {
	if owner == "" || lease <= 0 {
		return Schedule{}, fmt.Errorf("store: renew needs an owner and a positive lease: %w", ErrInvalid)
	}
	return s.updateSchedule(ctx, "renew lease of", id,
		`lease_expires_at = ?, updated_at = ?`, []any{s.d.time(now.Add(lease)), s.d.time(time.Now())},
		`state = ? AND lease_owner = ?`, string(RunPublishing), owner)
}

func (s *sqlStore) CompleteSchedule(ctx context.Context, id, owner string, o RunOutcome) (Schedule, error) {
	if owner == "" || (o.To != RunPublished && o.To != RunFailed && o.To != RunCancelled) {
		return Schedule{}, fmt.Errorf("store: complete schedule %s: needs an owner and an outcome of published, failed or cancelled: %w", id, ErrInvalid)
	}
	set, args, err := outcomeSet(o)
	if err != nil {
		return Schedule{}, err
	}
	return s.updateSchedule(ctx, "complete", id,
		`state = ?, updated_at = ?, lease_owner = '', lease_expires_at = NULL`+set,
		append([]any{string(o.To), s.d.time(time.Now())}, args...),
		`state = ? AND lease_owner = ?`, string(RunPublishing), owner)
}

func (s *sqlStore) ReleaseSchedule(ctx context.Context, id, owner string) (Schedule, error) {
	return s.updateSchedule(ctx, "release", id,
		`state = ?, updated_at = ?, lease_owner = '', lease_expires_at = NULL`,
		[]any{string(RunScheduled), s.d.time(time.Now())},
		`state = ? AND lease_owner = ?`, string(RunPublishing), owner)
}

func (s *sqlStore) RecoverExpiredLeases(ctx context.Context, now time.Time) ([]Schedule, error) {
	// A single UPDATE: concurrent recoverers (and a racing RenewLease or
	// CompleteSchedule) are ordered by the row lock, and whoever comes
	// second re-checks the condition and no longer matches.
	out, err := writeAll(ctx, s, scanSchedule, `UPDATE schedules
		SET state = ?, lease_owner = '', lease_expires_at = NULL, attempts = attempts + 1, updated_at = ?
		WHERE state = ? AND lease_expires_at <= ?
		RETURNING `+scheduleCols,
		string(RunScheduled), s.d.time(time.Now()), string(RunPublishing), s.d.time(now))
	if err != nil {
		return nil, fmt.Errorf("store: recover expired leases: %w", err)
	}
	sortSchedules(out)
	return out, nil
}

func (s *sqlStore) MarkMissed(ctx context.Context, dueBefore time.Time) ([]Schedule, error) {
	// The ledger is read in the same statement that marks, so no second
	// look can disagree with the one the decision was made on.
	out, err := writeAll(ctx, s, scanSchedule, `UPDATE schedules SET state = ?, updated_at = ?
		WHERE state = ? AND publish_at < ?
		AND NOT EXISTS (SELECT 1 FROM publishes p
			WHERE p.account_id = schedules.account_id AND p.idem_key = schedules.idem_key
			AND p.state IN (?, ?))
		RETURNING `+scheduleCols,
		string(RunMissed), s.d.time(time.Now()), string(RunScheduled), s.d.time(dueBefore),
		string(PublishSent), string(PublishPublished))
	if err != nil {
		return nil, fmt.Errorf("store: mark missed: %w", err)
	}
	sortSchedules(out)
	return out, nil
}

// outcomeSet renders the columns an outcome writes.
func outcomeSet(o RunOutcome) (string, []any, error) {
	switch o.To {
	case RunPublished:
		result, err := encodeJSON("result", o.Result)
		if err != nil {
			return "", nil, err
		}
		return `, media_id = ?, result_json = ?`, []any{o.MediaID, result}, nil
	case RunFailed:
		errJSON, err := encodeJSON("error", o.Error)
		if err != nil {
			return "", nil, err
		}
		return `, error_kind = ?, error_json = ?`, []any{o.ErrorKind, errJSON}, nil
	}
	return "", nil, nil
}
