#include "preload/host_secret.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "control/path.h"
#include "preload/libc.h"

namespace shunt::preload {
namespace {

constexpr size_t kLen = 16;

bool read_secret(const std::string& path, SipKey& key) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  uint8_t buf[kLen];
  struct stat st{};
  const bool ok = fstat(fd, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 077) == 0 &&
                  libc().read(fd, buf, kLen) == static_cast<ssize_t>(kLen);
  libc().close(fd);
  if (!ok) return false;
  std::memcpy(&key.k0, buf, 8);
  std::memcpy(&key.k1, buf + 8, 8);
  return true;
}

}  // namespace

std::optional<SipKey> host_tcp_secret(const std::string& dir, std::string& why) {
  const std::string path = fmt::format("{}/tcp-secret-{}", dir, geteuid());
  SipKey key;
  if (read_secret(path, key)) return key;
  // The same directory as the control sockets', made the same way (a
  // shared /run/shunt must be 1777 whoever creates it first).
  if (auto r = control::ensure_control_dir(dir); !r) {
    why = r.error();
    return std::nullopt;
  }
  uint8_t buf[kLen];
  if (getrandom(buf, kLen, 0) != static_cast<ssize_t>(kLen)) {
    why = "getrandom failed";
    return std::nullopt;
  }
  const std::string tmp = fmt::format("{}.{}", path, getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    why = fmt::format("cannot create {}: {}", tmp, std::strerror(errno));
    return std::nullopt;
  }
  const bool written = libc().write(fd, buf, kLen) == static_cast<ssize_t>(kLen);
  libc().close(fd);
  // link() fails if another process got there first: then use its secret.
  const bool linked = written && link(tmp.c_str(), path.c_str()) == 0;
  unlink(tmp.c_str());
  if (linked || read_secret(path, key)) {
    if (linked) {
      std::memcpy(&key.k0, buf, 8);
      std::memcpy(&key.k1, buf + 8, 8);
    }
    return key;
  }
  why = fmt::format("cannot use {}", path);
  return std::nullopt;
}

}  // namespace shunt::preload
