// MapAuthority: the one place the segment map changes at run time (SPLIT,
// MERGE, every migration state). A change is built from the current map,
// saved to the data dir (temp file, fsync, rename: MapStore) and only then
// published to the workers, who are woken so that requests held for the old
// map go on. Serialised by a mutex: admin commands call it from worker threads,
// migrations from their own threads. The invariant of DESIGN §6 rests on
// "saved before published": a worker never routes by a map that is not on disk.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "proxy/context.h"
#include "proxy/map_store.h"
#include "proxy/segment_map.h"
#include "proxy/status.h"

namespace migrate {

class MapAuthority {
 public:
  explicit MapAuthority(proxy::ProxyContext& ctx);

  using Change = std::function<proxy::Result<proxy::SegmentMap>(const proxy::SegmentMap&)>;
  // Applies `change` to the current map, saves and publishes the result.
  // On any error the current map stays as it was (on disk and in memory).
  proxy::Result<std::shared_ptr<const proxy::SegmentMap>> apply(const Change& change,
                                                                const std::string& why);
  std::shared_ptr<const proxy::SegmentMap> current() const { return ctx_.current_map(); }

  // The trackers of migrations in progress (workers route writes through
  // them). add_tracker returns the tracker-set version to wait_barrier() for:
  // true once every worker has adopted it and drained its links (the writes it
  // sent before are answered), false after `timeout_ms`.
  uint64_t add_tracker(std::shared_ptr<proxy::MigrationTracker> t);
  void remove_tracker(const proxy::MigrationTracker* t);
  bool wait_barrier(uint64_t version, int timeout_ms) const;

 private:
  proxy::ProxyContext& ctx_;
  proxy::MapStore store_;
  std::mutex mu_;
};

}  // namespace migrate
