// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd_stress.c - a seeded, bounded concurrent stress run of iommufd
 * against the mock IOMMU (CONFIG_IOMMUFD_TEST).
 *
 * Each scenario below is one TAP result. It runs in a child process of its
 * own, where several threads (and, for some scenarios, processes) issue
 * random operations on shared and separate /dev/iommu files at the same
 * IDs and the same IOVA ranges, so that every ioctl races the others. Every
 * result is checked against the errnos the uAPI documents for that call in
 * that situation; anything else is printed with the seed, the thread, the
 * operation's number and its arguments, and fails the scenario. When the
 * threads are done the scenario checks that nothing stayed behind: no page
 * of its buffers keeps a pin (the mock counts them), and VmPin and VmLck
 * are back where they started. Kernel splats and leaks are the VM's to
 * find: the suite fails on any splat in the kernel log, and /init runs a
 * kmemleak scan at the end.
 *
 * Reproducible: every thread draws from its own PRNG, seeded from the run's
 * seed, the scenario and the thread. The interleaving is the machine's,
 * but the operations each thread tries are the seed's.
 *
 * Environment:
 *   IOMMUFD_STRESS_SEED      the seed (default: from the clock; printed)
 *   IOMMUFD_STRESS_SECONDS   the whole run's time budget (default 27),
 *                            shared equally by the scenarios
 *   IOMMUFD_STRESS_OPS       at most this many operations per thread
 *                            (default 1000000)
 *   IOMMUFD_STRESS_INJECT    0: no fault injection (default 1)
 *   IOMMUFD_STRESS_ONLY      run only these scenarios (names, commas
 *                            between them)
 *
 * Where the kernel has fail-nth and failslab (CONFIG_FAULT_INJECTION),
 * one operation in sixteen of the IOAS and access scenarios runs with an
 * allocation failure armed at a random depth; ENOMEM (or EFAULT, which is
 * what iommufd's own injection point in pinning fails with) is then an
 * accepted result, and the end-of-scenario checks still must hold.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "iommufd_test_util.h"

/* The IOVA window the threads fight over: slots of SLOT_PAGES pages */
#define NSLOTS		32
#define SLOT_PAGES	8
#define BUF_PAGES	(NSLOTS * SLOT_PAGES)
#define WINDOW		MOCK_APERTURE_START
/* A second window, for copies and kernel-chosen IOVAs to land near */
#define WINDOW2		(MOCK_APERTURE_START + 0x10000000UL)
#define MAX_THREADS	6
#define NOBODY		65534
/* RLIMIT_MEMLOCK of the unprivileged scenarios, in pages */
#define MEMLOCK_PAGES	24

#define DEBUGFS		"/sys/kernel/debug"

/* Two whole chunks of the kernel's PFN store (512 PFNs each) */
#define FRAG_CHUNK	(512 * page_size)
#define FRAG_PAGES	1024
#define KEPT_A		WINDOW
#define KEPT_B		(WINDOW + 0x1000000UL)

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

typedef unsigned long long u64;

/* Run-wide settings, from the environment */
static u64 seed;
static double seconds_each;
static unsigned long max_ops;
static bool inject;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* splitmix64: seeds the per-thread xorshift generators */
static u64 mix(u64 x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* A scenario's shared state; each scenario uses what it needs */
struct scen {
	const char *name;
	int index;
	double deadline;
	atomic_int failures;
	atomic_bool stop;
	int fd;			/* the shared /dev/iommu file */
	__u32 ioas[2];
	char *buf;		/* BUF_PAGES of shared anonymous memory */
	int memfd;		/* BUF_PAGES of memfd, for MAP_FILE */
	char *mbuf;		/* the memfd, mapped: for the pin checks */
	size_t len;		/* bytes of buf and of the memfd */
	/* attach: devices and the IDs to destroy */
	atomic_ullong dev[3];	/* stdev << 32 | idev, or 0 */
	atomic_uint pool[16];
	/* access */
	int access_fd[2];
	/* dirty and fault */
	__u32 stdev, idev, hwpt, parent, nested, fault_id;
	int fault_fd;
	atomic_long enomem;	/* memlock: how often the limit was hit */
	/* kept: FRAG_PAGES of scattered memory, chunk aligned */
	char *frag;
};

struct worker {
	struct scen *s;
	int tid;
	u64 rng;
	unsigned long ops;
	int nth_fd;		/* this thread's fail-nth, or -1 */
	bool armed;
	__u32 items[8];		/* access pins held */
	int nitems;
	void *private;		/* fork: memory of this process only */
};

static u64 rnd(struct worker *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

static unsigned int below(struct worker *w, unsigned int n)
{
	return rnd(w) % n;
}

static void worker_init(struct worker *w, struct scen *s, int tid)
{
	void *private = w->private;
	char path[64];

	memset(w, 0, sizeof(*w));
	w->private = private;
	w->s = s;
	w->tid = tid;
	w->rng = mix(seed ^ mix(s->index * 1000 + tid)) | 1;
	w->nth_fd = -1;
	if (!inject)
		return;
	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	w->nth_fd = open(path, O_RDWR | O_CLOEXEC);
}

static bool running(struct worker *w)
{
	struct scen *s = w->s;

	if (atomic_load(&s->stop) || w->ops >= max_ops || now() >= s->deadline)
		return false;
	w->ops++;
	return true;
}

/* The errnos a call may fail with: ERRS(ENOENT, EBUSY); ERRS(0): none */
#define ERRS(...) ((const int[]){ __VA_ARGS__, 0 })

static bool allowed(int err, const int *list)
{
	for (; *list; list++)
		if (*list == err)
			return true;
	return false;
}

static void fail(struct worker *w, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("# FAIL %s: seed=%#llx thread=%d op=%lu: %s\n", w->s->name,
	       seed, w->tid, w->ops, msg);
	if (atomic_fetch_add(&w->s->failures, 1) > 20)
		atomic_store(&w->s->stop, true);
}

/*
 * Fault injection: arm_fault() before an ioctl makes a random one of its
 * next allocations fail; disarm() says whether it did.
 */
static void arm_fault(struct worker *w)
{
	char val[16];
	int n;

	if (w->nth_fd < 0 || below(w, 16))
		return;
	n = snprintf(val, sizeof(val), "%u", 1 + below(w, 24));
	w->armed = pwrite(w->nth_fd, val, n, 0) == n;
}

static bool disarm(struct worker *w)
{
	char val[16] = "";
	bool fired;

	if (!w->armed)
		return false;
	w->armed = false;
	fired = pread(w->nth_fd, val, sizeof(val) - 1, 0) > 0 &&
		atoi(val) == 0;
	if (pwrite(w->nth_fd, "0", 1, 0) != 1)
		fired = true;
	return fired;
}

/*
 * Judge one result: 0, an errno of @ok, or ENOMEM when an injected
 * failure fired. Returns @rc.
 */
static int judge(struct worker *w, int rc, const int *ok, const char *fmt,
		 ...)
{
	bool fired = disarm(w);
	char what[160];
	va_list ap;

	/* An injected failure: ENOMEM, or EFAULT from fail_iommufd's pin */
	if (!rc || allowed(-rc, ok) ||
	    (fired && (rc == -ENOMEM || rc == -EFAULT)))
		return rc;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fail(w, "%s: %s%s", what, strerror(-rc),
	     fired ? " (allocation failure injected)" : "");
	return rc;
}

/* A random slot's IOVA and a length of 1 to 2 slots, in bytes */
static __u64 slot_iova(struct worker *w, unsigned int *slot)
{
	*slot = below(w, NSLOTS);
	return WINDOW + (__u64)*slot * SLOT_PAGES * page_size;
}

static __u64 rand_len(struct worker *w, unsigned int slot)
{
	unsigned int max = (NSLOTS - slot) * SLOT_PAGES;
	unsigned int pages = 1 + below(w, 2 * SLOT_PAGES);

	return (__u64)(pages < max ? pages : max) * page_size;
}

/* Memory of the buffer that backs a slot, for maps at that slot */
static char *slot_buf(struct scen *s, unsigned int slot)
{
	return s->buf + (size_t)slot * SLOT_PAGES * page_size;
}

/*
 * The IOAS operations every scenario mixes in: map, map at a
 * kernel-chosen IOVA, map_file, copy, unmap, unmap-all, the IOVA ranges.
 */
static void ioas_op(struct worker *w, __u32 ioas, __u32 other)
{
	struct scen *s = w->s;
	__u32 rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	struct iommu_iova_range ranges[4];
	unsigned int slot, op = below(w, 16);
	__u64 iova = slot_iova(w, &slot), len = rand_len(w, slot), dst;
	__u32 num = 4, flags = IOMMU_IOAS_MAP_FIXED_IOVA |
			       (below(w, 4) ? rw : IOMMU_IOAS_MAP_READABLE);

	arm_fault(w);
	if (op < 5) {
		judge(w, ioas_map_flags(s->fd, ioas, slot_buf(s, slot), len,
					&iova, flags),
		      ERRS(EEXIST, ENOENT), "map ioas=%u iova=%#llx len=%#llx",
		      ioas, iova, len);
	} else if (op < 7) {
		judge(w, ioas_map_file(s->fd, ioas, s->memfd,
				       (__u64)slot * SLOT_PAGES * page_size,
				       len, &iova, flags),
		      ERRS(EEXIST, ENOENT),
		      "map_file ioas=%u iova=%#llx len=%#llx", ioas, iova, len);
	} else if (op < 8) {
		/* Kernel's choice: somewhere in the window above, probably */
		iova = WINDOW2;
		if (!judge(w, ioas_map_flags(s->fd, ioas, slot_buf(s, slot),
					     len, &iova, rw),
			   ERRS(ENOSPC, ENOENT), "map-any ioas=%u len=%#llx",
			   ioas, len))
			judge(w, ioas_unmap(s->fd, ioas, iova, len, NULL),
			      ERRS(ENOENT), "unmap own iova=%#llx", iova);
	} else if (op < 10) {
		dst = WINDOW + (__u64)below(w, NSLOTS) * SLOT_PAGES * page_size;
		if (below(w, 2))
			dst += WINDOW2 - WINDOW;
		judge(w, ioas_copy(s->fd, below(w, 2) ? other : ioas, ioas,
				   iova, len, &dst,
				   IOMMU_IOAS_MAP_FIXED_IOVA | rw),
		      ERRS(ENOENT, EEXIST, EPERM),
		      "copy src=%#llx dst=%#llx len=%#llx", iova, dst, len);
	} else if (op < 15) {
		judge(w, ioas_unmap(s->fd, below(w, 2) ? ioas : other, iova,
				    len, NULL),
		      ERRS(ENOENT), "unmap iova=%#llx len=%#llx", iova, len);
	} else if (below(w, 8)) {
		judge(w, ioas_ranges(s->fd, ioas, ranges, &num, NULL),
		      ERRS(EMSGSIZE, ENOENT), "iova_ranges ioas=%u", ioas);
	} else {
		judge(w, ioas_unmap_all(s->fd, below(w, 2) ? ioas : other,
					NULL),
		      ERRS(ENOENT), "unmap-all");
	}
	disarm(w);
}

/* Threads of a scenario, all running @fn */
static void run_threads(struct scen *s, int n, void *(*fn)(void *))
{
	struct worker w[MAX_THREADS];
	pthread_t t[MAX_THREADS];
	int i;

	for (i = 0; i < n; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].s = s;
		w[i].tid = i;
		if (pthread_create(&t[i], NULL, fn, &w[i])) {
			printf("# %s: pthread_create failed\n", s->name);
			atomic_fetch_add(&s->failures, 1);
			atomic_store(&s->stop, true);
			n = i;
			break;
		}
	}
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

/* Each thread function starts with this: its PRNG and fail-nth */
static struct worker *start(void *arg)
{
	struct worker *w = arg;

	worker_init(w, w->s, w->tid);
	return w;
}

static void stop(struct worker *w)
{
	if (w->nth_fd >= 0)
		close(w->nth_fd);
}

/* A step of a scenario's own setup or teardown that must succeed */
static bool must(struct scen *s, int rc, const char *what)
{
	if (!rc)
		return true;
	printf("# FAIL %s: seed=%#llx setup: %s: %s\n", s->name, seed, what,
	       strerror(rc < 0 ? -rc : rc));
	atomic_fetch_add(&s->failures, 1);
	return false;
}

/* The memory every scenario maps: anonymous and memfd, BUF_PAGES each */
static bool buffers(struct scen *s)
{
	s->len = BUF_PAGES * page_size;
	s->buf = alloc_shared(s->len, page_size);
	s->memfd = memfd_create("stress", MFD_CLOEXEC);
	if (s->buf == MAP_FAILED || s->memfd < 0 ||
	    ftruncate(s->memfd, s->len))
		return must(s, -errno, "buffers");
	s->mbuf = mmap(NULL, s->len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       s->memfd, 0);
	if (s->mbuf == MAP_FAILED)
		return must(s, -errno, "mmap memfd");
	memset(s->buf, 0x5a, s->len);
	memset(s->mbuf, 0xa5, s->len);
	return true;
}

/*
 * The end of every scenario: with everything closed, no page of the
 * buffers may keep a pin, and the pinned-memory counters of this process
 * must be back at @pin0 and @lck0.
 */
static void leftovers(struct scen *s, long pin0, long lck0)
{
	int fd = iommufd_open();

	if (!must(s, fd < 0 ? fd : 0, "open for the checks"))
		return;
	must(s, mock_check_pins(fd, s->buf, s->len, 0),
	     "pins left on the anonymous buffer");
	must(s, mock_check_pins(fd, s->mbuf, s->len, 0),
	     "pins left on the memfd");
	if (s->frag)
		must(s, mock_check_pins(fd, s->frag, FRAG_PAGES * page_size, 0),
		     "pins left on the scattered memory");
	close(fd);
	if (proc_status_kib("VmPin") != pin0 || proc_status_kib("VmLck") != lck0)
		must(s, -EUCLEAN, "VmPin or VmLck not back to its start");
}

/* --- map, unmap, copy and map_file racing on one IOAS ------------------- */

static void *ioas_thread(void *arg)
{
	struct worker *w = start(arg);

	while (running(w))
		ioas_op(w, w->s->ioas[0], w->s->ioas[below(w, 2)]);
	stop(w);
	return NULL;
}

static void sc_ioas(struct scen *s)
{
	if (!must(s, ioas_alloc(s->fd, &s->ioas[0]), "ioas") ||
	    !must(s, ioas_alloc(s->fd, &s->ioas[1]), "ioas") ||
	    !must(s, mock_domain(s->fd, s->ioas[0], NULL, NULL, NULL), "dev") ||
	    !must(s, mock_domain_flags(s->fd, s->ioas[0],
				       MOCK_FLAGS_DEVICE_HUGE_IOVA, NULL,
				       NULL, NULL), "dev") ||
	    !must(s, mock_domain(s->fd, s->ioas[1], NULL, NULL, NULL), "dev"))
		return;
	run_threads(s, 4, ioas_thread);
}

/* --- attach, replace and detach racing IOMMU_DESTROY of the same IDs ---- */

static void pool_add(struct scen *s, struct worker *w, __u32 id)
{
	atomic_store(&s->pool[below(w, 16)], id);
}

/* A new device on @target, as s->dev[@i] unless a device is there */
static void dev_bind(struct worker *w, unsigned int i, __u32 target,
		     __u32 flags)
{
	struct scen *s = w->s;
	__u32 stdev, hwpt, idev;
	u64 dev;

	/*
	 * EADDRINUSE: while an IOAS has no device, ioas_op()'s map-any may
	 * place an area below the mock's aperture for a moment, and a domain
	 * cannot be attached to the IOAS until it is unmapped again.
	 */
	if (judge(w, mock_domain_flags(s->fd, target, flags, &stdev, &hwpt,
				       &idev),
		  ERRS(ENOENT, EINVAL, EADDRINUSE), "mock_domain pt=%u",
		  target))
		return;
	pool_add(s, w, hwpt);
	dev = (u64)stdev << 32 | idev;
	if (!atomic_compare_exchange_strong(&s->dev[i], &(u64){ 0 }, dev))
		judge(w, obj_destroy(s->fd, stdev), ERRS(ENOENT, EBUSY),
		      "unbind new stdev=%u", stdev);
}

/* Detach: unbind device s->dev[@i], if there is one */
static void dev_unbind(struct worker *w, unsigned int i)
{
	u64 dev = atomic_exchange(&w->s->dev[i], 0);

	/* EBUSY while another thread's ioctl holds the device */
	if (dev)
		judge(w, obj_destroy(w->s->fd, dev >> 32), ERRS(ENOENT, EBUSY),
		      "unbind stdev=%u", (__u32)(dev >> 32));
}

/* Move device @stdev (if not 0) to @target */
static void dev_replace(struct worker *w, __u32 stdev, __u32 target)
{
	__u32 hwpt;

	if (stdev && !judge(w, mock_replace(w->s->fd, stdev, target, &hwpt),
			    ERRS(ENOENT, EINVAL, EADDRINUSE),
			    "replace stdev=%u pt=%u", stdev, target))
		pool_add(w->s, w, hwpt);
}

/* Destroy whatever a random entry of the pool names */
static void pool_destroy(struct worker *w)
{
	__u32 id = atomic_load(&w->s->pool[below(w, 16)]);

	if (id)
		judge(w, obj_destroy(w->s->fd, id), ERRS(ENOENT, EBUSY),
		      "destroy id=%u", id);
}

/* Device @i of a scenario's set-up, on @pt_id */
static bool dev_setup(struct scen *s, unsigned int i, __u32 pt_id)
{
	__u32 stdev, idev;

	if (!must(s, mock_domain(s->fd, pt_id, &stdev, NULL, &idev), "dev"))
		return false;
	s->dev[i] = (u64)stdev << 32 | idev;
	return true;
}

static void attach_op(struct worker *w)
{
	struct scen *s = w->s;
	unsigned int i = below(w, 3), op = below(w, 12);
	__u32 stdev, idev, hwpt, target;
	u64 dev = atomic_load(&s->dev[i]);

	stdev = dev >> 32;
	idev = (__u32)dev;
	target = below(w, 3) ? s->ioas[below(w, 2)] :
			       atomic_load(&s->pool[below(w, 16)]);
	if (op < 2) {
		/* A new device, on an IOAS or on whatever the pool names */
		dev_bind(w, i, target,
			 below(w, 2) ? MOCK_FLAGS_DEVICE_NO_DIRTY : 0);
	} else if (op < 4) {
		dev_unbind(w, i);
	} else if (op < 7) {
		dev_replace(w, stdev, target);
	} else if (op < 8) {
		static const __u32 flags[] = {
			0, IOMMU_HWPT_ALLOC_NEST_PARENT,
			IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
		};

		if (idev && !judge(w, hwpt_alloc(s->fd, idev, target,
						 flags[below(w, 3)], &hwpt),
				   ERRS(ENOENT, EINVAL, EOPNOTSUPP, EADDRINUSE),
				   "hwpt_alloc dev=%u pt=%u", idev, target))
			pool_add(s, w, hwpt);
	} else if (op < 9) {
		/* A nested HWPT on whatever the pool names */
		target = atomic_load(&s->pool[below(w, 16)]);
		if (idev && !judge(w, hwpt_alloc_mock_nested(s->fd, idev,
							     target, 0, 0,
							     IOMMU_TEST_IOTLB_DEFAULT,
							     &hwpt),
				   ERRS(ENOENT, EINVAL, EOPNOTSUPP),
				   "nested dev=%u parent=%u", idev, target))
			pool_add(s, w, hwpt);
	} else if (op < 11) {
		pool_destroy(w);
	} else {
		ioas_op(w, s->ioas[below(w, 2)], s->ioas[below(w, 2)]);
	}
}

static void *attach_thread(void *arg)
{
	struct worker *w = start(arg);

	while (running(w))
		attach_op(w);
	stop(w);
	return NULL;
}

static void sc_attach(struct scen *s)
{
	int i;

	if (!must(s, ioas_alloc(s->fd, &s->ioas[0]), "ioas") ||
	    !must(s, ioas_alloc(s->fd, &s->ioas[1]), "ioas"))
		return;
	for (i = 0; i < 3; i++)
		if (!dev_setup(s, i, s->ioas[i % 2]))
			return;
	run_threads(s, 4, attach_thread);
}

/* --- access pin and rw racing unmap --------------------------------------- */

/*
 * The access scenario maps every IOVA of the window to the same place in
 * the buffer, so that a pin can be checked against the memory it must
 * return (the mock fails a pin of other pages with EBADE).
 */
static void access_op(struct worker *w)
{
	struct scen *s = w->s;
	unsigned int slot, op = below(w, 12);
	__u64 iova = slot_iova(w, &slot), len = rand_len(w, slot);
	int afd = s->access_fd[below(w, 2)];
	char tmp[2 * SLOT_PAGES * 64];
	__u32 item = 0;

	if (op < 3) {
		arm_fault(w);
		judge(w, ioas_map_at(s->fd, s->ioas[below(w, 2)],
				     slot_buf(s, slot), len, iova),
		      ERRS(EEXIST), "map iova=%#llx len=%#llx", iova, len);
	} else if (op < 5) {
		judge(w, ioas_unmap(s->fd, s->ioas[below(w, 2)], iova, len,
				    NULL),
		      ERRS(ENOENT), "unmap iova=%#llx len=%#llx", iova, len);
	} else if (op < 6) {
		judge(w, ioas_unmap_all(s->fd, s->ioas[below(w, 2)], NULL),
		      ERRS(0), "unmap-all");
	} else if (op < 8) {
		/* Only the first access pins (NEEDS_PIN_PAGES) */
		if (w->nitems == 8)
			return;
		arm_fault(w);
		if (!judge(w, mock_access_pin(s->fd, s->access_fd[0], iova, len,
					      slot_buf(s, slot),
					      below(w, 2) ?
					      MOCK_FLAGS_ACCESS_WRITE : 0,
					      &item),
			   ERRS(ENOENT, EPERM, EBUSY),
			   "access pin iova=%#llx len=%#llx",
			   iova, len))
			w->items[w->nitems++] = item;
	} else if (op < 9) {
		if (!w->nitems)
			return;
		/* The unmap may have taken it already: ENOENT */
		item = w->items[--w->nitems];
		judge(w, mock_access_unpin(s->fd, s->access_fd[0], item),
		      ERRS(ENOENT), "access unpin item=%u", item);
	} else if (op < 11) {
		len = 1 + below(w, sizeof(tmp));
		iova += below(w, page_size);
		arm_fault(w);
		judge(w, mock_access_rw(s->fd, afd, iova, tmp, len,
					(below(w, 2) ? MOCK_ACCESS_RW_WRITE : 0) |
					(below(w, 2) ?
					 MOCK_ACCESS_RW_SLOW_PATH : 0)),
		      ERRS(ENOENT, EPERM), "access rw iova=%#llx len=%#llx",
		      iova, len);
	} else {
		judge(w, mock_access_replace_ioas(s->fd, afd,
						  s->ioas[below(w, 2)]),
		      ERRS(0), "access replace");
	}
}

static void *access_thread(void *arg)
{
	struct worker *w = start(arg);

	while (running(w))
		access_op(w);
	stop(w);
	return NULL;
}

static void sc_access(struct scen *s)
{
	if (!must(s, ioas_alloc(s->fd, &s->ioas[0]), "ioas") ||
	    !must(s, ioas_alloc(s->fd, &s->ioas[1]), "ioas") ||
	    !must(s, mock_domain(s->fd, s->ioas[0], NULL, NULL, NULL), "dev") ||
	    !must(s, mock_access_create(s->fd, s->ioas[0],
					MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
					&s->access_fd[0]), "access") ||
	    !must(s, mock_access_create(s->fd, s->ioas[1], 0,
					&s->access_fd[1]), "access"))
		return;
	run_threads(s, 4, access_thread);
	close(s->access_fd[0]);
	close(s->access_fd[1]);
}

/* --- dirty tracking toggled and read while mapping ---------------------- */

static void dirty_op(struct worker *w)
{
	struct scen *s = w->s;
	unsigned int slot, op = below(w, 10);
	__u64 iova = slot_iova(w, &slot), len = rand_len(w, slot);
	__u64 bitmap[BUF_PAGES / 64 + 1];

	if (op < 4) {
		ioas_op(w, s->ioas[0], s->ioas[0]);
	} else if (op < 5) {
		judge(w, hwpt_set_dirty(s->fd, s->hwpt, below(w, 2)),
		      ERRS(0), "set_dirty hwpt=%u", s->hwpt);
	} else if (op < 8) {
		/* EINVAL for a range that is not wholly mapped */
		memset(bitmap, 0, sizeof(bitmap));
		judge(w, hwpt_get_dirty(s->fd, s->hwpt, iova, len, page_size,
					bitmap,
					below(w, 2) ?
					IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR :
					0),
		      ERRS(EINVAL), "get_dirty iova=%#llx len=%#llx", iova, len);
	} else {
		/* EINVAL while tracking is off: the mock records nothing */
		memset(bitmap, 0xff, sizeof(bitmap));
		judge(w, mock_dirty_mark(s->fd, s->hwpt, iova, len, page_size,
					 bitmap, NULL),
		      ERRS(EINVAL), "mark dirty iova=%#llx len=%#llx", iova, len);
	}
}

static void *dirty_thread(void *arg)
{
	struct worker *w = start(arg);

	while (running(w))
		dirty_op(w);
	stop(w);
	return NULL;
}

/* An IOAS, and a mock device on a HWPT of it that can track dirty IOVA */
static bool dirty_setup(struct scen *s)
{
	return must(s, ioas_alloc(s->fd, &s->ioas[0]), "ioas") &&
	       must(s, mock_domain(s->fd, s->ioas[0], &s->stdev, NULL,
				   &s->idev), "dev") &&
	       must(s, hwpt_alloc(s->fd, s->idev, s->ioas[0],
				  IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &s->hwpt),
		    "dirty hwpt") &&
	       must(s, mock_replace(s->fd, s->stdev, s->hwpt, NULL), "attach");
}

static void sc_dirty(struct scen *s)
{
	if (dirty_setup(s))
		run_threads(s, 4, dirty_thread);
}

/*
 * --- the device writing while its IOVA is unmapped -----------------------
 * Pairs of threads: one maps a slot (now and then with an allocation
 * failure armed, so that the map is rolled back) and unmaps it again, the
 * other plays the device and writes to the slot all the while. A write
 * must set the dirty bit of a live IOPTE only: one landing on an IOPTE as
 * it is cleared would leave a dead one behind. The mapping thread alone
 * maps and unmaps its slot, so it knows what the mock must show: every
 * IOPTE written to while mapped, none left once unmapped. It looks one
 * time in eight, to keep its unmaps frequent.
 */
static void *dirty_mark_thread(void *arg)
{
	struct worker *w = start(arg);
	struct scen *s = w->s;
	/* Four slots a pair: more IOPTEs for each write and unmap to race */
	unsigned int slot = w->tid / 2 * 4;
	__u64 iova = WINDOW + (__u64)slot * SLOT_PAGES * page_size;
	__u64 len = 4 * SLOT_PAGES * page_size, bitmap = ~0ULL, nr;
	bool look;
	__u32 empty;

	while (running(w)) {
		if (w->tid % 2) {
			judge(w, mock_dirty_mark(s->fd, s->hwpt, iova, len,
						 page_size, &bitmap, NULL),
			      ERRS(0), "mark dirty iova=%#llx", iova);
			continue;
		}
		arm_fault(w);
		if (judge(w, ioas_map_at(s->fd, s->ioas[0], slot_buf(s, slot),
					 len, iova),
			  ERRS(0), "map iova=%#llx", iova))
			continue;
		look = !below(w, 8);
		if (look &&
		    !judge(w, mock_dirty_mark(s->fd, s->hwpt, iova, len,
					      page_size, &bitmap, &nr),
			   ERRS(0), "own mark iova=%#llx", iova) &&
		    nr != len / mock_io_page)
			fail(w, "own mark: %llu of %llu IOPTEs", nr,
			     len / mock_io_page);
		if (judge(w, ioas_unmap(s->fd, s->ioas[0], iova, len, NULL),
			  ERRS(0), "unmap iova=%#llx", iova)) {
			atomic_store(&s->stop, true);
			break;
		}
		if (look &&
		    !judge(w, mock_count_ioptes(s->fd, s->hwpt, iova, len,
						NULL, NULL, &empty),
			   ERRS(0), "count iova=%#llx", iova) &&
		    empty != len / mock_io_page)
			fail(w, "unmapped: %u of %llu IOPTEs empty", empty,
			     len / mock_io_page);
	}
	stop(w);
	return NULL;
}

static void sc_dirty_mark(struct scen *s)
{
	if (dirty_setup(s) &&
	    must(s, hwpt_set_dirty(s->fd, s->hwpt, true), "tracking on"))
		run_threads(s, 4, dirty_mark_thread);
}

/* --- fault queues read and answered while detaching --------------------- */

static void fault_op(struct worker *w)
{
	struct scen *s = w->s;
	struct iommu_hwpt_page_response resp[4];
	struct iommu_hwpt_pgfault rec[8];
	unsigned int op = below(w, 10);
	ssize_t n;
	int i;

	if (op < 3) {
		/* EINVAL while the device is not on the fault-capable HWPT */
		judge(w, mock_trigger_iopf(s->fd, s->idev, 0, below(w, 512),
					   IOMMU_PGFAULT_PERM_READ,
					   WINDOW + below(w, BUF_PAGES) *
					   page_size),
		      ERRS(EINVAL), "trigger iopf");
	} else if (op < 6) {
		n = read(s->fault_fd, rec, sizeof(rec));
		if (n < 0) {
			judge(w, -errno, ERRS(0), "read faults");
			return;
		}
		for (i = 0; i < (int)(n / sizeof(rec[0])) && i < 4; i++) {
			resp[i].cookie = rec[i].cookie;
			resp[i].code = below(w, 2);
		}
		/* A group the detach answered already: EINVAL */
		if (i && write(s->fault_fd, resp, i * sizeof(resp[0])) < 0)
			judge(w, -errno, ERRS(EINVAL), "answer faults");
	} else if (op < 7) {
		resp[0].cookie = below(w, 64);
		resp[0].code = below(w, 2);
		if (write(s->fault_fd, resp, sizeof(resp[0])) < 0)
			judge(w, -errno, ERRS(EINVAL), "answer random cookie");
	} else if (op < 9) {
		/* Detach from the fault-capable HWPT, and back */
		judge(w, mock_replace(s->fd, s->stdev,
				      below(w, 2) ? s->nested : s->parent,
				      NULL),
		      ERRS(0), "replace");
	} else {
		ioas_op(w, s->ioas[0], s->ioas[0]);
	}
}

static void *fault_thread(void *arg)
{
	struct worker *w = start(arg);

	while (running(w))
		fault_op(w);
	stop(w);
	return NULL;
}

static void sc_fault(struct scen *s)
{
	if (!must(s, ioas_alloc(s->fd, &s->ioas[0]), "ioas") ||
	    !must(s, mock_domain(s->fd, s->ioas[0], &s->stdev, NULL,
				 &s->idev), "dev") ||
	    !must(s, hwpt_alloc(s->fd, s->idev, s->ioas[0],
				IOMMU_HWPT_ALLOC_NEST_PARENT, &s->parent),
		  "parent") ||
	    !must(s, fault_queue_new(s->fd, &s->fault_id, &s->fault_fd),
		  "fault queue") ||
	    !must(s, hwpt_alloc_mock_nested(s->fd, s->idev, s->parent,
					    IOMMU_HWPT_FAULT_ID_VALID,
					    s->fault_id,
					    IOMMU_TEST_IOTLB_DEFAULT,
					    &s->nested), "nested") ||
	    !must(s, mock_replace(s->fd, s->stdev, s->nested, NULL), "attach"))
		return;
	run_threads(s, 4, fault_thread);
	close(s->fault_fd);
}

/* --- close while other threads are inside ioctls ------------------------ */

static void *close_thread(void *arg)
{
	struct worker *w = start(arg);
	struct scen *s = w->s;
	char tmp[256];
	int rc;

	/* Until the descriptor is gone: EBADF from then on, and only that */
	while (running(w)) {
		switch (below(w, 4)) {
		case 0:
			rc = ioas_map_at(s->fd, s->ioas[0], s->buf, s->len,
					 WINDOW);
			break;
		case 1:
			rc = ioas_unmap_all(s->fd, s->ioas[0], NULL);
			break;
		case 2:
			rc = mock_access_rw(s->fd, s->access_fd[0], WINDOW,
					    tmp, sizeof(tmp), 0);
			break;
		default:
			rc = mock_domain(s->fd, s->ioas[0], NULL, NULL, NULL);
			break;
		}
		/*
		 * Closed: EBADF, or ENOTTY once another thread's open() (of
		 * its fail-nth file) took the number over. Either ends it.
		 */
		if (rc == -EBADF || rc == -ENOTTY)
			break;
		/* EBADFD: the access's descriptor was closed first */
		judge(w, rc, ERRS(EEXIST, ENOENT, EBADFD),
		      "ioctl beside close");
	}
	stop(w);
	return NULL;
}

static void sc_close(struct scen *s)
{
	struct worker w;

	worker_init(&w, s, MAX_THREADS);
	while (running(&w)) {
		if (s->fd < 0)
			s->fd = iommufd_open();
		if (!must(s, s->fd < 0 ? s->fd : 0, "open") ||
		    !must(s, ioas_alloc(s->fd, &s->ioas[0]), "ioas") ||
		    !must(s, mock_domain(s->fd, s->ioas[0], NULL, NULL, NULL),
			  "dev") ||
		    !must(s, mock_access_create(s->fd, s->ioas[0], 0,
						&s->access_fd[0]), "access"))
			return;
		{
			struct worker ws[3];
			pthread_t t[3];
			int i, fd = s->fd;

			for (i = 0; i < 3; i++) {
				ws[i].s = s;
				ws[i].tid = i;
				pthread_create(&t[i], NULL, close_thread, &ws[i]);
			}
			usleep(below(&w, 3000));
			/* The access fd first, sometimes: it holds the ctx */
			if (below(&w, 2))
				close(s->access_fd[0]);
			close(fd);
			for (i = 0; i < 3; i++)
				pthread_join(t[i], NULL);
			close(s->access_fd[0]);
			s->fd = -1;
		}
	}
}

/* --- fork with open files --------------------------------------------------- */

static void *fork_thread(void *arg)
{
	struct worker *w = start(arg);
	struct scen *s = w->s;

	while (running(w)) {
		if (w->private && below(w, 4) == 0) {
			unsigned int slot;
			__u64 iova = slot_iova(w, &slot);

			judge(w, ioas_map_at(s->fd, s->ioas[0], w->private,
					     SLOT_PAGES * page_size, iova),
			      ERRS(EEXIST), "map private iova=%#llx", iova);
		} else {
			ioas_op(w, s->ioas[0], s->ioas[1]);
		}
	}
	stop(w);
	return NULL;
}

/*
 * A child of the fork scenario: works on the inherited file and on one of
 * its own, with memory of its own as well as the shared buffer, and
 * exits with whatever it mapped still mapped.
 */
static void *fork_private_thread(void *arg);

static int fork_child(struct scen *shared, int n)
{
	static struct scen local;
	struct scen *s = &local;
	struct worker w[2];
	pthread_t t[2];
	int i;

	/* Its own copy: the shared one is the parent's */
	memcpy(s, shared, sizeof(*s));
	if (n % 2) {
		s->fd = iommufd_open();
		if (!must(s, s->fd < 0 ? s->fd : 0, "child open") ||
		    !must(s, ioas_alloc(s->fd, &s->ioas[0]), "ioas") ||
		    !must(s, ioas_alloc(s->fd, &s->ioas[1]), "ioas") ||
		    !must(s, mock_domain(s->fd, s->ioas[0], NULL, NULL, NULL),
			  "dev"))
			return 1;
	}
	for (i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].s = s;
		w[i].tid = 10 * (n + 1) + i;
		pthread_create(&t[i], NULL, fork_private_thread, &w[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	return atomic_load(&s->failures) ? 1 : 0;
}

static void *fork_private_thread(void *arg)
{
	struct worker *w = arg;

	w->private = mmap(NULL, SLOT_PAGES * page_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->private == MAP_FAILED)
		w->private = NULL;
	else
		memset(w->private, w->tid, SLOT_PAGES * page_size);
	return fork_thread(w);
}

static void sc_fork(struct scen *s)
{
	pid_t pids[4];
	int i, status;

	if (!must(s, ioas_alloc(s->fd, &s->ioas[0]), "ioas") ||
	    !must(s, ioas_alloc(s->fd, &s->ioas[1]), "ioas") ||
	    !must(s, mock_domain(s->fd, s->ioas[0], NULL, NULL, NULL), "dev") ||
	    !must(s, mock_domain(s->fd, s->ioas[1], NULL, NULL, NULL), "dev"))
		return;
	for (i = 0; i < 4; i++) {
		pids[i] = fork();
		if (!pids[i])
			_exit(fork_child(s, i));
	}
	run_threads(s, 2, fork_private_thread);
	for (i = 0; i < 4; i++) {
		if (pids[i] < 0 || waitpid(pids[i], &status, 0) != pids[i] ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			must(s, -ECHILD, "a child failed");
	}
}

/* --- RLIMIT_MEMLOCK exhausted by an unprivileged user --------------------- */

static void *memlock_thread(void *arg)
{
	struct worker *w = start(arg);
	struct scen *s = w->s;
	__u32 rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	unsigned int slot;
	__u64 iova, len;
	__u32 item = 0;
	int rc;

	while (running(w)) {
		iova = slot_iova(w, &slot);
		len = rand_len(w, slot);
		switch (below(w, 6)) {
		case 0:
		case 1:
			rc = judge(w, ioas_map_at(s->fd, s->ioas[0],
						  slot_buf(s, slot), len, iova),
				   ERRS(EEXIST, ENOMEM), "map iova=%#llx len=%#llx",
				   iova, len);
			break;
		case 2:
			rc = judge(w, ioas_map_file(s->fd, s->ioas[0], s->memfd,
						    iova - WINDOW, len, &iova,
						    IOMMU_IOAS_MAP_FIXED_IOVA |
						    rw),
				   ERRS(EEXIST, ENOMEM),
				   "map_file iova=%#llx len=%#llx", iova, len);
			break;
		case 3:
			/* The access's IOAS has no domain: pins at first use */
			rc = judge(w, ioas_map_at(s->fd, s->ioas[1],
						  slot_buf(s, slot), len, iova),
				   ERRS(EEXIST), "map lazy iova=%#llx", iova);
			if (!rc)
				rc = judge(w, mock_access_pin(s->fd,
							      s->access_fd[0],
							      iova, len,
							      slot_buf(s, slot),
							      0, &item),
					   ERRS(ENOENT, ENOMEM, EBUSY),
					   "access pin iova=%#llx len=%#llx",
					   iova, len);
			break;
		default:
			rc = judge(w, ioas_unmap(s->fd, s->ioas[below(w, 2)],
						 iova, len, NULL),
				   ERRS(ENOENT), "unmap iova=%#llx len=%#llx",
				   iova, len);
			break;
		}
		if (rc == -ENOMEM)
			atomic_fetch_add(&s->enomem, 1);
	}
	stop(w);
	return NULL;
}

/*
 * As nobody, with RLIMIT_MEMLOCK of MEMLOCK_PAGES and no capability: map
 * until the limit, in the accounting @mode, two processes at once (the
 * per-user mode charges the one user both run as).
 */
static int memlock_child(struct scen *shared, __u64 mode)
{
	static struct scen local;
	struct scen *s = &local;
	struct rlimit lim = {
		.rlim_cur = MEMLOCK_PAGES * page_size,
		.rlim_max = MEMLOCK_PAGES * page_size,
	};
	long pin0, lck0;

	memcpy(s, shared, sizeof(*s));
	s->fd = iommufd_open();
	if (!must(s, s->fd < 0 ? s->fd : 0, "open") ||
	    !must(s, option_set(s->fd, IOMMU_OPTION_RLIMIT_MODE, 0, mode),
		  "rlimit mode") ||
	    !must(s, setrlimit(RLIMIT_MEMLOCK, &lim) ? -errno : 0,
		  "setrlimit") ||
	    !must(s, setresgid(NOBODY, NOBODY, NOBODY) ? -errno : 0,
		  "setresgid") ||
	    !must(s, setresuid(NOBODY, NOBODY, NOBODY) ? -errno : 0,
		  "setresuid") ||
	    !must(s, ioas_alloc(s->fd, &s->ioas[0]), "ioas") ||
	    !must(s, ioas_alloc(s->fd, &s->ioas[1]), "ioas") ||
	    !must(s, mock_domain(s->fd, s->ioas[0], NULL, NULL, NULL), "dev") ||
	    !must(s, mock_access_create(s->fd, s->ioas[1],
					MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
					&s->access_fd[0]), "access"))
		return 1;
	pin0 = proc_status_kib("VmPin");
	lck0 = proc_status_kib("VmLck");
	run_threads(s, 3, memlock_thread);
	if (!atomic_load(&s->enomem))
		must(s, -ENODATA, "RLIMIT_MEMLOCK was never reached");
	close(s->access_fd[0]);
	must(s, close(s->fd) ? -errno : 0, "close");
	s->fd = -1;
	if (proc_status_kib("VmPin") != pin0 || proc_status_kib("VmLck") != lck0)
		must(s, -EUCLEAN, "VmPin or VmLck not back to its start");
	return atomic_load(&s->failures) ? 1 : 0;
}

/*
 * After the children: a fresh nobody process pins exactly the limit, and
 * not a page more, so nothing is still charged to the user.
 */
static int memlock_final(struct scen *s, __u64 mode)
{
	struct rlimit lim = {
		.rlim_cur = MEMLOCK_PAGES * page_size,
		.rlim_max = MEMLOCK_PAGES * page_size,
	};
	__u32 ioas;
	int fd = iommufd_open();

	if (!must(s, fd < 0 ? fd : 0, "open") ||
	    !must(s, option_set(fd, IOMMU_OPTION_RLIMIT_MODE, 0, mode),
		  "mode") ||
	    !must(s, setrlimit(RLIMIT_MEMLOCK, &lim) ? -errno : 0, "limit") ||
	    !must(s, setresgid(NOBODY, NOBODY, NOBODY) ? -errno : 0, "gid") ||
	    !must(s, setresuid(NOBODY, NOBODY, NOBODY) ? -errno : 0, "uid") ||
	    !must(s, ioas_alloc(fd, &ioas), "ioas") ||
	    !must(s, mock_domain(fd, ioas, NULL, NULL, NULL), "dev") ||
	    !must(s, ioas_map_at(fd, ioas, s->buf, MEMLOCK_PAGES * page_size,
				 WINDOW), "the whole limit, after the run"))
		return 1;
	if (ioas_map_at(fd, ioas, s->buf + MEMLOCK_PAGES * page_size,
			page_size, WINDOW2) != -ENOMEM)
		must(s, -EUCLEAN, "a page over the limit was not ENOMEM");
	close(fd);
	return atomic_load(&s->failures) ? 1 : 0;
}

static void sc_memlock(struct scen *s, __u64 mode)
{
	pid_t pids[3];
	int i, j, status;

	for (i = 0; i < 3; i++) {
		/* The last one after the two racing ones are gone */
		for (j = 0; i == 2 && j < 2; j++)
			if (pids[j] < 0 ||
			    waitpid(pids[j], &status, 0) != pids[j] ||
			    !WIFEXITED(status) || WEXITSTATUS(status))
				must(s, -ECHILD, "a child failed");
		pids[i] = fork();
		if (!pids[i])
			_exit(i == 2 ? memlock_final(s, mode) :
				       memlock_child(s, mode));
	}
	if (waitpid(pids[2], &status, 0) != pids[2] || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		must(s, -ECHILD, "the final check failed");
}

static void sc_memlock_user(struct scen *s)
{
	sc_memlock(s, 0);
}

static void sc_memlock_process(struct scen *s)
{
	sc_memlock(s, 1);
}

/* --- the run ----------------------------------------------------------------- */

/* --- PFNs kept by a domain, taken back and unmapped, racing -------------- */

/*
 * Scattered memory whose PFNs IOAS 0's first domain keeps: its maps and
 * unmaps, copies into IOAS 1 (no domain but what a replace brings) that
 * share the pages, access pins through both IOASes (the mock checks each
 * page against the user address, so a PFN read back wrong is EBADE), and
 * devices replaced onto new HWPTs, unbound and bound again, which moves
 * the keeper or takes the last domain away while the others pin and copy.
 */
static void kept_op(struct worker *w)
{
	struct scen *s = w->s;
	unsigned int i = below(w, 2), op = below(w, 14);
	size_t len = FRAG_PAGES * page_size;
	__u64 off = (__u64)below(w, FRAG_PAGES - 4) * page_size;
	u64 dev = atomic_load(&s->dev[i]);
	__u32 stdev = dev >> 32, idev = (__u32)dev, hwpt, target, item;
	__u32 rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	__u64 iova;

	target = below(w, 2) ? s->ioas[0] : atomic_load(&s->pool[below(w, 16)]);
	if (op < 2) {
		arm_fault(w);
		judge(w, ioas_map_at(s->fd, s->ioas[0], s->frag, len, KEPT_A),
		      ERRS(EEXIST), "map kept");
	} else if (op < 3) {
		judge(w, ioas_unmap(s->fd, s->ioas[0], KEPT_A, len, NULL),
		      ERRS(ENOENT), "unmap kept");
	} else if (op < 4) {
		iova = KEPT_B;
		arm_fault(w);
		judge(w, ioas_copy(s->fd, s->ioas[1], s->ioas[0], KEPT_A, len,
				   &iova, IOMMU_IOAS_MAP_FIXED_IOVA | rw),
		      ERRS(ENOENT, EEXIST), "copy kept");
	} else if (op < 5) {
		judge(w, ioas_unmap(s->fd, s->ioas[1], KEPT_B, len, NULL),
		      ERRS(ENOENT), "unmap copy");
	} else if (op < 7) {
		if (w->nitems == 8)
			return;
		iova = (i ? KEPT_A : KEPT_B) + off;
		arm_fault(w);
		if (!judge(w, mock_access_pin(s->fd, s->access_fd[i], iova,
					      (1 + below(w, 4)) * page_size,
					      s->frag + off, 0, &item),
			   ERRS(ENOENT, EPERM, EBUSY),
			   "access pin ioas=%u off=%#llx", i ? 0 : 1, off))
			w->items[w->nitems++] = item << 1 | i;
	} else if (op < 8) {
		if (!w->nitems)
			return;
		item = w->items[--w->nitems];
		judge(w, mock_access_unpin(s->fd, s->access_fd[item & 1],
					   item >> 1),
		      ERRS(ENOENT), "access unpin item=%u", item >> 1);
	} else if (op < 9) {
		if (idev && !judge(w, hwpt_alloc(s->fd, idev, s->ioas[0], 0,
						 &hwpt),
				   ERRS(ENOENT, EINVAL, EADDRINUSE),
				   "hwpt_alloc dev=%u", idev))
			pool_add(s, w, hwpt);
	} else if (op < 11) {
		dev_replace(w, stdev, target);
	} else if (op < 12) {
		pool_destroy(w);
	} else if (op < 13) {
		dev_unbind(w, i);
	} else if (!dev) {
		dev_bind(w, i, s->ioas[0], 0);
	}
}

static void *kept_thread(void *arg)
{
	struct worker *w = start(arg);

	while (running(w))
		kept_op(w);
	stop(w);
	return NULL;
}

static void sc_kept(struct scen *s)
{
	char *frag;
	int i;

	frag = alloc_fragmented(FRAG_PAGES * page_size, FRAG_CHUNK);
	if (!must(s, frag == MAP_FAILED ? -errno : 0, "scattered memory"))
		return;
	s->frag = frag;
	if (!must(s, ioas_alloc(s->fd, &s->ioas[0]), "ioas") ||
	    !must(s, ioas_alloc(s->fd, &s->ioas[1]), "ioas") ||
	    !must(s, mock_access_create(s->fd, s->ioas[1],
					MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
					&s->access_fd[0]), "access") ||
	    !must(s, mock_access_create(s->fd, s->ioas[0],
					MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
					&s->access_fd[1]), "access"))
		return;
	for (i = 0; i < 2; i++)
		if (!dev_setup(s, i, s->ioas[0]))
			return;
	run_threads(s, 4, kept_thread);
	close(s->access_fd[0]);
	close(s->access_fd[1]);
}

static const struct {
	const char *name;
	void (*run)(struct scen *s);
	bool own_fd;		/* the scenario opens its files itself */
} scenarios[] = {
	{ "ioas_map_unmap_copy_file", sc_ioas, false },
	{ "attach_replace_destroy", sc_attach, false },
	{ "access_pin_rw_unmap", sc_access, false },
	{ "dirty_toggle_read_map", sc_dirty, false },
	{ "fault_read_answer_detach", sc_fault, false },
	{ "close_inside_ioctls", sc_close, true },
	{ "fork_shared_and_separate", sc_fork, false },
	{ "memlock_nobody_per_user", sc_memlock_user, true },
	{ "memlock_nobody_per_process", sc_memlock_process, true },
	/* New scenarios last: the seeds of the others stay as they were */
	{ "dirty_mark_while_unmapping", sc_dirty_mark, false },
	{ "kept_pfns_take_back_unmap", sc_kept, false },
};

#define NSCEN ARRAY_SIZE(scenarios)

/* Is scenario @name one of IOMMUFD_STRESS_ONLY's (or is that unset)? */
static bool chosen(const char *only, const char *name)
{
	size_t len = strlen(name);
	const char *p;

	if (!only)
		return true;
	for (p = only; (p = strstr(p, name)); p += len)
		if ((p == only || p[-1] == ',') && (!p[len] || p[len] == ','))
			return true;
	return false;
}

/* One scenario, in this (child) process: 0 if it passed */
static int scenario(int i)
{
	struct scen *s;
	long pin0, lck0;

	/* Shared: the fork and memlock scenarios' children report here */
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		return 1;
	s->name = scenarios[i].name;
	s->index = i;
	s->fd = -1;
	s->fault_fd = -1;
	s->deadline = now() + seconds_each;
	if (!buffers(s))
		return 1;
	pin0 = proc_status_kib("VmPin");
	lck0 = proc_status_kib("VmLck");
	if (!scenarios[i].own_fd) {
		s->fd = iommufd_open();
		if (!must(s, s->fd < 0 ? s->fd : 0, "open"))
			return 1;
	}
	scenarios[i].run(s);
	if (s->fd >= 0)
		close(s->fd);
	leftovers(s, pin0, lck0);
	return atomic_load(&s->failures) ? 1 : 0;
}

/* Let fail-nth reach GFP_KERNEL allocations, quietly; false if absent */
static bool fault_injection_setup(void)
{
	static const char *const knobs[][2] = {
		{ DEBUGFS "/failslab/ignore-gfp-wait", "N" },
		{ DEBUGFS "/failslab/verbose", "0" },
		{ DEBUGFS "/fail_page_alloc/ignore-gfp-wait", "N" },
		{ DEBUGFS "/fail_page_alloc/verbose", "0" },
		{ DEBUGFS "/fail_iommufd/verbose", "0" },
	};
	unsigned int i;
	int fd;

	if (access("/proc/thread-self/fail-nth", W_OK))
		return false;
	for (i = 0; i < ARRAY_SIZE(knobs); i++) {
		fd = open(knobs[i][0], O_WRONLY);
		if (fd < 0) {
			if (i < 2)
				return false;
			continue;
		}
		if (write(fd, knobs[i][1], strlen(knobs[i][1])) < 0 && i < 2) {
			close(fd);
			return false;
		}
		close(fd);
	}
	return true;
}

static u64 env_u64(const char *name, u64 def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

int main(void)
{
	const char *only = getenv("IOMMUFD_STRESS_ONLY");
	unsigned int i, n = 0, failed = 0;
	int status, rc;
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	seed = env_u64("IOMMUFD_STRESS_SEED", (u64)time(NULL) ^
		       ((u64)getpid() << 32));
	max_ops = env_u64("IOMMUFD_STRESS_OPS", 1000000);
	for (i = 0; i < NSCEN; i++)
		n += chosen(only, scenarios[i].name);
	seconds_each = (double)env_u64("IOMMUFD_STRESS_SECONDS", 27) /
		       (n ? n : 1);
	inject = env_u64("IOMMUFD_STRESS_INJECT", 1) && fault_injection_setup();

	printf("TAP version 13\n");
	printf("# iommufd_stress: seed=%#llx (IOMMUFD_STRESS_SEED)\n", seed);
	printf("# %.1f s per scenario, at most %lu operations per thread, fault injection %s\n",
	       seconds_each, max_ops, inject ? "on" : "off");
	printf("1..%u\n", n);
	rc = mock_probe();
	n = 0;
	for (i = 0; i < NSCEN; i++) {
		if (!chosen(only, scenarios[i].name))
			continue;
		n++;
		if (rc) {
			/* The mock is built in: missing means broken */
			printf("not ok %u %s # mock driver: %s\n", n,
			       scenarios[i].name, strerror(-rc));
			failed++;
			continue;
		}
		fflush(stdout);
		pid = fork();
		if (!pid)
			_exit(scenario(i));
		if (pid < 0 || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status)) {
			if (pid > 0 && WIFSIGNALED(status))
				printf("# %s: killed by signal %d\n",
				       scenarios[i].name, WTERMSIG(status));
			printf("not ok %u %s # seed=%#llx\n", n,
			       scenarios[i].name, seed);
			failed++;
		} else {
			printf("ok %u %s\n", n, scenarios[i].name);
		}
	}
	printf("# %u failed, seed=%#llx\n", failed, seed);
	return failed ? 1 : 0;
}
