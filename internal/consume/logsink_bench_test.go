package consume

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/logline"
	"krest/internal/message"
)

// BenchmarkLogSink is LogSink's cost per record of krest-bench's size, at
// info and at warn, through krest's handler and buffered writer.
func BenchmarkLogSink(b *testing.B) {
	r := &kgo.Record{Topic: "messages", Partition: 2, Offset: 123456,
		Value: message.Encode("123456", strings.Repeat("abcdefghij", 17))}
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
		b.Run(level.String(), func(b *testing.B) {
			w, err := logline.NewWriter(io.Discard, logline.WriterOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			h, err := logline.NewHandler(w, logline.HandlerOptions{Level: level})
			if err != nil {
				b.Fatal(err)
			}
			s := LogSink{Logger: slog.New(h), Output: w}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Handle(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
