// Package consume runs krest's consumer group: it polls records, hands each
// to a Handler, sends the records a Handler cannot process to a dead-letter
// topic, and commits only offsets of records that were dealt with, so every
// record is processed at least once across crashes, rebalances and restarts.
package consume

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
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

// Flusher is a Handler whose work is buffered, as LogSink's log lines are.
// After each batch the Group calls Flush, and marks the batch's records for
// commit only once it returned nil, so a committed offset never covers work
// that a crash could still lose.
type Flusher interface {
	Flush() error
}

// Metrics counts what the group does; metrics.Metrics implements it.
type Metrics interface {
	// Consumed counts one record the Handler processed.
	Consumed()
	// DeadLettered counts one record written to the dead-letter topic.
	DeadLettered()
	// CommitFailed counts one failed offset commit.
	CommitFailed()
	// DeadLetterFailed counts one record the dead-letter topic did not
	// take, by the Policy applied to it ("pause" or "skip").
	DeadLetterFailed(policy string)
	// PausedPartitions sets the number of partitions paused now.
	PausedPartitions(n int)
}

// Policy says what becomes of a record that could be neither processed nor
// dead-lettered.
type Policy string

const (
	// PolicyPause stops fetching the record's partition and commits
	// nothing past the record; the other partitions go on. The partition
	// resumes at the record after Options.PauseRetry, when a rebalance
	// takes it away (its next owner starts at the committed offset), or
	// when the process restarts.
	PolicyPause Policy = "pause"
	// PolicySkip counts the record, logs it at error level and moves past
	// it: the group has not processed it and never will.
	PolicySkip Policy = "skip"
)

// Options configure a Group.
type Options struct {
	// Handler processes each record. Required.
	Handler Handler
	// DeadLetters receives the records Handler fails. Required.
	DeadLetters *DeadLetters
	// Policy applies to a record DeadLetters could not write. Default
	// PolicyPause.
	Policy Policy
	// PauseRetry is how long a partition paused by PolicyPause waits
	// before its record is tried again. Zero waits for a rebalance or a
	// restart.
	PauseRetry time.Duration
	// Logger receives commit, fetch and dead-letter problems. Required.
	Logger *slog.Logger
	// Metrics, if set, counts records, commit failures and pauses.
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
// OnCommit. The client commits marked offsets on its own interval; the
// Group marks a batch once its Handler's work is flushed, and commits
// before partitions are given up and when it leaves.
type Group struct {
	opts Options

	mu     sync.Mutex // guards paused, which Paused reads from other goroutines
	paused map[topicPartition]*pause
}

type topicPartition struct {
	topic     string
	partition int32
}

// PausedPartition is a partition the Group stopped fetching because one of
// its records could be neither processed nor dead-lettered.
type PausedPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Offset is the record's: the group's committed offset for the
	// partition is at or before it.
	Offset int64 `json:"offset"`
	// Reason is why the record could not be dead-lettered.
	Reason string `json:"reason"`
	// Since is when the partition was paused.
	Since time.Time `json:"since"`
}

type pause struct {
	PausedPartition
	epoch   int32     // the record's leader epoch, to fetch it again
	retryAt time.Time // zero: no retry
}

// New returns a Group; Run starts it.
func New(opts Options) (*Group, error) {
	switch {
	case opts.Handler == nil:
		return nil, errors.New("consumer group needs a handler")
	case opts.DeadLetters == nil:
		return nil, errors.New("consumer group needs a dead-letter writer")
	case opts.Logger == nil:
		return nil, errors.New("consumer group needs a logger")
	case opts.Policy != "" && opts.Policy != PolicyPause && opts.Policy != PolicySkip:
		return nil, fmt.Errorf("dead-letter failure policy must be pause or skip, not %q", opts.Policy)
	case opts.PauseRetry < 0:
		return nil, fmt.Errorf("pause retry must not be negative, not %s", opts.PauseRetry)
	}
	if opts.Policy == "" {
		opts.Policy = PolicyPause
	}
	if opts.MaxPollRecords <= 0 {
		opts.MaxPollRecords = 10_000
	}
	return &Group{opts: opts, paused: map[topicPartition]*pause{}}, nil
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
	var done []*kgo.Record
	for ctx.Err() == nil {
		pctx, pcancel := g.pollContext(ctx)
		fetches := cl.PollRecords(pctx, g.opts.MaxPollRecords)
		pcancel()
		if fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				g.opts.Logger.Warn("fetch failed", "topic", topic, "partition", partition, "err", err)
			}
		})
		done = done[:0]
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if last := g.processPartition(work, cl, p); last != nil {
				done = append(done, last)
			}
		})
		g.mark(cl, done)
		g.retryPaused(cl)
		cl.AllowRebalance()
	}
	return nil
}

// pollContext bounds a poll by the next retry of a paused partition.
func (g *Group) pollContext(ctx context.Context) (context.Context, context.CancelFunc) {
	var next time.Time
	g.mu.Lock()
	for _, p := range g.paused {
		if !p.retryAt.IsZero() && (next.IsZero() || p.retryAt.Before(next)) {
			next = p.retryAt
		}
	}
	g.mu.Unlock()
	if next.IsZero() {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, next)
}

// processPartition handles one partition's records in order and returns the
// last one dealt with, or nil. It stops at the first record it could not
// deal with (work ended, or the partition paused), so the commit never
// skips past one.
func (g *Group) processPartition(work context.Context, cl *kgo.Client, p kgo.FetchTopicPartition) *kgo.Record {
	if len(p.Records) == 0 || g.isPaused(p.Topic, p.Partition) {
		return nil
	}
	var done *kgo.Record
	for _, r := range p.Records {
		if work.Err() != nil || !g.handle(work, cl, r) {
			break
		}
		done = r
	}
	return done
}

// handle processes r, dead-lettering it if the handler fails; it reports
// whether r was dealt with and may be committed.
func (g *Group) handle(ctx context.Context, cl *kgo.Client, r *kgo.Record) bool {
	err := g.opts.Handler.Handle(ctx, r)
	if err == nil {
		g.count(Metrics.Consumed)
		return true
	}
	if ctx.Err() != nil {
		return false // the handler gave up because work ended
	}
	g.opts.Logger.Warn("dead-lettering record", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
	err = g.opts.DeadLetters.Send(ctx, r, err)
	switch {
	case err == nil:
		g.count(Metrics.DeadLettered)
		return true
	case ctx.Err() != nil:
		g.opts.Logger.Warn("dead-lettering cut short by shutdown; the record will be processed again",
			"topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
		return false
	case g.opts.Policy == PolicySkip:
		g.count(func(m Metrics) { m.DeadLetterFailed(string(PolicySkip)) })
		g.opts.Logger.Error("record skipped: it could be neither processed nor dead-lettered",
			"topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "policy", PolicySkip, "err", err)
		return true
	default:
		g.pause(cl, r, err)
		return false
	}
}

// pause stops fetching r's partition, which stays at r: nothing past r is
// marked, so nothing past it is committed.
func (g *Group) pause(cl *kgo.Client, r *kgo.Record, err error) {
	cl.PauseFetchPartitions(map[string][]int32{r.Topic: {r.Partition}})
	now := time.Now()
	p := &pause{
		PausedPartition: PausedPartition{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Reason: err.Error(), Since: now},
		epoch:           r.LeaderEpoch,
	}
	retry := "at a rebalance or restart"
	if g.opts.PauseRetry > 0 {
		p.retryAt = now.Add(g.opts.PauseRetry)
		retry = "in " + g.opts.PauseRetry.String()
	}
	g.mu.Lock()
	g.paused[topicPartition{r.Topic, r.Partition}] = p
	n := len(g.paused)
	g.mu.Unlock()
	g.count(func(m Metrics) { m.DeadLetterFailed(string(PolicyPause)); m.PausedPartitions(n) })
	g.opts.Logger.Error("partition paused: a record could be neither processed nor dead-lettered, and nothing past it is committed",
		"topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "policy", PolicyPause, "retry", retry, "err", err)
}

// retryPaused fetches the partitions whose retry is due again from their
// paused record. It runs on the polling goroutine before AllowRebalance,
// as SetOffsets requires.
func (g *Group) retryPaused(cl *kgo.Client) {
	now := time.Now()
	var due []*pause
	g.mu.Lock()
	for tp, p := range g.paused {
		if !p.retryAt.IsZero() && !now.Before(p.retryAt) {
			due = append(due, p)
			delete(g.paused, tp)
		}
	}
	n := len(g.paused)
	g.mu.Unlock()
	if len(due) == 0 {
		return
	}
	offsets := map[string]map[int32]kgo.EpochOffset{}
	resume := map[string][]int32{}
	for _, p := range due {
		if offsets[p.Topic] == nil {
			offsets[p.Topic] = map[int32]kgo.EpochOffset{}
		}
		offsets[p.Topic][p.Partition] = kgo.EpochOffset{Epoch: p.epoch, Offset: p.Offset}
		resume[p.Topic] = append(resume[p.Topic], p.Partition)
		g.opts.Logger.Info("retrying paused partition", "topic", p.Topic, "partition", p.Partition, "offset", p.Offset)
	}
	cl.SetOffsets(offsets)
	cl.ResumeFetchPartitions(resume)
	g.count(func(m Metrics) { m.PausedPartitions(n) })
}

// release forgets the pauses of partitions given up in a rebalance and
// resumes fetching them, so that if they come back they start from the
// committed offset, at or before the paused record.
func (g *Group) release(cl *kgo.Client, gone map[string][]int32) {
	resume := map[string][]int32{}
	g.mu.Lock()
	for topic, partitions := range gone {
		for _, partition := range partitions {
			tp := topicPartition{topic, partition}
			if p, ok := g.paused[tp]; ok {
				delete(g.paused, tp)
				resume[topic] = append(resume[topic], partition)
				g.opts.Logger.Info("paused partition given up; its next owner tries the record again",
					"topic", topic, "partition", partition, "offset", p.Offset)
			}
		}
	}
	n := len(g.paused)
	g.mu.Unlock()
	if len(resume) > 0 {
		cl.ResumeFetchPartitions(resume)
		g.count(func(m Metrics) { m.PausedPartitions(n) })
	}
}

func (g *Group) isPaused(topic string, partition int32) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.paused[topicPartition{topic, partition}]
	return ok
}

// Paused returns the partitions paused now, by topic and partition. It is
// safe to call from any goroutine.
func (g *Group) Paused() []PausedPartition {
	g.mu.Lock()
	out := make([]PausedPartition, 0, len(g.paused))
	for _, p := range g.paused {
		out = append(out, p.PausedPartition)
	}
	g.mu.Unlock()
	slices.SortFunc(out, func(a, b PausedPartition) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return out
}

// mark flushes the handler's work and then marks done, the last record
// dealt with in each partition, for the client's next commit.
func (g *Group) mark(cl *kgo.Client, done []*kgo.Record) {
	if len(done) == 0 {
		return
	}
	if f, ok := g.opts.Handler.(Flusher); ok {
		if err := f.Flush(); err != nil {
			g.opts.Logger.Error("handler output could not be flushed; the batch is not marked for commit", "err", err)
			return
		}
	}
	cl.MarkCommitRecords(done...)
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
// up, so their next owner starts after them, and forgets their pauses.
// Polling blocks rebalances, so this runs only between batches.
func (g *Group) OnRevoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	g.commit(ctx, cl)
	g.release(cl, revoked)
}

// OnLost logs partitions taken away without a revoke (a session timeout):
// their uncommitted records are processed again by the next owner.
func (g *Group) OnLost(_ context.Context, cl *kgo.Client, lost map[string][]int32) {
	g.opts.Logger.Warn("partitions lost; uncommitted records will be processed again", "partitions", lost)
	g.release(cl, lost)
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
