// Big keys of a migrating segment (DESIGN §6, issue 5): a hash, set, sorted
// set or list with more than `bigKeyElements` elements is not moved with one
// DUMP/RESTORE, which would block each backend for the whole key. It is read
// from the source in chunks (HSCAN/SSCAN with COUNT, ZRANGE/LRANGE by rank)
// and written into a staging key on the destination; then, in one MULTI on the
// destination, RENAME staging -> key and PEXPIREAT (the source's expiry).
// The key is replaced atomically on the destination; no client sees a half
// copy (nobody reads the destination before the switch anyway).
//
// Strings and streams keep DUMP/RESTORE: a string is one value (no chunk
// boundary to cut at), and a stream has consumer groups, PEL and last-id
// metadata that only DUMP carries.
//
// The staging key hashes to the key's slot (staging_name()), so a cleanup of
// the range on the destination (abort, crash, preflight) deletes orphans.
//
// Writes during a chunked copy: the caller's tracker mark is taken before the
// first chunk and settled after the RENAME, so any write in between leaves the
// key dirty and catch-up copies it again. Validation of a big key is chunked
// too (digest()): an order-independent digest computed here from chunks, not
// by a server-side script that would walk the whole key in one call.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "migrate/redis_conn.h"
#include "proxy/migration_tracker.h"
#include "proxy/status.h"

namespace migrate {

// Every staging key starts with this (no '{' or '}' in it).
inline constexpr std::string_view kStagingPrefix = "__foreshard_staging:";

// The staging key of `key`: kStagingPrefix, then
//  - the key itself if it has a hash tag (the tag is then the first one);
//  - else "{key}" if the key is not empty and has no '}' (the tag is the key);
//  - else "{N}key", N the smallest decimal number with crc16(N) == crc16(key)
//    (a '}' in the key would end a wrapping tag early).
// In every case key_slot(staging_name(k), slots) == key_slot(k, slots) for
// every slot count.
std::string staging_name(std::string_view key);
bool is_staging_name(std::string_view key);

struct BigKeyOptions {
  uint64_t min_elements = 10000;  // bigKeyElements; 0 = never chunk
  uint32_t chunk = 1000;          // elements per read/write command
};

class BigKeyCopier {
 public:
  BigKeyCopier(RedisConn& src, RedisConn& dst, proxy::MigrationTracker& tracker, BigKeyOptions opt)
      : src_(src), dst_(dst), tracker_(tracker), opt_(opt) {}

  // Copies the big keys among `keys` in chunks (each marked before and
  // settled after with the tracker) and leaves the others in *rest for
  // DUMP/RESTORE. Adds what it copied to *keys_copied / *bytes_copied.
  proxy::Status copy(const std::vector<std::string>& keys, std::vector<std::string>* rest,
                     uint64_t* keys_copied, uint64_t* bytes_copied);
  // Whether `key` went through the chunked path in this move (validation
  // then compares digest() of both sides instead of DUMP payloads).
  bool is_big(const std::string& key) const { return big_.count(key) != 0; }
  std::vector<std::string> big_keys() const { return {big_.begin(), big_.end()}; }

  // "<type>:<elements>:<hex digest>" of `key` on src (out[0]) and dst
  // (out[1]), or "none": hashes and sets as a set of members (a SCAN's
  // repeats dropped), lists and sorted sets in order (scores as doubles).
  // Read in chunks, the two sides side by side.
  proxy::Status digest(RedisConn& src, RedisConn& dst, const std::string& key,
                       std::string out[2]) const;

 private:
  struct Found {
    std::string key, type;
  };
  proxy::Status find_big(const std::vector<std::string>& keys, std::vector<Found>* big,
                         std::vector<std::string>* rest);
  // *changed: the key changed type meanwhile (the caller marks it dirty).
  proxy::Status copy_one(const Found& k, uint64_t* bytes, bool* changed);

  RedisConn& src_;
  RedisConn& dst_;
  proxy::MigrationTracker& tracker_;
  const BigKeyOptions opt_;
  std::unordered_set<std::string> big_;
};

}  // namespace migrate
