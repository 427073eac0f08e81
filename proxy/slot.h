// Slot hashing: key -> partition key (Redis Cluster hash-tag rule) -> CRC16
// (XModem, Redis's crc16.c) -> slot. Pure functions on the hot path: no
// allocation, no state. Segments and owners live in segment_map.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace proxy {

// CRC16-CCITT (XModem: poly 0x1021, init 0, no reflection), table-driven.
// crc16("123456789", 9) == 0x31C3, as in Redis's src/crc16.c.
uint16_t crc16(const char* data, size_t len);

// The part of `key` that is hashed: if the key has a '{' and a '}' after it
// with at least one byte between them, the bytes between the first '{' and
// the first '}' after it; otherwise the whole key. The view aliases `key`.
std::string_view partition_key(std::string_view key);

// crc16(partition_key(key)) % slots. `slots` must be in 1..65536; for 16384
// this equals Redis Cluster's CLUSTER KEYSLOT (crc16 & 16383).
uint16_t key_slot(std::string_view key, uint32_t slots);

}  // namespace proxy
