package fakegraph

import (
	"net/url"
	"regexp"
)

// maxSponsors is how many brands one paid partnership label may name
// (docs/graph-api.md §2).
const maxSponsors = 2

var sponsorIDRE = regexp.MustCompile(`^[0-9]{1,30}$`)

// checkPartnership validates the paid partnership label of a container
// (docs/graph-api.md §1, §2): is_paid_partnership is a boolean, only with
// Facebook Login, never on a carousel item; branded_content_sponsor_ids is
// at most maxSponsors numeric account ids. Sponsors without the label
// itself are refused: Meta does not say, and the worst plausible answer is
// a refusal.
func (s *Server) checkPartnership(c *container, p url.Values, what string) *apiError {
	flag, ids := p.Get("is_paid_partnership"), p.Get("branded_content_sponsor_ids")
	if flag == "" && ids == "" {
		return nil
	}
	if c.acct.Login != LoginFacebook {
		return errNotAllowed("is_paid_partnership", "Instagram Login (Facebook Login only)")
	}
	if c.isItem {
		return errNotAllowed("is_paid_partnership", what)
	}
	on, ok := parseBoolParam(flag)
	if flag != "" && !ok {
		return errParam("Param is_paid_partnership must be a boolean")
	}
	if ids == "" {
		return nil
	}
	if !on {
		return errParam("Param branded_content_sponsor_ids requires is_paid_partnership=true")
	}
	list, ok := parseList(ids)
	if !ok || len(list) == 0 {
		return errParam("Param branded_content_sponsor_ids must be a JSON array of Instagram account ids")
	}
	if len(list) > maxSponsors {
		return errParam("Param branded_content_sponsor_ids can have at most %d ids", maxSponsors)
	}
	for _, id := range list {
		if !sponsorIDRE.MatchString(id) {
			return errParam("Param branded_content_sponsor_ids must hold Instagram account ids, got %q", id)
		}
	}
	return nil
}
