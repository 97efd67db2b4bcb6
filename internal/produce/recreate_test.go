package produce_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/kafka"
	"krest/internal/kafkatest"
)

// TestTopicRecreated deletes and recreates a topic the producer writes to,
// through another client: franz-go keeps the old topic ID, and without the
// Producer forgetting the topic every later record fails with
// UNKNOWN_TOPIC_ID. The first record after the recreation is written, to
// the new topic, with no restart, whether or not the deleter told the
// Producer.
func TestTopicRecreated(t *testing.T) {
	for _, tt := range []struct {
		name         string
		writeBetween bool // produce while the topic is gone
		forget       bool // the deleter tells the Producer (ForgetTopic)
	}{
		{"deleted and recreated", false, false},
		{"produced to while deleted", true, false},
		{"forgotten when deleted", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := kafkatest.NewCluster(t)
			ctx := context.Background()
			adm := kadm.NewClient(kafkatest.NewClient(t, c.Brokers()))
			createTopic(t, c.Brokers(), "t")
			p := newProducerTimeout(t, c.Brokers(), 100, 10*time.Second)
			for range 3 {
				if err := p.Write(ctx, &kgo.Record{Topic: "t", Value: []byte("old")}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := adm.DeleteTopic(ctx, "t"); err != nil {
				t.Fatal(err)
			}
			waitTopicGone(t, adm, "t")
			if tt.forget {
				p.ForgetTopic("t")
			}
			if tt.writeBetween {
				if err := p.Write(ctx, &kgo.Record{Topic: "t", Value: []byte("none")}); !errors.Is(err, kafka.ErrTopicNotFound) {
					t.Fatalf("produce to the deleted topic: %v, want ErrTopicNotFound", err)
				}
			}
			createTopic(t, c.Brokers(), "t")
			recreated := time.Now()
			r := &kgo.Record{Topic: "t", Value: []byte("new")}
			if err := p.Write(ctx, r); err != nil {
				t.Fatalf("first record after the recreation: %v", err)
			}
			t.Logf("first record written %s after the recreation", time.Since(recreated).Round(time.Millisecond))
			if r.Offset != 0 {
				t.Errorf("written at offset %d, want 0 of the new topic", r.Offset)
			}
			for i := range 3 {
				if err := p.Write(ctx, &kgo.Record{Topic: "t", Value: []byte("new")}); err != nil {
					t.Fatalf("record %d after the recreation: %v", i+2, err)
				}
			}
		})
	}
}

// waitTopicGone polls until the brokers no longer list topic.
func waitTopicGone(t *testing.T, adm *kadm.Client, topic string) {
	t.Helper()
	kafkatest.WaitFor(t, 30*time.Second, func() error {
		details, err := adm.ListTopics(context.Background(), topic)
		if err != nil {
			return err
		}
		if d, ok := details[topic]; ok && d.Err == nil {
			return errors.New("topic still listed")
		}
		return nil
	})
}
