package publish

import "github.com/igmcp/igmcp/failure"

// TrialReel makes a Reel a trial reel: shown to non-followers first, then
// shared with followers by hand (MANUAL) or when it performs well
// (SS_PERFORMANCE). docs/graph-api.md §2: trial_params, Reels only.
type TrialReel struct {
	GraduationStrategy string `json:"graduation_strategy" jsonschema:"enum=MANUAL,enum=SS_PERFORMANCE" jsonschema_description:"SS_PERFORMANCE: to followers if it does well."`
}

// validate checks a trial Reel's parameters (nil: not a trial).
func (t *TrialReel) validate(field string) error {
	if t == nil {
		return nil
	}
	switch t.GraduationStrategy {
	case "MANUAL", "SS_PERFORMANCE":
		return nil
	}
	return failure.Invalid(field+".graduation_strategy", "graduation_strategy must be MANUAL or SS_PERFORMANCE, got %q", t.GraduationStrategy)
}
