package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// sqliteFile is the database's name inside the data directory.
const sqliteFile = "igmcp.db"

func sqliteDialect() *dialect {
	return &dialect{
		name: "sqlite",
		types: map[string]string{
			"{{ts}}":     "INTEGER",
			"{{bytes}}":  "BLOB",
			"{{serial}}": "INTEGER PRIMARY KEY AUTOINCREMENT",
			"{{strict}}": "STRICT",
		},
		timeAsMicros: true,
	}
}

// sqliteDSN builds the connection string of the writing connection:
//   - busy_timeout: wait for another process's write lock instead of
//     failing at once (within this process writers queue in sqliteWriter
//     and never meet the lock held);
//   - journal_mode WAL: readers never block the writer nor it them;
//   - synchronous FULL: each commit is fsynced before it returns. NORMAL
//     (the usual WAL pairing) may lose the last commits on power loss, and
//     the ledger must not forget "publish_sent" once the publish was sent;
//     the writer commits concurrent writes together, so a burst pays one
//     fsync, not one per write;
//   - _txlock=immediate: every transaction is BEGIN IMMEDIATE, taking the
//     write lock up front. A deferred transaction that reads then writes
//     can fail with SQLITE_BUSY at the upgrade, which no busy timeout
//     retries; immediate ones queue on the busy timeout instead, and they
//     are what makes a claim exclusive across processes.
func sqliteDSN(file string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	return sqliteURL(file, q)
}

// sqliteReadDSN is the connection string of the read pool. query_only makes
// a write sent to it by mistake fail instead of bypassing the writer.
func sqliteReadDSN(file string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Set("_query_only", "1")
	return sqliteURL(file, q)
}

func sqliteURL(file string, q url.Values) string {
	u := url.URL{Scheme: "file", Path: file, RawQuery: q.Encode()}
	// url.URL renders "file:///abs/path"; SQLite's URI parser accepts that,
	// and it escapes any ? or # in the path.
	return u.String()
}

// sqliteReaders bounds the read pool. Reads in WAL mode run in parallel
// with each other and with the writer; more connections than cores only
// add page caches.
func sqliteReaders() int { return max(4, runtime.NumCPU()) }

func openSQLite(ctx context.Context, dataDir string) (Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data dir: %w", err)
	}
	abs, err := filepath.Abs(filepath.Join(dataDir, sqliteFile))
	if err != nil {
		return nil, fmt.Errorf("store: data dir: %w", err)
	}
	// Create the file ourselves so it is private: SQLite would use 0644,
	// and the WAL and shared-memory files copy the database's mode.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: create database file: %w", err)
	}
	f.Close()

	// One writing connection: writers wait for it in Go (sqliteWriter),
	// not in SQLite's busy handler.
	wdb, err := sql.Open("sqlite", sqliteDSN(abs))
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	if err := pingSQLite(ctx, wdb); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", abs, err)
	}
	d := sqliteDialect()
	if err := migrate(ctx, wdb, d); err != nil {
		wdb.Close()
		return nil, err
	}
	// Readers open after the migration turned the file to WAL.
	rdb, err := sql.Open("sqlite", sqliteReadDSN(abs))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	rdb.SetMaxOpenConns(sqliteReaders())
	rdb.SetMaxIdleConns(sqliteReaders())
	if err := rdb.PingContext(ctx); err != nil {
		rdb.Close()
		wdb.Close()
		return nil, fmt.Errorf("store: open sqlite %s for reading: %w", abs, err)
	}
	return &sqlStore{db: wdb, rdb: rdb, w: newSQLiteWriter(wdb), d: d}, nil
}

// pingSQLite opens the first connection. Turning a new database to WAL
// needs an exclusive lock that SQLite does not wait for (the busy handler
// is not consulted there), so processes opening one new database at once,
// as igmcp servers sharing a data directory do, can get SQLITE_BUSY from
// the DSN's journal_mode pragma: try again for as long as busy_timeout
// would have waited.
func pingSQLite(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := db.PingContext(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// isBusy reports SQLITE_BUSY (primary code 5, any extended code).
func isBusy(err error) bool {
	var e interface{ Code() int }
	return errors.As(err, &e) && e.Code()&0xff == 5
}
