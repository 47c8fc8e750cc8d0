// C shims for what Swift cannot reach directly: the SSE4.2 CRC32C instruction,
// `_GNU_SOURCE` fcntl commands (open file description locks), and atomic access
// to memory shared between processes through mmap, and futex waits on it.
#ifndef CLOGBOOK_SHIMS_H
#define CLOGBOOK_SHIMS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/// CRC32C (Castagnoli) of `length` bytes, continuing from `crc` (0 to start).
/// Uses the SSE4.2 instruction when the CPU has it, the portable table otherwise.
uint32_t lb_crc32c(uint32_t crc, const void *data, size_t length);

/// The portable (table-driven) CRC32C, exposed so tests can check both paths.
uint32_t lb_crc32c_portable(uint32_t crc, const void *data, size_t length);

/// 1 when `lb_crc32c` uses the hardware instruction.
int lb_crc32c_hardware(void);

/// Open file description lock on the byte `start` of `fd` (F_OFD_SETLK).
/// `exclusive`: 1 for a write lock, 0 for a read lock. Returns 0, or -1 with errno set
/// (EAGAIN/EACCES when another description holds a conflicting lock).
int lb_ofd_lock(int fd, int64_t start, int exclusive);

/// Releases the open file description lock on byte `start` of `fd`.
int lb_ofd_unlock(int fd, int64_t start);

/// Probes byte `start` of `fd` with F_OFD_GETLK: 1 when another description holds a
/// conflicting write lock, 0 when free, -1 on error.
int lb_ofd_is_locked(int fd, int64_t start);

/// Waits (FUTEX_WAIT, shared between processes) while the 32-bit word at `address` holds
/// `expected`, at most `timeout_ns`; returns early when woken, when the word differs, or on a
/// signal. Any return means only "look again".
void lb_futex_wait(uint32_t *address, uint32_t expected, uint64_t timeout_ns);

/// Wakes up to `count` processes and threads waiting on the word at `address` (FUTEX_WAKE).
void lb_futex_wake(uint32_t *address, int32_t count);

/// `lb_futex_wait` and `lb_futex_wake` for a word only this process uses (cheaper: the kernel
/// keys the futex by address, not by page).
void lb_futex_wait_private(uint32_t *address, uint32_t expected, uint64_t timeout_ns);
void lb_futex_wake_private(uint32_t *address, int32_t count);

/// Starts the write-back of `count` bytes at `offset` without waiting for it
/// (sync_file_range with SYNC_FILE_RANGE_WRITE): no durability, only less left for a later
/// fsync. 0, or -1 with errno.
int lb_start_writeback(int fd, int64_t offset, int64_t count);
/// Extends the file to at least `offset + count` bytes, allocating the blocks (fallocate, mode 0):
/// 0, or -1 with errno (EOPNOTSUPP where the file system cannot; then nothing changed).
int lb_allocate(int fd, int64_t offset, int64_t count);
/// Drops this process's page-table entries of a shared file mapping (madvise MADV_DONTNEED):
/// the pages stay in the page cache, dirty ones are written back as usual.
void lb_release_mapped(void *address, size_t length);
/// Copies `count` bytes front to back, eight at a time, with stores the compiler may neither
/// reorder nor merge into a `memcpy` (which may store the end first): a process killed during
/// the copy leaves a prefix of the bytes written, as a cut-short write(2) would.
void lb_copy_forward(void *destination, const void *source, size_t count);

/// The pthread mutex type that spins briefly before sleeping (glibc), or the default type.
int lb_mutex_type_adaptive(void);

/// Gives the pages of the heap that free memory left whole back to the system (glibc's
/// malloc_trim); nothing elsewhere.
void lb_trim_heap(void);

/// Hints that the bytes at `address` will be read soon: starts the cache fill (and the page
/// walk) early. Never faults, whatever the address.
static inline void lb_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// `a < b ? x : y` (unsigned) computed with a conditional move, never a branch: the compiler
/// turns a select inside a loop back into a jump, which a binary search over random keys
/// mispredicts every other step.
static inline int64_t lb_select_below(uint64_t a, uint64_t b, int64_t x, int64_t y) {
#if defined(__x86_64__)
    __asm__("cmpq %[b], %[a]\n\tcmovbq %[x], %[y]" : [y] "+r"(y) : [a] "r"(a), [b] "r"(b), [x] "r"(x) : "cc");
    return y;
#elif defined(__aarch64__)
    __asm__("cmp %[a], %[b]\n\tcsel %[y], %[x], %[y], lo" : [y] "+r"(y) : [a] "r"(a), [b] "r"(b), [x] "r"(x) : "cc");
    return y;
#else
    return a < b ? x : y;
#endif
}

/// Atomic load (acquire) and store (release) of 64-bit words in shared memory.
static inline uint64_t lb_atomic_load_u64(const uint64_t *address) {
    return __atomic_load_n(address, __ATOMIC_ACQUIRE);
}
static inline void lb_atomic_store_u64(uint64_t *address, uint64_t value) {
    __atomic_store_n(address, value, __ATOMIC_RELEASE);
}
static inline uint64_t lb_atomic_fetch_or_u64(uint64_t *address, uint64_t value) {
    return __atomic_fetch_or(address, value, __ATOMIC_RELEASE);
}
static inline uint64_t lb_atomic_fetch_add_u64(uint64_t *address, uint64_t value) {
    return __atomic_fetch_add(address, value, __ATOMIC_ACQ_REL);
}
/// Atomic increment of a 32-bit word in shared memory.
static inline void lb_atomic_increment_u32(uint32_t *address) {
    __atomic_fetch_add(address, 1, __ATOMIC_ACQ_REL);
}
static inline uint32_t lb_atomic_load_u32(const uint32_t *address) {
    return __atomic_load_n(address, __ATOMIC_ACQUIRE);
}
static inline void lb_atomic_store_u32(uint32_t *address, uint32_t value) {
    __atomic_store_n(address, value, __ATOMIC_RELEASE);
}
/// Raises the word to `value` if it is smaller; returns the value it held before.
static inline uint64_t lb_atomic_max_u64(uint64_t *address, uint64_t value) {
    uint64_t current = __atomic_load_n(address, __ATOMIC_ACQUIRE);
    while (current < value &&
           !__atomic_compare_exchange_n(address, &current, value, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    }
    return current;
}

/// Raises the word to `value` if it is smaller and its bits from `shift` up (a tag) equal those
/// of `value`: one atomic step, so that a word retagged meanwhile is left alone.
static inline void lb_atomic_max_tagged_u64(uint64_t *address, uint64_t value, unsigned shift) {
    uint64_t current = __atomic_load_n(address, __ATOMIC_ACQUIRE);
    while ((current >> shift) == (value >> shift) && current < value &&
           !__atomic_compare_exchange_n(address, &current, value, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    }
}
/// A full memory barrier (store-load ordering between two words).
static inline void lb_atomic_fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

/// Lexicographic comparison of two byte strings (memcmp, then length).
static inline int lb_compare_bytes(const void *a, size_t aLength, const void *b, size_t bLength) {
    size_t n = aLength < bLength ? aLength : bLength;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0) return c < 0 ? -1 : 1;
    return aLength < bLength ? -1 : (aLength > bLength ? 1 : 0);
}

#endif
