package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fasthttp"
)

// message is the body of every single-record request: the classic design's Message.
type message struct {
	ID      string `json:"id"`
	Content string `json:"content"`
}

// produced is the answer of the reference servers, shaped like krest's.
type produced struct {
	Status    string `json:"status"`
	ID        string `json:"id"`
	Topic     string `json:"topic,omitempty"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// maxBody caps request bodies in the reference servers, as krest caps its own.
const maxBody = 1 << 20

// runRef runs a reference server, `krest-bench ref http|minimal|fasthttp`, until ctx ends. The bench
// starts it as a child process so that its CPU and memory are measured apart from the load generator's
// (and, with --pprof-addr, profiled like krest):
//   - http: decodes the body and answers 201 without touching Kafka (the HTTP ceiling);
//   - minimal: net/http, decodes the body and calls ProduceSync with acks=all (the smallest correct
//     HTTP→Kafka hop on the standard library);
//   - fasthttp: the same hop on fasthttp, the best a gateway on krest's HTTP stack can do with no features.
func runRef(ctx context.Context, args []string) error {
	if len(args) < 1 || !slices.Contains([]string{"http", "minimal", "fasthttp"}, args[0]) {
		return errors.New("usage: krest-bench ref http|minimal|fasthttp --http-addr ADDR [--brokers B --topic T]")
	}
	kind := args[0]
	fs := flag.NewFlagSet("ref "+kind, flag.ContinueOnError)
	addr := fs.String("http-addr", "127.0.0.1:8080", "listen address")
	brokers := fs.String("brokers", "", "seed brokers (minimal and fasthttp)")
	topic := fs.String("topic", "", "topic to produce to (minimal and fasthttp)")
	pprofAddr := fs.String("pprof-addr", "", "serve the Go profiler on this address")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *pprofAddr != "" {
		profiler := http.NewServeMux()
		profiler.HandleFunc("/debug/pprof/profile", pprof.Profile)
		go http.ListenAndServe(*pprofAddr, profiler)
	}

	produce := func(context.Context, *kgo.Record) (produced, error) { return produced{}, nil }
	if kind != "http" {
		// kgo's defaults are acks=all with idempotence, as krest produces.
		cl, err := kgo.NewClient(kgo.SeedBrokers(*brokers), kgo.DefaultProduceTopic(*topic))
		if err != nil {
			return err
		}
		defer cl.Close()
		if err := cl.Ping(ctx); err != nil {
			return err
		}
		produce = func(ctx context.Context, r *kgo.Record) (produced, error) {
			r, err := cl.ProduceSync(ctx, r).First()
			return produced{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}, err
		}
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if kind == "fasthttp" {
		return serveFastRef(ctx, l, produce)
	}

	mux := http.NewServeMux()
	mux.Handle("POST /api/messages", handleRefProduce(produce))
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		IdleTimeout:       2 * time.Minute,
	}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// handleRefProduce decodes a message, keys a record by its id with the body as value, and answers 201.
func handleRefProduce(produce func(context.Context, *kgo.Record) (produced, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		var m message
		if err == nil {
			err = json.Unmarshal(body, &m)
		}
		if err != nil || m.ID == "" {
			http.Error(w, fmt.Sprintf("invalid message: %v", err), http.StatusBadRequest)
			return
		}
		res, err := produce(r.Context(), &kgo.Record{Key: []byte(m.ID), Value: body})
		if err != nil {
			w.Header().Set("Retry-After", "1")
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		res.Status, res.ID = "message produced", m.ID
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(res)
	})
}

// serveFastRef serves the fasthttp reference gateway on l until ctx ends.
func serveFastRef(ctx context.Context, l net.Listener, produce func(context.Context, *kgo.Record) (produced, error)) error {
	srv := &fasthttp.Server{
		Handler:            handleFastRef(ctx, produce),
		ReadTimeout:        10 * time.Second, // the whole request, as ReadHeaderTimeout above bounds the header
		WriteTimeout:       10 * time.Second,
		IdleTimeout:        2 * time.Minute,
		MaxRequestBodySize: maxBody,
		// Concurrency (256 Ki connections) and ReadBufferSize (4 KiB of headers) keep fasthttp's defaults.
		NoDefaultServerHeader: true,
	}
	context.AfterFunc(ctx, func() { srv.Shutdown() })
	return srv.Serve(l)
}

// handleFastRef is handleRefProduce on fasthttp: it decodes a message, keys a record by its id with the
// body as value, and answers 201; GET /readyz answers 200. The record copies the body, which fasthttp
// reuses once the handler returns; produce runs under base, since a fasthttp request has no context of
// its own.
func handleFastRef(base context.Context, produce func(context.Context, *kgo.Record) (produced, error)) fasthttp.RequestHandler {
	return func(rc *fasthttp.RequestCtx) {
		switch path := string(rc.Path()); {
		case path == "/readyz" && rc.IsGet():
			return
		case path != "/api/messages" || !rc.IsPost():
			rc.Error("not found", fasthttp.StatusNotFound)
			return
		}
		body := bytes.Clone(rc.PostBody())
		var m message
		err := json.Unmarshal(body, &m)
		if err != nil || m.ID == "" {
			rc.Error(fmt.Sprintf("invalid message: %v", err), fasthttp.StatusBadRequest)
			return
		}
		res, err := produce(base, &kgo.Record{Key: []byte(m.ID), Value: body})
		if err != nil {
			rc.Response.Header.Set("Retry-After", "1")
			rc.Error(err.Error(), fasthttp.StatusServiceUnavailable)
			return
		}
		res.Status, res.ID = "message produced", m.ID
		rc.SetContentType("application/json")
		rc.SetStatusCode(fasthttp.StatusCreated)
		json.NewEncoder(rc).Encode(res)
	}
}
