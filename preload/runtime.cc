#include "preload/runtime.h"

#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "driver/device_chain.h"
#include "driver/rule_fault_device.h"
#include "control/path.h"
#include "preload/control_server.h"
#include "preload/errno_map.h"
#include "preload/host_secret.h"
#include "preload/host_sysctl.h"
#include "preload/libc.h"

#include <linux/tcp.h>
#include <net/if.h>
#include <netinet/in.h>

namespace shunt::preload {
namespace {

constexpr uint64_t kEventOne = 1;

[[noreturn]] void die(const std::string& line) {
  // Every line the runtime prints starts with "shunt:" (the device
  // openers' errors do not name the tool themselves).
  const char* prefix = line.rfind("shunt:", 0) == 0 ? "" : "shunt: ";
  std::fprintf(stderr, "%s%s\n", prefix, line.c_str());
  std::fflush(stderr);
  libc()._exit(1);  // not the interposed _exit: there is no stack to close
  __builtin_unreachable();
}

}  // namespace

Runtime& Runtime::get() {
  static Runtime* r = [] {
    auto* made = new Runtime();
    instance_.store(made, std::memory_order_release);
    return made;
  }();
  return *r;
}

Runtime::Runtime() {
  if (getauxval(AT_SECURE) != 0) {
    // docs/design.md 6: setuid / secure-execution processes get pure passthrough.
    passthrough_ = true;
    return;
  }
  auto cfg = config_from_env();
  if (!cfg) die(cfg.error());
  config_ = *cfg;
  if (!config_.log_file.empty()) {
    int fd = open(config_.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      die(fmt::format("shunt: SHUNT_LOG_FILE='{}' cannot be opened: {}; give a writable path",
                      config_.log_file, std::strerror(errno)));
    }
    log_fd_ = move_high(fd);
  }
  pthread_atfork([] { Runtime::get().before_fork(); }, [] { Runtime::get().after_fork_parent(); },
                 [] { Runtime::get().after_fork_child(); });
  // The kernel closes a dying process's sockets and keeps sending what it
  // wrote; the stack lives in the process, so exit closes them itself and
  // waits (up to SHUNT_EXIT_LINGER_MS) for queued data, FINs and ARP to go
  // out. _exit and exit_group are interposed for the same (intercept_exit.cc).
  std::atexit([] { Runtime::get().exit_sockets(); });
}

void Runtime::log(Config::LogLevel level, const std::string& line) {
  if (level > config_.log) return;
  std::string s = "shunt[" + std::to_string(getpid()) + "]: " + line + "\n";
  (void)!libc().write(log_fd_, s.data(), s.size());
}

Instant Runtime::now() const { return monotonic_now(); }

int Runtime::ensure_started() {
  if (started_) return start_errno_;
  started_ = true;
  start_errno_ = start_locked();
  if (start_errno_ == 0) start_control();
  return start_errno_;
}

int Runtime::start_locked() {
  owner_pid_ = getpid();
  pool_ = std::make_unique<BufferPool>();
  const std::string& ifname = config_.ifname;
  uint64_t seed = 0;
  if (config_.seed) {
    seed = *config_.seed;
  } else if (getrandom(&seed, sizeof seed, 0) != sizeof seed) {
    seed = static_cast<uint64_t>(to_ns(now())) ^ static_cast<uint64_t>(getpid());
  }
  // The device chain (driver/device_chain.h): fault rules, the capture
  // (SHUNT_PCAP), then the TAP or AF_PACKET device. The fault device's
  // seed: SHUNT_FAULTS' seed=, else SHUNT_SEED, else the stack's.
  DeviceChainOptions chain_options;
  chain_options.base = config_.device == Config::Device::kTap ? DeviceChainOptions::Base::kTap
                                                              : DeviceChainOptions::Base::kPacket;
  chain_options.ifname = config_.ifname;
  chain_options.mac = config_.effective_mac();
  chain_options.tap_host = config_.tap_host;
  chain_options.mtu = config_.mtu;
  chain_options.pcap = config_.pcap;
  chain_options.pcap_filter = config_.pcap_filter;
  chain_options.faults = config_.faults;
  chain_options.fault_seed = config_.faults.seed.value_or(seed);
  auto chain = build_device_chain(chain_options, *pool_);
  if (!chain) die(chain.error());
  const int device_fd = chain->device_fd;
  device_fd_ = device_fd;
  pcap_fd_ = chain->pcap_fd;
  faults_ = chain->faults;
  device_ = std::move(chain->device);

  StackConfig sc;
  sc.mac = config_.effective_mac();
  sc.address = config_.address;
  sc.gateway = config_.gateway;
  sc.mtu = config_.mtu != 0 ? config_.mtu : device_->info().mtu;
  sc.seed = seed;
  if (!config_.seed) {
    // ISNs and timestamp offsets from a secret every shunt process of this
    // user shares until reboot (host_secret.h), so that a new process is not
    // refused by a peer's TIME-WAIT (RFC 6191). With SHUNT_SEED they come
    // from the seed, which is as stable.
    std::string why;
    bool refused = false;
    sc.tcp_secret = host_tcp_secret(control::control_dir(), why, refused);
    if (!sc.tcp_secret) {
      log(refused ? Config::LogLevel::kWarn : Config::LogLevel::kInfo,
          fmt::format("per-process TCP secret ({})", why));
    }
  }
  {
    // Socket defaults from the host, as a kernel socket here would have them.
    std::string notes;
    apply_host_sysctls(sc, notes);
    if (!notes.empty()) log(Config::LogLevel::kInfo, notes);
  }
  ifindex_ = static_cast<int>(if_nametoindex(config_.ifname.c_str()));
  stack_ = std::make_unique<Stack>(*device_, *pool_, sc);

  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  const auto table_size = static_cast<size_t>(std::clamp<rlim_t>(std::max(rl.rlim_max, rl.rlim_cur), 1024, 1 << 20));
  fds_.init(table_size);
  epoll_.init(table_size);

  thread_ = std::make_unique<StackThread>(
      mu_, *stack_, *device_,
      StackThread::Hooks{[this] { publish(); }, [this](const std::string& why) { lose_device(why); }});
  thread_->open(device_fd);
  struct stat st{};
  if (libc().fstat(thread_->wake_fd(), &st) == 0) {
    placeholder_dev_ = st.st_dev;
    placeholder_ino_ = st.st_ino;
  }
  log(Config::LogLevel::kInfo, fmt::format("stack {} on {} ({}), mtu {}", config_.address.to_string(),
                                           ifname, config_.device == Config::Device::kTap ? "tap" : "packet",
                                           stack_->mtu()));
  stack_->poll(now());  // the gratuitous ARP
  thread_->start();
  return 0;
}

SocketFile* Runtime::add_socket(SocketId id, int domain, int type, int fd, bool nonblock) {
  // The kernel just handed out this number, so it was free: a mapping of
  // it is stale (closed behind our back by a raw system call).
  if (SocketFile* old = fds_.lookup(fd)) forget_stale(old, fd);
  return fds_.add_socket(id, domain, type, fd, nonblock);
}

void Runtime::add_fd(SocketFile* sf, int fd) {
  if (SocketFile* old = fds_.lookup(fd); old != nullptr && old != sf) forget_stale(old, fd);
  fds_.add_fd(sf, fd);
}

void Runtime::update_signal(SocketFile* sf) {
  if (sf->fds.empty() || sf->inert) return;
  uint32_t interest = 0;
  if (sf->read_waiters + sf->epoll_read > 0) {
    interest |= readiness::kReadable | readiness::kReadHangup | readiness::kError | readiness::kHangup;
  }
  if (sf->bytes_waiters > 0) interest |= readiness::kBytes;
  // An error only queued (MSG_ERRQUEUE) is POLLERR for epoll watchers; a
  // blocking recv does not end for it.
  if (sf->epoll_read + sf->epoll_write > 0) interest |= readiness::kErrQueue;
  if (sf->write_waiters + sf->epoll_write > 0) {
    interest |= readiness::kWritable | readiness::kError | readiness::kHangup;
  }
  auto r = stack_->readiness(sf->id);
  uint32_t ready = r ? (*r & interest) : 0;
  const int fd = sf->fds.front();
  if (ready != 0) {
    // An edge-triggered watcher needs a new event for every new readiness
    // (Linux wakes EPOLLET waiters on each arrival), so write again.
    bool again = sf->epoll_edge > 0 && (ready & ~sf->last_ready) != 0;
    if (!sf->signaled || again) {
      (void)!libc().write(fd, &kEventOne, sizeof kEventOne);
      sf->signaled = true;
    }
  } else if (sf->signaled) {
    uint64_t v;
    (void)!libc().read(fd, &v, sizeof v);
    sf->signaled = false;
  }
  sf->last_ready = r ? *r : 0;
}

void Runtime::publish() {
  changed_.clear();
  stack_->take_ready_changes(changed_);
  for (SocketId id : changed_) {
    if (SocketFile* sf = fds_.by_id(id)) update_signal(sf);
  }
  if (thread_ != nullptr) thread_->wake_if_earlier();
}

int Runtime::wait(std::unique_lock<std::mutex>& lock, SocketFile* sf, int fd, bool for_write,
                  Duration timeout, bool any_bytes) {
  if (lost_) return fail(Error::kNetDown);
  if (config_.busy_poll_us > 0 && owns_stack_) {
    // SHUNT_BUSY_POLL_US: poll the device from this thread before sleeping,
    // trading CPU for latency (like SO_BUSY_POLL).
    const uint32_t want = for_write ? readiness::kWritable | readiness::kError | readiness::kHangup
                                    : readiness::kReadable | readiness::kError | readiness::kHangup |
                                          (any_bytes ? readiness::kBytes : 0u);
    const int64_t until = to_ns(now()) + int64_t{config_.busy_poll_us} * 1000;
    while (to_ns(now()) < until) {
      thread_->service_once();
      auto r = stack_->readiness(sf->id);
      if (r && (*r & want) != 0) return 0;
      lock.unlock();
      sched_yield();
      lock.lock();
    }
  }
  (for_write ? sf->write_waiters : sf->read_waiters) += 1;
  if (any_bytes) sf->bytes_waiters += 1;
  update_signal(sf);
  lock.unlock();
  int ms = -1;
  if (timeout >= Duration::zero()) {
    ms = static_cast<int>(std::min<int64_t>((timeout.count() + 999'999) / 1'000'000, INT32_MAX));
  }
  pollfd p{fd, POLLIN, 0};
  int r;
  int saved;
  while (true) {
    r = libc().poll(&p, 1, ms);
    saved = errno;
    // signal(7): a handler installed with SA_RESTART restarts the call;
    // without it, or on a socket with a timeout, the call fails with EINTR.
    // Which signal came is unknown here, so restart only when every caught
    // signal's handler has SA_RESTART.
    if (r < 0 && saved == EINTR && ms < 0 && all_handlers_restart()) continue;
    break;
  }
  lock.lock();
  (for_write ? sf->write_waiters : sf->read_waiters) -= 1;
  if (any_bytes) sf->bytes_waiters -= 1;
  update_signal(sf);
  if (lost_) return fail(Error::kNetDown);
  if (r < 0) return fail_with_errno(saved);
  if (r == 0) return fail(Error::kAgain);  // the timeout passed
  return 0;
}

int64_t Runtime::realtime_ns(Instant at) const {
  timespec mono{}, real{};
  clock_gettime(CLOCK_MONOTONIC, &mono);
  clock_gettime(CLOCK_REALTIME, &real);
  const int64_t mono_ns = int64_t{mono.tv_sec} * 1'000'000'000 + mono.tv_nsec;
  const int64_t real_ns = int64_t{real.tv_sec} * 1'000'000'000 + real.tv_nsec;
  return real_ns - (mono_ns - to_ns(at));
}

int Runtime::ioctl_socket() {
  if (ioctl_fd_ < 0) {
    int fd = libc().socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) ioctl_fd_ = move_high(fd);
  }
  return ioctl_fd_;
}

size_t Runtime::kernel_tcp_info_size() {
  size_t n = tcp_info_size_.load(std::memory_order_relaxed);
  if (n != 0) return n;
  n = sizeof(tcp_info);
  int fd = libc().socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    unsigned char buf[1024];
    socklen_t len = sizeof buf;
    if (libc().getsockopt(fd, IPPROTO_TCP, TCP_INFO, buf, &len) == 0) n = len;
    libc().close(fd);
  }
  tcp_info_size_.store(n, std::memory_order_relaxed);
  return n;
}

void Runtime::print_stats() {
  std::string out = fmt::format("shunt[{}]: stack counters (nonzero, netstat -s style):\n", getpid());
  std::string group;
  stack_->stats().for_each([&](std::string_view g, std::string_view name, uint64_t v) {
    if (v == 0) return;
    if (g != group) {
      group = g;
      out += fmt::format("  {}:\n", g);
    }
    out += fmt::format("    {:<22} {}\n", name, v);
  });
  if (faults_ != nullptr) out += faults_->stats_text();
  (void)!libc().write(2, out.data(), out.size());
}

void Runtime::lose_device(const std::string& why) {
  if (lost_) return;
  lost_ = true;
  log(Config::LogLevel::kError,
      fmt::format("{}: the runtime's file descriptors were closed (closefrom, close_range or close by "
                  "a direct system call?); every stack socket now fails with ENETDOWN",
                  why));
  // Wake every waiter: their calls see lost() and fail.
  fds_.for_each_socket([](SocketFile* sf) {
    if (sf->inert || sf->fds.empty()) return;
    (void)!libc().write(sf->fds.front(), &kEventOne, sizeof kEventOne);
    sf->signaled = true;
  });
}

bool Runtime::drop_if_stale(SocketFile* sf, int fd) {
  struct stat st{};
  if (libc().fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == 0 && st.st_dev == placeholder_dev_ &&
      st.st_ino == placeholder_ino_) {
    return false;  // still an anonymous-inode file: our eventfd
  }
  forget_stale(sf, fd);
  return true;
}

void Runtime::forget_stale(SocketFile* sf, int fd) {
  log(Config::LogLevel::kWarn,
      fmt::format("fd {} no longer refers to its placeholder (closed by a direct system call?); "
                  "its stack socket is closed and the fd goes to the kernel",
                  fd));
  if (sf->fds.size() == 1) epoll_.forget_fd(fd);
  if (remove_fd(sf, fd)) {
    if (!sf->inert) {
      (void)stack_->close(sf->id, now());
      publish();
    }
    // Another thread may still sleep on this SocketFile; it is kept, inert.
    sf->inert = true;
  }
}

bool Runtime::all_handlers_restart() {
  for (int sig = 1; sig < NSIG; ++sig) {
    // Signals raised by a faulting instruction cannot interrupt a sleep in
    // the kernel (and sanitizer runtimes install handlers for them).
    if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGTRAP ||
        sig == SIGSYS) {
      continue;
    }
    struct sigaction sa{};
    if (sigaction(sig, nullptr, &sa) != 0) continue;
    if ((sa.sa_flags & SA_SIGINFO) == 0 && (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN)) {
      continue;
    }
    if ((sa.sa_flags & SA_RESTART) == 0) return false;
  }
  return true;
}

}  // namespace shunt::preload
