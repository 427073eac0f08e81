// CommandTable construction (a COMMAND reply -> entries, classes, merge kinds, a name index) and
// its two hot-path queries, lookup() and key_positions(). hiredis's reader parses the reply; the
// entries are re-encoded into raw_, which for the canonical RESP2 Redis writes is the same bytes.
#include "proxy/commands.h"
#include "proxy/text.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <optional>

namespace proxy {

// Redis 7.0's COMMAND reply, embedded by the build from commands_fallback.resp.
extern const unsigned char kCommandsFallback[];
extern const std::size_t kCommandsFallbackSize;

namespace {

constexpr std::size_t kMaxLookupName = 128;  // stack buffer for "container|sub"

char to_lower(char c) { return ascii_lower(c); }

// FNV-1a over already lower-cased bytes: names are short, so this beats anything fancier.
uint64_t hash_name(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (char c : s) {
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  return h;
}

Status bad(std::string msg) { return Status(Code::InvalidArgument, "COMMAND reply: " + msg); }

// redisReply helpers.
bool is_array(const redisReply* r) { return r != nullptr && r->type == REDIS_REPLY_ARRAY; }
bool is_int(const redisReply* r) { return r != nullptr && r->type == REDIS_REPLY_INTEGER; }
bool is_text(const redisReply* r) {
  return r != nullptr && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}
std::string_view text(const redisReply* r) {
  return is_text(r) ? std::string_view(r->str, r->len) : std::string_view();
}

// Value of `key` in a RESP2-flattened map [k1, v1, k2, v2, ...], or nullptr.
const redisReply* map_get(const redisReply* map, std::string_view key) {
  for (std::size_t i = 0; is_array(map) && i + 1 < map->elements; i += 2) {
    if (text(map->element[i]) == key) {
      return map->element[i + 1];
    }
  }
  return nullptr;
}
int32_t map_int(const redisReply* map, std::string_view key, int32_t dflt) {
  const redisReply* v = map_get(map, key);
  return is_int(v) ? static_cast<int32_t>(v->integer) : dflt;
}

void encode_header(char type, long long n, std::string& out) {
  out.append(1, type).append(std::to_string(n)).append("\r\n");
}
// RESP2 encoding of a parsed value; identical to what Redis sent for the types a reply has.
void encode(const redisReply* r, std::string& out) {
  static constexpr char kTypes[] = "?$*:$+-";  // indexed by REDIS_REPLY_*
  if (r->type == REDIS_REPLY_INTEGER || r->type == REDIS_REPLY_NIL) {
    encode_header(kTypes[r->type], r->type == REDIS_REPLY_NIL ? -1 : r->integer, out);
  } else if (r->type == REDIS_REPLY_ARRAY) {
    encode_header('*', static_cast<long long>(r->elements), out);
    for (std::size_t i = 0; i < r->elements; ++i) {
      encode(r->element[i], out);
    }
  } else if (r->type == REDIS_REPLY_STRING) {
    encode_header('$', static_cast<long long>(r->len), out);
    out.append(r->str, r->len).append("\r\n");
  } else {  // status or error: one line
    out.append(1, kTypes[r->type]).append(r->str, r->len).append("\r\n");
  }
}

// The bits of the names in the array `names`: bit i for table[i]; unknown names are ignored.
template <std::size_t N>
uint32_t bits_of(const redisReply* names, const std::string_view (&table)[N]) {
  uint32_t bits = 0;
  for (std::size_t i = 0; is_array(names) && i < names->elements; ++i) {
    for (std::size_t b = 0; b < N; ++b) {
      bits |= iequals(text(names->element[i]), table[b]) ? 1u << b : 0;
    }
  }
  return bits;
}

// Names of the bits of CommandFlag and KeySpecFlag, in bit order (bit i is name i).
constexpr std::string_view kFlagNames[] = {
    "write",       "readonly",      "denyoom",           "admin",        "pubsub",
    "noscript",    "blocking",      "loading",           "stale",        "fast",
    "movablekeys", "no_auth",       "no_multi",          "skip_monitor", "skip_slowlog",
    "asking",      "may_replicate", "no_mandatory_keys", "allow_busy",   "module"};
static_assert(kFlagModule == 1u << 19 && kFlagNoMulti == 1u << 12, "kFlagNames order");
constexpr std::string_view kKeyFlagNames[] = {
    "RO",     "RW",     "OW",      "RM",         "access",        "update",
    "insert", "delete", "not_key", "incomplete", "variable_flags"};
static_assert(kKeyVariableFlags == 1u << 10 && kKeyNotKey == 1u << 8, "kKeyFlagNames order");

// The ACL categories and tips (from bit 7) the classification rules look at, in bit order.
constexpr std::string_view kAclNames[] = {"@transaction", "@scripting", "@pubsub",   "@blocking",
                                          "@connection",  "@admin",     "@dangerous"};
constexpr std::string_view kTipNames[] = {"request_policy:all_shards",
                                          "request_policy:multi_shard"};
constexpr uint32_t kAclTransaction = 1u << 0, kAclScripting = 1u << 1, kAclPubsub = 1u << 2,
                   kAclBlocking = 1u << 3, kAclConnection = 1u << 4, kAclAdmin = 1u << 5,
                   kAclDangerous = 1u << 6, kTipAllShards = 1u << 7, kTipMultiShard = 1u << 8;

KeySpec parse_key_spec(const redisReply* spec) {
  KeySpec ks;
  ks.flags = bits_of(map_get(spec, "flags"), kKeyFlagNames);
  const redisReply* bs = map_get(spec, "begin_search");
  const redisReply* bs_spec = map_get(bs, "spec");
  if (text(map_get(bs, "type")) == "index") {
    ks.begin = BeginSearch::Index;
    ks.index = map_int(bs_spec, "index", 0);
  } else if (text(map_get(bs, "type")) == "keyword") {
    ks.begin = BeginSearch::Keyword;
    ks.keyword = std::string(text(map_get(bs_spec, "keyword")));
    ks.startfrom = map_int(bs_spec, "startfrom", 1);
  }
  const redisReply* fk = map_get(spec, "find_keys");
  const redisReply* fk_spec = map_get(fk, "spec");
  if (text(map_get(fk, "type")) == "range") {
    ks.find = FindKeys::Range;
    ks.lastkey = map_int(fk_spec, "lastkey", 0);
    ks.limit = map_int(fk_spec, "limit", 0);
  } else if (text(map_get(fk, "type")) == "keynum") {
    ks.find = FindKeys::Keynum;
    ks.keynumidx = map_int(fk_spec, "keynumidx", 0);
    ks.firstkey = map_int(fk_spec, "firstkey", 1);
  }
  ks.keystep = map_int(fk_spec, "keystep", 1);
  // A spec we cannot follow is kept as unknown rather than half-understood.
  if (ks.begin == BeginSearch::Unknown || ks.find == FindKeys::Unknown || ks.keystep < 1 ||
      (ks.begin == BeginSearch::Index && ks.index < 1) ||
      (ks.begin == BeginSearch::Keyword && ks.keyword.empty())) {
    ks.begin = BeginSearch::Unknown;
    ks.find = FindKeys::Unknown;
  }
  return ks;
}

bool is_one_of(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The rules of shared/reference/command-classes.md, in order: the first match wins.
CommandClass classify(const CommandInfo& info, uint32_t traits) {
  const std::string_view name = info.name;
  const auto keys = std::count_if(info.specs.begin(), info.specs.end(),
                                  [](const KeySpec& ks) { return ks.is_key(); });
  const auto first_key = std::find_if(info.specs.begin(), info.specs.end(),
                                      [](const KeySpec& ks) { return ks.is_key(); });
  const bool one_key = keys == 1 && first_key->begin == BeginSearch::Index &&
                       first_key->find == FindKeys::Range && first_key->lastkey == 0;
  using C = CommandClass;
  return (traits & kAclTransaction)                                ? C::Transaction
         : (traits & kAclScripting)                                ? C::Scripting
         : (traits & kAclPubsub)                                   ? C::PubSub
         : (info.flags & kFlagBlocking) || (traits & kAclBlocking) ? C::Blocking
         : name == "command" || name.starts_with("command|")       ? C::Local
         : (traits & kAclConnection) && name != "wait"             ? C::Connection
         : keys == 0 && !(traits & kAclAdmin) &&
                 ((traits & kTipAllShards) || name == "scan" || name == "randomkey")
             ? C::FleetWide
         : (traits & kAclAdmin) || ((traits & kAclDangerous) && keys == 0) ||
                 is_one_of(name, {"migrate", "move", "restore-asking", "swapdb", "wait", "cluster",
                                  "readonly", "readwrite", "asking"}) ||
                 name.starts_with("cluster|")
             ? C::Admin
         : keys == 0 ? C::Local
         : (traits & kTipMultiShard) &&
                 is_one_of(name, {"mget", "mset", "del", "exists", "unlink", "touch"})
             ? C::MultiKey
         : one_key ? C::SingleKey
                   : C::SameSlot;
}

// A container takes the keyless class its non-HELP subcommands share (CLIENT -> Connection, CONFIG
// -> Admin, SCRIPT -> Scripting), else (OBJECT, XINFO, ACL) its own class as a leaf, usually Local:
// an unknown subcommand then reaches any one backend, which answers the error.
CommandClass container_class(const CommandInfo& c, std::span<const CommandInfo> subs) {
  std::optional<CommandClass> common;
  bool mixed = false;
  for (const CommandInfo& s : subs) {
    if (!s.name.ends_with("|help")) {
      mixed |= common.has_value() && *common != s.cls;
      common = s.cls;
    }
  }
  // The keyed classes are the first five enumerators, SingleKey ... Blocking.
  return (common && !mixed && *common > CommandClass::Blocking) ? *common : c.cls;
}

void set_merge(CommandInfo& info) {
  if (info.cls != CommandClass::MultiKey) {
    return;
  }
  const std::string_view n = info.name;
  info.merge = n == "mget"                                          ? MergeKind::ValuesInKeyOrder
               : n == "mset"                                        ? MergeKind::AllOk
               : is_one_of(n, {"del", "unlink", "exists", "touch"}) ? MergeKind::SumIntegers
                                                                    : MergeKind::None;
  for (const KeySpec& ks : info.specs) {
    info.key_step = ks.is_key() && ks.find == FindKeys::Range ? ks.keystep : info.key_step;
  }
}

// One COMMAND entry: [name, arity, flags, first, last, step, acl, tips, key_specs, subcommands].
// Sets its class as a leaf; a container's class is settled once its subcommands are known.
Status parse_entry(const redisReply* e, CommandInfo& info) {
  const redisReply* const* f = is_array(e) && e->elements >= 9 ? e->element : nullptr;
  if (f == nullptr || !is_text(f[0]) || f[0]->len == 0 || !is_int(f[1]) || !is_array(f[2]) ||
      !is_array(f[6]) || !is_array(f[7]) || !is_array(f[8])) {
    // Redis 6 and older have no key specs or tips: the built-in table serves those better.
    return bad("not a Redis 7 COMMAND entry");
  }
  std::transform(f[0]->str, f[0]->str + f[0]->len, std::back_inserter(info.name), to_lower);
  info.arity = static_cast<int32_t>(f[1]->integer);
  info.flags = bits_of(f[2], kFlagNames);
  for (std::size_t i = 0; i < f[8]->elements; ++i) {
    const KeySpec& ks = info.specs.emplace_back(parse_key_spec(f[8]->element[i]));
    // SORT's STORE destination is an `unknown` spec that writes; its BY/GET specs only read.
    info.sort_store |= ks.begin == BeginSearch::Unknown && (ks.flags & (kKeyOw | kKeyRw)) != 0;
  }
  info.cls = classify(info, bits_of(f[6], kAclNames) | (bits_of(f[7], kTipNames) << 7));
  set_merge(info);
  return Status::ok();
}

// Lower-cases `s` into `buf` (which has room for it).
std::string_view lower_into(char* buf, std::string_view s) {
  std::transform(s.begin(), s.end(), buf, to_lower);
  return std::string_view(buf, s.size());
}

// Strict non-negative decimal as Redis's string2ll accepts it (no sign, no leading zeros).
bool parse_count(std::string_view s, int64_t& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && out >= 0 &&
         !(s.size() > 1 && s[0] == '0');
}

// Where a keyword begin-search puts the first key, or 0 when the keyword is absent. As Redis: a
// forward search runs from startfrom to the next-to-last argument; a negative startfrom searches
// backwards from argc+startfrom down to argument 1.
int64_t after_keyword(const KeySpec& ks, std::span<const std::string_view> args) {
  const auto argc = static_cast<int64_t>(args.size());
  const bool forward = ks.startfrom >= 0;
  for (int64_t i = forward ? ks.startfrom : argc + ks.startfrom; forward ? i < argc - 1 : i >= 1;
       i += forward ? 1 : -1) {
    if (i < argc && iequals(args[i], ks.keyword)) {
      return i + 1;
    }
  }
  return 0;
}

// The last key of a range or keynum spec whose first key is at `first`; false if malformed.
// Keynum moves `first` to the first key; numkeys 0 yields last < first (no keys).
bool last_key(const KeySpec& ks, std::span<const std::string_view> args, int64_t& first,
              int64_t& last) {
  const auto argc = static_cast<int64_t>(args.size());
  if (ks.find == FindKeys::Keynum) {
    int64_t numkeys = 0;
    const int64_t idx = first + ks.keynumidx;
    if (idx >= argc || !parse_count(args[idx], numkeys) || numkeys > argc) {
      return false;  // (numkeys <= argc also keeps the arithmetic below from overflowing)
    }
    first += ks.firstkey;
    last = first + (numkeys - 1) * ks.keystep;
    return numkeys == 0 || last < argc;
  }
  if (ks.lastkey >= 0) {
    last = first + ks.lastkey;
  } else if (ks.limit <= 1) {
    last = argc + ks.lastkey;
  } else {
    // XREAD ... STREAMS k1 k2 id1 id2: the keys are the first 1/limit of what remains.
    if (first > argc || (argc - first) % ks.limit != 0) {
      return false;
    }
    last = first + (argc - first) / ks.limit + ks.lastkey;
  }
  // A variable range must hold whole key groups (MSET k1 v1 k2 is malformed).
  return first < argc && last < argc && last >= first &&
         (ks.lastkey >= 0 || (last - first + 1) % ks.keystep == 0);
}

}  // namespace

const char* class_name(CommandClass c) {
  static constexpr const char* kNames[kCommandClassCount] = {
      "single-key", "multi-key",  "same-slot", "transaction", "blocking", "pubsub",
      "scripting",  "fleet-wide", "local",     "connection",  "admin"};
  const auto i = static_cast<std::size_t>(c);
  return i < kCommandClassCount ? kNames[i] : "unknown";
}

Result<CommandTable> CommandTable::from_command_reply(std::string_view resp) {
  const std::unique_ptr<redisReader, decltype(&redisReaderFree)> reader(redisReaderCreate(),
                                                                        &redisReaderFree);
  if (reader == nullptr || redisReaderFeed(reader.get(), resp.data(), resp.size()) != REDIS_OK) {
    return bad("cannot create a reader");
  }
  void* parsed = nullptr;
  if (redisReaderGetReply(reader.get(), &parsed) != REDIS_OK) {
    return bad(std::string("unparsable: ") + reader->errstr);
  }
  const std::unique_ptr<redisReply, decltype(&freeReplyObject)> reply(
      static_cast<redisReply*>(parsed), &freeReplyObject);
  if (!is_array(reply.get()) || reply->elements == 0 || reader->pos != reader->len) {
    return bad(!reply                             ? "truncated"
               : reply->type == REDIS_REPLY_ERROR ? "the backend answered an error"
               : reader->pos != reader->len       ? "trailing bytes after the reply"
                                                  : "not a non-empty array");
  }
  CommandTable t;
  encode_header('*', static_cast<long long>(reply->elements), t.raw_);
  for (std::size_t i = 0; i < reply->elements; ++i) {
    const redisReply* e = reply->element[i];
    const std::size_t top = t.entries_.size();
    t.top_.push_back(static_cast<uint32_t>(top));
    if (Status s = parse_entry(e, t.entries_.emplace_back()); !s.is_ok()) {
      return s;
    }
    const std::size_t offset = t.raw_.size();
    const redisReply* subs = e->elements > 9 && is_array(e->element[9]) ? e->element[9] : nullptr;
    // Encode field by field so that each subcommand's bytes get their own offset too.
    encode_header('*', static_cast<long long>(e->elements), t.raw_);
    for (std::size_t f = 0; f < e->elements; ++f) {
      if (f == 9 && subs != nullptr) {
        encode_header('*', static_cast<long long>(subs->elements), t.raw_);
      } else {
        encode(e->element[f], t.raw_);
      }
    }
    for (std::size_t j = 0; subs != nullptr && j < subs->elements; ++j) {
      CommandInfo& sub = t.entries_.emplace_back();
      if (Status s = parse_entry(subs->element[j], sub); !s.is_ok()) {
        return s;
      }
      if (!sub.name.starts_with(t.entries_[top].name + "|")) {
        return bad("stray subcommand " + sub.name);
      }
      sub.raw_offset = static_cast<uint32_t>(t.raw_.size());
      encode(subs->element[j], t.raw_);
      sub.raw_length = static_cast<uint32_t>(t.raw_.size() - sub.raw_offset);
    }
    CommandInfo& c = t.entries_[top];
    c.raw_offset = static_cast<uint32_t>(offset);
    c.raw_length = static_cast<uint32_t>(t.raw_.size() - offset);
    c.is_container = t.entries_.size() > top + 1;
    if (c.is_container) {
      c.cls = container_class(c, std::span(t.entries_).subspan(top + 1));
    }
  }
  if (const CommandInfo* dup = t.build_index(); dup != nullptr) {
    return bad("duplicate command " + dup->name);
  }
  if (t.max_name_ >= kMaxLookupName || t.raw_.size() >= UINT32_MAX) {
    return bad("too large");
  }
  return t;
}

CommandTable CommandTable::builtin() {
  const std::string_view bytes(reinterpret_cast<const char*>(kCommandsFallback),
                               kCommandsFallbackSize);
  Result<CommandTable> t = from_command_reply(bytes);
  if (!t.is_ok()) {
    // The bytes are part of the binary: failing here is a build defect, not an environment one.
    std::fprintf(stderr, "FATAL: built-in command table: %s\n", t.status().message().c_str());
    std::abort();
  }
  return std::move(t).value();
}

const CommandInfo* CommandTable::build_index() {
  // A power of two with load factor <= 1/3, which keeps probe chains short.
  const std::size_t cap = std::bit_ceil(std::max<std::size_t>(16, entries_.size() * 3));
  slots_.assign(cap, 0);
  max_name_ = 0;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const std::string& name = entries_[i].name;
    max_name_ = std::max(max_name_, name.size());
    std::size_t s = hash_name(name) & (cap - 1);
    while (slots_[s] != 0 && entries_[slots_[s] - 1].name != name) {
      s = (s + 1) & (cap - 1);
    }
    if (slots_[s] != 0) {
      return &entries_[i];
    }
    slots_[s] = static_cast<uint32_t>(i + 1);
  }
  return nullptr;
}

const CommandInfo* CommandTable::find_lower(std::string_view lower_name) const {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t s = hash_name(lower_name) & mask; !slots_.empty() && slots_[s] != 0;
       s = (s + 1) & mask) {
    if (entries_[slots_[s] - 1].name == lower_name) {
      return &entries_[slots_[s] - 1];
    }
  }
  return nullptr;
}

const CommandInfo* CommandTable::find(std::string_view full_name) const {
  char buf[kMaxLookupName];
  return full_name.empty() || full_name.size() > max_name_ ? nullptr
                                                           : find_lower(lower_into(buf, full_name));
}

const CommandInfo* CommandTable::lookup(std::span<const std::string_view> args) const {
  const CommandInfo* top = args.empty() ? nullptr : find(args[0]);
  if (top == nullptr || !top->is_container || args.size() < 2 || args[1].empty() ||
      args[0].size() + 1 + args[1].size() > max_name_) {
    return top;
  }
  // "container|sub" in a stack buffer (max_name_ < kMaxLookupName is checked at build).
  char buf[kMaxLookupName];
  lower_into(buf, args[0]);
  buf[args[0].size()] = '|';
  lower_into(buf + args[0].size() + 1, args[1]);
  const CommandInfo* sub = find_lower(std::string_view(buf, args[0].size() + 1 + args[1].size()));
  return sub != nullptr ? sub : top;
}

bool CommandTable::key_positions(const CommandInfo& info, std::span<const std::string_view> args,
                                 std::vector<uint32_t>& out) const {
  const std::size_t old_size = out.size();
  const auto argc = static_cast<int64_t>(args.size());
  for (const KeySpec& ks : info.specs) {
    if (!ks.is_key() || ks.begin == BeginSearch::Unknown) {
      continue;
    }
    int64_t first = ks.begin == BeginSearch::Index ? ks.index : after_keyword(ks, args);
    int64_t last = 0;
    if (first == 0) {
      continue;  // an optional keyword is absent: no keys from this spec
    }
    if (!last_key(ks, args, first, last)) {
      out.resize(old_size);
      return false;
    }
    for (int64_t i = first; i <= last; i += ks.keystep) {
      out.push_back(static_cast<uint32_t>(i));
    }
  }
  if (info.sort_store) {
    // SORT's STORE can be anywhere after the key: skip option arguments as Redis's sortGetKeys.
    int64_t store = 0;
    for (int64_t i = 2; i < argc; ++i) {
      if (iequals(args[i], "limit") || iequals(args[i], "get") || iequals(args[i], "by")) {
        i += iequals(args[i], "limit") ? 2 : 1;
      } else if (iequals(args[i], "store") && i + 1 < argc) {
        store = ++i;
      }
    }
    if (store != 0) {
      out.push_back(static_cast<uint32_t>(store));
    }
  }
  return true;
}

std::string_view CommandTable::raw_entry(const CommandInfo& info) const {
  return std::string_view(raw_).substr(info.raw_offset, info.raw_length);
}

std::vector<const CommandInfo*> CommandTable::top_level() const {
  std::vector<const CommandInfo*> v;
  v.reserve(top_.size());
  for (uint32_t i : top_) {
    v.push_back(&entries_[i]);
  }
  return v;
}

}  // namespace proxy
