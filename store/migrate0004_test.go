package store_test

import (
	"testing"
	"time"

	"github.com/igmcp/igmcp/store"
)

// A database made before 0004 keeps its schedules through the upgrade, each
// created by "" (an unscoped caller, who alone sees them), and takes new
// creators after it.
func TestMigration0004_ScheduleCreator(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			cfg := b.config(t)
			s, err := store.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			// Back to the schema of 0003, with one schedule in it.
			db := b.raw(t, cfg)
			ts := any(time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC).UnixMicro())
			ph := []string{"?", "?", "?", "?", "?", "?", "?", "?"}
			if b.name == "PostgreSQL" {
				ts = time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
				ph = []string{"$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8"}
			}
			for _, q := range []string{
				`DROP INDEX schedules_by_creator`,
				`ALTER TABLE schedules DROP COLUMN created_by`,
				`DELETE FROM schema_migrations WHERE version = 4`,
			} {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO schedules (id, account_id, kind, publish_at, idem_key, state, created_at, updated_at)
				VALUES (`+ph[0]+`, `+ph[1]+`, `+ph[2]+`, `+ph[3]+`, `+ph[4]+`, `+ph[5]+`, `+ph[6]+`, `+ph[7]+`)`,
				"sch_old", "a", "post", ts, "schedule:sch_old", "scheduled", ts, ts); err != nil {
				t.Fatal(err)
			}
			s = openCfg(t, cfg)
			old, err := s.GetSchedule(ctx, "sch_old")
			if err != nil || old.CreatedBy != "" || old.State != store.RunScheduled {
				t.Fatalf("old schedule after the upgrade: %+v, %v", old, err)
			}
			if _, err := s.CreateSchedule(ctx, store.Schedule{ID: "sch_new", AccountID: "a", Kind: store.KindPost,
				PublishAt: time.Now(), IdempotencyKey: "k", CreatedBy: "team-a"}); err != nil {
				t.Fatal(err)
			}
			mine, err := s.ListSchedules(ctx, store.ScheduleFilter{AccountID: "a", CreatedBy: "team-a"})
			if err != nil || len(mine) != 1 || mine[0].ID != "sch_new" {
				t.Fatalf("team-a's schedules: %+v, %v", mine, err)
			}
		})
	}
}
