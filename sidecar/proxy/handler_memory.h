// Memory for the operations of the proxy's busiest handlers (socket reads, a
// backend handed to a waiting client). Asio keeps one cached block per thread
// for its operations: whenever two are started before one completes (a
// client's read and a backend's, a posted hand-over), the second allocates
// and a later completion frees, once per transaction. Operations of handlers
// wrapped by UseHandlerMemory come from a small free list of this thread's
// instead. Blocks freed on another thread (an io_context destroyed elsewhere)
// go to that thread's list, which frees them when the thread ends.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace pgvigil::proxy {

class HandlerMemory {
 public:
  // Blocks come in size classes of kGrain bytes up to kGrain * kClasses;
  // larger requests go to operator new. A block is only as large as its
  // class: every idle connection holds one (its pending read), so one
  // block size for all would cost memory per idle client.
  static constexpr size_t kGrain = 64;
  static constexpr size_t kClasses = 8;
  static constexpr size_t kKeep = 64;  // free blocks kept per class and thread

  static constexpr size_t ClassOf(size_t n) { return n == 0 ? 0 : (n - 1) / kGrain; }
  static constexpr size_t BlockSize(size_t n) { return (ClassOf(n) + 1) * kGrain; }

  static void* Allocate(size_t n) {
    if (n > kGrain * kClasses) return ::operator new(n);
    auto& f = Free(ClassOf(n));
    if (f.empty()) return ::operator new(BlockSize(n));
    void* p = f.back();
    f.pop_back();
    return p;
  }
  // n: the size given to Allocate (Asio's allocators pass it back).
  static void Deallocate(void* p, size_t n) {
    if (n > kGrain * kClasses) return ::operator delete(p);
    auto& f = Free(ClassOf(n));
    if (f.size() >= kKeep) return ::operator delete(p);
    f.push_back(p);
  }
  // Free blocks this thread keeps of the class of n (for tests).
  static size_t Kept(size_t n) { return n > kGrain * kClasses ? 0 : Free(ClassOf(n)).size(); }

 private:
  struct List {
    List() { v.reserve(kKeep); }
    ~List() {
      for (void* p : v) ::operator delete(p);
    }
    std::vector<void*> v;
  };
  static std::vector<void*>& Free(size_t c) {
    thread_local List lists[kClasses];
    return lists[c].v;
  }
};

template <typename T>
struct HandlerAllocator {
  using value_type = T;
  HandlerAllocator() = default;
  template <typename U>
  HandlerAllocator(const HandlerAllocator<U>&) {}  // NOLINT: converting, as allocators are
  T* allocate(size_t n) { return static_cast<T*>(HandlerMemory::Allocate(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { HandlerMemory::Deallocate(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const HandlerAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const HandlerAllocator<U>&) const { return false; }
};

// A handler whose operation Asio allocates with HandlerAllocator.
template <typename F>
struct HandlerWithMemory {
  F f;
  using allocator_type = HandlerAllocator<void>;
  allocator_type get_allocator() const { return {}; }
  template <typename... Args>
  void operator()(Args&&... args) {
    f(std::forward<Args>(args)...);
  }
};
template <typename F>
HandlerWithMemory<std::decay_t<F>> UseHandlerMemory(F&& f) {
  return {std::forward<F>(f)};
}

}  // namespace pgvigil::proxy
