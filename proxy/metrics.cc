// Metrics implementation. The list below is every foreshard_* metric:
//   foreshard_requests_total{backend,class}              counter
//   foreshard_request_errors_total{backend,class}        counter (error replies + proxy-side
//   failures) foreshard_backend_request_duration_seconds{backend}  histogram (send to reply, per
//   backend) foreshard_client_connections                         gauge
//   foreshard_client_connections_total                   counter (accepted)
//   foreshard_client_rejected_total{reason}              counter (maxclients, output_limit,
//   query_limit, protocol, idle) foreshard_backend_up{backend}                        gauge (1 when
//   every worker's link is connected) foreshard_backend_reconnects_total{backend}          counter
//   foreshard_backend_capacity_ops{backend}              gauge (configured)
//   foreshard_segments{backend}                          gauge (segments owned)
//   foreshard_segment_map_epoch                          gauge
//   foreshard_net_input_bytes_total / _output_bytes_total counter
//   foreshard_backend_load_ops{backend}                  gauge (control plane: observed load)
//   foreshard_backend_predicted_load_ops{backend}        gauge (max forecast over the horizon)
//   foreshard_backend_predicted_load_upper_ops{backend}  gauge (its interval's upper end)
//   foreshard_forecast_error{backend}                    gauge (rolling sMAPE)
//   foreshard_migrations_total{result}                   counter (done, aborted)
//   foreshard_migrations_in_flight{phase}                gauge (preflight, copying, catching_up,
//   switching, cleanup) foreshard_migration_phase_duration_seconds{phase}    histogram (of finished
//   moves) foreshard_migration_keys_copied_total                counter
//   foreshard_migration_bytes_copied_total               counter (DUMP payload bytes)
//   foreshard_migration_switch_pause_seconds             histogram (write hold of each completed
//   move) foreshard_migration_validation_mismatches_total      counter
//   foreshard_migration_dirty_keys                       gauge (backlog of the running move)
//   foreshard_migration_connections_killed_total         counter (CLIENT KILL ID for lost write
//   replies) foreshard_migration_destination_reads_total          counter (reads answered by a
//   destination) foreshard_migration_blocked_calls_reissued_total     counter (blocking calls moved
//   at a switch) foreshard_balancer_enabled                           gauge (when the build has a
//   balancer) foreshard_balancer_decisions_total{action}           counter (move, split, merge)
// The control plane's families are built in metrics_control.cc.
// "backend" is "proxy" for commands the proxy answers itself.
#include "proxy/metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>

#include "proxy/commands.h"
#include "proxy/metrics_families.h"
#include "proxy/control_plane.h"
#include "proxy/log.h"
#include "proxy/worker.h"

namespace proxy {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

class WorkerCollectable : public prometheus::Collectable {
 public:
  explicit WorkerCollectable(ProxyContext& ctx) : ctx_(ctx) {}
  std::vector<MetricFamily> Collect() const override;

 private:
  ProxyContext& ctx_;
};


std::vector<MetricFamily> WorkerCollectable::Collect() const {
  const Config& cfg = *ctx_.config;
  const size_t nb = ctx_.ready_backends();
  const size_t proxy_index = ctx_.backend_capacity;
  auto backend_label = [&](size_t b) { return b < nb ? cfg.backends[b].name : std::string("proxy"); };
  std::vector<size_t> indices(nb);
  for (size_t b = 0; b < nb; ++b) {
    indices[b] = b;
  }
  indices.push_back(proxy_index);
  auto req = family("foreshard_requests_total", "Commands by backend and command class.",
                    MetricType::Counter);
  auto err = family("foreshard_request_errors_total",
                    "Error replies and proxy-side failures by backend and class.", MetricType::Counter);
  for (size_t b : indices) {
    for (size_t k = 0; k < kClassCount; ++k) {
      uint64_t r = 0, e = 0;
      for (Worker* w : ctx_.workers) {
        r += w->counters().requests_at(b, k);
        e += w->counters().errors_at(b, k);
      }
      if (r == 0 && e == 0) {
        continue;
      }
      std::vector<ClientMetric::Label> l = {{"backend", backend_label(b)},
                                            {"class", class_name(static_cast<CommandClass>(k))}};
      req.metric.push_back(value(MetricType::Counter, double(r), l));
      err.metric.push_back(value(MetricType::Counter, double(e), l));
    }
  }
  auto lat = family("foreshard_backend_request_duration_seconds",
                    "Time from sending a request to a backend to its reply.", MetricType::Histogram);
  auto up = family("foreshard_backend_up", "1 when every worker is connected to the backend.",
                   MetricType::Gauge);
  auto rec = family("foreshard_backend_reconnects_total", "Backend connections lost.",
                    MetricType::Counter);
  auto cap = family("foreshard_backend_capacity_ops", "Configured capacity (ops/s).",
                    MetricType::Gauge);
  auto segs = family("foreshard_segments", "Segments owned by each backend.", MetricType::Gauge);
  auto map = ctx_.current_map();
  for (size_t b = 0; b < nb; ++b) {
    std::vector<ClientMetric::Label> lbl = {{"backend", backend_label(b)}};
    ClientMetric h;
    h.label = lbl;
    std::vector<uint64_t> counts(kLatencyBucketsUs.size() + 1, 0);
    uint64_t sum_us = 0, n = 0, ups = 0, reconnects = 0;
    for (Worker* w : ctx_.workers) {
      const LatencyHistogram& lh = w->counters().latency_at(b);
      for (size_t i = 0; i < counts.size(); ++i) {
        counts[i] += read(lh.buckets[i]);
      }
      sum_us += read(lh.sum_us);
      n += read(lh.count);
      ups += w->link_at(b).up.load(std::memory_order_relaxed);
      reconnects += w->link_at(b).reconnects.load(std::memory_order_relaxed);
    }
    uint64_t cumulative = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      cumulative += counts[i];
      double bound = i < kLatencyBucketsUs.size() ? kLatencyBucketsUs[i] / 1e6
                                                  : std::numeric_limits<double>::infinity();
      h.histogram.bucket.push_back({cumulative, bound});
    }
    h.histogram.sample_count = n;
    h.histogram.sample_sum = sum_us / 1e6;
    lat.metric.push_back(std::move(h));
    up.metric.push_back(value(MetricType::Gauge, ups == ctx_.workers.size() ? 1 : 0, lbl));
    rec.metric.push_back(value(MetricType::Counter, double(reconnects), lbl));
    cap.metric.push_back(value(MetricType::Gauge, cfg.backends[b].capacity, lbl));
    segs.metric.push_back(
        value(MetricType::Gauge, double(map->segments_owned_by(uint16_t(b)).size()), lbl));
  }
  uint64_t accepted = 0, rej_max = 0, rej_out = 0, rej_query = 0, proto = 0, in = 0, out = 0,
           idle = 0, reissued = 0;
  for (Worker* w : ctx_.workers) {
    const WorkerCounters& c = w->counters();
    accepted += read(c.connections_accepted);
    rej_max += read(c.connections_rejected);
    rej_out += read(c.clients_closed_output_limit);
    rej_query += read(c.clients_closed_query_limit);
    proto += read(c.protocol_errors);
    idle += read(c.clients_closed_idle);
    reissued += read(c.blocked_reissued);
    in += read(c.bytes_in);
    out += read(c.bytes_out);
  }
  auto conns = family("foreshard_client_connections", "Open client connections.", MetricType::Gauge);
  conns.metric.push_back(value(MetricType::Gauge, double(ctx_.connected_clients.load())));
  auto total = family("foreshard_client_connections_total", "Client connections accepted.",
                      MetricType::Counter);
  total.metric.push_back(value(MetricType::Counter, double(accepted)));
  auto rejected = family("foreshard_client_rejected_total",
                         "Clients refused or closed by a limit, by reason.", MetricType::Counter);
  rejected.metric.push_back(value(MetricType::Counter, double(rej_max), {{"reason", "maxclients"}}));
  rejected.metric.push_back(value(MetricType::Counter, double(rej_out), {{"reason", "output_limit"}}));
  rejected.metric.push_back(value(MetricType::Counter, double(rej_query), {{"reason", "query_limit"}}));
  rejected.metric.push_back(value(MetricType::Counter, double(proto), {{"reason", "protocol"}}));
  rejected.metric.push_back(value(MetricType::Counter, double(idle), {{"reason", "idle"}}));
  auto epoch = family("foreshard_segment_map_epoch", "Epoch of the segment map in use.",
                      MetricType::Gauge);
  epoch.metric.push_back(value(MetricType::Gauge, double(map->epoch())));
  auto bin = family("foreshard_net_input_bytes_total", "Bytes read from clients.", MetricType::Counter);
  bin.metric.push_back(value(MetricType::Counter, double(in)));
  auto bout = family("foreshard_net_output_bytes_total", "Bytes written to clients.",
                     MetricType::Counter);
  bout.metric.push_back(value(MetricType::Counter, double(out)));
  auto moved = family("foreshard_migration_blocked_calls_reissued_total",
                      "Blocking calls unblocked on the source at a switch and re-issued on the "
                      "new owner.",
                      MetricType::Counter);
  moved.metric.push_back(value(MetricType::Counter, double(reissued)));
  std::vector<MetricFamily> all = {req,   err,   lat,      up,    rec, cap,  segs,
                                   conns, total, rejected, epoch, bin, bout, moved};
  if (ctx_.control != nullptr) {
    append_control_families(*ctx_.control, all);
  }
  return all;
}

MetricsServer::MetricsServer(ProxyContext& ctx) : ctx_(ctx) {}
MetricsServer::~MetricsServer() = default;

Status MetricsServer::start() {
  const HostPort& hp = ctx_.config->metrics;
  if (hp.port == 0) {
    return Status::ok();
  }
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(hp.to_string(), 2);
  } catch (const std::exception& e) {
    return Status(Code::IoError, "metrics: cannot listen on " + hp.to_string() + ": " + e.what());
  }
  collectable_ = std::make_shared<WorkerCollectable>(ctx_);
  exposer_->RegisterCollectable(collectable_);
  return Status::ok();
}

}  // namespace proxy
