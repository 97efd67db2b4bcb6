// Command krest-bench measures krest side by side with its reference points (an HTTP ceiling, the franz-go
// client ceiling, a minimal gateway and the classic Gorilla Mux + Sarama design) against one broker in one
// run, verifies every acknowledged record by topic offsets, and writes a Markdown table, a JSON file and
// PNG charts. See bench/README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "krest-bench:", err)
		os.Exit(1)
	}
}
