// The fd table: which fds (placeholder eventfds and their dups) refer to
// which stack socket (docs/design.md 4). Looking an fd up is one array load
// without the lock, so a call on a kernel fd costs one load; every change
// happens under the runtime lock.
#pragma once

#include <atomic>
#include <cstddef>
#include <unordered_map>

#include "preload/socket_file.h"

namespace shunt::preload {

class FdTable {
 public:
  FdTable() = default;
  FdTable(const FdTable&) = delete;
  FdTable& operator=(const FdTable&) = delete;
  // The preload runtime never destroys its table (the stack thread and
  // other threads may look fds up until exit); a test's table is freed.
  ~FdTable();

  // Makes room for fds 0 .. size-1 (once, before any other call). Until
  // then every lookup is nullptr.
  void init(size_t size);
  size_t size() const { return size_; }

  // The socket an fd refers to, or nullptr: one array load, no lock.
  SocketFile* lookup(int fd) const {
    SocketFile* const* t = table_.load(std::memory_order_acquire);
    if (t == nullptr || fd < 0 || static_cast<size_t>(fd) >= size_) return nullptr;
    return __atomic_load_n(&t[fd], __ATOMIC_ACQUIRE);
  }

  // The rest with the lock held.
  // A new socket for stack socket `id`, referred to by `fd`.
  SocketFile* add_socket(SocketId id, int domain, int type, int fd, bool nonblock);
  // `fd` (a dup) refers to `sf` too. Whatever `fd` mapped before is
  // overwritten: the caller deals with a stale mapping first.
  void add_fd(SocketFile* sf, int fd);
  // Forgets `fd`; returns true when it was the socket's last fd (the
  // caller then closes the stack socket and deletes `sf`).
  bool remove_fd(SocketFile* sf, int fd);
  SocketFile* by_id(SocketId id) const;
  // Every socket that still has an fd, in no particular order.
  template <class F>
  void for_each_socket(F&& f) const {
    for (const auto& [id, sf] : by_id_) f(sf);
  }
  size_t socket_count() const { return by_id_.size(); }

 private:
  std::atomic<SocketFile**> table_{nullptr};
  size_t size_ = 0;
  std::unordered_map<uint64_t, SocketFile*> by_id_;
};

}  // namespace shunt::preload
