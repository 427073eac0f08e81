// SegmentMap construction (initial split by capacity), the builders, diff(),
// and the versioned text form with its XXH64 checksum line. Parse errors name
// the line of the map text so an operator can see what is wrong with the file.
#include "proxy/segment_map.h"

#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "proxy/slot.h"

namespace proxy {
namespace {

constexpr std::string_view kHeader = "foreshard-segment-map 1";
constexpr uint32_t kMaxSlots = 65536;
constexpr size_t kMaxBackends = 65535;  // owner is a uint16_t

// Concatenates strings, views, C strings and integers: cat("seg ", 3) == "seg 3".
template <typename... Args>
std::string cat(const Args&... args) {
  std::string out;
  auto add = [&out](const auto& a) {
    if constexpr (std::is_integral_v<std::decay_t<decltype(a)>>) {
      out += std::to_string(a);
    } else {
      out += a;
    }
  };
  (add(args), ...);
  return out;
}

template <typename... Args>
Status invalid(const Args&... args) {
  return Status(Code::InvalidArgument, cat(args...));
}
template <typename... Args>
Status corrupt(size_t line, const Args&... args) {
  return Status(Code::Corrupt, cat("segment map line ", line, ": ", args...));
}

std::string checksum_hex(std::string_view body) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(XXH64(body.data(), body.size(), 0)));
  return buf;
}

std::vector<std::string_view> split_on(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  for (size_t pos = 0; pos <= text.size();) {
    size_t end = std::min(text.find(sep, pos), text.size());
    out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

template <typename T>
bool parse_uint(std::string_view s, T& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
}

bool parse_state(std::string_view s, SegmentState& out) {
  for (SegmentState st : {SegmentState::Stable, SegmentState::Migrating, SegmentState::Switching}) {
    if (s == segment_state_name(st)) {
      out = st;
      return true;
    }
  }
  return false;
}

Status check_names(const std::vector<std::string>& names) {
  if (names.size() > kMaxBackends) {
    return invalid("too many backends (", names.size(), ", at most 65535)");
  }
  std::unordered_set<std::string_view> seen;
  for (const auto& n : names) {
    if (!is_valid_backend_name(n) || !seen.insert(n).second) {
      return invalid("backend name '", n, "' is repeated or not made of [A-Za-z0-9_.-]");
    }
  }
  return Status::ok();
}

Status check_shape(uint32_t slots, uint32_t segment_size, size_t backends) {
  if (slots < 1 || slots > kMaxSlots || segment_size < 1 || segment_size > slots) {
    return invalid("need 1 <= segment size (", segment_size, ") <= slots (", slots, ") <= 65536");
  }
  return backends == 0 ? invalid("a segment map needs at least one backend") : Status::ok();
}

}  // namespace

const char* segment_state_name(SegmentState s) {
  switch (s) {
    case SegmentState::Stable:
      return "stable";
    case SegmentState::Migrating:
      return "migrating";
    case SegmentState::Switching:
      return "switching";
  }
  return "?";
}

bool is_valid_backend_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

Result<SegmentMap> SegmentMap::from_owners(uint32_t slots, uint32_t segment_size,
                                           const std::vector<BackendWeight>& backends,
                                           const std::vector<uint16_t>& owners) {
  SegmentMap map;
  map.slots_ = slots;
  for (const auto& b : backends) {
    map.backend_names_.push_back(b.name);
  }
  for (uint32_t i = 0; i < owners.size(); ++i) {
    uint32_t first = i * segment_size;
    map.segments_.push_back({first, std::min(slots, first + segment_size) - 1, owners[i]});
  }
  Status st = map.finish();
  return st.is_ok() ? Result<SegmentMap>(std::move(map)) : Result<SegmentMap>(st);
}

Result<SegmentMap> SegmentMap::initial(uint32_t slots, uint32_t segment_size,
                                       const std::vector<BackendWeight>& backends) {
  Status st = check_shape(slots, segment_size, backends.size());
  if (!st.is_ok()) {
    return st;
  }
  double total = 0;
  size_t with_capacity = 0;
  for (const auto& b : backends) {
    if (!std::isfinite(b.capacity) || b.capacity < 0) {
      return invalid("backend '", b.name, "' has an invalid capacity");
    }
    total += b.capacity;
    with_capacity += b.capacity > 0 ? 1 : 0;
  }
  if (!(total > 0)) {
    return invalid("no backend has any capacity");
  }
  const uint32_t n = (slots + segment_size - 1) / segment_size;
  const size_t nb = backends.size();

  // Largest-remainder (Hamilton) apportionment of n segments by capacity:
  // everyone gets the floor of their quota, then the largest fractions
  // (ties: lower index) get one more each.
  std::vector<uint32_t> count(nb);
  std::vector<double> frac(nb);
  uint32_t given = 0;
  for (size_t i = 0; i < nb; ++i) {
    double quota = n * (backends[i].capacity / total);
    count[i] = std::min(n, static_cast<uint32_t>(std::floor(quota)));
    frac[i] = backends[i].capacity > 0 ? quota - count[i] : -1;
    given += count[i];
  }
  for (; given < n; ++given) {
    size_t best = static_cast<size_t>(std::max_element(frac.begin(), frac.end()) - frac.begin());
    ++count[best];
    frac[best] = -1;
  }
  // A backend with capacity but a share that rounded to zero would sit idle
  // until the balancer noticed it; give it one segment from the largest.
  for (size_t i = 0; i < nb && n >= with_capacity; ++i) {
    if (backends[i].capacity > 0 && count[i] == 0) {
      --*std::max_element(count.begin(), count.end());
      ++count[i];
    }
  }
  std::vector<uint16_t> owners;
  for (size_t i = 0; i < nb; ++i) {
    owners.insert(owners.end(), count[i], static_cast<uint16_t>(i));
  }
  owners.resize(n);  // a no-op unless rounding over-assigned (then the last loses)
  return from_owners(slots, segment_size, backends, owners);
}

Result<SegmentMap> SegmentMap::single_owner(uint32_t slots, uint32_t segment_size,
                                            const std::vector<BackendWeight>& backends,
                                            uint16_t owner) {
  Status st = check_shape(slots, segment_size, backends.size());
  if (!st.is_ok()) {
    return st;
  }
  if (owner >= backends.size()) {
    return invalid("owner index ", owner, " is not a backend");
  }
  std::vector<uint16_t> owners((slots + segment_size - 1) / segment_size, owner);
  return from_owners(slots, segment_size, backends, owners);
}

Status SegmentMap::finish() {
  Status st = check_names(backend_names_);
  if (!st.is_ok()) {
    return st;
  }
  uint32_t next_slot = 0;
  for (const Segment& s : segments_) {
    bool moving = s.state != SegmentState::Stable;
    if (s.first != next_slot || s.last < s.first || s.last >= slots_ ||
        s.owner >= backend_names_.size() ||
        (moving && (s.dst >= backend_names_.size() || s.dst == s.owner))) {
      return invalid("segment ", s.first, "..", s.last, " breaks the map's invariants");
    }
    next_slot = s.last + 1;
  }
  if (slots_ < 1 || slots_ > kMaxSlots || next_slot != slots_) {
    return invalid("segments must cover slots 0..", slots_ - 1, " exactly");
  }
  slot_to_segment_.assign(slots_, 0);
  for (uint32_t i = 0; i < segments_.size(); ++i) {
    std::fill(slot_to_segment_.begin() + segments_[i].first,
              slot_to_segment_.begin() + segments_[i].last + 1, i);
  }
  return Status::ok();
}

SegmentMap SegmentMap::next() const {
  SegmentMap copy = *this;
  copy.epoch_ = epoch_ + 1;
  return copy;
}

uint16_t SegmentMap::slot_of(std::string_view key) const { return key_slot(key, slots_); }

std::vector<uint32_t> SegmentMap::segments_owned_by(uint16_t backend) const {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < segments_.size(); ++i) {
    if (segments_[i].owner == backend) {
      out.push_back(i);
    }
  }
  return out;
}

std::string SegmentMap::serialize() const {
  std::string out = cat(kHeader, "\nepoch ", epoch_, "\nslots ", slots_, "\nbackends");
  for (const auto& n : backend_names_) {
    out += cat(" ", n);
  }
  out += "\n";
  for (const Segment& s : segments_) {
    out += cat("segment ", s.first, " ", s.last, " ", backend_names_[s.owner], " ",
               segment_state_name(s.state));
    out += s.state == SegmentState::Stable ? "\n" : cat(" ", backend_names_[s.dst], "\n");
  }
  return out + cat("checksum ", checksum_hex(out), "\n");
}

Result<SegmentMap> SegmentMap::parse(std::string_view text,
                                     const std::vector<std::string>& backend_names) {
  // Line i of the file is lines[i - 1]. The checksum line comes last and
  // covers every byte before it; anything else is a truncated write.
  std::vector<std::string_view> lines =
      split_on(text.empty() || text.back() != '\n' ? text : text.substr(0, text.size() - 1), '\n');
  const size_t n = lines.size();
  std::vector<std::string_view> sum = split_on(lines.back(), ' ');
  if (sum.size() != 2 || sum[0] != "checksum") {
    return corrupt(n, "truncated: the map does not end with its checksum line");
  }
  std::string actual = checksum_hex(text.substr(0, lines.back().data() - text.data()));
  if (sum[1] != actual) {
    return corrupt(n, "checksum mismatch (file says ", sum[1], ", content hashes to ", actual, ")");
  }
  if (lines[0] != kHeader) {
    return corrupt(1, "expected '", kHeader, "', got '", lines[0], "'");
  }
  // Fixed header lines: "epoch E", "slots S", "backends a b c".
  SegmentMap map;
  const char* keys[] = {"epoch", "slots", "backends"};
  std::vector<std::vector<std::string_view>> head;
  for (size_t i = 1; i <= 3; ++i) {
    std::string_view line = i < n - 1 ? lines[i] : "";  // never the checksum line
    head.push_back(split_on(line, ' '));                // never empty: split_on("") == {""}
    if (head.back()[0] != keys[i - 1]) {
      return corrupt(i + 1, "expected the ", keys[i - 1], " line, got '", line, "'");
    }
  }
  if (head[0].size() != 2 || !parse_uint(head[0][1], map.epoch_) || map.epoch_ == 0) {
    return corrupt(2, "bad epoch line '", lines[1], "'");
  }
  if (head[1].size() != 2 || !parse_uint(head[1][1], map.slots_) || map.slots_ < 1 ||
      map.slots_ > kMaxSlots) {
    return corrupt(3, "bad slots line '", lines[2], "'");
  }
  std::vector<std::string> file_names;  // the map's own backend order
  std::unordered_map<std::string_view, uint16_t> file_index;
  for (size_t i = 1; i < head[2].size(); ++i) {
    if (!is_valid_backend_name(head[2][i]) || file_index.count(head[2][i]) ||
        file_names.size() >= kMaxBackends) {
      return corrupt(4, "bad or repeated backend name '", head[2][i], "'");
    }
    file_index.emplace(head[2][i], static_cast<uint16_t>(file_names.size()));
    file_names.emplace_back(head[2][i]);
  }

  // "segment FIRST LAST OWNER STATE [DST]", in slot order, covering every slot.
  uint32_t next_slot = 0;
  for (size_t ln = 5; ln < n; ++ln) {
    std::vector<std::string_view> w = split_on(lines[ln - 1], ' ');
    Segment s;
    if (w.size() < 5 || w[0] != "segment" || !parse_uint(w[1], s.first) ||
        !parse_uint(w[2], s.last)) {
      return corrupt(ln, "bad segment line '", lines[ln - 1], "'");
    }
    if (!parse_state(w[4], s.state)) {
      return corrupt(ln, "unknown segment state '", w[4],
                     "' (expected stable, migrating or switching)");
    }
    bool moving = s.state != SegmentState::Stable;
    if (w.size() != (moving ? 6u : 5u)) {
      return corrupt(ln, "a ", segment_state_name(s.state), " segment takes ",
                     moving ? "one destination backend" : "no destination");
    }
    if (s.last < s.first || s.last >= map.slots_) {
      return corrupt(ln, "segment range ", w[1], "..", w[2], " is not inside slots 0..",
                     map.slots_ - 1);
    }
    if (s.first != next_slot) {
      return s.first > next_slot
                 ? corrupt(ln, "gap: slots ", next_slot, "..", s.first - 1, " are in no segment")
                 : corrupt(ln, "overlap: segment starts at slot ", s.first,
                           " but the previous one ends at ", next_slot - 1);
    }
    auto owner = file_index.find(w[3]);
    auto dst = moving ? file_index.find(w[5]) : owner;
    if (owner == file_index.end() || dst == file_index.end()) {
      return corrupt(ln, "segment names a backend that is not on the backends line");
    }
    if (moving && dst == owner) {
      return corrupt(ln, "a segment cannot migrate to its own owner");
    }
    s.owner = owner->second;
    s.dst = moving ? dst->second : 0;
    next_slot = s.last + 1;
    map.segments_.push_back(s);
  }
  if (next_slot != map.slots_) {
    return corrupt(n, "gap: slots ", next_slot, "..", map.slots_ - 1, " are in no segment");
  }

  // Remap file indices to the current config order, by name. A backend the
  // config lost may go only if nothing refers to it any more.
  Status st = check_names(backend_names);
  if (!st.is_ok()) {
    return st;
  }
  std::vector<uint16_t> remap(file_names.size());
  for (size_t i = 0; i < file_names.size(); ++i) {
    auto it = std::find(backend_names.begin(), backend_names.end(), file_names[i]);
    remap[i] = static_cast<uint16_t>(it - backend_names.begin());
    size_t owned = 0, incoming = 0;
    for (const Segment& s : map.segments_) {
      owned += s.owner == i ? 1 : 0;
      incoming += (s.state != SegmentState::Stable && s.dst == i) ? 1 : 0;
    }
    std::string lost =
        cat("segment map names backend '", file_names[i], "' that the config no longer has (it ");
    if (it == backend_names.end() && owned > 0) {
      return invalid(lost, "owns ", owned, " segments); add it back or DRAIN it first");
    }
    if (it == backend_names.end() && incoming > 0) {
      return invalid(lost, "is the destination of ", incoming, " migrating segments); add it back");
    }
  }
  for (Segment& s : map.segments_) {
    s.owner = remap[s.owner];
    s.dst = s.state == SegmentState::Stable ? 0 : remap[s.dst];
  }
  map.backend_names_ = backend_names;
  st = map.finish();
  return st.is_ok() ? Result<SegmentMap>(std::move(map)) : Status(Code::Corrupt, st.message());
}

Result<SegmentMap> SegmentMap::with_owner(uint32_t index, uint16_t owner) const {
  if (index >= segments_.size() || owner >= backend_names_.size()) {
    return invalid("no segment ", index, " or no backend index ", owner);
  }
  SegmentMap m = next();
  m.segments_[index] = {segments_[index].first, segments_[index].last, owner};
  return m;
}

Result<SegmentMap> SegmentMap::with_state(uint32_t index, SegmentState s, uint16_t dst) const {
  if (index >= segments_.size()) {
    return invalid("no segment ", index);
  }
  const Segment& cur = segments_[index];
  bool ok = s == SegmentState::Stable;  // abort (or no-op): always allowed
  if (s == SegmentState::Migrating) {
    ok = cur.state == SegmentState::Stable && dst < backend_names_.size() && dst != cur.owner;
  } else if (s == SegmentState::Switching) {
    ok = cur.state == SegmentState::Migrating && dst == cur.dst;
  }
  if (!ok) {
    return invalid("segment ", index, " cannot go from ", segment_state_name(cur.state), " to ",
                   segment_state_name(s), " with destination ", dst);
  }
  SegmentMap m = next();
  m.segments_[index].state = s;
  m.segments_[index].dst = s == SegmentState::Stable ? 0 : dst;
  return m;
}

Result<SegmentMap> SegmentMap::split(uint32_t index, uint32_t at_slot) const {
  if (index >= segments_.size()) {
    return invalid("no segment ", index);
  }
  const Segment& cur = segments_[index];
  if (cur.state != SegmentState::Stable || at_slot <= cur.first || at_slot > cur.last) {
    return invalid("segment ", index, " (", segment_state_name(cur.state), ", slots ", cur.first,
                   "..", cur.last, ") cannot be split at ", at_slot);
  }
  SegmentMap m = next();
  Segment right = cur;
  right.first = at_slot;
  m.segments_[index].last = at_slot - 1;
  m.segments_.insert(m.segments_.begin() + index + 1, right);
  for (uint32_t s = right.first; s < slots_; ++s) {
    ++m.slot_to_segment_[s];  // the right half and every later segment move up one
  }
  return m;
}

Result<SegmentMap> SegmentMap::merge(uint32_t index) const {
  if (index + 1 >= segments_.size()) {
    return invalid("segment ", index, " has no right neighbour to merge with");
  }
  const Segment& a = segments_[index];
  const Segment& b = segments_[index + 1];
  if (a.owner != b.owner || a.state != SegmentState::Stable || b.state != SegmentState::Stable) {
    return invalid("segments ", index, " and ", index + 1,
                   " need the same owner and both stable to merge");
  }
  SegmentMap m = next();
  m.segments_[index].last = b.last;
  m.segments_.erase(m.segments_.begin() + index + 1);
  for (uint32_t s = b.first; s < slots_; ++s) {
    --m.slot_to_segment_[s];
  }
  return m;
}

Result<SegmentMap> SegmentMap::with_backends(const std::vector<std::string>& names) const {
  if (names.size() < backend_names_.size() ||
      !std::equal(backend_names_.begin(), backend_names_.end(), names.begin())) {
    return invalid("backends can only be appended; existing ones keep their index");
  }
  Status st = check_names(names);
  if (!st.is_ok()) {
    return st;
  }
  SegmentMap m = next();
  m.backend_names_ = names;
  return m;
}

std::vector<uint32_t> SegmentMap::diff(const SegmentMap& prev) const {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < segments_.size(); ++i) {
    const Segment& s = segments_[i];
    bool same = false;
    if (prev.slots_ == slots_ && !prev.segments_.empty()) {
      // The counterpart is found by slot, so shifted indices do not count.
      const Segment& p = prev.segments_[prev.slot_to_segment_[s.first]];
      same =
          p.first == s.first && p.last == s.last && p.state == s.state &&
          prev.backend_names_[p.owner] == backend_names_[s.owner] &&
          (s.state == SegmentState::Stable || prev.backend_names_[p.dst] == backend_names_[s.dst]);
    }
    if (!same) {
      out.push_back(i);
    }
  }
  return out;
}

}  // namespace proxy
