package metrics

import "github.com/prometheus/client_golang/prometheus"

// queueMetrics count the work queues on share groups. Labels come from
// fixed sets: an acknowledgement's action and status, a dead letter's
// reason.
type queueMetrics struct {
	leased       prometheus.Counter
	acks         *prometheus.CounterVec
	expired      prometheus.Counter
	deadLettered *prometheus.CounterVec
	dlqFailures  prometheus.Counter
	members      prometheus.Gauge
}

func newQueueMetrics(reg *prometheus.Registry) queueMetrics {
	m := queueMetrics{
		leased: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "krest_queue_leased_records_total", Help: "Records of share groups leased to callers.",
		}),
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "krest_queue_acks_total", Help: "Acknowledgements of leases, by action (accept, release, reject, renew) and status (ok, lease_lost, invalid).",
		}, []string{"action", "status"}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "krest_queue_expired_leases_total", Help: "Leases that expired unacknowledged, their records released or dead-lettered.",
		}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "krest_queue_dead_lettered_records_total", Help: "Records of share groups written to their dead-letter topic, by reason (rejected, max_deliveries).",
		}, []string{"reason"}),
		dlqFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "krest_queue_dead_letter_failures_total", Help: "Records of share groups their dead-letter topic did not take, released instead.",
		}),
		members: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "krest_queue_members", Help: "Share-group members open on this node.",
		}),
	}
	reg.MustRegister(m.leased, m.acks, m.expired, m.deadLettered, m.dlqFailures, m.members)
	return m
}

// QueueLeased counts n records leased.
func (m *Metrics) QueueLeased(n int) { m.queue.leased.Add(float64(n)) }

// QueueAcked counts one acknowledgement by its action and status.
func (m *Metrics) QueueAcked(action, status string) {
	m.queue.acks.WithLabelValues(action, status).Inc()
}

// QueueLeaseExpired counts one lease expired unacknowledged.
func (m *Metrics) QueueLeaseExpired() { m.queue.expired.Inc() }

// QueueDeadLettered counts one record dead-lettered, by reason.
func (m *Metrics) QueueDeadLettered(reason string) {
	m.queue.deadLettered.WithLabelValues(reason).Inc()
}

// QueueDeadLetterFailed counts one dead letter not written.
func (m *Metrics) QueueDeadLetterFailed() { m.queue.dlqFailures.Inc() }

// QueueMembers sets the share-group members open now.
func (m *Metrics) QueueMembers(n int) { m.queue.members.Set(float64(n)) }
