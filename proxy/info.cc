// INFO text: Redis-style "# Section" blocks describing the proxy (server,
// clients, backends, segments, stats). Counters are summed over all workers
// from their single-writer atomics; nothing here takes a lock.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "proxy/context.h"
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
    out += "\r\n";
  }
  if (wants(cmd, "backends", true)) {
    out += "# Backends\r\n";
    kv(out, "backends", std::to_string(cfg.backends.size()));
    for (size_t b = 0; b < cfg.backends.size(); ++b) {
      size_t up = 0;
      uint64_t lat = 0, reconnects = 0;
      for (Worker* w : ctx.workers) {
        const BackendLink& l = *w->links()[b];
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
  if (out.size() >= 2) {
    out.resize(out.size() - 2);  // no blank line after the last section
  }
  return out;
}

}  // namespace proxy
