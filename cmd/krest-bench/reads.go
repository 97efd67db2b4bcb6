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

// reader is one row of the offset-read table: read reads partition 0 of r.topic from offset 0 until it
// has read r.records, timing the read and metering its process. inBench says that process is the bench.
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

// readRun is one reader's drain of the topic, in one round.
type readRun struct {
	topic   string
	records int64
	krest   string // krest's base URL
	cluster string
	meter   *meter // the gateway's (or the bench's, for the bare loop) CPU over the read
	took    time.Duration
}

// readResult is one row of the offset-read table, summed over the rounds.
type readResult struct {
	Target        string     `json:"target"`
	Title         string     `json:"title"`
	Records       int64      `json:"records"` // read in each round
	Rounds        int        `json:"rounds"`
	RecordsPerSec float64    `json:"records_per_sec"`
	Gateway       *resources `json:"gateway,omitempty"`
	Error         string     `json:"error,omitempty"`
}

// runReads pre-fills a one-partition topic with --consume-records messages, then, --rounds times over,
// reads them all from offset 0 by each reader in turn: krest's stateless offset reads, and a bare
// franz-go consumer of the partition.
func (b *bench) runReads(ctx context.Context) {
	fail := func(err error) { b.skip("reads", "offset reads", err) }
	if err := b.freshBroker(ctx); err != nil {
		fail(err)
		return
	}
	topic := b.topicName("reads")
	if _, err := b.kafka.createTopic(ctx, topic, 1); err != nil {
		fail(err)
		return
	}
	defer b.kafka.deleteTopic(context.WithoutCancel(ctx), topic)
	b.progress("reads: pre-filling %s with %d records", topic, b.opt.consumeRecords)
	if err := b.prefill(ctx, topic, b.opt.consumeRecords); err != nil {
		fail(err)
		return
	}
	// krest's own topic and group stay idle: its consumer takes nothing from the reads.
	p, base, err := b.startKrest(ctx, b.krest, b.topicName("reads-idle"), b.topicName("reads-idle"))
	if err != nil {
		fail(err)
		return
	}
	defer p.stop()
	results := make([]readResult, len(readers))
	meters := make([]*meter, len(readers))
	took := make([]time.Duration, len(readers))
	for i, r := range readers {
		results[i] = readResult{Target: r.name, Title: r.title, Records: b.opt.consumeRecords}
		meters[i] = newTally()
	}
	for round := range b.opt.rounds {
		for i, r := range readers {
			if ctx.Err() != nil || results[i].Error != "" {
				continue
			}
			pid := p.pid()
			if r.inBench {
				pid = os.Getpid()
			}
			run := &readRun{topic: topic, records: b.opt.consumeRecords, krest: base, cluster: b.kafka.id, meter: newMeter(pid)}
			wait := func() {}
			if !r.inBench && round == 0 {
				wait = b.profile(p, 2*time.Second, "reads-"+r.name)
			}
			err := r.read(ctx, b, run)
			wait()
			if err != nil {
				results[i].Error = err.Error()
				continue
			}
			meters[i].absorb(run.meter)
			took[i] += run.took
			results[i].Rounds++
			b.progress("reads round %d/%d %-6s %9.0f rec/s", round+1, b.opt.rounds, r.name, float64(run.records)/run.took.Seconds())
		}
	}
	for i := range results {
		if r := &results[i]; r.Error == "" && r.Rounds > 0 {
			r.RecordsPerSec = float64(r.Records) * float64(r.Rounds) / took[i].Seconds()
			r.Gateway = meters[i].resources(r.Records * int64(r.Rounds))
		}
		b.rep.Reads = append(b.rep.Reads, results[i])
		b.progress("reads: %-6s %9.0f rec/s %s", results[i].Target, results[i].RecordsPerSec, results[i].Error)
	}
}

// readBare reads the partition with a franz-go client of its own, direct (no group), with its default
// fetch sizes.
func readBare(ctx context.Context, b *bench, r *readRun) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(b.kafka.brokers, ",")...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{r.topic: {0: kgo.NewOffset().At(0)}}))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	r.meter.begin()
	start := time.Now()
	var n int64
	for n < r.records {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return fmt.Errorf("bare read at %d of %d: %w", n, r.records, err)
		}
		n += int64(fs.NumRecords())
	}
	r.took = time.Since(start)
	r.meter.end()
	return nil
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
	r.meter.begin()
	start := time.Now()
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
	r.took = time.Since(start)
	r.meter.end()
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
