package doctor_test

import (
	"image"
	_ "image/jpeg" // DecodeConfig of docs/probe.jpg
	"os"
	"strings"
	"testing"
	"time"

	"github.com/igmcp/igmcp/doctor"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/learned"
)

const healthy = "config=ok store=ok media_root=skip staging=skip token=ok login=ok account=ok scopes=ok quota=ok rate_limit=ok webhooks=skip probe=ok"

// A sound setup passes, in both variants of the fake: the probe makes one
// container, never publishes it, and records whether read-after-write was
// honoured and how soon the container was ready; only reads that could
// tell something are made.
func TestProbeBothVariants(t *testing.T) {
	for _, tc := range []struct {
		name           string
		opts           fakegraph.Options
		readAfterWrite bool
		statusReads    int // GET /{container} made by the probe
	}{
		// The creation answer says FINISHED: no read is needed.
		{"read-after-write honoured, ready at once", fakegraph.Options{ReadAfterWrite: true}, true, 0},
		// Only {"id"}: one read finds it FINISHED.
		{"read-after-write ignored, ready at once", fakegraph.Options{NoReadAfterWrite: true}, false, 1},
		// IN_PROGRESS for two reads, FINISHED on the third.
		{"read-after-write honoured, two reads processing", fakegraph.Options{ReadAfterWrite: true, ProcessingPolls: 2}, true, 3},
		{"read-after-write ignored, two reads processing", fakegraph.Options{NoReadAfterWrite: true, ProcessingPolls: 2}, false, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSetup(t, tc.opts)
			s.cfg.Probe.Enabled = true
			o := run(t, s.cfg)
			o.wantStatuses(t, healthy, 0)

			cs := s.fake.Containers()
			if len(cs) != 1 || cs[0].ImageURL != doctor.DefaultProbeImageURL || cs[0].StatusCode != "FINISHED" {
				t.Fatalf("containers: %+v", cs)
			}
			if n := s.fake.CountCalls("POST", "/media_publish"); n != 0 || len(s.fake.Published(s.acct.ID)) != 0 {
				t.Fatalf("the probe published (%d media_publish)", n)
			}
			if n := s.fake.CountCalls("GET", "/"+cs[0].ID); n != tc.statusReads {
				t.Errorf("status reads = %d, want %d", n, tc.statusReads)
			}
			p := o.check(t, doctor.CheckProbe)
			if p.Account != s.acct.ID || p.Facts["container_id"] != cs[0].ID || p.Facts["read_after_write"] != tc.readAfterWrite ||
				p.Facts["status_reads"] != tc.statusReads || p.Facts["recorded"] != true {
				t.Fatalf("probe = %+v", p)
			}

			f, err := learned.Load(t.Context(), s.openStore(t), appID, s.acct.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !f.Known() || f.ReadAfterWrite == nil || *f.ReadAfterWrite != tc.readAfterWrite ||
				f.ImageStatusReads == nil || *f.ImageStatusReads != tc.statusReads || f.ImageReady == nil || f.APIVersion != "v25.0" {
				t.Fatalf("learned = %+v", f)
			}
			if tc.statusReads == 0 && *f.ImageReady != 0 {
				t.Errorf("ready in the creation answer, but ImageReady = %v", *f.ImageReady)
			}
			if age := time.Since(f.MeasuredAt); age < 0 || age > time.Hour {
				t.Errorf("MeasuredAt = %v", f.MeasuredAt)
			}
			// Nothing is recorded under another app id.
			if other, _ := learned.Load(t.Context(), s.openStore(t), "", s.acct.ID); other.Known() {
				t.Errorf("recorded under app \"\" too: %+v", other)
			}
		})
	}
}

// Without --probe nothing is created on Instagram.
func TestReadOnlyByDefault(t *testing.T) {
	s := newSetup(t, fakegraph.Options{})
	o := run(t, s.cfg)
	o.wantStatuses(t, "config=ok store=ok media_root=skip staging=skip token=ok login=ok account=ok scopes=ok quota=ok rate_limit=ok webhooks=skip probe=skip", 0)
	o.want(t, doctor.CheckProbe, doctor.Skip, "--probe", "")
	for _, c := range s.fake.Calls() {
		if c.Method != "GET" {
			t.Errorf("doctor wrote: %s %s", c.Method, c.Path)
		}
	}
}

func TestProbeOutcomes(t *testing.T) {
	t.Run("container ends in ERROR", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{NoReadAfterWrite: true})
		s.fake.SetMediaOutcome("probe.jpg", fakegraph.Outcome{StatusCode: "ERROR", Subcode: 2207052})
		s.cfg.Probe.Enabled = true
		o := run(t, s.cfg)
		o.want(t, doctor.CheckProbe, doctor.Warn, "ended ERROR", "--probe-image-url")
		if o.code != 0 {
			t.Errorf("exit %d: a probe image Instagram cannot use is a warning", o.code)
		}
		f, _ := learned.Load(t.Context(), s.openStore(t), appID, s.acct.ID)
		if f.ReadAfterWrite == nil || *f.ReadAfterWrite || f.ImageReady != nil || f.ImageStatusReads != nil {
			t.Fatalf("learned = %+v: read-after-write is known, the processing time is not", f)
		}
	})
	t.Run("still processing at the timeout", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{ReadAfterWrite: true, ImageProcessing: time.Hour})
		s.cfg.Probe = doctor.Probe{Enabled: true, PollInterval: time.Millisecond, Timeout: 20 * time.Millisecond}
		o := run(t, s.cfg)
		o.want(t, doctor.CheckProbe, doctor.Warn, "still IN_PROGRESS", "--probe-timeout")
		f, _ := learned.Load(t.Context(), s.openStore(t), appID, s.acct.ID)
		if f.ReadAfterWrite == nil || !*f.ReadAfterWrite || f.ImageReady != nil {
			t.Fatalf("learned = %+v", f)
		}
		if n := len(s.fake.Containers()); n != 1 {
			t.Fatalf("%d containers", n)
		}
	})
	t.Run("refused at creation", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{})
		s.fake.SetMediaOutcome("probe.jpg", fakegraph.Outcome{StatusCode: "ERROR", Subcode: 2207052, AtCreation: true})
		s.cfg.Probe.Enabled = true
		o := run(t, s.cfg)
		o.want(t, doctor.CheckProbe, doctor.Fail, "could not be created", "--probe-image-url")
		if f, _ := learned.Load(t.Context(), s.openStore(t), appID, s.acct.ID); f.Known() {
			t.Fatalf("recorded %+v from a failed probe", f)
		}
	})
	t.Run("a probe image URL that is not https", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{})
		s.cfg.Probe.Enabled, s.cfg.Probe.ImageURL = true, "http://example.com/a.jpg"
		o := run(t, s.cfg)
		o.want(t, doctor.CheckProbe, doctor.Fail, "--probe-image-url", "https")
		if n := s.fake.CountCalls("POST", "/media"); n != 0 {
			t.Fatalf("%d containers created", n)
		}
	})
	// A lost answer is not retried: a second POST could be a second
	// container, and the probe makes one.
	t.Run("the creation answer is lost", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{})
		s.fake.Inject(fakegraph.Fault{Method: "POST", PathSuffix: "/media", Action: fakegraph.FaultHTTP500})
		s.cfg.Probe.Enabled = true
		o := run(t, s.cfg)
		o.want(t, doctor.CheckProbe, doctor.Fail, "could not be created", "network")
		if n := s.fake.CountCalls("POST", "/media"); n != 1 {
			t.Fatalf("%d POST /media, want exactly 1", n)
		}
	})
	t.Run("a probe image URL of the user's", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{})
		s.cfg.Probe.Enabled, s.cfg.Probe.ImageURL = true, "https://cdn.example.com/probe-me.jpg"
		run(t, s.cfg).want(t, doctor.CheckProbe, doctor.OK, "recorded", "")
		if cs := s.fake.Containers(); len(cs) != 1 || cs[0].ImageURL != "https://cdn.example.com/probe-me.jpg" {
			t.Fatalf("containers %+v", cs)
		}
	})
}

// The default probe image is a JPEG Instagram takes: width 320–1440 px,
// aspect ratio 4:5 to 1.91:1 (docs/graph-api.md §13).
func TestDefaultProbeImage(t *testing.T) {
	if !strings.HasSuffix(doctor.DefaultProbeImageURL, "/docs/probe.jpg") {
		t.Fatalf("DefaultProbeImageURL %s does not name docs/probe.jpg", doctor.DefaultProbeImageURL)
	}
	f, err := os.Open("../docs/probe.jpg")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, format, err := image.DecodeConfig(f)
	if err != nil || format != "jpeg" {
		t.Fatalf("docs/probe.jpg: %s, %v", format, err)
	}
	ratio := float64(c.Width) / float64(c.Height)
	if c.Width < 320 || c.Width > 1440 || ratio < 0.8 || ratio > 1.91 {
		t.Fatalf("docs/probe.jpg is %dx%d", c.Width, c.Height)
	}
}
