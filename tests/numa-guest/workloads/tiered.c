/* tiered: a tiered-memory workload for the HotPage NUMA guest.
 *
 * Maps a working set of 4 KiB pages (MADV_NOHUGEPAGE, so that hot and cold pages never share a
 * huge page), places every page on the slow node (default node 1), checks that they are there,
 * then keeps a hot subset hot (reads and writes every hot page, over and over) and, optionally,
 * sweeps the cold rest slowly (each cold page read once, at a given MiB/s). Every report interval
 * it asks the kernel where its own pages are (move_pages with nodes = NULL) and prints
 *     placement t_ms=<t> hot_on_node0=<n>/<N> cold_on_node0=<m>/<M>
 * and at the end one summary line (see print_summary). Placement is verified by the workload
 * itself, independently of whatever moves the pages.
 *
 * The placement uses mbind(MPOL_BIND, slow node) while first touching and then mbind(MPOL_DEFAULT):
 * a VMA left with MPOL_BIND is skipped by NUMA balancing and would refuse promotion.
 *
 * Usage: tiered [options]
 *   --total-mib N      working set size (default 64)
 *   --hot-mib N        hot subset size (default 8); or --hot-frac F (0..1)
 *   --layout L         contiguous (hot pages are one run in the middle, default) or
 *                      strided (every k-th page is hot)
 *   --seconds S        how long the access phase runs (default 30)
 *   --sweep-mibps R    also sweep the cold pages once at R MiB/s (default 0: hot only)
 *   --report-ms MS     placement query interval (default 250)
 *   --slow-node N      node to place the working set on (default 1)
 *   --fast-node N      node counted as "promoted" (default 0)
 *   --wait-signal      after placement print "ready pid=<pid>" and wait for SIGUSR1 before the
 *                      access phase (so a daemon or another process can attach first)
 *   --ranges FILE      write the hot and cold address ranges to FILE (lines
 *                      "hot <start-hex> <end-hex>" / "cold <start-hex> <end-hex>", end exclusive)
 *   --stop-at-hot95    end the access phase as soon as 95% of the hot pages are on the fast node
 *   --quiet            print only changes of placement (and the summary)
 *   --tlb-flush-ms MS  every MS ms, make the working set read-only and writable again (mprotect),
 *                      which flushes this process's TLB entries for it. For access-bit scanners
 *                      (DAMON, idle page tracking) under QEMU's software TLB, which otherwise keeps
 *                      hot translations so long that cleared accessed bits are never set again.
 *
 * Built with -DHOTPAGE_EMBED and linked with libhotpage.so, it is `tiered-embed`: the same
 * working set and placement checks, and the process embeds HotPage through its C ABI. After the
 * placement it opens an engine (hotpage_open), registers its working set as one region, reports
 * its own accesses with hotpage_record_batch (source HOTPAGE_SOURCE_APPLICATION) and calls
 * hotpage_run_once every --round-ms. What it reports, honestly and sampled in time only:
 *   - the hot pages: on one pass every --record-ms (default 10; 0 = every pass), one record per hot
 *     page (each pass reads and writes every hot page once); passes in between are not reported;
 *   - the cold sweep: every cold page read is reported (one record; it is read once).
 * So cold accesses are reported in full and hot ones sampled: the sampling can only make the hot set
 * look less hot than it is, never the cold pages hotter. Placement is still judged by the
 * workload's own move_pages queries, independent of HotPage. Extra options:
 *   --round-ms MS        a hotpage_run_once every MS ms of the access phase (default 100)
 *   --record-ms MS       hot pages reported on one pass every MS ms (default 10; 0 = every pass)
 *   --hotpage-config J   the JSON given to hotpage_open (default NULL: defaults and the topology)
 *   --headroom-pct P     sets promote_headroom_pct (hotpage_set_tunable) and watches node
 *                        --fast-node's free memory after every round that promoted pages, against
 *                        the same watermark (P% of the node's MemTotal): "embed ... free_min_kb="
 * It prints "hotpage open_ms=... register_ms=..." before the access phase, and at the end
 *   embed rounds=<n> hot95_rounds=<rounds done when 95% of the hot pages were first seen on the
 *     fast node, -1 if never> records=<queued> record_dropped=<ring full> record_rejected=<n>
 *     promoted=<sum of the rounds' promoted> free_min_kb=<lowest MemFree seen after a round that
 *     promoted, -1 if none> free_pcp_min_kb=<the same for MemFree plus the per-CPU lists' free
 *     pages, see node_free_pcp_kb> reserve_kb=<the watermark, -1 without --headroom-pct>
 *   counters name=value ... (HotPage's own counters, read with hotpage_counter)
 * and exits 5 when a HotPage call fails (with hotpage_last_error on stderr).
 *
 * Exit status: 0 if the run completed (whatever the placement), 2 on bad arguments, 3 if the
 * initial placement on the slow node failed, 4 on a system call failure, 5 on a HotPage failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#ifdef HOTPAGE_EMBED
#include "hotpage.h"
#endif

#define PAGE 4096UL
#define MPOL_DEFAULT 0
#define MPOL_BIND 2

static long sys_mbind(void *addr, unsigned long len, int mode, const unsigned long *mask,
                      unsigned long maxnode, unsigned flags)
{
    return syscall(SYS_mbind, addr, len, mode, mask, maxnode, flags);
}

static long sys_move_pages(int pid, unsigned long count, void **pages, const int *nodes,
                           int *status, int flags)
{
    return syscall(SYS_move_pages, pid, count, pages, nodes, status, flags);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void die(const char *what)
{
    fprintf(stderr, "tiered: %s: %s\n", what, strerror(errno));
    exit(4);
}

struct counts {
    unsigned long hot_fast, cold_fast, hot_slow, cold_slow, hot_other, cold_other, errors;
};

static unsigned long npages, nhot, ncold;
static unsigned char *base;
static unsigned char *is_hot;  /* per page: 1 if hot */
static void **pages;           /* all page addresses, for the placement query */
static int *status;
static int fast_node, slow_node;

static struct counts query(void)
{
    struct counts c = {0};
    if (sys_move_pages(0, npages, pages, NULL, status, 0) != 0)
        die("move_pages (query)");
    for (unsigned long i = 0; i < npages; i++) {
        int s = status[i];
        int hot = is_hot[i];
        if (s == fast_node) { if (hot) c.hot_fast++; else c.cold_fast++; }
        else if (s == slow_node) { if (hot) c.hot_slow++; else c.cold_slow++; }
        else if (s >= 0) { if (hot) c.hot_other++; else c.cold_other++; }
        else c.errors++;
    }
    return c;
}

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { (void)sig; got_usr1 = 1; }

#ifdef HOTPAGE_EMBED
static hotpage_t *hp;
static hotpage_record_t *rec_hot, *rec_cold; /* prepared records of the hot pages; sweep staging */
static unsigned long rec_cold_n, rec_cold_cap;
static unsigned long long rec_queued, rec_dropped, rec_rejected;

static void hp_die(const char *what, int rc)
{
    fprintf(stderr, "tiered-embed: %s: %s (%d): %s\n", what, hotpage_strerror(rc), rc, hotpage_last_error());
    exit(5);
}

static void hp_submit(const hotpage_record_t *r, unsigned long n)
{
    while (n > 0) {
        uint32_t k = n > 65536 ? 65536 : (uint32_t)n;
        hotpage_batch_result_t b;
        int rc = hotpage_record_batch_ex(hp, r, k, &b);
        if (rc < 0) hp_die("hotpage_record_batch_ex", rc);
        rec_queued += b.recorded; rec_dropped += b.dropped; rec_rejected += b.rejected;
        r += k; n -= k;
    }
}

/* "MemTotal:" or "MemFree:" of a node's sysfs meminfo, in kB; -1 if unreadable. */
static long node_meminfo_kb(int node, const char *key)
{
    char path[96], line[256];
    snprintf(path, sizeof path, "/sys/devices/system/node/node%d/meminfo", node);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        char *p = strstr(line, key);
        if (p && p[kl] == ':') { v = atol(p + kl + 1); break; }
    }
    fclose(f);
    return v;
}

/* A node's free pages as the allocator holds them, in kB: the buddy lists ("pages free", what
 * MemFree shows) plus the per-CPU lists ("count:" of each pageset), summed over the node's zones in
 * /proc/zoneinfo; -1 if unreadable. MemFree alone lags: a move takes its pages from the per-CPU lists
 * first, which are refilled from the buddy lists in batches, so MemFree can fall after a round by
 * more than what the round moved, or less. */
static long node_free_pcp_kb(int node)
{
    FILE *f = fopen("/proc/zoneinfo", "r");
    if (!f) return -1;
    char line[256];
    int cur = -1;
    long pages = 0;
    while (fgets(line, sizeof line, f)) {
        int n;
        long v;
        if (sscanf(line, "Node %d,", &n) == 1) cur = n;
        else if (cur == node && (sscanf(line, " pages free %ld", &v) == 1 || sscanf(line, " count: %ld", &v) == 1))
            pages += v;
    }
    fclose(f);
    return pages * (long)(PAGE / 1024);
}

static const char *const counter_names[] = {
    "pghot_recorded_accesses", "pghot_records_applied", "pghot_ring_dropped", "pghot_rejected",
    "pghot_candidates", "pgpromote_candidate", "pgpromote_success", "pgpromote_fail_nomem",
    "pgpromote_fail_busy", "pgpromote_fail_notmoved", "pgpromote_fail_other", "kpromoted_dropped",
    "kpromoted_cold_old", "pgpromote_watermark_rounds", "pgpromote_ratelimited_rounds",
    "pgpromote_demoted_seen", "pgpromote_rounds", "pgpromote_errors", "hot_threshold"};

static void print_counters(void)
{
    printf("counters");
    for (size_t i = 0; i < sizeof counter_names / sizeof counter_names[0]; i++) {
        uint64_t v;
        int rc = hotpage_counter(hp, counter_names[i], &v);
        if (rc < 0) hp_die(counter_names[i], rc);
        printf(" %s=%llu", counter_names[i], (unsigned long long)v);
    }
    printf("\n");
}
#endif

int main(int argc, char **argv)
{
    double total_mib = 64, hot_mib = 8, hot_frac = -1, seconds = 30, sweep_mibps = 0;
    long report_ms = 250, tlb_flush_ms = 0;
    int strided = 0, wait_signal = 0, quiet = 0, stop_at_hot95 = 0;
    const char *ranges_file = NULL;
    fast_node = 0; slow_node = 1;
#ifdef HOTPAGE_EMBED
    long round_ms = 100, record_ms = 10, headroom_pct = -1;
    const char *hp_config = NULL;
#endif

    static const struct option opts[] = {
        {"total-mib", required_argument, 0, 't'}, {"hot-mib", required_argument, 0, 'h'},
        {"hot-frac", required_argument, 0, 'f'},  {"layout", required_argument, 0, 'l'},
        {"seconds", required_argument, 0, 's'},   {"sweep-mibps", required_argument, 0, 'w'},
        {"report-ms", required_argument, 0, 'r'}, {"slow-node", required_argument, 0, 'S'},
        {"fast-node", required_argument, 0, 'F'}, {"wait-signal", no_argument, 0, 'W'},
        {"ranges", required_argument, 0, 'R'},    {"quiet", no_argument, 0, 'q'},
        {"stop-at-hot95", no_argument, 0, 'x'},   {"tlb-flush-ms", required_argument, 0, 'T'},
#ifdef HOTPAGE_EMBED
        {"round-ms", required_argument, 0, 'u'},    {"record-ms", required_argument, 0, 'e'},
        {"hotpage-config", required_argument, 0, 'c'}, {"headroom-pct", required_argument, 0, 'H'},
#endif
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': total_mib = atof(optarg); break;
        case 'h': hot_mib = atof(optarg); hot_frac = -1; break;
        case 'f': hot_frac = atof(optarg); break;
        case 'l':
            if (strcmp(optarg, "strided") == 0) strided = 1;
            else if (strcmp(optarg, "contiguous") == 0) strided = 0;
            else { fprintf(stderr, "tiered: unknown layout '%s'\n", optarg); return 2; }
            break;
        case 's': seconds = atof(optarg); break;
        case 'w': sweep_mibps = atof(optarg); break;
        case 'r': report_ms = atol(optarg); break;
        case 'S': slow_node = atoi(optarg); break;
        case 'F': fast_node = atoi(optarg); break;
        case 'W': wait_signal = 1; break;
        case 'R': ranges_file = optarg; break;
        case 'q': quiet = 1; break;
        case 'x': stop_at_hot95 = 1; break;
        case 'T': tlb_flush_ms = atol(optarg); break;
#ifdef HOTPAGE_EMBED
        case 'u': round_ms = atol(optarg); break;
        case 'e': record_ms = atol(optarg); break;
        case 'c': hp_config = optarg; break;
        case 'H': headroom_pct = atol(optarg); break;
#endif
        default: return 2;
        }
    }
    npages = (unsigned long)(total_mib * 1024 * 1024 / PAGE);
    nhot = hot_frac >= 0 ? (unsigned long)(hot_frac * npages) : (unsigned long)(hot_mib * 1024 * 1024 / PAGE);
    if (npages == 0 || nhot == 0 || nhot > npages || seconds <= 0 || report_ms <= 0 ||
        slow_node < 0 || slow_node >= 64 || fast_node < 0) {
        fprintf(stderr, "tiered: bad sizes (total %lu pages, hot %lu pages)\n", npages, nhot);
        return 2;
    }
#ifdef HOTPAGE_EMBED
    if (round_ms <= 0 || record_ms < 0 || headroom_pct > 90) {
        fprintf(stderr, "tiered-embed: --round-ms must be > 0, --record-ms >= 0, --headroom-pct 0..90\n");
        return 2;
    }
#endif
    ncold = npages - nhot;

    size_t len = npages * PAGE;
    base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) die("mmap");
    if (madvise(base, len, MADV_NOHUGEPAGE) != 0) die("madvise(MADV_NOHUGEPAGE)");

    is_hot = calloc(npages, 1);
    pages = calloc(npages, sizeof(void *));
    status = calloc(npages, sizeof(int));
    unsigned long *hot_idx = calloc(nhot, sizeof(unsigned long));
    unsigned long *cold_idx = calloc(ncold ? ncold : 1, sizeof(unsigned long));
    if (!is_hot || !pages || !status || !hot_idx || !cold_idx) die("calloc");

    if (strided) {
        /* nhot pages spread evenly: page i is hot when it starts a new 1/nhot share. */
        for (unsigned long k = 0; k < nhot; k++) is_hot[(unsigned long)((double)k * npages / nhot)] = 1;
    } else {
        unsigned long first = (npages - nhot) / 2;
        memset(is_hot + first, 1, nhot);
    }
    unsigned long h = 0, cidx = 0;
    for (unsigned long i = 0; i < npages; i++) {
        pages[i] = base + i * PAGE;
        if (is_hot[i]) hot_idx[h++] = i; else cold_idx[cidx++] = i;
    }

    /* Place: bind to the slow node while first touching, then drop the policy. */
    unsigned long mask[1] = {1UL << slow_node};
    if (sys_mbind(base, len, MPOL_BIND, mask, 64, 0) != 0) die("mbind(MPOL_BIND)");
    for (unsigned long i = 0; i < npages; i++) base[i * PAGE] = (unsigned char)i;
    if (sys_mbind(base, len, MPOL_DEFAULT, NULL, 0, 0) != 0) die("mbind(MPOL_DEFAULT)");

    struct counts q = query();
    printf("placed pid=%d pages=%lu hot=%lu cold=%lu layout=%s on_slow=%lu on_fast=%lu other=%lu errors=%lu\n",
           getpid(), npages, nhot, ncold, strided ? "strided" : "contiguous", q.hot_slow + q.cold_slow,
           q.hot_fast + q.cold_fast, q.hot_other + q.cold_other, q.errors);
    unsigned long on_slow = q.hot_slow + q.cold_slow + (slow_node == fast_node ? q.hot_fast + q.cold_fast : 0);
    if (on_slow != npages) {
        printf("error: initial placement on node %d failed\n", slow_node);
        fflush(stdout);
        return 3;
    }

    if (ranges_file) {
        FILE *f = fopen(ranges_file, "w");
        if (!f) die("fopen(ranges)");
        /* Runs of consecutive pages of the same kind. */
        unsigned long i = 0;
        while (i < npages) {
            unsigned long j = i;
            while (j < npages && is_hot[j] == is_hot[i]) j++;
            fprintf(f, "%s %lx %lx\n", is_hot[i] ? "hot" : "cold",
                    (unsigned long)(uintptr_t)(base + i * PAGE), (unsigned long)(uintptr_t)(base + j * PAGE));
            i = j;
        }
        fclose(f);
    }

#ifdef HOTPAGE_EMBED
    /* Embed HotPage: open, set the watermark, register the working set, prepare the records. */
    long reserve_kb = -1;
    {
        uint64_t t_open = now_ms();
        int rc = hotpage_open(hp_config, &hp);
        if (rc < 0) hp_die("hotpage_open", rc);
        if (headroom_pct >= 0) {
            rc = hotpage_set_tunable(hp, "promote_headroom_pct", headroom_pct);
            if (rc < 0) hp_die("hotpage_set_tunable(promote_headroom_pct)", rc);
            long total_kb = node_meminfo_kb(fast_node, "MemTotal");
            if (total_kb < 0) die("read node meminfo");
            reserve_kb = total_kb * headroom_pct / 100;
        }
        uint64_t t_reg = now_ms();
        rc = hotpage_register_region(hp, base, len);
        if (rc < 0) hp_die("hotpage_register_region", rc);
        uint64_t t_done = now_ms();
        rec_hot = calloc(nhot, sizeof *rec_hot);
        rec_cold_cap = ncold ? ncold : 1;
        rec_cold = calloc(rec_cold_cap, sizeof *rec_cold);
        if (!rec_hot || !rec_cold) die("calloc");
        for (unsigned long k = 0; k < nhot; k++) {
            rec_hot[k].addr = (uint64_t)(uintptr_t)(base + hot_idx[k] * PAGE);
            rec_hot[k].nid = HOTPAGE_NUMA_NO_NODE;
            rec_hot[k].source = HOTPAGE_SOURCE_APPLICATION;
            rec_hot[k].time_ms = 0; /* now, by the engine's clock */
        }
        printf("hotpage open_ms=%lu register_ms=%lu round_ms=%ld record_ms=%ld headroom_pct=%ld reserve_kb=%ld\n",
               (unsigned long)(t_reg - t_open), (unsigned long)(t_done - t_reg), round_ms, record_ms, headroom_pct,
               reserve_kb);
        fflush(stdout);
    }
    unsigned long rounds = 0;
    long hot95_rounds = -1, free_min_kb = -1, free_pcp_min_kb = -1;
    unsigned long long promoted_sum = 0;
#endif

    if (wait_signal) {
        sigset_t set, old;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        sigaction(SIGUSR1, &sa, NULL);
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        sigprocmask(SIG_BLOCK, &set, &old);
        printf("ready pid=%d\n", getpid());
        fflush(stdout);
        while (!got_usr1) sigsuspend(&old);
        sigprocmask(SIG_SETMASK, &old, NULL);
    }

    printf("start pid=%d seconds=%g sweep_mibps=%g report_ms=%ld tlb_flush_ms=%ld\n", getpid(), seconds, sweep_mibps,
           report_ms, tlb_flush_ms);
    fflush(stdout);

    uint64_t t0 = now_ms(), next_report = t0, end = t0 + (uint64_t)(seconds * 1000), next_flush = t0;
#ifdef HOTPAGE_EMBED
    uint64_t next_run = t0 + (uint64_t)round_ms, next_record = t0;
#endif
    unsigned long flushes = 0;
    long hot95_ms = -1, cold_max = 0;
    unsigned long swept = 0, passes = 0;
    unsigned long long sink = 0;
    double sweep_pages_per_ms = sweep_mibps * 1024.0 * 1024.0 / PAGE / 1000.0;
    struct counts last;
    memset(&last, 0xff, sizeof last);
    for (;;) {
        uint64_t now = now_ms();
        if (now >= next_report || now >= end) {
            struct counts r = query();
            long t = (long)(now - t0);
            if (hot95_ms < 0 && r.hot_fast * 100 >= nhot * 95) {
                hot95_ms = t;
#ifdef HOTPAGE_EMBED
                hot95_rounds = (long)rounds;
#endif
            }
            if ((long)r.cold_fast > cold_max) cold_max = (long)r.cold_fast;
            if (!quiet || r.hot_fast != last.hot_fast || r.cold_fast != last.cold_fast || now >= end)
                printf("placement t_ms=%ld hot_on_node%d=%lu/%lu cold_on_node%d=%lu/%lu swept=%lu\n", t, fast_node,
                       r.hot_fast, nhot, fast_node, r.cold_fast, ncold, swept);
            fflush(stdout);
            last = r;
            if (now >= end || (stop_at_hot95 && hot95_ms >= 0)) { q = r; break; }
            next_report += (uint64_t)report_ms;
            if (next_report <= now) next_report = now + 1;
        }
        if (tlb_flush_ms > 0 && now >= next_flush) {
            if (mprotect(base, len, PROT_READ) != 0 || mprotect(base, len, PROT_READ | PROT_WRITE) != 0)
                die("mprotect (tlb flush)");
            flushes++;
            next_flush = now + (uint64_t)tlb_flush_ms;
        }
        /* One pass over the hot pages: a read and a write of each. */
        for (unsigned long k = 0; k < nhot; k++) {
            volatile unsigned char *p = base + hot_idx[k] * PAGE + ((k * 64) & (PAGE - 1));
            *p = (unsigned char)(*p + 1);
        }
        passes++;
#ifdef HOTPAGE_EMBED
        if (record_ms == 0 || now >= next_record) { /* this pass is reported: every hot page once */
            hp_submit(rec_hot, nhot);
            next_record = now + (uint64_t)record_ms;
        }
        rec_cold_n = 0;
#endif
        /* The slow sweep: read the next cold pages up to the target for the elapsed time. */
        if (sweep_pages_per_ms > 0 && swept < ncold) {
            unsigned long target = (unsigned long)(sweep_pages_per_ms * (double)(now_ms() - t0));
            if (target > ncold) target = ncold;
            while (swept < target) {
#ifdef HOTPAGE_EMBED
                hotpage_record_t *cr = &rec_cold[rec_cold_n++]; /* every cold read is reported */
                cr->addr = (uint64_t)(uintptr_t)(base + cold_idx[swept] * PAGE);
                cr->nid = HOTPAGE_NUMA_NO_NODE;
                cr->source = HOTPAGE_SOURCE_APPLICATION;
                cr->time_ms = 0;
#endif
                sink += *(volatile unsigned char *)(base + cold_idx[swept++] * PAGE);
            }
        }
#ifdef HOTPAGE_EMBED
        if (rec_cold_n > 0) hp_submit(rec_cold, rec_cold_n);
        if (now_ms() >= next_run) {
            hotpage_result_t res;
            int rc = hotpage_run_once(hp, &res);
            if (rc < 0) hp_die("hotpage_run_once", rc);
            rounds++;
            promoted_sum += res.promoted;
            if (reserve_kb >= 0 && res.promoted > 0) { /* the watermark, as the workload sees it */
                long free_kb = node_meminfo_kb(fast_node, "MemFree");
                if (free_kb >= 0 && (free_min_kb < 0 || free_kb < free_min_kb)) free_min_kb = free_kb;
                long free_pcp = node_free_pcp_kb(fast_node);
                if (free_pcp >= 0 && (free_pcp_min_kb < 0 || free_pcp < free_pcp_min_kb)) free_pcp_min_kb = free_pcp;
            }
            next_run += (uint64_t)round_ms;
            if (next_run <= now_ms()) next_run = now_ms() + 1;
        }
#endif
    }
    uint64_t run_ms = now_ms() - t0;
    printf("summary hot_pages=%lu cold_pages=%lu hot95_ms=%ld hot_final=%lu cold_moved_final=%lu "
           "cold_moved_max=%ld swept=%lu hot_passes=%lu tlb_flushes=%lu run_ms=%lu errors=%lu sink=%llu\n",
           nhot, ncold, hot95_ms, q.hot_fast, q.cold_fast, cold_max, swept, passes, flushes, (unsigned long)run_ms,
           q.errors, sink & 1);
#ifdef HOTPAGE_EMBED
    printf("embed rounds=%lu hot95_rounds=%ld records=%llu record_dropped=%llu record_rejected=%llu promoted=%llu "
           "free_min_kb=%ld free_pcp_min_kb=%ld reserve_kb=%ld\n",
           rounds, hot95_rounds, rec_queued, rec_dropped, rec_rejected, promoted_sum, free_min_kb, free_pcp_min_kb,
           reserve_kb);
    print_counters();
    hotpage_close(hp);
#endif
    fflush(stdout);
    return 0;
}
