// CommandTable: what the proxy knows about every Redis command (arity, flags, Redis 7 key specs and
// the routing class of DESIGN §4), built once from a backend's COMMAND reply or from the embedded
// Redis 7.0 reply (commands_fallback.resp). It finds commands and key positions; it does not route,
// merge or answer them (router, merge and local_commands do).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/status.h"

namespace proxy {

// How the proxy handles a command (DESIGN §4; rules in shared/reference/command-classes.md).
// The classes that route by key come first (SingleKey ... Blocking); commands.cc relies on it.
enum class CommandClass : uint8_t {
  SingleKey,    // route by the one key
  MultiKey,     // splittable: MGET MSET DEL UNLINK EXISTS TOUCH (split per backend, merge)
  SameSlot,     // several keys that must share one slot (RENAME, SMOVE, ... MSETNX)
  Transaction,  // MULTI EXEC DISCARD WATCH UNWATCH
  Blocking,     // BLPOP ... XREAD/XREADGROUP
  PubSub,
  Scripting,   // EVAL*, FCALL*, SCRIPT *, FUNCTION *
  FleetWide,   // keyless broadcast: DBSIZE KEYS SCAN RANDOMKEY FLUSHALL FLUSHDB INFO MEMORY STATS
               // WAIT
  Local,       // keyless, answered locally or by any one backend: TIME, COMMAND *, *|HELP, LOLWUT
  Connection,  // AUTH HELLO SELECT CLIENT * PING ECHO QUIT RESET READONLY READWRITE ASKING
  Admin,       // refused by default (CONFIG *, DEBUG, SHUTDOWN, CLUSTER *, MIGRATE, MOVE, ...)
};
inline constexpr std::size_t kCommandClassCount = 11;

// "single-key", "multi-key", "same-slot", "transaction", "blocking", "pubsub", "scripting",
// "fleet-wide", "local", "connection", "admin": stable metric label values.
const char* class_name(CommandClass c);

// How the parts of a split MultiKey command are combined.
enum class MergeKind : uint8_t {
  None,
  ValuesInKeyOrder,  // MGET
  SumIntegers,       // DEL UNLINK EXISTS TOUCH
  AllOk,             // MSET
};

// Command flag bits, from the flags array of COMMAND. Unknown flag names are ignored.
enum CommandFlag : uint32_t {
  kFlagWrite = 1u << 0,
  kFlagReadonly = 1u << 1,
  kFlagDenyOom = 1u << 2,
  kFlagAdmin = 1u << 3,
  kFlagPubsub = 1u << 4,
  kFlagNoscript = 1u << 5,
  kFlagBlocking = 1u << 6,
  kFlagLoading = 1u << 7,
  kFlagStale = 1u << 8,
  kFlagFast = 1u << 9,
  kFlagMovableKeys = 1u << 10,
  kFlagNoAuth = 1u << 11,
  kFlagNoMulti = 1u << 12,
  kFlagSkipMonitor = 1u << 13,
  kFlagSkipSlowlog = 1u << 14,
  kFlagAsking = 1u << 15,
  kFlagMayReplicate = 1u << 16,
  kFlagNoMandatoryKeys = 1u << 17,
  kFlagAllowBusy = 1u << 18,
  kFlagModule = 1u << 19,
};

// Key spec flag bits (Redis 7 "flags" of a key spec). Unknown names are ignored.
enum KeySpecFlag : uint32_t {
  kKeyRo = 1u << 0,
  kKeyRw = 1u << 1,
  kKeyOw = 1u << 2,
  kKeyRm = 1u << 3,
  kKeyAccess = 1u << 4,
  kKeyUpdate = 1u << 5,
  kKeyInsert = 1u << 6,
  kKeyDelete = 1u << 7,
  kKeyNotKey = 1u << 8,  // the argument is not a key (SPUBLISH/SSUBSCRIBE channels)
  kKeyIncomplete = 1u << 9,
  kKeyVariableFlags = 1u << 10,
};

enum class BeginSearch : uint8_t { Unknown, Index, Keyword };
enum class FindKeys : uint8_t { Unknown, Range, Keynum };

// One Redis 7 key spec: where the search for keys begins, then how the keys are found from there.
// Argument indices count the command name as 0 (and the subcommand as 1 for subcommands).
struct KeySpec {
  uint32_t flags = 0;  // KeySpecFlag bits
  BeginSearch begin = BeginSearch::Unknown;
  int32_t index = 0;      // Index: position of the first key
  std::string keyword;    // Keyword: the keys start right after it (matched case-insensitively)
  int32_t startfrom = 0;  // Keyword: search start; negative means from the end, backwards
  FindKeys find = FindKeys::Unknown;
  int32_t lastkey = 0;  // Range: last key relative to the first; negative counts from argc
  int32_t keystep = 1;  // Range and Keynum: distance between consecutive keys
  int32_t limit = 0;    // Range with lastkey -1: keys are the first 1/limit of what remains (XREAD)
  int32_t keynumidx = 0;  // Keynum: position of the key count, relative to the first
  int32_t firstkey = 0;   // Keynum: position of the first key, relative to the first

  bool is_key() const { return (flags & kKeyNotKey) == 0; }
};

struct CommandInfo {
  std::string name;    // lower case; "container|sub" for subcommands (e.g. "object|encoding")
  int32_t arity = 0;   // Redis arity: >0 exact, <0 minimum; counts the name (and the subcommand)
  uint32_t flags = 0;  // CommandFlag bits
  CommandClass cls = CommandClass::Local;
  MergeKind merge = MergeKind::None;
  uint32_t key_step = 1;  // MultiKey: arguments per key group (MSET = 2)
  std::vector<KeySpec> specs;
  bool is_container = false;  // has subcommands (CONFIG, CLIENT, OBJECT ...)
  bool sort_store = false;    // has a writing `unknown` key spec (SORT): STORE is parsed by hand
  uint32_t raw_offset = 0;    // this entry's bytes inside the COMMAND reply (see raw_entry)
  uint32_t raw_length = 0;

  bool is_write() const { return (flags & kFlagWrite) != 0; }
  bool is_readonly() const { return (flags & kFlagReadonly) != 0; }
  // Whether `argc` arguments (name and subcommand included) satisfy the arity.
  bool arity_ok(std::size_t argc) const {
    return arity >= 0 ? argc == static_cast<std::size_t>(arity)
                      : argc >= static_cast<std::size_t>(-static_cast<int64_t>(arity));
  }
};

// Immutable after construction: share it between workers by const reference (or copy it; the
// index holds positions, not pointers, so copies and moves stay valid).
class CommandTable {
 public:
  // From the raw RESP2 bytes of a whole COMMAND reply. Error (InvalidArgument) if it isn't one,
  // including a Redis 6 reply (no key specs or tips to classify by): use builtin() then.
  static Result<CommandTable> from_command_reply(std::string_view resp);
  // The built-in Redis 7.0 table (parses the embedded bytes; aborts if they don't parse).
  static CommandTable builtin();

  // args[0] is the command name, args[1] the subcommand for containers; case-insensitive; no heap
  // allocation. A container called with an unknown or missing subcommand returns its own entry.
  // nullptr for an unknown command or an empty args.
  const CommandInfo* lookup(std::span<const std::string_view> args) const;
  const CommandInfo* lookup(const std::vector<std::string_view>& args) const {
    return lookup(std::span<const std::string_view>(args));
  }
  // By full name, case-insensitive: "get", "OBJECT|ENCODING" (what COMMAND INFO takes).
  const CommandInfo* find(std::string_view full_name) const;

  // Appends to `out` the argument indices of this invocation's keys, in spec order, using the key
  // specs (index/keyword begin search, range/keynum find-keys, negative lastkey, limit) and
  // skipping NOT_KEY specs. An optional keyword that is absent (GEORADIUS STORE, MIGRATE KEYS,
  // XREAD without STREAMS) contributes no keys, as in Redis. SORT: the key at 1 plus the STORE
  // destination. Returns false, leaving `out` as it was, if the arguments are malformed for a spec
  // (a key position past the end, numkeys not a non-negative integer or larger than the arguments,
  // MSET pairs or XREAD key/id lists unbalanced), so the caller can answer with an error.
  // No heap allocation when `out` already has the capacity.
  bool key_positions(const CommandInfo& info, std::span<const std::string_view> args,
                     std::vector<uint32_t>& out) const;
  bool key_positions(const CommandInfo& info, const std::vector<std::string_view>& args,
                     std::vector<uint32_t>& out) const {
    return key_positions(info, std::span<const std::string_view>(args), out);
  }

  // RESP2 bytes of this entry of the COMMAND reply it came from (re-encoded from the parsed
  // reply: for what Redis sends, byte for byte the same), so COMMAND and COMMAND INFO can be
  // answered locally by concatenating entries. Subcommand entries have theirs too.
  std::string_view raw_entry(const CommandInfo& info) const;
  // Top-level commands in reply order (what `COMMAND` lists; `COMMAND COUNT` is its size).
  std::vector<const CommandInfo*> top_level() const;
  // Every entry: each top-level command followed by its subcommands, in reply order.
  std::span<const CommandInfo> entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }  // all entries incl. subcommands

 private:
  CommandTable() = default;
  const CommandInfo* find_lower(std::string_view lower_name) const;
  const CommandInfo* build_index();  // returns a duplicate entry, if any

  std::string raw_;                   // the whole COMMAND reply, re-encoded
  std::vector<CommandInfo> entries_;  // never resized after build_index()
  std::vector<uint32_t> top_;         // indices of top-level entries in entries_
  std::vector<uint32_t> slots_;       // open addressing: entry index + 1, 0 = empty
  std::size_t max_name_ = 0;          // longest full name, to reject long input cheaply
};

}  // namespace proxy
