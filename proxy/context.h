// ProxyContext: what every worker shares, all of it immutable after start-up
// except the segment-map pointer (a SnapshotCell swapped by the control thread,
// CONVENTIONS §8a), the config (a ConfigCell swapped by a reload) and a few
// process-wide atomics. Owned by the Server.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/client_directory.h"
#include "proxy/commands.h"
#include "proxy/config.h"
#include "proxy/config_cell.h"
#include "proxy/migration_tracker.h"
#include "proxy/segment_map.h"
#include "proxy/snapshot_cell.h"

namespace proxy {

class Worker;
class ControlPlane;

struct ProxyContext {
  ConfigCell config;  // ctx.config->x: the running config (reloads replace it whole)
  // Backends the per-worker arrays (links, counters) are sized for: the
  // config's count at start plus headroom; a reload may not add past it.
  size_t backend_capacity = 0;
  std::shared_ptr<const CommandTable> commands;
  SnapshotCell<SegmentMap> map;  // workers read it through Worker::map()
  SnapshotCell<TrackerSet> trackers;  // migrations in progress (migrate/ publishes)
  std::string commands_source;        // "backend redis-1" or "built-in Redis 7.0 table"
  std::string backend_redis_version;  // from INFO of the first backend, for our INFO
  uint64_t start_unix_s = 0;
  std::string config_path;

  std::atomic<uint64_t> next_client_id{1};
  std::atomic<int64_t> connected_clients{0};
  std::atomic<int64_t> blocked_clients{0};  // sessions waiting on a blocking command
  ClientDirectory clients;  // every worker's clients, for CLIENT LIST / KILL
  std::vector<Worker*> workers;  // set before workers start; read-only after
  ControlPlane* control = nullptr;  // set before workers start; thread-safe by contract

  std::shared_ptr<const SegmentMap> current_map() const { return map.load(); }
  // Backends every worker has a link to (a reload's new ones count once all
  // workers opened theirs): any thread; per-backend reads stay below this.
  size_t ready_backends() const {
    size_t n = config->backends.size();
    for (const Worker* w : workers) {
      n = std::min(n, worker_link_count(*w));
    }
    return n;
  }
  static size_t worker_link_count(const Worker& w);  // worker.cc
};

}  // namespace proxy
