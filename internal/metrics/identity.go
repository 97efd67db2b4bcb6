package metrics

import "github.com/prometheus/client_golang/prometheus"

// identityMetrics count the Kafka clients krest keeps for its callers'
// own logins (KREST_KAFKA_IDENTITY passthrough or mapped). No label names
// a principal: reason is one of the pool's few eviction reasons.
type identityMetrics struct {
	open    prometheus.Gauge
	created prometheus.Counter
	evicted *prometheus.CounterVec
	refused prometheus.Counter
}

func newIdentityMetrics(reg *prometheus.Registry) identityMetrics {
	m := identityMetrics{
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "krest_identity_clients", Help: "Kafka clients open for callers' own logins, those closing included.",
		}),
		created: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "krest_identity_clients_created_total", Help: "Kafka clients created for callers' own logins.",
		}),
		evicted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "krest_identity_clients_evicted_total", Help: "Kafka clients of callers' logins closed, by why: size, idle, expiry, refused, shutdown.",
		}, []string{"reason"}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "krest_identity_logins_refused_total", Help: "Callers' logins the brokers refused, once per client.",
		}),
	}
	reg.MustRegister(m.open, m.created, m.evicted, m.refused)
	return m
}

// IdentityClientCreated counts a client created for a caller's login.
func (m *Metrics) IdentityClientCreated() {
	m.identity.created.Inc()
	m.identity.open.Inc()
}

// IdentityClientEvicted counts a caller's client taken out of use;
// reason is one of a fixed set of words.
func (m *Metrics) IdentityClientEvicted(reason string) {
	m.identity.evicted.WithLabelValues(reason).Inc()
}

// IdentityClientClosed counts a caller's client closed.
func (m *Metrics) IdentityClientClosed() { m.identity.open.Dec() }

// IdentityLoginRefused counts a caller's login the brokers refused.
func (m *Metrics) IdentityLoginRefused() { m.identity.refused.Inc() }
