// Package metrics holds the Prometheus metrics baton exports at /metrics.
package metrics

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the counters the engine keeps. Each [New] has its own registry,
// so several engines in one process (tests) do not collide.
type Metrics struct {
	reg *prometheus.Registry

	RunsStarted  *prometheus.CounterVec // by pipeline
	RunsFinished *prometheus.CounterVec // by pipeline, status
	RunsActive   prometheus.Gauge
	// RunsQueued are runs waiting for a place in their pipeline's
	// concurrency limit.
	RunsQueued prometheus.Gauge
	// StepsWaiting are steps ready to start that wait for one of the
	// server's parallel slots (--max-parallel).
	StepsWaiting prometheus.Gauge
	// ApprovalsWaiting are steps of the runs this server drives that wait
	// for somebody to approve or reject them, by pipeline.
	ApprovalsWaiting *prometheus.GaugeVec
	// RunsFailedAfterRetries are runs that failed with a step that was
	// retried and failed still, by pipeline.
	RunsFailedAfterRetries *prometheus.CounterVec
	Attempts               *prometheus.CounterVec   // by pipeline, status an attempt ended with
	AttemptSeconds         *prometheus.HistogramVec // by pipeline, status
	// CleanupFailures are removals of what an attempt created that failed,
	// by executor.
	CleanupFailures *prometheus.CounterVec
	// StoreWriteFailures are writes the store could not make (a full disk,
	// an I/O error), each retried, by operation.
	StoreWriteFailures *prometheus.CounterVec
	// LogBytesDropped is output not stored because an attempt's log
	// reached its cap.
	LogBytesDropped prometheus.Counter
	Callbacks       *prometheus.CounterVec // by HTTP status code
	// QueueMessages are messages a queue trigger received, by pipeline,
	// queue and outcome: started, duplicate (its run existed), refused
	// (cannot start a run; left for another try), poisoned (moved to the
	// poison queue) or failed (kept for a retry: the store or the queue
	// failed).
	QueueMessages *prometheus.CounterVec
	// Notifications are tries to deliver a run's notification, by
	// pipeline and outcome: delivered, failed (tried again later) or
	// gave_up.
	Notifications *prometheus.CounterVec
}

// New returns a fresh set of metrics, with Go runtime and process metrics.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		RunsStarted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_runs_started_total", Help: "Runs accepted, by pipeline.",
		}, []string{"pipeline"}),
		RunsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_runs_finished_total", Help: "Runs that ended, by pipeline and status.",
		}, []string{"pipeline", "status"}),
		RunsActive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "baton_runs_active", Help: "Runs this server drives now.",
		}),
		RunsQueued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "baton_runs_queued", Help: "Runs waiting for a place in their pipeline's concurrency limit.",
		}),
		StepsWaiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "baton_steps_waiting", Help: "Steps ready to start that wait for a parallel slot (--max-parallel).",
		}),
		ApprovalsWaiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "baton_approvals_waiting", Help: "Steps of the runs this server drives that wait for an approval or a rejection, by pipeline.",
		}, []string{"pipeline"}),
		RunsFailedAfterRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_runs_failed_after_retries_total",
			Help: "Runs that failed with a step that was retried and still failed, by pipeline.",
		}, []string{"pipeline"}),
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_attempts_total", Help: "Step attempts that ended, by pipeline and status.",
		}, []string{"pipeline", "status"}),
		AttemptSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "baton_attempt_duration_seconds", Help: "How long step attempts ran, by pipeline and status.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10),
		}, []string{"pipeline", "status"}),
		CleanupFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_cleanup_failures_total",
			Help: "Removals of what an attempt created that failed, by executor (each is retried and shown on the attempt).",
		}, []string{"executor"}),
		StoreWriteFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_store_write_failures_total",
			Help: "Store writes that failed (full disk, I/O error) and were retried, by operation.",
		}, []string{"op"}),
		LogBytesDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "baton_log_bytes_dropped_total", Help: "Bytes of step output not stored because an attempt's log reached its cap.",
		}),
		Callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_callbacks_total", Help: "Output callbacks from steps, by response code.",
		}, []string{"code"}),
		QueueMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_queue_messages_total",
			Help: "Messages queue triggers received, by pipeline, queue and outcome (started, duplicate, refused, poisoned, failed).",
		}, []string{"pipeline", "queue", "outcome"}),
		Notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_notifications_total",
			Help: "Tries to deliver run notifications, by pipeline and outcome (delivered, failed, gave_up).",
		}, []string{"pipeline", "outcome"}),
	}
	m.reg.MustRegister(m.RunsStarted, m.RunsFinished, m.RunsActive, m.RunsQueued, m.StepsWaiting, m.ApprovalsWaiting,
		m.RunsFailedAfterRetries, m.Attempts, m.AttemptSeconds, m.CleanupFailures, m.StoreWriteFailures,
		m.LogBytesDropped, m.Callbacks, m.QueueMessages, m.Notifications,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// QueueCount is how many messages one queue trigger took with one outcome.
type QueueCount struct {
	Pipeline, Queue, Outcome string
	Messages                 int
}

// QueueCounts reads [Metrics.QueueMessages] back: what this server's queue
// triggers did with the messages they took since it started.
func (m *Metrics) QueueCounts() ([]QueueCount, error) {
	families, err := m.reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("metrics: gather: %w", err)
	}
	var out []QueueCount
	for _, f := range families {
		if f.GetName() != "baton_queue_messages_total" {
			continue
		}
		for _, mt := range f.GetMetric() {
			c := QueueCount{Messages: int(mt.GetCounter().GetValue())}
			for _, l := range mt.GetLabel() {
				switch l.GetName() {
				case "pipeline":
					c.Pipeline = l.GetValue()
				case "queue":
					c.Queue = l.GetValue()
				case "outcome":
					c.Outcome = l.GetValue()
				}
			}
			out = append(out, c)
		}
	}
	return out, nil
}
