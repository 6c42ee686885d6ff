package fakegraph

import (
	"crypto/rand"
	"encoding/binary"
)

// idBase is where a Server's object ids start: a random point among 4·10^11
// (ids stay 17 digits). Ids must not repeat across restarts of the sandbox:
// igmcp's ledger in IGMCP_DATA_DIR remembers the last run's containers by
// id, and a new run counting from 1 again would give those ids to other
// posts, so a resumed publish would adopt another post's container. Two
// runs of n objects each overlap with probability about 2n/4·10^11.
func idBase() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return int64(binary.BigEndian.Uint64(b[:])%4e11) + 1e10
}
