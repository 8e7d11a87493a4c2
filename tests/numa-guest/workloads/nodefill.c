/* nodefill: takes most of one node's free memory, so that a case can make the fast node smaller
 * than a workload's hot set.
 *
 * Maps anonymous memory bound to the node (mbind(MPOL_BIND) before the first touch, huge pages
 * where the kernel gives them, so that filling a GiB under emulation takes seconds), touches it
 * until the node's MemFree (/sys/devices/system/node/nodeN/meminfo) is about --leave-kb, prints
 *     filled node=<n> filled_kb=<k> free_kb=<MemFree after> leave_kb=<asked>
 * and then holds the memory until it is killed. The last steps go in 4 KiB pages, so the free
 * memory left is within a few pages of what was asked (the kernel's own allocations move it a
 * little either way afterwards).
 *
 * Usage: nodefill --node N --leave-kb K
 * K must stay above the node's high watermark (/proc/zoneinfo: "high", summed over its zones): the
 * memory is bound to the node, so taking more than that ends in the OOM killer, not in a fallback.
 * Exit status: 2 on bad arguments, 4 on a system call failure; otherwise it never exits by itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096L
#define HUGE (2L * 1024 * 1024)
#define MPOL_BIND 2

static void die(const char *what)
{
    fprintf(stderr, "nodefill: %s: %s\n", what, strerror(errno));
    exit(4);
}

static long free_kb(int node)
{
    char path[96], line[256];
    snprintf(path, sizeof path, "/sys/devices/system/node/node%d/meminfo", node);
    FILE *f = fopen(path, "r");
    if (!f) die(path);
    long v = -1;
    while (fgets(line, sizeof line, f)) {
        char *p = strstr(line, "MemFree:");
        if (p) { v = atol(p + 8); break; }
    }
    fclose(f);
    if (v < 0) { errno = EINVAL; die("no MemFree in the node's meminfo"); }
    return v;
}

/* Maps bytes (a multiple of PAGE) bound to node, touches every page; huge: ask for THP. */
static void take(long bytes, int node, int huge)
{
    long len = bytes + (huge ? HUGE : 0);
    char *p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) die("mmap");
    if (huge) { /* align to a huge page so that every 2 MiB run can be one folio */
        char *a = (char *)(((unsigned long)p + HUGE - 1) & ~(unsigned long)(HUGE - 1));
        p = a;
        (void)madvise(p, (size_t)bytes, MADV_HUGEPAGE);
    } else {
        (void)madvise(p, (size_t)bytes, MADV_NOHUGEPAGE);
    }
    unsigned long mask = 1UL << node;
    if (syscall(SYS_mbind, p, (unsigned long)bytes, MPOL_BIND, &mask, 64UL, 0U) != 0) die("mbind(MPOL_BIND)");
    for (long off = 0; off < bytes; off += PAGE) p[off] = 1;
}

int main(int argc, char **argv)
{
    int node = -1;
    long leave_kb = -1;
    static const struct option opts[] = {
        {"node", required_argument, 0, 'n'}, {"leave-kb", required_argument, 0, 'l'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n': node = atoi(optarg); break;
        case 'l': leave_kb = atol(optarg); break;
        default: return 2;
        }
    }
    if (node < 0 || node >= 64 || leave_kb < 0) {
        fprintf(stderr, "nodefill: usage: nodefill --node N (0..63) --leave-kb K (>= 0)\n");
        return 2;
    }
    long filled = 0;
    /* Most of it in huge pages, then 4 KiB steps that close in on the target (page tables and the
     * kernel's per-CPU lists move MemFree by more than what was touched). */
    for (int round = 0; round < 64; round++) {
        long excess = (free_kb(node) - leave_kb) * 1024;
        if (excess < 4 * PAGE) break;
        int huge = excess > 8 * HUGE;
        long bytes = huge ? (excess - 4 * HUGE) & ~(HUGE - 1) : (excess / 2 > PAGE ? excess / 2 : excess) & ~(PAGE - 1);
        printf("step free_kb=%ld take_kb=%ld huge=%d\n", excess / 1024 + leave_kb, bytes / 1024, huge);
        fflush(stdout);
        take(bytes, node, huge);
        filled += bytes;
    }
    printf("filled node=%d filled_kb=%ld free_kb=%ld leave_kb=%ld\n", node, filled / 1024, free_kb(node), leave_kb);
    fflush(stdout);
    for (;;) pause();
}
