// Package metrics holds the Prometheus metrics baton exports at /metrics.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the counters the engine keeps. Each [New] has its own registry,
// so several engines in one process (tests) do not collide.
type Metrics struct {
	reg *prometheus.Registry

	RunsStarted     *prometheus.CounterVec // by pipeline
	RunsFinished    *prometheus.CounterVec // by pipeline, status
	RunsActive      prometheus.Gauge
	Attempts        *prometheus.CounterVec // by status an attempt ended with
	AttemptSeconds  prometheus.Histogram
	CleanupFailures prometheus.Counter
	Callbacks       *prometheus.CounterVec // by HTTP status code
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
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_attempts_total", Help: "Step attempts that ended, by status.",
		}, []string{"status"}),
		AttemptSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "baton_attempt_duration_seconds", Help: "How long step attempts ran.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10),
		}),
		CleanupFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "baton_cleanup_failures_total", Help: "Container removals that failed (each is retried and shown on the step).",
		}),
		Callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_callbacks_total", Help: "Output callbacks from steps, by response code.",
		}, []string{"code"}),
	}
	m.reg.MustRegister(m.RunsStarted, m.RunsFinished, m.RunsActive, m.Attempts, m.AttemptSeconds,
		m.CleanupFailures, m.Callbacks,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
