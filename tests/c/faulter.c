/*
 * A workload for the perf source's CLI case: maps MB megabytes of anonymous memory up front and
 * touches it one new page at a time (page faults), dropping it with MADV_DONTNEED after each
 * pass so that the faults go on, until killed or SECONDS pass.
 * Usage: faulter MB [SECONDS]
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MADV_DONTNEED, nanosleep under -std=c11 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
    double seconds = argc > 2 ? atof(argv[2]) : 3600;
    size_t bytes = mb << 20, pages = bytes / 4096;
    volatile uint8_t *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    madvise((void *)p, bytes, MADV_NOHUGEPAGE);
    printf("ready %zu pages\n", pages);
    fflush(stdout);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0;; i++) {
        if (i == pages) { madvise((void *)p, bytes, MADV_DONTNEED); i = 0; }
        p[i * 4096] += 1; /* a new page: one fault */
        if (i % 64 == 0) {
            struct timespec nap = { 0, 1000 * 1000 };
            nanosleep(&nap, NULL);
            clock_gettime(CLOCK_MONOTONIC, &t);
            if ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 > seconds) break;
        }
    }
    return 0;
}
