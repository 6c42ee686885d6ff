package doctor_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/doctor"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/store"
	"github.com/igmcp/igmcp/store/storetest"
)

// storeAccount puts an account in the setup's token store, as
// `igmcp auth login` would (the key is generated in the data directory).
func storeAccount(t *testing.T, s *setup, rec auth.Record) {
	t.Helper()
	st := s.openStore(t)
	key, err := auth.LoadKey(s.cfg.Key)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := auth.NewTokenStore(t.Context(), st, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Put(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	st.Close()
}

// readOnly makes path (a file or directory) unwritable for this process:
// chmod for an ordinary user, the immutable attribute for root, whom
// permissions do not stop. It is undone when t ends.
func readOnly(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() != 0 {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o444)
		if st.IsDir() {
			mode = 0o555
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(path, st.Mode().Perm()) })
		return
	}
	if err := setImmutable(path, true); err != nil {
		t.Fatalf("chattr +i %s: %v", path, err)
	}
	t.Cleanup(func() {
		if err := setImmutable(path, false); err != nil {
			t.Errorf("chattr -i %s: %v", path, err)
		}
	})
}

// setImmutable sets or clears FS_IMMUTABLE_FL (chattr +i) with the
// FS_IOC_SETFLAGS ioctl.
func setImmutable(path string, on bool) error {
	const (
		getFlags  = 0x80086601 // FS_IOC_GETFLAGS
		setFlags  = 0x40086602 // FS_IOC_SETFLAGS
		immutable = 0x10       // FS_IMMUTABLE_FL
	)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var flags int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), getFlags, uintptr(unsafe.Pointer(&flags))); e != 0 {
		return e
	}
	if on {
		flags |= immutable
	} else {
		flags &^= immutable
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), setFlags, uintptr(unsafe.Pointer(&flags))); e != 0 {
		return e
	}
	return nil
}

func TestStoreNotWritable(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{})
		st := s.openStore(t) // created and migrated by an earlier run
		st.Close()
		db := filepath.Join(s.cfg.Store.DataDir, "igmcp.db")
		for _, p := range []string{db, db + "-wal", db + "-shm"} {
			if _, err := os.Stat(p); err == nil {
				readOnly(t, p)
			}
		}
		readOnly(t, s.cfg.Store.DataDir)
		s.cfg.Probe.Enabled = true
		o := run(t, s.cfg)
		o.want(t, doctor.CheckStore, doctor.Fail, db, "write access to "+s.cfg.Store.DataDir)
		// The account's checks still run with the token from the environment.
		o.want(t, doctor.CheckToken, doctor.OK, "valid", "")
		o.want(t, doctor.CheckProbe, doctor.Fail, "no container was created", "fix the store")
		if n := len(s.fake.Containers()); n != 0 {
			t.Fatalf("%d containers created with nowhere to record what they teach", n)
		}
		if o.code != 1 {
			t.Errorf("exit %d", o.code)
		}
	})
	// Roles that may read but not write: the migration fails (no CREATE on
	// the schema), or the rolled-back write does (no INSERT).
	for _, tc := range []struct {
		create      bool
		detail, fix string
	}{
		{false, "permission denied", "grant igmcp's database role USAGE and CREATE"},
		{true, "opens but takes no writes", "INSERT"},
	} {
		t.Run(fmt.Sprintf("PostgreSQL read-only role, CREATE %v", tc.create), func(t *testing.T) {
			requirePG(t)
			s := newSetup(t, fakegraph.Options{})
			owner := pg.FreshURL(t)
			s.cfg.Store = store.Config{DatabaseURL: owner}
			s.openStore(t).Close() // created and migrated by its owner
			s.cfg.Store = store.Config{DatabaseURL: storetest.ReadOnlyRole(t, owner, tc.create)}
			run(t, s.cfg).want(t, doctor.CheckStore, doctor.Fail, tc.detail, tc.fix)
		})
	}
	t.Run("a database password never shows", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{})
		s.cfg.Store = store.Config{DatabaseURL: "postgres://igmcp:s3cret-db-pass@127.0.0.1:1/igmcp?connect_timeout=1"}
		o := run(t, s.cfg)
		o.want(t, doctor.CheckStore, doctor.Fail, "PostgreSQL 127.0.0.1:1/igmcp", "IGMCP_DATABASE_URL")
		if strings.Contains(o.text+o.raw, "s3cret-db-pass") {
			t.Fatalf("the database password is in the report:\n%s", o.text)
		}
	})
}

func TestTokenStore(t *testing.T) {
	t.Run("no token at all", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{})
		s.cfg.Token = ""
		o := run(t, s.cfg)
		o.wantStatuses(t, "config=ok store=ok media_root=skip staging=skip token=fail probe=skip", 1)
		o.want(t, doctor.CheckToken, doctor.Fail, "no access token", "igmcp auth login --login facebook")
		if fileExists(filepath.Join(s.cfg.Store.DataDir, auth.KeyFileName)) {
			t.Error("doctor generated a key")
		}
	})
	t.Run("stored accounts", func(t *testing.T) {
		second := fakegraph.Account{ID: "17841400000000009", Username: "second", Token: "EAAsecond", Login: fakegraph.LoginFacebook}
		s := newSetup(t, fakegraph.Options{Accounts: []fakegraph.Account{fbAccount, second}})
		for _, a := range []fakegraph.Account{fbAccount, second} {
			storeAccount(t, s, auth.Record{AccountID: a.ID, Username: a.Username, Login: auth.LoginFacebook, Token: auth.Secret(a.Token)})
		}
		s.cfg.Token, s.cfg.DefaultAccount, s.cfg.Probe.Enabled = "", "@second", true
		o := run(t, s.cfg)
		var accounts []string
		for _, r := range o.report.Results {
			if r.Name == doctor.CheckAccount {
				accounts = append(accounts, r.Account+"="+string(r.Status))
			}
		}
		if strings.Join(accounts, " ") != fbAccount.ID+"=ok "+second.ID+"=ok" || o.code != 0 {
			t.Fatalf("accounts %v, exit %d\n%s", accounts, o.code, o.text)
		}
		if p := o.check(t, doctor.CheckProbe); p.Account != second.ID || p.Status != doctor.OK {
			t.Fatalf("probe %+v: want the default account", p)
		}
		for _, tok := range []string{fbAccount.Token, second.Token} {
			if strings.Contains(o.text+o.raw, tok) {
				t.Fatal("a stored token is in the report")
			}
		}
	})
	t.Run("the key is missing", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{})
		storeAccount(t, s, auth.Record{AccountID: s.acct.ID, Login: auth.LoginFacebook, Token: auth.Secret(s.acct.Token)})
		keyFile := filepath.Join(s.cfg.Store.DataDir, auth.KeyFileName)
		if err := os.Remove(keyFile); err != nil {
			t.Fatal(err)
		}
		s.cfg.Token = ""
		o := run(t, s.cfg)
		o.want(t, doctor.CheckToken, doctor.Fail, "is missing", "IGMCP_SECRET_KEY")
		if fileExists(keyFile) {
			t.Error("doctor generated a new key")
		}
	})
	t.Run("another key", func(t *testing.T) {
		s := newSetup(t, fakegraph.Options{})
		storeAccount(t, s, auth.Record{AccountID: s.acct.ID, Login: auth.LoginFacebook, Token: auth.Secret(s.acct.Token)})
		s.cfg.Token = ""
		s.cfg.Key = auth.KeyConfig{Key: "0000000000000000000000000000000000000000000000000000000000000000"}
		run(t, s.cfg).want(t, doctor.CheckToken, doctor.Fail, "cannot be decrypted", "auth reset --yes")
	})
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
