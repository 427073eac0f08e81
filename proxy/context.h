// ProxyContext: what every worker shares, all of it immutable after start-up
// except the segment-map pointer (a SnapshotCell swapped by the control thread,
// CONVENTIONS §8a) and a few process-wide atomics. Owned by the Server.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/client_directory.h"
#include "proxy/commands.h"
#include "proxy/config.h"
#include "proxy/migration_tracker.h"
#include "proxy/segment_map.h"
#include "proxy/snapshot_cell.h"

namespace proxy {

class Worker;
class ControlPlane;

struct ProxyContext {
  std::shared_ptr<const Config> config;
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
};

}  // namespace proxy
