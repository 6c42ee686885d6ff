package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os/exec"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// BenchmarkStartToInitialize starts the built binary (`igmcp stdio
// --sandbox`, built by TestMain), writes an initialize request on its stdin
// and measures until the response line arrives on stdout. Shutdown (stdin
// closed, process reaped) is not part of the figure. Run with
//
//	go test -run '^$' -bench StartToInitialize -benchtime 5x ./cmd/igmcp/
func BenchmarkStartToInitialize(b *testing.B) {
	initialize := []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` +
		mcp.LATEST_LEGACY_PROTOCOL_VERSION + `","capabilities":{},"clientInfo":{"name":"igmcp-bench","version":"1"}}}` + "\n")
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(binPath, "stdio", "--sandbox")
		cmd.Env = childEnv()
		cmd.Stderr = io.Discard
		stdin, err := cmd.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		guard := time.AfterFunc(hangGuard, func() { _ = cmd.Process.Kill() })
		if _, err := stdin.Write(initialize); err != nil {
			b.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadBytes('\n')
		elapsed := time.Since(start)
		if err != nil {
			b.Fatalf("no initialize response: %v", err)
		}
		var resp struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(line, &resp); err != nil || resp.ID != 1 || len(resp.Result) == 0 {
			b.Fatalf("initialize response: %s", line)
		}
		total += elapsed

		b.StopTimer()
		_ = stdin.Close()
		if err := cmd.Wait(); err != nil {
			b.Fatalf("exit after stdin closed: %v", err)
		}
		guard.Stop()
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(total)/float64(time.Millisecond)/float64(b.N), "ms/op")
}
