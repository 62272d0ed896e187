// The list of checks of the comparison harness (harness.h). Each one makes
// socket calls and returns what it saw; tests/programs/compat_test.sh runs
// the list on kernel sockets and under libshunt.so and compares the two
// outputs (known_differences.txt lists the accepted differences, each with
// its reason).
//
// Writing a check: a name `area.subject.case`, a lambda returning one line.
// Print errno names, option values and readiness bits; never print
// addresses, ports or interface indexes raw (addr_name, ifname), nor
// anything that depends on time. Waits are bounded (wait_for, 5 s) and
// never asserted on.
#include <sys/time.h>  // before linux/errqueue.h, which needs timespec
#include <linux/errqueue.h>
#include <linux/sockios.h>
#include <linux/udp.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "preload/linux_names.h"
#include "tests/compat/harness.h"

namespace compat {
namespace {

constexpr uint16_t kEcho = 7100, kHello = 7101, kSilent = 7102;
constexpr uint16_t kUdpEcho = 7110, kUdpReflect = 7111, kUdpGroupReflect = 7112;
constexpr uint16_t kClosed = 7999;  // nothing listens here on the peer

std::string socket_identity(int fd) {
  return (Obs() << "type=" << get_int(fd, SOL_SOCKET, SO_TYPE) << " domain=" << get_int(fd, SOL_SOCKET, SO_DOMAIN)
                << " protocol=" << get_int(fd, SOL_SOCKET, SO_PROTOCOL)
                << " acceptconn=" << get_int(fd, SOL_SOCKET, SO_ACCEPTCONN)
                << " error=" << get_int(fd, SOL_SOCKET, SO_ERROR))
      .str();
}

// A connected TCP socket to `port` on the peer, blocking calls bounded.
Fd tcp_to(const Env& env, uint16_t port) {
  Fd fd = tcp_socket();
  bound_blocking(fd);
  if (connect_to(fd, env.peer, port) != 0) return Fd();
  return fd;
}

// A TCP listener on an ephemeral port of ours.
Fd listener(int backlog = 16) {
  Fd fd = tcp_socket();
  if (bind_to(fd, any(), 0) != 0 || ::listen(fd, backlog) != 0) return Fd();
  return fd;
}

std::string read_n(int fd, size_t n) {
  std::string s(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::recv(fd, s.data() + got, n - got, 0);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  s.resize(got);
  return s;
}

std::string recv_str(int fd, size_t max, int flags = 0) {
  std::string s(max, '\0');
  ssize_t r = ::recv(fd, s.data(), max, flags);
  if (r < 0) return errname(errno);
  s.resize(static_cast<size_t>(r));
  return std::to_string(r) + (r > 0 ? ":" + s : "");
}

// Ancillary data of one recvmsg, printed.
struct Received {
  ssize_t n = -1;
  int err = 0;
  int flags = 0;
  std::string cmsgs;
  sockaddr_storage from{};
};

std::string describe_cmsg(const Env& env, const cmsghdr* c, const timeval& before, const timeval& after) {
  auto in_window = [&](int64_t us) {
    int64_t lo = int64_t{before.tv_sec} * 1000000 + before.tv_usec - 1000;
    int64_t hi = int64_t{after.tv_sec} * 1000000 + after.tv_usec + 1000;
    return us >= lo && us <= hi ? "now" : "not-now";
  };
  if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
    in_pktinfo p{};
    std::memcpy(&p, CMSG_DATA(c), sizeof p);
    return "IP_PKTINFO(if=" + ifname(p.ipi_ifindex) + " spec_dst=" + addr_name(env, p.ipi_spec_dst) +
           " addr=" + addr_name(env, p.ipi_addr) + ")";
  }
  if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
    in6_pktinfo p{};
    std::memcpy(&p, CMSG_DATA(c), sizeof p);
    std::string a;
    if (IN6_IS_ADDR_V4MAPPED(&p.ipi6_addr)) {
      in_addr v4{};
      std::memcpy(&v4, &p.ipi6_addr.s6_addr[12], 4);
      a = "::ffff:" + addr_name(env, v4);
    } else {
      char buf[INET6_ADDRSTRLEN];
      inet_ntop(AF_INET6, &p.ipi6_addr, buf, sizeof buf);
      a = buf;
    }
    return "IPV6_PKTINFO(if=" + ifname(static_cast<int>(p.ipi6_ifindex)) + " addr=" + a + ")";
  }
  if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) {
    int v = 0;
    std::memcpy(&v, CMSG_DATA(c), sizeof v);
    return "IP_TTL(" + std::to_string(v) + ")";
  }
  if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) {
    return "IP_TOS(" + std::to_string(*CMSG_DATA(c)) + ")";
  }
  if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_ORIGDSTADDR) {
    sockaddr_in s{};
    std::memcpy(&s, CMSG_DATA(c), sizeof s);
    return "IP_ORIGDSTADDR(" + addr_name(env, s.sin_addr) + ")";
  }
  if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMP_OLD) {
    timeval tv{};
    std::memcpy(&tv, CMSG_DATA(c), sizeof tv);
    return std::string("SO_TIMESTAMP(") + in_window(int64_t{tv.tv_sec} * 1000000 + tv.tv_usec) + ")";
  }
  if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS_OLD) {
    timespec ts{};
    std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
    return std::string("SO_TIMESTAMPNS(") + in_window(int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000) + ")";
  }
  if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) {
    sock_extended_err e{};
    std::memcpy(&e, CMSG_DATA(c), sizeof e);
    std::string s = "IP_RECVERR(errno=" + errname(static_cast<int>(e.ee_errno)) +
                    " origin=" + std::to_string(e.ee_origin) + " type=" + std::to_string(e.ee_type) +
                    " code=" + std::to_string(e.ee_code) + " info=" + std::to_string(e.ee_info);
    const auto* off = reinterpret_cast<const sockaddr_in*>(SO_EE_OFFENDER(reinterpret_cast<const sock_extended_err*>(CMSG_DATA(c))));
    if (c->cmsg_len >= CMSG_LEN(sizeof e + sizeof(sockaddr_in)) && off->sin_family == AF_INET) {
      s += " offender=" + addr_name(env, off->sin_addr);
    }
    return s + ")";
  }
  if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) return "UDP_GRO";
  return "cmsg(" + std::to_string(c->cmsg_level) + "," + std::to_string(c->cmsg_type) + ")";
}

std::string recv_msg(const Env& env, int fd, int flags, size_t max = 2048, size_t control = 512) {
  std::string data(max, '\0');
  std::vector<char> ctl(control);
  iovec v{data.data(), data.size()};
  sockaddr_storage from{};
  msghdr m{};
  m.msg_name = &from;
  m.msg_namelen = sizeof from;
  m.msg_iov = &v;
  m.msg_iovlen = 1;
  m.msg_control = control != 0 ? ctl.data() : nullptr;
  m.msg_controllen = control;
  timeval before{}, after{};
  gettimeofday(&before, nullptr);
  ssize_t n = ::recvmsg(fd, &m, flags);
  gettimeofday(&after, nullptr);
  if (n < 0) return errname(errno);
  // The datagram arrived before the call; its time is at most 5 s older.
  before.tv_sec -= 5;
  std::string s = std::to_string(n);
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    s += " " + describe_cmsg(env, c, before, after);
  }
  if ((m.msg_flags & MSG_TRUNC) != 0) s += " MSG_TRUNC";
  if ((m.msg_flags & MSG_CTRUNC) != 0) s += " MSG_CTRUNC";
  if ((m.msg_flags & MSG_ERRQUEUE) != 0) s += " MSG_ERRQUEUE";
  if (m.msg_namelen >= sizeof(sockaddr_in) && from.ss_family == AF_INET) {
    s += " from=" + addr_name(env, reinterpret_cast<sockaddr_in*>(&from)->sin_addr);
  }
  return s;
}

// Waits until the UDP socket has a datagram (or an error) to read.
bool wait_readable(int fd) { return wait_for([&] { return poll_has(fd, POLLIN) || poll_has(fd, POLLERR); }); }

// A UDP socket bound to an ephemeral port on any address.
Fd udp_bound(uint16_t* port, int opt = 0, int level = IPPROTO_IP) {
  Fd u = udp_socket();
  if (opt != 0) set_int(u, level, opt, 1);
  bind_to(u, any(), 0);
  *port = local_port(u);
  return u;
}

// Asks the peer to send an N-byte datagram to our `port` (or to `group`).
bool peer_udp(Ctl& ctl, uint16_t port, int n, const std::string& group = "") {
  return ctl.ask("udp " + std::to_string(port) + " " + std::to_string(n) + (group.empty() ? "" : " " + group)) == "ok";
}

// The reflector's answer to one datagram sent from `fd` (optionally with
// ancillary data), with its address turned into a name.
std::string reflect(const Env& env, int fd, uint16_t port = kUdpReflect, const char* group = nullptr,
                    const void* control = nullptr, size_t controllen = 0, size_t len = 3) {
  sockaddr_in to = sin(group != nullptr ? ip(group) : env.peer, port);
  std::string payload(len, 'r');
  iovec v{payload.data(), payload.size()};
  msghdr m{};
  m.msg_name = &to;
  m.msg_namelen = sizeof to;
  m.msg_iov = &v;
  m.msg_iovlen = 1;
  m.msg_control = const_cast<void*>(control);
  m.msg_controllen = controllen;
  if (::sendmsg(fd, &m, 0) < 0) return "send " + errname(errno);
  bound_blocking(fd);
  char buf[256];
  ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
  if (n < 0) return "recv " + errname(errno);
  buf[n] = '\0';
  std::istringstream in(buf);
  std::string addr, rest, word;
  in >> addr >> word;  // the address and the port
  std::getline(in, rest);
  return addr_name(env, addr) + rest;
}

// The thread's scheduler state letter from /proc (S while it sleeps).
char thread_state(pid_t tid) {
  std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string s;
  std::getline(f, s);
  auto p = s.rfind(')');
  return p != std::string::npos && p + 2 < s.size() ? s[p + 2] : '?';
}

// A blocking recv in another thread, started once the data `fd` already
// holds is there; `more` runs once that thread sleeps in the call. Returns
// what the recv returned.
std::string recv_while(int fd, size_t max, const std::function<void()>& more) {
  std::atomic<pid_t> tid{0};
  std::string result;
  std::thread t([&] {
    tid = static_cast<pid_t>(syscall(SYS_gettid));
    result = recv_str(fd, max);
  });
  wait_for([&] { return tid != 0 && thread_state(tid) == 'S'; });
  more();
  t.join();
  return result;
}

std::string join(int fd, const char* group, in_addr iface, int op = IP_ADD_MEMBERSHIP) {
  ip_mreq m{};
  m.imr_multiaddr = ip(group);
  m.imr_interface = iface;
  return ok(::setsockopt(fd, IPPROTO_IP, op, &m, sizeof m));
}

std::string get_addr_opt(const Env& env, int fd, int level, int name) {
  in_addr a{};
  socklen_t len = sizeof a;
  if (::getsockopt(fd, level, name, &a, &len) != 0) return errname(errno);
  return addr_name(env, a);
}

std::string tcp_info_line(int fd) {
  tcp_info i{};
  socklen_t len = sizeof i;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &i, &len) != 0) return errname(errno);
  return "state=" + std::to_string(i.tcpi_state) + " ca_state=" + std::to_string(i.tcpi_ca_state) +
         " options=" + std::to_string(i.tcpi_options) + " snd_wscale=" + std::to_string(i.tcpi_snd_wscale) +
         " rcv_wscale=" + std::to_string(i.tcpi_rcv_wscale) + " snd_mss=" + std::to_string(i.tcpi_snd_mss) +
         " rcv_mss=" + std::to_string(i.tcpi_rcv_mss) + " advmss=" + std::to_string(i.tcpi_advmss) +
         " pmtu=" + std::to_string(i.tcpi_pmtu) + " retransmits=" + std::to_string(i.tcpi_retransmits) +
         " unacked=" + std::to_string(i.tcpi_unacked);
}

// A splice that cannot hang: the socket end has SO_RCVTIMEO set.
long splice_(int in, int out, size_t len, unsigned flags, loff_t* off_in = nullptr) {
  return ::splice(in, off_in, out, nullptr, len, flags);
}

std::string pipe_read(int fd, size_t max) {
  std::string s(max, '\0');
  ssize_t r = ::read(fd, s.data(), max);
  if (r < 0) return errname(errno);
  s.resize(static_cast<size_t>(r));
  return s;
}

// Two-part helpers: an option's default, then a set and get.
std::string default_then_set(int fd, int level, int name, int v) {
  return (Obs() << "default=" << get_int(fd, level, name) << " " << set_get(fd, level, name, v)).str();
}

std::string linger_of(int fd) {
  linger l{-1, -1};
  socklen_t len = sizeof l;
  if (::getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len) != 0) return errname(errno);
  return (Obs() << l.l_onoff << "/" << l.l_linger).str();
}

std::string congestion_of(int fd) {
  char name[16] = {};
  socklen_t len = sizeof name;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len) != 0) return errname(errno);
  return (Obs() << name << " len=" << static_cast<int>(len)).str();
}

std::string bound_device(int fd) {
  char name[IF_NAMESIZE + 4] = {};
  socklen_t len = sizeof name;
  if (::getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, &len) != 0) return errname(errno);
  return (Obs() << "'" << name << "'/len" << static_cast<int>(len)).str();
}

// A pipe, both ends closed at the end of the scope.
struct Pipe {
  Fd r, w;
  Pipe() {
    int p[2];
    if (::pipe(p) == 0) {
      r.reset(p[0]);
      w.reset(p[1]);
    }
  }
};

std::string cmsg_int(int level, int type, int value, const Env& e, int fd, uint16_t port = kUdpReflect) {
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  auto* c = reinterpret_cast<cmsghdr*>(ctl);
  c->cmsg_level = level;
  c->cmsg_type = type;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &value, sizeof value);
  return reflect(e, fd, port, nullptr, ctl, sizeof ctl);
}

std::string send_pktinfo(const Env& e, int fd, in_addr spec_dst, int ifindex) {
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(in_pktinfo))] = {};
  auto* c = reinterpret_cast<cmsghdr*>(ctl);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
  in_pktinfo p{};
  p.ipi_spec_dst = spec_dst;
  p.ipi_ifindex = ifindex;
  std::memcpy(CMSG_DATA(c), &p, sizeof p);
  return reflect(e, fd, kUdpReflect, nullptr, ctl, sizeof ctl);
}

// A dual-stack UDP socket bound to [::]:0 with `opt` (level, name) on.
Fd udp6_bound(uint16_t* port, int level, int name) {
  Fd u(::socket(AF_INET6, SOCK_DGRAM, 0));
  set_int(u, level, name, 1);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  ::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a);
  sockaddr_in6 bound{};
  socklen_t len = sizeof bound;
  ::getsockname(u, reinterpret_cast<sockaddr*>(&bound), &len);
  *port = ntohs(bound.sin6_port);
  return u;
}

// What one datagram from the peer looks like with `opt` on.
std::string datagram_with(const Env& e, int level, int opt, int n = 5, const std::string& to = "") {
  uint16_t port = 0;
  Fd u = udp_bound(&port, opt, level);
  Ctl ctl(e);
  peer_udp(ctl, port, n, to);
  wait_readable(u);
  return recv_msg(e, u, MSG_DONTWAIT);
}

std::string sendto_str(int fd, const std::string& data, in_addr a, uint16_t port, int flags = 0) {
  sockaddr_in to = sin(a, port);
  return rc(::sendto(fd, data.data(), data.size(), flags, reinterpret_cast<sockaddr*>(&to), sizeof to));
}

std::string peername(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  return ok(::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len));
}

// The reflector's "len=N" of each of `count` answers.
std::string reflected_lengths(int fd, int count) {
  Obs o;
  bound_blocking(fd);
  for (int i = 0; i < count; ++i) {
    char buf[256];
    ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
    if (n < 0) return (o << " " << errname(errno)).str();
    buf[n] = '\0';
    std::string r(buf);
    o << (i == 0 ? "" : " ") << r.substr(r.find("len="));
  }
  return o.str();
}

const std::vector<Check> kChecks = {
    // ---- what a socket says it is ------------------------------------------------
    {"tcp.identity.fresh", [](const Env&) { return socket_identity(tcp_socket()); }},
    {"tcp.identity.listening", [](const Env&) { return socket_identity(listener()); }},
    {"tcp.identity.connected", [](const Env& e) { return socket_identity(tcp_to(e, kEcho)); }},
    {"udp.identity.fresh", [](const Env&) { return socket_identity(udp_socket()); }},
    {"tcp6.identity.fresh", [](const Env&) { return socket_identity(Fd(::socket(AF_INET6, SOCK_STREAM, 0))); }},
    {"udp6.identity.fresh", [](const Env&) { return socket_identity(Fd(::socket(AF_INET6, SOCK_DGRAM, 0))); }},
    {"tcp.fstat", [](const Env&) {
       struct stat st{};
       Fd fd = tcp_socket();
       ::fstat(fd, &st);
       return std::string(S_ISSOCK(st.st_mode) ? "socket" : "not-socket");
     }},

    // ---- buffer sizes: defaults, doubling, clamping (socket(7)) -----------------
    {"tcp.so_rcvbuf.default", [](const Env&) { return get_int(tcp_socket(), SOL_SOCKET, SO_RCVBUF); }},
    {"tcp.so_sndbuf.default", [](const Env&) { return get_int(tcp_socket(), SOL_SOCKET, SO_SNDBUF); }},
    {"udp.so_rcvbuf.default", [](const Env&) { return get_int(udp_socket(), SOL_SOCKET, SO_RCVBUF); }},
    {"udp.so_sndbuf.default", [](const Env&) { return get_int(udp_socket(), SOL_SOCKET, SO_SNDBUF); }},
    {"tcp.so_rcvbuf.set_10M", [](const Env&) { return set_get(tcp_socket(), SOL_SOCKET, SO_RCVBUF, 10 << 20); }},
    {"tcp.so_sndbuf.set_10M", [](const Env&) { return set_get(tcp_socket(), SOL_SOCKET, SO_SNDBUF, 10 << 20); }},
    {"udp.so_rcvbuf.set_10M", [](const Env&) { return set_get(udp_socket(), SOL_SOCKET, SO_RCVBUF, 10 << 20); }},
    {"udp.so_sndbuf.set_10M", [](const Env&) { return set_get(udp_socket(), SOL_SOCKET, SO_SNDBUF, 10 << 20); }},
    {"tcp.so_rcvbuf.set_64K", [](const Env&) { return set_get(tcp_socket(), SOL_SOCKET, SO_RCVBUF, 65536); }},
    {"tcp.so_rcvbuf.set_0", [](const Env&) { return set_get(tcp_socket(), SOL_SOCKET, SO_RCVBUF, 0); }},
    {"tcp.so_sndbuf.set_0", [](const Env&) { return set_get(tcp_socket(), SOL_SOCKET, SO_SNDBUF, 0); }},
    {"udp.so_rcvbuf.set_minus_1", [](const Env&) { return set_get(udp_socket(), SOL_SOCKET, SO_RCVBUF, -1); }},
    {"tcp.so_rcvbufforce.set_10M", [](const Env&) {
       // The tests run as root (CAP_NET_ADMIN): no rmem_max clamp.
       Fd fd = tcp_socket();
       return (Obs() << "set=" << set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, 10 << 20)
                     << " get=" << get_int(fd, SOL_SOCKET, SO_RCVBUF))
           .str();
     }},
    {"tcp.so_sndbufforce.set_minus_1", [](const Env&) {
       Fd fd = tcp_socket();
       return (Obs() << "set=" << set_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, -1)
                     << " get=" << get_int(fd, SOL_SOCKET, SO_SNDBUF))
           .str();
     }},
    {"tcp.so_rcvbuf.connected", [](const Env& e) { return get_int(tcp_to(e, kEcho), SOL_SOCKET, SO_RCVBUF); }},
    {"tcp.so_sndbuf.connected", [](const Env& e) { return get_int(tcp_to(e, kEcho), SOL_SOCKET, SO_SNDBUF); }},
    {"tcp.so_rcvbuf.set_then_connected", [](const Env& e) {
       Fd fd = tcp_socket();
       set_int(fd, SOL_SOCKET, SO_RCVBUF, 100000);
       set_int(fd, SOL_SOCKET, SO_SNDBUF, 100000);
       if (connect_to(fd, e.peer, kEcho) != 0) return "connect " + errname(errno);
       return (Obs() << "rcvbuf=" << get_int(fd, SOL_SOCKET, SO_RCVBUF) << " sndbuf=" << get_int(fd, SOL_SOCKET, SO_SNDBUF))
           .str();
     }},
    {"tcp.so_rcvbuf.accepted_inherits", [](const Env& e) {
       Fd l = listener();
       set_int(l, SOL_SOCKET, SO_RCVBUF, 65536);
       Ctl ctl(e);
       if (ctl.ask("connect " + std::to_string(local_port(l)) + " 0") != "ok") return std::string("peer failed");
       Fd c(::accept(l, nullptr, nullptr));
       return "rcvbuf=" + get_int(c, SOL_SOCKET, SO_RCVBUF);
     }},

    // ---- SO_RCVLOWAT / SO_SNDLOWAT -------------------------------------------------
    {"tcp.so_rcvlowat.default", [](const Env&) { return get_int(tcp_socket(), SOL_SOCKET, SO_RCVLOWAT); }},
    {"tcp.so_rcvlowat.set_100", [](const Env&) { return set_get(tcp_socket(), SOL_SOCKET, SO_RCVLOWAT, 100); }},
    {"tcp.so_rcvlowat.set_0", [](const Env&) { return set_get(tcp_socket(), SOL_SOCKET, SO_RCVLOWAT, 0); }},
    {"tcp.so_rcvlowat.set_minus_1", [](const Env&) { return set_get(tcp_socket(), SOL_SOCKET, SO_RCVLOWAT, -1); }},
    {"tcp.so_rcvlowat.capped_by_rcvbuf", [](const Env&) {
       Fd fd = tcp_socket();
       set_int(fd, SOL_SOCKET, SO_RCVBUF, 10000);
       return set_get(fd, SOL_SOCKET, SO_RCVLOWAT, 1000000);
     }},
    {"udp.so_rcvlowat.set_100", [](const Env&) { return set_get(udp_socket(), SOL_SOCKET, SO_RCVLOWAT, 100); }},
    {"udp.so_rcvlowat.set_minus_1", [](const Env&) { return set_get(udp_socket(), SOL_SOCKET, SO_RCVLOWAT, -1); }},
    {"tcp.so_sndlowat", [](const Env&) {
       Fd fd = tcp_socket();
       return (Obs() << "get=" << get_int(fd, SOL_SOCKET, SO_SNDLOWAT) << " set=" << set_int(fd, SOL_SOCKET, SO_SNDLOWAT, 10))
           .str();
     }},
    {"tcp.so_rcvlowat.poll", [](const Env& e) {
       // SO_RCVLOWAT 20: 10 bytes are not readable yet, 20 are.
       Ctl ctl(e);
       set_int(ctl.fd(), SOL_SOCKET, SO_RCVLOWAT, 20);
       ctl.send("send 10");
       wait_for([&] { return inq(ctl.fd()) >= 10; });
       Obs o;
       o << "at10=" << poll_now(ctl.fd(), POLLIN);
       ctl.send("send 10");
       wait_for([&] { return inq(ctl.fd()) >= 20; });
       return (o << " at20=" << poll_now(ctl.fd(), POLLIN)).str();
     }},
    {"tcp.so_rcvlowat.blocking_recv", [](const Env& e) {
       // A blocking recv with 10 of SO_RCVLOWAT's 20 bytes there waits for
       // the rest.
       Ctl ctl(e);
       set_int(ctl.fd(), SOL_SOCKET, SO_RCVLOWAT, 20);
       ctl.send("send 10");
       wait_for([&] { return inq(ctl.fd()) >= 10; });
       return recv_while(ctl.fd(), 100, [&] { ctl.send("send 10"); });
     }},
    {"tcp.so_rcvlowat.eof", [](const Env& e) {
       // The end of the stream ends the wait with what there is.
       Ctl ctl(e);
       set_int(ctl.fd(), SOL_SOCKET, SO_RCVLOWAT, 20);
       ctl.send("send 10");
       wait_for([&] { return inq(ctl.fd()) >= 10; });
       Obs o;
       o << recv_while(ctl.fd(), 100, [&] { ctl.send("shutwr"); });
       return (o << " then=" << recv_str(ctl.fd(), 100) << " poll=" << poll_now(ctl.fd(), POLLIN)).str();
     }},
    {"tcp.so_rcvlowat.poll_after_set", [](const Env& e) {
       // Lowering SO_RCVLOWAT under data already queued makes it readable.
       Ctl ctl(e);
       set_int(ctl.fd(), SOL_SOCKET, SO_RCVLOWAT, 50);
       ctl.send("send 10");
       wait_for([&] { return inq(ctl.fd()) >= 10; });
       Obs o;
       o << "lowat50=" << poll_now(ctl.fd(), POLLIN);
       set_int(ctl.fd(), SOL_SOCKET, SO_RCVLOWAT, 5);
       return (o << " lowat5=" << poll_now(ctl.fd(), POLLIN)).str();
     }},
    {"tcp.so_rcvlowat.nonblocking_recv", [](const Env& e) {
       // A non-blocking recv returns what there is, below the mark too.
       Ctl ctl(e);
       set_int(ctl.fd(), SOL_SOCKET, SO_RCVLOWAT, 20);
       ctl.send("send 10");
       wait_for([&] { return inq(ctl.fd()) >= 10; });
       return recv_str(ctl.fd(), 100, MSG_DONTWAIT);
     }},
    {"udp.so_rcvlowat.ignored", [](const Env& e) {
       // udp(7): SO_RCVLOWAT does not hold datagrams back.
       uint16_t port = 0;
       Fd u = udp_bound(&port);
       set_int(u, SOL_SOCKET, SO_RCVLOWAT, 100);
       Ctl ctl(e);
       peer_udp(ctl, port, 10);
       wait_for([&] { return inq(u) > 0; });
       return (Obs() << "poll=" << poll_now(u, POLLIN) << " recv=" << recv_str(u, 100, MSG_DONTWAIT)).str();
     }},

    // ---- TCP options (tcp(7)) ---------------------------------------------------------
    {"tcp.nodelay", [](const Env&) { return default_then_set(tcp_socket(), IPPROTO_TCP, TCP_NODELAY, 1); }},
    {"tcp.cork", [](const Env&) { return default_then_set(tcp_socket(), IPPROTO_TCP, TCP_CORK, 1); }},
    {"tcp.maxseg.default", [](const Env&) { return get_int(tcp_socket(), IPPROTO_TCP, TCP_MAXSEG); }},
    {"tcp.maxseg.set_1000", [](const Env&) { return set_get(tcp_socket(), IPPROTO_TCP, TCP_MAXSEG, 1000); }},
    {"tcp.maxseg.set_50", [](const Env&) { return set_int(tcp_socket(), IPPROTO_TCP, TCP_MAXSEG, 50); }},
    {"tcp.maxseg.connected", [](const Env& e) { return get_int(tcp_to(e, kEcho), IPPROTO_TCP, TCP_MAXSEG); }},
    {"tcp.maxseg.set_1000_connected", [](const Env& e) {
       Fd fd = tcp_socket();
       set_int(fd, IPPROTO_TCP, TCP_MAXSEG, 1000);
       if (connect_to(fd, e.peer, kEcho) != 0) return errname(errno);
       return get_int(fd, IPPROTO_TCP, TCP_MAXSEG);
     }},
    {"tcp.keepalive.defaults", [](const Env&) {
       Fd fd = tcp_socket();
       return (Obs() << "SO_KEEPALIVE=" << get_int(fd, SOL_SOCKET, SO_KEEPALIVE)
                     << " idle=" << get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE)
                     << " intvl=" << get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL)
                     << " cnt=" << get_int(fd, IPPROTO_TCP, TCP_KEEPCNT))
           .str();
     }},
    {"tcp.keepalive.set", [](const Env&) {
       Fd fd = tcp_socket();
       return (Obs() << set_get(fd, SOL_SOCKET, SO_KEEPALIVE, 1) << " idle:" << set_get(fd, IPPROTO_TCP, TCP_KEEPIDLE, 30)
                     << " intvl:" << set_get(fd, IPPROTO_TCP, TCP_KEEPINTVL, 5)
                     << " cnt:" << set_get(fd, IPPROTO_TCP, TCP_KEEPCNT, 3))
           .str();
     }},
    {"tcp.keepalive.ranges", [](const Env&) {
       Fd fd = tcp_socket();
       return (Obs() << "idle0=" << set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, 0)
                     << " idle32768=" << set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, 32768)
                     << " intvl0=" << set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, 0)
                     << " cnt0=" << set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, 0)
                     << " cnt128=" << set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, 128))
           .str();
     }},
    {"tcp.user_timeout", [](const Env&) {
       Fd fd = tcp_socket();
       return (Obs() << default_then_set(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 5000)
                     << " neg=" << set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, -1))
           .str();
     }},
    {"tcp.quickack", [](const Env&) {
       Fd fd = tcp_socket();
       return (Obs() << "default=" << get_int(fd, IPPROTO_TCP, TCP_QUICKACK)
                     << " off:" << set_get(fd, IPPROTO_TCP, TCP_QUICKACK, 0)
                     << " on:" << set_get(fd, IPPROTO_TCP, TCP_QUICKACK, 1))
           .str();
     }},
    {"tcp.quickack.connected", [](const Env& e) {
       Fd fd = tcp_to(e, kEcho);
       return (Obs() << "default=" << get_int(fd, IPPROTO_TCP, TCP_QUICKACK)
                     << " off:" << set_get(fd, IPPROTO_TCP, TCP_QUICKACK, 0)
                     << " on:" << set_get(fd, IPPROTO_TCP, TCP_QUICKACK, 1))
           .str();
     }},
    {"tcp.congestion.default", [](const Env&) { return congestion_of(tcp_socket()); }},
    {"tcp.congestion.set", [](const Env&) {
       Fd fd = tcp_socket();
       Obs o;
       for (const char* algo : {"reno", "cubic", "nosuch", ""}) {
         o << algo << "=" << ok(::setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, algo, std::strlen(algo)));
         o << "/" << congestion_of(fd) << " ";
       }
       return o.str();
     }},
    {"tcp.congestion.connected", [](const Env& e) {
       Fd fd = tcp_to(e, kEcho);
       return (Obs() << ok(::setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "cubic", 5)) << " " << congestion_of(fd)).str();
     }},
    {"tcp.notsent_lowat", [](const Env&) {
       return default_then_set(tcp_socket(), IPPROTO_TCP, TCP_NOTSENT_LOWAT, 16384);
     }},
    {"tcp.notsent_lowat.poll", [](const Env& e) {
       // Corked data is not sent: with 2000 bytes unsent and a low-water
       // mark of 1000 the socket is not writable; once sent, it is.
       Fd fd = tcp_to(e, kSilent);
       set_int(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 1000);
       set_int(fd, IPPROTO_TCP, TCP_CORK, 1);
       std::string data(2000, 'n');
       Obs o;
       o << "send=" << rc(::send(fd, data.data(), data.size(), MSG_DONTWAIT));
       o << " corked=" << poll_now(fd, POLLOUT) << " nsd=" << outq(fd, SIOCOUTQNSD);
       set_int(fd, IPPROTO_TCP, TCP_CORK, 0);
       wait_for([&] { return outq(fd, SIOCOUTQNSD) == 0; });
       return (o << " sent=" << poll_now(fd, POLLOUT)).str();
     }},
    {"tcp.defer_accept", [](const Env&) {
       Fd fd = tcp_socket();
       return (Obs() << "default=" << get_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT)
                     << " set5:" << set_get(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 5)
                     << " set200:" << set_get(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 200)
                     << " set0:" << set_get(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 0))
           .str();
     }},
    {"tcp.defer_accept.waits_for_data", [](const Env& e) {
       // With TCP_DEFER_ACCEPT a connection that sent nothing is not
       // accepted yet; one that sent data is.
       Fd l = listener();
       set_int(l, IPPROTO_TCP, TCP_DEFER_ACCEPT, 30);
       Ctl ctl(e);
       const std::string port = std::to_string(local_port(l));
       Obs o;
       o << "nodata:" << ctl.ask("connect " + port + " 0");
       o << " poll=" << poll_now(l, POLLIN);
       o << " data:" << ctl.ask("connect " + port + " 3");
       wait_for([&] { return poll_has(l, POLLIN); });
       o << " poll=" << poll_now(l, POLLIN);
       Fd c(::accept4(l, nullptr, nullptr, SOCK_NONBLOCK));
       if (c < 0) return (o << " accept=" << errname(errno)).str();
       wait_for([&] { return inq(c) >= 3; });
       return (o << " first_accepted_inq=" << inq(c)).str();
     }},
    {"tcp.fastopen", [](const Env&) { return default_then_set(tcp_socket(), IPPROTO_TCP, TCP_FASTOPEN, 5); }},
    {"tcp.fastopen.listening", [](const Env&) { return set_get(listener(), IPPROTO_TCP, TCP_FASTOPEN, 5); }},
    {"tcp.fastopen.connected", [](const Env& e) { return set_int(tcp_to(e, kEcho), IPPROTO_TCP, TCP_FASTOPEN, 5); }},
    {"tcp.fastopen_connect", [](const Env&) {
       return default_then_set(tcp_socket(), IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1);
     }},
    {"tcp.send.msg_fastopen", [](const Env& e) {
       return sendto_str(tcp_socket(), "x", e.peer, kEcho, MSG_FASTOPEN | MSG_NOSIGNAL);
     }},
    {"tcp.info.fresh", [](const Env&) { return tcp_info_line(tcp_socket()); }},
    {"tcp.info.listening", [](const Env&) { return tcp_info_line(listener()); }},
    {"tcp.info.connected", [](const Env& e) { return tcp_info_line(tcp_to(e, kEcho)); }},
    {"tcp.info.length", [](const Env&) {
       char buf[1024];
       socklen_t len = sizeof buf;
       Fd fd = tcp_socket();
       if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, buf, &len) != 0) return errname(errno);
       return std::to_string(len);
     }},
    {"udp.tcp_options", [](const Env&) {
       Fd u = udp_socket();
       return (Obs() << "get_info=" << get_int(u, IPPROTO_TCP, TCP_INFO) << " set_nodelay="
                     << set_int(u, IPPROTO_TCP, TCP_NODELAY, 1) << " get_nodelay=" << get_int(u, IPPROTO_TCP, TCP_NODELAY))
           .str();
     }},

    // ---- SOL_SOCKET options (socket(7)) -------------------------------------------------
    {"tcp.so_reuseaddr", [](const Env&) { return default_then_set(tcp_socket(), SOL_SOCKET, SO_REUSEADDR, 1); }},
    {"tcp.so_reuseport", [](const Env&) { return default_then_set(tcp_socket(), SOL_SOCKET, SO_REUSEPORT, 1); }},
    {"udp.so_reuseport", [](const Env&) { return default_then_set(udp_socket(), SOL_SOCKET, SO_REUSEPORT, 1); }},
    {"udp.so_broadcast", [](const Env&) { return default_then_set(udp_socket(), SOL_SOCKET, SO_BROADCAST, 1); }},
    {"udp.so_keepalive", [](const Env&) { return set_get(udp_socket(), SOL_SOCKET, SO_KEEPALIVE, 1); }},
    {"tcp.so_linger", [](const Env&) {
       Fd fd = tcp_socket();
       linger set{1, 7};
       Obs o;
       o << "default=" << linger_of(fd);
       o << " set=" << ok(::setsockopt(fd, SOL_SOCKET, SO_LINGER, &set, sizeof set)) << " get=" << linger_of(fd);
       return (o << " short=" << ok(::setsockopt(fd, SOL_SOCKET, SO_LINGER, &set, 4))).str();
     }},
    {"tcp.so_rcvtimeo", [](const Env&) {
       Fd fd = tcp_socket();
       timeval tv{1, 500000};
       Obs o;
       o << "set=" << ok(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
       timeval back{};
       socklen_t len = sizeof back;
       ::getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &back, &len);
       o << " get=" << static_cast<long>(back.tv_sec) << "." << static_cast<long>(back.tv_usec);
       timeval bad{1, 1000000};
       o << " bad_usec=" << ok(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bad, sizeof bad));
       return (o << " short=" << ok(::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, 4))).str();
     }},
    {"tcp.so_priority", [](const Env&) {
       Fd fd = tcp_socket();
       return (Obs() << default_then_set(fd, SOL_SOCKET, SO_PRIORITY, 6) << " set7:" << set_get(fd, SOL_SOCKET, SO_PRIORITY, 7))
           .str();
     }},
    {"udp.so_priority", [](const Env&) { return set_get(udp_socket(), SOL_SOCKET, SO_PRIORITY, 3); }},
    {"tcp.so_mark", [](const Env&) { return default_then_set(tcp_socket(), SOL_SOCKET, SO_MARK, 5); }},
    {"udp.so_mark", [](const Env&) { return set_get(udp_socket(), SOL_SOCKET, SO_MARK, 0x10); }},
    {"tcp.so_busy_poll", [](const Env&) { return set_get(tcp_socket(), SOL_SOCKET, SO_BUSY_POLL, 50); }},
    {"tcp.so_bindtodevice", [](const Env& e) {
       Fd fd = tcp_socket();
       Obs o;
       o << "default=" << bound_device(fd);
       o << " set=" << ok(::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, e.ifname.c_str(),
                                       static_cast<socklen_t>(e.ifname.size() + 1)));
       o << " get=" << bound_device(fd);
       const int idx = static_cast<int>(if_nametoindex(e.ifname.c_str()));
       o << " ifindex=" << (get_value(fd, SOL_SOCKET, SO_BINDTOIFINDEX) == idx ? "same" : "other");
       o << " unknown=" << ok(::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "nosuchdev0", 11));
       o << " clear=" << ok(::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "", 0));
       return (o << " after=" << bound_device(fd)).str();
     }},
    {"tcp.so_bindtoifindex", [](const Env& e) {
       Fd fd = tcp_socket();
       Obs o;
       o << "set=" << set_int(fd, SOL_SOCKET, SO_BINDTOIFINDEX, static_cast<int>(if_nametoindex(e.ifname.c_str())));
       o << " name=" << bound_device(fd);
       o << " bad=" << set_int(fd, SOL_SOCKET, SO_BINDTOIFINDEX, 9999);
       return (o << " zero=" << set_int(fd, SOL_SOCKET, SO_BINDTOIFINDEX, 0) << " after=" << bound_device(fd)).str();
     }},
    {"udp.so_bindtodevice.traffic", [](const Env& e) {
       // A socket bound to the interface still reaches the peer.
       Fd u = udp_socket();
       ::setsockopt(u, SOL_SOCKET, SO_BINDTODEVICE, e.ifname.c_str(), static_cast<socklen_t>(e.ifname.size() + 1));
       return reflect(e, u);
     }},
    {"udp.so_timestamp", [](const Env&) {
       Fd fd = udp_socket();
       return (Obs() << default_then_set(fd, SOL_SOCKET, SO_TIMESTAMP, 1) << " ns:" << set_get(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1)
                     << " then_us=" << get_int(fd, SOL_SOCKET, SO_TIMESTAMP))
           .str();
     }},
    {"udp.so_timestamp.cmsg", [](const Env& e) { return datagram_with(e, SOL_SOCKET, SO_TIMESTAMP); }},
    {"udp.so_timestampns.cmsg", [](const Env& e) { return datagram_with(e, SOL_SOCKET, SO_TIMESTAMPNS); }},
    {"tcp.so_timestamp.cmsg", [](const Env& e) {
       Ctl ctl(e);
       set_int(ctl.fd(), SOL_SOCKET, SO_TIMESTAMP, 1);
       ctl.send("send 4");
       wait_for([&] { return inq(ctl.fd()) >= 4; });
       return recv_msg(e, ctl.fd(), MSG_DONTWAIT);
     }},
    {"so.unknown_option", [](const Env&) {
       Fd t = tcp_socket();
       Fd u = udp_socket();
       return (Obs() << "tcp_get=" << get_int(t, SOL_SOCKET, 9999) << " tcp_set=" << set_int(t, SOL_SOCKET, 9999, 1)
                     << " udp_get=" << get_int(u, SOL_SOCKET, 9999) << " udp_set=" << set_int(u, SOL_SOCKET, 9999, 1)
                     << " tcp_level_get=" << get_int(t, IPPROTO_TCP, 9999)
                     << " ip_level_get=" << get_int(u, IPPROTO_IP, 9999)
                     << " ip_level_set=" << set_int(u, IPPROTO_IP, 9999, 1))
           .str();
     }},
    {"so.unknown_level", [](const Env&) {
       Fd t = tcp_socket();
       Fd u = udp_socket();
       return (Obs() << "tcp_get=" << get_int(t, 250, 1) << " tcp_set=" << set_int(t, 250, 1, 1)
                     << " udp_get=" << get_int(u, 250, 1) << " udp_set=" << set_int(u, 250, 1, 1))
           .str();
     }},
    {"so.optlen", [](const Env&) {
       Fd t = tcp_socket();
       int v = 1;
       Obs o;
       o << "set_rcvbuf_0=" << ok(::setsockopt(t, SOL_SOCKET, SO_RCVBUF, &v, 0));
       o << " set_nodelay_0=" << ok(::setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &v, 0));
       o << " set_ttl_1=" << ok(::setsockopt(t, IPPROTO_IP, IP_TTL, &v, 1));
       char buf[8] = {};
       socklen_t len = 2;
       o << " get_rcvbuf_2=" << ok(::getsockopt(t, SOL_SOCKET, SO_RCVBUF, buf, &len)) << "/len" << static_cast<int>(len);
       len = 0;
       o << " get_nodelay_0=" << ok(::getsockopt(t, IPPROTO_TCP, TCP_NODELAY, buf, &len)) << "/len" << static_cast<int>(len);
       return o.str();
     }},

    // ---- IP options (ip(7)) -------------------------------------------------------------
    {"tcp.ip_ttl", [](const Env&) {
       Fd fd = tcp_socket();
       return (Obs() << default_then_set(fd, IPPROTO_IP, IP_TTL, 5) << " zero=" << set_int(fd, IPPROTO_IP, IP_TTL, 0)
                     << " 256=" << set_int(fd, IPPROTO_IP, IP_TTL, 256) << " reset:" << set_get(fd, IPPROTO_IP, IP_TTL, -1))
           .str();
     }},
    {"udp.ip_ttl", [](const Env&) { return default_then_set(udp_socket(), IPPROTO_IP, IP_TTL, 5); }},
    {"udp.ip_ttl.wire", [](const Env& e) {
       Fd u = udp_socket();
       Obs o;
       o << "default: " << reflect(e, u);
       set_int(u, IPPROTO_IP, IP_TTL, 7);
       return (o << " set7: " << reflect(e, u)).str();
     }},
    {"udp.ip_ttl.cmsg", [](const Env& e) { return cmsg_int(IPPROTO_IP, IP_TTL, 9, e, udp_socket()); }},
    {"tcp.ip_tos", [](const Env&) {
       Fd fd = tcp_socket();
       return (Obs() << default_then_set(fd, IPPROTO_IP, IP_TOS, 0x10) << " ecn_bits:" << set_get(fd, IPPROTO_IP, IP_TOS, 0x13))
           .str();
     }},
    {"udp.ip_tos", [](const Env&) { return set_get(udp_socket(), IPPROTO_IP, IP_TOS, 0x13); }},
    {"udp.ip_tos.wire", [](const Env& e) {
       Fd u = udp_socket();
       set_int(u, IPPROTO_IP, IP_TOS, 0x10);
       return reflect(e, u);
     }},
    {"udp.ip_tos.cmsg", [](const Env& e) { return cmsg_int(IPPROTO_IP, IP_TOS, 0x20, e, udp_socket()); }},
    {"udp.cmsg.unknown", [](const Env& e) { return cmsg_int(IPPROTO_IP, 250, 1, e, udp_socket()); }},
    {"tcp.ip_mtu_discover", [](const Env&) {
       Fd fd = tcp_socket();
       return (Obs() << default_then_set(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
                     << " bad=" << set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER, 6))
           .str();
     }},
    {"udp.ip_mtu_discover", [](const Env&) {
       return default_then_set(udp_socket(), IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE);
     }},
    {"ip_mtu", [](const Env& e) {
       Fd u = udp_socket();
       Obs o;
       o << "udp_unconnected=" << get_int(u, IPPROTO_IP, IP_MTU);
       connect_to(u, e.peer, kUdpEcho);
       o << " udp_connected=" << get_int(u, IPPROTO_IP, IP_MTU);
       o << " tcp_fresh=" << get_int(tcp_socket(), IPPROTO_IP, IP_MTU);
       return (o << " tcp_connected=" << get_int(tcp_to(e, kEcho), IPPROTO_IP, IP_MTU)).str();
     }},
    {"udp.ip_pmtudisc_do.too_big", [](const Env& e) {
       // IP_PMTUDISC_DO: no fragmentation, a datagram over the MTU is EMSGSIZE.
       Fd u = udp_socket();
       set_int(u, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
       std::string big(2000, 'b');
       Obs o;
       o << "do=" << sendto_str(u, big, e.peer, kUdpEcho);
       set_int(u, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT);
       return (o << " dont=" << sendto_str(u, big, e.peer, kUdpEcho)).str();
     }},
    {"ip.freebind", [](const Env&) {
       Fd fd = tcp_socket();
       return (Obs() << default_then_set(fd, IPPROTO_IP, IP_FREEBIND, 1)
                     << " bind_nonlocal=" << ok(bind_to(fd, ip("198.18.0.77"), 0)))
           .str();
     }},
    {"ip.bind_nonlocal", [](const Env&) {
       return (Obs() << "tcp=" << ok(bind_to(tcp_socket(), ip("198.18.0.77"), 0))
                     << " udp=" << ok(bind_to(udp_socket(), ip("198.18.0.77"), 0)))
           .str();
     }},
    {"ip.transparent", [](const Env&) {
       // The tests run as root: the kernel allows IP_TRANSPARENT.
       Fd fd = tcp_socket();
       return (Obs() << default_then_set(fd, IPPROTO_IP, IP_TRANSPARENT, 1)
                     << " bind_nonlocal=" << ok(bind_to(fd, ip("198.18.0.78"), 0)))
           .str();
     }},
    {"ip.bind_address_no_port", [](const Env&) {
       return default_then_set(tcp_socket(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1);
     }},
    {"udp.ip_recverr", [](const Env&) { return default_then_set(udp_socket(), IPPROTO_IP, IP_RECVERR, 1); }},
    {"tcp.ip_recverr", [](const Env&) { return set_get(tcp_socket(), IPPROTO_IP, IP_RECVERR, 1); }},
    {"udp.errqueue.empty", [](const Env& e) {
       Fd u = udp_socket();
       Obs o;
       o << "plain=" << recv_msg(e, u, MSG_ERRQUEUE);
       set_int(u, IPPROTO_IP, IP_RECVERR, 1);
       return (o << " recverr=" << recv_msg(e, u, MSG_ERRQUEUE)).str();
     }},
    {"tcp.errqueue.empty", [](const Env& e) {
       Fd t = tcp_to(e, kEcho);
       set_int(t, IPPROTO_IP, IP_RECVERR, 1);
       return recv_msg(e, t, MSG_ERRQUEUE);
     }},
    {"udp.recverr.port_unreachable", [](const Env& e) {
       // IP_RECVERR on a connected socket: the ICMP error is queued with its
       // details, reported once by recv, and POLLERR shows it.
       Fd u = udp_socket();
       set_int(u, IPPROTO_IP, IP_RECVERR, 1);
       connect_to(u, e.peer, kClosed);
       ::send(u, "abc", 3, 0);
       wait_for([&] { return poll_has(u, POLLERR); });
       Obs o;
       o << "poll=" << poll_now(u);
       o << " errqueue=" << recv_msg(e, u, MSG_ERRQUEUE | MSG_DONTWAIT);
       o << " again=" << recv_msg(e, u, MSG_ERRQUEUE | MSG_DONTWAIT);
       o << " so_error=" << get_int(u, SOL_SOCKET, SO_ERROR);
       return (o << " recv=" << recv_str(u, 10, MSG_DONTWAIT) << " poll_after=" << poll_now(u)).str();
     }},
    {"udp.recverr.recv_first", [](const Env& e) {
       // recv reports the error once; the queue keeps its entry.
       Fd u = udp_socket();
       set_int(u, IPPROTO_IP, IP_RECVERR, 1);
       connect_to(u, e.peer, kClosed);
       ::send(u, "abc", 3, 0);
       wait_for([&] { return poll_has(u, POLLERR); });
       Obs o;
       o << "recv=" << recv_str(u, 10, MSG_DONTWAIT) << " poll=" << poll_now(u);
       o << " errqueue=" << recv_msg(e, u, MSG_ERRQUEUE | MSG_DONTWAIT, 1);
       return (o << " poll_after=" << poll_now(u)).str();
     }},
    {"udp.recverr.unconnected", [](const Env& e) {
       // Unconnected: with IP_RECVERR the error is queued (and pending),
       Fd u = udp_socket();
       set_int(u, IPPROTO_IP, IP_RECVERR, 1);
       sendto_str(u, "abcd", e.peer, kClosed);
       wait_for([&] { return poll_has(u, POLLERR); });
       Obs o;
       o << "poll=" << poll_now(u);
       o << " recv=" << recv_str(u, 10, MSG_DONTWAIT);
       return (o << " errqueue=" << recv_msg(e, u, MSG_ERRQUEUE | MSG_DONTWAIT)).str();
     }},
    {"udp.icmp.unconnected_ignored", [](const Env& e) {
       // ...without it the error is not reported at all (udp(7)). The echo
       // that follows proves the ICMP error had time to arrive first.
       Fd u = udp_socket();
       sendto_str(u, "abcd", e.peer, kClosed);
       sendto_str(u, "echo", e.peer, kUdpEcho);
       wait_readable(u);
       Obs o;
       o << recv_str(u, 10, MSG_DONTWAIT);
       return (o << " then=" << recv_str(u, 10, MSG_DONTWAIT)).str();
     }},
    {"udp.icmp.connected_refused", [](const Env& e) {
       Fd u = udp_socket();
       connect_to(u, e.peer, kClosed);
       ::send(u, "abc", 3, 0);
       wait_for([&] { return poll_has(u, POLLERR); });
       Obs o;
       o << "poll=" << poll_now(u) << " recv=" << recv_str(u, 10, MSG_DONTWAIT);
       o << " again=" << recv_str(u, 10, MSG_DONTWAIT);
       return (o << " errqueue=" << recv_msg(e, u, MSG_ERRQUEUE | MSG_DONTWAIT)).str();
     }},
    {"udp.icmp.connected_send_reports", [](const Env& e) {
       // A pending error is also what the next send reports.
       Fd u = udp_socket();
       connect_to(u, e.peer, kClosed);
       ::send(u, "abc", 3, 0);
       wait_for([&] { return poll_has(u, POLLERR); });
       Obs o;
       o << "send=" << rc(::send(u, "x", 1, 0));
       return (o << " again=" << rc(::send(u, "x", 1, 0))).str();
     }},
    {"udp.ip_pktinfo", [](const Env&) { return default_then_set(udp_socket(), IPPROTO_IP, IP_PKTINFO, 1); }},
    {"udp.ip_pktinfo.cmsg", [](const Env& e) { return datagram_with(e, IPPROTO_IP, IP_PKTINFO); }},
    {"udp.ip_pktinfo.broadcast", [](const Env& e) { return datagram_with(e, IPPROTO_IP, IP_PKTINFO, 6, "198.18.0.255"); }},
    {"udp.ip_pktinfo.ctrunc", [](const Env& e) {
       // No room for the ancillary data: MSG_CTRUNC.
       uint16_t port = 0;
       Fd u = udp_bound(&port, IP_PKTINFO);
       Ctl ctl(e);
       peer_udp(ctl, port, 5);
       wait_readable(u);
       return recv_msg(e, u, MSG_DONTWAIT, 2048, 4);
     }},
    {"udp.ip_pktinfo.send", [](const Env& e) {
       // IP_PKTINFO in sendmsg chooses the source address.
       Fd u = udp_socket();
       Obs o;
       o << "self: " << send_pktinfo(e, u, e.self, 0);
       o << " nonlocal: " << send_pktinfo(e, u, ip("198.18.0.77"), 0);
       o << " ifindex: " << send_pktinfo(e, u, any(), static_cast<int>(if_nametoindex(e.ifname.c_str())));
       return (o << " bad_ifindex: " << send_pktinfo(e, u, any(), 9999)).str();
     }},
    {"udp.ip_pktinfo.send_bound", [](const Env& e) {
       // A socket bound to an address: spec_dst does not override it.
       Fd u = udp_socket();
       bind_to(u, e.self, 0);
       return send_pktinfo(e, u, any(), 0);
     }},
    {"udp6.ipv6_recvpktinfo.cmsg", [](const Env& e) {
       // A dual-stack socket gets IPV6_PKTINFO with the v4-mapped address.
       uint16_t port = 0;
       Fd u = udp6_bound(&port, IPPROTO_IPV6, IPV6_RECVPKTINFO);
       Ctl ctl(e);
       peer_udp(ctl, port, 5);
       wait_readable(u);
       return recv_msg(e, u, MSG_DONTWAIT);
     }},
    {"udp6.ip_pktinfo.cmsg", [](const Env& e) {
       // ...and IP_PKTINFO (level IPPROTO_IP) works on it too.
       uint16_t port = 0;
       Fd u = udp6_bound(&port, IPPROTO_IP, IP_PKTINFO);
       Ctl ctl(e);
       peer_udp(ctl, port, 5);
       wait_readable(u);
       return (Obs() << "get=" << get_int(u, IPPROTO_IP, IP_PKTINFO) << " " << recv_msg(e, u, MSG_DONTWAIT)).str();
     }},
    {"udp6.ipv6_options", [](const Env&) {
       Fd u(::socket(AF_INET6, SOCK_DGRAM, 0));
       return (Obs() << "recvpktinfo:" << default_then_set(u, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
                     << " v6only:" << default_then_set(u, IPPROTO_IPV6, IPV6_V6ONLY, 0)
                     << " unicast_hops:" << default_then_set(u, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 9))
           .str();
     }},
    {"udp.ip_recvttl_recvtos.cmsg", [](const Env& e) {
       uint16_t port = 0;
       Fd u = udp_bound(&port, IP_RECVTTL);
       set_int(u, IPPROTO_IP, IP_RECVTOS, 1);
       set_int(u, IPPROTO_IP, IP_PKTINFO, 1);
       set_int(u, SOL_SOCKET, SO_TIMESTAMP, 1);
       Ctl ctl(e);
       peer_udp(ctl, port, 5);
       wait_readable(u);
       return recv_msg(e, u, MSG_DONTWAIT);
     }},
    {"udp.ip_recvorigdstaddr.cmsg", [](const Env& e) { return datagram_with(e, IPPROTO_IP, IP_RECVORIGDSTADDR); }},
    {"udp.ip_recv_options", [](const Env&) {
       Fd u = udp_socket();
       return (Obs() << "recvttl:" << default_then_set(u, IPPROTO_IP, IP_RECVTTL, 1)
                     << " recvtos:" << default_then_set(u, IPPROTO_IP, IP_RECVTOS, 1)
                     << " origdstaddr:" << default_then_set(u, IPPROTO_IP, IP_RECVORIGDSTADDR, 1))
           .str();
     }},
    {"udp.cmsg.none_asked", [](const Env& e) { return datagram_with(e, IPPROTO_IP, 0); }},

    // ---- multicast (ip(7)) ------------------------------------------------------------------
    {"udp.multicast.defaults", [](const Env& e) {
       Fd fd = udp_socket();
       return (Obs() << "ttl=" << get_int(fd, IPPROTO_IP, IP_MULTICAST_TTL)
                     << " loop=" << get_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP)
                     << " if=" << get_addr_opt(e, fd, IPPROTO_IP, IP_MULTICAST_IF)
                     << " all=" << get_int(fd, IPPROTO_IP, IP_MULTICAST_ALL))
           .str();
     }},
    {"udp.multicast.ttl", [](const Env&) {
       Fd fd = udp_socket();
       return (Obs() << set_get(fd, IPPROTO_IP, IP_MULTICAST_TTL, 5) << " 256=" << set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, 256)
                     << " reset:" << set_get(fd, IPPROTO_IP, IP_MULTICAST_TTL, -1))
           .str();
     }},
    {"udp.multicast.loop", [](const Env&) { return set_get(udp_socket(), IPPROTO_IP, IP_MULTICAST_LOOP, 0); }},
    {"udp.multicast.all", [](const Env&) { return set_get(udp_socket(), IPPROTO_IP, IP_MULTICAST_ALL, 0); }},
    {"udp.multicast.if", [](const Env& e) {
       Fd fd = udp_socket();
       Obs o;
       o << "self=" << ok(::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &e.self, sizeof e.self));
       o << " get=" << get_addr_opt(e, fd, IPPROTO_IP, IP_MULTICAST_IF);
       in_addr other = ip("198.18.0.77");
       o << " nonlocal=" << ok(::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &other, sizeof other));
       ip_mreqn m{};
       m.imr_ifindex = static_cast<int>(if_nametoindex(e.ifname.c_str()));
       o << " mreqn=" << ok(::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m));
       o << " get=" << get_addr_opt(e, fd, IPPROTO_IP, IP_MULTICAST_IF);
       in_addr none = any();
       o << " any=" << ok(::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &none, sizeof none));
       return (o << " get=" << get_addr_opt(e, fd, IPPROTO_IP, IP_MULTICAST_IF)).str();
     }},
    {"udp.multicast.membership", [](const Env& e) {
       Fd fd = udp_socket();
       Obs o;
       o << "join=" << join(fd, "239.1.2.3", any());
       o << " again=" << join(fd, "239.1.2.3", any());
       o << " drop=" << join(fd, "239.1.2.3", any(), IP_DROP_MEMBERSHIP);
       o << " drop_again=" << join(fd, "239.1.2.3", any(), IP_DROP_MEMBERSHIP);
       o << " unicast=" << join(fd, "198.18.0.1", any());
       o << " by_addr=" << join(fd, "239.1.2.5", e.self);
       o << " nonlocal_if=" << join(fd, "239.1.2.6", ip("198.18.0.77"));
       ip_mreqn m{};
       m.imr_multiaddr = ip("239.1.2.7");
       m.imr_ifindex = static_cast<int>(if_nametoindex(e.ifname.c_str()));
       o << " mreqn=" << ok(::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m));
       m.imr_ifindex = 9999;
       o << " bad_ifindex=" << ok(::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m));
       return (o << " short=" << ok(::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, 4))).str();
     }},
    {"tcp.multicast.options", [](const Env&) {
       Fd fd = tcp_socket();
       return (Obs() << "join=" << join(fd, "239.1.2.3", any()) << " ttl=" << set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, 2)
                     << " loop=" << set_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0)
                     << " get_ttl=" << get_int(fd, IPPROTO_IP, IP_MULTICAST_TTL))
           .str();
     }},
    {"udp.multicast.receive", [](const Env& e) {
       // A joined group's datagrams arrive, with IP_PKTINFO naming the group.
       uint16_t port = 0;
       Fd u = udp_bound(&port, IP_PKTINFO);
       Obs o;
       o << "join=" << join(u, "239.1.2.3", any());
       Ctl ctl(e);
       peer_udp(ctl, port, 5, "239.1.2.3");
       wait_readable(u);
       return (o << " " << recv_msg(e, u, MSG_DONTWAIT)).str();
     }},
    {"udp.multicast.not_joined", [](const Env& e) {
       // Without membership (or after leaving) the group's datagram is not
       // delivered: the unicast datagram sent after it is the first to come.
       uint16_t port = 0;
       Fd u = udp_bound(&port);
       Ctl ctl(e);
       peer_udp(ctl, port, 5, "239.1.2.3");
       peer_udp(ctl, port, 7);
       wait_readable(u);
       Obs o;
       o << "never_joined=" << recv_str(u, 100, MSG_DONTWAIT);
       join(u, "239.1.2.3", any());
       join(u, "239.1.2.3", any(), IP_DROP_MEMBERSHIP);
       peer_udp(ctl, port, 5, "239.1.2.3");
       peer_udp(ctl, port, 8);
       wait_readable(u);
       return (o << " left=" << recv_str(u, 100, MSG_DONTWAIT)).str();
     }},
    {"udp.multicast.other_socket_joined", [](const Env& e) {
       // IP_MULTICAST_ALL (on by default): a socket on the port receives a
       // group another socket joined; off, it does not.
       uint16_t port = 0;
       Fd a = udp_socket();
       set_int(a, SOL_SOCKET, SO_REUSEADDR, 1);
       bind_to(a, any(), 0);
       port = local_port(a);
       Fd b = udp_socket();
       set_int(b, SOL_SOCKET, SO_REUSEADDR, 1);
       bind_to(b, any(), port);
       join(b, "239.1.2.3", any());
       Ctl ctl(e);
       peer_udp(ctl, port, 5, "239.1.2.3");
       wait_readable(a);
       wait_readable(b);
       Obs o;
       o << "a=" << recv_str(a, 100, MSG_DONTWAIT) << " b=" << recv_str(b, 100, MSG_DONTWAIT);
       set_int(a, IPPROTO_IP, IP_MULTICAST_ALL, 0);
       peer_udp(ctl, port, 6, "239.1.2.3");
       wait_readable(b);
       peer_udp(ctl, port, 7);  // unicast: to one of the two
       wait_for([&] { return poll_has(a, POLLIN) || inq(b) == 7; });
       return (o << " all0: a=" << recv_str(a, 100, MSG_DONTWAIT)).str();
     }},
    {"udp.multicast.bound_to_group", [](const Env& e) {
       // A socket bound to the group address itself receives it.
       Fd u = udp_socket();
       Obs o;
       o << "bind=" << ok(bind_to(u, ip("239.1.2.3"), 0));
       uint16_t port = local_port(u);
       o << " join=" << join(u, "239.1.2.3", any());
       Ctl ctl(e);
       peer_udp(ctl, port, 5, "239.1.2.3");
       wait_readable(u);
       return (o << " " << recv_msg(e, u, MSG_DONTWAIT)).str();
     }},
    {"udp.multicast.send", [](const Env& e) {
       // To a group: TTL 1 unless IP_MULTICAST_TTL, not IP_TTL.
       Fd u = udp_socket();
       set_int(u, IPPROTO_IP, IP_TTL, 33);
       Obs o;
       o << "default: " << reflect(e, u, kUdpGroupReflect, "239.1.2.4");
       set_int(u, IPPROTO_IP, IP_MULTICAST_TTL, 5);
       return (o << " ttl5: " << reflect(e, u, kUdpGroupReflect, "239.1.2.4")).str();
     }},
    {"udp.multicast.loopback", [](const Env& e) {
       // IP_MULTICAST_LOOP (on by default) delivers our own group datagrams
       // to our sockets that joined; off, it does not.
       uint16_t port = 0;
       Fd rx = udp_bound(&port);
       join(rx, "239.1.2.3", any());
       Fd tx = udp_socket();
       sendto_str(tx, "loop", ip("239.1.2.3"), port);
       wait_readable(rx);
       Obs o;
       o << "on=" << recv_str(rx, 100, MSG_DONTWAIT);
       set_int(tx, IPPROTO_IP, IP_MULTICAST_LOOP, 0);
       sendto_str(tx, "none", ip("239.1.2.3"), port);
       Ctl ctl(e);
       peer_udp(ctl, port, 3);
       wait_readable(rx);
       return (o << " off=" << recv_str(rx, 100, MSG_DONTWAIT)).str();
     }},

    // ---- ioctl --------------------------------------------------------------------------------
    {"tcp.ioctl.fresh", [](const Env&) {
       Fd fd = tcp_socket();
       return (Obs() << "inq=" << rc(outq(fd, SIOCINQ)) << " outq=" << rc(outq(fd, SIOCOUTQ))
                     << " nsd=" << rc(outq(fd, SIOCOUTQNSD)))
           .str();
     }},
    {"tcp.ioctl.listening", [](const Env&) {
       Fd l = listener();
       return (Obs() << "inq=" << rc(outq(l, SIOCINQ)) << " outq=" << rc(outq(l, SIOCOUTQ)) << " nsd=" << rc(outq(l, SIOCOUTQNSD)))
           .str();
     }},
    {"tcp.ioctl.outq_nsd", [](const Env& e) {
       // Corked data is queued and unsent; once uncorked and acknowledged,
       // both are 0.
       Fd fd = tcp_to(e, kSilent);
       set_int(fd, IPPROTO_TCP, TCP_CORK, 1);
       ::send(fd, std::string(100, 'q').data(), 100, 0);
       Obs o;
       o << "corked outq=" << outq(fd, SIOCOUTQ) << " nsd=" << outq(fd, SIOCOUTQNSD);
       set_int(fd, IPPROTO_TCP, TCP_CORK, 0);
       wait_for([&] { return outq(fd, SIOCOUTQ) == 0; });
       return (o << " acked outq=" << outq(fd, SIOCOUTQ) << " nsd=" << outq(fd, SIOCOUTQNSD)).str();
     }},
    {"tcp.ioctl.inq_data", [](const Env& e) {
       Ctl ctl(e);
       ctl.send("send 7");
       wait_for([&] { return inq(ctl.fd()) >= 7; });
       return "inq=" + std::to_string(inq(ctl.fd()));
     }},
    {"udp.ioctl", [](const Env& e) {
       uint16_t port = 0;
       Fd u = udp_bound(&port);
       Obs o;
       o << "empty inq=" << rc(outq(u, SIOCINQ)) << " outq=" << rc(outq(u, SIOCOUTQ)) << " nsd=" << rc(outq(u, SIOCOUTQNSD));
       Ctl ctl(e);
       peer_udp(ctl, port, 9);
       peer_udp(ctl, port, 4);
       wait_for([&] { return inq(u) > 0; });
       return (o << " queued inq=" << rc(outq(u, SIOCINQ))).str();
     }},
    {"tcp.ioctl.siocatmark", [](const Env& e) {
       Fd fd = tcp_to(e, kEcho);
       int v = -1;
       std::string r = ok(::ioctl(fd, SIOCATMARK, &v));
       return (Obs() << r << " " << v).str();
     }},
    {"tcp.ioctl.fionbio", [](const Env&) {
       Fd l = listener();
       int on = 1;
       Obs o;
       o << ok(::ioctl(l, FIONBIO, &on));
       o << " flags=" << ((::fcntl(l, F_GETFL) & O_NONBLOCK) != 0 ? "O_NONBLOCK" : "0");
       return (o << " accept=" << rc(::accept(l, nullptr, nullptr))).str();
     }},
    {"udp.ioctl.interface", [](const Env& e) {
       // Interface ioctls on an AF_INET socket (how programs list addresses).
       Fd u = udp_socket();
       ifreq r{};
       std::strncpy(r.ifr_name, e.ifname.c_str(), IFNAMSIZ - 1);
       Obs o;
       o << "SIOCGIFINDEX=" << ok(::ioctl(u, SIOCGIFINDEX, &r));
       o << (r.ifr_ifindex == static_cast<int>(if_nametoindex(e.ifname.c_str())) ? "(same)" : "(other)");
       std::strncpy(r.ifr_name, "lo", IFNAMSIZ - 1);
       o << " SIOCGIFFLAGS(lo)=" << ok(::ioctl(u, SIOCGIFFLAGS, &r));
       o << ((r.ifr_flags & IFF_LOOPBACK) != 0 ? "(loopback)" : "(?)");
       char buf[4096];
       ifconf c{};
       c.ifc_len = sizeof buf;
       c.ifc_buf = buf;
       o << " SIOCGIFCONF=" << ok(::ioctl(u, SIOCGIFCONF, &c));
       return (o << " unknown=" << ok(::ioctl(u, 0x89ff, &r)) << " tty=" << ok(::ioctl(u, TCGETS, buf))).str();
     }},

    // ---- splice(2) with a socket at one end ---------------------------------------------
    {"tcp.splice.pipe_to_socket", [](const Env& e) {
       Fd s = tcp_to(e, kEcho);
       Pipe p;
       (void)::write(p.w, "spliced", 7);
       Obs o;
       o << "splice=" << rc(splice_(p.r, s, 7, 0));
       return (o << " echo=" << read_n(s, 7) << " pipe_left=" << inq(p.r)).str();
     }},
    {"tcp.splice.pipe_to_socket_partial", [](const Env& e) {
       // len smaller than what the pipe holds: the rest stays in the pipe.
       Fd s = tcp_to(e, kEcho);
       Pipe p;
       (void)::write(p.w, "abcdefgh", 8);
       Obs o;
       o << "splice=" << rc(splice_(p.r, s, 3, 0));
       return (o << " echo=" << read_n(s, 3) << " pipe=" << pipe_read(p.r, 100)).str();
     }},
    {"tcp.splice.pipe_to_socket_empty", [](const Env& e) {
       Fd s = tcp_to(e, kEcho);
       Pipe p;
       Obs o;
       o << "nonblock=" << rc(splice_(p.r, s, 10, SPLICE_F_NONBLOCK));
       p.w.reset();
       return (o << " no_writers=" << rc(splice_(p.r, s, 10, 0))).str();
     }},
    {"tcp.splice.socket_to_pipe", [](const Env& e) {
       Ctl ctl(e);
       Pipe p;
       ctl.send("send 6");
       wait_for([&] { return inq(ctl.fd()) >= 6; });
       Obs o;
       o << "splice=" << rc(splice_(ctl.fd(), p.w, 100, 0));
       return (o << " pipe=" << pipe_read(p.r, 100) << " inq=" << inq(ctl.fd())).str();
     }},
    {"tcp.splice.socket_to_pipe_partial", [](const Env& e) {
       Ctl ctl(e);
       Pipe p;
       ctl.send("send 6");
       wait_for([&] { return inq(ctl.fd()) >= 6; });
       Obs o;
       o << "splice=" << rc(splice_(ctl.fd(), p.w, 4, 0));
       return (o << " pipe=" << pipe_read(p.r, 100) << " inq=" << inq(ctl.fd())).str();
     }},
    {"tcp.splice.socket_to_pipe_blocks", [](const Env& e) {
       // A blocking splice from an empty socket waits for data.
       Ctl ctl(e);
       Pipe p;
       std::atomic<pid_t> tid{0};
       long n = -2;
       std::thread t([&] {
         tid = static_cast<pid_t>(syscall(SYS_gettid));
         n = splice_(ctl.fd(), p.w, 100, 0);
       });
       wait_for([&] { return tid != 0 && thread_state(tid) == 'S'; });
       ctl.send("send 3");
       t.join();
       return (Obs() << "splice=" << n << " pipe=" << pipe_read(p.r, 100)).str();
     }},
    {"tcp.splice.socket_to_pipe_full", [](const Env& e) {
       // A full pipe: non-blocking splice is EAGAIN and the data stays.
       Ctl ctl(e);
       Pipe p;
       ::fcntl(p.w, F_SETFL, O_NONBLOCK);
       std::string fill(65536, 'f');
       while (::write(p.w, fill.data(), fill.size()) > 0) {
       }
       ctl.send("send 6");
       wait_for([&] { return inq(ctl.fd()) >= 6; });
       Obs o;
       o << "splice=" << rc(splice_(ctl.fd(), p.w, 100, SPLICE_F_NONBLOCK));
       return (o << " inq=" << inq(ctl.fd())).str();
     }},
    {"tcp.splice.nonblock_empty", [](const Env& e) {
       Fd s = tcp_to(e, kEcho);
       Pipe p;
       Obs o;
       o << "flag=" << rc(splice_(s, p.w, 100, SPLICE_F_NONBLOCK));
       ::fcntl(s, F_SETFL, O_NONBLOCK);
       return (o << " o_nonblock=" << rc(splice_(s, p.w, 100, 0))).str();
     }},
    {"tcp.splice.eof", [](const Env& e) {
       Fd s = tcp_to(e, kHello);
       Pipe p;
       wait_for([&] { return poll_has(s, POLLRDHUP); });
       Obs o;
       o << "first=" << rc(splice_(s, p.w, 100, 0));
       return (o << " then=" << rc(splice_(s, p.w, 100, 0)) << " pipe=" << pipe_read(p.r, 100)).str();
     }},
    {"tcp.splice.errors", [](const Env& e) {
       Fd a = tcp_to(e, kEcho);
       Fd b = tcp_to(e, kEcho);
       Pipe p;
       loff_t off = 0;
       Obs o;
       o << "socket_to_socket=" << rc(splice_(a, b, 10, SPLICE_F_NONBLOCK));
       o << " offset_on_socket=" << rc(splice_(a, p.w, 10, SPLICE_F_NONBLOCK, &off));
       o << " unconnected=" << rc(splice_(tcp_socket(), p.w, 10, SPLICE_F_NONBLOCK));
       o << " listening=" << rc(splice_(listener(), p.w, 10, SPLICE_F_NONBLOCK));
       return (o << " to_unconnected=" << rc(splice_(p.r, tcp_socket(), 10, SPLICE_F_NONBLOCK))).str();
     }},
    {"udp.splice.socket_to_pipe", [](const Env& e) {
       uint16_t port = 0;
       Fd u = udp_bound(&port);
       Pipe p;
       Ctl ctl(e);
       peer_udp(ctl, port, 5);
       wait_readable(u);
       Obs o;
       o << "splice=" << rc(splice_(u, p.w, 100, SPLICE_F_NONBLOCK));
       return (o << " pipe=" << pipe_read(p.r, 100)).str();
     }},
    {"udp.splice.pipe_to_socket", [](const Env& e) {
       Fd u = udp_socket();
       connect_to(u, e.peer, kUdpReflect);
       Pipe p;
       (void)::write(p.w, "12345", 5);
       Obs o;
       o << "splice=" << rc(splice_(p.r, u, 100, SPLICE_F_NONBLOCK));
       return (o << " reflected=" << reflected_lengths(u, 1)).str();
     }},

    // ---- TCP calls and errors ---------------------------------------------------------------
    {"tcp.connect.refused", [](const Env& e) { return ok(connect_to(tcp_socket(), e.peer, kClosed)); }},
    {"tcp.connect.nonblocking", [](const Env& e) {
       // Once connected, the next connect() reports success, later ones
       // EISCONN (__inet_stream_connect).
       Fd fd = tcp_socket(SOCK_NONBLOCK);
       Obs o;
       o << "connect=" << ok(connect_to(fd, e.peer, kEcho));
       wait_for([&] { return poll_has(fd, POLLOUT); });
       o << " poll=" << poll_now(fd);
       o << " again=" << ok(connect_to(fd, e.peer, kEcho));
       o << " so_error=" << get_int(fd, SOL_SOCKET, SO_ERROR);
       return (o << " after=" << ok(connect_to(fd, e.peer, kEcho))).str();
     }},
    {"tcp.connect.nonblocking_in_progress", [](const Env& e) {
       // A connection that is not answered: EALREADY while it tries.
       Fd fd = tcp_socket(SOCK_NONBLOCK);
       Obs o;
       o << "connect=" << ok(connect_to(fd, ip("198.18.0.99"), kEcho));
       return (o << " again=" << ok(connect_to(fd, ip("198.18.0.99"), kEcho)) << " poll=" << poll_now(fd)).str();
     }},
    {"tcp.connect.nonblocking_refused", [](const Env& e) {
       Fd fd = tcp_socket(SOCK_NONBLOCK);
       Obs o;
       o << "connect=" << ok(connect_to(fd, e.peer, kClosed));
       wait_for([&] { return poll_has(fd, POLLOUT) || poll_has(fd, POLLERR); });
       o << " poll=" << poll_now(fd) << " so_error=" << get_int(fd, SOL_SOCKET, SO_ERROR);
       o << " so_error_again=" << get_int(fd, SOL_SOCKET, SO_ERROR) << " poll_after=" << poll_now(fd);
       return (o << " reconnect=" << ok(connect_to(fd, e.peer, kClosed))).str();
     }},
    {"tcp.connect.listening", [](const Env& e) { return ok(connect_to(listener(), e.peer, kEcho)); }},
    {"tcp.connect.unspec", [](const Env& e) {
       Fd fd = tcp_to(e, kEcho);
       sockaddr s{};
       s.sa_family = AF_UNSPEC;
       Obs o;
       o << ok(::connect(fd, &s, sizeof s));
       return (o << " peer=" << peername(fd) << " poll=" << poll_now(fd)).str();
     }},
    {"tcp.connect.bad_address", [](const Env& e) {
       sockaddr_in a = sin(e.peer, kEcho);
       Obs o;
       o << "short=" << ok(::connect(tcp_socket(), reinterpret_cast<sockaddr*>(&a), 8));
       a.sin_family = AF_INET6;
       o << " family=" << ok(::connect(tcp_socket(), reinterpret_cast<sockaddr*>(&a), sizeof a));
       return (o << " null=" << ok(::connect(tcp_socket(), nullptr, sizeof a))).str();
     }},
    {"tcp.send.fresh", [](const Env&) { return rc(::send(tcp_socket(), "x", 1, MSG_NOSIGNAL)); }},
    {"tcp.recv.fresh", [](const Env&) { return rc(::recv(tcp_socket(), nullptr, 0, MSG_DONTWAIT)); }},
    {"tcp.send.listening", [](const Env&) { return rc(::send(listener(), "x", 1, MSG_NOSIGNAL)); }},
    {"tcp.recv.listening", [](const Env&) {
       char c;
       return rc(::recv(listener(), &c, 1, MSG_DONTWAIT));
     }},
    {"tcp.shutdown.fresh", [](const Env&) { return ok(::shutdown(tcp_socket(), SHUT_RDWR)); }},
    {"tcp.shutdown.listening", [](const Env&) {
       Fd l = listener();
       Obs o;
       o << ok(::shutdown(l, SHUT_RD));
       return (o << " poll=" << poll_now(l) << " accept=" << rc(::accept4(l, nullptr, nullptr, SOCK_NONBLOCK))).str();
     }},
    {"tcp.shutdown.bad_how", [](const Env& e) { return ok(::shutdown(tcp_to(e, kEcho), 7)); }},
    {"tcp.getpeername.fresh", [](const Env&) { return peername(tcp_socket()); }},
    {"tcp.names.connected", [](const Env& e) {
       Fd fd = tcp_to(e, kEcho);
       sockaddr_in a{};
       socklen_t len = sizeof a;
       ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
       sockaddr_in p{};
       socklen_t plen = sizeof p;
       ::getpeername(fd, reinterpret_cast<sockaddr*>(&p), &plen);
       return (Obs() << addr_name(e, a.sin_addr) << " port=" << (a.sin_port != 0 ? "set" : "0")
                     << " peer=" << addr_name(e, p.sin_addr) << ":" << static_cast<int>(ntohs(p.sin_port))
                     << " len=" << static_cast<int>(len))
           .str();
     }},
    {"tcp.bind.errors", [](const Env& e) {
       Fd a = tcp_socket();
       Obs o;
       o << "first=" << ok(bind_to(a, any(), 0));
       o << " twice=" << ok(bind_to(a, any(), 0));
       ::listen(a, 1);
       Fd b = tcp_socket();
       o << " in_use=" << ok(bind_to(b, any(), local_port(a)));
       Fd c = tcp_socket();
       set_int(c, SOL_SOCKET, SO_REUSEADDR, 1);
       o << " in_use_reuseaddr=" << ok(bind_to(c, any(), local_port(a)));
       o << " peer_addr=" << ok(bind_to(tcp_socket(), e.peer, 0));
       sockaddr_in sh = sin(any(), 0);
       o << " short=" << ok(::bind(tcp_socket(), reinterpret_cast<sockaddr*>(&sh), 8));
       sockaddr_in6 six{};
       six.sin6_family = AF_INET6;
       o << " inet6_on_inet=" << ok(::bind(tcp_socket(), reinterpret_cast<sockaddr*>(&six), sizeof six));
       sockaddr_in unspec = sin(any(), 0);
       unspec.sin_family = AF_UNSPEC;
       return (o << " unspec_any=" << ok(::bind(tcp_socket(), reinterpret_cast<sockaddr*>(&unspec), sizeof unspec))).str();
     }},
    {"tcp.listen.autobinds", [](const Env&) {
       Fd fd = tcp_socket();
       Obs o;
       o << ok(::listen(fd, 4));
       return (o << " port=" << (local_port(fd) != 0 ? "set" : "0") << " again=" << ok(::listen(fd, 8))).str();
     }},
    {"tcp.listen.connected", [](const Env& e) { return ok(::listen(tcp_to(e, kEcho), 4)); }},
    {"tcp.accept.errors", [](const Env&) {
       Obs o;
       o << "not_listening=" << rc(::accept(tcp_socket(), nullptr, nullptr));
       Fd l = listener();
       ::fcntl(l, F_SETFL, O_NONBLOCK);
       o << " empty=" << rc(::accept(l, nullptr, nullptr));
       return (o << " bad_flags=" << rc(::accept4(l, nullptr, nullptr, 0x4))).str();
     }},
    {"tcp.accept.address", [](const Env& e) {
       Fd l = listener();
       Ctl ctl(e);
       if (ctl.ask("connect " + std::to_string(local_port(l)) + " 2") != "ok") return std::string("peer failed");
       sockaddr_in a{};
       socklen_t len = sizeof a;
       Fd c(::accept(l, reinterpret_cast<sockaddr*>(&a), &len));
       wait_for([&] { return inq(c) >= 2; });
       return (Obs() << "from=" << addr_name(e, a.sin_addr) << " len=" << static_cast<int>(len) << " poll=" << poll_now(c)
                     << " nonblock=" << ((::fcntl(c, F_GETFL) & O_NONBLOCK) != 0 ? 1 : 0) << " " << socket_identity(c))
           .str();
     }},
    {"tcp.accept.inherits_options", [](const Env& e) {
       Fd l = listener();
       set_int(l, IPPROTO_TCP, TCP_NODELAY, 1);
       set_int(l, SOL_SOCKET, SO_KEEPALIVE, 1);
       set_int(l, IPPROTO_TCP, TCP_KEEPIDLE, 77);
       set_int(l, IPPROTO_IP, IP_TOS, 0x10);
       set_int(l, SOL_SOCKET, SO_RCVLOWAT, 9);
       set_int(l, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 5000);
       set_int(l, SOL_SOCKET, SO_PRIORITY, 2);
       set_int(l, SOL_SOCKET, SO_MARK, 7);
       set_int(l, SOL_SOCKET, SO_TIMESTAMP, 1);
       set_int(l, IPPROTO_IP, IP_PKTINFO, 1);
       ::fcntl(l, F_SETFL, O_NONBLOCK);
       Ctl ctl(e);
       if (ctl.ask("connect " + std::to_string(local_port(l)) + " 0") != "ok") return std::string("peer failed");
       wait_for([&] { return poll_has(l, POLLIN); });
       Fd c(::accept(l, nullptr, nullptr));
       return (Obs() << "nodelay=" << get_int(c, IPPROTO_TCP, TCP_NODELAY) << " keepalive=" << get_int(c, SOL_SOCKET, SO_KEEPALIVE)
                     << " keepidle=" << get_int(c, IPPROTO_TCP, TCP_KEEPIDLE) << " tos=" << get_int(c, IPPROTO_IP, IP_TOS)
                     << " rcvlowat=" << get_int(c, SOL_SOCKET, SO_RCVLOWAT)
                     << " notsent_lowat=" << get_int(c, IPPROTO_TCP, TCP_NOTSENT_LOWAT)
                     << " priority=" << get_int(c, SOL_SOCKET, SO_PRIORITY) << " mark=" << get_int(c, SOL_SOCKET, SO_MARK)
                     << " timestamp=" << get_int(c, SOL_SOCKET, SO_TIMESTAMP)
                     << " pktinfo=" << get_int(c, IPPROTO_IP, IP_PKTINFO)
                     << " nonblock=" << ((::fcntl(c, F_GETFL) & O_NONBLOCK) != 0 ? 1 : 0))
           .str();
     }},
    {"tcp.poll.states", [](const Env& e) {
       Obs o;
       o << "fresh=" << poll_now(tcp_socket());
       o << " listening=" << poll_now(listener());
       Fd c = tcp_to(e, kEcho);
       return (o << " connected=" << poll_now(c)).str();
     }},
    {"tcp.peer_closes", [](const Env& e) {
       Fd fd = tcp_to(e, kHello);
       wait_for([&] { return poll_has(fd, POLLRDHUP); });
       Obs o;
       o << "poll=" << poll_now(fd);
       o << " recv=" << recv_str(fd, 100) << " eof=" << recv_str(fd, 100) << " eof_again=" << recv_str(fd, 100);
       return (o << " poll_after=" << poll_now(fd)).str();
     }},
    {"tcp.peer_resets", [](const Env& e) {
       // The RST comes on request, after connect() returned: a peer that
       // resets right after accept() can beat the connecting thread's
       // wake-up on a loaded machine, and connect() then fails (as on Linux).
       Ctl ctl(e);
       const int fd = ctl.fd();
       ctl.send("rst");
       wait_for([&] { return poll_has(fd, POLLERR) || poll_has(fd, POLLHUP); });
       Obs o;
       o << "poll=" << poll_now(fd) << " so_error=" << get_int(fd, SOL_SOCKET, SO_ERROR);
       o << " recv=" << recv_str(fd, 100, MSG_DONTWAIT);
       o << " send=" << rc(::send(fd, "x", 1, MSG_NOSIGNAL));
       return (o << " poll_after=" << poll_now(fd)).str();
     }},
    {"tcp.peer_resets.recv_first", [](const Env& e) {
       Ctl ctl(e);
       const int fd = ctl.fd();
       ctl.send("rst");
       wait_for([&] { return poll_has(fd, POLLERR) || poll_has(fd, POLLHUP); });
       Obs o;
       o << "recv=" << recv_str(fd, 100, MSG_DONTWAIT);
       return (o << " again=" << recv_str(fd, 100, MSG_DONTWAIT) << " getpeername=" << peername(fd)
                 << " so_error=" << get_int(fd, SOL_SOCKET, SO_ERROR))
           .str();
     }},
    {"tcp.shutdown.write", [](const Env& e) {
       Fd fd = tcp_to(e, kEcho);
       Obs o;
       o << ok(::shutdown(fd, SHUT_WR));
       o << " send=" << rc(::send(fd, "x", 1, MSG_NOSIGNAL));
       wait_for([&] { return poll_has(fd, POLLRDHUP); });  // the echo server closes in turn
       return (o << " poll=" << poll_now(fd) << " recv=" << recv_str(fd, 10)).str();
     }},
    {"tcp.shutdown.read", [](const Env& e) {
       Fd fd = tcp_to(e, kEcho);
       Obs o;
       o << ok(::shutdown(fd, SHUT_RD));
       o << " poll=" << poll_now(fd) << " recv=" << recv_str(fd, 10);
       return (o << " send=" << rc(::send(fd, "x", 1, MSG_NOSIGNAL))).str();
     }},
    {"tcp.shutdown.both", [](const Env& e) {
       Fd fd = tcp_to(e, kEcho);
       Obs o;
       o << ok(::shutdown(fd, SHUT_RDWR));
       return (o << " poll=" << poll_now(fd) << " again=" << ok(::shutdown(fd, SHUT_RDWR))).str();
     }},
    {"tcp.recv.flags", [](const Env& e) {
       Ctl ctl(e);
       ctl.send("send 6");
       wait_for([&] { return inq(ctl.fd()) >= 6; });
       Obs o;
       o << "peek=" << recv_str(ctl.fd(), 4, MSG_PEEK);
       o << " trunc=" << rc(::recv(ctl.fd(), nullptr, 2, MSG_TRUNC | MSG_DONTWAIT));
       o << " rest=" << recv_str(ctl.fd(), 100, MSG_DONTWAIT);
       o << " dontwait=" << recv_str(ctl.fd(), 100, MSG_DONTWAIT);
       return (o << " oob=" << recv_str(ctl.fd(), 100, MSG_OOB | MSG_DONTWAIT)).str();
     }},
    {"tcp.recv.waitall", [](const Env& e) {
       Ctl ctl(e);
       ctl.send("send 4");
       wait_for([&] { return inq(ctl.fd()) >= 4; });
       std::atomic<pid_t> tid{0};
       std::string got;
       std::thread t([&] {
         tid = static_cast<pid_t>(syscall(SYS_gettid));
         got = recv_str(ctl.fd(), 8, MSG_WAITALL);
       });
       wait_for([&] { return tid != 0 && thread_state(tid) == 'S'; });
       ctl.send("send 4");
       t.join();
       return got;
     }},
    {"tcp.send.msg_oob", [](const Env& e) { return rc(::send(tcp_to(e, kEcho), "x", 1, MSG_OOB | MSG_NOSIGNAL)); }},
    {"tcp.sendmsg.cmsg", [](const Env& e) {
       // TCP ignores ancillary data outside SOL_SOCKET.
       Fd fd = tcp_to(e, kEcho);
       alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
       auto* c = reinterpret_cast<cmsghdr*>(ctl);
       c->cmsg_level = IPPROTO_IP;
       c->cmsg_type = IP_TTL;
       c->cmsg_len = CMSG_LEN(sizeof(int));
       char data[] = "cm";
       iovec v{data, 2};
       msghdr m{};
       m.msg_iov = &v;
       m.msg_iovlen = 1;
       m.msg_control = ctl;
       m.msg_controllen = sizeof ctl;
       Obs o;
       o << rc(::sendmsg(fd, &m, MSG_NOSIGNAL));
       return (o << " echo=" << read_n(fd, 2)).str();
     }},
    {"tcp.sendfile_and_readv", [](const Env& e) {
       Fd fd = tcp_to(e, kEcho);
       char path[] = "/tmp/compat-sendfile-XXXXXX";
       Fd f(::mkstemp(path));
       ::unlink(path);
       (void)::write(f, "sendfile", 8);
       off_t off = 0;
       Obs o;
       o << "sendfile=" << rc(::sendfile(fd, f, &off, 8)) << " off=" << static_cast<long>(off);
       char a[3], b[5];
       iovec v[2] = {{a, 3}, {b, 5}};
       wait_for([&] { return inq(fd) >= 8; });
       o << " readv=" << rc(::readv(fd, v, 2)) << ":" << std::string(a, 3) << "|" << std::string(b, 5);
       return (o << " from_socket=" << rc(::sendfile(f, fd, nullptr, 8))).str();
     }},

    // ---- UDP calls and errors -------------------------------------------------------------------
    {"udp.send.errors", [](const Env& e) {
       Fd u = udp_socket();
       Obs o;
       o << "no_dest=" << rc(::send(u, "x", 1, 0));
       o << " port0=" << sendto_str(u, "x", e.peer, 0);
       o << " broadcast=" << sendto_str(u, "x", ip("198.18.0.255"), 9);
       std::string big(65508, 'b');
       o << " too_big=" << sendto_str(u, big, e.peer, kUdpEcho);
       return (o << " max=" << sendto_str(u, big.substr(1), e.peer, kUdpEcho)).str();
     }},
    {"udp.recv.empty", [](const Env&) {
       Fd u = udp_socket();
       char c;
       Obs o;
       o << "unbound=" << rc(::recv(u, &c, 1, MSG_DONTWAIT));
       return (o << " port=" << static_cast<int>(local_port(u))).str();
     }},
    {"udp.connect.and_unspec", [](const Env& e) {
       Fd u = udp_socket();
       Obs o;
       o << "connect=" << ok(connect_to(u, e.peer, kUdpEcho));
       sockaddr_in a{};
       socklen_t len = sizeof a;
       ::getsockname(u, reinterpret_cast<sockaddr*>(&a), &len);
       o << " local=" << addr_name(e, a.sin_addr);
       sockaddr un{};
       un.sa_family = AF_UNSPEC;
       o << " unspec=" << ok(::connect(u, &un, sizeof un));
       o << " peer=" << peername(u);
       len = sizeof a;
       ::getsockname(u, reinterpret_cast<sockaddr*>(&a), &len);
       return (o << " local_after=" << addr_name(e, a.sin_addr) << " port_after=" << static_cast<int>(ntohs(a.sin_port))).str();
     }},
    {"udp.recv.flags", [](const Env& e) {
       Fd u = udp_socket();
       connect_to(u, e.peer, kUdpEcho);
       ::send(u, "0123456789", 10, 0);
       wait_readable(u);
       Obs o;
       o << "peek=" << recv_str(u, 4, MSG_PEEK);
       char buf[4];
       o << " trunc=" << rc(::recv(u, buf, 4, MSG_TRUNC));
       ::send(u, "0123456789", 10, 0);
       wait_readable(u);
       return (o << " msg=" << recv_msg(e, u, 0, 4, 0)).str();
     }},
    {"udp.shutdown", [](const Env& e) {
       Fd u = udp_socket();
       Obs o;
       o << "unconnected=" << ok(::shutdown(u, SHUT_RD));
       o << " recv=" << recv_str(u, 10, MSG_DONTWAIT) << " poll=" << poll_now(u);
       Fd c = udp_socket();
       connect_to(c, e.peer, kUdpEcho);
       o << " connected=" << ok(::shutdown(c, SHUT_WR));
       return (o << " send=" << rc(::send(c, "x", 1, MSG_NOSIGNAL)) << " poll=" << poll_now(c)).str();
     }},
    {"udp.shutdown.wakes_recv", [](const Env&) {
       // A thread blocked in recv on an unconnected socket: shutdown(SHUT_RD)
       // from another thread ends it with 0 (how programs stop a reader).
       uint16_t port = 0;
       Fd u = udp_bound(&port);
       std::atomic<pid_t> tid{0};
       std::string got;
       std::thread t([&] {
         tid = static_cast<pid_t>(syscall(SYS_gettid));
         got = recv_str(u, 10);
       });
       wait_for([&] { return tid != 0 && thread_state(tid) == 'S'; });
       Obs o;
       o << "shutdown=" << ok(::shutdown(u, SHUT_RD));
       t.join();
       return (o << " recv=" << got).str();
     }},
    {"udp.send.msg_more", [](const Env& e) {
       // MSG_MORE corks: the pieces leave as one datagram.
       Fd u = udp_socket();
       connect_to(u, e.peer, kUdpReflect);
       Obs o;
       o << rc(::send(u, "ab", 2, MSG_MORE));
       o << " " << rc(::send(u, "cde", 3, 0));
       return (o << " " << reflected_lengths(u, 1)).str();
     }},
    {"udp.udp_cork", [](const Env& e) {
       Fd u = udp_socket();
       Obs o;
       o << set_get(u, IPPROTO_UDP, UDP_CORK, 1);
       connect_to(u, e.peer, kUdpReflect);
       o << " " << rc(::send(u, "abc", 3, 0)) << " " << rc(::send(u, "de", 2, 0));
       o << " uncork=" << set_int(u, IPPROTO_UDP, UDP_CORK, 0);
       return (o << " " << reflected_lengths(u, 1)).str();
     }},
    {"udp.udp_segment", [](const Env& e) {
       // UDP_SEGMENT (GSO): one send becomes datagrams of that size.
       Fd u = udp_socket();
       Obs o;
       o << set_get(u, IPPROTO_UDP, UDP_SEGMENT, 100);
       connect_to(u, e.peer, kUdpReflect);
       std::string data(250, 's');
       o << " send=" << rc(::send(u, data.data(), data.size(), 0));
       return (o << " " << reflected_lengths(u, 3)).str();
     }},
    {"udp.udp_segment.cmsg", [](const Env& e) {
       Fd u = udp_socket();
       connect_to(u, e.peer, kUdpReflect);
       alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(uint16_t))] = {};
       auto* c = reinterpret_cast<cmsghdr*>(ctl);
       c->cmsg_level = IPPROTO_UDP;
       c->cmsg_type = UDP_SEGMENT;
       c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
       uint16_t gso = 60;
       std::memcpy(CMSG_DATA(c), &gso, sizeof gso);
       std::string data(130, 'g');
       iovec v{data.data(), data.size()};
       msghdr m{};
       m.msg_iov = &v;
       m.msg_iovlen = 1;
       m.msg_control = ctl;
       m.msg_controllen = sizeof ctl;
       Obs o;
       o << "send=" << rc(::sendmsg(u, &m, 0));
       return (o << " " << reflected_lengths(u, 3)).str();
     }},
    {"udp.udp_segment.errors", [](const Env& e) {
       Fd u = udp_socket();
       connect_to(u, e.peer, kUdpReflect);
       Obs o;
       o << "neg=" << set_int(u, IPPROTO_UDP, UDP_SEGMENT, -1);
       set_int(u, IPPROTO_UDP, UDP_SEGMENT, 2000);
       std::string data(3000, 'x');
       o << " over_mtu=" << rc(::send(u, data.data(), data.size(), 0));
       set_int(u, IPPROTO_UDP, UDP_SEGMENT, 10);
       std::string many(10 * 200, 'm');
       return (o << " too_many=" << rc(::send(u, many.data(), many.size(), 0))).str();
     }},
    {"udp.udp_gro", [](const Env&) { return default_then_set(udp_socket(), IPPROTO_UDP, UDP_GRO, 1); }},
    {"udp.bind.special", [](const Env&) {
       return (Obs() << "multicast=" << ok(bind_to(udp_socket(), ip("239.1.2.3"), 0))
                     << " broadcast=" << ok(bind_to(udp_socket(), ip("198.18.0.255"), 0))
                     << " limited_broadcast=" << ok(bind_to(udp_socket(), ip("255.255.255.255"), 0)))
           .str();
     }},
    {"udp.broadcast.receive", [](const Env& e) { return datagram_with(e, IPPROTO_IP, 0, 6, "198.18.0.255"); }},
};

}  // namespace

const std::vector<Check>& checks() { return kChecks; }

}  // namespace compat
