// History: the access-pattern history (DESIGN §7). Turns cumulative telemetry
// snapshots into fixed-step load series: one float ring per slot (ops), five
// per backend (reads, writes, other, bytes in/out), totals per client source,
// all inside a memory budget, and saves/loads them. Control thread only; it
// does no forecasting and knows nothing of segments beyond slot ranges.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "migrate/telemetry_snapshot.h"
#include "proxy/status.h"

namespace migrate {

using proxy::Result;
using proxy::Status;

// A fixed-step series in ops (or bytes) per second: values[i] covers
// [start_unix_s + i*step_s, start_unix_s + (i+1)*step_s).
struct Series {
  uint64_t start_unix_s = 0;
  uint32_t step_s = 0;
  std::vector<double> values;
};

enum class BackendMetric { Ops, Reads, Writes, Other, BytesIn, BytesOut };

// One client source's load; "other" sums the sources that fell out of the top.
struct SourceLoad {
  std::string name;
  uint64_t total_ops = 0;  // since the history began
  double ops_per_s = 0;    // over the last closed step
};

// What ingest() did with a snapshot.
enum class IngestResult {
  Baseline,  // first snapshot, or after load(): only remembered
  Counted,   // deltas added
  Reset,     // a counter went backwards (proxy restart): new baseline, nothing added
  BadShape,  // slot or backend vectors of the wrong size: ignored
};

class History {
 public:
  struct Options {
    uint64_t memory_budget_bytes = 64ull << 20;
    uint32_t step_s = 300;
    uint32_t backend_points = 4032;  // 14 days at 5 min
  };
  static constexpr size_t kMaxSources = 1000;          // tracked by name; the rest is "other"
  static constexpr size_t kMaxSourceBaselines = 2000;  // snapshot entries followed (the first)
  static constexpr uint32_t kFileVersion = 2;  // 2: per-step counted flags (1 still loads)

  // The slot ring capacity is what the budget leaves after everything else
  // (backend rings, counter baselines, open-bucket sums, a source allowance),
  // divided by slots * 4 B (+8 B for the all-slots sum); at most
  // backend_points, and at least 2 points even if that exceeds the budget.
  History(Options options, uint32_t slots, std::vector<std::string> backend_names);
  History(History&&) = default;
  History& operator=(History&&) = default;
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  // Called about once a second. Deltas against the previous snapshot cover
  // [prev.unix_s, now.unix_s) and are spread evenly over the steps of that
  // interval (a stalled loop loses no ops); each step is closed when a
  // snapshot at or past its end arrives. Steps nobody counted in (the proxy
  // was down: the next snapshot is a Baseline or Reset) stay zero in the
  // recent_* queries and are NaN (missing) in the forecast_input_* ones, so a
  // restart's downtime is not learnt as a daily dip of load. A jump of
  // more than a ring writes at most one ring's worth of steps. A clock that
  // goes back adds into the open step.
  IngestResult ingest(const TelemetrySnapshot& snapshot);

  // Forecast inputs: every closed point held, oldest first, in ops/s; NaN
  // for a step nobody counted in (see ingest).
  Series forecast_input_segment(uint32_t first_slot, uint32_t last_slot) const;
  Series forecast_input_backend(size_t backend, BackendMetric metric = BackendMetric::Ops) const;
  // The sum over all slots (kept as its own ring: O(points), not O(slots * points)).
  Series forecast_input_all() const;
  // The sum over several slot ranges.
  Series forecast_input_ranges(const std::vector<std::pair<uint32_t, uint32_t>>& ranges) const;
  // The last n closed points (fewer if the history is shorter).
  Series recent_segment(uint32_t first_slot, uint32_t last_slot, size_t n) const;
  Series recent_backend(size_t backend, size_t n, BackendMetric metric = BackendMetric::Ops) const;
  // Per slot, the mean ops/s over the last n closed points (0 when none).
  std::vector<double> recent_slot_rates(size_t n) const;
  // Sources by total ops, largest first, "other" (if any) last.
  std::vector<SourceLoad> sources() const;

  // A backend a config reload added: its rings start at zero (its counters
  // in the workers are new, so its baseline is 0). The slot rings keep their
  // size, so the history may pass its budget by this backend's rings.
  void add_backend(const std::string& name);
  // Index of a backend name, or -1.
  int backend_index(const std::string& name) const;
  const std::vector<std::string>& backend_names() const { return backend_names_; }
  uint32_t slots() const { return slots_; }
  uint32_t step_s() const { return options_.step_s; }
  size_t slot_capacity() const { return slot_cap_; }
  size_t backend_capacity() const { return backend_cap_; }
  // Closed points held per slot ring (<= slot_capacity()).
  size_t points() const { return held(slot_cap_); }
  size_t backend_points() const { return held(backend_cap_); }
  // Start of the open (not yet closed) step; 0 before the first snapshot.
  uint64_t open_step_start() const { return open_start_; }
  // Bytes this object has allocated (vectors by capacity, maps by node).
  size_t memory_bytes() const;
  const Options& options() const { return options_; }

  // Binary file (layout in history_file.cc): header, names, points in
  // time order, open-step sums, sources, XXH64 trailer. Written to
  // <path>.tmp, fsynced, renamed over path, directory fsynced. Blocking I/O
  // of about slots * points * 4 B (~64 MiB at defaults): call it on shutdown
  // and at a low rate. IoError with the path on failure; path is untouched.
  Status save(const std::string& path) const;
  // A History for these options/slots/backends filled from the file. Errors
  // (the caller logs the message and starts fresh): NotFound, IoError,
  // Corrupt (magic, version, size, checksum, truncation), InvalidArgument
  // (a different slot count or step). Backends are matched by name: unknown
  // ones are dropped, new ones start at zero; a different budget keeps the
  // newest points that fit. No counter baseline is restored.
  static Result<History> load(const std::string& path, Options options, uint32_t slots,
                              std::vector<std::string> backend_names);

 private:
  static constexpr size_t kBackendMetrics = 5;  // reads, writes, other, bytes_in, bytes_out
  struct SourceStat {
    uint64_t total = 0;
    double ranked = -1;  // EWMA of rate (1 h half-life), -1 until a step closed: ranks the top
    double open = 0;     // ops in the open step
    double rate = 0;     // ops/s over the last closed step
  };
  struct Baseline {
    std::vector<uint64_t> slot_ops;  // reads, writes, other interleaved (3 per slot)
    std::vector<uint64_t> backend;   // 5 per backend (metric order of the rings)
    std::unordered_map<std::string, uint64_t> sources;
    uint64_t unix_s = 0;
  };

  size_t held(size_t cap) const { return static_cast<size_t>(std::min<uint64_t>(closed_, cap)); }
  // Ring index of the point that closed `back` steps ago (back = 1: newest).
  size_t ring_pos(size_t cap, size_t back) const { return (closed_ - back) % cap; }
  bool snapshot_fits(const TelemetrySnapshot& s) const;
  bool went_backwards(const TelemetrySnapshot& s) const;
  void remember(const TelemetrySnapshot& s);
  // Adds fraction f of the deltas (s - baseline) to the open step.
  void add_deltas(const TelemetrySnapshot& s, double f);
  void add_source_deltas(const TelemetrySnapshot& s);
  // Closes open steps up to the one containing unix_s (zeros for the empty ones).
  void advance_to(uint64_t unix_s);
  // Start of the oldest step a ring can still hold once unix_s is reached.
  uint64_t first_kept_step(uint64_t unix_s) const;
  // Jumps the open step forward to step_start, dropping what is in between.
  void skip_to(uint64_t step_start);
  void close_step();
  void trim_sources();
  Series slot_series(const std::vector<std::pair<uint32_t, uint32_t>>& ranges, size_t n) const;
  Series backend_series(size_t backend, BackendMetric metric, size_t n) const;
  // NaN for the points of s (the newest closed ones) that nobody counted in.
  Series mask_uncounted(Series s) const;

  Options options_;
  uint32_t slots_ = 0;
  std::vector<std::string> backend_names_;
  size_t slot_cap_ = 0;
  size_t backend_cap_ = 0;

  // Closed points: slot s, ring position p at slot_ring_[s * slot_cap_ + p];
  // backend b, metric m (reads, writes, other, bytes_in, bytes_out) at
  // backend_ring_[(b * 5 + m) * backend_cap_ + p]. Values are per step (counts).
  std::vector<float> slot_ring_;
  std::vector<double> all_ring_;  // per ring position, the sum over all slots
  std::vector<float> backend_ring_;
  // Per step (ring of backend_cap_, which is >= slot_cap_): 1 if snapshots
  // counted into it, 0 if the proxy was not running (or not counting) then.
  std::vector<uint8_t> counted_ring_;
  bool open_counted_ = false;         // the open step received deltas
  uint64_t closed_ = 0;               // steps closed since the history began (global point index)
  uint64_t open_start_ = 0;           // unix start of the open step (0: no snapshot yet)
  std::vector<double> slot_open_;     // per slot, ops in the open step
  std::vector<double> backend_open_;  // 5 per backend

  std::unordered_map<std::string, SourceStat> sources_;
  SourceStat other_source_;

  bool has_baseline_ = false;
  Baseline base_;
};

}  // namespace migrate
