package consumers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/kafka"
)

// Config is an instance's consumer configuration, as the create request
// gives it.
type Config struct {
	// Format is the embedded format of its records (the API's to read).
	Format string
	// AutoOffsetReset is where a partition without a committed offset
	// starts: "earliest", "latest" (the default, for "") or "none" (the
	// read fails).
	AutoOffsetReset string
	// AutoCommit commits the offsets of delivered records: before each
	// read, when partitions are revoked, and when the instance closes.
	AutoCommit bool
	// FetchMinBytes is the fetch.min.bytes of the instance's fetches
	// (0: one byte), at most MaxFetchMinBytes.
	FetchMinBytes int32
	// RequestTimeout bounds how long a read waits for records. Default
	// DefaultRequestTimeout, at most MaxRequestTimeout.
	RequestTimeout time.Duration
}

// Bounds of Config.
const (
	DefaultRequestTimeout = time.Second
	MaxRequestTimeout     = time.Minute
	MaxFetchMinBytes      = 1 << 20
)

// Bounds of what an instance holds and a read answers.
const (
	// MaxReadRecords bounds the records one read answers and one instance
	// keeps fetched but not delivered.
	MaxReadRecords = 10_000
)

func (c *Config) validate() error {
	switch c.AutoOffsetReset {
	case "", "earliest", "latest", "none":
	default:
		return fmt.Errorf("%w: auto.offset.reset must be earliest, latest or none, not %q", ErrInvalidConfig, c.AutoOffsetReset)
	}
	if c.FetchMinBytes < 0 || c.FetchMinBytes > MaxFetchMinBytes {
		return fmt.Errorf("%w: fetch.min.bytes must be from 0 to %d, not %d", ErrInvalidConfig, MaxFetchMinBytes, c.FetchMinBytes)
	}
	switch {
	case c.RequestTimeout == 0:
		c.RequestTimeout = DefaultRequestTimeout
	case c.RequestTimeout < 0 || c.RequestTimeout > MaxRequestTimeout:
		return fmt.Errorf("%w: consumer.request.timeout.ms must be from 1 to %d, not %d",
			ErrInvalidConfig, MaxRequestTimeout.Milliseconds(), c.RequestTimeout.Milliseconds())
	}
	return nil
}

// resetOffset is where a partition without a committed offset starts.
func (c *Config) resetOffset() kgo.Offset {
	switch c.AutoOffsetReset {
	case "earliest":
		return kgo.NewOffset().AtStart()
	case "none":
		return kgo.NoResetOffset()
	}
	return kgo.NewOffset().AtEnd()
}

// TopicPartition names a partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Offset is an offset of a partition, with its commit metadata.
type Offset struct {
	TopicPartition
	Offset   int64
	Metadata string
}

// mode is what an instance consumes.
type mode int

const (
	modeNone       mode = iota
	modeSubscribed      // a group member of its topics or pattern
	modeAssigned        // partitions it was given, outside group management
)

// Instance is one consumer instance: one Kafka client at a time (a group
// member once subscribed, a direct consumer once assigned), one read at
// a time, and the records fetched but not yet delivered.
type Instance struct {
	// ID and Group name the instance.
	ID, Group string
	// Format is its records' embedded format.
	Format string

	m   *Manager
	cfg Config
	// reading holds the read in progress, from Read until its batch is
	// Done.
	reading chan struct{}

	mu       sync.Mutex
	cl       *kgo.Client
	member   *member // whose group callbacks change the instance now
	mode     mode
	topics   []string // subscribed topics, or the pattern
	pattern  bool
	held     map[TopicPartition]bool         // partitions assigned to the instance now
	buf      []*kgo.Record                   // fetched, not delivered, in order
	next     map[TopicPartition]int64        // per partition, the offset after the last delivered record
	last     *Batch                          // the last batch delivered with a read id
	epoch    uint64                          // counts changes of position: a batch taken before one is not put back
	starts   map[string]map[int32]kgo.Offset // where an assigned instance's client started
	lastUsed time.Time
	closed   bool
}

func newInstance(m *Manager, group, id string, cfg Config) *Instance {
	return &Instance{ID: id, Group: group, Format: cfg.Format, m: m, cfg: cfg, reading: make(chan struct{}, 1),
		held: map[TopicPartition]bool{}, next: map[TopicPartition]int64{}, lastUsed: time.Now()}
}

// touch marks the instance used now.
func (in *Instance) touch() {
	in.mu.Lock()
	in.lastUsed = time.Now()
	in.mu.Unlock()
}

// idleSince returns how long the instance was unused at now; a read in
// progress is use.
func (in *Instance) idleSince(now time.Time) time.Duration {
	if len(in.reading) > 0 {
		return 0
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return now.Sub(in.lastUsed)
}

func illegal(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrIllegalState, fmt.Sprintf(format, args...))
}

// Subscribe makes the instance a member of its group for topics, or for
// the topics matching pattern (a regular expression the whole name must
// match), replacing any earlier subscription. An instance with assigned
// partitions fails with ErrIllegalState.
func (in *Instance) Subscribe(topics []string, pattern string) error {
	var names []string
	mb := &member{in: in}
	opts := []kgo.Opt{kgo.ConsumerGroup(in.Group), kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(mb.assigned), kgo.OnPartitionsRevoked(mb.revoked), kgo.OnPartitionsLost(mb.lost)}
	if pattern != "" {
		if _, err := regexp.Compile(pattern); err != nil {
			return fmt.Errorf("%w: topic_pattern is not a regular expression: %v", ErrInvalidConfig, err)
		}
		names = []string{pattern}
		opts = append(opts, kgo.ConsumeRegex(), kgo.ConsumeTopics("^(?:"+pattern+")$"))
	} else {
		names = slices.Clone(topics)
		opts = append(opts, kgo.ConsumeTopics(topics...))
	}
	in.mu.Lock()
	if in.mode == modeAssigned {
		in.mu.Unlock()
		return illegal("Subscription to topics, partitions and pattern are mutually exclusive.")
	}
	in.mu.Unlock()
	return in.start(mb, modeSubscribed, names, pattern != "", opts)
}

// Assign has the instance consume partitions directly, from the group's
// committed offsets (else as AutoOffsetReset says), replacing any earlier
// assignment. A subscribed instance fails with ErrIllegalState.
func (in *Instance) Assign(ctx context.Context, partitions []TopicPartition) error {
	in.mu.Lock()
	if in.mode == modeSubscribed {
		in.mu.Unlock()
		return illegal("Subscription to topics, partitions and pattern are mutually exclusive.")
	}
	in.mu.Unlock()
	cl, err := in.m.opts.NewClient()
	if err != nil {
		return err
	}
	committed, err := fetchCommitted(ctx, cl, in.Group)
	cl.Close()
	if err != nil {
		return err
	}
	offsets := map[string]map[int32]kgo.Offset{}
	for _, tp := range partitions {
		if offsets[tp.Topic] == nil {
			offsets[tp.Topic] = map[int32]kgo.Offset{}
		}
		o := in.cfg.resetOffset()
		if c, ok := committed.Lookup(tp.Topic, tp.Partition); ok && c.Err == nil && c.At >= 0 {
			o = kgo.NewOffset().At(c.At)
		}
		offsets[tp.Topic][tp.Partition] = o
	}
	mb := &member{in: in}
	if err := in.start(mb, modeAssigned, nil, false, []kgo.Opt{kgo.ConsumePartitions(offsets)}); err != nil {
		return err
	}
	in.mu.Lock()
	if in.member == mb {
		for _, tp := range partitions {
			in.held[tp] = true
		}
		in.starts = offsets
	}
	in.mu.Unlock()
	return nil
}

// reposition restarts an assigned instance's client with each partition
// at its offset in seek, or else where the instance stands: its first
// fetched record not delivered, else past its last delivered, else where
// it started. (kgo sets the offsets only of partitions it already
// consumes, which a new direct consumer may not yet do.) in.mu is held.
func (in *Instance) reposition(seek map[TopicPartition]int64) error {
	offsets := map[string]map[int32]kgo.Offset{}
	for tp := range in.held {
		o := in.starts[tp.Topic][tp.Partition]
		if n, ok := in.next[tp]; ok {
			o = kgo.NewOffset().At(n)
		}
		if i := slices.IndexFunc(in.buf, func(r *kgo.Record) bool { return r.Topic == tp.Topic && r.Partition == tp.Partition }); i >= 0 {
			o = kgo.NewOffset().At(in.buf[i].Offset)
		}
		if n, ok := seek[tp]; ok {
			o = kgo.NewOffset().At(n)
		}
		if offsets[tp.Topic] == nil {
			offsets[tp.Topic] = map[int32]kgo.Offset{}
		}
		offsets[tp.Topic][tp.Partition] = o
	}
	cl, err := in.newClient([]kgo.Opt{kgo.ConsumePartitions(offsets)})
	if err != nil {
		return err
	}
	old := in.replaceClient(cl)
	in.starts = offsets
	go old.Close()
	return nil
}

// newClient returns a client of opts and the instance's fetch settings;
// its fetches are bounded as the background consumer's.
func (in *Instance) newClient(opts []kgo.Opt) (*kgo.Client, error) {
	return in.m.opts.NewClient(append(opts, kgo.ConsumeResetOffset(in.cfg.resetOffset()),
		kgo.FetchMinBytes(max(in.cfg.FetchMinBytes, 1)), kgo.FetchMaxBytes(kafka.ConsumerFetchMaxBytes),
		kgo.FetchMaxPartitionBytes(kafka.ConsumerFetchMaxPartitionBytes))...)
}

// start replaces the instance's client by one of opts, in mode, whose
// group callbacks are mb's. The instance forgets what it held before the
// client exists: the group may assign it partitions before NewClient
// returns.
func (in *Instance) start(mb *member, md mode, topics []string, pattern bool, opts []kgo.Opt) error {
	in.mu.Lock()
	in.reset(mb)
	in.mu.Unlock()
	cl, err := in.newClient(opts)
	if err != nil {
		return err
	}
	in.mu.Lock()
	if closed, superseded := in.closed, in.member != mb; closed || superseded {
		in.mu.Unlock()
		cl.Close()
		if closed {
			return ErrNotFound
		}
		return nil // another start came after this one, and stands
	}
	old := in.replaceClient(cl)
	in.mode, in.topics, in.pattern = md, topics, pattern
	in.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// replaceClient makes cl the instance's client and forgets what the old
// one fetched; it returns the old one, for the caller to close. in.mu is
// held.
func (in *Instance) replaceClient(cl *kgo.Client) *kgo.Client {
	old := in.cl
	in.cl = cl
	in.forgetFetched()
	return old
}

// reset forgets what the instance held: partitions, fetched records,
// delivered offsets; from now on only mb's group callbacks change it.
// in.mu is held.
func (in *Instance) reset(mb *member) {
	in.member = mb
	clear(in.held)
	clear(in.next)
	in.forgetFetched()
}

// forgetFetched drops the records fetched and not delivered, and the last
// batch; a batch taken before is not put back. in.mu is held.
func (in *Instance) forgetFetched() {
	in.buf, in.last = nil, nil
	in.epoch++
}

// Unsubscribe ends the instance's subscription or assignment: it leaves
// its group.
func (in *Instance) Unsubscribe(ctx context.Context) {
	in.commitDelivered(ctx)
	in.mu.Lock()
	old := in.cl
	in.cl, in.mode, in.topics = nil, modeNone, nil
	in.reset(nil)
	in.mu.Unlock()
	if old != nil {
		old.Close()
	}
}

// Subscription returns the subscribed topics (for a pattern, those it
// matches now), nil when not subscribed.
func (in *Instance) Subscription() []string {
	in.mu.Lock()
	cl, md, pattern, topics := in.cl, in.mode, in.pattern, slices.Clone(in.topics)
	in.mu.Unlock()
	switch {
	case md != modeSubscribed:
		return nil
	case pattern:
		return cl.GetConsumeTopics()
	}
	return topics
}

// Assignment returns the partitions the instance holds now, in order.
func (in *Instance) Assignment() []TopicPartition {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.sortedHeld()
}

func (in *Instance) sortedHeld() []TopicPartition {
	out := make([]TopicPartition, 0, len(in.held))
	for tp := range in.held {
		out = append(out, tp)
	}
	slices.SortFunc(out, compareTP)
	return out
}

func compareTP(a, b TopicPartition) int {
	return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
}

// member stands for one of the instance's clients from before the client
// exists. Its group callbacks, which kgo calls in the client's group
// goroutine (the first may come before NewClient returns), change the
// instance only while it is the instance's member: a closing client's
// revocations do not touch what its successor holds.
type member struct{ in *Instance }

func (mb *member) assigned(_ context.Context, _ *kgo.Client, ps map[string][]int32) {
	in := mb.in
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.member != mb {
		return
	}
	for t, parts := range ps {
		for _, p := range parts {
			in.held[TopicPartition{t, p}] = true
		}
	}
}

// revoked commits, with auto commit, what was delivered of the revoked
// partitions, then drops them: their fetched records go back to Kafka
// for the next owner, and a commit of them fails.
func (mb *member) revoked(ctx context.Context, cl *kgo.Client, ps map[string][]int32) {
	in := mb.in
	if in.cfg.AutoCommit {
		in.mu.Lock()
		var offsets []Offset
		if in.member == mb {
			offsets = in.offsetsOf(ps)
		}
		in.mu.Unlock()
		if len(offsets) > 0 {
			_ = commitGroup(ctx, cl, offsets)
		}
	}
	mb.lost(ctx, cl, ps)
}

func (mb *member) lost(_ context.Context, _ *kgo.Client, ps map[string][]int32) {
	in := mb.in
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.member != mb {
		return
	}
	gone := map[TopicPartition]bool{}
	for t, parts := range ps {
		for _, p := range parts {
			tp := TopicPartition{t, p}
			gone[tp] = true
			delete(in.held, tp)
			delete(in.next, tp)
		}
	}
	in.buf = slices.DeleteFunc(in.buf, func(r *kgo.Record) bool { return gone[TopicPartition{r.Topic, r.Partition}] })
	in.last = nil
}

// offsetsOf returns the delivered offsets of ps. in.mu is held.
func (in *Instance) offsetsOf(ps map[string][]int32) []Offset {
	var out []Offset
	for t, parts := range ps {
		for _, p := range parts {
			if o, ok := in.next[TopicPartition{t, p}]; ok {
				out = append(out, Offset{TopicPartition: TopicPartition{t, p}, Offset: o})
			}
		}
	}
	return out
}

// client returns the instance's client, or an ErrIllegalState error when
// it neither subscribed nor was assigned partitions.
func (in *Instance) client() (*kgo.Client, mode, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cl == nil {
		return nil, modeNone, illegal("Consumer is not subscribed to any topics or assigned any partitions")
	}
	return in.cl, in.mode, nil
}

// Seek moves each partition of offsets to its offset; each must be held
// (ErrIllegalState). kgo is called outside in.mu: its group callbacks,
// which take in.mu, may hold its own locks.
func (in *Instance) Seek(offsets []Offset) error {
	cl, md, err := in.client()
	if err != nil {
		return err
	}
	set := map[string]map[int32]kgo.EpochOffset{}
	in.mu.Lock()
	for _, o := range offsets {
		if !in.held[o.TopicPartition] {
			in.mu.Unlock()
			return illegal("No current assignment for partition %s-%d", o.Topic, o.Partition)
		}
		if set[o.Topic] == nil {
			set[o.Topic] = map[int32]kgo.EpochOffset{}
		}
		set[o.Topic][o.Partition] = kgo.EpochOffset{Epoch: -1, Offset: o.Offset}
	}
	if md == modeAssigned {
		defer in.mu.Unlock()
		seek := map[TopicPartition]int64{}
		for _, o := range offsets {
			seek[o.TopicPartition] = o.Offset
		}
		return in.reposition(seek)
	}
	for _, o := range offsets {
		in.drop(o.TopicPartition)
	}
	in.mu.Unlock()
	cl.SetOffsets(set)
	return nil
}

// drop forgets the fetched records of tp. in.mu is held.
func (in *Instance) drop(tp TopicPartition) {
	in.buf = slices.DeleteFunc(in.buf, func(r *kgo.Record) bool { return r.Topic == tp.Topic && r.Partition == tp.Partition })
	in.last = nil
	in.epoch++
}

// SeekEdge moves each partition to its first offset (end false) or past
// its last (end true).
func (in *Instance) SeekEdge(ctx context.Context, partitions []TopicPartition, end bool) error {
	cl, _, err := in.client()
	if err != nil {
		return err
	}
	in.mu.Lock()
	for _, tp := range partitions {
		if !in.held[tp] {
			in.mu.Unlock()
			return illegal("No current assignment for partition %s-%d", tp.Topic, tp.Partition)
		}
	}
	in.mu.Unlock()
	topics := map[string]bool{}
	for _, tp := range partitions {
		topics[tp.Topic] = true
	}
	list := kadm.NewClient(cl).ListStartOffsets
	if end {
		list = kadm.NewClient(cl).ListEndOffsets
	}
	listed, err := list(ctx, slices.Collect(maps.Keys(topics))...)
	if err != nil {
		return kafka.Wrap(err)
	}
	offsets := make([]Offset, 0, len(partitions))
	for _, tp := range partitions {
		l, ok := listed.Lookup(tp.Topic, tp.Partition)
		if !ok || l.Err != nil {
			return kafka.Wrap(fmt.Errorf("listing the offsets of %s-%d: %w", tp.Topic, tp.Partition, errors.Join(l.Err, errUnlisted)))
		}
		offsets = append(offsets, Offset{TopicPartition: tp, Offset: l.Offset})
	}
	return in.Seek(offsets)
}

var errUnlisted = errors.New("partition not listed")
