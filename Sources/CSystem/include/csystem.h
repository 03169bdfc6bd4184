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

/// Temporaries to remove when an interrupt or the SIGBUS guard ends the process: paths copied into
/// static storage (at most 4095 bytes; 256 files, 16 directories). Returns a slot, or -1.
int wk_pending_add(const char *path);
void wk_pending_remove(int slot);
/// A directory, removed (rmdir: once its registered files are gone) after the files.
int wk_pending_add_directory(const char *path);
void wk_pending_remove_directory(int slot);
/// Unlinks every registered file, then removes the registered directories. Async-signal-safe.
void wk_pending_unlink_all(void);

/// Installs the handler for SIGINT, SIGTERM and SIGHUP (once; a signal the process ignores stays
/// ignored) and unblocks them in the calling thread. The handler records the signal, and unless a
/// thread is inside a critical section it removes the pending temporaries, ends a progress line
/// with "interrupted" and ends the process with the signal. It calls only unlink, rmdir, write,
/// signal, pthread_sigmask and raise.
void wk_signals_install(void);
/// The interrupt that arrived (SIGINT, SIGTERM, SIGHUP), or 0. Long loops poll it.
int wk_signal_received(void);
/// Whether a progress line is open on stderr (the handler then ends it with "interrupted").
void wk_signals_set_line_open(int open);
/// A critical section: creating a named temporary and registering it, or renaming it into place.
/// An interrupt that arrives inside one takes effect when the last thread leaves (the section is
/// completed, the temporaries are removed, the process ends); a thread entering after an interrupt
/// never returns.
void wk_critical_enter(void);
void wk_critical_leave(void);

#endif
