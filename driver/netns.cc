#include "driver/netns.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>

namespace shunt {
namespace {

// NSFS_MAGIC (linux/magic.h): the file system of /proc/PID/ns/* and of
// their bind mounts.
constexpr long kNsfsMagic = 0x6e736673;

std::string path_of(std::string_view name) {
  return fmt::format("{}/{}", kNetnsRunDir, name);
}

std::string root_hint(int e) {
  return e == EPERM || e == EACCES ? ": this needs CAP_SYS_ADMIN; run as root" : "";
}

std::optional<std::string> check_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.size() > 255) {
    return fmt::format("'{}' is not a valid network namespace name (no '/', not empty)", name);
  }
  return std::nullopt;
}

// Step 1: /run/netns exists and is a shared mount point.
std::optional<std::string> prepare_run_dir() {
  if (::mkdir(kNetnsRunDir, 0755) != 0 && errno != EEXIST) {
    const int e = errno;
    return fmt::format("cannot create {}: {}{}", kNetnsRunDir, std::strerror(e), root_hint(e));
  }
  bool made_mount_point = false;
  while (::mount("", kNetnsRunDir, "none", MS_SHARED | MS_REC, nullptr) != 0) {
    const int e = errno;
    // EINVAL: not a mount point yet. Make it one by bind-mounting it onto
    // itself, then try again (once).
    if (e != EINVAL || made_mount_point) {
      return fmt::format("cannot make {} a shared mount: {}{}", kNetnsRunDir, std::strerror(e),
                         root_hint(e));
    }
    if (::mount(kNetnsRunDir, kNetnsRunDir, "none", MS_BIND | MS_REC, nullptr) != 0) {
      const int e2 = errno;
      return fmt::format("cannot bind-mount {} onto itself: {}{}", kNetnsRunDir, std::strerror(e2),
                         root_hint(e2));
    }
    made_mount_point = true;
  }
  return std::nullopt;
}

}  // namespace

bool netns_exists(std::string_view name) {
  if (check_name(name)) return false;
  struct statfs fs {};
  return ::statfs(path_of(name).c_str(), &fs) == 0 && fs.f_type == kNsfsMagic;
}

Expected<bool, std::string> create_netns(std::string_view name) {
  if (auto bad = check_name(name)) return *bad;
  if (netns_exists(name)) return false;
  if (auto err = prepare_run_dir()) return *err;

  // Step 2: the mount point. A file left by an interrupted run (not a
  // namespace: netns_exists said no) is reused.
  const std::string path = path_of(name);
  int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0);
  if (fd < 0) {
    const int e = errno;
    return fmt::format("cannot create {}: {}{}", path, std::strerror(e), root_hint(e));
  }
  ::close(fd);

  // Step 3: a child with a new network namespace bind-mounts it. The child
  // only makes system calls (fork from a threaded program), and reports
  // errno through its exit status: 100 + step, then the errno on a pipe.
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    const int e = errno;
    ::unlink(path.c_str());
    return fmt::format("cannot create network namespace '{}': pipe: {}", name, std::strerror(e));
  }
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(pipefd[0]);
    int step = 0;
    if (::unshare(CLONE_NEWNET) != 0) {
      step = 1;
    } else if (::mount("/proc/self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0) {
      step = 2;
    }
    if (step != 0) {
      const int e = errno;
      [[maybe_unused]] ssize_t w = ::write(pipefd[1], &e, sizeof e);
    }
    ::_exit(step);
  }
  ::close(pipefd[1]);
  if (child < 0) {
    const int e = errno;
    ::close(pipefd[0]);
    ::unlink(path.c_str());
    return fmt::format("cannot create network namespace '{}': fork: {}", name, std::strerror(e));
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  int child_errno = 0;
  if (::read(pipefd[0], &child_errno, sizeof child_errno) != sizeof child_errno) child_errno = 0;
  ::close(pipefd[0]);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ::unlink(path.c_str());
    const char* what = WIFEXITED(status) && WEXITSTATUS(status) == 1
                           ? "unshare(CLONE_NEWNET)"
                           : "bind-mounting /proc/self/ns/net";
    return fmt::format("cannot create network namespace '{}': {}: {}{}", name, what,
                       child_errno != 0 ? std::strerror(child_errno) : "the child failed",
                       root_hint(child_errno));
  }
  return true;
}

Expected<bool, std::string> delete_netns(std::string_view name) {
  if (auto bad = check_name(name)) return *bad;
  const std::string path = path_of(name);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return false;
  // Not mounted (EINVAL) is fine: a file left by an interrupted run.
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL) {
    const int e = errno;
    return fmt::format("cannot unmount {}: {}{}", path, std::strerror(e), root_hint(e));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    const int e = errno;
    return fmt::format("cannot remove {}: {}{}", path, std::strerror(e), root_hint(e));
  }
  return true;
}

std::vector<std::string> list_netns() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(kNetnsRunDir, ec)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace shunt
