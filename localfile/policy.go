package localfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/igmcp/igmcp/failure"
)

// Options say which local files tools may read.
type Options struct {
	// Root (IGMCP_MEDIA_ROOT) is the only directory file_path may name
	// when set, over every transport.
	Root string
	// Remote is true when the caller is not the user of this machine
	// (igmcp http: a shared server, a remote client). Without Root, a
	// remote caller may not name local files at all.
	Remote bool
	// Exclude are directories never readable, even inside Root (the
	// server's own data directory: token store, database).
	Exclude []string
	// Home and Temp replace the user's home and temporary directories
	// (os.UserHomeDir, os.TempDir) in the default roots; for tests.
	Home, Temp string
}

// root is one directory file_path may name.
type root struct {
	given, real string // as configured, and with links resolved
	// noHidden refuses names starting with "." below the root: the default
	// roots hold ~/.ssh, ~/.config and the like, which no one posts from.
	noHidden bool
}

// Policy is the media-root gate: which absolute paths a tool may open. It is
// safe for concurrent use.
type Policy struct {
	roots   []root
	exclude []string // resolved
	where   string   // the allowed directories, for messages
	remote  bool
}

// NewPolicy resolves the allowed directories. Defaults without a Root:
// over stdio (Remote false) the user's home directory and the temporary
// directory, outside hidden directories; over HTTP (Remote true) nothing.
func NewPolicy(o Options) (*Policy, error) {
	p := &Policy{remote: o.Remote}
	for _, e := range o.Exclude {
		if e = strings.TrimSpace(e); e == "" || !filepath.IsAbs(e) {
			continue
		}
		e = filepath.Clean(e)
		p.exclude = append(p.exclude, e)
		if real, err := filepath.EvalSymlinks(e); err == nil && real != e {
			p.exclude = append(p.exclude, real)
		}
	}
	if o.Root != "" {
		r, err := newRoot(o.Root, false)
		if err != nil {
			return nil, fmt.Errorf("IGMCP_MEDIA_ROOT must be an absolute path to a directory, got %q", o.Root)
		}
		p.roots = []root{r}
		p.where = fmt.Sprintf("the media directory %s (IGMCP_MEDIA_ROOT)", r.given)
		return p, nil
	}
	if o.Remote {
		return p, nil
	}
	home, temp := o.Home, o.Temp
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	if temp == "" {
		temp = os.TempDir()
	}
	var names []string
	for _, d := range []string{home, temp} {
		r, err := newRoot(d, true)
		// A home of "/" (some service accounts) would open everything.
		if err != nil || r.real == "/" || r.given == "/" {
			continue
		}
		p.roots = append(p.roots, r)
		names = append(names, r.given)
	}
	p.where = fmt.Sprintf("%s, outside hidden directories (IGMCP_MEDIA_ROOT is not set)", strings.Join(names, " or "))
	return p, nil
}

func newRoot(dir string, noHidden bool) (root, error) {
	clean, ok := cleanAbs(dir)
	if !ok {
		return root{}, errors.New("not absolute")
	}
	real, err := filepath.EvalSymlinks(clean)
	if err != nil {
		return root{}, err
	}
	st, err := os.Stat(real)
	if err != nil || !st.IsDir() {
		return root{}, errors.New("not a directory")
	}
	return root{given: clean, real: real, noHidden: noHidden}, nil
}

// Roots are the allowed directories as configured (none: local files are
// refused).
func (p *Policy) Roots() []string {
	var out []string
	for _, r := range p.roots {
		out = append(out, r.given)
	}
	return out
}

// Check is the gate every tool applies to a file_path argument before
// anything opens it: the path must be absolute, inside an allowed directory
// (symbolic links resolved, then checked again), outside /proc, /sys and
// /dev and the excluded directories, and name an existing regular file. It
// returns the resolved path. A file that does not exist and a file outside
// the allowed directories get the same invalid_input sentence; the check
// touches the file system only for paths inside an allowed directory.
func (p *Policy) Check(field, path string) (string, error) {
	if path == "" {
		return "", failure.Invalid(field, "%s is empty", field)
	}
	clean, ok := cleanAbs(path)
	if !ok {
		return "", failure.Invalid(field, "%s must be an absolute path on the server's machine, got %q", field, path)
	}
	if len(p.roots) == 0 {
		e := failure.Invalid(field, "this server does not read local files for remote callers: %s is refused because the operator has not set IGMCP_MEDIA_ROOT", field)
		e.Action = "Give a public https URL of the media instead of " + field + ", or ask the server's operator to set IGMCP_MEDIA_ROOT to a directory of media files."
		return "", e
	}
	refused := func() (string, error) {
		e := failure.Invalid(field, "%s is not a file this server may read: it must be an existing file inside %s", path, p.where)
		e.Action = "Give the absolute path of a media file inside the allowed directories, or a public https URL instead."
		return "", e
	}
	if isPseudo(clean) || !p.lexicallyAllowed(clean) {
		return refused()
	}
	var (
		real string
		st   os.FileInfo
	)
	err := bounded(DefaultTimeout, func() error {
		var err error
		real, st, err = resolve(clean)
		return err
	}, nil)
	switch {
	case errors.Is(err, ErrTimeout):
		e := failure.Invalid(field, "%s could not be read: the file system did not answer in time", path)
		e.Action = "Check that the file's disk or network mount is working, or give a public https URL instead."
		return "", e
	case errors.Is(err, ErrNotRegular) && p.allowed(real):
		what := "not a regular file"
		switch {
		case st.IsDir():
			what = "a directory"
		case st.Mode()&os.ModeNamedPipe != 0:
			what = "a named pipe (FIFO)"
		case st.Mode()&os.ModeSocket != 0:
			what = "a socket"
		case st.Mode()&os.ModeDevice != 0:
			what = "a device"
		}
		return "", failure.Invalid(field, "%s is %s; give a JPEG, MP4 or MOV file", path, what)
	case err != nil, !p.allowed(real):
		return refused()
	}
	return real, nil
}

// lexicallyAllowed is the check before any file-system access: the path
// as written must be inside a root (as configured or as resolved).
func (p *Policy) lexicallyAllowed(clean string) bool {
	for _, r := range p.roots {
		for _, dir := range []string{r.given, r.real} {
			if within(clean, dir) && !(r.noHidden && hidden(clean, dir)) {
				return true
			}
		}
	}
	return false
}

// allowed checks the resolved path: inside a root, no hidden directory
// below a default root, not excluded.
func (p *Policy) allowed(real string) bool {
	if real == "" || isPseudo(real) {
		return false
	}
	for _, e := range p.exclude {
		if within(real, e) {
			return false
		}
	}
	for _, r := range p.roots {
		if within(real, r.real) && !(r.noHidden && hidden(real, r.real)) {
			return true
		}
	}
	return false
}

// hidden reports whether a name below dir starts with a dot.
func hidden(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return true
	}
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		if strings.HasPrefix(part, ".") && part != "." {
			return true
		}
	}
	return false
}
