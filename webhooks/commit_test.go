package webhooks_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/webhooks"
)

// gateStore records every AppendEvents call and holds each one until the
// test releases it.
type gateStore struct {
	mu      sync.Mutex
	calls   [][]string // keys per call
	entered chan int   // receives the number of events of each call as it starts
	release chan struct{}
}

func (g *gateStore) AppendEvents(ctx context.Context, es []store.Event) ([]store.Event, error) {
	g.entered <- len(es)
	<-g.release
	g.mu.Lock()
	defer g.mu.Unlock()
	var keys []string
	for _, e := range es {
		keys = append(keys, e.Key)
	}
	g.calls = append(g.calls, keys)
	return es, nil
}

func delivery(i, changes int) string {
	var cs []string
	for c := range changes {
		cs = append(cs, fmt.Sprintf(`{"field":"comments","value":{"id":"%d-%d"}}`, i, c))
	}
	return fmt.Sprintf(`{"object":"instagram","entry":[{"id":"1","changes":[%s]}]}`, strings.Join(cs, ","))
}

// Deliveries that arrive while a transaction commits are stored together
// in the next one, up to MaxBatch events, never splitting a delivery.
func TestGroupCommit(t *testing.T) {
	g := &gateStore{entered: make(chan int, 100), release: make(chan struct{})}
	r := newReceiver(t, g, func(c *webhooks.Config) { c.MaxBatch = 10 })
	var wg sync.WaitGroup
	statuses := make(chan int, 100)
	send := func(i, changes int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _ := postSigned(t, r, delivery(i, changes))
			statuses <- status
		}()
	}
	send(0, 1)
	if n := <-g.entered; n != 1 {
		t.Fatalf("first transaction has %d events", n)
	}
	// While it is held: 7 deliveries of 3 changes and one of 12.
	for i := 1; i <= 7; i++ {
		send(i, 3)
	}
	send(8, 12)
	// Wait until all eight are queued: none of them may start a
	// transaction of its own meanwhile.
	deadline := time.Now().Add(30 * time.Second)
	for r.Queued() < 8 {
		if time.Now().After(deadline) {
			t.Fatalf("queued %d of 8", r.Queued())
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case n := <-g.entered:
		t.Fatalf("a second transaction (%d events) started while the first was open", n)
	default:
	}
	var sizes []int
	go func() {
		for range 100 {
			g.release <- struct{}{}
		}
	}()
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Errorf("status %d", s)
		}
	}
	for {
		select {
		case n := <-g.entered:
			sizes = append(sizes, n)
			continue
		default:
		}
		break
	}
	// The queue's order is the order the deliveries reached it, which the
	// test does not fix; the batch sizes follow from any order: deliveries
	// of 3 fill batches of at most 10 (three per batch), and the one of 12
	// goes alone: four transactions, whatever the order.
	total, alone := 0, 0
	for _, n := range sizes {
		total += n
		switch {
		case n == 12:
			alone++
		case n > 10 || n%3 != 0:
			t.Errorf("a transaction of %d events", n)
		}
	}
	if total != 7*3+12 || alone != 1 || len(sizes) != 4 {
		t.Fatalf("transactions after the first: %v", sizes)
	}
	if len(g.calls) != 1+len(sizes) {
		t.Fatalf("%d calls, %d sizes", len(g.calls), len(sizes))
	}
}
