package produce_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/kafka"
	"krest/internal/kafkatest"
	"krest/internal/produce"
)

func TestPartitioner(t *testing.T) {
	brokers := kafkatest.NewCluster(t).Brokers()
	ctx := context.Background()
	adm := kadm.NewClient(kafkatest.NewClient(t, brokers))
	for _, topic := range []string{"pinned", "reference"} {
		if _, err := adm.CreateTopic(ctx, 3, -1, nil, topic); err != nil {
			t.Fatal(err)
		}
	}
	cl, err := kafka.NewProducerClient(produce.ClientOptions(kafka.ProducerOptions{Options: kafka.Options{Brokers: brokers}, MaxBufferedRecords: 100}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	reference := kafkatest.NewClient(t, brokers) // franz-go's default partitioner

	t.Run("pinned records keep their partition", func(t *testing.T) {
		for _, p := range []int32{2, 0, 1, 2} {
			r := &kgo.Record{Topic: "pinned", Key: []byte("same key"), Value: []byte("v")}
			produce.ToPartition(r, p)
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatalf("partition %d: %v", p, err)
			}
			if r.Partition != p {
				t.Fatalf("pinned to %d, written to %d", p, r.Partition)
			}
		}
	})

	t.Run("other records are partitioned as by default", func(t *testing.T) {
		for i := range 20 {
			key := []byte("key-" + strconv.Itoa(i))
			r := &kgo.Record{Topic: "pinned", Key: key}
			ref := &kgo.Record{Topic: "reference", Key: key}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
			if err := reference.ProduceSync(ctx, ref).FirstErr(); err != nil {
				t.Fatal(err)
			}
			if r.Partition != ref.Partition {
				t.Fatalf("key %s: partition %d, default partitioner chose %d", key, r.Partition, ref.Partition)
			}
		}
	})

	p := produce.New(cl, produce.Options{Timeout: 5 * time.Second})
	for _, tt := range []struct {
		name      string
		partition int32
	}{
		{"past the last partition", 3},
		{"far past", 1 << 30},
		{"negative", -1},
	} {
		t.Run(tt.name+" fails", func(t *testing.T) {
			r := &kgo.Record{Topic: "pinned", Value: []byte("v")}
			produce.ToPartition(r, tt.partition)
			err := p.Write(ctx, r)
			if !errors.Is(err, kafka.ErrPartitionNotFound) || !strings.Contains(err.Error(), "has 3 partitions") {
				t.Fatalf("partition %d of 3: got %v, want ErrPartitionNotFound naming 3 partitions", tt.partition, err)
			}
		})
	}

	t.Run("an unpinned failure is not out of range", func(t *testing.T) {
		err := p.Write(ctx, &kgo.Record{Topic: "no-such-topic", Value: []byte("v")})
		if !errors.Is(err, kafka.ErrTopicNotFound) || errors.Is(err, kafka.ErrPartitionNotFound) {
			t.Fatalf("missing topic: got %v, want ErrTopicNotFound only", err)
		}
	})
}
