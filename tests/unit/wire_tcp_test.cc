#include <gtest/gtest.h>

#include <algorithm>
#include <string_view>
#include <vector>

#include "stack/wire/checksum.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"

namespace shunt::wire {
namespace {

const Ipv4Address kIpA(198, 18, 0, 1);
const Ipv4Address kIpB(198, 18, 0, 2);

// clang-format off
// The SYN of `curl http://198.18.0.2/` from 198.18.0.1 as Linux sends it.
const std::vector<uint8_t> kSyn = {
    0xb2, 0x6e, 0x00, 0x50,  // 45678 -> 80
    0x3a, 0x1f, 0x2e, 0x4d,  // seq
    0x00, 0x00, 0x00, 0x00,  // ack
    0xa0, 0x02, 0xfa, 0xf0,  // data offset 10, SYN, window 64240
    0xed, 0x55, 0x00, 0x00,  // checksum, urgent
    0x02, 0x04, 0x05, 0xb4,  // MSS 1460
    0x04, 0x02, 0x08, 0x0a,  // SACK permitted, timestamps...
    0x9d, 0x3a, 0x1b, 0x2c,  // TSval
    0x00, 0x00, 0x00, 0x00,  // TSecr
    0x01, 0x03, 0x03, 0x07,  // NOP, window scale 7
};

// The SYN-ACK Linux answers with.
const std::vector<uint8_t> kSynAck = {
    0x00, 0x50, 0xb2, 0x6e, 0xc0, 0xff, 0xee, 0x00, 0x3a, 0x1f, 0x2e, 0x4e,
    0xa0, 0x12, 0xfe, 0x88,  // SYN|ACK, window 65160
    0xf6, 0x45, 0x00, 0x00,
    0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
    0x11, 0x22, 0x33, 0x44, 0x9d, 0x3a, 0x1b, 0x2c,
    0x01, 0x03, 0x03, 0x07,
};

// A duplicate ACK with timestamps and two SACK blocks.
const std::vector<uint8_t> kSackAck = {
    0xb2, 0x6e, 0x00, 0x50, 0x3a, 0x1f, 0x2e, 0x4e, 0xc0, 0xff, 0xee, 0x01,
    0xd0, 0x10, 0x01, 0xf5,  // data offset 13, ACK, window 501
    0xbe, 0x6e, 0x00, 0x00,
    0x01, 0x01, 0x08, 0x0a, 0x9d, 0x3a, 0x1f, 0x00, 0x11, 0x22, 0x34, 0x00,  // NOP NOP TS
    0x01, 0x01, 0x05, 0x12,  // NOP NOP SACK, length 18
    0x3a, 0x1f, 0x3a, 0x4e, 0x3a, 0x1f, 0x40, 0x00,  // block 1
    0x3a, 0x1f, 0x50, 0x00, 0x3a, 0x1f, 0x55, 0xb4,  // block 2
};

// PSH|ACK carrying "GET / HTTP/1.0\r\n\r\n".
const std::vector<uint8_t> kData = {
    0xb2, 0x6e, 0x00, 0x50, 0x3a, 0x1f, 0x2e, 0x4e, 0xc0, 0xff, 0xee, 0x01,
    0x80, 0x18, 0x01, 0xf6, 0x42, 0x17, 0x00, 0x00,
    0x01, 0x01, 0x08, 0x0a, 0x9d, 0x3a, 0x1c, 0x00, 0x11, 0x22, 0x33, 0x44,
    0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31,
    0x2e, 0x30, 0x0d, 0x0a, 0x0d, 0x0a,
};

// The SYN in its Ethernet frame and IPv4 packet (ident 0x8a1c, DF).
const std::vector<uint8_t> kSynFrame = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
    0x45, 0x00, 0x00, 0x3c, 0x8a, 0x1c, 0x40, 0x00, 0x40, 0x06, 0x24, 0x78,
    0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
    0xb2, 0x6e, 0x00, 0x50, 0x3a, 0x1f, 0x2e, 0x4d, 0x00, 0x00, 0x00, 0x00,
    0xa0, 0x02, 0xfa, 0xf0, 0xed, 0x55, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
    0x04, 0x02, 0x08, 0x0a, 0x9d, 0x3a, 0x1b, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x03, 0x03, 0x07,
};
// clang-format on

TcpRepr syn_repr() {
  TcpRepr r{.src_port = 45678,
            .dst_port = 80,
            .seq = SeqNum(0x3a1f2e4d),
            .flags = tcp_flag::kSyn,
            .window = 64240};
  r.options.mss = 1460;
  r.options.sack_permitted = true;
  r.options.timestamps = TcpOptions::Timestamps{.tsval = 0x9d3a1b2c, .tsecr = 0};
  r.options.window_scale = 7;
  return r;
}

std::vector<uint8_t> emit(const TcpRepr& r, Bytes payload, Ipv4Address src = kIpA,
                          Ipv4Address dst = kIpB) {
  std::vector<uint8_t> out(r.header_len_for_emit() + payload.size(), 0xee);
  std::copy(payload.begin(), payload.end(), out.begin() + r.header_len_for_emit());
  r.emit(out, src, dst);
  return out;
}

// A segment 198.18.0.1 -> 198.18.0.2 with these option bytes (a multiple
// of 4) and a correct checksum, so option errors are what parse sees.
std::vector<uint8_t> with_options(const std::vector<uint8_t>& opts) {
  std::vector<uint8_t> s(kData.begin(), kData.begin() + 20);
  s[12] = static_cast<uint8_t>(((20 + opts.size()) / 4) << 4);
  s.insert(s.end(), opts.begin(), opts.end());
  s[16] = s[17] = 0;
  const uint32_t ph =
      checksum::pseudo_header(kIpA, kIpB, ip_proto::kTcp, static_cast<uint16_t>(s.size()));
  store_be16(s.data() + 16, checksum::finish(checksum::partial(s, ph)));
  return s;
}

DropReason parse_error(Bytes segment) {
  auto r = TcpRepr::parse(segment, kIpA, kIpB);
  EXPECT_FALSE(r);
  return r ? DropReason::kCount : r.error();
}

TEST(WireTcp, DecodesGoldenSyn) {
  auto r = TcpRepr::parse(kSyn, kIpA, kIpB);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->src_port, 45678);
  EXPECT_EQ(r->dst_port, 80);
  EXPECT_EQ(r->seq, SeqNum(0x3a1f2e4d));
  EXPECT_EQ(r->ack, SeqNum(0));
  EXPECT_EQ(r->flags, tcp_flag::kSyn);
  EXPECT_TRUE(r->has(tcp_flag::kSyn));
  EXPECT_FALSE(r->has(tcp_flag::kAck));
  EXPECT_EQ(r->window, 64240);
  EXPECT_EQ(r->header_len, 40);
  EXPECT_EQ(r->payload_len, 0);
  EXPECT_EQ(r->options.mss, 1460);
  EXPECT_TRUE(r->options.sack_permitted);
  ASSERT_TRUE(r->options.timestamps);
  EXPECT_EQ(r->options.timestamps->tsval, 0x9d3a1b2cu);
  EXPECT_EQ(r->options.timestamps->tsecr, 0u);
  EXPECT_EQ(r->options.window_scale, 7);
  EXPECT_EQ(r->options.sack_count, 0);

  auto v = TcpView::check(kSyn);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->checksum(), 0xed55);
  EXPECT_EQ(v->options().size(), 20u);
  EXPECT_TRUE(v->payload().empty());
  EXPECT_TRUE(v->verify_checksum(kIpA, kIpB));
}

TEST(WireTcp, EncodesGoldenSyn) {
  TcpRepr r = syn_repr();
  EXPECT_EQ(r.options.encoded_len(), 20u);
  EXPECT_EQ(r.header_len_for_emit(), 40u);
  EXPECT_EQ(emit(r, {}), kSyn);
  r.header_len = 40;  // what parse reports; emit computes its own
  EXPECT_EQ(*TcpRepr::parse(kSyn, kIpA, kIpB), r);
}

TEST(WireTcp, DecodesAndEncodesGoldenSynAck) {
  auto r = TcpRepr::parse(kSynAck, kIpB, kIpA);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->flags, tcp_flag::kSyn | tcp_flag::kAck);
  EXPECT_EQ(r->seq, SeqNum(0xc0ffee00));
  EXPECT_EQ(r->ack, SeqNum(0x3a1f2e4e));
  EXPECT_EQ(r->window, 65160);
  EXPECT_EQ(r->options.timestamps, (TcpOptions::Timestamps{0x11223344, 0x9d3a1b2c}));
  EXPECT_EQ(emit(*r, {}, kIpB, kIpA), kSynAck);
}

TEST(WireTcp, DecodesAndEncodesGoldenSackBlocks) {
  auto r = TcpRepr::parse(kSackAck, kIpA, kIpB);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->flags, tcp_flag::kAck);
  EXPECT_EQ(r->header_len, 52);
  EXPECT_FALSE(r->options.sack_permitted);
  EXPECT_FALSE(r->options.mss);
  ASSERT_EQ(r->options.sack_count, 2);
  EXPECT_EQ(r->options.sack_blocks[0], (SackBlock{SeqNum(0x3a1f3a4e), SeqNum(0x3a1f4000)}));
  EXPECT_EQ(r->options.sack_blocks[1], (SackBlock{SeqNum(0x3a1f5000), SeqNum(0x3a1f55b4)}));
  EXPECT_EQ(r->options.sack_blocks[2], SackBlock{});
  EXPECT_EQ(r->options.encoded_len(), 32u);
  EXPECT_EQ(emit(*r, {}), kSackAck);
}

TEST(WireTcp, DecodesAndEncodesGoldenDataSegment) {
  auto r = TcpRepr::parse(kData, kIpA, kIpB);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->flags, tcp_flag::kPsh | tcp_flag::kAck);
  EXPECT_EQ(r->header_len, 32);
  EXPECT_EQ(r->payload_len, 18);
  auto v = TcpView::check(kData);
  ASSERT_TRUE(v);
  EXPECT_EQ(
      std::string_view(reinterpret_cast<const char*>(v->payload().data()), v->payload().size()),
      "GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(emit(*r, v->payload()), kData);
}

TEST(WireTcp, DecodesTheWholeFrame) {
  auto eth = EthernetView::check(kSynFrame);
  ASSERT_TRUE(eth);
  ASSERT_EQ(eth->ethertype(), ethertype::kIpv4);
  auto ip = Ipv4View::check(eth->payload());
  ASSERT_TRUE(ip);
  ASSERT_TRUE(ip->verify_checksum());
  ASSERT_EQ(ip->protocol(), ip_proto::kTcp);
  auto tcp = TcpRepr::parse(ip->payload(), ip->src(), ip->dst());
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->options.mss, 1460);
  // Emitting each layer again reproduces the frame.
  std::vector<uint8_t> out(kSynFrame.size(), 0);
  EthernetRepr::parse(kSynFrame)->emit(out);
  Ipv4Repr::parse(eth->payload())->emit(MutableBytes(out).subspan(14));
  tcp->emit(MutableBytes(out).subspan(34), ip->src(), ip->dst());
  EXPECT_EQ(out, kSynFrame);
}

TEST(WireTcp, RejectsEveryTruncatedLength) {
  for (size_t len = 0; len < TcpRepr::kMinHeaderLen; ++len) {
    EXPECT_EQ(parse_error(Bytes(kSyn).first(len)), DropReason::kTcpTruncated) << len;
  }
}

TEST(WireTcp, RejectsDataOffsetBelowFive) {
  for (uint8_t doff = 0; doff < 5; ++doff) {
    std::vector<uint8_t> s = kSyn;
    s[12] = static_cast<uint8_t>(doff << 4);
    EXPECT_EQ(parse_error(s), DropReason::kTcpBadDataOffset) << int{doff};
  }
}

TEST(WireTcp, RejectsDataOffsetBeyondTheSegment) {
  // The IP layer delivered 39 of the SYN's 40 header bytes.
  EXPECT_EQ(parse_error(Bytes(kSyn).first(39)), DropReason::kTcpBadDataOffset);
  // Data offset 15 (60 bytes) on a 50-byte segment.
  std::vector<uint8_t> s = kData;
  s[12] = 0xf0;
  EXPECT_EQ(parse_error(s), DropReason::kTcpBadDataOffset);
  // Through IPv4: the packet says the segment is 40 bytes, the data offset
  // claims 44.
  std::vector<uint8_t> frame = kSynFrame;
  frame[14 + 20 + 12] = 0xb0;
  auto ip = Ipv4View::check(Bytes(frame).subspan(14));
  ASSERT_TRUE(ip);
  EXPECT_EQ(parse_error(ip->payload()), DropReason::kTcpBadDataOffset);
}

TEST(WireTcp, RejectsBadChecksum) {
  for (size_t i = 0; i < kData.size(); ++i) {
    if (i == 12) continue;  // the data offset: a different drop
    std::vector<uint8_t> s = kData;
    s[i] ^= 0x04;
    // Checked before the options: a damaged option reads as corruption.
    EXPECT_EQ(parse_error(s), DropReason::kTcpBadChecksum) << i;
    if (i >= 20 && i < 24) continue;  // damaged NOP NOP TS kinds/lengths
    EXPECT_TRUE(TcpRepr::parse(s, kIpA, kIpB, /*verify_checksum=*/false)) << i;
  }
  // The pseudo header is covered: addresses and the segment length.
  EXPECT_EQ(TcpRepr::parse(kData, kIpA, Ipv4Address(198, 18, 0, 3)).error(),
            DropReason::kTcpBadChecksum);
  std::vector<uint8_t> longer = kData;
  longer.push_back(0);  // same sum, different length
  EXPECT_EQ(parse_error(longer), DropReason::kTcpBadChecksum);
}

TEST(WireTcp, RejectsZeroAndOneOptionLengths) {
  for (uint8_t kind : {2, 3, 4, 5, 8, 19, 254}) {
    for (uint8_t len : {0, 1}) {
      EXPECT_EQ(parse_error(with_options({kind, len, 0, 0})), DropReason::kTcpBadOption)
          << int{kind} << " len " << int{len};
    }
  }
}

TEST(WireTcp, RejectsOptionsRunningPastTheHeader) {
  // A kind in the last byte with no room for its length.
  EXPECT_EQ(parse_error(with_options({1, 1, 1, 2})), DropReason::kTcpBadOption);
  EXPECT_EQ(parse_error(with_options({1, 1, 1, 254})), DropReason::kTcpBadOption);
  // Timestamps cut off by the data offset.
  EXPECT_EQ(parse_error(with_options({1, 1, 8, 10, 1, 2, 3, 4})), DropReason::kTcpBadOption);
  // An unknown option whose length runs past the end.
  EXPECT_EQ(parse_error(with_options({1, 1, 254, 6})), DropReason::kTcpBadOption);
  // In a real segment: the SYN's window scale claims 4 bytes at the very end.
  std::vector<uint8_t> s = with_options({2, 4, 5, 180, 1, 1, 1, 3, 3, 4, 0, 0});
  s.resize(s.size() - 2);
  s[12] = 0x70;  // data offset 7: the header ends in the middle of the option
  EXPECT_EQ(TcpRepr::parse(s, kIpA, kIpB, false).error(), DropReason::kTcpBadOption);
}

TEST(WireTcp, IgnoresKnownOptionsOfTheWrongLength) {
  const std::vector<std::vector<uint8_t>> bad = {
      {2, 3, 5, 0},                                      // MSS length 3
      {2, 5, 5, 180, 0, 0, 0, 0},                        // MSS length 5
      {3, 2, 1, 1},                                      // WS length 2
      {3, 4, 7, 0},                                      // WS length 4
      {4, 3, 0, 0},                                      // SACK-permitted length 3
      {4, 4, 0, 0},                                      // SACK-permitted length 4
      {8, 8, 0, 0, 0, 0, 0, 0},                          // TS length 8
      {8, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},             // TS length 11
      {5, 2, 1, 1},                                      // SACK with no block
      {5, 9, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1},              // SACK length 9
      {5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},             // SACK length 11
      {5, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1}  // SACK length 12
  };
  // Linux tcp_parse_options: the option is ignored, the segment kept.
  for (auto opts : bad) {
    // A good window scale after it, parsed when the bad option's length
    // ends exactly where its bytes do (else what follows is read as its
    // length says: here padding and End of Option List).
    const bool ws_follows = opts[1] == opts.size();
    opts.insert(opts.end(), {3, 3, 7, 1});
    std::vector<uint8_t> s = with_options(opts);
    auto r = TcpRepr::parse(s, kIpA, kIpB, false);
    ASSERT_TRUE(r) << "kind " << int{opts[0]} << " len " << int{opts[1]};
    EXPECT_FALSE(r->options.mss) << "kind " << int{opts[0]} << " len " << int{opts[1]};
    EXPECT_FALSE(r->options.timestamps) << "kind " << int{opts[0]} << " len " << int{opts[1]};
    EXPECT_FALSE(r->options.sack_permitted) << "kind " << int{opts[0]} << " len " << int{opts[1]};
    EXPECT_EQ(r->options.sack_count, 0) << "kind " << int{opts[0]} << " len " << int{opts[1]};
    if (ws_follows) {
      ASSERT_TRUE(r->options.window_scale) << "kind " << int{opts[0]} << " len " << int{opts[1]};
      EXPECT_EQ(*r->options.window_scale, 7);
    }
  }
}

TEST(WireTcp, SkipsUnknownOptions) {
  auto r = TcpRepr::parse(
      with_options({
          19,  18, 1,    2,    3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,  // MD5
          254, 4,  0xf9, 0x89,  // RFC 6994 experiment
          34,  2,               // TFO cookie request
          2,   4,  0x05, 0x78,  // MSS 1400
          30,  2,  1,    1,     // MPTCP-ish, then NOP NOP
          3,   3,  9,    0,     // WS 9, EOL
      }),
      kIpA, kIpB);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->options.mss, 1400);
  EXPECT_EQ(r->options.window_scale, 9);
  EXPECT_FALSE(r->options.sack_permitted);
  EXPECT_FALSE(r->options.timestamps);
}

TEST(WireTcp, EndOfOptionListStopsParsing) {
  // After EOL the rest is padding, even if it looks like a broken option.
  auto r = TcpRepr::parse(with_options({2, 4, 0x05, 0xb4, 0, 3, 0, 0xff}), kIpA, kIpB);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->options.mss, 1460);
  EXPECT_FALSE(r->options.window_scale);
  // EOL first: a valid option after it is not seen.
  r = TcpRepr::parse(with_options({0, 0, 0, 0, 2, 4, 0x05, 0xb4}), kIpA, kIpB);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->options, TcpOptions{});
  // Only NOPs.
  r = TcpRepr::parse(with_options({1, 1, 1, 1, 1, 1, 1, 1}), kIpA, kIpB);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->options, TcpOptions{});
}

TEST(WireTcp, WindowScaleIsNotClampedByTheParser) {
  auto r = TcpRepr::parse(with_options({1, 3, 3, 15}), kIpA, kIpB);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->options.window_scale, 15);
}

TEST(WireTcp, KeepsAtMostFourSackBlocks) {
  std::vector<uint8_t> opts = {5, 2 + 5 * 8};
  for (uint32_t k = 0; k < 10; ++k) {
    opts.resize(opts.size() + 4);
    store_be32(opts.data() + opts.size() - 4, 1000 * (k + 1));
  }
  auto o = TcpOptions::parse(opts);  // 42 bytes: only possible through parse() itself
  ASSERT_TRUE(o);
  ASSERT_EQ(o->sack_count, 4);
  EXPECT_EQ(o->sack_blocks[3], (SackBlock{SeqNum(7000), SeqNum(8000)}));

  // Two SACK options in one header add up.
  std::vector<uint8_t> two = {5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 5, 10, 0, 0, 0, 3, 0, 0, 0, 4};
  o = TcpOptions::parse(two);
  ASSERT_TRUE(o);
  ASSERT_EQ(o->sack_count, 2);
  EXPECT_EQ(o->sack_blocks[1], (SackBlock{SeqNum(3), SeqNum(4)}));
}

TEST(WireTcp, OptionLayoutsMatchLinux) {
  struct Case {
    TcpOptions opts;
    std::vector<uint8_t> bytes;
  };
  TcpOptions mss_only;
  mss_only.mss = 536;
  TcpOptions sack_perm_no_ts;
  sack_perm_no_ts.sack_permitted = true;
  TcpOptions ts_only;
  ts_only.timestamps = TcpOptions::Timestamps{1, 2};
  TcpOptions ws_only;
  ws_only.window_scale = 0;
  TcpOptions syn_no_ts;
  syn_no_ts.mss = 1460;
  syn_no_ts.sack_permitted = true;
  syn_no_ts.window_scale = 7;
  TcpOptions four_blocks;
  four_blocks.sack_count = 4;
  for (uint32_t k = 0; k < 4; ++k) four_blocks.sack_blocks[k] = {SeqNum(2 * k), SeqNum(2 * k + 1)};
  const std::vector<Case> cases = {
      {TcpOptions{}, {}},
      {mss_only, {2, 4, 0x02, 0x18}},
      {sack_perm_no_ts, {1, 1, 4, 2}},
      {ts_only, {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}},
      {ws_only, {1, 3, 3, 0}},
      {syn_no_ts, {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7}},
      {four_blocks, {1, 1, 5, 34, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0,
                     0, 3, 0, 0,  0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7}},
  };
  for (const Case& c : cases) {
    ASSERT_EQ(c.opts.encoded_len(), c.bytes.size());
    ASSERT_EQ(c.bytes.size() % 4, 0u);
    std::vector<uint8_t> out(c.bytes.size(), 0xee);
    c.opts.emit(out);
    EXPECT_EQ(out, c.bytes);
    auto back = TcpOptions::parse(out);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, c.opts);
  }
}

TEST(WireTcp, AllFlagsAndFieldsRoundTrip) {
  TcpRepr r{.src_port = 1,
            .dst_port = 65535,
            .seq = SeqNum(0xffffffff),
            .ack = SeqNum(0x80000000),
            .flags = 0xff,
            .window = 0xffff,
            .urgent_ptr = 0x1234};
  const std::vector<uint8_t> payload = {1, 2, 3};  // odd length
  std::vector<uint8_t> out = emit(r, payload);
  auto back = TcpRepr::parse(out, kIpA, kIpB);
  ASSERT_TRUE(back);
  r.payload_len = 3;
  EXPECT_EQ(*back, r);
  for (uint8_t f : {tcp_flag::kFin, tcp_flag::kSyn, tcp_flag::kRst, tcp_flag::kPsh, tcp_flag::kAck,
                    tcp_flag::kUrg, tcp_flag::kEce, tcp_flag::kCwr}) {
    EXPECT_TRUE(back->has(f));
  }
}

TEST(WireTcp, ReservedBitsAreIgnored) {
  std::vector<uint8_t> s = kData;
  s[12] |= 0x0f;  // reserved nibble (AE and friends)
  auto r = TcpRepr::parse(s, kIpA, kIpB, /*verify_checksum=*/false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header_len, 32);
  EXPECT_EQ(r->flags, tcp_flag::kPsh | tcp_flag::kAck);
}

}  // namespace
}  // namespace shunt::wire
