// Whole-range key-count validation of a migration (DESIGN §6, issue 5):
// before the switch (outside the write hold) both backends are SCANned
// (one SCAN in flight on each at a time, so the two walk together), keeping
// the keys whose slot is in the segment (a backend holds other segments too)
// and leaving out staging keys (big_key_copy.h). The two key sets are
// compared, not only their sizes: a key on one side only counts as a
// mismatch unless the tracker saw it written (dirty, or a write pending or
// unsettled): such a key is catch-up's business, copied again before the
// switch and validated under the hold.
//
// What remains is looked at again after the dirty keys are re-copied (EXISTS
// on both sides: a key that expired between the two SCANs agrees by then);
// a key still on one side only fails the move with Code::Corrupt.
//
// SCAN may return a key twice; the sets are deduplicated (by a 64-bit hash,
// then by name). Memory: about 30 bytes per key and side while it runs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "migrate/redis_conn.h"
#include "proxy/migration_tracker.h"
#include "proxy/status.h"

namespace migrate {

struct RangeSpec {
  uint32_t slots = 16384;  // the config's slot count
  uint32_t first = 0, last = 0;
  uint32_t scan_count = 1000;
  uint32_t batch_keys = 200;  // keys per re-copy call
};

struct RangeCount {
  uint64_t src_keys = 0, dst_keys = 0;  // distinct keys of the range (staging keys left out)
  uint64_t written = 0;                 // keys on one side only, excused: written meanwhile
  uint64_t expired = 0;                 // on one side only at the SCAN, agreeing at the recheck
  std::vector<std::string> only_src, only_dst;  // unexcused: the mismatch
  double seconds = 0;
};

// The two SCANs and the comparison (no re-copy, no recheck).
proxy::Status count_range(RedisConn& src, RedisConn& dst, const RangeSpec& range,
                          proxy::MigrationTracker& tracker, RangeCount* out);

// count_range(), then if keys differ: `recopy` the dirty keys (in batches),
// recheck the differing keys; any left makes a Code::Corrupt status whose
// message says how many keys differ and names a few.
proxy::Status validate_range_count(
    RedisConn& src, RedisConn& dst, const RangeSpec& range, proxy::MigrationTracker& tracker,
    const std::function<proxy::Status(const std::vector<std::string>&)>& recopy, RangeCount* out);

}  // namespace migrate
