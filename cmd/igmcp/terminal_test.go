package main

import (
	"bytes"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// Typed in a terminal, igmcp stdio says on stderr that it waits for an MCP
// client (and nothing on stdout, which belongs to the protocol); started by
// a client (stdin a pipe or a file) it says nothing of the kind.
func TestStdio_TerminalSaysItWaits(t *testing.T) {
	t.Parallel()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	cmd := exec.Command(binPath, "stdio", "--sandbox")
	cmd.Env = childEnv()
	var stdout bytes.Buffer
	stderr := &syncBuffer{}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, &stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() { _ = cmd.Process.Kill() }()
	for deadline := time.Now().Add(hangGuard); !strings.Contains(stderr.String(), "waiting for an MCP client"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no notice on stderr:\n%s", stderr.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(hangGuard):
		t.Fatal("igmcp stdio did not stop on SIGTERM")
	}
	if stdout.Len() != 0 {
		t.Fatalf("stdout is the protocol's, got %q", stdout.String())
	}
	if !strings.Contains(stderr.String(), "Connect a client") {
		t.Errorf("the notice does not point to the README: %s", stderr.String())
	}

	code, out, errOut := runBinary(t, childEnv(), "stdio", "--sandbox") // stdin: /dev/null
	if code != 0 || out != "" || strings.Contains(errOut, "waiting for an MCP client") {
		t.Fatalf("stdin not a terminal: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
