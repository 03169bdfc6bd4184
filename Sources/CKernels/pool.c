// The executor's workers: persistent threads that wait for work by spinning briefly, then sleeping on a
// futex. A decode step is ~85 short parallel products per token; handing each to libdispatch cost a
// futex wake and a context switch per step (a quarter of a q4_0 decode on an idle 2-core machine). A
// worker that has just finished a step spins for WK_POOL_SPIN_NS waiting for the next one before it
// sleeps, so back-to-back steps change hands through one atomic store; on a busy machine the spin is
// bounded and the worker sleeps as before.
//
// wk_pool_run(n, fn, ctx) calls fn(ctx, 0) … fn(ctx, n − 1), each exactly once, the caller taking tasks
// too, and returns when all have returned (jobs of more than 65,535 tasks run inline). One job at a
// time: a caller that finds the pool busy (another thread's job, or a task that itself calls
// wk_pool_run) runs its tasks inline, so nesting and concurrent callers are safe.
#include "ckernels.h"
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WK_POOL_MAX 64
#define WK_POOL_SPIN_NS 200000L

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;  // held by the thread whose job runs
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER; // guards starting workers
static _Atomic int pool_started = 0;                             // workers started

// A job is claimed task by task through one 64-bit word: the job's generation (32 bits), its task count
// (16 bits) and the next task index (16 bits). A worker claims a task only by a compare-and-swap that
// still sees the generation it was woken for and an index below that job's count, and reads the job's
// function and context only after the claim succeeded: while a claimed task of job g has not been
// counted, the caller cannot have moved on, so those are g's. (Reading the count or the function before
// the claim is wrong: the caller writes the next job's parameters while the finished job's word is still
// in place, and a late worker would run a task of the next job under the old word.)
static _Atomic unsigned generation = 0;  // futex word: bumped for each job
static _Atomic unsigned long work = 0;   // (generation << 32) | (task count << 16) | next task index
static _Atomic int sleepers = 0;         // workers asleep (or about to be) on generation
static _Atomic long done_tasks = 0;
static _Atomic unsigned done_flag = 0;   // futex word the caller sleeps on: 1 when every task has run
static _Atomic int caller_sleeping = 0;
// The job's parameters, written before its generation is published. Atomic (relaxed): a late worker may
// read job_workers while the caller writes the next job's (it then claims nothing); fn and ctx are read
// only after a claim has succeeded.
static _Atomic int job_workers = 0;      // workers 1 ..< job_workers take part
static _Atomic(wk_task_fn) job_fn = 0;
static _Atomic(void *) job_ctx = 0;
static _Thread_local int in_pool = 0;    // this thread runs tasks (a nested call runs inline)

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void futex_wait(_Atomic unsigned *word, unsigned expected) {
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake(_Atomic unsigned *word) {
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, WK_POOL_MAX, NULL, NULL, 0);
}

static inline void cpu_relax(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
}

// Runs tasks of job `gen` until none is left to claim; returns how many this thread ran, and the job's
// task count in *n when it ran any.
static long take_tasks(unsigned gen, long *n) {
    long ran = 0;
    unsigned long v = atomic_load_explicit(&work, memory_order_acquire);
    for (;;) {
        if ((unsigned)(v >> 32) != gen) break;
        const long count = (long)((v >> 16) & 0xffffUL), t = (long)(v & 0xffffUL);
        if (t >= count) break;
        if (!atomic_compare_exchange_weak_explicit(&work, &v, v + 1, memory_order_acq_rel, memory_order_acquire)) continue;
        wk_task_fn fn = atomic_load_explicit(&job_fn, memory_order_relaxed);
        void *ctx = atomic_load_explicit(&job_ctx, memory_order_relaxed);
        fn(ctx, t);
        ran++;
        *n = count;
        v = atomic_load_explicit(&work, memory_order_acquire);
    }
    return ran;
}

// Adds `ran` finished tasks; the call that completes the job tells the caller.
static void finish(long ran, long n) {
    if (ran > 0 && atomic_fetch_add(&done_tasks, ran) + ran == n) {
        atomic_store(&done_flag, 1);
        if (atomic_load(&caller_sleeping)) futex_wake(&done_flag);
    }
}

static void *worker_main(void *arg) {
    const int index = (int)(long)arg;
    in_pool = 1;
    unsigned seen = atomic_load(&generation);
    for (;;) {
        unsigned g;
        long start = now_ns();
        int spins = 0;
        while ((g = atomic_load(&generation)) == seen) {
            cpu_relax();
            if (++spins % 64 == 0 && now_ns() - start > WK_POOL_SPIN_NS) {
                atomic_fetch_add(&sleepers, 1);
                futex_wait(&generation, seen);
                atomic_fetch_sub(&sleepers, 1);
                start = now_ns();
            }
        }
        seen = g;
        // job_workers is read before any claim; if the job has already ended, take_tasks claims nothing.
        if (index >= atomic_load_explicit(&job_workers, memory_order_relaxed)) continue;
        long n = 0;
        const long ran = take_tasks(g, &n);
        finish(ran, n);
    }
    return 0;
}

static void start_workers(int want) {
    pthread_mutex_lock(&start_lock);
    while (atomic_load(&pool_started) < want && atomic_load(&pool_started) < WK_POOL_MAX - 1) {
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&th, &attr, worker_main, (void *)(long)(atomic_load(&pool_started) + 1));
        pthread_attr_destroy(&attr);
        if (rc != 0) break;
        atomic_fetch_add(&pool_started, 1);
    }
    pthread_mutex_unlock(&start_lock);
}

void wk_pool_run(long n, int threads, wk_task_fn fn, void *ctx) {
    if (n <= 0) return;
    if (n == 1 || threads <= 1 || n > 0xffffL || in_pool || pthread_mutex_trylock(&pool_lock) != 0) {
        for (long t = 0; t < n; t++) fn(ctx, t);
        return;
    }
    if (threads > WK_POOL_MAX) threads = WK_POOL_MAX;
    if (atomic_load(&pool_started) < threads - 1) start_workers(threads - 1);
    in_pool = 1;
    atomic_store_explicit(&job_fn, fn, memory_order_relaxed);
    atomic_store_explicit(&job_ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&job_workers, threads, memory_order_relaxed);
    atomic_store(&done_tasks, 0);
    atomic_store(&done_flag, 0);
    unsigned g = atomic_load(&generation) + 1;
    atomic_store(&work, ((unsigned long)g << 32) | ((unsigned long)n << 16));
    atomic_store(&generation, g);
    if (atomic_load(&sleepers) > 0) futex_wake(&generation);

    long count = n;
    long ran = take_tasks(g, &count);
    finish(ran, n);
    if (atomic_load(&done_flag) == 0) {
        long start = now_ns();
        int spins = 0;
        while (atomic_load(&done_flag) == 0) {
            cpu_relax();
            if (++spins % 64 == 0 && now_ns() - start > WK_POOL_SPIN_NS) {
                atomic_store(&caller_sleeping, 1);
                if (atomic_load(&done_flag) == 0) futex_wait(&done_flag, 0);
                atomic_store(&caller_sleeping, 0);
                start = now_ns();
            }
        }
    }
    in_pool = 0;
    pthread_mutex_unlock(&pool_lock);
}
