// Package localfile opens the local files an agent names (`file_path`) without
// letting that name hurt the server: an argument may come from a prompt
// injection, so it must not block the server (a FIFO blocks open(2) forever),
// read the server's own standard streams (/proc/self/fd/1 is the JSON-RPC
// stream on stdio), read pseudo-files (/proc, /sys, /dev), or reach files
// outside the directories the operator allows (docs/reference.md §2,
// IGMCP_MEDIA_ROOT).
//
// Two checks, each in one place:
//   - Policy.Check is the media-root gate every tool applies before anything
//     is opened. Its refusal is the same sentence whether the file is missing
//     or outside the allowed directories, so it reveals nothing about the
//     rest of the file system.
//   - Open (and ReadHead) is the only way the server opens such a file:
//     stat first, regular files only, opened non-blocking without following a
//     final symbolic link, then checked again with fstat to be the very file
//     that was inspected; every read is bounded by the file's size and by
//     time.
package localfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds each file-system step (resolving, opening, one read):
// a hung network mount must not hold a tool call forever.
const DefaultTimeout = 15 * time.Second

// Errors of Open; the wrapping error names the path.
var (
	// ErrNotAllowed: the path is under /proc, /sys or /dev, or is not absolute.
	ErrNotAllowed = errors.New("not a file the server may read")
	// ErrNotRegular: a directory, FIFO, socket or device.
	ErrNotRegular = errors.New("not a regular file")
	// ErrChanged: the file changed between the check and the open.
	ErrChanged = errors.New("the file changed while it was being opened")
	// ErrTimeout: the file system did not answer in time.
	ErrTimeout = errors.New("the file system did not answer in time")
)

// pseudoRoots hold files that are not media: kernel interfaces whose reads
// have side effects or block, and the process's own descriptors.
var pseudoRoots = [...]string{"/proc", "/sys", "/dev"}

// isPseudo reports whether a clean absolute path is in a pseudo file system.
func isPseudo(p string) bool {
	for _, r := range pseudoRoots {
		if within(p, r) {
			return true
		}
	}
	return false
}

// within reports whether the clean path p is dir or below it.
func within(p, dir string) bool {
	if dir == "/" {
		return true
	}
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}

// cleanAbs validates the shape of an agent-given path.
func cleanAbs(path string) (string, bool) {
	if path == "" || strings.ContainsRune(path, 0) || !filepath.IsAbs(path) {
		return "", false
	}
	return filepath.Clean(path), true
}

// resolve returns the path with every symbolic link resolved, refusing
// pseudo file systems before and after resolution, and its Lstat.
func resolve(path string) (string, os.FileInfo, error) {
	clean, ok := cleanAbs(path)
	if !ok || isPseudo(clean) {
		return "", nil, ErrNotAllowed
	}
	real, err := filepath.EvalSymlinks(clean)
	if err != nil {
		return "", nil, err
	}
	if isPseudo(real) {
		return "", nil, ErrNotAllowed
	}
	st, err := os.Lstat(real)
	if err != nil {
		return "", nil, err
	}
	if !st.Mode().IsRegular() {
		return real, st, ErrNotRegular
	}
	return real, st, nil
}

// File is an open regular file, read only through bounded reads.
type File struct {
	f       *os.File
	name    string
	size    int64
	mod     time.Time
	timeout time.Duration
	mu      sync.Mutex // guards off
	off     int64
}

// Open opens path for reading if it is a regular file outside /proc, /sys
// and /dev (symbolic links resolved). It never blocks on a FIFO or device,
// and gives up after DefaultTimeout on a file system that does not answer.
func Open(path string) (*File, error) {
	var f *File
	err := bounded(DefaultTimeout, func() error {
		var err error
		f, err = open(path)
		return err
	}, func() {
		if f != nil {
			_ = f.f.Close()
		}
	})
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return f, nil
}

func open(path string) (*File, error) {
	real, st, err := resolve(path)
	if err != nil {
		return nil, err
	}
	f, err := openRegular(real, st)
	if err != nil {
		return nil, err
	}
	return &File{f: f, name: path, size: st.Size(), mod: st.ModTime(), timeout: DefaultTimeout}, nil
}

// Size is the file's size when it was opened; reads never go beyond it.
func (f *File) Size() int64 { return f.size }

// ModTime is the file's modification time when it was opened.
func (f *File) ModTime() time.Time { return f.mod }

// Name is the path the file was opened by.
func (f *File) Name() string { return f.name }

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// ReadAt reads within the size the file had when it was opened, each call
// bounded by time. The read happens in a buffer of its own, so a read that
// times out can never write into p later.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, &os.PathError{Op: "read", Path: f.name, Err: os.ErrInvalid}
	}
	if off >= f.size {
		return 0, io.EOF
	}
	want := p
	if rest := f.size - off; int64(len(want)) > rest {
		want = want[:rest]
	}
	var (
		buf = make([]byte, len(want))
		n   int
	)
	err := bounded(f.timeout, func() error {
		var err error
		n, err = f.f.ReadAt(buf, off)
		return err
	}, nil)
	if errors.Is(err, ErrTimeout) {
		return 0, &os.PathError{Op: "read", Path: f.name, Err: err}
	}
	copy(p, buf[:n])
	if err == nil && n < len(p) {
		err = io.EOF // trimmed at the size the file had when opened
	}
	return n, err
}

// Read reads sequentially, with ReadAt's bounds.
func (f *File) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.ReadAt(p, f.off)
	f.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// ReadHead opens path and reads at most n bytes from its start; it returns
// the bytes and the file's size.
func ReadHead(path string, n int64) ([]byte, int64, error) {
	f, err := Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	b := make([]byte, min(n, f.size))
	m, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, f.size, err
	}
	return b[:m], f.size, nil
}

// bounded runs fn, giving up after d. A step that is still running then is
// left to finish on its own goroutine; cleanup (if any) runs when it does,
// so a late success does not leak a descriptor.
func bounded(d time.Duration, fn func() error, cleanup func()) error {
	done := make(chan error, 1)
	var mu sync.Mutex
	abandoned := false
	go func() {
		err := fn()
		mu.Lock()
		defer mu.Unlock()
		if abandoned {
			if err == nil && cleanup != nil {
				cleanup()
			}
			return
		}
		done <- err
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		mu.Lock()
		defer mu.Unlock()
		select {
		case err := <-done: // finished while the timer fired
			return err
		default:
		}
		abandoned = true
		return ErrTimeout
	}
}
