package identity

import (
	"context"
	"testing"
)

// BenchmarkFor measures For on a login whose client is pooled: what each
// request of a known caller pays before it reaches Kafka (krest's own
// producer costs nothing here), its own context ending after.
//
//	go test -run '^$' -bench For -benchmem ./internal/identity
func BenchmarkFor(b *testing.B) {
	e := newEnv(b)
	p := newPool(b, e.options(ModePassthrough, &counts{}))
	alice := e.principal(b, "alice")
	if _, _, err := p.For(b.Context(), alice); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ctx, cancel := context.WithCancel(context.Background())
			if _, _, err := p.For(ctx, alice); err != nil {
				b.Error(err)
			}
			cancel()
		}
	})
}
