// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd_bench.c - timings of iommufd's hot paths, for `make bench`.
 *
 * Not a kselftest: scripts/bench.sh boots this one program on several
 * kernels built from the same tree and config (ours, the base tree's
 * upstream iommufd, VFIO's own type1 container) and compares what it
 * prints, one line per measurement:
 *
 *	BENCH <domain>.<case> <value> <unit>
 *	BENCH-SKIP <domain>.<case> <why>	cannot run here ("-" in the table)
 *	BENCH-FAIL <domain>.<case> <why>	should have run, and failed
 *	BENCH-NOTE <text>			context: THP coverage and so on
 *
 * A value is the median of the repetitions inside this boot; bench.sh takes
 * the median over boots. The domain is where the IOVAs are translated:
 *
 *	mock	the mock IOMMU of CONFIG_IOMMUFD_TEST, in a VM without a
 *		vIOMMU (upstream's mock refuses devices next to a real one)
 *	vtd	QEMU's emulated VT-d, through its edu PCI device: the device
 *		cdev bound to /dev/iommu (native cases), or its group in a
 *		/dev/vfio/vfio container (compat cases)
 *
 * No DMA is done: edu only gives us a real IOMMU domain to map into. Only
 * ioctls that every kernel under comparison implements are used: IOAS
 * map/unmap/copy/iova-ranges, HWPT alloc and dirty tracking (on the mock),
 * the VFIO type1 container, and IOMMU_TEST_CMD's mock device and access
 * operations, whose layout upstream shares with ours.
 *
 * Units: ms and us are lower-is-better times, ops/s, x (a speed-up) and
 * calls/ms (the rate at which one thread's calls completed during another
 * thread's map) are higher-is-better, KiB/GiB is kernel memory (slab plus
 * IOMMU page tables, /proc/meminfo's Slab and SecPageTables, plus ours'
 * PFN arrays, which are pages) per GiB mapped.
 *
 * Options come from the kernel command line, which the kernel hands to
 * /init as environment: iommufd_bench=WORD[,WORD...]
 *	quick	one repetition per case instead of BENCH_REPS
 *	repsN	N repetitions per case (1 to BENCH_REPS_MAX)
 *	compat	only the VFIO container cases: on the type1 kernel the
 *		native cases would measure our iommufd once more
 *	profile	instead of the cases: where the kernel spends the time of
 *		the 1 GiB maps and unmaps and of the small maps and unmaps
 *		(iommufd_prof.h), BENCH_REPS_MAX repetitions unless repsN
 *		says otherwise, and the latency cases
 *
 * A profile is printed as lines of
 *
 *	BENCH-PROF <domain>.<case> samples <n> lost <n>
 *	BENCH-PROF <domain>.<case> self|incl <percent of samples> <function>
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>

#include <linux/vfio.h>

#include "../kselftest.h"
#include "iommufd_edu.h"
#include "iommufd_prof.h"

#define SZ_4K		(4ULL * 1024)
#define SZ_2M		(2ULL * 1024 * 1024)
#define SZ_64M		(64ULL * 1024 * 1024)
#define SZ_512M		(512ULL * 1024 * 1024)
#define SZ_1G		(1024ULL * 1024 * 1024)

/*
 * IOVAs, inside the mock's aperture [16 MiB, 2 GiB) and clear of VT-d's
 * interrupt window: the big mappings at 1 GiB (1 GiB aligned, so a 1 GiB
 * page can be one IOPTE), the small region of the latency cases below.
 */
#define BIG_IOVA	SZ_1G
#define SMALL_IOVA	SZ_64M

/* Repetitions per boot of each case, and of the per-operation loops */
#define BENCH_REPS	3
#define BENCH_REPS_MAX	9
#define SMALL_MAPS	16384		/* 4 KiB maps, the DPDK/vIOMMU pattern */
#define ACCESS_OPS	512		/* access pins or copies per repetition */
#define CONC_PIECE	SZ_64M
#define CONC_MAX	4		/* threads */

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT	26
#endif
#define MAP_HUGE_2M	(21U << MAP_HUGE_SHIFT)
#define MAP_HUGE_1G	(30U << MAP_HUGE_SHIFT)

#define HUGE_1G_FREE \
	"/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages"

#define MAP_RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define IOAS_RW_FIXED	(IOMMU_IOAS_MAP_FIXED_IOVA | \
			 IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

/* The kinds of memory a mapping can be made of */
enum mem_kind {
	MEM_4K,		/* 4 KiB pages, THP off, faulted in beforehand */
	MEM_THP,	/* transparent huge pages */
	MEM_HUGE2M,	/* hugetlbfs, 2 MiB pages */
	MEM_HUGE1G,	/* hugetlbfs, 1 GiB pages */
	MEM_FRAG,	/* 4 KiB pages no two of which are contiguous */
	MEM_NR,
};

static const char * const mem_names[MEM_NR] = {
	[MEM_4K] = "4k",
	[MEM_THP] = "thp",
	[MEM_HUGE2M] = "huge2m",
	[MEM_HUGE1G] = "huge1g",
	[MEM_FRAG] = "frag",
};

/* A buffer of user memory, and the mmap() that holds it */
struct buf {
	char *va;		/* page aligned start */
	size_t len;		/* bytes usable at @va */
	void *map;		/* what to munmap() */
	size_t map_len;
};

/*
 * Where map and unmap calls go: an IOAS on a /dev/iommu context (native),
 * or a VFIO type1 container (compat), which is /dev/vfio/vfio on the vtd
 * domain and the /dev/iommu context itself on the mock.
 */
struct target {
	bool compat;
	int fd;			/* /dev/iommu, or the container */
	__u32 ioas;		/* native: the IOAS */
};

/*
 * A /dev/iommu context with one IOAS that a device is attached to, so that
 * the IOAS has a real (or mock) domain to keep in sync.
 */
struct ctx {
	int fd;
	__u32 ioas;
	__u32 hwpt;		/* the device's paging domain */
	__u32 idev;		/* the device, by its iommufd ID */
	__u32 stdev;		/* mock: the selftest object of the device */
	struct edu edu;		/* vtd: the edu device */
};

/* A VFIO container with the device's group in it (vtd), or its stand-in */
struct compat {
	struct ctx ctx;		/* mock: the context serving type1 */
	int container;		/* vtd: /dev/vfio/vfio */
	int group;		/* vtd: /dev/vfio/N */
	struct edu edu;		/* vtd: the device, opened through the group */
};

/*
 * A target and what holds it open. The map cases open a new one for every
 * repetition, so that each maps into a new, empty domain: a kernel that
 * keeps page tables after an unmap (or frees them) gets no head start (or
 * penalty) from the repetition before, and the first map of a VM or a
 * DPDK process is into a new domain too.
 */
struct session {
	unsigned long type;	/* 0: native; VFIO_TYPE1_IOMMU, ..._TYPE1v2 */
	struct ctx ctx;		/* native */
	struct compat cc;	/* compat */
	struct target t;
};

static const char *domain = "mock";	/* "mock" or "vtd" */
static bool use_vtd;
static char edu_bdf[32];
static int reps = BENCH_REPS;
static bool compat_only;
static bool profile;
static bool reps_given;
/* With "profile": what the maps and the unmaps of a case do in the kernel */
static struct prof prof_map = { .fd = -1 }, prof_unmap = { .fd = -1 };
static int failures;
/*
 * 1 GiB buffers kept from one case to the next: faulting in a GiB takes
 * seconds under TCG. Only 4 KiB pages (most cases map them) and hugetlb
 * pages (reserved for us anyway) are kept; THP and fragmented memory are
 * made again each time they are needed, and freed.
 */
static struct buf kept[MEM_NR];

static void out(const char *kind, const char *name, const char *fmt,
		va_list ap)
{
	printf("%s %s.%s ", kind, domain, name);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
}

static void __printf(2, 3)
bench_skip(const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	out("BENCH-SKIP", name, fmt, ap);
	va_end(ap);
}

static void __printf(3, 4)
bench_fail(const char *name, int rc, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	printf("BENCH-FAIL %s.%s %s: %s\n", domain, name, what,
	       strerror(-rc));
	fflush(stdout);
	failures++;
}

static void __printf(1, 2)
bench_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("BENCH-NOTE %s: ", domain);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	va_end(ap);
}

static void report(const char *name, double value, const char *unit)
{
	printf("BENCH %s.%s %.3f %s\n", domain, name, value, unit);
	fflush(stdout);
}

/* Microseconds on the monotonic clock */
static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of @n samples (sorts them) */
static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Kernel memory that mappings cost: slab, and IOMMU (secondary) tables */
static long kmem_kib(void)
{
	long sec = meminfo_kib("SecPageTables");

	return meminfo_kib("Slab") + (sec > 0 ? sec : 0);
}

/*
 * The kernel memory of ours' PFN arrays (fdinfo "pfn_arrays" of the
 * session's /dev/iommu or container, none on the other kernels) in session
 * @ss: where an array (512 longs) is a page, ours takes it from the page
 * allocator, and Slab does not count it.
 */
static long pfn_arrays_kib(struct session *ss)
{
	long n;

	if (page_size != 512 * sizeof(long))
		return 0;
	n = fdinfo_num(ss->t.fd, "pfn_arrays");
	return n > 0 ? n * (long)page_size / 1024 : 0;
}

/* Write one byte to every 4 KiB of [@va, @va + @len): fault it all in */
static void touch(char *va, size_t len)
{
	size_t off;

	for (off = 0; off < len; off += SZ_4K)
		va[off] = 1;
}

/*
 * Anonymous memory of @len bytes, not yet faulted in, aligned to @align
 * (a power of two; 0 when mmap()'s own alignment will do, as for hugetlb).
 */
static int buf_mmap(struct buf *b, size_t len, size_t align, int flags)
{
	uintptr_t start;

	b->map_len = len + align;
	b->map = mmap(NULL, b->map_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
	if (b->map == MAP_FAILED) {
		b->map = NULL;
		return -errno;
	}
	start = (uintptr_t)b->map;
	if (align)
		start = (start + align - 1) & ~(uintptr_t)(align - 1);
	b->va = (char *)start;
	b->len = len;
	return 0;
}

static void buf_free(struct buf *b)
{
	if (b->map)
		munmap(b->map, b->map_len);
	memset(b, 0, sizeof(*b));
}

/* alloc_fragmented()'s scattered 4 KiB pages, how scattered noted */
static int buf_frag(struct buf *b, size_t len)
{
	b->map = alloc_fragmented(len, page_size);
	if (b->map == MAP_FAILED) {
		b->map = NULL;
		return -errno;
	}
	b->va = b->map;
	b->len = len;
	b->map_len = len;
	bench_note("frag: %ld of %zu pages physically follow their predecessor",
		   pagemap_contiguous(b->va, len), len / (size_t)SZ_4K);
	return 0;
}

/* @len bytes of memory of @kind, faulted in; -errno if it cannot be had */
static int buf_alloc(struct buf *b, enum mem_kind kind, size_t len)
{
	long thp_before, thp_after;
	int rc;

	memset(b, 0, sizeof(*b));
	switch (kind) {
	case MEM_4K:
		rc = buf_mmap(b, len, 0, 0);
		if (!rc)
			madvise(b->va, len, MADV_NOHUGEPAGE);
		break;
	case MEM_THP:
		thp_before = meminfo_kib("AnonHugePages");
		rc = buf_mmap(b, len, SZ_2M, 0);
		if (rc)
			break;
		madvise(b->va, len, MADV_HUGEPAGE);
		touch(b->va, len);
		thp_after = meminfo_kib("AnonHugePages");
		bench_note("thp: %ld of %zu MiB in huge pages",
			   (thp_after - thp_before) >> 10, len >> 20);
		return 0;
	case MEM_HUGE2M:
		rc = buf_mmap(b, len, 0, MAP_HUGETLB | MAP_HUGE_2M);
		break;
	case MEM_HUGE1G:
		rc = buf_mmap(b, len, 0, MAP_HUGETLB | MAP_HUGE_1G);
		break;
	case MEM_FRAG:
		return buf_frag(b, len);
	default:
		return -EINVAL;
	}
	if (rc)
		return rc;
	touch(b->va, len);
	return 0;
}

/*
 * 1 GiB of memory of @kind, or NULL and *@rc. The 4 KiB pages are touched
 * one after the other, so many of them are physically contiguous: how many
 * is noted.
 */
static struct buf *get_buf(enum mem_kind kind, int *rc)
{
	struct buf *b = &kept[kind];

	if (b->va)
		return b;
	*rc = buf_alloc(b, kind, SZ_1G);
	if (*rc)
		return NULL;
	if (kind == MEM_4K)
		bench_note("4k: %ld of %zu pages physically follow their predecessor",
			   pagemap_contiguous(b->va, b->len),
			   b->len / (size_t)SZ_4K);
	return b;
}

/* Done with @b for now: freed, unless it is one of the kinds kept */
static void put_buf(enum mem_kind kind, struct buf *b)
{
	if (kind != MEM_4K && kind != MEM_HUGE2M && kind != MEM_HUGE1G)
		buf_free(b);
}

static struct buf *get_buf4k(void)
{
	int rc;

	return get_buf(MEM_4K, &rc);
}

/*
 * Open a context whose IOAS has a device attached: a mock device (on a
 * HWPT with dirty tracking on, if @dirty), or edu through its VFIO cdev.
 */
static int ctx_open(struct ctx *c, bool dirty)
{
	__u32 pt;
	int rc;

	memset(c, 0, sizeof(*c));
	c->edu.devfd = -1;
	c->fd = iommufd_open();
	if (c->fd < 0)
		return c->fd;
	rc = ioas_alloc(c->fd, &c->ioas);
	if (rc)
		goto err_close;
	if (use_vtd) {
		rc = edu_open(&c->edu, edu_bdf, c->fd);
		if (rc)
			goto err_close;
		c->idev = c->edu.dev_id;
		pt = c->ioas;
		rc = vfio_attach_pt(c->edu.devfd, &pt);
		if (rc)
			goto err_edu;
		c->hwpt = pt;
		return 0;
	}
	rc = mock_domain(c->fd, c->ioas, &c->stdev, &c->hwpt, &c->idev);
	if (rc)
		goto err_close;
	if (!dirty)
		return 0;
	/* Move the device to a HWPT that tracks dirty IOVAs */
	rc = hwpt_alloc(c->fd, c->idev, c->ioas,
			IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &pt);
	if (!rc)
		rc = mock_replace(c->fd, c->stdev, pt, NULL);
	if (!rc)
		rc = hwpt_set_dirty(c->fd, pt, true);
	if (rc)
		goto err_close;
	c->hwpt = pt;
	return 0;

err_edu:
	edu_close(&c->edu);
err_close:
	close(c->fd);
	c->fd = -1;
	return rc;
}

static void ctx_close(struct ctx *c)
{
	if (use_vtd)
		edu_close(&c->edu);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* A second paging domain for @c's device, on @ioas, with no attach */
static int ctx_other_domain(struct ctx *c, __u32 ioas, __u32 *hwpt)
{
	if (use_vtd)
		return hwpt_alloc(c->fd, c->idev, ioas, 0, hwpt);
	return mock_domain(c->fd, ioas, NULL, hwpt, NULL);
}

static int compat_ioas_set(int fd, __u32 ioas)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_VFIO_IOAS_SET,
		.ioas_id = ioas,
	};

	return ifd_ioctl(fd, IOMMU_VFIO_IOAS, &cmd);
}

static int compat_open(struct compat *cc, unsigned long type)
{
	int rc;

	memset(cc, 0, sizeof(*cc));
	cc->container = -1;
	cc->group = -1;
	cc->ctx.fd = -1;
	cc->edu.devfd = -1;
	if (!use_vtd) {
		/* The mock: the context is the container, its IOAS the compat one */
		rc = ctx_open(&cc->ctx, false);
		if (rc)
			return rc;
		rc = compat_ioas_set(cc->ctx.fd, cc->ctx.ioas);
		if (!rc && ioctl(cc->ctx.fd, VFIO_SET_IOMMU, type))
			rc = -errno;
		if (rc)
			ctx_close(&cc->ctx);
		return rc;
	}
	cc->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (cc->container < 0)
		return -errno;
	cc->group = vfio_group_open(edu_bdf, false);
	if (cc->group < 0) {
		rc = cc->group;
		goto err_container;
	}
	if (ioctl(cc->group, VFIO_GROUP_SET_CONTAINER, &cc->container) ||
	    ioctl(cc->container, VFIO_SET_IOMMU, type)) {
		rc = -errno;
		goto err_group;
	}
	/*
	 * And the device fd, as DPDK gets it: iommufd's container attaches
	 * the device to a domain only now (type1 did at VFIO_SET_IOMMU).
	 */
	rc = edu_open_group(&cc->edu, edu_bdf, cc->group);
	if (rc)
		goto err_group;
	return 0;

err_group:
	close(cc->group);
	cc->group = -1;
err_container:
	close(cc->container);
	cc->container = -1;
	return rc;
}

static void compat_close(struct compat *cc)
{
	edu_close(&cc->edu);
	if (cc->group >= 0)
		close(cc->group);
	if (cc->container >= 0)
		close(cc->container);
	if (cc->ctx.fd >= 0)
		ctx_close(&cc->ctx);
}

static struct target compat_target(struct compat *cc)
{
	struct target t = { .compat = true };

	t.fd = use_vtd ? cc->container : cc->ctx.fd;
	return t;
}

static struct target native_target(struct ctx *c)
{
	struct target t = { .fd = c->fd, .ioas = c->ioas };

	return t;
}

static int session_open(struct session *ss, unsigned long type)
{
	int rc;

	ss->type = type;
	if (!type) {
		rc = ctx_open(&ss->ctx, false);
		if (!rc)
			ss->t = native_target(&ss->ctx);
		return rc;
	}
	rc = compat_open(&ss->cc, type);
	if (!rc)
		ss->t = compat_target(&ss->cc);
	return rc;
}

static void session_close(struct session *ss)
{
	if (ss->type)
		compat_close(&ss->cc);
	else
		ctx_close(&ss->ctx);
}

static int t_map(struct target *t, void *va, __u64 iova, __u64 len)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = MAP_RW,
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = len,
	};

	if (!t->compat)
		return ioas_map_at(t->fd, t->ioas, va, len, iova);
	return ifd_ioctl(t->fd, VFIO_IOMMU_MAP_DMA, &map);
}

static int t_unmap(struct target *t, __u64 iova, __u64 len)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = len,
	};

	if (!t->compat)
		return ioas_unmap(t->fd, t->ioas, iova, len, NULL);
	return ifd_ioctl(t->fd, VFIO_IOMMU_UNMAP_DMA, &unmap);
}

/* With "profile": print the profiles of a case's maps and of its unmaps */
static void prof_report(const char *map_name, const char *unmap_name)
{
	char tag[128];

	if (!profile)
		return;
	snprintf(tag, sizeof(tag), "BENCH-PROF %s.%s", domain, map_name);
	prof_print(&prof_map, tag);
	snprintf(tag, sizeof(tag), "BENCH-PROF %s.%s", domain, unmap_name);
	prof_print(&prof_unmap, tag);
}

/*
 * One repetition of case_map_1g(): map and unmap @b in a new session of
 * @type; the times in us and the kernel memory in KiB the mapping held.
 */
static int map_1g_once(unsigned long type, struct buf *b, double *tmap,
		       double *tunmap, double *mem, const char **what)
{
	struct session ss;
	long before;
	double t0;
	int rc;

	*what = "open a session";
	rc = session_open(&ss, type);
	if (rc)
		return rc;
	before = kmem_kib();
	*what = "map 1 GiB";
	t0 = now_us();
	prof_on(&prof_map);
	rc = t_map(&ss.t, b->va, BIG_IOVA, SZ_1G);
	*tmap = now_us() - t0;
	prof_off(&prof_map);
	if (rc)
		goto out_close;
	*mem = kmem_kib() - before + pfn_arrays_kib(&ss);
	*what = "unmap 1 GiB";
	t0 = now_us();
	prof_on(&prof_unmap);
	rc = t_unmap(&ss.t, BIG_IOVA, SZ_1G);
	*tunmap = now_us() - t0;
	prof_off(&prof_unmap);
out_close:
	session_close(&ss);
	return rc;
}

/*
 * Map and unmap @b (1 GiB) in one call each, @reps times, each time in a
 * new session of @type; with @kmem, also report the kernel memory the
 * mapping holds. Names: <prefix>map1g.<kind>, <prefix>unmap1g.<kind>,
 * <prefix>kmem.<kind>.
 */
static void case_map_1g(unsigned long type, const char *prefix,
			struct buf *b, enum mem_kind kind, bool kmem)
{
	double tmap[BENCH_REPS_MAX], tunmap[BENCH_REPS_MAX], mem[BENCH_REPS_MAX];
	char name[64], uname[64], kname[64];
	const char *what;
	int i, rc;

	snprintf(name, sizeof(name), "%smap1g.%s", prefix, mem_names[kind]);
	snprintf(uname, sizeof(uname), "%sunmap1g.%s", prefix,
		 mem_names[kind]);
	prof_reset(&prof_map);
	prof_reset(&prof_unmap);
	for (i = 0; i < reps; i++) {
		rc = map_1g_once(type, b, &tmap[i], &tunmap[i], &mem[i], &what);
		if (rc) {
			bench_fail(name, rc, "%s", what);
			return;
		}
	}
	report(name, median(tmap, reps) / 1e3, "ms");
	report(uname, median(tunmap, reps) / 1e3, "ms");
	if (kmem) {
		snprintf(kname, sizeof(kname), "%skmem.%s", prefix,
			 mem_names[kind]);
		report(kname, median(mem, reps), "KiB/GiB");
	}
	prof_report(name, uname);
}

/* case_map_1g() for every kind of memory that @kinds has a bit for */
static void cases_map_1g(unsigned long type, const char *prefix,
			 unsigned int kinds, bool kmem)
{
	char name[64];
	struct buf *b;
	int kind, rc;

	for (kind = 0; kind < MEM_NR; kind++) {
		if (!(kinds & (1U << kind)))
			continue;
		b = get_buf(kind, &rc);
		snprintf(name, sizeof(name), "%smap1g.%s", prefix,
			 mem_names[kind]);
		if (!b && kind == MEM_4K)
			bench_fail(name, rc, "1 GiB of 4 KiB pages");
		else if (!b)
			bench_skip(name, "no 1 GiB of %s memory here (%s)",
				   mem_names[kind], strerror(-rc));
		if (!b)
			continue;
		case_map_1g(type, prefix, b, kind, kmem);
		put_buf(kind, b);
	}
}

/*
 * One repetition of case_small(), in a new session of @type: the maps and
 * the unmaps per second.
 */
static int small_once(unsigned long type, struct buf *b, double *rmap,
		      double *runmap, const char **what)
{
	struct session ss;
	double t0;
	int n, rc;

	*what = "open a session";
	rc = session_open(&ss, type);
	if (rc)
		return rc;
	*what = "map 4 KiB";
	t0 = now_us();
	prof_on(&prof_map);
	for (n = 0; n < SMALL_MAPS; n++) {
		rc = t_map(&ss.t, b->va + n * SZ_4K, BIG_IOVA + n * SZ_4K,
			   SZ_4K);
		if (rc)
			break;
	}
	*rmap = SMALL_MAPS / ((now_us() - t0) / 1e6);
	prof_off(&prof_map);
	if (rc)
		goto out_close;
	*what = "unmap 4 KiB";
	t0 = now_us();
	prof_on(&prof_unmap);
	for (n = 0; n < SMALL_MAPS; n++) {
		rc = t_unmap(&ss.t, BIG_IOVA + n * SZ_4K, SZ_4K);
		if (rc)
			break;
	}
	*runmap = SMALL_MAPS / ((now_us() - t0) / 1e6);
	prof_off(&prof_unmap);
out_close:
	session_close(&ss);
	return rc;
}

/*
 * SMALL_MAPS maps of one 4 KiB page each at consecutive IOVAs, then their
 * unmaps one by one: what a vIOMMU or DPDK does. Reported in ops/s.
 */
static void case_small(unsigned long type, const char *prefix)
{
	double rmap[BENCH_REPS_MAX], runmap[BENCH_REPS_MAX];
	struct buf *b = get_buf4k();
	char name[64], uname[64];
	const char *what;
	int i, rc;

	snprintf(name, sizeof(name), "%ssmall.map", prefix);
	if (!b) {
		bench_fail(name, -ENOMEM, "4 KiB pages");
		return;
	}
	prof_reset(&prof_map);
	prof_reset(&prof_unmap);
	for (i = 0; i < reps; i++) {
		rc = small_once(type, b, &rmap[i], &runmap[i], &what);
		if (rc) {
			bench_fail(name, rc, "%s", what);
			return;
		}
	}
	report(name, median(rmap, reps), "ops/s");
	snprintf(uname, sizeof(uname), "%ssmall.unmap", prefix);
	report(uname, median(runmap, reps), "ops/s");
	prof_report(name, uname);
}

/* IOMMU_IOAS_COPY of 1 GiB into a second IOAS that has its own domain */
static void case_copy(struct ctx *c)
{
	struct buf *b = get_buf4k();
	double tcopy[BENCH_REPS_MAX], t0;
	__u32 ioas2, hwpt2;
	__u64 dst;
	int i, rc;

	if (!b) {
		bench_fail("copy1g", -ENOMEM, "4 KiB pages");
		return;
	}
	rc = ioas_alloc(c->fd, &ioas2);
	if (!rc)
		rc = ctx_other_domain(c, ioas2, &hwpt2);
	if (rc) {
		bench_fail("copy1g", rc, "second IOAS and domain");
		return;
	}
	rc = ioas_map_at(c->fd, c->ioas, b->va, SZ_1G, BIG_IOVA);
	if (rc) {
		bench_fail("copy1g", rc, "map the source");
		return;
	}
	for (i = 0; i < reps; i++) {
		dst = BIG_IOVA;
		t0 = now_us();
		rc = ioas_copy(c->fd, ioas2, c->ioas, BIG_IOVA, SZ_1G, &dst,
			       IOAS_RW_FIXED);
		tcopy[i] = now_us() - t0;
		if (!rc)
			rc = ioas_unmap(c->fd, ioas2, BIG_IOVA, SZ_1G, NULL);
		if (rc) {
			bench_fail("copy1g", rc, "copy 1 GiB");
			break;
		}
	}
	ioas_unmap(c->fd, c->ioas, BIG_IOVA, SZ_1G, NULL);
	if (!rc)
		report("copy1g", median(tcopy, reps) / 1e3, "ms");
}

/*
 * An emulated device's access to 4 KiB pages of the IOAS: pin and unpin,
 * and copies in both directions. Median time of one operation, in us.
 */
static void case_access(struct ctx *c)
{
	static double pin[BENCH_REPS_MAX * ACCESS_OPS];
	static double rd[BENCH_REPS_MAX * ACCESS_OPS];
	static double wr[BENCH_REPS_MAX * ACCESS_OPS];
	struct buf *b = get_buf4k();
	char page[SZ_4K];
	int i, n, k = 0, rc, afd;
	__u64 iova;
	__u32 item;
	double t0;

	if (!b) {
		bench_fail("access.pin", -ENOMEM, "4 KiB pages");
		return;
	}
	rc = ioas_map_at(c->fd, c->ioas, b->va, ACCESS_OPS * SZ_4K, BIG_IOVA);
	if (!rc)
		rc = mock_access_create(c->fd, c->ioas,
					MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
					&afd);
	if (rc) {
		bench_fail("access.pin", rc, "map and create the access");
		return;
	}
	memset(page, 0x5a, sizeof(page));
	for (i = 0; i < reps; i++) {
		for (n = 0; n < ACCESS_OPS; n++, k++) {
			iova = BIG_IOVA + n * SZ_4K;
			t0 = now_us();
			rc = mock_access_pin(c->fd, afd, iova, SZ_4K, NULL,
					     MOCK_FLAGS_ACCESS_WRITE, &item);
			if (!rc)
				rc = mock_access_unpin(c->fd, afd, item);
			pin[k] = now_us() - t0;
			if (rc)
				goto err;
			t0 = now_us();
			rc = mock_access_rw(c->fd, afd, iova, page, SZ_4K, 0);
			rd[k] = now_us() - t0;
			if (rc)
				goto err;
			t0 = now_us();
			rc = mock_access_rw(c->fd, afd, iova, page, SZ_4K,
					    MOCK_ACCESS_RW_WRITE);
			wr[k] = now_us() - t0;
			if (rc)
				goto err;
		}
	}
	report("access.pin-unpin", median(pin, k), "us");
	report("access.read", median(rd, k), "us");
	report("access.write", median(wr, k), "us");
	goto out;
err:
	bench_fail("access.pin", rc, "access operation %d", n);
out:
	close(afd);
	ioas_unmap(c->fd, c->ioas, BIG_IOVA, ACCESS_OPS * SZ_4K, NULL);
}

/* What the mapping threads of case_concurrent() share */
struct conc {
	struct ctx *c;
	char *va;
	int nthreads;
	pthread_barrier_t start;
	int rc;			/* the first failure, or 0 */
};

struct conc_thread {
	struct conc *conc;
	int index;
	pthread_t thread;
};

static void *conc_mapper(void *arg)
{
	struct conc_thread *ct = arg;
	struct conc *cc = ct->conc;
	int piece, rc;

	pthread_barrier_wait(&cc->start);
	for (piece = ct->index; piece < (int)(SZ_512M / CONC_PIECE);
	     piece += cc->nthreads) {
		rc = ioas_map_at(cc->c->fd, cc->c->ioas,
				 cc->va + piece * CONC_PIECE, CONC_PIECE,
				 BIG_IOVA + piece * CONC_PIECE);
		if (rc)
			__atomic_store_n(&cc->rc, rc, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Wall time in us of mapping 512 MiB in 64 MiB pieces by @nthreads */
static double conc_run(struct conc *cc, int nthreads)
{
	struct conc_thread ct[CONC_MAX];
	double t0, t;
	int i;

	cc->nthreads = nthreads;
	cc->rc = 0;
	pthread_barrier_init(&cc->start, NULL, nthreads + 1);
	for (i = 0; i < nthreads; i++) {
		ct[i].conc = cc;
		ct[i].index = i;
		pthread_create(&ct[i].thread, NULL, conc_mapper, &ct[i]);
	}
	pthread_barrier_wait(&cc->start);
	t0 = now_us();
	for (i = 0; i < nthreads; i++)
		pthread_join(ct[i].thread, NULL);
	t = now_us() - t0;
	pthread_barrier_destroy(&cc->start);
	ioas_unmap(cc->c->fd, cc->c->ioas, BIG_IOVA, SZ_512M, NULL);
	return t;
}

/*
 * 512 MiB mapped in 64 MiB pieces on disjoint ranges by 1, 2 and 4
 * threads: the time with one, the speed-up with more.
 */
static void case_concurrent(struct ctx *c)
{
	double t[3][BENCH_REPS_MAX], med[3];
	static const int threads[3] = { 1, 2, 4 };
	struct buf *b = get_buf4k();
	struct conc cc = { .c = c };
	char name[64];
	int i, j;

	if (!b) {
		bench_fail("conc.map512m.1t", -ENOMEM, "4 KiB pages");
		return;
	}
	cc.va = b->va;
	for (i = 0; i < reps; i++) {
		for (j = 0; j < 3; j++) {
			t[j][i] = conc_run(&cc, threads[j]);
			if (cc.rc) {
				bench_fail("conc.map512m.1t", cc.rc,
					   "map with %d threads", threads[j]);
				return;
			}
		}
	}
	for (j = 0; j < 3; j++)
		med[j] = median(t[j], reps);
	report("conc.map512m.1t", med[0] / 1e3, "ms");
	for (j = 1; j < 3; j++) {
		snprintf(name, sizeof(name), "conc.speedup.%dt", threads[j]);
		report(name, med[0] / med[j], "x");
	}
}

/* The operations whose latency case_latency() measures */
enum lat_op {
	LAT_RANGES,		/* IOMMU_IOAS_IOVA_RANGES */
	LAT_DIRTY,		/* read the dirty bitmap of 2 MiB (mock) */
	LAT_PIN,		/* an access pins one 4 KiB page */
	LAT_NR,
};

static const char * const lat_names[LAT_NR] = {
	[LAT_RANGES] = "lat.iova-ranges",
	[LAT_DIRTY] = "lat.dirty-read",
	[LAT_PIN] = "lat.access-pin",
};

/*
 * The thread that maps 1 GiB in one call while the other one measures; or,
 * for the baseline, spins in user space for @spin_us instead, keeping the
 * other vCPU just as busy without entering iommufd.
 */
struct big_map {
	struct ctx *c;
	char *va;
	double spin_us;		/* > 0: spin this long, do not map */
	pthread_t thread;
	int go;			/* set by the measuring thread */
	int done;		/* set when the map returned */
	int rc;
};

static void *big_mapper(void *arg)
{
	struct big_map *bm = arg;
	double t0;

	while (!__atomic_load_n(&bm->go, __ATOMIC_ACQUIRE))
		;
	if (bm->spin_us > 0) {
		t0 = now_us();
		while (now_us() - t0 < bm->spin_us)
			;
	} else {
		bm->rc = ioas_map_at(bm->c->fd, bm->c->ioas, bm->va, SZ_1G,
				     BIG_IOVA);
	}
	__atomic_store_n(&bm->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int lat_do(struct ctx *c, enum lat_op op, int afd, void *bitmap)
{
	struct iommu_iova_range ranges[8];
	__u32 num = 8, item;
	int rc;

	switch (op) {
	case LAT_RANGES:
		return ioas_ranges(c->fd, c->ioas, ranges, &num, NULL);
	case LAT_DIRTY:
		return hwpt_get_dirty(c->fd, c->hwpt, SMALL_IOVA, SZ_2M, SZ_4K,
				      bitmap, 0);
	case LAT_PIN:
		rc = mock_access_pin(c->fd, afd, SMALL_IOVA, SZ_4K, NULL,
				     MOCK_FLAGS_ACCESS_WRITE, &item);
		if (rc)
			return rc;
		return mock_access_unpin(c->fd, afd, item);
	default:
		return -EINVAL;
	}
}

/*
 * The worst latency of @op, in us, while another thread maps 1 GiB of
 * 4 KiB pages in one call; *@rate gets how many calls completed per ms of
 * that map. A count alone would favour the slower map, which leaves more
 * time for calls. *@span gets how long the other thread took. With
 * @spin_us > 0 the other thread spins in user space that long instead.
 */
static int lat_run(struct ctx *c, enum lat_op op, int afd, void *bitmap,
		   double spin_us, double *worst, double *rate, double *span)
{
	struct big_map bm = {
		.c = c, .va = kept[MEM_4K].va, .spin_us = spin_us,
	};
	double t0, t, start;
	long samples = 0;
	int rc = 0;

	*worst = 0;
	pthread_create(&bm.thread, NULL, big_mapper, &bm);
	start = now_us();
	__atomic_store_n(&bm.go, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&bm.done, __ATOMIC_ACQUIRE)) {
		t0 = now_us();
		rc = lat_do(c, op, afd, bitmap);
		t = now_us() - t0;
		if (rc)
			break;
		if (t > *worst)
			*worst = t;
		samples++;
	}
	*span = now_us() - start;
	*rate = samples / (*span / 1e3);
	pthread_join(bm.thread, NULL);
	if (!bm.rc && spin_us <= 0)
		ioas_unmap(c->fd, c->ioas, BIG_IOVA, SZ_1G, NULL);
	return rc ? rc : bm.rc;
}

/*
 * lat.<op>, lat.<op>.rate: see lat_run(); lat.<op>.spin: the worst latency
 * while the other thread spins for as long as the map took, which is what
 * the VM (TCG, the host's scheduler, the tick) costs without iommufd.
 */
static void case_latency(struct ctx *c)
{
	double worst[BENCH_REPS_MAX], rate[BENCH_REPS_MAX];
	double spin[BENCH_REPS_MAX], span, ignored;
	struct buf small;
	__u64 bitmap[SZ_2M / SZ_4K / 64];
	char name[64];
	int op, i, rc, afd;

	if (!get_buf4k()) {
		bench_fail("lat", -ENOMEM, "4 KiB pages");
		return;
	}
	rc = buf_alloc(&small, MEM_4K, SZ_2M);
	if (rc) {
		bench_fail("lat", rc, "small buffer");
		return;
	}
	rc = ioas_map_at(c->fd, c->ioas, small.va, SZ_2M, SMALL_IOVA);
	if (!rc)
		rc = mock_access_create(c->fd, c->ioas,
					MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
					&afd);
	if (rc) {
		bench_fail("lat", rc, "map the small region, create an access");
		buf_free(&small);
		return;
	}
	for (op = 0; op < LAT_NR; op++) {
		if (op == LAT_DIRTY && use_vtd) {
			bench_skip(lat_names[op],
				   "QEMU's VT-d has no dirty tracking");
			continue;
		}
		for (i = 0; i < reps; i++) {
			rc = lat_run(c, op, afd, bitmap, 0, &worst[i], &rate[i],
				     &span);
			if (!rc)
				rc = lat_run(c, op, afd, bitmap, span, &spin[i],
					     &ignored, &ignored);
			if (rc)
				break;
		}
		if (rc) {
			bench_fail(lat_names[op], rc, "while mapping 1 GiB");
			continue;
		}
		report(lat_names[op], median(worst, reps) / 1e3, "ms");
		/* How fast they got through: slow means they waited */
		snprintf(name, sizeof(name), "%s.rate", lat_names[op]);
		report(name, median(rate, reps), "calls/ms");
		snprintf(name, sizeof(name), "%s.spin", lat_names[op]);
		report(name, median(spin, reps) / 1e3, "ms");
	}
	close(afd);
	ioas_unmap(c->fd, c->ioas, SMALL_IOVA, SZ_2M, NULL);
	buf_free(&small);
}

/* Every native case, each in a fresh context */
static void native_cases(void)
{
	void (*cases[])(struct ctx *c) = {
		case_copy, case_access, case_concurrent, case_latency,
	};
	struct ctx c;
	size_t i;
	int rc;

	cases_map_1g(0, "", (1U << MEM_NR) - 1, true);
	case_small(0, "");

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		/* The latency case reads dirty bits: on the mock, track them */
		rc = ctx_open(&c, cases[i] == case_latency && !use_vtd);
		if (rc) {
			bench_fail("ctx", rc, "open a context with a device");
			continue;
		}
		cases[i](&c);
		ctx_close(&c);
	}
}

/* The VFIO type1 container cases, v1 and v2 */
static void compat_cases(void)
{
	static const struct {
		unsigned long type;
		const char *prefix;
	} types[] = {
		{ VFIO_TYPE1_IOMMU, "compat-v1." },
		{ VFIO_TYPE1v2_IOMMU, "compat-v2." },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		cases_map_1g(types[i].type, types[i].prefix,
			     1U << MEM_4K | 1U << MEM_HUGE2M, true);
		case_small(types[i].type, types[i].prefix);
	}
}

static void parse_options(const char *opts)
{
	char buf[256], *word, *save;

	if (!opts)
		return;
	str_copy(buf, sizeof(buf), opts);
	for (word = strtok_r(buf, ",", &save); word;
	     word = strtok_r(NULL, ",", &save)) {
		if (!strcmp(word, "quick")) {
			reps = 1;
			reps_given = true;
		} else if (!strncmp(word, "reps", 4) && atoi(word + 4) >= 1 &&
			   atoi(word + 4) <= BENCH_REPS_MAX) {
			reps = atoi(word + 4);
			reps_given = true;
		} else if (!strcmp(word, "compat")) {
			compat_only = true;
		} else if (!strcmp(word, "profile")) {
			profile = true;
		}
	}
}

/*
 * The "profile" run: the 1 GiB maps and unmaps of every kind of memory and
 * the small ones, natively and through a type1v2 container, sampled
 * (iommufd_prof.h), then the latency cases, whose spin baseline says what
 * the VM itself adds to a worst case. With "compat" (the type1 kernel),
 * only the container's small maps: they are where type1 is ahead.
 */
static void profile_cases(void)
{
	struct ctx c;
	int rc;

	if (!reps_given)
		reps = BENCH_REPS_MAX;
	rc = prof_open(&prof_map);
	if (!rc)
		rc = prof_open(&prof_unmap);
	if (rc) {
		bench_fail("profile", rc, "a cpu-clock sampling event");
		prof_close(&prof_map);
		return;
	}
	if (!compat_only) {
		cases_map_1g(0, "", (1U << MEM_NR) - 1, false);
		case_small(0, "");
	}
	case_small(VFIO_TYPE1v2_IOMMU, "compat-v2.");
	prof_close(&prof_map);
	prof_close(&prof_unmap);
	if (compat_only)
		return;
	rc = ctx_open(&c, !use_vtd);
	if (rc) {
		bench_fail("ctx", rc, "open a context with a device");
		return;
	}
	case_latency(&c);
	ctx_close(&c);
}

/* vtd when edu sits behind an IOMMU (handed to vfio-pci), else the mock */
static int pick_domain(void)
{
	int rc;

	if (!edu_find(edu_bdf, sizeof(edu_bdf)) &&
	    pci_has_iommu_group(edu_bdf)) {
		use_vtd = true;
		domain = "vtd";
		rc = edu_use_vfio_pci(edu_bdf);
		if (rc)
			bench_fail("setup", rc, "bind %s to vfio-pci", edu_bdf);
		return rc;
	}
	rc = mock_probe();
	if (rc == -ENOTTY)
		bench_fail("setup", rc, "no edu behind an IOMMU, no mock driver");
	return rc == -ENOTTY ? rc : 0;
}

int main(void)
{
	struct utsname u;
	char gig[32];
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_options(getenv("iommufd_bench"));
	if (pick_domain())
		return 1;
	uname(&u);
	if (sysfs_read(HUGE_1G_FREE, gig, sizeof(gig)))
		str_copy(gig, sizeof(gig), "none");
	bench_note("kernel %s, %ld CPUs, %d repetitions, free hugetlb pages: %ld x 2M, %s x 1G",
		   u.release, sysconf(_SC_NPROCESSORS_ONLN), reps,
		   meminfo_kib("HugePages_Free"), gig);
	if (profile) {
		profile_cases();
	} else {
		if (!compat_only)
			native_cases();
		compat_cases();
	}
	for (i = 0; i < MEM_NR; i++)
		buf_free(&kept[i]);
	return failures ? 1 : 0;
}
