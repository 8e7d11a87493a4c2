/*
 * A workload for hotpaged's tests and measurements: maps MB megabytes of anonymous memory and
 * keeps touching a hot quarter of it often and the rest rarely, until killed or SECONDS pass.
 * Usage: workload MB [SECONDS]
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, nanosleep under -std=c11 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
    double seconds = argc > 2 ? atof(argv[2]) : 3600;
    size_t bytes = mb << 20, pages = bytes / 4096;
    uint8_t *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    memset(p, 1, bytes);
    printf("ready %zu pages\n", pages);
    fflush(stdout);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned long round = 0;; round++) {
        for (size_t i = 0; i < pages / 4; i++) p[i * 4096] += 1;          /* hot quarter */
        if (round % 16 == 0) for (size_t i = pages / 4; i < pages; i++) p[i * 4096] += 1;
        struct timespec nap = { 0, 10 * 1000 * 1000 };
        nanosleep(&nap, NULL);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 > seconds) break;
    }
    return 0;
}
