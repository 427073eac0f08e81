// History: snapshot deltas into steps, the rings, the queries and the file
// format. Rings share one global point index (closed_), so a step closes for
// every slot and backend at once and a query needs no per-ring head.
#include "migrate/history.h"

#include <cmath>
#include <limits>

namespace migrate {
namespace {

constexpr double kSourceHalfLifeS = 3600;
// Per source the allowance assumes names of up to 64 bytes: a hash node with
// the pair, next pointer and cached hash, plus the name's heap block.
constexpr size_t kSourceNodeBytes = sizeof(std::string) + 64 + 32 + 80;
constexpr size_t kBaselineNodeBytes = sizeof(std::string) + 32 + 32 + 80;

// Heap a string holds beyond its inline buffer.
size_t heap_of(const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; }

template <typename Map>
size_t map_bytes(const Map& m) {
  size_t n = m.bucket_count() * sizeof(void*);
  for (const auto& [k, v] : m) {
    n += sizeof(typename Map::value_type) + 2 * sizeof(void*) + 16 + heap_of(k);
  }
  return n;
}

}  // namespace

History::History(Options options, uint32_t slots, std::vector<std::string> backend_names)
    : options_(options), slots_(slots), backend_names_(std::move(backend_names)) {
  if (options_.step_s == 0) {
    options_.step_s = 300;
  }
  const size_t nb = backend_names_.size();
  backend_cap_ = std::max<size_t>(options_.backend_points, 2);
  // Everything but the slot rings, so that the rings get what is left.
  size_t fixed = sizeof(History) + nb * kBackendMetrics * backend_cap_ * sizeof(float) +
                 backend_cap_ * sizeof(uint8_t) +
                 size_t{slots} * (3 * sizeof(uint64_t) + sizeof(double)) +
                 nb * kBackendMetrics * 2 * sizeof(uint64_t) +
                 (kMaxSources + kMaxSourceBaselines) * kSourceNodeBytes +
                 kMaxSourceBaselines * kBaselineNodeBytes;
  for (const std::string& n : backend_names_) {
    fixed += sizeof(std::string) + heap_of(n);
  }
  // Per point: a float per slot plus the all-slots sum (a double).
  const uint64_t per_point =
      uint64_t{std::max<uint32_t>(slots, 1)} * sizeof(float) + sizeof(double);
  const uint64_t budget = options_.memory_budget_bytes;
  const uint64_t left = budget > fixed ? budget - fixed : 0;
  // A segment's history longer than its backend's would never be used (and
  // small slot counts would otherwise get millions of points).
  slot_cap_ = std::clamp<size_t>(static_cast<size_t>(left / per_point), 2, backend_cap_);

  slot_ring_.assign(size_t{slots_} * slot_cap_, 0.0f);
  all_ring_.assign(slot_cap_, 0.0);
  backend_ring_.assign(nb * kBackendMetrics * backend_cap_, 0.0f);
  counted_ring_.assign(backend_cap_, 1);
  slot_open_.assign(slots_, 0.0);
  backend_open_.assign(nb * kBackendMetrics, 0.0);
}

void History::add_backend(const std::string& name) {
  backend_names_.push_back(name);
  backend_ring_.resize(backend_ring_.size() + kBackendMetrics * backend_cap_, 0.0f);
  backend_open_.resize(backend_open_.size() + kBackendMetrics, 0.0);
  if (has_baseline_) {
    base_.backend.resize(backend_names_.size() * kBackendMetrics, 0);
  }
}

// ---- ingest

bool History::snapshot_fits(const TelemetrySnapshot& s) const {
  const size_t nb = backend_names_.size();
  for (const auto* v : {&s.slot_reads, &s.slot_writes, &s.slot_other}) {
    if (v->size() != slots_) {
      return false;
    }
  }
  for (const auto* v : {&s.backend_reads, &s.backend_writes, &s.backend_other, &s.backend_bytes_in,
                        &s.backend_bytes_out}) {
    if (v->size() != nb) {
      return false;
    }
  }
  return true;
}

bool History::went_backwards(const TelemetrySnapshot& s) const {
  const uint64_t* b = base_.slot_ops.data();
  for (size_t i = 0; i < slots_; ++i, b += 3) {
    if (s.slot_reads[i] < b[0] || s.slot_writes[i] < b[1] || s.slot_other[i] < b[2]) {
      return true;
    }
  }
  const std::vector<uint64_t>* m[kBackendMetrics] = {&s.backend_reads, &s.backend_writes,
                                                     &s.backend_other, &s.backend_bytes_in,
                                                     &s.backend_bytes_out};
  for (size_t i = 0; i < backend_names_.size(); ++i) {
    for (size_t k = 0; k < kBackendMetrics; ++k) {
      if ((*m[k])[i] < base_.backend[i * kBackendMetrics + k]) {
        return true;
      }
    }
  }
  return false;
}

void History::remember(const TelemetrySnapshot& s) {
  base_.slot_ops.resize(size_t{slots_} * 3);
  for (size_t i = 0; i < slots_; ++i) {
    base_.slot_ops[i * 3] = s.slot_reads[i];
    base_.slot_ops[i * 3 + 1] = s.slot_writes[i];
    base_.slot_ops[i * 3 + 2] = s.slot_other[i];
  }
  const std::vector<uint64_t>* m[kBackendMetrics] = {&s.backend_reads, &s.backend_writes,
                                                     &s.backend_other, &s.backend_bytes_in,
                                                     &s.backend_bytes_out};
  base_.backend.resize(backend_names_.size() * kBackendMetrics);
  for (size_t i = 0; i < backend_names_.size(); ++i) {
    for (size_t k = 0; k < kBackendMetrics; ++k) {
      base_.backend[i * kBackendMetrics + k] = (*m[k])[i];
    }
  }
  // Sources absent from this snapshot lose their baseline: the proxy dropped them.
  std::unordered_map<std::string, uint64_t> next;
  next.reserve(std::min(s.sources.size(), kMaxSourceBaselines));
  // The same first kMaxSourceBaselines entries add_source_deltas() reads.
  const size_t n = std::min(s.sources.size(), kMaxSourceBaselines);
  for (size_t i = 0; i < n; ++i) {
    next.emplace(s.sources[i].first, s.sources[i].second);
  }
  base_.sources.swap(next);
  base_.unix_s = s.unix_s;
  has_baseline_ = true;
}

void History::add_deltas(const TelemetrySnapshot& s, double f) {
  if (f <= 0) {
    return;
  }
  open_counted_ = true;
  const uint64_t* b = base_.slot_ops.data();
  for (size_t i = 0; i < slots_; ++i, b += 3) {
    const uint64_t d =
        (s.slot_reads[i] - b[0]) + (s.slot_writes[i] - b[1]) + (s.slot_other[i] - b[2]);
    if (d != 0) {
      slot_open_[i] += f * static_cast<double>(d);
    }
  }
  const std::vector<uint64_t>* m[kBackendMetrics] = {&s.backend_reads, &s.backend_writes,
                                                     &s.backend_other, &s.backend_bytes_in,
                                                     &s.backend_bytes_out};
  for (size_t i = 0; i < backend_names_.size(); ++i) {
    for (size_t k = 0; k < kBackendMetrics; ++k) {
      const size_t j = i * kBackendMetrics + k;
      backend_open_[j] += f * static_cast<double>((*m[k])[i] - base_.backend[j]);
    }
  }
}

void History::add_source_deltas(const TelemetrySnapshot& s) {
  size_t followed = 0;
  for (const auto& [name, ops] : s.sources) {
    if (++followed > kMaxSourceBaselines) {
      break;
    }
    auto it = base_.sources.find(name);
    // A new name starts from zero; one that went backwards restarted: baseline only.
    const uint64_t prev = it == base_.sources.end() ? 0 : it->second;
    if (ops <= prev) {
      continue;
    }
    SourceStat& st = sources_[name];
    st.total += ops - prev;
    st.open += static_cast<double>(ops - prev);
  }
}

void History::close_step() {
  const size_t p = closed_ % slot_cap_;
  double all = 0;
  for (size_t i = 0; i < slots_; ++i) {
    const float v = static_cast<float>(slot_open_[i]);
    slot_ring_[i * slot_cap_ + p] = v;
    all += v;  // the sum of what is stored, so all - parts stays exact enough
  }
  all_ring_[p] = all;
  std::fill(slot_open_.begin(), slot_open_.end(), 0.0);
  const size_t q = closed_ % backend_cap_;
  for (size_t j = 0; j < backend_open_.size(); ++j) {
    backend_ring_[j * backend_cap_ + q] = static_cast<float>(backend_open_[j]);
  }
  std::fill(backend_open_.begin(), backend_open_.end(), 0.0);
  counted_ring_[q] = open_counted_ ? 1 : 0;
  open_counted_ = false;
  // The rank is an EWMA of the rate; a source's first step sets it outright
  // so that a new heavy client enters the top at once.
  const double keep = std::exp2(-static_cast<double>(options_.step_s) / kSourceHalfLifeS);
  auto roll = [&](SourceStat& st) {
    st.rate = st.open / options_.step_s;
    st.ranked = st.ranked < 0 ? st.rate : keep * st.ranked + (1 - keep) * st.rate;
    st.open = 0;
  };
  for (auto& [name, st] : sources_) {
    roll(st);
  }
  roll(other_source_);
  ++closed_;
  open_start_ += options_.step_s;
  trim_sources();  // here, when every source has a rank
}

void History::trim_sources() {
  if (sources_.size() <= kMaxSources) {
    return;
  }
  std::vector<std::pair<double, const std::string*>> rank;
  rank.reserve(sources_.size());
  for (const auto& [name, st] : sources_) {
    rank.emplace_back(st.ranked, &name);
  }
  const size_t drop = sources_.size() - kMaxSources;
  std::nth_element(rank.begin(), rank.begin() + static_cast<long>(drop), rank.end());
  std::vector<std::string> names;
  for (size_t i = 0; i < drop; ++i) {
    names.push_back(*rank[i].second);
  }
  for (const std::string& n : names) {
    auto it = sources_.find(n);
    other_source_.total += it->second.total;
    other_source_.open += it->second.open;
    other_source_.rate += it->second.rate;
    other_source_.ranked = std::max(other_source_.ranked, 0.0) + std::max(it->second.ranked, 0.0);
    sources_.erase(it);
  }
}

uint64_t History::first_kept_step(uint64_t unix_s) const {
  const uint64_t step = options_.step_s;
  const uint64_t reach = std::max(slot_cap_, backend_cap_) * step;
  const uint64_t t_step = unix_s - unix_s % step;
  return t_step > open_start_ + reach ? t_step - reach : open_start_;
}

void History::skip_to(uint64_t step_start) {
  // Every position of every ring is rewritten by the closes that follow.
  closed_ += (step_start - open_start_) / options_.step_s;
  open_start_ = step_start;
  std::fill(slot_open_.begin(), slot_open_.end(), 0.0);
  std::fill(backend_open_.begin(), backend_open_.end(), 0.0);
}

void History::advance_to(uint64_t unix_s) {
  if (const uint64_t keep_from = first_kept_step(unix_s); keep_from > open_start_) {
    skip_to(keep_from);
  }
  while (open_start_ + options_.step_s <= unix_s) {
    close_step();
  }
}

IngestResult History::ingest(const TelemetrySnapshot& s) {
  if (!snapshot_fits(s)) {
    return IngestResult::BadShape;
  }
  const uint64_t t = s.unix_s;
  const uint64_t step = options_.step_s;
  if (!has_baseline_ || went_backwards(s)) {
    const bool reset = has_baseline_;
    if (open_start_ == 0) {
      open_start_ = t - t % step;
    } else {
      advance_to(t);  // the steps we could not see stay zero
    }
    remember(s);
    return reset ? IngestResult::Reset : IngestResult::Baseline;
  }
  add_source_deltas(s);  // into the oldest step of the interval: sources keep no rings
  const uint64_t from = base_.unix_s;
  if (t <= from || t < open_start_ + step) {
    add_deltas(s, 1.0);  // within the open step, or the clock went back
  } else {
    // Spread [from, t) over the steps it covers; a far jump skips what no ring keeps.
    const double span = static_cast<double>(t - from);
    uint64_t cursor = from;
    if (const uint64_t keep_from = first_kept_step(t); keep_from > open_start_) {
      skip_to(keep_from);  // the share of the skipped steps is dropped with them
      cursor = std::max(cursor, keep_from);
    }
    while (open_start_ + step <= t) {
      const uint64_t end = open_start_ + step;
      add_deltas(s, static_cast<double>(end - std::min(cursor, end)) / span);
      close_step();
      cursor = std::max(cursor, end);
    }
    add_deltas(s, static_cast<double>(t - std::min(cursor, t)) / span);
  }
  remember(s);
  return IngestResult::Counted;
}

// ---- queries

Series History::slot_series(const std::vector<std::pair<uint32_t, uint32_t>>& ranges,
                            size_t n) const {
  n = std::min(n, points());
  Series out{open_start_ - n * options_.step_s, options_.step_s, std::vector<double>(n, 0.0)};
  if (n == 0) {
    return out;
  }
  // The window is at most two contiguous runs of each slot's ring.
  const size_t p0 = ring_pos(slot_cap_, n);
  const size_t run = std::min(n, slot_cap_ - p0);
  double* v = out.values.data();
  for (const auto& [first, last] : ranges) {
    for (uint64_t s = first; s <= last && s < slots_; ++s) {
      const float* r = slot_ring_.data() + s * slot_cap_;
      for (size_t i = 0; i < run; ++i) {
        v[i] += r[p0 + i];
      }
      for (size_t i = run; i < n; ++i) {
        v[i] += r[i - run];
      }
    }
  }
  for (double& x : out.values) {
    x /= options_.step_s;
  }
  return out;
}

Series History::backend_series(size_t backend, BackendMetric metric, size_t n) const {
  n = backend < backend_names_.size() ? std::min(n, backend_points()) : 0;
  Series out{open_start_ - n * options_.step_s, options_.step_s, std::vector<double>(n, 0.0)};
  size_t k0 = 0, k1 = 3;  // Ops = reads + writes + other
  if (metric != BackendMetric::Ops) {
    k0 = static_cast<size_t>(metric) - 1;
    k1 = k0 + 1;
  }
  const size_t p0 = n > 0 ? ring_pos(backend_cap_, n) : 0;
  for (size_t k = k0; k < k1 && n > 0; ++k) {
    const float* r = backend_ring_.data() + (backend * kBackendMetrics + k) * backend_cap_;
    for (size_t i = 0, p = p0; i < n; ++i, p = p + 1 == backend_cap_ ? 0 : p + 1) {
      out.values[i] += r[p];
    }
  }
  for (double& x : out.values) {
    x /= options_.step_s;
  }
  return out;
}

Series History::mask_uncounted(Series s) const {
  const size_t n = s.values.size();  // the newest n closed points; n <= backend_cap_
  for (size_t i = 0; i < n; ++i) {
    if (counted_ring_[ring_pos(backend_cap_, n - i)] == 0) {
      s.values[i] = std::numeric_limits<double>::quiet_NaN();
    }
  }
  return s;
}

Series History::forecast_input_segment(uint32_t first_slot, uint32_t last_slot) const {
  return mask_uncounted(slot_series({{first_slot, last_slot}}, points()));
}
Series History::forecast_input_backend(size_t backend, BackendMetric metric) const {
  return mask_uncounted(backend_series(backend, metric, backend_points()));
}
Series History::forecast_input_ranges(
    const std::vector<std::pair<uint32_t, uint32_t>>& ranges) const {
  return mask_uncounted(slot_series(ranges, points()));
}
Series History::forecast_input_all() const {
  const size_t n = points();
  Series out{open_start_ - n * options_.step_s, options_.step_s, std::vector<double>(n)};
  for (size_t i = 0; i < n; ++i) {
    out.values[i] = all_ring_[ring_pos(slot_cap_, n - i)] / options_.step_s;
  }
  return mask_uncounted(std::move(out));
}
Series History::recent_segment(uint32_t first_slot, uint32_t last_slot, size_t n) const {
  return slot_series({{first_slot, last_slot}}, n);
}
Series History::recent_backend(size_t backend, size_t n, BackendMetric metric) const {
  return backend_series(backend, metric, n);
}

std::vector<double> History::recent_slot_rates(size_t n) const {
  n = std::min(n, points());
  std::vector<double> out(slots_, 0.0);
  const size_t p0 = n > 0 ? ring_pos(slot_cap_, n) : 0;
  for (size_t s = 0; s < slots_ && n > 0; ++s) {
    const float* r = slot_ring_.data() + s * slot_cap_;
    double sum = 0;
    for (size_t i = 0, p = p0; i < n; ++i, p = p + 1 == slot_cap_ ? 0 : p + 1) {
      sum += r[p];
    }
    out[s] = sum / static_cast<double>(n * options_.step_s);
  }
  return out;
}

std::vector<SourceLoad> History::sources() const {
  std::vector<SourceLoad> out;
  out.reserve(sources_.size() + 1);
  for (const auto& [name, st] : sources_) {
    out.push_back({name, st.total, st.rate});
  }
  std::sort(out.begin(), out.end(), [](const SourceLoad& a, const SourceLoad& b) {
    return a.total_ops != b.total_ops ? a.total_ops > b.total_ops : a.name < b.name;
  });
  if (other_source_.total > 0) {
    out.push_back({"other", other_source_.total, other_source_.rate});
  }
  return out;
}

int History::backend_index(const std::string& name) const {
  for (size_t i = 0; i < backend_names_.size(); ++i) {
    if (backend_names_[i] == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

size_t History::memory_bytes() const {
  size_t n = sizeof(History);
  n += slot_ring_.capacity() * sizeof(float) + backend_ring_.capacity() * sizeof(float);
  n += counted_ring_.capacity() * sizeof(uint8_t);
  n += (all_ring_.capacity() + slot_open_.capacity() + backend_open_.capacity()) * sizeof(double);
  n += (base_.slot_ops.capacity() + base_.backend.capacity()) * sizeof(uint64_t);
  n += backend_names_.capacity() * sizeof(std::string);
  for (const std::string& name : backend_names_) {
    n += heap_of(name);
  }
  return n + map_bytes(sources_) + map_bytes(base_.sources);
}

}  // namespace migrate
