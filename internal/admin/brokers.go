package admin

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// Broker is one broker of the cluster as metadata describes it.
type Broker struct {
	ID   int32  // ID is the broker's node id.
	Host string // Host is the host the broker advertises.
	Port int32  // Port is the port the broker advertises.
	Rack string // Rack is the broker's rack, or empty if it has none.
}

// Brokers returns every broker in the cluster, sorted by id, read from a
// fresh metadata response.
func (a *Admin) Brokers(ctx context.Context) ([]Broker, error) {
	m, err := a.metadata(ctx, []string{}, false)
	if err != nil {
		return nil, brokerErr("list brokers", err, "")
	}
	bs := make([]Broker, 0, len(m.Brokers))
	for _, b := range m.Brokers {
		br := Broker{ID: b.NodeID, Host: b.Host, Port: b.Port}
		if b.Rack != nil {
			br.Rack = *b.Rack
		}
		bs = append(bs, br)
	}
	slices.SortFunc(bs, func(l, r Broker) int { return cmp.Compare(l.ID, r.ID) })
	return bs, nil
}

// Broker returns the broker with the given id, or an error wrapping
// ErrBrokerNotFound.
func (a *Admin) Broker(ctx context.Context, id int32) (Broker, error) {
	bs, err := a.Brokers(ctx)
	if err != nil {
		return Broker{}, err
	}
	for _, b := range bs {
		if b.ID == id {
			return b, nil
		}
	}
	return Broker{}, fmt.Errorf("broker %d: %w", id, ErrBrokerNotFound)
}
