package admin

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// metadata asks a broker for the metadata of topics: every topic when
// topics is nil, none (the brokers and controller only) when it is empty,
// with each topic's authorized operations when withOps is set.
//
// It issues a MetadataRequest of its own through the client instead of
// going through kadm, which answers from the client's metadata cache (up to
// kgo's MetadataMinAge old): admin's answers must show what a request a
// moment ago created, deleted or grew. kgo still routes the request, and
// refreshes its cache from the answer. Authorized operations cost the
// broker an ACL check per topic, so only the answers that show them ask.
func (a *Admin) metadata(ctx context.Context, topics []string, withOps bool) (*kmsg.MetadataResponse, error) {
	req := kmsg.NewPtrMetadataRequest()
	if topics != nil {
		req.Topics = make([]kmsg.MetadataRequestTopic, 0, len(topics))
		for _, t := range topics {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(t)
			req.Topics = append(req.Topics, rt)
		}
	}
	req.IncludeTopicAuthorizedOperations = withOps
	return req.RequestWith(ctx, a.cl)
}

// listedOffset is one partition's answer to a ListOffsets request.
type listedOffset struct {
	offset int64
	err    error
}

// Special timestamps of a ListOffsets request.
const (
	earliestOffset = -2 // the log start offset
	latestOffset   = -1 // the high watermark
)

// listOffsets asks for the offset at timestamp (earliestOffset or
// latestOffset) of each of parts, partitions by topic, in one ListOffsets
// request that kgo splits by partition leader. The callers name only
// partitions a fresh metadata answer holds. A partition's error, or the
// error of the request to its leader, is in its entry; a partition the
// answers leave out has none.
func (a *Admin) listOffsets(ctx context.Context, timestamp int64, parts map[string][]int32) map[TopicPartition]listedOffset {
	req := kmsg.NewPtrListOffsetsRequest()
	for topic, ps := range parts {
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		for _, p := range ps {
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition = p
			rp.Timestamp = timestamp
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	listed := make(map[TopicPartition]listedOffset)
	if len(req.Topics) == 0 {
		return listed
	}
	for _, shard := range a.cl.RequestSharded(ctx, req) {
		if shard.Err != nil {
			for _, rt := range shard.Req.(*kmsg.ListOffsetsRequest).Topics {
				for _, rp := range rt.Partitions {
					listed[TopicPartition{rt.Topic, rp.Partition}] = listedOffset{err: shard.Err}
				}
			}
			continue
		}
		for _, rt := range shard.Resp.(*kmsg.ListOffsetsResponse).Topics {
			for _, rp := range rt.Partitions {
				listed[TopicPartition{rt.Topic, rp.Partition}] = listedOffset{offset: rp.Offset, err: kerr.ErrorForCode(rp.ErrorCode)}
			}
		}
	}
	return listed
}

// topicError returns the error a metadata answer gives for topic t, naming
// the topic when the broker gave none.
func topicError(t kmsg.MetadataResponseTopic) error {
	if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
		return err
	}
	if t.Topic == nil {
		return fmt.Errorf("a topic without a name: %w", kerr.UnknownTopicID)
	}
	return nil
}
