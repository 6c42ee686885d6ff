package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// migrationLockKey is an arbitrary constant naming igmcp's advisory lock:
// processes opening the database at once take turns migrating.
const migrationLockKey = 0x69676d6370 // "igmcp"

func postgresDialect() *dialect {
	return &dialect{
		name:   "postgres",
		dollar: true,
		types: map[string]string{
			"{{ts}}":     "TIMESTAMPTZ",
			"{{bytes}}":  "BYTEA",
			"{{serial}}": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
			"{{strict}}": "",
		},
		lockRows:      " FOR UPDATE SKIP LOCKED",
		migrationLock: fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrationLockKey),
	}
}

func openPostgres(ctx context.Context, databaseURL string) (Store, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		// pgconn redacts the password in its parse errors.
		return nil, fmt.Errorf("store: parse database URL: %v: %w", err, ErrInvalid)
	}
	// Times travel as timestamptz values, never as text in the session's
	// time zone, so the server's TimeZone setting cannot shift them.
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to postgres: %w", err)
	}
	d := postgresDialect()
	if err := migrate(ctx, db, d); err != nil {
		db.Close()
		return nil, err
	}
	channel, err := eventChannel(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &sqlStore{db: db, rdb: db, d: d, events: eventSignals{listen: cfg, channel: channel}}, nil
}
