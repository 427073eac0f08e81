// RespParser: multibulk framing and inline splitting for client requests, following Redis 7.0's
// processMultibulkBuffer/processInlineBuffer (networking.c) and sdssplitargs (sds.c). State is
// kept as offsets from the command's first byte so the caller's buffer may move between calls.
#include "proxy/resp_parser.h"

#include <cstring>

#include "proxy/resp_scanner.h"  // parse_int64, scan_number

namespace proxy {

namespace {

constexpr std::string_view kInvalidMultibulk = "ERR Protocol error: invalid multibulk length";
constexpr std::string_view kInvalidBulk = "ERR Protocol error: invalid bulk length";
constexpr std::string_view kTooBigInline = "ERR Protocol error: too big inline request";
constexpr std::string_view kUnbalanced = "ERR Protocol error: unbalanced quotes in request";
constexpr std::string_view kTooBigMbulk = "ERR Protocol error: too big mbulk count string";
constexpr std::string_view kTooBigBulk = "ERR Protocol error: too big bulk count string";

// isspace() in the C locale, which sdssplitargs uses to skip blanks and to check the byte
// after a closing quote.
inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

inline bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

inline int hex_value(char c) {
  if (c <= '9') {
    return c - '0';
  }
  return (c | 0x20) - 'a' + 10;
}

}  // namespace

RespParser::RespParser(ParserLimits limits) : limits_(limits) {}

void RespParser::reset() {
  state_ = State::Start;
  start_ = pos_ = scan_ = 0;
  remaining_ = 0;
  bulk_len_ = 0;
  seen_ = 0;
  nspans_ = 0;
  error_.clear();
}

size_t RespParser::bytes_wanted() const {
  if (state_ != State::BulkPayload) {
    return 0;
  }
  uint64_t need = pos_ + bulk_len_ + 2;
  return need > seen_ ? static_cast<size_t>(need - seen_) : 0;
}

ParseStatus RespParser::fail(std::string_view message) {
  state_ = State::Failed;
  error_.assign(message);
  return ParseStatus::Error;
}

inline ParseStatus RespParser::read_header(const char* data, size_t len, size_t line_start,
                                           bool bulk, int64_t& n, size_t& next) {
  // Fast path for the usual well-formed "$123\r\n": one pass, no memchr, no second parse.
  // It accepts only what read_header_slow would accept, with the same value.
  if (line_start >= len) {
    return ParseStatus::NeedMore;
  }
  if (!bulk || data[line_start] == '$') {
    uint64_t v = 0;
    const char* q = scan_number(data + line_start + 1, data + len, v);
    if (q != nullptr && static_cast<size_t>(q - data) - line_start <= limits_.max_inline_length) {
      n = static_cast<int64_t>(v);
      next = static_cast<size_t>(q - data) + 2;
      return ParseStatus::Ok;
    }
  }
  return read_header_slow(data, len, line_start, bulk, n, next);
}

ParseStatus RespParser::read_header_slow(const char* data, size_t len, size_t line_start, bool bulk,
                                         int64_t& n, size_t& next) {
  const size_t max_line = limits_.max_inline_length;
  // General path, following Redis's order of checks: a '\r' within the line limit, then the
  // byte after it, then the type byte (bulk only), then the number.
  // Redis errors when no '\r' shows up within PROTO_INLINE_MAX_SIZE buffered bytes. We bound
  // the line itself (not whatever else is buffered), so the outcome does not depend on how the
  // bytes were split into reads.
  if (scan_ < line_start) {
    scan_ = line_start;  // a new line: earlier searches were for earlier lines
  }
  size_t window_end = line_start + max_line + 1;
  size_t end = len < window_end ? len : window_end;
  if (scan_ < end) {
    const void* hit = std::memchr(data + scan_, '\r', end - scan_);
    scan_ = hit == nullptr ? end : static_cast<size_t>(static_cast<const char*>(hit) - data);
  }
  if (scan_ >= end) {
    if (len >= window_end) {
      return fail(bulk ? kTooBigBulk : kTooBigMbulk);
    }
    return ParseStatus::NeedMore;
  }
  size_t cr = scan_;
  if (cr + 1 >= len) {
    return ParseStatus::NeedMore;  // scan_ stays on the '\r': found again in O(1)
  }
  if (bulk && data[line_start] != '$') {
    char got = data[line_start];
    error_.assign("ERR Protocol error: expected '$', got '");
    error_.push_back(got == '\r' || got == '\n' ? ' ' : got);
    error_.push_back('\'');
    state_ = State::Failed;
    return ParseStatus::Error;
  }
  // Redis skips the byte after '\r' unchecked; anything but '\n' means the stream is garbage.
  if (data[cr + 1] != '\n' ||
      !parse_int64(std::string_view(data + line_start + 1, cr - line_start - 1), n)) {
    return fail(bulk ? kInvalidBulk : kInvalidMultibulk);
  }
  next = cr + 2;
  return ParseStatus::Ok;
}

ParseStatus RespParser::parse(const char* data, size_t len, Command& out, size_t& consumed) {
  consumed = 0;
  if (state_ == State::Failed) {
    return ParseStatus::Error;
  }
  if (len < pos_ || len < scan_ || len < seen_ || len < start_) {
    // The caller broke the contract (fewer bytes than before). Re-parsing from its start is
    // always correct, so do that instead of reading out of bounds.
    reset();
  }
  seen_ = len;
  for (;;) {
    switch (state_) {
      case State::Start: {
        if (start_ >= len) {
          return ParseStatus::NeedMore;
        }
        nspans_ = 0;
        pos_ = start_;
        if (data[start_] == '*') {
          state_ = State::MultibulkCount;
        } else {
          state_ = State::Inline;
        }
        break;
      }
      case State::MultibulkCount: {
        int64_t count = 0;
        size_t next = 0;
        ParseStatus st = read_header(data, len, start_, false, count, next);
        if (st != ParseStatus::Ok) {
          return st;
        }
        if (count > static_cast<int64_t>(limits_.max_arguments)) {
          return fail(kInvalidMultibulk);
        }
        pos_ = next;
        if (count <= 0) {
          // Redis resets the client and goes on: an empty command is no command.
          start_ = pos_;
          state_ = State::Start;
          break;
        }
        remaining_ = static_cast<size_t>(count);
        state_ = State::BulkLength;
        [[fallthrough]];
      }
      case State::BulkLength: {
        int64_t n = 0;
        size_t next = 0;
        ParseStatus st = read_header(data, len, pos_, true, n, next);
        if (st != ParseStatus::Ok) {
          return st;
        }
        if (n < 0 || static_cast<uint64_t>(n) > limits_.max_bulk_length) {
          return fail(kInvalidBulk);
        }
        bulk_len_ = static_cast<uint64_t>(n);
        pos_ = next;
        state_ = State::BulkPayload;
        [[fallthrough]];
      }
      case State::BulkPayload: {
        // O(1) per call however large the payload: nothing in it needs looking at.
        if (len - pos_ < bulk_len_ + 2) {
          return ParseStatus::NeedMore;
        }
        size_t end = pos_ + static_cast<size_t>(bulk_len_);
        if (data[end] != '\r' || data[end + 1] != '\n') {
          // Redis skips these two bytes unchecked; a proxy must not forward a desynced stream.
          return fail(kInvalidBulk);
        }
        add_span(pos_, static_cast<size_t>(bulk_len_), false);
        pos_ = end + 2;
        if (--remaining_ == 0) {
          return finish(data, out, consumed, false);
        }
        state_ = State::BulkLength;
        break;
      }
      case State::Inline: {
        size_t line_end = 0;
        ParseStatus st = parse_inline_line(data, len, line_end);
        if (st != ParseStatus::Ok) {
          return st;
        }
        if (nspans_ == 0) {
          // A blank line: Redis skips it silently (replicas use it as a keepalive).
          start_ = pos_;
          state_ = State::Start;
          break;
        }
        return finish(data, out, consumed, true);
      }
      case State::Failed:
        return ParseStatus::Error;
    }
  }
}

ParseStatus RespParser::parse_inline_line(const char* data, size_t len, size_t& line_end) {
  // The whole line (without its '\n') may be at most max_inline_length bytes; see
  // read_header for why the line, not the buffer, is bounded.
  size_t window_end = start_ + size_t{limits_.max_inline_length} + 1;
  size_t end = len < window_end ? len : window_end;
  if (scan_ < start_) {
    scan_ = start_;
  }
  const void* hit = nullptr;
  if (scan_ < end) {
    hit = std::memchr(data + scan_, '\n', end - scan_);
  }
  if (hit == nullptr) {
    scan_ = end > scan_ ? end : scan_;
    if (len >= window_end) {
      return fail(kTooBigInline);
    }
    return ParseStatus::NeedMore;
  }
  size_t nl = static_cast<size_t>(static_cast<const char*>(hit) - data);
  line_end = nl;
  if (line_end > start_ && data[line_end - 1] == '\r') {
    --line_end;
  }
  if (!split_inline(data, start_, line_end)) {
    return fail(kUnbalanced);
  }
  pos_ = nl + 1;
  return ParseStatus::Ok;
}

bool RespParser::split_inline(const char* data, size_t begin, size_t end) {
  // A faithful port of sdssplitargs, which reads a NUL-terminated copy of the line: `at()`
  // yields '\0' past the end, and a NUL byte inside the line ends it just as it does in Redis.
  auto at = [&](size_t i) -> char { return i < end ? data[i] : '\0'; };
  nspans_ = 0;
  scratch_.clear();
  // Unescaping only shrinks, so this reservation is never exceeded: spans stay valid offsets
  // and steady state allocates nothing once scratch_ has grown to the longest line seen.
  scratch_.reserve(end - begin);
  size_t p = begin;
  for (;;) {
    while (p < end && is_space(data[p])) {
      ++p;
    }
    if (at(p) == '\0') {
      return true;
    }
    bool inq = false;   // inside "double quotes"
    bool insq = false;  // inside 'single quotes'
    bool done = false;
    size_t tok = p;  // an argument is read in place until a quote starts
    size_t scratch_begin = 0;
    bool in_scratch = false;
    while (!done) {
      char c = at(p);
      if (inq) {
        if (c == '\\' && at(p + 1) == 'x' && is_hex(at(p + 2)) && is_hex(at(p + 3))) {
          scratch_.push_back(static_cast<char>(hex_value(at(p + 2)) * 16 + hex_value(at(p + 3))));
          p += 3;
        } else if (c == '\\' && at(p + 1) != '\0') {
          ++p;
          char e = at(p);
          switch (e) {
            case 'n':
              e = '\n';
              break;
            case 'r':
              e = '\r';
              break;
            case 't':
              e = '\t';
              break;
            case 'b':
              e = '\b';
              break;
            case 'a':
              e = '\a';
              break;
            default:
              break;
          }
          scratch_.push_back(e);
        } else if (c == '"') {
          // The closing quote must be followed by a space or nothing at all.
          if (at(p + 1) != '\0' && !is_space(at(p + 1))) {
            return false;
          }
          done = true;
        } else if (c == '\0') {
          return false;  // unterminated quotes
        } else {
          scratch_.push_back(c);
        }
      } else if (insq) {
        if (c == '\\' && at(p + 1) == '\'') {
          ++p;
          scratch_.push_back('\'');
        } else if (c == '\'') {
          if (at(p + 1) != '\0' && !is_space(at(p + 1))) {
            return false;
          }
          done = true;
        } else if (c == '\0') {
          return false;
        } else {
          scratch_.push_back(c);
        }
      } else {
        switch (c) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
          case '\0':
            done = true;
            break;
          case '"':
          case '\'':
            // A quote may open mid-argument (ab"c d" is one argument "abc d"): move what was
            // read in place so far to scratch and continue there.
            scratch_begin = scratch_.size();
            scratch_.append(data + tok, p - tok);
            in_scratch = true;
            (c == '"' ? inq : insq) = true;
            break;
          default:
            break;  // still in place: nothing to copy
        }
        if (done) {
          add_span(tok, p - tok, false);
        }
      }
      if (done && in_scratch) {
        add_span(scratch_begin, scratch_.size() - scratch_begin, true);
      }
      if (at(p) != '\0') {
        ++p;
      }
    }
  }
}

ParseStatus RespParser::finish(const char* data, Command& out, size_t& consumed, bool inline_form) {
  // resize() keeps capacity; indexing keeps the loop free of growth checks.
  out.args.resize(nspans_);
  for (size_t i = 0; i < nspans_; ++i) {
    const Span& s = spans_[i];
    const char* base = s.in_scratch ? scratch_.data() : data;
    out.args[i] = std::string_view(base + s.offset, s.length);
  }
  out.inline_form = inline_form;
  out.wire_bytes = pos_ - start_;
  consumed = pos_;
  // The next command starts at the caller's new logical start, offset 0.
  state_ = State::Start;
  start_ = pos_ = scan_ = 0;
  seen_ = 0;
  return ParseStatus::Ok;
}

}  // namespace proxy
