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

enum class RouteKind : uint8_t { Local, Single, Split, Broadcast, Error };

struct RoutePlan {
  RouteKind kind = RouteKind::Error;
  Merge merge = Merge::Forward;
  uint16_t backend = 0;    // Single
  uint32_t segment = 0;    // Single: the segment of the key(s)
  std::string error;       // Error: a complete RESP error ("-ERR ...\r\n")
  // Split: key groups start at arg `first_key`, each `key_step` args long.
  uint32_t first_key = 1;
  uint32_t key_step = 1;
  std::vector<uint16_t> key_backend;  // per key group, in request order
  std::vector<uint16_t> backends;     // distinct backends, part order
  std::vector<uint16_t> key_part;     // per key group: index into `backends`
};

class Router {
 public:
  explicit Router(const CommandTable& table) : table_(table) {}

  // Fills `plan` for `cmd` (whose entry is `info`) against `map`.
  void route(const CommandInfo& info, const Command& cmd, const SegmentMap& map, RoutePlan& plan);

  static std::string refused(std::string_view name, std::string_view why = {});

 private:
  void route_keys(const CommandInfo& info, const Command& cmd, const SegmentMap& map,
                  RoutePlan& plan);
  void route_split(const CommandInfo& info, const Command& cmd, const SegmentMap& map,
                   RoutePlan& plan);
  void broadcast(Merge merge, const SegmentMap& map, RoutePlan& plan);

  const CommandTable& table_;
  std::vector<uint32_t> keys_;
};

}  // namespace proxy
