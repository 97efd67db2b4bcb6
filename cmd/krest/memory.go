package main

import (
	"os"
	"strconv"
	"strings"
)

// The soft memory limit. With GOGC=400 the heap may grow to five times
// what is live before a collection; after a burst that left a few hundred
// MiB live (the producer alone may hold KREST_MAX_BUFFERED_BYTES, 256 MiB),
// that is over a GiB, which the process then keeps. A soft limit makes the
// collector run sooner as the heap nears it, so the heap stays under it;
// past it, collection takes more CPU (the runtime caps it near half) rather
// than the process failing.
const (
	// defaultMemoryLimit is the limit without a container limit: four
	// times the default producer buffer, far above the tens of MiB a
	// steady gateway keeps live.
	defaultMemoryLimit = 1 << 30
	// cgroupShare is the part of a container's memory limit the Go heap
	// may take, leaving room for stacks, the binary and what is not heap.
	cgroupShare = 0.9
)

// cgroupLimitFiles hold the container's memory limit: cgroup v2, then v1.
var cgroupLimitFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// memoryLimit returns the soft memory limit krest sets and where it comes
// from, or ok false when GOMEMLIMIT is set (the runtime applied it at
// start). setting is KREST_MEMORY_LIMIT (0: choose); maxBuffered is the
// producer's byte bound; cgroup is the container's limit, or 0.
func memoryLimit(getenv func(string) string, setting int64, maxBuffered int, cgroup int64) (limit int64, source string, ok bool) {
	switch {
	case getenv("GOMEMLIMIT") != "":
		return 0, "", false
	case setting > 0:
		return setting, "KREST_MEMORY_LIMIT", true
	case cgroup > 0:
		return int64(float64(cgroup) * cgroupShare), "90% of the container's memory limit", true
	}
	return max(defaultMemoryLimit, 4*int64(maxBuffered)), "default", true
}

// cgroupMemoryLimit returns the memory limit of krest's container, or 0
// when it has none or it cannot be read.
func cgroupMemoryLimit() int64 {
	for _, f := range cgroupLimitFiles {
		if b, err := os.ReadFile(f); err == nil {
			return parseCgroupLimit(string(b))
		}
	}
	return 0
}

// parseCgroupLimit reads a cgroup memory limit file's content: a number of
// bytes, or "max" (v2), or a number near 2^63 (v1), for none.
func parseCgroupLimit(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 || n >= 1<<62 {
		return 0
	}
	return n
}
