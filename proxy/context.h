// ProxyContext: what every worker shares, all of it immutable after start-up
// except the segment-map pointer (swapped atomically by the control thread,
// CONVENTIONS §8a) and a few process-wide atomics. Owned by the Server.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/commands.h"
#include "proxy/config.h"
#include "proxy/segment_map.h"

namespace proxy {

class Worker;
class ControlPlane;

struct ProxyContext {
  std::shared_ptr<const Config> config;
  std::shared_ptr<const CommandTable> commands;
  std::atomic<std::shared_ptr<const SegmentMap>> map;
  std::string commands_source;        // "backend redis-1" or "built-in Redis 7.0 table"
  std::string backend_redis_version;  // from INFO of the first backend, for our INFO
  uint64_t start_unix_s = 0;
  std::string config_path;

  std::atomic<uint64_t> next_client_id{1};
  std::atomic<int64_t> connected_clients{0};
  std::vector<Worker*> workers;  // set before workers start; read-only after
  ControlPlane* control = nullptr;  // set before workers start; thread-safe by contract

  std::shared_ptr<const SegmentMap> current_map() const {
    return map.load(std::memory_order_acquire);
  }
};

}  // namespace proxy
