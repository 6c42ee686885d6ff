// Package learned is what igmcp measured about how the Graph API answers
// one Meta app acting as one account, kept in the store so that every
// server sharing it can leave out calls it knows are useless.
// `igmcp doctor --probe` measures and saves (docs/reference.md §1); the
// publisher loads.
//
// Where Meta's docs are silent (does a POST honour `fields`? how soon is
// an image container FINISHED?) the client must work either way; these
// facts only let it skip a read whose answer is already known.
package learned

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/igmcp/igmcp/store"
)

// Names of the facts in the store (store.Observation.Name).
const (
	NameReadAfterWrite   = "read_after_write"   // "true" or "false"
	NameImageReadyMillis = "image_ready_ms"     // whole milliseconds
	NameImageStatusReads = "image_status_reads" // status reads until FINISHED
	NameAPIVersion       = "api_version"        // e.g. "v25.0"
)

// Facts is what one probe measured. Nil fields were not measured.
type Facts struct {
	// ReadAfterWrite says whether POST /{ig-user-id}/media honoured
	// `fields` (Graph read-after-write): true when the creation answer
	// carried status_code beside the id.
	ReadAfterWrite *bool
	// ImageReady is how long a new image container took to read
	// FINISHED, counted from the creation answer: 0 when that answer, or
	// the first status read, already said FINISHED.
	ImageReady *time.Duration
	// ImageStatusReads is how many status reads ImageReady took (0 when
	// the creation answer said FINISHED).
	ImageStatusReads *int
	// APIVersion is the Graph API version the probe called; facts
	// measured on another version may no longer hold.
	APIVersion string
	// MeasuredAt is when the facts were measured; zero when nothing was.
	MeasuredAt time.Time
}

// Known reports whether anything was measured.
func (f Facts) Known() bool { return !f.MeasuredAt.IsZero() }

// Load returns what was measured for the app (INSTAGRAM_APP_ID, "" when
// none is configured) acting as the account; the zero Facts when nothing
// was. A stored value that does not parse is left out rather than failing
// the caller: these facts only ever save a call. MeasuredAt is the oldest
// time among the facts loaded.
func Load(ctx context.Context, st store.Observations, appID, accountID string) (Facts, error) {
	obs, err := st.Observations(ctx, appID, accountID)
	if err != nil {
		return Facts{}, err
	}
	var f Facts
	seen := func(at time.Time) {
		if f.MeasuredAt.IsZero() || at.Before(f.MeasuredAt) {
			f.MeasuredAt = at
		}
	}
	for _, o := range obs {
		switch o.Name {
		case NameReadAfterWrite:
			if b, err := strconv.ParseBool(o.Value); err == nil {
				f.ReadAfterWrite = &b
				seen(o.At)
			}
		case NameImageReadyMillis:
			if ms, err := strconv.ParseInt(o.Value, 10, 64); err == nil && ms >= 0 {
				d := time.Duration(ms) * time.Millisecond
				f.ImageReady = &d
				seen(o.At)
			}
		case NameImageStatusReads:
			if n, err := strconv.Atoi(o.Value); err == nil && n >= 0 {
				f.ImageStatusReads = &n
				seen(o.At)
			}
		case NameAPIVersion:
			f.APIVersion = o.Value
		}
	}
	return f, nil
}

// Save records f for the app acting as the account. f.MeasuredAt is
// required; a later measurement already stored is kept (store.Observations).
func Save(ctx context.Context, st store.Observations, appID, accountID string, f Facts) error {
	if f.MeasuredAt.IsZero() {
		return fmt.Errorf("learned: facts need the time they were measured")
	}
	put := func(name, value string) error {
		return st.PutObservation(ctx, store.Observation{AppID: appID, AccountID: accountID, Name: name, Value: value, At: f.MeasuredAt})
	}
	var values [][2]string
	if f.ReadAfterWrite != nil {
		values = append(values, [2]string{NameReadAfterWrite, strconv.FormatBool(*f.ReadAfterWrite)})
	}
	if f.ImageReady != nil {
		values = append(values, [2]string{NameImageReadyMillis, strconv.FormatInt(f.ImageReady.Milliseconds(), 10)})
	}
	if f.ImageStatusReads != nil {
		values = append(values, [2]string{NameImageStatusReads, strconv.Itoa(*f.ImageStatusReads)})
	}
	if f.APIVersion != "" {
		values = append(values, [2]string{NameAPIVersion, f.APIVersion})
	}
	for _, v := range values {
		if err := put(v[0], v[1]); err != nil {
			return err
		}
	}
	return nil
}
