// BigKeyCopier implementation (see big_key_copy.h).
#include "migrate/big_key_copy.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "proxy/slot.h"

namespace migrate {

namespace {

using proxy::Code;
using proxy::Status;

Status fail(const RedisConn& c, const std::string& what, const redisReply* r) {
  return Status(Code::Unavailable,
                what + " on " + c.name() + ": " + (r != nullptr ? reply_text(r) : c.error()));
}

bool is_error(const redisReply* r) { return r == nullptr || r->type == REDIS_REPLY_ERROR; }

std::string_view str(const redisReply* r) { return {r->str, r->len}; }

// Reads a collection in chunks: HSCAN/SSCAN with COUNT (a SCAN may repeat an
// element; harmless for a copy, dropped by the digest), ZRANGE/LRANGE by rank
// (ZRANGE rather than ZSCAN: its scores are printed exactly).
class ChunkReader {
 public:
  ChunkReader(RedisConn& c, const std::string& key, const std::string& type, uint32_t chunk)
      : c_(c), key_(key), type_(type), chunk_(chunk), count_(std::to_string(chunk)) {}
  bool done() const { return done_; }
  bool wrong_type() const { return wrong_type_; }
  // The elements of the last chunk: field, value, ... for a hash; member,
  // score, ... for a sorted set; members or list elements otherwise.
  const redisReply* items() const { return items_; }

  // Requests the next chunk (send), then takes it (receive); between the
  // two the caller may work with another backend.
  void send() {
    if (type_ == "hash" || type_ == "set") {
      c_.append({type_ == "hash" ? "HSCAN" : "SSCAN", key_, cursor_, "COUNT", count_});
    } else {
      std::string from = std::to_string(offset_), to = std::to_string(offset_ + chunk_ - 1);
      if (type_ == "zset") {
        c_.append({"ZRANGE", key_, from, to, "WITHSCORES"});
      } else {
        c_.append({"LRANGE", key_, from, to});
      }
    }
    c_.flush();
  }

  Status receive() {
    bool scan = type_ == "hash" || type_ == "set";
    Reply r = c_.read();
    if (r && r->type == REDIS_REPLY_ERROR && std::strncmp(r->str, "WRONGTYPE", 9) == 0) {
      wrong_type_ = done_ = true;
      return Status::ok();
    }
    if (!r || r->type != REDIS_REPLY_ARRAY || (scan && r->elements != 2)) {
      return fail(c_, "reading '" + key_ + "'", r.get());
    }
    reply_ = std::move(r);
    if (scan) {
      cursor_.assign(str(reply_->element[0]));
      items_ = reply_->element[1];
      done_ = cursor_ == "0";
    } else {
      items_ = reply_.get();
      size_t per = type_ == "zset" ? 2 : 1;
      offset_ += chunk_;
      done_ = items_->elements < chunk_ * per;
    }
    return Status::ok();
  }

  Status next() {
    send();
    return receive();
  }

 private:
  RedisConn& c_;
  const std::string& key_;
  const std::string& type_;
  const uint32_t chunk_;
  const std::string count_;
  std::string cursor_ = "0";
  uint64_t offset_ = 0;
  bool done_ = false, wrong_type_ = false;
  Reply reply_;
  const redisReply* items_ = nullptr;
};

const char* count_command(std::string_view type) {
  if (type == "hash") return "HLEN";
  if (type == "set") return "SCARD";
  if (type == "zset") return "ZCARD";
  if (type == "list") return "LLEN";
  return nullptr;  // strings and streams: DUMP/RESTORE
}

uint64_t hash_of(std::string_view s, uint64_t seed = 0) {
  return XXH3_64bits_withSeed(s.data(), s.size(), seed);
}

}  // namespace

std::string staging_name(std::string_view key) {
  std::string out(kStagingPrefix);
  if (proxy::partition_key(key).size() != key.size()) {
    out.append(key);  // has a tag: the staging key's first tag is the same
  } else if (!key.empty() && key.find('}') == std::string_view::npos) {
    out.append("{").append(key).append("}");
  } else {
    // The smallest decimal number with each CRC16 value (all occur below
    // 10^6): built once, 256 KB.
    static const std::vector<uint32_t> smallest = [] {
      std::vector<uint32_t> t(65536, UINT32_MAX);
      size_t left = t.size();
      for (uint32_t i = 0; left > 0; ++i) {
        std::string n = std::to_string(i);
        uint32_t& slot = t[proxy::crc16(n.data(), n.size())];
        if (slot == UINT32_MAX) {
          slot = i;
          --left;
        }
      }
      return t;
    }();
    std::string n = std::to_string(smallest[proxy::crc16(key.data(), key.size())]);
    out.append("{").append(n).append("}").append(key);
  }
  return out;
}

bool is_staging_name(std::string_view key) {
  return key.substr(0, kStagingPrefix.size()) == kStagingPrefix;
}

Status BigKeyCopier::find_big(const std::vector<std::string>& keys, std::vector<Found>* big,
                              std::vector<std::string>* rest) {
  // Inside the write hold the shortest total copy wins (the segment's writes
  // wait for it): one DUMP/RESTORE, several times faster than chunks for a
  // list and no slower for a hash (docs/MIGRATION.md, "Big keys").
  if (opt_.min_elements == 0 || tracker_.switching()) {
    *rest = keys;
    return Status::ok();
  }
  for (const std::string& k : keys) {
    src_.append({"TYPE", k});
  }
  std::vector<std::string> types;
  std::vector<size_t> sized;  // indexes of collections
  for (size_t i = 0; i < keys.size(); ++i) {
    Reply t = src_.read();
    if (is_error(t.get())) {
      return fail(src_, "TYPE", t.get());
    }
    types.emplace_back(str(t.get()));
    if (const char* cmd = count_command(types.back())) {
      src_.append({cmd, keys[i]});
      sized.push_back(i);
    }
  }
  std::vector<bool> is_big(keys.size(), false);
  for (size_t i : sized) {
    Reply n = src_.read();
    if (!n) {
      return fail(src_, "size of '" + keys[i] + "'", nullptr);
    }
    // An error here: the type changed since TYPE; DUMP copes with any type.
    if (n->type == REDIS_REPLY_INTEGER && uint64_t(n->integer) > opt_.min_elements) {
      is_big[i] = true;
      big->push_back({keys[i], types[i]});
    }
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!is_big[i]) {
      rest->push_back(keys[i]);
    }
  }
  return Status::ok();
}

Status BigKeyCopier::copy(const std::vector<std::string>& keys, std::vector<std::string>* rest,
                          uint64_t* keys_copied, uint64_t* bytes_copied) {
  std::vector<Found> big;
  if (Status s = find_big(keys, &big, rest); !s.is_ok()) {
    return s;
  }
  for (const Found& b : big) {
    proxy::MigrationTracker::Mark before = tracker_.mark(b.key);  // before the first chunk
    uint64_t bytes = 0;
    bool changed = false;
    if (Status s = copy_one(b, &bytes, &changed); !s.is_ok()) {
      return s;
    }
    big_.insert(b.key);
    if (changed) {
      tracker_.mark_dirty(b.key);
    } else {
      tracker_.settle(b.key, before);  // after the RENAME
    }
    *keys_copied += 1;
    *bytes_copied += bytes;
  }
  return Status::ok();
}

Status BigKeyCopier::copy_one(const Found& k, uint64_t* bytes, bool* changed) {
  const std::string stage = staging_name(k.key);
  if (Reply r = dst_.command({"DEL", stage}); is_error(r.get())) {
    return fail(dst_, "DEL of the staging key", r.get());
  }
  const char* write = k.type == "hash"   ? "HSET"
                      : k.type == "set"  ? "SADD"
                      : k.type == "zset" ? "ZADD"
                                         : "RPUSH";
  ChunkReader rd(src_, k.key, k.type, opt_.chunk);
  uint64_t written = 0;
  bool writing = false;  // a chunk's write is in flight on dst
  auto written_ok = [&]() -> Status {
    writing = false;
    Reply r = dst_.read();
    return is_error(r.get())
               ? fail(dst_, std::string(write) + " into the staging key of '" + k.key + "'",
                      r.get())
               : Status::ok();
  };
  std::vector<std::string_view> args;
  while (!rd.done()) {
    // The source reads chunk i+1 while the destination writes chunk i.
    if (Status s = rd.next(); !s.is_ok()) {
      return s;
    }
    if (writing) {
      if (Status s = written_ok(); !s.is_ok()) {
        return s;
      }
    }
    if (rd.wrong_type()) {
      break;
    }
    const redisReply* items = rd.items();
    if (items->elements == 0) {
      continue;
    }
    args.assign({write, stage});
    for (size_t i = 0; i < items->elements; ++i) {
      // ZRANGE gives member, score; ZADD takes score, member.
      size_t j = k.type == "zset" ? (i % 2 == 0 ? i + 1 : i - 1) : i;
      args.push_back(str(items->element[j]));
      *bytes += items->element[j]->len;
    }
    dst_.append(args);  // copies the arguments: the reply may go
    dst_.flush();
    writing = true;
    written += items->elements;
  }
  if (writing) {
    if (Status s = written_ok(); !s.is_ok()) {
      return s;
    }
  }
  Reply pexp = rd.wrong_type() ? nullptr : src_.command({"PEXPIRETIME", k.key});
  if (!rd.wrong_type() && (!pexp || pexp->type != REDIS_REPLY_INTEGER)) {
    return fail(src_, "PEXPIRETIME of '" + k.key + "'", pexp.get());
  }
  if (rd.wrong_type() || written == 0 || pexp->integer == -2) {
    // Gone on the source (or replaced by another type): gone here too; a
    // replacement is copied again by catch-up (the key is dirty).
    *changed = rd.wrong_type() || (written == 0 && pexp->integer != -2);
    if (Reply r = dst_.command({"DEL", stage, k.key}); is_error(r.get())) {
      return fail(dst_, "DEL of '" + k.key + "'", r.get());
    }
    return Status::ok();
  }
  std::string at = std::to_string(pexp->integer);
  dst_.append({"MULTI"});
  dst_.append({"RENAME", stage, k.key});
  if (pexp->integer > 0) {
    dst_.append({"PEXPIREAT", k.key, at});
  }
  dst_.append({"EXEC"});
  Reply exec;
  for (int i = 0, n = pexp->integer > 0 ? 4 : 3; i < n; ++i) {
    exec = dst_.read();
    if (is_error(exec.get())) {
      return fail(dst_, "RENAME of the staging key of '" + k.key + "'", exec.get());
    }
  }
  if (exec->type != REDIS_REPLY_ARRAY || exec->elements == 0 || is_error(exec->element[0])) {
    return fail(dst_, "RENAME of the staging key of '" + k.key + "'",
                exec->elements > 0 ? exec->element[0] : exec.get());
  }
  return Status::ok();
}

namespace {

// One side's digest of a key (see BigKeyCopier::digest()).
class SideDigest {
 public:
  SideDigest(RedisConn& c, const std::string& key, uint32_t chunk)
      : c_(c), key_(key), chunk_(chunk), st_(XXH3_createState()) {
    XXH3_64bits_reset(st_);
  }
  ~SideDigest() { XXH3_freeState(st_); }
  SideDigest(const SideDigest&) = delete;
  SideDigest& operator=(const SideDigest&) = delete;

  Status set_type(Reply t) {
    if (is_error(t.get())) {
      return fail(c_, "TYPE", t.get());
    }
    type_.assign(str(t.get()));
    if (type_ == "string" || type_ == "stream") {
      return whole();
    }
    if (type_ != "none") {
      rd_ = std::make_unique<ChunkReader>(c_, key_, type_, chunk_);
    }
    return Status::ok();
  }
  bool reading() const { return rd_ && !rd_->done(); }
  void send() { rd_->send(); }
  Status receive() {
    if (Status s = rd_->receive(); !s.is_ok() || rd_->wrong_type()) {
      return s;
    }
    const redisReply* items = rd_->items();
    for (size_t i = 0; i < items->elements; ++i) {
      std::string_view e = str(items->element[i]);
      if (type_ == "hash") {
        members_.push_back(hash_of(str(items->element[i + 1]), hash_of(e)));
        ++i;
      } else if (type_ == "set") {
        members_.push_back(hash_of(e));
      } else if (type_ == "zset") {
        double score = std::strtod(std::string(str(items->element[++i])).c_str(), nullptr);
        add(e);
        XXH3_64bits_update(st_, &score, sizeof score);
        ++n_;
      } else {
        add(e);
        ++n_;
      }
    }
    return Status::ok();
  }
  std::string finish() {
    if (type_ == "none") {
      return "none";
    }
    if (!members_.empty()) {  // a SCAN's repeats dropped, order forgotten
      std::sort(members_.begin(), members_.end());
      members_.erase(std::unique(members_.begin(), members_.end()), members_.end());
      XXH3_64bits_update(st_, members_.data(), members_.size() * sizeof(uint64_t));
      n_ = members_.size();
    }
    char hex[48];
    std::snprintf(hex, sizeof hex, ":%llu:%016llx", (unsigned long long)n_,
                  (unsigned long long)XXH3_64bits_digest(st_));
    return type_ + (rd_ && rd_->wrong_type() ? "(changed)" : "") + hex;
  }

 private:
  void add(std::string_view s) {
    uint64_t len = s.size();
    XXH3_64bits_update(st_, &len, sizeof len);
    XXH3_64bits_update(st_, s.data(), s.size());
  }
  // Strings and streams are not chunked (see the header): the whole value.
  Status whole() {
    Reply v =
        type_ == "string" ? c_.command({"GET", key_}) : c_.command({"XRANGE", key_, "-", "+"});
    if (is_error(v.get())) {
      return fail(c_, "reading '" + key_ + "'", v.get());
    }
    if (v->type == REDIS_REPLY_STRING) {
      add(str(v.get()));
      return Status::ok();
    }
    for (size_t i = 0; i < v->elements; ++i) {  // [id, [field, value, ...]]
      add(str(v->element[i]->element[0]));
      for (size_t j = 0; j < v->element[i]->element[1]->elements; ++j) {
        add(str(v->element[i]->element[1]->element[j]));
      }
    }
    return Status::ok();
  }

  RedisConn& c_;
  const std::string& key_;
  const uint32_t chunk_;
  XXH3_state_t* st_;
  std::string type_;
  std::unique_ptr<ChunkReader> rd_;
  std::vector<uint64_t> members_;  // hashes and sets
  uint64_t n_ = 0;
};

}  // namespace

Status BigKeyCopier::digest(RedisConn& src, RedisConn& dst, const std::string& key,
                            std::string out[2]) const {
  SideDigest sides[2] = {{src, key, opt_.chunk}, {dst, key, opt_.chunk}};
  RedisConn* conns[2] = {&src, &dst};
  for (RedisConn* c : conns) {
    c->append({"TYPE", key});
    c->flush();
  }
  for (int i = 0; i < 2; ++i) {
    if (Status s = sides[i].set_type(conns[i]->read()); !s.is_ok()) {
      return s;
    }
  }
  // Both sides walk the key together: one chunk request in flight on each.
  while (sides[0].reading() || sides[1].reading()) {
    bool asked[2] = {sides[0].reading(), sides[1].reading()};
    for (int i = 0; i < 2; ++i) {
      if (asked[i]) {
        sides[i].send();
      }
    }
    for (int i = 0; i < 2; ++i) {
      if (asked[i]) {
        if (Status s = sides[i].receive(); !s.is_ok()) {
          return s;
        }
      }
    }
  }
  out[0] = sides[0].finish();
  out[1] = sides[1].finish();
  return Status::ok();
}

}  // namespace migrate
