// Package bench holds igmcp's benchmarks: end-to-end figures (wall time,
// Graph requests per operation, tools/list size) measured through an
// in-process MCP client against the simulated Graph API (fakegraph).
// It has no non-test code; see bench_test.go for how to run it.
package bench
