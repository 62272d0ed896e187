// Adapter: packetdrill's socket calls (struct packetdrill_interface, in
// packetdrill.h) served by one shunt Stack through an Engine.
//
// Every call takes the engine's lock, runs against the stack, settles it
// and returns the result or -1 with errno from preload/errno_map.h (the
// one Error -> errno mapping). File descriptors are the adapter's own,
// from 1000 up, so they never look like packetdrill's kernel descriptors;
// a descriptor the adapter does not know (a pipe from pipe()) goes to the
// kernel.
#pragma once

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <map>
#include <optional>

#include "stack/base/result.h"
#include "tests/packetdrill/engine.h"

namespace shunt::packetdrill {

inline constexpr int kFirstFd = 1000;

struct EpollRegistration {
  uint32_t events = 0;
  epoll_data_t data{};
  bool pending = true;    // a wake-up arrived since it was last reported (EPOLLET)
  bool disabled = false;  // EPOLLONESHOT fired
};

struct FdEntry {
  enum class Kind : uint8_t { kSocket, kEpoll } kind = Kind::kSocket;
  // kSocket
  SocketId id;
  int domain = AF_INET;
  int type = SOCK_STREAM;
  bool nonblock = false;
  Duration rcvtimeo{-1};  // negative: none
  Duration sndtimeo{-1};
  // kEpoll: watched fd -> registration
  std::map<int, EpollRegistration> watched;
};

class Adapter {
 public:
  explicit Adapter(const Settings& s);

  int socket(int domain, int type, int protocol);
  int bind(int fd, const sockaddr* addr, socklen_t len);
  int listen(int fd, int backlog);
  int accept(int fd, sockaddr* addr, socklen_t* len);
  int connect(int fd, const sockaddr* addr, socklen_t len);
  ssize_t recvmsg(int fd, msghdr* msg, int flags);
  ssize_t sendmsg(int fd, const msghdr* msg, int flags);
  int fcntl(int fd, int cmd, long arg);
  int ioctl(int fd, unsigned long request, void* arg);
  int close(int fd);
  int shutdown(int fd, int how);
  int getsockopt(int fd, int level, int name, void* val, socklen_t* len);
  int setsockopt(int fd, int level, int name, const void* val, socklen_t len);
  int poll(pollfd* fds, nfds_t n, int timeout_ms);
  int epoll_create(int size);
  int epoll_ctl(int epfd, int op, int fd, epoll_event* ev);
  int epoll_wait(int epfd, epoll_event* events, int max, int timeout_ms);
  // One end a kernel pipe, the other an adapter socket (copied through a
  // buffer), and sendfile from a kernel file (packetdrill calls the
  // kernel's sendfile: entry.cc's shim brings it here).
  ssize_t splice(int fd_in, int fd_out, size_t len);
  ssize_t sendfile(int out_fd, int in_fd, off_t* offset, size_t count);

  int netdev_send(const void* buf, size_t count);
  int netdev_receive(void* buf, size_t* count, long long* time_usecs);
  int usleep(useconds_t us);
  int gettimeofday(timeval* tv);

  // Whether `fd` is one of the adapter's (anything else goes to the kernel).
  bool owns(int fd);
  // TCP_INFO for the getsockopt shim (code events); -1 with errno.
  int tcp_info(int fd, void* val, socklen_t* len);

 private:
  friend class CallGuard;
  FdEntry* socket_entry(int fd);
  int new_fd(FdEntry e);
  ssize_t stream_recv(std::unique_lock<std::mutex>& lk, FdEntry& e, const iovec* iov, int iovcnt,
                      int flags);
  ssize_t stream_send(std::unique_lock<std::mutex>& lk, FdEntry& e, const iovec* iov, int iovcnt,
                      int flags);
  uint32_t poll_events(int fd);
  int ready_epoll_events(FdEntry& ep, epoll_event* events, int max);
  int set_option(std::unique_lock<std::mutex>& lk, FdEntry& e, int level, int name, const void* val,
                 socklen_t len);
  int get_option(FdEntry& e, int level, int name, void* val, socklen_t* len);
  Instant deadline_after(Duration timeout) const;

  Engine engine_;
  std::map<int, FdEntry> fds_;
};

// -1 with errno from the stack's Error (preload/errno_map.h).
int fail(Error e);
int fail_errno(int e);

}  // namespace shunt::packetdrill
