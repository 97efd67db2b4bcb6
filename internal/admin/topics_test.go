package admin

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"

	"krest/internal/kafka"
	"krest/internal/kafkatest"
)

func TestTopics(t *testing.T) {
	a, _ := newAdmin(t, kfake.SeedTopics(2, "b", "a"))
	ctx := testCtx(t)

	// kfake has no __consumer_offsets; it marks a topic internal by config.
	_, err := a.CreateTopic(ctx, NewTopic{Name: "_internal", Partitions: 1, Configs: map[string]string{"kfake.is_internal": "true"}})
	wantErr(t, err, nil)

	ts, err := a.Topics(ctx)
	wantErr(t, err, nil)
	var names []string
	for _, tp := range ts {
		names = append(names, tp.Name)
		if tp.Internal != (tp.Name == "_internal") {
			t.Errorf("topic %q Internal = %v", tp.Name, tp.Internal)
		}
	}
	if want := []string{"_internal", "a", "b"}; !slices.Equal(names, want) {
		t.Errorf("Topics = %v, want %v", names, want)
	}

	names, err = a.TopicNames(ctx)
	wantErr(t, err, nil)
	if want := []string{"a", "b"}; !slices.Equal(names, want) {
		t.Errorf("TopicNames = %v, want %v (no internal topics)", names, want)
	}
}

func TestTopic(t *testing.T) {
	a, _ := newAdmin(t, kfake.NumBrokers(3))
	ctx := testCtx(t)
	_, err := a.CreateTopic(ctx, NewTopic{Name: "orders", Partitions: 4, ReplicationFactor: 3})
	wantErr(t, err, nil)

	// Read back at once: Admin must not answer from a stale metadata cache.
	tp, err := a.Topic(ctx, "orders")
	wantErr(t, err, nil)
	if tp.Name != "orders" || tp.Internal || tp.PartitionsCount != 4 || tp.ReplicationFactor != 3 || len(tp.Partitions) != 4 {
		t.Fatalf("Topic = %+v, want orders with 4 partitions of 3 replicas", tp)
	}
	if len(tp.AuthorizedOperations) == 0 {
		t.Errorf("Topic has no authorized operations")
	}
	for i, p := range tp.Partitions {
		if p.Topic != "orders" || p.ID != int32(i) {
			t.Errorf("partition %d = %+v", i, p)
		}
		var leaders int
		for _, r := range p.Replicas {
			if r.Leader {
				leaders++
				if r.Broker != p.Leader {
					t.Errorf("partition %d: replica %d is marked leader, leader is %d", p.ID, r.Broker, p.Leader)
				}
			}
			if !r.InSync {
				t.Errorf("partition %d: replica %d is not in sync", p.ID, r.Broker)
			}
		}
		if len(p.Replicas) != 3 || leaders != 1 {
			t.Errorf("partition %d replicas = %+v, want 3 with one leader", p.ID, p.Replicas)
		}
	}

	_, err = a.Topic(ctx, "missing")
	wantErr(t, err, kafka.ErrTopicNotFound)
}

func TestCreateTopic(t *testing.T) {
	a, _ := newAdmin(t, kfake.NumBrokers(1), kfake.SeedTopics(1, "exists"), kfake.DefaultNumPartitions(5))
	ctx := testCtx(t)

	for _, tt := range []struct {
		name      string
		topic     NewTopic
		want      error
		wantParts int
		created   bool
	}{
		{"explicit", NewTopic{Name: "t1", Partitions: 3, ReplicationFactor: 1}, nil, 3, true},
		{"broker defaults", NewTopic{Name: "t2"}, nil, 5, true},
		{"with configs", NewTopic{Name: "t3", Partitions: 1, Configs: map[string]string{"cleanup.policy": "compact"}}, nil, 1, true},
		{"validate only", NewTopic{Name: "t4", Partitions: 2, ValidateOnly: true}, nil, 2, false},
		{"exists", NewTopic{Name: "exists", Partitions: 1}, kafka.ErrTopicExists, 0, true},
		{"bad name", NewTopic{Name: "a/b", Partitions: 1}, kafka.ErrInvalidRequest, 0, false},
		{"empty name", NewTopic{Partitions: 1}, kafka.ErrInvalidRequest, 0, false},
		{"negative partitions", NewTopic{Name: "t5", Partitions: -2}, kafka.ErrInvalidRequest, 0, false},
		{"negative replication factor", NewTopic{Name: "t6", ReplicationFactor: -2}, kafka.ErrInvalidRequest, 0, false},
		{"replication factor above broker count", NewTopic{Name: "t7", Partitions: 1, ReplicationFactor: 3}, kafka.ErrInvalidRequest, 0, false},
		{"validate only, exists", NewTopic{Name: "exists", ValidateOnly: true}, kafka.ErrTopicExists, 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.CreateTopic(ctx, tt.topic)
			wantErr(t, err, tt.want)
			if tt.want == nil && (got.Name != tt.topic.Name || got.PartitionsCount != tt.wantParts || got.ReplicationFactor != 1) {
				t.Errorf("CreateTopic = %+v, want %d partitions of 1 replica", got, tt.wantParts)
			}
			if tt.topic.Name == "" {
				return
			}
			_, err = a.Topic(ctx, tt.topic.Name)
			if exists := err == nil; exists != tt.created {
				t.Errorf("after CreateTopic, Topic err = %v, want the topic to exist: %v", err, tt.created)
			}
		})
	}

	cfg, err := a.TopicConfig(ctx, "t3", "cleanup.policy")
	wantErr(t, err, nil)
	if cfg.Value == nil || *cfg.Value != "compact" {
		t.Errorf("t3 cleanup.policy = %+v, want compact", cfg)
	}
}

func TestDeleteTopic(t *testing.T) {
	a, _ := newAdmin(t, kfake.SeedTopics(1, "doomed"))
	ctx := testCtx(t)

	if _, err := a.Topic(ctx, "doomed"); err != nil {
		t.Fatalf("Topic before delete: %v", err)
	}
	wantErr(t, a.DeleteTopic(ctx, "doomed"), nil)
	_, err := a.Topic(ctx, "doomed")
	wantErr(t, err, kafka.ErrTopicNotFound)
	wantErr(t, a.DeleteTopic(ctx, "doomed"), kafka.ErrTopicNotFound)
}

func TestSetPartitionCount(t *testing.T) {
	a, c := newAdmin(t, kfake.SeedTopics(2, "t"))
	ctx := testCtx(t)

	// Warm the client's metadata cache with the old partition count.
	if _, err := a.Offsets(ctx, "t", 1); err != nil {
		t.Fatalf("Offsets before growing: %v", err)
	}
	wantErr(t, a.SetPartitionCount(ctx, "t", 5), nil)
	ps, err := a.Partitions(ctx, "t")
	wantErr(t, err, nil)
	if len(ps) != 5 {
		t.Fatalf("after growing to 5, Partitions = %+v", ps)
	}
	produce(t, c, "t", 4, 2)
	o, err := a.Offsets(ctx, "t", 4)
	wantErr(t, err, nil)
	if o.Latest != 2 {
		t.Errorf("new partition 4 offsets = %+v, want latest 2", o)
	}

	for _, tt := range []struct {
		name  string
		topic string
		count int
		want  error
	}{
		{"fewer", "t", 3, kafka.ErrInvalidRequest},
		{"zero", "t", 0, kafka.ErrInvalidRequest},
		{"missing topic", "missing", 3, kafka.ErrTopicNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, a.SetPartitionCount(ctx, tt.topic, tt.count), tt.want)
		})
	}
}

func TestPartition(t *testing.T) {
	a, _ := newAdmin(t, kfake.SeedTopics(3, "t"))
	ctx := testCtx(t)

	for _, tt := range []struct {
		name      string
		topic     string
		partition int32
		want      error
	}{
		{"first", "t", 0, nil},
		{"last", "t", 2, nil},
		{"past the end", "t", 3, kafka.ErrPartitionNotFound},
		{"negative", "t", -1, kafka.ErrPartitionNotFound},
		{"missing topic", "missing", 0, kafka.ErrTopicNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := a.Partition(ctx, tt.topic, tt.partition)
			wantErr(t, err, tt.want)
			if tt.want == nil && (p.Topic != tt.topic || p.ID != tt.partition || p.Leader < 0 || len(p.Replicas) == 0) {
				t.Errorf("Partition = %+v", p)
			}
		})
	}

	_, err := a.Partitions(ctx, "missing")
	wantErr(t, err, kafka.ErrTopicNotFound)
}

func TestOffsets(t *testing.T) {
	a, c := newAdmin(t, kfake.SeedTopics(2, "t"))
	ctx := testCtx(t)
	produce(t, c, "t", 0, 10)

	// Move partition 0's log start forward.
	cl := kafkatest.NewClient(t, c.ListenAddrs())
	var del kadm.Offsets
	del.AddOffset("t", 0, 4, -1)
	rs, err := kadm.NewClient(cl).DeleteRecords(ctx, del)
	if err == nil {
		err = rs.Error()
	}
	if err != nil {
		t.Fatalf("delete records: %v", err)
	}

	for _, tt := range []struct {
		name      string
		topic     string
		partition int32
		want      PartitionOffsets
		wantErr   error
	}{
		{"written and trimmed", "t", 0, PartitionOffsets{Topic: "t", Partition: 0, Earliest: 4, Latest: 10}, nil},
		{"empty", "t", 1, PartitionOffsets{Topic: "t", Partition: 1}, nil},
		{"missing partition", "t", 2, PartitionOffsets{}, kafka.ErrPartitionNotFound},
		{"missing topic", "missing", 0, PartitionOffsets{}, kafka.ErrTopicNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.Offsets(ctx, tt.topic, tt.partition)
			wantErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("Offsets = %+v, want %+v", got, tt.want)
			}
		})
	}
}
