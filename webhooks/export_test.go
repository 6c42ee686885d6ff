package webhooks

// Queued is how many deliveries wait for a transaction (for tests).
func (rc *Receiver) Queued() int {
	rc.commit.mu.Lock()
	defer rc.commit.mu.Unlock()
	return len(rc.commit.queue)
}
