package storetest

import (
	"database/sql"
	"net/url"
	"testing"
)

// ReadOnlyRole creates a login role that may read the tables of the schema
// schemaURL uses (FreshURL) but not write them, and returns a URL
// connecting as it. With create it may also CREATE in the schema, so a
// store whose schema is current still opens (its migration step creates
// nothing); without, opening fails in the migration. The role is dropped
// when t ends.
func ReadOnlyRole(t testing.TB, schemaURL string, create bool) string {
	t.Helper()
	u, err := url.Parse(schemaURL)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	if schema == "" {
		t.Fatal("ReadOnlyRole needs a URL from FreshURL")
	}
	role := "ro_" + schema
	db, err := sql.Open("pgx", schemaURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	grants := []string{
		`CREATE ROLE ` + role + ` LOGIN`,
		`GRANT USAGE ON SCHEMA ` + schema + ` TO ` + role,
		`GRANT SELECT ON ALL TABLES IN SCHEMA ` + schema + ` TO ` + role,
	}
	if create {
		grants = append(grants, `GRANT CREATE ON SCHEMA `+schema+` TO `+role)
	}
	for _, q := range grants {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", schemaURL)
		if err != nil {
			t.Errorf("drop role %s: %v", role, err)
			return
		}
		defer db.Close()
		for _, q := range []string{`DROP OWNED BY ` + role, `DROP ROLE ` + role} {
			if _, err := db.Exec(q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
	})
	u.User = url.User(role)
	return u.String()
}
