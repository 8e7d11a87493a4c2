/* features: probes, from user space, guest kernel features that a shell cannot see and prints
 * one "FEATURE key=value" line each:
 *   soft_dirty  yes if a write after clear_refs=4 sets bit 55 of the page's pagemap entry
 *   move_pages  yes if the query form of move_pages answers for an own page
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int pagemap_bit(void *addr, int bit)
{
    int fd = open("/proc/self/pagemap", O_RDONLY);
    if (fd < 0) return -1;
    uint64_t e = 0;
    off_t off = (off_t)((uintptr_t)addr / 4096) * 8;
    ssize_t n = pread(fd, &e, 8, off);
    close(fd);
    return n == 8 ? (int)((e >> bit) & 1) : -1;
}

static int clear_soft_dirty(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    if (fd < 0) return -1;
    int ok = write(fd, "4", 1) == 1;
    close(fd);
    return ok ? 0 : -1;
}

int main(void)
{
    volatile char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    p[0] = 1;
    const char *sd = "no";
    if (clear_soft_dirty() == 0 && pagemap_bit((void *)p, 55) == 0) {
        p[0] = 2;
        if (pagemap_bit((void *)p, 55) == 1) sd = "yes";
    }
    printf("FEATURE soft_dirty=%s\n", sd);
    void *pages[1] = {(void *)p};
    int status[1] = {-1};
    long rc = syscall(SYS_move_pages, 0, 1UL, pages, NULL, status, 0);
    printf("FEATURE move_pages=%s\n", rc == 0 && status[0] >= 0 ? "yes" : "no");
    return 0;
}
