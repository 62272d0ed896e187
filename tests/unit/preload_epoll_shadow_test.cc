// The epoll shadow (preload/epoll_shadow.h, docs/design.md 5): what the
// application registered, and the interest each armed registration adds to
// its socket (which decides when the placeholder is signalled).
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "preload/epoll_shadow.h"

namespace shunt::preload {
namespace {

class EpollShadowTest : public ::testing::Test {
 protected:
  EpollShadowTest() {
    fds_.init(64);
    sf_ = fds_.add_socket(SocketId{1, 1}, AF_INET, SOCK_STREAM, kFd, true);
    shadow_.init(64);
  }
  ~EpollShadowTest() override {
    (void)fds_.remove_fd(sf_, kFd);
    delete sf_;
  }

  static constexpr int kEp = 10;
  static constexpr int kEp2 = 11;
  static constexpr int kFd = 5;
  FdTable fds_;
  EpollShadow shadow_{fds_};
  SocketFile* sf_ = nullptr;
};

TEST_F(EpollShadowTest, AddCountsInterestAndMarksTheEpollFd) {
  EXPECT_FALSE(shadow_.is_stack_epoll(kEp));
  ASSERT_TRUE(shadow_.add(kEp, kFd, sf_, EPOLLIN | EPOLLET, 42));
  EXPECT_TRUE(shadow_.is_stack_epoll(kEp));
  EXPECT_TRUE(shadow_.watches(kEp));
  EXPECT_EQ(shadow_.count(kEp), 1);
  const auto* reg = shadow_.find(kEp, kFd);
  ASSERT_NE(reg, nullptr);
  EXPECT_EQ(reg->events, static_cast<uint32_t>(EPOLLIN | EPOLLET));
  EXPECT_EQ(reg->data, 42u);
  EXPECT_FALSE(reg->disabled);
  EXPECT_EQ(sf_->epoll_read, 1u);
  EXPECT_EQ(sf_->epoll_write, 0u);
  EXPECT_EQ(sf_->epoll_edge, 1u);
  EXPECT_FALSE(shadow_.add(kEp, kFd, sf_, EPOLLOUT, 1)) << "EEXIST";
  EXPECT_EQ(sf_->epoll_read, 1u);
}

TEST_F(EpollShadowTest, ModifyReplacesTheInterest) {
  ASSERT_TRUE(shadow_.add(kEp, kFd, sf_, EPOLLIN, 1));
  ASSERT_TRUE(shadow_.modify(kEp, kFd, sf_, EPOLLOUT, 2));
  EXPECT_EQ(sf_->epoll_read, 0u);
  EXPECT_EQ(sf_->epoll_write, 1u);
  EXPECT_EQ(shadow_.find(kEp, kFd)->data, 2u);
  EXPECT_FALSE(shadow_.modify(kEp2, kFd, sf_, EPOLLIN, 3)) << "ENOENT";
}

TEST_F(EpollShadowTest, OneshotDisablesUntilModify) {
  ASSERT_TRUE(shadow_.add(kEp, kFd, sf_, EPOLLIN | EPOLLONESHOT, 1));
  shadow_.disable(kEp, kFd, sf_);
  EXPECT_TRUE(shadow_.find(kEp, kFd)->disabled);
  EXPECT_EQ(sf_->epoll_read, 0u);
  shadow_.disable(kEp, kFd, sf_);  // again: nothing more to take back
  EXPECT_EQ(sf_->epoll_read, 0u);
  ASSERT_TRUE(shadow_.modify(kEp, kFd, sf_, EPOLLIN | EPOLLONESHOT, 1));
  EXPECT_FALSE(shadow_.find(kEp, kFd)->disabled);
  EXPECT_EQ(sf_->epoll_read, 1u);
  // Removing a disabled registration takes back nothing.
  shadow_.disable(kEp, kFd, sf_);
  ASSERT_TRUE(shadow_.remove(kEp, kFd, sf_));
  EXPECT_EQ(sf_->epoll_read, 0u);
}

TEST_F(EpollShadowTest, RemoveEndsTheRegistrationAndTheCount) {
  ASSERT_TRUE(shadow_.add(kEp, kFd, sf_, EPOLLIN | EPOLLOUT, 1));
  ASSERT_TRUE(shadow_.remove(kEp, kFd, sf_));
  EXPECT_EQ(shadow_.find(kEp, kFd), nullptr);
  EXPECT_FALSE(shadow_.watches(kEp));
  EXPECT_FALSE(shadow_.is_stack_epoll(kEp));
  EXPECT_EQ(sf_->epoll_read, 0u);
  EXPECT_EQ(sf_->epoll_write, 0u);
  EXPECT_FALSE(shadow_.remove(kEp, kFd, sf_)) << "ENOENT";
}

TEST_F(EpollShadowTest, ClosingTheWatchedFdEndsItsRegistrationsInEveryEpoll) {
  ASSERT_TRUE(shadow_.add(kEp, kFd, sf_, EPOLLIN, 1));
  ASSERT_TRUE(shadow_.add(kEp2, kFd, sf_, EPOLLOUT, 2));
  shadow_.forget_fd(kFd);
  EXPECT_EQ(shadow_.find(kEp, kFd), nullptr);
  EXPECT_EQ(shadow_.find(kEp2, kFd), nullptr);
  EXPECT_EQ(sf_->epoll_read, 0u);
  EXPECT_EQ(sf_->epoll_write, 0u);
  EXPECT_FALSE(shadow_.watches(kEp));
  EXPECT_FALSE(shadow_.watches(kEp2));
}

TEST_F(EpollShadowTest, ClosingTheEpollFdEndsOnlyItsRegistrations) {
  ASSERT_TRUE(shadow_.add(kEp, kFd, sf_, EPOLLIN, 1));
  ASSERT_TRUE(shadow_.add(kEp2, kFd, sf_, EPOLLIN, 2));
  EXPECT_EQ(sf_->epoll_read, 2u);
  shadow_.forget_fd(kEp);
  EXPECT_EQ(shadow_.find(kEp, kFd), nullptr);
  EXPECT_NE(shadow_.find(kEp2, kFd), nullptr);
  EXPECT_EQ(sf_->epoll_read, 1u);
  EXPECT_FALSE(shadow_.is_stack_epoll(kEp));
  EXPECT_TRUE(shadow_.is_stack_epoll(kEp2));
}

}  // namespace
}  // namespace shunt::preload
