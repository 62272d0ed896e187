// RecvBuffer: received segment text (RFC 9293 3.10.7.4, "seventh, process
// the segment text") in order and out of order, and the SACK blocks that
// describe the out-of-order part (RFC 2018).
//
// Reading list:
//   RFC 9293 3.4, 3.10.7.4  acceptability, RCV.NXT, in-order delivery
//   RFC 9293 3.8.6.2.2      the receive window and not shrinking it
//   RFC 2018 3, 4, 8        SACK block contents and order; reneging
//   RFC 7323 2.3            windows up to 2**30
//
// Storage: bytes live at their sequence number's position in a chain of
// 16 KiB blocks (detail::BlockRing, shared with SendBuffer), taken from the
// stack's BlockCache when data lands in them and given back when read. Out-of-order data is written in
// place, so filling a hole moves no data: the in-order boundary just moves
// over it. Reading never shifts the buffer. Copies are one memcpy per
// contiguous piece.
//
// The out-of-order set is a small sorted vector of disjoint [left, right)
// ranges, merged with neighbours on insertion, bounded in bytes by the
// capacity and in number by kMaxOooRanges (like Linux's out-of-order queue
// pruning, a peer cannot make us track unbounded fragmentation).
//
// Pure: no syscalls, no clock, no globals. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "stack/base/seq.h"
#include "stack/tcp/send_buffer.h"
#include "stack/wire/tcp.h"

namespace shunt::tcp {

class RecvBuffer {
 public:
  static constexpr size_t kBlockSize = detail::BlockRing::kBlockSize;
  // Disjoint out-of-order ranges kept at most.
  static constexpr size_t kMaxOooRanges = 64;
  // RFC 7323 2.3: a window never exceeds 2**30; keeping the buffer below
  // 2**31 also keeps every sequence comparison inside it unambiguous.
  static constexpr size_t kMaxCapacity = size_t{1} << 30;

  // capacity: SO_RCVBUF, the payload bytes it may hold, in order and out of
  // order together (clamped to kMaxCapacity). rcv_nxt: IRS + 1. Blocks
  // come from `cache`, which must outlive the buffer.
  RecvBuffer(BlockCache& cache, size_t capacity, SeqNum rcv_nxt);

  // Forgets all data and starts again at rcv_nxt (e.g. when the SYN arrives
  // after the buffer was built for a listening socket).
  void reset(SeqNum rcv_nxt);

  // The next in-order sequence number expected.
  SeqNum rcv_nxt() const { return rcv_nxt_; }
  // In-order bytes the application can read.
  size_t readable() const { return readable_; }
  // Bytes held out of order (above a hole).
  size_t ooo_bytes() const { return ooo_bytes_; }
  // Disjoint out-of-order ranges held.
  size_t ooo_ranges() const { return ranges_.size(); }
  // Free space: capacity - readable() - ooo_bytes(), never negative.
  size_t window() const {
    const size_t used = readable_ + ooo_bytes_;
    return used < capacity_ ? capacity_ - used : 0;
  }
  // How far beyond RCV.NXT data is accepted: capacity - readable(), never
  // negative. Out-of-order data lies inside this span, so this, not
  // window(), is the right edge to advertise: advertising window() from
  // RCV.NXT would shrink the window whenever out-of-order data arrives
  // (RFC 9293 3.8.6.2.2 discourages shrinking).
  size_t receive_space() const { return readable_ < capacity_ ? capacity_ - readable_ : 0; }
  size_t capacity() const { return capacity_; }

  struct Accepted {
    size_t in_order = 0;          // new bytes of this segment now readable
    size_t out_of_order = 0;      // new bytes of this segment kept above a hole
    size_t duplicate = 0;         // bytes already received (before RCV.NXT or already held)
    size_t dropped_no_space = 0;  // beyond the buffer, or would exceed kMaxOooRanges
    bool operator==(const Accepted&) const = default;
  };
  // Segment text starting at `seq`. The caller has normally trimmed it to
  // the receive window; this is safe anyway: bytes before RCV.NXT are
  // duplicates, bytes at or beyond RCV.NXT + receive_space() are dropped.
  // In-order data becomes readable, together with any out-of-order data it
  // reaches; other data joins the out-of-order set (overlaps keep the copy
  // already held). The four counts add up to data.size().
  Accepted insert(SeqNum seq, std::span<const uint8_t> data);

  // Copies up to out.size() in-order bytes; consumes them unless peek.
  // Returns the bytes copied.
  size_t read(std::span<uint8_t> out, bool peek = false);

  // RFC 2018 4: fills up to out.size() SACK blocks (4, or 3 with
  // timestamps: the caller sizes the span) describing the out-of-order
  // data: the block holding the most recently received segment first, then
  // the others by how recently they received data, most recent first.
  // Returns the number of blocks written.
  size_t sack_blocks(std::span<wire::SackBlock> out) const;

  // Clamped to kMaxCapacity. Shrinking below what is held discards nothing
  // (RFC 2018 8: a receiver should not renege): window() and
  // receive_space() are 0 until the application reads.
  void set_capacity(size_t c);

  // Bytes of block memory held (an empty buffer holds none).
  size_t memory() const { return blocks_.in_use() * kBlockSize; }

 private:
  struct Range {
    SeqNum left;
    SeqNum right;
    uint64_t stamp;  // insert() counter when this range last received a segment
  };

  SeqNum head() const { return rcv_nxt_ - static_cast<uint32_t>(readable_); }
  // Copies n bytes to the position of sequence number `at`.
  void write(SeqNum at, const uint8_t* p, size_t n);
  void release_front(size_t n);
  detail::BlockRing blocks_;
  size_t capacity_;
  SeqNum rcv_nxt_;
  size_t readable_ = 0;
  size_t ooo_bytes_ = 0;
  size_t front_ = 0;           // offset of head() in block 0
  std::vector<Range> ranges_;  // sorted, disjoint, not adjacent, all above rcv_nxt_
  uint64_t stamp_ = 0;
};

}  // namespace shunt::tcp
