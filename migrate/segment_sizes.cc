// SegmentSizes implementation (see segment_sizes.h).
#include "migrate/segment_sizes.h"

#include <string>

#include "migrate/redis_conn.h"
#include "proxy/log.h"
#include "proxy/slot.h"

namespace migrate {

namespace {

constexpr double kSmoothing = 0.3;  // weight of a new round in a slot's estimate

// One backend's sample over one connection, or false if it is unreachable.
bool sample_backend(const proxy::BackendConfig& b, uint32_t slots, int samples, int timeout_ms,
                    SizeSample& out) {
  RedisConn c;
  if (!c.connect(b, timeout_ms).is_ok()) {
    return false;
  }
  c.append({"DBSIZE"});
  for (int i = 0; i < samples; ++i) {
    c.append({"RANDOMKEY"});
  }
  Reply n = c.read();
  if (!n || n->type != REDIS_REPLY_INTEGER) {
    return false;
  }
  out.dbsize = uint64_t(n->integer);
  std::vector<std::string> keys;
  for (int i = 0; i < samples; ++i) {
    Reply k = c.read();
    if (!k) {
      return false;
    }
    if (k->type == REDIS_REPLY_STRING) {
      keys.emplace_back(k->str, k->len);
    }
  }
  for (const std::string& k : keys) {
    c.append({"MEMORY", "USAGE", k});
  }
  for (const std::string& k : keys) {
    Reply u = c.read();
    if (!u) {
      return false;
    }
    if (u->type == REDIS_REPLY_INTEGER) {  // nil: the key went away meanwhile
      out.keys.emplace_back(proxy::key_slot(k, slots), double(u->integer));
    }
  }
  return true;
}

}  // namespace

void estimate_slots(const SizeSample& s, const std::vector<bool>& owned,
                    std::vector<double>& slot_bytes, std::vector<bool>& updated) {
  slot_bytes.assign(owned.size(), 0.0);
  updated = owned;  // an owned slot no sample hit holds (about) nothing
  double sampled = 0;
  for (const auto& [slot, bytes] : s.keys) {
    sampled += bytes;
  }
  if (s.keys.empty() || sampled <= 0) {
    return;
  }
  // DBSIZE x mean sampled size, attributed per sampled byte.
  const double total = double(s.dbsize) * sampled / double(s.keys.size());
  for (const auto& [slot, bytes] : s.keys) {
    if (slot < owned.size() && owned[slot]) {
      slot_bytes[slot] += total * bytes / sampled;
    }
  }
}

SegmentSizes::~SegmentSizes() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

void SegmentSizes::maybe_sample(uint64_t now_s, uint64_t period_s) {
  const proxy::Config& cfg = *ctx_.config;
  if (cfg.balancer.size_samples == 0 || running_.load() || now_s < last_start_s_ + period_s) {
    return;
  }
  if (thread_.joinable()) {
    thread_.join();
  }
  auto map = ctx_.current_map();
  const size_t nb = map->backend_names().size();
  std::vector<proxy::BackendConfig> backends(cfg.backends.begin(), cfg.backends.begin() + nb);
  std::vector<std::vector<bool>> owned(nb, std::vector<bool>(map->slots(), false));
  for (const proxy::Segment& s : map->segments()) {
    for (uint32_t slot = s.first; slot <= s.last; ++slot) {
      owned[s.owner][slot] = true;
    }
  }
  last_start_s_ = now_s;
  running_.store(true);
  thread_ = std::thread(&SegmentSizes::round, this, std::move(backends), std::move(owned),
                        int(cfg.balancer.size_samples), int(cfg.timeouts.connect_ms));
}

void SegmentSizes::round(std::vector<proxy::BackendConfig> backends,
                         std::vector<std::vector<bool>> owned, int samples, int timeout_ms) {
  const uint32_t slots = owned.empty() ? 0 : uint32_t(owned[0].size());
  std::vector<double> est;
  std::vector<bool> updated;
  for (size_t b = 0; b < backends.size(); ++b) {
    SizeSample s;
    if (!sample_backend(backends[b], slots, samples, timeout_ms, s)) {
      LOG_DEBUG("control", "segment sizes: b {} not sampled this round", backends[b].name);
      continue;
    }
    estimate_slots(s, owned[b], est, updated);
    std::lock_guard<std::mutex> lock(mu_);
    if (slot_bytes_.size() != slots) {
      slot_bytes_.assign(slots, 0.0);
      known_.assign(slots, false);
    }
    for (uint32_t i = 0; i < slots; ++i) {
      if (updated[i]) {
        slot_bytes_[i] = known_[i] ? (1 - kSmoothing) * slot_bytes_[i] + kSmoothing * est[i] : est[i];
        known_[i] = true;
      }
    }
  }
  rounds_.fetch_add(1);
  running_.store(false);
}

bool SegmentSizes::bytes(uint32_t first, uint32_t last, double* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  double sum = 0;
  for (uint32_t i = first; i <= last; ++i) {
    if (i >= known_.size() || !known_[i]) {
      return false;
    }
    sum += slot_bytes_[i];
  }
  *out = sum;
  return true;
}

}  // namespace migrate
