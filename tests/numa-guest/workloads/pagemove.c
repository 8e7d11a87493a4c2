/* pagemove: moves another process's pages to a node with move_pages(2), by pid.
 *
 * Usage: pagemove PID RANGES-FILE KIND NODE
 *   RANGES-FILE  lines "<kind> <start-hex> <end-hex>" as written by `tiered --ranges`
 *   KIND         which lines to move (hot, cold, or all)
 *   NODE         target node
 * Prints "pagemove pid=<pid> pages=<n> moved=<n> already=<n> failed=<n> first_error=<errno name>
 * elapsed_ms=<ms>", where moved counts pages now on NODE, and exits 0 if every page ended on NODE.
 * This is the sanity check that HotPage's daemon path relies on: moving a workload's pages from
 * outside the process, as root, works in the guest.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define MPOL_MF_MOVE (1 << 1)

static long sys_move_pages(int pid, unsigned long count, void **pages, const int *nodes, int *status, int flags)
{
    return syscall(SYS_move_pages, pid, count, pages, nodes, status, flags);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: pagemove PID RANGES-FILE KIND NODE\n");
        return 2;
    }
    int pid = atoi(argv[1]);
    const char *kind = argv[3];
    int node = atoi(argv[4]);
    FILE *f = fopen(argv[2], "r");
    if (!f) { perror("pagemove: ranges"); return 2; }
    unsigned long cap = 1024, n = 0;
    void **pages = malloc(cap * sizeof(void *));
    char k[16];
    unsigned long start, end;
    while (fscanf(f, "%15s %lx %lx", k, &start, &end) == 3) {
        if (strcmp(kind, "all") != 0 && strcmp(kind, k) != 0) continue;
        for (unsigned long a = start; a < end; a += PAGE) {
            if (n == cap) { cap *= 2; pages = realloc(pages, cap * sizeof(void *)); }
            pages[n++] = (void *)a;
        }
    }
    fclose(f);
    if (n == 0) { fprintf(stderr, "pagemove: no %s pages in the ranges file\n", kind); return 2; }

    int *nodes = malloc(n * sizeof(int)), *status = malloc(n * sizeof(int));
    for (unsigned long i = 0; i < n; i++) nodes[i] = node;

    /* Where are they before? */
    unsigned long already = 0;
    if (sys_move_pages(pid, n, pages, NULL, status, 0) != 0) { perror("pagemove: move_pages query"); return 1; }
    for (unsigned long i = 0; i < n; i++) if (status[i] == node) already++;

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long rc = sys_move_pages(pid, n, pages, nodes, status, MPOL_MF_MOVE);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int call_errno = rc < 0 ? errno : 0;
    unsigned long moved = 0, failed = 0;
    int first_error = 0;
    for (unsigned long i = 0; i < n; i++) {
        if (status[i] == node) moved++;
        else { failed++; if (!first_error) first_error = status[i] < 0 ? -status[i] : 0; }
    }
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("pagemove pid=%d pages=%lu moved=%lu already=%lu failed=%lu rc=%ld call_error=%s first_error=%s elapsed_ms=%ld\n",
           pid, n, moved, already, failed, rc, call_errno ? strerrorname_np(call_errno) : "none",
           first_error ? strerrorname_np(first_error) : "none", ms);
    return (rc == 0 && failed == 0) ? 0 : 1;
}
