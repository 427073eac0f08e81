// RespScanner: finds where each reply ends in a backend's byte stream (backend -> proxy), so
// replies are forwarded as slices without building values. RESP2 and RESP3, bounded length and
// nesting. Also owns the small decoders merge.cc uses on one complete reply; it never
// allocates except split_aggregate's caller-owned vector.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace proxy {

enum class ScanStatus { Complete, NeedMore, Error };

class RespScanner {
 public:
  // `max_bulk_length` bounds $ ! = payloads; `max_depth` bounds nested aggregates (attributes
  // count as a level). The nesting stack is allocated here, once.
  explicit RespScanner(uint64_t max_bulk_length = 1ull << 32, uint32_t max_depth = 128);

  // Same incremental contract as RespParser::parse: `data` is the start of the current
  // (unconsumed) reply and `len` the bytes available; on NeedMore call again with the same
  // logical start and more bytes (the buffer may have moved). On Complete `reply_len` is the
  // reply's total length and the scanner is ready for the next reply at data + reply_len.
  // Linear in new bytes across calls. RESP2 (+ - : $ * with $-1 and *-1) and RESP3
  // (_ , # ! = ( % ~ > |): `|` attributes precede the value they annotate and are part of that
  // reply; a map's count means 2 elements per entry. Streamed types ($? *? ;) are an Error.
  // Error is sticky until reset(): the backend stream is out of sync and the link must close.
  ScanStatus scan(const char* data, size_t len, size_t& reply_len);

  void reset();

  // Bytes the current reply still needs beyond the `len` of the last scan() call, at least
  // (known only inside a bulk payload); 0 if unknown.
  size_t bytes_wanted() const;

 private:
  enum class State : uint8_t { Header, Payload, Failed };

  ScanStatus fail();
  // Marks one value complete; true when that completes the whole reply.
  bool value_done();

  uint64_t max_bulk_length_;
  uint32_t max_depth_;
  State state_ = State::Header;
  size_t pos_ = 0;          // offset of the next header or of the payload being waited for
  size_t scan_ = 0;         // no '\r' in [pos_ + 1, scan_) of the current header line
  size_t payload_end_ = 0;  // offset just past a bulk's trailing CRLF
  size_t seen_ = 0;
  // Values still to read per open level; stack_[0] is the reply itself (starts at 1).
  std::vector<uint64_t> stack_;
};

// Parses a RESP/Redis integer with Redis's string2ll rules: optional '-', no '+', no leading
// zeros, no spaces, "-0" rejected, fits in int64_t.
bool parse_int64(std::string_view s, int64_t& out);

// Fast path for a header's number: reads "<digits>\r\n" at `p` when it is the common
// well-formed case (no sign, no leading zero, at most 18 digits, CRLF present before `end`) and
// returns the position of its '\r'; nullptr means "let the general path decide". Whatever it
// accepts, parse_int64 accepts with the same value.
inline const char* scan_number(const char* p, const char* end, uint64_t& v) {
  if (p >= end) {
    return nullptr;
  }
  unsigned d = static_cast<unsigned char>(*p) - '0';
  if (d > 9) {
    return nullptr;
  }
  v = d;
  const char* q = p + 1;
  if (d != 0) {  // "0" is the only number allowed to start with 0
    const char* stop = end - p > 18 ? p + 18 : end;
    while (q < stop && (d = static_cast<unsigned char>(*q) - '0') <= 9) {
      v = v * 10 + d;
      ++q;
    }
  }
  if (end - q < 2 || q[0] != '\r' || q[1] != '\n') {
    return nullptr;
  }
  return q;
}

// --- Decoders for reply merging. Each takes exactly one complete reply's bytes. ---

// True for "-ERR ..." and RESP3 "!len" blob errors.
bool is_error_reply(std::string_view reply);

// ":123\r\n" -> 123. False for any other type or a malformed number.
bool decode_integer(std::string_view reply, int64_t& out);

// "+OK\r\n" -> "OK"; "$3\r\nfoo\r\n" -> "foo"; "$-1\r\n" and RESP3 "_\r\n" set is_null (out
// empty). False for other types. `out` points into `reply`.
bool decode_simple_or_bulk(std::string_view reply, std::string_view& out, bool& is_null);

// Splits an array (*), set (~) or push (>) reply into its elements' raw bytes, each one complete
// reply (attributes stay with the element they precede). `elements` is cleared first. False if
// `reply` is not such an aggregate (a null array "*-1" included), is malformed or has bytes
// after its end.
bool split_aggregate(std::string_view reply, std::vector<std::string_view>& elements);

}  // namespace proxy
