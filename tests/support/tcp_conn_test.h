// The fixture of the segment-level TCP tests (tests/unit/tcp_conn_*_test.cc):
// one TcpConnection and the harness that plays its peer. Outside an
// anonymous namespace, so that every file's TEST_F(TcpConnTest, ...) uses
// the same fixture type, as gtest requires of one test suite.
//
// Reading list: RFC 9293 3.5, 3.6, 3.10.7 (event processing), RFC 5961
// (blind in-window attacks), RFC 7323 (timestamps, PAWS, window scale),
// RFC 6298 (RTO), RFC 5681 / 6582 / 6675 / 3042 (loss recovery), RFC 1122
// 4.2.3 (delayed ACK, keepalive).
#pragma once

#include <gtest/gtest.h>

#include "tests/support/tcp_harness.h"

namespace shunt::testing {

class TcpConnTest : public ::testing::Test, public TcpHarness {};

}  // namespace shunt::testing
