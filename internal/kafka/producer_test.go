package kafka_test

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/config"
	"krest/internal/kafka"
	"krest/internal/kafkatest"
)

// TestProducerCompression produces with each codec a setting may name and
// reads back the codec of the batch the broker stored; the codecs are
// Kafka's compression.type numbers.
func TestProducerCompression(t *testing.T) {
	if got := slices.Sorted(maps.Keys(kafka.Compressions)); !slices.Equal(got, slices.Sorted(slices.Values(config.Compressions))) {
		t.Fatalf("kafka knows the codecs %q, the settings %q", got, config.Compressions)
	}
	codes := map[string]uint8{"": 2, "none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
	c := kafkatest.NewFake(t)
	ctx := context.Background()
	reader := kafkatest.NewClient(t, c.Brokers())
	value := bytes.Repeat([]byte(`{"id":"1","content":"compressible"}`), 40)
	for name, code := range codes {
		topic := "compressed-" + name
		if _, err := kadm.NewClient(reader).CreateTopic(ctx, 1, -1, nil, topic); err != nil {
			t.Fatal(err)
		}
		cl, err := kafka.NewProducerClient(kafka.ProducerOptions{Options: kafka.Options{Brokers: c.Brokers()},
			MaxBufferedRecords: 10, MaxBufferedBytes: 1 << 20, Compression: name})
		if err != nil {
			t.Fatal(err)
		}
		err = cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: value}).FirstErr()
		cl.Close()
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		consumer := kafkatest.NewClient(t, c.Brokers(), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		fs := consumer.PollRecords(ctx, 1)
		if err := fs.Err0(); err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		r := fs.Records()[0]
		if got := r.Attrs.CompressionType(); got != code || !bytes.Equal(r.Value, value) {
			t.Errorf("compression %q: the batch's codec is %d, want %d (value intact: %v)", name, got, code, bytes.Equal(r.Value, value))
		}
	}
	if _, err := kafka.NewProducerClient(kafka.ProducerOptions{Options: kafka.Options{Brokers: c.Brokers()},
		MaxBufferedRecords: 10, MaxBufferedBytes: 1 << 20, Compression: "brotli"}); err == nil {
		t.Error("an unknown compression was accepted")
	}
}
