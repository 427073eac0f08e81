// Migration implementation (see migration.h for the steps and the invariant).
#include "migrate/migration.h"

#include <algorithm>
#include <cstdlib>
#include <random>
#include <unordered_set>

#include "migrate/range_count.h"
#include "proxy/log.h"
#include "proxy/slot.h"

namespace migrate {

namespace {

using proxy::Code;
using proxy::SegmentMap;
using proxy::SegmentState;
using proxy::Status;

// An order-independent digest of a key's value, computed by the backend
// (DESIGN §6: DUMP bytes are no valid comparison, dst may re-encode). Lists and
// sorted sets keep their order; sets and hashes are sorted first. Returns
// "<type>:<sha1>" or "none".
constexpr std::string_view kDigestScript = R"lua(
local k = KEYS[1]
local t = redis.call('TYPE', k)['ok']
if t == 'none' then return 'none' end
local parts
if t == 'string' then
  parts = {redis.call('GET', k)}
elseif t == 'list' then
  parts = redis.call('LRANGE', k, 0, -1)
elseif t == 'set' then
  parts = redis.call('SMEMBERS', k)
  table.sort(parts)
elseif t == 'zset' then
  parts = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')
elseif t == 'hash' then
  local h = redis.call('HGETALL', k)
  parts = {}
  for i = 1, #h, 2 do parts[#parts + 1] = h[i] .. '\0' .. h[i + 1] end
  table.sort(parts)
elseif t == 'stream' then
  parts = {}
  for _, e in ipairs(redis.call('XRANGE', k, '-', '+')) do
    parts[#parts + 1] = e[1]
    for _, f in ipairs(e[2]) do parts[#parts + 1] = f end
  end
else
  return t .. ':unsupported'
end
return t .. ':' .. redis.sha1hex(table.concat(parts, '\1'))
)lua";

Status fail(Code c, std::string m) { return Status(c, std::move(m)); }

}  // namespace

bool owns_any(const SegmentMap& map, uint16_t backend, uint32_t first, uint32_t last) {
  for (uint32_t i = map.segment_of_slot(first); i < map.size() && map.segment(i).first <= last;
       ++i) {
    if (map.segment(i).owner == backend) {
      return true;
    }
  }
  return false;
}

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::Queued: return "queued";
    case Phase::Preflight: return "preflight";
    case Phase::Copy: return "copy";
    case Phase::CatchUp: return "catch-up";
    case Phase::Switching: return "switching";
    case Phase::Cleanup: return "cleanup";
    case Phase::Done: return "done";
    case Phase::Aborted: return "aborted";
  }
  return "?";
}

const char* phase_metric_label(Phase p) {
  switch (p) {
    case Phase::Copy: return "copying";
    case Phase::CatchUp: return "catching_up";
    default: return phase_name(p);
  }
}

MigrationOptions options_for(const proxy::Config& cfg) {
  MigrationOptions o;
  o.interval_ms = cfg.validation_interval_ms;
  o.max_switch_pause_ms = cfg.max_switch_pause_ms;
  o.big.min_elements = cfg.big_key_elements;
  if (cfg.migration_priority == "low") {
    o.max_keys_per_s = 5000;
  } else if (cfg.migration_priority == "normal") {
    o.max_keys_per_s = 50000;
  }  // high: unlimited
  return o;
}

Migration::Migration(proxy::ProxyContext& ctx, MapAuthority& auth, CleanupJournal& journal,
                     uint32_t first_slot, uint32_t last_slot, uint16_t src, uint16_t dst,
                     MigrationOptions opt)
    : ctx_(ctx),
      auth_(auth),
      journal_(journal),
      first_(first_slot),
      last_(last_slot),
      src_(src),
      dst_(dst),
      opt_(opt),
      tracker_(std::make_shared<proxy::MigrationTracker>(first_slot, last_slot, src)) {}

Migration::~Migration() {
  request_abort();
  join();
}

void Migration::start() {
  started_ = phase_started_ = std::chrono::steady_clock::now();
  thread_ = std::thread([this] { run(); });
}

void Migration::request_abort() { abort_.store(true); }

void Migration::join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

std::string Migration::result() const {
  std::lock_guard<std::mutex> lock(result_mu_);
  return result_;
}

void Migration::set_phase(Phase p) {
  auto now = std::chrono::steady_clock::now();
  Phase left = phase_.load();
  if (left != Phase::Queued) {
    phase_seconds_[size_t(left)].store(std::chrono::duration<double>(now - phase_started_).count());
  }
  phase_.store(p);
  phase_started_ = now;
}

uint64_t Migration::dirty_keys() const { return tracker_->dirty_count(); }

bool Migration::in_range(std::string_view key) const {
  uint32_t slot = proxy::key_slot(key, ctx_.config->slots);
  return slot >= first_ && slot <= last_;
}

int32_t Migration::segment_index(const SegmentMap& map) const {
  uint32_t i = map.segment_of_slot(first_);
  const proxy::Segment& s = map.segment(i);
  return s.first == first_ && s.last == last_ ? int32_t(i) : -1;
}

std::string Migration::describe() const {
  auto map = ctx_.current_map();  // holds the names while they are used
  const auto& names = map->backend_names();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  uint64_t keys = keys_copied_.load();
  std::string line = "slots " + std::to_string(first_) + "-" + std::to_string(last_) + " " +
                     names[src_] + " -> " + names[dst_] + " phase " + phase_name(phase_.load()) +
                     " keys " + std::to_string(keys) + " (scanned " +
                     std::to_string(keys_scanned_.load()) + ") bytes " +
                     std::to_string(bytes_copied_.load()) + " dirty " +
                     std::to_string(tracker_->dirty_count()) + " rate " +
                     std::to_string(uint64_t(secs > 0 ? keys / secs : 0)) + " keys/s elapsed " +
                     std::to_string(uint64_t(secs)) + " s";
  if (switch_pause_ms_.load() > 0) {
    line += " switch pause " + std::to_string(switch_pause_ms_.load()) + " ms";
  }
  if (tracker_->lost_writes() > 0) {
    line += " lost replies " + std::to_string(tracker_->lost_writes()) + " connections killed " +
            std::to_string(connections_killed_.load());
  }
  if (calls_unblocked_.load() > 0) {
    line += " blocked calls moved " + std::to_string(calls_unblocked_.load());
  }
  std::string r = result();
  if (!r.empty()) {
    line += " result: " + r;
  }
  return line;
}

void Migration::throttle(size_t keys) {
  if (opt_.max_keys_per_s == 0) {
    return;
  }
  auto now = std::chrono::steady_clock::now();
  if (throttle_keys_ == 0) {
    throttle_start_ = now;
  }
  throttle_keys_ += keys;
  double should = double(throttle_keys_) / double(opt_.max_keys_per_s);
  double took = std::chrono::duration<double>(now - throttle_start_).count();
  if (should > took) {
    std::this_thread::sleep_for(std::chrono::duration<double>(should - took));
  }
}

// Fault injection for the crash test (tests/migration/crash_test.py): with
// FORESHARD_FAULT_PHASE_PAUSE_MS set, each phase sleeps that long once its
// state is saved, so a test can kill -9 the process inside every phase.
// Unset (always, in production) it costs one cached getenv.
static void fault_pause() {
  static const long ms = [] {
    const char* v = std::getenv("FORESHARD_FAULT_PHASE_PAUSE_MS");
    return v != nullptr ? std::strtol(v, nullptr, 10) : 0L;
  }();
  if (ms > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }
}

void Migration::run() {
  auto map = ctx_.current_map();  // holds the names while they are used
  const auto& names = map->backend_names();
  LOG_INFO("migrate", "slots {}-{}: {} -> {} starting", first_, last_, names[src_], names[dst_]);
  set_phase(Phase::Preflight);
  fault_pause();
  Status st = preflight();
  if (st.is_ok()) {
    st = enter_migrating();
  }
  if (st.is_ok()) {
    set_phase(Phase::Copy);
    fault_pause();
    st = bulk_copy();
  }
  if (st.is_ok()) {
    // Every key that existed at the barrier is copied and every later write
    // left its key pending or dirty: clean keys may be read at dst.
    tracker_->set_dst_reads(true);
    set_phase(Phase::CatchUp);
    fault_pause();
    st = catch_up();
  }
  if (st.is_ok()) {
    set_phase(Phase::Switching);
    st = switch_over();
  }
  if (!st.is_ok()) {
    abort_to_src(st.message());
    return;
  }
  // STABLE(dst) is on disk: the old owner's copy is garbage from here on.
  set_phase(Phase::Cleanup);
  fault_pause();
  uint64_t deleted = 0;
  Status c = delete_range(ctx_.config->backends[src_], ctx_.config->slots, first_, last_,
                          opt_.timeout_ms, &deleted);
  if (c.is_ok()) {
    journal_.remove({ctx_.config->backends[src_].name, first_, last_});
  }
  keys_deleted_.store(deleted);
  {
    std::lock_guard<std::mutex> lock(result_mu_);
    result_ = "moved; " + std::to_string(deleted) + " keys removed from " + names[src_] +
              (c.is_ok() ? "" : " (cleanup incomplete: " + c.message() + ")");
  }
  LOG_INFO("migrate",
           "slots {}-{}: {} -> {} done: {} keys, {} bytes, switch pause {:.1f} ms, {} "
           "keys removed from {}; {} reads at the destination, {} of them compared",
           first_, last_, names[src_], names[dst_], keys_copied_.load(), bytes_copied_.load(),
           switch_pause_ms_.load(), deleted, names[src_], destination_reads(),
           served_compared_.load());
  set_phase(Phase::Done);
}

Status Migration::preflight() {
  const auto& b = ctx_.config->backends;
  if (Status s = src_conn_.connect(b[src_], opt_.timeout_ms); !s.is_ok()) {
    return s;
  }
  if (Status s = dst_conn_.connect(b[dst_], opt_.timeout_ms); !s.is_ok()) {
    return s;
  }
  // RESTORE takes payloads of the same or an older RDB version only.
  auto version = [](RedisConn& c) -> std::pair<int, int> {
    Reply r = c.command({"INFO", "server"});
    std::string text = r ? reply_text(r.get()) : "";
    size_t at = text.find("redis_version:");
    if (at == std::string::npos) {
      return {0, 0};
    }
    int major = std::atoi(text.c_str() + at + 14);
    size_t dot = text.find('.', at);
    return {major, dot == std::string::npos ? 0 : std::atoi(text.c_str() + dot + 1)};
  };
  auto vs = version(src_conn_), vd = version(dst_conn_);
  if (vs > vd) {
    return fail(Code::Refused, "source runs Redis " + std::to_string(vs.first) + "." +
                                   std::to_string(vs.second) + ", newer than the destination's " +
                                   std::to_string(vd.first) + "." + std::to_string(vd.second) +
                                   ": its DUMP payloads cannot be restored there");
  }
  Reply mem = dst_conn_.command({"INFO", "memory"});
  std::string text = mem ? reply_text(mem.get()) : "";
  auto field = [&](const char* name) -> uint64_t {
    size_t at = text.find(name);
    return at == std::string::npos ? 0 : std::strtoull(text.c_str() + at + strlen(name), nullptr, 10);
  };
  uint64_t used = field("used_memory:"), maxmem = field("maxmemory:");
  if (maxmem == 0) {
    maxmem = b[dst_].maxmemory;
  }
  if (maxmem > 0 && used > maxmem / 10 * 9) {
    return fail(Code::Refused, "destination " + b[dst_].name + " is at " +
                                   std::to_string(used * 100 / maxmem) + "% of its maxmemory");
  }
  // The destination may hold leftovers of the segment (an earlier aborted
  // move): they must not survive into the new owner.
  uint64_t deleted = 0;
  return delete_range(b[dst_], ctx_.config->slots, first_, last_, opt_.timeout_ms, &deleted);
}

Status Migration::enter_migrating() {
  uint64_t v = auth_.add_tracker(tracker_);
  auto applied = auth_.apply(
      [&](const SegmentMap& m) -> proxy::Result<SegmentMap> {
        int32_t i = segment_index(m);
        if (i < 0 || m.segment(uint32_t(i)).owner != src_ ||
            m.segment(uint32_t(i)).state != SegmentState::Stable) {
          return fail(Code::Refused, "the segment changed before the move started");
        }
        return m.with_state(uint32_t(i), SegmentState::Migrating, dst_);
      },
      "slots " + std::to_string(first_) + "-" + std::to_string(last_) + " migrating");
  if (!applied.is_ok()) {
    return applied.status();  // the abort removes the tracker
  }
  // Writes a worker sent before it saw the tracker must be answered before
  // their keys are read: the barrier PINGs every worker link.
  if (!auth_.wait_barrier(std::max(v, ctx_.trackers.version()), 10000)) {
    return fail(Code::Timeout, "workers did not confirm the write tracking within 10 s");
  }
  return Status::ok();
}

Status Migration::copy_keys(const std::vector<std::string>& all) {
  if (all.empty()) {
    return Status::ok();
  }
  // Big keys go in chunks through a staging key (big_key_copy.h); the rest here.
  std::vector<std::string> keys;
  uint64_t big_keys = 0, big_bytes = 0;
  Status big = big_.copy(all, &keys, &big_keys, &big_bytes);
  keys_copied_.fetch_add(big_keys);
  bytes_copied_.fetch_add(big_bytes);
  if (!big.is_ok() || keys.empty()) {
    return big;
  }
  std::vector<proxy::MigrationTracker::Mark> marks;
  marks.reserve(keys.size());
  for (const std::string& k : keys) {
    marks.push_back(tracker_->mark(k));
    src_conn_.append({"MULTI"});
    src_conn_.append({"DUMP", k});
    src_conn_.append({"PEXPIRETIME", k});
    src_conn_.append({"EXEC"});
  }
  std::vector<Reply> execs;
  for (size_t i = 0; i < keys.size(); ++i) {
    for (int j = 0; j < 3; ++j) {
      if (!src_conn_.read()) {
        return fail(Code::Unavailable, src_conn_.error());
      }
    }
    Reply e = src_conn_.read();
    if (!e || e->type != REDIS_REPLY_ARRAY || e->elements != 2) {
      return fail(Code::Unavailable, "DUMP of '" + keys[i] + "' on the source failed: " +
                                         (e ? reply_text(e.get()) : src_conn_.error()));
    }
    execs.push_back(std::move(e));
  }
  uint64_t bytes = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    const redisReply* dump = execs[i]->element[0];
    long long pexp = execs[i]->element[1]->integer;
    if (dump->type != REDIS_REPLY_STRING || pexp == -2) {
      dst_conn_.append({"DEL", keys[i]});  // gone on the source: gone on the destination
      continue;
    }
    std::string ttl = std::to_string(pexp > 0 ? pexp : 0);
    dst_conn_.append({"RESTORE", keys[i], ttl, std::string_view(dump->str, dump->len), "REPLACE",
                      "ABSTTL"});
    bytes += dump->len;
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    Reply r = dst_conn_.read();
    if (!r) {
      return fail(Code::Unavailable, dst_conn_.error());
    }
    if (r->type == REDIS_REPLY_ERROR) {
      return fail(Code::Refused, "RESTORE of '" + keys[i] + "' on the destination: " +
                                     reply_text(r.get()));
    }
    tracker_->settle(keys[i], marks[i]);
  }
  keys_copied_.fetch_add(keys.size());
  bytes_copied_.fetch_add(bytes);
  return Status::ok();
}

Status Migration::bulk_copy() {
  std::string cursor = "0";
  std::vector<std::string> batch;
  std::string count = std::to_string(opt_.scan_count);
  do {
    if (abort_.load()) {
      return fail(Code::Refused, "aborted by request");
    }
    Reply r = src_conn_.command({"SCAN", cursor, "COUNT", count});
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
      return fail(Code::Unavailable, "SCAN on the source: " +
                                         (r ? reply_text(r.get()) : src_conn_.error()));
    }
    cursor.assign(r->element[0]->str, r->element[0]->len);
    const redisReply* keys = r->element[1];
    keys_scanned_.fetch_add(keys->elements);
    for (size_t i = 0; i < keys->elements; ++i) {
      std::string_view k(keys->element[i]->str, keys->element[i]->len);
      if (in_range(k)) {
        batch.emplace_back(k);
      }
      if (batch.size() >= opt_.batch_keys) {
        if (Status s = copy_keys(batch); !s.is_ok()) {
          return s;
        }
        throttle(batch.size());
        batch.clear();
      }
    }
  } while (cursor != "0");
  return copy_keys(batch);
}

Status Migration::catch_up() {
  size_t best = SIZE_MAX;
  int stalled = 0;
  double keys_per_s = 0;  // measured re-copy rate
  bool range_counted = false;
  int big_waits = 0;
  bool sampled = false;
  for (int round = 0;; ++round) {
    if (abort_.load()) {
      return fail(Code::Refused, "aborted by request");
    }
    if (Status s = kill_lost_connections(); !s.is_ok()) {
      return s;
    }
    if (Status s = validate_served(); !s.is_ok()) {
      return s;
    }
    std::vector<std::string> dirty = tracker_->dirty_keys();
    dirty_.store(dirty.size());
    // Small enough to switch: what the final copy (writes held) does in about
    // 50 ms at the measured rate, and never less than catchup_target. A fixed
    // target aborted busy segments whose writes per round stayed above it.
    size_t target = std::max<size_t>(opt_.catchup_target, size_t(keys_per_s * 0.05));
    if (dirty.size() <= target && !range_counted) {
      range_counted = true;  // once, then rounds again for what was written meanwhile
      if (Status s = count_range_keys(); !s.is_ok()) {
        return s;
      }
      best = SIZE_MAX;
      stalled = 0;
      continue;
    }
    // A dirty big key would be copied again (in chunks) inside the write
    // hold: up to 10 more rounds first, for a moment when none is dirty.
    const bool wait_big = dirty.size() <= target && big_waits < 10 &&
                          std::any_of(dirty.begin(), dirty.end(),
                                      [this](const std::string& k) { return big_.is_big(k); });
    if (dirty.size() <= target && !wait_big) {
      if (sampled) {
        return validate_served();  // then the switch
      }
      sampled = true;  // then a last look: the sample took a while
      if (Status s = validate_sample(); !s.is_ok()) {
        return s;
      }
      continue;
    }
    if (wait_big) {
      ++big_waits;
    } else if (dirty.size() < best) {
      best = dirty.size();
      stalled = 0;
    } else if (++stalled >= 10) {
      return fail(Code::Refused, "the dirty backlog stopped shrinking (" +
                                     std::to_string(dirty.size()) + " keys after " +
                                     std::to_string(round) + " rounds): writes outpace the copy");
    }
    auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < dirty.size(); i += opt_.batch_keys) {
      std::vector<std::string> part(dirty.begin() + i,
                                    dirty.begin() + std::min(dirty.size(), i + opt_.batch_keys));
      if (Status s = copy_keys(part); !s.is_ok()) {
        return s;
      }
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (secs > 0) {
      double r = double(dirty.size()) / secs;
      keys_per_s = keys_per_s == 0 ? r : 0.5 * keys_per_s + 0.5 * r;
    }
    // Round after round while the backlog is large; a short breath when it
    // was small, so the writes of one interval gather into one round.
    if (dirty.size() < 4 * target) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(opt_.interval_ms, 50u)));
    }
  }
}

Status Migration::validate(const std::vector<std::string>& keys) {
  std::vector<std::string> slow;
  if (Status s = fast_equal(keys, &slow); !s.is_ok()) {
    return s;
  }
  for (const std::string& k : slow) {
    std::string diff;
    if (Status s = compare(k, &diff); !s.is_ok()) {
      return s;
    }
    if (!diff.empty()) {
      mismatches_.fetch_add(1);
      return fail(Code::Corrupt, "validation: " + diff);
    }
  }
  return Status::ok();
}

// Fast path, pipelined: identical DUMP payloads and expiry times prove a copy.
// Different payloads prove nothing (dst may encode a value another way): those
// keys go to *slow for the digest comparison.
Status Migration::fast_equal(const std::vector<std::string>& all,
                             std::vector<std::string>* slow_out) {
  std::vector<std::string>& slow = *slow_out;
  std::vector<std::string> keys;  // a big key's DUMP would block (but in the hold
  for (const std::string& k : all) {  // it was just DUMPed anyway): digests only
    (big_.is_big(k) && !tracker_->switching() ? slow : keys).push_back(k);
  }
  for (size_t at = 0; at < keys.size(); at += opt_.batch_keys) {
    size_t end = std::min(keys.size(), at + opt_.batch_keys);
    for (RedisConn* c : {&src_conn_, &dst_conn_}) {
      for (size_t i = at; i < end; ++i) {
        c->append({"DUMP", keys[i]});
        c->append({"PEXPIRETIME", keys[i]});
      }
    }
    std::vector<std::pair<Reply, Reply>> side[2];
    RedisConn* conns[2] = {&src_conn_, &dst_conn_};
    for (int k = 0; k < 2; ++k) {
      for (size_t i = at; i < end; ++i) {
        Reply d = conns[k]->read();
        Reply e = conns[k]->read();
        if (!d || !e) {
          return fail(Code::Unavailable, conns[k]->error());
        }
        side[k].emplace_back(std::move(d), std::move(e));
      }
    }
    for (size_t i = at; i < end; ++i) {
      const auto& [d0, e0] = side[0][i - at];
      const auto& [d1, e1] = side[1][i - at];
      bool same = d0->type == d1->type && e0->integer == e1->integer &&
                  (d0->type != REDIS_REPLY_STRING ||
                   std::string_view(d0->str, d0->len) == std::string_view(d1->str, d1->len));
      if (!same) {
        slow.push_back(keys[i]);
      } else {
        validated_.fetch_add(1);
      }
    }
  }
  return Status::ok();
}

// Digest and TTL of `k` on both sides; *diff describes a difference, empty if
// they agree.
Status Migration::compare(const std::string& k, std::string* diff) {
  {
    std::string digest[2];
    long long pexp[2] = {0, 0};
    RedisConn* conns[2] = {&src_conn_, &dst_conn_};
    const bool big = big_.is_big(k);  // in chunks, not one script walking the whole key
    if (big) {
      if (Status s = big_.digest(src_conn_, dst_conn_, k, digest); !s.is_ok()) {
        return s;
      }
    }
    for (int side = 0; side < 2; ++side) {
      if (!big) {
        conns[side]->append({"EVAL", kDigestScript, "1", k});
      }
      conns[side]->append({"PEXPIRETIME", k});
      Reply d = big ? nullptr : conns[side]->read();
      Reply e = conns[side]->read();
      if ((!d && !big) || !e || (d && d->type == REDIS_REPLY_ERROR)) {
        return fail(Code::Unavailable, "digest of '" + k + "': " +
                                           (d ? reply_text(d.get()) : conns[side]->error()));
      }
      if (d) {
        digest[side] = reply_text(d.get());
      }
      pexp[side] = e->integer;
    }
    validated_.fetch_add(1);
    if (digest[0] != digest[1] || pexp[0] != pexp[1]) {
      *diff = "key '" + k + "' differs (source " + digest[0] + " ttl " +
              std::to_string(pexp[0]) + ", destination " + digest[1] + " ttl " +
              std::to_string(pexp[1]) + ")";
    }
  }
  return Status::ok();
}

// Before the hold: a sample of the segment's keys (the first SCAN pages, big
// keys included) compared by digest and TTL. Writes go on meanwhile, so a key
// counts only if its tracker generation did not move across the two digests.
Status Migration::validate_sample() {
  std::vector<std::string> sample;
  std::string cursor = "0";
  do {
    Reply r = src_conn_.command({"SCAN", cursor, "COUNT", std::to_string(opt_.scan_count)});
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
      return fail(Code::Unavailable, "SCAN on the source: " + src_conn_.error());
    }
    cursor.assign(r->element[0]->str, r->element[0]->len);
    for (size_t i = 0; i < r->element[1]->elements && sample.size() < opt_.validation_sample;
         ++i) {
      std::string_view k(r->element[1]->element[i]->str, r->element[1]->element[i]->len);
      if (in_range(k)) {
        sample.emplace_back(k);
      }
    }
  } while (cursor != "0" && sample.size() < opt_.validation_sample);
  for (const std::string& k : big_.big_keys()) {  // every big key, besides the sample
    if (std::find(sample.begin(), sample.end(), k) == sample.end()) {
      sample.push_back(k);
    }
  }
  std::vector<proxy::MigrationTracker::Mark> marks;
  for (const std::string& k : sample) {
    marks.push_back(tracker_->mark(k));
  }
  std::vector<std::string> slow;
  if (Status s = fast_equal(sample, &slow); !s.is_ok()) {
    return s;
  }
  for (const std::string& k : slow) {
    auto before = marks[std::find(sample.begin(), sample.end(), k) - sample.begin()];
    std::string diff;
    Status s = compare(k, &diff);
    if (!s.is_ok()) {
      return s;
    }
    auto after = tracker_->mark(k);
    if (!diff.empty() && before.gen == after.gen && before.pending == 0 && after.pending == 0 &&
        !tracker_->is_dirty(k)) {
      mismatches_.fetch_add(1);
      return fail(Code::Corrupt, "validation: " + diff);
    }
  }
  return Status::ok();
}

Status Migration::validate_served() {
  std::vector<std::string> served = tracker_->take_served_sample();
  std::sort(served.begin(), served.end());
  served.erase(std::unique(served.begin(), served.end()), served.end());
  std::vector<std::string> keys;
  std::vector<proxy::MigrationTracker::Mark> marks;
  for (const std::string& k : served) {
    // Big keys are digested before the hold anyway (validate_sample); keys
    // written since are catch-up's.
    auto m = tracker_->mark(k);
    if (!big_.is_big(k) && m.pending == 0 && !tracker_->is_dirty(k)) {
      keys.push_back(k);
      marks.push_back(m);
    }
  }
  std::vector<std::string> slow;
  if (Status s = fast_equal(keys, &slow); !s.is_ok()) {
    return s;
  }
  served_compared_.fetch_add(keys.size() - slow.size());
  for (const std::string& k : slow) {
    auto before = marks[std::find(keys.begin(), keys.end(), k) - keys.begin()];
    std::string diff;
    for (int attempt = 0; attempt < 2; ++attempt) {  // the second: a key expiring meanwhile
      diff.clear();
      if (Status s = compare(k, &diff); !s.is_ok()) {
        return s;
      }
      if (diff.empty()) {
        break;
      }
    }
    auto after = tracker_->mark(k);
    if (before.gen != after.gen || after.pending != 0 || tracker_->is_dirty(k)) {
      continue;  // written while compared
    }
    served_compared_.fetch_add(1);
    if (!diff.empty()) {
      mismatches_.fetch_add(1);
      LOG_ERROR("migrate", "slots {}-{}: a key read at the destination differs from the source: {}",
                first_, last_, diff);
      return fail(Code::Corrupt, "validation of a key read at the destination: " + diff);
    }
  }
  return Status::ok();
}

// Before the switch, outside the hold: the range's keys on both sides
// compared as sets (range_count.h); keys written meanwhile are catch-up's.
Status Migration::count_range_keys() {
  RangeSpec range{ctx_.config->slots, first_, last_, opt_.scan_count, opt_.batch_keys};
  RangeCount n;
  Status s = validate_range_count(src_conn_, dst_conn_, range, *tracker_,
                                  [this](const std::vector<std::string>& k) { return copy_keys(k); },
                                  &n);
  LOG_INFO("migrate", "slots {}-{}: key count {} on the source, {} on the destination ({} written "
           "meanwhile, {} expired) in {:.2f} s", first_, last_, n.src_keys, n.dst_keys, n.written,
           n.expired, n.seconds);
  if (s.code() == Code::Corrupt) {
    mismatches_.fetch_add(n.only_src.size() + n.only_dst.size());
  }
  return s;
}

Status Migration::switch_over() {
  auto t0 = std::chrono::steady_clock::now();
  // No new write is admitted from here; the map says SWITCHING (on disk first).
  tracker_->set_dst_reads(false);  // the switch's last copies go on at dst
  tracker_->set_switching(true);
  auto applied = auth_.apply(
      [&](const SegmentMap& m) -> proxy::Result<SegmentMap> {
        int32_t i = segment_index(m);
        if (i < 0) {
          return fail(Code::Refused, "the segment changed during the move");
        }
        return m.with_state(uint32_t(i), SegmentState::Switching, dst_);
      },
      "slots " + std::to_string(first_) + "-" + std::to_string(last_) + " switching");
  if (!applied.is_ok()) {
    return applied.status();
  }
  fault_pause();  // (counts against maxSwitchPause, like any stall here)
  auto deadline = t0 + std::chrono::milliseconds(opt_.max_switch_pause_ms);
  auto ms_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
  };
  double t_state = ms_since(t0);
  // Drain: every admitted write answered (a lost reply's connection killed),
  // every blocking call of the segment unblocked on the source and gone.
  auto next_unblock = std::chrono::steady_clock::now();
  while (tracker_->pending() > 0 || tracker_->blocked_count() > 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      return fail(Code::Timeout, std::to_string(tracker_->pending()) + " writes unanswered, " +
                                     std::to_string(tracker_->blocked_count()) +
                                     " blocking calls waiting after maxSwitchPause");
    }
    if (Status s = kill_lost_connections(); !s.is_ok()) {
      return s;
    }
    if (tracker_->blocked_count() > 0 && std::chrono::steady_clock::now() >= next_unblock) {
      // A call still on its way answers 0 (not blocked yet): tried again.
      if (Status s = unblock_calls(); !s.is_ok()) {
        return s;
      }
      next_unblock = std::chrono::steady_clock::now() + std::chrono::milliseconds(1);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  double t_drain = ms_since(t0);
  std::vector<std::string> last = tracker_->dirty_keys();
  if (Status s = copy_keys(last); !s.is_ok()) {
    return s;
  }
  if (tracker_->dirty_count() != 0) {
    return fail(Code::Refused, "keys still dirty after the final copy");
  }
  // The keys written during the move were just copied with writes held:
  // they must be identical now. (The sample of the rest was checked before
  // the hold, by validate_sample().)
  double t_copy = ms_since(t0);
  if (Status s = validate(last); !s.is_ok()) {
    return s;
  }
  double t_valid = ms_since(t0);
  if (std::chrono::steady_clock::now() > deadline) {
    return fail(Code::Timeout, "the switch took longer than maxSwitchPause");
  }
  // The old owner's keys become garbage the moment the map below is saved:
  // journal their cleanup first (a restart only cleans a non-owner).
  CleanupJob old_copy{ctx_.config->backends[src_].name, first_, last_};
  if (Status s = journal_.add(old_copy); !s.is_ok()) {
    return s;
  }
  applied = auth_.apply(
      [&](const SegmentMap& m) -> proxy::Result<SegmentMap> {
        int32_t i = segment_index(m);
        if (i < 0) {
          return fail(Code::Refused, "the segment changed during the move");
        }
        return m.with_owner(uint32_t(i), dst_);
      },
      "slots " + std::to_string(first_) + "-" + std::to_string(last_) + " now owned by " +
          ctx_.config->backends[dst_].name);
  if (!applied.is_ok()) {
    journal_.remove(old_copy);
    return applied.status();
  }
  switch_pause_ms_.store(ms_since(t0));
  LOG_INFO("migrate", "slots {}-{}: switch pause {:.1f} ms (state saved {:.1f}, writes drained "
           "{:.1f}, {} dirty keys copied {:.1f}, validated {:.1f}, owner saved {:.1f})", first_,
           last_, switch_pause_ms_.load(), t_state, t_drain - t_state, last.size(),
           t_copy - t_drain, t_valid - t_copy, switch_pause_ms_.load() - t_valid);
  finish_tracking();
  return Status::ok();
}

Status Migration::kill_lost_connections() {
  for (uint64_t id : tracker_->lost_connections()) {
    if (id == 0) {
      return fail(Code::Refused, "a write lost its reply on a connection whose id on the source "
                                 "is unknown: it might still run there");
    }
    std::string ids = std::to_string(id);
    Reply r = src_conn_.command({"CLIENT", "KILL", "ID", ids});
    // An integer (killed, or 0: no such client) or "No such client": gone.
    bool gone = r && (r->type == REDIS_REPLY_INTEGER ||
                      (r->type == REDIS_REPLY_ERROR &&
                       reply_text(r.get()).find("No such client") != std::string::npos));
    if (!gone) {
      return fail(Code::Unavailable, "CLIENT KILL ID " + ids + " on the source failed (" +
                                         (r ? reply_text(r.get()) : src_conn_.error()) +
                                         "): a write whose reply was lost might still run there");
    }
    size_t writes = tracker_->loss_confirmed(id);
    connections_killed_.fetch_add(1);
    LOG_INFO("migrate", "slots {}-{}: source connection {} killed ({}); its {} writes with lost "
             "replies are copied again", first_, last_, ids, reply_text(r.get()), writes);
  }
  return Status::ok();
}

Status Migration::unblock_calls() {
  size_t sent = 0;  // one pipeline for all of them
  for (const auto& call : tracker_->blocked()) {
    uint64_t id = call->client_id ? call->client_id->load() : 0;
    if (id == 0) {
      continue;  // its connection has not answered CLIENT ID yet
    }
    call->unblock_requested.store(true);  // before: its null reply may come at once
    src_conn_.append({"CLIENT", "UNBLOCK", std::to_string(id), "TIMEOUT"});
    ++sent;
  }
  for (size_t i = 0; i < sent; ++i) {
    Reply r = src_conn_.read();
    if (!r || r->type == REDIS_REPLY_ERROR) {
      return fail(Code::Unavailable, "CLIENT UNBLOCK on the source: " +
                                         (r ? reply_text(r.get()) : src_conn_.error()));
    }
    if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
      calls_unblocked_.fetch_add(1);
    }
  }
  return Status::ok();
}

void Migration::finish_tracking() {
  if (tracker_) {
    auth_.remove_tracker(tracker_.get());
  }
}

void Migration::abort_to_src(const std::string& why) {
  auto map = ctx_.current_map();  // holds the names while they are used
  const auto& names = map->backend_names();
  LOG_WARN("migrate", "slots {}-{}: {} -> {} aborted: {}", first_, last_, names[src_], names[dst_],
           why);
  if (tracker_) {
    tracker_->set_dst_reads(false);  // first: no new read goes to dst
    tracker_->set_switching(false);
  }
  auto applied = auth_.apply(
      [&](const SegmentMap& m) -> proxy::Result<SegmentMap> {
        int32_t i = segment_index(m);
        if (i < 0 || m.segment(uint32_t(i)).state == SegmentState::Stable) {
          return fail(Code::NotFound, "nothing to undo");
        }
        return m.with_state(uint32_t(i), SegmentState::Stable, 0);
      },
      "slots " + std::to_string(first_) + "-" + std::to_string(last_) + " back to " + names[src_] +
          " (move aborted)");
  finish_tracking();
  // Reads sent to dst before the flag went off must be answered before its
  // copies go: the barrier PINGs every worker link (FIFO per link).
  const bool drained = auth_.wait_barrier(ctx_.trackers.version(), 10000);
  CleanupJob copy{ctx_.config->backends[dst_].name, first_, last_};
  uint64_t deleted = 0;
  Status c = Status::ok();
  if (owns_any(*ctx_.current_map(), dst_, first_, last_)) {
    c = fail(Code::Refused, "the destination owns part of the range; nothing deleted");
  } else if (shutting_down_.load()) {
    journal_.add(copy);
    c = fail(Code::Refused, "left to the next start (shutting down)");
  } else if (!drained) {
    journal_.add(copy);
    c = fail(Code::Refused,
             "left to the next start (workers did not drain their reads within 10 s)");
  } else {
    journal_.add(copy);
    c = delete_range(ctx_.config->backends[dst_], ctx_.config->slots, first_, last_,
                     opt_.timeout_ms, &deleted);
  }
  if (c.is_ok()) {
    journal_.remove(copy);
  }
  {
    std::lock_guard<std::mutex> lock(result_mu_);
    result_ = "aborted: " + why + "; " + std::to_string(deleted) + " copied keys removed from " +
              names[dst_] + (c.is_ok() ? "" : " (cleanup incomplete: " + c.message() + ")");
  }
  (void)applied;
  set_phase(Phase::Aborted);
}

Status Migration::delete_range(const proxy::BackendConfig& backend, uint32_t slots, uint32_t first,
                               uint32_t last, int timeout_ms, uint64_t* deleted) {
  RedisConn c;
  if (Status s = c.connect(backend, timeout_ms); !s.is_ok()) {
    return s;
  }
  std::string cursor = "0";
  do {
    Reply r = c.command({"SCAN", cursor, "COUNT", "1000"});
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
      return fail(Code::Unavailable, "SCAN on " + backend.name + ": " +
                                         (r ? reply_text(r.get()) : c.error()));
    }
    cursor.assign(r->element[0]->str, r->element[0]->len);
    std::vector<std::string_view> args = {"UNLINK"};
    for (size_t i = 0; i < r->element[1]->elements; ++i) {
      std::string_view k(r->element[1]->element[i]->str, r->element[1]->element[i]->len);
      uint32_t slot = proxy::key_slot(k, slots);
      if (slot >= first && slot <= last) {
        args.push_back(k);
      }
    }
    if (args.size() > 1) {
      Reply d = c.command(args);
      if (!d || d->type == REDIS_REPLY_ERROR) {
        return fail(Code::Unavailable, "UNLINK on " + backend.name + ": " +
                                           (d ? reply_text(d.get()) : c.error()));
      }
      *deleted += uint64_t(d->integer);
    }
  } while (cursor != "0");
  return Status::ok();
}

}  // namespace migrate
