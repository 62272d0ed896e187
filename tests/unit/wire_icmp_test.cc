#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"

namespace shunt::wire {
namespace {

// clang-format off
// The echo request of `ping 198.18.0.2` (iputils): ident 0x1c2b, seq 1,
// 56 data bytes (a 16-byte timeval, then 0x10..0x37).
const std::vector<uint8_t> kEchoRequest = {
    0x08, 0x00, 0x14, 0x16,  // type 8, code 0, checksum 0x1416
    0x1c, 0x2b, 0x00, 0x01,  // ident, seq
    0xc2, 0xb1, 0xa0, 0x66, 0x00, 0x00, 0x00, 0x00, 0xa1, 0xd2, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

// Its reply: type 0, the checksum differs by exactly 0x0800.
const std::vector<uint8_t> kEchoReply = {
    0x00, 0x00, 0x1c, 0x16,
    0x1c, 0x2b, 0x00, 0x01,
    0xc2, 0xb1, 0xa0, 0x66, 0x00, 0x00, 0x00, 0x00, 0xa1, 0xd2, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

// Destination unreachable, fragmentation needed, next-hop MTU 1400
// (RFC 1191 4), quoting the 20-byte IP header and 8 bytes of a 1500-byte
// UDP datagram with DF.
const std::vector<uint8_t> kFragNeeded = {
    0x03, 0x04, 0xe3, 0xdf,  // type 3, code 4, checksum
    0x00, 0x00, 0x05, 0x78,  // unused, MTU 1400
    0x45, 0x00, 0x05, 0xdc, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x96, 0xb5,
    0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
    0x9c, 0x40, 0x27, 0x0f, 0x05, 0xc8, 0x4a, 0x8c,  // UDP 40000 -> 9999, length 1480
};

// Time exceeded in transit, quoting a TTL-1 UDP datagram.
const std::vector<uint8_t> kTtlExceeded = {
    0x0b, 0x00, 0xc5, 0x23, 0x00, 0x00, 0x00, 0x00,
    0x45, 0x00, 0x00, 0x22, 0xbe, 0xef, 0x40, 0x00, 0x01, 0x11, 0x2e, 0xb4,
    0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
    0x9c, 0x40, 0x00, 0x07, 0x00, 0x0e, 0x93, 0x86,
};

// An echo request with an odd-length payload "abc" (RFC 1071: the last
// byte is padded with a zero for the sum).
const std::vector<uint8_t> kEchoOdd = {
    0x08, 0x00, 0x31, 0x99, 0x00, 0x01, 0x02, 0x03, 0x61, 0x62, 0x63,
};
// clang-format on

TEST(WireIcmp, DecodesGoldenEchoRequest) {
  auto r = IcmpRepr::parse(kEchoRequest);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, icmp_type::kEchoRequest);
  EXPECT_EQ(r->code, 0);
  EXPECT_EQ(r->ident, 0x1c2b);
  EXPECT_EQ(r->seq_no, 1);
  EXPECT_EQ(r->next_hop_mtu, 0);
  EXPECT_FALSE(r->is_error());
  ASSERT_EQ(r->payload.size(), 56u);
  EXPECT_EQ(r->payload.data(), kEchoRequest.data() + 8);  // no copy
  EXPECT_EQ(r->len(), 64u);

  auto v = IcmpView::check(kEchoRequest);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->checksum(), 0x1416);
  EXPECT_EQ(v->rest_of_header(), 0x1c2b0001u);
  EXPECT_TRUE(v->verify_checksum());
}

TEST(WireIcmp, EncodesGoldenEchoRequestAndReply) {
  IcmpRepr req{.type = icmp_type::kEchoRequest,
               .ident = 0x1c2b,
               .seq_no = 1,
               .payload = Bytes(kEchoRequest).subspan(8)};
  std::vector<uint8_t> out(req.len(), 0xee);
  req.emit(out);
  EXPECT_EQ(out, kEchoRequest);

  IcmpRepr reply = req;
  reply.type = icmp_type::kEchoReply;
  std::fill(out.begin(), out.end(), 0xee);
  reply.emit(out);
  EXPECT_EQ(out, kEchoReply);
}

TEST(WireIcmp, EchoReplyBuiltInPlaceOverTheRequest) {
  std::vector<uint8_t> buf = kEchoRequest;
  auto req = IcmpRepr::parse(buf);
  ASSERT_TRUE(req);
  IcmpRepr reply = *req;
  reply.type = icmp_type::kEchoReply;
  reply.emit(buf);  // payload already in place
  EXPECT_EQ(buf, kEchoReply);
}

TEST(WireIcmp, EmitMovesAnOverlappingPayload) {
  // The payload sits 4 bytes before where emit puts it.
  std::vector<uint8_t> buf(70, 0);
  std::copy(kEchoRequest.begin() + 8, kEchoRequest.end(), buf.begin() + 4);
  IcmpRepr r{.type = icmp_type::kEchoReply,
             .ident = 0x1c2b,
             .seq_no = 1,
             .payload = Bytes(buf).subspan(4, 56)};
  r.emit(MutableBytes(buf).first(64));
  EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + 64), kEchoReply);
}

TEST(WireIcmp, DecodesAndEncodesGoldenFragNeeded) {
  auto r = IcmpRepr::parse(kFragNeeded);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, icmp_type::kDestUnreachable);
  EXPECT_EQ(r->code, icmp_code::kFragNeeded);
  EXPECT_EQ(r->next_hop_mtu, 1400);
  EXPECT_EQ(r->ident, 0);
  EXPECT_EQ(r->seq_no, 0);
  EXPECT_TRUE(r->is_error());
  // The quote is cut short: its total length (1500) exceeds the 28 bytes
  // quoted, so a strict IPv4 parse refuses it. The ICMP error path has to
  // read the quoted header's fields without demanding the whole datagram.
  ASSERT_EQ(r->payload.size(), 28u);
  EXPECT_EQ(Ipv4Repr::parse(r->payload).error(), DropReason::kIpBadTotalLength);

  std::vector<uint8_t> out(r->len(), 0xee);
  r->emit(out);
  EXPECT_EQ(out, kFragNeeded);
}

TEST(WireIcmp, DecodesAndEncodesGoldenTimeExceeded) {
  auto r = IcmpRepr::parse(kTtlExceeded);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, icmp_type::kTimeExceeded);
  EXPECT_EQ(r->code, icmp_code::kTtlExceeded);
  EXPECT_EQ(r->next_hop_mtu, 0);
  EXPECT_TRUE(r->is_error());
  std::vector<uint8_t> out(r->len(), 0xee);
  r->emit(out);
  EXPECT_EQ(out, kTtlExceeded);
}

TEST(WireIcmp, OddLengthPayload) {
  auto r = IcmpRepr::parse(kEchoOdd);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ident, 1);
  EXPECT_EQ(r->seq_no, 0x0203);
  EXPECT_EQ(r->payload.size(), 3u);
  std::vector<uint8_t> out(r->len() + 1, 0xee);  // a larger buffer: only len() is written
  r->emit(out);
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.end() - 1), kEchoOdd);
  EXPECT_EQ(out.back(), 0xee);
}

TEST(WireIcmp, HeaderOnlyMessage) {
  IcmpRepr r{.type = icmp_type::kEchoRequest, .ident = 7, .seq_no = 9};
  std::vector<uint8_t> out(8);
  r.emit(out);
  auto back = IcmpRepr::parse(out);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->payload.empty());
  EXPECT_EQ(back->ident, 7);
  EXPECT_EQ(back->seq_no, 9);
}

TEST(WireIcmp, RejectsEveryTruncatedLength) {
  for (size_t len = 0; len < IcmpRepr::kHeaderLen; ++len) {
    auto r = IcmpRepr::parse(Bytes(kEchoRequest).first(len));
    ASSERT_FALSE(r) << len;
    EXPECT_EQ(r.error(), DropReason::kIcmpTruncated) << len;
  }
}

TEST(WireIcmp, RejectsBadChecksumOverTheWholeMessage) {
  for (size_t i : {0u, 1u, 2u, 5u, 8u, 40u, 63u}) {
    std::vector<uint8_t> m = kEchoRequest;
    m[i] ^= 0x10;
    auto r = IcmpRepr::parse(m);
    ASSERT_FALSE(r) << i;
    EXPECT_EQ(r.error(), DropReason::kIcmpBadChecksum) << i;
    EXPECT_TRUE(IcmpRepr::parse(m, /*verify_checksum=*/false)) << i;
  }
  // A truncated message fails its checksum too.
  EXPECT_EQ(IcmpRepr::parse(Bytes(kEchoRequest).first(63)).error(), DropReason::kIcmpBadChecksum);
}

TEST(WireIcmp, ErrorTypes) {
  auto err = [](uint8_t type) { return IcmpRepr{.type = type}.is_error(); };
  EXPECT_TRUE(err(icmp_type::kDestUnreachable));
  EXPECT_TRUE(err(icmp_type::kSourceQuench));
  EXPECT_TRUE(err(icmp_type::kRedirect));
  EXPECT_TRUE(err(icmp_type::kTimeExceeded));
  EXPECT_TRUE(err(icmp_type::kParameterProblem));
  EXPECT_FALSE(err(icmp_type::kEchoReply));
  EXPECT_FALSE(err(icmp_type::kEchoRequest));
  EXPECT_FALSE(err(13));  // timestamp
  EXPECT_FALSE(err(14));  // timestamp reply
}

TEST(WireIcmp, RestOfHeaderOfOtherTypesIsNotKeptButVisibleInTheView) {
  // Parameter problem, pointer 9 (RFC 792): the repr drops it, the view has it.
  std::vector<uint8_t> m = {12, 0, 0, 0, 9, 0, 0, 0};
  IcmpRepr{.type = 12}.emit(m);
  m[4] = 9;
  auto r = IcmpRepr::parse(m, /*verify_checksum=*/false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ident, 0);
  EXPECT_EQ(r->seq_no, 0);
  EXPECT_EQ(r->next_hop_mtu, 0);
  EXPECT_EQ(IcmpView::check(m)->rest_of_header(), 0x09000000u);
}

}  // namespace
}  // namespace shunt::wire
