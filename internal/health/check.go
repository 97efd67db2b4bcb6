package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"krest/internal/kafka"
)

// TopicSpec describes a topic krest makes sure exists.
type TopicSpec struct {
	Name              string
	Partitions        int32
	ReplicationFactor int16 // -1 takes the broker's default
}

// Check asks the cluster for the topics' metadata: it fails when no broker
// answers (saying so, or that the brokers refused krest's login, wrapping
// kafka.ErrAuthentication, or that the TLS handshake failed); unless create
// is set (then it creates them), when a topic is
// missing; and when a topic that exists cannot take a write at all (see
// ErrNotWritable). A topic with only some partitions writable passes: its
// other partitions answer each request that needs them as unavailable.
func Check(ctx context.Context, adm *kadm.Client, topics []TopicSpec, create bool) error {
	names := make([]string, len(topics))
	for i, t := range topics {
		names[i] = t.Name
	}
	details, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return unreachable(err)
	}
	var existing []string
	for _, t := range topics {
		d, ok := details[t.Name]
		if ok && d.Err == nil {
			existing = append(existing, t.Name)
			continue
		}
		if ok && !errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			return fmt.Errorf("topic %s: %w", t.Name, d.Err)
		}
		if !create {
			return fmt.Errorf("%s: %w", t.Name, ErrTopicMissing)
		}
		resp, err := adm.CreateTopic(ctx, t.Partitions, t.ReplicationFactor, nil, t.Name)
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("creating topic %s: %w", t.Name, err)
		}
		if resp.Err != nil && !errors.Is(resp.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("creating topic %s: %w", t.Name, resp.Err)
		}
	}
	return checkWritable(ctx, adm, details, existing)
}

// unreachable says why no broker answered: a login the brokers refused, or
// that krest could not make (an unreadable password file, a failing token
// endpoint); a failed TLS handshake; or anything else.
func unreachable(err error) error {
	var (
		verify *tls.CertificateVerificationError
		header tls.RecordHeaderError
		alert  tls.AlertError
	)
	switch {
	case errors.Is(kafka.Classify(err), kafka.ErrAuthentication):
		if strings.HasPrefix(err.Error(), kafka.ErrAuthentication.Error()) {
			return err // says it already
		}
		return fmt.Errorf("%w: %w", kafka.ErrAuthentication, err)
	case errors.As(err, &verify), errors.As(err, &header), errors.As(err, &alert):
		return fmt.Errorf("TLS handshake with the brokers failed: %w", err)
	}
	return fmt.Errorf("broker unreachable: %w", err)
}

// checkWritable returns ErrNotWritable for the first of topics none of
// whose partitions can take a write. It reads each topic's
// min.insync.replicas; where it cannot (a principal without DescribeConfigs),
// a leader is enough.
func checkWritable(ctx context.Context, adm *kadm.Client, details kadm.TopicDetails, topics []string) error {
	if len(topics) == 0 {
		return nil
	}
	minISR := map[string]int{}
	configs, _ := adm.DescribeTopicConfigs(ctx, topics...) // partial results on error
	for _, rc := range configs {
		for _, c := range rc.Configs {
			if n, err := strconv.Atoi(c.MaybeValue()); c.Key == "min.insync.replicas" && err == nil {
				minISR[rc.Name] = n
			}
		}
	}
	for _, topic := range topics {
		var first error
		for _, p := range details[topic].Partitions.Sorted() {
			err := partitionWritable(p, max(minISR[topic], 1))
			if err == nil {
				first = nil
				break
			}
			if first == nil {
				first = err
			}
		}
		if first != nil {
			return fmt.Errorf("topic %s: %w: %v", topic, ErrNotWritable, first)
		}
	}
	return nil
}

// partitionWritable says why p cannot take a write with acks=all, or
// returns nil.
func partitionWritable(p kadm.PartitionDetail, minISR int) error {
	switch {
	case p.Err != nil:
		return fmt.Errorf("partition %d: %w", p.Partition, p.Err)
	case p.Leader < 0:
		return fmt.Errorf("partition %d has no leader", p.Partition)
	case len(p.ISR) < minISR:
		return fmt.Errorf("partition %d has %d in-sync replicas, fewer than min.insync.replicas=%d", p.Partition, len(p.ISR), minISR)
	}
	return nil
}
