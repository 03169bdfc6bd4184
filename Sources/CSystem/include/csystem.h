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

#endif
