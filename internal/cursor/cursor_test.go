package cursor

import (
	"errors"
	"maps"
	"math"
	"testing"
)

// TestRoundTrip checks that Decode gives back what Encode was given, and
// that a cursor of a few partitions stays short.
func TestRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name    string
		offsets map[int32]int64
		maxLen  int
	}{
		{"empty", map[int32]int64{}, 4},
		{"one", map[int32]int64{0: 5}, 6},
		{"three", map[int32]int64{0: 12, 1: 0, 2: 300}, 12},
		{"extremes", map[int32]int64{math.MaxInt32: math.MaxInt64, 7: 1 << 40}, 40},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := Encode(tt.offsets)
			if len(s) > tt.maxLen {
				t.Errorf("cursor %q is %d characters, want at most %d", s, len(s), tt.maxLen)
			}
			got, err := Decode(s)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.offsets) {
				t.Errorf("Decode(Encode(%v)) = %v", tt.offsets, got)
			}
		})
	}
}

// TestDecodeRejects checks that strings other than Encode's are refused.
func TestDecodeRejects(t *testing.T) {
	good := Encode(map[int32]int64{0: 1, 1: 2})
	for _, tt := range []struct{ name, s string }{
		{"empty", ""},
		{"not base64url", "AQ+/"},
		{"padded", good + "="},
		{"version", "AgA"}, // version 2, no partitions
		{"truncated", good[:len(good)-1]},
		{"trailing", "AQAAAA"},       // no partitions, then two bytes
		{"out of order", "AQIBAQAB"}, // 2 pairs: (1,1), (0,1)
		{"duplicate", "AQIAAQAB"},    // 2 pairs: (0,1), (0,1)
		{"overlong", "AQGAAAE"},      // partition 0 written in two bytes
		{"partition too large", "AQGAgICACAE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := Decode(tt.s); !errors.Is(err, ErrMalformed) {
				t.Errorf("Decode(%q) = %v, %v; want ErrMalformed", tt.s, got, err)
			}
		})
	}
}

// FuzzCursor checks Decode's invariants (see its doc) over any string.
func FuzzCursor(f *testing.F) {
	for _, s := range []string{"", "AQA", "AQEABQ", Encode(map[int32]int64{0: 12, 1: 0, 2: 300}), "AQGAAAE", "AQIBAQAB", "////", "AQ=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		offsets, err := Decode(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode(%q): %v does not wrap ErrMalformed", s, err)
			}
			return
		}
		for p, o := range offsets {
			if p < 0 || o < 0 {
				t.Fatalf("Decode(%q) has partition %d offset %d", s, p, o)
			}
		}
		if again := Encode(offsets); again != s {
			t.Fatalf("Encode(Decode(%q)) = %q", s, again)
		}
	})
}
