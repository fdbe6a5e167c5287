// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd_fail_nth.c - kernel integrity of iommufd under injected failures.
 *
 * Each test is one scenario: a sequence of iommufd calls that succeeds as a
 * whole. The sweep runs it once as is, then once per fault injection point
 * it passes through, failing point 1 in the first of those runs, point 2 in
 * the second, and so on, until a run never reaches the point it was told to
 * fail. The kernel counts the points per thread through
 * /proc/self/task/<tid>/fail-nth (Documentation/fault-injection): every
 * failslab and fail_page_alloc check - made to include GFP_KERNEL, see
 * fi_configure() - and every should_fail() of the mock driver's own
 * fail_iommufd attribute, wherever the mock has one.
 *
 * A run is three phases, and only the middle one is injected:
 *
 *   prepare   uninjected: open a context, create what the scenario builds
 *             on (IOAS, mock devices, mappings); must succeed
 *   body      armed: the calls under test, stopping at the first one that
 *             fails; under injection its result is not judged
 *   check     disarmed: see run_check()
 *
 * What the kernel must guarantee, checked after every run:
 *
 *  - a failed call changed nothing: each body records in a ledger what its
 *    successful calls mapped and unmapped, each live mock paging HWPT must
 *    translate the ledger's mappings of its IOAS, and (after every other
 *    run, the others leaving their mappings to the release paths)
 *    unmapping everything must find exactly the ledger's byte count;
 *  - the context is still usable (an IOAS can be allocated and destroyed);
 *  - closing everything returns 0 and leaves no pin behind: a fresh
 *    context has IOMMU_TEST_OP_MD_CHECK_REFS find zero pins on every page
 *    the scenarios use (buffer, memfd, scratch, hugetlb page);
 *  - the RLIMIT accounting is back where it started (VmPin and VmLck of
 *    /proc/self/status);
 *  - the kernel log got no WARNING, BUG, Oops, lockdep or RCU report (read
 *    from /dev/kmsg after each run, so a report names its scenario and N;
 *    the VM runner also scans the whole log, and kmemleak's verdict).
 *
 * A scenario may pass through at most SWEEP_CAP points; more fails the test.
 * The buffers are small and the pinning batches tiny (a temporary memory
 * limit of 32 bytes), so each run is quick even under TCG.
 *
 * The harness runs each test in a child of its own: the fixture opens the
 * fail-nth file of that child's thread. A test is skipped, with the reason,
 * when debugfs, failslab, fail-nth, the mock driver or the feature under
 * test is missing.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <poll.h>
#include <time.h>
#include <linux/vfio.h>

#include "../kselftest_harness.h"
#include "iommufd_test_util.h"
#include "iommufd_type1.h"

/* Most injection points one scenario may pass through */
#define SWEEP_CAP 2000
/* Per-test time limit in seconds: a sweep is thousands of runs */
#define SWEEP_TIMEOUT 900
/* Problems (failed post-run checks) after which a sweep gives up */
#define SWEEP_MAX_PROBLEMS 8

/*
 * The memory the scenarios map and pin, a memfd, and the user-side scratch,
 * in pages: the scenarios cut them into page-aligned pieces of a few pages
 * (256, 64 and 64 KiB with 4 KiB pages)
 */
#define BUF_LEN (64 * page_size)
#define FILE_LEN (16 * page_size)
#define SCRATCH_LEN (16 * page_size)
#define HUGE_LEN (2 * 1024 * 1024)
/* Two whole chunks of the kernel's PFN store, which keeps 512 PFNs each */
#define FRAG_CHUNK (512 * page_size)
#define FRAG_LEN (2 * FRAG_CHUNK)

/* Pinning batches of a few PFNs, so that small buffers take many batches */
#define SWEEP_MEMORY_LIMIT 32

#define DEBUGFS "/sys/kernel/debug"
#define IOVA_BASE ((__u64)MOCK_APERTURE_START)

/*
 * Fault injection set-up, done once by the harness process
 */

/* A debugfs knob changed by fi_configure(), and its value before */
struct fi_knob {
	char path[sizeof(DEBUGFS) + 300];
	char old[24];
};

static struct fi_knob fi_knobs[32];
static unsigned int fi_nknobs;
/* Why no sweep can run, or NULL */
static const char *fi_skip;
/* Set by missing(): a probe failed, and not for want of the feature */
static bool probe_broken;
/* The mock driver has its own fault attribute, debugfs fail_iommufd */
static bool fi_have_iommufd;

/*
 * Read, or write, a whole debugfs file. Plain read() and write() on a fresh
 * descriptor: most attribute files are not seekable, so no pread().
 */
static int fi_file_io(const char *path, char *val, size_t len, bool wr)
{
	ssize_t n;
	int fd;

	fd = open(path, wr ? O_WRONLY : O_RDONLY);
	if (fd < 0)
		return -errno;
	n = wr ? write(fd, val, len) : read(fd, val, len);
	close(fd);
	if (n < 0)
		return -errno;
	if (wr && (size_t)n != len)
		return -EIO;
	return n;
}

/* Set the debugfs knob @path to @val, remembering the old value */
static int fi_knob_set(const char *path, const char *val)
{
	struct fi_knob *k = &fi_knobs[fi_nknobs];
	int n, rc;

	if (fi_nknobs == ARRAY_SIZE(fi_knobs))
		return -ENOSPC;
	n = fi_file_io(path, k->old, sizeof(k->old) - 1, false);
	if (n <= 0)
		return n ? n : -EIO;
	k->old[n] = 0;
	rc = fi_file_io(path, (char *)val, strlen(val), true);
	if (rc < 0)
		return rc;
	snprintf(k->path, sizeof(k->path), "%s", path);
	fi_nknobs++;
	return 0;
}

/*
 * Silence every fault attribute (a forced failure would otherwise dump a
 * stack trace to the console each time), and note whether ours exists.
 */
static void fi_quiet_attributes(void)
{
	char path[sizeof(DEBUGFS) + 300];
	struct dirent *d;
	DIR *dir;

	dir = opendir(DEBUGFS);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (strncmp(d->d_name, "fail", 4))
			continue;
		if (!strcmp(d->d_name, "fail_iommufd"))
			fi_have_iommufd = true;
		snprintf(path, sizeof(path), DEBUGFS "/%s/verbose", d->d_name);
		fi_knob_set(path, "0");
	}
	closedir(dir);
}

/*
 * failslab and fail_page_alloc skip sleeping (GFP_KERNEL) allocations by
 * default; the sweep wants exactly those. fail-nth itself needs no other
 * setting: it overrides each attribute's probability, interval and times.
 */
static void __attribute__((constructor)) fi_configure(void)
{
	DIR *dir = opendir(DEBUGFS);

	if (!dir) {
		fi_skip = "debugfs is not mounted at " DEBUGFS;
		return;
	}
	closedir(dir);
	if (access("/proc/thread-self/fail-nth", R_OK | W_OK)) {
		fi_skip = "no fail-nth in /proc (CONFIG_FAULT_INJECTION)";
		return;
	}
	if (fi_knob_set(DEBUGFS "/failslab/ignore-gfp-wait", "N")) {
		fi_skip = "no debugfs failslab (CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS)";
		return;
	}
	/* Best effort: without them only slab allocations fail */
	fi_knob_set(DEBUGFS "/fail_page_alloc/ignore-gfp-wait", "N");
	fi_knob_set(DEBUGFS "/fail_page_alloc/ignore-gfp-highmem", "N");
	fi_quiet_attributes();
}

/* Put the knobs back, newest first, when the harness process exits */
static void __attribute__((destructor)) fi_restore(void)
{
	struct fi_knob *k;

	while (fi_nknobs) {
		k = &fi_knobs[--fi_nknobs];
		if (fi_file_io(k->path, k->old, strlen(k->old), true) < 0)
			fprintf(stderr, "# could not restore %s\n", k->path);
	}
}

/* Fail the @nth injection point this thread passes from now on */
static int nth_arm(int nth_fd, unsigned int nth)
{
	char num[16];
	int len;

	len = snprintf(num, sizeof(num), "%u", nth);
	if (pwrite(nth_fd, num, len, 0) != len)
		return -errno;
	return 0;
}

/*
 * Disarm. Returns how many points the run was still short of the armed
 * one: 0 if it was reached and failed, or -errno.
 */
static long nth_disarm(int nth_fd)
{
	char num[16] = {};
	ssize_t n;

	n = pread(nth_fd, num, sizeof(num) - 1, 0);
	if (n < 2)
		return n < 0 ? -errno : -EIO;
	if (pwrite(nth_fd, "0", 1, 0) != 1)
		return -errno;
	return strtol(num, NULL, 10);
}

/*
 * Raw wrappers for the calls iommufd_test_util.h has none for. Like the
 * shared ones, each is one ioctl and returns 0 or -errno.
 */

/* Reset IOTLB entry 1 of a mock nested HWPT, then all of them */
static int fi_invalidate(int fd, __u32 hwpt_id)
{
	struct iommu_hwpt_invalidate_selftest req[2] = {
		{ .iotlb_id = 1 },
		{ .flags = IOMMU_TEST_INVALIDATE_FLAG_ALL },
	};
	__u32 num = ARRAY_SIZE(req);

	return hwpt_invalidate_entries(fd, hwpt_id,
				       IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				       req, sizeof(req[0]), &num);
}

/* IOMMU_GET_HW_INFO into @len bytes at @data; @type 0 = the default */
static int fi_hw_info(int fd, __u32 dev_id, void *data, __u32 len,
		      __u32 type)
{
	struct iommu_hw_info cmd = {
		.flags = type ? IOMMU_HW_INFO_FLAG_INPUT_TYPE : 0,
		.dev_id = dev_id,
		.data_len = len,
		.data_uptr = (__u64)(unsigned long)data,
		.in_data_type = type,
		.size = sizeof(cmd),
	};

	return ifd_ioctl(fd, IOMMU_GET_HW_INFO, &cmd);
}

static int fi_change_process(int fd)
{
	struct iommu_ioas_change_process cmd = { .size = sizeof(cmd) };

	return ifd_ioctl(fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd);
}

static int fi_vfio_ioas(int fd, __u16 op, __u32 ioas_id)
{
	struct iommu_vfio_ioas cmd = {
		.ioas_id = ioas_id,
		.op = op,
		.size = sizeof(cmd),
	};

	return ifd_ioctl(fd, IOMMU_VFIO_IOAS, &cmd);
}

/* A VFIO ioctl whose argument is a number, not a pointer */
static int fi_vfio_num(int fd, unsigned long request, unsigned long arg)
{
	return ifd_ioctl(fd, request, (void *)arg);
}

static int fi_vfio_map(int fd, __u64 iova, const void *va, __u64 len)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (__u64)(unsigned long)va,
		.iova = iova,
		.size = len,
	};

	return ifd_ioctl(fd, VFIO_IOMMU_MAP_DMA, &map);
}

/* UNMAP_DMA of a range, or of everything with @len == 0 */
static int fi_vfio_unmap(int fd, __u64 iova, __u64 len)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = len ? 0 : VFIO_DMA_UNMAP_FLAG_ALL,
		.iova = iova,
		.size = len,
	};

	return ifd_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap);
}

/*
 * VFIO_IOMMU_DIRTY_PAGES: start, read the bitmap of [@iova, @iova + @len)
 * into @bitmap, stop
 */
static int fi_vfio_dirty(int fd, __u64 iova, __u64 len, void *bitmap)
{
	struct type1_dirty_get get;
	int rc;

	type1_dirty_get_init(&get, iova, len, page_size,
			     TYPE1_BITMAP_BYTES(len / page_size), bitmap);
	get.hdr.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START;
	rc = ifd_ioctl(fd, VFIO_IOMMU_DIRTY_PAGES, &get);
	get.hdr.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	if (!rc)
		rc = ifd_ioctl(fd, VFIO_IOMMU_DIRTY_PAGES, &get);
	get.hdr.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP;
	if (!rc)
		rc = ifd_ioctl(fd, VFIO_IOMMU_DIRTY_PAGES, &get);
	return rc;
}

/* VFIO_UPDATE_VADDR: invalidate every address, give one mapping @va */
static int fi_vfio_vaddr(int fd, __u64 iova, __u64 len, const void *va)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_ALL,
	};
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_VADDR,
		.vaddr = (__u64)(unsigned long)va,
		.iova = iova,
		.size = len,
	};
	int rc;

	rc = ifd_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap);
	return rc ?: ifd_ioctl(fd, VFIO_IOMMU_MAP_DMA, &map);
}

/* VFIO_IOMMU_GET_INFO with room for the capability chain */
static int fi_vfio_info(int fd, void *scratch, __u32 len)
{
	struct vfio_iommu_type1_info *info = scratch;

	memset(info, 0, len);
	info->argsz = len;
	return ifd_ioctl(fd, VFIO_IOMMU_GET_INFO, info);
}

/*
 * What lives across the runs of one sweep: the fixture's data
 */

struct sweep_env {
	int nth_fd;		/* this thread's fail-nth file */
	int kmsg_fd;		/* /dev/kmsg, read after each run; -1 if none */
	char *buf;		/* BUF_LEN bytes the scenarios map and pin */
	int mfd;		/* a FILE_LEN memfd for IOMMU_IOAS_MAP_FILE */
	char *file_va;		/* its shared mapping, for the pin check */
	char *scratch;		/* user side of reads, bitmaps, hw info */
	char *huge;		/* HUGE_LEN of hugetlb memory, or NULL */
	char *frag;		/* FRAG_LEN of scattered pages, or NULL */
	long vm_pin;		/* VmPin (KiB) expected after each run */
	long vm_lck;		/* VmLck (KiB) likewise */
	unsigned int problems;	/* post-run checks failed so far */
	bool can_change_process; /* IOMMU_IOAS_CHANGE_PROCESS is supported */
	bool has_fault_queue;	/* IOMMU_FAULT_QUEUE_ALLOC is supported */
};

FIXTURE(fail_nth)
{
	struct sweep_env env;
};

/*
 * What one run built. The body fills it in as its calls succeed, so that
 * the checks know what must exist and the clean-up what to close.
 */

#define RUN_IOAS 3
#define RUN_MAPS 8
#define RUN_HWPT 6
#define RUN_DEV 3
#define RUN_ACCESS 2
#define RUN_ITEMS 4
#define RUN_RANGES 4

/* One mapping in the ledger: IOVA range and the user memory behind it */
struct map_rec {
	__u64 iova;
	__u64 len;
	const char *va;
};

/*
 * An IOAS: the ledger of its mappings, and its usable IOVA ranges and
 * alignment as last read by the body, until a successful call may have
 * changed them (ranges_known then goes false).
 */
struct ioas_rec {
	__u32 id;			/* 0: not allocated */
	unsigned int nmaps;
	struct map_rec map[RUN_MAPS];
	bool ranges_known;
	__u32 nranges;
	__u64 align;
	struct iommu_iova_range ranges[RUN_RANGES];
};

/* A paging HWPT that mirrors an IOAS (checked), or a nested one (not) */
struct hwpt_rec {
	__u32 id;			/* 0: none, or no longer known alive */
	int ioas;			/* the IOAS slot it mirrors, -1 if nested */
};

struct dev_rec {
	__u32 stdev;			/* the selftest object; 0: none */
	__u32 idev;			/* the device ID */
	int auto_hwpt;			/* slot of the HWPT its attach made, or -1 */
};

struct run {
	struct sweep_env *fx;
	int fd;				/* the context under test, -1 if closed */
	int access[RUN_ACCESS];		/* access fds, -1 when closed */
	int fault_fd;			/* fault queue fd, -1 when closed */
	__u32 fault_id;
	struct ioas_rec ioas[RUN_IOAS];
	struct hwpt_rec hwpt[RUN_HWPT];
	struct dev_rec dev[RUN_DEV];
	__u32 item[RUN_ITEMS];		/* access pins */
	const char *failed;		/* the first call that failed */
	int rc;				/* and its error */
};

static void run_init(struct run *r, struct sweep_env *fx)
{
	unsigned int i;

	memset(r, 0, sizeof(*r));
	r->fx = fx;
	r->fd = -1;
	r->fault_fd = -1;
	for (i = 0; i != RUN_ACCESS; i++)
		r->access[i] = -1;
	for (i = 0; i != RUN_DEV; i++)
		r->dev[i].auto_hwpt = -1;
}

/* Record the first failing call of a run; returns @rc */
static int note(struct run *r, const char *what, int rc)
{
	if (rc && !r->failed) {
		r->failed = what;
		r->rc = rc;
	}
	return rc;
}

/*
 * The ledger
 */

static void ledger_add(struct ioas_rec *io, __u64 iova, __u64 len,
		       const char *va)
{
	/* Sized for the scenarios below; a full ledger is a bug here */
	if (io->nmaps == RUN_MAPS)
		abort();
	io->map[io->nmaps++] = (struct map_rec){ iova, len, va };
}

/* The user memory behind @iova, or NULL */
static const char *ledger_va(const struct ioas_rec *io, __u64 iova)
{
	const struct map_rec *m;
	unsigned int i;

	for (i = 0; i != io->nmaps; i++) {
		m = &io->map[i];
		if (iova >= m->iova && iova - m->iova < m->len)
			return m->va + (iova - m->iova);
	}
	return NULL;
}

/* Trim mapping @i of @io to what lies outside [start, end) */
static void ledger_trim(struct ioas_rec *io, unsigned int i, __u64 start,
			__u64 end)
{
	struct map_rec m = io->map[i];
	__u64 m_end = m.iova + m.len;

	io->map[i] = io->map[--io->nmaps];
	if (start > m.iova)
		ledger_add(io, m.iova, start - m.iova, m.va);
	if (end < m_end)
		ledger_add(io, end, m_end - end, m.va + (end - m.iova));
}

/* Forget [@iova, @iova + @len); UNMAP_ALL_LENGTH means to the end */
static void ledger_cut(struct ioas_rec *io, __u64 iova, __u64 len)
{
	__u64 end = len > ~iova ? ~0ULL : iova + len;
	unsigned int i = 0;
	struct map_rec *m;

	while (i < io->nmaps) {
		m = &io->map[i];
		if (m->iova >= end || m->iova + m->len <= iova) {
			i++;
			continue;
		}
		/* The trimmed pieces go to the end: look at slot i again */
		ledger_trim(io, i, iova, end);
	}
}

static __u64 ledger_bytes(const struct ioas_rec *io)
{
	__u64 sum = 0;
	unsigned int i;

	for (i = 0; i != io->nmaps; i++)
		sum += io->map[i].len;
	return sum;
}

/*
 * Body steps: one call each, recording its effect in the run on success
 * and the call's name on failure. All return 0 or -errno.
 */

static int r_open(struct run *r)
{
	int fd = iommufd_open();

	if (fd < 0)
		return note(r, "open /dev/iommu", fd);
	r->fd = fd;
	return 0;
}

static int r_close_ctx(struct run *r)
{
	int rc = close(r->fd) ? -errno : 0;

	r->fd = -1;
	return note(r, "close context", rc);
}

static int r_ioas_alloc(struct run *r, int s)
{
	return note(r, "IOMMU_IOAS_ALLOC", ioas_alloc(r->fd, &r->ioas[s].id));
}

/* Read the usable ranges of IOAS slot @s, for check_ranges() */
static int r_ranges(struct run *r, int s)
{
	struct ioas_rec *io = &r->ioas[s];
	int rc;

	io->nranges = RUN_RANGES;
	rc = ioas_ranges(r->fd, io->id, io->ranges, &io->nranges, &io->align);
	io->ranges_known = !rc;
	return note(r, "IOMMU_IOAS_IOVA_RANGES", rc);
}

/*
 * A call succeeded that may change usable ranges or alignment (allowed
 * ranges, attachments, accesses, options): what r_ranges() read is stale.
 * Returns @rc.
 */
static int ranges_change(struct run *r, int rc)
{
	int i;

	for (i = 0; !rc && i != RUN_IOAS; i++)
		r->ioas[i].ranges_known = false;
	return rc;
}

static int r_allow(struct run *r, int s, __u64 start, __u64 last)
{
	struct iommu_iova_range range = { .start = start, .last = last };

	return note(r, "IOMMU_IOAS_ALLOW_IOVAS",
		    ranges_change(r, ioas_allow(r->fd, r->ioas[s].id,
						&range, 1)));
}

/* Map @len bytes of @va; FIXED at *@iova unless it is 0 */
static int r_map(struct run *r, int s, const char *va, __u64 len,
		 __u64 *iova)
{
	__u32 flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	__u64 where = *iova;
	int rc;

	if (where)
		flags |= IOMMU_IOAS_MAP_FIXED_IOVA;
	rc = ioas_map_flags(r->fd, r->ioas[s].id, va, len, &where, flags);
	if (rc)
		return note(r, "IOMMU_IOAS_MAP", rc);
	ledger_add(&r->ioas[s], where, len, va);
	*iova = where;
	return 0;
}

/* Map [@start, @start + @len) of the memfd; FIXED as for r_map() */
static int r_map_file(struct run *r, int s, __u64 start, __u64 len,
		      __u64 *iova)
{
	__u32 flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	__u64 where = *iova;
	int rc;

	if (where)
		flags |= IOMMU_IOAS_MAP_FIXED_IOVA;
	rc = ioas_map_file(r->fd, r->ioas[s].id, r->fx->mfd, start, len,
			   &where, flags);
	if (rc)
		return note(r, "IOMMU_IOAS_MAP_FILE", rc);
	ledger_add(&r->ioas[s], where, len, r->fx->file_va + start);
	*iova = where;
	return 0;
}

/* Copy [@src_iova, + @len) of IOAS @src into @dst; FIXED as for r_map() */
static int r_copy(struct run *r, int dst, int src, __u64 src_iova,
		  __u64 len, __u64 *iova)
{
	__u32 flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	__u64 where = *iova;
	int rc;

	if (where)
		flags |= IOMMU_IOAS_MAP_FIXED_IOVA;
	rc = ioas_copy(r->fd, r->ioas[dst].id, r->ioas[src].id, src_iova, len,
		       &where, flags);
	if (rc)
		return note(r, "IOMMU_IOAS_COPY", rc);
	ledger_add(&r->ioas[dst], where, len,
		   ledger_va(&r->ioas[src], src_iova));
	*iova = where;
	return 0;
}

static int r_unmap(struct run *r, int s, __u64 iova, __u64 len)
{
	int rc;

	rc = ioas_unmap(r->fd, r->ioas[s].id, iova, len, NULL);
	if (rc)
		return note(r, "IOMMU_IOAS_UNMAP", rc);
	ledger_cut(&r->ioas[s], iova, len);
	return 0;
}

/* Destroy the IOAS in slot @s, mappings and all */
static int r_ioas_destroy(struct run *r, int s)
{
	int rc = obj_destroy(r->fd, r->ioas[s].id);

	if (rc)
		return note(r, "IOMMU_DESTROY IOAS", rc);
	memset(&r->ioas[s], 0, sizeof(r->ioas[s]));
	return 0;
}

static int r_destroy(struct run *r, __u32 *id)
{
	int rc = obj_destroy(r->fd, *id);

	if (!rc)
		*id = 0;
	return note(r, "IOMMU_DESTROY", rc);
}

static int r_option(struct run *r, __u32 option, __u32 object_id, __u64 val)
{
	__u64 got;
	int rc;

	rc = ranges_change(r, option_set(r->fd, option, object_id, val));
	if (rc)
		return note(r, option == IOMMU_OPTION_HUGE_PAGES ?
			    "IOMMU_OPTION set HUGE_PAGES" :
			    "IOMMU_OPTION set RLIMIT_MODE", rc);
	return note(r, "IOMMU_OPTION get",
		    option_get(r->fd, option, object_id, &got));
}

/* A free HWPT slot, recording @id as a mirror of IOAS slot @ioas */
static int hwpt_slot(struct run *r, __u32 id, int ioas)
{
	int h;

	for (h = 0; h != RUN_HWPT; h++) {
		if (!r->hwpt[h].id) {
			r->hwpt[h] = (struct hwpt_rec){ id, ioas };
			return h;
		}
	}
	abort();
}

/* The attach that made a device's auto HWPT is gone: stop checking it */
static void dev_forget_auto(struct dev_rec *dev, struct run *r)
{
	if (dev->auto_hwpt >= 0)
		r->hwpt[dev->auto_hwpt].id = 0;
	dev->auto_hwpt = -1;
}

/*
 * A mock device attached to @pt_id: IOAS slot @ioas when that is not -1
 * (iommufd then finds or makes a paging HWPT), else an existing HWPT.
 */
static int r_mock_domain(struct run *r, int d, __u32 pt_id, int ioas,
			 __u32 dev_flags)
{
	struct dev_rec *dev = &r->dev[d];
	__u32 hwpt_id;
	int rc;

	if (dev_flags)
		rc = mock_domain_flags(r->fd, pt_id, dev_flags,
				       &dev->stdev, &hwpt_id, &dev->idev);
	else
		rc = mock_domain(r->fd, pt_id, &dev->stdev, &hwpt_id,
				 &dev->idev);
	if (rc)
		return note(r, "IOMMU_TEST_OP_MOCK_DOMAIN", rc);
	ranges_change(r, rc);
	if (ioas >= 0)
		dev->auto_hwpt = hwpt_slot(r, hwpt_id, ioas);
	return 0;
}

/* Destroy a mock device: it detaches, and is unbound and deleted */
static int r_dev_destroy(struct run *r, int d)
{
	struct dev_rec *dev = &r->dev[d];
	int rc;

	rc = obj_destroy(r->fd, dev->stdev);
	if (rc)
		return note(r, "IOMMU_DESTROY device", rc);
	ranges_change(r, rc);
	dev->stdev = 0;
	dev_forget_auto(dev, r);
	return 0;
}

/* Move device @d to @pt_id, with @ioas as for r_mock_domain() */
static int r_replace(struct run *r, int d, __u32 pt_id, int ioas)
{
	struct dev_rec *dev = &r->dev[d];
	__u32 hwpt_id;
	int rc;

	rc = mock_replace(r->fd, dev->stdev, pt_id, &hwpt_id);
	if (rc)
		return note(r, "IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE", rc);
	ranges_change(r, rc);
	dev_forget_auto(dev, r);
	if (ioas >= 0)
		dev->auto_hwpt = hwpt_slot(r, hwpt_id, ioas);
	return 0;
}

/* A paging HWPT for device @d on IOAS slot @s; its slot in *@h */
static int r_hwpt_alloc(struct run *r, int d, int s, __u32 flags, int *h)
{
	__u32 id;
	int rc;

	rc = hwpt_alloc(r->fd, r->dev[d].idev, r->ioas[s].id, flags, &id);
	if (rc)
		return note(r, "IOMMU_HWPT_ALLOC", rc);
	ranges_change(r, rc);
	*h = hwpt_slot(r, id, s);
	return 0;
}

/* A nested HWPT for device @d on the parent in slot @parent */
static int r_hwpt_nested(struct run *r, int d, int parent, __u32 fault_id,
			 int *h)
{
	__u32 id;
	int rc;

	rc = hwpt_alloc_mock_nested(r->fd, r->dev[d].idev, r->hwpt[parent].id,
				    fault_id ? IOMMU_HWPT_FAULT_ID_VALID : 0,
				    fault_id, IOMMU_TEST_IOTLB_DEFAULT, &id);
	if (rc)
		return note(r, "IOMMU_HWPT_ALLOC nested", rc);
	*h = hwpt_slot(r, id, -1);
	return 0;
}

static int r_hwpt_destroy(struct run *r, int h)
{
	return ranges_change(r, r_destroy(r, &r->hwpt[h].id));
}

static int r_access_create(struct run *r, int a, int s, __u32 flags)
{
	return note(r, "IOMMU_TEST_OP_CREATE_ACCESS",
		    ranges_change(r, mock_access_create(r->fd, r->ioas[s].id,
							flags,
							&r->access[a])));
}

/* Move access @a to IOAS slot @s */
static int r_access_replace(struct run *r, int a, int s)
{
	int rc;

	rc = mock_access_replace_ioas(r->fd, r->access[a], r->ioas[s].id);
	return note(r, "IOMMU_TEST_OP_ACCESS_REPLACE_IOAS",
		    ranges_change(r, rc));
}

static int r_access_close(struct run *r, int a)
{
	int rc = close(r->access[a]) ? -errno : 0;

	r->access[a] = -1;
	return note(r, "close access", ranges_change(r, rc));
}

/* Pin [@iova, + @len) of IOAS slot @s through access @a into item @i */
static int r_pin(struct run *r, int a, int s, __u64 iova, __u64 len, int i)
{
	return note(r, "IOMMU_TEST_OP_ACCESS_PAGES",
		    mock_access_pin(r->fd, r->access[a], iova, len,
				    ledger_va(&r->ioas[s], iova),
				    MOCK_FLAGS_ACCESS_WRITE, &r->item[i]));
}

static int r_unpin(struct run *r, int a, int i)
{
	return note(r, "IOMMU_TEST_OP_DESTROY_ACCESS_PAGES",
		    mock_access_unpin(r->fd, r->access[a], r->item[i]));
}

/* Copy @len bytes at @iova between the scratch buffer and the IOAS */
static int r_rw(struct run *r, int a, __u64 iova, __u64 len, __u32 flags)
{
	return note(r, "IOMMU_TEST_OP_ACCESS_RW",
		    mock_access_rw(r->fd, r->access[a], iova, r->fx->scratch,
				   len, flags));
}

/* Every kind of access_rw on [@iova, ...): both ways, fast and slow */
static int r_rw_all(struct run *r, int a, __u64 iova)
{
	const __u32 slow = MOCK_ACCESS_RW_SLOW_PATH;
	const __u32 wr = MOCK_ACCESS_RW_WRITE;
	int rc;

	rc = r_rw(r, a, iova + 100, 64, 0);
	if (!rc)
		rc = r_rw(r, a, iova + 100, 64, wr);
	if (!rc)
		rc = r_rw(r, a, iova + page_size - 32, 64, slow);
	if (!rc)
		rc = r_rw(r, a, iova + page_size - 32, 64, slow | wr);
	if (!rc)
		rc = r_rw(r, a, iova + 7, 3 * page_size, 0);
	if (!rc)
		rc = r_rw(r, a, iova, 8 * page_size, slow);
	return rc;
}

/*
 * The checks after a run
 */

/* Each live paging HWPT translates exactly what the ledger says */
static void check_hwpts(struct __test_metadata *_metadata, struct run *r,
			const char *where)
{
	const struct hwpt_rec *h;
	const struct map_rec *m;
	unsigned int i, j;

	for (i = 0; i != RUN_HWPT; i++) {
		h = &r->hwpt[i];
		if (!h->id || h->ioas < 0)
			continue;
		for (j = 0; j != r->ioas[h->ioas].nmaps; j++) {
			m = &r->ioas[h->ioas].map[j];
			EXPECT_OK(mock_check_map(r->fd, h->id, m->iova, m->va,
						 m->len)) {
				TH_LOG("%s: HWPT %u does not translate IOVA 0x%llx+0x%llx",
				       where, h->id, (unsigned long long)m->iova,
				       (unsigned long long)m->len);
				r->fx->problems++;
			}
		}
	}
}

/* Usable ranges and alignment are what the body last read */
static void check_ranges(struct __test_metadata *_metadata, struct run *r,
			 const char *where)
{
	struct iommu_iova_range now[RUN_RANGES];
	struct ioas_rec *io;
	__u32 num;
	__u64 align;
	int i, rc;

	for (i = 0; i != RUN_IOAS; i++) {
		io = &r->ioas[i];
		if (!io->id || !io->ranges_known)
			continue;
		num = RUN_RANGES;
		rc = ioas_ranges(r->fd, io->id, now, &num, &align);
		if (!rc && (num != io->nranges || align != io->align ||
			    memcmp(now, io->ranges, num * sizeof(now[0]))))
			rc = -EBADE;
		EXPECT_OK(rc) {
			TH_LOG("%s: IOAS %u ranges or alignment changed by a failed call",
			       where, io->id);
			r->fx->problems++;
		}
	}
}

/*
 * Each IOAS holds exactly the ledger's bytes: unmapping everything must
 * find that many. This empties the IOASes, so sweep_one() does it after
 * every other run only; after the others the release paths meet whatever
 * a failure left behind.
 */
static void check_ioas(struct __test_metadata *_metadata, struct run *r,
		       const char *where)
{
	__u64 unmapped, want;
	int i, rc;

	for (i = 0; i != RUN_IOAS; i++) {
		if (!r->ioas[i].id)
			continue;
		want = ledger_bytes(&r->ioas[i]);
		unmapped = 0;
		rc = ioas_unmap_all(r->fd, r->ioas[i].id, &unmapped);
		EXPECT_OK(rc) {
			TH_LOG("%s: unmapping IOAS %u: %s", where,
			       r->ioas[i].id, strerror(-rc));
			r->fx->problems++;
		}
		EXPECT_EQ(want, unmapped) {
			TH_LOG("%s: IOAS %u held 0x%llx bytes, 0x%llx expected",
			       where, r->ioas[i].id,
			       (unsigned long long)unmapped,
			       (unsigned long long)want);
			r->fx->problems++;
		}
	}
}

/* A failed call left the context usable */
static void check_usable(struct __test_metadata *_metadata, struct run *r,
			 const char *where)
{
	__u32 id;
	int rc;

	rc = ioas_alloc(r->fd, &id);
	if (!rc)
		rc = obj_destroy(r->fd, id);
	EXPECT_OK(rc) {
		TH_LOG("%s: context unusable: %s", where, strerror(-rc));
		r->fx->problems++;
	}
}

/* Close @fd if open; that must succeed */
static void close_checked(struct __test_metadata *_metadata, struct run *r,
			  int fd, const char *what, const char *where)
{
	if (fd < 0)
		return;
	EXPECT_OK(close(fd)) {
		TH_LOG("%s: closing %s: %s", where, what, strerror(errno));
		r->fx->problems++;
	}
}

/* Close what the run left open */
static void run_close_all(struct __test_metadata *_metadata, struct run *r,
			  const char *where)
{
	int i;

	for (i = 0; i != RUN_ACCESS; i++)
		close_checked(_metadata, r, r->access[i], "an access", where);
	close_checked(_metadata, r, r->fault_fd, "the fault fd", where);
	close_checked(_metadata, r, r->fd, "the context", where);
}

/* Fill a buffer and make sure each page is present before any run */
static void *fresh_buffer(size_t len, int fill)
{
	char *p = alloc_shared(len, page_size);

	if (p != MAP_FAILED)
		memset(p, fill, len);
	return p;
}

/* A memfd of FILE_LEN bytes and its mapping, page cache populated */
static int fresh_file(struct sweep_env *env)
{
	env->mfd = memfd_create("iommufd_fail_nth", MFD_CLOEXEC);
	if (env->mfd < 0)
		return -errno;
	if (ftruncate(env->mfd, FILE_LEN))
		return -errno;
	env->file_va = mmap(NULL, FILE_LEN, PROT_READ | PROT_WRITE,
			    MAP_SHARED, env->mfd, 0);
	if (env->file_va == MAP_FAILED)
		return -errno;
	memset(env->file_va, 0xf1, FILE_LEN);
	return 0;
}

/* No page may keep a pin once everything is closed */
static void check_pins(struct __test_metadata *_metadata,
		       struct sweep_env *env, const char *where)
{
	int fd, rc_buf, rc_file, rc_other;

	fd = iommufd_open();
	ASSERT_LE(0, fd) TH_LOG("%s: reopening /dev/iommu", where);
	rc_buf = mock_check_pins(fd, env->buf, BUF_LEN, 0);
	rc_file = mock_check_pins(fd, env->file_va, FILE_LEN, 0);
	/* The dirty bitmap's pages are pinned while the kernel fills it */
	rc_other = mock_check_pins(fd, env->scratch, SCRATCH_LEN, 0);
	if (!rc_other && env->huge)
		rc_other = mock_check_pins(fd, env->huge, HUGE_LEN, 0);
	if (!rc_other && env->frag)
		rc_other = mock_check_pins(fd, env->frag, FRAG_LEN, 0);
	ASSERT_OK(close(fd));
	/* Scratch, huge and scattered pages are not replaced: stop there */
	ASSERT_OK(rc_other)
		TH_LOG("%s: scratch, hugetlb or scattered pages still pinned (%s)",
		       where, strerror(-rc_other));
	EXPECT_OK(rc_buf) TH_LOG("%s: pages of the buffer still pinned (%s)",
				 where, strerror(-rc_buf));
	EXPECT_OK(rc_file) TH_LOG("%s: pages of the memfd still pinned (%s)",
				  where, strerror(-rc_file));
	/* Go on with fresh memory, the leaked pages left as they are */
	if (rc_buf) {
		env->problems++;
		env->buf = fresh_buffer(BUF_LEN, 0xb5);
		ASSERT_NE(MAP_FAILED, env->buf);
	}
	if (rc_file) {
		env->problems++;
		ASSERT_OK(fresh_file(env));
	}
}

/* RLIMIT accounting is back to where it was */
static void check_accounting(struct __test_metadata *_metadata,
			     struct sweep_env *env, const char *where)
{
	long pin = proc_status_kib("VmPin"), lck = proc_status_kib("VmLck");

	EXPECT_EQ(env->vm_pin, pin)
		TH_LOG("%s: VmPin is %ld KiB, was %ld KiB", where, pin,
		       env->vm_pin);
	EXPECT_EQ(env->vm_lck, lck)
		TH_LOG("%s: VmLck is %ld KiB, was %ld KiB", where, lck,
		       env->vm_lck);
	if (pin != env->vm_pin || lck != env->vm_lck) {
		env->problems++;
		env->vm_pin = pin;
		env->vm_lck = lck;
	}
}

/* Does this kernel log line report a kernel problem? */
static bool kmsg_is_problem(const char *msg)
{
	static const char *const bad[] = {
		"WARNING:", "BUG:", "Oops", "general protection fault",
		"possible circular locking", "possible recursive locking",
		"inconsistent lock state", "suspicious RCU usage",
		"INFO: possible", "INFO: task", "kernel BUG", "UBSAN:",
		"KASAN:", "Kernel panic", "refcount_t:", "list_add corruption",
		"list_del corruption",
	};
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(bad); i++) {
		if (strstr(msg, bad[i]))
			return true;
	}
	return false;
}

/* Leave a line in the kernel log, to tie a report to a scenario and N */
static int kmsg_mark(const char *what)
{
	char line[200];
	ssize_t n;
	int fd, len;

	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = snprintf(line, sizeof(line), "iommufd_fail_nth: %s\n", what);
	n = write(fd, line, len);
	close(fd);
	return n == len ? 0 : -EIO;
}

/* Read the kernel log since the last call; complain about any report */
static void check_kmsg(struct __test_metadata *_metadata,
		       struct sweep_env *env, const char *where)
{
	char rec[1024], mark[160];
	bool found = false;
	char *msg;
	ssize_t n;

	if (env->kmsg_fd < 0)
		return;
	for (;;) {
		n = read(env->kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* records were overwritten: go on */
		if (n <= 0)
			break;
		rec[n] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		EXPECT_FALSE(kmsg_is_problem(msg)) {
			TH_LOG("%s: kernel: %.*s", where,
			       (int)strcspn(msg, "\n"), msg);
			found = true;
		}
	}
	if (found) {
		env->problems++;
		snprintf(mark, sizeof(mark), "the report above came from %s",
			 where);
		kmsg_mark(mark);
	}
}

/*
 * A scenario, and the sweep over its injection points
 */

struct scenario {
	/* Uninjected, on a fresh context: NULL, or why the test must skip */
	const char *(*probe)(struct sweep_env *env);
	/* Uninjected set-up; must succeed */
	int (*prepare)(struct run *r);
	/* The calls under test */
	int (*body)(struct run *r);
};

/* Everything run_check() and sweep_one() need to know about the run */
struct sweep_state {
	const char *name;
	unsigned int nth;		/* the point failed, 0: none */
	char where[96];			/* "<name> nth=<nth>", for messages */
};

/* All the checks that follow a run, the injection disarmed */
static void run_check(struct __test_metadata *_metadata,
		      struct sweep_env *env, struct run *r,
		      const struct sweep_state *st)
{
	const char *where = st->where;

	if (r->fd >= 0) {
		check_hwpts(_metadata, r, where);
		check_ranges(_metadata, r, where);
		if (!(st->nth & 1))
			check_ioas(_metadata, r, where);
		check_usable(_metadata, r, where);
	}
	run_close_all(_metadata, r, where);
	check_pins(_metadata, env, where);
	check_accounting(_metadata, env, where);
	check_kmsg(_metadata, env, where);
	ASSERT_GT(SWEEP_MAX_PROBLEMS, env->problems)
		TH_LOG("%s: too many problems, giving up", where);
}

/*
 * One run with point @st->nth failed (0: none). Returns how many points the
 * run was short of it (0 when it fired; 1 when nothing was armed).
 */
static long sweep_one(struct __test_metadata *_metadata,
		      struct sweep_env *env, const struct scenario *sc,
		      const struct sweep_state *st)
{
	struct run r;
	long left = 1;
	int rc;

	run_init(&r, env);
	rc = sc->prepare(&r);
	ASSERT_OK(rc) TH_LOG("%s: set-up failed at %s: %s", st->where,
			     r.failed ?: "?", strerror(-rc));
	if (st->nth)
		ASSERT_OK(nth_arm(env->nth_fd, st->nth));
	rc = sc->body(&r);
	if (st->nth)
		left = nth_disarm(env->nth_fd);
	ASSERT_LE(0, left) TH_LOG("%s: reading fail-nth", st->where);
	/* With no point failed, every call must have succeeded */
	if (left)
		EXPECT_OK(rc) TH_LOG("%s: %s failed with nothing injected: %s",
				     st->where, r.failed ?: "?",
				     strerror(-rc));
	run_check(_metadata, env, &r, st);
	return left;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sweep(struct __test_metadata *_metadata,
		  struct sweep_env *env, const char *name,
		  const struct scenario *sc)
{
	struct sweep_state st = { .name = name };
	double start = now_seconds();
	const char *why;
	long left;

	if (sc->probe) {
		probe_broken = false;
		why = sc->probe(env);
		ASSERT_FALSE(probe_broken) TH_LOG("%s", why);
		if (why)
			SKIP(return, "%s", why);
	}
	snprintf(st.where, sizeof(st.where), "%s begins", name);
	kmsg_mark(st.where);
	for (st.nth = 0; st.nth <= SWEEP_CAP + 1; st.nth++) {
		snprintf(st.where, sizeof(st.where), "%s nth=%u", name, st.nth);
		left = sweep_one(_metadata, env, sc, &st);
		if (st.nth && left)
			break;
	}
	ASSERT_GE(SWEEP_CAP + 1, st.nth)
		TH_LOG("%s: more than %u injection points", name, SWEEP_CAP);
	/* The sweep assumes run N + 1 meets the first N points of run N */
	if (left != 1)
		TH_LOG("%s: note: the last run passed %ld points, not %u",
		       name, (long)st.nth - left, st.nth - 1);
	TH_LOG("%s: %ld injection points swept in %.1f s", name,
	       (long)st.nth - left, now_seconds() - start);
	snprintf(st.where, sizeof(st.where), "%s ends: %ld points", name,
		 (long)st.nth - left);
	kmsg_mark(st.where);
}

/* Fault in enough stack that no run takes a page fault on it */
static void touch_stack(void)
{
	char pad[64 * 1024];

	memset(pad, 1, sizeof(pad));
	/* Keep the compiler from dropping the stores */
	asm volatile("" : : "r"(pad) : "memory");
}

/* Can mock devices be created here at all? 0 or -errno */
static int mock_device_probe(void)
{
	__u32 ioas_id, stdev_id;
	int fd, rc;

	fd = iommufd_open();
	if (fd < 0)
		return fd;
	rc = ioas_alloc(fd, &ioas_id);
	if (!rc)
		rc = mock_domain(fd, ioas_id, &stdev_id, NULL, NULL);
	close(fd);
	return rc;
}

FIXTURE_SETUP(fail_nth)
{
	struct sweep_env *env = &self->env;
	char path[64];
	int rc;

	env->nth_fd = -1;
	env->kmsg_fd = -1;
	env->mfd = -1;
	if (fi_skip)
		SKIP(return, "%s", fi_skip);
	ASSERT_MOCK();
	rc = mock_device_probe();
	ASSERT_OK(rc) TH_LOG("no mock device can be created: %s",
			     strerror(-rc));

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	env->nth_fd = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, env->nth_fd) TH_LOG("%s: %s", path, strerror(errno));
	env->kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (env->kmsg_fd >= 0)
		lseek(env->kmsg_fd, 0, SEEK_END);

	env->buf = fresh_buffer(BUF_LEN, 0xb5);
	ASSERT_NE(MAP_FAILED, env->buf);
	env->scratch = fresh_buffer(SCRATCH_LEN, 0);
	ASSERT_NE(MAP_FAILED, env->scratch);
	ASSERT_OK(fresh_file(env));
	touch_stack();
	env->vm_pin = proc_status_kib("VmPin");
	env->vm_lck = proc_status_kib("VmLck");
	if (!fi_have_iommufd)
		TH_LOG("no debugfs fail_iommufd: allocations only");
}

FIXTURE_TEARDOWN(fail_nth)
{
	struct sweep_env *env = &self->env;
	int fd;

	if (env->nth_fd >= 0)
		close(env->nth_fd);
	if (env->kmsg_fd >= 0)
		close(env->kmsg_fd);
	/* The pinning batch limit is global: give it back */
	fd = iommufd_open();
	if (fd >= 0) {
		mock_temp_memory_limit(fd, DEFAULT_TEMP_MEMORY_LIMIT);
		close(fd);
	}
}

/* Most scenarios start from a context with the small batch limit */
static int prep_ctx(struct run *r)
{
	int rc = r_open(r);

	if (!rc)
		rc = note(r, "SET_TEMP_MEMORY_LIMIT",
			  mock_temp_memory_limit(r->fd, SWEEP_MEMORY_LIMIT));
	return rc;
}

/* prep_ctx() and an IOAS in slot 0 */
static int prep_ioas(struct run *r)
{
	int rc = prep_ctx(r);

	if (!rc)
		rc = r_ioas_alloc(r, 0);
	return rc;
}

/* prep_ioas() and mock device 0 attached to it */
static int prep_device(struct run *r)
{
	int rc = prep_ioas(r);

	if (!rc)
		rc = r_mock_domain(r, 0, r->ioas[0].id, 0, 0);
	return rc;
}

/*
 * Probe helpers: a throw-away context, an IOAS, maybe a device
 */

struct probe_ctx {
	int fd;
	__u32 ioas_id;
	__u32 stdev_id;
	__u32 hwpt_id;
	__u32 idev_id;
};

static int probe_open(struct probe_ctx *p, bool device)
{
	int rc;

	p->fd = iommufd_open();
	if (p->fd < 0)
		return p->fd;
	rc = ioas_alloc(p->fd, &p->ioas_id);
	if (!rc && device)
		rc = mock_domain(p->fd, p->ioas_id, &p->stdev_id, &p->hwpt_id,
				 &p->idev_id);
	return rc;
}

/*
 * A probe's verdict: NULL when @feature works. A kernel that does not offer
 * it answers -ENOTTY or -EOPNOTSUPP, and the scenario is skipped; any other
 * error is a broken feature, and the scenario fails (probe_broken).
 */
static const char *missing(int rc, const char *feature)
{
	static char why[128];

	if (!rc)
		return NULL;
	probe_broken = rc != -ENOTTY && rc != -EOPNOTSUPP;
	snprintf(why, sizeof(why), "%s is %s here (%s)", feature,
		 probe_broken ? "broken" : "not supported", strerror(-rc));
	return why;
}

/*
 * Scenario: IOAS life. Allocation, ranges, allowed IOVAs, maps at IOVAs
 * of the kernel's and of our choosing, copies between and within IOASes,
 * unmaps, and an IOAS destroyed with a mapping. No device: nothing is
 * pinned.
 */

static int ioas_basic_prepare(struct run *r)
{
	return r_open(r);
}

static int ioas_basic_body(struct run *r)
{
	__u64 a = 0, f = IOVA_BASE + (32 << 20), c1 = 0;
	__u64 c2 = IOVA_BASE + (48 << 20);
	char *buf = r->fx->buf;
	int rc;

	rc = r_ioas_alloc(r, 0);
	if (!rc)
		rc = r_ranges(r, 0);
	if (!rc)
		rc = r_allow(r, 0, IOVA_BASE, IOVA_BASE + (64 << 20) - 1);
	if (!rc)
		rc = r_ranges(r, 0);
	if (!rc)
		rc = r_map(r, 0, buf, BUF_LEN / 2, &a);
	if (!rc)
		rc = r_map(r, 0, buf + BUF_LEN / 2, BUF_LEN / 4, &f);
	if (!rc)
		rc = r_ioas_alloc(r, 1);
	if (!rc)
		rc = r_copy(r, 1, 0, a + page_size, 8 * page_size, &c1);
	if (!rc)
		rc = r_copy(r, 0, 0, f, BUF_LEN / 4, &c2);
	if (!rc)
		rc = r_unmap(r, 0, f, BUF_LEN / 4);
	if (!rc)
		rc = r_unmap(r, 1, 0, UNMAP_ALL_LENGTH);
	if (!rc)
		rc = r_map(r, 1, buf, 4 * page_size, &c1);
	if (!rc)
		rc = r_ioas_alloc(r, 2);
	if (!rc)
		rc = r_copy(r, 2, 1, c1, 4 * page_size, &c2);
	/* An IOAS goes with its mappings */
	if (!rc)
		rc = r_ioas_destroy(r, 1);
	return rc;
}

static const struct scenario ioas_basic = {
	.prepare = ioas_basic_prepare,
	.body = ioas_basic_body,
};

/*
 * Scenario: memfd mappings with a device attached, so the file's pages are
 * pinned, and an access that pins and reads them too; the accounting moved
 * to the caller (who owns it already) with and without the access's pin.
 */

static const char *map_file_probe(struct sweep_env *env)
{
	struct probe_ctx p;
	__u64 iova = 0;
	int rc;

	rc = probe_open(&p, false);
	if (!rc)
		rc = ioas_map_file(p.fd, p.ioas_id, env->mfd, 0, page_size,
				   &iova, IOMMU_IOAS_MAP_READABLE);
	if (rc) {
		close(p.fd);
		return missing(rc, "IOMMU_IOAS_MAP_FILE");
	}
	rc = fi_change_process(p.fd);
	env->can_change_process = !rc;
	close(p.fd);
	/* Without CHANGE_PROCESS the scenario runs without it; broken fails */
	missing(rc, "IOMMU_IOAS_CHANGE_PROCESS");
	return NULL;
}

static int map_file_body(struct run *r)
{
	__u64 a = 0, f = IOVA_BASE + (8 << 20), b = 0;
	int rc;

	rc = r_map_file(r, 0, 0, FILE_LEN, &a);
	if (!rc)
		rc = r_map_file(r, 0, FILE_LEN / 4, FILE_LEN / 2, &f);
	if (!rc && r->fx->can_change_process)
		rc = note(r, "IOMMU_IOAS_CHANGE_PROCESS",
			  fi_change_process(r->fd));
	if (!rc)
		rc = r_access_create(r, 0, 0,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	if (!rc)
		rc = r_pin(r, 0, 0, f, 4 * page_size, 0);
	if (!rc)
		rc = r_rw(r, 0, f + page_size - 3, 2 * page_size,
			  MOCK_ACCESS_RW_SLOW_PATH);
	if (!rc)
		rc = r_unmap(r, 0, a, FILE_LEN);
	if (!rc)
		rc = r_map_file(r, 0, page_size, FILE_LEN / 4, &b);
	/* Moving the charges while an access holds a pin */
	if (!rc && r->fx->can_change_process)
		rc = note(r, "IOMMU_IOAS_CHANGE_PROCESS",
			  fi_change_process(r->fd));
	if (!rc)
		rc = r_access_close(r, 0);
	return rc;
}

static const struct scenario map_file = {
	.probe = map_file_probe,
	.prepare = prep_device,
	.body = map_file_body,
};

/*
 * Scenario: IOMMU_OPTION. Per-process accounting chosen on a fresh context
 * (pins then show in VmLck); huge pages turned off on an IOAS with a
 * mapping but no domain yet (iommufd refuses while both exist), a domain
 * filled that way, and huge pages allowed again under the pinned mapping.
 */

static int option_body(struct run *r)
{
	__u64 a = IOVA_BASE, b = 0;
	int rc;

	rc = r_option(r, IOMMU_OPTION_RLIMIT_MODE, 0, 1);
	if (!rc)
		rc = r_ioas_alloc(r, 0);
	if (!rc)
		rc = r_map(r, 0, r->fx->buf, BUF_LEN / 4, &a);
	if (!rc)
		rc = r_ranges(r, 0);
	if (!rc)
		rc = r_option(r, IOMMU_OPTION_HUGE_PAGES, r->ioas[0].id, 0);
	if (!rc)
		rc = r_mock_domain(r, 0, r->ioas[0].id, 0, 0);
	if (!rc)
		rc = r_option(r, IOMMU_OPTION_HUGE_PAGES, r->ioas[0].id, 1);
	if (!rc)
		rc = r_map(r, 0, r->fx->buf + BUF_LEN / 2, BUF_LEN / 4, &b);
	if (!rc)
		rc = r_unmap(r, 0, a, BUF_LEN / 4);
	return rc;
}

static const struct scenario option = {
	.prepare = prep_ctx,
	.body = option_body,
};

/*
 * Scenario: one mock device. Its auto domain gets maps, including a
 * sub-page one, and unmaps, one of them over two areas; the device goes
 * away under live mappings and a new one fills a new domain from them.
 */

static int domain_map_body(struct run *r)
{
	__u64 a = 0, f = IOVA_BASE + (8 << 20), s = 0;
	__u64 g = IOVA_BASE + (12 << 20), g2 = g + BUF_LEN / 4;
	char *buf = r->fx->buf;
	int rc;

	rc = r_ranges(r, 0);
	if (!rc)
		rc = r_mock_domain(r, 0, r->ioas[0].id, 0, 0);
	if (!rc)
		rc = r_map(r, 0, buf, BUF_LEN / 2, &a);
	if (!rc)
		rc = r_map(r, 0, buf + BUF_LEN / 2, 8 * page_size, &f);
	if (!rc)
		rc = r_unmap(r, 0, a, BUF_LEN / 2);
	if (!rc)
		rc = r_map(r, 0, buf + page_size / 2, 8 * page_size, &s);
	/* Two adjacent areas, unmapped by one call */
	if (!rc)
		rc = r_map(r, 0, buf, BUF_LEN / 4, &g);
	if (!rc)
		rc = r_map(r, 0, buf + BUF_LEN / 4, BUF_LEN / 4, &g2);
	if (!rc)
		rc = r_unmap(r, 0, g, BUF_LEN / 2);
	if (!rc)
		rc = r_dev_destroy(r, 0);
	if (!rc)
		rc = r_mock_domain(r, 1, r->ioas[0].id, 0, 0);
	return rc;
}

static const struct scenario domain_map = {
	.prepare = prep_ioas,
	.body = domain_map_body,
};

/*
 * Scenario: devices sharing an auto domain, and a second, explicitly
 * allocated HWPT on the same IOAS with a device of its own.
 */

static int two_domains_prepare(struct run *r)
{
	__u64 a = IOVA_BASE;
	int rc = prep_ioas(r);

	if (!rc)
		rc = r_map(r, 0, r->fx->buf, BUF_LEN / 4, &a);
	return rc;
}

static int two_domains_body(struct run *r)
{
	__u64 b = 0;
	int h, rc;

	rc = r_ranges(r, 0);
	if (!rc)
		rc = r_mock_domain(r, 0, r->ioas[0].id, 0, 0);
	if (!rc)
		rc = r_mock_domain(r, 1, r->ioas[0].id, 0, 0);
	if (!rc)
		rc = r_hwpt_alloc(r, 0, 0, 0, &h);
	if (!rc)
		rc = r_mock_domain(r, 2, r->hwpt[h].id, -1, 0);
	if (!rc)
		rc = r_map(r, 0, r->fx->buf + BUF_LEN / 2, BUF_LEN / 4, &b);
	if (!rc)
		rc = r_unmap(r, 0, r->ioas[0].map[0].iova,
			     r->ioas[0].map[0].len);
	if (!rc)
		rc = r_dev_destroy(r, 2);
	if (!rc)
		rc = r_hwpt_destroy(r, h);
	if (!rc)
		rc = r_dev_destroy(r, 0);
	return rc;
}

static const struct scenario two_domains = {
	.prepare = two_domains_prepare,
	.body = two_domains_body,
};

/*
 * Scenario: domains filled from an IOAS that already has mappings (two
 * maps, one of them partly pinned by an access, and a copy), by attaching
 * devices and by allocating a HWPT. The IOVAs are fixed: with no domain
 * yet, the kernel may choose IOVAs outside the mock's aperture.
 */

static int domain_fill_prepare(struct run *r)
{
	__u64 f = IOVA_BASE, a = IOVA_BASE + (4 << 20);
	__u64 c = IOVA_BASE + (8 << 20);
	char *buf = r->fx->buf;
	int rc = prep_ioas(r);

	if (!rc)
		rc = r_map(r, 0, buf, BUF_LEN / 4, &f);
	if (!rc)
		rc = r_map(r, 0, buf + BUF_LEN / 4, 8 * page_size, &a);
	if (!rc)
		rc = r_copy(r, 0, 0, f + page_size, 4 * page_size, &c);
	if (!rc)
		rc = r_access_create(r, 0, 0,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	if (!rc)
		rc = r_pin(r, 0, 0, f, 8 * page_size, 0);
	return rc;
}

static int domain_fill_body(struct run *r)
{
	int h, rc;

	rc = r_ranges(r, 0);
	if (!rc)
		rc = r_mock_domain(r, 0, r->ioas[0].id, 0, 0);
	if (!rc)
		rc = r_mock_domain(r, 1, r->ioas[0].id, 0,
				   MOCK_FLAGS_DEVICE_HUGE_IOVA);
	if (!rc)
		rc = r_hwpt_alloc(r, 0, 0, IOMMU_HWPT_ALLOC_NEST_PARENT, &h);
	if (!rc)
		rc = r_dev_destroy(r, 1);
	if (!rc)
		rc = r_dev_destroy(r, 0);
	return rc;
}

static const struct scenario domain_fill = {
	.prepare = domain_fill_prepare,
	.body = domain_fill_body,
};

/*
 * Scenario: MOCK_DOMAIN_REPLACE of one device between two IOASes (auto
 * domains) and an explicit HWPT, ending with the device destroyed.
 */

static int replace_prepare(struct run *r)
{
	__u64 a = IOVA_BASE, b = IOVA_BASE;
	char *buf = r->fx->buf;
	int rc = prep_ioas(r);

	if (!rc)
		rc = r_ioas_alloc(r, 1);
	if (!rc)
		rc = r_map(r, 0, buf, BUF_LEN / 4, &a);
	if (!rc)
		rc = r_map(r, 1, buf + BUF_LEN / 2, BUF_LEN / 4, &b);
	if (!rc)
		rc = r_mock_domain(r, 0, r->ioas[0].id, 0, 0);
	return rc;
}

static int replace_body(struct run *r)
{
	__u64 c = 0;
	int h, rc;

	rc = r_ranges(r, 0);
	if (!rc)
		rc = r_ranges(r, 1);
	if (!rc)
		rc = r_hwpt_alloc(r, 0, 1, 0, &h);
	if (!rc)
		rc = r_replace(r, 0, r->ioas[1].id, 1);
	if (!rc)
		rc = r_replace(r, 0, r->hwpt[h].id, -1);
	if (!rc)
		rc = r_replace(r, 0, r->ioas[0].id, 0);
	if (!rc)
		rc = r_map(r, 0, r->fx->buf + BUF_LEN / 4, 8 * page_size, &c);
	if (!rc)
		rc = r_replace(r, 0, r->hwpt[h].id, -1);
	if (!rc)
		rc = r_dev_destroy(r, 0);
	if (!rc)
		rc = r_hwpt_destroy(r, h);
	return rc;
}

static const struct scenario replace = {
	.prepare = replace_prepare,
	.body = replace_body,
};

/*
 * Scenario: a 2 MiB hugetlb page, mapped whole into a domain with large
 * IOPTEs and one with CPU-page IOPTEs, partly pinned by an access, copied
 * in part, and a page out of its middle mapped on its own.
 */

static const char *huge_probe(struct sweep_env *env)
{
	char *p;

	if (env->huge)
		return NULL;
	p = mmap(NULL, HUGE_LEN, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE,
		 -1, 0);
	if (p == MAP_FAILED)
		return "no 2 MiB hugetlb page available";
	memset(p, 0x4e, HUGE_LEN);
	env->huge = p;
	return NULL;
}

static int huge_body(struct run *r)
{
	__u64 h = IOVA_BASE + (4 << 20), c = 0, p = 0;
	char *huge = r->fx->huge;
	int rc;

	rc = r_ranges(r, 0);
	if (!rc)
		rc = r_mock_domain(r, 0, r->ioas[0].id, 0,
				   MOCK_FLAGS_DEVICE_HUGE_IOVA);
	if (!rc)
		rc = r_map(r, 0, huge, HUGE_LEN, &h);
	if (!rc)
		rc = r_mock_domain(r, 1, r->ioas[0].id, 0, 0);
	if (!rc)
		rc = r_access_create(r, 0, 0,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	if (!rc)
		rc = r_pin(r, 0, 0, h + HUGE_LEN / 2, 16 * page_size, 0);
	if (!rc)
		rc = r_copy(r, 0, 0, h + HUGE_LEN / 4, HUGE_LEN / 4, &c);
	if (!rc)
		rc = r_map(r, 0, huge + 3 * page_size, page_size, &p);
	if (!rc)
		rc = r_unpin(r, 0, 0);
	if (!rc)
		rc = r_dev_destroy(r, 1);
	if (!rc)
		rc = r_unmap(r, 0, c, HUGE_LEN / 4);
	if (!rc)
		rc = r_access_close(r, 0);
	return rc;
}

static const struct scenario huge = {
	.probe = huge_probe,
	.prepare = prep_ioas,
	.body = huge_body,
};

/*
 * Scenario: access_rw through accesses that do and do not pin, on an IOAS
 * without a domain, then the accesses closed.
 */

static int access_rw_prepare(struct run *r)
{
	__u64 a = 0;
	int rc = prep_ioas(r);

	if (!rc)
		rc = r_map(r, 0, r->fx->buf, BUF_LEN / 2, &a);
	return rc;
}

static int access_rw_body(struct run *r)
{
	__u64 iova = r->ioas[0].map[0].iova;
	int rc;

	rc = r_ranges(r, 0);
	if (!rc)
		rc = r_access_create(r, 0, 0, 0);
	if (!rc)
		rc = r_rw_all(r, 0, iova);
	if (!rc)
		rc = r_access_create(r, 1, 0,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	if (!rc)
		rc = r_rw(r, 1, iova + 3 * page_size - 5, 2 * page_size,
			  MOCK_ACCESS_RW_WRITE);
	if (!rc)
		rc = r_access_close(r, 0);
	if (!rc)
		rc = r_access_close(r, 1);
	return rc;
}

static const struct scenario access_rw = {
	.prepare = access_rw_prepare,
	.body = access_rw_body,
};

/*
 * Scenario: an access pins, unpins, has a pin taken away by an unmap (the
 * unmap notification), moves to another IOAS, pins there and is closed
 * with that pin live.
 */

static int access_pin_prepare(struct run *r)
{
	__u64 a = IOVA_BASE, b = IOVA_BASE;
	int rc = prep_ioas(r);

	if (!rc)
		rc = r_ioas_alloc(r, 1);
	if (!rc)
		rc = r_map(r, 0, r->fx->buf, BUF_LEN / 2, &a);
	if (!rc)
		rc = r_map(r, 1, r->fx->buf + BUF_LEN / 2, BUF_LEN / 4, &b);
	return rc;
}

static int access_pin_body(struct run *r)
{
	int rc;

	rc = r_ranges(r, 0);
	if (!rc)
		rc = r_access_create(r, 0, 0,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	if (!rc)
		rc = r_pin(r, 0, 0, IOVA_BASE, BUF_LEN / 4, 0);
	if (!rc)
		rc = r_pin(r, 0, 0, IOVA_BASE + BUF_LEN / 4, 8 * page_size, 1);
	if (!rc)
		rc = r_unpin(r, 0, 0);
	if (!rc)
		rc = r_unmap(r, 0, IOVA_BASE, BUF_LEN / 2);
	if (!rc)
		rc = r_ranges(r, 1);
	if (!rc)
		rc = r_access_replace(r, 0, 1);
	if (!rc)
		rc = r_pin(r, 0, 1, IOVA_BASE + page_size, 8 * page_size, 2);
	if (!rc)
		rc = r_access_close(r, 0);
	return rc;
}

static const struct scenario access_pin = {
	.prepare = access_pin_prepare,
	.body = access_pin_body,
};

/*
 * Scenario: accesses on an IOAS whose pages a domain pinned already; the
 * pinning access shares the pins and is closed with one live, then the
 * device goes.
 */

static int access_domain_prepare(struct run *r)
{
	__u64 a = 0;
	int rc = prep_device(r);

	if (!rc)
		rc = r_map(r, 0, r->fx->buf, BUF_LEN / 2, &a);
	return rc;
}

static int access_domain_body(struct run *r)
{
	__u64 iova = r->ioas[0].map[0].iova;
	int rc;

	rc = r_access_create(r, 0, 0,
			     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	if (!rc)
		rc = r_pin(r, 0, 0, iova, BUF_LEN / 2, 0);
	if (!rc)
		rc = r_rw(r, 0, iova + 5, 2 * page_size, 0);
	if (!rc)
		rc = r_unpin(r, 0, 0);
	if (!rc)
		rc = r_pin(r, 0, 0, iova + 4 * page_size, 8 * page_size, 1);
	if (!rc)
		rc = r_access_create(r, 1, 0, 0);
	if (!rc)
		rc = r_rw(r, 1, iova + page_size - 8, 64,
			  MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH);
	if (!rc)
		rc = r_access_close(r, 1);
	if (!rc)
		rc = r_access_close(r, 0);
	if (!rc)
		rc = r_dev_destroy(r, 0);
	return rc;
}

static const struct scenario access_domain = {
	.prepare = access_domain_prepare,
	.body = access_domain_body,
};

/*
 * Scenario: scattered memory whose PFNs the first domain keeps. A second
 * domain is filled from it; an access pin takes a chunk back (allocating);
 * a second map keeps its own and is unmapped (reading, unmapping and
 * unpinning in stretches, the scratch memory allocated or not); the first
 * domain leaves, the second keeps; a copy gets a domain of its own, which
 * takes the other chunk back from the second.
 */

static int kept_prepare(struct run *r)
{
	__u64 a = IOVA_BASE;
	int rc;

	if (!r->fx->frag) {
		/* The store's chunks are aligned to the address */
		char *frag = alloc_fragmented(FRAG_LEN, FRAG_CHUNK);

		if (frag == MAP_FAILED)
			return note(r, "alloc_fragmented", -errno);
		r->fx->frag = frag;
	}
	rc = prep_device(r);
	if (!rc)
		rc = r_map(r, 0, r->fx->frag, FRAG_LEN, &a);
	return rc;
}

static int kept_body(struct run *r)
{
	__u64 b = 0, c = IOVA_BASE;
	int h, rc;

	rc = r_hwpt_alloc(r, 0, 0, 0, &h);
	if (!rc)
		rc = r_access_create(r, 0, 0,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	if (!rc)
		rc = r_pin(r, 0, 0, IOVA_BASE + 100 * page_size,
			   3 * page_size, 0);
	if (!rc)
		rc = r_unpin(r, 0, 0);
	if (!rc)
		rc = r_map(r, 0, r->fx->frag, FRAG_LEN, &b);
	if (!rc)
		rc = r_unmap(r, 0, b, FRAG_LEN);
	if (!rc)
		rc = r_dev_destroy(r, 0);
	if (!rc)
		rc = r_ioas_alloc(r, 1);
	if (!rc)
		rc = r_copy(r, 1, 0, IOVA_BASE, FRAG_LEN, &c);
	if (!rc)
		rc = r_mock_domain(r, 1, r->ioas[1].id, 1, 0);
	if (!rc)
		rc = r_access_close(r, 0);
	return rc;
}

static const struct scenario kept = {
	.prepare = kept_prepare,
	.body = kept_body,
};

/*
 * Scenario: IOMMU_GET_HW_INFO, default type with a short buffer, a length
 * query, and the mock's own type asked for with a long buffer.
 */

static int hw_info_body(struct run *r)
{
	__u32 idev = r->dev[0].idev;
	char *out = r->fx->scratch;
	int rc;

	rc = note(r, "IOMMU_GET_HW_INFO",
		  fi_hw_info(r->fd, idev, out, 8, 0));
	if (!rc)
		rc = note(r, "IOMMU_GET_HW_INFO",
			  fi_hw_info(r->fd, idev, NULL, 0, 0));
	if (!rc)
		rc = note(r, "IOMMU_GET_HW_INFO",
			  fi_hw_info(r->fd, idev, out, 64,
				     IOMMU_HW_INFO_TYPE_SELFTEST));
	return rc;
}

static const struct scenario hw_info = {
	.prepare = prep_device,
	.body = hw_info_body,
};

/*
 * Scenario: dirty tracking. A HWPT allocated with DIRTY_TRACKING and a
 * device on it; tracking on, the device "writes", the bitmap read with and
 * without clearing, tracking off, all destroyed.
 */

static const char *dirty_probe(struct sweep_env *env)
{
	struct probe_ctx p;
	__u32 hwpt_id;
	int rc;

	rc = probe_open(&p, true);
	if (!rc)
		rc = hwpt_alloc(p.fd, p.idev_id, p.ioas_id,
				IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt_id);
	if (!rc)
		rc = hwpt_set_dirty(p.fd, hwpt_id, true);
	close(p.fd);
	return missing(rc, "dirty tracking");
}

static int dirty_prepare(struct run *r)
{
	__u64 a = IOVA_BASE;
	int rc = prep_device(r);

	if (!rc)
		rc = r_map(r, 0, r->fx->buf, BUF_LEN / 2, &a);
	return rc;
}

static int dirty_body(struct run *r)
{
	__u64 *bitmap = (__u64 *)r->fx->scratch;
	__u64 len = BUF_LEN / 2;
	__u32 id;
	int h, rc;

	rc = r_ranges(r, 0);
	if (!rc)
		rc = r_hwpt_alloc(r, 0, 0, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				  &h);
	id = rc ? 0 : r->hwpt[h].id;
	if (!rc)
		rc = r_mock_domain(r, 1, id, -1, 0);
	if (!rc)
		rc = note(r, "IOMMU_HWPT_SET_DIRTY_TRACKING",
			  hwpt_set_dirty(r->fd, id, true));
	bitmap[0] = 0x5555555555555555ULL;
	if (!rc)
		rc = note(r, "IOMMU_TEST_OP_DIRTY",
			  mock_dirty_mark(r->fd, id, IOVA_BASE, len, page_size,
					  bitmap, NULL));
	bitmap[0] = 0;
	if (!rc)
		rc = note(r, "IOMMU_HWPT_GET_DIRTY_BITMAP",
			  hwpt_get_dirty(r->fd, id, IOVA_BASE, len, page_size,
					 bitmap,
					 IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	if (!rc)
		rc = note(r, "IOMMU_HWPT_GET_DIRTY_BITMAP",
			  hwpt_get_dirty(r->fd, id, IOVA_BASE, len, page_size,
					 bitmap, 0));
	if (!rc)
		rc = note(r, "IOMMU_HWPT_SET_DIRTY_TRACKING",
			  hwpt_set_dirty(r->fd, id, false));
	if (!rc)
		rc = r_dev_destroy(r, 1);
	if (!rc)
		rc = r_hwpt_destroy(r, h);
	return rc;
}

static const struct scenario dirty = {
	.probe = dirty_probe,
	.prepare = dirty_prepare,
	.body = dirty_body,
};

/*
 * Scenario: nesting. A parent HWPT, a mock nested HWPT on it, the device
 * moved onto it, invalidations, the device moved back, the nested HWPT
 * destroyed, the parent updated by a map, and destroyed in the end.
 */

static const char *nested_probe(struct sweep_env *env)
{
	__u32 parent_id, nested_id;
	struct probe_ctx p;
	int rc;

	rc = probe_open(&p, true);
	if (!rc)
		rc = hwpt_alloc(p.fd, p.idev_id, p.ioas_id,
				IOMMU_HWPT_ALLOC_NEST_PARENT, &parent_id);
	if (!rc)
		rc = hwpt_alloc_mock_nested(p.fd, p.idev_id, parent_id, 0, 0,
					    IOMMU_TEST_IOTLB_DEFAULT,
					    &nested_id);
	close(p.fd);
	return missing(rc, "a nested mock HWPT");
}

static int nested_prepare(struct run *r)
{
	__u64 a = IOVA_BASE;
	int rc = prep_device(r);

	if (!rc)
		rc = r_map(r, 0, r->fx->buf, BUF_LEN / 4, &a);
	return rc;
}

static int nested_body(struct run *r)
{
	int parent, nested, rc;
	__u64 b = 0;

	rc = r_ranges(r, 0);
	if (!rc)
		rc = r_hwpt_alloc(r, 0, 0, IOMMU_HWPT_ALLOC_NEST_PARENT,
				  &parent);
	if (!rc)
		rc = r_hwpt_nested(r, 0, parent, 0, &nested);
	if (!rc)
		rc = r_replace(r, 0, r->hwpt[nested].id, -1);
	if (!rc)
		rc = note(r, "IOMMU_HWPT_INVALIDATE",
			  fi_invalidate(r->fd, r->hwpt[nested].id));
	if (!rc)
		rc = r_replace(r, 0, r->hwpt[parent].id, -1);
	if (!rc)
		rc = r_hwpt_destroy(r, nested);
	if (!rc)
		rc = r_map(r, 0, r->fx->buf + BUF_LEN / 2, 8 * page_size, &b);
	if (!rc)
		rc = r_replace(r, 0, r->ioas[0].id, 0);
	if (!rc)
		rc = r_hwpt_destroy(r, parent);
	return rc;
}

static const struct scenario nested = {
	.probe = nested_probe,
	.prepare = nested_prepare,
	.body = nested_body,
};

/*
 * Scenario: I/O page faults. A fault queue, a nested HWPT delivering to it,
 * the device on it sends a page request, which is read and answered; then
 * everything is taken down, the queue's fd closed before its object.
 */

static const char *fault_probe(struct sweep_env *env)
{
	struct probe_ctx p;
	__u32 fault_id;
	int rc, fault_fd;

	rc = probe_open(&p, false);
	if (!rc)
		rc = fault_queue_new(p.fd, &fault_id, &fault_fd);
	if (!rc)
		close(fault_fd);
	close(p.fd);
	if (rc)
		return missing(rc, "IOMMU_FAULT_QUEUE_ALLOC");
	return nested_probe(env);
}

/* Read the one pending fault and answer it */
static int r_fault_answer(struct run *r)
{
	struct iommu_hwpt_page_response resp = {
		.code = IOMMUFD_PAGE_RESP_SUCCESS,
	};
	struct iommu_hwpt_pgfault rec;
	struct pollfd pfd = { .fd = r->fault_fd, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, 0) != 1)
		return note(r, "poll fault fd", -EAGAIN);
	n = read(r->fault_fd, &rec, sizeof(rec));
	if (n != sizeof(rec))
		return note(r, "read fault fd", n < 0 ? -errno : -EIO);
	resp.cookie = rec.cookie;
	n = write(r->fault_fd, &resp, sizeof(resp));
	if (n != sizeof(resp))
		return note(r, "write fault fd", n < 0 ? -errno : -EIO);
	return 0;
}

static int fault_body(struct run *r)
{
	int parent, nested, rc;

	rc = note(r, "IOMMU_FAULT_QUEUE_ALLOC",
		  fault_queue_new(r->fd, &r->fault_id, &r->fault_fd));
	if (!rc)
		rc = r_hwpt_alloc(r, 0, 0, IOMMU_HWPT_ALLOC_NEST_PARENT,
				  &parent);
	if (!rc)
		rc = r_hwpt_nested(r, 0, parent, r->fault_id, &nested);
	if (!rc)
		rc = r_replace(r, 0, r->hwpt[nested].id, -1);
	if (!rc)
		rc = note(r, "IOMMU_TEST_OP_TRIGGER_IOPF",
			  mock_trigger_iopf(r->fd, r->dev[0].idev, 0, 1,
					    IOMMU_PGFAULT_PERM_READ, IOVA_BASE));
	if (!rc)
		rc = r_fault_answer(r);
	if (!rc)
		rc = r_replace(r, 0, r->hwpt[parent].id, -1);
	if (!rc)
		rc = r_hwpt_destroy(r, nested);
	if (!rc) {
		rc = note(r, "close fault fd", close(r->fault_fd) ? -errno : 0);
		r->fault_fd = -1;
	}
	if (!rc)
		rc = r_destroy(r, &r->fault_id);
	return rc;
}

static const struct scenario fault = {
	.probe = fault_probe,
	.prepare = prep_device,
	.body = fault_body,
};

/*
 * Scenario: the VFIO type1 container ioctls on /dev/iommu. A compat IOAS,
 * type1 (v1: unmaps may split mappings), info, maps, a split unmap, a
 * re-map of the hole and unmap-all.
 */

static const char *vfio_probe(struct sweep_env *env)
{
	struct probe_ctx p;
	int rc;

	rc = probe_open(&p, false);
	if (!rc)
		rc = fi_vfio_ioas(p.fd, IOMMU_VFIO_IOAS_SET, p.ioas_id);
	if (!rc)
		rc = fi_vfio_num(p.fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU);
	close(p.fd);
	return missing(rc, "the VFIO compat ioctls on /dev/iommu");
}

/* VFIO_IOMMU_MAP_DMA of @len bytes of the buffer from @off at @iova */
static int r_vfio_map(struct run *r, __u64 iova, __u64 off, __u64 len)
{
	const char *va = r->fx->buf + off;
	int rc;

	rc = fi_vfio_map(r->fd, iova, va, len);
	if (rc)
		return note(r, "VFIO_IOMMU_MAP_DMA", rc);
	ledger_add(&r->ioas[0], iova, len, va);
	return 0;
}

/*
 * VFIO_IOMMU_UNMAP_DMA; @len 0 unmaps everything. Type1 v1 takes whole
 * mappings: @gone is what really goes from @iova on.
 */
static int r_vfio_unmap(struct run *r, __u64 iova, __u64 len, __u64 gone)
{
	int rc;

	rc = fi_vfio_unmap(r->fd, iova, len);
	if (rc)
		return note(r, "VFIO_IOMMU_UNMAP_DMA", rc);
	ledger_cut(&r->ioas[0], iova, gone ?: UNMAP_ALL_LENGTH);
	return 0;
}

static int vfio_body(struct run *r)
{
	const __u64 base = IOVA_BASE + (1 << 20), half = BUF_LEN / 2;
	int rc;

	rc = r_ranges(r, 0);
	if (!rc)
		rc = note(r, "IOMMU_VFIO_IOAS",
			  fi_vfio_ioas(r->fd, IOMMU_VFIO_IOAS_SET,
				       r->ioas[0].id));
	if (!rc)
		rc = note(r, "VFIO_CHECK_EXTENSION",
			  fi_vfio_num(r->fd, VFIO_CHECK_EXTENSION,
				      VFIO_TYPE1v2_IOMMU));
	if (!rc)
		rc = note(r, "VFIO_SET_IOMMU",
			  ranges_change(r, fi_vfio_num(r->fd, VFIO_SET_IOMMU,
						       VFIO_TYPE1_IOMMU)));
	if (!rc)
		rc = note(r, "VFIO_IOMMU_GET_INFO",
			  fi_vfio_info(r->fd, r->fx->scratch, 1024));
	if (!rc)
		rc = r_vfio_map(r, base, 0, half / 2);
	if (!rc)
		rc = r_vfio_map(r, base + half / 2, half / 2, half / 2);
	/* Covers the second mapping's first page: all of it goes */
	if (!rc)
		rc = r_vfio_unmap(r, base + half / 2, half / 4, half / 2);
	if (!rc)
		rc = r_vfio_map(r, base + half / 2, half, half / 4);
	if (!rc)
		rc = r_vfio_unmap(r, 0, 0, 0);
	if (!rc)
		rc = r_vfio_map(r, base, half, half / 2);
	/* Type1v2 for dirty tracking; then a live update's address change */
	if (!rc)
		rc = note(r, "VFIO_SET_IOMMU",
			  fi_vfio_num(r->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	if (!rc)
		rc = note(r, "VFIO_IOMMU_DIRTY_PAGES",
			  fi_vfio_dirty(r->fd, base, half / 2, r->fx->scratch));
	if (!rc)
		rc = note(r, "VFIO_UPDATE_VADDR",
			  fi_vfio_vaddr(r->fd, base, half / 2,
					r->fx->buf + half));
	return rc;
}

static const struct scenario vfio = {
	.probe = vfio_probe,
	.prepare = prep_device,
	.body = vfio_body,
};

/*
 * Scenario: a context opened and filled with every kind of object (IOASes,
 * maps, auto and explicit HWPTs, devices, pinning and plain accesses, a
 * fault queue when there is one) and then closed while all of it is live:
 * the release paths run under injection too.
 */

static int close_live_prepare(struct run *r)
{
	int fd = iommufd_open();
	int rc;

	if (fd < 0)
		return note(r, "open /dev/iommu", fd);
	rc = note(r, "SET_TEMP_MEMORY_LIMIT",
		  mock_temp_memory_limit(fd, SWEEP_MEMORY_LIMIT));
	close(fd);
	return rc;
}

/* The objects of close_live, up to the point where they are let go */
static int close_live_fill(struct run *r)
{
	__u64 a = 0, b = 0;
	int h, rc;

	rc = r_open(r);
	if (!rc)
		rc = r_ioas_alloc(r, 0);
	if (!rc)
		rc = r_mock_domain(r, 0, r->ioas[0].id, 0, 0);
	if (!rc)
		rc = r_map(r, 0, r->fx->buf, BUF_LEN / 2, &a);
	if (!rc)
		rc = r_hwpt_alloc(r, 0, 0, 0, &h);
	if (!rc)
		rc = r_mock_domain(r, 1, r->hwpt[h].id, -1, 0);
	if (!rc)
		rc = r_access_create(r, 0, 0,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	if (!rc)
		rc = r_pin(r, 0, 0, a, 8 * page_size, 0);
	if (!rc)
		rc = r_access_create(r, 1, 0, 0);
	if (!rc)
		rc = r_ioas_alloc(r, 1);
	if (!rc)
		rc = r_map_file(r, 1, 0, FILE_LEN, &b);
	if (!rc && r->fx->has_fault_queue)
		rc = note(r, "IOMMU_FAULT_QUEUE_ALLOC",
			  fault_queue_new(r->fd, &r->fault_id, &r->fault_fd));
	return rc;
}

static int close_live_body(struct run *r)
{
	int rc = close_live_fill(r);

	/* The accesses keep the context alive until they are closed */
	if (!rc)
		rc = r_close_ctx(r);
	if (!rc)
		rc = r_access_close(r, 1);
	if (!rc && r->fault_fd >= 0) {
		rc = note(r, "close fault fd", close(r->fault_fd) ? -errno : 0);
		r->fault_fd = -1;
	}
	if (!rc)
		rc = r_access_close(r, 0);
	return rc;
}

/* Whether close_live can include a fault queue; it never skips */
static const char *close_live_probe(struct sweep_env *env)
{
	struct probe_ctx p;
	__u32 fault_id;
	int rc, fault_fd;

	rc = probe_open(&p, false);
	if (!rc)
		rc = fault_queue_new(p.fd, &fault_id, &fault_fd);
	env->has_fault_queue = !rc;
	if (!rc)
		close(fault_fd);
	close(p.fd);
	/* Without fault queues the scenario runs without one; broken fails */
	missing(rc, "IOMMU_FAULT_QUEUE_ALLOC");
	return NULL;
}

static const struct scenario close_live = {
	.probe = close_live_probe,
	.prepare = close_live_prepare,
	.body = close_live_body,
};

TEST_F_TIMEOUT(fail_nth, ioas_basic, SWEEP_TIMEOUT)
{
	sweep(_metadata, &self->env, "ioas_basic", &ioas_basic);
}

TEST_F_TIMEOUT(fail_nth, map_file, SWEEP_TIMEOUT)
{
	sweep(_metadata, &self->env, "map_file", &map_file);
}

TEST_F_TIMEOUT(fail_nth, option, SWEEP_TIMEOUT)
{
	sweep(_metadata, &self->env, "option", &option);
}

TEST_F_TIMEOUT(fail_nth, domain_map, SWEEP_TIMEOUT)
{
	sweep(_metadata, &self->env, "domain_map", &domain_map);
}

TEST_F_TIMEOUT(fail_nth, two_domains, SWEEP_TIMEOUT)
{
	sweep(_metadata, &self->env, "two_domains", &two_domains);
}

TEST_F_TIMEOUT(fail_nth, domain_fill, SWEEP_TIMEOUT)
{
	sweep(_metadata, &self->env, "domain_fill", &domain_fill);
}

TEST_F_TIMEOUT(fail_nth, replace, SWEEP_TIMEOUT)
{
	sweep(_metadata, &self->env, "replace", &replace);
}

TEST_F_TIMEOUT(fail_nth, huge, SWEEP_TIMEOUT)
{
	sweep(_metadata, &self->env, "huge", &huge);
}

TEST_F_TIMEOUT(fail_nth, access_rw, SWEEP_TIMEOUT)
{
	sweep(_metadata, &self->env, "access_rw", &access_rw);
}

TEST_F_TIMEOUT(fail_nth, access_pin, SWEEP_TIMEOUT)
{
	sweep(_metadata, &self->env, "access_pin", &access_pin);
}

TEST_F_TIMEOUT(fail_nth, access_domain, SWEEP_TIMEOUT)
{
	sweep(_metadata, &self->env, "access_domain", &access_domain);
}

TEST_F_TIMEOUT(fail_nth, kept, SWEEP_TIMEOUT)
{
	sweep(_metadata, &self->env, "kept", &kept);
}

TEST_F_TIMEOUT(fail_nth, hw_info, SWEEP_TIMEOUT)
{
	sweep(_metadata, &self->env, "hw_info", &hw_info);
}

TEST_F_TIMEOUT(fail_nth, dirty, SWEEP_TIMEOUT)
{
	sweep(_metadata, &self->env, "dirty", &dirty);
}

TEST_F_TIMEOUT(fail_nth, nested, SWEEP_TIMEOUT)
{
	sweep(_metadata, &self->env, "nested", &nested);
}

TEST_F_TIMEOUT(fail_nth, fault, SWEEP_TIMEOUT)
{
	sweep(_metadata, &self->env, "fault", &fault);
}

TEST_F_TIMEOUT(fail_nth, vfio, SWEEP_TIMEOUT)
{
	sweep(_metadata, &self->env, "vfio", &vfio);
}

TEST_F_TIMEOUT(fail_nth, close_live, SWEEP_TIMEOUT)
{
	sweep(_metadata, &self->env, "close_live", &close_live);
}

/*
 * Counting iommufd's own injection points (fail_iommufd) in one call:
 * failslab and fail_page_alloc skip sleeping allocations meanwhile, since
 * kmemleak's bookkeeping of each allocation would add its own to the
 * count. own_points_end() puts them back and returns the count or -errno.
 */
#define OWN_POINTS_MAX 1000000

static const char *const fi_wait_knobs[] = {
	DEBUGFS "/failslab/ignore-gfp-wait",
	DEBUGFS "/fail_page_alloc/ignore-gfp-wait",
};

static int own_points_begin(int nth_fd)
{
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(fi_wait_knobs); i++)
		fi_file_io(fi_wait_knobs[i], "Y", 1, true);
	return nth_arm(nth_fd, OWN_POINTS_MAX);
}

static long own_points_end(int nth_fd)
{
	long left = nth_disarm(nth_fd);
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(fi_wait_knobs); i++)
		fi_file_io(fi_wait_knobs[i], "N", 1, true);
	return left < 0 ? left : OWN_POINTS_MAX - left;
}

/* iommufd's own points in an access pin of 4 pages: the count, or -errno */
static long pin_own_points(int nth_fd, int fd, int access_fd, __u64 iova,
			   char *upin, __u32 *item)
{
	long points;
	int rc;

	rc = own_points_begin(nth_fd);
	if (rc)
		return rc;
	rc = mock_access_pin(fd, access_fd, iova, 4 * page_size, upin, 0, item);
	points = own_points_end(nth_fd);
	return rc ? rc : points;
}

/*
 * Not a sweep: that the array a take-back allocates can be failed at all.
 * Arrays of a page come from the page allocator, and fail_page_alloc
 * spares order-0 pages, so the kernel has a point of its own there. An
 * access pin across two kept chunks allocates two arrays: it passes
 * through two points more than the same pin once they are arrays.
 */
TEST_F(fail_nth, kept_take_back_points)
{
	__u64 iova = IOVA_BASE, pin = IOVA_BASE + FRAG_CHUNK - 2 * page_size;
	int fd, access_fd, nth_fd = self->env.nth_fd;
	char *frag, *upin;
	long taking, again;
	__u32 ioas, item;

	if (!fi_have_iommufd)
		SKIP(return, "no debugfs fail_iommufd");
	frag = alloc_fragmented(FRAG_LEN, FRAG_CHUNK);
	ASSERT_NE(MAP_FAILED, frag);
	upin = frag + (pin - iova);
	fd = iommufd_open();
	ASSERT_LE(0, fd);
	ASSERT_OK(ioas_alloc(fd, &ioas));
	ASSERT_OK(mock_domain(fd, ioas, NULL, NULL, NULL));
	ASSERT_OK(ioas_map_at(fd, ioas, frag, FRAG_LEN, iova));
	ASSERT_EQ(0, fdinfo_num(fd, "pfn_arrays"));
	ASSERT_OK(mock_access_create(fd, ioas,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				     &access_fd));

	taking = pin_own_points(nth_fd, fd, access_fd, pin, upin, &item);
	ASSERT_LE(0, taking) TH_LOG("%s", strerror(-taking));
	EXPECT_EQ(2, fdinfo_num(fd, "pfn_arrays"));
	ASSERT_OK(mock_access_unpin(fd, access_fd, item));

	again = pin_own_points(nth_fd, fd, access_fd, pin, upin, &item);
	ASSERT_LE(0, again) TH_LOG("%s", strerror(-again));
	EXPECT_EQ(again + 2, taking)
		TH_LOG("points: %ld taking two chunks back, %ld after",
		       taking, again);

	ASSERT_OK(mock_access_unpin(fd, access_fd, item));
	close(access_fd);
	ASSERT_OK(close(fd));
	munmap(frag, FRAG_LEN);
}

TEST_HARNESS_MAIN
