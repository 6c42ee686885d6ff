package doctor

import (
	"net/url"
	"slices"
	"strings"

	"github.com/igmcp/igmcp/tools"
)

// checkConfig looks for settings that parse but contradict each other.
func (d *doctor) checkConfig() Result {
	c := d.cfg
	var fails, warns, fixes []string
	problem := func(fail bool, what, fix string) {
		if fail {
			fails = append(fails, what)
		} else {
			warns = append(warns, what)
		}
		fixes = append(fixes, fix)
	}

	graphHost := ""
	if c.GraphURL != "" {
		graphHost = hostOf(c.GraphURL)
	}
	switch {
	case c.AppID != "" && c.AppSecret == "":
		problem(false, "INSTAGRAM_APP_ID is set without INSTAGRAM_APP_SECRET: logins and Facebook Login token renewal need both",
			"set INSTAGRAM_APP_SECRET (or INSTAGRAM_APP_SECRET_FILE)")
	case c.AppID == "" && c.AppSecret != "":
		problem(false, "INSTAGRAM_APP_SECRET is set without INSTAGRAM_APP_ID: logins and token renewal need both",
			"set INSTAGRAM_APP_ID to the Meta app's id")
	}
	if c.Webhooks && c.AppSecret == "" {
		problem(true, "INSTAGRAM_WEBHOOK_VERIFY_TOKEN is set but INSTAGRAM_APP_SECRET is not: deliveries cannot be checked, so /webhooks/instagram would refuse them all",
			"set INSTAGRAM_APP_SECRET (or INSTAGRAM_APP_SECRET_FILE) to the app secret that signs the deliveries")
	}
	if slices.Contains(d.toolsets, tools.ToolsetEvents) && !c.Webhooks {
		problem(false, "the events toolset is on but webhooks are not configured: list_events will stay empty",
			"set INSTAGRAM_WEBHOOK_VERIFY_TOKEN (and serve igmcp http), or leave events out of IGMCP_TOOLSETS")
	}
	if c.Token == "" && c.UserID != "" {
		problem(false, "INSTAGRAM_USER_ID is set without INSTAGRAM_ACCESS_TOKEN: the stored accounts are used and INSTAGRAM_USER_ID only picks the default one",
			"to act as one account with your own token, set INSTAGRAM_ACCESS_TOKEN too")
	}

	facts := map[string]any{"login": string(c.Login), "api_version": c.APIVersion, "toolsets": d.toolsets, "read_only": c.ReadOnly,
		"token_source": "store"}
	if c.Token != "" {
		facts["token_source"] = "env"
	}
	if graphHost != "" {
		facts["graph_host"] = graphHost
	}
	switch {
	case len(fails) > 0:
		return Result{Name: CheckConfig, Status: Fail, Detail: strings.Join(append(fails, warns...), "; "), Fix: strings.Join(fixes, "; "), Facts: facts}
	case len(warns) > 0:
		return Result{Name: CheckConfig, Status: Warn, Detail: strings.Join(warns, "; "), Fix: strings.Join(fixes, "; "), Facts: facts}
	}
	detail := c.Login.Title() + " Login, Graph API " + c.APIVersion
	if graphHost != "" && graphHost != hostOf(c.Login.GraphURL()) {
		detail += " at " + graphHost
	}
	detail += ", toolsets " + strings.Join(d.toolsets, ",")
	if c.ReadOnly {
		detail += " (read-only)"
	}
	if c.Token != "" {
		detail += "; token from INSTAGRAM_ACCESS_TOKEN"
	} else {
		detail += "; accounts from the token store"
	}
	return Result{Name: CheckConfig, Status: OK, Detail: detail, Facts: facts}
}

func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return strings.ToLower(p.Hostname())
}
