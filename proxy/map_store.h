// MapStore: persists the segment map in the data dir (DESIGN §5, CONVENTIONS
// §9): temp file, fsync, rename, fsync dir, so a crash leaves the old or the new
// map, never a mix. Also owns the data-dir lock that keeps two proxies off one
// map. Control thread only (blocking file I/O); never called on a worker.
#pragma once

#include <string>
#include <vector>

#include "proxy/segment_map.h"
#include "proxy/status.h"

namespace proxy {

class MapStore {
 public:
  // The map lives at <data_dir>/segment-map. Nothing touches the disk yet.
  explicit MapStore(std::string data_dir);
  ~MapStore();  // releases the lock, if held
  MapStore(const MapStore&) = delete;
  MapStore& operator=(const MapStore&) = delete;

  // mkdir -p data_dir. IoError with the path and errno text on failure.
  Status ensure_dir();
  // Atomic replace: <file>.tmp, fsync, rename over <file>, fsync the dir.
  // On failure (IoError) the previous map file is untouched and the .tmp is
  // removed.
  Status save(const SegmentMap& map);
  // NotFound if there is no map file; IoError if it cannot be read; Corrupt
  // (or InvalidArgument for a backend the config lost) from SegmentMap::parse,
  // with the file path prefixed. A leftover <file>.tmp is ignored.
  Result<SegmentMap> load(const std::vector<std::string>& backend_names) const;
  bool exists() const;
  const std::string& path() const { return path_; }
  const std::string& data_dir() const { return data_dir_; }

  // flock(LOCK_EX | LOCK_NB) on <data_dir>/lock, which then holds our pid;
  // held until this object is destroyed. Refused with "data dir X is in use by
  // another foreshard (pid N)" when another process (or another MapStore in
  // this process) holds it. Calling it again once held is a no-op.
  Status lock();

 private:
  std::string data_dir_;
  std::string path_;
  int lock_fd_ = -1;
};

}  // namespace proxy
