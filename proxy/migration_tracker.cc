// MigrationTracker implementation (see migration_tracker.h).
#include "proxy/migration_tracker.h"

#include <algorithm>

namespace proxy {

bool MigrationTracker::write_sent(const std::vector<std::string>& keys) {
  std::lock_guard<std::mutex> lock(mu_);
  if (switching_) {
    return false;
  }
  for (const std::string& k : keys) {
    KeyState& s = keys_[k];
    ++s.gen;
    ++s.pending;
  }
  ++pending_;
  writes_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void MigrationTracker::finish_locked(const std::vector<std::string>& keys) {
  for (const std::string& k : keys) {
    KeyState& s = keys_[k];
    ++s.gen;
    if (s.pending > 0) {
      --s.pending;
    }
    dirty_.insert(k);
  }
  if (pending_ > 0) {
    --pending_;
  }
}

void MigrationTracker::write_done(const std::vector<std::string>& keys) {
  std::lock_guard<std::mutex> lock(mu_);
  finish_locked(keys);
}

void MigrationTracker::write_lost(const std::vector<std::string>& keys, uint64_t client_id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string& k : keys) {
    ++keys_[k].gen;  // still pending: no copy can call it clean
    dirty_.insert(k);
  }
  lost_writes_.push_back({client_id, keys});
  lost_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<uint64_t> MigrationTracker::lost_connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<uint64_t> ids;
  for (const LostWrite& w : lost_writes_) {
    if (std::find(ids.begin(), ids.end(), w.client_id) == ids.end()) {
      ids.push_back(w.client_id);
    }
  }
  return ids;
}

size_t MigrationTracker::loss_confirmed(uint64_t client_id) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (size_t i = 0; i < lost_writes_.size();) {
    if (lost_writes_[i].client_id != client_id) {
      ++i;
      continue;
    }
    finish_locked(lost_writes_[i].keys);
    lost_writes_[i] = std::move(lost_writes_.back());
    lost_writes_.pop_back();
    ++n;
  }
  return n;
}

bool MigrationTracker::add_blocked(const std::shared_ptr<BlockedCall>& call) {
  std::lock_guard<std::mutex> lock(mu_);
  if (switching_) {
    return false;
  }
  blocked_.push_back(call);
  return true;
}

void MigrationTracker::remove_blocked(const BlockedCall* call) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(blocked_, [&](const auto& c) { return c.get() == call; });
}

std::vector<std::shared_ptr<BlockedCall>> MigrationTracker::blocked() const {
  std::lock_guard<std::mutex> lock(mu_);
  return blocked_;
}

size_t MigrationTracker::blocked_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return blocked_.size();
}

MigrationTracker::Mark MigrationTracker::mark(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = keys_.find(key);
  if (it == keys_.end()) {
    return {};
  }
  return {it->second.gen, it->second.pending};
}

bool MigrationTracker::settle(const std::string& key, const Mark& before) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = keys_.find(key);
  uint64_t gen = it == keys_.end() ? 0 : it->second.gen;
  uint32_t pending = it == keys_.end() ? 0 : it->second.pending;
  if (gen == before.gen && pending == 0 && before.pending == 0) {
    dirty_.erase(key);
    if (it != keys_.end()) {
      keys_.erase(it);  // generation 0 again: nothing left to compare against
    }
    return true;
  }
  dirty_.insert(key);
  return false;
}

void MigrationTracker::mark_dirty(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  dirty_.insert(key);
}

bool MigrationTracker::is_dirty(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  return dirty_.count(key) != 0;
}

std::vector<std::string> MigrationTracker::dirty_keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {dirty_.begin(), dirty_.end()};
}

size_t MigrationTracker::dirty_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dirty_.size();
}

uint64_t MigrationTracker::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_;
}

void MigrationTracker::set_switching(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  switching_ = on;
}

bool MigrationTracker::switching() const {
  std::lock_guard<std::mutex> lock(mu_);
  return switching_;
}

void MigrationTracker::set_dst_reads(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  dst_reads_ = on;
}

bool MigrationTracker::dst_reads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dst_reads_;
}

bool MigrationTracker::readable_at_destination(std::string_view key) const {
  std::string k(key);
  std::lock_guard<std::mutex> lock(mu_);
  if (!dst_reads_ || switching_ || dirty_.count(k) != 0) {
    return false;
  }
  auto it = keys_.find(k);
  return it == keys_.end() || it->second.pending == 0;
}

void MigrationTracker::served_at_destination(std::string_view key) {
  uint64_t n = dst_served_.fetch_add(1, std::memory_order_relaxed);
  if (n % kServedSampleEvery != 0) {
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (served_sample_.size() < kMaxServedSample) {
    served_sample_.emplace_back(key);
  }
}

std::vector<std::string> MigrationTracker::take_served_sample() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  out.swap(served_sample_);
  return out;
}

}  // namespace proxy
