package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrationFiles are compiled into the binary so a deployed igmcp needs
// nothing beside itself to create or upgrade its database.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded files NNNN_name.sql in version order.
func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		prefix, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must start with a positive number and '_'", name)
		}
		body, err := migrationFiles.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %q and %q share version %d", ms[i-1].name, ms[i].name, ms[i].version)
		}
	}
	return ms, nil
}

// statements turns one migration into the dialect's statements.
func (d *dialect) statements(m migration) []string {
	text := m.sql
	for token, repl := range d.types {
		text = strings.ReplaceAll(text, token, repl)
	}
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// migrate applies every embedded migration the database lacks, all in one
// transaction so a failure leaves the schema as it was. Several processes
// may open the same database at once: SQLite serialises them through the
// write lock its BEGIN IMMEDIATE takes, PostgreSQL through an advisory lock,
// and whoever comes second finds the work done.
func migrate(ctx context.Context, db *sql.DB, d *dialect) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("store: load migrations: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	if d.migrationLock != "" {
		if _, err := tx.ExecContext(ctx, d.migrationLock); err != nil {
			return fmt.Errorf("store: migrate: lock: %w", err)
		}
	}
	create := d.statements(migration{sql: `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at {{ts}} NOT NULL
) {{strict}};`})
	if _, err := tx.ExecContext(ctx, create[0]); err != nil {
		return fmt.Errorf("store: migrate: create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("store: migrate: read versions: %w", err)
	}
	maxApplied := 0
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("store: migrate: read versions: %w", err)
		}
		applied[v] = true
		maxApplied = max(maxApplied, v)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("store: migrate: read versions: %w", err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: migrate: read versions: %w", err)
	}
	// A newer igmcp has migrated this database: this binary does not know
	// the schema it would be writing to, so it must not run.
	if latest := ms[len(ms)-1].version; maxApplied > latest {
		return fmt.Errorf("store: database schema version %d is newer than this igmcp supports (%d): %w", maxApplied, latest, ErrConflict)
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		for _, stmt := range d.statements(m) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("store: migration %s: %w", m.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, d.bind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
			m.version, m.name, d.time(time.Now())); err != nil {
			return fmt.Errorf("store: migration %s: record version: %w", m.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrate: commit: %w", err)
	}
	return nil
}
