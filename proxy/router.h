// Router: decides where one command goes: answered locally, one backend, one
// part per backend (split multi-key), or every backend (fleet-wide), or an
// error (CROSSSLOT, refused). Pure over (command, table, map); the session
// carries the plan out. No allocation in steady state: scratch is reused.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/commands.h"
#include "proxy/merge.h"
#include "proxy/resp_parser.h"
#include "proxy/segment_map.h"

namespace proxy {

enum class RouteKind : uint8_t { Local, Single, Split, Broadcast, Scan, Error };

// RoutePlan::backend value meaning "any backend will do" (keyless scripts):
// the session picks one.
inline constexpr uint16_t kAnyBackend = 0xffff;

// Redis Cluster's refusal of keys in different slots, word for word.
inline constexpr const char* kCrossSlot =
    "-CROSSSLOT Keys in request don't hash to the same slot\r\n";

struct RoutePlan {
  RouteKind kind = RouteKind::Error;
  Merge merge = Merge::Forward;
  uint16_t backend = 0;    // Single
  uint32_t segment = 0;    // Single: the segment of the key(s)
  int32_t slot = -1;       // Single with keys: their slot (load accounting)
  std::string error;       // Error: a complete RESP error ("-ERR ...\r\n")
  bool needs_admin = false;  // FLUSHALL, CONFIG SET, FUNCTION LOAD...: admin when configured
  // Split: key groups start at arg `first_key`, each `key_step` args long.
  uint32_t first_key = 1;
  uint32_t key_step = 1;
  std::vector<uint16_t> key_backend;  // per key group, in request order
  std::vector<uint16_t> backends;     // distinct backends, part order
  std::vector<uint16_t> key_part;     // per key group: index into `backends`
  std::vector<uint32_t> key_slot;     // per key group: its slot
};

class Router {
 public:
  // `pubsub_backend`: where PUBLISH, SUBSCRIBE and PUBSUB go (DESIGN §4).
  Router(const CommandTable& table, uint16_t pubsub_backend = 0)
      : table_(table), pubsub_backend_(pubsub_backend) {}

  // Fills `plan` for `cmd` (whose entry is `info`) against `map`.
  void route(const CommandInfo& info, const Command& cmd, const SegmentMap& map, RoutePlan& plan);

  static std::string refused(std::string_view name, std::string_view why = {});
  uint16_t pubsub_backend() const { return pubsub_backend_; }

 private:
  void route_keys(const CommandInfo& info, const Command& cmd, const SegmentMap& map,
                  RoutePlan& plan);
  void route_split(const CommandInfo& info, const Command& cmd, const SegmentMap& map,
                   RoutePlan& plan);
  void broadcast(Merge merge, const SegmentMap& map, RoutePlan& plan);

  const CommandTable& table_;
  uint16_t pubsub_backend_;
  std::vector<uint32_t> keys_;
};

}  // namespace proxy
