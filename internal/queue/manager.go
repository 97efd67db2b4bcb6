package queue

import (
	"context"
	"time"
)

// Manager holds one node's share-group members and their leases. New
// starts a goroutine that expires leases and idle members until Close.
type Manager struct {
	opts Options
}

// New checks opts and returns a manager; Close closes it.
func New(opts Options) (*Manager, error) {
	return &Manager{opts: opts}, nil
}

// Lease leases up to req.MaxRecords records of req.Group's share of
// req.Topics, waiting up to req.Wait for the first. It fails with
// ErrInvalid, ErrBusy, ErrUnsupported or ErrClosed, or with a Kafka
// error (kafka.Classify).
func (m *Manager) Lease(ctx context.Context, req LeaseRequest) ([]Leased, error) {
	return nil, ErrUnsupported
}

// Owner returns the node that leased the record token names, if token is
// a token of group signed with the secret.
func (m *Manager) Owner(group, token string) (node string, ok bool) {
	return "", false
}

// Acks applies acks, every one a token of group this node leased (Owner),
// and returns a result for each, in order. A token of another node is
// StatusInvalid here.
func (m *Manager) Acks(ctx context.Context, group string, acks []Ack) []AckResult {
	return nil
}

// Open holds a member of req.Group for one stream of leases: each Next
// leases the next batch once the last is settled.
func (m *Manager) Open(ctx context.Context, req LeaseRequest) (*Stream, error) {
	return nil, ErrUnsupported
}

// Close releases every lease and closes every member, within ctx.
func (m *Manager) Close(ctx context.Context) {}

// Stream is a member held for one caller, leasing batch after batch.
type Stream struct{}

// Next waits until every record of the last batch is settled and then up
// to wait for records, and leases them; none and nil when wait passes.
func (s *Stream) Next(ctx context.Context, wait time.Duration) ([]Leased, error) {
	return nil, ErrUnsupported
}

// Close releases what the stream still holds and gives its member back.
func (s *Stream) Close() {}
