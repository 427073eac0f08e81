// Keyspace construction (key names per slot group, with the proxy's CRC16) and the seasonal
// rate model of workload.h.
#include "loadgen/workload.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <utility>

#include "proxy/slot.h"

namespace loadgen {
namespace {

proxy::Status invalid(std::string msg) {
  return proxy::Status(proxy::Code::InvalidArgument, std::move(msg));
}

proxy::Status check(const WorkloadConfig& c) {
  if (c.slots < 1 || c.slots > 65536) return invalid("slots must be in 1..65536");
  if (c.groups < 1 || c.groups > c.slots || c.groups > 65535)
    return invalid("groups must be in 1..min(slots, 65535)");
  if (c.keys < c.groups || c.keys > 50'000'000) return invalid("keys must be in groups..5e7");
  if (!(c.day_seconds > 0)) return invalid("day-seconds must be > 0");
  if (!(c.peak_ops > 0)) return invalid("peak-ops must be > 0");
  if (c.zipf < 0 || c.zipf > 10) return invalid("zipf must be in [0, 10]");
  if (c.amplitude < 0 || c.amplitude > 1) return invalid("amplitude must be in [0, 1]");
  if (!c.group_peaks.empty() && c.group_peaks.size() != c.groups)
    return invalid("group-peaks needs one hour per group");
  if (!c.group_amps.empty() && c.group_amps.size() != c.groups)
    return invalid("group-amps needs one amplitude per group");
  for (double a : c.group_amps) {
    if (a < 0 || a > 1) return invalid("each group amplitude must be in [0, 1]");
  }
  if (c.flash_at >= 0) {
    if (c.flash_first > c.flash_last || c.flash_last >= c.slots)
      return invalid("flash-slots must be a-b with a <= b < slots");
    if (!(c.flash_mult >= 1)) return invalid("flash-mult must be >= 1");
  }
  return proxy::Status::ok();
}

}  // namespace

proxy::Result<Workload> Workload::build(const WorkloadConfig& cfg) {
  if (auto st = check(cfg); !st.is_ok()) return st;
  Workload w;
  w.cfg_ = cfg;
  if (w.cfg_.flash_duration <= 0) w.cfg_.flash_duration = cfg.day_seconds / 24;
  const uint32_t G = cfg.groups, S = cfg.slots;
  uint64_t rng = cfg.seed;
  for (uint32_t g = 0; g < G; ++g) {
    Group gr{};
    gr.first_slot = static_cast<uint32_t>(uint64_t{g} * S / G);
    gr.last_slot = static_cast<uint32_t>(uint64_t{g + 1} * S / G) - 1;
    double u = static_cast<double>(splitmix64(rng) >> 11) * 0x1.0p-53;
    gr.amplitude = cfg.group_amps.empty() ? cfg.amplitude * (0.75 + 0.25 * u) : cfg.group_amps[g];
    double peak = cfg.group_peaks.empty()
                      ? cfg.peak_hour + (G > 1 ? cfg.phase_spread * (double(g) / (G - 1) - 0.5) : 0)
                      : cfg.group_peaks[g];
    gr.peak_hour = std::fmod(std::fmod(peak, 24) + 24, 24);
    w.groups_.push_back(gr);
  }

  // Names "<prefix><n>" for n = 0, 1, ... each kept if its group still has room, so every
  // group gets keys/G keys (the first keys%G groups one more) spread over its slots.
  std::vector<uint16_t> group_of(S);
  for (uint32_t g = 0; g < G; ++g) {
    std::fill(group_of.begin() + w.groups_[g].first_slot,
              group_of.begin() + w.groups_[g].last_slot + 1, static_cast<uint16_t>(g));
  }
  std::vector<std::vector<std::pair<uint16_t, uint64_t>>> chosen(G);  // (slot, n)
  uint64_t missing = cfg.keys;
  std::string name = cfg.key_prefix;
  const uint64_t limit = cfg.keys * 200 + 10'000'000;
  for (uint64_t n = 0; missing > 0; ++n) {
    if (n == limit) return invalid("could not find enough keys for every group");
    name.resize(cfg.key_prefix.size());
    name += std::to_string(n);
    uint16_t slot = proxy::key_slot(name, S);
    uint32_t g = group_of[slot];
    uint64_t quota = cfg.keys / G + (g < cfg.keys % G ? 1 : 0);
    if (chosen[g].size() < quota) {
      chosen[g].emplace_back(slot, n);
      --missing;
    }
  }
  w.offsets_.push_back(0);
  for (uint32_t g = 0; g < G; ++g) {
    auto& v = chosen[g];
    std::sort(v.begin(), v.end());
    Group& gr = w.groups_[g];
    gr.key_begin = static_cast<uint32_t>(w.offsets_.size() - 1);
    gr.flash_begin = gr.flash_end = gr.key_begin;
    bool seen_flash = false;
    for (auto [slot, n] : v) {
      uint32_t idx = static_cast<uint32_t>(w.offsets_.size() - 1);
      bool in_flash = cfg.flash_at >= 0 && slot >= cfg.flash_first && slot <= cfg.flash_last;
      if (in_flash) {
        if (!seen_flash) gr.flash_begin = idx;
        seen_flash = true;
        gr.flash_end = idx + 1;
      }
      std::string key = cfg.key_prefix + std::to_string(n);
      std::string enc = "$" + std::to_string(key.size()) + "\r\n" + key + "\r\n";
      w.arena_.insert(w.arena_.end(), enc.begin(), enc.end());
      w.offsets_.push_back(static_cast<uint32_t>(w.arena_.size()));
    }
    gr.key_end = static_cast<uint32_t>(w.offsets_.size() - 1);
    w.flash_keys_ += gr.flash_end - gr.flash_begin;
  }
  if (cfg.flash_at >= 0 && w.flash_keys_ == 0)
    return invalid("no key falls in the flash slot range: widen it or raise --keys");

  if (cfg.zipf > 0) {
    uint32_t n_max = 0;
    for (const Group& gr : w.groups_) n_max = std::max(n_max, gr.key_end - gr.key_begin);
    double acc = 0;
    for (uint32_t r = 0; r < n_max; ++r) {
      acc += std::pow(double(r) + 1, -cfg.zipf);
      w.zipf_cdf_.push_back(acc);
    }
    w.rank_to_key_.resize(w.key_count());
    for (const Group& gr : w.groups_) {
      for (uint32_t k = gr.key_begin; k < gr.key_end; ++k) w.rank_to_key_[k] = k;
      for (uint32_t k = gr.key_end - 1; k > gr.key_begin; --k) {  // Fisher-Yates
        std::swap(w.rank_to_key_[k],
                  w.rank_to_key_[gr.key_begin + splitmix64(rng) % (k - gr.key_begin + 1)]);
      }
    }
  }

  double peak = 0;
  for (int m = 0; m < 24 * 60; ++m) peak = std::max(peak, w.base_weight(m / 60.0));
  w.norm_ = peak > 0 ? peak : 1;
  w.cum_.resize(2 * G);
  w.refresh(0);
  return w;
}

double Workload::hour_at(double t) const {
  double h = std::fmod(cfg_.start_hour + 24.0 * t / cfg_.day_seconds, 24.0);
  return h < 0 ? h + 24 : h;
}

double Workload::group_weight(uint32_t g, double hour) const {
  const Group& gr = groups_[g];
  return 1 + gr.amplitude * std::cos(2 * std::numbers::pi * (hour - gr.peak_hour) / 24);
}

double Workload::base_weight(double hour) const {
  double s = 0;
  for (uint32_t g = 0; g < groups_.size(); ++g) s += group_weight(g, hour);
  return s;
}

bool Workload::flash_active(double t) const {
  return cfg_.flash_at >= 0 && t >= cfg_.flash_at && t < cfg_.flash_at + cfg_.flash_duration;
}

// Each flash key gets (mult - 1) times its normal share on top: a group's flash set weighs
// (mult - 1) * w_g * |flash keys of g| / |keys of g|.
double Workload::flash_weight(uint32_t g, double hour) const {
  const Group& gr = groups_[g];
  double frac = double(gr.flash_end - gr.flash_begin) / double(gr.key_end - gr.key_begin);
  return (cfg_.flash_mult - 1) * group_weight(g, hour) * frac;
}

double Workload::target_rate(double t) const {
  double h = hour_at(t);
  double w = base_weight(h);
  if (flash_active(t)) {
    for (uint32_t g = 0; g < groups_.size(); ++g) w += flash_weight(g, h);
  }
  return cfg_.peak_ops * w / norm_;
}

void Workload::refresh(double t) {
  const size_t G = groups_.size();
  double h = hour_at(t);
  bool flash = flash_active(t);
  double acc = 0;
  for (size_t g = 0; g < G; ++g) {
    acc += group_weight(static_cast<uint32_t>(g), h);
    cum_[g] = acc;
  }
  for (size_t g = 0; g < G; ++g) {
    if (flash) acc += flash_weight(static_cast<uint32_t>(g), h);
    cum_[G + g] = acc;
  }
}

Pick Workload::pick(double u01, uint64_t r) const {
  const size_t G = groups_.size();
  double x = u01 * cum_.back();
  size_t i = static_cast<size_t>(std::upper_bound(cum_.begin(), cum_.end(), x) - cum_.begin());
  if (i >= cum_.size()) i = cum_.size() - 1;
  // Skip zero-width entries that upper_bound can land on only at the very top.
  while (i > 0 && cum_[i] == cum_[i - 1]) --i;
  bool flash = i >= G;
  const Group& gr = groups_[flash ? i - G : i];
  const auto group = static_cast<uint16_t>(i % G);
  if (!flash && !zipf_cdf_.empty()) {
    uint32_t n = gr.key_end - gr.key_begin;
    double y = static_cast<double>(r >> 3) * 0x1.0p-53 * zipf_cdf_[n - 1];
    auto rank = static_cast<uint32_t>(
        std::upper_bound(zipf_cdf_.begin(), zipf_cdf_.begin() + n, y) - zipf_cdf_.begin());
    return Pick{rank_to_key_[gr.key_begin + std::min(rank, n - 1)], group, false};
  }
  uint32_t begin = flash ? gr.flash_begin : gr.key_begin;
  uint32_t end = flash ? gr.flash_end : gr.key_end;
  return Pick{begin + static_cast<uint32_t>(r % (end - begin)), group, flash};
}

}  // namespace loadgen
