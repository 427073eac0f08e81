// RespScanner: reply boundaries in backend bytes, plus the one-reply decoders used by merge.
// The scanner keeps one counter per open aggregate level and offsets into the reply, never
// pointers, so the link's buffer may move between calls; it looks at header lines only.
#include "proxy/resp_scanner.h"

#include <cstring>

namespace proxy {

namespace {

// Each pending value takes at least 3 bytes ("_\r\n"), so no honest count comes near this;
// the bound keeps `2 * n` for maps and attributes far from overflow.
constexpr int64_t kMaxAggregateCount = int64_t{1} << 60;

enum class Kind : uint8_t { Invalid, Line, Bulk, Aggregate };

// What a RESP type byte introduces.
inline Kind kind_of(char t) {
  switch (t) {
    case '+':
    case '-':
    case ':':
    case '_':
    case ',':
    case '#':
    case '(':
      return Kind::Line;
    case '$':
    case '!':
    case '=':
      return Kind::Bulk;
    case '*':
    case '~':
    case '>':
    case '%':
    case '|':
      return Kind::Aggregate;
    default:
      return Kind::Invalid;  // includes ';' (streamed chunk) and garbage
  }
}

// Checks a line type's payload (between the type byte and CRLF). Cheap checks only: the
// scanner forwards bytes, it does not interpret them.
inline bool line_ok(char t, std::string_view s) {
  switch (t) {
    case ':': {
      int64_t v = 0;
      return parse_int64(s, v);
    }
    case '_':
      return s.empty();
    case '#':
      return s.size() == 1 && (s[0] == 't' || s[0] == 'f');
    case ',':
    case '(':
      return !s.empty();
    default:
      return true;  // + and -: any text without CR/LF
  }
}

// Reads the header of the value at `p` in a complete buffer [p, end). For lines, `next` is past
// the CRLF; for bulks, `n` is the payload length (-1 null) and `next` is past the payload's
// CRLF; for aggregates, `n` is how many values follow (already doubled for % and |).
bool read_complete_header(const char* p, const char* end, char& type, int64_t& n,
                          const char*& next) {
  if (p >= end) {
    return false;
  }
  type = *p;
  Kind kind = kind_of(type);
  if (kind == Kind::Invalid) {
    return false;
  }
  const char* cr = static_cast<const char*>(std::memchr(p + 1, '\r', end - p - 1));
  if (cr == nullptr || cr + 1 >= end || cr[1] != '\n') {
    return false;
  }
  std::string_view text(p + 1, cr - p - 1);
  next = cr + 2;
  n = 0;
  if (kind == Kind::Line) {
    return line_ok(type, text);
  }
  if (!parse_int64(text, n)) {
    return false;
  }
  if (n == -1 && (type == '$' || type == '*')) {
    return true;  // RESP2 null bulk / null array
  }
  if (n < 0 || n > kMaxAggregateCount) {
    return false;
  }
  if (kind == Kind::Bulk) {
    if (static_cast<uint64_t>(end - next) < static_cast<uint64_t>(n) + 2) {
      return false;
    }
    next += n;
    if (next[0] != '\r' || next[1] != '\n') {
      return false;
    }
    next += 2;
  } else if (type == '%' || type == '|') {
    n *= 2;
  }
  return true;
}

// Skips one complete value (with any attributes before it) in [p, end). A single counter of
// values still owed is enough to find the end: nesting does not change where it is.
bool skip_value(const char* p, const char* end, const char*& next) {
  uint64_t owed = 1;
  while (owed > 0) {
    char type = 0;
    int64_t n = 0;
    if (!read_complete_header(p, end, type, n, next)) {
      return false;
    }
    p = next;
    if (type != '|') {
      --owed;  // an attribute does not take the slot of the value it annotates
    }
    if (kind_of(type) == Kind::Aggregate && n > 0) {
      if (static_cast<uint64_t>(n) > static_cast<uint64_t>(end - p)) {
        return false;  // more values than bytes left
      }
      owed += static_cast<uint64_t>(n);
    }
  }
  next = p;
  return true;
}

}  // namespace

bool parse_int64(std::string_view s, int64_t& out) {
  // Redis string2ll: at most 20 characters (LONG_STR_SIZE 21 includes the NUL).
  size_t len = s.size();
  if (len == 0 || len >= 21) {
    return false;
  }
  const char* p = s.data();
  if (len == 1 && p[0] == '0') {
    out = 0;
    return true;
  }
  size_t i = 0;
  bool negative = false;
  if (p[0] == '-') {
    negative = true;
    if (++i == len) {
      return false;
    }
  }
  if (p[i] < '1' || p[i] > '9') {
    return false;  // no leading zeros, no '+', no spaces
  }
  uint64_t v = 0;
  for (; i < len; ++i) {
    unsigned d = static_cast<unsigned char>(p[i]) - '0';
    if (d > 9) {
      return false;
    }
    if (v > (UINT64_MAX - d) / 10) {
      return false;
    }
    v = v * 10 + d;
  }
  if (negative) {
    if (v > static_cast<uint64_t>(INT64_MAX) + 1) {
      return false;
    }
    out = static_cast<int64_t>(0 - v);
  } else {
    if (v > static_cast<uint64_t>(INT64_MAX)) {
      return false;
    }
    out = static_cast<int64_t>(v);
  }
  return true;
}

RespScanner::RespScanner(uint64_t max_bulk_length, uint32_t max_depth)
    : max_bulk_length_(max_bulk_length), max_depth_(max_depth) {
  stack_.reserve(size_t{max_depth} + 1);
  reset();
}

void RespScanner::reset() {
  state_ = State::Header;
  pos_ = scan_ = payload_end_ = seen_ = 0;
  stack_.clear();
  stack_.push_back(1);
}

size_t RespScanner::bytes_wanted() const {
  if (state_ != State::Payload || payload_end_ <= seen_) {
    return 0;
  }
  return payload_end_ - seen_;
}

ScanStatus RespScanner::fail() {
  state_ = State::Failed;
  return ScanStatus::Error;
}

bool RespScanner::value_done() {
  --stack_.back();
  while (stack_.back() == 0) {
    stack_.pop_back();
    if (stack_.empty()) {
      return true;
    }
  }
  return false;
}

ScanStatus RespScanner::scan(const char* data, size_t len, size_t& reply_len) {
  reply_len = 0;
  if (state_ == State::Failed) {
    return ScanStatus::Error;
  }
  if (len < pos_ || len < scan_ || len < seen_) {
    reset();  // the caller broke the contract; re-scanning from its start is always correct
  }
  seen_ = len;
  for (;;) {
    if (state_ == State::Payload) {
      // O(1) however large the payload: only its trailing CRLF is looked at.
      if (len < payload_end_) {
        return ScanStatus::NeedMore;
      }
      if (data[payload_end_ - 2] != '\r' || data[payload_end_ - 1] != '\n') {
        return fail();
      }
      state_ = State::Header;
      pos_ = scan_ = payload_end_;
      if (value_done()) {
        break;
      }
      continue;
    }
    if (pos_ >= len) {
      return ScanStatus::NeedMore;
    }
    char type = data[pos_];
    Kind kind = kind_of(type);
    if (kind == Kind::Invalid) {
      return fail();
    }
    int64_t n = 0;
    size_t next = 0;
    uint64_t v = 0;
    const char* q =
        kind != Kind::Line || type == ':' ? scan_number(data + pos_ + 1, data + len, v) : nullptr;
    if (q != nullptr) {
      // The common "$12\r\n", "*3\r\n", ":1\r\n": one pass, no memchr, no second parse.
      n = static_cast<int64_t>(v);
      next = static_cast<size_t>(q - data) + 2;
      if (kind == Kind::Line) {
        pos_ = scan_ = next;
        if (value_done()) {
          break;
        }
        continue;
      }
    } else {
      // Resume the search for this line's '\r' where the last call stopped: linear overall.
      if (scan_ <= pos_) {
        scan_ = pos_ + 1;
      }
      if (scan_ < len) {
        const void* hit = std::memchr(data + scan_, '\r', len - scan_);
        scan_ = hit == nullptr ? len : static_cast<size_t>(static_cast<const char*>(hit) - data);
      }
      if (scan_ + 1 >= len) {
        return ScanStatus::NeedMore;  // no '\r' yet, or no byte after it yet
      }
      size_t cr = scan_;
      if (data[cr + 1] != '\n') {
        return fail();
      }
      std::string_view text(data + pos_ + 1, cr - pos_ - 1);
      next = cr + 2;
      if (kind == Kind::Line) {
        if (!line_ok(type, text)) {
          return fail();
        }
        pos_ = scan_ = next;
        if (value_done()) {
          break;
        }
        continue;
      }
      if (!parse_int64(text, n)) {
        return fail();  // also streamed headers: "$?" and "*?"
      }
    }
    pos_ = scan_ = next;
    if (n == -1 && (type == '$' || type == '*')) {
      if (value_done()) {
        break;
      }
      continue;
    }
    if (n < 0 || n > kMaxAggregateCount) {
      return fail();
    }
    if (kind == Kind::Bulk) {
      if (static_cast<uint64_t>(n) > max_bulk_length_) {
        return fail();
      }
      payload_end_ = next + static_cast<size_t>(n) + 2;
      state_ = State::Payload;
      continue;
    }
    uint64_t children = static_cast<uint64_t>(n);
    if (type == '%' || type == '|') {
      children *= 2;
    }
    if (type == '|') {
      // An attribute does not take its parent's slot: the annotated value still will.
      if (children == 0) {
        continue;
      }
    } else if (children == 0) {
      if (value_done()) {
        break;
      }
      continue;
    } else {
      --stack_.back();  // the parent's slot is this aggregate; it ends when its children do
    }
    if (stack_.size() > max_depth_) {
      return fail();
    }
    stack_.push_back(children);
  }
  reply_len = pos_;
  // Ready for the next reply, which starts at the caller's new logical start.
  state_ = State::Header;
  pos_ = scan_ = payload_end_ = seen_ = 0;
  stack_.push_back(1);
  return ScanStatus::Complete;
}

bool is_error_reply(std::string_view reply) {
  return !reply.empty() && (reply[0] == '-' || reply[0] == '!');
}

bool decode_integer(std::string_view reply, int64_t& out) {
  if (reply.size() < 4 || reply[0] != ':' || reply[reply.size() - 2] != '\r' ||
      reply[reply.size() - 1] != '\n') {
    return false;
  }
  return parse_int64(reply.substr(1, reply.size() - 3), out);
}

bool decode_simple_or_bulk(std::string_view reply, std::string_view& out, bool& is_null) {
  out = {};
  is_null = false;
  if (reply.empty() || (reply[0] != '+' && reply[0] != '$' && reply[0] != '_')) {
    return false;
  }
  const char* end = reply.data() + reply.size();
  char type = 0;
  int64_t n = 0;
  const char* next = nullptr;
  if (!read_complete_header(reply.data(), end, type, n, next) || next != end) {
    return false;
  }
  if (type == '+') {
    out = reply.substr(1, reply.size() - 3);
  } else if (type == '_' || n == -1) {
    is_null = true;
  } else {
    out = std::string_view(end - 2 - n, static_cast<size_t>(n));
  }
  return true;
}

bool split_aggregate(std::string_view reply, std::vector<std::string_view>& elements) {
  elements.clear();
  if (reply.empty() || (reply[0] != '*' && reply[0] != '~' && reply[0] != '>')) {
    return false;
  }
  const char* end = reply.data() + reply.size();
  char type = 0;
  int64_t n = 0;
  const char* p = nullptr;
  if (!read_complete_header(reply.data(), end, type, n, p) || n < 0) {
    return false;
  }
  if (static_cast<uint64_t>(n) > static_cast<uint64_t>(end - p)) {
    return false;
  }
  for (int64_t i = 0; i < n; ++i) {
    const char* next = nullptr;
    if (!skip_value(p, end, next)) {
      elements.clear();
      return false;
    }
    elements.emplace_back(p, static_cast<size_t>(next - p));
    p = next;
  }
  if (p != end) {
    elements.clear();
    return false;
  }
  return true;
}

}  // namespace proxy
