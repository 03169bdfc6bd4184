#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include "csystem.h"

int wk_start_writeback(int fd, int64_t offset, int64_t count) {
    return sync_file_range(fd, (off64_t)offset, (off64_t)count, SYNC_FILE_RANGE_WRITE);
}

int wk_set_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }

// ---- SIGBUS guard for mapped files (see csystem.h) ----
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define WK_GUARD_SLOTS 4096
#define WK_GUARD_MESSAGE 480

struct wk_guard_slot {
    _Atomic(uintptr_t) base;  // 0: free
    uint64_t length;
    char message[WK_GUARD_MESSAGE];
};

static struct wk_guard_slot wk_guards[WK_GUARD_SLOTS];
static pthread_mutex_t wk_guard_lock = PTHREAD_MUTEX_INITIALIZER;
static void (*wk_guard_cleanup)(void);
static atomic_int wk_guard_installed;
// Set by the first thread that reports a fault: threads reading the same shrunk map fault together, and
// only one line may be printed; the others wait for that thread's _exit, which ends them all.
static atomic_int wk_guard_reporting;
extern char *program_invocation_short_name;

static void wk_guard_write(const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void wk_guard_handler(int sig, siginfo_t *info, void *context) {
    (void)context;
    uintptr_t addr = (uintptr_t)info->si_addr;
    for (int i = 0; i < WK_GUARD_SLOTS; i++) {
        uintptr_t b = atomic_load_explicit(&wk_guards[i].base, memory_order_acquire);
        if (b != 0 && addr >= b && addr - b < wk_guards[i].length) {
            if (atomic_exchange(&wk_guard_reporting, 1) != 0) {
                for (;;) pause();
            }
            wk_guard_write(program_invocation_short_name);
            wk_guard_write(": ");
            wk_guard_write(wk_guards[i].message);
            wk_guard_write("\n");
            if (wk_guard_cleanup) wk_guard_cleanup();
            _exit(2);
        }
    }
    // Not a guarded map: die of the signal as usual (the fault repeats with the default action).
    signal(sig, SIG_DFL);
}

void wk_guard_install(void (*cleanup)(void)) {
    int expected = 0;
    if (!atomic_compare_exchange_strong(&wk_guard_installed, &expected, 1)) return;
    wk_guard_cleanup = cleanup;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = wk_guard_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}

int wk_guard_register(const void *base, uint64_t length, const char *message) {
    if (base == NULL || length == 0) return -1;
    pthread_mutex_lock(&wk_guard_lock);
    int slot = -1;
    for (int i = 0; i < WK_GUARD_SLOTS; i++) {
        if (atomic_load_explicit(&wk_guards[i].base, memory_order_relaxed) == 0) {
            slot = i;
            break;
        }
    }
    if (slot >= 0) {
        strncpy(wk_guards[slot].message, message, WK_GUARD_MESSAGE - 1);
        wk_guards[slot].message[WK_GUARD_MESSAGE - 1] = 0;
        wk_guards[slot].length = length;
        atomic_store_explicit(&wk_guards[slot].base, (uintptr_t)base, memory_order_release);
    }
    pthread_mutex_unlock(&wk_guard_lock);
    return slot;
}

void wk_guard_unregister(int slot) {
    if (slot < 0 || slot >= WK_GUARD_SLOTS) return;
    atomic_store_explicit(&wk_guards[slot].base, 0, memory_order_release);
}
