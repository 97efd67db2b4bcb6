package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// run is the whole program: `krest-bench [flags]` runs the bench, `krest-bench ref …` a reference server.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 1 && args[1] == "ref" {
		return runRef(ctx, args[2:])
	}
	opt, err := parseOptions(args[1:], stderr)
	if err != nil {
		return err
	}
	b, err := newBench(ctx, opt, stderr)
	if err != nil {
		return err
	}
	defer b.close()
	rep := b.run(ctx, args)
	if err := ctx.Err(); err != nil {
		return err
	}
	return rep.write(ctx, opt.out, opt.charts, stdout, b.progress)
}

// bench is one run: the binaries under test, the broker, and the report being filled.
type bench struct {
	opt       options
	log       io.Writer    // progress lines
	tmp       string       // binaries and process logs; removed by close
	self      string       // this executable, which also serves the reference servers
	krest     krestBinary  // the krest under test
	before    *krestBinary // an older krest measured beside it (--krest-before, --krest-bin-before); nil for none
	seedBin   string
	seedErr   error    // why the classic design cannot run, if it cannot
	wrkBin    string   // wrk, for the wrk rows
	wrkScript string   // wrkScript, written out for wrk
	wrkErr    error    // why there are no wrk rows, if there are none
	broker    *proc    // the current `krest broker` process; nil with --brokers
	kafka     *cluster // the broker of the current row group; nil when there is none
	kafkaErr  error    // why there can be no broker, if there cannot
	runID     string   // suffix of every topic and group name of this run
	rep       *report
}

// newBench builds the binaries the selected targets need and dials --brokers when it is given. A binary
// that cannot be built skips its rows.
func newBench(ctx context.Context, opt options, log io.Writer) (*bench, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "krest-bench-")
	if err != nil {
		return nil, err
	}
	b := &bench{opt: opt, log: log, tmp: tmp, self: self, runID: strconv.FormatInt(time.Now().UnixMilli()%1e8, 36)}
	b.buildKrest(ctx)
	b.buildBefore(ctx)
	b.buildSeed(ctx)
	b.findWrk()
	if err := b.connect(ctx); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// run measures every selected row group and evaluates the target checks.
func (b *bench) run(ctx context.Context, args []string) *report {
	b.rep = newReport(b.opt, args)
	b.rep.Settings.Krest = b.krest.from
	if b.before != nil {
		b.rep.Settings.KrestBefore = b.before.from
	}
	var targets []target
	for _, t := range produceTargets {
		if b.opt.runs(cmp.Or(t.group, t.name)) || t.name == "krest-before" && b.before != nil && b.opt.runs("krest") {
			targets = append(targets, t)
		}
	}
	if len(targets) > 0 {
		b.runProduce(ctx, targets)
	}
	if b.opt.runs("consume") && ctx.Err() == nil {
		b.runConsume(ctx)
	}
	if b.opt.runs("reads") && ctx.Err() == nil {
		b.runReads(ctx)
	}
	if b.opt.runs("sse") && ctx.Err() == nil {
		b.runSSE(ctx)
	}
	if b.opt.runs("queue") && ctx.Err() == nil {
		b.runQueue(ctx)
	}
	if b.opt.runs("overload") && ctx.Err() == nil {
		b.runOverload(ctx)
	}
	if b.opt.runs("slowclients") && ctx.Err() == nil {
		b.runSlowClients(ctx)
	}
	b.rep.Seconds = time.Since(b.rep.Started).Seconds()
	levels := goalLevels{low: slices.Min(b.opt.concurrency), check: b.checkConcurrency(), high: slices.Max(b.opt.concurrency),
		batch: slices.Max(b.opt.batchSizes), before: b.before != nil}
	b.rep.Checks = b.rep.checks(levels, b.opt.overloadRSSMiB)
	return b.rep
}

// needsKrest reports whether the selected targets run the krest binary, as broker or gateway.
func (b *bench) needsKrest() bool {
	return b.opt.brokers == "" && b.opt.needsKafka() || b.opt.runs("krest") || b.opt.runs("batch") || b.opt.runs("consume") ||
		b.opt.runs("auth") || b.opt.runs("reads") || b.opt.runs("sse") || b.opt.runs("queue") || b.opt.runs("overload") ||
		b.opt.runs("slowclients")
}

// krestBinary is a krest executable the bench runs.
type krestBinary struct {
	name string // krest or krest-before: its process name and row
	bin  string
	from string // where it came from, for the report
	err  error  // why it cannot run, if it cannot
}

// buildKrest builds ./cmd/krest, unless --krest-bin names a binary.
func (b *bench) buildKrest(ctx context.Context) {
	if b.opt.krestBin != "" || !b.needsKrest() {
		b.krest = krestBinary{name: "krest", bin: b.opt.krestBin, from: b.opt.krestBin}
		return
	}
	b.krest.name = "krest"
	root, err := moduleRoot(ctx)
	if err == nil {
		b.krest.from = "built from " + describeCheckout(ctx, root)
		b.krest.bin = filepath.Join(b.tmp, "krest")
		fmt.Fprintln(b.log, "building krest")
		err = goBuild(ctx, root, b.krest.bin, "./cmd/krest")
	}
	if err != nil {
		b.krest.err = errSkip{"krest could not be built: " + firstLine([]byte(err.Error()))}
	}
}

// buildBefore prepares the older krest that --krest-bin-before names, or builds the one of the git
// revision --krest-before names, when a selected row measures it (krest, slowclients). A binary that
// cannot be built skips the rows of the older krest only.
func (b *bench) buildBefore(ctx context.Context) {
	rev := b.opt.krestBefore
	switch {
	case !b.opt.runs("krest") && !b.opt.runs("slowclients"):
		return
	case b.opt.krestBinBefore != "":
		b.before = &krestBinary{name: "krest-before", bin: b.opt.krestBinBefore, from: b.opt.krestBinBefore}
		return
	case rev == "":
		return
	}
	b.before = &krestBinary{name: "krest-before", bin: filepath.Join(b.tmp, "krest-before")}
	root, err := moduleRoot(ctx)
	if err == nil {
		fmt.Fprintln(b.log, "building krest at", rev)
		b.before.from, err = buildRevision(ctx, root, rev, filepath.Join(b.tmp, "krest-before-src"), b.before.bin)
	}
	if err != nil {
		b.before.err = errSkip{"krest at " + rev + " could not be built: " + firstLine([]byte(err.Error()))}
	}
}

// buildSeed builds the classic design from its read-only folder beside the checkout.
func (b *bench) buildSeed(ctx context.Context) {
	if !b.opt.runs("classic") {
		return
	}
	dir := b.opt.seedDir
	if dir == "" {
		root, err := moduleRoot(ctx)
		if err != nil {
			b.seedErr = errSkip{"the classic design's folder is unknown: " + err.Error()}
			return
		}
		dir = filepath.Join(root, "..", "shared", "peers", "seed-app")
	}
	if _, err := os.Stat(filepath.Join(dir, "main.go")); err != nil {
		b.seedErr = errSkip{"../shared is absent, so the classic design cannot be built (" + dir + ")"}
		return
	}
	b.seedBin = filepath.Join(b.tmp, "seed-app")
	fmt.Fprintln(b.log, "building the classic design in", dir)
	if err := goBuild(ctx, dir, b.seedBin, "."); err != nil {
		b.seedErr = errSkip{"the classic design could not be built: " + firstLine([]byte(err.Error()))}
	}
}

// connect dials --brokers. Without it there is nothing to dial yet: each row group starts its own broker
// (see freshBroker).
func (b *bench) connect(ctx context.Context) error {
	switch {
	case !b.opt.needsKafka():
		b.kafkaErr = errSkip{"no Kafka target selected"}
	case b.opt.brokers != "":
		var err error
		b.kafka, err = dialCluster(ctx, b.opt.brokers, 30*time.Second)
		return err
	case b.krest.err != nil:
		b.kafkaErr = errSkip{"no broker: " + b.krest.err.Error()}
	}
	return nil
}

// freshBroker gives the next row group a broker: with --brokers, the given cluster; otherwise a new
// in-memory `krest broker` process on a free port replaces the previous one, so that no row group pays for
// the memory and heap the ones before it left in the broker.
func (b *bench) freshBroker(ctx context.Context) error {
	if b.opt.brokers != "" || b.kafkaErr != nil {
		return b.kafkaErr
	}
	b.stopBroker()
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	logPath := filepath.Join(b.tmp, fmt.Sprintf("broker-%d.log", seqs.Add(1)))
	b.broker, err = startProc("broker", logPath, nil, b.krest.bin, "broker", "--embedded-addr", addr, "--in-memory")
	if err != nil {
		return err
	}
	b.kafka, err = dialCluster(ctx, addr, 30*time.Second)
	if err != nil {
		return fmt.Errorf("%w; broker log ends:\n%s", err, b.broker.logTail())
	}
	return nil
}

// stopBroker closes the admin client and, when the bench started the broker, stops it.
func (b *bench) stopBroker() {
	if b.kafka != nil {
		b.kafka.close()
		b.kafka = nil
	}
	if b.broker != nil {
		b.broker.stop()
		b.broker = nil
	}
}

// brokerPID returns the broker's pid, or 0 when the broker is not a child of the bench.
func (b *bench) brokerPID() int {
	if b.broker == nil {
		return 0
	}
	return b.broker.pid()
}

// topicName returns a fresh topic or group name for what.
func (b *bench) topicName(what string) string { return "bench-" + what + "-" + b.runID }

// close stops the broker and removes the temporary files.
func (b *bench) close() {
	b.stopBroker()
	os.RemoveAll(b.tmp)
}

// skip records that a row group did not run: skipped when err is an errSkip, failed otherwise.
func (b *bench) skip(name, title string, err error) {
	s := skipped{Target: name, Title: title, Reason: skipReason(err)}
	if s.Reason == "" {
		s.Error = err.Error()
	}
	b.rep.Skipped = append(b.rep.Skipped, s)
	b.progress("%s: %v", name, err)
}

// freshTopic starts a fresh broker (freshBroker) and makes a topic of
// partitions named after name on it; drop deletes it.
func (b *bench) freshTopic(ctx context.Context, name string, partitions int) (topic string, drop func(), err error) {
	if err := b.freshBroker(ctx); err != nil {
		return "", nil, err
	}
	topic = b.topicName(name)
	if _, err := b.kafka.createTopic(ctx, topic, partitions); err != nil {
		return "", nil, err
	}
	return topic, func() { b.kafka.deleteTopic(context.WithoutCancel(ctx), topic) }, nil
}

// skipReason returns the reason of an errSkip, or "" when err is a failure.
func skipReason(err error) string {
	var skip errSkip
	if errors.As(err, &skip) {
		return skip.reason
	}
	return ""
}

// progress prints one line of progress.
func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(b.log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
