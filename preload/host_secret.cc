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

// Reads the secret at `path`. Returns "" on success, "missing" when there
// is no file, otherwise why the file is refused.
std::string read_secret(const std::string& path, SipKey& key) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno == ENOENT ? "missing" : fmt::format("cannot open {}: {}", path, std::strerror(errno));
  uint8_t buf[kLen];
  struct stat st{};
  std::string why;
  if (fstat(fd, &st) != 0) {
    why = fmt::format("cannot stat {}: {}", path, std::strerror(errno));
  } else if (st.st_uid != geteuid()) {
    // In a shared directory another user may have planted it: a secret
    // they know would make our ISNs predictable (RFC 6528).
    why = fmt::format("{} belongs to uid {}, not to uid {}: refusing it (planted by another user?)",
                      path, st.st_uid, geteuid());
  } else if ((st.st_mode & 077) != 0) {
    why = fmt::format("{} has mode {:o}: refusing a secret others can read or write", path,
                      st.st_mode & 0777);
  } else if (libc().read(fd, buf, kLen) != static_cast<ssize_t>(kLen)) {
    why = fmt::format("{} is not {} bytes", path, kLen);
  }
  libc().close(fd);
  if (!why.empty()) return why;
  std::memcpy(&key.k0, buf, 8);
  std::memcpy(&key.k1, buf + 8, 8);
  return "";
}

}  // namespace

std::optional<SipKey> host_tcp_secret(const std::string& dir, std::string& why, bool& refused) {
  refused = false;
  const std::string path = fmt::format("{}/tcp-secret-{}", dir, geteuid());
  SipKey key;
  std::string bad = read_secret(path, key);
  if (bad.empty()) return key;
  if (bad != "missing") {
    why = bad;
    refused = true;
    return std::nullopt;
  }
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
  if (linked || (bad = read_secret(path, key)).empty()) {
    if (linked) {
      std::memcpy(&key.k0, buf, 8);
      std::memcpy(&key.k1, buf + 8, 8);
    }
    return key;
  }
  why = fmt::format("cannot use {}: {}", path, bad);
  refused = bad != "missing";
  return std::nullopt;
}

}  // namespace shunt::preload
