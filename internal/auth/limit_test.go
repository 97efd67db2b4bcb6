package auth

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	l, err := NewLimiter(LimiterOptions{Rate: 2, Burst: 3, MaxPrincipals: 2})
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	l.now = func() time.Time { return clock }
	alice, bob := Principal{Name: "User:alice"}, Principal{Name: "User:bob"}
	for i := range 3 {
		if ok, _ := l.Allow(alice); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Allow(alice)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("past the burst: %v, retry after %v; want false, 500ms", ok, wait)
	}
	if ok, _ := l.Allow(bob); !ok {
		t.Fatal("bob is limited by alice's requests")
	}
	clock = clock.Add(500 * time.Millisecond)
	if ok, _ := l.Allow(alice); !ok {
		t.Fatal("refused after the wait")
	}
	if ok, _ := l.Allow(alice); ok {
		t.Fatal("the refusal was counted as a request, or the wait was too short")
	}

	for i := range 5 {
		l.Allow(Principal{Name: fmt.Sprintf("User:u%d", i)})
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := l.lims.len(); n != 2 {
		t.Fatalf("%d limiters kept, want 2", n)
	}
}

func TestNewLimiterRefuses(t *testing.T) {
	for _, opts := range []LimiterOptions{{}, {Rate: -1}, {Rate: 1, Burst: -1}, {Rate: 1, MaxPrincipals: -1}} {
		if _, err := NewLimiter(opts); err == nil {
			t.Errorf("NewLimiter(%+v) took it", opts)
		}
	}
	l, err := NewLimiter(LimiterOptions{Rate: 0.5})
	if err != nil || l.opts.Burst != 1 {
		t.Fatalf("default burst %d, %v", l.opts.Burst, err)
	}
}

func TestLabeler(t *testing.T) {
	l, err := NewLabeler(2)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, want string }{
		{"User:alice", "User:alice"},
		{"User:bob", "User:bob"},
		{"User:carol", OtherLabel},
		{"User:alice", "User:alice"},
		{"User:dave", OtherLabel},
	} {
		if got := l.Label(Principal{Name: tt.name}); got != tt.want {
			t.Errorf("Label(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}
	seen := map[string]bool{}
	for i := range 1000 {
		seen[l.Label(Principal{Name: fmt.Sprintf("User:%d", i)})] = true
	}
	if len(seen) > 3 {
		t.Fatalf("%d labels", len(seen))
	}
}
