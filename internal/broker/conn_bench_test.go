package broker_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/broker"
	"krest/internal/kafkatest"
)

// BenchmarkProduce produces 1 KiB records in batches of 1000 to kfake as it
// is, to the embedded broker (kfake behind conn), and to the embedded broker
// over SASL_SSL: the ratios of one run are conn's cost, and TLS's.
func BenchmarkProduce(b *testing.B) {
	certs := kafkatest.NewCerts(b)
	for _, tt := range []struct {
		name string
		opts *broker.Options // nil: kfake alone
		dial []kgo.Opt
	}{
		{name: "kfake"},
		{name: "embedded", opts: &broker.Options{}},
		{name: "embedded-SASL_SSL", opts: &broker.Options{SASLMechanism: "SCRAM-SHA-512", SASLUser: "krest", SASLPassword: "s3cret",
			TLSCertFile: certs.ServerCertFile, TLSKeyFile: certs.ServerKeyFile},
			dial: []kgo.Opt{kgo.DialTLSConfig(certs.ClientTLS()), kgo.SASL(mechanismB("SCRAM-SHA-512", "krest", "s3cret"))}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			var brokers []string
			if tt.opts == nil {
				// As Start runs it, without conn.
				c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(3), kfake.AllowAutoTopicCreation())
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(c.Close)
				brokers = c.ListenAddrs()
			} else {
				opts := *tt.opts
				opts.Addr, opts.InMemory, opts.Partitions = fmt.Sprintf("127.0.0.1:%d", kafkatest.FreePort(b)), true, 3
				br, err := broker.Start(opts)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(br.Close)
				brokers = br.Addrs()
			}
			cl := kafkatest.NewClient(b, brokers, append(tt.dial, kgo.AllowAutoTopicCreation(), kgo.MaxBufferedRecords(10_000))...)
			value := make([]byte, 1024)
			_, _ = rand.Read(value) // incompressible
			recs := make([]*kgo.Record, 1000)
			ctx := context.Background()
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "bench", Value: value}).FirstErr(); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(recs) * len(value)))
			b.ResetTimer()
			for b.Loop() {
				for i := range recs {
					recs[i] = &kgo.Record{Topic: "bench", Value: value}
				}
				if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
