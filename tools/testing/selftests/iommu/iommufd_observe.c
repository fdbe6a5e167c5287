// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd_observe.c - what an operator can see of iommufd without a
 * debugger: the fdinfo of a /dev/iommu file, the iommufd trace events, and
 * the kernel log line of a map RLIMIT_MEMLOCK refused.
 *
 * Every number read is checked against what the test did: mapping N pages
 * adds N to the file's pinned pages, IOMMU_IOAS_COPY adds nothing, an
 * unmap gives them back; objects appear in fdinfo when made and leave it
 * when destroyed; each trace event carries the IDs, addresses and counts of
 * the operation that fired it. What was read is printed ("# " lines) so
 * that the documentation's examples can be taken from a real run.
 *
 * Choosing the accounting mode needs CAP_SYS_RESOURCE and tracefs needs
 * root: the VMs run the tests as root.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <linux/vfio.h>

#include "../kselftest_harness.h"
#include "iommufd_test_util.h"

#define NPAGES 16
#define BUF_LEN (NPAGES * page_size)
#define BASE_IOVA ((__u64)MOCK_APERTURE_START)
#define TRACEFS "/sys/kernel/tracing"

/* The value of " @name=" (or ": @name=") in the line @line, or -1 */
static long field_num(const char *line, const char *name)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), " %s=", name);
	p = strstr(line, pat);
	if (!p)
		return -1;
	return strtol(p + strlen(pat), NULL, 0);
}

/* field_num() for a full 64-bit value, in *@val; false if there is none */
static bool field_u64(const char *line, const char *name, __u64 *val)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), " %s=", name);
	p = strstr(line, pat);
	if (!p)
		return false;
	*val = strtoull(p + strlen(pat), NULL, 0);
	return true;
}

/* Does the line contain " @name=@val" followed by a space or its end? */
static bool field_is(const char *line, const char *name, const char *val)
{
	char pat[96];
	const char *p;

	snprintf(pat, sizeof(pat), " %s=%s", name, val);
	p = strstr(line, pat);
	return p && (p[strlen(pat)] == ' ' || p[strlen(pat)] == '\n' ||
		     !p[strlen(pat)]);
}

/*
 * The line of object @id of kind @kind ("ioas", "hwpt", ...) in @fd's
 * fdinfo, copied to @out; 0, or -ENOENT if there is none.
 */
static int fdinfo_obj(int fd, const char *kind, __u32 id, char *out,
		      size_t size)
{
	char info[8192], pat[64];
	const char *p;
	size_t n;

	if (fdinfo_read(fd, info, sizeof(info)))
		return -EIO;
	snprintf(pat, sizeof(pat), "%s:\tid=%u ", kind, id);
	p = strstr(info, pat);
	if (!p || (p != info && p[-1] != '\n'))
		return -ENOENT;
	n = strcspn(p, "\n");
	if (n >= size)
		n = size - 1;
	memcpy(out, p, n);
	out[n] = 0;
	return 0;
}

/* One field of object @id's fdinfo line, or -1 if there is no such line */
static long obj_num(int fd, const char *kind, __u32 id, const char *name)
{
	char line[512];

	if (fdinfo_obj(fd, kind, id, line, sizeof(line)))
		return -1;
	return field_num(line, name);
}

/* Print @fd's fdinfo, for the record (and the rst's example) */
static void fdinfo_print(int fd, const char *when)
{
	char info[8192], *line, *save;

	if (fdinfo_read(fd, info, sizeof(info)))
		return;
	ksft_print_msg("fdinfo of /dev/iommu, %s:\n", when);
	for (line = strtok_r(info, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		ksft_print_msg("  %s\n", line);
}

/* The hwpt field counting the mock's IOPTEs of one IO page */
static const char *iopte_small(void)
{
	static char name[32];

	snprintf(name, sizeof(name), "iopte_%zu", mock_io_page);
	return name;
}

/*
 * fdinfo counters, in both accounting modes: what this file pinned and
 * charged, and per IOAS its areas, bytes and pins.
 */
FIXTURE(fdinfo)
{
	int fd;
	char *buf;
	__u32 ioas_id;
};

FIXTURE_VARIANT(fdinfo)
{
	__u64 mode;
	const char *mode_name;
};

FIXTURE_VARIANT_ADD(fdinfo, per_user)
{
	.mode = 0,
	.mode_name = "user",
};

FIXTURE_VARIANT_ADD(fdinfo, per_process)
{
	.mode = 1,
	.mode_name = "process",
};

FIXTURE_SETUP(fdinfo)
{
	if (geteuid())
		SKIP(return, "needs CAP_SYS_RESOURCE to choose the mode");
	ASSERT_MOCK();
	self->buf = alloc_shared(2 * BUF_LEN, page_size);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 0x5a, 2 * BUF_LEN);
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_OK(option_set(self->fd, IOMMU_OPTION_RLIMIT_MODE, 0,
			     variant->mode));
	ASSERT_OK(ioas_alloc(self->fd, &self->ioas_id));
}

FIXTURE_TEARDOWN(fdinfo)
{
	TEARDOWN_CLOSE_UNPINNED(self->fd, self->buf, 2 * BUF_LEN);
	munmap(self->buf, 2 * BUF_LEN);
}

/* The file-wide lines of a fresh context: its mode, nothing pinned */
TEST_F(fdinfo, empty)
{
	char info[8192];
	const char *v;

	ASSERT_OK(fdinfo_read(self->fd, info, sizeof(info)));
	v = fdinfo_find(info, "account_mode");
	ASSERT_NE(NULL, v);
	EXPECT_EQ(0, strncmp(v, variant->mode_name,
			     strlen(variant->mode_name)));
	EXPECT_EQ(0, fdinfo_num(self->fd, "pinned_pages"));
	EXPECT_EQ(0, fdinfo_num(self->fd, "charged_pages"));
	EXPECT_EQ(0, fdinfo_num(self->fd, "payer_pid"));
	EXPECT_EQ(0, obj_num(self->fd, "ioas", self->ioas_id, "areas"));
	EXPECT_EQ(0, obj_num(self->fd, "ioas", self->ioas_id,
			     "mapped_bytes"));
	EXPECT_EQ(0, obj_num(self->fd, "ioas", self->ioas_id,
			     "pinned_pages"));
	EXPECT_EQ(0, obj_num(self->fd, "ioas", self->ioas_id, "accesses"));
}

/* Map N pages: +N; copy: unchanged; unmap: back to the start */
TEST_F(fdinfo, map_copy_unmap)
{
	__u64 iova = BASE_IOVA, copy_iova = 0, unmapped;
	__u32 hwpt_id, idev_id, hwpt2_id, ioas2;

	ASSERT_OK(mock_domain(self->fd, self->ioas_id, NULL, &hwpt_id,
			      &idev_id));
	EXPECT_EQ(0, fdinfo_num(self->fd, "pinned_pages"));

	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      iova));
	EXPECT_EQ(NPAGES, fdinfo_num(self->fd, "pinned_pages"));
	EXPECT_EQ(NPAGES, fdinfo_num(self->fd, "charged_pages"));
	EXPECT_EQ(getpid(), fdinfo_num(self->fd, "payer_pid"));
	EXPECT_EQ(getuid(), fdinfo_num(self->fd, "payer_uid"));
	EXPECT_EQ(1, obj_num(self->fd, "ioas", self->ioas_id, "areas"));
	EXPECT_EQ((long)BUF_LEN, obj_num(self->fd, "ioas", self->ioas_id,
					 "mapped_bytes"));
	EXPECT_EQ(NPAGES, obj_num(self->fd, "ioas", self->ioas_id,
				  "pinned_pages"));
	/* The mock maps IO pages of half a CPU page, none larger here */
	EXPECT_EQ(2 * NPAGES, obj_num(self->fd, "hwpt", hwpt_id,
				      iopte_small()));

	/* A copy into a second IOAS with its own domain pins nothing new */
	ASSERT_OK(ioas_alloc(self->fd, &ioas2));
	ASSERT_OK(mock_domain(self->fd, ioas2, NULL, &hwpt2_id, NULL));
	ASSERT_OK(ioas_copy(self->fd, ioas2, self->ioas_id, iova, BUF_LEN,
			    &copy_iova, IOMMU_IOAS_MAP_READABLE |
			    IOMMU_IOAS_MAP_WRITEABLE));
	EXPECT_EQ(NPAGES, fdinfo_num(self->fd, "pinned_pages"));
	EXPECT_EQ(NPAGES, fdinfo_num(self->fd, "charged_pages"));
	EXPECT_EQ(1, obj_num(self->fd, "ioas", ioas2, "areas"));
	EXPECT_EQ((long)BUF_LEN, obj_num(self->fd, "ioas", ioas2,
					 "mapped_bytes"));
	/* Per IOAS, each area's pins count: the shared pages twice */
	EXPECT_EQ(NPAGES, obj_num(self->fd, "ioas", ioas2, "pinned_pages"));
	fdinfo_print(self->fd, "after map and copy");

	/* Unmapping the original keeps the pins the copy uses */
	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, iova, BUF_LEN,
			     &unmapped));
	EXPECT_EQ((__u64)BUF_LEN, unmapped);
	EXPECT_EQ(NPAGES, fdinfo_num(self->fd, "pinned_pages"));
	EXPECT_EQ(0, obj_num(self->fd, "ioas", self->ioas_id, "areas"));
	EXPECT_EQ(0, obj_num(self->fd, "ioas", self->ioas_id,
			     "pinned_pages"));
	ASSERT_OK(ioas_unmap_all(self->fd, ioas2, NULL));
	EXPECT_EQ(0, fdinfo_num(self->fd, "pinned_pages"));
	EXPECT_EQ(0, fdinfo_num(self->fd, "charged_pages"));
	EXPECT_EQ(0, obj_num(self->fd, "ioas", ioas2, "mapped_bytes"));
	EXPECT_EQ(0, obj_num(self->fd, "hwpt", hwpt_id, iopte_small()));
	EXPECT_EQ(0, obj_num(self->fd, "hwpt", hwpt2_id, iopte_small()));
}

/* With no domain nothing is pinned: a map is bookkeeping only */
TEST_F(fdinfo, no_domain_no_pins)
{
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      BASE_IOVA));
	EXPECT_EQ(1, obj_num(self->fd, "ioas", self->ioas_id, "areas"));
	EXPECT_EQ(0, fdinfo_num(self->fd, "pinned_pages"));
	EXPECT_EQ(0, obj_num(self->fd, "ioas", self->ioas_id,
			     "pinned_pages"));
	/* The first domain pins it all */
	ASSERT_OK(mock_domain(self->fd, self->ioas_id, NULL, NULL, NULL));
	EXPECT_EQ(NPAGES, fdinfo_num(self->fd, "pinned_pages"));
	EXPECT_EQ(NPAGES, obj_num(self->fd, "ioas", self->ioas_id,
				  "pinned_pages"));
}

/* Several files: each counts its own pins, and only those */
TEST_F(fdinfo, several_files)
{
	int fd2, fd3;
	__u32 ioas2, ioas3;

	fd2 = iommufd_open();
	ASSERT_LE(0, fd2);
	fd3 = iommufd_open();
	ASSERT_LE(0, fd3);
	ASSERT_OK(option_set(fd2, IOMMU_OPTION_RLIMIT_MODE, 0, variant->mode));
	ASSERT_OK(ioas_alloc(fd2, &ioas2));
	ASSERT_OK(ioas_alloc(fd3, &ioas3));
	ASSERT_OK(mock_domain(self->fd, self->ioas_id, NULL, NULL, NULL));
	ASSERT_OK(mock_domain(fd2, ioas2, NULL, NULL, NULL));

	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      BASE_IOVA));
	/* The same pages again, and half as many more, through fd2 */
	ASSERT_OK(ioas_map_at(fd2, ioas2, self->buf, BUF_LEN + BUF_LEN / 2,
			      BASE_IOVA));
	EXPECT_EQ(NPAGES, fdinfo_num(self->fd, "pinned_pages"));
	EXPECT_EQ(NPAGES + NPAGES / 2, fdinfo_num(fd2, "pinned_pages"));
	EXPECT_EQ(NPAGES + NPAGES / 2, fdinfo_num(fd2, "charged_pages"));
	EXPECT_EQ(0, fdinfo_num(fd3, "pinned_pages"));
	EXPECT_EQ(0, obj_num(fd3, "ioas", ioas3, "areas"));
	EXPECT_EQ(1, obj_num(fd2, "ioas", ioas2, "areas"));

	ASSERT_OK(close(fd2));
	EXPECT_EQ(NPAGES, fdinfo_num(self->fd, "pinned_pages"));
	ASSERT_OK(close(fd3));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));
	EXPECT_EQ(0, fdinfo_num(self->fd, "pinned_pages"));
}

/* An access counts in its IOAS's line for as long as it is attached */
TEST_F(fdinfo, access)
{
	int access_fd;

	ASSERT_OK(mock_access_create(self->fd, self->ioas_id, 0, &access_fd));
	EXPECT_EQ(1, obj_num(self->fd, "ioas", self->ioas_id, "accesses"));
	ASSERT_OK(close(access_fd));
	EXPECT_EQ(0, obj_num(self->fd, "ioas", self->ioas_id, "accesses"));
}

/* IOMMU_IOAS_CHANGE_PROCESS: the calling process takes the charge over */
static int change_process(int fd)
{
	struct iommu_ioas_change_process cmd = {
		.size = sizeof(cmd),
	};

	return ifd_ioctl(fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd);
}

/* The pipes a child uses to say it is ready and to wait for its release */
struct child_sync {
	int ready[2];
	int release[2];
};

static int sync_open(struct child_sync *sync)
{
	if (pipe(sync->ready))
		return -1;
	if (pipe(sync->release)) {
		close(sync->ready[0]);
		close(sync->ready[1]);
		return -1;
	}
	return 0;
}

static void sync_close(struct child_sync *sync)
{
	close(sync->ready[0]);
	if (sync->ready[1] >= 0)
		close(sync->ready[1]);
	close(sync->release[0]);
	close(sync->release[1]);
}

/* In the child: say @code (0: ready), then wait for the release */
static int sync_ready_wait(struct child_sync *sync, char code)
{
	char c;

	if (write(sync->ready[1], &code, 1) != 1)
		return child_failed(20, "write");
	if (read(sync->release[0], &c, 1) != 1)
		return child_failed(21, "read");
	return code;
}

/* In the parent: the child's code, or -1 if it died first */
static int sync_wait_ready(struct child_sync *sync)
{
	char code;

	close(sync->ready[1]);
	sync->ready[1] = -1;
	if (read(sync->ready[0], &code, 1) != 1)
		return -1;
	return code;
}

static void sync_release(struct child_sync *sync)
{
	char c = 0;

	if (write(sync->release[1], &c, 1) != 1)
		ksft_print_msg("release write failed\n");
}

/* Take the charge over, check fdinfo, and stay until released */
static int change_child(int fd, struct child_sync *sync)
{
	if (change_process(fd))
		return sync_ready_wait(sync, 2);
	/* The charge is this process's now, and fdinfo says so */
	if (fdinfo_num(fd, "payer_pid") != getpid())
		return sync_ready_wait(sync, 3);
	return sync_ready_wait(sync, 0);
}

/* A memfd of @len bytes with its pages allocated, or -1 */
static int memfd_filled(size_t len)
{
	int mfd = memfd_create("iommufd_observe", MFD_CLOEXEC);

	if (mfd < 0)
		return -1;
	if (fallocate(mfd, 0, 0, len)) {
		close(mfd);
		return -1;
	}
	return mfd;
}

/*
 * IOMMU_IOAS_CHANGE_PROCESS moves the charge of a file mapping: the payer
 * fdinfo names is the process that took it over, while it lives (a PID
 * that is gone could name another process: 0 then), and back.
 */
TEST_F(fdinfo, payer_after_change_process)
{
	struct child_sync sync;
	__u64 iova = BASE_IOVA;
	int mfd, status, code;
	pid_t pid;

	mfd = memfd_filled(BUF_LEN);
	ASSERT_LE(0, mfd);
	ASSERT_OK(mock_domain(self->fd, self->ioas_id, NULL, NULL, NULL));
	ASSERT_OK(ioas_map_file(self->fd, self->ioas_id, mfd, 0, BUF_LEN,
				&iova, IOMMU_IOAS_MAP_READABLE |
				IOMMU_IOAS_MAP_FIXED_IOVA));
	EXPECT_EQ(getpid(), fdinfo_num(self->fd, "payer_pid"));
	EXPECT_EQ(NPAGES, fdinfo_num(self->fd, "charged_pages"));

	ASSERT_OK(sync_open(&sync));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(change_child(self->fd, &sync));
	code = sync_wait_ready(&sync);
	/* Seen from here too while it lives; the pins did not change */
	EXPECT_EQ(pid, fdinfo_num(self->fd, "payer_pid"));
	EXPECT_EQ(NPAGES, fdinfo_num(self->fd, "charged_pages"));
	sync_release(&sync);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	sync_close(&sync);
	ASSERT_EQ(0, code);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* Gone: its PID names nobody */
	EXPECT_EQ(0, fdinfo_num(self->fd, "payer_pid"));
	EXPECT_EQ(NPAGES, fdinfo_num(self->fd, "charged_pages"));

	ASSERT_OK(change_process(self->fd));
	EXPECT_EQ(getpid(), fdinfo_num(self->fd, "payer_pid"));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));
	close(mfd);
}

/* Map a file of NPAGES, unmap it again: this process was charged last */
static int charge_child(int fd, __u32 ioas_id, struct child_sync *sync)
{
	__u64 iova = BASE_IOVA + 4 * BUF_LEN;
	int mfd = memfd_filled(BUF_LEN);

	if (mfd < 0)
		return sync_ready_wait(sync, 2);
	if (ioas_map_file(fd, ioas_id, mfd, 0, BUF_LEN, &iova,
			  IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA))
		return sync_ready_wait(sync, 3);
	if (ioas_unmap(fd, ioas_id, iova, BUF_LEN, NULL))
		return sync_ready_wait(sync, 4);
	close(mfd);
	return sync_ready_wait(sync, 0);
}

/* CHANGE_PROCESS with room for one mapping's pins only: ENOMEM expected */
static int limited_change_child(void *arg)
{
	struct rlimit lim = { BUF_LEN, BUF_LEN };
	int fd = *(int *)arg;

	if (drop_capability(CAP_IPC_LOCK) || setrlimit(RLIMIT_MEMLOCK, &lim))
		return child_failed(2, "drop CAP_IPC_LOCK, set the limit");
	if (change_process(fd) != -ENOMEM)
		return child_failed(3, "CHANGE_PROCESS did not fail ENOMEM");
	return 0;
}

/*
 * A CHANGE_PROCESS that fails leaves fdinfo's payer as it was. Two file
 * mappings of this process, and a child charged last (it maps and unmaps
 * a third file, and stays): a process whose limit takes one mapping's
 * pins only takes the first over, fails on the second and gives the
 * first back. The payer is still the child, not the owner of what was
 * given back.
 */
TEST_F(fdinfo, payer_after_failed_change_process)
{
	__u64 iova = BASE_IOVA, iova2 = BASE_IOVA + 2 * BUF_LEN;
	struct child_sync sync;
	int mfd, mfd2, status, code;
	pid_t pid;

	mfd = memfd_filled(BUF_LEN);
	mfd2 = memfd_filled(BUF_LEN);
	ASSERT_LE(0, mfd);
	ASSERT_LE(0, mfd2);
	ASSERT_OK(mock_domain(self->fd, self->ioas_id, NULL, NULL, NULL));
	ASSERT_OK(ioas_map_file(self->fd, self->ioas_id, mfd, 0, BUF_LEN,
				&iova, IOMMU_IOAS_MAP_READABLE |
				IOMMU_IOAS_MAP_FIXED_IOVA));
	ASSERT_OK(ioas_map_file(self->fd, self->ioas_id, mfd2, 0, BUF_LEN,
				&iova2, IOMMU_IOAS_MAP_READABLE |
				IOMMU_IOAS_MAP_FIXED_IOVA));

	ASSERT_OK(sync_open(&sync));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(charge_child(self->fd, self->ioas_id, &sync));
	code = sync_wait_ready(&sync);
	EXPECT_EQ(0, code);
	EXPECT_EQ(pid, fdinfo_num(self->fd, "payer_pid"));
	EXPECT_EQ(2 * NPAGES, fdinfo_num(self->fd, "charged_pages"));

	EXPECT_EQ(0, run_in_child(limited_change_child, &self->fd));
	EXPECT_EQ(pid, fdinfo_num(self->fd, "payer_pid"));
	EXPECT_EQ(2 * NPAGES, fdinfo_num(self->fd, "charged_pages"));

	sync_release(&sync);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	sync_close(&sync);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));
	close(mfd);
	close(mfd2);
}

/* The PID of this process in the PID namespace of the mounted /proc */
static long proc_self_pid(void)
{
	char link[32];
	ssize_t n = readlink("/proc/self", link, sizeof(link) - 1);

	if (n <= 0)
		return -1;
	link[n] = 0;
	return strtol(link, NULL, 10);
}

/*
 * In the new PID namespace, pid 1: map, read fdinfo through the inherited
 * proc (the PID that proc gives this process) and through a proc of the
 * new namespace (1), then stay until released
 */
static int pidns_child(int fd, __u32 ioas_id, char *buf, size_t len,
		       struct child_sync *sync)
{
	long outer;

	if (getpid() != 1)
		return sync_ready_wait(sync, 2);
	if (ioas_map_at(fd, ioas_id, buf, len, BASE_IOVA))
		return sync_ready_wait(sync, 4);
	outer = proc_self_pid();
	if (outer <= 1 || fdinfo_num(fd, "payer_pid") != outer) {
		fprintf(stderr, "# payer_pid %ld in the old proc, wanted %ld\n",
			fdinfo_num(fd, "payer_pid"), outer);
		return sync_ready_wait(sync, 6);
	}
	if (unshare(CLONE_NEWNS) ||
	    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("proc", "/proc", "proc", 0, NULL))
		return sync_ready_wait(sync, 3);
	if (fdinfo_num(fd, "payer_pid") != 1) {
		fprintf(stderr, "# payer_pid %ld, wanted 1\n",
			fdinfo_num(fd, "payer_pid"));
		return sync_ready_wait(sync, 5);
	}
	return sync_ready_wait(sync, 0);
}

/*
 * The payer's PID as the proc read shows PIDs: a process that is pid 1 of
 * a new PID namespace reads 1 through a proc of that namespace, and its
 * outer PID through the proc it inherited; the parent reads the same
 * outer PID, and 0 once the process is gone.
 */
TEST_F(fdinfo, payer_pid_namespace)
{
	struct child_sync sync;
	int status, code;
	pid_t pid, inner;

	ASSERT_OK(mock_domain(self->fd, self->ioas_id, NULL, NULL, NULL));
	ASSERT_OK(sync_open(&sync));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (unshare(CLONE_NEWPID))
			_exit(child_failed(10, "unshare(CLONE_NEWPID)"));
		inner = fork();
		if (inner < 0)
			_exit(child_failed(11, "fork"));
		if (!inner)
			_exit(pidns_child(self->fd, self->ioas_id, self->buf,
					  BUF_LEN, &sync));
		if (waitpid(inner, &status, 0) != inner || !WIFEXITED(status))
			_exit(child_failed(13, "the inner child died"));
		/* Its PID, as the parent's namespace has it, for the parent */
		_exit(WEXITSTATUS(status) ? 14 : 0);
	}
	code = sync_wait_ready(&sync);
	ASSERT_EQ(0, code);
	/* The same charge, read from the initial namespace, while it lives */
	inner = fdinfo_num(self->fd, "payer_pid");
	EXPECT_LT(1, inner);
	EXPECT_NE(pid, inner);
	EXPECT_EQ(NPAGES, fdinfo_num(self->fd, "charged_pages"));
	sync_release(&sync);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	sync_close(&sync);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, fdinfo_num(self->fd, "payer_pid"));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));
}

/* The number of the "@key:" line read from the open fdinfo file @pfd */
static long fdinfo_num_at(int pfd, const char *key)
{
	char info[8192];
	const char *v;
	ssize_t n;

	n = pread(pfd, info, sizeof(info) - 1, 0);
	if (n < 0)
		return -1;
	info[n] = 0;
	v = fdinfo_find(info, key);
	return v ? strtol(v, NULL, 10) : -1;
}

/*
 * In a new user namespace that maps no UID: fdinfo's payer_uid is the
 * overflow UID in a file opened there, and the real UID in one opened
 * before (the opener's namespace counts, as for every seq_file)
 */
static int userns_child(void *arg)
{
	int fd = *(int *)arg;
	long overflow = 65534, uid = getuid();
	char val[32], path[64];
	int vfd, pfd;

	vfd = open("/proc/sys/kernel/overflowuid", O_RDONLY);
	if (vfd >= 0) {
		memset(val, 0, sizeof(val));
		if (read(vfd, val, sizeof(val) - 1) > 0)
			overflow = strtol(val, NULL, 10);
		close(vfd);
	}
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	pfd = open(path, O_RDONLY);
	if (pfd < 0)
		return child_failed(4, "open fdinfo");
	if (unshare(CLONE_NEWUSER))
		return child_failed(2, "unshare(CLONE_NEWUSER)");
	if (fdinfo_num(fd, "payer_uid") != overflow) {
		fprintf(stderr, "# payer_uid %ld, wanted %ld\n",
			fdinfo_num(fd, "payer_uid"), overflow);
		return 3;
	}
	if (fdinfo_num_at(pfd, "payer_uid") != uid) {
		fprintf(stderr, "# payer_uid %ld opened before, wanted %ld\n",
			fdinfo_num_at(pfd, "payer_uid"), uid);
		return 5;
	}
	close(pfd);
	return 0;
}

/*
 * The payer's UID as the user namespace of the fdinfo file's opener has
 * it: where it maps no UID, the overflow UID.
 */
TEST_F(fdinfo, payer_uid_namespace)
{
	ASSERT_OK(mock_domain(self->fd, self->ioas_id, NULL, NULL, NULL));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      BASE_IOVA));
	EXPECT_EQ(getuid(), fdinfo_num(self->fd, "payer_uid"));
	EXPECT_EQ(0, run_in_child(userns_child, &self->fd));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));
}

/* The object lines of @info, and the objects_not_shown value (or -1) */
static unsigned long object_lines(const char *info, long *not_shown)
{
	static const char *const kinds[] = {
		"ioas:\t", "hwpt:\t", "device:\t", "fault:\t", "access:\t",
	};
	unsigned long n = 0, i;
	const char *line, *v;

	for (line = info; *line; line = strchrnul(line, '\n')) {
		if (*line == '\n')
			line++;
		for (i = 0; i != ARRAY_SIZE(kinds); i++)
			if (!strncmp(line, kinds[i], strlen(kinds[i])))
				n++;
	}
	v = fdinfo_find(info, "objects_not_shown");
	*not_shown = v ? strtol(v, NULL, 10) : -1;
	return n;
}

/*
 * A file with more objects than fdinfo lists shows the first 256 and says
 * how many it left out.
 */
TEST(fdinfo_object_bound)
{
	const unsigned int nr_ioas = 300, bound = 256;
	size_t size = 1 << 20;
	long not_shown;
	char *info;
	unsigned int i;
	__u32 id;
	int fd;

	fd = iommufd_open();
	ASSERT_LE(0, fd);
	info = malloc(size);
	ASSERT_NE(NULL, info);

	/* Under the bound: every object, and none left out */
	for (i = 0; i != 10; i++)
		ASSERT_OK(ioas_alloc(fd, &id));
	ASSERT_OK(fdinfo_read(fd, info, size));
	EXPECT_EQ(10, object_lines(info, &not_shown));
	EXPECT_EQ(0, not_shown);

	for (; i != nr_ioas; i++)
		ASSERT_OK(ioas_alloc(fd, &id));
	ASSERT_OK(fdinfo_read(fd, info, size));
	EXPECT_EQ(bound, object_lines(info, &not_shown));
	EXPECT_EQ(nr_ioas - bound, not_shown);
	/* The file-wide lines are all still there */
	EXPECT_NE(NULL, fdinfo_find(info, "pinned_pages"));
	EXPECT_NE(NULL, fdinfo_find(info, "charged_pages"));
	ksft_print_msg("%u IOAS: %lu object lines, objects_not_shown: %ld\n",
		       nr_ioas, object_lines(info, &not_shown), not_shown);
	free(info);
	close(fd);
}

/*
 * The objects: each has its line while it exists, with the IDs and flags
 * it was made with, and none afterwards.
 */
FIXTURE(objects)
{
	int fd;
	char *buf;
	__u32 ioas_id;
	__u32 stdev_id;
	__u32 idev_id;
	__u32 hwpt_id;
};

FIXTURE_SETUP(objects)
{
	ASSERT_MOCK();
	self->buf = alloc_shared(BUF_LEN, page_size);
	ASSERT_NE(MAP_FAILED, self->buf);
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_OK(ioas_alloc(self->fd, &self->ioas_id));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      BASE_IOVA));
	ASSERT_OK(mock_domain(self->fd, self->ioas_id, &self->stdev_id,
			      &self->hwpt_id, &self->idev_id));
}

FIXTURE_TEARDOWN(objects)
{
	TEARDOWN_CLOSE_UNPINNED(self->fd, self->buf, BUF_LEN);
	munmap(self->buf, BUF_LEN);
}

TEST_F(objects, device_and_auto_hwpt)
{
	char line[512];

	ASSERT_OK(fdinfo_obj(self->fd, "device", self->idev_id, line,
			     sizeof(line)));
	EXPECT_EQ(self->hwpt_id, field_num(line, "hwpt"));
	EXPECT_NE(NULL, strstr(line, " dev=iommufd-mock."));

	ASSERT_OK(fdinfo_obj(self->fd, "hwpt", self->hwpt_id, line,
			     sizeof(line)));
	EXPECT_TRUE(field_is(line, "type", "paging"));
	EXPECT_TRUE(field_is(line, "iommu", "iommufd-mock"));
	EXPECT_EQ(self->ioas_id, field_num(line, "ioas"));
	EXPECT_EQ(1, field_num(line, "auto"));
	EXPECT_EQ(0, field_num(line, "nest_parent"));
	/* Not allocated for dirty tracking: the domain cannot track */
	EXPECT_TRUE(field_is(line, "dirty_tracking", "unsupported"));
	EXPECT_EQ(1, field_num(line, "devices"));
	EXPECT_EQ(0, field_num(line, "fault"));
	EXPECT_EQ(2 * NPAGES, field_num(line, iopte_small()));

	/* Unbinding detaches, and the auto domain goes with the device */
	ASSERT_OK(obj_destroy(self->fd, self->stdev_id));
	EXPECT_ERR(ENOENT, fdinfo_obj(self->fd, "device", self->idev_id, line,
				      sizeof(line)));
	EXPECT_ERR(ENOENT, fdinfo_obj(self->fd, "hwpt", self->hwpt_id, line,
				      sizeof(line)));
	EXPECT_OK(fdinfo_obj(self->fd, "ioas", self->ioas_id, line,
			     sizeof(line)));
}

/* A user HWPT: its flags, dirty tracking switched, replace moves devices */
TEST_F(objects, user_hwpt_dirty_replace)
{
	__u32 user_id, parent_id;
	char line[512];

	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &user_id));
	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_NEST_PARENT, &parent_id));
	ASSERT_OK(fdinfo_obj(self->fd, "hwpt", user_id, line, sizeof(line)));
	EXPECT_EQ(0, field_num(line, "auto"));
	EXPECT_EQ(0, field_num(line, "nest_parent"));
	EXPECT_TRUE(field_is(line, "dirty_tracking", "off"));
	EXPECT_EQ(0, field_num(line, "devices"));
	/* Filled at allocation: every IO page of the IOAS is there */
	EXPECT_EQ(2 * NPAGES, field_num(line, iopte_small()));
	EXPECT_EQ(1, obj_num(self->fd, "hwpt", parent_id, "nest_parent"));

	ASSERT_OK(hwpt_set_dirty(self->fd, user_id, true));
	ASSERT_OK(fdinfo_obj(self->fd, "hwpt", user_id, line, sizeof(line)));
	EXPECT_TRUE(field_is(line, "dirty_tracking", "on"));
	ASSERT_OK(hwpt_set_dirty(self->fd, user_id, false));
	ASSERT_OK(fdinfo_obj(self->fd, "hwpt", user_id, line, sizeof(line)));
	EXPECT_TRUE(field_is(line, "dirty_tracking", "off"));

	ASSERT_OK(mock_replace(self->fd, self->stdev_id, user_id, NULL));
	EXPECT_EQ(user_id, obj_num(self->fd, "device", self->idev_id, "hwpt"));
	EXPECT_EQ(1, obj_num(self->fd, "hwpt", user_id, "devices"));
	/* The auto domain nobody uses went away */
	EXPECT_EQ(-1, obj_num(self->fd, "hwpt", self->hwpt_id, "devices"));

	ASSERT_OK(obj_destroy(self->fd, parent_id));
	EXPECT_EQ(-1, obj_num(self->fd, "hwpt", parent_id, "devices"));
}

/* VFIO_IOMMU_DIRTY_PAGES with one flag and nothing after it */
static int vfio_dirty_cmd(int fd, __u32 flags)
{
	struct vfio_iommu_type1_dirty_bitmap cmd = {
		.argsz = sizeof(cmd),
		.flags = flags,
	};

	return ifd_ioctl(fd, VFIO_IOMMU_DIRTY_PAGES, &cmd);
}

/* Is HWPT @id's dirty_tracking field @val in @fd's fdinfo? */
static bool hwpt_dirty_is(int fd, __u32 id, const char *val)
{
	char line[512];

	return !fdinfo_obj(fd, "hwpt", id, line, sizeof(line)) &&
	       field_is(line, "dirty_tracking", val);
}

/*
 * dirty_tracking is the domain's state, whichever ioctl switched it: the
 * VFIO container's DIRTY_PAGES start and stop switch every domain of the
 * compat IOAS, HWPT_SET_DIRTY_TRACKING one.
 */
TEST_F(objects, dirty_tracking_compat)
{
	struct iommu_vfio_ioas vioas = {
		.size = sizeof(vioas),
		.op = IOMMU_VFIO_IOAS_SET,
		.ioas_id = self->ioas_id,
	};
	__u32 user_id;

	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &user_id));
	ASSERT_OK(mock_replace(self->fd, self->stdev_id, user_id, NULL));
	ASSERT_OK(ifd_ioctl(self->fd, IOMMU_VFIO_IOAS, &vioas));
	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	EXPECT_TRUE(hwpt_dirty_is(self->fd, user_id, "off"));

	ASSERT_OK(vfio_dirty_cmd(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	EXPECT_TRUE(hwpt_dirty_is(self->fd, user_id, "on"));
	fdinfo_print(self->fd, "after VFIO_IOMMU_DIRTY_PAGES_FLAG_START");
	ASSERT_OK(vfio_dirty_cmd(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
	EXPECT_TRUE(hwpt_dirty_is(self->fd, user_id, "off"));

	/*
	 * Switched off and on again by the HWPT's own ioctl while the
	 * container tracks: the container's stop still stops it
	 */
	ASSERT_OK(vfio_dirty_cmd(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	ASSERT_OK(hwpt_set_dirty(self->fd, user_id, false));
	EXPECT_TRUE(hwpt_dirty_is(self->fd, user_id, "off"));
	ASSERT_OK(hwpt_set_dirty(self->fd, user_id, true));
	EXPECT_TRUE(hwpt_dirty_is(self->fd, user_id, "on"));
	ASSERT_OK(vfio_dirty_cmd(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
	EXPECT_TRUE(hwpt_dirty_is(self->fd, user_id, "off"));
}

/*
 * The domains of an IOAS are kept dense: when one goes, the last takes its
 * slot, and its dirty tracking state must go with it. Here two user HWPTs
 * with dirty tracking, one of them tracking: destroying the other (or the
 * first) leaves the survivor's state as it was.
 */
TEST_F(objects, dirty_tracking_survives_a_neighbour)
{
	__u32 a, b, c;

	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &a));
	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &b));
	/* a tracks, b (after it) does not; a goes, b moves into its slot */
	ASSERT_OK(hwpt_set_dirty(self->fd, a, true));
	EXPECT_TRUE(hwpt_dirty_is(self->fd, a, "on"));
	EXPECT_TRUE(hwpt_dirty_is(self->fd, b, "off"));
	ASSERT_OK(obj_destroy(self->fd, a));
	EXPECT_TRUE(hwpt_dirty_is(self->fd, b, "off"));

	/* c (after b) tracks, b does not; b goes, c moves */
	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &c));
	ASSERT_OK(hwpt_set_dirty(self->fd, c, true));
	ASSERT_OK(obj_destroy(self->fd, b));
	EXPECT_TRUE(hwpt_dirty_is(self->fd, c, "on"));
	ASSERT_OK(hwpt_set_dirty(self->fd, c, false));
	EXPECT_TRUE(hwpt_dirty_is(self->fd, c, "off"));
	ASSERT_OK(obj_destroy(self->fd, c));
}

/* A FAULT object, and the nested HWPT that reports to it */
TEST_F(objects, fault_and_nested)
{
	struct iommu_hwpt_pgfault rec;
	struct iommu_hwpt_page_response resp = {};
	__u32 parent_id, fault_id, nested_id;
	char line[512];
	int fault_fd;

	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_NEST_PARENT, &parent_id));
	ASSERT_OK(fault_queue_new(self->fd, &fault_id, &fault_fd));
	ASSERT_OK(hwpt_alloc_mock_nested(self->fd, self->idev_id, parent_id,
					 IOMMU_HWPT_FAULT_ID_VALID, fault_id,
					 IOMMU_TEST_IOTLB_DEFAULT, &nested_id));
	ASSERT_OK(mock_replace(self->fd, self->stdev_id, nested_id, NULL));

	ASSERT_OK(fdinfo_obj(self->fd, "hwpt", nested_id, line,
			     sizeof(line)));
	EXPECT_TRUE(field_is(line, "type", "nested"));
	EXPECT_EQ(parent_id, field_num(line, "parent"));
	EXPECT_EQ(fault_id, field_num(line, "fault"));
	EXPECT_EQ(1, field_num(line, "devices"));
	EXPECT_EQ(0, obj_num(self->fd, "fault", fault_id, "queued"));

	ASSERT_OK(mock_trigger_iopf(self->fd, self->idev_id, 0, 1,
				    IOMMU_PGFAULT_PERM_READ, 0x1000));
	EXPECT_EQ(1, obj_num(self->fd, "fault", fault_id, "queued"));
	EXPECT_EQ(0, obj_num(self->fd, "fault", fault_id, "answered"));
	ASSERT_EQ((ssize_t)sizeof(rec), read(fault_fd, &rec, sizeof(rec)));
	resp.cookie = rec.cookie;
	resp.code = IOMMUFD_PAGE_RESP_SUCCESS;
	ASSERT_EQ((ssize_t)sizeof(resp), write(fault_fd, &resp, sizeof(resp)));
	EXPECT_EQ(1, obj_num(self->fd, "fault", fault_id, "answered"));
	fdinfo_print(self->fd, "with a nested HWPT and a FAULT");

	ASSERT_OK(mock_replace(self->fd, self->stdev_id, self->ioas_id, NULL));
	ASSERT_OK(obj_destroy(self->fd, nested_id));
	EXPECT_EQ(-1, obj_num(self->fd, "hwpt", nested_id, "devices"));
	ASSERT_OK(close(fault_fd));
	ASSERT_OK(obj_destroy(self->fd, fault_id));
	EXPECT_EQ(-1, obj_num(self->fd, "fault", fault_id, "queued"));
	ASSERT_OK(obj_destroy(self->fd, parent_id));
}

/* /dev/vfio/vfio served by iommufd has the same fdinfo, per process */
TEST(vfio_container_fdinfo)
{
	char info[8192];
	const char *v;
	int fd;

	fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		SKIP(return, "no /dev/vfio/vfio");
	ASSERT_OK(fdinfo_read(fd, info, sizeof(info)));
	v = fdinfo_find(info, "account_mode");
	if (!v) {
		close(fd);
		SKIP(return, "/dev/vfio/vfio is VFIO's own container");
	}
	EXPECT_EQ(0, strncmp(v, "process\n", 8));
	EXPECT_EQ(0, fdinfo_num(fd, "pinned_pages"));
	close(fd);
}

/*
 * Trace events, read from tracefs: each fires once per operation with the
 * operation's IDs and counts.
 */
static bool tracefs_ready(void)
{
	if (!access(TRACEFS "/events/iommufd", F_OK))
		return true;
	mount("nodev", TRACEFS, "tracefs", 0, NULL);
	return !access(TRACEFS "/events/iommufd", F_OK);
}

static int tracefs_write(const char *file, const char *val)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* The trace buffer, NUL terminated, malloc()ed; NULL on failure */
static char *trace_read(void)
{
	size_t size = 1 << 20, len = 0;
	char *buf = malloc(size);
	ssize_t n;
	int fd;

	if (!buf)
		return NULL;
	fd = open(TRACEFS "/trace", O_RDONLY);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = 0;
	return buf;
}

/*
 * The @nth (0: first) line of event @event whose text contains @match
 * (may be NULL), copied to @out; 0 or -ENOENT. Printed when found.
 */
static int trace_find(const char *trace, const char *event, const char *match,
		      unsigned int nth, char *out, size_t size)
{
	char pat[64];
	const char *line, *end;
	size_t n;

	snprintf(pat, sizeof(pat), " %s: ", event);
	for (line = trace; *line; line = *end ? end + 1 : end) {
		end = strchrnul(line, '\n');
		n = end - line;
		if (line[0] == '#' || n >= size)
			continue;
		memcpy(out, line, n);
		out[n] = 0;
		if (!strstr(out, pat) || (match && !strstr(out, match)))
			continue;
		if (nth--)
			continue;
		ksft_print_msg("trace: %s\n", out);
		return 0;
	}
	return -ENOENT;
}

FIXTURE(trace)
{
	int fd;
	char *buf;
	__u32 ioas_id;
	char *trace;
};

FIXTURE_SETUP(trace)
{
	ASSERT_MOCK();
	if (!tracefs_ready())
		SKIP(return, "no tracefs with iommufd's events");
	self->buf = alloc_shared(BUF_LEN, page_size);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 1, BUF_LEN);
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_OK(ioas_alloc(self->fd, &self->ioas_id));
	ASSERT_OK(tracefs_write("tracing_on", "0"));
	ASSERT_OK(tracefs_write("trace", ""));
	ASSERT_OK(tracefs_write("events/iommufd/enable", "1"));
	ASSERT_OK(tracefs_write("tracing_on", "1"));
}

FIXTURE_TEARDOWN(trace)
{
	tracefs_write("events/iommufd/enable", "0");
	tracefs_write("trace", "");
	free(self->trace);
	if (self->buf) {
		TEARDOWN_CLOSE_UNPINNED(self->fd, self->buf, BUF_LEN);
		munmap(self->buf, BUF_LEN);
	}
}

/* Stop tracing and take the buffer */
static void trace_stop(struct _test_data_trace *self)
{
	tracefs_write("tracing_on", "0");
	self->trace = trace_read();
}

TEST_F(trace, map_copy_unmap)
{
	__u64 copy_iova = 0, unmapped, last;
	__u32 hwpt_id, idev_id, ioas2;
	char line[512], match[64];

	ASSERT_OK(mock_domain(self->fd, self->ioas_id, NULL, &hwpt_id,
			      &idev_id));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      BASE_IOVA));
	ASSERT_OK(ioas_alloc(self->fd, &ioas2));
	ASSERT_OK(mock_domain(self->fd, ioas2, NULL, NULL, NULL));
	ASSERT_OK(ioas_copy(self->fd, ioas2, self->ioas_id, BASE_IOVA,
			    BUF_LEN, &copy_iova, IOMMU_IOAS_MAP_READABLE));
	ASSERT_OK(ioas_unmap(self->fd, ioas2, copy_iova, BUF_LEN, NULL));
	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, BASE_IOVA, BUF_LEN,
			     &unmapped));
	/* A failed unmap is traced with its errno */
	ASSERT_ERR(ENOENT, ioas_unmap(self->fd, self->ioas_id, BASE_IOVA,
				      BUF_LEN, NULL));
	trace_stop(self);
	ASSERT_NE(NULL, self->trace);

	snprintf(match, sizeof(match), " ioas=%u ", self->ioas_id);
	ASSERT_OK(trace_find(self->trace, "iommufd_map", match, 0, line,
			     sizeof(line)));
	EXPECT_EQ(BASE_IOVA, (__u64)field_num(line, "iova"));
	EXPECT_EQ((long)BUF_LEN, field_num(line, "length"));
	EXPECT_EQ(NPAGES, field_num(line, "pinned"));
	EXPECT_LE(1, field_num(line, "runs"));
	EXPECT_GE(NPAGES, field_num(line, "runs"));
	EXPECT_EQ(0, field_num(line, "rc"));

	/* The copy is a map that pins nothing */
	snprintf(match, sizeof(match), " ioas=%u ", ioas2);
	ASSERT_OK(trace_find(self->trace, "iommufd_map", match, 0, line,
			     sizeof(line)));
	EXPECT_EQ(copy_iova, (__u64)field_num(line, "iova"));
	EXPECT_EQ(0, field_num(line, "pinned"));
	EXPECT_LE(1, field_num(line, "runs"));
	EXPECT_EQ(0, field_num(line, "rc"));

	/* Its unmap unpins nothing, the original's unmap everything */
	ASSERT_OK(trace_find(self->trace, "iommufd_unmap", match, 0, line,
			     sizeof(line)));
	EXPECT_EQ((long)BUF_LEN, field_num(line, "unmapped"));
	EXPECT_EQ(0, field_num(line, "unpinned"));
	snprintf(match, sizeof(match), " ioas=%u ", self->ioas_id);
	ASSERT_OK(trace_find(self->trace, "iommufd_unmap", match, 0, line,
			     sizeof(line)));
	EXPECT_EQ(BASE_IOVA, (__u64)field_num(line, "iova"));
	ASSERT_TRUE(field_u64(line, "last", &last));
	EXPECT_EQ(BASE_IOVA + BUF_LEN - 1, last);
	EXPECT_EQ((long)BUF_LEN, field_num(line, "unmapped"));
	EXPECT_EQ(NPAGES, field_num(line, "unpinned"));
	EXPECT_EQ(0, field_num(line, "rc"));
	ASSERT_OK(trace_find(self->trace, "iommufd_unmap", match, 1, line,
			     sizeof(line)));
	EXPECT_EQ(-ENOENT, field_num(line, "rc"));
	EXPECT_EQ(0, field_num(line, "unmapped"));

	/* The charge and its uncharge, by this process */
	snprintf(match, sizeof(match), " pid=%d ", getpid());
	ASSERT_OK(trace_find(self->trace, "iommufd_account_charge", match, 0,
			     line, sizeof(line)));
	EXPECT_TRUE(field_is(line, "mode", "user"));
	EXPECT_EQ(NPAGES, field_num(line, "npages"));
	EXPECT_EQ(getuid(), field_num(line, "uid"));
	EXPECT_LE(NPAGES, field_num(line, "locked"));
	ASSERT_OK(trace_find(self->trace, "iommufd_account_uncharge", match,
			     0, line, sizeof(line)));
	EXPECT_EQ(NPAGES, field_num(line, "npages"));
}

/*
 * An unmap of the whole IOVA space: its last IOVA is the last there is,
 * which a length field could not hold (2^64 bytes).
 */
TEST_F(trace, unmap_all)
{
	__u32 hwpt_id;
	char line[512], match[64];
	__u64 unmapped, last;

	ASSERT_OK(mock_domain(self->fd, self->ioas_id, NULL, &hwpt_id, NULL));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      BASE_IOVA));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	EXPECT_EQ((__u64)BUF_LEN, unmapped);
	trace_stop(self);
	ASSERT_NE(NULL, self->trace);

	snprintf(match, sizeof(match), " ioas=%u ", self->ioas_id);
	ASSERT_OK(trace_find(self->trace, "iommufd_unmap", match, 0, line,
			     sizeof(line)));
	EXPECT_EQ(0, field_num(line, "iova"));
	ASSERT_TRUE(field_u64(line, "last", &last));
	EXPECT_EQ(~0ULL, last);
	EXPECT_EQ((long)BUF_LEN, field_num(line, "unmapped"));
	EXPECT_EQ(NPAGES, field_num(line, "unpinned"));
	EXPECT_EQ(0, field_num(line, "rc"));
}

TEST_F(trace, attach_fill_replace_detach)
{
	__u32 stdev_id, idev_id, hwpt_id, user_id;
	char line[512], match[64];

	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      BASE_IOVA));
	ASSERT_OK(mock_domain(self->fd, self->ioas_id, &stdev_id, &hwpt_id,
			      &idev_id));
	ASSERT_OK(hwpt_alloc(self->fd, idev_id, self->ioas_id, 0, &user_id));
	ASSERT_OK(mock_replace(self->fd, stdev_id, user_id, NULL));
	ASSERT_ERR(ENOENT, mock_replace(self->fd, stdev_id, 0xfffff, NULL));
	ASSERT_OK(obj_destroy(self->fd, stdev_id));
	trace_stop(self);
	ASSERT_NE(NULL, self->trace);

	/* The auto domain was filled with the one area, then attached */
	snprintf(match, sizeof(match), "hwpt=%u ", hwpt_id);
	ASSERT_OK(trace_find(self->trace, "iommufd_domain_fill", match, 0,
			     line, sizeof(line)));
	EXPECT_EQ(self->ioas_id, field_num(line, "ioas"));
	EXPECT_EQ(1, field_num(line, "areas"));
	EXPECT_EQ((long)BUF_LEN, field_num(line, "bytes"));
	EXPECT_EQ(0, field_num(line, "rc"));
	snprintf(match, sizeof(match), "dev=%u ", idev_id);
	ASSERT_OK(trace_find(self->trace, "iommufd_attach", match, 0, line,
			     sizeof(line)));
	EXPECT_EQ(self->ioas_id, field_num(line, "pt"));
	EXPECT_EQ(hwpt_id, field_num(line, "hwpt"));
	EXPECT_EQ(0, field_num(line, "rc"));
	/* The user HWPT was filled when it was allocated */
	snprintf(match, sizeof(match), "hwpt=%u ", user_id);
	ASSERT_OK(trace_find(self->trace, "iommufd_domain_fill", match, 0,
			     line, sizeof(line)));
	snprintf(match, sizeof(match), "dev=%u ", idev_id);
	ASSERT_OK(trace_find(self->trace, "iommufd_replace", match, 0, line,
			     sizeof(line)));
	EXPECT_EQ(user_id, field_num(line, "pt"));
	EXPECT_EQ(hwpt_id, field_num(line, "old_hwpt"));
	EXPECT_EQ(user_id, field_num(line, "hwpt"));
	EXPECT_EQ(0, field_num(line, "rc"));
	ASSERT_OK(trace_find(self->trace, "iommufd_replace", match, 1, line,
			     sizeof(line)));
	EXPECT_EQ(-ENOENT, field_num(line, "rc"));
	EXPECT_EQ(user_id, field_num(line, "old_hwpt"));
	EXPECT_EQ(0, field_num(line, "hwpt"));
	ASSERT_OK(trace_find(self->trace, "iommufd_detach", match, 0, line,
			     sizeof(line)));
	EXPECT_EQ(user_id, field_num(line, "hwpt"));
}

TEST_F(trace, fault_queue_answer)
{
	struct iommu_hwpt_pgfault rec;
	struct iommu_hwpt_page_response resp = {};
	__u32 stdev_id, idev_id, parent_id, fault_id, nested_id;
	char line[512], match[64];
	int fault_fd;

	ASSERT_OK(mock_domain(self->fd, self->ioas_id, &stdev_id, NULL,
			      &idev_id));
	ASSERT_OK(hwpt_alloc(self->fd, idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_NEST_PARENT, &parent_id));
	ASSERT_OK(fault_queue_new(self->fd, &fault_id, &fault_fd));
	ASSERT_OK(hwpt_alloc_mock_nested(self->fd, idev_id, parent_id,
					 IOMMU_HWPT_FAULT_ID_VALID, fault_id,
					 IOMMU_TEST_IOTLB_DEFAULT, &nested_id));
	ASSERT_OK(mock_replace(self->fd, stdev_id, nested_id, NULL));
	ASSERT_OK(mock_trigger_iopf(self->fd, idev_id, 0, 7,
				    IOMMU_PGFAULT_PERM_WRITE, 0x7e57f000));
	ASSERT_EQ((ssize_t)sizeof(rec), read(fault_fd, &rec, sizeof(rec)));
	resp.cookie = rec.cookie;
	resp.code = IOMMUFD_PAGE_RESP_INVALID;
	ASSERT_EQ((ssize_t)sizeof(resp), write(fault_fd, &resp, sizeof(resp)));
	trace_stop(self);
	ASSERT_NE(NULL, self->trace);
	close(fault_fd);

	snprintf(match, sizeof(match), "fault=%u ", fault_id);
	ASSERT_OK(trace_find(self->trace, "iommufd_fault_queue", match, 0,
			     line, sizeof(line)));
	EXPECT_EQ(idev_id, field_num(line, "dev"));
	EXPECT_EQ(0x7e57f000, field_num(line, "addr"));
	EXPECT_EQ(7, field_num(line, "grpid"));
	EXPECT_EQ(IOMMU_PGFAULT_PERM_WRITE, field_num(line, "perm"));
	ASSERT_OK(trace_find(self->trace, "iommufd_fault_answer", match, 0,
			     line, sizeof(line)));
	EXPECT_EQ(rec.cookie, field_num(line, "cookie"));
	EXPECT_EQ(IOMMUFD_PAGE_RESP_INVALID, field_num(line, "code"));
}

/*
 * RLIMIT_MEMLOCK: a refused map says so in the kernel log, naming the
 * process, the mode, the limit and the amount; and in a trace event.
 */
struct refuse_args {
	__u64 mode;
	char *buf;
};

static int refuse_child(void *arg)
{
	struct refuse_args *a = arg;
	struct rlimit lim = {
		.rlim_cur = 8 * page_size,
		.rlim_max = 8 * page_size,
	};
	__u32 ioas_id;
	int fd;

	prctl(PR_SET_NAME, "iommufd_memlock");
	if (setrlimit(RLIMIT_MEMLOCK, &lim))
		return child_failed(2, "setrlimit");
	if (drop_capability(CAP_IPC_LOCK))
		return child_failed(3, "drop CAP_IPC_LOCK");
	fd = iommufd_open();
	if (fd < 0 || option_set(fd, IOMMU_OPTION_RLIMIT_MODE, 0, a->mode))
		return child_failed(4, "open and set the mode");
	if (ioas_alloc(fd, &ioas_id) ||
	    mock_domain(fd, ioas_id, NULL, NULL, NULL))
		return child_failed(5, "objects");
	if (ioas_map_at(fd, ioas_id, a->buf, BUF_LEN, BASE_IOVA) != -ENOMEM)
		return child_failed(6, "map over the limit is not ENOMEM");
	if (fdinfo_num(fd, "pinned_pages") || fdinfo_num(fd, "charged_pages"))
		return child_failed(7, "fdinfo counts a refused map");
	close(fd);
	return 0;
}

/* The "RLIMIT_MEMLOCK refused" record of @kmsg_fd by @comm[@pid], or "" */
static void kmsg_find(int kmsg_fd, pid_t pid, char *out, size_t size)
{
	char rec[1024], pat[64];
	ssize_t n;

	out[0] = 0;
	snprintf(pat, sizeof(pat), "iommufd_memlock[%d]", pid);
	while ((n = read(kmsg_fd, rec, sizeof(rec) - 1)) > 0 || errno == EPIPE) {
		if (n <= 0)
			continue;
		rec[n] = 0;
		if (strstr(rec, "RLIMIT_MEMLOCK refused") && strstr(rec, pat)) {
			snprintf(out, size, "%s", strchr(rec, ';') ?
				 strchr(rec, ';') + 1 : rec);
			out[strcspn(out, "\n")] = 0;
		}
	}
}

FIXTURE(rlimit)
{
	char *buf;
	int kmsg_fd;
};

FIXTURE_VARIANT(rlimit)
{
	__u64 mode;
	const char *mode_name;
	const char *charged_to;
};

FIXTURE_VARIANT_ADD(rlimit, per_user)
{
	.mode = 0,
	.mode_name = "user",
	.charged_to = "uid",
};

FIXTURE_VARIANT_ADD(rlimit, per_process)
{
	.mode = 1,
	.mode_name = "process",
	.charged_to = "pid",
};

FIXTURE_SETUP(rlimit)
{
	if (geteuid())
		SKIP(return, "needs root to read /dev/kmsg and set the mode");
	ASSERT_MOCK();
	self->buf = alloc_shared(BUF_LEN, page_size);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 2, BUF_LEN);
	self->kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, self->kmsg_fd);
	ASSERT_LE(0, lseek(self->kmsg_fd, 0, SEEK_END));
}

FIXTURE_TEARDOWN(rlimit)
{
	close(self->kmsg_fd);
	munmap(self->buf, BUF_LEN);
}

TEST_F(rlimit, log_line)
{
	struct refuse_args a = { .mode = variant->mode, .buf = self->buf };
	char msg[1024], want[128];
	unsigned int tries;
	pid_t pid;
	int status;

	/*
	 * The line is rate limited (10 in 5 s): another program's refused
	 * maps just before may have used that up. Wait for a new window.
	 */
	for (tries = 0; tries != 2; tries++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid)
			_exit(refuse_child(&a));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(0, WEXITSTATUS(status));
		kmsg_find(self->kmsg_fd, pid, msg, sizeof(msg));
		if (msg[0])
			break;
		sleep(6);
	}
	ASSERT_NE(0, msg[0]);
	ksft_print_msg("kernel log: %s\n", msg);

	snprintf(want, sizeof(want), "iommufd: RLIMIT_MEMLOCK refused ");
	EXPECT_EQ(0, strncmp(msg, want, strlen(want)));
	snprintf(want, sizeof(want), "asked to pin %ld KiB,",
		 (long)(BUF_LEN / 1024));
	EXPECT_NE(NULL, strstr(msg, want));
	snprintf(want, sizeof(want), "of a %ld KiB limit",
		 (long)(8 * page_size / 1024));
	EXPECT_NE(NULL, strstr(msg, want));
	snprintf(want, sizeof(want), "(mode %s: charged to %s %d)",
		 variant->mode_name, variant->charged_to,
		 variant->mode ? pid : (int)getuid());
	EXPECT_NE(NULL, strstr(msg, want));
	/* Not a warning: no stack trace, no taint */
	EXPECT_EQ(NULL, strstr(msg, "WARNING"));
}

/* The refusal is a trace event too, with the same numbers */
TEST_F(rlimit, trace_refuse)
{
	struct refuse_args a = { .mode = variant->mode, .buf = self->buf };
	char line[512], match[64], *trace;

	if (!tracefs_ready())
		SKIP(return, "no tracefs with iommufd's events");
	ASSERT_OK(tracefs_write("tracing_on", "0"));
	ASSERT_OK(tracefs_write("trace", ""));
	ASSERT_OK(tracefs_write("events/iommufd/iommufd_account_refuse/enable",
				"1"));
	ASSERT_OK(tracefs_write("tracing_on", "1"));
	EXPECT_EQ(0, run_in_child(refuse_child, &a));
	tracefs_write("tracing_on", "0");
	trace = trace_read();
	tracefs_write("events/iommufd/iommufd_account_refuse/enable", "0");
	ASSERT_NE(NULL, trace);

	snprintf(match, sizeof(match), " mode=%s ", variant->mode_name);
	EXPECT_OK(trace_find(trace, "iommufd_account_refuse", match, 0, line,
			     sizeof(line)));
	EXPECT_EQ(NPAGES, field_num(line, "npages"));
	EXPECT_EQ(8, field_num(line, "limit"));
	tracefs_write("trace", "");
	free(trace);
}

TEST_HARNESS_MAIN
