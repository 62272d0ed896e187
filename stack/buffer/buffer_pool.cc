#include "stack/buffer/buffer_pool.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace shunt {
namespace {

// Free chunks kept per size class; beyond this they go back to the system
// so a burst does not pin memory for ever.
constexpr std::array<size_t, 3> kMaxCached = {16384, 512, 64};

}  // namespace

void PacketBuffer::release() {
  if (chunk_ != nullptr) chunk_->pool->give_back(std::exchange(chunk_, nullptr));
}

PacketBuffer PacketBuffer::clone() const {
  if (chunk_ == nullptr) return {};
  PacketBuffer copy = chunk_->pool->allocate(size(), headroom());
  SHUNT_CHECK(static_cast<bool>(copy));
  std::memcpy(copy.append(size()).data(), data(), size());
  return copy;
}

BufferPool::~BufferPool() {
  // A buffer outliving its pool would write into freed memory later.
  SHUNT_CHECK(outstanding_ == 0);
  SHUNT_CHECK(blocks_.outstanding() == 0);
  for (auto* head : free_) {
    while (head != nullptr) {
      detail::Chunk* next = head->next_free;
      std::free(head);
      head = next;
    }
  }
}

PacketBuffer BufferPool::allocate(size_t size, size_t headroom) {
  size_t need = size + headroom;
  size_t cls = 0;
  while (cls < kClassCapacity.size() && kClassCapacity[cls] < need) ++cls;
  if (cls == kClassCapacity.size()) return {};
  detail::Chunk* c = free_[cls];
  if (c != nullptr) {
    free_[cls] = c->next_free;
    --free_count_[cls];
  } else {
    void* mem = std::malloc(sizeof(detail::Chunk) + kClassCapacity[cls]);
    if (mem == nullptr) return {};
    c = new (mem) detail::Chunk{this, nullptr, kClassCapacity[cls], static_cast<uint8_t>(cls)};
    ++system_allocations_;
  }
  c->next_free = nullptr;
  ++outstanding_;
  return PacketBuffer(c, static_cast<uint32_t>(headroom));
}

void BufferPool::give_back(detail::Chunk* c) {
  --outstanding_;
  size_t cls = c->size_class;
  if (free_count_[cls] >= kMaxCached[cls]) {
    std::free(c);
    return;
  }
  c->next_free = free_[cls];
  free_[cls] = c;
  ++free_count_[cls];
}

size_t BufferPool::cached() const {
  size_t n = 0;
  for (size_t c : free_count_) n += c;
  return n;
}

}  // namespace shunt
