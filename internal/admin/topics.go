package admin

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"

	"krest/internal/kafka"
	"krest/internal/naming"
)

// Topic describes a topic and its partitions.
type Topic struct {
	Name              string // Name is the topic name.
	Internal          bool   // Internal is whether Kafka marks the topic internal (__consumer_offsets, ...).
	PartitionsCount   int    // PartitionsCount is the number of partitions.
	ReplicationFactor int    // ReplicationFactor is the number of replicas of the topic's first partition.

	// Partitions holds every partition sorted by id. It is nil in the
	// Topic that CreateTopic returns.
	Partitions []Partition

	// AuthorizedOperations lists the operations krest's principal may
	// perform on the topic, named as Kafka's AclOperation enum names them
	// (READ, WRITE, DESCRIBE_CONFIGS, ...). Only Admin.Topic asks for
	// them (the broker checks each one's ACLs); it is nil elsewhere, and if
	// the broker does not report them.
	AuthorizedOperations []string
}

// Partition describes one partition of a topic.
type Partition struct {
	Topic    string    // Topic is the topic the partition belongs to.
	ID       int32     // ID is the partition number.
	Leader   int32     // Leader is the id of the leader broker, or -1 if the partition has no leader.
	Replicas []Replica // Replicas lists the partition's replicas in Kafka's replica order (the preferred leader first).
}

// Replica is one replica of a partition.
type Replica struct {
	Broker int32 // Broker is the id of the broker holding the replica.
	Leader bool  // Leader is whether this replica is the partition's leader.
	InSync bool  // InSync is whether this replica is in the partition's in-sync replica set.
}

// PartitionOffsets holds the offset range of one partition.
type PartitionOffsets struct {
	Topic     string // Topic is the topic the partition belongs to.
	Partition int32  // Partition is the partition number.
	Earliest  int64  // Earliest is the log start offset: the first offset still stored.
	Latest    int64  // Latest is the high watermark: the offset the next record will get.
}

// NewTopic is a topic to create.
type NewTopic struct {
	Name string // Name is the topic name; see ValidTopicName.

	// Partitions is the number of partitions; 0 uses the broker's
	// num.partitions.
	Partitions int32

	// ReplicationFactor is the number of replicas of each partition; 0
	// uses the broker's default.replication.factor.
	ReplicationFactor int16

	// Configs are topic configs to set at creation, by name.
	Configs map[string]string

	// ValidateOnly asks the broker to check the request without creating
	// the topic.
	ValidateOnly bool
}

// ValidTopicName returns nil if name is a legal Kafka topic name, or an error
// wrapping kafka.ErrInvalidRequest that says why not, naming the first
// illegal character (see naming.Topic for Kafka's rules). It asks no
// broker, so handlers can call it first.
func ValidTopicName(name string) error {
	if err := naming.Topic(name); err != nil {
		return fmt.Errorf("%w: %w", err, kafka.ErrInvalidRequest)
	}
	return nil
}

// Topics returns every topic, internal ones included, sorted by name,
// without AuthorizedOperations.
func (a *Admin) Topics(ctx context.Context) ([]Topic, error) {
	m, err := a.metadata(ctx, nil, false)
	if err != nil {
		return nil, brokerErr("list topics", err, "")
	}
	ts := make([]Topic, 0, len(m.Topics))
	for _, mt := range m.Topics {
		if err := topicError(mt); err != nil {
			return nil, brokerErr(fmt.Sprintf("list topics: topic %q", deref(mt.Topic)), err, "")
		}
		ts = append(ts, topicFrom(mt))
	}
	slices.SortFunc(ts, func(l, r Topic) int { return strings.Compare(l.Name, r.Name) })
	return ts, nil
}

// TopicsPage returns one page of the topics except internal ones, sorted
// by name, without AuthorizedOperations: those named after after, at most
// limit (see Page).
func (a *Admin) TopicsPage(ctx context.Context, after string, limit int) (Page[Topic], error) {
	ts, err := a.Topics(ctx)
	if err != nil {
		return Page[Topic]{}, err
	}
	byName := make(map[string]Topic, len(ts))
	names := make([]string, 0, len(ts))
	for _, t := range ts {
		if !t.Internal {
			byName[t.Name] = t
			names = append(names, t.Name)
		}
	}
	keys, next := pageKeys(names, after, a.pageLimit(limit))
	p := Page[Topic]{Items: make([]Topic, 0, len(keys)), Next: next}
	for _, k := range keys {
		p.Items = append(p.Items, byName[k])
	}
	return p, nil
}

// TopicNames returns the names of every topic except internal ones, sorted,
// as API v2's topic list wants them.
func (a *Admin) TopicNames(ctx context.Context) ([]string, error) {
	m, err := a.metadata(ctx, nil, false)
	if err != nil {
		return nil, brokerErr("list topics", err, "")
	}
	names := make([]string, 0, len(m.Topics))
	for _, mt := range m.Topics {
		if mt.Topic != nil && !mt.IsInternal {
			names = append(names, *mt.Topic)
		}
	}
	slices.Sort(names)
	return names, nil
}

// Topic describes the named topic, with the operations krest's principal
// may perform on it, or returns an error wrapping kafka.ErrTopicNotFound.
func (a *Admin) Topic(ctx context.Context, name string) (Topic, error) {
	return a.topic(ctx, name, true)
}

// topic describes the named topic, with its authorized operations if
// withOps.
func (a *Admin) topic(ctx context.Context, name string, withOps bool) (Topic, error) {
	op := fmt.Sprintf("describe topic %q", name)
	m, err := a.metadata(ctx, []string{name}, withOps)
	if err != nil {
		return Topic{}, brokerErr(op, err, "")
	}
	for _, mt := range m.Topics {
		if mt.Topic == nil || *mt.Topic != name {
			continue
		}
		if err := topicError(mt); err != nil {
			return Topic{}, brokerErr(op, err, "")
		}
		return topicFrom(mt), nil
	}
	return Topic{}, fmt.Errorf("%s: %w", op, kafka.ErrTopicNotFound)
}

// deref returns *s, or "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// topicFrom converts a metadata answer's topic, which must have no error.
func topicFrom(mt kmsg.MetadataResponseTopic) Topic {
	name := deref(mt.Topic)
	t := Topic{
		Name:            name,
		Internal:        mt.IsInternal,
		PartitionsCount: len(mt.Partitions),
		Partitions:      make([]Partition, 0, len(mt.Partitions)),
	}
	mps := slices.Clone(mt.Partitions)
	slices.SortFunc(mps, func(l, r kmsg.MetadataResponseTopicPartition) int { return cmp.Compare(l.Partition, r.Partition) })
	for _, mp := range mps {
		p := Partition{Topic: name, ID: mp.Partition, Leader: max(mp.Leader, -1)}
		for _, b := range mp.Replicas {
			p.Replicas = append(p.Replicas, Replica{
				Broker: b,
				Leader: b == mp.Leader,
				InSync: slices.Contains(mp.ISR, b),
			})
		}
		t.Partitions = append(t.Partitions, p)
	}
	if len(t.Partitions) > 0 {
		t.ReplicationFactor = len(t.Partitions[0].Replicas)
	}
	for _, op := range kadm.DecodeACLOperations(mt.AuthorizedOperations) {
		t.AuthorizedOperations = append(t.AuthorizedOperations, op.String())
	}
	return t
}

// CreateTopic creates a topic, or with t.ValidateOnly only checks that it
// could be created. The returned Topic carries the name, partition count and
// replication factor the broker used (the request's values if the broker
// predates Kafka 2.4), and no Partitions. Errors wrap kafka.ErrTopicExists or
// kafka.ErrInvalidRequest (an invalid name, more partitions than
// MaxRequestPartitions, a replication factor larger than the number of
// brokers, an unknown config, ...).
func (a *Admin) CreateTopic(ctx context.Context, t NewTopic) (Topic, error) {
	op := fmt.Sprintf("create topic %q", t.Name)
	if err := ValidTopicName(t.Name); err != nil {
		return Topic{}, fmt.Errorf("%s: %w", op, err)
	}
	switch {
	case t.Partitions < 0:
		return Topic{}, fmt.Errorf("%s: partition count %d is negative: %w", op, t.Partitions, kafka.ErrInvalidRequest)
	case int(t.Partitions) > a.maxPartitions:
		return Topic{}, fmt.Errorf("%s: %d partitions are more than the %d one request may create: %w",
			op, t.Partitions, a.maxPartitions, kafka.ErrInvalidRequest)
	case t.ReplicationFactor < 0:
		return Topic{}, fmt.Errorf("%s: replication factor %d is negative: %w", op, t.ReplicationFactor, kafka.ErrInvalidRequest)
	}
	partitions, rf := t.Partitions, t.ReplicationFactor
	if partitions == 0 {
		partitions = -1 // broker default
	}
	if rf == 0 {
		rf = -1 // broker default
	}
	create := a.adm.CreateTopics
	if t.ValidateOnly {
		create = a.adm.ValidateCreateTopics
	}
	var configs map[string]*string
	if len(t.Configs) > 0 {
		configs = make(map[string]*string, len(t.Configs))
		for k, v := range t.Configs {
			configs[k] = &v
		}
	}
	rs, err := create(ctx, partitions, rf, configs, t.Name)
	if err != nil {
		return Topic{}, brokerErr(op, err, "")
	}
	r, ok := rs[t.Name]
	if !ok {
		return Topic{}, fmt.Errorf("%s: the response does not mention the topic: %w", op, kafka.ErrUnavailable)
	}
	if r.Err != nil {
		return Topic{}, brokerErr(op, r.Err, r.ErrMessage)
	}
	created := Topic{Name: t.Name, PartitionsCount: int(partitions), ReplicationFactor: int(rf)}
	if r.NumPartitions > 0 {
		created.PartitionsCount = int(r.NumPartitions)
	}
	if r.ReplicationFactor > 0 {
		created.ReplicationFactor = int(r.ReplicationFactor)
	}
	return created, nil
}

// DeleteTopic deletes the named topic, or returns an error wrapping
// kafka.ErrTopicNotFound.
func (a *Admin) DeleteTopic(ctx context.Context, name string) error {
	op := fmt.Sprintf("delete topic %q", name)
	rs, err := a.adm.DeleteTopics(ctx, name)
	if err != nil {
		return brokerErr(op, err, "")
	}
	r, ok := rs[name]
	if !ok {
		return fmt.Errorf("%s: the response does not mention the topic: %w", op, kafka.ErrUnavailable)
	}
	return brokerErr(op, r.Err, r.ErrMessage)
}

// SetPartitionCount raises the named topic's partition count to count.
// Kafka cannot remove partitions: it rejects a count below the current one,
// and an unchanged one too, with an error wrapping kafka.ErrInvalidRequest.
// Adding more than MaxRequestPartitions partitions fails the same way,
// before the broker is asked. Errors also wrap kafka.ErrTopicNotFound.
func (a *Admin) SetPartitionCount(ctx context.Context, topic string, count int) error {
	op := fmt.Sprintf("set partition count of topic %q to %d", topic, count)
	if count < 1 {
		return fmt.Errorf("%s: a topic needs at least one partition: %w", op, kafka.ErrInvalidRequest)
	}
	t, err := a.topic(ctx, topic, false)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if added := count - t.PartitionsCount; added > a.maxPartitions {
		return fmt.Errorf("%s: adding %d partitions to its %d is more than the %d one request may add: %w",
			op, added, t.PartitionsCount, a.maxPartitions, kafka.ErrInvalidRequest)
	}
	rs, err := a.adm.UpdatePartitions(ctx, count, topic)
	if err != nil {
		return brokerErr(op, err, "")
	}
	r, ok := rs[topic]
	if !ok {
		return fmt.Errorf("%s: the response does not mention the topic: %w", op, kafka.ErrUnavailable)
	}
	return brokerErr(op, r.Err, r.ErrMessage)
}

// Partitions returns the named topic's partitions sorted by id, or an error
// wrapping kafka.ErrTopicNotFound.
func (a *Admin) Partitions(ctx context.Context, topic string) ([]Partition, error) {
	t, err := a.topic(ctx, topic, false)
	if err != nil {
		return nil, err
	}
	return t.Partitions, nil
}

// Partition describes one partition, or returns an error wrapping
// kafka.ErrTopicNotFound or kafka.ErrPartitionNotFound.
func (a *Admin) Partition(ctx context.Context, topic string, partition int32) (Partition, error) {
	t, err := a.topic(ctx, topic, false)
	if err != nil {
		return Partition{}, err
	}
	for _, p := range t.Partitions {
		if p.ID == partition {
			return p, nil
		}
	}
	return Partition{}, fmt.Errorf("topic %q partition %d: %w", topic, partition, kafka.ErrPartitionNotFound)
}

// Offsets returns the earliest and latest offsets of one partition, or an
// error wrapping kafka.ErrTopicNotFound or kafka.ErrPartitionNotFound. It
// asks for the topic's metadata, then its leader for both offsets.
func (a *Admin) Offsets(ctx context.Context, topic string, partition int32) (PartitionOffsets, error) {
	op := fmt.Sprintf("list offsets of topic %q partition %d", topic, partition)
	m, err := a.metadata(ctx, []string{topic}, false)
	if err != nil {
		return PartitionOffsets{}, brokerErr(op, err, "")
	}
	found := false
	for _, mt := range m.Topics {
		if mt.Topic == nil || *mt.Topic != topic {
			continue
		}
		if err := topicError(mt); err != nil {
			return PartitionOffsets{}, brokerErr(op, err, "")
		}
		found = slices.ContainsFunc(mt.Partitions, func(p kmsg.MetadataResponseTopicPartition) bool { return p.Partition == partition })
	}
	if !found {
		return PartitionOffsets{}, fmt.Errorf("%s: %w", op, kafka.ErrPartitionNotFound)
	}
	po := PartitionOffsets{Topic: topic, Partition: partition}
	tp := TopicPartition{topic, partition}
	for _, list := range []struct {
		timestamp int64
		dst       *int64
	}{{earliestOffset, &po.Earliest}, {latestOffset, &po.Latest}} {
		lo, ok := a.listOffsets(ctx, list.timestamp, map[string][]int32{topic: {partition}})[tp]
		switch {
		case !ok:
			return PartitionOffsets{}, fmt.Errorf("%s: the response does not mention the partition: %w", op, kafka.ErrUnavailable)
		case lo.err != nil:
			return PartitionOffsets{}, brokerErr(op, lo.err, "")
		}
		*list.dst = lo.offset
	}
	return po, nil
}
