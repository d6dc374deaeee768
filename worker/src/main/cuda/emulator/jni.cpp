// JNI functions of org.twobp.worker.backend.cuda.emu.EmulatorNative. The Java side checks array
// ranges and signs; here device ranges are checked against the live allocations, and runtime
// errors become Java exceptions.
#define TWOBP_EMU_RUNTIME
#include "cuda_emu.h"

#include <jni.h>

#include <algorithm>

using twobp_emu::host::Error;
using twobp_emu::host::ErrorKind;

namespace {

void throw_java(JNIEnv* env, const char* cls, const char* message) {
    if (env->ExceptionCheck()) return;  // a pending exception (e.g. from a JNI array call) wins
    jclass c = env->FindClass(cls);
    if (c) env->ThrowNew(c, message);
}

// Runs f under the runtime's lock and turns its errors into exceptions.
template <typename F>
auto guarded(JNIEnv* env, F f) -> decltype(f()) {
    try {
        std::lock_guard<std::mutex> lock(twobp_emu::host::mutex());
        return f();
    } catch (const Error& e) {
        throw_java(env,
                   e.kind == ErrorKind::ARGUMENT        ? "java/lang/IllegalArgumentException"
                   : e.kind == ErrorKind::OUT_OF_MEMORY ? "org/twobp/worker/backend/cuda/DeviceOutOfMemoryException"
                                                        : "java/lang/IllegalStateException",
                   e.what());
    } catch (const std::bad_alloc&) {
        throw_java(env, "java/lang/OutOfMemoryError", "the CUDA emulator ran out of host memory");
    } catch (const std::exception& e) {
        throw_java(env, "java/lang/IllegalStateException", e.what());
    }
    return decltype(f())();
}

std::string java_string(JNIEnv* env, jstring s) {
    const char* c = env->GetStringUTFChars(s, nullptr);
    std::string r(c ? c : "");
    if (c) env->ReleaseStringUTFChars(s, c);
    return r;
}

void* direct_address(JNIEnv* env, jobject buffer, jlong bytes) {
    void* p = env->GetDirectBufferAddress(buffer);
    if (!p) throw Error(ErrorKind::ARGUMENT, "the buffer is not a direct buffer");
    if (env->GetDirectBufferCapacity(buffer) < bytes) {
        throw Error(ErrorKind::ARGUMENT, "the buffer holds fewer than " + std::to_string(bytes) + " bytes");
    }
    return p;
}

}  // namespace

#define JNI_FN(ret, name) extern "C" JNIEXPORT ret JNICALL Java_org_twobp_worker_backend_cuda_emu_EmulatorNative_##name

JNI_FN(jlong, nMalloc)(JNIEnv* env, jclass, jlong bytes) {
    return guarded(env, [&] { return (jlong) twobp_emu::host::malloc_device(bytes); });
}

JNI_FN(void, nFree)(JNIEnv* env, jclass, jlong ptr) {
    guarded(env, [&] { twobp_emu::host::free_device((std::uint64_t) ptr); });
}

JNI_FN(jlong, nAllocatedBytes)(JNIEnv* env, jclass) {
    return guarded(env, [&] { return (jlong) twobp_emu::host::allocated_bytes(); });
}

JNI_FN(void, nSetMemoryLimit)(JNIEnv* env, jclass, jlong bytes) {
    guarded(env, [&] { twobp_emu::host::set_memory_limit(bytes); });
}

JNI_FN(void, nCopyFromFloats)(JNIEnv* env, jclass, jlong dst, jfloatArray src, jint off, jint n) {
    guarded(env, [&] {
        void* d = twobp_emu::host::device_range((std::uint64_t) dst, (jlong) n * 4, "copy to the device");
        env->GetFloatArrayRegion(src, off, n, (jfloat*) d);
    });
}

JNI_FN(void, nCopyToFloats)(JNIEnv* env, jclass, jlong src, jfloatArray dst, jint off, jint n) {
    guarded(env, [&] {
        void* s = twobp_emu::host::device_range((std::uint64_t) src, (jlong) n * 4, "copy from the device");
        env->SetFloatArrayRegion(dst, off, n, (const jfloat*) s);
    });
}

JNI_FN(void, nCopyFromInts)(JNIEnv* env, jclass, jlong dst, jintArray src, jint off, jint n) {
    guarded(env, [&] {
        void* d = twobp_emu::host::device_range((std::uint64_t) dst, (jlong) n * 4, "copy to the device");
        env->GetIntArrayRegion(src, off, n, (jint*) d);
    });
}

JNI_FN(void, nCopyToInts)(JNIEnv* env, jclass, jlong src, jintArray dst, jint off, jint n) {
    guarded(env, [&] {
        void* s = twobp_emu::host::device_range((std::uint64_t) src, (jlong) n * 4, "copy from the device");
        env->SetIntArrayRegion(dst, off, n, (const jint*) s);
    });
}

JNI_FN(void, nCopyFromBuffer)(JNIEnv* env, jclass, jlong dst, jobject buffer, jlong bytes) {
    guarded(env, [&] {
        void* s = direct_address(env, buffer, bytes);
        void* d = twobp_emu::host::device_range((std::uint64_t) dst, bytes, "copy to the device");
        std::memcpy(d, s, (std::size_t) bytes);
    });
}

JNI_FN(void, nCopyToBuffer)(JNIEnv* env, jclass, jobject buffer, jlong src, jlong bytes) {
    guarded(env, [&] {
        void* d = direct_address(env, buffer, bytes);
        void* s = twobp_emu::host::device_range((std::uint64_t) src, bytes, "copy from the device");
        std::memcpy(d, s, (std::size_t) bytes);
    });
}

JNI_FN(void, nCopy)(JNIEnv* env, jclass, jlong dst, jlong src, jlong bytes) {
    guarded(env, [&] {
        void* s = twobp_emu::host::device_range((std::uint64_t) src, bytes, "device-to-device copy (source)");
        void* d = twobp_emu::host::device_range((std::uint64_t) dst, bytes, "device-to-device copy (destination)");
        std::memmove(d, s, (std::size_t) bytes);
    });
}

JNI_FN(void, nMemset32)(JNIEnv* env, jclass, jlong dst, jint bits, jlong count) {
    guarded(env, [&] {
        if (count < 0 || count > (INT64_MAX >> 2)) throw Error(ErrorKind::ARGUMENT, "memset32: bad count " + std::to_string(count));
        auto* d = (std::uint32_t*) twobp_emu::host::device_range((std::uint64_t) dst, count * 4, "memset32");
        std::fill(d, d + count, (std::uint32_t) bits);
    });
}

JNI_FN(jobjectArray, nKernels)(JNIEnv* env, jclass) {
    const std::vector<std::string> names = guarded(env, [&] { return twobp_emu::host::kernel_names(); });
    jobjectArray r = env->NewObjectArray((jsize) names.size(), env->FindClass("java/lang/String"), nullptr);
    if (!r) return nullptr;
    for (std::size_t i = 0; i < names.size(); i++) {
        jstring s = env->NewStringUTF(names[i].c_str());
        if (!s) return nullptr;
        env->SetObjectArrayElement(r, (jsize) i, s);
        env->DeleteLocalRef(s);
    }
    return r;
}

JNI_FN(jstring, nSignature)(JNIEnv* env, jclass, jstring kernel) {
    const std::string name = java_string(env, kernel);
    const std::string sig = guarded(env, [&] {
        const char* s = twobp_emu::host::kernel_signature(name);
        return s ? std::string(s) : std::string("\x01");
    });
    if (env->ExceptionCheck() || sig == "\x01") return nullptr;
    return env->NewStringUTF(sig.c_str());
}

JNI_FN(void, nLaunch)(JNIEnv* env, jclass, jstring kernel, jint gx, jint gy, jint gz, jint bx, jint by, jint bz,
                      jbyteArray packed) {
    const std::string name = java_string(env, kernel);
    const jsize n = env->GetArrayLength(packed);
    std::vector<unsigned char> args((std::size_t) n + 8);  // +8: never a zero-length buffer
    env->GetByteArrayRegion(packed, 0, n, (jbyte*) args.data());
    // Negative dimensions (checked in Java as well) map to huge unsigned values, which fail validation.
    guarded(env, [&] {
        twobp_emu::host::launch(name, dim3((unsigned) gx, (unsigned) gy, (unsigned) gz),
                                dim3((unsigned) bx, (unsigned) by, (unsigned) bz), args.data(), (std::size_t) n);
    });
}

JNI_FN(jlong, nLaunches)(JNIEnv* env, jclass) {
    return guarded(env, [&] { return (jlong) twobp_emu::host::launch_count(); });
}
