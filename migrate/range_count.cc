// Whole-range key-count validation (see range_count.h).
#include "migrate/range_count.h"

#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "migrate/big_key_copy.h"
#include "proxy/slot.h"

namespace migrate {

namespace {

using proxy::Code;
using proxy::Status;

// The range's keys seen on one backend: (hash, offset of the name in names).
struct KeySet {
  std::vector<std::pair<uint64_t, uint64_t>> index;  // padded to 16 bytes anyway
  std::string names;                                 // each name preceded by its length (4 bytes)

  void add(std::string_view k) {
    uint32_t len = uint32_t(k.size());
    index.emplace_back(XXH3_64bits(k.data(), k.size()), names.size());
    names.append(reinterpret_cast<const char*>(&len), sizeof len).append(k);
  }
  std::string_view name(uint64_t at) const {
    uint32_t len;
    std::memcpy(&len, names.data() + at, sizeof len);
    return std::string_view(names).substr(at + sizeof len, len);
  }
  // Sorted by (hash, name), SCAN's repeats dropped.
  void finish() {
    auto less = [this](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : name(a.second) < name(b.second);
    };
    std::sort(index.begin(), index.end(), less);
    index.erase(std::unique(index.begin(), index.end(),
                            [this](const auto& a, const auto& b) {
                              return a.first == b.first && name(a.second) == name(b.second);
                            }),
                index.end());
  }
};

struct Scan {
  RedisConn& conn;
  KeySet keys;
  std::string cursor = "0";
  bool done = false;
};

}  // namespace

Status count_range(RedisConn& src, RedisConn& dst, const RangeSpec& range,
                   proxy::MigrationTracker& tracker, RangeCount* out) {
  auto t0 = std::chrono::steady_clock::now();
  Scan scans[2] = {{src, {}}, {dst, {}}};
  std::string count = std::to_string(range.scan_count);
  while (!scans[0].done || !scans[1].done) {
    for (Scan& s : scans) {
      if (!s.done) {
        s.conn.append({"SCAN", s.cursor, "COUNT", count});
      }
    }
    for (Scan& s : scans) {
      if (s.done) {
        continue;
      }
      Reply r = s.conn.read();
      if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        return Status(Code::Unavailable, "SCAN on " + s.conn.name() + ": " +
                                             (r ? reply_text(r.get()) : s.conn.error()));
      }
      s.cursor.assign(r->element[0]->str, r->element[0]->len);
      s.done = s.cursor == "0";
      for (size_t i = 0; i < r->element[1]->elements; ++i) {
        std::string_view k(r->element[1]->element[i]->str, r->element[1]->element[i]->len);
        uint32_t slot = proxy::key_slot(k, range.slots);
        if (slot >= range.first && slot <= range.last && !is_staging_name(k)) {
          s.keys.add(k);
        }
      }
    }
  }
  for (Scan& s : scans) {
    s.keys.finish();
  }
  const KeySet& a = scans[0].keys;
  const KeySet& b = scans[1].keys;
  out->src_keys = a.index.size();
  out->dst_keys = b.index.size();
  // Both sorted by (hash, name): one merge finds the keys on one side only.
  auto excused = [&](std::string_view k) {
    std::string key(k);
    auto m = tracker.mark(key);  // gen != 0: written since it was last settled
    if (m.gen != 0 || m.pending != 0 || tracker.is_dirty(key)) {
      ++out->written;
      return true;
    }
    return false;
  };
  size_t i = 0, j = 0;
  while (i < a.index.size() || j < b.index.size()) {
    int side;  // 0: only on src, 1: only on dst, 2: both
    if (j == b.index.size()) {
      side = 0;
    } else if (i == a.index.size()) {
      side = 1;
    } else if (a.index[i].first != b.index[j].first) {
      side = a.index[i].first < b.index[j].first ? 0 : 1;
    } else {
      std::string_view x = a.name(a.index[i].second), y = b.name(b.index[j].second);
      side = x == y ? 2 : (x < y ? 0 : 1);
    }
    if (side == 0 || side == 2) {
      std::string_view k = a.name(a.index[i++].second);
      if (side == 0 && !excused(k)) {
        out->only_src.emplace_back(k);
      }
    }
    if (side == 1 || side == 2) {
      std::string_view k = b.name(b.index[j++].second);
      if (side == 1 && !excused(k)) {
        out->only_dst.emplace_back(k);
      }
    }
  }
  out->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return Status::ok();
}

Status validate_range_count(RedisConn& src, RedisConn& dst, const RangeSpec& range,
                            proxy::MigrationTracker& tracker,
                            const std::function<Status(const std::vector<std::string>&)>& recopy,
                            RangeCount* out) {
  if (Status s = count_range(src, dst, range, tracker, out); !s.is_ok()) {
    return s;
  }
  if (out->only_src.empty() && out->only_dst.empty()) {
    return Status::ok();
  }
  std::vector<std::string> dirty = tracker.dirty_keys();
  for (size_t at = 0; at < dirty.size(); at += range.batch_keys) {
    std::vector<std::string> part(dirty.begin() + at,
                                  dirty.begin() + std::min(dirty.size(), at + range.batch_keys));
    if (Status s = recopy(part); !s.is_ok()) {
      return s;
    }
  }
  // Look again: EXISTS on both sides (pipelined); agreeing keys (expired
  // meanwhile, or copied just now) and keys written meanwhile are fine.
  size_t only_src = 0, only_dst = 0;
  std::string example;
  for (auto* list : {&out->only_src, &out->only_dst}) {
    for (const std::string& k : *list) {
      src.append({"EXISTS", k});
      dst.append({"EXISTS", k});
    }
    std::vector<std::string> left;
    for (const std::string& k : *list) {
      Reply x = src.read();
      Reply y = dst.read();
      if (!x || !y || x->type != REDIS_REPLY_INTEGER || y->type != REDIS_REPLY_INTEGER) {
        return Status(Code::Unavailable, "EXISTS: " + (x ? reply_text(x.get()) : src.error()) +
                                             " / " + (y ? reply_text(y.get()) : dst.error()));
      }
      auto m = tracker.mark(k);
      if (x->integer == y->integer) {
        ++out->expired;
      } else if (m.gen != 0 || m.pending != 0 || tracker.is_dirty(k)) {
        ++out->written;
      } else {
        left.push_back(k);
        (x->integer != 0 ? only_src : only_dst) += 1;
        if (example.empty()) {
          example = "'" + k + "' only on " + (x->integer != 0 ? src.name() : dst.name());
        }
      }
    }
    *list = std::move(left);
  }
  if (only_src + only_dst == 0) {
    return Status::ok();
  }
  return Status(Code::Corrupt,
                "key count of slots " + std::to_string(range.first) + "-" +
                    std::to_string(range.last) + ": " + std::to_string(out->src_keys) + " on " +
                    src.name() + ", " + std::to_string(out->dst_keys) + " on " + dst.name() +
                    "; not written during the move and still differing after the dirty keys "
                    "were copied again: " +
                    std::to_string(only_src) + " only on " + src.name() + ", " +
                    std::to_string(only_dst) + " only on " + dst.name() + " (e.g. " + example +
                    ")");
}

}  // namespace migrate
