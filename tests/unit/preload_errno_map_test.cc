// The one place errno is made (preload/errno_map.h, docs/design.md 9):
// every stack Error becomes the errno it is named after, and fail() sets it.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>

#include "preload/errno_map.h"

namespace shunt::preload {
namespace {

constexpr int kLastError = static_cast<int>(Error::kNoDev);

TEST(ErrnoMap, EveryStackErrorBecomesTheErrnoItIsNamedAfter) {
  for (int i = 0; i <= kLastError; ++i) {
    const Error e = static_cast<Error>(i);
    const int n = to_errno(e);
    ASSERT_NE(n, EIO) << to_string(e) << " has no mapping";
    const char* name = strerrorname_np(n);
    ASSERT_NE(name, nullptr);
    EXPECT_EQ(std::string(name), std::string(to_string(e))) << "Error " << i;
  }
}

TEST(ErrnoMap, NoTwoStackErrorsShareAnErrno) {
  std::set<int> seen;
  for (int i = 0; i <= kLastError; ++i) {
    EXPECT_TRUE(seen.insert(to_errno(static_cast<Error>(i))).second)
        << to_string(static_cast<Error>(i));
  }
}

TEST(ErrnoMap, CallErrorsAreTheLibcOnes) {
  EXPECT_EQ(to_errno(CallError::kExist), EEXIST);
  EXPECT_EQ(to_errno(CallError::kNoEnt), ENOENT);
  EXPECT_EQ(to_errno(CallError::kNoSys), ENOSYS);
  EXPECT_EQ(to_errno(CallError::kNotTty), ENOTTY);
  EXPECT_EQ(to_errno(CallError::kSPipe), ESPIPE);
  EXPECT_EQ(to_errno(CallError::kPerm), EPERM);
  EXPECT_EQ(to_errno(CallError::kDom), EDOM);
}

TEST(ErrnoMap, FailSetsErrnoAndReturnsMinusOne) {
  errno = 0;
  EXPECT_EQ(fail(Error::kConnRefused), -1);
  EXPECT_EQ(errno, ECONNREFUSED);
  EXPECT_EQ(fail(CallError::kPerm), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(fail_with_errno(EINTR), -1);
  EXPECT_EQ(errno, EINTR);
}

}  // namespace
}  // namespace shunt::preload
