// Config hot reload: the diff rules and the apply step (see config_reload.h).
#include "proxy/config_reload.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <sstream>

#include "proxy/context.h"
#include "proxy/log.h"
#include "proxy/worker.h"

namespace proxy {

size_t backend_capacity_for(size_t configured) {
  return std::min<size_t>(65535, std::max<size_t>(64, configured * 2));
}

namespace {

std::string show(const std::string& s) { return "'" + s + "'"; }
std::string show(bool b) { return b ? "true" : "false"; }
std::string show(const HostPort& h) { return h.to_string(); }
template <class T>
std::string show(const T& v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

bool operator==(const HostPort& a, const HostPort& b) { return a.host == b.host && a.port == b.port; }

class Differ {
 public:
  explicit Differ(ConfigDiff& d) : d_(d) {}
  // Applied at run time.
  template <class T>
  void live(const std::string& key, const T& a, const T& b, const char* note = "") {
    if (!(a == b)) {
      d_.changes.push_back(key + " " + show(a) + " -> " + show(b) + note);
    }
  }
  // Secrets: say that it changed, not to what.
  void secret(const std::string& key, const std::string& a, const std::string& b) {
    if (a != b) {
      d_.changes.push_back(key + " changed (applies to the next AUTH)");
    }
  }
  // Fixed while running.
  template <class T>
  void fixed(const std::string& key, const T& a, const T& b, const char* why) {
    if (!(a == b)) {
      d_.refused.push_back(key + " " + show(a) + " -> " + show(b) + ": " + why);
    }
  }

 private:
  ConfigDiff& d_;
};

constexpr const char* kRestart = "cannot change while running (restart foreshard)";

void diff_backends(const Config& a, const Config& b, size_t capacity, Differ& d, ConfigDiff& out) {
  const size_t n = std::min(a.backends.size(), b.backends.size());
  for (size_t i = 0; i < n; ++i) {
    const BackendConfig& x = a.backends[i];
    const BackendConfig& y = b.backends[i];
    const std::string k = "backends[" + std::to_string(i) + "]";
    if (x.name != y.name) {
      out.refused.push_back(k + " is " + show(x.name) + " in the running config and " +
                            show(y.name) + " in the file: backends keep their names and order; " +
                            "append new ones at the end");
      continue;
    }
    const char* link = "a backend's connection settings are fixed while running (add a new backend, "
                       "DRAIN this one, and restart)";
    d.fixed(k + ".address", x.address, y.address, link);
    d.fixed(k + ".username", x.username, y.username, link);
    if (x.password != y.password) {
      out.refused.push_back(k + ".password changed: " + link);
    }
    d.live(k + ".capacity", x.capacity, y.capacity);
    d.live(k + ".maxmemory", x.maxmemory, y.maxmemory);
  }
  for (size_t i = n; i < a.backends.size(); ++i) {
    out.refused.push_back("backend " + show(a.backends[i].name) +
                          " is missing from the file: removing a backend needs FORESHARD DRAIN " +
                          a.backends[i].name + " and then a restart");
  }
  for (size_t i = n; i < b.backends.size(); ++i) {
    if (i >= capacity) {
      out.refused.push_back("backends[" + std::to_string(i) + "] " + show(b.backends[i].name) +
                            ": at most " + std::to_string(capacity) +
                            " backends can be added without a restart");
      continue;
    }
    out.changes.push_back("backends[" + std::to_string(i) + "] " + b.backends[i].name + " (" +
                          b.backends[i].address.to_string() + ", capacity " +
                          show(b.backends[i].capacity) + ") added: it starts empty");
  }
}

bool same_users(const Config& a, const Config& b) {
  if (a.users.size() != b.users.size()) {
    return false;
  }
  for (size_t i = 0; i < a.users.size(); ++i) {
    const UserConfig &x = a.users[i], &y = b.users[i];
    if (x.name != y.name || x.password != y.password || x.readonly != y.readonly) {
      return false;
    }
  }
  return true;
}

}  // namespace

ConfigDiff diff_config(const Config& a, const Config& b, size_t capacity) {
  ConfigDiff out;
  Differ d(out);
  d.fixed("listen", a.listen, b.listen, kRestart);
  d.fixed("workers", a.workers, b.workers, kRestart);
  d.fixed("slots", a.slots, b.slots, "fixed for the life of the data directory");
  d.fixed("segmentSize", a.segment_size, b.segment_size,
          "only shapes the first map; use FORESHARD SPLIT and MERGE");
  d.fixed("dataDir", a.data_dir, b.data_dir, kRestart);
  d.fixed("metrics", a.metrics, b.metrics, kRestart);
  d.fixed("pubsubBackend", a.pubsub_backend, b.pubsub_backend, kRestart);
  d.fixed("replicationFactor", a.replication_factor, b.replication_factor, kRestart);
  d.fixed("predictionHorizon", a.prediction_horizon_s, b.prediction_horizon_s,
          "the forecaster's horizon is fixed at start (restart foreshard)");
  const Timeouts &ta = a.timeouts, &tb = b.timeouts;
  const char* links = "backend links keep the timeouts they were opened with (restart foreshard)";
  d.fixed("timeouts.connect", ta.connect_ms, tb.connect_ms, links);
  d.fixed("timeouts.request", ta.request_ms, tb.request_ms, links);
  d.fixed("timeouts.backoffMin", ta.backoff_min_ms, tb.backoff_min_ms, links);
  d.fixed("timeouts.backoffMax", ta.backoff_max_ms, tb.backoff_max_ms, links);
  d.fixed("timeouts.clientIdle", ta.client_idle_ms, tb.client_idle_ms, kRestart);
  const TelemetryConfig &ea = a.telemetry, &eb = b.telemetry;
  const char* shape = "the history's shape is fixed while running (restart foreshard)";
  d.fixed("telemetry.enabled", ea.enabled, eb.enabled, kRestart);
  d.fixed("telemetry.step", ea.step_s, eb.step_s, shape);
  d.fixed("telemetry.memory", ea.memory_bytes, eb.memory_bytes, shape);
  d.fixed("telemetry.timeScale", ea.time_scale, eb.time_scale, shape);
  d.live("telemetry.refit", ea.refit_s, eb.refit_s);
  d.live("telemetry.save", ea.save_s, eb.save_s);

  diff_backends(a, b, capacity, d, out);

  d.live("logLevel", a.log_level, b.log_level);
  d.secret("password", a.password, b.password);
  d.secret("adminPassword", a.admin_password, b.admin_password);
  if (!same_users(a, b)) {
    out.changes.push_back("users changed (applies to the next AUTH)");
  }
  d.live("ignoreExistingData", a.ignore_existing_data, b.ignore_existing_data,
         " (only read on a first start)");
  const Limits &la = a.limits, &lb = b.limits;
  const char* next_conn = " (for connections accepted from now on)";
  d.live("limits.maxArguments", la.max_arguments, lb.max_arguments, next_conn);
  d.live("limits.maxBulkLength", la.max_bulk_length, lb.max_bulk_length, next_conn);
  d.live("limits.maxInlineLength", la.max_inline_length, lb.max_inline_length, next_conn);
  d.live("limits.queryBuffer", la.query_buffer_bytes, lb.query_buffer_bytes);
  d.live("limits.outputBuffer", la.output_buffer_bytes, lb.output_buffer_bytes);
  d.live("limits.maxInflightPerClient", la.max_inflight_per_client, lb.max_inflight_per_client);
  d.live("limits.maxClients", la.max_clients, lb.max_clients);
  d.live("limits.maxInflightPerBackend", la.max_inflight_per_backend, lb.max_inflight_per_backend);
  const BalancerConfig &ba = a.balancer, &bb = b.balancer;
  d.live("balancer.enabled", ba.enabled, bb.enabled);
  d.live("balancer.mode", ba.mode, bb.mode);
  d.live("balancer.interval", ba.interval_s, bb.interval_s);
  d.live("balancer.rate", ba.rate_bytes_per_s, bb.rate_bytes_per_s);
  d.live("balancer.sizeSamples", ba.size_samples, bb.size_samples);
  d.live("loadThreshold", a.load_threshold, b.load_threshold);
  const char* next_move = " (from the next migration)";
  d.live("validationInterval", a.validation_interval_ms, b.validation_interval_ms, next_move);
  d.live("migrationPriority", a.migration_priority, b.migration_priority, next_move);
  d.live("maxSwitchPause", a.max_switch_pause_ms, b.max_switch_pause_ms, next_move);
  d.live("bigKeyElements", a.big_key_elements, b.big_key_elements, next_move);
  return out;
}

Result<std::string> reload_config(ProxyContext& ctx) {
  static std::mutex mu;  // SIGHUP (main thread) and FORESHARD RELOAD (workers)
  std::lock_guard<std::mutex> lock(mu);
  auto loaded = load_config(ctx.config_path);
  if (!loaded.is_ok()) {
    return Status(Code::InvalidArgument, "reload refused: " + loaded.status().message());
  }
  const Config& running = *ctx.config;
  Config next = std::move(loaded).value();
  ConfigDiff diff = diff_config(running, next, ctx.backend_capacity);
  if (!diff.refused.empty()) {
    std::string why;
    for (const std::string& r : diff.refused) {
      why += (why.empty() ? "" : "; ") + r;
    }
    return Status(Code::Refused, "reload refused, nothing changed: " + why);
  }
  if (diff.changes.empty()) {
    return std::string("no changes in " + ctx.config_path);
  }
  if (next.log_level != running.log_level) {
    init_logging(next.log_level);
  }
  ctx.config.store(std::make_shared<const Config>(std::move(next)));
  for (Worker* w : ctx.workers) {
    w->post_config_changed();
  }
  std::string text = "reloaded " + ctx.config_path + ":";
  for (const std::string& c : diff.changes) {
    text += "\n" + c;
    LOG_INFO("config", "reload: {}", c);
  }
  return text;
}

}  // namespace proxy
