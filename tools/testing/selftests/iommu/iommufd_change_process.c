// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd_change_process.c - IOMMU_IOAS_CHANGE_PROCESS, the live-update
 * hand-over of a whole iommufd to another process.
 *
 * A context's file mappings (IOMMU_IOAS_MAP_FILE) are pinned, because a
 * mock device translates them, and charged to the process that mapped
 * them. A forked child inherits the descriptor and calls
 * IOMMU_IOAS_CHANGE_PROCESS: the charge moves to the child, all of it or
 * none of it. Where it is can be read in /proc/<pid>/status: VmPin holds a
 * process's pins in the default per-user mode of IOMMU_OPTION_RLIMIT_MODE
 * (the user's locked_vm is charged too, but cannot be seen), VmLck holds
 * them in the per-process mode. Each child checks its own numbers and
 * reports through its exit status; the parent checks its own.
 *
 * Choosing the mode needs CAP_SYS_RESOURCE, so the tests run as root, which
 * also has CAP_IPC_LOCK: the children that test RLIMIT_MEMLOCK drop it.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/resource.h>

#include "../kselftest_harness.h"
#include "iommufd_test_util.h"

#define FILE_PAGES 8
#define FILE_LEN (FILE_PAGES * page_size)
#define FILE_KIB ((long)(FILE_LEN / 1024))
#define BASE_IOVA ((__u64)MOCK_APERTURE_START)
#define FILE_RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

/* A memfd of @len bytes, written to so it has pages; or -errno */
static int memfd_with_pages(size_t len)
{
	int mfd = memfd_create("iommufd_change_process", MFD_CLOEXEC);
	char *p;

	if (mfd < 0)
		return -errno;
	if (ftruncate(mfd, len))
		goto err_close;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (p == MAP_FAILED)
		goto err_close;
	memset(p, 0x47, len);
	munmap(p, len);
	return mfd;

err_close:
	close(mfd);
	return -errno;
}

static int change_process(int fd, __u32 reserved)
{
	struct iommu_ioas_change_process cmd = {
		.size = sizeof(cmd),
		.__reserved = reserved,
	};

	return ifd_ioctl(fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd);
}

FIXTURE(change)
{
	int fd;
	__u32 ioas_id;		/* has a mock device: its mappings are pinned */
	__u32 hwpt_id;		/* the device's HWPT */
	int mfd[2];		/* FILE_LEN each */
	long start;		/* the variant's counter before the test */
	long other;		/* the other counter, which must not move */
};

FIXTURE_VARIANT(change)
{
	__u64 mode;
	const char *counter;
	const char *untouched;
};

FIXTURE_VARIANT_ADD(change, per_user)
{
	.mode = 0,
	.counter = "VmPin",
	.untouched = "VmLck",
};

FIXTURE_VARIANT_ADD(change, per_process)
{
	.mode = 1,
	.counter = "VmLck",
	.untouched = "VmPin",
};

FIXTURE_SETUP(change)
{
	unsigned int i;

	if (geteuid())
		SKIP(return, "needs CAP_SYS_RESOURCE to choose the mode");
	ASSERT_MOCK();
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_OK(option_set(self->fd, IOMMU_OPTION_RLIMIT_MODE, 0,
			     variant->mode));
	ASSERT_OK(ioas_alloc(self->fd, &self->ioas_id));
	ASSERT_OK(mock_domain(self->fd, self->ioas_id, NULL, &self->hwpt_id,
			      NULL));
	for (i = 0; i != 2; i++) {
		self->mfd[i] = memfd_with_pages(FILE_LEN);
		ASSERT_LE(0, self->mfd[i]);
	}
	self->start = proc_status_kib(variant->counter);
	self->other = proc_status_kib(variant->untouched);
	ASSERT_LE(0, self->start);
	ASSERT_LE(0, self->other);
}

FIXTURE_TEARDOWN(change)
{
	/*
	 * Whoever was charged last is uncharged on close: the parent's
	 * counter is back where it started either way.
	 */
	ASSERT_OK(close(self->fd));
	EXPECT_EQ(self->start, proc_status_kib(variant->counter));
	EXPECT_EQ(self->other, proc_status_kib(variant->untouched));
	close(self->mfd[0]);
	close(self->mfd[1]);
}

/* KiB charged to this process since the setup */
static long charged(struct _test_data_change *self,
		    const struct _fixture_variant_change *variant)
{
	return proc_status_kib(variant->counter) - self->start;
}

/* Map all of memfd @i at @iova in @ioas_id */
static int map_memfd(struct _test_data_change *self, __u32 ioas_id,
		     unsigned int i, __u64 iova)
{
	return ioas_map_file(self->fd, ioas_id, self->mfd[i], 0, FILE_LEN,
			     &iova, FILE_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
}

/* What a child does, and what it must see */
struct child_args {
	int fd;
	__u32 reserved;		/* for the command */
	int expect;		/* its result */
	const char *counter;
	long kib;		/* the child's counter afterwards, from 0 */
	const char *untouched;
	long memlock;		/* RLIMIT_MEMLOCK in bytes; 0: leave it */
	bool keep_cap;		/* keep CAP_IPC_LOCK under that limit */
};

/* Child side: set the limit, change process, check its own counters */
static int change_child(void *arg)
{
	struct child_args *a = arg;
	struct rlimit lim;
	int rc;

	if (proc_status_kib(a->counter) || proc_status_kib(a->untouched))
		return child_failed(2, "a new child has pins already");
	if (a->memlock) {
		lim.rlim_cur = a->memlock;
		lim.rlim_max = a->memlock;
		if (setrlimit(RLIMIT_MEMLOCK, &lim))
			return child_failed(3, "setrlimit");
		if (!a->keep_cap && drop_capability(CAP_IPC_LOCK))
			return child_failed(4, "drop CAP_IPC_LOCK");
	}
	rc = change_process(a->fd, a->reserved);
	if (rc != a->expect) {
		fprintf(stderr, "# change_process: %d, wanted %d\n", rc,
			a->expect);
		return 5;
	}
	if (proc_status_kib(a->counter) != a->kib) {
		fprintf(stderr, "# child %s: %ld KiB, wanted %ld\n",
			a->counter, proc_status_kib(a->counter), a->kib);
		return 6;
	}
	if (proc_status_kib(a->untouched))
		return child_failed(7, "the other counter moved");
	return 0;
}

/* Run change_child() with what the variant counts */
static int run_change(struct _test_data_change *self,
		      const struct _fixture_variant_change *variant, int expect,
		      long kib, long memlock, __u32 reserved)
{
	struct child_args a = {
		.fd = self->fd,
		.reserved = reserved,
		.expect = expect,
		.counter = variant->counter,
		.kib = kib,
		.untouched = variant->untouched,
		.memlock = memlock,
	};

	return run_in_child(change_child, &a);
}

/*
 * The pins of a file mapping move to the child that takes the context
 * over, and back to the parent when it takes it over in turn.
 */
TEST_F(change, moves_the_charge)
{
	char *view;

	view = mmap(NULL, FILE_LEN, PROT_READ, MAP_SHARED, self->mfd[0], 0);
	ASSERT_NE(MAP_FAILED, view);
	ASSERT_OK(map_memfd(self, self->ioas_id, 0, BASE_IOVA));
	EXPECT_EQ(FILE_KIB, charged(self, variant));

	EXPECT_EQ(0, run_change(self, variant, 0, FILE_KIB, 0, 0));
	EXPECT_EQ(0, charged(self, variant));
	EXPECT_EQ(self->other, proc_status_kib(variant->untouched));

	/* The mapping itself did not change */
	EXPECT_OK(mock_check_map(self->fd, self->hwpt_id, BASE_IOVA, view,
				 FILE_LEN));
	ASSERT_OK(change_process(self->fd, 0));
	EXPECT_EQ(FILE_KIB, charged(self, variant));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));
	EXPECT_EQ(0, charged(self, variant));
	munmap(view, FILE_LEN);
}

/* Taking over what one already has changes nothing */
TEST_F(change, same_process)
{
	ASSERT_OK(map_memfd(self, self->ioas_id, 0, BASE_IOVA));
	ASSERT_OK(change_process(self->fd, 0));
	EXPECT_EQ(FILE_KIB, charged(self, variant));
	ASSERT_OK(change_process(self->fd, 0));
	EXPECT_EQ(FILE_KIB, charged(self, variant));
}

/*
 * Many IOASes, all empty but one: the change visits them all and holds no
 * lock per IOAS while it works, so their number is no limit (a lock per
 * IOAS held at once overflowed lockdep's nesting count at 2048).
 */
TEST_F(change, many_ioas)
{
	__u32 id;
	int i;

	for (i = 0; i != 2100; i++)
		ASSERT_OK(ioas_alloc(self->fd, &id));
	/* The one with the device, whose mappings are pinned and charged */
	ASSERT_OK(map_memfd(self, self->ioas_id, 0, BASE_IOVA));
	ASSERT_OK(change_process(self->fd, 0));
	EXPECT_EQ(FILE_KIB, charged(self, variant));
}

/*
 * Every IOAS moves, and memory that several mappings share (a copy, or a
 * second domain) is charged once, so it moves once.
 */
TEST_F(change, all_ioas_once)
{
	__u32 second, copy;
	__u64 iova = 0;

	ASSERT_OK(map_memfd(self, self->ioas_id, 0, BASE_IOVA));
	ASSERT_OK(ioas_alloc(self->fd, &second));
	ASSERT_OK(mock_domain(self->fd, second, NULL, NULL, NULL));
	ASSERT_OK(mock_domain(self->fd, second, NULL, NULL, NULL));
	ASSERT_OK(map_memfd(self, second, 1, BASE_IOVA));
	ASSERT_OK(ioas_alloc(self->fd, &copy));
	ASSERT_OK(mock_domain(self->fd, copy, NULL, NULL, NULL));
	ASSERT_OK(ioas_copy(self->fd, copy, self->ioas_id, BASE_IOVA,
			    FILE_LEN, &iova, FILE_RW));
	EXPECT_EQ(2 * FILE_KIB, charged(self, variant));

	EXPECT_EQ(0, run_change(self, variant, 0, 2 * FILE_KIB, 0, 0));
	EXPECT_EQ(0, charged(self, variant));
}

/*
 * Mappings of process memory cannot move. One anywhere in the context,
 * pinned or not, fails the call with EINVAL, and nothing moves.
 */
TEST_F(change, refuses_process_memory)
{
	__u32 lazy;
	__u64 iova;
	char *mem;

	mem = alloc_shared(FILE_LEN, page_size);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_OK(map_memfd(self, self->ioas_id, 0, BASE_IOVA));

	/* In an IOAS without a device: not even pinned */
	ASSERT_OK(ioas_alloc(self->fd, &lazy));
	ASSERT_OK(ioas_map_any(self->fd, lazy, mem, FILE_LEN, &iova));
	EXPECT_EQ(0, run_change(self, variant, -EINVAL, 0, 0, 0));
	EXPECT_EQ(FILE_KIB, charged(self, variant));
	ASSERT_OK(ioas_unmap_all(self->fd, lazy, NULL));

	/* In the IOAS with the file mapping */
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, mem, FILE_LEN,
			      BASE_IOVA + FILE_LEN));
	EXPECT_EQ(2 * FILE_KIB, charged(self, variant));
	EXPECT_EQ(0, run_change(self, variant, -EINVAL, 0, 0, 0));
	EXPECT_EQ(2 * FILE_KIB, charged(self, variant));

	/* Without it the file mapping moves */
	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, BASE_IOVA + FILE_LEN,
			     FILE_LEN, NULL));
	EXPECT_EQ(0, run_change(self, variant, 0, FILE_KIB, 0, 0));
	EXPECT_EQ(0, charged(self, variant));
	munmap(mem, FILE_LEN);
}

/*
 * The taker's RLIMIT_MEMLOCK must hold the charge, without CAP_IPC_LOCK;
 * if it does not, ENOMEM and nothing moves. In the per-process mode one
 * mapping fits and the other does not, so the one that was moved first
 * must be moved back.
 */
TEST_F(change, memlock_limit)
{
	ASSERT_OK(map_memfd(self, self->ioas_id, 0, BASE_IOVA));
	ASSERT_OK(map_memfd(self, self->ioas_id, 1, BASE_IOVA + FILE_LEN));
	EXPECT_EQ(2 * FILE_KIB, charged(self, variant));

	EXPECT_EQ(0, run_change(self, variant, -ENOMEM, 0,
				FILE_LEN + FILE_LEN / 2, 0));
	EXPECT_EQ(2 * FILE_KIB, charged(self, variant));
	EXPECT_EQ(0, run_change(self, variant, -ENOMEM, 0, page_size, 0));
	EXPECT_EQ(2 * FILE_KIB, charged(self, variant));

	/* Room enough: it moves, limit and all */
	EXPECT_EQ(0, run_change(self, variant, 0, 2 * FILE_KIB,
				1024 * FILE_LEN, 0));
	EXPECT_EQ(0, charged(self, variant));
}

/*
 * A taker with CAP_IPC_LOCK takes the charge over past its limit, in the
 * per-user mode (the same user: only the process showing the pins moves)
 * as in the per-process mode (its mm is charged past the limit); the
 * capability is asked for only there.
 */
TEST_F(change, capability_past_limit)
{
	struct child_args a = {
		.fd = self->fd,
		.counter = variant->counter,
		.kib = 2 * FILE_KIB,
		.untouched = variant->untouched,
		.memlock = page_size,
		.keep_cap = true,
	};

	if (!has_capability(CAP_IPC_LOCK))
		SKIP(return, "needs CAP_IPC_LOCK");
	ASSERT_OK(map_memfd(self, self->ioas_id, 0, BASE_IOVA));
	ASSERT_OK(map_memfd(self, self->ioas_id, 1, BASE_IOVA + FILE_LEN));
	EXPECT_EQ(0, run_in_child(change_child, &a));
	EXPECT_EQ(0, charged(self, variant));
	ASSERT_OK(change_process(self->fd, 0));
	EXPECT_EQ(2 * FILE_KIB, charged(self, variant));
}

/*
 * A taker whose limit holds the charge once takes it over. In the per-user
 * mode the child is the same user as the parent, whose locked_vm already
 * holds the pins: only the process showing them changes, and they are not
 * charged to the user a second time on the way (that would need twice the
 * limit). In the per-process mode the child's own mm is charged, which it
 * holds as well.
 */
TEST_F(change, limit_holds_it_once)
{
	ASSERT_OK(map_memfd(self, self->ioas_id, 0, BASE_IOVA));
	EXPECT_EQ(0, run_change(self, variant, 0, FILE_KIB,
				FILE_LEN + FILE_LEN / 2, 0));
	EXPECT_EQ(0, charged(self, variant));
	ASSERT_OK(change_process(self->fd, 0));
	EXPECT_EQ(FILE_KIB, charged(self, variant));
}

/* What retake_child() maps with, and where it is counted */
struct retake_args {
	struct _test_data_change *self;
	const char *counter;
};

/*
 * Child side of limit_holds_retake: under a limit that holds the mapping
 * once, map it, then take over the context it pays for already.
 */
static int retake_child(void *arg)
{
	struct retake_args *a = arg;
	struct rlimit lim = {
		.rlim_cur = FILE_LEN + FILE_LEN / 2,
		.rlim_max = FILE_LEN + FILE_LEN / 2,
	};
	int rc;

	if (setrlimit(RLIMIT_MEMLOCK, &lim))
		return child_failed(3, "setrlimit");
	if (drop_capability(CAP_IPC_LOCK))
		return child_failed(4, "drop CAP_IPC_LOCK");
	if (map_memfd(a->self, a->self->ioas_id, 0, BASE_IOVA))
		return child_failed(5, "map under the limit");
	rc = change_process(a->self->fd, 0);
	if (rc) {
		fprintf(stderr, "# change_process: %d, wanted 0\n", rc);
		return 6;
	}
	if (proc_status_kib(a->counter) != FILE_KIB)
		return child_failed(7, "the charge changed");
	return 0;
}

/*
 * The process that pays taking the context over again moves nothing, so
 * a limit that holds its pins once is enough in either mode (charging its
 * mm a second time on the way needed twice the limit per process).
 */
TEST_F(change, limit_holds_retake)
{
	struct retake_args a = { .self = self, .counter = variant->counter };

	EXPECT_EQ(0, run_in_child(retake_child, &a));
	ASSERT_OK(change_process(self->fd, 0));
	EXPECT_EQ(FILE_KIB, charged(self, variant));
}

/* A non-zero reserved member is refused before anything moves */
TEST_F(change, reserved)
{
	ASSERT_OK(map_memfd(self, self->ioas_id, 0, BASE_IOVA));
	EXPECT_EQ(0, run_change(self, variant, -EOPNOTSUPP, 0, 0, 1));
	EXPECT_EQ(0, run_change(self, variant, -EOPNOTSUPP, 0, 0,
				0x80000000));
	EXPECT_EQ(FILE_KIB, charged(self, variant));
}

/* Nothing mapped, or nothing pinned: nothing to move, and it works */
TEST_F(change, nothing_to_move)
{
	__u32 lazy, stdev_id;
	int empty;

	empty = iommufd_open();
	ASSERT_LE(0, empty);
	EXPECT_OK(change_process(empty, 0));
	EXPECT_OK(close(empty));

	EXPECT_EQ(0, run_change(self, variant, 0, 0, 0, 0));
	EXPECT_EQ(0, charged(self, variant));

	/*
	 * A file mapping nothing pins yet moves too: when a device arrives
	 * later, its pages are charged to the new owner, not to us.
	 */
	ASSERT_OK(ioas_alloc(self->fd, &lazy));
	ASSERT_OK(map_memfd(self, lazy, 0, BASE_IOVA));
	EXPECT_EQ(0, run_change(self, variant, 0, 0, 0, 0));
	EXPECT_EQ(0, charged(self, variant));
	ASSERT_OK(mock_domain(self->fd, lazy, &stdev_id, NULL, NULL));
	EXPECT_EQ(0, charged(self, variant));
	ASSERT_OK(obj_destroy(self->fd, stdev_id));
	EXPECT_EQ(0, charged(self, variant));

	/* Taken back, it is ours again */
	ASSERT_OK(change_process(self->fd, 0));
	ASSERT_OK(mock_domain(self->fd, lazy, NULL, NULL, NULL));
	EXPECT_EQ(FILE_KIB, charged(self, variant));
}

TEST_HARNESS_MAIN
