//go:build race

package httpserver_test

const raceEnabled = true
