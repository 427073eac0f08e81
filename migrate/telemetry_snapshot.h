// TelemetrySnapshot: the worker counters summed over all workers at one
// instant, as a plain value the control loop hands to History::ingest(). It
// owns no counters and does no arithmetic; building it (reading the
// single-writer WorkerCounters) is the controller's job.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace migrate {

// Every counter is cumulative since the proxy started; History takes deltas.
struct TelemetrySnapshot {
  uint64_t unix_s = 0;  // wall clock of the read, seconds

  // Per slot (size = slots, e.g. 16384): ops by kind and bytes each way.
  std::vector<uint64_t> slot_reads, slot_writes, slot_other;
  std::vector<uint64_t> slot_bytes_in, slot_bytes_out;

  // Per backend (size = backends, in config order).
  std::vector<uint64_t> backend_reads, backend_writes, backend_other;
  std::vector<uint64_t> backend_bytes_in, backend_bytes_out;

  // Per client source (CLIENT SETNAME name, else peer ip): cumulative ops.
  // The proxy should bound this list itself; History keeps baselines for at
  // most History::kMaxSourceBaselines names and ignores the rest.
  std::vector<std::pair<std::string, uint64_t>> sources;
};

}  // namespace migrate
