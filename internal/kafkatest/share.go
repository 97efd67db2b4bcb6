package kafkatest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Group configs of share groups (KIP-932), set per group with
// SetGroupConfigs: the group's own value of a broker-wide group.share.*
// default, bounded by the brokers' group.share.min.* and group.share.max.*.
const (
	// ShareAutoOffsetReset is where a share group starts on a partition it
	// has no state for: "latest" (the default) or "earliest".
	ShareAutoOffsetReset = "share.auto.offset.reset"
	// ShareRecordLockDuration is how long, in milliseconds, a delivered
	// record stays acquired before it is delivered again.
	ShareRecordLockDuration = "share.record.lock.duration.ms"
	// ShareDeliveryCountLimit is the delivery after which a record that is
	// released or whose lock expires is archived instead (2 to 10).
	ShareDeliveryCountLimit = "share.delivery.count.limit"
	// ShareDeadLetterTopic is the topic the brokers write a rejected or
	// archived record to (Kafka 4.4, KIP-1191, share.version 2). Its name
	// starts with the brokers' errors.deadletterqueue.topic.name.prefix
	// ("dlq." by default), and the topic exists with
	// DeadLetterTopicEnable set, unless the brokers'
	// errors.deadletterqueue.auto.create.topics.enable creates it.
	ShareDeadLetterTopic = "errors.deadletterqueue.topic.name"
	// ShareDeadLetterCopyRecord, "true", copies the record's key and value
	// onto the dead-letter topic beside the context headers (default false:
	// headers only).
	ShareDeadLetterCopyRecord = "errors.deadletterqueue.copy.record.enable"
)

// DeadLetterTopicEnable is the topic config that lets share groups write
// dead letters to the topic (Kafka 4.4): "true"; default false, and the
// brokers then archive the record without writing it.
const DeadLetterTopicEnable = "errors.deadletterqueue.group.enable"

// SetGroupConfigs sets configs of group (such as ShareAutoOffsetReset) with
// IncrementalAlterConfigs on the GROUP resource, and fails t if the
// brokers refuse any.
func SetGroupConfigs(t testing.TB, cl *kgo.Client, group string, configs map[string]string) {
	t.Helper()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType = kmsg.ConfigResourceTypeGroupConfig
	res.ResourceName = group
	keys := make([]string, 0, len(configs))
	for k := range configs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name = k
		c.Value = kmsg.StringPtr(configs[k])
		res.Configs = append(res.Configs, c)
	}
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.Resources = append(req.Resources, res)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("kafkatest: setting configs of group %s: %v", group, err)
	}
	for _, r := range resp.Resources {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			msg := ""
			if r.ErrorMessage != nil {
				msg = *r.ErrorMessage
			}
			t.Fatalf("kafkatest: setting configs %v of group %s: %v: %s", configs, group, err, msg)
		}
	}
}

// FinalizedFeature returns the cluster-wide level of a feature such as
// "share.version", as ApiVersions reports it, and whether it is finalized.
func FinalizedFeature(t testing.TB, cl *kgo.Client, name string) (int16, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("kafkatest: ApiVersions: %v", err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		t.Fatalf("kafkatest: ApiVersions: %v", err)
	}
	for _, f := range resp.FinalizedFeatures {
		if f.Name == name {
			return f.MaxVersionLevel, true
		}
	}
	return 0, false
}
