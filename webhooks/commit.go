package webhooks

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/igmcp/igmcp/store"
)

// Appender is the part of the store the receiver writes to.
type Appender interface {
	AppendEvents(ctx context.Context, events []store.Event) ([]store.Event, error)
}

// committer stores the events of concurrent deliveries together: one
// transaction (one fsync on SQLite, one round of locks on PostgreSQL) for
// whatever arrived while the previous one was committing. Under a burst
// that is what keeps every delivery's answer fast; alone, a delivery
// waits for nothing.
//
// There is no background goroutine: the first delivery to find nobody
// writing becomes the writer, commits what is queued (its own events
// included), and when its own are stored hands the writer's role to the
// next queued delivery, so no delivery writes for others indefinitely.
type committer struct {
	store    Appender
	maxBatch int           // events per transaction, at most (a delivery is never split)
	timeout  time.Duration // bounds one transaction

	mu      sync.Mutex
	queue   []*pendingWrite
	writing bool
}

type pendingWrite struct {
	events []store.Event
	// done receives the outcome, or lead=true: this delivery is now the
	// writer.
	done chan commitResult
}

type commitResult struct {
	stored int
	err    error
	lead   bool
}

// write stores events durably and returns how many were new. It does not
// give up when ctx ends: other deliveries may be waiting on the same
// transaction, and Meta redelivers what was not acknowledged anyway.
func (c *committer) write(ctx context.Context, events []store.Event) (int, error) {
	p := &pendingWrite{events: events, done: make(chan commitResult, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, p)
	lead := !c.writing
	c.writing = true
	c.mu.Unlock()
	if !lead {
		r := <-p.done
		if !r.lead {
			return r.stored, r.err
		}
	}
	// p is at the head of the queue now, so the batch below includes it.
	c.commitQueued(ctx)
	r := <-p.done
	c.handOver()
	return r.stored, r.err
}

// commitQueued takes up to maxBatch events from the head of the queue
// (at least one delivery) and stores them in one transaction.
func (c *committer) commitQueued(ctx context.Context) {
	c.mu.Lock()
	n, size := 0, 0
	for n < len(c.queue) && (n == 0 || size+len(c.queue[n].events) <= c.maxBatch) {
		size += len(c.queue[n].events)
		n++
	}
	batch := c.queue[:n:n]
	c.queue = c.queue[n:]
	c.mu.Unlock()

	var all []store.Event
	for _, p := range batch {
		all = append(all, p.events...)
	}
	stored, err := c.append(ctx, all)
	fresh := make(map[string]bool, len(stored))
	for _, e := range stored {
		fresh[e.Key] = true
	}
	for _, p := range batch {
		r := commitResult{err: err}
		for _, e := range p.events {
			if fresh[e.Key] {
				r.stored++
				delete(fresh, e.Key) // a key repeated across deliveries counts once
			}
		}
		p.done <- r
	}
}

// append stores one batch. A panic in the store becomes an error: the
// deliveries waiting on this batch must get an answer, and the writer's
// role must pass on, or every later delivery would wait forever.
func (c *committer) append(ctx context.Context, events []store.Event) (stored []store.Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			stored, err = nil, fmt.Errorf("webhooks: store panicked: %v", p)
		}
	}()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	return c.store.AppendEvents(wctx, events)
}

// handOver passes the writer's role to the oldest queued delivery, or
// ends it when nothing is queued.
func (c *committer) handOver() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		c.writing = false
		return
	}
	c.queue[0].done <- commitResult{lead: true}
}
