// MapStore file handling: POSIX open/write/fsync/rename with EINTR and short
// writes handled, errors returned as Status with the path and strerror text.
// The map's format and checks live in segment_map.cc.
#include "proxy/map_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace proxy {
namespace {

Status io_error(const std::string& what, const std::string& path, int err) {
  return Status(Code::IoError, what + " " + path + ": " + std::strerror(err));
}

bool write_all(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// Reads a whole file; false with errno set on failure.
bool read_all(const std::string& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  out.clear();
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int err = errno;
      ::close(fd);
      errno = err;
      return false;
    }
    if (n == 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

Status fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return io_error("open directory", dir, errno);
  }
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  return rc == 0 ? Status::ok() : io_error("fsync directory", dir, err);
}

}  // namespace

MapStore::MapStore(std::string data_dir) : data_dir_(std::move(data_dir)) {
  if (data_dir_.empty()) {
    data_dir_ = ".";
  }
  // Keep "/" as is; otherwise drop trailing slashes so messages read cleanly.
  while (data_dir_.size() > 1 && data_dir_.back() == '/') {
    data_dir_.pop_back();
  }
  path_ = data_dir_ + "/segment-map";
}

MapStore::~MapStore() {
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);  // closing the last descriptor releases the flock
  }
}

Status MapStore::ensure_dir() {
  // mkdir each prefix in turn; EEXIST is fine as long as it is a directory.
  for (size_t pos = 1; pos <= data_dir_.size(); ++pos) {
    if (pos != data_dir_.size() && data_dir_[pos] != '/') {
      continue;
    }
    std::string prefix = data_dir_.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return io_error("create directory", prefix, errno);
    }
  }
  struct stat st;
  if (::stat(data_dir_.c_str(), &st) != 0) {
    return io_error("stat", data_dir_, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status(Code::IoError, "data dir " + data_dir_ + " exists and is not a directory");
  }
  return Status::ok();
}

Status MapStore::save(const SegmentMap& map) {
  const std::string text = map.serialize();
  const std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return io_error("create", tmp, errno);
  }
  Status st;
  if (!write_all(fd, text.data(), text.size())) {
    st = io_error("write", tmp, errno);
  } else if (::fsync(fd) != 0) {
    st = io_error("fsync", tmp, errno);
  }
  if (::close(fd) != 0 && st.is_ok()) {
    st = io_error("close", tmp, errno);
  }
  if (st.is_ok() && ::rename(tmp.c_str(), path_.c_str()) != 0) {
    st = io_error("rename over", path_, errno);
  }
  if (!st.is_ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  // Without this the rename itself may not survive a power cut.
  return fsync_dir(data_dir_);
}

Result<SegmentMap> MapStore::load(const std::vector<std::string>& backend_names) const {
  std::string text;
  if (!read_all(path_, text)) {
    if (errno == ENOENT) {
      return Status(Code::NotFound, "no segment map at " + path_);
    }
    return io_error("read", path_, errno);
  }
  Result<SegmentMap> map = SegmentMap::parse(text, backend_names);
  if (!map.is_ok()) {
    return Status(map.status().code(), path_ + ": " + map.status().message());
  }
  return map;
}

bool MapStore::exists() const {
  struct stat st;
  return ::stat(path_.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Status MapStore::lock() {
  if (lock_fd_ >= 0) {
    return Status::ok();
  }
  const std::string lock_path = data_dir_ + "/lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return io_error("open", lock_path, errno);
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string holder;
    if (err == EWOULDBLOCK) {
      read_all(lock_path, holder);
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) {
        holder.pop_back();
      }
    }
    ::close(fd);
    if (err != EWOULDBLOCK) {
      return io_error("lock", lock_path, err);
    }
    return Status(Code::Refused, "data dir " + data_dir_ + " is in use by another foreshard (pid " +
                                     (holder.empty() ? std::string("unknown") : holder) + ")");
  }
  // Record who holds it, for the message another process will print.
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || !write_all(fd, pid.data(), pid.size())) {
    int err = errno;
    ::close(fd);
    return io_error("write", lock_path, err);
  }
  lock_fd_ = fd;
  return Status::ok();
}

}  // namespace proxy
