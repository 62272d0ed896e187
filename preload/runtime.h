// The preload runtime: one Stack per process behind one mutex, a device, a
// stack thread that waits on the device and the next deadline, and the fd
// table that maps placeholder fds to stack sockets (docs/design.md 3-5).
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
#include <thread>
#include <unordered_map>
#include <vector>

#include "preload/config.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/net/stack.h"

namespace shunt {
class RuleFaultDevice;
namespace control {
class ControlServer;
}  // namespace control
}  // namespace shunt

namespace shunt::preload {

// One stack socket as the application sees it: what the kernel would keep
// in its struct file and struct socket.
struct RecordedOpt {
  int level;
  int name;
  std::vector<uint8_t> value;
};

// Ancillary data recvmsg adds (ip(7), ipv6(7), socket(7)).
namespace cmsg_flag {
inline constexpr uint32_t kPktInfo = 1u << 0;       // IP_PKTINFO
inline constexpr uint32_t kRecvTtl = 1u << 1;       // IP_RECVTTL
inline constexpr uint32_t kRecvTos = 1u << 2;       // IP_RECVTOS
inline constexpr uint32_t kOrigDstAddr = 1u << 3;   // IP_RECVORIGDSTADDR
inline constexpr uint32_t kIpv6PktInfo = 1u << 4;   // IPV6_RECVPKTINFO
inline constexpr uint32_t kTimestamp = 1u << 5;     // SO_TIMESTAMP (timeval)
inline constexpr uint32_t kTimestampNs = 1u << 6;   // SO_TIMESTAMPNS (timespec)
inline constexpr uint32_t kTimestampNew = 1u << 7;  // the _NEW (64-bit) forms of both
}  // namespace cmsg_flag

// Options only the libc boundary needs (preload/options.cc); an accepted
// socket takes its listener's (but SO_PRIORITY, which Linux resets).
struct SocketExtras {
  uint32_t cmsg = 0;           // cmsg_flag bits
  int priority = 0;            // SO_PRIORITY: kept and reported
  uint32_t mark = 0;           // SO_MARK: kept and reported
  int bound_ifindex = 0;       // SO_BINDTODEVICE / SO_BINDTOIFINDEX (0: none)
  bool freebind = false;       // IP_FREEBIND (the stack's freebind is this or transparent)
  bool transparent = false;    // IP_TRANSPARENT
  bool bind_no_port = false;   // IP_BIND_ADDRESS_NO_PORT: kept and reported
  int busy_poll = 0;           // SO_BUSY_POLL: kept (SHUNT_BUSY_POLL_US is shunt's)
  bool keepalive = false;      // SO_KEEPALIVE on UDP: kept and reported
  bool ipv6_recverr = false;   // IPV6_RECVERR: kept (no IPv6 errors to queue)
  int ipv6_unicast_hops = -1;  // IPV6_UNICAST_HOPS: kept (-1: the default)
  uint16_t gso_size = 0;       // UDP_SEGMENT
  bool udp_gro = false;        // UDP_GRO: kept; datagrams are never coalesced
  bool udp_cork = false;       // UDP_CORK
};

// Datagram pieces held back by UDP_CORK / MSG_MORE (Linux up->pending).
struct UdpCork {
  bool pending = false;
  std::vector<uint8_t> data;
  std::optional<Endpoint> to;
  SendOptions extra;
};

struct SocketFile {
  SocketId id;
  int domain = 0;  // AF_INET, or AF_INET6 for a dual-stack socket
  int type = 0;    // SOCK_STREAM or SOCK_DGRAM
  bool nonblock = false;
  bool v6only = false;
  SocketExtras extras;
  UdpCork cork;
  Duration rcvtimeo{0};
  Duration sndtimeo{0};
  std::vector<int> fds;  // the fds (placeholder eventfd and its dups) that refer to it
  // Who waits for what: blocking calls and poll()/select() in progress,
  // and epoll registrations. The placeholder is signalled when the socket
  // is ready for something someone waits for (docs/design.md 5).
  uint32_t read_waiters = 0;
  uint32_t bytes_waiters = 0;  // blocking receives that hold part of their SO_RCVLOWAT target
  uint32_t write_waiters = 0;
  uint32_t epoll_read = 0;
  uint32_t epoll_write = 0;
  uint32_t epoll_edge = 0;
  bool signaled = false;
  uint32_t last_ready = 0;
  bool inert = false;  // inherited across fork by a process that does not own the stack
  // What a handover to a kernel socket must replay (docs/design.md 6).
  std::vector<RecordedOpt> options;
  std::optional<Endpoint> bound;
};

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
  SocketFile* lookup(int fd) const {
    SocketFile* const* t = table_.load(std::memory_order_acquire);
    if (t == nullptr || fd < 0 || static_cast<size_t>(fd) >= table_size_) return nullptr;
    return __atomic_load_n(&t[fd], __ATOMIC_ACQUIRE);
  }

  std::mutex& mutex() { return mu_; }
  // Starts the device, stack and thread if needed (lock held). Returns the
  // errno to fail socket() with, or 0.
  int ensure_started();
  Stack& stack() { return *stack_; }
  Instant now() const;

  // fd table (lock held).
  SocketFile* add_socket(SocketId id, int domain, int type, int fd, bool nonblock);
  void add_fd(SocketFile* sf, int fd);
  // Forgets `fd`; returns true when it was the socket's last fd (the
  // caller then closes the stack socket and deletes `sf`).
  bool remove_fd(SocketFile* sf, int fd);
  SocketFile* by_id(SocketId id);

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

  // epoll shadow registrations of stack fds (docs/design.md 5), lock held.
  struct EpollReg {
    uint32_t events = 0;     // what the application asked for
    uint64_t data = 0;       // the application's epoll_data
    bool disabled = false;   // EPOLLONESHOT fired, waiting for EPOLL_CTL_MOD
  };
  std::unordered_map<uint64_t, EpollReg>& epoll_regs() { return epoll_regs_; }
  std::unordered_map<int, int>& epoll_counts() { return epoll_counts_; }
  // Closing an fd ends its epoll registrations (the kernel drops them with
  // the file): `fd` as a watched socket, or as an epoll instance.
  void forget_epoll_fd(int fd);
  // Whether `fd` is an epoll instance watching stack fds: one byte load, so
  // close() of other fds stays a table lookup.
  bool is_stack_epoll(int fd) const {
    const std::atomic<uint8_t>* f = epoll_flags_.load(std::memory_order_acquire);
    return f != nullptr && fd >= 0 && static_cast<size_t>(fd) < table_size_ &&
           f[fd].load(std::memory_order_relaxed) != 0;
  }
  void note_epoll(int epfd) {
    std::atomic<uint8_t>* f = epoll_flags_.load(std::memory_order_acquire);
    if (f != nullptr && epfd >= 0 && static_cast<size_t>(epfd) < table_size_) f[epfd].store(1);
  }
  bool is_runtime_fd(int fd) const {
    return fd >= 0 && (fd == wake_fd_ || fd == epoll_fd_ || (fd == log_fd_ && log_fd_ > 2) ||
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
  void thread_main();
  // Starts the control socket server (SHUNT_CONTROL=0: none); a failure is
  // a warning, not fatal: the program runs, it just cannot be inspected.
  void start_control();
  void stop_control();
  // One round of the stack thread's work, from any thread (lock held).
  void service_device();
  int start_locked();
  // Exit's second half: the stack thread sends; wait until nothing is in
  // flight or the deadline (CLOCK_MONOTONIC ns) passes.
  void linger_until(int64_t deadline_ns);
  // Whether to return freed heap memory to the system now (lock held):
  // after many connections closed (runtime.cc).
  bool trim_due(Instant t);
  static constexpr size_t kTrimAfterCloses = 256;
  size_t last_conns_ = 0;
  size_t closed_since_trim_ = 0;
  bool trim_pending_ = false;
  Instant last_trim_{};
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
  std::atomic<SocketFile**> table_{nullptr};
  size_t table_size_ = 0;
  std::unordered_map<uint64_t, SocketFile*> by_id_;
  std::unordered_map<uint64_t, EpollReg> epoll_regs_;  // key: epfd << 32 | fd
  std::unordered_map<int, int> epoll_counts_;          // epfd -> stack fds registered
  std::atomic<std::atomic<uint8_t>*> epoll_flags_{nullptr};

  std::unique_ptr<BufferPool> pool_;
  std::unique_ptr<NetDevice> device_;
  RuleFaultDevice* faults_ = nullptr;  // inside device_, always (rules may be added at run time)
  std::unique_ptr<Stack> stack_;
  std::thread thread_;
  int wake_fd_ = -1;
  int epoll_fd_ = -1;
  std::atomic<int64_t> planned_wake_ns_{INT64_MAX};
  std::atomic<bool> stop_{false};
  std::vector<SocketId> changed_;
  std::vector<PacketBuffer> rx_batch_;
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
