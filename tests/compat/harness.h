// The comparison harness (docs/testing.md, "Kernel comparison"): each check
// makes socket calls and returns what it saw as one printable line; the
// same list runs once on kernel sockets and once under libshunt.so, and the
// two outputs must agree line by line except where known_differences.txt
// says why not. This header holds the check type and the small helpers the
// checks in checks.cc are written with.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace compat {

// What a check may know about where it runs. The kernel run and the shunt
// run have different own addresses; observations name addresses through
// addr_name() so that they compare.
struct Env {
  in_addr peer{};      // the kernel peer (tests/compat/peer.py)
  in_addr self{};      // this side's address
  std::string ifname;  // the interface to the peer (the same name in both runs)
};

using Observe = std::string (*)(const Env&);

struct Check {
  const char* name;
  Observe observe;
};

// Every check, in the order they run (checks.cc).
const std::vector<Check>& checks();

// ---- helpers ---------------------------------------------------------------

// An observation built left to right. `Obs() << a << b` evaluates a before
// b (C++17 sequences <<); `a + b` would leave the order of two socket
// calls open, and GCC evaluates such operands right to left.
class Obs {
 public:
  Obs& operator<<(const std::string& v) {
    s_ += v;
    return *this;
  }
  Obs& operator<<(const char* v) {
    s_ += v;
    return *this;
  }
  Obs& operator<<(long v) {
    s_ += std::to_string(v);
    return *this;
  }
  Obs& operator<<(int v) { return *this << static_cast<long>(v); }
  Obs& operator<<(unsigned v) { return *this << static_cast<long>(v); }
  std::string str() const { return s_; }

 private:
  std::string s_;
};

inline std::string errname(int e) {
  const char* n = strerrorname_np(e);
  return n != nullptr ? n : "E" + std::to_string(e);
}

// A return value: the number, or the errno's name.
inline std::string rc(long r) { return r >= 0 ? std::to_string(r) : errname(errno); }
// 0 as "ok", or the errno's name.
inline std::string ok(int r) { return r == 0 ? "ok" : (r < 0 ? errname(errno) : std::to_string(r)); }

// An fd closed at the end of the scope.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    reset(o.release());
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  operator int() const { return fd_; }  // NOLINT(implicit): reads like a plain fd
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

inline Fd tcp_socket(int flags = 0) { return Fd(::socket(AF_INET, SOCK_STREAM | flags, 0)); }
inline Fd udp_socket(int flags = 0) { return Fd(::socket(AF_INET, SOCK_DGRAM | flags, 0)); }

inline sockaddr_in sin(in_addr a, uint16_t port) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(port);
  s.sin_addr = a;
  return s;
}
inline in_addr ip(const char* dotted) {
  in_addr a{};
  inet_pton(AF_INET, dotted, &a);
  return a;
}
inline in_addr any() { return in_addr{htonl(INADDR_ANY)}; }

inline int bind_to(int fd, in_addr a, uint16_t port) {
  sockaddr_in s = sin(a, port);
  return ::bind(fd, reinterpret_cast<sockaddr*>(&s), sizeof s);
}
inline int connect_to(int fd, in_addr a, uint16_t port) {
  sockaddr_in s = sin(a, port);
  return ::connect(fd, reinterpret_cast<sockaddr*>(&s), sizeof s);
}
inline uint16_t local_port(int fd) {
  sockaddr_in s{};
  socklen_t len = sizeof s;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&s), &len) != 0) return 0;
  return ntohs(s.sin_port);
}

// A name for an address that reads the same in both runs.
inline std::string addr_name(const Env& env, in_addr a) {
  if (a.s_addr == env.peer.s_addr) return "peer";
  if (a.s_addr == env.self.s_addr) return "self";
  if (a.s_addr == htonl(INADDR_ANY)) return "any";
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}
inline std::string addr_name(const Env& env, const std::string& dotted) {
  in_addr a{};
  if (inet_pton(AF_INET, dotted.c_str(), &a) != 1) return dotted;
  return addr_name(env, a);
}
inline std::string ifname(int index) {
  char buf[IF_NAMESIZE] = {};
  if (index == 0) return "0";
  return if_indextoname(static_cast<unsigned>(index), buf) != nullptr ? buf : "if" + std::to_string(index);
}

// getsockopt of an int: the value, or the errno's name; the length too when
// the kernel did not return sizeof(int).
inline std::string get_int(int fd, int level, int name) {
  int v = 0;
  socklen_t len = sizeof v;
  if (::getsockopt(fd, level, name, &v, &len) != 0) return errname(errno);
  std::string s = std::to_string(v);
  if (len != sizeof v) s += " len=" + std::to_string(len);
  return s;
}
inline int get_value(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  ::getsockopt(fd, level, name, &v, &len);
  return v;
}
inline std::string set_int(int fd, int level, int name, int v) {
  return ok(::setsockopt(fd, level, name, &v, sizeof v));
}
// "set=ok get=V": a set followed by a get.
inline std::string set_get(int fd, int level, int name, int v) {
  return (Obs() << "set=" << set_int(fd, level, name, v) << " get=" << get_int(fd, level, name)).str();
}

// poll() with a zero timeout: the bits it reports, or "-".
inline std::string poll_now(int fd, short events = POLLIN | POLLOUT | POLLPRI | POLLRDHUP) {
  pollfd p{fd, events, 0};
  int n = ::poll(&p, 1, 0);
  if (n < 0) return errname(errno);
  std::string s;
  auto add = [&](short bit, const char* name) {
    if ((p.revents & bit) != 0) s += (s.empty() ? "" : "|") + std::string(name);
  };
  add(POLLIN, "IN");
  add(POLLPRI, "PRI");
  add(POLLOUT, "OUT");
  add(POLLERR, "ERR");
  add(POLLHUP, "HUP");
  add(POLLRDHUP, "RDHUP");
  add(POLLNVAL, "NVAL");
  return s.empty() ? "-" : s;
}
inline bool poll_has(int fd, short bit) {
  pollfd p{fd, static_cast<short>(POLLIN | POLLOUT | POLLRDHUP), 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & bit) != 0;
}

// Waits (up to 5 s, a bound against hangs, never an expectation) until
// pred() holds; returns whether it did.
inline bool wait_for(const std::function<bool()>& pred) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}
inline int inq(int fd) {
  int n = -1;
  ::ioctl(fd, FIONREAD, &n);
  return n;
}
inline int outq(int fd, unsigned long which) {
  int n = -1;
  if (::ioctl(fd, which, &n) != 0) return -1;
  return n;
}

// A blocking receive that cannot hang: SO_RCVTIMEO of 5 s.
inline void bound_blocking(int fd) {
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// A connection to the peer's command port (7104, peer.py): commands run on
// this connection; the ones that answer write "ok\n".
class Ctl {
 public:
  explicit Ctl(const Env& env) : fd_(tcp_socket()) {
    bound_blocking(fd_);
    connected_ = connect_to(fd_, env.peer, 7104) == 0;
  }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  void send(const std::string& line) {
    std::string l = line + "\n";
    (void)::send(fd_, l.data(), l.size(), MSG_NOSIGNAL);
  }
  // Sends a command that answers, and returns the answer line.
  std::string ask(const std::string& line) {
    send(line);
    std::string out;
    char c;
    while (::recv(fd_, &c, 1, 0) == 1 && c != '\n') out += c;
    return out;
  }

 private:
  Fd fd_;
  bool connected_ = false;
};

}  // namespace compat
