// The emulator's scheduler and device memory.
//
// Scheduling: the threads of a block are fibers with their own stacks; blocks run one after
// another on the calling thread. A fiber runs until it finishes or reaches a sync point:
//  - a warp barrier (shuffles, __syncwarp, ballots) is released when every live thread of the
//    warp waits on it;
//  - the block barrier (__syncthreads) when every live thread of the block waits on it (threads
//    that have returned count as arrived, as on Volta and newer).
// A blocked fiber hands over directly to the next runnable fiber of its warp, and to the
// scheduler only when its warp has none, so a warp runs to its next __syncthreads with one
// context switch per thread and sync point. A thread gets a stack when it first runs, and one
// that finishes hands its stack to the next thread of the warp that has not started, so threads
// without sync points run back to back without any switch. Nothing runnable while threads are
// still live is a deadlock, reported with the threads involved.
//
// Device memory is host memory with red zones around each allocation; they are checked after
// every launch so that a kernel writing out of bounds fails the launch that did it.
#define TWOBP_EMU_RUNTIME
#include "cuda_emu.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#if !defined(__x86_64__) || defined(TWOBP_EMU_UCONTEXT)
#include <ucontext.h>
#define TWOBP_EMU_USE_UCONTEXT 1
#endif

namespace twobp_emu {

uint3 g_threadIdx, g_blockIdx;
dim3 g_blockDim, g_gridDim;

namespace {

constexpr unsigned kMaxThreads = 1024;
constexpr std::size_t kStackBytes = 64 * 1024;
constexpr std::size_t kRedZone = 256;
constexpr unsigned char kRedByte = 0xA5;
constexpr unsigned char kFreshByte = 0xFF;  // new allocations read as NaN / -1, so unwritten reads stand out

// ---- context switching ------------------------------------------------------------------------

void fiber_main();

#ifndef TWOBP_EMU_USE_UCONTEXT
// Saves the callee-saved registers on the current stack, stores the stack pointer in *save and
// continues on the stack `to` (which was saved the same way, or prepared by ctx_init).
extern "C" void twobp_emu_switch(void** save, void* to);
asm(R"(
    .text
    .p2align 4
    .globl twobp_emu_switch
    .hidden twobp_emu_switch
    .type twobp_emu_switch, @function
twobp_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size twobp_emu_switch, .-twobp_emu_switch
)");

struct Context {
    void* sp;
};

void ctx_init(Context& c, char* stack, std::size_t bytes) {
    auto* sp = reinterpret_cast<std::uintptr_t*>(
        (reinterpret_cast<std::uintptr_t>(stack) + bytes) & ~std::uintptr_t(15));
    *--sp = 0;  // return address of fiber_main, which never returns; keeps the ABI's alignment
    *--sp = reinterpret_cast<std::uintptr_t>(&fiber_main);  // where the first switch's ret goes
    for (int i = 0; i < 6; i++) *--sp = 0;                   // rbp rbx r12-r15
    c.sp = sp;
}

inline void ctx_switch(Context& from, Context& to) { twobp_emu_switch(&from.sp, to.sp); }
#else
struct Context {
    ucontext_t uc;
};

void ctx_init(Context& c, char* stack, std::size_t bytes) {
    getcontext(&c.uc);
    c.uc.uc_stack.ss_sp = stack;
    c.uc.uc_stack.ss_size = bytes;
    c.uc.uc_link = nullptr;
    makecontext(&c.uc, fiber_main, 0);
}

inline void ctx_switch(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
#endif

// ---- scheduler state ----------------------------------------------------------------------------

struct Fiber {
    Context ctx;
    uint3 tid;
    unsigned lane, warp;
    unsigned stack;         // index of the stack it runs on, once started
    const char* waitingIn;  // the sync point it blocks in, for deadlock reports
};

struct Warp {
    unsigned live, runnable, waitWarp, waitBlock;  // lane masks
    unsigned fresh;                                // runnable lanes that have not started: no stack yet
    unsigned parity;                               // which half of slots the next exchange uses
    unsigned present[2];
    std::uint64_t slots[2][32];
};

struct Kernel {
    std::string name;
    Entry entry;
    std::string signature;
    std::size_t argBytes;
    std::vector<std::size_t> offsets;
    int definitions;
};

struct Scheduler {
    Fiber fibers[kMaxThreads];
    Warp warps[kMaxThreads / 32];
    Context main;
    Fiber* cur = nullptr;
    unsigned threads = 0, nwarps = 0;
    unsigned live = 0, waitingBlock = 0;
    unsigned blockParity = 0;
    int counts[2] = {0, 0};
    const Kernel* kernel = nullptr;
    const unsigned char* args = nullptr;
    bool failed = false;
    std::string error;
    char* stacks = nullptr;
    std::size_t stackStride = 0;
    unsigned freeStacks[kMaxThreads];  // a LIFO, so that recently used (cached) stacks come first
    unsigned nfree = 0;
};

Scheduler S;

std::string dim_str(unsigned x, unsigned y, unsigned z) {
    return "(" + std::to_string(x) + "," + std::to_string(y) + "," + std::to_string(z) + ")";
}

std::string where(const Fiber* f) {
    return "block " + dim_str(g_blockIdx.x, g_blockIdx.y, g_blockIdx.z) + ", thread " +
           dim_str(f->tid.x, f->tid.y, f->tid.z);
}

inline void enter(Fiber* f) {
    S.cur = f;
    g_threadIdx = f->tid;
}

char* stack_base(unsigned i) { return S.stacks + i * S.stackStride; }

// The stacks are a multiple of the page size apart; staggering their tops keeps the hot frames
// of different fibers off the same cache sets.
std::size_t stack_bytes(unsigned i) { return kStackBytes - (i & 63) * 64; }

// Saves the running context in `from` and resumes f, first giving it a stack if it has not started.
inline void switch_to(Context& from, Fiber* f) {
    Warp& w = S.warps[f->warp];
    const unsigned bit = 1u << f->lane;
    if (w.fresh & bit) {
        w.fresh &= ~bit;
        f->stack = S.freeStacks[--S.nfree];
        ctx_init(f->ctx, stack_base(f->stack), stack_bytes(f->stack));
    }
    enter(f);
    ctx_switch(from, f->ctx);
}

// The next runnable fiber of self's warp after self's lane (wrapping around), or null.
inline Fiber* next_in_warp(const Fiber* self) {
    const unsigned m = S.warps[self->warp].runnable;
    if (!m) return nullptr;
    const unsigned after = m & ~((2u << self->lane) - 1u);
    return &S.fibers[self->warp * 32 + __builtin_ctz(after ? after : m)];
}

// Blocks the current fiber (its runnable bit is already cleared) and runs the next runnable
// fiber of its warp, or the scheduler when there is none.
inline __attribute__((always_inline)) void give_way(Fiber* self) {
    if (Fiber* next = next_in_warp(self)) {
        switch_to(self->ctx, next);
    } else {
        ctx_switch(self->ctx, S.main);
    }
}

void release_warp(Warp& w) {
    w.runnable |= w.waitWarp;
    w.waitWarp = 0;
    w.parity ^= 1;
    w.present[w.parity] = 0;
}

void release_block() {
    for (unsigned i = 0; i < S.nwarps; i++) {
        Warp& w = S.warps[i];
        w.runnable |= w.waitBlock;
        w.waitBlock = 0;
    }
    S.waitingBlock = 0;
    S.blockParity ^= 1;
    S.counts[S.blockParity] = 0;
}

[[noreturn]] __attribute__((noinline, cold)) void outside_launch(const char* what) {
    std::fprintf(stderr, "twobp cuda emulator: %s called outside a kernel launch\n", what);
    std::abort();
}

inline Fiber* current(const char* what) {
    if (__builtin_expect(!S.cur, 0)) outside_launch(what);
    return S.cur;
}

// Runs threads until one finishes and the next runnable thread of the warp has started already
// (or there is none): a thread that has not started takes over the finished one's stack, so
// threads that never sync run one after another without a context switch.
void fiber_main() {
    for (;;) {
        S.kernel->entry(S.args);
        Fiber* self = S.cur;
        Warp& w = S.warps[self->warp];
        const unsigned bit = 1u << self->lane;
        w.runnable &= ~bit;
        w.live &= ~bit;
        S.live--;
        if (w.waitWarp && w.waitWarp == w.live) release_warp(w);
        if (S.waitingBlock && S.waitingBlock == S.live) release_block();
        Fiber* next = next_in_warp(self);
        if (next && (w.fresh >> next->lane & 1u)) {
            w.fresh &= ~(1u << next->lane);
            next->stack = self->stack;
            enter(next);
            continue;
        }
        // This stack is free once we have left it; nothing reinitialises it before then.
        S.freeStacks[S.nfree++] = self->stack;
        Context dead;
        if (next) {
            switch_to(dead, next);
        } else {
            ctx_switch(dead, S.main);
        }
        std::abort();  // a finished thread is never resumed
    }
}

void block_arrive(Fiber* self, const char* what) {
    Warp& w = S.warps[self->warp];
    const unsigned bit = 1u << self->lane;
    w.runnable &= ~bit;
    w.waitBlock |= bit;
    self->waitingIn = what;
    if (++S.waitingBlock == S.live) {
        release_block();
    } else {
        give_way(self);
    }
}

std::string hex(std::uint64_t v) {
    char b[24];
    std::snprintf(b, sizeof b, "0x%llx", (unsigned long long) v);
    return b;
}

void set_block_shape(dim3 block) {
    S.threads = block.x * block.y * block.z;
    S.nwarps = (S.threads + 31) / 32;
    unsigned i = 0;
    for (unsigned z = 0; z < block.z; z++)
        for (unsigned y = 0; y < block.y; y++)
            for (unsigned x = 0; x < block.x; x++, i++) {
                Fiber& f = S.fibers[i];
                f.tid = {x, y, z};
                f.lane = i & 31;
                f.warp = i >> 5;
            }
}

// Runs one block to completion; false when it failed (S.error says why).
bool run_block() {
    S.nfree = S.threads;
    for (unsigned i = 0; i < S.threads; i++) S.freeStacks[i] = S.threads - 1 - i;
    for (unsigned i = 0; i < S.nwarps; i++) {
        Warp& w = S.warps[i];
        const unsigned n = std::min(32u, S.threads - i * 32);
        w.live = w.runnable = w.fresh = n == 32 ? ~0u : (1u << n) - 1u;
        w.waitWarp = w.waitBlock = 0;
        w.parity = 0;
        w.present[0] = w.present[1] = 0;
    }
    S.live = S.threads;
    S.waitingBlock = 0;
    S.blockParity = 0;
    S.counts[0] = S.counts[1] = 0;
    while (S.live > 0) {
        bool progress = false;
        for (unsigned i = 0; i < S.nwarps; i++) {
            const unsigned m = S.warps[i].runnable;
            if (!m) continue;
            switch_to(S.main, &S.fibers[i * 32 + __builtin_ctz(m)]);
            S.cur = nullptr;
            if (S.failed) return false;
            progress = true;
        }
        if (!progress) {
            // Stuck: some warp has threads in a warp-level sync and others in __syncthreads.
            for (unsigned i = 0; i < S.nwarps; i++) {
                const Warp& w = S.warps[i];
                if (!w.waitWarp || !w.waitBlock) continue;
                const Fiber* a = &S.fibers[i * 32 + __builtin_ctz(w.waitBlock)];
                const Fiber* b = &S.fibers[i * 32 + __builtin_ctz(w.waitWarp)];
                S.error = "kernel '" + S.kernel->name + "' deadlocked in " + where(a) + ": that thread waits in " +
                          a->waitingIn + " while thread " + dim_str(b->tid.x, b->tid.y, b->tid.z) +
                          " of the same warp waits in " + b->waitingIn +
                          " (every live thread of a warp must reach the same warp-level sync, and every live thread"
                          " of a block the same __syncthreads)";
                return false;
            }
            S.error = "kernel '" + S.kernel->name + "' deadlocked in block " +
                      dim_str(g_blockIdx.x, g_blockIdx.y, g_blockIdx.z) + " (" + std::to_string(S.live) +
                      " threads live, none runnable)";
            return false;
        }
    }
    return true;
}

void ensure_stacks() {
    if (S.stacks) return;
    const std::size_t page = (std::size_t) sysconf(_SC_PAGESIZE);
    S.stackStride = kStackBytes + page;  // a guard page below each stack turns overflows into a fault
    void* m = mmap(nullptr, S.stackStride * kMaxThreads, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) throw host::Error(host::ErrorKind::STATE, "cannot map the emulator's fiber stacks");
    for (unsigned i = 0; i < kMaxThreads; i++) mprotect((char*) m + i * S.stackStride, page, PROT_NONE);
    S.stacks = (char*) m + page;
}

// ---- kernel registry ----------------------------------------------------------------------------

std::map<std::string, Kernel>& registry() {
    static std::map<std::string, Kernel> r;
    return r;
}

// ---- device memory ------------------------------------------------------------------------------

struct Allocation {
    unsigned char* base;  // what malloc returned; the user area starts kRedZone bytes in
    std::uint64_t size;
};

std::map<std::uint64_t, Allocation> allocations;  // by user address
std::uint64_t allocated = 0, memoryLimit = 0, launches = 0;
unsigned char redPattern[kRedZone];

unsigned char* front_zone(std::uint64_t addr) { return (unsigned char*) addr - kRedZone; }
unsigned char* back_zone(std::uint64_t addr, const Allocation& a) { return (unsigned char*) addr + a.size; }

void paint(std::uint64_t addr, const Allocation& a) {
    std::memset(front_zone(addr), kRedByte, kRedZone);
    std::memset(back_zone(addr, a), kRedByte, kRedZone);
}

// Describes a damaged red zone (and repaints it so that one bad write is reported once), or "".
std::string check_zones(std::uint64_t addr, const Allocation& a) {
    std::string r;
    const unsigned char* f = front_zone(addr);
    const unsigned char* b = back_zone(addr, a);
    if (std::memcmp(f, redPattern, kRedZone) != 0) {
        std::size_t first = 0;
        while (f[first] == kRedByte) first++;
        r += "bytes before the start were overwritten (the first at offset -" + std::to_string(kRedZone - first) + ")";
    }
    if (std::memcmp(b, redPattern, kRedZone) != 0) {
        std::size_t first = 0;
        while (b[first] == kRedByte) first++;
        if (!r.empty()) r += " and ";
        r += "bytes past the end were overwritten (the first at offset " + std::to_string(a.size + first) + ")";
    }
    if (!r.empty()) {
        paint(addr, a);
        r = "allocation " + hex(addr) + " of " + std::to_string(a.size) + " bytes: " + r;
    }
    return r;
}

std::string check_all_zones() {
    std::string r;
    int bad = 0;
    for (const auto& [addr, a] : allocations) {
        std::string s = check_zones(addr, a);
        if (s.empty()) continue;
        if (++bad <= 4) r += (r.empty() ? "" : "; ") + s;
    }
    if (bad > 4) r += "; and " + std::to_string(bad - 4) + " more allocations";
    return r;
}

// The allocation holding [ptr, ptr + bytes), or allocations.end().
std::map<std::uint64_t, Allocation>::const_iterator find_allocation(std::uint64_t ptr, std::uint64_t bytes) {
    auto it = allocations.upper_bound(ptr);
    if (it == allocations.begin()) return allocations.end();
    --it;
    if (ptr - it->first <= it->second.size && bytes <= it->second.size - (ptr - it->first)) return it;
    return allocations.end();
}

[[noreturn]] __attribute__((noinline, cold)) void bad_mask(const Fiber* self, unsigned mask, const char* what) {
    fail((std::string(what) + " with mask " + hex(mask) + ", which leaves out the calling lane " +
          std::to_string(self->lane)).c_str());
}

}  // namespace

// ---- device-side entry points (called from kernel code on fiber stacks) ---------------------------

Exchange warp_exchange(unsigned mask, std::uint64_t value, const char* what) {
    Fiber* self = current(what);
    Warp& w = S.warps[self->warp];
    const unsigned bit = 1u << self->lane;
    if (__builtin_expect(!(mask & bit), 0)) bad_mask(self, mask, what);
    const unsigned p = w.parity;
    w.slots[p][self->lane] = value;
    w.present[p] |= bit;
    w.runnable &= ~bit;
    w.waitWarp |= bit;
    self->waitingIn = what;
    if (w.waitWarp == w.live) {
        release_warp(w);
    } else {
        give_way(self);
    }
    return {w.slots[p], w.present[p], self->lane};
}

void sync_block() { block_arrive(current("__syncthreads"), "__syncthreads"); }

int sync_block_count(int predicate) {
    Fiber* self = current("__syncthreads_count");
    const unsigned p = S.blockParity;
    S.counts[p] += predicate != 0;
    block_arrive(self, "__syncthreads_count");
    return S.counts[p];
}

unsigned live_lanes() { return S.warps[current("__activemask")->warp].live; }

void fail(const char* what) {
    Fiber* self = current(what);
    S.failed = true;
    S.error = "kernel '" + S.kernel->name + "' failed in " + where(self) + ": " + what;
    ctx_switch(self->ctx, S.main);
    std::abort();  // never resumed
}

void register_kernel(const char* name, Entry entry, const char* signature, std::size_t argBytes) {
    Kernel& k = registry()[name];
    if (k.definitions++ > 0) return;  // reported at launch: the name is ambiguous
    k.name = name;
    k.entry = entry;
    k.signature = signature;
    k.argBytes = argBytes;
    std::size_t at = 0;
    for (char c : k.signature) {
        const std::size_t size = c == 'P' ? 8 : 4;
        at = (at + size - 1) / size * size;
        k.offsets.push_back(at);
        at += size;
    }
}

// ---- host side ------------------------------------------------------------------------------------

namespace host {

std::mutex& mutex() {
    static std::mutex m;
    return m;
}

std::uint64_t malloc_device(std::int64_t bytes) {
    if (bytes < 0) throw Error(ErrorKind::ARGUMENT, "cannot allocate a negative number of bytes: " + std::to_string(bytes));
    const std::uint64_t n = (std::uint64_t) bytes;
    if (memoryLimit && n > memoryLimit - std::min(memoryLimit, allocated)) {
        throw Error(ErrorKind::OUT_OF_MEMORY, "emulated device memory exhausted: " + std::to_string(n) +
                                                  " bytes requested, " + std::to_string(allocated) + " of " +
                                                  std::to_string(memoryLimit) + " in use");
    }
    // 256-byte aligned like cudaMalloc; the front red zone is one alignment unit.
    const std::uint64_t total = kRedZone + ((n + kRedZone - 1) / kRedZone + 1) * kRedZone;
    void* base = nullptr;
    if (n > (std::uint64_t) 1 << 46 || posix_memalign(&base, kRedZone, total) != 0) {
        throw Error(ErrorKind::OUT_OF_MEMORY, "emulated device memory exhausted: the host could not allocate " +
                                                  std::to_string(n) + " bytes");
    }
    if (redPattern[0] != kRedByte) std::memset(redPattern, kRedByte, kRedZone);
    const std::uint64_t addr = (std::uint64_t) base + kRedZone;
    Allocation a{(unsigned char*) base, n};
    std::memset((void*) addr, kFreshByte, n);
    paint(addr, a);
    allocations.emplace(addr, a);
    allocated += n;
    return addr;
}

void free_device(std::uint64_t ptr) {
    if (ptr == 0) return;
    auto it = allocations.find(ptr);
    if (it == allocations.end()) {
        throw Error(ErrorKind::ARGUMENT, "free of " + hex(ptr) + ", which is not a live device allocation");
    }
    const Allocation a = it->second;
    const std::string damage = check_zones(ptr, a);
    allocations.erase(it);
    allocated -= a.size;
    std::free(a.base);
    if (!damage.empty()) {
        throw Error(ErrorKind::STATE, "device memory was written out of bounds before it was freed (" + damage + ")");
    }
}

std::uint64_t allocated_bytes() { return allocated; }

void set_memory_limit(std::int64_t bytes) {
    if (bytes < 0) throw Error(ErrorKind::ARGUMENT, "negative memory limit " + std::to_string(bytes));
    memoryLimit = (std::uint64_t) bytes;
}

void* device_range(std::uint64_t ptr, std::int64_t bytes, const char* what) {
    if (bytes < 0) throw Error(ErrorKind::ARGUMENT, std::string(what) + ": negative byte count " + std::to_string(bytes));
    if (find_allocation(ptr, (std::uint64_t) bytes) == allocations.end()) {
        throw Error(ErrorKind::ARGUMENT, std::string(what) + ": " + std::to_string(bytes) + " bytes at " + hex(ptr) +
                                             " are not inside one live device allocation");
    }
    return (void*) ptr;
}

std::vector<std::string> kernel_names() {
    std::vector<std::string> r;
    for (const auto& [name, k] : registry()) r.push_back(name);
    return r;
}

const char* kernel_signature(const std::string& name) {
    auto it = registry().find(name);
    return it == registry().end() ? nullptr : it->second.signature.c_str();
}

std::uint64_t launch_count() { return launches; }

void launch(const std::string& name, dim3 grid, dim3 block, const unsigned char* args, std::size_t argBytes) {
    auto it = registry().find(name);
    if (it == registry().end()) {
        throw Error(ErrorKind::ARGUMENT, "no kernel '" + name + "' in the CUDA emulator library (" +
                                             std::to_string(registry().size()) +
                                             " kernels registered; kernels are found by TWOBP_KERNEL declarations)");
    }
    const Kernel& k = it->second;
    if (k.definitions > 1) {
        throw Error(ErrorKind::STATE, "kernel '" + name + "' is defined by " + std::to_string(k.definitions) +
                                          " .cu files; kernel names must be unique");
    }
    const std::string shape = "grid " + dim_str(grid.x, grid.y, grid.z) + ", block " + dim_str(block.x, block.y, block.z);
    if (block.x < 1 || block.y < 1 || block.z < 1 || block.x > 1024 || block.y > 1024 || block.z > 64 ||
        (std::uint64_t) block.x * block.y * block.z > kMaxThreads) {
        throw Error(ErrorKind::ARGUMENT, "launch of '" + name + "' with " + shape +
                                             ": a block has 1 to 1024 threads (x, y <= 1024, z <= 64)");
    }
    if (grid.x < 1 || grid.y < 1 || grid.z < 1 || grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535) {
        throw Error(ErrorKind::ARGUMENT, "launch of '" + name + "' with " + shape +
                                             ": grid dimensions are 1 to 2^31-1 (x) and 1 to 65535 (y, z)");
    }
    if (argBytes != k.argBytes) {
        throw Error(ErrorKind::ARGUMENT, "kernel '" + name + "' takes " + std::to_string(k.signature.size()) +
                                             " arguments (" + k.signature + ": P pointer, I int, U unsigned, F float) in " +
                                             std::to_string(k.argBytes) + " packed bytes, got " +
                                             std::to_string(argBytes) + " bytes");
    }
    for (std::size_t i = 0; i < k.signature.size(); i++) {
        if (k.signature[i] != 'P') continue;
        std::uint64_t p;
        std::memcpy(&p, args + k.offsets[i], 8);
        if (p != 0 && find_allocation(p, 0) == allocations.end()) {
            throw Error(ErrorKind::ARGUMENT, "argument " + std::to_string(i) + " of kernel '" + name + "' (" + hex(p) +
                                                 ") does not point into a live device allocation");
        }
    }
    ensure_stacks();
    S.kernel = &k;
    S.args = args;
    S.failed = false;
    S.error.clear();
    g_gridDim = grid;
    g_blockDim = block;
    set_block_shape(block);
    bool ok = true;
    for (unsigned z = 0; ok && z < grid.z; z++)
        for (unsigned y = 0; ok && y < grid.y; y++)
            for (unsigned x = 0; ok && x < grid.x; x++) {
                g_blockIdx = {x, y, z};
                if (!run_block()) {
                    ok = false;
                    break;
                }
            }
    S.cur = nullptr;
    S.kernel = nullptr;
    launches++;
    const std::string damage = check_all_zones();
    if (!damage.empty()) {
        std::string msg = "kernel '" + name + "' (" + shape + ") wrote outside device memory: " + damage;
        if (!ok) msg += "; it also failed: " + S.error;
        throw Error(ErrorKind::STATE, msg);
    }
    if (!ok) throw Error(ErrorKind::STATE, S.error);
}

}  // namespace host
}  // namespace twobp_emu

// Assertions in kernels fail the launch instead of aborting the JVM. Hidden, so that only this
// library's calls bind to it.
extern "C" TWOBP_EMU_API void __assert_fail(const char* expr, const char* file, unsigned line, const char* func) noexcept {
    if (!twobp_emu::S.cur) {
        std::fprintf(stderr, "%s:%u: %s: assertion '%s' failed\n", file, line, func, expr);
        std::abort();
    }
    const char* base = std::strrchr(file, '/');
    const std::string what = std::string("assertion '") + expr + "' failed (" + (base ? base + 1 : file) + ":" +
                             std::to_string(line) + ", " + func + ")";
    twobp_emu::fail(what.c_str());
}
