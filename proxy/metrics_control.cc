// The control plane's /metrics families: per-backend load and forecast,
// migrations (results, phases, bytes, switch pauses, mismatches, backlog) and
// the balancer. Names are listed in metrics.cc's header.
#include <limits>

#include "proxy/metrics_families.h"

namespace proxy {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

namespace {

ClientMetric histogram(const SecondsHistogram& h, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    double bound = i < h.bounds.size() ? h.bounds[i] : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back({cumulative, bound});
  }
  m.histogram.sample_count = h.count;
  m.histogram.sample_sum = h.sum;
  return m;
}

void append_forecast(const ControlPlane& control, std::vector<MetricFamily>& out) {
  auto load = family("foreshard_backend_load_ops", "Observed load over the last telemetry step.",
                     MetricType::Gauge);
  auto pred = family("foreshard_backend_predicted_load_ops",
                     "Highest forecast load over the prediction horizon.", MetricType::Gauge);
  auto upper = family("foreshard_backend_predicted_load_upper_ops",
                      "Upper end of the forecast interval at that point.", MetricType::Gauge);
  auto ferr = family("foreshard_forecast_error", "Rolling sMAPE of each backend's forecasts.",
                     MetricType::Gauge);
  for (const BackendForecastGauge& g : control.backend_gauges()) {
    std::vector<ClientMetric::Label> lbl = {{"backend", g.backend}};
    load.metric.push_back(value(MetricType::Gauge, g.observed_ops, lbl));
    pred.metric.push_back(value(MetricType::Gauge, g.predicted_ops, lbl));
    upper.metric.push_back(value(MetricType::Gauge, g.predicted_upper, lbl));
    ferr.metric.push_back(value(MetricType::Gauge, g.forecast_error, lbl));
  }
  out.insert(out.end(), {load, pred, upper, ferr});
}

void append_migrations(const MigrationGauges& g, std::vector<MetricFamily>& out) {
  auto total = family("foreshard_migrations_total", "Segment moves finished, by result.",
                      MetricType::Counter);
  total.metric.push_back(value(MetricType::Counter, double(g.done), {{"result", "done"}}));
  total.metric.push_back(value(MetricType::Counter, double(g.aborted), {{"result", "aborted"}}));
  auto flight = family("foreshard_migrations_in_flight", "Segment moves running, by phase.",
                       MetricType::Gauge);
  auto phases = family("foreshard_migration_phase_duration_seconds",
                       "Time finished moves spent in each phase.", MetricType::Histogram);
  for (const auto& [phase, h] : g.phase_durations) {
    flight.metric.push_back(
        value(MetricType::Gauge, g.running_phase == phase ? 1 : 0, {{"phase", phase}}));
    phases.metric.push_back(histogram(h, {{"phase", phase}}));
  }
  auto keys = family("foreshard_migration_keys_copied_total", "Keys copied to destinations.",
                     MetricType::Counter);
  keys.metric.push_back(value(MetricType::Counter, double(g.keys_copied)));
  auto bytes = family("foreshard_migration_bytes_copied_total",
                      "DUMP payload bytes copied to destinations.", MetricType::Counter);
  bytes.metric.push_back(value(MetricType::Counter, double(g.bytes_copied)));
  auto pause = family("foreshard_migration_switch_pause_seconds",
                      "How long each completed move held writes to its segment.",
                      MetricType::Histogram);
  pause.metric.push_back(histogram(g.switch_pause));
  auto mism = family("foreshard_migration_validation_mismatches_total",
                     "Keys whose destination copy differed from the source at validation.",
                     MetricType::Counter);
  mism.metric.push_back(value(MetricType::Counter, double(g.mismatches)));
  auto killed = family("foreshard_migration_connections_killed_total",
                       "Source connections killed (CLIENT KILL ID) because a write's reply was "
                       "lost on them during a move.",
                       MetricType::Counter);
  killed.metric.push_back(value(MetricType::Counter, double(g.connections_killed)));
  auto dreads = family("foreshard_migration_destination_reads_total",
                       "Reads of copied, unwritten keys answered by a move's destination.",
                       MetricType::Counter);
  dreads.metric.push_back(value(MetricType::Counter, double(g.destination_reads)));
  auto dirty = family("foreshard_migration_dirty_keys",
                      "Keys written since copied, still to re-copy, in the running move.",
                      MetricType::Gauge);
  dirty.metric.push_back(value(MetricType::Gauge, double(g.dirty_keys)));
  out.insert(out.end(), {total, flight, phases, keys, bytes, pause, mism, killed, dreads, dirty});
  if (g.balancer_enabled >= 0) {
    auto on = family("foreshard_balancer_enabled", "1 when the balancer acts on its plans.",
                     MetricType::Gauge);
    on.metric.push_back(value(MetricType::Gauge, g.balancer_enabled));
    auto dec = family("foreshard_balancer_decisions_total", "Actions the balancer started.",
                      MetricType::Counter);
    for (const auto& [action, n] : g.balancer_decisions) {
      dec.metric.push_back(value(MetricType::Counter, double(n), {{"action", action}}));
    }
    out.insert(out.end(), {on, dec});
  }
}

}  // namespace

void append_control_families(const ControlPlane& control, std::vector<MetricFamily>& out) {
  append_forecast(control, out);
  append_migrations(control.migration_gauges(), out);
}

}  // namespace proxy
