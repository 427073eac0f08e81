// ConfigCell: the running configuration, replaced whole by a reload
// (proxy/config_reload.h) and read everywhere as `ctx.config->...`.
//
// Readers are on every hot path (limits per command), so a read is one
// acquire load of a raw pointer: no lock, no reference count. The price is
// that no published Config is ever freed before the cell: reloads are rare
// operator actions, and a Config is a few KB. A reader that needs several
// fields to agree takes `const Config& c = *ctx.config;` once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "proxy/config.h"

namespace proxy {

class ConfigCell {
 public:
  // Any thread; serialised by the reload mutex in practice.
  void store(std::shared_ptr<const Config> c) {
    std::lock_guard<std::mutex> lock(mu_);
    kept_.push_back(c);
    cur_.store(c.get(), std::memory_order_release);
    version_.fetch_add(1, std::memory_order_release);
  }
  const Config* get() const { return cur_.load(std::memory_order_acquire); }
  const Config* operator->() const { return get(); }
  const Config& operator*() const { return *get(); }
  // Bumped by every store(); 1 after the first.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

 private:
  std::mutex mu_;
  std::vector<std::shared_ptr<const Config>> kept_;
  std::atomic<const Config*> cur_{nullptr};
  std::atomic<uint64_t> version_{0};
};

}  // namespace proxy
