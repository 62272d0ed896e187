// The epoll shadow (docs/design.md 5): the kernel's epoll instance watches
// a stack fd's placeholder; what the application asked for (events,
// epoll_data, EPOLLONESHOT's disarm) is kept here, per (epoll fd, fd).
// Each armed registration counts in its socket's epoll_read / epoll_write /
// epoll_edge, which decide when the placeholder is signalled. All calls
// with the runtime lock held, except is_stack_epoll.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "preload/fd_table.h"

namespace shunt::preload {

class EpollShadow {
 public:
  struct Registration {
    uint32_t events = 0;    // what the application asked for
    uint64_t data = 0;      // the application's epoll_data
    bool disabled = false;  // EPOLLONESHOT fired, waiting for EPOLL_CTL_MOD
  };

  // `fds` finds a watched fd's socket when a registration ends.
  explicit EpollShadow(const FdTable& fds) : fds_(fds) {}
  EpollShadow(const EpollShadow&) = delete;
  EpollShadow& operator=(const EpollShadow&) = delete;
  ~EpollShadow();

  // Makes room for epoll fds 0 .. size-1 (once, before the first add).
  void init(size_t size);

  // Whether `fd` is an epoll instance watching stack fds: one byte load, no
  // lock, so close() of other fds stays a table lookup.
  bool is_stack_epoll(int fd) const {
    const std::atomic<uint8_t>* f = flags_.load(std::memory_order_acquire);
    return f != nullptr && fd >= 0 && static_cast<size_t>(fd) < size_ &&
           f[fd].load(std::memory_order_relaxed) != 0;
  }
  // Whether epoll instance `epfd` has stack fds registered.
  bool watches(int epfd) const { return counts_.count(epfd) != 0; }
  // How many stack fds `epfd` watches.
  int count(int epfd) const;

  // The registration of `fd` in `epfd`, or nullptr.
  const Registration* find(int epfd, int fd) const;
  // EPOLL_CTL_ADD of `fd` (socket `sf`): false if already registered.
  bool add(int epfd, int fd, SocketFile* sf, uint32_t events, uint64_t data);
  // EPOLL_CTL_MOD: new events and data, armed again. False if not registered.
  bool modify(int epfd, int fd, SocketFile* sf, uint32_t events, uint64_t data);
  // EPOLL_CTL_DEL: false if not registered.
  bool remove(int epfd, int fd, SocketFile* sf);
  // An EPOLLONESHOT registration reported its event: disarmed until
  // EPOLL_CTL_MOD, as the kernel does.
  void disable(int epfd, int fd, SocketFile* sf);
  // Closing an fd ends its registrations (the kernel drops them with the
  // file): `fd` as a watched socket, or as an epoll instance.
  void forget_fd(int fd);

 private:
  using Map = std::unordered_map<uint64_t, Registration>;  // key: epfd << 32 | fd
  static uint64_t key(int epfd, int fd) {
    return (uint64_t{static_cast<uint32_t>(epfd)} << 32) | static_cast<uint32_t>(fd);
  }
  // Drops a registration: its interest, and its count in the epoll fd.
  Map::iterator drop(Map::iterator it, SocketFile* sf);

  const FdTable& fds_;
  Map regs_;
  std::unordered_map<int, int> counts_;  // epfd -> stack fds registered
  std::atomic<std::atomic<uint8_t>*> flags_{nullptr};
  size_t size_ = 0;
};

// Adds (sign +1) or takes back (-1) an armed registration's interest in
// `sf`: read, write, edge-triggered.
void count_epoll_interest(SocketFile* sf, uint32_t events, int sign);

}  // namespace shunt::preload
