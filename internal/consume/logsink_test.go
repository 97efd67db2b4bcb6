package consume

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestLogSink(t *testing.T) {
	for _, tt := range []struct {
		name, value string
		wantErr     bool
	}{
		{"message", `{"id":"1","content":"hi"}`, false},
		{"extra fields are fine", `{"id":"1","content":"hi","at":3}`, false},
		{"not JSON", `not json`, true},
		{"null", `null`, true},
		{"array", `[1]`, true},
		{"id missing", `{"content":"hi"}`, true},
		{"content not a string", `{"id":"1","content":5}`, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := LogSink{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			err := s.Handle(context.Background(), &kgo.Record{Topic: "m", Partition: 1, Offset: 7, Value: []byte(tt.value)})
			if tt.wantErr {
				if !errors.Is(err, ErrUndecodable) {
					t.Errorf("got %v, want ErrUndecodable", err)
				}
				if logs.Len() != 0 {
					t.Errorf("logged %q for a bad record", logs.String())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := `msg="consumed message" id=1 content=hi topic=m partition=1 offset=7`; !strings.Contains(logs.String(), want) {
				t.Errorf("logged %q, want %q", logs.String(), want)
			}
		})
	}
}
