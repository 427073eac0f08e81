// History's file format and its atomic save/load: a header (magic, version,
// byte order, slots, step, backends), the points in time order, the open
// step, the sources and an XXH64 trailer. Blocking POSIX I/O with EINTR and
// short writes handled; ingest and queries live in history.cc.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstring>

#include "migrate/history.h"

namespace migrate {
namespace {

constexpr char kMagic[8] = {'F', 'S', 'H', 'I', 'S', 'T', '\n', '\0'};
constexpr uint32_t kByteOrder = 0x01020304;  // reads back differently on the other endianness

// Layout: magic, version, byte order, slots, step, backends, 0 (u32 each);
// open step start, closed steps, points held (slot, backend), sources (u64);
// backend names (u32 length + bytes); per slot its points oldest first (f32);
// per backend and metric the same; (version 2) per backend point oldest
// first whether it was counted (u8); open-step sums (f64); sources (name +
// SourceStat), "other"; XXH64 of everything before it. Version 1 files load
// with every point counted.
Status io_error(const std::string& what, const std::string& path, int err) {
  return Status(proxy::Code::IoError, what + " " + path + ": " + std::strerror(err));
}
Status corrupt(const std::string& path, const std::string& why) {
  return Status(proxy::Code::Corrupt, "history " + path + ": " + why);
}

// Buffered descriptor I/O that hashes every byte passing through but the trailer.
class HashedFile {
 public:
  HashedFile(int fd, uint64_t size) : fd_(fd), left_(size), h_(XXH64_createState()) {
    XXH64_reset(h_, 0);
  }
  ~HashedFile() {
    XXH64_freeState(h_);
    ::close(fd_);
  }
  void put(const void* p, size_t n) {
    XXH64_update(h_, p, n);
    raw_put(p, n);
  }
  template <typename T>
  void put_pod(T v) {
    put(&v, sizeof v);
  }
  void put_str(const std::string& s) {
    put_pod(static_cast<uint32_t>(s.size()));
    put(s.data(), s.size());
  }
  // Trailer, flush, fsync: false with errno on failure.
  bool finish_write() {
    const uint64_t d = XXH64_digest(h_);
    raw_put(&d, sizeof d);
    flush();
    return ok_ && (::fsync(fd_) == 0 || (err_ = errno, false));
  }
  int err() const { return err_; }

  bool get(void* p, size_t n) {
    if (!raw_get(p, n)) {
      return false;
    }
    XXH64_update(h_, p, n);
    return true;
  }
  template <typename T>
  bool get_pod(T& v) {
    return get(&v, sizeof v);
  }
  bool get_str(std::string& s, size_t max) {
    uint32_t n = 0;
    if (!get_pod(n) || n > max) {
      return ok_ = false;
    }
    s.resize(n);
    return get(s.data(), n);
  }
  uint64_t left() const { return left_; }
  // The trailer matches and nothing follows it.
  bool verify_end() {
    uint64_t want = XXH64_digest(h_), got = 0;
    return raw_get(&got, sizeof got) && got == want && left_ == 0;
  }

 private:
  void raw_put(const void* p, size_t n) {
    buf_.append(static_cast<const char*>(p), n);
    if (buf_.size() >= (1u << 20)) {
      flush();
    }
  }
  void flush() {
    for (size_t off = 0; ok_ && off < buf_.size();) {
      const ssize_t w = ::write(fd_, buf_.data() + off, buf_.size() - off);
      if (w > 0) {
        off += static_cast<size_t>(w);
      } else if (w == 0 || errno != EINTR) {
        ok_ = false;
        err_ = w == 0 ? EIO : errno;
      }
    }
    buf_.clear();
  }
  bool raw_get(void* p, size_t n) {
    if (!ok_ || n > left_) {
      return ok_ = false;
    }
    for (char* out = static_cast<char*>(p); n > 0;) {
      if (pos_ == buf_.size()) {
        buf_.resize(1u << 20);
        const ssize_t r = ::read(fd_, buf_.data(), buf_.size());
        if (r <= 0 && !(r < 0 && errno == EINTR)) {
          return ok_ = false;
        }
        buf_.resize(r > 0 ? static_cast<size_t>(r) : 0);
        pos_ = 0;
        continue;
      }
      const size_t c = std::min(n, buf_.size() - pos_);
      std::memcpy(out, buf_.data() + pos_, c);
      pos_ += c;
      out += c;
      n -= c;
      left_ -= c;
    }
    return true;
  }

  int fd_;
  uint64_t left_;
  XXH64_state_t* h_;
  std::string buf_;
  size_t pos_ = 0;
  bool ok_ = true;
  int err_ = 0;
};

}  // namespace

Status History::save(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return io_error("create", tmp, errno);
  }
  const size_t nb = backend_names_.size(), sp = points(), bp = backend_points();
  bool ok;
  int err;
  {
    HashedFile out(fd, 0);
    out.put(kMagic, sizeof kMagic);
    for (uint32_t v : {kFileVersion, kByteOrder, slots_, options_.step_s, static_cast<uint32_t>(nb),
                       uint32_t{0}}) {
      out.put_pod(v);
    }
    for (uint64_t v :
         {open_start_, closed_, uint64_t{sp}, uint64_t{bp}, uint64_t{sources_.size()}}) {
      out.put_pod(v);
    }
    for (const std::string& n : backend_names_) {
      out.put_str(n);
    }
    std::vector<float> run(std::max(sp, bp));
    for (size_t s = 0; s < slots_; ++s) {
      for (size_t i = 0; i < sp; ++i) {
        run[i] = slot_ring_[s * slot_cap_ + ring_pos(slot_cap_, sp - i)];
      }
      out.put(run.data(), sp * sizeof(float));
    }
    for (size_t j = 0; j < nb * kBackendMetrics; ++j) {
      for (size_t i = 0; i < bp; ++i) {
        run[i] = backend_ring_[j * backend_cap_ + ring_pos(backend_cap_, bp - i)];
      }
      out.put(run.data(), bp * sizeof(float));
    }
    std::vector<uint8_t> counted(bp);
    for (size_t i = 0; i < bp; ++i) {
      counted[i] = counted_ring_[ring_pos(backend_cap_, bp - i)];
    }
    out.put(counted.data(), bp);
    out.put(slot_open_.data(), slot_open_.size() * sizeof(double));
    out.put(backend_open_.data(), backend_open_.size() * sizeof(double));
    for (const auto& [name, st] : sources_) {
      out.put_str(name);
      out.put(&st, sizeof st);
    }
    out.put(&other_source_, sizeof other_source_);
    ok = out.finish_write();
    err = out.err();
  }  // closes fd
  if (!ok) {
    ::unlink(tmp.c_str());
    return io_error("write", tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    ::unlink(tmp.c_str());
    return io_error("rename over", path, err);
  }
  // Without the directory fsync the rename itself may not survive a power cut.
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || ::fsync(dfd) != 0) {
    err = errno;
    if (dfd >= 0) {
      ::close(dfd);
    }
    return io_error("fsync directory", dir, err);
  }
  ::close(dfd);
  return Status::ok();
}

Result<History> History::load(const std::string& path, Options options, uint32_t slots,
                              std::vector<std::string> backend_names) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno == ENOENT ? Status(proxy::Code::NotFound, "no history at " + path)
                           : io_error("open", path, errno);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return io_error("stat", path, err);
  }
  HashedFile in(fd, static_cast<uint64_t>(st.st_size));
  char magic[sizeof kMagic];
  uint32_t version = 0, order = 0, f_slots = 0, f_step = 0, nb = 0, pad = 0;
  uint64_t open_start = 0, closed = 0, sp = 0, bp = 0, nsrc = 0;
  if (!in.get(magic, sizeof magic) || std::memcmp(magic, kMagic, sizeof kMagic) != 0) {
    return corrupt(path, "not a foreshard history file");
  }
  if (!in.get_pod(version) || !in.get_pod(order)) {
    return corrupt(path, "truncated header");
  }
  if ((version != 1 && version != kFileVersion) || order != kByteOrder) {
    return Status(proxy::Code::InvalidArgument,
                  "history " + path + ": unsupported version or byte order; starting fresh");
  }
  if (!in.get_pod(f_slots) || !in.get_pod(f_step) || !in.get_pod(nb) || !in.get_pod(pad)) {
    return corrupt(path, "truncated header");
  }
  if (f_slots != slots || f_step != options.step_s) {
    return Status(proxy::Code::InvalidArgument,
                  "history " + path + " has " + std::to_string(f_slots) + " slots at step " +
                      std::to_string(f_step) + " s, config has " + std::to_string(slots) +
                      " slots at step " + std::to_string(options.step_s) + " s: starting fresh");
  }
  if (!in.get_pod(open_start) || !in.get_pod(closed) || !in.get_pod(sp) || !in.get_pod(bp) ||
      !in.get_pod(nsrc)) {
    return corrupt(path, "truncated header");
  }
  if (nb > 65536 || sp > closed || bp > closed || nsrc > kMaxSources + kMaxSourceBaselines ||
      std::max(sp, bp) > (1u << 24)) {
    return corrupt(path, "header values out of range");
  }
  std::vector<std::string> f_names(nb);
  for (std::string& n : f_names) {
    if (!in.get_str(n, 4096)) {
      return corrupt(path, "truncated backend names");
    }
  }
  const uint64_t need = (uint64_t{slots} * sp + nb * kBackendMetrics * bp) * sizeof(float) +
                        (uint64_t{slots} + nb * kBackendMetrics) * sizeof(double) +
                        (version >= 2 ? bp : 0);
  if (in.left() < need + sizeof(uint64_t)) {
    return corrupt(path, "truncated (" + std::to_string(in.left()) + " bytes left, need " +
                             std::to_string(need) + "+)");
  }
  History h(options, slots, std::move(backend_names));
  const size_t m = std::min<size_t>(sp, h.slot_cap_), mb = std::min<size_t>(bp, h.backend_cap_);
  h.closed_ = std::max(m, mb);
  h.open_start_ = open_start;
  std::vector<float> run(std::max(sp, bp));
  for (size_t s = 0; s < slots; ++s) {
    in.get(run.data(), sp * sizeof(float));
    for (size_t i = 0; i < m; ++i) {
      const size_t pos = (h.closed_ - m + i) % h.slot_cap_;
      h.slot_ring_[s * h.slot_cap_ + pos] = run[sp - m + i];
      h.all_ring_[pos] += run[sp - m + i];
    }
  }
  std::vector<int> to(nb);  // file backend -> our index, -1 = dropped
  for (size_t b = 0; b < nb; ++b) {
    to[b] = h.backend_index(f_names[b]);
  }
  for (size_t j = 0; j < nb * kBackendMetrics; ++j) {
    in.get(run.data(), bp * sizeof(float));
    const int b = to[j / kBackendMetrics];
    for (size_t i = 0; i < mb && b >= 0; ++i) {
      const size_t row = static_cast<size_t>(b) * kBackendMetrics + j % kBackendMetrics;
      h.backend_ring_[row * h.backend_cap_ + (h.closed_ - mb + i) % h.backend_cap_] =
          run[bp - mb + i];
    }
  }
  if (version >= 2) {
    std::vector<uint8_t> counted(bp);
    in.get(counted.data(), bp);
    for (size_t i = 0; i < mb; ++i) {
      h.counted_ring_[(h.closed_ - mb + i) % h.backend_cap_] = counted[bp - mb + i] != 0;
    }
  }
  in.get(h.slot_open_.data(), h.slot_open_.size() * sizeof(double));
  h.open_counted_ = true;  // the open step was being counted when it was saved
  for (size_t j = 0; j < nb * kBackendMetrics; ++j) {
    double v = 0;
    in.get_pod(v);
    if (to[j / kBackendMetrics] >= 0) {
      h.backend_open_[static_cast<size_t>(to[j / kBackendMetrics]) * kBackendMetrics +
                      j % kBackendMetrics] = v;
    }
  }
  for (uint64_t i = 0; i < nsrc; ++i) {
    std::string name;
    SourceStat s;
    if (!in.get_str(name, 4096) || !in.get(&s, sizeof s)) {
      return corrupt(path, "truncated sources");
    }
    h.sources_[name] = s;
  }
  if (!in.get(&h.other_source_, sizeof h.other_source_) || !in.verify_end()) {
    return corrupt(path, "checksum mismatch, truncated or trailing bytes");
  }
  return h;
}

}  // namespace migrate
