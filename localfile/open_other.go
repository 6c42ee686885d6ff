//go:build !unix

package localfile

import "os"

// openRegular opens the resolved path and keeps it only if it is still the
// regular file that was inspected (no non-blocking open outside unix).
func openRegular(real string, seen os.FileInfo) (*os.File, error) {
	f, err := os.Open(real)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		_ = f.Close()
		return nil, ErrNotRegular
	}
	if !os.SameFile(st, seen) {
		_ = f.Close()
		return nil, ErrChanged
	}
	return f, nil
}
