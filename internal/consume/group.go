// Package consume runs krest's consumer group: it polls records, hands each
// to a Handler, sends the records a Handler cannot process to a dead-letter
// topic, and commits only offsets of records that were dealt with, so every
// record is processed at least once across crashes, rebalances and restarts.
package consume

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Handler processes one record. An error means the record cannot be
// processed at all (it is undecodable, say): the record goes to the
// dead-letter topic and the group moves on.
type Handler interface {
	Handle(ctx context.Context, r *kgo.Record) error
}

// Metrics counts what the group does; metrics.Metrics implements it.
type Metrics interface {
	Consumed()
	DeadLettered()
	CommitFailed()
}

// Options configure a Group.
type Options struct {
	// Handler processes each record.
	Handler Handler
	// DeadLetters receives the records Handler fails.
	DeadLetters *DeadLetters
	// Logger receives commit and fetch problems.
	Logger *slog.Logger
	// Metrics, if set, counts records and commit failures.
	Metrics Metrics
	// MaxPollRecords bounds the records processed between two chances to
	// rebalance. Default 10000.
	MaxPollRecords int
	// DrainTimeout bounds how long, once Run's context ends, the group keeps
	// processing the batch in hand before committing and leaving. Records
	// not reached by then are processed again by the next member.
	DrainTimeout time.Duration
}

// Group consumes through a client made with kafka.NewConsumerClient, whose
// rebalance and commit callbacks must be the Group's OnRevoked, OnLost and
// OnCommit.
type Group struct {
	opts Options
}

// New returns a Group; Run starts it.
func New(opts Options) *Group {
	if opts.MaxPollRecords <= 0 {
		opts.MaxPollRecords = 10_000
	}
	return &Group{opts: opts}
}

// Run polls and processes records until ctx ends, then finishes the batch
// in hand (within DrainTimeout), commits what was processed and closes cl,
// which leaves the group. It returns nil after a clean stop.
func (g *Group) Run(ctx context.Context, cl *kgo.Client) error {
	// work outlives ctx by DrainTimeout, so the batch in hand is finished.
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(g.opts.DrainTimeout, cancel) })
	defer stop()
	defer g.leave(cl)
	for ctx.Err() == nil {
		fetches := cl.PollRecords(ctx, g.opts.MaxPollRecords)
		if fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			if !errors.Is(err, context.Canceled) {
				g.opts.Logger.Warn("fetch failed", "topic", topic, "partition", partition, "err", err)
			}
		})
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if done := g.processPartition(work, p.Records); done != nil {
				cl.MarkCommitRecords(done)
			}
		})
		// Caught up with the log: commit now rather than at the next
		// tick, so lag reads zero and a crash repeats nothing.
		if fetches.NumRecords() < g.opts.MaxPollRecords {
			g.commit(work, cl)
		}
		cl.AllowRebalance()
	}
	return nil
}

// processPartition handles one partition's records in order and returns the
// last one dealt with, or nil. It stops at the first record it could not
// deal with (work ended), so the commit never skips past one.
func (g *Group) processPartition(work context.Context, recs []*kgo.Record) *kgo.Record {
	var done *kgo.Record
	for _, r := range recs {
		if work.Err() != nil || !g.handle(work, r) {
			break
		}
		done = r
	}
	return done
}

// handle processes r, dead-lettering it if the handler fails; it reports
// whether r was dealt with and may be committed.
func (g *Group) handle(ctx context.Context, r *kgo.Record) bool {
	err := g.opts.Handler.Handle(ctx, r)
	if err == nil {
		g.count(Metrics.Consumed)
		return true
	}
	g.opts.Logger.Warn("dead-lettering record", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
	if err := g.opts.DeadLetters.Send(ctx, r, err); err != nil {
		g.opts.Logger.Error("dead-lettering failed; the record will be processed again",
			"topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
		return false
	}
	g.count(Metrics.DeadLettered)
	return true
}

func (g *Group) count(f func(Metrics)) {
	if g.opts.Metrics != nil {
		f(g.opts.Metrics)
	}
}

// leave commits what was processed and closes cl, leaving the group.
func (g *Group) leave(cl *kgo.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g.commit(ctx, cl)
	cl.Close()
}

// OnRevoked commits the processed records of partitions about to be given
// up, so their next owner starts after them. Polling blocks rebalances, so
// this runs only between batches.
func (g *Group) OnRevoked(ctx context.Context, cl *kgo.Client, _ map[string][]int32) {
	g.commit(ctx, cl)
}

// OnLost logs partitions taken away without a revoke (a session timeout):
// their uncommitted records are processed again by the next owner.
func (g *Group) OnLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	g.opts.Logger.Warn("partitions lost; uncommitted records will be processed again", "partitions", lost)
}

// OnCommit counts and logs failed commits, automatic ones included.
func (g *Group) OnCommit(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
	if err == nil && resp != nil {
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode != 0 {
					err = kerr.ErrorForCode(p.ErrorCode)
				}
			}
		}
	}
	if err != nil {
		g.count(Metrics.CommitFailed)
		g.opts.Logger.Warn("offset commit failed", "err", err)
	}
}

func (g *Group) commit(ctx context.Context, cl *kgo.Client) {
	if err := cl.CommitMarkedOffsets(ctx); err != nil {
		g.count(Metrics.CommitFailed)
		g.opts.Logger.Warn("offset commit failed", "err", err)
	}
}
