// CRC16 table (built at compile time from the XModem polynomial) and the
// hash-tag rule. Mirrors Redis's crc16.c and cluster.c keyHashSlot() so that
// hash tags group keys exactly as users of Redis Cluster expect.
#include "proxy/slot.h"

#include <array>

namespace proxy {
namespace {

// Byte-at-a-time table for poly 0x1021, MSB first. constexpr so there is no
// start-up cost and no hand-copied table to get wrong.
constexpr std::array<uint16_t, 256> make_crc16_table() {
  std::array<uint16_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i << 8;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? ((crc << 1) ^ 0x1021) : (crc << 1);
    }
    table[i] = static_cast<uint16_t>(crc & 0xffff);
  }
  return table;
}

constexpr std::array<uint16_t, 256> kCrc16Table = make_crc16_table();
static_assert(kCrc16Table[1] == 0x1021 && kCrc16Table[255] == 0x1ef0);

}  // namespace

uint16_t crc16(const char* data, size_t len) {
  uint16_t crc = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  for (size_t i = 0; i < len; ++i) {
    crc = static_cast<uint16_t>((crc << 8) ^ kCrc16Table[((crc >> 8) ^ p[i]) & 0xff]);
  }
  return crc;
}

std::string_view partition_key(std::string_view key) {
  size_t open = key.find('{');
  if (open == std::string_view::npos) {
    return key;
  }
  size_t close = key.find('}', open + 1);
  // "{}" (empty tag) or no closing brace: Redis hashes the whole key.
  if (close == std::string_view::npos || close == open + 1) {
    return key;
  }
  return key.substr(open + 1, close - open - 1);
}

uint16_t key_slot(std::string_view key, uint32_t slots) {
  std::string_view pk = partition_key(key);
  uint32_t crc = crc16(pk.data(), pk.size());
  // Power-of-two slot counts (the default 16384) avoid a division per request.
  if ((slots & (slots - 1)) == 0) {
    return static_cast<uint16_t>(crc & (slots - 1));
  }
  return static_cast<uint16_t>(crc % slots);
}

}  // namespace proxy
