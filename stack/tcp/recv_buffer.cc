#include "stack/tcp/recv_buffer.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <limits>

#include "stack/base/check.h"

namespace shunt::tcp {

namespace {
constexpr size_t kB = RecvBuffer::kBlockSize;

uint32_t distance(SeqNum from, SeqNum to) {
  return static_cast<uint32_t>(to - from);
}
}  // namespace

RecvBuffer::RecvBuffer(BlockCache& cache, size_t capacity, SeqNum rcv_nxt)
    : blocks_(cache), capacity_(std::min(capacity, kMaxCapacity)), rcv_nxt_(rcv_nxt) {}

void RecvBuffer::reset(SeqNum rcv_nxt) {
  blocks_.clear();
  rcv_nxt_ = rcv_nxt;
  readable_ = 0;
  ooo_bytes_ = 0;
  front_ = 0;
  ranges_.clear();
}

void RecvBuffer::set_capacity(size_t c) {
  capacity_ = std::min(c, kMaxCapacity);
}

void RecvBuffer::write(SeqNum at, const uint8_t* p, size_t n) {
  size_t pos = front_ + distance(head(), at);
  size_t done = 0;
  while (done < n) {
    const size_t off = pos % kB;
    const size_t chunk = std::min(kB - off, n - done);
    std::memcpy(blocks_.ensure(pos / kB) + off, p + done, chunk);
    done += chunk;
    pos += chunk;
  }
}

RecvBuffer::Accepted RecvBuffer::insert(SeqNum seq, std::span<const uint8_t> data) {
  Accepted r;
  // A segment is at most 64 KiB (a GSO/GRO aggregate a little more); a span
  // that does not fit in sequence space is a caller bug.
  SHUNT_CHECK(data.size() <= std::numeric_limits<int32_t>::max());
  const uint8_t* p = data.data();
  size_t len = data.size();
  if (len == 0) return r;

  // RFC 9293 3.10.7.4: only text at RCV.NXT and beyond is new; what lies
  // before it was received already.
  if (seq < rcv_nxt_) {
    const size_t dup = std::min<size_t>(distance(seq, rcv_nxt_), len);
    r.duplicate = dup;
    p += dup;
    len -= dup;
    seq = rcv_nxt_;
    if (len == 0) return r;
  }
  // RFC 9293 3.10.7.4: text beyond the window is trimmed. The window is
  // receive_space(): what the buffer can hold beyond RCV.NXT.
  const size_t space = receive_space();
  const size_t off = distance(rcv_nxt_, seq);
  if (off >= space) {
    r.dropped_no_space = len;
    return r;
  }
  if (off + len > space) {
    r.dropped_no_space = off + len - space;
    len = space - off;
  }
  const SeqNum end = seq + static_cast<uint32_t>(len);

  // The common case: in order, nothing out of order held.
  if (ranges_.empty() && off == 0) {
    write(seq, p, len);
    rcv_nxt_ = end;
    readable_ += len;
    r.in_order = len;
    return r;
  }

  // Ranges [it, jt) overlap or touch [seq, end): they merge with it.
  auto it = std::lower_bound(ranges_.begin(), ranges_.end(), seq,
                             [](const Range& range, SeqNum s) { return range.right < s; });
  auto jt = it;
  while (jt != ranges_.end() && jt->left <= end) ++jt;

  if (it == jt && off != 0 && ranges_.size() >= kMaxOooRanges) {
    // A new disjoint range would exceed the bound: drop the segment (the
    // peer retransmits it once the holes below fill), as Linux prunes its
    // out-of-order queue.
    r.dropped_no_space += len;
    return r;
  }

  // Copy the parts not held yet; overlaps keep the first copy.
  SeqNum cur = seq;
  size_t written = 0;
  size_t merged_bytes = 0;
  for (auto k = it; k != jt; ++k) {
    if (cur < k->left) {
      const SeqNum piece_end = seq_min(k->left, end);
      const size_t n = distance(cur, piece_end);
      write(cur, p + distance(seq, cur), n);
      written += n;
    }
    cur = seq_max(cur, k->right);
    merged_bytes += distance(k->left, k->right);
  }
  if (cur < end) {
    const size_t n = distance(cur, end);
    write(cur, p + distance(seq, cur), n);
    written += n;
  }
  r.duplicate += len - written;

  const SeqNum left = it == jt ? seq : seq_min(seq, it->left);
  const SeqNum right = it == jt ? end : seq_max(end, std::prev(jt)->right);
  if (left == rcv_nxt_) {
    // RFC 9293 3.10.7.4: the hole at RCV.NXT is filled; RCV.NXT moves over
    // this segment and every out-of-order range it reaches.
    r.in_order = written;
    readable_ += distance(rcv_nxt_, right);
    ooo_bytes_ -= merged_bytes;
    rcv_nxt_ = right;
    ranges_.erase(it, jt);
  } else {
    r.out_of_order = written;
    ooo_bytes_ += written;
    // RFC 2018 4: remember which range got the latest segment, even a
    // duplicate one, for the order of the SACK blocks.
    const Range merged{left, right, ++stamp_};
    if (it == jt) {
      if (ranges_.capacity() == 0) {
        // Allocated once, on the first out-of-order segment (idle
        // connections never pay for it).
        ranges_.reserve(kMaxOooRanges);
        it = ranges_.begin();
      }
      ranges_.insert(it, merged);
    } else {
      *it = merged;
      ranges_.erase(std::next(it), jt);
    }
  }
  return r;
}

void RecvBuffer::release_front(size_t n) {
  readable_ -= n;
  // Empty: every block goes back to the stack's cache (the next segment
  // takes one from there), and the next byte starts a block.
  blocks_.consume_front(front_, n, readable_ == 0 && ranges_.empty());
}

size_t RecvBuffer::read(std::span<uint8_t> out, bool peek) {
  const size_t n = std::min(out.size(), readable_);
  size_t pos = front_;
  size_t done = 0;
  while (done < n) {
    const size_t off = pos % kB;
    const size_t chunk = std::min(kB - off, n - done);
    std::memcpy(out.data() + done, blocks_.get(pos / kB) + off, chunk);
    done += chunk;
    pos += chunk;
  }
  if (!peek && n > 0) release_front(n);
  return n;
}

size_t RecvBuffer::sack_blocks(std::span<wire::SackBlock> out) const {
  // RFC 2018 4: "The first SACK block ... MUST specify the contiguous block
  // of data containing the segment which triggered this ACK"; the others
  // repeat the most recently reported blocks. Stamps are unique (each
  // insert stamps one range), so picking by descending stamp gives that
  // order. At most 4 of at most kMaxOooRanges: a selection is enough.
  const size_t n = std::min(out.size(), ranges_.size());
  uint64_t below = std::numeric_limits<uint64_t>::max();
  for (size_t i = 0; i < n; ++i) {
    const Range* best = nullptr;
    for (const Range& range : ranges_) {
      if (range.stamp < below && (!best || range.stamp > best->stamp)) best = &range;
    }
    out[i] = wire::SackBlock{best->left, best->right};
    below = best->stamp;
  }
  return n;
}

}  // namespace shunt::tcp
