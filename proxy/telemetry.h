// Telemetry: per-worker single-writer counters (CONVENTIONS §8b). The worker
// thread is the only writer (relaxed load+store, no lock prefix, no lock); the
// metrics collector and INFO read them from other threads and never write.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

namespace proxy {

// Increment without a locked instruction: safe because one thread writes.
inline void bump(std::atomic<uint64_t>& a, uint64_t n = 1) {
  a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
inline uint64_t read(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }

// Latency bucket upper bounds in microseconds; the last bucket is +Inf.
inline constexpr std::array<uint64_t, 14> kLatencyBucketsUs = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000};
inline constexpr size_t kClassCount = 11;  // CommandClass values (commands.h)

struct LatencyHistogram {
  std::array<std::atomic<uint64_t>, kLatencyBucketsUs.size() + 1> buckets{};
  std::atomic<uint64_t> sum_us{0};
  std::atomic<uint64_t> count{0};

  void record(uint64_t us) {
    size_t i = 0;
    while (i < kLatencyBucketsUs.size() && us > kLatencyBucketsUs[i]) {
      ++i;
    }
    bump(buckets[i]);
    bump(sum_us, us);
    bump(count);
  }
};

// What a command does to its data, for load accounting (DESIGN §7).
enum class OpKind : uint8_t { Read, Write, Other };
inline constexpr size_t kOpKinds = 3;

// Load of one slot or one backend: ops by kind and bytes each way.
struct LoadCells {
  std::array<std::atomic<uint64_t>, kOpKinds> ops{};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
};

// Commands of one client source: CLIENT SETNAME name, else the peer's IP.
struct SourceCounters {
  std::atomic<uint64_t> ops{0};
};

// One per worker, sized for `backends` backends: the config's count at start
// plus headroom for backends a reload adds (arrays never grow, so readers on
// other threads need no lock). Backend index proxy_index() (one past the
// last) stands for "answered by the proxy itself". Load is kept per slot, not per segment, so
// that splits and merges of segments never invalidate what was counted.
class WorkerCounters {
 public:
  WorkerCounters(size_t backends, size_t slots)
      : backends_(backends),
        slots_(slots),
        requests_(new std::atomic<uint64_t>[(backends + 1) * kClassCount]()),
        errors_(new std::atomic<uint64_t>[(backends + 1) * kClassCount]()),
        latency_(new LatencyHistogram[backends]),
        slot_load_(new LoadCells[slots]),
        backend_load_(new LoadCells[backends]) {}

  size_t slots() const { return slots_; }
  // A command on `slot` owned by `backend`, `bytes` of request.
  void count_load(uint32_t slot, uint16_t backend, OpKind kind, uint64_t bytes) {
    LoadCells& s = slot_load_[slot];
    bump(s.ops[size_t(kind)]);
    bump(s.bytes_in, bytes);
    LoadCells& b = backend_load_[backend];
    bump(b.ops[size_t(kind)]);
    bump(b.bytes_in, bytes);
  }
  void count_reply(uint32_t slot, uint16_t backend, uint64_t bytes) {
    bump(slot_load_[slot].bytes_out, bytes);
    bump(backend_load_[backend].bytes_out, bytes);
  }
  const LoadCells& slot_load(size_t slot) const { return slot_load_[slot]; }
  const LoadCells& backend_load(size_t backend) const { return backend_load_[backend]; }

  size_t backends() const { return backends_; }
  size_t proxy_index() const { return backends_; }
  std::atomic<uint64_t>& requests(size_t backend, size_t cls) {
    return requests_[backend * kClassCount + cls];
  }
  std::atomic<uint64_t>& errors(size_t backend, size_t cls) {
    return errors_[backend * kClassCount + cls];
  }
  LatencyHistogram& latency(size_t backend) { return latency_[backend]; }
  uint64_t requests_at(size_t backend, size_t cls) const {
    return read(requests_[backend * kClassCount + cls]);
  }
  uint64_t errors_at(size_t backend, size_t cls) const {
    return read(errors_[backend * kClassCount + cls]);
  }
  const LatencyHistogram& latency_at(size_t backend) const { return latency_[backend]; }

  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_rejected{0};  // maxclients
  std::atomic<uint64_t> clients_closed_output_limit{0};
  std::atomic<uint64_t> clients_closed_query_limit{0};
  std::atomic<uint64_t> protocol_errors{0};
  std::atomic<uint64_t> clients_closed_idle{0};
  std::atomic<uint64_t> blocked_reissued{0};  // unblocked by a switch, sent to the new owner
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};

 private:
  size_t backends_;
  size_t slots_;
  std::unique_ptr<std::atomic<uint64_t>[]> requests_;
  std::unique_ptr<std::atomic<uint64_t>[]> errors_;
  std::unique_ptr<LatencyHistogram[]> latency_;
  std::unique_ptr<LoadCells[]> slot_load_;
  std::unique_ptr<LoadCells[]> backend_load_;
};

}  // namespace proxy
