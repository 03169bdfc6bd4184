// Pending temporaries and the interrupt signals (see csystem.h). Everything a handler touches is
// static C storage: no allocation, no lock, no Swift runtime (whose metadata cache takes a mutex
// that the interrupted thread may hold).
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include "csystem.h"

#define WK_PENDING_FILES 256
#define WK_PENDING_DIRS 16
#define WK_PATH 4096

struct wk_pending_slot {
    atomic_int used;  // 0 free, 1 being filled, 2 registered
    char path[WK_PATH];
};

static struct wk_pending_slot wk_files[WK_PENDING_FILES];
static struct wk_pending_slot wk_dirs[WK_PENDING_DIRS];

static int wk_slot_add(struct wk_pending_slot *slots, int count, const char *path) {
    size_t n = strlen(path);
    if (n >= WK_PATH) return -1;
    for (int i = 0; i < count; i++) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&slots[i].used, &expected, 1)) {
            memcpy(slots[i].path, path, n + 1);
            atomic_store(&slots[i].used, 2);
            return i;
        }
    }
    return -1;
}

int wk_pending_add(const char *path) { return wk_slot_add(wk_files, WK_PENDING_FILES, path); }
void wk_pending_remove(int slot) {
    if (slot >= 0 && slot < WK_PENDING_FILES) atomic_store(&wk_files[slot].used, 0);
}
int wk_pending_add_directory(const char *path) { return wk_slot_add(wk_dirs, WK_PENDING_DIRS, path); }
void wk_pending_remove_directory(int slot) {
    if (slot >= 0 && slot < WK_PENDING_DIRS) atomic_store(&wk_dirs[slot].used, 0);
}

void wk_pending_unlink_all(void) {
    for (int i = 0; i < WK_PENDING_FILES; i++)
        if (atomic_load(&wk_files[i].used) == 2) unlink(wk_files[i].path);
    for (int i = 0; i < WK_PENDING_DIRS; i++)
        if (atomic_load(&wk_dirs[i].used) == 2) rmdir(wk_dirs[i].path);
}

// ---- SIGINT, SIGTERM, SIGHUP ----

static atomic_int wk_received;    // the signal that arrived, 0 before
static atomic_int wk_critical;    // threads inside a critical section
static atomic_int wk_line_open;   // a progress bar is on screen
static atomic_int wk_installed;

int wk_signal_received(void) { return atomic_load_explicit(&wk_received, memory_order_relaxed); }
void wk_signals_set_line_open(int open) { atomic_store(&wk_line_open, open); }

// Removes the temporaries and ends the process with `sig` (default action). Async-signal-safe.
static void wk_die(int sig) {
    wk_pending_unlink_all();
    if (atomic_exchange(&wk_line_open, 0)) {
        static const char text[] = "  interrupted\n";
        ssize_t w = write(2, text, sizeof text - 1);
        (void)w;
    }
    signal(sig, SIG_DFL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);  // inside a handler: delivered when it returns
    raise(sig);
    // A thread outside a handler only gets here when the signal could not end it; keep it still.
    for (;;) pause();
}

static void wk_interrupt_handler(int sig) {
    int saved = errno;
    int expected = 0;
    atomic_compare_exchange_strong(&wk_received, &expected, sig);
    // A thread inside a critical section ends the process when it leaves it.
    if (atomic_load(&wk_critical) == 0) wk_die(atomic_load(&wk_received));
    errno = saved;
}

void wk_signals_install(void) {
    int expected = 0;
    if (!atomic_compare_exchange_strong(&wk_installed, &expected, 1)) return;
    sigset_t unblock;
    sigemptyset(&unblock);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        struct sigaction old;
        sigaction(sigs[i], NULL, &old);
        if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN) continue;  // nohup's SIGHUP stays ignored
        sigaddset(&unblock, sigs[i]);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = wk_interrupt_handler;
        sigemptyset(&sa.sa_mask);
        for (int j = 0; j < 3; j++) sigaddset(&sa.sa_mask, sigs[j]);
        sigaction(sigs[i], &sa, NULL);
    }
    pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
}

void wk_critical_enter(void) {
    atomic_fetch_add(&wk_critical, 1);
    if (atomic_load(&wk_received) != 0) {
        // The signal came first: create nothing more. The last thread to leave its section ends
        // the process; until then this one waits.
        wk_critical_leave();
        for (;;) pause();
    }
}

void wk_critical_leave(void) {
    if (atomic_fetch_sub(&wk_critical, 1) == 1) {
        int sig = atomic_load(&wk_received);
        if (sig != 0) wk_die(sig);
    }
}
