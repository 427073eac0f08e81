// CleanupJournal implementation (see cleanup_journal.h).
#include "migrate/cleanup_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace migrate {

CleanupJournal::CleanupJournal(std::string data_dir) : path_(std::move(data_dir) + "/cleanups") {
  std::ifstream in(path_);
  std::string name;
  uint32_t first, last;
  while (in >> name >> first >> last) {
    jobs_.push_back({name, first, last});
  }
}

proxy::Status CleanupJournal::add(const CleanupJob& job) {
  std::lock_guard<std::mutex> lock(mu_);
  if (std::find(jobs_.begin(), jobs_.end(), job) == jobs_.end()) {
    jobs_.push_back(job);
  }
  return write_locked();
}

proxy::Status CleanupJournal::remove(const CleanupJob& job) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase(jobs_, job);
  return write_locked();
}

std::vector<CleanupJob> CleanupJournal::jobs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return jobs_;
}

proxy::Status CleanupJournal::write_locked() {
  std::ostringstream text;
  for (const CleanupJob& j : jobs_) {
    text << j.backend << ' ' << j.first << ' ' << j.last << '\n';
  }
  std::string tmp = path_ + ".tmp", data = text.str();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    return proxy::Status(proxy::Code::IoError, tmp + ": " + std::strerror(errno));
  }
  bool ok = ::write(fd, data.data(), data.size()) == ssize_t(data.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path_.c_str()) != 0) {
    return proxy::Status(proxy::Code::IoError, path_ + ": " + std::strerror(errno));
  }
  return proxy::Status::ok();
}

}  // namespace migrate
