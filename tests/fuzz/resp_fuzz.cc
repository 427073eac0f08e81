// libFuzzer target for the RESP layer (RespParser, RespScanner, decoders, RespWriter).
// Checks invariants rather than outputs: parsing/scanning in one piece equals doing it in
// random pieces through a buffer that moves on every read; every parsed command re-encodes and
// re-parses to itself; every accepted aggregate splits into elements that scan whole.
// Built and run by scripts/fuzz.sh (clang++ -fsanitize=fuzzer,address,undefined).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/resp_parser.h"
#include "proxy/resp_scanner.h"
#include "proxy/resp_writer.h"

namespace {

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

// Small limits so the fuzzer reaches every bound quickly.
proxy::ParserLimits fuzz_limits() {
  proxy::ParserLimits l;
  l.max_arguments = 64;
  l.max_bulk_length = 4096;
  l.max_inline_length = 256;
  return l;
}
constexpr uint64_t kScanMaxBulk = 4096;
constexpr uint32_t kScanMaxDepth = 16;

// Deterministic chunk sizes derived from the input, so a crash reproduces from its file.
class Splitter {
 public:
  // `one_byte` feeds a byte per read, the hardest split for resumption.
  Splitter(const uint8_t* data, size_t size, bool one_byte = false) : one_byte_(one_byte) {
    state_ = 0x9e3779b97f4a7c15ull ^ size;
    for (size_t i = 0; i < size; ++i) {
      state_ = (state_ ^ data[i]) * 0x100000001b3ull;
    }
  }
  size_t next() {
    if (one_byte_) {
      return 1;
    }
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    switch (state_ % 4) {
      case 0:
        return 1;
      case 1:
        return 1 + (state_ >> 8) % 8;
      case 2:
        return 1 + (state_ >> 8) % 64;
      default:
        return 1 + (state_ >> 8) % 1024;
    }
  }

 private:
  uint64_t state_;
  bool one_byte_;
};

struct ParsedCommand {
  std::vector<std::string> args;
  bool inline_form;
  size_t wire_bytes;
  size_t consumed;
  bool operator==(const ParsedCommand& o) const {
    return args == o.args && inline_form == o.inline_form && wire_bytes == o.wire_bytes &&
           consumed == o.consumed;
  }
};

struct ParseRun {
  std::vector<ParsedCommand> commands;
  proxy::ParseStatus last = proxy::ParseStatus::NeedMore;
  std::string error;
};

// Checks what must hold for any Ok, whatever the input.
void check_command(const proxy::Command& cmd, const char* data, size_t len, size_t consumed) {
  FUZZ_CHECK(consumed > 0 && consumed <= len);
  FUZZ_CHECK(cmd.wire_bytes > 0 && cmd.wire_bytes <= consumed);
  FUZZ_CHECK(!cmd.args.empty());
  size_t total = 0;
  for (std::string_view a : cmd.args) {
    total += a.size();
    if (!cmd.inline_form) {
      // Multibulk arguments are views into the input, inside this command.
      FUZZ_CHECK(a.data() >= data + (consumed - cmd.wire_bytes));
      FUZZ_CHECK(a.data() + a.size() <= data + consumed);
    }
  }
  FUZZ_CHECK(total <= cmd.wire_bytes);
}

// Feeds the input through a buffer that is reallocated on every call (so a parser that kept a
// pointer reads freed memory under ASan). `splitter` null means everything at once.
ParseRun run_parser(const uint8_t* input, size_t size, Splitter* splitter) {
  proxy::RespParser parser(fuzz_limits());
  proxy::Command cmd;
  ParseRun run;
  std::string pending;
  size_t fed = 0;
  for (;;) {
    std::unique_ptr<char[]> buf(new char[pending.size()]);
    std::memcpy(buf.get(), pending.data(), pending.size());
    size_t consumed = 0;
    proxy::ParseStatus st = parser.parse(buf.get(), pending.size(), cmd, consumed);
    run.last = st;
    if (st == proxy::ParseStatus::Ok) {
      check_command(cmd, buf.get(), pending.size(), consumed);
      ParsedCommand pc{{}, cmd.inline_form, cmd.wire_bytes, consumed};
      for (std::string_view a : cmd.args) {
        pc.args.emplace_back(a);
      }
      run.commands.push_back(std::move(pc));
      pending.erase(0, consumed);
      continue;
    }
    FUZZ_CHECK(consumed == 0);
    if (st == proxy::ParseStatus::Error) {
      run.error = parser.error_message();
      FUZZ_CHECK(run.error.rfind("ERR Protocol error: ", 0) == 0);
      FUZZ_CHECK(run.error.find_first_of("\r\n") == std::string::npos);
      // Sticky until reset.
      FUZZ_CHECK(parser.parse(buf.get(), pending.size(), cmd, consumed) == st);
      break;
    }
    if (fed == size) {
      break;
    }
    size_t n = splitter ? splitter->next() : size - fed;
    n = n < size - fed ? n : size - fed;
    pending.append(reinterpret_cast<const char*>(input) + fed, n);
    fed += n;
  }
  return run;
}

// A parsed command encoded as a client would send it must parse back to itself, and scan as
// exactly one reply (the request grammar is a subset of the reply grammar).
void check_round_trip(const ParsedCommand& pc) {
  std::string enc;
  proxy::RespWriter w(enc);
  w.array(pc.args.size());
  for (const std::string& a : pc.args) {
    w.bulk(a);
  }
  // max_arguments bounds multibulk counts only (as in Redis): an inline command is bounded by
  // its line length instead, so it may hold more arguments than a multibulk may claim.
  proxy::ParserLimits limits = fuzz_limits();
  limits.max_arguments = limits.max_inline_length;
  proxy::RespParser parser(limits);
  proxy::Command cmd;
  size_t consumed = 0;
  proxy::ParseStatus st = parser.parse(enc.data(), enc.size(), cmd, consumed);
  FUZZ_CHECK(st == proxy::ParseStatus::Ok);
  FUZZ_CHECK(consumed == enc.size());
  FUZZ_CHECK(cmd.args.size() == pc.args.size());
  for (size_t i = 0; i < cmd.args.size(); ++i) {
    FUZZ_CHECK(cmd.args[i] == pc.args[i]);
  }
  proxy::RespScanner scanner(kScanMaxBulk, kScanMaxDepth);
  size_t n = 0;
  FUZZ_CHECK(scanner.scan(enc.data(), enc.size(), n) == proxy::ScanStatus::Complete);
  FUZZ_CHECK(n == enc.size());
}

struct ScanRun {
  std::vector<size_t> lengths;
  proxy::ScanStatus last = proxy::ScanStatus::NeedMore;
};

ScanRun run_scanner(const uint8_t* input, size_t size, Splitter* splitter) {
  proxy::RespScanner scanner(kScanMaxBulk, kScanMaxDepth);
  ScanRun run;
  std::string pending;
  size_t fed = 0;
  for (;;) {
    std::unique_ptr<char[]> buf(new char[pending.size()]);
    std::memcpy(buf.get(), pending.data(), pending.size());
    size_t n = 0;
    proxy::ScanStatus st = scanner.scan(buf.get(), pending.size(), n);
    run.last = st;
    if (st == proxy::ScanStatus::Complete) {
      FUZZ_CHECK(n > 0 && n <= pending.size());
      run.lengths.push_back(n);
      pending.erase(0, n);
      continue;
    }
    FUZZ_CHECK(n == 0);
    if (st == proxy::ScanStatus::Error || fed == size) {
      break;
    }
    size_t k = splitter ? splitter->next() : size - fed;
    k = k < size - fed ? k : size - fed;
    pending.append(reinterpret_cast<const char*>(input) + fed, k);
    fed += k;
  }
  return run;
}

// One complete reply the scanner accepted: the decoders must agree with it.
void check_reply(std::string_view reply, int depth) {
  FUZZ_CHECK(reply.size() >= 3);
  FUZZ_CHECK(reply.substr(reply.size() - 2) == "\r\n");
  int64_t v = 0;
  if (proxy::decode_integer(reply, v)) {
    FUZZ_CHECK(reply[0] == ':');
  } else {
    FUZZ_CHECK(reply[0] != ':');
  }
  std::string_view s;
  bool is_null = false;
  if (proxy::decode_simple_or_bulk(reply, s, is_null)) {
    FUZZ_CHECK(reply[0] == '+' || reply[0] == '$' || reply[0] == '_');
    FUZZ_CHECK(s.empty() ||
               (s.data() >= reply.data() && s.data() + s.size() <= reply.data() + reply.size()));
  } else {
    FUZZ_CHECK(reply[0] != '+' && reply[0] != '$' && reply[0] != '_');
  }
  FUZZ_CHECK(proxy::is_error_reply(reply) == (reply[0] == '-' || reply[0] == '!'));

  std::vector<std::string_view> elements;
  bool aggregate = (reply[0] == '*' || reply[0] == '~' || reply[0] == '>');
  bool null_array = reply == "*-1\r\n";
  bool split = proxy::split_aggregate(reply, elements);
  FUZZ_CHECK(split == (aggregate && !null_array));
  if (!split) {
    return;
  }
  // Elements are contiguous and end exactly at the reply's end.
  size_t header = reply.find("\r\n") + 2;
  const char* p = reply.data() + header;
  for (std::string_view e : elements) {
    FUZZ_CHECK(e.data() == p);
    p += e.size();
    proxy::RespScanner one(kScanMaxBulk, kScanMaxDepth);
    size_t n = 0;
    FUZZ_CHECK(one.scan(e.data(), e.size(), n) == proxy::ScanStatus::Complete);
    FUZZ_CHECK(n == e.size());
    if (depth < 4) {
      check_reply(e, depth + 1);
    }
  }
  FUZZ_CHECK(p == reply.data() + reply.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Parser: one piece versus random pieces.
  ParseRun whole = run_parser(data, size, nullptr);
  Splitter splitter(data, size);
  ParseRun pieces = run_parser(data, size, &splitter);
  FUZZ_CHECK(whole.commands == pieces.commands);
  FUZZ_CHECK(whole.last == pieces.last);
  FUZZ_CHECK(whole.error == pieces.error);
  if (size <= 512) {
    Splitter one_byte(data, size, true);
    ParseRun bytes = run_parser(data, size, &one_byte);
    FUZZ_CHECK(bytes.commands == whole.commands);
    FUZZ_CHECK(bytes.error == whole.error);
    FUZZ_CHECK(run_scanner(data, size, &one_byte).lengths ==
               run_scanner(data, size, nullptr).lengths);
  }
  for (const ParsedCommand& pc : whole.commands) {
    check_round_trip(pc);
  }

  // Scanner: one piece versus random pieces, then the decoders on every reply.
  ScanRun swhole = run_scanner(data, size, nullptr);
  ScanRun spieces = run_scanner(data, size, &splitter);
  FUZZ_CHECK(swhole.lengths == spieces.lengths);
  FUZZ_CHECK(swhole.last == spieces.last);
  size_t off = 0;
  for (size_t n : swhole.lengths) {
    check_reply(std::string_view(reinterpret_cast<const char*>(data) + off, n), 0);
    off += n;
  }

  // Writer: whatever it is given, its output scans as complete replies.
  std::string_view text(reinterpret_cast<const char*>(data), size < 64 ? size : 64);
  for (int proto : {2, 3}) {
    std::string out;
    proxy::RespWriter w(out, proto);
    w.error(text);
    w.simple(text);
    w.bulk(text);
    w.verbatim(text);
    w.integer(static_cast<int64_t>(size) * -7919);
    double d = 0;
    if (size > 0) {
      std::memcpy(&d, data, size < sizeof(d) ? size : sizeof(d));
    }
    w.dbl(d);
    proxy::RespScanner sc(kScanMaxBulk, kScanMaxDepth);
    std::string_view rest = out;
    int replies = 0;
    while (!rest.empty()) {
      size_t n = 0;
      FUZZ_CHECK(sc.scan(rest.data(), rest.size(), n) == proxy::ScanStatus::Complete);
      rest.remove_prefix(n);
      ++replies;
    }
    FUZZ_CHECK(replies == 6);
  }
  return 0;
}
