// Package admin answers the cluster, broker, topic, config and consumer group
// questions of the REST Proxy APIs as plain structs, using kadm over a shared
// *kgo.Client. Errors wrap the sentinels in errors.go.
//
// Every answer about topics and brokers comes from a metadata request of its
// own (see metadata), never from the client's metadata cache, so that a topic
// created, deleted or grown a moment ago shows as such. Lists that grow with
// the cluster come in pages (Page) of at most MaxListItems items, and one
// request may create or add at most MaxRequestPartitions partitions.
package admin

import (
	"context"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The defaults of the Admin's bounds, as krest's settings have them.
const (
	defaultMaxRequestPartitions = 4096
	defaultMaxListItems         = 10_000
)

// Admin answers metadata and admin questions about one Kafka cluster. It is
// safe for concurrent use. It holds no state of its own: every call asks the
// cluster.
type Admin struct {
	cl  *kgo.Client
	adm *kadm.Client

	maxPartitions int // most partitions one request may create or add
	maxList       int // most items of one page
}

// Opt configures an Admin.
type Opt func(*Admin)

// MaxRequestPartitions bounds the partitions one request may create
// (CreateTopic) or add (SetPartitionCount); past it, they fail with
// kafka.ErrInvalidRequest before asking any broker. Default
// 4096; n < 1 keeps it.
func MaxRequestPartitions(n int) Opt {
	return func(a *Admin) {
		if n > 0 {
			a.maxPartitions = n
		}
	}
}

// MaxListItems bounds the items of one page of the paged lists (TopicsPage,
// GroupsPage, AllTopicConfigs). Default 10000; n < 1 keeps it.
func MaxListItems(n int) Opt {
	return func(a *Admin) {
		if n > 0 {
			a.maxList = n
		}
	}
}

// New returns an Admin that issues its requests through cl, which must not be
// nil. The caller keeps ownership of cl: Admin never closes it, and cl may be
// shared with producers.
func New(cl *kgo.Client, opts ...Opt) *Admin {
	a := &Admin{cl: cl, adm: kadm.NewClient(cl), maxPartitions: defaultMaxRequestPartitions, maxList: defaultMaxListItems}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Cluster identifies a Kafka cluster.
type Cluster struct {
	ID           string // ID is the cluster id the brokers report.
	ControllerID int32  // ControllerID is the id of the controller broker, or -1 if unknown.
}

// Cluster returns the cluster's id and its current controller, read from a
// fresh metadata response.
func (a *Admin) Cluster(ctx context.Context) (Cluster, error) {
	m, err := a.metadata(ctx, []string{}, false)
	if err != nil {
		return Cluster{}, brokerErr("describe cluster", err, "")
	}
	c := Cluster{ControllerID: m.ControllerID}
	if m.ClusterID != nil {
		c.ID = *m.ClusterID
	}
	return c, nil
}

// ClusterID returns the id the brokers report for the cluster. It is served
// from the client's cached metadata when the client has any, so it is cheap
// enough to call on every request that names a cluster.
func (a *Admin) ClusterID(ctx context.Context) (string, error) {
	m, err := a.adm.BrokerMetadata(ctx)
	if err != nil {
		return "", brokerErr("describe cluster", err, "")
	}
	return m.Cluster, nil
}
