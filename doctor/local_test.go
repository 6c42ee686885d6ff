package doctor_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/igmcp/igmcp/doctor"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/staging/stagingtest"
	"github.com/igmcp/igmcp/tools"
)

func TestMediaRoot(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.jpg")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		root   string
		status doctor.Status
		detail string
	}{
		{"", doctor.Skip, "IGMCP_MEDIA_ROOT is not set"},
		{dir, doctor.OK, "a readable directory"},
		{filepath.Join(dir, "missing"), doctor.Fail, "does not exist"},
		{file, doctor.Fail, "is not a directory"},
		{"media", doctor.Fail, "is not an absolute path"},
	} {
		s := newSetup(t, fakegraph.Options{})
		s.cfg.MediaRoot = tc.root
		o := run(t, s.cfg)
		fix := ""
		if tc.status == doctor.Fail {
			fix = "set IGMCP_MEDIA_ROOT to an existing directory"
		}
		o.want(t, doctor.CheckMediaRoot, tc.status, tc.detail, fix)
		if want := map[bool]int{true: 1, false: 0}[tc.status == doctor.Fail]; o.code != want {
			t.Errorf("media root %q: exit %d", tc.root, o.code)
		}
	}
}

func TestStaging(t *testing.T) {
	s := newSetup(t, fakegraph.Options{})
	cfg := stagingtest.Config(t)
	s.cfg.Staging = &cfg
	run(t, s.cfg).want(t, doctor.CheckStaging, doctor.OK, "bucket "+stagingtest.Bucket+" at 127.0.0.1 is reachable", "")

	missing := cfg
	missing.Bucket = "no-such-bucket"
	s.cfg.Staging = &missing
	run(t, s.cfg).want(t, doctor.CheckStaging, doctor.Fail, "does not exist", "create the bucket")

	down := cfg
	down.Endpoint = "http://127.0.0.1:1"
	s.cfg.Staging = &down
	o := run(t, s.cfg)
	o.want(t, doctor.CheckStaging, doctor.Fail, "cannot be reached", "IGMCP_STAGING_ENDPOINT")
	for _, secret := range []string{cfg.SecretAccessKey} {
		if strings.Contains(o.text+o.raw, secret) {
			t.Fatal("the staging secret is in the report")
		}
	}
}

func TestConfig(t *testing.T) {
	t.Run("does not parse", func(t *testing.T) {
		o := run(t, doctor.Config{ParseErr: errors.New(`INSTAGRAM_LOGIN must be "facebook" or "instagram", got "fb"`)})
		o.wantStatuses(t, "config=fail store=skip media_root=skip staging=skip token=skip", 1)
		o.want(t, doctor.CheckConfig, doctor.Fail, `INSTAGRAM_LOGIN must be "facebook" or "instagram"`, "docs/reference.md §2")
	})
	for _, tc := range []struct {
		name   string
		change func(c *doctor.Config)
		status doctor.Status
		detail string
		fix    string
	}{
		{"webhooks without the app secret", func(c *doctor.Config) { c.Webhooks, c.AppSecret = true, "" }, doctor.Fail,
			"deliveries cannot be checked", "INSTAGRAM_APP_SECRET"},
		{"app id without secret", func(c *doctor.Config) { c.AppSecret = "" }, doctor.Warn, "without INSTAGRAM_APP_SECRET", "INSTAGRAM_APP_SECRET"},
		{"secret without app id", func(c *doctor.Config) { c.AppID = "" }, doctor.Warn, "without INSTAGRAM_APP_ID", "INSTAGRAM_APP_ID"},
		{"events without webhooks", func(c *doctor.Config) { c.Toolsets = []string{tools.ToolsetPublish, tools.ToolsetEvents} }, doctor.Warn,
			"list_events will stay empty", "INSTAGRAM_WEBHOOK_VERIFY_TOKEN"},
		{"sound", func(c *doctor.Config) {}, doctor.OK, "Facebook Login, Graph API v25.0, toolsets publish,comments,insights,schedule; token from INSTAGRAM_ACCESS_TOKEN", ""},
		{"webhooks add events by default", func(c *doctor.Config) { c.Webhooks = true }, doctor.OK, "toolsets publish,comments,insights,schedule,events", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSetup(t, fakegraph.Options{})
			tc.change(&s.cfg)
			run(t, s.cfg).want(t, doctor.CheckConfig, tc.status, tc.detail, tc.fix)
		})
	}
}
