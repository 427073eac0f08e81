// Router implementation. Which commands go where is decided here from the
// command's class (commands.h) plus a few names whose handling is specific to
// a proxy (CONFIG GET, fleet-wide reads). See docs/COMMANDS.md.
#include "proxy/router.h"

#include "proxy/slot.h"

namespace proxy {

namespace {


bool is(const CommandInfo& info, std::string_view name) { return info.name == name; }

}  // namespace

std::string Router::refused(std::string_view name, std::string_view why) {
  std::string e = "-ERR command '";
  e.append(name);
  e.append("' is not supported by foreshard");
  if (!why.empty()) {
    e.append(" (");
    e.append(why);
    e.append(")");
  }
  e.append("\r\n");
  return e;
}

void Router::route(const CommandInfo& info, const Command& cmd, const SegmentMap& map,
                   RoutePlan& plan) {
  plan.merge = Merge::Forward;
  plan.needs_admin = false;
  plan.slot = -1;
  switch (info.cls) {
    case CommandClass::Connection:
    case CommandClass::Local:
      plan.kind = RouteKind::Local;
      return;
    case CommandClass::SingleKey:
    case CommandClass::SameSlot:
    case CommandClass::Blocking:  // the session gives blocking calls their own link
      route_keys(info, cmd, map, plan);
      return;
    case CommandClass::PubSub:
      plan.kind = RouteKind::Single;
      plan.backend = pubsub_backend_;
      return;
    case CommandClass::MultiKey:
      route_split(info, cmd, map, plan);
      return;
    case CommandClass::Scripting:
      if (is(info, "eval") || is(info, "evalsha") || is(info, "eval_ro") ||
          is(info, "evalsha_ro") || is(info, "fcall") || is(info, "fcall_ro")) {
        route_keys(info, cmd, map, plan);
        if (plan.kind == RouteKind::Error && plan.error.empty()) {
          plan.kind = RouteKind::Single;  // numkeys 0: any backend
          plan.backend = kAnyBackend;
        }
        return;
      }
      // Scripts and functions are loaded everywhere so EVALSHA/FCALL work
      // wherever their keys live.
      if (is(info, "script|load") || is(info, "function|load") ||
          is(info, "function|delete") || is(info, "function|restore")) {
        plan.needs_admin = info.name.rfind("function", 0) == 0;
        return broadcast(Merge::Same, map, plan);
      }
      if (is(info, "script|exists")) {
        return broadcast(Merge::AndArrays, map, plan);
      }
      if (is(info, "script|flush") || is(info, "function|flush")) {
        plan.needs_admin = true;
        return broadcast(Merge::AllOk, map, plan);
      }
      if (is(info, "function|list") || is(info, "function|dump") || is(info, "function|stats")) {
        plan.kind = RouteKind::Single;
        plan.backend = 0;
        return;
      }
      break;
    case CommandClass::FleetWide:
      if (is(info, "dbsize")) {
        return broadcast(Merge::Sum, map, plan);
      }
      if (is(info, "keys")) {
        return broadcast(Merge::Concat, map, plan);
      }
      if (is(info, "randomkey")) {
        return broadcast(Merge::AnyNonNil, map, plan);
      }
      if (is(info, "info")) {
        plan.kind = RouteKind::Local;
        return;
      }
      if (is(info, "scan")) {
        plan.kind = RouteKind::Scan;
        return;
      }
      if (is(info, "flushall") || is(info, "flushdb")) {
        plan.needs_admin = true;
        return broadcast(Merge::AllOk, map, plan);
      }
      break;
    case CommandClass::Admin:
      if (is(info, "config|get") || is(info, "lastsave")) {
        // Backends of one fleet share their config; the first one answers.
        plan.kind = RouteKind::Single;
        plan.backend = 0;
        return;
      }
      if (is(info, "config|set") || is(info, "config|resetstat")) {
        plan.needs_admin = true;
        return broadcast(Merge::AllOk, map, plan);
      }
      break;
    case CommandClass::Transaction:  // the session handles these before routing
      break;
  }
  plan.kind = RouteKind::Error;
  plan.error = refused(info.name);
}

// All keys must share one slot; the command goes whole to that slot's owner.
void Router::route_keys(const CommandInfo& info, const Command& cmd, const SegmentMap& map,
                        RoutePlan& plan) {
  keys_.clear();
  plan.error.clear();
  if (!table_.key_positions(info, cmd.args, keys_)) {
    plan.kind = RouteKind::Error;
    plan.error = "-ERR syntax error: cannot find the keys of '" + info.name + "'\r\n";
    return;
  }
  if (keys_.empty()) {
    plan.kind = RouteKind::Error;  // caller words the error
    return;
  }
  uint32_t slot = key_slot(cmd.args[keys_[0]], map.slots());
  for (size_t i = 1; i < keys_.size(); ++i) {
    if (key_slot(cmd.args[keys_[i]], map.slots()) != slot) {
      plan.kind = RouteKind::Error;
      plan.error = kCrossSlot;
      return;
    }
  }
  plan.kind = RouteKind::Single;
  plan.slot = int32_t(slot);
  plan.segment = map.segment_of_slot(slot);
  plan.backend = map.segment(plan.segment).owner;
}

// MGET MSET DEL UNLINK EXISTS TOUCH: group the keys by owner. One owner: the
// command goes whole (no merge). Several: one part per owner, merged.
void Router::route_split(const CommandInfo& info, const Command& cmd, const SegmentMap& map,
                         RoutePlan& plan) {
  plan.first_key = 1;
  plan.key_step = info.key_step == 0 ? 1 : info.key_step;
  size_t nargs = cmd.args.size();
  if (nargs < 1 + plan.key_step || (nargs - 1) % plan.key_step != 0) {
    plan.kind = RouteKind::Error;
    plan.error = "-ERR wrong number of arguments for '" + info.name + "' command\r\n";
    return;
  }
  plan.key_backend.clear();
  plan.backends.clear();
  plan.key_part.clear();
  plan.key_slot.clear();
  for (size_t i = plan.first_key; i < nargs; i += plan.key_step) {
    uint32_t slot = key_slot(cmd.args[i], map.slots());
    plan.key_slot.push_back(slot);
    uint32_t seg = map.segment_of_slot(slot);
    uint16_t b = map.segment(seg).owner;
    plan.key_backend.push_back(b);
    uint16_t part = 0;
    while (part < plan.backends.size() && plan.backends[part] != b) {
      ++part;
    }
    if (part == plan.backends.size()) {
      plan.backends.push_back(b);
    }
    plan.key_part.push_back(part);
    if (i == plan.first_key) {
      plan.segment = seg;
    }
  }
  if (plan.backends.size() == 1) {
    plan.kind = RouteKind::Single;
    plan.backend = plan.backends[0];
    plan.slot = -2;  // several keys, one owner: the session counts each key group
    return;
  }
  plan.kind = RouteKind::Split;
  switch (info.merge) {
    case MergeKind::ValuesInKeyOrder:
      plan.merge = Merge::KeyOrder;
      break;
    case MergeKind::SumIntegers:
      plan.merge = Merge::Sum;
      break;
    case MergeKind::AllOk:
      plan.merge = Merge::AllOk;
      break;
    case MergeKind::None:
      plan.kind = RouteKind::Error;
      plan.error = kCrossSlot;
      break;
  }
}

void Router::broadcast(Merge merge, const SegmentMap& map, RoutePlan& plan) {
  plan.kind = RouteKind::Broadcast;
  plan.merge = merge;
  plan.backends.clear();
  for (uint16_t b = 0; b < map.backend_names().size(); ++b) {
    plan.backends.push_back(b);
  }
}

}  // namespace proxy
