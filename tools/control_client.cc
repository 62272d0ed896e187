#include "tools/control_client.h"

#include <poll.h>
#include <signal.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "control/path.h"

namespace shunt::tools {
namespace {

constexpr int64_t kReplyTimeoutMs = 10'000;
constexpr size_t kMaxReply = size_t{64} << 20;

// Where to look: this environment's directory, then the system one (a
// program started by root without XDG_RUNTIME_DIR, looked at from a login
// shell that has one, or the other way round).
std::vector<std::string> search_dirs() {
  std::vector<std::string> dirs{control::control_dir()};
  if (dirs.front() != "/run/shunt") dirs.emplace_back("/run/shunt");
  return dirs;
}

bool process_exists(int pid) { return kill(pid, 0) == 0 || errno == EPERM; }

// Connects to `path`; -1 with errno on failure.
int connect_to(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

// Who serves a connected control socket. The directory may be shared
// (/run/shunt is 1777): any local user can leave a <pid>.sock there, so the
// server must be the process the file names, and of our user unless we
// are root (root may look at anyone's process).
std::optional<std::string> check_server(int fd, int pid, const std::string& path) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return fmt::format("process {}: cannot tell who serves {}: {}", pid, path, std::strerror(errno));
  }
  if (cred.pid != pid) {
    return fmt::format("process {}: {} is served by process {}, not by {}: refusing it (a stale or "
                       "planted socket file)",
                       pid, path, cred.pid, pid);
  }
  if (geteuid() != 0 && cred.uid != geteuid()) {
    return fmt::format("process {}: {} is served by uid {}, not by you (uid {}): refusing it", pid,
                       path, cred.uid, geteuid());
  }
  return std::nullopt;
}

int64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

// Replaces control characters (C0, DEL, and C1 as UTF-8) in every string of
// `j` by visible escapes: a reply's comm, addresses and errors reach the
// terminal, and must not carry escape sequences to it.
void escape_strings(control::Json& j) {
  if (j.is_string()) {
    const std::string& in = j.get_ref<const std::string&>();
    std::string out;
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      const auto c = static_cast<unsigned char>(in[i]);
      if (c < 0x20 || c == 0x7f) {
        out += fmt::format("\\x{:02x}", c);
      } else if (c == 0xc2 && i + 1 < in.size() && static_cast<unsigned char>(in[i + 1]) >= 0x80 &&
                 static_cast<unsigned char>(in[i + 1]) <= 0x9f) {
        out += fmt::format("\\u{:04x}", static_cast<unsigned char>(in[i + 1]));
        ++i;
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
    if (out != in) j = out;
    return;
  }
  if (j.is_structured()) {
    for (auto& v : j) escape_strings(v);
  }
}

}  // namespace

Expected<int, std::string> parse_pid(std::string_view arg) {
  int pid = 0;
  auto [p, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), pid);
  if (ec != std::errc() || p != arg.data() + arg.size() || pid <= 0) {
    return fmt::format("'{}' is not a process id", arg);
  }
  return pid;
}

Expected<control::Json, std::string> control_request(int pid, std::string_view request) {
  int fd = -1;
  int last_errno = ENOENT;
  std::string tried;
  std::string dir_used;
  for (const std::string& dir : search_dirs()) {
    const std::string path = control::socket_path(dir, pid);
    fd = connect_to(path);
    dir_used = dir;
    if (fd >= 0) break;
    last_errno = errno;
    tried += (tried.empty() ? "" : ", ") + path;
  }
  if (fd < 0) {
    if (!process_exists(pid)) return fmt::format("no process {}", pid);
    if (last_errno == EACCES) {
      return fmt::format("process {}: permission denied on its control socket (run as its user or root)", pid);
    }
    return fmt::format(
        "process {} has no shunt control socket ({}): it is not running on shunt, has not opened an "
        "AF_INET socket yet, or runs with SHUNT_CONTROL=0 or another SHUNT_CONTROL_DIR",
        pid, tried);
  }
  if (auto why = check_server(fd, pid, control::socket_path(dir_used, pid))) {
    close(fd);
    return *why;
  }
  timeval tv{kReplyTimeoutMs / 1000, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string line(request);
  line.push_back('\n');
  if (send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    int e = errno;
    close(fd);
    return fmt::format("process {}: sending the request failed: {}", pid, std::strerror(e));
  }
  // The whole reply within kReplyTimeoutMs and kMaxReply bytes: a server
  // that trickles or never stops cannot hang or exhaust the tool.
  std::string reply;
  char buf[65536];
  const int64_t deadline = monotonic_ms() + kReplyTimeoutMs;
  while (true) {
    const int64_t left = deadline - monotonic_ms();
    pollfd p{fd, POLLIN, 0};
    int ready = left > 0 ? poll(&p, 1, static_cast<int>(left)) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      close(fd);
      return fmt::format("process {}: no complete reply within {} s", pid, kReplyTimeoutMs / 1000);
    }
    ssize_t n = ready < 0 ? -1 : read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      return fmt::format("process {}: no reply: {}", pid, std::strerror(e));
    }
    if (n == 0) break;
    if (reply.size() + static_cast<size_t>(n) > kMaxReply) {
      close(fd);
      return fmt::format("process {}: the reply is over {} MiB: refusing it", pid, kMaxReply >> 20);
    }
    reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  if (reply.empty()) return fmt::format("process {} closed its control socket without a reply", pid);
  control::Json j = control::Json::parse(reply, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fmt::format("process {}: the reply is not JSON", pid);
  if (!j.is_object()) return fmt::format("process {}: the reply is not a JSON object", pid);
  escape_strings(j);
  if (j.contains("error")) {
    const control::Json& e = j["error"];
    return fmt::format("process {}: {}", pid, e.is_string() ? e.get<std::string>() : e.dump());
  }
  if (!j.contains("pid") || !j["pid"].is_number_integer() || j["pid"].get<int64_t>() != pid) {
    return fmt::format("process {}: the reply does not name process {}", pid, pid);
  }
  return j;
}

std::vector<int> running_pids() {
  std::set<int> pids;
  for (const std::string& dir : search_dirs()) {
    for (int pid : control::list_pids(dir)) {
      const std::string path = control::socket_path(dir, pid);
      int fd = connect_to(path);
      if (fd >= 0) {
        const bool ours = !check_server(fd, pid, path).has_value();
        close(fd);
        if (ours) pids.insert(pid);
      } else if (errno == ECONNREFUSED && !process_exists(pid)) {
        unlink(path.c_str());  // left by a process that was killed
      }
    }
  }
  return {pids.begin(), pids.end()};
}

}  // namespace shunt::tools
