package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fasthttp"
)

// queueReaders are the rows of the queue table, in the order each round runs them: the bare share
// consumer, then krest's lease and acks routes at each of batches records a lease. Each drains the
// pre-filled topic in a share group of its own (KIP-932), accepting every record.
func queueReaders(batches []int) []reader {
	rs := []reader{{name: "bare", title: "bare franz-go share consumer (ShareGroup, PollFetches, Ack accept)", inBench: true, read: readShare}}
	for _, n := range batches {
		rs = append(rs, reader{name: "krest-" + strconv.Itoa(n),
			title: fmt.Sprintf("krest POST …/records:lease max_records=%d, then POST …/acks accept of the %d", n, n),
			read:  leaseReader(n)})
	}
	return rs
}

// runQueue pre-fills a topic with --queue-records messages, then, --rounds times over, lets each queue
// reader take and accept them all in a fresh share group.
func (b *bench) runQueue(ctx context.Context) {
	b.rep.Queue = b.runReadTable(ctx, readTable{name: "queue", title: "work queue", partitions: b.opt.partitions,
		records: b.opt.queueRecords, readers: queueReaders(b.opt.batchSizes)})
}

// readShare drains the topic with a franz-go share consumer of its own in group r.group, which starts
// at the earliest offsets: it accepts every record it polls, and its time runs until every accept is
// acknowledged by the broker. A record delivered twice fails the read.
func readShare(ctx context.Context, b *bench, r *readRun) error {
	if err := b.kafka.setGroupConfig(ctx, r.group, "share.auto.offset.reset", "earliest"); err != nil {
		return err
	}
	var ackErr atomic.Value // the first failed accept
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(b.kafka.brokers, ",")...),
		kgo.ShareGroup(r.group), kgo.ConsumeTopics(r.topic),
		kgo.ShareAckCallback(func(_ *kgo.Client, res kgo.ShareAckResults) {
			for _, x := range res {
				if x.Err != nil {
					ackErr.CompareAndSwap(nil, fmt.Errorf("accepting on %s/%d: %w", x.Topic, x.Partition, x.Err))
				}
			}
		}))
	if err != nil {
		return err
	}
	defer cl.Close()
	r.begin()
	var n int64
	for n < r.records {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return fmt.Errorf("share consumer at %d of %d: %w", n, r.records, err)
		}
		for it := fs.RecordIter(); !it.Done(); {
			rec := it.Next()
			if rec.DeliveryCount() > 1 {
				return fmt.Errorf("record %s/%d@%d delivered %d times", rec.Topic, rec.Partition, rec.Offset, rec.DeliveryCount())
			}
			rec.Ack(kgo.AckAccept)
			n++
		}
	}
	if err := cl.FlushAcks(ctx); err != nil {
		return fmt.Errorf("flushing the accepts: %w", err)
	}
	r.end()
	// FlushAcks has returned once every callback ran.
	if err, _ := ackErr.Load().(error); err != nil {
		return err
	}
	if n != r.records {
		return fmt.Errorf("share consumer got %d records, want %d", n, r.records)
	}
	return nil
}

// Bounds of the bench's leases: a lease waits up to leaseWait for records, and holds them for leaseFor,
// far longer than a batch takes to accept.
const (
	leaseWait = time.Second
	leaseFor  = 30 * time.Second
)

// leaseReader returns a reader that drains the topic through krest's work queue in group r.group: it
// leases up to batch records, accepts them all in one acks request, and leases again, one request at a
// time, until every record is accepted. The group starts at the earliest offsets, as the bare share
// consumer's. A lease route that is not served (404, or 501 for brokers without share groups) skips the
// row; a record delivered twice, or an accept not ok, fails it.
func leaseReader(batch int) func(ctx context.Context, b *bench, r *readRun) error {
	return func(ctx context.Context, b *bench, r *readRun) error {
		if err := b.kafka.setGroupConfig(ctx, r.group, "share.auto.offset.reset", "earliest"); err != nil {
			return err
		}
		prefix := fmt.Sprintf("%s/v3/clusters/%s/share-groups/%s/", r.krest, url.PathEscape(r.cluster), url.PathEscape(r.group))
		lease := []byte(fmt.Sprintf(`{"topics":[%q],"max_records":%d,"wait_ms":%d,"lease_ms":%d}`, r.topic, batch,
			leaseWait.Milliseconds(), leaseFor.Milliseconds()))
		hc := newHTTPClient(1)
		var leased struct {
			Records []struct {
				Topic         string `json:"topic_name"`
				Partition     int32  `json:"partition_id"`
				Offset        int64  `json:"offset"`
				DeliveryCount int32  `json:"delivery_count"`
				Token         string `json:"token"`
			} `json:"records"`
		}
		var answered struct {
			Results []struct {
				Status string `json:"status"`
			} `json:"results"`
		}
		acks := make([]byte, 0, batch*256)
		r.begin()
		var n int64
		for n < r.records {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("lease at %d of %d: %w", n, r.records, err)
			}
			status, body, err := postJSON(hc, prefix+"records:lease", lease)
			switch {
			case err != nil:
				return fmt.Errorf("lease at %d of %d: %w", n, r.records, err)
			case n == 0 && (status == fasthttp.StatusNotFound || status == fasthttp.StatusNotImplemented):
				return errSkip{fmt.Sprintf("krest serves no work queue here (records:lease answers %d: %s)", status, firstLine(body))}
			case status != fasthttp.StatusOK:
				return fmt.Errorf("lease at %d of %d: HTTP %d: %s", n, r.records, status, firstLine(body))
			}
			leased.Records = leased.Records[:0]
			if err := json.Unmarshal(body, &leased); err != nil {
				return fmt.Errorf("lease answer: %w: %s", err, firstLine(body))
			}
			if len(leased.Records) == 0 {
				continue
			}
			acks = append(acks[:0], '[')
			for i, x := range leased.Records {
				if x.DeliveryCount > 1 {
					return fmt.Errorf("record %s/%d@%d delivered %d times", x.Topic, x.Partition, x.Offset, x.DeliveryCount)
				}
				if i > 0 {
					acks = append(acks, ',')
				}
				acks = fmt.Appendf(acks, `{"token":%q,"action":"accept"}`, x.Token)
			}
			acks = append(acks, ']')
			status, body, err = postJSON(hc, prefix+"acks", acks)
			if err == nil && status != fasthttp.StatusOK {
				err = fmt.Errorf("HTTP %d: %s", status, firstLine(body))
			}
			if err == nil {
				answered.Results = answered.Results[:0]
				err = json.Unmarshal(body, &answered)
			}
			if err == nil && len(answered.Results) != len(leased.Records) {
				err = fmt.Errorf("%d results for %d acknowledgements", len(answered.Results), len(leased.Records))
			}
			for i := 0; err == nil && i < len(answered.Results); i++ {
				if answered.Results[i].Status != "ok" {
					err = fmt.Errorf("accept of %s/%d@%d: %s", leased.Records[i].Topic, leased.Records[i].Partition,
						leased.Records[i].Offset, answered.Results[i].Status)
				}
			}
			if err != nil {
				return fmt.Errorf("acks at %d of %d: %w", n, r.records, err)
			}
			n += int64(len(leased.Records))
		}
		r.end()
		return nil
	}
}

// postJSON POSTs a JSON body to uri and returns the answer's status and body (a copy).
func postJSON(hc *fasthttp.Client, uri string, body []byte) (int, []byte, error) {
	return doRequest(hc, fasthttp.MethodPost, uri, "", "application/json", body)
}
