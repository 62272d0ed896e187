// The preload runtime: one Stack per process behind one mutex, and what it
// wires to it (docs/design.md 3-5): the device chain, the stack thread
// (stack_thread.h) that waits on the device and the next deadline, the fd
// table (fd_table.h) that maps placeholder fds to stack sockets, and the
// epoll shadow (epoll_shadow.h).
//
// Nothing starts until the first AF_INET socket: a program that never
// opens one pays one table lookup per intercepted call.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "preload/config.h"
#include "preload/epoll_shadow.h"
#include "preload/fd_table.h"
#include "preload/socket_file.h"
#include "preload/stack_thread.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/net/stack.h"

namespace shunt {
class RuleFaultDevice;
namespace control {
class ControlServer;
}  // namespace control
}  // namespace shunt

namespace shunt::preload {

class Runtime {
 public:
  // The process-wide runtime (created on first use, never destroyed: the
  // stack thread may run until exit).
  static Runtime& get();
  // The runtime if get() already made it, else nullptr (never makes one).
  static Runtime* existing() { return instance_.load(std::memory_order_acquire); }

  // True when the runtime must stay out of the way (setuid process, or a
  // configuration error already reported).
  bool passthrough() const { return passthrough_; }
  const Config& config() const { return config_; }

  // The socket an fd refers to, or nullptr: one array load, no lock.
  SocketFile* lookup(int fd) const { return fds_.lookup(fd); }

  std::mutex& mutex() { return mu_; }
  // Starts the device, stack and thread if needed (lock held). Returns the
  // errno to fail socket() with, or 0.
  int ensure_started();
  Stack& stack() { return *stack_; }
  Instant now() const;

  // fd table (lock held): as FdTable's, but a new fd's stale mapping (the
  // number was closed behind our back) is dropped first.
  SocketFile* add_socket(SocketId id, int domain, int type, int fd, bool nonblock);
  void add_fd(SocketFile* sf, int fd);
  // Forgets `fd`; returns true when it was the socket's last fd (the
  // caller then closes the stack socket and deletes `sf`).
  bool remove_fd(SocketFile* sf, int fd) { return fds_.remove_fd(sf, fd); }

  // After any stack call (lock held): signal or clear placeholders whose
  // readiness changed, and wake the stack thread if a timer moved earlier.
  void publish();
  void update_signal(SocketFile* sf);

  // Blocks (lock released while sleeping) until `sf` may be ready for
  // reading or writing, or `timeout` (negative: none) passes. Returns 0,
  // or -1 with errno EAGAIN (timed out) or EINTR (a signal). `any_bytes`:
  // a reader wakes for stream bytes below SO_RCVLOWAT too.
  int wait(std::unique_lock<std::mutex>& lock, SocketFile* sf, int fd, bool for_write,
           Duration timeout, bool any_bytes = false);

  // fork() (runtime_fork.cc). In the child: the stack stays with the parent (default)
  // or moves to the child (SHUNT_FORK=child).
  void after_fork_child();
  void before_fork();
  void after_fork_parent();
  // At exit (exit(), return from main, _exit, _Exit, exit_group): close
  // every stack socket as the kernel closes a dying process's files (FIN
  // after the queued data, RST where Linux sends one), then wait up to
  // SHUNT_EXIT_LINGER_MS for what is in flight (runtime_exit.cc). Runs
  // once, and only in the process that drives the stack.
  void exit_sockets();
  // A stack fd whose placeholder is no longer ours: closed or replaced
  // behind our back (a raw system call). Lock held. Drops the mapping
  // (closing the socket as the kernel closed the file) and returns true;
  // the caller then redoes the call on the kernel fd.
  bool drop_if_stale(SocketFile* sf, int fd);
  // True once the runtime's own fds were lost (lose_device): every call on
  // a stack socket fails with ENETDOWN.
  bool lost() const { return lost_; }
  // signal(7) restart rule for an interrupted blocking call (see wait()).
  static bool all_handlers_restart();
  // SHUNT_STATS=1: the counters on stderr at exit (lock held).
  void print_stats();

  bool owns_stack() const { return owns_stack_; }
  bool started() const { return started_; }

  // The epoll shadow of stack fds (docs/design.md 5), lock held.
  EpollShadow& epoll() { return epoll_; }
  // Whether `fd` is an epoll instance watching stack fds (no lock).
  bool is_stack_epoll(int fd) const { return epoll_.is_stack_epoll(fd); }
  bool is_runtime_fd(int fd) const {
    return fd >= 0 && ((thread_ != nullptr && thread_->owns_fd(fd)) || (fd == log_fd_ && log_fd_ > 2) ||
                       fd == device_fd_ || fd == pcap_fd_ ||
                       fd == control_fd_.load(std::memory_order_relaxed) || fd == ioctl_fd_);
  }

  // The stack's interface in this network namespace (IP_PKTINFO,
  // SO_BINDTODEVICE): its index (0 if unknown) and name.
  int ifindex() const { return ifindex_; }
  const std::string& ifname() const { return config_.ifname; }
  // Wall-clock time (CLOCK_REALTIME, ns) of a stack Instant (SO_TIMESTAMP).
  int64_t realtime_ns(Instant at) const;
  // A kernel AF_INET datagram socket, made on first use and kept among the
  // runtime's fds, that answers the ioctls a stack socket does not (the
  // interface ioctls programs send to any socket: SIOCGIFINDEX, ...).
  // Lock held; -1 if it cannot be made.
  int ioctl_socket();
  // How many bytes getsockopt(TCP_INFO) returns on this kernel (the struct
  // grows with kernel versions); probed once on a kernel socket.
  size_t kernel_tcp_info_size();

  // The control socket (control_server.h, docs/control.md): one request
  // line in, one JSON document out (runtime_control.cc). Takes the lock.
  std::string control_request(std::string_view request);

  // Logs one line at the given level (to SHUNT_LOG_FILE or stderr).
  void log(Config::LogLevel level, const std::string& line);

 private:
  Runtime();
  // Starts the control socket server (SHUNT_CONTROL=0: none); a failure is
  // a warning, not fatal: the program runs, it just cannot be inspected.
  void start_control();
  void stop_control();
  int start_locked();
  // Exit's second half: the stack thread sends; wait until nothing is in
  // flight or the deadline (CLOCK_MONOTONIC ns) passes.
  void linger_until(int64_t deadline_ns);
  // The runtime's fds are gone (lock held): log once, wake every waiter.
  void lose_device(const std::string& why);
  // Drops a stale mapping of `fd` (see drop_if_stale), lock held.
  void forget_stale(SocketFile* sf, int fd);

  static inline std::atomic<Runtime*> instance_{nullptr};
  Config config_;
  bool passthrough_ = false;
  bool started_ = false;
  int start_errno_ = 0;
  bool owns_stack_ = true;  // false in a fork child that left the stack to the parent
  pid_t owner_pid_ = 0;     // the process driving the stack (a vfork child is not)
  std::atomic<bool> exiting_{false};
  bool lost_ = false;
  // The placeholder eventfds' anonymous inode (all eventfds share it), to
  // recognise an fd number that now names another file.
  dev_t placeholder_dev_ = 0;
  ino_t placeholder_ino_ = 0;

  std::mutex mu_;
  FdTable fds_;
  EpollShadow epoll_{fds_};

  std::unique_ptr<BufferPool> pool_;
  std::unique_ptr<NetDevice> device_;
  RuleFaultDevice* faults_ = nullptr;  // inside device_, always (rules may be added at run time)
  std::unique_ptr<Stack> stack_;
  std::unique_ptr<StackThread> thread_;
  std::vector<SocketId> changed_;
  int log_fd_ = 2;
  int device_fd_ = -1;
  int pcap_fd_ = -1;  // the capture file (SHUNT_PCAP)
  std::unique_ptr<control::ControlServer> control_;
  std::atomic<int> control_fd_{-1};
  int ifindex_ = 0;
  int ioctl_fd_ = -1;
  std::atomic<size_t> tcp_info_size_{0};
  std::string comm_;  // /proc/self/comm, for the Process column of shunt ss
};

}  // namespace shunt::preload
