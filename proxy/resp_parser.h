// RespParser: the incremental, bounded parser for client requests (client -> proxy).
// Owns RESP multibulk framing and Redis's inline-command splitting (sdssplitargs) with
// Redis 7.0's error texts; it owns no socket and no buffer: the Session keeps the bytes.
// Never throws, and allocates nothing per command once its vectors have grown.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace proxy {

// Bounds on what one client command may claim (CONVENTIONS §12).
// max_arguments bounds the `*N` count only, as in Redis: an inline command is bounded by its
// line length instead. max_inline_length also bounds the `*N` and `$N` header lines.
struct ParserLimits {
  uint32_t max_arguments = 1024 * 1024;             // multibulk count limit
  uint64_t max_bulk_length = 512ull * 1024 * 1024;  // Redis proto-max-bulk-len
  uint32_t max_inline_length = 64 * 1024;           // Redis PROTO_INLINE_MAX_SIZE
};

enum class ParseStatus { Ok, NeedMore, Error };

// One parsed client command. The vector is reused between commands: parse() resizes it, which
// keeps its capacity.
struct Command {
  std::vector<std::string_view> args;
  bool inline_form = false;
  // Bytes of this command itself: its raw bytes are [data + consumed - wire_bytes,
  // data + consumed), without any skipped empty commands before it.
  size_t wire_bytes = 0;
};

class RespParser {
 public:
  explicit RespParser(ParserLimits limits = {});

  // `data` points at the first unconsumed byte of the client's input and `len` is how many bytes
  // are available. While NeedMore is returned the caller keeps those bytes and calls again with
  // the SAME logical start (the buffer may have moved or grown; the parser keeps only offsets)
  // plus more bytes after them. Work is O(new bytes) across calls, never a re-parse.
  //
  // Ok: `out.args` views point into `data` (or into the parser's scratch for inline arguments
  // that had quotes) and stay valid until the next parse()/reset() or until the caller moves the
  // buffer. `consumed` is how many bytes the caller drops now: this command plus any empty
  // commands (`*0`, `*-1`, blank inline lines) that came before it and were skipped silently.
  // NeedMore: `consumed` is 0; skipped empty commands stay in the caller's buffer until the next
  // Ok consumes them with it.
  // Inline lines split like sdssplitargs; a NUL byte ends the line's content (Redis's C string
  // would never see the '\n' after it and would wait for "too big inline request").
  // Error: error_message() holds a Redis-style protocol error (no '-' and no CRLF), e.g.
  // "ERR Protocol error: invalid bulk length". The parser stays failed (every later call returns
  // Error) until reset(); the Session replies with the error and closes, as Redis does.
  ParseStatus parse(const char* data, size_t len, Command& out, size_t& consumed);

  const std::string& error_message() const { return error_; }

  // Forgets any partial command and a sticky error; capacity is kept.
  void reset();

  // Bytes the current command still needs beyond the `len` of the last parse() call, at least
  // (for read-buffer sizing while a large bulk arrives); 0 if unknown.
  size_t bytes_wanted() const;

  const ParserLimits& limits() const { return limits_; }

 private:
  // Listed in the order a multibulk command walks through them.
  enum class State : uint8_t { Start, MultibulkCount, BulkLength, BulkPayload, Inline, Failed };

  // Where one argument lives: an offset into the caller's data or into scratch_.
  struct Span {
    size_t offset;
    size_t length;
    bool in_scratch;
  };

  // Reads the "*N\r\n" (bulk = false) or "$N\r\n" (bulk = true) line at `line_start`: Ok with
  // the number in `n` and the offset past its CRLF in `next`, NeedMore, or Error (failed).
  ParseStatus read_header(const char* data, size_t len, size_t line_start, bool bulk, int64_t& n,
                          size_t& next);
  // Everything but a complete, well-formed line: resumable search and Redis's errors.
  ParseStatus read_header_slow(const char* data, size_t len, size_t line_start, bool bulk,
                               int64_t& n, size_t& next);

  ParseStatus parse_inline_line(const char* data, size_t len, size_t& line_end);
  // Splits [begin, end) like Redis's sdssplitargs into spans_; false on unbalanced quotes.
  bool split_inline(const char* data, size_t begin, size_t end);
  void add_span(size_t offset, size_t length, bool in_scratch) {
    if (nspans_ == spans_.size()) {
      spans_.resize(nspans_ < 8 ? 8 : nspans_ * 2);  // grows with the largest command only
    }
    spans_[nspans_++] = Span{offset, length, in_scratch};
  }
  ParseStatus finish(const char* data, Command& out, size_t& consumed, bool inline_form);
  ParseStatus fail(std::string_view message);

  ParserLimits limits_;
  State state_ = State::Start;
  size_t start_ = 0;      // offset of the current command's first byte
  size_t pos_ = 0;        // offset of the next byte to parse
  size_t scan_ = 0;       // a delimiter search already found nothing before this offset
  size_t remaining_ = 0;  // bulk arguments still to read
  uint64_t bulk_len_ = 0;
  size_t seen_ = 0;          // `len` of the last call, for bytes_wanted()
  std::vector<Span> spans_;  // [0, nspans_) are the current command's arguments
  size_t nspans_ = 0;
  std::string scratch_;  // unescaped bytes of quoted inline arguments
  std::string error_;
};

}  // namespace proxy
