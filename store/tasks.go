package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Task is an MCP task (docs/reference.md §6): the handle an MCP client polls
// instead of holding a call open. ID is the id of the background job doing
// the work (schedules; the job's row and the ledger say where it is), or,
// for a call answered at once, an id of its own with Status and Result set.
// Every replica sharing the store answers for it.
type Task struct {
	ID string
	// Owner is the name of the bearer token that created the task ("" for
	// a server without authentication): nobody else may read or cancel it.
	Owner     string
	AccountID string
	// Protocol is the MCP protocol version of the creating call.
	Protocol     string
	Tool         string
	TTL          time.Duration
	PollInterval time.Duration
	// ProgressToken (JSON) and SessionID: a 2025-11-25 call's progress
	// token stays valid for the task's life; the session says where to
	// send the notifications.
	ProgressToken json.RawMessage
	SessionID     string
	// Status is "" while the job decides; TaskCompleted or TaskFailed for a
	// call answered at once, whose CallToolResult is Result.
	Status string
	Result json.RawMessage
	// CancelRequestedAt is when tasks/cancel arrived (zero: never).
	CancelRequestedAt time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
	// ExpiresAt is CreatedAt + TTL: after it the task is gone.
	ExpiresAt time.Time
}

// Statuses of a task answered at once (Task.Status).
const (
	TaskCompleted = "completed"
	TaskFailed    = "failed"
)

// TaskFilter selects one owner's tasks, newest first.
type TaskFilter struct {
	Owner string
	// Now leaves out tasks expired by then (zero: none are left out).
	Now    time.Time
	Limit  int    // 0 means 50; at most 1000
	Cursor string // next of the previous page; "" for the first
}

// Tasks are the MCP tasks of every replica.
type Tasks interface {
	// CreateTask stores t (CreatedAt, UpdatedAt and ExpiresAt are set from
	// now and TTL). An ID already stored is ErrConflict; a missing ID,
	// protocol or tool, or a TTL or poll interval that is not positive,
	// ErrInvalid.
	CreateTask(ctx context.Context, t Task) (Task, error)
	// GetTask returns the task, expired or not, or ErrNotFound.
	GetTask(ctx context.Context, id string) (Task, error)
	// ListTasks returns the owner's tasks newest first; next is the cursor
	// of the following page, "" after the last. A cursor that does not
	// parse is ErrInvalid.
	ListTasks(ctx context.Context, f TaskFilter) (tasks []Task, next string, err error)
	// RequestTaskCancel records that the task's cancellation was asked for
	// at at, unless it already was (the first request stands), and returns
	// the task. ErrNotFound for an unknown id.
	RequestTaskCancel(ctx context.Context, id string, at time.Time) (Task, error)
	// PruneTasks removes the tasks that expired before before and returns
	// how many.
	PruneTasks(ctx context.Context, before time.Time) (int64, error)
}

const taskCols = `id, owner, account_id, protocol, tool, ttl_ms, poll_ms, progress_token, session_id,
	status, result_json, cancel_requested_at, created_at, updated_at, expires_at`

func scanTask(sc rowScanner) (Task, error) {
	var t Task
	var ttl, poll int64
	var token string
	err := sc.Scan(&t.ID, &t.Owner, &t.AccountID, &t.Protocol, &t.Tool, &ttl, &poll, &token, &t.SessionID,
		&t.Status, jsonCol{&t.Result}, timeCol{&t.CancelRequestedAt}, timeCol{&t.CreatedAt}, timeCol{&t.UpdatedAt},
		timeCol{&t.ExpiresAt})
	t.TTL, t.PollInterval = time.Duration(ttl)*time.Millisecond, time.Duration(poll)*time.Millisecond
	if token != "" {
		t.ProgressToken = json.RawMessage(token)
	}
	return t, err
}

func (s *sqlStore) CreateTask(ctx context.Context, t Task) (Task, error) {
	if err := required("task id", t.ID, "task protocol", t.Protocol, "task tool", t.Tool); err != nil {
		return Task{}, err
	}
	if t.TTL < time.Millisecond || t.PollInterval < time.Millisecond {
		return Task{}, fmt.Errorf("store: task %s needs a positive ttl and poll interval: %w", t.ID, ErrInvalid)
	}
	if t.Status != "" && t.Status != TaskCompleted && t.Status != TaskFailed {
		return Task{}, fmt.Errorf("store: task status %q: %w", t.Status, ErrInvalid)
	}
	if len(t.ProgressToken) > 0 && !json.Valid(t.ProgressToken) {
		return Task{}, fmt.Errorf("store: task %s: progress token is not JSON: %w", t.ID, ErrInvalid)
	}
	result, err := encodeJSON("task result", t.Result)
	if err != nil {
		return Task{}, err
	}
	now := time.Now()
	out, err := writeRow(ctx, s, scanTask, nil, `INSERT INTO mcp_tasks
		(id, owner, account_id, protocol, tool, ttl_ms, poll_ms, progress_token, session_id, status, result_json,
		 created_at, updated_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING
		RETURNING `+taskCols,
		t.ID, t.Owner, t.AccountID, t.Protocol, t.Tool, t.TTL.Milliseconds(), t.PollInterval.Milliseconds(),
		string(t.ProgressToken), t.SessionID, t.Status, result, s.d.time(now), s.d.time(now), s.d.time(now.Add(t.TTL)))
	if errors.Is(err, sql.ErrNoRows) {
		return Task{}, fmt.Errorf("store: task %s already exists: %w", t.ID, ErrConflict)
	}
	if err != nil {
		return Task{}, fmt.Errorf("store: create task %s: %w", t.ID, err)
	}
	return out, nil
}

func (s *sqlStore) GetTask(ctx context.Context, id string) (Task, error) {
	t, err := scanTask(s.readRow(ctx, `SELECT `+taskCols+` FROM mcp_tasks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Task{}, fmt.Errorf("store: task %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Task{}, fmt.Errorf("store: task %s: %w", id, err)
	}
	return t, nil
}

// A task cursor is the (created_at, id) of the last task of a page.
func taskCursor(t Task) string {
	return strconv.FormatInt(t.CreatedAt.UnixMicro(), 10) + "." + t.ID
}

func parseTaskCursor(c string) (time.Time, string, error) {
	a, id, ok := strings.Cut(c, ".")
	micros, err := strconv.ParseInt(a, 10, 64)
	if !ok || err != nil || id == "" {
		return time.Time{}, "", fmt.Errorf("store: bad task cursor %q: %w", c, ErrInvalid)
	}
	return time.UnixMicro(micros).UTC(), id, nil
}

func (s *sqlStore) ListTasks(ctx context.Context, f TaskFilter) ([]Task, string, error) {
	limit := pageLimit(f.Limit)
	var w filter
	w.add("owner = ?", f.Owner)
	if !f.Now.IsZero() {
		w.add("expires_at > ?", s.d.time(f.Now))
	}
	if f.Cursor != "" {
		at, id, err := parseTaskCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		w.add("(created_at < ? OR (created_at = ? AND id < ?))", s.d.time(at), s.d.time(at), id)
	}
	q := `SELECT ` + taskCols + ` FROM mcp_tasks` + w.where() + ` ORDER BY created_at DESC, id DESC LIMIT ?`
	ts, err := queryAll(ctx, s, s.rdb, scanTask, q, append(w.args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list tasks: %w", err)
	}
	next := ""
	if len(ts) > limit {
		ts = ts[:limit]
		next = taskCursor(ts[limit-1])
	}
	return ts, next, nil
}

func (s *sqlStore) RequestTaskCancel(ctx context.Context, id string, at time.Time) (Task, error) {
	if at.IsZero() {
		return Task{}, fmt.Errorf("store: cancel task %s: a time is required: %w", id, ErrInvalid)
	}
	// COALESCE keeps the first request's time: a repeated cancel changes
	// nothing, and the answer is the row either way.
	t, err := writeRow(ctx, s, scanTask, nil, `UPDATE mcp_tasks
		SET cancel_requested_at = COALESCE(cancel_requested_at, ?), updated_at = ?
		WHERE id = ? RETURNING `+taskCols, s.d.time(at), s.d.time(time.Now()), id)
	if errors.Is(err, sql.ErrNoRows) {
		return Task{}, fmt.Errorf("store: task %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Task{}, fmt.Errorf("store: cancel task %s: %w", id, err)
	}
	return t, nil
}

func (s *sqlStore) PruneTasks(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM mcp_tasks WHERE expires_at < ?`, s.d.time(before))
	if err != nil {
		return 0, fmt.Errorf("store: prune tasks: %w", err)
	}
	return res.RowsAffected()
}
