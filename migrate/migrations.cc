// Migrations implementation (see migrations.h).
#include "migrate/migrations.h"

#include <algorithm>
#include <charconv>

#include "proxy/log.h"

namespace migrate {

namespace {

using proxy::SegmentMap;
using proxy::SegmentState;

bool parse_u32(const std::string& s, uint32_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string err(bool* error, std::string msg) {
  *error = true;
  return msg;
}

std::string range(uint32_t first, uint32_t last) {
  return "slots " + std::to_string(first) + "-" + std::to_string(last);
}


// Switch pauses are milliseconds; phases run from milliseconds to hours.
const std::vector<double> kPauseBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,   0.25,   0.5,   1,    2,     5};
const std::vector<double> kPhaseBounds = {0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 1800, 7200};
constexpr Phase kTimedPhases[] = {Phase::Preflight, Phase::Copy, Phase::CatchUp,
                                  Phase::Switching, Phase::Cleanup};
}  // namespace

Migrations::Migrations(proxy::ProxyContext& ctx, MapAuthority& auth)
    : ctx_(ctx), auth_(auth), journal_(ctx.config->data_dir) {
  gauges_.switch_pause = proxy::SecondsHistogram(kPauseBounds);
  for (Phase p : kTimedPhases) {
    gauges_.phase_durations.emplace_back(phase_metric_label(p), proxy::SecondsHistogram(kPhaseBounds));
  }
  recover();
}

Migrations::~Migrations() { shutdown(); }

void Migrations::shutdown() {
  std::unique_ptr<Migration> running;
  {
    std::lock_guard<std::mutex> lock(mu_);
    running = std::move(running_);
    queue_.clear();
  }
  if (running) {
    running->set_shutting_down();
    running.reset();  // asks it to abort and joins: the map goes back to the source
  }
  if (recovery_.joinable()) {
    recovery_.join();
  }
}

void Migrations::recover() {
  auto map = auth_.current();
  const auto& names = map->backend_names();
  for (uint32_t i = 0; i < map->size(); ++i) {
    const proxy::Segment s = map->segment(i);
    if (s.state == SegmentState::Stable) {
      continue;
    }
    // Interrupted before STABLE(dst) was saved: the source is complete.
    journal_.add({names[s.dst], s.first, s.last});
    auto r = auth_.apply(
        [&](const SegmentMap& m) { return m.with_state(m.segment_of_slot(s.first),
                                                       SegmentState::Stable, 0); },
        range(s.first, s.last) + " back to " + names[s.owner] +
            " (the move was interrupted by a restart)");
    if (!r.is_ok()) {
      LOG_ERROR("migrate", "cannot undo the interrupted move of {}: {}", range(s.first, s.last),
                r.status().message());
    }
  }
  start_cleanups();
}

void Migrations::start_cleanups() {
  auto jobs = journal_.jobs();
  last_cleanup_try_ = std::chrono::steady_clock::now();
  if (jobs.empty() || recovering_) {
    return;
  }
  if (recovery_.joinable()) {
    recovery_.join();  // the previous round has ended (recovering_ is false)
  }
  recovering_ = true;
  recovery_ = std::thread([this, jobs] {
    for (const CleanupJob& j : jobs) {
      int b = ctx_.config->backend_index(j.backend);
      auto map = auth_.current();
      if (b < 0 || owns_any(*map, uint16_t(b), j.first, j.last)) {
        journal_.remove(j);  // gone from the config, or the owner again: nothing to delete
        continue;
      }
      uint64_t deleted = 0;
      proxy::Status s = Migration::delete_range(ctx_.config->backends[b], ctx_.config->slots,
                                                j.first, j.last, 5000, &deleted);
      if (s.is_ok()) {
        journal_.remove(j);
      }
      LOG_INFO("migrate", "journalled cleanup: {} on {}: {} keys removed{}",
               range(j.first, j.last), j.backend, deleted,
               s.is_ok() ? "" : " (incomplete: " + s.message() + ")");
    }
    std::lock_guard<std::mutex> lock(mu_);
    recovering_ = false;
  });
}

void Migrations::poll() {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_ && running_->finished()) {
    running_->join();
    std::string line = running_->describe();
    history_.push_back(line);
    if (history_.size() > 50) {
      history_.erase(history_.begin());
    }
    record_finished(*running_);
    running_.reset();
  }
  if (running_ || recovering_) {
    return;
  }
  // Cleanups that failed (a backend was down) are retried every 10 s.
  if (queue_.empty() && std::chrono::steady_clock::now() - last_cleanup_try_ > std::chrono::seconds(10)) {
    start_cleanups();
    return;
  }
  while (!queue_.empty()) {
    Move m = queue_.front();
    queue_.pop_front();
    auto map = auth_.current();
    uint32_t i = map->segment_of_slot(m.first);
    const proxy::Segment& s = map->segment(i);
    if (s.first != m.first || s.last != m.last || s.state != SegmentState::Stable ||
        s.owner == m.dst) {
      history_.push_back(range(m.first, m.last) + " skipped: the segment changed or already "
                         "lives there");
      continue;
    }
    running_ = std::make_unique<Migration>(ctx_, auth_, journal_, m.first, m.last, s.owner, m.dst,
                                           options_for(*ctx_.config));
    running_->start();
    break;
  }
}

size_t Migrations::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size() + (running_ ? 1 : 0);
}


void Migrations::record_finished(const Migration& m) {
  if (m.phase() == Phase::Done) {
    ++gauges_.done;
    gauges_.switch_pause.observe(m.switch_pause_ms() / 1000.0);
  } else {
    ++gauges_.aborted;
  }
  gauges_.keys_copied += m.keys_copied();
  gauges_.bytes_copied += m.bytes_copied();
  gauges_.mismatches += m.mismatches();
  gauges_.connections_killed += m.connections_killed();
  gauges_.destination_reads += m.destination_reads();
  for (auto& [label, h] : gauges_.phase_durations) {
    for (Phase p : kTimedPhases) {
      if (label == phase_metric_label(p) && m.phase_seconds(p) > 0) {
        h.observe(m.phase_seconds(p));
      }
    }
  }
}

std::vector<Migrations::Flight> Migrations::in_flight() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Flight> out;
  if (running_ && !running_->finished()) {
    out.push_back({running_->first_slot(), running_->last_slot(), running_->dst()});
  }
  for (const Move& m : queue_) {
    out.push_back({m.first, m.last, m.dst});
  }
  return out;
}

bool Migrations::recovering() const {
  std::lock_guard<std::mutex> lock(mu_);
  return recovering_;
}

proxy::MigrationGauges Migrations::gauges() const {
  std::lock_guard<std::mutex> lock(mu_);
  proxy::MigrationGauges g = gauges_;
  if (running_) {
    g.keys_copied += running_->keys_copied();
    g.bytes_copied += running_->bytes_copied();
    g.mismatches += running_->mismatches();
    g.connections_killed += running_->connections_killed();
    g.destination_reads += running_->destination_reads();
    g.dirty_keys = running_->dirty_keys();
    if (!running_->finished()) {
      g.running_phase = phase_metric_label(running_->phase());
    }
  }
  return g;
}

std::string Migrations::admin(const std::vector<std::string>& args, bool* error) {
  *error = false;
  const std::string& sub = args[0];
  if (sub == "MIGRATE") {
    return migrate_cmd(args, error);
  }
  if (sub == "MIGRATIONS") {
    return list();
  }
  if (sub == "ABORT") {
    return abort_cmd(args, error);
  }
  if (sub == "SPLIT") {
    return split_cmd(args, error);
  }
  if (sub == "MERGE") {
    return merge_cmd(args, error);
  }
  if (sub == "DRAIN") {
    return drain_cmd(args, error);
  }
  return err(error, "ERR unknown FORESHARD subcommand '" + sub + "'; try FORESHARD HELP");
}

std::string Migrations::migrate_cmd(const std::vector<std::string>& args, bool* error) {
  uint32_t seg = 0;
  if (args.size() != 3 || !parse_u32(args[1], seg)) {
    return err(error, "ERR usage: FORESHARD MIGRATE <segment> <backend>");
  }
  auto map = auth_.current();
  if (seg >= map->size()) {
    return err(error, "ERR no segment " + args[1] + " (there are " + std::to_string(map->size()) +
                          "; see FORESHARD SEGMENTS)");
  }
  int dst = ctx_.config->backend_index(args[2]);
  if (dst < 0) {
    return err(error, "ERR no backend '" + args[2] + "' in the config");
  }
  if (size_t(dst) >= map->backend_names().size()) {
    return err(error, "ERR backend '" + args[2] +
                          "' is still joining (workers are connecting to it); try again shortly");
  }
  const proxy::Segment& s = map->segment(seg);
  if (s.owner == uint16_t(dst)) {
    return err(error, "ERR segment " + args[1] + " already lives on " + args[2]);
  }
  if (s.state != SegmentState::Stable) {
    return err(error, "ERR segment " + args[1] + " is already moving");
  }
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push_back({s.first, s.last, uint16_t(dst)});
  size_t ahead = queue_.size() - 1 + (running_ ? 1 : 0);
  return "OK segment " + args[1] + " (" + range(s.first, s.last) + ") " +
         map->backend_names()[s.owner] + " -> " + args[2] +
         (ahead ? " queued behind " + std::to_string(ahead) : " starts within a second") +
         "; watch FORESHARD MIGRATIONS";
}

std::string Migrations::abort_cmd(const std::vector<std::string>& args, bool* error) {
  uint32_t seg = 0;
  if (args.size() != 2 || !parse_u32(args[1], seg)) {
    return err(error, "ERR usage: FORESHARD ABORT <segment>");
  }
  auto map = auth_.current();
  if (seg >= map->size()) {
    return err(error, "ERR no segment " + args[1]);
  }
  const proxy::Segment& s = map->segment(seg);
  std::lock_guard<std::mutex> lock(mu_);
  size_t dropped = std::erase_if(queue_, [&](const Move& m) { return m.first == s.first; });
  if (running_ && running_->first_slot() == s.first && !running_->finished()) {
    running_->request_abort();
    return "OK aborting the move of segment " + args[1] + " (it returns to its source)";
  }
  if (dropped > 0) {
    return "OK the queued move of segment " + args[1] + " was dropped";
  }
  return err(error, "ERR segment " + args[1] + " is not moving");
}

std::string Migrations::split_cmd(const std::vector<std::string>& args, bool* error) {
  uint32_t seg = 0, at = 0;
  if (args.size() < 2 || args.size() > 3 || !parse_u32(args[1], seg) ||
      (args.size() == 3 && !parse_u32(args[2], at))) {
    return err(error, "ERR usage: FORESHARD SPLIT <segment> [slot]");
  }
  auto r = auth_.apply(
      [&](const SegmentMap& m) -> proxy::Result<SegmentMap> {
        if (seg >= m.size()) {
          return proxy::Status(proxy::Code::NotFound, "no segment " + args[1]);
        }
        const proxy::Segment& s = m.segment(seg);
        uint32_t slot = args.size() == 3 ? at : s.first + (s.last - s.first + 1) / 2;
        return m.split(seg, slot);
      },
      "segment " + args[1] + " split");
  if (!r.is_ok()) {
    return err(error, "ERR " + r.status().message());
  }
  const auto& m = *r.value();
  return "OK segment " + args[1] + " is now " + range(m.segment(seg).first, m.segment(seg).last) +
         " and segment " + std::to_string(seg + 1) + " " +
         range(m.segment(seg + 1).first, m.segment(seg + 1).last) + " (epoch " +
         std::to_string(m.epoch()) + ")";
}

std::string Migrations::merge_cmd(const std::vector<std::string>& args, bool* error) {
  uint32_t a = 0, b = 0;
  if (args.size() != 3 || !parse_u32(args[1], a) || !parse_u32(args[2], b) || b != a + 1) {
    return err(error, "ERR usage: FORESHARD MERGE <segment> <segment+1> (neighbours)");
  }
  auto r = auth_.apply([&](const SegmentMap& m) { return m.merge(a); },
                       "segments " + args[1] + " and " + args[2] + " merged");
  if (!r.is_ok()) {
    return err(error, "ERR " + r.status().message());
  }
  const auto& m = *r.value();
  return "OK segment " + args[1] + " is now " + range(m.segment(a).first, m.segment(a).last) +
         " (epoch " + std::to_string(m.epoch()) + ")";
}

std::string Migrations::drain_cmd(const std::vector<std::string>& args, bool* error) {
  if (args.size() != 2) {
    return err(error, "ERR usage: FORESHARD DRAIN <backend>");
  }
  int from = ctx_.config->backend_index(args[1]);
  if (from < 0) {
    return err(error, "ERR no backend '" + args[1] + "' in the config");
  }
  auto map = auth_.current();
  const auto& all = ctx_.config->backends;
  // Only backends in the map can receive (a reload's new one joins it shortly).
  const std::vector<proxy::BackendConfig> backends(
      all.begin(), all.begin() + std::min(all.size(), map->backend_names().size()));
  // Slots each backend will own, to spread the drained segments by capacity.
  std::vector<double> slots(backends.size(), 0);
  for (const proxy::Segment& s : map->segments()) {
    slots[s.owner] += s.last - s.first + 1;
  }
  std::vector<Move> moves;
  for (const proxy::Segment& s : map->segments()) {
    if (s.owner != uint16_t(from) || s.state != SegmentState::Stable) {
      continue;
    }
    int best = -1;
    for (size_t b = 0; b < backends.size(); ++b) {
      if (int(b) == from || backends[b].capacity <= 0) {
        continue;
      }
      if (best < 0 || slots[b] / backends[b].capacity < slots[best] / backends[best].capacity) {
        best = int(b);
      }
    }
    if (best < 0) {
      return err(error, "ERR no other backend to drain " + args[1] + " to");
    }
    slots[best] += s.last - s.first + 1;
    moves.push_back({s.first, s.last, uint16_t(best)});
  }
  std::lock_guard<std::mutex> lock(mu_);
  queue_.insert(queue_.end(), moves.begin(), moves.end());
  return "OK " + std::to_string(moves.size()) + " segments of " + args[1] +
         " queued to move; watch FORESHARD MIGRATIONS";
}

std::string Migrations::list() const {
  std::lock_guard<std::mutex> lock(mu_);
  auto map = auth_.current();
  const auto& names = map->backend_names();
  std::string out;
  // Cleanups that failed (a backend was down) wait in the journal for the
  // next try: an operator (and the crash test) must see that they are owed.
  const size_t owed = journal_.jobs().size();
  out += "running: " + std::string(running_ ? "1" : "0") + ", queued: " +
         std::to_string(queue_.size()) + ", done: " + std::to_string(gauges_.done) +
         ", aborted: " + std::to_string(gauges_.aborted) +
         (recovering_ ? ", finishing journalled cleanups"
          : owed > 0  ? ", journalled cleanups waiting: " + std::to_string(owed) +
                           " (retried every 10 s)"
                      : "") +
         "\n";
  if (running_) {
    out += "now   " + running_->describe() + "\n";
  }
  for (const Move& m : queue_) {
    out += "queued " + range(m.first, m.last) + " -> " + names[m.dst] + "\n";
  }
  for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
    out += "past  " + *it + "\n";
  }
  return out;
}

}  // namespace migrate
