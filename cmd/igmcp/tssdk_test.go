package main

// The official TypeScript MCP SDK (@modelcontextprotocol/sdk, from npm)
// as a 2025-11-25 client of the cluster, through HAProxy: task-augmented
// calls as its experimental tasks API makes them.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tsSDKVersion is the SDK the test installs (npm), cached between runs.
const tsSDKVersion = "1.32.2"

// tsSDK returns the directory holding node_modules/@modelcontextprotocol/sdk,
// installing it from npm into the user's cache when missing (moved into
// place when complete, so a run that dies midway leaves no half install).
// Without npm or node the test fails under CI=true and skips otherwise.
func tsSDK(t *testing.T) (node, dir string) {
	t.Helper()
	missing := func(what string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: the official TypeScript SDK test needs it under CI=true", what)
		}
		t.Skipf("%s is missing: skipping the official TypeScript SDK test", what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node")
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(home, ".cache")
	}
	dir = filepath.Join(cache, "igmcp-sdk", "mcp-sdk-"+tsSDKVersion)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "sdk", "package.json")); err == nil {
		return node, dir
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		missing("npm")
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, npm, "install", "--prefix", tmp, "--no-audit", "--no-fund", "--no-save", "--loglevel=error",
		"@modelcontextprotocol/sdk@"+tsSDKVersion)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm install @modelcontextprotocol/sdk@%s: %v\n%s", tsSDKVersion, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		if _, statErr := os.Stat(dir); statErr != nil { // not a concurrent install's
			t.Fatal(err)
		}
	}
	return node, dir
}

// tsScript drives the SDK: connect (2025-11-25), list tools (the SDK
// learns which tools take tasks), a Reel as a task streamed to its result
// with progress, the task read back and listed, a second Reel cancelled
// while Instagram processes it, and a cancel of the finished task.
const tsScript = `
import { Client } from '%[1]s/client/index.js';
import { StreamableHTTPClientTransport } from '%[1]s/client/streamableHttp.js';

const transport = new StreamableHTTPClientTransport(new URL(process.env.MCP_URL),
  { requestInit: { headers: { Authorization: 'Bearer ' + process.env.MCP_TOKEN } } });
const client = new Client({ name: 'igmcp-ts-sdk-test', version: '1' }, { capabilities: {} });
await client.connect(transport);
const out = { protocol: transport.protocolVersion ?? null, caps: client.getServerCapabilities() };
const tools = await client.listTools();
out.taskSupport = Object.fromEntries(tools.tools.filter(t => t.execution).map(t => [t.name, t.execution.taskSupport]));

out.events = [];
out.progress = [];
const reel = (caption) => ({ name: 'publish_reel', arguments: { video_url: 'https://cdn.example.com/' + caption.replaceAll(' ', '-') + '.mp4', caption, confirm: true } });
for await (const m of client.experimental.tasks.callToolStream(reel('ts sdk reel'), undefined,
    { task: { ttl: 600000 }, onprogress: (p) => out.progress.push(p.message ?? '') })) {
  out.events.push({ type: m.type, status: m.task?.status, taskId: m.task?.taskId,
    result: m.result?.structuredContent, error: m.error ? String(m.error) : undefined });
}
const id = out.events.find(e => e.type === 'taskCreated')?.taskId;
out.got = await client.experimental.tasks.getTask(id);
out.listed = (await client.experimental.tasks.listTasks()).tasks.map(t => t.taskId);

let second;
for await (const m of client.experimental.tasks.callToolStream(reel('ts sdk cancelled'), undefined, { task: {} })) {
  if (m.type === 'taskCreated') { second = m.task.taskId; break; }
}
out.cancelled = await client.experimental.tasks.cancelTask(second);
out.afterCancel = await client.experimental.tasks.getTask(second);
try { await client.experimental.tasks.cancelTask(id); out.cancelFinished = 'accepted'; }
catch (e) { out.cancelFinished = e.code; }
console.log(JSON.stringify(out));
await client.close();
`

func runTSSDKTasks(t *testing.T, c *cluster) {
	node, dir := tsSDK(t)
	esm := (&url.URL{Scheme: "file", Path: filepath.Join(dir, "node_modules", "@modelcontextprotocol", "sdk", "dist", "esm")}).String()
	script := filepath.Join(t.TempDir(), "tasks.mjs")
	if err := os.WriteFile(script, []byte(fmt.Sprintf(tsScript, esm)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Env = append(os.Environ(), "MCP_URL="+c.url, "MCP_TOKEN="+lbToken)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s\n%s", err, stdout, stderr.String())
	}
	var out struct {
		Protocol    string            `json:"protocol"`
		Caps        map[string]any    `json:"caps"`
		TaskSupport map[string]string `json:"taskSupport"`
		Events      []struct {
			Type, Status, TaskID, Error string
			Result                      map[string]any
		} `json:"events"`
		Progress       []string        `json:"progress"`
		Got            map[string]any  `json:"got"`
		Listed         []string        `json:"listed"`
		Cancelled      map[string]any  `json:"cancelled"`
		AfterCancel    map[string]any  `json:"afterCancel"`
		CancelFinished json.RawMessage `json:"cancelFinished"`
	}
	if err := json.Unmarshal(stdout, &out); err != nil {
		t.Fatalf("SDK output %s: %v\n%s", stdout, err, stderr.String())
	}
	if out.Protocol != "2025-11-25" || out.Caps["tasks"] == nil || out.TaskSupport["publish_reel"] != "optional" {
		t.Errorf("negotiated %q, capabilities %v, taskSupport %v", out.Protocol, out.Caps, out.TaskSupport)
	}
	var types []string
	var result map[string]any
	id := ""
	for _, e := range out.Events {
		types = append(types, e.Type)
		if e.Type == "taskCreated" {
			id = e.TaskID
		}
		if e.Type == "result" {
			result = e.Result
		}
		if e.Error != "" {
			t.Errorf("stream error: %s", e.Error)
		}
	}
	if len(types) < 3 || types[0] != "taskCreated" || types[len(types)-1] != "result" || result["status"] != "published" {
		t.Fatalf("callToolStream: %v, result %v", types, result)
	}
	if len(out.Progress) == 0 {
		t.Errorf("no progress notification reached the SDK while the task ran")
	}
	if out.Got["status"] != "completed" || out.Got["taskId"] != id {
		t.Errorf("getTask: %v", out.Got)
	}
	if !strings.Contains(strings.Join(out.Listed, " "), id) {
		t.Errorf("listTasks %v lacks %s", out.Listed, id)
	}
	if out.Cancelled["status"] != "cancelled" || out.AfterCancel["status"] != "cancelled" {
		t.Errorf("cancelTask %v, then %v", out.Cancelled, out.AfterCancel)
	}
	if string(out.CancelFinished) != "-32602" {
		t.Errorf("cancel of the finished task: %s, want -32602", out.CancelFinished)
	}
	if posts, sends := c.publishedCount("ts sdk reel"); posts != 1 || sends != 1 {
		t.Errorf("ts sdk reel: %d posts, %d media_publish", posts, sends)
	}
	waitFor(t, "the cancelled job to stop", func() bool {
		sc, _ := c.ledgerOf(out.Cancelled["taskId"].(string))
		return sc.State.Final()
	})
	if posts, sends := c.publishedCount("ts sdk cancelled"); posts != 0 || sends != 0 {
		t.Errorf("ts sdk cancelled: %d posts, %d media_publish", posts, sends)
	}
}
