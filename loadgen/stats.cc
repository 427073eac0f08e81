// Counting, the per-second progress line and the JSON summary of stats.h. The JSON is written
// by hand (no JSON library among the dependencies); strings are escaped, numbers are finite.
#include "loadgen/stats.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace loadgen {
namespace {

double ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

std::string num(double v, int prec = 3) {
  if (!std::isfinite(v)) v = 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string latency_obj(const Histogram& h) {
  return "{\"count\": " + std::to_string(h.count()) + ", \"p50\": " + num(ms(h.percentile(0.5))) +
         ", \"p99\": " + num(ms(h.percentile(0.99))) +
         ", \"p999\": " + num(ms(h.percentile(0.999))) + ", \"max\": " + num(ms(h.max())) + "}";
}

template <typename V>
std::string int_list(const V& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

Stats::Stats(uint32_t groups) : group_hour_(groups), sec_groups_(groups) {}

void Stats::answered(uint64_t latency_ns, uint16_t group, uint8_t hour, bool flash,
                     bool error_reply) {
  overall_.record(latency_ns);
  by_hour_[hour].record(latency_ns);
  sec_hist_.record(latency_ns);
  if (error_reply) {
    ++errors.error_replies;
    return;
  }
  ++ok_;
  ++sec_ok_;
  ++group_hour_[group][hour];
  ++sec_groups_[group];
  flash_ops_ += flash ? 1 : 0;
}

void Stats::error_sample(const std::string& reply) {
  if (samples_.size() >= 8) return;
  for (const auto& s : samples_) {
    if (s == reply) return;
  }
  samples_.push_back(reply);
}

void Stats::close_second(const Workload& w, double t, double interval, double target_ops,
                         bool quiet) {
  SecondSample s;
  s.t = t;
  s.sim_hour = w.hour_at(t);
  s.target = interval > 0 ? target_ops / interval : 0;
  s.achieved = interval > 0 ? static_cast<double>(sec_ok_) / interval : 0;
  s.p50_ms = ms(sec_hist_.percentile(0.5));
  s.p99_ms = ms(sec_hist_.percentile(0.99));
  s.errors = errors.total() - sec_errors_base_;
  s.group_ops = sec_groups_;
  target_total_ += target_ops;
  if (!quiet) {
    int minutes = static_cast<int>(s.sim_hour * 60);
    std::fprintf(stderr,
                 "[loadgen] t=%6.1fs sim=%02d:%02d target=%8.0f/s achieved=%8.0f/s "
                 "p50=%7.3fms p99=%7.3fms errors=%llu%s\n",
                 t, minutes / 60, minutes % 60, s.target, s.achieved, s.p50_ms, s.p99_ms,
                 static_cast<unsigned long long>(errors.total()),
                 w.flash_active(t - interval / 2) ? " FLASH" : "");
  }
  series_.push_back(std::move(s));
  sec_hist_.reset();
  sec_ok_ = 0;
  sec_errors_base_ = errors.total();
  std::fill(sec_groups_.begin(), sec_groups_.end(), 0);
}

std::string Stats::summary_json(const Workload& w, const RunInfo& run, double elapsed) const {
  const WorkloadConfig& c = w.config();
  std::ostringstream o;
  o << "{\n  \"config\": {\"host\": " << quote(run.host) << ", \"port\": " << run.port
    << ", \"connections\": " << run.connections << ", \"pipeline\": " << run.pipeline
    << ", \"duration_s\": " << num(run.duration) << ", \"day_seconds\": " << num(c.day_seconds)
    << ", \"start_hour\": " << num(c.start_hour) << ", \"peak_ops\": " << num(c.peak_ops)
    << ", \"keys\": " << c.keys << ", \"value_size\": " << run.value_size
    << ", \"read_ratio\": " << num(run.read_ratio) << ", \"groups\": " << c.groups
    << ", \"slots\": " << c.slots << ", \"timeout_ms\": " << run.timeout_ms
    << ", \"prefill\": " << (run.prefill ? "true" : "false") << ", \"zipf\": " << num(c.zipf)
    << ", \"seed\": " << c.seed << "},\n";
  o << "  \"elapsed_s\": " << num(elapsed) << ",\n";
  o << "  \"total_ops\": " << ok_ << ",\n  \"requests_sent\": " << sent
    << ",\n  \"prefilled_keys\": " << prefilled << ",\n  \"target_ops\": " << num(target_total_, 0)
    << ",\n  \"ops_per_sec\": " << num(elapsed > 0 ? ok_ / elapsed : 0, 1) << ",\n";
  o << "  \"errors\": {\"total\": " << errors.total()
    << ", \"error_replies\": " << errors.error_replies << ", \"timeouts\": " << errors.timeouts
    << ", \"dropped\": " << errors.dropped << ", \"connect_failures\": " << errors.connect_failures
    << ", \"disconnects\": " << errors.disconnects << ", \"protocol\": " << errors.protocol
    << ", \"reconnects\": " << reconnects << ", \"samples\": [";
  for (size_t i = 0; i < samples_.size(); ++i) o << (i ? ", " : "") << quote(samples_[i]);
  o << "]},\n";
  o << "  \"latency_ms\": " << latency_obj(overall_) << ",\n  \"latency_by_hour_ms\": [\n";
  for (int h = 0; h < 24; ++h) {
    o << "    " << latency_obj(by_hour_[h]) << (h < 23 ? ",\n" : "\n");
  }
  o << "  ],\n  \"groups\": [\n";
  const auto& groups = w.groups();
  for (size_t g = 0; g < groups.size(); ++g) {
    const Group& gr = groups[g];
    o << "    {\"group\": " << g << ", \"first_slot\": " << gr.first_slot
      << ", \"last_slot\": " << gr.last_slot << ", \"keys\": " << gr.key_end - gr.key_begin
      << ", \"peak_hour\": " << num(gr.peak_hour) << ", \"amplitude\": " << num(gr.amplitude)
      << ", \"ops_by_hour\": " << int_list(group_hour_[g]) << "}"
      << (g + 1 < groups.size() ? ",\n" : "\n");
  }
  o << "  ],\n  \"flash\": ";
  if (c.flash_at >= 0) {
    o << "{\"at_s\": " << num(c.flash_at) << ", \"duration_s\": " << num(c.flash_duration)
      << ", \"first_slot\": " << c.flash_first << ", \"last_slot\": " << c.flash_last
      << ", \"mult\": " << num(c.flash_mult) << ", \"keys\": " << w.flash_key_count()
      << ", \"extra_ops\": " << flash_ops_ << "}";
  } else {
    o << "null";
  }
  o << ",\n  \"series\": [\n";
  for (size_t i = 0; i < series_.size(); ++i) {
    const SecondSample& s = series_[i];
    o << "    {\"t\": " << num(s.t) << ", \"sim_hour\": " << num(s.sim_hour, 2)
      << ", \"target\": " << num(s.target, 1) << ", \"achieved\": " << num(s.achieved, 1)
      << ", \"p50_ms\": " << num(s.p50_ms) << ", \"p99_ms\": " << num(s.p99_ms)
      << ", \"errors\": " << s.errors << ", \"group_ops\": " << int_list(s.group_ops) << "}"
      << (i + 1 < series_.size() ? ",\n" : "\n");
  }
  o << "  ]\n}\n";
  return o.str();
}

}  // namespace loadgen
