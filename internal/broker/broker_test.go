package broker

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestStart starts the broker, talks Kafka to it, and checks that a second
// one on the same address fails with ErrAddrInUse.
func TestStart(t *testing.T) {
	addr := freeAddr(t)
	b, err := Start(Options{Addr: addr, InMemory: true, Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := b.Addrs(); len(got) != 1 || got[0] != addr {
		t.Errorf("Addrs() = %v, want [%s]", got, addr)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Ping(context.Background()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if _, err := Start(Options{Addr: addr, InMemory: true}); !errors.Is(err, ErrAddrInUse) {
		t.Errorf("second broker on %s: %v, want ErrAddrInUse", addr, err)
	}
}
