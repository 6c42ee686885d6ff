package doctor

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/learned"
	"github.com/igmcp/igmcp/publish"
	"github.com/igmcp/igmcp/store"
)

// DefaultProbeImageURL is the JPEG --probe gives Instagram unless
// --probe-image-url names another: a 400×400 image kept in igmcp's
// repository (docs/probe.jpg).
const DefaultProbeImageURL = "https://raw.githubusercontent.com/igmcp/igmcp/main/docs/probe.jpg"

const (
	defaultProbeTimeout = 2 * time.Minute
	defaultPollInterval = 500 * time.Millisecond
	maxPollInterval     = 5 * time.Second
)

// probe creates one image container — never published; it expires unused
// after 24 hours — and measures whether the creation answer honoured
// `fields` (read-after-write) and how soon the container read FINISHED,
// then records both for the server (package learned).
func (d *doctor) probe(ctx context.Context, st store.Store, runs []*accountRun) Result {
	p := d.cfg.Probe
	if !p.Enabled {
		return skipped(CheckProbe, "not asked: `igmcp doctor --probe` creates one image container, never published, to learn how the Graph API answers")
	}
	img := p.ImageURL
	if img == "" {
		img = DefaultProbeImageURL
	}
	if err := (&publish.PostInput{ImageURL: img}).Validate(); err != nil {
		return Result{Name: CheckProbe, Status: Fail, Detail: "--probe-image-url: " + failure.Classify(err).Message,
			Fix: "give --probe-image-url a public https URL of a JPEG"}
	}
	ar := probeAccount(runs, d.cfg.DefaultAccount)
	if ar == nil {
		return Result{Name: CheckProbe, Status: Fail, Detail: "no account passed the token, login and account checks",
			Fix: "fix the checks above, then run igmcp doctor --probe again"}
	}
	if st == nil {
		return Result{Name: CheckProbe, Status: Fail, Detail: "the store is not usable (see store), so what the probe learns could not be kept; no container was created",
			Fix: "fix the store, then run igmcp doctor --probe again"}
	}
	result := func(s Status, detail, fix string, facts map[string]any) Result {
		return Result{Name: CheckProbe, Account: ar.id, Username: ar.username, Status: s, Detail: detail, Fix: fix, Facts: facts}
	}

	var created graph.Container
	// One POST, never retried: the probe makes exactly one container.
	_, err := ar.client.Do(ctx, http.MethodPost, url.PathEscape(ar.id)+"/media",
		url.Values{"image_url": {img}, "fields": {"id,status_code,status"}}, &created)
	answered := time.Now()
	if err != nil {
		kind, why := describe(err)
		fix := fixFor(kind, ar.t)
		if kind == failure.MediaRejected {
			fix = "give --probe-image-url a public https JPEG (aspect ratio 4:5 to 1.91:1) that Instagram can fetch"
		}
		return result(Fail, "the probe container could not be created: "+why, fix, nil)
	}
	if created.ID == "" {
		return result(Fail, "the container creation answered without an id", "run igmcp doctor --probe again; if it repeats, report it", nil)
	}
	readAfterWrite := created.StatusCode != ""
	facts := map[string]any{"container_id": created.ID, "image_url": img, "read_after_write": readAfterWrite}

	status, text, reads, ready, waitErr := d.waitFinished(ctx, ar.client, created, answered)
	facts["status"], facts["status_reads"] = status, reads
	learnt := learned.Facts{ReadAfterWrite: &readAfterWrite, APIVersion: d.cfg.APIVersion, MeasuredAt: d.now()}
	if status == graph.StatusFinished {
		learnt.ImageReady, learnt.ImageStatusReads = &ready, &reads
		facts["ready_after_ms"] = ready.Milliseconds()
	}
	saveErr := learned.Save(ctx, st, d.cfg.AppID, ar.id, learnt)
	facts["recorded"] = saveErr == nil

	what := "container " + created.ID + " (never published; it expires unused within 24 hours): read-after-write " +
		map[bool]string{true: "honoured (the creation answer had status_code)", false: "ignored (the creation answer had only the id)"}[readAfterWrite]
	if saveErr != nil {
		return result(Fail, what+"; but it could not be recorded: "+saveErr.Error(), "fix the store (see store), then run igmcp doctor --probe again", facts)
	}
	switch {
	case status == graph.StatusFinished:
		took := "FINISHED in the creation answer"
		if reads > 0 {
			took = fmt.Sprintf("FINISHED after %s and %d status %s", ready.Round(time.Millisecond), reads, plural(reads, "read", "reads"))
		}
		return result(OK, what+"; "+took+"; recorded for the server", "", facts)
	case waitErr != nil:
		kind, why := describe(waitErr)
		return result(Warn, what+" (recorded); its status could not be read: "+why, fixFor(kind, ar.t), facts)
	case status == graph.StatusError || status == graph.StatusExpired:
		return result(Warn, what+" (recorded); it ended "+status+" ("+text+"), so the processing time is unknown",
			"give --probe-image-url a public https JPEG (aspect ratio 4:5 to 1.91:1) that Instagram can fetch", facts)
	}
	return result(Warn, what+" (recorded); still "+status+" after "+d.probeTimeout().String()+", so the processing time is unknown",
		"run igmcp doctor --probe again with a longer --probe-timeout", facts)
}

// waitFinished reads the container's status until it is final or the
// probe times out; the first read comes at once, then the pauses double.
// ready is the time from the creation answer to the read that first said
// FINISHED (an upper bound), 0 when the creation answer said it.
func (d *doctor) waitFinished(ctx context.Context, c *graph.Client, created graph.Container, answered time.Time) (status, text string, reads int, ready time.Duration, err error) {
	status, text = created.StatusCode, created.Status
	interval := d.cfg.Probe.PollInterval
	if interval <= 0 {
		interval = defaultPollInterval
	}
	deadline := time.NewTimer(d.probeTimeout())
	defer deadline.Stop()
	for !final(status) {
		// A creation answer that said IN_PROGRESS is as good as a first read.
		if reads > 0 || status != "" {
			pause := time.NewTimer(interval)
			select {
			case <-ctx.Done():
				pause.Stop()
				return status, text, reads, 0, ctx.Err()
			case <-deadline.C:
				pause.Stop()
				return status, text, reads, 0, nil
			case <-pause.C:
			}
			interval = min(2*interval, maxPollInterval)
		}
		got, _, err := c.GetContainer(ctx, created.ID)
		reads++
		if err != nil {
			return status, text, reads, 0, err
		}
		status, text = got.StatusCode, got.Status
		if status == graph.StatusFinished {
			return status, text, reads, time.Since(answered), nil
		}
	}
	return status, text, reads, 0, nil
}

func (d *doctor) probeTimeout() time.Duration {
	if d.cfg.Probe.Timeout > 0 {
		return d.cfg.Probe.Timeout
	}
	return defaultProbeTimeout
}

func final(status string) bool {
	switch status {
	case graph.StatusFinished, graph.StatusError, graph.StatusExpired, graph.StatusPublished:
		return true
	}
	return false
}

// probeAccount is the account --probe uses: the default one (by id or
// username) when it passed its checks, else the first that did.
func probeAccount(runs []*accountRun, def string) *accountRun {
	def = strings.TrimPrefix(strings.TrimSpace(def), "@")
	var first *accountRun
	for _, ar := range runs {
		if !ar.accountOK {
			continue
		}
		if def != "" && (ar.id == def || strings.EqualFold(ar.username, def)) {
			return ar
		}
		if first == nil {
			first = ar
		}
	}
	return first
}
