/*
 * example.c: embedding HotPage in a C program. Copy it, then build it next to the published
 * library (bash tools/publish.sh libhotpage):
 *
 *   cc -O2 -o example example.c -I. -L. -lhotpage -Wl,-rpath,'$ORIGIN'
 *   ./example            # NULL config: tiers from this machine
 *   ./example assume     # track the buffer as if it were on a slow tier (single-node machines)
 *
 * The program maps a buffer, registers it, reports its accesses the way an allocator or a cache
 * would (hot half often, cold half rarely), lets HotPage promote, and prints what happened.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, nanosleep under -std=c11 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "hotpage.h"

#define PAGE 4096u
#define PAGES 256u

static int check(int rc, const char *what)
{
    if (rc < 0)
        fprintf(stderr, "%s: %s (%d): %s\n", what, hotpage_strerror(rc), rc, hotpage_last_error());
    return rc;
}

int main(int argc, char **argv)
{
    const char *config = argc > 1 && strcmp(argv[1], "assume") == 0
        ? "{\"residency\": \"assume-lower\", \"tunables\": {\"freq_threshold\": 2}}"
        : NULL;

    hotpage_t *h = NULL;
    if (check(hotpage_open(config, &h), "hotpage_open") < 0)
        return 1;

    uint8_t *buf = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        perror("mmap");
        hotpage_close(h);
        return 1;
    }
    memset(buf, 1, PAGES * PAGE); /* fault the pages in */

    if (check(hotpage_register_region(h, buf, PAGES * PAGE), "hotpage_register_region") < 0) {
        hotpage_close(h);
        return 1;
    }

    /* The hot half: four reports per page, in one batch. The cold half: one report per page. */
    hotpage_record_t batch[PAGES / 2 * 4];
    uint32_t n = 0;
    for (uint32_t round = 0; round < 4; round++)
        for (uint32_t p = 0; p < PAGES / 2; p++)
            batch[n++] = (hotpage_record_t){ (uint64_t)(uintptr_t)(buf + p * PAGE), HOTPAGE_NUMA_NO_NODE, HOTPAGE_SOURCE_APPLICATION, 0 };
    int queued = check(hotpage_record_batch(h, batch, n), "hotpage_record_batch");
    for (uint32_t p = PAGES / 2; p < PAGES; p++)
        check(hotpage_record(h, (uint64_t)(uintptr_t)(buf + p * PAGE), HOTPAGE_NUMA_NO_NODE, HOTPAGE_SOURCE_APPLICATION, 0), "hotpage_record");

    hotpage_result_t r;
    if (check(hotpage_run_once(h, &r), "hotpage_run_once") == 0)
        printf("queued %d batch reports; round: %llu candidates, %llu promoted, %llu failed, %llu dropped\n", queued,
               (unsigned long long)r.candidates, (unsigned long long)r.promoted,
               (unsigned long long)r.failed, (unsigned long long)r.dropped);

    const char *names[] = { "pghot_recorded_accesses", "pghot_skipped_toptier", "pghot_candidates", "pgpromote_success", "hotpage_native_bytes" };
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        uint64_t v;
        if (check(hotpage_counter(h, names[i], &v), names[i]) == 0)
            printf("%-26s %llu\n", names[i], (unsigned long long)v);
    }

    hotpage_close(h);
    munmap(buf, PAGES * PAGE);
    return 0;
}
