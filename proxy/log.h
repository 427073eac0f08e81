// Logging: LOG_* macros over spdlog with a component tag, naming their subject
// the twemproxy way ("w2 c 12", "b redis-2", "seg 17 epoch 42"). Debug lines
// compile out in Release; LOG_*_EVERY rate-limits data-path warnings.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <spdlog/spdlog.h>

namespace proxy {

// level: debug|info|warn|error. Returns false for an unknown level.
bool init_logging(const std::string& level);
uint64_t log_now_ms();

// True at most once per `interval_ms` for one call site (thread-safe, lock-free).
inline bool log_allowed(std::atomic<uint64_t>& last_ms, uint64_t interval_ms) {
  uint64_t now = log_now_ms();
  uint64_t prev = last_ms.load(std::memory_order_relaxed);
  return now - prev >= interval_ms &&
         last_ms.compare_exchange_strong(prev, now, std::memory_order_relaxed);
}

}  // namespace proxy

#define LOG_INFO(component, ...) spdlog::info("[" component "] " __VA_ARGS__)
#define LOG_WARN(component, ...) spdlog::warn("[" component "] " __VA_ARGS__)
#define LOG_ERROR(component, ...) spdlog::error("[" component "] " __VA_ARGS__)
#ifdef NDEBUG
#define LOG_DEBUG(component, ...) ((void)0)
#else
#define LOG_DEBUG(component, ...) spdlog::debug("[" component "] " __VA_ARGS__)
#endif
// At most one line per 5 s from this call site.
#define LOG_WARN_EVERY(component, ...)                        \
  do {                                                        \
    static std::atomic<uint64_t> log_last_{0};                \
    if (::proxy::log_allowed(log_last_, 5000)) {              \
      LOG_WARN(component, __VA_ARGS__);                       \
    }                                                         \
  } while (0)

// Fatal invariant check, always on (CONVENTIONS §3: impossible after start-up).
#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      spdlog::critical("CHECK failed: {} at {}:{}", #cond, __FILE__, __LINE__);  \
      std::abort();                                                              \
    }                                                                            \
  } while (0)
