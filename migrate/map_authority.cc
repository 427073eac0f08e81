// MapAuthority implementation (see map_authority.h).
#include "migrate/map_authority.h"

#include <chrono>
#include <thread>

#include "proxy/log.h"
#include "proxy/worker.h"

namespace migrate {

MapAuthority::MapAuthority(proxy::ProxyContext& ctx) : ctx_(ctx), store_(ctx.config->data_dir) {}

proxy::Result<std::shared_ptr<const proxy::SegmentMap>> MapAuthority::apply(
    const Change& change, const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  auto cur = ctx_.current_map();
  auto next = change(*cur);
  if (!next.is_ok()) {
    return next.status();
  }
  if (proxy::Status s = store_.save(next.value()); !s.is_ok()) {
    LOG_ERROR("map", "not applied ({}): cannot save the segment map: {}", why, s.message());
    return s;
  }
  auto published = std::make_shared<const proxy::SegmentMap>(std::move(next).value());
  ctx_.map.store(published);
  for (proxy::Worker* w : ctx_.workers) {
    w->post_map_changed();
  }
  LOG_INFO("map", "epoch {}: {}", published->epoch(), why);
  return published;
}

uint64_t MapAuthority::add_tracker(std::shared_ptr<proxy::MigrationTracker> t) {
  std::lock_guard<std::mutex> lock(mu_);
  auto next = std::make_shared<proxy::TrackerSet>(*ctx_.trackers.load());
  next->trackers.push_back(std::move(t));
  ctx_.trackers.store(std::move(next));
  uint64_t v = ctx_.trackers.version();
  for (proxy::Worker* w : ctx_.workers) {
    w->post_map_changed();
  }
  return v;
}

void MapAuthority::remove_tracker(const proxy::MigrationTracker* t) {
  std::lock_guard<std::mutex> lock(mu_);
  auto next = std::make_shared<proxy::TrackerSet>(*ctx_.trackers.load());
  std::erase_if(next->trackers, [&](const auto& p) { return p.get() == t; });
  ctx_.trackers.store(std::move(next));
  for (proxy::Worker* w : ctx_.workers) {
    w->post_map_changed();
  }
}

bool MapAuthority::wait_barrier(uint64_t version, int timeout_ms) const {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    bool all = true;
    for (proxy::Worker* w : ctx_.workers) {
      all = all && w->barrier_version.load() >= version;
    }
    if (all) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

}  // namespace migrate
