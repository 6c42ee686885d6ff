package main

import (
	"fmt"
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

// versionLine is `igmcp version`: the version (-ldflags, else the module
// version `go install …@vX` records), the commit (-ldflags, else the VCS
// revision go build stamps from a git checkout), the Graph API version and
// the Go toolchain.
func versionLine(bi *debug.BuildInfo) string {
	v, rev, modified := version, commit, false
	goVersion := runtime.Version()
	if bi != nil {
		if mv := bi.Main.Version; mv != "" && mv != "(devel)" {
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
