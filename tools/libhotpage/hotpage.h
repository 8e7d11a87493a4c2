/*
 * hotpage.h: the C API of libhotpage.so, HotPage's engine for processes that are not .NET.
 *
 * A process registers the memory it wants watched, reports accesses to it (from its own
 * knowledge: an allocator, a cache, a sampler), and lets HotPage promote the hot pages that sit
 * on a slow memory tier (CXL, a CPU-less NUMA node) to fast DRAM with move_pages(2).
 *
 * Rules of the ABI:
 *  - fixed-width types only; every function returns 0 (HOTPAGE_OK) or a negative code
 *    (errno-style where an errno means the same, HotPage's own below -1000);
 *  - no exception or signal ever crosses the boundary; hotpage_last_error() has the text of the
 *    last failure on the calling thread;
 *  - hotpage_record and hotpage_record_batch may be called from any number of threads at once;
 *    the other calls on one handle must not race with hotpage_close of that handle;
 *  - a hotpage_producer_t is used by one thread at a time (it may move between threads).
 *
 * Link: cc app.c -I<dir of hotpage.h> -L<dir of libhotpage.so> -lhotpage -Wl,-rpath,<that dir>
 */
#ifndef HOTPAGE_H
#define HOTPAGE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hotpage hotpage_t;
/* A producer session on a hotpage_t (extension): see hotpage_producer_open. */
typedef struct hotpage_producer hotpage_producer_t;

/* One access report; 24 bytes, laid out as HotPage's AccessRecord. */
typedef struct {
    uint64_t addr;    /* any byte of the accessed page */
    int32_t  nid;     /* the accessing node, or HOTPAGE_NUMA_NO_NODE */
    uint32_t source;  /* HOTPAGE_SOURCE_* */
    uint64_t time_ms; /* time of the access in ms; 0 = now by the engine's clock */
} hotpage_record_t;

/* What a promotion round did. */
typedef struct {
    uint64_t candidates; /* candidates extracted (after the hotness re-check) */
    uint64_t promoted;   /* pages now on a top-tier node */
    uint64_t failed;     /* moves that failed (busy pages may be retried later) */
    uint64_t dropped;    /* candidates given up (cold again, retried too often, gone) */
} hotpage_result_t;

/* What a batch of reports became (hotpage_record_batch_ex). */
typedef struct {
    uint32_t recorded; /* queued */
    uint32_t dropped;  /* ring full: dropped and counted */
    uint32_t rejected; /* bad source, bad node or address outside every region */
    uint32_t reserved;
} hotpage_batch_result_t;

/* NUMA_NO_NODE: "promote to the default top-tier node". */
#define HOTPAGE_NUMA_NO_NODE (-1)

/* Temperature sources (never renumbered). */
#define HOTPAGE_SOURCE_APPLICATION   1u /* the application reports its own accesses */
#define HOTPAGE_SOURCE_PAGE_SCAN     2u /* page-table scan (Accessed bit, idle page tracking) */
#define HOTPAGE_SOURCE_SOFT_DIRTY    3u /* soft-dirty found the page written */
#define HOTPAGE_SOURCE_DAMON         4u /* a DAMON region with a high access frequency */
#define HOTPAGE_SOURCE_PERF_SAMPLE   5u /* a perf sample with the data address (PEBS, IBS, sw event) */
#define HOTPAGE_SOURCE_HINT_FAULT    6u /* a NUMA hint fault */
#define HOTPAGE_SOURCE_HARDWARE_HINT 7u /* a hardware hint (CXL hotness monitoring unit, ...) */
#define HOTPAGE_SOURCE_MAX           7u

/* Return codes. */
#define HOTPAGE_OK            0
#define HOTPAGE_E_NOENT      (-2)    /* unknown counter name, or no such region */
#define HOTPAGE_E_AGAIN      (-11)   /* record ring full: the report was dropped and counted */
#define HOTPAGE_E_NOMEM      (-12)   /* out of memory, or no room in the table (raise max_tracked_pages) */
#define HOTPAGE_E_BUSY       (-16)   /* the background promoter is already running */
#define HOTPAGE_E_EXIST      (-17)   /* the region overlaps a registered region */
#define HOTPAGE_E_NODE       (-19)   /* nid is neither HOTPAGE_NUMA_NO_NODE nor a node of this machine */
#define HOTPAGE_E_INVAL      (-22)   /* NULL handle or pointer, misaligned or empty region, bad tunable */
#define HOTPAGE_E_RANGE      (-34)   /* the address is outside every registered region */
#define HOTPAGE_E_NOSYS      (-38)   /* not supported on this platform */
#define HOTPAGE_E_SOURCE     (-1001) /* unknown source number */
#define HOTPAGE_E_CONFIG     (-1002) /* the configuration JSON is not valid (see hotpage_last_error) */
#define HOTPAGE_E_IO         (-1003) /* could not read where the region's pages reside */
#define HOTPAGE_E_INTERNAL   (-1099) /* unexpected internal error (see hotpage_last_error) */

/*
 * Opens an engine. config_json: NULL for defaults from the machine's topology, or a JSON object
 * such as {"tunables": {"freq_threshold": 3}, "tiers": {"1": 1}, "residency": "query"}.
 * "residency": "assume-lower" tracks every registered page as if it lived on a lower tier
 * (a testing and benchmarking aid for single-tier machines). On failure *out is NULL.
 */
int  hotpage_open(const char *config_json, hotpage_t **out);
/* Stops the background promoter if running and frees everything. NULL is ignored. */
void hotpage_close(hotpage_t *h);

/* Registers [base, base+length) of this process (page aligned, whole pages). Pages found on a
 * top-tier node are not tracked (unless residency is assume-lower). */
int  hotpage_register_region(hotpage_t *h, void *base, uint64_t length);
/* Unregisters the region that starts at base (extension). */
int  hotpage_unregister_region(hotpage_t *h, void *base);

/* Reports one access. Thread-safe, never blocks, never allocates. */
int  hotpage_record(hotpage_t *h, uint64_t addr, int32_t nid, uint32_t source, uint64_t time_ms);
/* Reports count accesses. Returns the number queued (0..count; bad records are rejected one by
 * one and counted, the rest go on), or a negative code when the call itself is invalid. */
int  hotpage_record_batch(hotpage_t *h, const hotpage_record_t *records, uint32_t count);
/* As hotpage_record_batch, and says how many were dropped and rejected (extension). */
int  hotpage_record_batch_ex(hotpage_t *h, const hotpage_record_t *records, uint32_t count, hotpage_batch_result_t *out);

/*
 * Producer sessions (extension). A thread that reports often opens one and records through it:
 * the same results, checks and counters as hotpage_record / hotpage_record_batch_ex, cheaper per
 * call (the session holds a record ring of its own; once producer_rings are all held, a new session
 * records on the shared per-CPU rings). One thread at a time per session: concurrent use loses
 * records and skews counters (it cannot corrupt memory). Close it before hotpage_close of its
 * engine; after that its record calls return HOTPAGE_E_INVAL and hotpage_producer_close still
 * frees it. Records a closed session queued are still applied. On failure *out is NULL.
 */
int  hotpage_producer_open(hotpage_t *h, hotpage_producer_t **out);
int  hotpage_producer_record(hotpage_producer_t *p, uint64_t addr, int32_t nid, uint32_t source, uint64_t time_ms);
/* Returns the number queued, as hotpage_record_batch; out may be NULL. */
int  hotpage_producer_record_batch(hotpage_producer_t *p, const hotpage_record_t *records, uint32_t count, hotpage_batch_result_t *out);
/* NULL is ignored. */
void hotpage_producer_close(hotpage_producer_t *p);

/* Drains the reports and runs one promotion round, synchronously. out may be NULL. */
int  hotpage_run_once(hotpage_t *h, hotpage_result_t *out);
/* Starts the background promoter (a round every promote_interval_ms). HOTPAGE_E_BUSY if running. */
int  hotpage_start(hotpage_t *h);
/* Stops the background promoter; the round in flight finishes. Safe when not running. */
int  hotpage_stop(hotpage_t *h);

/* Reads a counter by its kernel-style name (pghot_recorded_accesses, pgpromote_success, ...). */
int  hotpage_counter(hotpage_t *h, const char *name, uint64_t *value);
/* Sets a run-time tunable (freq_threshold, promote_rate_limit_mbps, ...) (extension). */
int  hotpage_set_tunable(hotpage_t *h, const char *name, int64_t value);

/* A static description of a code; never NULL. */
const char *hotpage_strerror(int code);
/* The text of the last failure on the calling thread (valid until its next failing call); "" if none. */
const char *hotpage_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* HOTPAGE_H */
