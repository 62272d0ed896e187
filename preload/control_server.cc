#include "preload/control_server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "control/path.h"
#include "preload/libc.h"

namespace shunt::control {
namespace {

using preload::libc;

}  // namespace

Expected<std::unique_ptr<ControlServer>, std::string> ControlServer::start(const std::string& dir,
                                                                           int pid,
                                                                           Handler handler) {
  if (auto r = ensure_control_dir(dir); !r) return r.error();
  std::string path = socket_path(dir, pid);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return fmt::format("control socket path {} is longer than {} bytes", path,
                       sizeof addr.sun_path - 1);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = libc().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fmt::format("control socket: {}", std::strerror(errno));
  // The mode of the socket's inode is what bind() gives the file (minus the
  // umask), so the file is never readable by others, not even briefly.
  fchmod(fd, 0600);
  unlink(path.c_str());  // a stale file from a crashed process with our pid, or before exec
  if (libc().bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      libc().listen(fd, 16) != 0) {
    std::string e = std::strerror(errno);
    libc().close(fd);
    return fmt::format("control socket {}: {}", path, e);
  }
  chmod(path.c_str(), 0600);
  auto shared = std::make_shared<Shared>();
  shared->fd = fd;
  shared->path = std::move(path);
  shared->handler = std::move(handler);
  std::thread([shared] { run(shared); }).detach();
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(shared)));
}

ControlServer::~ControlServer() { stop(); }

void ControlServer::stop() {
  if (shared_->stopping.exchange(true)) return;
  unlink(shared_->path.c_str());
  // Wakes the thread in accept() (EINVAL); it closes the fd as it exits.
  libc().shutdown(shared_->fd, SHUT_RDWR);
}

void ControlServer::abandon() {
  // The thread and the file belong to the other process; only our copy of
  // the fd is ours.
  if (shared_->stopping.exchange(true)) return;
  libc().close(shared_->fd);
}

void ControlServer::run(const std::shared_ptr<Shared>& s) {
  while (!s->stopping.load()) {
    int conn = libc().accept4(s->fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) {
        if (errno == EMFILE || errno == ENFILE) usleep(10000);
        continue;
      }
      break;
    }
    serve_one(*s, conn);
    libc().close(conn);
  }
  libc().close(s->fd);
}

void ControlServer::serve_one(Shared& s, int conn) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (libc().getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
      (cred.uid != geteuid() && cred.uid != 0)) {
    return;
  }
  // A client that connects and says nothing must not block the server.
  timeval tv{2, 0};
  libc().setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  libc().setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string req;
  char buf[4096];
  while (req.find('\n') == std::string::npos && req.size() < kMaxRequest) {
    ssize_t n = libc().read(conn, buf, sizeof buf);
    if (n <= 0) break;
    req.append(buf, static_cast<size_t>(n));
  }
  auto nl = req.find('\n');
  if (nl == std::string::npos) return;  // no request (a liveness probe), or too long
  req.resize(nl);
  std::string reply = s.handler(req);
  reply.push_back('\n');
  size_t off = 0;
  while (off < reply.size()) {
    // MSG_NOSIGNAL: a client gone early must not raise SIGPIPE in the program.
    ssize_t n = libc().send(conn, reply.data() + off, reply.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

}  // namespace shunt::control
