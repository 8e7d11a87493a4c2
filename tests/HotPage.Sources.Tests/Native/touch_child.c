/* A child process for the source tests: maps PAGES private anonymous pages (no huge pages), prints
 * the address, then obeys commands on stdin, one per line, answering "ok" after each:
 *   w FIRST COUNT STEP   write one byte to pages FIRST, FIRST+STEP, ... (COUNT pages)
 *   r FIRST COUNT STEP   read them
 * It exits when stdin closes. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
    long pages = argc > 1 ? atol(argv[1]) : 64;
    char *p = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    madvise(p, pages * 4096, MADV_NOHUGEPAGE);
    printf("%lx %ld\n", (unsigned long)p, pages);
    fflush(stdout);
    char line[128];
    while (fgets(line, sizeof line, stdin)) {
        char op;
        long first, count, step;
        if (sscanf(line, " %c %ld %ld %ld", &op, &first, &count, &step) == 4) {
            for (long i = 0; i < count; i++) {
                long page = first + i * step;
                if (page < 0 || page >= pages)
                    break;
                volatile char *q = p + page * 4096;
                if (op == 'w')
                    *q = (char)(i + 1);
                else
                    (void)*q;
            }
        }
        printf("ok\n");
        fflush(stdout);
    }
    return 0;
}
