package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/taskfront"
	"github.com/igmcp/igmcp/tools"
	"github.com/igmcp/igmcp/webhooks"
)

// What lets several `igmcp http` processes on one PostgreSQL answer any
// request behind a plain load balancer (README "Running several
// replicas"): the bus (one watch of the store per process, fanned out by a
// hub) and the signals publishes and jobs send on it, the confirmation
// dialogs and MCP tasks kept in the store, and the task front in front of
// the MCP server.

// replicaParts is one process's share.
type replicaParts struct {
	bus   *webhooks.Hub
	front *taskfront.Front
	stop  func()
}

// pruneDialogsEvery is how often expired tasks and confirmation dialogs are
// removed (each process does it; the deletes are idempotent).
const pruneDialogsEvery = 10 * time.Minute

// startReplicaParts starts the bus on st and returns st wrapped so that
// what it records is signalled to every replica: a publish (the accounts
// resources' quota moved) and a job's end (tasks waiting on it). Without
// the bus (PostgreSQL refused the LISTEN connection) the server still
// runs: subscribers then hear of this process's publishes only, and tasks
// are polled.
func startReplicaParts(st store.Store, logger *slog.Logger) (*replicaParts, store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	p := &replicaParts{bus: webhooks.NewHub(st)}
	if err := p.bus.Start(ctx); err != nil {
		logger.Error("no watch of the store: other replicas' publishes and jobs are not signalled here", "err", err)
		p.bus = nil
	}
	// A subscription closes when the hub has stopped watching the store.
	var stopped <-chan store.EventNotice
	if p.bus != nil {
		stopped = p.bus.Subscribe(context.Background())
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(pruneDialogsEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := st.PruneTasks(ctx, time.Now()); err != nil && ctx.Err() == nil {
				logger.Warn("pruning expired tasks", "err", err)
			}
			if _, err := st.PruneConfirmations(ctx, time.Now()); err != nil && ctx.Err() == nil {
				logger.Warn("pruning expired confirmations", "err", err)
			}
		}
	}()
	p.stop = func() {
		if p.front != nil {
			p.front.Stop()
		}
		cancel()
		<-done
		if stopped != nil {
			for range stopped {
			}
		}
	}
	return p, signalingStore{st}
}

// wire gives the tools what they need of the replicas' share, for
// `igmcp http` with IGMCP_TASKS: the signals, the dialogs in the store,
// and tasks.
func (p *replicaParts) wire(cfg *config, deps *tools.Deps, st store.Store) {
	if p.bus != nil {
		deps.Signals = p.bus
	}
	deps.Confirmations = st
	deps.Tasks = cfg.tasks != "" && cfg.tasks != "off"
}

// startFront builds the task front once the tools and their server are
// wired.
func (p *replicaParts) startFront(cfg *config, deps *tools.Deps, st store.Store, srv *server.MCPServer, logger *slog.Logger) error {
	if !deps.Tasks {
		return nil
	}
	fc := taskfront.Config{Store: st, Deps: deps, Server: srv, Version: version, Policy: taskfront.Policy(cfg.tasks), Logger: logger}
	if p.bus != nil {
		fc.Signals = p.bus
	}
	f, err := taskfront.New(fc)
	if err != nil {
		return err
	}
	p.front = f
	return nil
}

// beforeSend is the scheduler's: a job whose task was cancelled stops
// before its send, whichever replica runs it.
func (p *replicaParts) beforeSend(ctx context.Context, id string) error {
	if p.front == nil {
		return nil
	}
	return p.front.BeforeSend(ctx, id)
}

// tasks is the front httpserver puts before mcp-go (nil: no tasks).
func (p *replicaParts) tasks() *taskfront.Front { return p.front }

// signalingStore is the store that tells every replica what happened: a
// post went live (RecordPublish: the account's quota moved), a job ended
// or was cancelled (tasks/result waiting on it wakes). A lost signal only
// delays: subscribers are told to re-read, tasks are polled too.
type signalingStore struct{ store.Store }

func (s signalingStore) RecordPublish(ctx context.Context, accountID string, at time.Time) error {
	err := s.Store.RecordPublish(ctx, accountID, at)
	if err == nil {
		_ = s.Store.Signal(context.WithoutCancel(ctx), store.NoticePublished, accountID)
	}
	return err
}

func (s signalingStore) CompleteSchedule(ctx context.Context, id, owner string, o store.RunOutcome) (store.Schedule, error) {
	sc, err := s.Store.CompleteSchedule(ctx, id, owner, o)
	if err == nil {
		_ = s.Store.Signal(context.WithoutCancel(ctx), store.NoticeJob, id)
	}
	return sc, err
}

func (s signalingStore) CancelSchedule(ctx context.Context, id string) (store.Schedule, error) {
	sc, err := s.Store.CancelSchedule(ctx, id)
	if err == nil {
		_ = s.Store.Signal(context.WithoutCancel(ctx), store.NoticeJob, id)
	}
	return sc, err
}
