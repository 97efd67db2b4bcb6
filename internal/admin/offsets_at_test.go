package admin

import (
	"maps"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"krest/internal/kafka"
)

// TestOffsetsAt lists every partition's offset at the log start, the high
// watermark and at times before and after the records: a partition with
// no record at or after the time answers its high watermark.
func TestOffsetsAt(t *testing.T) {
	a, c := newAdmin(t, kfake.SeedTopics(2, "t"))
	before := time.Now().Add(-time.Hour).UnixMilli()
	produce(t, c, "t", 0, 3)
	for _, tt := range []struct {
		name string
		at   int64
		want map[int32]int64
	}{
		{"earliest", AtEarliest, map[int32]int64{0: 0, 1: 0}},
		{"latest", AtLatest, map[int32]int64{0: 3, 1: 0}},
		{"before the records", before, map[int32]int64{0: 0, 1: 0}},
		{"after the records", time.Now().Add(time.Hour).UnixMilli(), map[int32]int64{0: 3, 1: 0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.OffsetsAt(testCtx(t), "t", tt.at)
			wantErr(t, err, nil)
			if !maps.Equal(got, tt.want) {
				t.Errorf("OffsetsAt = %v, want %v", got, tt.want)
			}
		})
	}
	_, err := a.OffsetsAt(testCtx(t), "missing", AtEarliest)
	wantErr(t, err, kafka.ErrTopicNotFound)
}
