package admin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"krest/internal/kafka"
)

// Group types, as Kafka's GroupType enum names them.
const (
	groupTypeClassic  = "CLASSIC"  // a group whose clients assign partitions (the JoinGroup/SyncGroup protocol)
	groupTypeConsumer = "CONSUMER" // a group whose coordinator assigns partitions (KIP-848)
)

// Group describes a consumer group.
type Group struct {
	ID   string // ID is the group id.
	Type string // Type is "CLASSIC" (clients assign partitions) or "CONSUMER" (the coordinator does, KIP-848).

	// State is the group's state as Kafka's GroupState enum names it:
	// EMPTY, STABLE, PREPARING_REBALANCE, COMPLETING_REBALANCE (classic),
	// ASSIGNING, RECONCILING (consumer), or UNKNOWN.
	State string

	// Simple is whether the group is a "simple" one: a classic group whose
	// clients commit offsets without ever joining it.
	Simple bool

	// Mixed is whether a consumer group has members that still speak the
	// classic protocol (an upgrade in progress).
	Mixed bool

	// PartitionAssignor is the assignor in use: the client-side protocol
	// ("range", "cooperative-sticky", ...) of a stable classic group, the
	// server-side assignor ("uniform", "range") of a consumer group, or
	// empty.
	PartitionAssignor string

	Coordinator int32      // Coordinator is the id of the group's coordinator broker.
	Consumers   []Consumer // Consumers holds the group's members sorted by ID.
}

// Consumer is one member of a consumer group.
type Consumer struct {
	ID         string // ID is the member id the coordinator assigned.
	InstanceID string // InstanceID is the static member id (group.instance.id), or empty.
	ClientID   string // ClientID is the member's client.id.
	Host       string // Host is the address the member connects from.

	// Assignments lists the partitions the member currently owns, sorted
	// by topic, then partition. A classic group reports assignments only
	// while it is STABLE.
	Assignments []TopicPartition
}

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string // Topic is the topic name.
	Partition int32  // Partition is the partition number.
}

// Lag is how far a consumer group is behind on one partition.
type Lag struct {
	Topic         string // Topic is the topic name.
	Partition     int32  // Partition is the partition number.
	CurrentOffset int64  // CurrentOffset is the group's committed offset.
	LogEndOffset  int64  // LogEndOffset is the partition's high watermark.
	Lag           int64  // Lag is LogEndOffset minus CurrentOffset, or 0 if the commit is ahead.

	// ConsumerID, InstanceID and ClientID identify the member assigned
	// the partition. They are empty if no member is.
	ConsumerID string
	InstanceID string
	ClientID   string
}

// LagSummary sums up a consumer group's lag.
type LagSummary struct {
	// MaxLag is the largest lag of any partition, which the other MaxLag
	// fields locate (the first in topic, partition order on a tie). They
	// are all zero when the group has committed no offsets.
	MaxLag           int64
	MaxLagTopic      string
	MaxLagPartition  int32
	MaxLagConsumerID string
	MaxLagInstanceID string
	MaxLagClientID   string

	TotalLag int64 // TotalLag is the sum of the lags of every partition.
}

// Groups returns every consumer group, classic or consumer, sorted by id.
// Groups of other protocols (Kafka Connect, share groups, ...) are left out.
func (a *Admin) Groups(ctx context.Context) ([]Group, error) {
	ids, err := a.groupIDs(ctx)
	if err != nil {
		return nil, err
	}
	return a.describeSorted(ctx, ids)
}

// GroupsPage returns one page of the consumer groups Groups returns: those
// whose id sorts after after, at most limit (see Page). Only the page's
// groups are described.
func (a *Admin) GroupsPage(ctx context.Context, after string, limit int) (Page[Group], error) {
	ids, err := a.groupIDs(ctx)
	if err != nil {
		return Page[Group]{}, err
	}
	keys, next := pageKeys(ids, after, a.pageLimit(limit))
	gs, err := a.describeSorted(ctx, keys)
	return Page[Group]{Items: gs, Next: next}, err
}

// groupIDs lists the ids of the classic and consumer groups, sorted.
func (a *Admin) groupIDs(ctx context.Context) ([]string, error) {
	listed, err := a.adm.ListGroups(ctx)
	if err != nil {
		return nil, brokerErr("list consumer groups", err, "")
	}
	var ids []string
	for _, l := range listed.Sorted() {
		if l.ProtocolType == "consumer" || l.ProtocolType == "" {
			ids = append(ids, l.Group)
		}
	}
	return ids, nil
}

// describeSorted describes the groups with the given ids, in their order.
// A group that went between listing and describing is left out.
func (a *Admin) describeSorted(ctx context.Context, ids []string) ([]Group, error) {
	gs := make([]Group, 0, len(ids))
	if len(ids) == 0 {
		return gs, nil
	}
	described, err := a.describeGroups(ctx, ids)
	if err != nil {
		return nil, brokerErr("list consumer groups", err, "")
	}
	for _, id := range ids {
		if g, ok := described[id]; ok {
			gs = append(gs, g)
		}
	}
	return gs, nil
}

// Group describes the consumer group with the given id, or returns an error
// wrapping kafka.ErrGroupNotFound.
func (a *Admin) Group(ctx context.Context, id string) (Group, error) {
	op := fmt.Sprintf("describe consumer group %q", id)
	described, err := a.describeGroups(ctx, []string{id})
	if err != nil {
		return Group{}, brokerErr(op, err, "")
	}
	g, ok := described[id]
	if !ok {
		return Group{}, fmt.Errorf("%s: %w", op, kafka.ErrGroupNotFound)
	}
	return g, nil
}

// Consumer returns one member of a consumer group, or an error wrapping
// kafka.ErrGroupNotFound or ErrConsumerNotFound.
func (a *Admin) Consumer(ctx context.Context, group, consumer string) (Consumer, error) {
	g, err := a.Group(ctx, group)
	if err != nil {
		return Consumer{}, err
	}
	for _, c := range g.Consumers {
		if c.ID == consumer {
			return c, nil
		}
	}
	return Consumer{}, fmt.Errorf("consumer group %q consumer %q: %w", group, consumer, ErrConsumerNotFound)
}

// Lags returns the group's lag on every partition it has committed an offset
// for, sorted by topic, then partition. Commits on topics that no longer
// exist are left out. Errors wrap kafka.ErrGroupNotFound.
func (a *Admin) Lags(ctx context.Context, group string) ([]Lag, error) {
	g, err := a.Group(ctx, group)
	if err != nil {
		return nil, err
	}
	op := fmt.Sprintf("list lags of consumer group %q", group)

	commits, err := a.adm.FetchOffsets(kadm.RequireStable(ctx), group)
	if err != nil {
		return nil, brokerErr(op, err, "")
	}
	var committed []kadm.Offset
	for _, ps := range commits {
		for _, c := range ps {
			if c.Err != nil {
				return nil, brokerErr(op, c.Err, "")
			}
			if c.At >= 0 {
				committed = append(committed, c.Offset)
			}
		}
	}
	lags := make([]Lag, 0, len(committed))
	if len(committed) == 0 {
		return lags, nil // ListEndOffsets of no topics would list every topic
	}
	slices.SortFunc(committed, func(l, r kadm.Offset) int {
		return cmp.Or(cmp.Compare(l.Topic, r.Topic), cmp.Compare(l.Partition, r.Partition))
	})

	var topics []string
	for _, c := range committed {
		if len(topics) == 0 || topics[len(topics)-1] != c.Topic {
			topics = append(topics, c.Topic)
		}
	}
	m, err := a.metadata(ctx, topics, false)
	if err != nil {
		return nil, brokerErr(op, err, "")
	}
	exist := make(map[TopicPartition]bool)
	for _, mt := range m.Topics {
		switch err := topicError(mt); {
		case errors.Is(err, kerr.UnknownTopicOrPartition):
			continue // the topic is gone
		case err != nil:
			return nil, brokerErr(op, err, "")
		}
		for _, p := range mt.Partitions {
			exist[TopicPartition{*mt.Topic, p.Partition}] = true
		}
	}
	parts := make(map[string][]int32)
	for _, c := range committed {
		if exist[TopicPartition{c.Topic, c.Partition}] {
			parts[c.Topic] = append(parts[c.Topic], c.Partition)
		}
	}
	ends := a.listOffsets(ctx, latestOffset, parts)

	owners := make(map[TopicPartition]Consumer)
	for _, c := range g.Consumers {
		for _, tp := range c.Assignments {
			owners[tp] = c
		}
	}
	for _, c := range committed {
		end, ok := ends[TopicPartition{c.Topic, c.Partition}]
		switch {
		case !ok, errors.Is(end.err, kerr.UnknownTopicOrPartition):
			continue // the topic or partition is gone; its commit lingers until it expires
		case end.err != nil:
			return nil, brokerErr(op, end.err, "")
		}
		owner := owners[TopicPartition{c.Topic, c.Partition}]
		lags = append(lags, Lag{
			Topic:         c.Topic,
			Partition:     c.Partition,
			CurrentOffset: c.At,
			LogEndOffset:  end.offset,
			Lag:           max(end.offset-c.At, 0),
			ConsumerID:    owner.ID,
			InstanceID:    owner.InstanceID,
			ClientID:      owner.ClientID,
		})
	}
	return lags, nil
}

// Lag returns the group's lag on one partition, or an error wrapping
// kafka.ErrGroupNotFound, or kafka.ErrPartitionNotFound if the group has no committed
// offset for the partition.
func (a *Admin) Lag(ctx context.Context, group, topic string, partition int32) (Lag, error) {
	lags, err := a.Lags(ctx, group)
	if err != nil {
		return Lag{}, err
	}
	for _, l := range lags {
		if l.Topic == topic && l.Partition == partition {
			return l, nil
		}
	}
	return Lag{}, fmt.Errorf("consumer group %q has no offset for topic %q partition %d: %w", group, topic, partition, kafka.ErrPartitionNotFound)
}

// LagSummary returns the group's largest and total lag over the partitions
// that Lags reports. Errors wrap kafka.ErrGroupNotFound.
func (a *Admin) LagSummary(ctx context.Context, group string) (LagSummary, error) {
	lags, err := a.Lags(ctx, group)
	if err != nil {
		return LagSummary{}, err
	}
	var s LagSummary
	for i, l := range lags {
		s.TotalLag += l.Lag
		if i == 0 || l.Lag > s.MaxLag {
			s.MaxLag = l.Lag
			s.MaxLagTopic = l.Topic
			s.MaxLagPartition = l.Partition
			s.MaxLagConsumerID = l.ConsumerID
			s.MaxLagInstanceID = l.InstanceID
			s.MaxLagClientID = l.ClientID
		}
	}
	return s, nil
}

// describeGroups describes the groups with the given ids, leaving out those
// that do not exist. Like Kafka's admin client, it asks with
// ConsumerGroupDescribe first, and asks the groups it reports unknown (or all
// of them, if the request itself fails, as on brokers before Kafka 4.0) again
// with the classic DescribeGroups. The errors it returns are unwrapped.
func (a *Admin) describeGroups(ctx context.Context, ids []string) (map[string]Group, error) {
	groups := make(map[string]Group, len(ids))
	if len(ids) == 0 {
		return groups, nil // kadm would describe every group
	}

	var classic []string
	described, err := a.adm.DescribeConsumerGroups(ctx, ids...)
	if _, ok := errors.AsType[*kadm.AuthError](err); ok {
		return nil, err
	}
	for _, id := range ids {
		g, ok := described[id]
		switch {
		case !ok, errors.Is(g.Err, kerr.GroupIDNotFound):
			classic = append(classic, id)
		case g.Err != nil:
			return nil, g.Err
		default:
			groups[id] = consumerGroupFrom(g)
		}
	}
	if len(classic) == 0 {
		return groups, nil
	}

	described2, err := a.adm.DescribeGroups(ctx, classic...)
	if err != nil {
		return nil, err
	}
	for _, id := range classic {
		g, ok := described2[id]
		switch {
		case !ok, errors.Is(g.Err, kerr.GroupIDNotFound), g.Err == nil && g.State == "Dead":
			// Before DescribeGroups v6 (Kafka 3.8), an unknown group is DEAD.
		case g.Err != nil:
			return nil, g.Err
		default:
			groups[id] = classicGroupFrom(g)
		}
	}
	return groups, nil
}

// classicGroupFrom converts a described classic group, which must have no
// error.
func classicGroupFrom(d kadm.DescribedGroup) Group {
	g := Group{
		ID:                d.Group,
		Type:              groupTypeClassic,
		State:             stateName(d.State),
		Simple:            d.ProtocolType == "",
		PartitionAssignor: d.Protocol,
		Coordinator:       d.Coordinator.NodeID,
		Consumers:         make([]Consumer, 0, len(d.Members)),
	}
	for _, m := range d.Members {
		c := Consumer{ID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost}
		if m.InstanceID != nil {
			c.InstanceID = *m.InstanceID
		}
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range a.Topics {
				for _, p := range t.Partitions {
					c.Assignments = append(c.Assignments, TopicPartition{t.Topic, p})
				}
			}
		}
		g.Consumers = append(g.Consumers, c)
	}
	sortConsumers(g.Consumers)
	return g
}

// consumerGroupFrom converts a described consumer (KIP-848) group, which must
// have no error.
func consumerGroupFrom(d kadm.DescribedConsumerGroup) Group {
	g := Group{
		ID:                d.Group,
		Type:              groupTypeConsumer,
		State:             stateName(d.State),
		PartitionAssignor: d.AssignorName,
		Coordinator:       d.Coordinator.NodeID,
		Consumers:         make([]Consumer, 0, len(d.Members)),
	}
	for _, m := range d.Members {
		const classicMember = 0 // ConsumerGroupDescribe v1+ MemberType
		g.Mixed = g.Mixed || m.MemberType == classicMember
		c := Consumer{ID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost}
		if m.InstanceID != nil {
			c.InstanceID = *m.InstanceID
		}
		for _, t := range m.Assignment.Sorted() {
			for _, p := range t.Partitions {
				c.Assignments = append(c.Assignments, TopicPartition{t.Topic, p})
			}
		}
		g.Consumers = append(g.Consumers, c)
	}
	sortConsumers(g.Consumers)
	return g
}

// sortConsumers sorts consumers by ID and each one's assignments by topic,
// then partition.
func sortConsumers(cs []Consumer) {
	slices.SortFunc(cs, func(l, r Consumer) int { return cmp.Compare(l.ID, r.ID) })
	for _, c := range cs {
		slices.SortFunc(c.Assignments, func(l, r TopicPartition) int {
			return cmp.Or(cmp.Compare(l.Topic, r.Topic), cmp.Compare(l.Partition, r.Partition))
		})
	}
}

// stateName turns a group state as the protocol spells it ("Stable",
// "PreparingRebalance") into Kafka's GroupState enum name ("STABLE",
// "PREPARING_REBALANCE"). An empty state is UNKNOWN.
func stateName(s string) string {
	if s == "" {
		return "UNKNOWN"
	}
	var b strings.Builder
	prevLower := false
	for _, r := range s {
		if prevLower && unicode.IsUpper(r) {
			b.WriteByte('_')
		}
		prevLower = unicode.IsLower(r)
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}
