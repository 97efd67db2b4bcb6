package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// The v2 consumer instance row: a REST Proxy v2 consumer instance of krest, subscribed to the topic,
// drained by one client in reads of v2ReadMaxBytes, each followed by a commit of what it delivered, as
// the bare loop commits after each poll.

// v2ReadMaxBytes is the max_bytes of each read of the instance.
const v2ReadMaxBytes = 1 << 20

// The v2 media types the row sends and accepts.
const (
	benchMediaV2       = "application/vnd.kafka.v2+json"
	benchMediaV2Binary = "application/vnd.kafka.binary.v2+json"
)

// startKrestV2Consumer runs krest (its own consumer group on an idle topic of its own), creates a v2
// consumer instance in group, subscribes it to topic, and drains it in the background. The row is skipped
// when krest serves no v2 consumer instances.
func startKrestV2Consumer(ctx context.Context, b *bench, c consumer, topic, group string) (*consuming, error) {
	idle := b.topicName("v2-idle")
	p, base, err := b.startKrest(ctx, b.krest, idle, idle, c.env...)
	if err != nil {
		return nil, err
	}
	hc := newHTTPClient(2)
	instance := base + "/consumers/" + url.PathEscape(group) + "/instances/bench"
	status, body, err := v2Do(hc, "POST", base+"/consumers/"+url.PathEscape(group), benchMediaV2,
		`{"name":"bench","format":"binary","auto.offset.reset":"earliest","auto.commit.enable":"false"}`)
	if err == nil && status == fasthttp.StatusNotFound {
		err = errSkip{"krest serves no v2 consumer instances (POST /consumers/{group} is 404)"}
	} else if err == nil && status != fasthttp.StatusOK {
		err = fmt.Errorf("create the instance: HTTP %d: %s", status, firstLine(body))
	}
	if err == nil {
		status, body, err = v2Do(hc, "POST", instance+"/subscription", benchMediaV2, `{"topics":["`+topic+`"]}`)
		if err == nil && status != fasthttp.StatusNoContent {
			err = fmt.Errorf("subscribe: HTTP %d: %s", status, firstLine(body))
		}
	}
	if err != nil {
		p.stop()
		return nil, err
	}
	var processed atomic.Int64
	var lastErr atomic.Value
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		records := fmt.Sprintf("%s/records?timeout=1000&max_bytes=%d", instance, v2ReadMaxBytes)
		for ctx.Err() == nil {
			status, body, err := v2Do(hc, "GET", records, "", "")
			if err == nil && status != fasthttp.StatusOK {
				err = fmt.Errorf("read: HTTP %d: %s", status, firstLine(body))
			}
			if err != nil {
				lastErr.Store(err)
				continue
			}
			// A record of the answer is an object with an "offset"; base64 keys and values hold no quotes.
			n := int64(bytes.Count(body, []byte(`"offset":`)))
			processed.Add(n)
			if n == 0 {
				continue
			}
			if status, body, err := v2Do(hc, "POST", instance+"/offsets", benchMediaV2, ""); err != nil || status != fasthttp.StatusOK {
				lastErr.Store(errors.Join(err, fmt.Errorf("commit: HTTP %d: %s", status, firstLine(body))))
			}
		}
	}()
	return &consuming{
		proc: p,
		progress: func(context.Context) (int64, error) {
			n := processed.Load()
			if err, ok := lastErr.Load().(error); ok && n == 0 {
				return 0, err
			}
			return n, nil
		},
		source: "records the instance delivered",
		stop: func() {
			cancel()
			<-done
			_, _, _ = v2Do(hc, "DELETE", instance, benchMediaV2, "")
			p.stop()
		},
	}, nil
}

// v2Do sends one request of the v2 consumer API, with body typed contentType (none if empty), accepting
// benchMediaV2Binary for records and benchMediaV2 otherwise, and returns the answer's status and body (a
// copy).
func v2Do(hc *fasthttp.Client, method, uri, contentType, body string) (int, []byte, error) {
	accept := benchMediaV2
	if method == fasthttp.MethodGet {
		accept = benchMediaV2Binary
	}
	return doRequest(hc, method, uri, accept, contentType, []byte(body))
}
