#include "sidecar/proxy/handler_memory.h"

#include <gtest/gtest.h>

#include <thread>

namespace pgvigil::proxy {
namespace {

TEST(HandlerMemoryTest, BlocksAreOnlyAsLargeAsTheirClass) {
  struct Row {
    size_t n, block;
  } rows[] = {{1, 64}, {64, 64}, {65, 128}, {200, 256}, {256, 256}, {257, 320}, {512, 512}};
  for (const Row& r : rows) EXPECT_EQ(HandlerMemory::BlockSize(r.n), r.block) << "n = " << r.n;
}

TEST(HandlerMemoryTest, AFreedBlockServesItsClassOnly) {
  // On a thread of its own, so the free lists start empty.
  std::thread([] {
    void* a = HandlerMemory::Allocate(100);
    HandlerMemory::Deallocate(a, 100);
    EXPECT_EQ(HandlerMemory::Kept(100), 1u);
    EXPECT_EQ(HandlerMemory::Kept(300), 0u);
    void* b = HandlerMemory::Allocate(300);  // another class: a new block
    EXPECT_NE(a, b);
    EXPECT_EQ(HandlerMemory::Kept(100), 1u);
    void* c = HandlerMemory::Allocate(120);  // same class as 100: the kept block
    EXPECT_EQ(a, c);
    EXPECT_EQ(HandlerMemory::Kept(100), 0u);
    HandlerMemory::Deallocate(b, 300);
    HandlerMemory::Deallocate(c, 120);
    void* big = HandlerMemory::Allocate(4096);  // beyond the classes: operator new, not kept
    HandlerMemory::Deallocate(big, 4096);
    EXPECT_EQ(HandlerMemory::Kept(4096), 0u);
  }).join();
}

TEST(HandlerMemoryTest, KeepsAtMostItsLimitPerClass) {
  std::thread([] {
    std::vector<void*> v;
    for (size_t i = 0; i < HandlerMemory::kKeep + 10; ++i) v.push_back(HandlerMemory::Allocate(64));
    for (void* p : v) HandlerMemory::Deallocate(p, 64);
    EXPECT_EQ(HandlerMemory::Kept(64), HandlerMemory::kKeep);
  }).join();
}

}  // namespace
}  // namespace pgvigil::proxy
