// Socket semantics under libshunt.so that must match Linux (issue 5):
// run by tests/programs/semantics_test.sh on the stack, against the
// kernel peers of tests/preload/peer.py at 198.18.0.1.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr const char* kPeer = "198.18.0.1";

sockaddr_in peer(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, kPeer, &a.sin_addr);
  return a;
}

int connect_to(uint16_t port, int type = SOCK_STREAM) {
  int fd = socket(AF_INET, type, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in a = peer(port);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << strerror(errno);
  return fd;
}

std::string read_all(int fd) {
  std::string s;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}

TEST(Semantics, NonBlockingConnectThenSoError) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in a = peer(7000);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), -1);
  ASSERT_EQ(errno, EINPROGRESS);
  pollfd p{fd, POLLOUT, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  int err = -1;
  socklen_t len = sizeof err;
  ASSERT_EQ(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  close(fd);

  fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  a = peer(7999);  // nothing listens
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), -1);
  ASSERT_EQ(errno, EINPROGRESS);
  p = {fd, POLLOUT, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  EXPECT_TRUE(p.revents & (POLLERR | POLLHUP));
  ASSERT_EQ(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
  EXPECT_EQ(err, ECONNREFUSED);
  close(fd);
}

TEST(Semantics, BlockingConnectRefused) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = peer(7999);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), -1);
  EXPECT_EQ(errno, ECONNREFUSED);
  close(fd);
}

std::atomic<int> g_sigpipes{0};

TEST(Semantics, EpipeWithNosignalAndSigpipeWithout) {
  struct sigaction sa{};
  sa.sa_handler = [](int) { g_sigpipes.fetch_add(1); };
  sigaction(SIGPIPE, &sa, nullptr);
  int fd = connect_to(7001);
  EXPECT_EQ(read_all(fd), "hello");  // the peer closed after hello
  // The first writes may still go out (the peer answers them with RST).
  ssize_t r = 0;
  for (int i = 0; i < 50 && r >= 0; ++i) {
    r = send(fd, "x", 1, MSG_NOSIGNAL);
    usleep(20000);
  }
  EXPECT_EQ(r, -1);
  EXPECT_TRUE(errno == EPIPE || errno == ECONNRESET) << strerror(errno);
  EXPECT_EQ(g_sigpipes.load(), 0);
  EXPECT_EQ(send(fd, "x", 1, MSG_NOSIGNAL), -1);
  EXPECT_EQ(errno, EPIPE);
  EXPECT_EQ(send(fd, "x", 1, 0), -1);
  EXPECT_EQ(errno, EPIPE);
  EXPECT_EQ(g_sigpipes.load(), 1);
  close(fd);
  signal(SIGPIPE, SIG_DFL);
}

TEST(Semantics, RcvTimeoGivesEagain) {
  int fd = connect_to(7002);  // accepts, never answers
  timeval tv{0, 200000};
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  timeval back{};
  socklen_t len = sizeof back;
  ASSERT_EQ(getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &back, &len), 0);
  EXPECT_EQ(back.tv_usec, 200000);
  auto start = std::chrono::steady_clock::now();
  char c;
  EXPECT_EQ(recv(fd, &c, 1, 0), -1);
  EXPECT_EQ(errno, EAGAIN);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(180));
  EXPECT_LT(took, std::chrono::milliseconds(2000));
  close(fd);
}

TEST(Semantics, SignalWithoutRestartGivesEintr) {
  struct sigaction sa{};
  sa.sa_handler = [](int) {};
  sa.sa_flags = 0;  // no SA_RESTART
  sigaction(SIGALRM, &sa, nullptr);
  int fd = connect_to(7002);
  ualarm(200000, 0);
  char c;
  EXPECT_EQ(recv(fd, &c, 1, 0), -1);
  EXPECT_EQ(errno, EINTR);
  close(fd);
}

TEST(Semantics, SignalWithRestartRestartsTheCall) {
  struct sigaction sa{};
  sa.sa_handler = [](int) {};
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, nullptr);
  int fd = connect_to(7000);  // echo
  // The signal comes at 100 ms; the data (echoed) at 300 ms: the recv is
  // restarted and returns the data instead of EINTR.
  std::thread later([fd] {
    usleep(300000);
    (void)!send(fd, "r", 1, 0);
  });
  ualarm(100000, 0);
  char c = 0;
  EXPECT_EQ(recv(fd, &c, 1, 0), 1) << strerror(errno);
  EXPECT_EQ(c, 'r');
  later.join();
  sa.sa_flags = 0;
  sigaction(SIGALRM, &sa, nullptr);
  close(fd);
}

TEST(Semantics, PeekWaitallDontwait) {
  int fd = connect_to(7000);
  ASSERT_EQ(send(fd, "abcdef", 6, 0), 6);
  char buf[16] = {};
  // MSG_WAITALL until all six are back, after a peek of three.
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  ASSERT_EQ(recv(fd, buf, 3, MSG_PEEK), 3);
  EXPECT_EQ(std::string(buf, 3), "abc");
  ASSERT_EQ(recv(fd, buf, 6, MSG_WAITALL), 6);
  EXPECT_EQ(std::string(buf, 6), "abcdef");
  EXPECT_EQ(recv(fd, buf, 1, MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EAGAIN);
  int avail = -1;
  ASSERT_EQ(ioctl(fd, FIONREAD, &avail), 0);
  EXPECT_EQ(avail, 0);
  close(fd);
}

TEST(Semantics, UdpTruncation) {
  int fd = connect_to(7003, SOCK_DGRAM);
  ASSERT_EQ(send(fd, "0123456789", 10, 0), 10);
  char buf[4];
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  EXPECT_EQ(recv(fd, buf, sizeof buf, MSG_TRUNC), 10);  // the real length
  EXPECT_EQ(std::string(buf, 4), "0123");
  ASSERT_EQ(send(fd, "abcdefgh", 8, 0), 8);
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  msghdr m{};
  iovec v{buf, sizeof buf};
  m.msg_iov = &v;
  m.msg_iovlen = 1;
  EXPECT_EQ(recvmsg(fd, &m, 0), 4);
  EXPECT_TRUE(m.msg_flags & MSG_TRUNC);
  close(fd);
}

TEST(Semantics, TcpInfoInKernelLayout) {
  int fd = connect_to(7000);
  ASSERT_EQ(send(fd, "ping", 4, 0), 4);
  char buf[4];
  ASSERT_EQ(recv(fd, buf, 4, MSG_WAITALL), 4);
  tcp_info ti{};
  socklen_t len = sizeof ti;
  ASSERT_EQ(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
  EXPECT_EQ(ti.tcpi_state, TCP_ESTABLISHED);
  EXPECT_GT(ti.tcpi_snd_mss, 500u);
  EXPECT_GT(ti.tcpi_rtt, 0u);
  EXPECT_GE(ti.tcpi_rto, 200000u);
  EXPECT_GE(ti.tcpi_snd_cwnd, 10u);
  // The estimate of the peer's segment size starts at 536 and only a
  // full-sized segment raises it (Linux tcp_initialize_rcv_mss and
  // tcp_measure_rcv_mss): 4 bytes received leave it there.
  EXPECT_EQ(ti.tcpi_rcv_mss, 536u);
  char cc[16] = {};
  len = sizeof cc;
  ASSERT_EQ(getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, &len), 0);
  EXPECT_STREQ(cc, "cubic");
  close(fd);
}

TEST(Semantics, EpollOverMixedFdsLtEtOneshotRdhup) {
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  int s = connect_to(7000);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 111;
  ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &ev), 0);
  ev.events = EPOLLIN;
  ev.data.u64 = 222;
  ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), 0);
  EXPECT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), -1);
  EXPECT_EQ(errno, EEXIST);
  epoll_event out[4];
  EXPECT_EQ(epoll_wait(ep, out, 4, 100), 0);  // nothing ready
  ASSERT_EQ(write(pipefd[1], "k", 1), 1);
  ASSERT_EQ(send(s, "s", 1, 0), 1);
  // Level-triggered: both reported (with the app's data), and again while unread.
  pollfd p{s, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);  // the echo is back
  int n = epoll_wait(ep, out, 4, 1000);
  ASSERT_EQ(n, 2);
  EXPECT_EQ(out[0].data.u64 + out[1].data.u64, 333u);
  EXPECT_EQ(epoll_wait(ep, out, 4, 0), 2);
  char c;
  ASSERT_EQ(read(pipefd[0], &c, 1), 1);
  ASSERT_EQ(recv(s, &c, 1, 0), 1);
  EXPECT_EQ(epoll_wait(ep, out, 4, 50), 0);

  // Edge-triggered: one report per arrival.
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = 333;
  ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev), 0);
  ASSERT_EQ(send(s, "t", 1, 0), 1);
  ASSERT_EQ(epoll_wait(ep, out, 4, 2000), 1);
  EXPECT_EQ(out[0].data.u64, 333u);
  EXPECT_EQ(epoll_wait(ep, out, 4, 50), 0);  // not again until new data
  ASSERT_EQ(recv(s, &c, 1, 0), 1);

  // One-shot: reported once, then disarmed until EPOLL_CTL_MOD.
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.u64 = 444;
  ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev), 0);
  ASSERT_EQ(send(s, "u", 1, 0), 1);
  ASSERT_EQ(epoll_wait(ep, out, 4, 2000), 1);
  EXPECT_EQ(out[0].data.u64, 444u);
  EXPECT_EQ(epoll_wait(ep, out, 4, 50), 0);
  ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev), 0);
  ASSERT_EQ(epoll_wait(ep, out, 4, 1000), 1);
  ASSERT_EQ(recv(s, &c, 1, 0), 1);
  close(s);

  // EPOLLRDHUP when the peer closes.
  int h = connect_to(7001);
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = 555;
  ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, h, &ev), 0);
  bool rdhup = false;
  for (int i = 0; i < 20 && !rdhup; ++i) {
    int n = epoll_wait(ep, out, 4, 500);
    for (int k = 0; k < n; ++k) rdhup |= out[k].data.u64 == 555 && (out[k].events & EPOLLRDHUP);
    if (!rdhup) {
      char buf[16];
      (void)!recv(h, buf, sizeof buf, MSG_DONTWAIT);
    }
  }
  EXPECT_TRUE(rdhup);
  close(h);
  close(ep);
  close(pipefd[0]);
  close(pipefd[1]);
}

TEST(Semantics, DupSharesOneSocketAndCloseRange) {
  int fd = connect_to(7000);
  int d = dup(fd);
  ASSERT_GE(d, 0);
  ASSERT_EQ(close(fd), 0);
  ASSERT_EQ(send(d, "dup", 3, 0), 3);  // the socket lives while an fd refers to it
  char buf[3];
  ASSERT_EQ(recv(d, buf, 3, MSG_WAITALL), 3);
  int d2 = fcntl(d, F_DUPFD_CLOEXEC, 100);
  ASSERT_GE(d2, 100);
  ASSERT_EQ(close(d), 0);
  ASSERT_EQ(send(d2, "two", 3, 0), 3);
  ASSERT_EQ(recv(d2, buf, 3, MSG_WAITALL), 3);
  ASSERT_EQ(close(d2), 0);

  int a = connect_to(7000), b = connect_to(7000), c = connect_to(7000);
  int lo = std::min({a, b, c}), hi = std::max({a, b, c});
  ASSERT_EQ(close_range(static_cast<unsigned>(lo), static_cast<unsigned>(hi), 0), 0);
  EXPECT_EQ(send(a, "x", 1, 0), -1);
  EXPECT_EQ(errno, EBADF);
}

// A file opened after `fd` was closed gets its number back: reads must go
// to the file, not to the socket that had the number.
void expect_number_now_names_a_file(int fd) {
  int f = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
  ASSERT_EQ(f, fd) << "the kernel did not reuse the number";
  char buf[64] = {};
  ssize_t n = read(f, buf, sizeof buf - 1);
  EXPECT_GT(n, 0) << strerror(errno);
  EXPECT_EQ(std::string(buf).find("preload_sem"), 0u) << buf;  // comm is 15 bytes at most
  struct stat st{};
  ASSERT_EQ(fstat(f, &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  close(f);
}

TEST(Semantics, SyscallCallersGoThroughTheFdTable) {
  // libuv reads, writes and closes with syscall(): those must act on the
  // stack socket, and SYS_close must end its mapping.
  int fd = connect_to(7000);
  ASSERT_EQ(syscall(SYS_write, fd, "abc", 3), 3) << strerror(errno);
  char buf[3];
  ASSERT_EQ(recv(fd, buf, 3, MSG_WAITALL), 3);
  EXPECT_EQ(std::string(buf, 3), "abc");
  ASSERT_EQ(syscall(SYS_sendto, fd, "de", 2, 0, nullptr, 0), 2);
  ASSERT_EQ(syscall(SYS_read, fd, buf, 2), 2);
  EXPECT_EQ(std::string(buf, 2), "de");
  struct stat st{};
  ASSERT_EQ(syscall(SYS_fstat, fd, &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  ASSERT_EQ(syscall(SYS_close, fd), 0);
  expect_number_now_names_a_file(fd);
  // Other numbers pass through unchanged.
  EXPECT_EQ(syscall(SYS_getpid), getpid());
  errno = 0;
  EXPECT_EQ(syscall(SYS_close, 1 << 20), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(Semantics, StaleNumberClosedBehindShuntsBackGoesToTheKernel) {
  // A close that no interposition sees (a raw system call instruction):
  // the number is reused by open(), and the first read that would wait
  // finds the placeholder gone and reads the file instead of hanging.
  int fd = connect_to(7002);  // a peer that never sends
  long r;
#if defined(__x86_64__)
  asm volatile("syscall" : "=a"(r) : "0"(long{SYS_close}), "D"(long{fd}) : "rcx", "r11", "memory");
#else
  GTEST_SKIP() << "raw system call written for x86-64 only";
#endif
  ASSERT_EQ(r, 0);
  expect_number_now_names_a_file(fd);
}

TEST(Semantics, ClosefromAndRawCloseRangeSpareTheRuntime) {
  // Daemons close every fd; the runtime's own (device, epoll, wake-up)
  // must survive, or the next connect hangs.
  int a = connect_to(7000);
  int b = connect_to(7000);
  const int lo = std::min(a, b);
  closefrom(lo);
  EXPECT_EQ(send(a, "x", 1, MSG_NOSIGNAL), -1);
  EXPECT_EQ(errno, EBADF);
  int c = connect_to(7000);  // the stack still runs
  ASSERT_EQ(send(c, "ok", 2, 0), 2);
  char buf[2];
  ASSERT_EQ(recv(c, buf, 2, MSG_WAITALL), 2);
  ASSERT_EQ(syscall(SYS_close_range, static_cast<unsigned>(c), ~0u, 0), 0);
  EXPECT_EQ(send(c, "x", 1, MSG_NOSIGNAL), -1);
  EXPECT_EQ(errno, EBADF);
  int d = connect_to(7000);
  ASSERT_EQ(send(d, "ok", 2, 0), 2);
  ASSERT_EQ(recv(d, buf, 2, MSG_WAITALL), 2);
  close(d);
}

TEST(Semantics, SendOnUnconnectedStreamIsEpipe) {
  // Linux: EPIPE (and SIGPIPE without MSG_NOSIGNAL) for a TCP socket that
  // is not connected, listening included; recv gives ENOTCONN.
  struct sigaction sa{};
  sa.sa_handler = [](int) { g_sigpipes.fetch_add(1); };
  sigaction(SIGPIPE, &sa, nullptr);
  g_sigpipes = 0;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(send(fd, "x", 1, MSG_NOSIGNAL), -1);
  EXPECT_EQ(errno, EPIPE);
  EXPECT_EQ(g_sigpipes.load(), 0);
  EXPECT_EQ(write(fd, "x", 1), -1);
  EXPECT_EQ(errno, EPIPE);
  EXPECT_EQ(g_sigpipes.load(), 1);
  char c;
  EXPECT_EQ(recv(fd, &c, 1, 0), -1);
  EXPECT_EQ(errno, ENOTCONN);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof any), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  EXPECT_EQ(send(fd, "x", 1, MSG_NOSIGNAL), -1);
  EXPECT_EQ(errno, EPIPE);
  close(fd);
  signal(SIGPIPE, SIG_DFL);
}

TEST(Semantics, FstatSaysSocket) {
  int fd = connect_to(7000);
  struct stat st{};
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  st = {};
  ASSERT_EQ(fstatat(fd, "", &st, AT_EMPTY_PATH), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  struct statx stx{};
  ASSERT_EQ(statx(fd, "", AT_EMPTY_PATH, STATX_TYPE, &stx), 0);
  EXPECT_TRUE(S_ISSOCK(stx.stx_mode));
  close(fd);
}

TEST(Semantics, IdleProcessUsesNoCpu) {
  int s = connect_to(7002);
  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), 0);
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);  // all threads, the stack thread included
  epoll_event out[1];
  EXPECT_EQ(epoll_wait(ep, out, 1, 2000), 0);
  getrusage(RUSAGE_SELF, &after);
  auto cpu_us = [](const rusage& r) {
    return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000000L + r.ru_utime.tv_usec + r.ru_stime.tv_usec;
  };
  EXPECT_LT(cpu_us(after) - cpu_us(before), 100000) << "more than 5% of one core while idle";
  close(ep);
  close(s);
}

TEST(Semantics, ManyThreadsManyConnections) {
  constexpr int kThreads = 8, kConns = 100;
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([t, &ok] {
      for (int i = 0; i < kConns; ++i) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a = peer(7000);
        if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
          close(fd);
          continue;
        }
        std::string msg(1000 + (t * 37 + i * 11) % 9000, static_cast<char>('a' + (t + i) % 26));
        if (send(fd, msg.data(), msg.size(), 0) != static_cast<ssize_t>(msg.size())) {
          close(fd);
          continue;
        }
        std::string back(msg.size(), '\0');
        if (recv(fd, back.data(), back.size(), MSG_WAITALL) == static_cast<ssize_t>(back.size()) &&
            back == msg) {
          ok.fetch_add(1);
        }
        close(fd);
      }
    });
  }
  for (auto& th : ts) th.join();
  EXPECT_EQ(ok.load(), kThreads * kConns);
}

// The control socket (docs/control.md) answers `shunt ss`/`stat` requests
// from its own thread while application threads use the stack (under TSan in
// CI, this is the race check for that thread).
std::string control_request(const std::string& line) {
  std::string dir;
  if (const char* d = getenv("SHUNT_CONTROL_DIR"); d != nullptr && *d != '\0') {
    dir = d;
  } else if (const char* x = getenv("XDG_RUNTIME_DIR"); x != nullptr && *x != '\0') {
    dir = std::string(x) + "/shunt";
  } else {
    dir = "/run/shunt";
  }
  const std::string path = dir + "/" + std::to_string(getpid()) + ".sock";
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return "connect " + path + ": " + strerror(errno);
  }
  std::string req = line + "\n";
  EXPECT_EQ(write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
  std::string reply = read_all(fd);
  close(fd);
  return reply;
}

TEST(Semantics, ControlSocketAnswersWhileThreadsWork) {
  std::atomic<bool> stop{false};
  std::atomic<int> echoes{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 3; ++t) {
    ts.emplace_back([&] {
      while (!stop.load()) {
        int fd = connect_to(7000);
        std::string msg(3000, 'c');
        ASSERT_EQ(send(fd, msg.data(), msg.size(), 0), static_cast<ssize_t>(msg.size()));
        std::string back(msg.size(), '\0');
        ASSERT_EQ(recv(fd, back.data(), back.size(), MSG_WAITALL), static_cast<ssize_t>(back.size()));
        close(fd);
        echoes.fetch_add(1);
      }
    });
  }
  const std::string pid = "\"pid\":" + std::to_string(getpid());
  for (int i = 0; i < 10; ++i) {
    std::string ss = control_request("ss");
    EXPECT_NE(ss.find(pid), std::string::npos) << ss;
    EXPECT_NE(ss.find("\"sockets\":["), std::string::npos) << ss;
    std::string st = control_request("stat");
    EXPECT_NE(st.find("\"InSegs\":"), std::string::npos) << st;
  }
  stop = true;
  for (auto& th : ts) th.join();
  EXPECT_GT(echoes.load(), 0);
  EXPECT_NE(control_request("nonsense").find("\"error\":\"unknown request 'nonsense'"), std::string::npos);
}

}  // namespace
