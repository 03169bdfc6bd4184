// Linux/glibc calls that Swift's Glibc module does not import (they need _GNU_SOURCE or are
// glibc-specific), wrapped as plain C functions so Swift calls them with the C calling convention.
#ifndef WEIGHTKIT_CSYSTEM_H
#define WEIGHTKIT_CSYSTEM_H
#include <stdint.h>

/// sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE): start writeback of a range without
/// waiting. Returns 0 or -1 with errno set.
int wk_start_writeback(int fd, int64_t offset, int64_t count);

/// mallopt(M_MMAP_THRESHOLD, bytes): allocations of at least `bytes` get their own mapping, so freeing
/// them returns the memory to the system at once. Returns 1 on success.
int wk_set_mmap_threshold(int bytes);

/// The SIGBUS guard for memory-mapped files: a read of a page past the end of a file that shrank
/// after it was mapped raises SIGBUS. `wk_guard_install` installs a handler (once) that, when the
/// faulting address lies in a registered region, writes "<program>: <message>\n" to stderr, calls
/// `cleanup` (which may only call async-signal-safe functions) and exits with status 2; any other
/// SIGBUS ends the process as usual. Registration copies `message` into preallocated storage.
void wk_guard_install(void (*cleanup)(void));
/// Registers [base, base+length) with its message; returns a slot, or -1 when all are taken.
int wk_guard_register(const void *base, uint64_t length, const char *message);
/// Forgets a region registered with `wk_guard_register`.
void wk_guard_unregister(int slot);

#endif
