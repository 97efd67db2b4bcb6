// Package metrics holds krest's Prometheus metrics and serves them.
//
// Metric names:
//
//	krest_http_request_duration_seconds{route,method,code} requests answered and their latency
//	krest_produced_records_total                           records acknowledged by Kafka
//	krest_produce_errors_total{class}                      records that failed to produce
//	krest_consumed_records_total                           records the consumer processed
//	krest_dead_lettered_records_total                      records sent to the dead-letter topic
//	krest_consumer_commit_errors_total                     failed offset commits
//	krest_dead_letter_failures_total{policy}               records the dead-letter topic did not take, by what became of them (pause, skip)
//	krest_consumer_paused_partitions                       partitions the consumer stopped fetching for such a record
//	krest_principal_requests_total{principal,outcome}      requests of each principal (a bounded label: the first principals seen keep their name, later ones are "other"), served or refused (unauthenticated, denied, rate_limited)
//	krest_identity_clients                                 Kafka clients open for callers' own logins (KREST_KAFKA_IDENTITY)
//	krest_identity_clients_created_total                   such clients created
//	krest_identity_clients_evicted_total{reason}           such clients closed, by why (size, idle, expiry, refused, shutdown)
//	krest_identity_logins_refused_total                    callers' logins the brokers refused
//	krest_queue_leased_records_total                       records of share groups leased to callers
//	krest_queue_acks_total{action,status}                  acknowledgements of leases (accept, release, reject, renew; ok, lease_lost, invalid)
//	krest_queue_expired_leases_total                       leases that expired unacknowledged
//	krest_queue_dead_lettered_records_total{reason}        records of share groups dead-lettered (rejected, max_deliveries)
//	krest_queue_dead_letter_failures_total                 such records their dead-letter topic did not take, released instead
//	krest_queue_members                                    share-group members open on this node
//	kafka_*                                                the Kafka clients' own metrics (kprom)
//
// Labels are bounded: route is the route pattern, never a raw path or a
// topic taken from a request.
package metrics

import (
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/twmb/franz-go/plugin/kprom"
)

// Metrics is krest's metric registry.
type Metrics struct {
	reg           *prometheus.Registry
	duration      *prometheus.HistogramVec
	observers     sync.Map // requestLabels → prometheus.Observer
	produced      prometheus.Counter
	produceErrors *prometheus.CounterVec
	consumed      prometheus.Counter
	deadLettered  prometheus.Counter
	commitErrors  prometheus.Counter
	dlqFailures   *prometheus.CounterVec
	paused        prometheus.Gauge
	// principalRequests counts requests by a bounded principal label.
	principalRequests *prometheus.CounterVec
	identity          identityMetrics
	queue             queueMetrics
}

// New returns a registry holding krest's metrics and the Go and process
// collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "krest_http_request_duration_seconds", Help: "HTTP requests answered and their latency, by route pattern, method and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method", "code"}),
		produced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "krest_produced_records_total", Help: "Records acknowledged by Kafka.",
		}),
		produceErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "krest_produce_errors_total", Help: "Records that failed to produce, by error class.",
		}, []string{"class"}),
		consumed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "krest_consumed_records_total", Help: "Records the consumer group processed.",
		}),
		deadLettered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "krest_dead_lettered_records_total", Help: "Records written to the dead-letter topic.",
		}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "krest_consumer_commit_errors_total", Help: "Offset commits that failed.",
		}),
	}
	m.reg.MustRegister(m.duration, m.produced, m.produceErrors, m.consumed, m.deadLettered, m.commitErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.dlqFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "krest_dead_letter_failures_total", Help: "Records the dead-letter topic did not take, by the policy applied to them (pause, skip).",
	}, []string{"policy"})
	m.paused = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "krest_consumer_paused_partitions", Help: "Partitions the consumer stopped fetching because a record could be neither processed nor dead-lettered.",
	})
	m.principalRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "krest_principal_requests_total", Help: "Requests of each principal (a bounded label), by outcome: served, unauthenticated, denied or rate_limited.",
	}, []string{"principal", "outcome"})
	m.reg.MustRegister(m.dlqFailures, m.paused, m.principalRequests)
	m.identity = newIdentityMetrics(m.reg)
	m.queue = newQueueMetrics(m.reg)
	return m
}

// KafkaHooks returns kprom hooks that export a Kafka client's metrics under
// the given client label ("producer", "consumer", …). Produce and fetch
// metrics are labelled by broker, not by topic, since topics can come from
// requests.
func (m *Metrics) KafkaHooks(client string) *kprom.Metrics {
	return kprom.NewMetrics("kafka",
		kprom.Registerer(m.reg), kprom.Gatherer(m.reg),
		kprom.WithStaticLabel(prometheus.Labels{"client": client}),
		kprom.FetchAndProduceDetail(kprom.ByNode, kprom.Records, kprom.UncompressedBytes))
}

// Handler serves the metrics in Prometheus' text format over net/http (the
// management listener).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ContentType is the content type WriteText writes.
func (m *Metrics) ContentType() string { return string(textFormat) }

// textFormat is Prometheus' text exposition format.
var textFormat = expfmt.NewFormat(expfmt.TypeTextPlain)

// WriteText writes every metric to w in Prometheus' text format.
func (m *Metrics) WriteText(w io.Writer) error {
	families, err := m.reg.Gather()
	enc := expfmt.NewEncoder(w, textFormat)
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	return err
}

type requestLabels struct {
	route, method string
	code          int
}

// ObserveRequest records one answered HTTP request. Each label combination
// is resolved once; route and method come from the route table, so their
// number is bounded.
func (m *Metrics) ObserveRequest(route, method string, code int, d time.Duration) {
	key := requestLabels{route, method, code}
	o, ok := m.observers.Load(key)
	if !ok {
		o, _ = m.observers.LoadOrStore(key, m.duration.WithLabelValues(route, method, strconv.Itoa(code)))
	}
	o.(prometheus.Observer).Observe(d.Seconds())
}

// PrincipalRequest counts one request of a principal, by a bounded label
// for it (auth.Labeler's) and its outcome: served, unauthenticated, denied
// or rate_limited.
func (m *Metrics) PrincipalRequest(principal, outcome string) {
	m.principalRequests.WithLabelValues(principal, outcome).Inc()
}

// Produced counts n records acknowledged by Kafka.
func (m *Metrics) Produced(n int) { m.produced.Add(float64(n)) }

// ProduceFailed counts one record that failed to produce.
func (m *Metrics) ProduceFailed(class string) { m.produceErrors.WithLabelValues(class).Inc() }

// Consumed counts one record the consumer processed.
func (m *Metrics) Consumed() { m.consumed.Inc() }

// DeadLettered counts one record written to the dead-letter topic.
func (m *Metrics) DeadLettered() { m.deadLettered.Inc() }

// CommitFailed counts one failed offset commit.
func (m *Metrics) CommitFailed() { m.commitErrors.Inc() }

// DeadLetterFailed counts one record the dead-letter topic did not take;
// policy ("pause" or "skip") is what became of it.
func (m *Metrics) DeadLetterFailed(policy string) { m.dlqFailures.WithLabelValues(policy).Inc() }

// PausedPartitions sets the number of partitions the consumer has paused.
func (m *Metrics) PausedPartitions(n int) { m.paused.Set(float64(n)) }
