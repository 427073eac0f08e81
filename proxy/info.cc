// INFO text: Redis-style "# Section" blocks describing the proxy (server,
// clients, memory, backends, segments, stats, and from the control plane
// migrations, forecast, balancer); enough for redis-cli --stat. Counters are summed over all workers
// from their single-writer atomics; nothing here takes a lock.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "proxy/context.h"
#include "proxy/control_plane.h"
#include "proxy/local_commands.h"
#include "proxy/session.h"
#include "proxy/worker.h"

namespace proxy {

namespace {

bool wants(const Command& cmd, const char* section, bool in_default) {
  if (cmd.args.size() < 2) {
    return in_default;
  }
  for (size_t i = 1; i < cmd.args.size(); ++i) {
    std::string a(cmd.args[i]);
    std::transform(a.begin(), a.end(), a.begin(), ::tolower);
    if (a == section || a == "all" || a == "everything" || (a == "default" && in_default)) {
      return true;
    }
  }
  return false;
}

void kv(std::string& out, const std::string& k, const std::string& v) {
  out += k;
  out += ':';
  out += v;
  out += "\r\n";
}

uint64_t rss_bytes() {
  long pages = 0, resident = 0;
  if (FILE* f = fopen("/proc/self/statm", "r")) {
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) {
      resident = 0;
    }
    fclose(f);
  }
  return uint64_t(resident) * uint64_t(sysconf(_SC_PAGESIZE));
}

std::string human_bytes(uint64_t b) {
  char buf[32];
  if (b >= (1ull << 30)) {
    snprintf(buf, sizeof buf, "%.2fG", double(b) / double(1ull << 30));
  } else if (b >= (1ull << 20)) {
    snprintf(buf, sizeof buf, "%.2fM", double(b) / double(1ull << 20));
  } else {
    snprintf(buf, sizeof buf, "%.2fK", double(b) / 1024.0);
  }
  return buf;
}

std::string num(double v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// Migrations, Forecast and Balancer: what the control plane publishes.
void control_sections(const ControlPlane& control, const Command& cmd, std::string& out) {
  MigrationGauges g = control.migration_gauges();
  if (wants(cmd, "migrations", true)) {
    out += "# Migrations\r\n";
    kv(out, "migration_running", g.running_phase.empty() ? "0" : "1");
    kv(out, "migration_phase", g.running_phase.empty() ? "none" : g.running_phase);
    kv(out, "migration_dirty_keys", std::to_string(g.dirty_keys));
    kv(out, "migrations_done", std::to_string(g.done));
    kv(out, "migrations_aborted", std::to_string(g.aborted));
    kv(out, "migration_keys_copied", std::to_string(g.keys_copied));
    kv(out, "migration_bytes_copied", std::to_string(g.bytes_copied));
    kv(out, "migration_validation_mismatches", std::to_string(g.mismatches));
    kv(out, "migration_connections_killed", std::to_string(g.connections_killed));
    kv(out, "migration_destination_reads", std::to_string(g.destination_reads));
    kv(out, "migration_switch_pause_avg_ms",
       num(g.switch_pause.count ? 1000.0 * g.switch_pause.sum / double(g.switch_pause.count) : 0));
    out += "\r\n";
  }
  if (wants(cmd, "forecast", true)) {
    out += "# Forecast\r\n";
    for (const BackendForecastGauge& f : control.backend_gauges()) {
      kv(out, "forecast_" + f.backend,
         "load_ops=" + num(f.observed_ops) + ",peak_ops=" + num(f.predicted_ops) +
             ",peak_upper_ops=" + num(f.predicted_upper) + ",smape=" + num(f.forecast_error));
    }
    out += "\r\n";
  }
  if (wants(cmd, "balancer", true) && g.balancer_enabled >= 0) {
    out += "# Balancer\r\n";
    kv(out, "balancer_enabled", std::to_string(g.balancer_enabled));
    kv(out, "balancer_mode", g.balancer_mode);
    for (const auto& [action, n] : g.balancer_decisions) {
      kv(out, "balancer_" + action + "s", std::to_string(n));
    }
    out += "\r\n";
  }
}

}  // namespace

std::string build_info(Session& s, const Command& cmd) {
  ProxyContext& ctx = s.worker().ctx();
  const Config& cfg = *ctx.config;
  auto map = ctx.current_map();
  std::string out;
  uint64_t now = uint64_t(time(nullptr));
  uint64_t uptime = now - ctx.start_unix_s;

  if (wants(cmd, "server", true)) {
    out += "# Server\r\n";
    kv(out, "redis_version", ctx.backend_redis_version);
    kv(out, "foreshard_version", FORESHARD_VERSION);
    kv(out, "redis_mode", "standalone");
    kv(out, "process_id", std::to_string(getpid()));
    kv(out, "tcp_port", std::to_string(cfg.listen.port));
    kv(out, "uptime_in_seconds", std::to_string(uptime));
    kv(out, "uptime_in_days", std::to_string(uptime / 86400));
    kv(out, "workers", std::to_string(ctx.workers.size()));
    kv(out, "config_file", ctx.config_path);
    kv(out, "command_table", ctx.commands_source);
    out += "\r\n";
  }
  if (wants(cmd, "clients", true)) {
    out += "# Clients\r\n";
    kv(out, "connected_clients", std::to_string(ctx.connected_clients.load()));
    kv(out, "maxclients", std::to_string(cfg.limits.max_clients));
    kv(out, "blocked_clients", std::to_string(ctx.blocked_clients.load()));
    out += "\r\n";
  }
  if (wants(cmd, "memory", true)) {
    out += "# Memory\r\n";
    uint64_t rss = rss_bytes();
    kv(out, "used_memory", std::to_string(rss));  // the proxy's own RSS, not the backends'
    kv(out, "used_memory_human", human_bytes(rss));
    kv(out, "used_memory_rss", std::to_string(rss));
    out += "\r\n";
  }
  if (wants(cmd, "backends", true)) {
    out += "# Backends\r\n";
    const size_t nb = ctx.ready_backends();
    kv(out, "backends", std::to_string(nb));
    if (nb < cfg.backends.size()) {
      kv(out, "backends_joining", std::to_string(cfg.backends.size() - nb));
    }
    for (size_t b = 0; b < nb; ++b) {
      size_t up = 0;
      uint64_t lat = 0, reconnects = 0;
      for (Worker* w : ctx.workers) {
        const BackendLink& l = w->link_at(b);
        up += l.up.load(std::memory_order_relaxed);
        lat += l.latency_ewma_us.load(std::memory_order_relaxed);
        reconnects += l.reconnects.load(std::memory_order_relaxed);
      }
      size_t nw = std::max<size_t>(1, ctx.workers.size());
      const char* status = up == nw ? "up" : (up == 0 ? "down" : "partial");
      size_t owned = map->segments_owned_by(uint16_t(b)).size();
      kv(out, "backend" + std::to_string(b),
         "name=" + cfg.backends[b].name + ",addr=" + cfg.backends[b].address.to_string() +
             ",status=" + status + ",latency_us=" + std::to_string(lat / nw) +
             ",segments=" + std::to_string(owned) +
             ",capacity=" + std::to_string(uint64_t(cfg.backends[b].capacity)) +
             ",reconnects=" + std::to_string(reconnects));
    }
    out += "\r\n";
  }
  if (wants(cmd, "segments", true)) {
    out += "# Segments\r\n";
    kv(out, "slots", std::to_string(map->slots()));
    kv(out, "segments", std::to_string(map->size()));
    kv(out, "segment_size", std::to_string(cfg.segment_size));
    kv(out, "map_epoch", std::to_string(map->epoch()));
    out += "\r\n";
  }
  if (wants(cmd, "stats", true)) {
    uint64_t commands = 0, errors = 0, accepted = 0, rejected = 0, in = 0, outb = 0;
    for (Worker* w : ctx.workers) {
      const WorkerCounters& c = w->counters();
      for (size_t b = 0; b <= c.backends(); ++b) {
        for (size_t k = 0; k < kClassCount; ++k) {
          commands += c.requests_at(b, k);
          errors += c.errors_at(b, k);
        }
      }
      accepted += read(c.connections_accepted);
      rejected += read(c.connections_rejected);
      in += read(c.bytes_in);
      outb += read(c.bytes_out);
    }
    out += "# Stats\r\n";
    kv(out, "total_connections_received", std::to_string(accepted));
    kv(out, "total_commands_processed", std::to_string(commands));
    kv(out, "total_error_replies", std::to_string(errors));
    kv(out, "rejected_connections", std::to_string(rejected));
    kv(out, "total_net_input_bytes", std::to_string(in));
    kv(out, "total_net_output_bytes", std::to_string(outb));
    out += "\r\n";
  }
  if (ctx.control != nullptr) {
    control_sections(*ctx.control, cmd, out);
  }
  if (out.size() >= 2) {
    out.resize(out.size() - 2);  // no blank line after the last section
  }
  return out;
}

}  // namespace proxy
