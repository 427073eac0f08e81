// rewrite_block_timeout (see block_timeout.h).
#include "proxy/block_timeout.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace proxy {

namespace {

std::string lower(const std::string& s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

bool rewrite_block_timeout(std::vector<std::string>& args, uint64_t elapsed_ms, bool* expired) {
  *expired = false;
  if (args.empty()) {
    return false;
  }
  const std::string name = lower(args[0]);
  size_t pos = 0;
  bool millis = false;
  if (name == "blpop" || name == "brpop" || name == "bzpopmin" || name == "bzpopmax" ||
      name == "brpoplpush" || name == "blmove") {
    pos = args.size() - 1;  // ... timeout
  } else if (name == "blmpop" || name == "bzmpop") {
    pos = 1;  // timeout numkeys key ...
  } else if (name == "xread" || name == "xreadgroup") {
    // [GROUP g c] [COUNT n] [BLOCK ms] [NOACK] STREAMS key ... id ...
    millis = true;
    size_t i = name == "xread" ? 1 : 4;
    for (; i + 1 < args.size(); ++i) {
      std::string a = lower(args[i]);
      if (a == "streams") {
        return true;  // no BLOCK: it does not block
      }
      if (a == "block") {
        pos = i + 1;
        break;
      }
    }
    if (pos == 0) {
      return true;
    }
  } else {
    return false;
  }
  if (pos == 0 || pos >= args.size()) {
    return false;
  }
  const std::string& t = args[pos];
  char* end = nullptr;
  double total_ms =
      millis ? double(std::strtoll(t.c_str(), &end, 10)) : std::strtod(t.c_str(), &end) * 1000.0;
  if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(total_ms) || total_ms < 0) {
    return false;
  }
  if (total_ms == 0) {
    return true;  // blocks until served
  }
  double left = total_ms - double(elapsed_ms);
  if (left < 1.0) {
    *expired = true;
    return true;
  }
  char buf[64];
  if (millis) {
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(left));
  } else {
    std::snprintf(buf, sizeof buf, "%.3f", left / 1000.0);
  }
  args[pos] = buf;
  return true;
}

}  // namespace proxy
