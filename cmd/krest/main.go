// Command krest is an HTTP/REST gateway to Apache Kafka. With no brokers
// configured it starts an embedded development broker.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	// After the first signal, the next one gets the default behaviour: exit.
	context.AfterFunc(ctx, stop)
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	var ue usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "krest:", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "krest:", err)
		os.Exit(1)
	}
}
