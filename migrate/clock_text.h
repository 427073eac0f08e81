// "HH:MM:SS" (UTC) of a unix time, for the control plane's text reports.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

namespace migrate {

inline std::string utc_clock(uint64_t unix_s) {
  time_t t = time_t(unix_s);
  tm tmv{};
  gmtime_r(&t, &tmv);
  char b[16];
  strftime(b, sizeof b, "%H:%M:%S", &tmv);
  return b;
}

}  // namespace migrate
