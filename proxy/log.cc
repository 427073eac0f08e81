// Logging set-up: one stderr sink for the whole process, level from config.
#include "proxy/log.h"

#include <chrono>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace proxy {

bool init_logging(const std::string& level) {
  spdlog::level::level_enum lv;
  if (level == "debug") {
    lv = spdlog::level::debug;
  } else if (level == "info") {
    lv = spdlog::level::info;
  } else if (level == "warn") {
    lv = spdlog::level::warn;
  } else if (level == "error") {
    lv = spdlog::level::err;
  } else {
    return false;
  }
  static bool created = false;
  if (!created) {
    auto logger = spdlog::stderr_color_mt("foreshard");
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%L%$ %v");
    created = true;
  }
  spdlog::set_level(lv);
  return true;
}

uint64_t log_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace proxy
