package doctor

import (
	"context"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/igmcp/igmcp/localfile"
	"github.com/igmcp/igmcp/staging"
	"github.com/igmcp/igmcp/store"
)

// checkStore opens the store as the server does at start (creating it and
// applying pending migrations, which the server would do anyway) and
// proves it takes writes with a write it rolls back. The open store is
// returned for the token store and --probe; nil when it did not open.
func (d *doctor) checkStore(ctx context.Context) (store.Store, Result) {
	where, backend, secret := storeLocation(d.cfg.Store)
	clean := func(err error) string {
		s := err.Error()
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "REDACTED")
		}
		return s
	}
	facts := map[string]any{"backend": backend, "location": where}
	st, err := store.Open(ctx, d.cfg.Store)
	if err != nil {
		fix := "check IGMCP_DATA_DIR / IGMCP_DATABASE_URL"
		switch {
		case errors.Is(err, store.ErrConflict):
			fix = "upgrade igmcp: a newer version has migrated this database"
		case deniedWrite(err):
			fix = writeFix(backend, where)
		}
		return nil, Result{Name: CheckStore, Status: Fail, Detail: "cannot open " + where + ": " + clean(err), Fix: fix, Facts: facts}
	}
	if err := st.CheckWritable(ctx); err != nil {
		st.Close()
		return nil, Result{Name: CheckStore, Status: Fail, Detail: where + " opens but takes no writes: " + clean(err),
			Fix: writeFix(backend, where), Facts: facts}
	}
	return st, Result{Name: CheckStore, Status: OK, Detail: where + ": schema current, writable", Facts: facts}
}

// storeLocation names the store for messages, never with a password
// (returned apart so it can be scrubbed from errors too).
func storeLocation(c store.Config) (where, backend, secret string) {
	if c.DatabaseURL == "" {
		return filepath.Join(c.DataDir, "igmcp.db"), "sqlite", ""
	}
	u, err := url.Parse(c.DatabaseURL)
	if err != nil {
		return "the PostgreSQL database of IGMCP_DATABASE_URL", "postgres", ""
	}
	if p, ok := u.User.Password(); ok {
		secret = p
	}
	where = "PostgreSQL " + u.Host + u.Path
	if u.Host == "" {
		where = "PostgreSQL " + strings.TrimPrefix(u.Path, "/") + " (unix socket)"
	}
	return where, "postgres", secret
}

func writeFix(backend, where string) string {
	if backend == "postgres" {
		return "grant igmcp's database role USAGE and CREATE on its schema and SELECT, INSERT, UPDATE, DELETE on its tables"
	}
	return "give the user igmcp runs as write access to " + filepath.Dir(where) + " and the files in it"
}

// deniedWrite recognises a refused write however it surfaced: the file
// system (EACCES, EPERM, EROFS), SQLite (SQLITE_READONLY, SQLITE_CANTOPEN
// on a file it may not write) or PostgreSQL (42501 insufficient_privilege).
func deniedWrite(err error) bool {
	if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return true
	}
	s := strings.ToLower(err.Error())
	for _, sign := range []string{"permission denied", "readonly", "read-only", "42501", "operation not permitted", "unable to open database file"} {
		if strings.Contains(s, sign) {
			return true
		}
	}
	return false
}

// checkMediaRoot checks IGMCP_MEDIA_ROOT with the server's own gate
// (localfile), then that this user may list it.
func (d *doctor) checkMediaRoot() Result {
	root := d.cfg.MediaRoot
	if root == "" {
		return Result{Name: CheckMediaRoot, Status: Skip,
			Detail: "IGMCP_MEDIA_ROOT is not set (optional): igmcp stdio reads file_path under your home and temporary directories, igmcp http refuses file_path"}
	}
	facts := map[string]any{"path": root}
	fix := "set IGMCP_MEDIA_ROOT to an existing directory, as an absolute path, that igmcp may read"
	st, err := os.Stat(root)
	switch {
	case !filepath.IsAbs(root):
		return Result{Name: CheckMediaRoot, Status: Fail, Detail: root + " is not an absolute path", Fix: fix, Facts: facts}
	case errors.Is(err, os.ErrNotExist):
		return Result{Name: CheckMediaRoot, Status: Fail, Detail: root + " does not exist", Fix: fix, Facts: facts}
	case err != nil:
		return Result{Name: CheckMediaRoot, Status: Fail, Detail: root + ": " + err.Error(), Fix: fix, Facts: facts}
	case !st.IsDir():
		return Result{Name: CheckMediaRoot, Status: Fail, Detail: root + " is not a directory", Fix: fix, Facts: facts}
	}
	if _, err := localfile.NewPolicy(localfile.Options{Root: root}); err != nil {
		return Result{Name: CheckMediaRoot, Status: Fail, Detail: err.Error(), Fix: fix, Facts: facts}
	}
	f, err := os.Open(root)
	if err == nil {
		_, err = f.Readdirnames(1)
		f.Close()
		if errors.Is(err, io.EOF) {
			err = nil
		}
	}
	if err != nil {
		return Result{Name: CheckMediaRoot, Status: Fail, Detail: root + " cannot be read: " + err.Error(),
			Fix: "give the user igmcp runs as read access to " + root, Facts: facts}
	}
	detail := root + ": a readable directory; file_path may name files inside it"
	if dir := d.cfg.Store.DataDir; dir != "" && d.cfg.Store.DatabaseURL == "" && inside(dir, root) {
		detail += " (except the data directory " + dir + ", which is never read)"
	}
	return Result{Name: CheckMediaRoot, Status: OK, Detail: detail, Facts: facts}
}

func inside(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// checkStaging asks the staging bucket whether it is there for these
// credentials (HeadBucket); nothing is uploaded.
func (d *doctor) checkStaging(ctx context.Context) Result {
	c := d.cfg.Staging
	if c == nil {
		return Result{Name: CheckStaging, Status: Skip,
			Detail: "IGMCP_STAGING_BUCKET is not set (optional): an image given as file_path is refused; give image_url"}
	}
	where := "bucket " + c.Bucket
	if c.Endpoint != "" {
		where += " at " + hostOf(c.Endpoint)
	}
	facts := map[string]any{"bucket": c.Bucket}
	b, err := staging.New(*c)
	if err != nil {
		return Result{Name: CheckStaging, Status: Fail, Detail: err.Error(), Fix: "fix the IGMCP_STAGING_* settings (docs/reference.md §2)", Facts: facts}
	}
	err = b.Check(ctx)
	var ce *staging.CheckError
	errors.As(err, &ce)
	switch {
	case err == nil:
		return Result{Name: CheckStaging, Status: OK, Detail: where + " is reachable with these credentials", Facts: facts}
	case ce != nil && ce.HTTPStatus == 403:
		return Result{Name: CheckStaging, Status: Warn,
			Detail: where + " answered 403 to HeadBucket: the credentials may lack s3:ListBucket, or the bucket is someone else's",
			Fix:    "make sure the credentials may s3:PutObject, s3:GetObject and s3:DeleteObject on the bucket (and s3:ListBucket for this check)", Facts: facts}
	case ce != nil && ce.HTTPStatus == 404:
		return Result{Name: CheckStaging, Status: Fail, Detail: where + " does not exist", Fix: "create the bucket, or fix IGMCP_STAGING_BUCKET", Facts: facts}
	case ce != nil && ce.HTTPStatus == 301:
		return Result{Name: CheckStaging, Status: Fail, Detail: where + " is in another region", Fix: "set IGMCP_STAGING_REGION to the bucket's region", Facts: facts}
	}
	return Result{Name: CheckStaging, Status: Fail, Detail: where + " cannot be reached: " + err.Error(),
		Fix: "check IGMCP_STAGING_ENDPOINT, the credentials and the network", Facts: facts}
}
