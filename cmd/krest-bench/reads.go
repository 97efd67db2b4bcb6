package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fasthttp"
)

// readMaxRecords is the max_records of each offset read through krest.
const readMaxRecords = 1000

// reader is one row of a read table: read reads r.topic from its start until it has read r.records,
// timing the read and metering its process. inBench says that process is the bench.
type reader struct {
	name, title string
	inBench     bool
	read        func(ctx context.Context, b *bench, r *readRun) error
}

// readers are the offset-read rows, in the order each round runs them.
var readers = []reader{
	{name: "bare", title: "bare franz-go direct consume loop (ConsumePartitions, PollFetches)", inBench: true, read: readBare},
	{name: "krest", title: fmt.Sprintf("krest GET …/partitions/0/records, max_records=%d, one request at a time", readMaxRecords),
		read: readKrest},
}

// readTable is a row group of readers that each read all of one pre-filled topic in every round.
type readTable struct {
	name, title string // --targets name, and what the skip note calls it
	partitions  int    // of the topic
	records     int64  // pre-filled, and read by each reader in each round
	readers     []reader
}

// readRun is one reader's read of the topic, in one round.
type readRun struct {
	topic      string
	partitions int
	records    int64
	group      string // a fresh group name, for a reader that reads in a group
	krest      string // krest's base URL
	cluster    string
	meter      *meter // the gateway's (or the bench's, for a reader in the bench) CPU over the read
	start      time.Time
	took       time.Duration
}

// readTimeout bounds one reader's read of the topic.
const readTimeout = 10 * time.Minute

// begin starts the read's meter and clock, once the reader is set up.
func (r *readRun) begin() {
	r.meter.begin()
	r.start = time.Now()
}

// end stops them, once the reader has read every record.
func (r *readRun) end() {
	r.took = time.Since(r.start)
	r.meter.end()
}

// readResult is one row of a read table, summed over the rounds.
type readResult struct {
	Target        string     `json:"target"`
	Title         string     `json:"title"`
	Records       int64      `json:"records"` // read in each round
	Rounds        int        `json:"rounds"`
	RecordsPerSec float64    `json:"records_per_sec"`
	Gateway       *resources `json:"gateway,omitempty"`
	Skipped       string     `json:"skipped,omitempty"` // why the row cannot run here; Error holds it too
	Error         string     `json:"error,omitempty"`
}

// runReads pre-fills a one-partition topic with --consume-records messages, then, --rounds times over,
// reads them all from offset 0 by each reader in turn: krest's stateless offset reads, and a bare
// franz-go consumer of the partition.
func (b *bench) runReads(ctx context.Context) {
	b.rep.Reads = b.runReadTable(ctx, readTable{name: "reads", title: "offset reads", partitions: 1,
		records: b.opt.consumeRecords, readers: readers})
}

// runReadTable pre-fills a topic of t.partitions with t.records messages on a fresh broker, starts a krest
// on it, then, --rounds times over, lets each reader read the whole topic in turn, within readTimeout. It
// returns the rows, or none when the table could not run (noted as a skip).
func (b *bench) runReadTable(ctx context.Context, t readTable) []readResult {
	fail := func(err error) { b.skip(t.name, t.title, err) }
	topic, drop, err := b.freshTopic(ctx, t.name, t.partitions)
	if err != nil {
		fail(err)
		return nil
	}
	defer drop()
	b.progress("%s: pre-filling %s with %d records", t.name, topic, t.records)
	if err := b.prefill(ctx, topic, t.records); err != nil {
		fail(err)
		return nil
	}
	// krest's own topic and group stay idle: its consumer takes nothing from the reads.
	idle := b.topicName(t.name + "-idle")
	p, base, err := b.startKrest(ctx, b.krest, idle, idle)
	if err != nil {
		fail(err)
		return nil
	}
	defer p.stop()
	results := make([]readResult, len(t.readers))
	meters := make([]*meter, len(t.readers))
	took := make([]time.Duration, len(t.readers))
	for i, r := range t.readers {
		results[i] = readResult{Target: r.name, Title: r.title, Records: t.records}
		meters[i] = newTally()
	}
	for round := range b.opt.rounds {
		for i, r := range t.readers {
			if ctx.Err() != nil || results[i].Error != "" {
				continue
			}
			pid := p.pid()
			if r.inBench {
				pid = os.Getpid()
			}
			run := &readRun{topic: topic, partitions: t.partitions, records: t.records,
				group: b.topicName(fmt.Sprintf("%s-%s-%d", t.name, r.name, round+1)), krest: base, cluster: b.kafka.id,
				meter: newMeter(pid)}
			wait := func() {}
			if !r.inBench && round == 0 {
				wait = b.profile(p, 2*time.Second, t.name+"-"+r.name)
			}
			readCtx, cancel := context.WithTimeout(ctx, readTimeout)
			err := r.read(readCtx, b, run)
			cancel()
			wait()
			if err != nil {
				results[i].Skipped, results[i].Error = skipReason(err), err.Error()
				continue
			}
			meters[i].absorb(run.meter)
			took[i] += run.took
			results[i].Rounds++
			b.progress("%s round %d/%d %-10s %9.0f rec/s", t.name, round+1, b.opt.rounds, r.name, float64(run.records)/run.took.Seconds())
		}
	}
	for i := range results {
		if r := &results[i]; r.Error == "" && r.Rounds > 0 {
			r.RecordsPerSec = float64(r.Records) * float64(r.Rounds) / took[i].Seconds()
			r.Gateway = meters[i].resources(r.Records * int64(r.Rounds))
		}
		b.progress("%s: %-10s %9.0f rec/s %s", t.name, results[i].Target, results[i].RecordsPerSec, results[i].Error)
	}
	return results
}

// readBare reads every partition from offset 0 with a bare client of its own (bareClient).
func readBare(ctx context.Context, b *bench, r *readRun) error {
	cl, err := b.bareClient(r.topic, r.partitions)
	if err != nil {
		return err
	}
	defer cl.Close()
	r.begin()
	var n int64
	for n < r.records {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return fmt.Errorf("bare read at %d of %d: %w", n, r.records, err)
		}
		n += int64(fs.NumRecords())
	}
	r.end()
	return nil
}

// bareClient returns a franz-go client that consumes partitions 0 to partitions-1 of topic from offset 0,
// direct (no group), with its default fetch sizes.
func (b *bench) bareClient(topic string, partitions int) (*kgo.Client, error) {
	from := map[int32]kgo.Offset{}
	for p := range int32(partitions) {
		from[p] = kgo.NewOffset().At(0)
	}
	return kgo.NewClient(kgo.SeedBrokers(strings.Split(b.kafka.brokers, ",")...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}))
}

// readKrest reads the partition through krest, one GET of readMaxRecords records after the other, each
// from the next_offset of the one before.
func readKrest(ctx context.Context, _ *bench, r *readRun) error {
	hc := newHTTPClient(1)
	prefix := fmt.Sprintf("%s/v3/clusters/%s/topics/%s/partitions/0/records?max_records=%d&timeout=0&offset=",
		r.krest, url.PathEscape(r.cluster), r.topic, readMaxRecords)
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	r.begin()
	var offset int64
	for offset < r.records {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		req.SetRequestURI(prefix + strconv.FormatInt(offset, 10))
		if err := hc.Do(req, resp); err != nil {
			return fmt.Errorf("krest read at %d: %w", offset, err)
		}
		if resp.StatusCode() != fasthttp.StatusOK {
			return fmt.Errorf("krest read at %d: HTTP %d: %s", offset, resp.StatusCode(), firstLine(resp.Body()))
		}
		next, err := nextOffset(resp.Body())
		if err != nil {
			return fmt.Errorf("krest read at %d: %w", offset, err)
		}
		if next <= offset {
			return fmt.Errorf("krest read at %d: next_offset %d does not go on", offset, next)
		}
		offset = next
	}
	r.end()
	return nil
}

// nextOffset finds the next_offset of a read's answer; the offsets of a topic the bench filled have no
// gaps, so it also counts the records read.
func nextOffset(body []byte) (int64, error) {
	const field = `"next_offset":`
	i := bytes.Index(body, []byte(field))
	if i < 0 {
		return 0, errors.New("no next_offset in the answer: " + firstLine(body))
	}
	rest := body[i+len(field):]
	end := bytes.IndexAny(rest, ",}")
	if end < 0 {
		return 0, errors.New("next_offset does not end")
	}
	return strconv.ParseInt(string(rest[:end]), 10, 64)
}
