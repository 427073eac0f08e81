// CleanupJournal: slot ranges whose keys must still be deleted from a backend
// (the old owner after a move, the destination after an abort), kept in
// <dataDir>/cleanups so a crash between the map change and the end of the
// cleanup leaves no orphan keys: the next start finishes the job.
// One line per job: "<backend name> <first slot> <last slot>". Written with
// temp file + fsync + rename, like the map. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/status.h"

namespace migrate {

struct CleanupJob {
  std::string backend;
  uint32_t first = 0, last = 0;
  bool operator==(const CleanupJob& o) const {
    return backend == o.backend && first == o.first && last == o.last;
  }
};

class CleanupJournal {
 public:
  explicit CleanupJournal(std::string data_dir);
  proxy::Status add(const CleanupJob& job);
  proxy::Status remove(const CleanupJob& job);
  std::vector<CleanupJob> jobs() const;

 private:
  proxy::Status write_locked();
  std::string path_;
  mutable std::mutex mu_;
  std::vector<CleanupJob> jobs_;
};

}  // namespace migrate
