// Counts heap allocations made through operator new in this program (bench_parse only:
// alloc_count.cpp replaces the global operator new/delete).
#pragma once

#include <cstdint>

namespace sipbox::bench {

// operator new calls since the program started.
std::uint64_t heap_allocations() noexcept;

// While on, every operator new raises SIGTRAP: under gdb, `bt` shows who allocates.
void trap_allocations(bool on) noexcept;

}  // namespace sipbox::bench
