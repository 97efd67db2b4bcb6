package consume_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/consume"
	"krest/internal/kafka"
	"krest/internal/kafkatest"
	"krest/internal/logline"
	"krest/internal/message"
	"krest/internal/produce"
)

// benchRecords is the backlog each benchmark run drains: enough that a
// drain takes a good part of a second at the bare loop's speed.
const benchRecords = 500_000

// BenchmarkConsume drains a backlog of seed-route messages (200-byte
// values, as krest-bench sends) from an in-process kfake, with the bare
// franz-go poll loop, with that loop also decoding each value as LogSink
// does (message.ParseBytes), and with krest's Group and LogSink logging to
// a file at info and at warn (through krest's handler and log buffer),
// in turn in the same run. It reports records per second from the first
// record to the last (group joins are not counted); x_bare, krest's speed
// over the bare loop's; x_decoding, over the decoding loop's; and the
// process's CPU time per record (broker included), which other load on the
// machine disturbs less.
func BenchmarkConsume(b *testing.B) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "in"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	brokers := c.ListenAddrs()
	fillBench(b, brokers, "in", benchRecords)
	out, err := os.Create(filepath.Join(b.TempDir(), "krest.log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { out.Close() })

	run := 0
	for _, tt := range []struct {
		name  string
		level slog.Level
	}{
		{"info", slog.LevelInfo},
		{"warn", slog.LevelWarn},
	} {
		b.Run(tt.name, func(b *testing.B) {
			var bare, decoding, group, bareCPU, groupCPU time.Duration
			for range b.N {
				run++
				cpu := cpuTime(b)
				bare += drainBare(b, brokers, "bare-"+strconv.Itoa(run), false)
				bareCPU += cpuTime(b) - cpu
				decoding += drainBare(b, brokers, "decoding-"+strconv.Itoa(run), true)
				cpu = cpuTime(b)
				group += drainGroup(b, brokers, "group-"+strconv.Itoa(run), out, tt.level)
				groupCPU += cpuTime(b) - cpu
			}
			n := float64(b.N * benchRecords)
			b.ReportMetric(n/bare.Seconds(), "bare_rec/s")
			b.ReportMetric(n/group.Seconds(), "rec/s")
			b.ReportMetric(bare.Seconds()/group.Seconds(), "x_bare")
			b.ReportMetric(decoding.Seconds()/group.Seconds(), "x_decoding")
			b.ReportMetric(float64(bareCPU.Nanoseconds())/n, "bare_cpu_ns/rec")
			b.ReportMetric(float64(groupCPU.Nanoseconds())/n, "cpu_ns/rec")
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fillBench writes n messages to topic.
func fillBench(b *testing.B, brokers []string, topic string, n int) {
	b.Helper()
	cl := kafkatest.NewClient(b, brokers, kgo.DefaultProduceTopic(topic), kgo.MaxBufferedRecords(100_000))
	filler := make([]byte, 200)
	for i := range filler {
		filler[i] = 'a' + byte(i%26)
	}
	ctx := context.Background()
	var failed atomic.Value
	for i := range n {
		id := strconv.Itoa(i)
		v := append([]byte(`{"id":"`+id+`","content":"`), filler[:200-len(id)-len(`{"id":"","content":""}`)]...)
		cl.Produce(ctx, &kgo.Record{Key: []byte(id), Value: append(v, `"}`...)}, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Store(err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
}

// drainBare reads the whole topic in a fresh group with franz-go's
// defaults and a poll loop that touches each record, or decodes it, and
// returns the time from its first record to its last.
func drainBare(b *testing.B, brokers []string, group string, decode bool) time.Duration {
	b.Helper()
	cl := kafkatest.NewClient(b, brokers, kgo.ConsumerGroup(group), kgo.ConsumeTopics("in"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cl.Close()
	ctx := context.Background()
	var start time.Time
	var n, sum int
	for n < benchRecords {
		fs := cl.PollRecords(ctx, 10_000)
		if err := fs.Err0(); err != nil {
			b.Fatal(err)
		}
		if start.IsZero() && fs.NumRecords() > 0 {
			start = time.Now()
		}
		fs.EachRecord(func(r *kgo.Record) {
			if decode {
				if _, _, ok := message.ParseBytes(r.Value); !ok {
					b.Fatalf("record %s is not a message", r.Key)
				}
			}
			sum += len(r.Value)
		})
		n += fs.NumRecords()
	}
	return time.Since(start)
}

// countingMetrics closes done when the group has dealt with n records.
type countingMetrics struct {
	n     atomic.Int64
	start atomic.Int64
	done  chan struct{}
}

func (m *countingMetrics) Consumed() {
	if n := m.n.Add(1); n == 1 {
		m.start.Store(time.Now().UnixNano())
	} else if n == benchRecords {
		close(m.done)
	}
}
func (m *countingMetrics) DeadLettered()           {}
func (m *countingMetrics) CommitFailed()           {}
func (m *countingMetrics) DeadLetterFailed(string) {}
func (m *countingMetrics) PausedPartitions(int)    {}

// drainGroup reads the whole topic with krest's Group and LogSink logging
// to out at level, and returns the time from its first record to its last.
func drainGroup(b *testing.B, brokers []string, group string, out io.Writer, level slog.Level) time.Duration {
	b.Helper()
	w, err := logline.NewWriter(out, logline.WriterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	h, err := logline.NewHandler(w, logline.HandlerOptions{Level: level})
	if err != nil {
		b.Fatal(err)
	}
	logger := slog.New(h)
	m := &countingMetrics{done: make(chan struct{})}
	dlq, err := consume.NewDeadLetters(produce.New(kafkatest.NewClient(b, brokers), produce.Options{Timeout: time.Second}),
		"in.dlq", consume.DeadLetterOptions{Retriable: produce.Retriable})
	if err != nil {
		b.Fatal(err)
	}
	g, err := consume.New(consume.Options{
		Handler: consume.LogSink{Logger: logger, Output: w}, Logger: logger, Metrics: m, DrainTimeout: time.Second, DeadLetters: dlq,
	})
	if err != nil {
		b.Fatal(err)
	}
	cl, err := kafka.NewConsumerClient(kafka.ConsumerOptions{
		Options: kafka.Options{Brokers: brokers, ClientID: "bench"}, Group: group, Topics: []string{"in"},
		SessionTimeout: 10 * time.Second, OnRevoked: g.OnRevoked, OnLost: g.OnLost, OnCommit: g.OnCommit,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx, cl) }()
	<-m.done
	took := time.Since(time.Unix(0, m.start.Load()))
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return took
}
