#include "tools/control_client.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "control/path.h"

namespace shunt::tools {
namespace {

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
  for (const std::string& dir : search_dirs()) {
    const std::string path = control::socket_path(dir, pid);
    fd = connect_to(path);
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
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string line(request);
  line.push_back('\n');
  if (send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    int e = errno;
    close(fd);
    return fmt::format("process {}: sending the request failed: {}", pid, std::strerror(e));
  }
  std::string reply;
  char buf[65536];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      return fmt::format("process {}: no reply: {}", pid, e == EAGAIN ? "timed out" : std::strerror(e));
    }
    if (n == 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  if (reply.empty()) return fmt::format("process {} closed its control socket without a reply", pid);
  control::Json j = control::Json::parse(reply, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fmt::format("process {}: the reply is not JSON", pid);
  if (j.contains("error")) return fmt::format("process {}: {}", pid, j["error"].get<std::string>());
  return j;
}

std::vector<int> running_pids() {
  std::set<int> pids;
  for (const std::string& dir : search_dirs()) {
    for (int pid : control::list_pids(dir)) {
      const std::string path = control::socket_path(dir, pid);
      int fd = connect_to(path);
      if (fd >= 0) {
        close(fd);
        pids.insert(pid);
      } else if (errno == ECONNREFUSED && !process_exists(pid)) {
        unlink(path.c_str());  // left by a process that was killed
      }
    }
  }
  return {pids.begin(), pids.end()};
}

}  // namespace shunt::tools
