// SegmentMap: slot -> segment -> owner backend + migration state (DESIGN §5).
// Immutable once built and shared as shared_ptr<const SegmentMap>; every change
// goes through a builder that returns a new map with epoch + 1. Owns the text
// form persisted by map_store.h; owns no file and no lock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/status.h"

namespace proxy {

// Listed in transition order: Stable -> Migrating -> Switching -> Stable(dst);
// abort goes back to Stable(owner) from either middle state.
enum class SegmentState : uint8_t { Stable, Migrating, Switching };

const char* segment_state_name(SegmentState s);  // "stable" | "migrating" | "switching"

// Backend names appear in the map file and in metrics: [A-Za-z0-9_.-]+.
bool is_valid_backend_name(std::string_view name);

struct Segment {
  uint32_t first = 0, last = 0;  // slot range, inclusive
  uint16_t owner = 0;            // backend index (== index in Config::backends)
  SegmentState state = SegmentState::Stable;
  uint16_t dst = 0;  // destination backend while Migrating/Switching; 0 when Stable
};

struct BackendWeight {
  std::string name;
  double capacity;  // ops/s; >= 0, a backend with 0 gets no segments from initial()
};

// Segment indices are positions in slot order: segment 0 starts at slot 0 and
// segment size()-1 ends at slots()-1. split() and merge() therefore shift the
// index of every later segment; a segment is identified across epochs by its
// slot range (see diff()), never by its index alone.
class SegmentMap {
 public:
  // Fresh map: segments of `segment_size` slots (the last may be shorter),
  // owners assigned as contiguous blocks in backend order whose sizes are
  // proportional to capacity (largest-remainder rounding; every backend with
  // capacity > 0 gets at least one segment when there are enough). Epoch 1.
  static Result<SegmentMap> initial(uint32_t slots, uint32_t segment_size,
                                    const std::vector<BackendWeight>& backends);
  // Fresh map where `owner` owns every segment (adopting a fleet where only it
  // holds keys, DESIGN §5). Epoch 1.
  static Result<SegmentMap> single_owner(uint32_t slots, uint32_t segment_size,
                                         const std::vector<BackendWeight>& backends,
                                         uint16_t owner);

  // Text form (serialize()). `backend_names` is the CURRENT config order:
  // owners are remapped by name, so reordering backends in the config is
  // harmless and new config backends own nothing. A backend the map still
  // uses (owner or migration destination) but the config lacks is an
  // InvalidArgument error; format, coverage and checksum failures are Corrupt.
  static Result<SegmentMap> parse(std::string_view text,
                                  const std::vector<std::string>& backend_names);
  // "foreshard-segment-map 1", epoch, slots, backends, one line per segment,
  // then "checksum <XXH64 of every byte above, 16 hex digits>".
  std::string serialize() const;

  uint64_t epoch() const { return epoch_; }
  uint32_t slots() const { return slots_; }
  size_t size() const { return segments_.size(); }  // number of segments
  // Precondition: index < size().
  const Segment& segment(uint32_t index) const { return segments_[index]; }
  // O(1) through a slot -> segment table. Precondition: slot < slots().
  uint32_t segment_of_slot(uint32_t slot) const { return slot_to_segment_[slot]; }
  // key_slot(key, slots()) (slot.h): the slot a key hashes to in this map.
  uint16_t slot_of(std::string_view key) const;
  const std::vector<std::string>& backend_names() const { return backend_names_; }
  const std::vector<Segment>& segments() const { return segments_; }
  std::vector<uint32_t> segments_owned_by(uint16_t backend) const;

  // Builders: each returns a NEW map with epoch + 1 (this one is unchanged),
  // or InvalidArgument for invalid input.
  //
  // Sets the owner and resets the segment to Stable (the end of a move).
  Result<SegmentMap> with_owner(uint32_t index, uint16_t owner) const;
  // Allowed edges: Stable -> Migrating(dst != owner); Migrating -> Switching
  // (same dst); Migrating|Switching|Stable -> Stable (abort; dst is ignored
  // and cleared). Anything else is refused.
  Result<SegmentMap> with_state(uint32_t index, SegmentState s, uint16_t dst) const;
  // [first, at-1] and [at, last], same owner; `at` in (first, last]; only a
  // Stable segment. Later segments' indices grow by one.
  Result<SegmentMap> split(uint32_t index, uint32_t at_slot) const;
  // Merges `index` and `index + 1`: same owner, both Stable. Later indices
  // shrink by one.
  Result<SegmentMap> merge(uint32_t index) const;
  // `names` must start with backend_names() in the same order (indices stay
  // valid); the rest are new backends that own nothing yet.
  Result<SegmentMap> with_backends(const std::vector<std::string>& names) const;

  // Indices in THIS map whose segment has no identical counterpart in `prev`
  // (same slot range, same owner name, same state and destination). After a
  // split only the two halves are listed, not the shifted segments after them.
  std::vector<uint32_t> diff(const SegmentMap& prev) const;

 private:
  SegmentMap() = default;
  // Equal-width segments owned per `owners` (one entry per segment), epoch 1.
  static Result<SegmentMap> from_owners(uint32_t slots, uint32_t segment_size,
                                        const std::vector<BackendWeight>& backends,
                                        const std::vector<uint16_t>& owners);
  // Validates coverage/owners/names and rebuilds slot_to_segment_.
  Status finish();
  SegmentMap next() const;  // a copy with epoch + 1

  uint64_t epoch_ = 1;
  uint32_t slots_ = 0;
  std::vector<Segment> segments_;
  std::vector<uint32_t> slot_to_segment_;
  std::vector<std::string> backend_names_;
};

}  // namespace proxy
