package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// cluster is the bench's own admin view of the broker: the topics it creates and the offsets it counts.
type cluster struct {
	brokers string // comma-separated seed brokers
	id      string // cluster id, for v3 URLs
	cl      *kgo.Client
	adm     *kadm.Client
}

// dialCluster connects to brokers, waiting up to timeout for them to answer.
func dialCluster(ctx context.Context, brokers string, timeout time.Duration) (*cluster, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...))
	if err != nil {
		return nil, err
	}
	c := &cluster{brokers: brokers, cl: cl, adm: kadm.NewClient(cl)}
	err = poll(ctx, timeout, 100*time.Millisecond, func() error {
		md, err := c.adm.Metadata(ctx)
		c.id = md.Cluster
		return err
	})
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("brokers %s do not answer: %w", brokers, err)
	}
	return c, nil
}

// close closes the admin client.
func (c *cluster) close() { c.cl.Close() }

// createTopic creates topic with partitions; created is false if it already existed.
func (c *cluster) createTopic(ctx context.Context, topic string, partitions int) (created bool, err error) {
	resp, err := c.adm.CreateTopic(ctx, int32(partitions), 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if errors.Is(err, kerr.TopicAlreadyExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create topic %s: %w", topic, err)
	}
	return true, c.waitTopic(ctx, topic)
}

// waitTopic polls until every partition of topic lists its offsets.
func (c *cluster) waitTopic(ctx context.Context, topic string) error {
	return poll(ctx, 10*time.Second, 50*time.Millisecond, func() error {
		_, err := c.records(ctx, topic)
		return err
	})
}

// deleteTopic deletes topic, freeing the broker's memory; failures only cost memory, so they are ignored.
func (c *cluster) deleteTopic(ctx context.Context, topic string) {
	c.adm.DeleteTopic(ctx, topic)
}

// trim deletes the records of topic up to its end offsets, which frees them in the broker; failures only
// cost memory, so they are ignored.
func (c *cluster) trim(ctx context.Context, topic string) {
	ends, err := c.adm.ListEndOffsets(ctx, topic)
	if err == nil {
		c.adm.DeleteRecords(ctx, ends.Offsets())
	}
}

// records returns how many records topic holds: the sum over its partitions of end minus start offsets.
func (c *cluster) records(ctx context.Context, topic string) (int64, error) {
	starts, err := c.adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("list start offsets of %s: %w", topic, err)
	}
	ends, err := c.adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	if len(ends[topic]) == 0 {
		return 0, fmt.Errorf("topic %s has no partitions", topic)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) {
		start, _ := starts.Lookup(o.Topic, o.Partition)
		n += o.Offset - start.Offset
	})
	return n, nil
}

// stable reports whether group has settled with at least one member, its partitions assigned.
func (c *cluster) stable(ctx context.Context, group string) bool {
	described, err := c.adm.DescribeGroups(ctx, group)
	if err != nil {
		return false
	}
	g, ok := described[group]
	return ok && g.Err == nil && g.State == "Stable" && len(g.Members) > 0
}

// committed returns the sum of group's committed offsets on topic.
func (c *cluster) committed(ctx context.Context, group, topic string) (int64, error) {
	offsets, err := c.adm.FetchOffsets(ctx, group)
	if err == nil {
		err = offsets.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("fetch offsets of group %s: %w", group, err)
	}
	var n int64
	offsets.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.At > 0 {
			n += o.At
		}
	})
	return n, nil
}

// setGroupConfig sets a group config, such as share.auto.offset.reset, with IncrementalAlterConfigs on
// the GROUP resource (kadm has no call for it).
func (c *cluster) setGroupConfig(ctx context.Context, group, name, value string) error {
	cfg := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	cfg.Name, cfg.Value = name, kmsg.StringPtr(value)
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
	res.Configs = append(res.Configs, cfg)
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(ctx, c.cl)
	if err == nil && len(resp.Resources) > 0 {
		err = kerr.ErrorForCode(resp.Resources[0].ErrorCode)
	}
	if err != nil {
		return fmt.Errorf("set %s=%s on group %s: %w", name, value, group, err)
	}
	return nil
}

// verification compares the records a topic gained during a run with the records acknowledged.
type verification struct {
	acked   int64 // records the target acknowledged
	unacked int64 // records sent without an acknowledgement: they may or may not have been written
	inTopic int64 // records the topic gained
}

// err is nil when every acknowledged record is in the topic and nothing else is, beyond records whose
// fate the client could not know.
func (v verification) err() error {
	switch {
	case v.inTopic < v.acked:
		return fmt.Errorf("%d acknowledged but %d in the topic: %d lost", v.acked, v.inTopic, v.acked-v.inTopic)
	case v.inTopic > v.acked+v.unacked:
		return fmt.Errorf("%d acknowledged (%d unanswered) but %d in the topic: extra records", v.acked, v.unacked, v.inTopic)
	}
	return nil
}

// plus returns the sum of two verifications.
func (v verification) plus(o verification) verification {
	return verification{acked: v.acked + o.acked, unacked: v.unacked + o.unacked, inTopic: v.inTopic + o.inTopic}
}

// String describes a passing verification.
func (v verification) String() string {
	return fmt.Sprintf("%d acknowledged, %d in topic", v.acked, v.inTopic)
}
