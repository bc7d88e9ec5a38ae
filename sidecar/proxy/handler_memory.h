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
  static constexpr size_t kBlock = 512;  // larger requests go to operator new
  static void* Allocate(size_t n) {
    if (n > kBlock) return ::operator new(n);
    auto& f = Free();
    if (f.empty()) return ::operator new(kBlock);
    void* p = f.back();
    f.pop_back();
    return p;
  }
  static void Deallocate(void* p, size_t n) {
    auto& f = Free();
    if (n > kBlock || f.size() >= kKeep) return ::operator delete(p);
    f.push_back(p);
  }

 private:
  static constexpr size_t kKeep = 64;
  struct List {
    List() { v.reserve(kKeep); }
    ~List() {
      for (void* p : v) ::operator delete(p);
    }
    std::vector<void*> v;
  };
  static std::vector<void*>& Free() {
    thread_local List list;
    return list.v;
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
