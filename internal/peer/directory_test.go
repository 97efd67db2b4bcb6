package peer

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/kafkatest"
)

// TestDirectory claims, finds and releases client-chosen names across
// nodes over one cluster's directory topic.
func TestDirectory(t *testing.T) {
	c := kafkatest.NewCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	open := func(node string) *Directory {
		t.Helper()
		d, err := NewDirectory(ctx, func(opts ...kgo.Opt) (*kgo.Client, error) {
			return kafkatest.NewClient(t, c.Brokers(), opts...), nil
		}, node, 3, -1)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(d.Close)
		return d
	}
	seenBy := func(d *Directory, group, name, want string) {
		t.Helper()
		kafkatest.WaitFor(t, 30*time.Second, func() error {
			if node, ok := d.Lookup(group, name); node != want || ok != (want != "") {
				return fmt.Errorf("node %s sees %s/%s held by %q, want %q", d.node, group, name, node, want)
			}
			return nil
		})
	}
	a, b := open("a"), open("b")

	if err := a.Claim(ctx, "g", "mine"); err != nil {
		t.Fatal(err)
	}
	// Found at once by another node that reads to the end.
	if node, ok, err := b.LookupRecent(ctx, "g", "mine"); node != "a" || !ok || err != nil {
		t.Fatalf("b.LookupRecent right after a's claim = %q, %v, %v; want a", node, ok, err)
	}
	if err := b.Claim(ctx, "g", "mine"); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("b claims a's name: %v, want ErrNameTaken", err)
	}
	if err := a.Claim(ctx, "g", "mine"); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("a claims its own name again: %v, want ErrNameTaken", err)
	}
	if err := b.Claim(ctx, "other-group", "mine"); err != nil {
		t.Fatalf("the same name in another group: %v", err)
	}

	// Another node's tombstone leaves the name to its holder.
	if err := b.produce(ctx, directoryKey("g", "mine"), ""); err != nil {
		t.Fatal(err)
	}
	if node, _ := b.Lookup("g", "mine"); node != "a" {
		t.Fatalf("after b's tombstone of a's name, b sees it held by %q", node)
	}

	// A node that starts reads every name held.
	late := open("late")
	if node, _ := late.Lookup("g", "mine"); node != "a" {
		t.Fatalf("a node started later sees the name held by %q, want a", node)
	}

	if err := a.Release(ctx, "g", "mine"); err != nil {
		t.Fatal(err)
	}
	seenBy(b, "g", "mine", "")
	if err := b.Claim(ctx, "g", "mine"); err != nil {
		t.Fatalf("b claims a released name: %v", err)
	}
	seenBy(a, "g", "mine", "b")

	// A node that restarts held nothing: its names are released.
	b.Close()
	open("b")
	seenBy(a, "g", "mine", "")
	seenBy(a, "other-group", "mine", "")
}
