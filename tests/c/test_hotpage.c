/*
 * C ABI tests of libhotpage.so, run against the published library on real memory
 * (tests/suites.d/20-c-abi.sh builds and runs them). Prints "ok"/"FAIL" per check and
 * "N passed, M failed" last.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, nanosleep under -std=c11 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "hotpage.h"

_Static_assert(sizeof(hotpage_record_t) == 24, "hotpage_record_t is 24 bytes (AccessRecord)");
_Static_assert(offsetof(hotpage_record_t, nid) == 8, "nid at 8");
_Static_assert(offsetof(hotpage_record_t, source) == 12, "source at 12");
_Static_assert(offsetof(hotpage_record_t, time_ms) == 16, "time_ms at 16");
_Static_assert(sizeof(hotpage_result_t) == 32, "hotpage_result_t is 32 bytes");

#define PAGE 4096u
#define PAGES 64u
#define ASSUME "{\"residency\": \"assume-lower\"}"

static int passed, failed;

#define CHECK(cond, ...) do { \
    if (cond) { passed++; printf("ok   %s:%d ", __func__, __LINE__); printf(__VA_ARGS__); printf("\n"); } \
    else { failed++; printf("FAIL %s:%d ", __func__, __LINE__); printf(__VA_ARGS__); printf(" [last error: %s]\n", hotpage_last_error()); } \
} while (0)

static uint64_t counter(hotpage_t *h, const char *name)
{
    uint64_t v = UINT64_MAX;
    int rc = hotpage_counter(h, name, &v);
    if (rc != HOTPAGE_OK)
        printf("  (counter %s: %d)\n", name, rc);
    return v;
}

static uint8_t *map_pages(unsigned pages)
{
    uint8_t *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    memset(p, 7, pages * PAGE);
    return p;
}

/* recs[0..PAGES) one good record per page of the region at a; then 3 bad ones: an unknown node,
 * an unknown source, an address outside every region. */
static void fill_good_then_bad(hotpage_record_t *recs, uint64_t a)
{
    for (unsigned i = 0; i < PAGES; i++)
        recs[i] = (hotpage_record_t){ a + i * PAGE, HOTPAGE_NUMA_NO_NODE, HOTPAGE_SOURCE_APPLICATION, 0 };
    recs[PAGES] = (hotpage_record_t){ a, 99, 1, 0 };
    recs[PAGES + 1] = (hotpage_record_t){ a, -1, 42, 0 };
    recs[PAGES + 2] = (hotpage_record_t){ 8192, -1, 1, 0 };
}

static void test_open_close_defaults(void)
{
    hotpage_t *h = (hotpage_t *)1;
    int rc = hotpage_open(NULL, &h);
    CHECK(rc == HOTPAGE_OK && h != NULL, "open(NULL) -> %d", rc);
    uint8_t *buf = map_pages(PAGES);
    rc = hotpage_register_region(h, buf, PAGES * PAGE);
    CHECK(rc == HOTPAGE_OK, "register on default residency -> %d", rc);
    /* On a single-tier machine the pages are top tier: reported, counted as skipped, not tracked. */
    rc = hotpage_record(h, (uint64_t)(uintptr_t)buf, HOTPAGE_NUMA_NO_NODE, HOTPAGE_SOURCE_APPLICATION, 0);
    CHECK(rc == HOTPAGE_OK, "record -> %d", rc);
    CHECK(hotpage_run_once(h, NULL) == HOTPAGE_OK, "run_once(out NULL)");
    CHECK(counter(h, "pghot_recorded_accesses") == 1, "one report counted");
    hotpage_close(h);
    hotpage_close(NULL); /* ignored */
    munmap(buf, PAGES * PAGE);
}

static void test_null_arguments(void)
{
    CHECK(hotpage_open(NULL, NULL) == HOTPAGE_E_INVAL, "open(out NULL) -> E_INVAL");
    CHECK(hotpage_record(NULL, 0, -1, 1, 0) == HOTPAGE_E_INVAL, "record(NULL handle) -> E_INVAL");
    CHECK(hotpage_run_once(NULL, NULL) == HOTPAGE_E_INVAL, "run_once(NULL) -> E_INVAL");
    CHECK(hotpage_start(NULL) == HOTPAGE_E_INVAL, "start(NULL) -> E_INVAL");
    uint64_t v;
    CHECK(hotpage_counter(NULL, "x", &v) == HOTPAGE_E_INVAL, "counter(NULL) -> E_INVAL");
}

static void test_bad_config(void)
{
    hotpage_t *h = (hotpage_t *)1;
    int rc = hotpage_open("{\"tunabels\": {}}", &h);
    CHECK(rc == HOTPAGE_E_CONFIG && h == NULL, "unknown key -> %d", rc);
    CHECK(strstr(hotpage_last_error(), "tunabels") != NULL, "the error names the key: %s", hotpage_last_error());
    rc = hotpage_open("{\"tunables\": {\"freq_threshold\": 99}}", &h);
    CHECK(rc == HOTPAGE_E_CONFIG, "out-of-range tunable -> %d", rc);
    CHECK(strstr(hotpage_last_error(), "freq_threshold") != NULL && strstr(hotpage_last_error(), "1..7") != NULL,
          "the error names the tunable and range: %s", hotpage_last_error());
    rc = hotpage_open("{\"tunables\": {\"no_such\": 1}}", &h);
    CHECK(rc == HOTPAGE_E_CONFIG && strstr(hotpage_last_error(), "no_such") != NULL, "unknown tunable -> %d", rc);
    rc = hotpage_open("{not json", &h);
    CHECK(rc == HOTPAGE_E_CONFIG, "not JSON -> %d", rc);
    rc = hotpage_open("{\"residency\": \"sometimes\"}", &h);
    CHECK(rc == HOTPAGE_E_CONFIG && strstr(hotpage_last_error(), "residency") != NULL, "bad residency -> %d", rc);
    rc = hotpage_open("{\"tiers\": {\"7\": 1}}", &h);
    CHECK(rc == HOTPAGE_E_CONFIG && strstr(hotpage_last_error(), "7") != NULL, "tier override for a missing node -> %d", rc);
}

static void test_register(void)
{
    hotpage_t *h;
    CHECK(hotpage_open(ASSUME, &h) == HOTPAGE_OK, "open assume-lower");
    uint8_t *buf = map_pages(PAGES);
    CHECK(hotpage_register_region(h, buf + 1, PAGE) == HOTPAGE_E_INVAL, "misaligned base -> E_INVAL");
    CHECK(hotpage_register_region(h, buf, 100) == HOTPAGE_E_INVAL, "partial page -> E_INVAL");
    CHECK(hotpage_register_region(h, buf, 0) == HOTPAGE_E_INVAL, "empty -> E_INVAL");
    CHECK(hotpage_register_region(h, buf, PAGES * PAGE) == HOTPAGE_OK, "register 64 pages");
    CHECK(hotpage_register_region(h, buf + PAGE, PAGE) == HOTPAGE_E_EXIST, "overlap -> E_EXIST");
    CHECK(hotpage_unregister_region(h, buf + PAGE) == HOTPAGE_E_NOENT, "unregister a base that starts no region -> E_NOENT");
    CHECK(hotpage_unregister_region(h, buf) == HOTPAGE_OK, "unregister");
    CHECK(hotpage_record(h, (uint64_t)(uintptr_t)buf, -1, 1, 0) == HOTPAGE_E_RANGE, "record after unregister -> E_RANGE");
    hotpage_close(h);
    munmap(buf, PAGES * PAGE);
}

static void test_record_and_refusals(void)
{
    hotpage_t *h;
    CHECK(hotpage_open(ASSUME, &h) == HOTPAGE_OK, "open");
    uint8_t *buf = map_pages(PAGES);
    CHECK(hotpage_register_region(h, buf, PAGES * PAGE) == HOTPAGE_OK, "register");
    uint64_t a = (uint64_t)(uintptr_t)buf;

    CHECK(hotpage_record(h, a, HOTPAGE_NUMA_NO_NODE, HOTPAGE_SOURCE_APPLICATION, 0) == HOTPAGE_OK, "record single");
    CHECK(hotpage_record(h, a + PAGE + 17, 0, HOTPAGE_SOURCE_PERF_SAMPLE, 0) == HOTPAGE_OK, "record from node 0, mid-page");

    /* Refusals: each with its code, and nothing recorded. */
    CHECK(hotpage_record(h, a, 1000, 1, 0) == HOTPAGE_E_NODE, "node 1000 -> E_NODE");
    CHECK(hotpage_record(h, a, -2, 1, 0) == HOTPAGE_E_NODE, "node -2 -> E_NODE");
    CHECK(hotpage_record(h, a, -1, 0, 0) == HOTPAGE_E_SOURCE, "source 0 -> E_SOURCE");
    CHECK(hotpage_record(h, a, -1, HOTPAGE_SOURCE_MAX + 1, 0) == HOTPAGE_E_SOURCE, "source 8 -> E_SOURCE");
    CHECK(hotpage_record(h, a + PAGES * PAGE, -1, 1, 0) == HOTPAGE_E_RANGE, "address past the region -> E_RANGE");
    CHECK(hotpage_record(h, 4096, -1, 1, 0) == HOTPAGE_E_RANGE, "address outside any region -> E_RANGE");
    uint64_t v = 12345;
    CHECK(hotpage_counter(h, "no_such_counter", &v) == HOTPAGE_E_NOENT && v == 12345, "unknown counter -> E_NOENT, value untouched");

    /* Batch: 64 good, 3 bad. */
    hotpage_record_t recs[PAGES + 3];
    fill_good_then_bad(recs, a);
    int rc = hotpage_record_batch(h, recs, PAGES);
    CHECK(rc == (int)PAGES, "batch of 64 -> %d queued", rc);
    hotpage_batch_result_t br;
    rc = hotpage_record_batch_ex(h, recs + PAGES, 3, &br);
    CHECK(rc == 0 && br.recorded == 0 && br.rejected == 3 && br.dropped == 0, "batch of 3 bad -> %d queued, %u rejected", rc, br.rejected);
    CHECK(hotpage_record_batch(h, NULL, 1) == HOTPAGE_E_INVAL, "batch NULL records -> E_INVAL");
    CHECK(hotpage_record_batch(h, NULL, 0) == 0, "empty batch -> 0");

    CHECK(hotpage_run_once(h, NULL) == HOTPAGE_OK, "drain");
    CHECK(counter(h, "pghot_recorded_accesses") == 2 + 6 + PAGES + 3, "every report counted (%llu)", (unsigned long long)counter(h, "pghot_recorded_accesses"));
    CHECK(counter(h, "pghot_records_applied") == 2 + PAGES, "only the good ones applied");
    CHECK(counter(h, "pghot_rejected_node") == 3, "bad nodes counted");
    CHECK(counter(h, "pghot_rejected_source") == 3, "bad sources counted");
    CHECK(counter(h, "pghot_rejected_address") == 3, "bad addresses counted");
    CHECK(counter(h, "pghot_recorded_appreports") == 1 + PAGES, "app reports applied");
    CHECK(counter(h, "pghot_recorded_perfsamples") == 1, "perf sample applied");
    hotpage_close(h);
    munmap(buf, PAGES * PAGE);
}

/* A producer session: the same codes and counters as hotpage_record / hotpage_record_batch_ex. */
static void test_producer(void)
{
    hotpage_t *h;
    CHECK(hotpage_open("{\"residency\": \"assume-lower\", \"tunables\": {\"producer_rings\": 1}}", &h) == HOTPAGE_OK, "open with producer_rings 1");
    uint8_t *buf = map_pages(PAGES);
    CHECK(hotpage_register_region(h, buf, PAGES * PAGE) == HOTPAGE_OK, "register");
    uint64_t a = (uint64_t)(uintptr_t)buf;

    hotpage_producer_t *p = (hotpage_producer_t *)1;
    CHECK(hotpage_producer_open(NULL, &p) == HOTPAGE_E_INVAL && p == NULL, "producer_open(NULL handle) -> E_INVAL, out NULL");
    CHECK(hotpage_producer_open(h, NULL) == HOTPAGE_E_INVAL, "producer_open(out NULL) -> E_INVAL");
    CHECK(hotpage_producer_open(h, &p) == HOTPAGE_OK && p != NULL, "producer_open");
    hotpage_producer_t *q = NULL;
    CHECK(hotpage_producer_open(h, &q) == HOTPAGE_OK && q != NULL, "a second producer (beyond producer_rings: shared rings)");

    CHECK(hotpage_producer_record(p, a, HOTPAGE_NUMA_NO_NODE, HOTPAGE_SOURCE_APPLICATION, 0) == HOTPAGE_OK, "record");
    CHECK(hotpage_producer_record(q, a + PAGE, 0, HOTPAGE_SOURCE_PERF_SAMPLE, 5) == HOTPAGE_OK, "record on the shared rings");
    CHECK(hotpage_producer_record(p, a, 1000, 1, 0) == HOTPAGE_E_NODE, "node 1000 -> E_NODE");
    CHECK(hotpage_producer_record(p, a, -1, 0, 0) == HOTPAGE_E_SOURCE, "source 0 -> E_SOURCE");
    CHECK(hotpage_producer_record(p, a + PAGES * PAGE, -1, 1, 0) == HOTPAGE_E_RANGE, "address past the region -> E_RANGE");
    CHECK(hotpage_producer_record(NULL, a, -1, 1, 0) == HOTPAGE_E_INVAL, "record(NULL producer) -> E_INVAL");

    hotpage_record_t recs[PAGES + 3];
    fill_good_then_bad(recs, a);
    hotpage_batch_result_t br = { 9, 9, 9, 0 };
    int rc = hotpage_producer_record_batch(p, recs, PAGES + 3, &br);
    CHECK(rc == (int)PAGES && br.recorded == PAGES && br.rejected == 3 && br.dropped == 0, "batch of 64 good, 3 bad -> %d queued, %u rejected", rc, br.rejected);
    CHECK(hotpage_producer_record_batch(p, recs, 2, NULL) == 2, "batch, out NULL");
    CHECK(hotpage_producer_record_batch(p, NULL, 1, NULL) == HOTPAGE_E_INVAL, "batch NULL records -> E_INVAL");
    CHECK(hotpage_producer_record_batch(p, NULL, 0, NULL) == 0, "empty batch -> 0");

    /* Closed before the drain: what it queued is still applied. */
    hotpage_producer_close(p);
    hotpage_producer_close(NULL);
    CHECK(hotpage_run_once(h, NULL) == HOTPAGE_OK, "drain");
    CHECK(counter(h, "pghot_recorded_accesses") == 5 + PAGES + 3 + 2, "every report counted (%llu)", (unsigned long long)counter(h, "pghot_recorded_accesses"));
    CHECK(counter(h, "pghot_records_applied") == 2 + PAGES + 2, "the good ones applied, the closed producer's too");
    CHECK(counter(h, "pghot_rejected") == 3 + 3, "bad reports counted");
    CHECK(counter(h, "pghot_recorded_perfsamples") == 1, "the shared-ring report applied");

    /* A producer whose engine was closed refuses reports; closing it afterwards is fine. */
    hotpage_close(h);
    CHECK(hotpage_producer_record(q, a, -1, 1, 0) == HOTPAGE_E_INVAL, "record after hotpage_close -> E_INVAL");
    CHECK(hotpage_producer_record_batch(q, recs, 1, NULL) == HOTPAGE_E_INVAL, "batch after hotpage_close -> E_INVAL");
    hotpage_producer_close(q);
    munmap(buf, PAGES * PAGE);
}

static void test_run_once_promotes(void)
{
    hotpage_t *h;
    CHECK(hotpage_open("{\"residency\": \"assume-lower\", \"tunables\": {\"freq_threshold\": 2, \"hot_threshold_auto\": 0}}", &h) == HOTPAGE_OK, "open");
    uint8_t *buf = map_pages(PAGES);
    CHECK(hotpage_register_region(h, buf, PAGES * PAGE) == HOTPAGE_OK, "register");
    for (int round = 0; round < 3; round++)
        for (unsigned i = 0; i < PAGES / 2; i++)
            hotpage_record(h, (uint64_t)(uintptr_t)(buf + i * PAGE), -1, 1, 0);
    hotpage_result_t r = { 9, 9, 9, 9 };
    int rc = hotpage_run_once(h, &r);
    CHECK(rc == HOTPAGE_OK, "run_once -> %d", rc);
    CHECK(r.candidates == PAGES / 2 && r.promoted == PAGES / 2 && r.failed == 0,
          "the 32 hot pages promoted (move_pages to node 0): %llu candidates, %llu promoted, %llu failed, %llu dropped",
          (unsigned long long)r.candidates, (unsigned long long)r.promoted, (unsigned long long)r.failed, (unsigned long long)r.dropped);
    CHECK(counter(h, "pgpromote_success") == PAGES / 2, "pgpromote_success");
    /* Promoted pages are top tier now: further reports are skipped, not tracked. */
    hotpage_record(h, (uint64_t)(uintptr_t)buf, -1, 1, 0);
    hotpage_run_once(h, &r);
    CHECK(counter(h, "pghot_skipped_toptier") == 1, "a promoted page is no longer tracked");
    CHECK(hotpage_set_tunable(h, "freq_threshold", 3) == HOTPAGE_OK, "set tunable");
    CHECK(hotpage_set_tunable(h, "freq_threshold", 8) == HOTPAGE_E_INVAL && strstr(hotpage_last_error(), "1..7"), "tunable out of range -> E_INVAL");
    CHECK(counter(h, "hot_threshold") == 3, "tunable took effect");
    hotpage_close(h);
    munmap(buf, PAGES * PAGE);
}

#define THREADS 4
#define PER_THREAD 200000

struct worker { hotpage_t *h; uint8_t *buf; unsigned seed; long ok, again, other; };

static void *record_loop(void *arg)
{
    struct worker *w = arg;
    for (long i = 0; i < PER_THREAD; i++) {
        w->seed = w->seed * 1103515245u + 12345u;
        uint64_t addr = (uint64_t)(uintptr_t)(w->buf + (w->seed >> 8) % PAGES * PAGE);
        int rc = hotpage_record(w->h, addr, HOTPAGE_NUMA_NO_NODE, HOTPAGE_SOURCE_APPLICATION, 0);
        if (rc == HOTPAGE_OK) w->ok++;
        else if (rc == HOTPAGE_E_AGAIN) w->again++;
        else w->other++;
    }
    return NULL;
}

static void test_four_threads(void)
{
    hotpage_t *h;
    CHECK(hotpage_open("{\"residency\": \"assume-lower\", \"tunables\": {\"ring_capacity\": 4096}}", &h) == HOTPAGE_OK, "open");
    uint8_t *buf = map_pages(PAGES);
    CHECK(hotpage_register_region(h, buf, PAGES * PAGE) == HOTPAGE_OK, "register");
    CHECK(hotpage_start(h) == HOTPAGE_OK, "background promoter drains while threads record");
    pthread_t t[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){ h, buf, 17u * (unsigned)i + 1, 0, 0, 0 };
        pthread_create(&t[i], NULL, record_loop, &w[i]);
    }
    long ok = 0, again = 0, other = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok; again += w[i].again; other += w[i].other;
    }
    CHECK(hotpage_stop(h) == HOTPAGE_OK, "stop");
    CHECK(hotpage_run_once(h, NULL) == HOTPAGE_OK, "final drain");
    uint64_t recorded = counter(h, "pghot_recorded_accesses");
    uint64_t applied = counter(h, "pghot_records_applied");
    uint64_t dropped = counter(h, "pghot_ring_dropped");
    uint64_t inflight = counter(h, "pghot_records_inflight");
    CHECK(other == 0, "no call failed other than a full ring (%ld)", other);
    CHECK(recorded == (uint64_t)THREADS * PER_THREAD, "recorded %llu == %d calls", (unsigned long long)recorded, THREADS * PER_THREAD);
    CHECK(applied == (uint64_t)ok && dropped == (uint64_t)again && inflight == 0,
          "conserved: applied %llu == ok %ld, dropped %llu == E_AGAIN %ld, inflight %llu",
          (unsigned long long)applied, ok, (unsigned long long)dropped, again, (unsigned long long)inflight);
    CHECK(applied + dropped == recorded, "recorded = applied + dropped");
    hotpage_close(h);
    munmap(buf, PAGES * PAGE);
}

/* A C thread's first report takes a producer ring; once the thread has exited, the runtime must
 * see it as dead so that the next thread takes the ring over. Otherwise every thread past
 * producer_rings would report through the shared per-CPU rings (hotpage_shared_ring_producers). */
struct few { hotpage_t *h; uint8_t *buf; pthread_barrier_t *all_recorded; int ok; };

static void *record_few(void *arg)
{
    struct few *w = arg;
    for (unsigned i = 0; i < 10; i++)
        w->ok += hotpage_record(w->h, (uint64_t)(uintptr_t)(w->buf + i * PAGE), HOTPAGE_NUMA_NO_NODE, HOTPAGE_SOURCE_APPLICATION, 0) == HOTPAGE_OK;
    if (w->all_recorded)
        pthread_barrier_wait(w->all_recorded);
    return NULL;
}

static void test_exited_threads_free_their_rings(void)
{
    hotpage_t *h;
    CHECK(hotpage_open("{\"residency\": \"assume-lower\", \"tunables\": {\"producer_rings\": 2}}", &h) == HOTPAGE_OK, "open with 2 producer rings");
    uint8_t *buf = map_pages(PAGES);
    CHECK(hotpage_register_region(h, buf, PAGES * PAGE) == HOTPAGE_OK, "register");
    int ok = 0;
    for (int i = 0; i < 6; i++) {
        struct few w = { h, buf, NULL, 0 };
        pthread_t t;
        pthread_create(&t, NULL, record_few, &w);
        pthread_join(t, NULL);
        ok += w.ok;
    }
    CHECK(ok == 60, "six threads one after another recorded 10 each (%d)", ok);
    CHECK(counter(h, "hotpage_producer_rings") == 1, "they used one ring, each taking it over from the exited one (%llu rings)",
          (unsigned long long)counter(h, "hotpage_producer_rings"));
    CHECK(counter(h, "hotpage_shared_ring_producers") == 0, "no thread had to share the per-CPU rings (%llu did)",
          (unsigned long long)counter(h, "hotpage_shared_ring_producers"));

    /* The control: three threads alive at once, two rings: one of them shares. */
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 3);
    struct few w[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (struct few){ h, buf, &barrier, 0 };
        pthread_create(&t[i], NULL, record_few, &w[i]);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
    }
    pthread_barrier_destroy(&barrier);
    CHECK(counter(h, "hotpage_producer_rings") == 2 && counter(h, "hotpage_shared_ring_producers") == 1,
          "three live threads, two rings: one thread shares (%llu rings, %llu shared)",
          (unsigned long long)counter(h, "hotpage_producer_rings"), (unsigned long long)counter(h, "hotpage_shared_ring_producers"));
    CHECK(hotpage_run_once(h, NULL) == HOTPAGE_OK, "drain");
    CHECK(counter(h, "pghot_records_applied") == (uint64_t)ok && ok == 90, "every record applied (%llu of %d)",
          (unsigned long long)counter(h, "pghot_records_applied"), ok);
    hotpage_close(h);
    munmap(buf, PAGES * PAGE);
}

static void test_start_stop(void)
{
    hotpage_t *h;
    CHECK(hotpage_open("{\"residency\": \"assume-lower\", \"tunables\": {\"promote_interval_ms\": 20, \"hot_threshold_auto\": 0}}", &h) == HOTPAGE_OK, "open");
    uint8_t *buf = map_pages(PAGES);
    CHECK(hotpage_register_region(h, buf, PAGES * PAGE) == HOTPAGE_OK, "register");
    CHECK(hotpage_stop(h) == HOTPAGE_OK, "stop when not running is fine");
    CHECK(hotpage_start(h) == HOTPAGE_OK, "start");
    CHECK(hotpage_start(h) == HOTPAGE_E_BUSY, "start again -> E_BUSY");
    for (int round = 0; round < 3; round++)
        for (unsigned i = 0; i < PAGES; i++)
            hotpage_record(h, (uint64_t)(uintptr_t)(buf + i * PAGE), -1, 1, 0);
    uint64_t promoted = 0;
    for (int i = 0; i < 250 && promoted < PAGES; i++) {
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        promoted = counter(h, "pgpromote_success");
    }
    CHECK(promoted == PAGES, "the background promoter promoted all %u hot pages (%llu)", PAGES, (unsigned long long)promoted);
    CHECK(counter(h, "pgpromote_rounds") > 0, "rounds ran");
    CHECK(hotpage_stop(h) == HOTPAGE_OK, "stop");
    CHECK(hotpage_stop(h) == HOTPAGE_OK, "stop twice");
    CHECK(hotpage_start(h) == HOTPAGE_OK && hotpage_stop(h) == HOTPAGE_OK, "restart and stop");
    CHECK(hotpage_start(h) == HOTPAGE_OK, "start, then close while running");
    hotpage_close(h);
    munmap(buf, PAGES * PAGE);
}

static void test_strerror(void)
{
    const int codes[] = { HOTPAGE_OK, HOTPAGE_E_NOENT, HOTPAGE_E_AGAIN, HOTPAGE_E_NOMEM, HOTPAGE_E_BUSY, HOTPAGE_E_EXIST,
                          HOTPAGE_E_NODE, HOTPAGE_E_INVAL, HOTPAGE_E_RANGE, HOTPAGE_E_NOSYS, HOTPAGE_E_SOURCE,
                          HOTPAGE_E_CONFIG, HOTPAGE_E_IO, HOTPAGE_E_INTERNAL };
    const char *unknown = hotpage_strerror(-99999);
    CHECK(unknown != NULL && strstr(unknown, "unknown") != NULL, "unknown code: %s", unknown);
    for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = hotpage_strerror(codes[i]);
        CHECK(s != NULL && s[0] != 0 && strcmp(s, unknown) != 0, "strerror(%d) = %s", codes[i], s ? s : "(null)");
        for (unsigned j = 0; j < i; j++)
            if (strcmp(s, hotpage_strerror(codes[j])) == 0)
                CHECK(0, "strerror(%d) repeats strerror(%d)", codes[i], codes[j]);
    }
    CHECK(hotpage_strerror(HOTPAGE_E_RANGE) == hotpage_strerror(HOTPAGE_E_RANGE), "static strings (same pointer each call)");
}

int main(void)
{
    test_open_close_defaults();
    test_null_arguments();
    test_bad_config();
    test_register();
    test_record_and_refusals();
    test_producer();
    test_run_once_promotes();
    test_four_threads();
    test_exited_threads_free_their_rings();
    test_start_stop();
    test_strerror();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
