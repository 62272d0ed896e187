// The preload fd table (preload/fd_table.h, docs/design.md 4): placeholder
// fds and their dups map to one SocketFile, which goes with its last fd.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <vector>

#include "preload/fd_table.h"

namespace shunt::preload {
namespace {

SocketId id(uint32_t slot) {
  return SocketId{slot, 1};
}

TEST(FdTable, NothingIsFoundBeforeInitOrOutsideTheTable) {
  FdTable t;
  EXPECT_EQ(t.lookup(3), nullptr);
  t.init(16);
  EXPECT_EQ(t.lookup(-1), nullptr);
  EXPECT_EQ(t.lookup(16), nullptr);
  EXPECT_EQ(t.lookup(5), nullptr);
}

TEST(FdTable, AddSocketMapsItsFdAndItsId) {
  FdTable t;
  t.init(16);
  SocketFile* sf = t.add_socket(id(7), AF_INET, SOCK_STREAM, 5, true);
  ASSERT_NE(sf, nullptr);
  EXPECT_EQ(t.lookup(5), sf);
  EXPECT_EQ(t.by_id(id(7)), sf);
  EXPECT_EQ(t.by_id(id(8)), nullptr);
  EXPECT_EQ(sf->domain, AF_INET);
  EXPECT_EQ(sf->type, SOCK_STREAM);
  EXPECT_TRUE(sf->nonblock);
  EXPECT_EQ(sf->fds, std::vector<int>{5});
  EXPECT_EQ(t.socket_count(), 1u);
  ASSERT_TRUE(t.remove_fd(sf, 5));
  delete sf;
}

TEST(FdTable, ADupSharesTheSocketWhichClosesWithItsLastFd) {
  FdTable t;
  t.init(16);
  SocketFile* sf = t.add_socket(id(1), AF_INET, SOCK_DGRAM, 3, false);
  t.add_fd(sf, 9);  // dup
  EXPECT_EQ(t.lookup(9), sf);
  EXPECT_EQ(sf->fds.size(), 2u);
  EXPECT_FALSE(t.remove_fd(sf, 3));  // the dup keeps it
  EXPECT_EQ(t.lookup(3), nullptr);
  EXPECT_EQ(t.lookup(9), sf);
  EXPECT_EQ(t.by_id(id(1)), sf);
  EXPECT_TRUE(t.remove_fd(sf, 9));  // the last fd
  EXPECT_EQ(t.lookup(9), nullptr);
  EXPECT_EQ(t.by_id(id(1)), nullptr);
  EXPECT_EQ(t.socket_count(), 0u);
  delete sf;
}

TEST(FdTable, ForEachSocketVisitsEverySocketOnce) {
  FdTable t;
  t.init(16);
  SocketFile* a = t.add_socket(id(1), AF_INET, SOCK_STREAM, 3, false);
  SocketFile* b = t.add_socket(id(2), AF_INET6, SOCK_STREAM, 4, false);
  t.add_fd(a, 5);
  std::vector<SocketFile*> seen;
  t.for_each_socket([&](SocketFile* sf) { seen.push_back(sf); });
  std::sort(seen.begin(), seen.end());
  std::vector<SocketFile*> want{a, b};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(seen, want);
  for (int fd : {3, 5}) (void)t.remove_fd(a, fd);
  (void)t.remove_fd(b, 4);
  delete a;
  delete b;
}

}  // namespace
}  // namespace shunt::preload
