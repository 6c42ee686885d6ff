//go:build unix

package localfile

import (
	"os"
	"syscall"
)

// openRegular opens the resolved path without blocking (a FIFO or device
// that appeared since the Lstat cannot hold the call), without following a
// final symbolic link, and keeps it only if fstat shows the same regular
// file the Lstat saw. The descriptor is then made blocking again: the os
// package treats it as an ordinary file.
func openRegular(real string, seen os.FileInfo) (*os.File, error) {
	fd, err := syscall.Open(real, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		_ = syscall.Close(fd)
		return nil, err
	}
	want, ok := seen.Sys().(*syscall.Stat_t)
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		_ = syscall.Close(fd)
		return nil, ErrNotRegular
	}
	if !ok || uint64(st.Dev) != uint64(want.Dev) || st.Ino != want.Ino {
		_ = syscall.Close(fd)
		return nil, ErrChanged
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		_ = syscall.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), real), nil
}
