package localfile_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/igmcp/igmcp/failure"
	"github.com/igmcp/igmcp/localfile"
)

// hangGuard bounds waits on calls that must not block; it is a safety net
// that turns a hang into a failure, not a timing assertion.
const hangGuard = 20 * time.Second

// noHang runs fn and fails the test if it has not returned by hangGuard.
func noHang[T any](t *testing.T, what string, fn func() T) T {
	t.Helper()
	ch := make(chan T, 1)
	go func() { ch <- fn() }()
	select {
	case v := <-ch:
		return v
	case <-time.After(hangGuard):
		t.Fatalf("%s blocked", what)
		var zero T
		return zero
	}
}

func write(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func fifo(t *testing.T, path string) string {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	return path
}

func TestOpen_RefusesWhatIsNotARegularMediaFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pipe := fifo(t, filepath.Join(dir, "pipe.mp4"))
	link := func(name, target string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, path string
		want       error
	}{
		{"fifo", pipe, localfile.ErrNotRegular},
		{"link to fifo", link("pipe-link.mp4", pipe), localfile.ErrNotRegular},
		{"directory", dir, localfile.ErrNotRegular},
		{"own stdout", "/proc/self/fd/1", localfile.ErrNotAllowed},
		{"own stdin", "/dev/stdin", localfile.ErrNotAllowed},
		{"environment", "/proc/self/environ", localfile.ErrNotAllowed},
		{"dot-dot into proc", dir + strings.Repeat("/..", 40) + "/proc/self/environ", localfile.ErrNotAllowed},
		{"link to environment", link("env.jpg", "/proc/self/environ"), localfile.ErrNotAllowed},
		{"link to /dev", link("zero.jpg", "/dev/zero"), localfile.ErrNotAllowed},
		{"sysfs", "/sys/kernel/mm/transparent_hugepage/enabled", localfile.ErrNotAllowed},
		{"relative", "photo.jpg", localfile.ErrNotAllowed},
		{"NUL", dir + "/a\x00b", localfile.ErrNotAllowed},
		{"missing", filepath.Join(dir, "nope.jpg"), os.ErrNotExist},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := noHang(t, "Open("+c.path+")", func() error {
				f, err := localfile.Open(c.path)
				if err == nil {
					_ = f.Close()
				}
				return err
			})
			if !errors.Is(err, c.want) {
				t.Fatalf("Open(%q) = %v, want %v", c.path, err, c.want)
			}
		})
	}
}

func TestOpen_ReadsBoundedBySizeAtOpen(t *testing.T) {
	t.Parallel()
	p := write(t, filepath.Join(t.TempDir(), "a.jpg"), []byte("0123456789"))
	f, err := localfile.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The file grows after the open: reads stop at the size it had.
	if err := os.WriteFile(p, []byte("0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	if err != nil || string(b) != "0123456789" || f.Size() != 10 {
		t.Fatalf("ReadAll = %q, %v (size %d)", b, err, f.Size())
	}
	buf := make([]byte, 8)
	if n, err := f.ReadAt(buf, 6); n != 4 || err != io.EOF || string(buf[:n]) != "6789" {
		t.Fatalf("ReadAt past the end = %d, %v, %q", n, err, buf[:n])
	}
	if n, err := f.ReadAt(buf, 10); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt at the end = %d, %v", n, err)
	}
	head, size, err := localfile.ReadHead(p, 4)
	if err != nil || string(head) != "0123" || size != 16 {
		t.Fatalf("ReadHead = %q, %d, %v", head, size, err)
	}
}

// refusal is the message of an invalid_input error with the path replaced,
// so two refusals of different paths can be compared.
func refusal(t *testing.T, err error, path string) string {
	t.Helper()
	var fe *failure.Error
	if !errors.As(err, &fe) || fe.Kind != failure.InvalidInput || fe.Field != "file_path" {
		t.Fatalf("Check(%q): want invalid_input on file_path, got %v", path, err)
	}
	return strings.ReplaceAll(fe.Message, path, "<path>")
}

func TestPolicy_ExplicitRoot(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	root := filepath.Join(base, "media")
	data := filepath.Join(root, "igmcp-data")
	ok := write(t, filepath.Join(root, "sub", "ok.jpg"), []byte{0xff, 0xd8})
	hiddenOK := write(t, filepath.Join(root, ".drafts", "ok.jpg"), []byte{0xff, 0xd8})
	outside := write(t, filepath.Join(base, "secret.jpg"), []byte("secret"))
	inData := write(t, filepath.Join(data, "tokens.db"), []byte("x"))
	escape := filepath.Join(root, "escape.jpg")
	if err := os.Symlink(outside, escape); err != nil {
		t.Fatal(err)
	}
	pipe := fifo(t, filepath.Join(root, "pipe.mp4"))
	p, err := localfile.NewPolicy(localfile.Options{Root: root, Exclude: []string{data}})
	if err != nil {
		t.Fatal(err)
	}
	for _, good := range []string{ok, hiddenOK, root + "/sub/../sub/ok.jpg"} {
		if real, err := p.Check("file_path", good); err != nil || real != filepath.Clean(good) {
			t.Errorf("Check(%q) = %q, %v", good, real, err)
		}
	}
	// Missing inside the root, existing outside it, a link out of it, the
	// data directory, /proc: one and the same sentence.
	var first string
	for _, bad := range []string{filepath.Join(root, "missing.jpg"), outside, escape, inData, "/etc/hostname", "/proc/self/environ", root + "/../secret.jpg"} {
		_, err := p.Check("file_path", bad)
		msg := refusal(t, err, bad)
		if first == "" {
			first = msg
			if !strings.Contains(msg, root) {
				t.Errorf("the refusal does not name the media directory: %s", msg)
			}
		} else if msg != first {
			t.Errorf("refusals differ:\n%s\n%s", first, msg)
		}
	}
	err = noHang(t, "Check(fifo)", func() error { _, err := p.Check("file_path", pipe); return err })
	if msg := refusal(t, err, pipe); !strings.Contains(msg, "named pipe") {
		t.Errorf("fifo: %s", msg)
	}
	if _, err := p.Check("file_path", "media/ok.jpg"); !strings.Contains(refusal(t, err, "media/ok.jpg"), "absolute") {
		t.Errorf("relative path: %v", err)
	}
	if _, err := localfile.NewPolicy(localfile.Options{Root: ok}); err == nil {
		t.Error("a file as IGMCP_MEDIA_ROOT was accepted")
	}
}

func TestPolicy_Defaults(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	home, temp := filepath.Join(base, "home"), filepath.Join(base, "tmp")
	photo := write(t, filepath.Join(home, "Pictures", "a.jpg"), []byte{0xff})
	tmpPhoto := write(t, filepath.Join(temp, "b.jpg"), []byte{0xff})
	key := write(t, filepath.Join(home, ".ssh", "id_ed25519"), []byte("key"))
	other := write(t, filepath.Join(base, "elsewhere.jpg"), []byte{0xff})

	local, err := localfile.NewPolicy(localfile.Options{Home: home, Temp: temp})
	if err != nil {
		t.Fatal(err)
	}
	if got := local.Roots(); len(got) != 2 || got[0] != home || got[1] != temp {
		t.Fatalf("default roots %v", got)
	}
	for _, good := range []string{photo, tmpPhoto} {
		if _, err := local.Check("file_path", good); err != nil {
			t.Errorf("stdio default: Check(%q) = %v", good, err)
		}
	}
	for _, bad := range []string{key, other, "/etc/passwd"} {
		if _, err := local.Check("file_path", bad); err == nil {
			t.Errorf("stdio default: Check(%q) allowed", bad)
		}
	}

	remote, err := localfile.NewPolicy(localfile.Options{Remote: true, Home: home, Temp: temp})
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.Check("file_path", photo)
	if msg := refusal(t, err, photo); !strings.Contains(msg, "IGMCP_MEDIA_ROOT") {
		t.Errorf("http default: %s", msg)
	}
	if len(remote.Roots()) != 0 {
		t.Errorf("http default roots %v", remote.Roots())
	}
	withRoot, err := localfile.NewPolicy(localfile.Options{Remote: true, Root: home})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := withRoot.Check("file_path", photo); err != nil {
		t.Errorf("http with a root: %v", err)
	}

	slash, err := localfile.NewPolicy(localfile.Options{Home: "/", Temp: temp})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := slash.Check("file_path", "/etc/passwd"); err == nil || len(slash.Roots()) != 1 {
		t.Errorf("a home of / opened everything: roots %v", slash.Roots())
	}
}
