// The CUDA subset the kernels use, for compiling them with the host C++ compiler (force-included
// with g++ -include before every .cu; see build.sh). Each thread of a block runs as a fiber of
// runtime.cpp; blocks run one after another on the calling thread. Hence:
//  - __shared__ is a function-level static: one block at a time owns it;
//  - threadIdx and friends are globals that the scheduler sets before it resumes a thread;
//  - atomics are plain read-modify-writes (fibers switch only at sync points);
//  - warp intrinsics and __syncthreads are the only places where a thread gives way to others,
//    so code that relies on lockstep execution of a warp without them does not work here (nor,
//    officially, on Volta and newer GPUs).
#pragma once

#include <array>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <math.h>  // libstdc++'s wrapper: puts isnan, isinf, ... in the global namespace as CUDA has them
#include <type_traits>
#include <utility>

#define TWOBP_EMU_API __attribute__((visibility("hidden")))

// Qualifiers. __forceinline__ must keep `inline`: helpers defined in headers are included by
// several .cu files linked into one library. __restrict__ is a g++ keyword already.
#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __shared__ static

// ---- built-in vector types and indices ------------------------------------------------------

struct uint3 { unsigned x, y, z; };
struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct alignas(8) float2 { float x, y; };
struct float3 { float x, y, z; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(8) int2 { int x, y; };
struct int3 { int x, y, z; };
struct alignas(16) int4 { int x, y, z, w; };
struct alignas(8) uint2 { unsigned x, y; };
struct alignas(16) uint4 { unsigned x, y, z, w; };
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float3 make_float3(float x, float y, float z) { return {x, y, z}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline int2 make_int2(int x, int y) { return {x, y}; }
inline int3 make_int3(int x, int y, int z) { return {x, y, z}; }
inline int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }
inline uint2 make_uint2(unsigned x, unsigned y) { return {x, y}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }

namespace twobp_emu {

// Set by the scheduler for the thread it resumes; kernels see them through const references,
// which (unlike const objects) the compiler must reload after every call into the runtime.
extern TWOBP_EMU_API uint3 g_threadIdx, g_blockIdx;
extern TWOBP_EMU_API dim3 g_blockDim, g_gridDim;

// One warp-level exchange: every live thread of the warp writes its 8-byte value, waits until
// all have, and reads the slots of the others. Valid until the thread's next warp-level sync.
struct Exchange {
    const std::uint64_t* slots;  // 32 entries, indexed by lane
    unsigned present;            // lanes that took part (exited lanes and lanes past the block's end did not)
    unsigned lane;               // the caller's lane
};

TWOBP_EMU_API Exchange warp_exchange(unsigned mask, std::uint64_t value, const char* what);
TWOBP_EMU_API void sync_block();
TWOBP_EMU_API int sync_block_count(int predicate);  // number of threads with a nonzero predicate
[[noreturn]] TWOBP_EMU_API void fail(const char* what);
TWOBP_EMU_API unsigned live_lanes();

template <typename T>
inline std::uint64_t to_bits(T v) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffles move values of at most 8 bytes");
    std::uint64_t b = 0;
    std::memcpy(&b, &v, sizeof(T));
    return b;
}

template <typename T>
inline T from_bits(std::uint64_t b) {
    T v;
    std::memcpy(&v, &b, sizeof(T));
    return v;
}

// Reads lane src of an exchange; lanes that did not take part yield the caller's own value
// (CUDA leaves that undefined; a fixed answer keeps failures reproducible).
template <typename T>
inline T read_lane(const Exchange& e, int src, T own) {
    if (src < 0 || src > 31 || !(e.present >> src & 1u)) return own;
    return from_bits<T>(e.slots[src]);
}

// ---- kernel registration: unpacks the arguments laid out by KernelArgs.packed() ----------------

template <typename T, typename = void>
struct Arg {
    static_assert(sizeof(T) == 0, "kernel parameters must be pointers, int, unsigned or float");
};
template <typename T>
struct Arg<T*> { static constexpr std::size_t size = 8; static constexpr char code = 'P'; };
template <>
struct Arg<int> { static constexpr std::size_t size = 4; static constexpr char code = 'I'; };
template <>
struct Arg<unsigned> { static constexpr std::size_t size = 4; static constexpr char code = 'U'; };
template <>
struct Arg<float> { static constexpr std::size_t size = 4; static constexpr char code = 'F'; };

// Each argument at the next offset aligned to its size, as a C struct of the parameters.
template <typename... A>
struct Layout {
    static constexpr std::size_t count = sizeof...(A);
    static constexpr std::array<std::size_t, count + 1> offsets() {
        std::array<std::size_t, count + 1> o{};
        const std::size_t sizes[count + 1] = {Arg<A>::size..., 0};
        std::size_t at = 0;
        for (std::size_t i = 0; i < count; i++) {
            at = (at + sizes[i] - 1) / sizes[i] * sizes[i];
            o[i] = at;
            at += sizes[i];
        }
        o[count] = at;  // total bytes
        return o;
    }
    static constexpr std::array<std::size_t, count + 1> at = offsets();
    static constexpr char signature[count + 1] = {Arg<A>::code..., '\0'};
};

template <auto F>
struct Launcher;

template <typename... A, void (*F)(A...)>
struct Launcher<F> {
    using L = Layout<A...>;
    template <std::size_t... I>
    static void call(const unsigned char* args, std::index_sequence<I...>) {
        F(load<A>(args + L::at[I])...);
    }
    template <typename T>
    static T load(const unsigned char* p) {
        T v;
        std::memcpy(&v, p, sizeof(T));
        return v;
    }
    static void run(const unsigned char* args) { call(args, std::index_sequence_for<A...>{}); }
};

using Entry = void (*)(const unsigned char* args);

TWOBP_EMU_API void register_kernel(const char* name, Entry entry, const char* signature, std::size_t argBytes);

struct Registrar {
    Registrar(const char* name, Entry entry, const char* signature, std::size_t argBytes) {
        register_kernel(name, entry, signature, argBytes);
    }
};

}  // namespace twobp_emu

// Registers an extern "C" kernel under its name (build.sh emits one per kernel it finds).
#define TWOBP_EMU_REGISTER(kernel)                                                                   \
    static const ::twobp_emu::Registrar twobp_emu_registrar_##kernel(                              \
        #kernel, &::twobp_emu::Launcher<&kernel>::run, ::twobp_emu::Launcher<&kernel>::L::signature, \
        ::twobp_emu::Launcher<&kernel>::L::at[::twobp_emu::Launcher<&kernel>::L::count]);

static const uint3& threadIdx = twobp_emu::g_threadIdx;
static const uint3& blockIdx = twobp_emu::g_blockIdx;
static const dim3& blockDim = twobp_emu::g_blockDim;
static const dim3& gridDim = twobp_emu::g_gridDim;
static constexpr int warpSize = 32;

// ---- synchronisation --------------------------------------------------------------------------

inline void __syncthreads() { twobp_emu::sync_block(); }
inline int __syncthreads_count(int p) { return twobp_emu::sync_block_count(p); }
inline int __syncthreads_and(int p) { return twobp_emu::sync_block_count(!p) == 0; }
inline int __syncthreads_or(int p) { return twobp_emu::sync_block_count(p) != 0; }
inline void __syncwarp(unsigned mask = 0xffffffffu) { twobp_emu::warp_exchange(mask, 0, "__syncwarp"); }
inline void __threadfence() {}
inline void __threadfence_block() {}
inline unsigned __activemask() { return twobp_emu::live_lanes(); }
[[noreturn]] inline void __trap() { twobp_emu::fail("__trap() called"); }

// Shuffles with CUDA's semantics for segments of `width` lanes.
template <typename T>
inline T __shfl_sync(unsigned mask, T v, int srcLane, int width = 32) {
    const twobp_emu::Exchange e = twobp_emu::warp_exchange(mask, twobp_emu::to_bits(v), "__shfl_sync");
    const int base = (int) e.lane & ~(width - 1);
    return twobp_emu::read_lane(e, base + (srcLane & (width - 1)), v);
}

template <typename T>
inline T __shfl_xor_sync(unsigned mask, T v, int laneMask, int width = 32) {
    const twobp_emu::Exchange e = twobp_emu::warp_exchange(mask, twobp_emu::to_bits(v), "__shfl_xor_sync");
    const int src = (int) e.lane ^ laneMask;
    // Lanes of later segments are out of reach: the caller keeps its value.
    if (src >= (((int) e.lane & ~(width - 1)) + width)) return v;
    return twobp_emu::read_lane(e, src, v);
}

template <typename T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    const twobp_emu::Exchange e = twobp_emu::warp_exchange(mask, twobp_emu::to_bits(v), "__shfl_down_sync");
    if ((int) (e.lane & (width - 1)) + (int) delta >= width) return v;
    return twobp_emu::read_lane(e, (int) (e.lane + delta), v);
}

template <typename T>
inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    const twobp_emu::Exchange e = twobp_emu::warp_exchange(mask, twobp_emu::to_bits(v), "__shfl_up_sync");
    if ((int) (e.lane & (width - 1)) < (int) delta) return v;
    return twobp_emu::read_lane(e, (int) e.lane - (int) delta, v);
}

inline unsigned __ballot_sync(unsigned mask, int predicate) {
    const twobp_emu::Exchange e = twobp_emu::warp_exchange(mask, predicate != 0, "__ballot_sync");
    unsigned r = 0;
    for (int l = 0; l < 32; l++)
        if ((e.present >> l & 1u) && e.slots[l]) r |= 1u << l;
    return r & mask;
}
inline int __any_sync(unsigned mask, int predicate) { return __ballot_sync(mask, predicate) != 0; }
inline int __all_sync(unsigned mask, int predicate) {
    const twobp_emu::Exchange e = twobp_emu::warp_exchange(mask, predicate != 0, "__all_sync");
    for (int l = 0; l < 32; l++)
        if (((e.present & mask) >> l & 1u) && !e.slots[l]) return 0;
    return 1;
}

// ---- atomics: one OS thread runs the fibers, so a plain read-modify-write is atomic ---------------

// Integer sums wrap as on the GPU (computed unsigned: signed overflow is undefined in C++).
template <typename T>
inline T wrap_add(T a, T b) {
    if constexpr (std::is_integral<T>::value) {
        using U = typename std::make_unsigned<T>::type;
        return (T) ((U) a + (U) b);
    } else {
        return a + b;
    }
}
template <typename T>
inline T atomicAdd(T* a, T v) { T o = *a; *a = wrap_add(o, v); return o; }
template <typename T>
inline T atomicSub(T* a, T v) {
    T o = *a;
    if constexpr (std::is_integral<T>::value) {
        *a = (T) ((typename std::make_unsigned<T>::type) o - (typename std::make_unsigned<T>::type) v);
    } else {
        *a = o - v;
    }
    return o;
}
template <typename T>
inline T atomicExch(T* a, T v) { T o = *a; *a = v; return o; }
template <typename T>
inline T atomicMax(T* a, T v) { T o = *a; if (v > o) *a = v; return o; }
template <typename T>
inline T atomicMin(T* a, T v) { T o = *a; if (v < o) *a = v; return o; }
template <typename T>
inline T atomicCAS(T* a, T compare, T v) { T o = *a; if (o == compare) *a = v; return o; }
template <typename T>
inline T atomicAnd(T* a, T v) { T o = *a; *a = o & v; return o; }
template <typename T>
inline T atomicOr(T* a, T v) { T o = *a; *a = o | v; return o; }
template <typename T>
inline T atomicXor(T* a, T v) { T o = *a; *a = o ^ v; return o; }
inline unsigned atomicInc(unsigned* a, unsigned v) { unsigned o = *a; *a = o >= v ? 0 : o + 1; return o; }
inline unsigned atomicDec(unsigned* a, unsigned v) { unsigned o = *a; *a = (o == 0 || o > v) ? v : o - 1; return o; }

// ---- math ---------------------------------------------------------------------------------------

inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __log2f(float x) { return log2f(x); }
inline float __log10f(float x) { return log10f(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __frsqrt_rn(float x) { return 1.0f / sqrtf(x); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline float __saturatef(float x) { return x > 0.f ? (x < 1.f ? x : 1.f) : 0.f; }  // NaN -> 0
inline int __float2int_rn(float x) { return (int) nearbyintf(x); }
inline int __float2int_rz(float x) { return (int) x; }
inline int __float2int_rd(float x) { return (int) floorf(x); }
inline int __float2int_ru(float x) { return (int) ceilf(x); }
inline float __int2float_rn(int x) { return (float) x; }
inline unsigned __float_as_uint(float x) { unsigned u; std::memcpy(&u, &x, 4); return u; }
inline float __uint_as_float(unsigned u) { float x; std::memcpy(&x, &u, 4); return x; }
inline int __float_as_int(float x) { int u; std::memcpy(&u, &x, 4); return u; }
inline float __int_as_float(int u) { float x; std::memcpy(&x, &u, 4); return x; }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned) x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline unsigned __brev(unsigned x) {
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
    return __builtin_bswap32(x);
}
template <typename T>
inline T __ldg(const T* p) { return *p; }

// min/max as CUDA overloads them on the device (mixed signedness picks the unsigned version).
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline unsigned min(int a, unsigned b) { return min((unsigned) a, b); }
inline unsigned max(int a, unsigned b) { return max((unsigned) a, b); }
inline unsigned min(unsigned a, int b) { return min(a, (unsigned) b); }
inline unsigned max(unsigned a, int b) { return max(a, (unsigned) b); }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }
inline double min(float a, double b) { return fmin(a, b); }
inline double max(float a, double b) { return fmax(a, b); }
inline double min(double a, float b) { return fmin(a, b); }
inline double max(double a, float b) { return fmax(a, b); }

#ifdef TWOBP_EMU_RUNTIME
// The host side of the runtime, for jni.cpp. Every function expects the caller to hold mutex().
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace twobp_emu::host {

enum class ErrorKind { ARGUMENT, STATE, OUT_OF_MEMORY };

struct Error : std::runtime_error {
    ErrorKind kind;
    Error(ErrorKind k, const std::string& message) : std::runtime_error(message), kind(k) {}
};

TWOBP_EMU_API std::mutex& mutex();
TWOBP_EMU_API std::uint64_t malloc_device(std::int64_t bytes);
TWOBP_EMU_API void free_device(std::uint64_t ptr);
TWOBP_EMU_API std::uint64_t allocated_bytes();
TWOBP_EMU_API void set_memory_limit(std::int64_t bytes);
// The host address of [ptr, ptr + bytes) after checking that it lies in one live allocation.
TWOBP_EMU_API void* device_range(std::uint64_t ptr, std::int64_t bytes, const char* what);
TWOBP_EMU_API std::vector<std::string> kernel_names();
TWOBP_EMU_API const char* kernel_signature(const std::string& name);  // nullptr when unknown
TWOBP_EMU_API void launch(const std::string& name, dim3 grid, dim3 block, const unsigned char* args, std::size_t argBytes);
TWOBP_EMU_API std::uint64_t launch_count();

}  // namespace twobp_emu::host
#endif

#ifdef TWOBP_EMU_SCAN
// build.sh preprocesses each .cu with this defined to find its kernels after macro expansion.
#undef __global__
#define __global__ __twobp_emu_global__
#endif
