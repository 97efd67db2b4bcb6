// Package admin answers the cluster, broker, topic, config and consumer group
// questions of the REST Proxy APIs as plain structs, using kadm over a shared
// *kgo.Client. Errors wrap the sentinels in errors.go.
package admin

import (
	"context"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Admin answers metadata and admin questions about one Kafka cluster. It is
// safe for concurrent use. It holds no state of its own: every call asks the
// cluster.
type Admin struct {
	cl  *kgo.Client
	adm *kadm.Client
}

// New returns an Admin that issues its requests through cl, which must not be
// nil. The caller keeps ownership of cl: Admin never closes it, and cl may be
// shared with producers.
func New(cl *kgo.Client) *Admin {
	return &Admin{cl: cl, adm: kadm.NewClient(cl)}
}

// Cluster identifies a Kafka cluster.
type Cluster struct {
	ID           string // ID is the cluster id the brokers report.
	ControllerID int32  // ControllerID is the id of the controller broker, or -1 if unknown.
}

// Cluster returns the cluster's id and its current controller, read from a
// fresh metadata response.
func (a *Admin) Cluster(ctx context.Context) (Cluster, error) {
	m, err := a.adm.BrokerMetadata(fresh(ctx))
	if err != nil {
		return Cluster{}, brokerErr("describe cluster", err, "")
	}
	return Cluster{ID: m.Cluster, ControllerID: m.Controller}, nil
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

// fresh returns ctx marked so that kadm asks a broker for metadata instead of
// answering from the client's cache, which may be up to kgo's MetadataMinAge
// (5s by default) old: a topic created, deleted or grown a moment ago must
// show as such. kadm bypasses its cache only when authorized operations are
// requested, which is also how Topic.AuthorizedOperations gets filled.
func fresh(ctx context.Context) context.Context {
	return kadm.WithAuthorizedOps(ctx)
}
