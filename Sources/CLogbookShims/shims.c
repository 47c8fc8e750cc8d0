#define _GNU_SOURCE
#include "CLogbookShims.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

// ---- CRC32C ----------------------------------------------------------------
// Reflected polynomial 0x82F63B78. The table is built once, on first use.

static uint32_t crc_table[8][256];
static int crc_table_ready = 0;

static void crc_build_table(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = crc_table[0][n];
        for (int t = 1; t < 8; t++) {
            c = crc_table[0][c & 0xff] ^ (c >> 8);
            crc_table[t][n] = c;
        }
    }
    __atomic_store_n(&crc_table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t lb_crc32c_portable(uint32_t crc, const void *data, size_t length) {
    if (!__atomic_load_n(&crc_table_ready, __ATOMIC_ACQUIRE)) crc_build_table();
    const uint8_t *p = data;
    crc = ~crc;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);  // little-endian machines only read words this way
        uint32_t lo = (uint32_t)word ^ crc, hi = (uint32_t)(word >> 32);
        crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
              crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
              crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
              crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
        p += 8;
        length -= 8;
    }
    while (length--) crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#include <nmmintrin.h>

__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const void *data, size_t length) {
    const uint8_t *p = data;
    uint64_t c = ~crc;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
        p += 8;
        length -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (length--) c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}

int lb_crc32c_hardware(void) { return __builtin_cpu_supports("sse4.2") ? 1 : 0; }

uint32_t lb_crc32c(uint32_t crc, const void *data, size_t length) {
    static int hardware = -1;
    int h = __atomic_load_n(&hardware, __ATOMIC_RELAXED);
    if (h < 0) {
        h = lb_crc32c_hardware();
        __atomic_store_n(&hardware, h, __ATOMIC_RELAXED);
    }
    return h ? crc32c_sse42(crc, data, length) : lb_crc32c_portable(crc, data, length);
}
#else
int lb_crc32c_hardware(void) { return 0; }
uint32_t lb_crc32c(uint32_t crc, const void *data, size_t length) {
    return lb_crc32c_portable(crc, data, length);
}
#endif

// ---- Open file description locks ---------------------------------------------

static int ofd_lock_command(int fd, int cmd, short type, int64_t start) {
    struct flock lock;
    memset(&lock, 0, sizeof lock);
    lock.l_type = type;
    lock.l_whence = SEEK_SET;
    lock.l_start = start;
    lock.l_len = 1;
    lock.l_pid = 0;  // required to be 0 for OFD locks
    int r;
    do {
        r = fcntl(fd, cmd, &lock);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return -1;
    if (cmd == F_OFD_GETLK) return lock.l_type == F_UNLCK ? 0 : 1;
    return 0;
}

int lb_ofd_lock(int fd, int64_t start, int exclusive) {
    return ofd_lock_command(fd, F_OFD_SETLK, exclusive ? F_WRLCK : F_RDLCK, start);
}

int lb_ofd_unlock(int fd, int64_t start) { return ofd_lock_command(fd, F_OFD_SETLK, F_UNLCK, start); }

int lb_ofd_is_locked(int fd, int64_t start) { return ofd_lock_command(fd, F_OFD_GETLK, F_WRLCK, start); }

int lb_mutex_type_adaptive(void) {
#if defined(__GLIBC__)
    return PTHREAD_MUTEX_ADAPTIVE_NP;
#else
    return PTHREAD_MUTEX_DEFAULT;
#endif
}

void lb_trim_heap(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

int lb_start_writeback(int fd, int64_t offset, int64_t count) {
#if defined(__linux__)
    return sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd;
    (void)offset;
    (void)count;
    return 0;
#endif
}

int lb_allocate(int fd, int64_t offset, int64_t count) {
#if defined(__linux__)
    return fallocate(fd, 0, offset, count);
#else
    (void)fd;
    (void)offset;
    (void)count;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

void lb_release_mapped(void *address, size_t length) { (void)madvise(address, length, MADV_DONTNEED); }

typedef uint64_t lb_unaligned_u64 __attribute__((aligned(1)));

void lb_copy_forward(void *destination, const void *source, size_t count) {
    volatile unsigned char *to = destination;
    const unsigned char *from = source;
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        uint64_t word;
        memcpy(&word, from + i, 8);
        *(volatile lb_unaligned_u64 *)(to + i) = word;
    }
    for (; i < count; i++) to[i] = from[i];
}

static void futex_wait(uint32_t *address, uint32_t expected, uint64_t timeout_ns, int operation) {
    struct timespec timeout = {(time_t)(timeout_ns / 1000000000u), (long)(timeout_ns % 1000000000u)};
#if defined(__linux__)
    syscall(SYS_futex, address, operation, expected, &timeout, NULL, 0);
#else
    (void)address;
    (void)expected;
    (void)operation;
    nanosleep(&timeout, NULL);
#endif
}

static void futex_wake(uint32_t *address, int32_t count, int operation) {
#if defined(__linux__)
    syscall(SYS_futex, address, operation, count, NULL, NULL, 0);
#else
    (void)address;
    (void)count;
    (void)operation;
#endif
}

void lb_futex_wait(uint32_t *address, uint32_t expected, uint64_t timeout_ns) {
    futex_wait(address, expected, timeout_ns, FUTEX_WAIT);
}

void lb_futex_wake(uint32_t *address, int32_t count) { futex_wake(address, count, FUTEX_WAKE); }

void lb_futex_wait_private(uint32_t *address, uint32_t expected, uint64_t timeout_ns) {
    futex_wait(address, expected, timeout_ns, FUTEX_WAIT_PRIVATE);
}

void lb_futex_wake_private(uint32_t *address, int32_t count) { futex_wake(address, count, FUTEX_WAKE_PRIVATE); }
