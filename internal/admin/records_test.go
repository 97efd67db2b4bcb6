package admin

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// batch is a raw batch of length body bytes at offset base.
func batch(base int64, body int) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(base))
	b = binary.BigEndian.AppendUint32(b, uint32(body))
	return append(b, make([]byte, body)...)
}

func TestBatchesBefore(t *testing.T) {
	three := bytes.Join([][]byte{batch(0, 5), batch(10, 3), batch(20, 4)}, nil)
	for _, tt := range []struct {
		name  string
		in    []byte
		until int64
		want  int
	}{
		{"all before", three, 21, len(three)},
		{"cut at the third", three, 20, 17 + 15},
		{"cut at the second", three, 10, 17},
		{"the first stays", three, 0, 17},
		{"truncated", three[:len(three)-1], 100, len(three) - 1},
		{"empty", nil, 5, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := batchesBefore(tt.in, tt.until); len(got) != tt.want {
				t.Errorf("%d bytes, want %d", len(got), tt.want)
			}
		})
	}
}

// FuzzBatchesBefore: batchesBefore never panics and returns a prefix of
// its input that keeps at least its first batch.
func FuzzBatchesBefore(f *testing.F) {
	f.Add(bytes.Join([][]byte{batch(0, 5), batch(10, 3)}, nil), int64(10))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, int64(-1))
	f.Fuzz(func(t *testing.T, in []byte, until int64) {
		got := batchesBefore(in, until)
		if !bytes.HasPrefix(in, got) {
			t.Fatal("not a prefix")
		}
		if len(in) >= 12 && len(got) < 12 {
			t.Fatalf("%d bytes kept of %d: the first batch is gone", len(got), len(in))
		}
	})
}
