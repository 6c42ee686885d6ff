package graph

import "net/url"

// Labels are a container's disclosure labels (docs/graph-api.md §2):
// is_ai_generated (any media; on a carousel the parent only, both login
// types) and the paid partnership label, is_paid_partnership with the
// brands in branded_content_sponsor_ids (at most 2; Facebook Login only).
// Zero values are not sent.
type Labels struct {
	AIGenerated     bool
	PaidPartnership bool
	SponsorIDs      []string // Instagram account ids, sent as a JSON array
}

func (l Labels) set(v url.Values) error {
	if l.AIGenerated {
		v.Set("is_ai_generated", "true")
	}
	if l.PaidPartnership {
		v.Set("is_paid_partnership", "true")
	}
	if len(l.SponsorIDs) > 0 {
		s, err := jsonString(l.SponsorIDs)
		if err != nil {
			return err
		}
		v.Set("branded_content_sponsor_ids", s)
	}
	return nil
}
