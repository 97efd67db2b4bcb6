package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/kafkatest"
)

// TestReadyWithPausedPartition gives the consumer a record it can neither
// process nor dead-letter (the dead-letter topic takes no record that
// large): its partition pauses, and /readyz still answers 200, naming the
// paused partition and why, so the instance stays in produce rotation.
func TestReadyWithPausedPartition(t *testing.T) {
	c := kafkatest.NewCluster(t)
	adm := kadm.NewClient(kafkatest.NewClient(t, c.Brokers()))
	ctx := context.Background()
	tiny := "100"
	for _, topic := range []string{"messages", "messages.dlq"} {
		if _, err := adm.CreateTopic(ctx, 1, -1, nil, topic); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "max.message.bytes", Value: &tiny}}, "messages.dlq"); err != nil {
		t.Fatal(err)
	}
	cl := kafkatest.NewClient(t, c.Brokers())
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "messages", Value: []byte(strings.Repeat("not json ", 50))}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	k := startKrest(t, "--brokers", strings.Join(c.Brokers(), ","), "--dlq-retry-timeout", "1s")
	kafkatest.WaitFor(t, 30*time.Second, func() error {
		code, body := k.get(t, "/readyz")
		var st struct {
			Status  string `json:"status"`
			Details struct {
				Paused []struct {
					Topic     string `json:"topic"`
					Partition int32  `json:"partition"`
					Offset    int64  `json:"offset"`
					Reason    string `json:"reason"`
				} `json:"paused_partitions"`
			} `json:"details"`
		}
		if err := json.Unmarshal([]byte(body), &st); err != nil || code != http.StatusOK {
			return fmt.Errorf("readyz %d %s", code, body)
		}
		if len(st.Details.Paused) != 1 || st.Details.Paused[0].Topic != "messages" || st.Details.Paused[0].Reason == "" {
			return fmt.Errorf("readyz %s: no paused partition yet", body)
		}
		return nil
	})
	k.produceMessage(t, "still", "in rotation")
}
