// ClientDirectory listing and CLIENT KILL filters (see client_directory.h).
#include "proxy/client_directory.h"

#include "proxy/text.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <strings.h>

namespace proxy {

namespace {

bool ieq(std::string_view a, const char* b) { return iequals(a, b); }

}  // namespace

std::vector<std::pair<uint64_t, ClientEntry>> ClientDirectory::list() const {
  std::vector<std::pair<uint64_t, ClientEntry>> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out.assign(entries_.begin(), entries_.end());
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

bool parse_kill_filter(const std::vector<std::string_view>& args, KillFilter& f, std::string& err) {
  // args: everything after "CLIENT KILL".
  if (args.size() == 1) {
    f.old_form = true;
    f.addr.assign(args[0]);
    f.skipme = false;
    return true;
  }
  if (args.empty() || args.size() % 2 != 0) {
    err = "ERR syntax error";
    return false;
  }
  for (size_t i = 0; i < args.size(); i += 2) {
    std::string_view k = args[i], v = args[i + 1];
    if (ieq(k, "id")) {
      uint64_t id = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), id);
      if (ec != std::errc() || p != v.data() + v.size() || id == 0) {
        err = "ERR client-id should be greater than 0";
        return false;
      }
      f.id = id;
    } else if (ieq(k, "addr")) {
      f.addr.assign(v);
    } else if (ieq(k, "laddr")) {
      f.laddr.assign(v);
    } else if (ieq(k, "user")) {
      f.user.assign(v);
    } else if (ieq(k, "type")) {
      // Every client of a proxy is a normal client: TYPE normal matches all,
      // master/replica/slave match none. (pubsub is not told apart here.)
      if (ieq(v, "normal")) {
        continue;
      }
      if (ieq(v, "master") || ieq(v, "replica") || ieq(v, "slave")) {
        f.id = ~uint64_t(0);  // matches nothing
        continue;
      }
      err = "ERR Unknown client type '" + std::string(v) + "'";
      return false;
    } else if (ieq(k, "skipme")) {
      if (ieq(v, "yes")) {
        f.skipme = true;
      } else if (ieq(v, "no")) {
        f.skipme = false;
      } else {
        err = "ERR syntax error";
        return false;
      }
    } else {
      err = "ERR syntax error";
      return false;
    }
  }
  return true;
}

std::vector<std::pair<uint64_t, uint32_t>> match_kill(const ClientDirectory& dir,
                                                      const KillFilter& f, uint64_t self) {
  std::vector<std::pair<uint64_t, uint32_t>> out;
  for (const auto& [id, e] : dir.list()) {
    if ((f.id != 0 && id != f.id) || (!f.addr.empty() && e.addr != f.addr) ||
        (!f.laddr.empty() && e.laddr != f.laddr) || (!f.user.empty() && e.user != f.user) ||
        (f.skipme && id == self)) {
      continue;
    }
    out.emplace_back(id, e.worker);
  }
  return out;
}

}  // namespace proxy
