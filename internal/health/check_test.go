package health_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"krest/internal/health"
	"krest/internal/kafkatest"
)

// TestCheck runs the readiness check on a one-broker cluster: a missing
// topic fails unless created, and a topic that exists fails only when no
// partition can take a write with acks=all, here because its
// min.insync.replicas exceeds its replicas.
func TestCheck(t *testing.T) {
	brokers := kafkatest.NewCluster(t).Brokers()
	adm := kadm.NewClient(kafkatest.NewClient(t, brokers))
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		minISR string // "" leaves the topic missing
		create bool
		want   error
		reason string
	}{
		{name: "missing", want: health.ErrTopicMissing},
		{name: "created", create: true},
		{name: "writable", minISR: "1"},
		{name: "unwritable", minISR: "2", want: health.ErrNotWritable,
			reason: "partition 0 has 1 in-sync replicas, fewer than min.insync.replicas=2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			topic := "check-" + tt.name
			if tt.minISR != "" {
				if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"min.insync.replicas": &tt.minISR}, topic); err != nil {
					t.Fatal(err)
				}
			}
			// A broker may answer for a new topic only after a moment.
			kafkatest.WaitFor(t, 10*time.Second, func() error {
				err := health.Check(ctx, adm, []health.TopicSpec{{Name: topic, Partitions: 1, ReplicationFactor: 1}}, tt.create)
				if !errors.Is(err, tt.want) || err != nil && !strings.Contains(err.Error(), tt.reason) {
					return fmt.Errorf("Check: %v, want %v (%s)", err, tt.want, tt.reason)
				}
				return nil
			})
		})
	}
}
