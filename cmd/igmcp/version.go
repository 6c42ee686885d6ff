package main

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"

	"github.com/igmcp/igmcp/graph"
)

// readBuildInfo is the binary's build information (nil when it has none).
func readBuildInfo() *debug.BuildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return bi
}

// pseudoVersion matches the version go build derives from a commit that has
// no tag (v0.0.0-20261203150211-9f91803c5e4f, +dirty when modified): the
// commit says more, so it does not replace the version.
var pseudoVersion = regexp.MustCompile(`\d{14}-[0-9a-f]{12}(\+dirty)?$`)

// released reports whether a module version names a release (a tag).
func released(mv string) bool {
	return mv != "" && mv != "(devel)" && !pseudoVersion.MatchString(mv)
}

// versionLine is `igmcp version`: the version (a release tag the build
// recorded, e.g. `go install …@v1.2.0`, else -ldflags or the dev version),
// the commit (-ldflags, else the VCS
// revision go build stamps from a git checkout), the Graph API version and
// the Go toolchain.
func versionLine(bi *debug.BuildInfo) string {
	v, rev, modified := version, commit, false
	goVersion := runtime.Version()
	if bi != nil {
		if mv := bi.Main.Version; released(mv) {
			v = mv
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if commit == "" {
					rev = s.Value
				}
			case "vcs.modified":
				// Only about the stamped revision, not an -ldflags commit.
				modified = commit == "" && s.Value == "true"
			}
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
	}
	c := "commit unknown (built without VCS information: -buildvcs=false, or not from a git checkout)"
	if rev != "" {
		c = "commit " + rev
		if modified {
			c += " (with uncommitted changes)"
		}
	}
	return fmt.Sprintf("igmcp %s, %s, Graph API %s, %s %s/%s", v, c, graph.DefaultAPIVersion, goVersion, runtime.GOOS, runtime.GOARCH)
}
