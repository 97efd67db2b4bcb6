package peer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DirectoryTopic is the compacted topic that maps the names clients give
// their consumer instances to the nodes that hold them: key
// "{group}\x00{name}", value the node; a tombstone when the instance is
// gone.
const DirectoryTopic = "_krest_consumer_instances"

// Directory is every node's shared map of client-chosen instance names to
// their nodes, read from DirectoryTopic by every node. A name is its
// first claimant's until that node releases it: readers ignore a claim
// of a name held by another node, and the loser of a race writes the
// holder's claim again, so that compaction keeps the holder's.
type Directory struct {
	cl   *kgo.Client
	adm  *kadm.Client
	node string

	mu    sync.Mutex
	names map[string]string
	read  map[int32]int64 // next offset to read, by partition
	moved chan struct{}   // closed, and replaced, when read moves

	stop context.CancelFunc
	done chan struct{}
}

// NewDirectory creates DirectoryTopic when missing (compacted, with
// partitions and replication as given), reads it to its end, releases the
// names it holds for node (a node starts with no instances: whatever it
// held died with its last run), and returns the Directory. newClient
// makes its Kafka client from the options given (seeds and security are
// its to add). It starts a goroutine that reads the topic until Close.
func NewDirectory(ctx context.Context, newClient func(...kgo.Opt) (*kgo.Client, error), node string, partitions int32, replication int16) (*Directory, error) {
	if err := validNode(node); err != nil {
		return nil, fmt.Errorf("peer: directory: %w", err)
	}
	cl, err := newClient(kgo.ConsumeTopics(DirectoryTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	adm := kadm.NewClient(cl)
	cleanup := "compact"
	_, err = adm.CreateTopic(ctx, partitions, replication, map[string]*string{"cleanup.policy": &cleanup}, DirectoryTopic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		cl.Close()
		return nil, fmt.Errorf("peer: directory topic: %w", err)
	}
	ends, err := listEnds(ctx, adm)
	if err != nil {
		cl.Close()
		return nil, err
	}
	runCtx, stop := context.WithCancel(context.Background())
	d := &Directory{cl: cl, adm: adm, node: node, names: map[string]string{}, read: map[int32]int64{}, moved: make(chan struct{}),
		stop: stop, done: make(chan struct{})}
	go d.run(runCtx)
	if err := d.waitEnds(ctx, ends); err != nil {
		d.Close()
		return nil, err
	}
	for _, k := range d.held() {
		if err := d.produce(ctx, k, ""); err != nil {
			d.Close()
			return nil, err
		}
	}
	return d, nil
}

// listEnds returns the end offsets of the directory's partitions, asking
// again while the brokers do not know the topic yet (just created).
func listEnds(ctx context.Context, adm *kadm.Client) (kadm.ListedOffsets, error) {
	for {
		ends, err := adm.ListEndOffsets(ctx, DirectoryTopic)
		if err == nil {
			err = ends.Error()
		}
		if err == nil && len(ends[DirectoryTopic]) > 0 {
			return ends, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("peer: directory topic's end: %v (%w)", err, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// held returns the keys this node holds.
func (d *Directory) held() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var keys []string
	for k, n := range d.names {
		if n == d.node {
			keys = append(keys, k)
		}
	}
	return keys
}

// nodeHeader names, on a tombstone, the node that released the name:
// a tombstone of any other node's leaves the name to its holder.
const nodeHeader = "node"

// run reads the topic, applying each record, until ctx ends.
func (d *Directory) run(ctx context.Context) {
	defer close(d.done)
	for ctx.Err() == nil {
		fs := d.cl.PollFetches(ctx)
		if fs.IsClientClosed() {
			return
		}
		d.mu.Lock()
		fs.EachRecord(func(r *kgo.Record) {
			d.apply(string(r.Key), r.Value, r.Headers)
			d.read[r.Partition] = r.Offset + 1
		})
		close(d.moved)
		d.moved = make(chan struct{})
		d.mu.Unlock()
	}
}

// apply applies one record of the topic; d.mu is held.
func (d *Directory) apply(key string, value []byte, headers []kgo.RecordHeader) {
	holder, held := d.names[key]
	if value != nil {
		if !held {
			d.names[key] = string(value)
		}
		return
	}
	for _, h := range headers {
		if h.Key == nodeHeader && string(h.Value) == holder {
			delete(d.names, key)
		}
	}
}

// waitEnds waits until every partition has been read up to its end in
// ends.
func (d *Directory) waitEnds(ctx context.Context, ends kadm.ListedOffsets) error {
	for _, o := range ends[DirectoryTopic] {
		if err := d.waitRead(ctx, o.Partition, o.Offset); err != nil {
			return err
		}
	}
	return nil
}

// waitRead waits until partition has been read up to offset.
func (d *Directory) waitRead(ctx context.Context, partition int32, offset int64) error {
	for {
		d.mu.Lock()
		done, moved := d.read[partition] >= offset, d.moved
		d.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return fmt.Errorf("peer: directory not read in time: %w", ctx.Err())
		}
	}
}

// produce writes key's claim for node, or with node "" this node's
// tombstone of it, and waits until the directory has read it.
func (d *Directory) produce(ctx context.Context, key, node string) error {
	r := &kgo.Record{Topic: DirectoryTopic, Key: []byte(key)}
	if node != "" {
		r.Value = []byte(node)
	} else {
		r.Headers = []kgo.RecordHeader{{Key: nodeHeader, Value: []byte(d.node)}}
	}
	res := d.cl.ProduceSync(ctx, r)
	if err := res.FirstErr(); err != nil {
		return fmt.Errorf("peer: directory: %w", err)
	}
	return d.waitRead(ctx, res[0].Record.Partition, res[0].Record.Offset+1)
}

func directoryKey(group, name string) string { return group + "\x00" + name }

// Lookup returns the node holding name in group.
func (d *Directory) Lookup(group, name string) (node string, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	node, ok = d.names[directoryKey(group, name)]
	return node, ok
}

// LookupRecent is Lookup that, when the name is not found, reads the
// topic up to its end first and looks again: a name another node claimed
// a moment ago is found.
func (d *Directory) LookupRecent(ctx context.Context, group, name string) (node string, ok bool, err error) {
	if node, ok := d.Lookup(group, name); ok {
		return node, true, nil
	}
	ends, err := listEnds(ctx, d.adm)
	if err == nil {
		err = d.waitEnds(ctx, ends)
	}
	if err != nil {
		return "", false, err
	}
	node, ok = d.Lookup(group, name)
	return node, ok, nil
}

// Claim takes name in group for this node, or fails with ErrNameTaken
// when a node (this one included) holds it.
func (d *Directory) Claim(ctx context.Context, group, name string) error {
	key := directoryKey(group, name)
	holder, ok, err := d.LookupRecent(ctx, group, name)
	switch {
	case err != nil:
		return err
	case ok:
		return fmt.Errorf("%w: by node %s", ErrNameTaken, holder)
	}
	if err := d.produce(ctx, key, d.node); err != nil {
		return err
	}
	holder, _ = d.Lookup(group, name)
	if holder == d.node {
		return nil
	}
	// Another claim came first: the holder's is written again, to be the
	// one compaction keeps.
	if err := d.produce(ctx, key, holder); err != nil {
		return err
	}
	return fmt.Errorf("%w: by node %s", ErrNameTaken, holder)
}

// Release gives up name in group, if this node holds it.
func (d *Directory) Release(ctx context.Context, group, name string) error {
	if holder, ok := d.Lookup(group, name); !ok || holder != d.node {
		return nil
	}
	return d.produce(ctx, directoryKey(group, name), "")
}

// Close stops reading and closes the client.
func (d *Directory) Close() {
	d.stop()
	d.cl.Close()
	<-d.done
}
