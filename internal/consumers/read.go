package consumers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"krest/internal/kafka"
)

// Batch is the answer of one read: records taken from the instance, in
// the order fetched, until Done says whether they reached the client.
type Batch struct {
	// Records are the batch's records; the caller must not change them.
	Records []*kgo.Record
	in      *Instance
	id      string
	epoch   uint64 // the instance's epoch when taken
	replay  bool   // the last batch again, for a retried read id
	done    bool
}

// Read answers the next records of the instance: those fetched and not
// delivered, else what arrives within wait, up to maxBytes of keys and
// values (but at least one record) and MaxReadRecords. One read runs at
// a time: another waits up to wait for it, then fails with
// ErrIllegalState. The batch holds the instance's read until Done. With
// readID, a read whose id is the last delivered batch's answers that
// batch again.
func (in *Instance) Read(ctx context.Context, wait time.Duration, maxBytes int, readID string) (*Batch, error) {
	wait = min(wait, in.cfg.RequestTimeout)
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	select {
	case in.reading <- struct{}{}:
	default:
		select {
		case in.reading <- struct{}{}:
		case <-ctx.Done():
			return nil, illegal("another read of consumer instance %s is in progress", in.ID)
		}
	}
	b, err := in.read(ctx, maxBytes, readID)
	if err != nil {
		<-in.reading
		in.touch()
	}
	return b, err
}

func (in *Instance) read(ctx context.Context, maxBytes int, readID string) (*Batch, error) {
	in.mu.Lock()
	if last := in.last; readID != "" && last != nil && last.id == readID {
		in.mu.Unlock()
		return &Batch{Records: last.Records, in: in, replay: true}, nil
	}
	in.mu.Unlock()
	cl, md, err := in.client()
	if err != nil {
		return nil, err
	}
	in.commitDelivered(ctx)
	in.mu.Lock()
	empty := len(in.buf) == 0
	in.mu.Unlock()
	if empty {
		fs := cl.PollRecords(ctx, MaxReadRecords)
		var fetchErr error
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) && fetchErr == nil {
				fetchErr = fmt.Errorf("fetching %s-%d: %w", t, p, err)
			}
		})
		in.mu.Lock()
		fs.EachRecord(func(r *kgo.Record) {
			if in.cl == cl && (md == modeAssigned || in.held[TopicPartition{r.Topic, r.Partition}]) {
				in.buf = append(in.buf, r)
			}
		})
		empty = len(in.buf) == 0
		in.mu.Unlock()
		if empty && fetchErr != nil {
			return nil, kafka.Wrap(fetchErr)
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	n, size := 0, 0
	for n < len(in.buf) && n < MaxReadRecords {
		r := in.buf[n]
		size += len(r.Key) + len(r.Value)
		if n > 0 && size > maxBytes {
			break
		}
		n++
	}
	b := &Batch{Records: in.buf[:n:n], in: in, id: readID, epoch: in.epoch}
	in.buf = in.buf[n:]
	return b, nil
}

// Done ends the batch's read: delivered, its records count as received
// (an empty-body commit commits them, and a read with its id answers it
// again); not delivered, they go back to the front of the instance's
// records, for the next read. Later calls do nothing.
func (b *Batch) Done(delivered bool) {
	if b.done {
		return
	}
	b.done = true
	in := b.in
	in.mu.Lock()
	switch {
	case b.replay:
	case delivered:
		for _, r := range b.Records {
			tp := TopicPartition{r.Topic, r.Partition}
			if in.held[tp] {
				in.next[tp] = r.Offset + 1
			}
		}
		if b.id != "" {
			in.last = b
		}
	case b.epoch == in.epoch:
		back := make([]*kgo.Record, 0, len(b.Records)+len(in.buf))
		for _, r := range b.Records {
			if in.held[TopicPartition{r.Topic, r.Partition}] {
				back = append(back, r)
			}
		}
		in.buf = append(back, in.buf...)
	}
	in.lastUsed = time.Now()
	in.mu.Unlock()
	<-in.reading
}

// Commit commits offsets to the group, each the offset of the last record
// processed (Kafka is given offset+1, as upstream commits), or with none,
// the offsets of every record delivered. A partition the instance does
// not hold (revoked in a rebalance, say) fails the commit with
// ErrIllegalState.
func (in *Instance) Commit(ctx context.Context, offsets []Offset) error {
	cl, md, err := in.client()
	if err != nil {
		return err
	}
	in.mu.Lock()
	var commit []Offset
	if offsets == nil {
		for tp, o := range in.next {
			commit = append(commit, Offset{TopicPartition: tp, Offset: o})
		}
	}
	for _, o := range offsets {
		if !in.held[o.TopicPartition] {
			in.mu.Unlock()
			return illegal("partition %s-%d is not assigned to consumer instance %s (revoked in a rebalance?)", o.Topic, o.Partition, in.ID)
		}
		o.Offset++
		commit = append(commit, o)
	}
	in.mu.Unlock()
	if len(commit) == 0 {
		return nil
	}
	if md == modeSubscribed {
		return commitGroup(ctx, cl, commit)
	}
	os := kadm.Offsets{}
	for _, o := range commit {
		os.Add(kadm.Offset{Topic: o.Topic, Partition: o.Partition, At: o.Offset, LeaderEpoch: -1, Metadata: o.Metadata})
	}
	resp, err := kadm.NewClient(cl).CommitOffsets(ctx, in.Group, os)
	if err == nil {
		err = resp.Error()
	}
	if errors.Is(err, kerr.UnknownMemberID) || errors.Is(err, kerr.IllegalGeneration) {
		return illegal("group %s has members, which a commit of assigned partitions cannot join (%v)", in.Group, err)
	}
	return kafka.Wrap(err)
}

// commitGroup commits offsets as the member cl is of its group; a commit
// the group refuses because it rebalanced fails with ErrIllegalState.
func commitGroup(ctx context.Context, cl *kgo.Client, offsets []Offset) error {
	m := map[string]map[int32]kgo.EpochOffset{}
	for _, o := range offsets {
		if m[o.Topic] == nil {
			m[o.Topic] = map[int32]kgo.EpochOffset{}
		}
		m[o.Topic][o.Partition] = kgo.EpochOffset{Epoch: -1, Offset: o.Offset}
	}
	var result error
	cl.CommitOffsetsSync(ctx, m, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			result = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				err := kerr.ErrorForCode(p.ErrorCode)
				switch {
				case err == nil || result != nil:
				case errors.Is(err, kerr.RebalanceInProgress), errors.Is(err, kerr.IllegalGeneration), errors.Is(err, kerr.UnknownMemberID):
					result = illegal("the group rebalanced: partition %s-%d may be another member's now (%v)", t.Topic, p.Partition, err)
				default:
					result = err
				}
			}
		}
	})
	return kafka.Wrap(result)
}

// commitDelivered commits, with auto commit, the offsets delivered.
func (in *Instance) commitDelivered(ctx context.Context) {
	if !in.cfg.AutoCommit {
		return
	}
	if err := in.Commit(ctx, nil); err != nil && !errors.Is(err, ErrIllegalState) {
		in.m.opts.Logger.Warn("consumer instance auto commit failed", "group", in.Group, "instance", in.ID, "err", err)
	}
}

// Committed returns the group's committed offsets of partitions, leaving
// out those without one.
func (in *Instance) Committed(ctx context.Context, partitions []TopicPartition) ([]Offset, error) {
	cl, _, err := in.client()
	if err != nil {
		if cl, err = in.m.opts.NewClient(); err != nil {
			return nil, err
		}
		defer cl.Close()
	}
	resp, err := fetchCommitted(ctx, cl, in.Group)
	if err != nil {
		return nil, err
	}
	out := []Offset{}
	for _, tp := range partitions {
		if o, ok := resp.Lookup(tp.Topic, tp.Partition); ok && o.Err == nil && o.At >= 0 {
			out = append(out, Offset{TopicPartition: tp, Offset: o.At, Metadata: o.Metadata})
		}
	}
	return out, nil
}

// fetchCommitted returns group's committed offsets; a group that does
// not exist yet has none.
func fetchCommitted(ctx context.Context, cl *kgo.Client, group string) (kadm.OffsetResponses, error) {
	resp, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err == nil {
		err = resp.Error()
	}
	if errors.Is(err, kerr.GroupIDNotFound) {
		return kadm.OffsetResponses{}, nil
	}
	return resp, kafka.Wrap(err)
}

// close ends the instance: with auto commit, it commits what it
// delivered within ctx, then its client leaves the group.
func (in *Instance) close(ctx context.Context) {
	in.commitDelivered(ctx)
	in.mu.Lock()
	cl := in.cl
	in.cl, in.closed = nil, true
	in.reset(nil)
	in.mu.Unlock()
	if cl != nil {
		cl.Close()
	}
}
