// Byte buffers for the event loops: a growable read buffer with a consumed
// offset (compacted, not reallocated, between reads) and a double-buffered write
// queue (one string being written, one collecting), so forwarding a message is
// a memcpy, not an allocation. Owned by one connection; not thread-safe.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace pgvigil::proxy {

class ReadBuffer {
 public:
  // Starts empty: an idle connection costs no buffer until it reads.
  explicit ReadBuffer(size_t initial = 0) : buf_(initial) {}
  const uint8_t* data() const { return buf_.data() + start_; }
  size_t size() const { return end_ - start_; }
  void Consume(size_t n) {
    start_ += n;
    if (start_ == end_) start_ = end_ = 0;
  }
  // Space to read into (at least `min` bytes), compacting first.
  uint8_t* Prepare(size_t min, size_t* avail) {
    if (start_ > 0 && buf_.size() - end_ < min) {
      std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
      end_ -= start_;
      start_ = 0;
    }
    if (buf_.size() - end_ < min) buf_.resize(end_ + min);
    *avail = buf_.size() - end_;
    return buf_.data() + end_;
  }
  void Commit(size_t n) { end_ += n; }
  // Releases memory held by an idle connection after a large message. keep must
  // be at least the `min` the owner passes to Prepare, or every read reallocates.
  void Shrink(size_t keep) {
    if (size() == 0 && buf_.size() > keep) {
      buf_.resize(keep);
      buf_.shrink_to_fit();
    }
  }

 private:
  std::vector<uint8_t> buf_;
  size_t start_ = 0, end_ = 0;
};

struct WriteQueue {
  std::string pending;   // appended to while a write is in flight
  std::string inflight;  // owned by the async write
  bool writing = false;
  size_t Queued() const { return pending.size() + inflight.size(); }
};

}  // namespace pgvigil::proxy
