// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd_core.c - the foundation of /dev/iommu: contexts, object IDs and
 * their lifetime, and the rules that every ioctl shares.
 *
 * The "dispatch" fixture has one variant per command of the uAPI and
 * checks the size protocol on each: too short is EINVAL, longer with a
 * non-zero tail is E2BIG, longer with a zero tail acts exactly like the
 * exact size, a bad pointer is EFAULT, and calls that succeed do so at
 * every size from the first layout on, never touching what lies past it.
 * The other tests go through the commands one by one for unknown flags,
 * reserved members, bad and mistyped IDs, and IOMMU_OPTION, and check that
 * failing calls leave no trace. Tests that need the mock driver say so by
 * creating mock objects; on a kernel without CONFIG_IOMMUFD_TEST they are
 * skipped.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/vfs.h>

#include "../kselftest_harness.h"
#include "iommufd_test_util.h"

/* Size of the scratch buffer of the "ctx" fixture */
#define CTX_BUF_LEN (16 * page_size)

/* A memfd of @len bytes filled with @fill, or -errno */
static int memfd_filled(size_t len, int fill)
{
	char *p;
	int mfd;

	mfd = memfd_create("iommufd_core", MFD_CLOEXEC);
	if (mfd < 0)
		return -errno;
	if (ftruncate(mfd, len))
		goto err_close;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (p == MAP_FAILED)
		goto err_close;
	memset(p, fill, len);
	munmap(p, len);
	return mfd;

err_close:
	close(mfd);
	return -errno;
}

TEST(open_and_close)
{
	int a, b;

	a = iommufd_open();
	ASSERT_LE(0, a);
	b = iommufd_open();
	ASSERT_LE(0, b);
	EXPECT_NE(a, b);
	EXPECT_OK(close(a));
	EXPECT_OK(close(b));
}

/*
 * 64 contexts, each with two IOASes, mappings and a copy, closed in an
 * interleaved order. Every context stays fully usable while the others go.
 */
TEST(many_contexts)
{
	enum { NCTX = 64 };
	int fds[NCTX];
	__u32 src[NCTX], dst[NCTX];
	char *buf;
	__u64 iova;
	int i;

	buf = alloc_shared(4 * page_size, page_size);
	ASSERT_NE(MAP_FAILED, buf);
	for (i = 0; i != NCTX; i++) {
		fds[i] = iommufd_open();
		ASSERT_LE(0, fds[i]);
		ASSERT_OK(ioas_alloc(fds[i], &src[i]));
		ASSERT_OK(ioas_alloc(fds[i], &dst[i]));
		ASSERT_OK(ioas_map_at(fds[i], src[i], buf, 2 * page_size,
				      (i + 1) * 16 * page_size));
		ASSERT_OK(ioas_map_any(fds[i], src[i], buf + 2 * page_size,
				       2 * page_size, &iova));
		iova = 0;
		ASSERT_OK(ioas_copy(fds[i], dst[i], src[i],
				    (i + 1) * 16 * page_size, 2 * page_size,
				    &iova, IOMMU_IOAS_MAP_READABLE));
	}

	/* Even ones first, in order; then the odd ones backwards */
	for (i = 0; i < NCTX; i += 2)
		ASSERT_OK(close(fds[i]));
	for (i = NCTX - 1; i > 0; i -= 2) {
		__u64 unmapped;

		/* Still intact: its own mappings, nothing else */
		ASSERT_OK(ioas_unmap(fds[i], src[i], (i + 1) * 16 * page_size,
				     2 * page_size, &unmapped));
		EXPECT_EQ(2 * page_size, unmapped);
		ASSERT_OK(ioas_unmap_all(fds[i], dst[i], &unmapped));
		EXPECT_EQ(2 * page_size, unmapped);
		ASSERT_OK(close(fds[i]));
	}
	munmap(buf, 4 * page_size);
}

/*
 * Contexts that each pin the same buffer through a mock domain hold one
 * pin each, and each close gives exactly its own pins back.
 */
TEST(many_contexts_pinned)
{
	enum { NCTX = 12 };
	int fds[NCTX], check_fd;
	size_t len = 4 * page_size;
	__u32 ioas_id;
	char *buf;
	int i;

	ASSERT_MOCK();
	buf = alloc_shared(len, page_size);
	ASSERT_NE(MAP_FAILED, buf);
	check_fd = iommufd_open();
	ASSERT_LE(0, check_fd);

	for (i = 0; i != NCTX; i++) {
		fds[i] = iommufd_open();
		ASSERT_LE(0, fds[i]);
		ASSERT_OK(ioas_alloc(fds[i], &ioas_id));
		ASSERT_OK(mock_domain(fds[i], ioas_id, NULL, NULL, NULL));
		ASSERT_OK(ioas_map_at(fds[i], ioas_id, buf, len,
				      MOCK_APERTURE_START));
	}
	ASSERT_OK(mock_check_pins(check_fd, buf, len, NCTX));

	/* Close the middle ones first, then the outer ones from both ends */
	for (i = NCTX / 4; i != 3 * NCTX / 4; i++)
		ASSERT_OK(close(fds[i]));
	ASSERT_OK(mock_check_pins(check_fd, buf, len, NCTX / 2));
	for (i = 0; i != NCTX / 4; i++) {
		ASSERT_OK(close(fds[NCTX - 1 - i]));
		ASSERT_OK(close(fds[i]));
		ASSERT_OK(mock_check_pins(check_fd, buf, len,
					  NCTX / 2 - 2 * (i + 1)));
	}
	ASSERT_OK(close(check_fd));
	munmap(buf, len);
}

FIXTURE(ctx)
{
	int fd;
	char *buf;
};

FIXTURE_SETUP(ctx)
{
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	self->buf = alloc_shared(CTX_BUF_LEN, page_size);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 0x3c, CTX_BUF_LEN);
}

FIXTURE_TEARDOWN(ctx)
{
	if (self->fd >= 0)
		TEARDOWN_CLOSE_UNPINNED(self->fd, self->buf, CTX_BUF_LEN);
	munmap(self->buf, CTX_BUF_LEN);
}

TEST_F(ctx, ioas_ids)
{
	enum { NIOAS = 100 };
	__u32 ids[NIOAS];
	int i, j;

	for (i = 0; i != NIOAS; i++) {
		ASSERT_OK(ioas_alloc(self->fd, &ids[i]));
		ASSERT_NE(0, ids[i]);
		for (j = 0; j != i; j++)
			ASSERT_NE(ids[j], ids[i]);
	}
	/* Every other one goes; going twice is ENOENT */
	for (i = 0; i < NIOAS; i += 2) {
		EXPECT_OK(obj_destroy(self->fd, ids[i]));
		EXPECT_ERR(ENOENT, obj_destroy(self->fd, ids[i]));
	}
	/* The survivors are untouched */
	for (i = 1; i < NIOAS; i += 2)
		EXPECT_EQ(1, ioas_alignment(self->fd, ids[i]));
	for (i = 1; i < NIOAS; i += 2)
		EXPECT_OK(obj_destroy(self->fd, ids[i]));
}

TEST_F(ctx, destroy_unknown)
{
	__u32 ioas_id;

	EXPECT_ERR(ENOENT, obj_destroy(self->fd, 0));
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, 1));
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, 0xffffffff));
	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, ioas_id + 1));
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, ioas_id + 0x10000));
	EXPECT_OK(obj_destroy(self->fd, ioas_id));
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, ioas_id));
}

/* IDs belong to their context: another context cannot reach them */
TEST_F(ctx, ids_are_per_context)
{
	__u32 mine, other_ids[3];
	__u64 unmapped;
	int other, i;

	other = iommufd_open();
	ASSERT_LE(0, other);
	for (i = 0; i != 3; i++)
		ASSERT_OK(ioas_alloc(other, &other_ids[i]));
	ASSERT_OK(ioas_map_at(other, other_ids[2], self->buf, page_size, 0));

	/* This context has none of them, whatever their values */
	for (i = 0; i != 3; i++)
		EXPECT_ERR(ENOENT, obj_destroy(self->fd, other_ids[i]));
	ASSERT_OK(ioas_alloc(self->fd, &mine));
	EXPECT_ERR(ENOENT, ioas_unmap_all(self->fd, mine + 1, &unmapped));

	/* ... and closing this one does not touch the other one */
	ASSERT_OK(close(self->fd));
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_OK(ioas_unmap_all(other, other_ids[2], &unmapped));
	EXPECT_EQ(page_size, unmapped);
	ASSERT_OK(close(other));
}

TEST_F(ctx, destroy_busy_with_access)
{
	__u32 ioas_id;
	__u64 iova;
	int access_fd;

	ASSERT_MOCK();
	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	ASSERT_OK(mock_access_create(self->fd, ioas_id, 0, &access_fd));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, ioas_id));

	/* The failed destroy left the IOAS working */
	ASSERT_OK(ioas_map_any(self->fd, ioas_id, self->buf, page_size,
			       &iova));
	EXPECT_OK(mock_access_rw(self->fd, access_fd, iova, self->buf + 8,
				 8, 0));

	/* The access goes with its fd, and the IOAS is free again */
	ASSERT_OK(close(access_fd));
	EXPECT_OK(obj_destroy(self->fd, ioas_id));
}

TEST_F(ctx, destroy_busy_with_device)
{
	__u32 ioas_id, stdev_id, hwpt_id, idev_id;

	ASSERT_MOCK();
	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	ASSERT_OK(mock_domain(self->fd, ioas_id, &stdev_id, &hwpt_id,
			      &idev_id));
	EXPECT_NE(0, stdev_id);
	EXPECT_NE(0, hwpt_id);
	EXPECT_NE(0, idev_id);

	/* The IOAS carries the HWPT, which carries the device */
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, ioas_id));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, hwpt_id));

	/* Unplugging the device takes its automatic HWPT along */
	ASSERT_OK(obj_destroy(self->fd, stdev_id));
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, hwpt_id));
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, idev_id));
	EXPECT_OK(obj_destroy(self->fd, ioas_id));
}

/*
 * Closing a context with everything still in it: mappings pinned by two
 * domains, a copy in another IOAS, an access holding pins. The teardown
 * then checks from a new context that no pin survived the close.
 */
TEST_F(ctx, close_with_live_objects)
{
	__u32 ioas_a, ioas_b, item;
	__u64 iova_b = 0;
	int access_fd;
	int i;

	ASSERT_MOCK();
	ASSERT_OK(ioas_alloc(self->fd, &ioas_a));
	ASSERT_OK(ioas_alloc(self->fd, &ioas_b));
	for (i = 0; i != 2; i++)
		ASSERT_OK(mock_domain(self->fd, ioas_a, NULL, NULL, NULL));
	ASSERT_OK(ioas_map_at(self->fd, ioas_a, self->buf, CTX_BUF_LEN,
			      MOCK_APERTURE_START));
	ASSERT_OK(ioas_copy(self->fd, ioas_b, ioas_a, MOCK_APERTURE_START,
			    CTX_BUF_LEN, &iova_b,
			    IOMMU_IOAS_MAP_READABLE |
			    IOMMU_IOAS_MAP_WRITEABLE));
	ASSERT_OK(mock_access_create(self->fd, ioas_b,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				     &access_fd));
	ASSERT_OK(mock_access_pin(self->fd, access_fd, iova_b, page_size,
				  self->buf, 0, &item));
	ASSERT_OK(mock_check_pins(self->fd, self->buf, CTX_BUF_LEN, 1));

	/* The access fd keeps the context; let it go first */
	ASSERT_OK(close(access_fd));
}

/*
 * An access holds a reference on its context: closing /dev/iommu first
 * keeps everything (and its pins) until the access fd is closed too.
 */
TEST_F(ctx, access_outlives_close)
{
	int access_fd, check_fd;
	__u32 ioas_id, item;

	ASSERT_MOCK();
	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	ASSERT_OK(ioas_map_at(self->fd, ioas_id, self->buf, CTX_BUF_LEN,
			      0));
	ASSERT_OK(mock_access_create(self->fd, ioas_id,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				     &access_fd));
	ASSERT_OK(mock_access_pin(self->fd, access_fd, 0, CTX_BUF_LEN,
				  self->buf, MOCK_FLAGS_ACCESS_WRITE, &item));

	ASSERT_OK(close(self->fd));
	self->fd = -1;
	check_fd = iommufd_open();
	ASSERT_LE(0, check_fd);
	EXPECT_OK(mock_check_pins(check_fd, self->buf, CTX_BUF_LEN, 1));
	ASSERT_OK(close(access_fd));
	EXPECT_OK(mock_check_pins(check_fd, self->buf, CTX_BUF_LEN, 0));
	ASSERT_OK(close(check_fd));
}

/* Request numbers that are not commands, with a plausible argument */
TEST_F(ctx, unknown_request_numbers)
{
	static const unsigned int nrs[] = {
		0x00, 0x01, 0x3f, 0x60, 0x7f,	/* below IOMMUFD_CMD_BASE */
		0x90, 0x91,			/* the vIOMMU hole */
		0x93, 0x9f,			/* after the last command */
		0xa1, 0xc0, 0xff,		/* above the test command */
	};
	__u32 arg[64] = { sizeof(arg) };
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(nrs); i++) {
		EXPECT_ERR(ENOTTY, ifd_ioctl(self->fd,
					     _IO(IOMMUFD_TYPE, nrs[i]), arg));
		EXPECT_ERR(ENOTTY, ifd_ioctl(self->fd,
					     _IO(IOMMUFD_TYPE, nrs[i]), NULL));
	}
}

TEST_F(ctx, ioas_alloc_rules)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	unsigned int bit;

	for (bit = 0; bit != 32; bit++) {
		cmd.flags = 1U << bit;
		cmd.out_ioas_id = 0;
		EXPECT_ERR(EOPNOTSUPP,
			   ifd_ioctl(self->fd, IOMMU_IOAS_ALLOC, &cmd));
		EXPECT_EQ(0, cmd.out_ioas_id);
	}
	/*
	 * The context still holds no object: only then may its accounting
	 * mode change.
	 */
	EXPECT_OK(option_set(self->fd, IOMMU_OPTION_RLIMIT_MODE, 0, 0));
}

TEST_F(ctx, map_rules)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA,
		.user_va = (__u64)(unsigned long)self->buf,
		.length = page_size,
		.iova = 0x100000,
	};
	__u64 unmapped, val;
	unsigned int bit;
	__u32 ioas_id;

	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	cmd.ioas_id = ioas_id;

	for (bit = 3; bit != 32; bit++) {
		cmd.flags |= 1U << bit;
		EXPECT_ERR(EOPNOTSUPP, ifd_ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
		cmd.flags &= ~(1U << bit);
	}
	cmd.__reserved = 1;
	EXPECT_ERR(EOPNOTSUPP, ifd_ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.__reserved = 0;

	/* Neither readable nor writeable */
	cmd.flags = IOMMU_IOAS_MAP_FIXED_IOVA;
	EXPECT_ERR(EINVAL, ifd_ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA;

	cmd.length = 0;
	EXPECT_ERR(EINVAL, ifd_ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.length = page_size;

	/* The IOVA range, or the user range, wraps around */
	cmd.iova = -page_size;
	cmd.length = 2 * page_size;
	EXPECT_ERR(EOVERFLOW, ifd_ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.iova = 0x100000;
	cmd.user_va = -page_size;
	EXPECT_ERR(EOVERFLOW, ifd_ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.user_va = (__u64)(unsigned long)self->buf;
	cmd.length = page_size;

	/* Wrong IOAS */
	cmd.ioas_id++;
	EXPECT_ERR(ENOENT, ifd_ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.ioas_id = 0;
	EXPECT_ERR(ENOENT, ifd_ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));

	/* None of that left anything behind */
	EXPECT_EQ(1, ioas_alignment(self->fd, ioas_id));
	ASSERT_OK(option_get(self->fd, IOMMU_OPTION_HUGE_PAGES, ioas_id,
			     &val));
	EXPECT_EQ(1, val);
	ASSERT_OK(ioas_unmap_all(self->fd, ioas_id, &unmapped));
	EXPECT_EQ(0, unmapped);
}

TEST_F(ctx, map_file_rules)
{
	__u32 rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	int mfd, pipefds[2], proc, dir, null, tmp;
	struct statfs sfs;
	__u32 ioas_id, bit;
	__u64 iova = 0, unmapped;

	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	mfd = memfd_filled(4 * page_size, 0x11);
	ASSERT_LE(0, mfd);

	for (bit = 3; bit != 32; bit++)
		EXPECT_ERR(EOPNOTSUPP,
			   ioas_map_file(self->fd, ioas_id, mfd, 0, page_size,
					 &iova, rw | (1U << bit)));
	EXPECT_ERR(EINVAL, ioas_map_file(self->fd, ioas_id, mfd, 0,
					 page_size, &iova, 0));
	EXPECT_ERR(EINVAL, ioas_map_file(self->fd, ioas_id, mfd, 0, 0, &iova,
					 rw));
	EXPECT_ERR(ENOENT, ioas_map_file(self->fd, ioas_id + 1, mfd, 0,
					 page_size, &iova, rw));
	EXPECT_ERR(ENOENT, ioas_map_file(self->fd, 0, mfd, 0, page_size,
					 &iova, rw));

	/* Not a descriptor at all */
	EXPECT_ERR(EBADF, ioas_map_file(self->fd, ioas_id, -1, 0, page_size,
					&iova, rw));
	EXPECT_ERR(EBADF, ioas_map_file(self->fd, ioas_id, 0x7ffffff0, 0,
					page_size, &iova, rw));

	/* Files whose pages cannot be pinned: not shmem, not hugetlbfs */
	ASSERT_OK(pipe(pipefds));
	EXPECT_ERR(EINVAL, ioas_map_file(self->fd, ioas_id, pipefds[0], 0,
					 page_size, &iova, rw));
	proc = open("/proc/self/status", O_RDONLY);
	ASSERT_LE(0, proc);
	EXPECT_ERR(EINVAL, ioas_map_file(self->fd, ioas_id, proc, 0,
					 page_size, &iova,
					 IOMMU_IOAS_MAP_READABLE));
	dir = open("/", O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, dir);
	EXPECT_ERR(EINVAL, ioas_map_file(self->fd, ioas_id, dir, 0,
					 page_size, &iova,
					 IOMMU_IOAS_MAP_READABLE));
	null = open("/dev/null", O_RDWR);
	ASSERT_LE(0, null);
	EXPECT_ERR(EINVAL, ioas_map_file(self->fd, ioas_id, null, 0,
					 page_size, &iova, rw));
	EXPECT_ERR(EINVAL, ioas_map_file(self->fd, ioas_id, self->fd, 0,
					 page_size, &iova, rw));

	ASSERT_OK(ioas_unmap_all(self->fd, ioas_id, &unmapped));
	EXPECT_EQ(0, unmapped);

	/* And the good case, to show the rest was really about the file */
	EXPECT_OK(ioas_map_file(self->fd, ioas_id, mfd, 0, 4 * page_size,
				&iova, rw));
	ASSERT_OK(ioas_unmap_all(self->fd, ioas_id, &unmapped));
	EXPECT_EQ(4 * page_size, unmapped);

	/* Any shmem file qualifies, not only a memfd */
	tmp = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	if (tmp >= 0 && !fstatfs(tmp, &sfs) && sfs.f_type == TMPFS_MAGIC) {
		ASSERT_OK(ftruncate(tmp, 2 * page_size));
		EXPECT_OK(ioas_map_file(self->fd, ioas_id, tmp, 0,
					2 * page_size, &iova, rw));
	} else {
		TH_LOG("/tmp is not tmpfs: shmem files not tried");
	}
	if (tmp >= 0)
		close(tmp);

	close(null);
	close(dir);
	close(proc);
	close(pipefds[0]);
	close(pipefds[1]);
	close(mfd);
}

TEST_F(ctx, copy_rules)
{
	__u32 rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	__u64 src_iova = 0x400000, dst_iova = 0, unmapped;
	__u32 src, dst, bit;

	ASSERT_OK(ioas_alloc(self->fd, &src));
	ASSERT_OK(ioas_alloc(self->fd, &dst));
	ASSERT_OK(ioas_map_at(self->fd, src, self->buf, 4 * page_size,
			      src_iova));

	for (bit = 3; bit != 32; bit++)
		EXPECT_ERR(EOPNOTSUPP,
			   ioas_copy(self->fd, dst, src, src_iova, page_size,
				     &dst_iova, rw | (1U << bit)));
	EXPECT_ERR(EINVAL, ioas_copy(self->fd, dst, src, src_iova, page_size,
				     &dst_iova, 0));
	EXPECT_ERR(EINVAL, ioas_copy(self->fd, dst, src, src_iova, 0,
				     &dst_iova, rw));
	EXPECT_ERR(ENOENT, ioas_copy(self->fd, dst, 0, src_iova, page_size,
				     &dst_iova, rw));
	EXPECT_ERR(ENOENT, ioas_copy(self->fd, dst, dst + 1, src_iova,
				     page_size, &dst_iova, rw));
	EXPECT_ERR(ENOENT, ioas_copy(self->fd, 0, src, src_iova, page_size,
				     &dst_iova, rw));
	EXPECT_ERR(ENOENT, ioas_copy(self->fd, dst + 1, src, src_iova,
				     page_size, &dst_iova, rw));

	/* The source range must be mapped all along */
	EXPECT_ERR(ENOENT, ioas_copy(self->fd, dst, src, src_iova - page_size,
				     2 * page_size, &dst_iova, rw));
	EXPECT_ERR(ENOENT, ioas_copy(self->fd, dst, src, src_iova,
				     5 * page_size, &dst_iova, rw));
	EXPECT_ERR(ENOENT, ioas_copy(self->fd, dst, src, 0, page_size,
				     &dst_iova, rw));
	EXPECT_ERR(EOVERFLOW, ioas_copy(self->fd, dst, src, -page_size,
					2 * page_size, &dst_iova, rw));

	ASSERT_OK(ioas_unmap_all(self->fd, dst, &unmapped));
	EXPECT_EQ(0, unmapped);
}

TEST_F(ctx, unmap_rules)
{
	__u64 unmapped = 12345;
	__u32 ioas_id;

	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	EXPECT_ERR(ENOENT, ioas_unmap(self->fd, 0, 0, page_size, NULL));
	EXPECT_ERR(ENOENT, ioas_unmap(self->fd, ioas_id + 1, 0, page_size,
				      NULL));
	EXPECT_ERR(EINVAL, ioas_unmap(self->fd, ioas_id, page_size, 0, NULL));
	EXPECT_ERR(EOVERFLOW, ioas_unmap(self->fd, ioas_id, -page_size,
					 2 * page_size, NULL));

	/* Nothing there is ENOENT, except for unmap-all */
	EXPECT_ERR(ENOENT, ioas_unmap(self->fd, ioas_id, 0, page_size, NULL));
	EXPECT_ERR(ENOENT, ioas_unmap(self->fd, ioas_id, page_size,
				      UNMAP_ALL_LENGTH - page_size, NULL));
	EXPECT_OK(ioas_unmap_all(self->fd, ioas_id, &unmapped));
	EXPECT_EQ(0, unmapped);
}

TEST_F(ctx, iova_ranges_rules)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.num_iovas = 1,
	};
	struct iommu_iova_range range = {};

	ASSERT_OK(ioas_alloc(self->fd, &cmd.ioas_id));
	cmd.allowed_iovas = (__u64)(unsigned long)&range;

	cmd.__reserved = 1;
	EXPECT_ERR(EOPNOTSUPP,
		   ifd_ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	cmd.__reserved = 0;
	cmd.ioas_id++;
	EXPECT_ERR(ENOENT, ifd_ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	cmd.ioas_id--;

	/* An array that cannot be written */
	cmd.allowed_iovas = 0;
	EXPECT_ERR(EFAULT, ifd_ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));

	cmd.allowed_iovas = (__u64)(unsigned long)&range;
	ASSERT_OK(ifd_ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	EXPECT_EQ(1, cmd.num_iovas);
	EXPECT_EQ(0, range.start);
	EXPECT_EQ(UINT64_MAX, range.last);
	EXPECT_EQ(1, cmd.out_iova_alignment);
}

TEST_F(ctx, allow_iovas_rules)
{
	struct iommu_iova_range ranges[3] = {
		{ .start = 0x10000, .last = 0x1ffff },
		{ .start = 0x30000, .last = 0x3ffff },
	};
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.num_iovas = 2,
		.allowed_iovas = (__u64)(unsigned long)ranges,
	};

	ASSERT_OK(ioas_alloc(self->fd, &cmd.ioas_id));
	cmd.__reserved = 1;
	EXPECT_ERR(EOPNOTSUPP,
		   ifd_ioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	cmd.__reserved = 0;
	cmd.ioas_id++;
	EXPECT_ERR(ENOENT, ifd_ioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	cmd.ioas_id--;
	cmd.allowed_iovas = 0;
	EXPECT_ERR(EFAULT, ifd_ioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	cmd.allowed_iovas = (__u64)(unsigned long)ranges;

	/* Each range needs start < last, and they may not overlap */
	ranges[1].start = 0x3ffff;
	EXPECT_ERR(EINVAL, ifd_ioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	ranges[1].start = 0x40000;
	EXPECT_ERR(EINVAL, ifd_ioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	ranges[1].start = 0x1f000;
	EXPECT_ERR(EINVAL, ifd_ioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	ranges[1].start = 0x30000;

	EXPECT_OK(ifd_ioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	cmd.num_iovas = 0;
	EXPECT_OK(ifd_ioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
}

/* IOMMU_OPTION itself: option, op and object checks */
TEST_F(ctx, option_rules)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_GET,
	};
	__u32 ioas_id;
	__u64 val;

	cmd.__reserved = 1;
	EXPECT_ERR(EOPNOTSUPP, ifd_ioctl(self->fd, IOMMU_OPTION, &cmd));
	cmd.__reserved = 0;
	cmd.op = 2;
	EXPECT_ERR(EOPNOTSUPP, ifd_ioctl(self->fd, IOMMU_OPTION, &cmd));
	cmd.op = 0xffff;
	EXPECT_ERR(EOPNOTSUPP, ifd_ioctl(self->fd, IOMMU_OPTION, &cmd));
	cmd.op = IOMMU_OPTION_OP_GET;
	cmd.option_id = 2;
	EXPECT_ERR(EOPNOTSUPP, ifd_ioctl(self->fd, IOMMU_OPTION, &cmd));
	cmd.option_id = 0xffffffff;
	EXPECT_ERR(EOPNOTSUPP, ifd_ioctl(self->fd, IOMMU_OPTION, &cmd));

	/* RLIMIT_MODE belongs to the context: object_id must be 0 */
	EXPECT_ERR(EOPNOTSUPP, option_get(self->fd, IOMMU_OPTION_RLIMIT_MODE,
					  1, &val));
	EXPECT_ERR(EOPNOTSUPP, option_set(self->fd, IOMMU_OPTION_RLIMIT_MODE,
					  1, 0));

	/* HUGE_PAGES belongs to an IOAS */
	EXPECT_ERR(ENOENT, option_get(self->fd, IOMMU_OPTION_HUGE_PAGES, 0,
				      &val));
	EXPECT_ERR(ENOENT, option_set(self->fd, IOMMU_OPTION_HUGE_PAGES, 0,
				      1));
	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	EXPECT_ERR(ENOENT, option_get(self->fd, IOMMU_OPTION_HUGE_PAGES,
				      ioas_id + 1, &val));
	ASSERT_OK(option_get(self->fd, IOMMU_OPTION_HUGE_PAGES, ioas_id,
			     &val));
	EXPECT_EQ(1, val);
}

TEST_F(ctx, option_rlimit_mode)
{
	__u32 ioas_id;
	__u64 val;
	int other;

	ASSERT_OK(option_get(self->fd, IOMMU_OPTION_RLIMIT_MODE, 0, &val));
	EXPECT_EQ(0, val);
	ASSERT_OK(option_set(self->fd, IOMMU_OPTION_RLIMIT_MODE, 0, 1));
	ASSERT_OK(option_get(self->fd, IOMMU_OPTION_RLIMIT_MODE, 0, &val));
	EXPECT_EQ(1, val);
	EXPECT_ERR(EINVAL, option_set(self->fd, IOMMU_OPTION_RLIMIT_MODE, 0,
				      2));
	EXPECT_ERR(EINVAL, option_set(self->fd, IOMMU_OPTION_RLIMIT_MODE, 0,
				      (__u64)-1));
	ASSERT_OK(option_get(self->fd, IOMMU_OPTION_RLIMIT_MODE, 0, &val));
	EXPECT_EQ(1, val);
	ASSERT_OK(option_set(self->fd, IOMMU_OPTION_RLIMIT_MODE, 0, 0));
	ASSERT_OK(option_get(self->fd, IOMMU_OPTION_RLIMIT_MODE, 0, &val));
	EXPECT_EQ(0, val);

	/* Chosen before the first object, then fixed while objects exist */
	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	EXPECT_ERR(EBUSY, option_set(self->fd, IOMMU_OPTION_RLIMIT_MODE, 0,
				     1));
	EXPECT_ERR(EBUSY, option_set(self->fd, IOMMU_OPTION_RLIMIT_MODE, 0,
				     0));
	ASSERT_OK(option_get(self->fd, IOMMU_OPTION_RLIMIT_MODE, 0, &val));
	EXPECT_EQ(0, val);
	ASSERT_OK(obj_destroy(self->fd, ioas_id));
	EXPECT_OK(option_set(self->fd, IOMMU_OPTION_RLIMIT_MODE, 0, 1));

	/* Another context has its own mode */
	other = iommufd_open();
	ASSERT_LE(0, other);
	ASSERT_OK(option_get(other, IOMMU_OPTION_RLIMIT_MODE, 0, &val));
	EXPECT_EQ(0, val);
	ASSERT_OK(close(other));
}

/* Without CAP_SYS_RESOURCE the mode can be read but not changed */
static int rlimit_mode_unprivileged(void *arg)
{
	__u64 val = 7;
	int fd;

	if (drop_capability(CAP_SYS_RESOURCE))
		return child_failed(2, "drop CAP_SYS_RESOURCE");
	fd = iommufd_open();
	if (fd < 0)
		return child_failed(3, "open");
	if (option_set(fd, IOMMU_OPTION_RLIMIT_MODE, 0, 1) != -EPERM)
		return child_failed(4, "set 1 is not EPERM");
	if (option_set(fd, IOMMU_OPTION_RLIMIT_MODE, 0, 0) != -EPERM)
		return child_failed(5, "set 0 is not EPERM");
	if (option_get(fd, IOMMU_OPTION_RLIMIT_MODE, 0, &val) || val)
		return child_failed(6, "get");
	if (close(fd))
		return child_failed(7, "close");
	return 0;
}

TEST_F(ctx, option_rlimit_mode_eperm)
{
	if (geteuid())
		SKIP(return, "needs root to drop CAP_SYS_RESOURCE from");
	EXPECT_EQ(0, run_in_child(rlimit_mode_unprivileged, NULL));
	/* The parent is still privileged */
	EXPECT_OK(option_set(self->fd, IOMMU_OPTION_RLIMIT_MODE, 0, 1));
}

TEST_F(ctx, vfio_ioas_rules)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_VFIO_IOAS_GET,
	};

	cmd.__reserved = 1;
	EXPECT_ERR(EOPNOTSUPP, ifd_ioctl(self->fd, IOMMU_VFIO_IOAS, &cmd));
	cmd.__reserved = 0;
	cmd.op = 3;
	EXPECT_ERR(EOPNOTSUPP, ifd_ioctl(self->fd, IOMMU_VFIO_IOAS, &cmd));
	cmd.op = 0xffff;
	EXPECT_ERR(EOPNOTSUPP, ifd_ioctl(self->fd, IOMMU_VFIO_IOAS, &cmd));
}

/* The compatibility IOAS: none at first, set, read back, cleared */
TEST_F(ctx, vfio_ioas_compat)
{
	struct iommu_vfio_ioas cmd = { .size = sizeof(cmd) };
	__u32 ioas_id;

	cmd.op = IOMMU_VFIO_IOAS_GET;
	EXPECT_ERR(ENODEV, ifd_ioctl(self->fd, IOMMU_VFIO_IOAS, &cmd));
	cmd.op = IOMMU_VFIO_IOAS_SET;
	cmd.ioas_id = 0;
	EXPECT_ERR(ENOENT, ifd_ioctl(self->fd, IOMMU_VFIO_IOAS, &cmd));

	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	cmd.ioas_id = ioas_id;
	ASSERT_OK(ifd_ioctl(self->fd, IOMMU_VFIO_IOAS, &cmd));
	cmd.op = IOMMU_VFIO_IOAS_GET;
	cmd.ioas_id = 0;
	ASSERT_OK(ifd_ioctl(self->fd, IOMMU_VFIO_IOAS, &cmd));
	EXPECT_EQ(ioas_id, cmd.ioas_id);
	cmd.op = IOMMU_VFIO_IOAS_CLEAR;
	ASSERT_OK(ifd_ioctl(self->fd, IOMMU_VFIO_IOAS, &cmd));
	cmd.op = IOMMU_VFIO_IOAS_GET;
	EXPECT_ERR(ENODEV, ifd_ioctl(self->fd, IOMMU_VFIO_IOAS, &cmd));

	/* Clearing never destroyed the IOAS */
	EXPECT_OK(obj_destroy(self->fd, ioas_id));
}

TEST_F(ctx, hwpt_alloc_rules)
{
	struct iommu_hwpt_alloc cmd = { .size = sizeof(cmd) };
	__u32 ioas_id, bit;

	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	cmd.pt_id = ioas_id;
	for (bit = 3; bit != 32; bit++) {
		cmd.flags = 1U << bit;
		EXPECT_ERR(EOPNOTSUPP,
			   ifd_ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	}
	cmd.flags = 0;
	cmd.__reserved = 1;
	EXPECT_ERR(EOPNOTSUPP, ifd_ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	cmd.__reserved = 0;
	cmd.__reserved2 = 1;
	EXPECT_ERR(EOPNOTSUPP, ifd_ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	cmd.__reserved2 = 0;

	/* data_len and data_type go together */
	cmd.data_len = 4;
	EXPECT_ERR(EINVAL, ifd_ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	cmd.data_len = 0;

	/* No such device: nothing, or not a device */
	cmd.dev_id = 0;
	EXPECT_ERR(ENOENT, ifd_ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	cmd.dev_id = ioas_id;
	EXPECT_ERR(ENOENT, ifd_ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	cmd.dev_id = ioas_id + 1;
	EXPECT_ERR(ENOENT, ifd_ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	EXPECT_EQ(0, cmd.out_hwpt_id);
}

TEST_F(ctx, hw_info_rules)
{
	struct iommu_hw_info cmd = { .size = sizeof(cmd) };
	__u32 ioas_id;
	int i;

	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	cmd.dev_id = ioas_id;
	cmd.flags = 1 << 1;
	EXPECT_ERR(EOPNOTSUPP, ifd_ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	cmd.flags = 1U << 31;
	EXPECT_ERR(EOPNOTSUPP, ifd_ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	cmd.flags = 0;
	for (i = 0; i != 3; i++) {
		cmd.__reserved[i] = 0x80;
		EXPECT_ERR(EOPNOTSUPP,
			   ifd_ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
		cmd.__reserved[i] = 0;
	}
	EXPECT_ERR(ENOENT, ifd_ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	cmd.dev_id = 0;
	EXPECT_ERR(ENOENT, ifd_ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
}

TEST_F(ctx, dirty_tracking_rules)
{
	struct iommu_hwpt_set_dirty_tracking set = { .size = sizeof(set) };
	struct iommu_hwpt_get_dirty_bitmap get = {
		.size = sizeof(get),
		.length = page_size,
		.page_size = page_size,
		.data = (__u64)(unsigned long)self->buf,
	};
	__u32 ioas_id;

	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	set.hwpt_id = ioas_id;
	get.hwpt_id = ioas_id;

	set.flags = 2;
	EXPECT_ERR(EOPNOTSUPP,
		   ifd_ioctl(self->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &set));
	set.flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
	set.__reserved = 1;
	EXPECT_ERR(EOPNOTSUPP,
		   ifd_ioctl(self->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &set));
	set.__reserved = 0;
	EXPECT_ERR(ENOENT,
		   ifd_ioctl(self->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &set));
	set.hwpt_id = 0;
	EXPECT_ERR(ENOENT,
		   ifd_ioctl(self->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &set));

	get.flags = 2;
	EXPECT_ERR(EOPNOTSUPP,
		   ifd_ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &get));
	get.flags = 0;
	get.__reserved = 1;
	EXPECT_ERR(EOPNOTSUPP,
		   ifd_ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &get));
	get.__reserved = 0;
	EXPECT_ERR(ENOENT,
		   ifd_ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &get));
	get.hwpt_id = 0;
	EXPECT_ERR(ENOENT,
		   ifd_ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &get));
}

/* IOMMU_HWPT_INVALIDATE reports entry_num even when it fails */
TEST_F(ctx, invalidate_rules)
{
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd),
		.data_uptr = (__u64)(unsigned long)self->buf,
		.entry_len = 8,
	};
	__u32 ioas_id;

	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	cmd.hwpt_id = ioas_id;
	cmd.entry_num = 5;
	cmd.__reserved = 1;
	EXPECT_ERR(EOPNOTSUPP, ifd_ioctl(self->fd, IOMMU_HWPT_INVALIDATE,
					 &cmd));
	EXPECT_EQ(0, cmd.entry_num);
	cmd.__reserved = 0;

	cmd.entry_num = 5;
	EXPECT_ERR(ENOENT, ifd_ioctl(self->fd, IOMMU_HWPT_INVALIDATE, &cmd));
	EXPECT_EQ(0, cmd.entry_num);
	cmd.hwpt_id = 0;
	cmd.entry_num = 0;
	EXPECT_ERR(ENOENT, ifd_ioctl(self->fd, IOMMU_HWPT_INVALIDATE, &cmd));
	EXPECT_EQ(0, cmd.entry_num);
}

TEST_F(ctx, fault_alloc_rules)
{
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd) };
	unsigned int bit;

	for (bit = 0; bit != 32; bit++) {
		cmd.flags = 1U << bit;
		EXPECT_ERR(EOPNOTSUPP,
			   ifd_ioctl(self->fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd));
		EXPECT_EQ(0, cmd.out_fault_id);
	}
}

TEST_F(ctx, change_process_rules)
{
	struct iommu_ioas_change_process cmd = { .size = sizeof(cmd) };

	cmd.__reserved = 1;
	EXPECT_ERR(EOPNOTSUPP,
		   ifd_ioctl(self->fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd));
	cmd.__reserved = 0x80000000;
	EXPECT_ERR(EOPNOTSUPP,
		   ifd_ioctl(self->fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd));
}

TEST_F(ctx, test_cmd_rules)
{
	struct iommu_test_cmd cmd = {};

	ASSERT_MOCK();
	cmd.op = 0;
	EXPECT_ERR(EOPNOTSUPP, mock_cmd(self->fd, 0, &cmd));
	cmd.op = 0x1000;
	EXPECT_ERR(EOPNOTSUPP, mock_cmd(self->fd, 0, &cmd));
	cmd.op = 0xffffffff;
	EXPECT_ERR(EOPNOTSUPP, mock_cmd(self->fd, 0, &cmd));
}

/*
 * Every command that takes an ID of one kind refuses the IDs of the
 * others with ENOENT. The documented exception is IOMMU_HWPT_ALLOC's
 * pt_id, which is EINVAL when it is neither an IOAS nor a paging HWPT.
 */
TEST_F(ctx, wrong_object_type)
{
	struct iommu_hwpt_invalidate inv = { .size = sizeof(inv) };
	__u32 ioas_id, stdev_id, hwpt_id, idev_id, out;
	struct iommu_iova_range range;
	__u32 foreign[3], i;
	__u64 iova = 0, val;
	__u32 num = 1;
	int mfd;

	ASSERT_MOCK();
	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	ASSERT_OK(mock_domain(self->fd, ioas_id, &stdev_id, &hwpt_id,
			      &idev_id));
	ASSERT_OK(ioas_map_at(self->fd, ioas_id, self->buf, page_size,
			      MOCK_APERTURE_START));
	mfd = memfd_filled(page_size, 0);
	ASSERT_LE(0, mfd);

	/* Where an IOAS is wanted */
	foreign[0] = hwpt_id;
	foreign[1] = stdev_id;
	foreign[2] = idev_id;
	for (i = 0; i != 3; i++) {
		__u32 bad = foreign[i];

		EXPECT_ERR(ENOENT, ioas_map_any(self->fd, bad, self->buf,
						page_size, &iova));
		EXPECT_ERR(ENOENT, ioas_map_file(self->fd, bad, mfd, 0,
						 page_size, &iova,
						 IOMMU_IOAS_MAP_READABLE));
		EXPECT_ERR(ENOENT, ioas_copy(self->fd, bad, ioas_id,
					     MOCK_APERTURE_START, page_size,
					     &iova, IOMMU_IOAS_MAP_READABLE));
		EXPECT_ERR(ENOENT, ioas_copy(self->fd, ioas_id, bad,
					     MOCK_APERTURE_START, page_size,
					     &iova, IOMMU_IOAS_MAP_READABLE));
		EXPECT_ERR(ENOENT, ioas_unmap_all(self->fd, bad, NULL));
		EXPECT_ERR(ENOENT, ioas_ranges(self->fd, bad, &range, &num,
					       NULL));
		EXPECT_ERR(ENOENT, ioas_allow(self->fd, bad, NULL, 0));
		EXPECT_ERR(ENOENT, option_get(self->fd,
					      IOMMU_OPTION_HUGE_PAGES, bad,
					      &val));
	}

	/* Where a device is wanted */
	foreign[0] = ioas_id;
	foreign[1] = hwpt_id;
	foreign[2] = stdev_id;
	for (i = 0; i != 3; i++) {
		struct iommu_hw_info info = {
			.size = sizeof(info),
			.dev_id = foreign[i],
		};

		EXPECT_ERR(ENOENT, ifd_ioctl(self->fd, IOMMU_GET_HW_INFO,
					     &info));
		EXPECT_ERR(ENOENT, hwpt_alloc(self->fd, foreign[i], ioas_id, 0,
					      &out));
	}

	/* pt_id that is neither an IOAS nor a paging HWPT */
	EXPECT_ERR(EINVAL, hwpt_alloc(self->fd, idev_id, idev_id, 0, &out));
	EXPECT_ERR(EINVAL, hwpt_alloc(self->fd, idev_id, stdev_id, 0, &out));

	/* A paging HWPT is not a nested one */
	inv.hwpt_id = hwpt_id;
	EXPECT_ERR(ENOENT, ifd_ioctl(self->fd, IOMMU_HWPT_INVALIDATE, &inv));
	inv.hwpt_id = ioas_id;
	EXPECT_ERR(ENOENT, ifd_ioctl(self->fd, IOMMU_HWPT_INVALIDATE, &inv));
	close(mfd);
}

/*
 * Calls that fail change nothing: the same mappings, ranges, alignment
 * and options before and after a series of failures.
 */
TEST_F(ctx, failures_change_nothing)
{
	struct iommu_iova_range before[8], after[8];
	__u32 nbefore = 8, nafter = 8, ioas_id, other_id;
	__u64 align_before, align_after, val, iova, unmapped;
	struct iommu_iova_range allowed = {
		.start = 0x100000, .last = 0x3fffff,
	};

	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	ASSERT_OK(ioas_alloc(self->fd, &other_id));
	ASSERT_OK(ioas_map_at(self->fd, ioas_id, self->buf, 4 * page_size,
			      0x200000));
	ASSERT_OK(ioas_map_flags(self->fd, ioas_id, self->buf, page_size,
				 &(__u64){ 0x300000 },
				 IOMMU_IOAS_MAP_FIXED_IOVA |
				 IOMMU_IOAS_MAP_READABLE));
	ASSERT_OK(ioas_allow(self->fd, ioas_id, &allowed, 1));
	ASSERT_OK(ioas_ranges(self->fd, ioas_id, before, &nbefore,
			      &align_before));

	/* Overlap, flags, wrap, holes, splits, permissions, values */
	iova = 0x201000;
	EXPECT_ERR(EEXIST, ioas_map_flags(self->fd, ioas_id, self->buf,
					  page_size, &iova,
					  IOMMU_IOAS_MAP_FIXED_IOVA |
					  IOMMU_IOAS_MAP_READABLE));
	EXPECT_EQ(0x201000, iova);
	EXPECT_ERR(EOPNOTSUPP, ioas_map_flags(self->fd, ioas_id, self->buf,
					      page_size, &iova, 1U << 9));
	EXPECT_ERR(EOVERFLOW, ioas_map_at(self->fd, ioas_id, self->buf,
					  2 * page_size, -page_size));
	EXPECT_ERR(ENOENT, ioas_unmap(self->fd, ioas_id, 0x200000,
				      2 * page_size, NULL));
	EXPECT_ERR(ENOENT, ioas_unmap(self->fd, ioas_id, 0x201000,
				      0x100000, NULL));
	iova = 0;
	EXPECT_ERR(ENOENT, ioas_copy(self->fd, other_id, ioas_id, 0x200000,
				     8 * page_size, &iova,
				     IOMMU_IOAS_MAP_READABLE));
	EXPECT_ERR(EPERM, ioas_copy(self->fd, other_id, ioas_id, 0x300000,
				    page_size, &iova,
				    IOMMU_IOAS_MAP_WRITEABLE));
	EXPECT_ERR(EINVAL, ioas_allow(self->fd, ioas_id,
				      &(struct iommu_iova_range){
					      .start = 2, .last = 1 }, 1));
	EXPECT_ERR(EINVAL, option_set(self->fd, IOMMU_OPTION_HUGE_PAGES,
				      ioas_id, 2));

	ASSERT_OK(ioas_ranges(self->fd, ioas_id, after, &nafter,
			      &align_after));
	ASSERT_EQ(nbefore, nafter);
	EXPECT_EQ(0, memcmp(before, after, nbefore * sizeof(before[0])));
	EXPECT_EQ(align_before, align_after);
	ASSERT_OK(option_get(self->fd, IOMMU_OPTION_HUGE_PAGES, ioas_id,
			     &val));
	EXPECT_EQ(1, val);
	ASSERT_OK(ioas_unmap_all(self->fd, other_id, &unmapped));
	EXPECT_EQ(0, unmapped);
	ASSERT_OK(ioas_unmap_all(self->fd, ioas_id, &unmapped));
	EXPECT_EQ(5 * page_size, unmapped);
}

/*
 * A real command in a struct larger than ours with a zero tail: it works,
 * its answers land where our layout puts them, and the tail stays zero.
 */
TEST_F(ctx, oversized_struct_works)
{
	struct {
		struct iommu_ioas_map map;
		__u8 tail[24];
	} big = {
		.map = {
			.size = sizeof(big),
			.flags = IOMMU_IOAS_MAP_READABLE,
			.user_va = (__u64)(unsigned long)self->buf,
			.length = 4 * page_size,
		},
	};
	struct {
		struct iommu_ioas_unmap unmap;
		__u8 tail[40];
	} big_unmap = { .unmap = { .size = sizeof(big_unmap) } };
	static const __u8 zeroes[40];

	ASSERT_OK(ioas_alloc(self->fd, &big.map.ioas_id));
	ASSERT_OK(ifd_ioctl(self->fd, IOMMU_IOAS_MAP, &big));
	EXPECT_NE(0, big.map.iova);
	EXPECT_EQ(0, memcmp(big.tail, zeroes, sizeof(big.tail)));

	big_unmap.unmap.ioas_id = big.map.ioas_id;
	big_unmap.unmap.iova = big.map.iova;
	big_unmap.unmap.length = 4 * page_size;
	ASSERT_OK(ifd_ioctl(self->fd, IOMMU_IOAS_UNMAP, &big_unmap));
	EXPECT_EQ(4 * page_size, big_unmap.unmap.length);
	EXPECT_EQ(0, memcmp(big_unmap.tail, zeroes, sizeof(big_unmap.tail)));
}

/*
 * A struct of an older, shorter layout: the kernel reads no further than
 * its size, whatever follows in memory, and writes no further either.
 */
TEST_F(ctx, short_struct_works)
{
	union {
		struct iommu_hwpt_alloc hwpt;
		struct iommu_hw_info info;
		__u8 raw[64];
	} arg;
	__u32 ioas_id, idev_id, hwpt_id;
	size_t i;

	ASSERT_MOCK();
	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	ASSERT_OK(mock_domain(self->fd, ioas_id, NULL, &hwpt_id, &idev_id));

	/* IOMMU_HWPT_ALLOC as first published: up to the first reserved */
	memset(&arg, 0xff, sizeof(arg));
	memset(&arg, 0, 24);
	arg.hwpt.size = 24;
	arg.hwpt.dev_id = idev_id;
	arg.hwpt.pt_id = ioas_id;
	ASSERT_OK(ifd_ioctl(self->fd, IOMMU_HWPT_ALLOC, &arg));
	EXPECT_NE(0, arg.hwpt.out_hwpt_id);
	EXPECT_NE(hwpt_id, arg.hwpt.out_hwpt_id);
	for (i = 24; i != sizeof(arg); i++)
		EXPECT_EQ(0xff, arg.raw[i]);
	EXPECT_OK(obj_destroy(self->fd, arg.hwpt.out_hwpt_id));

	/* IOMMU_GET_HW_INFO without out_capabilities */
	memset(&arg, 0xff, sizeof(arg));
	memset(&arg, 0, 32);
	arg.info.size = 32;
	arg.info.dev_id = idev_id;
	ASSERT_OK(ifd_ioctl(self->fd, IOMMU_GET_HW_INFO, &arg));
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, arg.info.out_data_type);
	for (i = 32; i != sizeof(arg); i++)
		EXPECT_EQ(0xff, arg.raw[i]);
}

/*
 * Calls that succeed, one set per command, for the size protocol: each
 * case sets up what its call needs, builds an argument that uses only the
 * members that fit in the size under test (the kernel reads the others as
 * zero), and afterwards checks the answer and undoes what the call made,
 * so the next size can run the same call again.
 */
#define OK_LEN (4 * page_size)
#define OK_IOVA ((__u64)MOCK_APERTURE_START)
#define OK_SRC_IOVA 0x100000ULL
#define OK_FAULT_ADDR 0x7e57f000ULL
#define OK_RW (MOCK_CHECK_MAP_READ | MOCK_CHECK_MAP_WRITE)
#define OK_MAP_RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
/* Larger than the argument of any command */
#define OK_ARG_MAX 128
/* What the bytes past the size are filled with; the kernel must not care */
#define OK_TAIL_FILL 0xc3
#define OK_TAIL_LEN 64

/* Everything the calls need, made once per test */
struct ok_env {
	int fd;
	__u32 ioas_id;		/* the mock device is on it: mapping pins */
	__u32 plain_id;		/* an IOAS without devices */
	__u32 stdev_id, idev_id;
	__u32 hwpt_id;		/* the device's automatic domain */
	__u32 parent_id;	/* nesting parent, dirty tracking, on ioas_id */
	__u32 nested_id;	/* a mock nested HWPT on parent_id */
	__u32 fault_id;
	int fault_fd;
	int mfd;		/* OK_LEN bytes of memfd */
	char *view;		/* mfd mapped, read-only */
	char *buf;		/* OK_LEN shared bytes; unmapped between calls */
	/* What one call made or points at */
	__u32 made_id, made_id2, made_idev;
	int made_fd;
	__u64 made_iova;
	__u64 bitmap[4];
	struct iommu_iova_range ranges[4];
	struct iommu_test_hw_info hw_info;
	struct iommu_hwpt_selftest nested_data;
	struct iommu_hwpt_invalidate_selftest inv;
	char bytes[64];
};

/*
 * @prepare fills @arg, which is zeroed and as large as the current layout,
 * for a call of @sz bytes: 0 or -errno. A member that does not end within
 * @sz must stay 0. @check gets the first @sz bytes of the answer (the rest
 * zero): 0, -errno, or the line of a failed check. An array of cases ends
 * with one without @name.
 */
struct ok_case {
	const char *name;
	int (*prepare)(struct ok_env *env, void *arg, size_t sz);
	int (*check)(struct ok_env *env, const void *arg, size_t sz);
};

static int ok_env_setup(struct ok_env *env, int fd)
{
	memset(env, 0, sizeof(*env));
	env->fd = fd;
	env->fault_fd = -1;
	env->made_fd = -1;
	env->buf = alloc_shared(OK_LEN, page_size);
	if (env->buf == MAP_FAILED)
		return -errno;
	memset(env->buf, 0x7b, OK_LEN);
	env->mfd = memfd_filled(OK_LEN, 0x3c);
	if (env->mfd < 0)
		return env->mfd;
	env->view = mmap(NULL, OK_LEN, PROT_READ, MAP_SHARED, env->mfd, 0);
	if (env->view == MAP_FAILED)
		return -errno;
	env->nested_data.iotlb = IOMMU_TEST_IOTLB_DEFAULT;
	return ioas_alloc(fd, &env->ioas_id) ?:
	       ioas_alloc(fd, &env->plain_id) ?:
	       mock_domain(fd, env->ioas_id, &env->stdev_id, &env->hwpt_id,
			   &env->idev_id) ?:
	       hwpt_alloc(fd, env->idev_id, env->ioas_id,
			  IOMMU_HWPT_ALLOC_NEST_PARENT |
			  IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &env->parent_id) ?:
	       hwpt_alloc_mock_nested(fd, env->idev_id, env->parent_id, 0, 0,
				      IOMMU_TEST_IOTLB_DEFAULT,
				      &env->nested_id) ?:
	       fault_queue_new(fd, &env->fault_id, &env->fault_fd);
}

static void ok_env_teardown(struct ok_env *env)
{
	if (env->fault_fd >= 0)
		close(env->fault_fd);
	if (env->view && env->view != MAP_FAILED)
		munmap(env->view, OK_LEN);
	if (env->mfd > 0)
		close(env->mfd);
	if (env->buf && env->buf != MAP_FAILED)
		munmap(env->buf, OK_LEN);
}

/* env->buf mapped read-write at @iova of @ioas_id */
static int ok_map_buf(struct ok_env *env, __u32 ioas_id, __u64 iova)
{
	return ioas_map_at(env->fd, ioas_id, env->buf, OK_LEN, iova);
}

/* Unmap what ok_map_buf() mapped: exactly that, and nothing pinned after */
static int ok_unmap_buf(struct ok_env *env, __u32 ioas_id, __u64 iova)
{
	__u64 unmapped = 0;
	int rc;

	rc = ioas_unmap(env->fd, ioas_id, iova, OK_LEN, &unmapped);
	if (rc)
		return rc;
	if (unmapped != OK_LEN)
		return __LINE__;
	return mock_check_pins(env->fd, env->buf, OK_LEN, 0);
}

static int ok_none(struct ok_env *env, void *arg, size_t sz)
{
	return 0;
}

/* IOMMU_DESTROY of a fresh IOAS */
static int destroy_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_destroy *cmd = arg;
	int rc = ioas_alloc(env->fd, &env->made_id);

	cmd->id = env->made_id;
	return rc;
}

static int destroy_check(struct ok_env *env, const void *arg, size_t sz)
{
	if (obj_destroy(env->fd, env->made_id) != -ENOENT)
		return __LINE__;
	return 0;
}

static const struct ok_case ok_destroy[] = {
	{ "an IOAS", destroy_prep, destroy_check },
	{}
};

/* IOMMU_IOAS_ALLOC: the answer names a usable IOAS */
static int ioas_alloc_check(struct ok_env *env, const void *arg, size_t sz)
{
	const struct iommu_ioas_alloc *cmd = arg;
	__u64 val = 0;

	if (cmd->out_ioas_id == 0)
		return __LINE__;
	if (option_get(env->fd, IOMMU_OPTION_HUGE_PAGES, cmd->out_ioas_id,
		       &val))
		return __LINE__;
	if (val != 1)
		return __LINE__;
	return obj_destroy(env->fd, cmd->out_ioas_id);
}

static const struct ok_case ok_ioas_alloc[] = {
	{ "an IOAS", ok_none, ioas_alloc_check },
	{}
};

/* IOMMU_IOAS_ALLOW_IOVAS of one range on an empty IOAS, then none again */
static int allow_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_ioas_allow_iovas *cmd = arg;

	env->ranges[0].start = 0x100000;
	env->ranges[0].last = 0x1fffff;
	cmd->ioas_id = env->plain_id;
	cmd->num_iovas = 1;
	cmd->allowed_iovas = (__u64)(unsigned long)env->ranges;
	return 0;
}

/* The kernel picks IOVAs in the allowed range only */
static int allow_check(struct ok_env *env, const void *arg, size_t sz)
{
	__u64 iova = 0;
	int rc;

	rc = ioas_map_any(env->fd, env->plain_id, env->buf, OK_LEN, &iova);
	if (rc)
		return rc;
	if (iova < 0x100000 || iova + OK_LEN - 1 > 0x1fffff)
		return __LINE__;
	return ioas_unmap(env->fd, env->plain_id, iova, OK_LEN, NULL) ?:
	       ioas_allow(env->fd, env->plain_id, NULL, 0);
}

static const struct ok_case ok_ioas_allow_iovas[] = {
	{ "one range", allow_prep, allow_check },
	{}
};

/* IOMMU_IOAS_COPY from an IOAS without domain into the device's */
static int copy_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_ioas_copy *cmd = arg;

	cmd->flags = IOMMU_IOAS_MAP_FIXED_IOVA | OK_MAP_RW;
	cmd->dst_ioas_id = env->ioas_id;
	cmd->src_ioas_id = env->plain_id;
	cmd->length = OK_LEN;
	cmd->dst_iova = OK_IOVA;
	cmd->src_iova = OK_SRC_IOVA;
	return ok_map_buf(env, env->plain_id, OK_SRC_IOVA);
}

static int copy_check(struct ok_env *env, const void *arg, size_t sz)
{
	int rc;

	rc = mock_check_map_perm(env->fd, env->hwpt_id, OK_IOVA, env->buf,
				 OK_LEN, OK_RW) ?:
	     mock_check_map_perm(env->fd, env->parent_id, OK_IOVA, env->buf,
				 OK_LEN, OK_RW) ?:
	     mock_check_pins(env->fd, env->buf, OK_LEN, 1) ?:
	     ok_unmap_buf(env, env->ioas_id, OK_IOVA);
	if (rc)
		return rc;
	return ioas_unmap(env->fd, env->plain_id, OK_SRC_IOVA, OK_LEN, NULL);
}

static const struct ok_case ok_ioas_copy[] = {
	{ "into a domain", copy_prep, copy_check },
	{}
};

/* IOMMU_IOAS_IOVA_RANGES of the device's IOAS */
static int ranges_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_ioas_iova_ranges *cmd = arg;

	memset(env->ranges, 0, sizeof(env->ranges));
	cmd->ioas_id = env->ioas_id;
	cmd->num_iovas = ARRAY_SIZE(env->ranges);
	cmd->allowed_iovas = (__u64)(unsigned long)env->ranges;
	return 0;
}

static int ranges_check(struct ok_env *env, const void *arg, size_t sz)
{
	const struct iommu_ioas_iova_ranges *cmd = arg;
	__u32 n = cmd->num_iovas;

	if (n < 1 || n > ARRAY_SIZE(env->ranges))
		return __LINE__;
	if (env->ranges[0].start < MOCK_APERTURE_START)
		return __LINE__;
	if (env->ranges[n - 1].last > MOCK_APERTURE_LAST)
		return __LINE__;
	if (env->ranges[0].start > env->ranges[n - 1].last)
		return __LINE__;
	/* The last member; the kernel leaves it alone in shorter layouts */
	if (sz == sizeof(*cmd) && cmd->out_iova_alignment != mock_io_page)
		return __LINE__;
	return 0;
}

static const struct ok_case ok_ioas_iova_ranges[] = {
	{ "the aperture", ranges_prep, ranges_check },
	{}
};

/* IOMMU_IOAS_MAP at an IOVA the kernel picks */
static int map_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_ioas_map *cmd = arg;

	cmd->flags = OK_MAP_RW;
	cmd->ioas_id = env->ioas_id;
	cmd->user_va = (__u64)(unsigned long)env->buf;
	cmd->length = OK_LEN;
	return 0;
}

static int map_check(struct ok_env *env, const void *arg, size_t sz)
{
	const struct iommu_ioas_map *cmd = arg;

	if (cmd->iova < MOCK_APERTURE_START)
		return __LINE__;
	return mock_check_map_perm(env->fd, env->hwpt_id, cmd->iova, env->buf,
				   OK_LEN, OK_RW) ?:
	       ok_unmap_buf(env, env->ioas_id, cmd->iova);
}

static const struct ok_case ok_ioas_map[] = {
	{ "anywhere", map_prep, map_check },
	{}
};

/* IOMMU_IOAS_MAP_FILE, read-only, at an IOVA the kernel picks */
static int map_file_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_ioas_map_file *cmd = arg;

	cmd->flags = IOMMU_IOAS_MAP_READABLE;
	cmd->ioas_id = env->ioas_id;
	cmd->fd = env->mfd;
	cmd->length = OK_LEN;
	return 0;
}

static int map_file_check(struct ok_env *env, const void *arg, size_t sz)
{
	const struct iommu_ioas_map_file *cmd = arg;
	__u64 unmapped = 0;
	int rc;

	if (cmd->iova < MOCK_APERTURE_START)
		return __LINE__;
	rc = mock_check_map_perm(env->fd, env->hwpt_id, cmd->iova, env->view,
				 OK_LEN, MOCK_CHECK_MAP_READ) ?:
	     ioas_unmap(env->fd, env->ioas_id, cmd->iova, OK_LEN, &unmapped);
	if (rc)
		return rc;
	if (unmapped != OK_LEN)
		return __LINE__;
	return mock_check_pins(env->fd, env->view, OK_LEN, 0);
}

static const struct ok_case ok_ioas_map_file[] = {
	{ "a memfd", map_file_prep, map_file_check },
	{}
};

/* IOMMU_IOAS_UNMAP of a mapping with a domain */
static int unmap_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_ioas_unmap *cmd = arg;

	cmd->ioas_id = env->ioas_id;
	cmd->iova = OK_IOVA;
	cmd->length = OK_LEN;
	return ok_map_buf(env, env->ioas_id, OK_IOVA);
}

static int unmap_check(struct ok_env *env, const void *arg, size_t sz)
{
	const struct iommu_ioas_unmap *cmd = arg;

	if (cmd->length != OK_LEN)
		return __LINE__;
	if (mock_check_map(env->fd, env->hwpt_id, OK_IOVA, env->buf,
			   mock_io_page) != -EINVAL)
		return __LINE__;
	return mock_check_pins(env->fd, env->buf, OK_LEN, 0);
}

static const struct ok_case ok_ioas_unmap[] = {
	{ "a mapping", unmap_prep, unmap_check },
	{}
};

/* IOMMU_IOAS_CHANGE_PROCESS with a file mapping, to the same process */
static int change_prep(struct ok_env *env, void *arg, size_t sz)
{
	__u64 iova = OK_IOVA;

	return ioas_map_file(env->fd, env->ioas_id, env->mfd, 0, OK_LEN,
			     &iova, IOMMU_IOAS_MAP_FIXED_IOVA | OK_MAP_RW);
}

static int change_check(struct ok_env *env, const void *arg, size_t sz)
{
	return mock_check_map(env->fd, env->hwpt_id, OK_IOVA, env->view,
			      OK_LEN) ?:
	       ioas_unmap(env->fd, env->ioas_id, OK_IOVA, OK_LEN, NULL) ?:
	       mock_check_pins(env->fd, env->view, OK_LEN, 0);
}

static const struct ok_case ok_ioas_change_process[] = {
	{ "a file mapping", change_prep, change_check },
	{}
};

/* IOMMU_OPTION: get and set IOMMU_OPTION_HUGE_PAGES */
static int option_get_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_option *cmd = arg;

	cmd->option_id = IOMMU_OPTION_HUGE_PAGES;
	cmd->op = IOMMU_OPTION_OP_GET;
	cmd->object_id = env->ioas_id;
	return 0;
}

static int option_get_check(struct ok_env *env, const void *arg, size_t sz)
{
	const struct iommu_option *cmd = arg;

	if (cmd->val64 != 1)
		return __LINE__;
	return 0;
}

static int option_set_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_option *cmd = arg;

	cmd->option_id = IOMMU_OPTION_HUGE_PAGES;
	cmd->op = IOMMU_OPTION_OP_SET;
	cmd->object_id = env->plain_id;
	cmd->val64 = 0;
	return 0;
}

static int option_set_check(struct ok_env *env, const void *arg, size_t sz)
{
	__u64 val = 1;
	int rc;

	rc = option_get(env->fd, IOMMU_OPTION_HUGE_PAGES, env->plain_id, &val);
	if (rc)
		return rc;
	if (val != 0)
		return __LINE__;
	return option_set(env->fd, IOMMU_OPTION_HUGE_PAGES, env->plain_id, 1);
}

static const struct ok_case ok_option[] = {
	{ "get", option_get_prep, option_get_check },
	{ "set", option_set_prep, option_set_check },
	{}
};

/* IOMMU_VFIO_IOAS: GET of the compatibility IOAS that was SET */
static int vfio_ioas_op(int fd, __u16 op, __u32 ioas_id)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.op = op,
	};

	return ifd_ioctl(fd, IOMMU_VFIO_IOAS, &cmd);
}

static int vfio_ioas_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_vfio_ioas *cmd = arg;

	cmd->op = IOMMU_VFIO_IOAS_GET;
	return vfio_ioas_op(env->fd, IOMMU_VFIO_IOAS_SET, env->plain_id);
}

static int vfio_ioas_check(struct ok_env *env, const void *arg, size_t sz)
{
	const struct iommu_vfio_ioas *cmd = arg;

	if (cmd->ioas_id != env->plain_id)
		return __LINE__;
	return vfio_ioas_op(env->fd, IOMMU_VFIO_IOAS_CLEAR, 0);
}

static const struct ok_case ok_vfio_ioas[] = {
	{ "get", vfio_ioas_prep, vfio_ioas_check },
	{}
};

/*
 * IOMMU_HWPT_ALLOC: a dirty-tracking nesting parent while the driver data
 * does not fit, a mock nested HWPT once it does, and one that reports to
 * the fault queue once fault_id fits too
 */
static bool hwpt_alloc_has_data(size_t sz)
{
	return sz >= offsetof(struct iommu_hwpt_alloc, fault_id);
}

static int hwpt_alloc_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_hwpt_alloc *cmd = arg;

	cmd->dev_id = env->idev_id;
	if (!hwpt_alloc_has_data(sz)) {
		cmd->flags = IOMMU_HWPT_ALLOC_NEST_PARENT |
			     IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
		cmd->pt_id = env->ioas_id;
		return 0;
	}
	cmd->pt_id = env->parent_id;
	cmd->data_type = IOMMU_HWPT_DATA_SELFTEST;
	cmd->data_len = sizeof(env->nested_data);
	cmd->data_uptr = (__u64)(unsigned long)&env->nested_data;
	if (sz >= offsetof(struct iommu_hwpt_alloc, __reserved2)) {
		cmd->flags = IOMMU_HWPT_FAULT_ID_VALID;
		cmd->fault_id = env->fault_id;
	}
	return 0;
}

static int hwpt_alloc_check(struct ok_env *env, const void *arg, size_t sz)
{
	const struct iommu_hwpt_alloc *cmd = arg;
	__u32 id = cmd->out_hwpt_id;
	int rc;

	if (id == 0)
		return __LINE__;
	if (hwpt_alloc_has_data(sz))
		rc = mock_check_iotlb(env->fd, id, 0,
				      IOMMU_TEST_IOTLB_DEFAULT);
	else	/* A paging HWPT, and it tracks dirty pages */
		rc = hwpt_set_dirty(env->fd, id, true) ?:
		     hwpt_set_dirty(env->fd, id, false);
	return rc ?: obj_destroy(env->fd, id);
}

static const struct ok_case ok_hwpt_alloc[] = {
	{ "paging, nested, nested with faults", hwpt_alloc_prep,
	  hwpt_alloc_check },
	{}
};

/* IOMMU_GET_HW_INFO of the mock device */
static int hw_info_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_hw_info *cmd = arg;

	memset(&env->hw_info, 0, sizeof(env->hw_info));
	cmd->dev_id = env->idev_id;
	cmd->data_len = sizeof(env->hw_info);
	cmd->data_uptr = (__u64)(unsigned long)&env->hw_info;
	return 0;
}

static int hw_info_check(struct ok_env *env, const void *arg, size_t sz)
{
	const struct iommu_hw_info *cmd = arg;

	if (cmd->out_data_type != IOMMU_HW_INFO_TYPE_SELFTEST)
		return __LINE__;
	if (cmd->data_len != sizeof(env->hw_info))
		return __LINE__;
	if (env->hw_info.test_reg != IOMMU_HW_INFO_SELFTEST_REGVAL)
		return __LINE__;
	/* The last member */
	if (sz == sizeof(*cmd) &&
	    !(cmd->out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING))
		return __LINE__;
	return 0;
}

static const struct ok_case ok_get_hw_info[] = {
	{ "the mock device", hw_info_prep, hw_info_check },
	{}
};

/* IOMMU_HWPT_SET_DIRTY_TRACKING: on, seen working, off again */
static int set_dirty_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = arg;

	cmd->flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
	cmd->hwpt_id = env->parent_id;
	return 0;
}

static int set_dirty_check(struct ok_env *env, const void *arg, size_t sz)
{
	memset(env->bitmap, 0, sizeof(env->bitmap));
	return ok_map_buf(env, env->ioas_id, OK_IOVA) ?:
	       hwpt_get_dirty(env->fd, env->parent_id, OK_IOVA, OK_LEN,
			      page_size, env->bitmap, 0) ?:
	       hwpt_set_dirty(env->fd, env->parent_id, false) ?:
	       ok_unmap_buf(env, env->ioas_id, OK_IOVA);
}

static const struct ok_case ok_hwpt_set_dirty_tracking[] = {
	{ "enable", set_dirty_prep, set_dirty_check },
	{}
};

/* IOMMU_HWPT_GET_DIRTY_BITMAP of a page the device wrote */
static int get_dirty_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = arg;
	__u64 written = 1 << 1;

	memset(env->bitmap, 0, sizeof(env->bitmap));
	cmd->hwpt_id = env->parent_id;
	cmd->iova = OK_IOVA;
	cmd->length = OK_LEN;
	cmd->page_size = page_size;
	cmd->data = (__u64)(unsigned long)env->bitmap;
	return ok_map_buf(env, env->ioas_id, OK_IOVA) ?:
	       hwpt_set_dirty(env->fd, env->parent_id, true) ?:
	       mock_dirty_mark(env->fd, env->parent_id, OK_IOVA, OK_LEN,
			       page_size, &written, NULL);
}

static int get_dirty_check(struct ok_env *env, const void *arg, size_t sz)
{
	if (env->bitmap[0] != 1 << 1)
		return __LINE__;
	return hwpt_set_dirty(env->fd, env->parent_id, false) ?:
	       ok_unmap_buf(env, env->ioas_id, OK_IOVA);
}

static const struct ok_case ok_hwpt_get_dirty_bitmap[] = {
	{ "one page", get_dirty_prep, get_dirty_check },
	{}
};

/* IOMMU_HWPT_INVALIDATE of one IOTLB entry of the nested HWPT */
static int invalidate_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_hwpt_invalidate *cmd = arg;

	env->inv.flags = 0;
	env->inv.iotlb_id = 1;
	cmd->hwpt_id = env->nested_id;
	cmd->data_uptr = (__u64)(unsigned long)&env->inv;
	cmd->data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST;
	cmd->entry_len = sizeof(env->inv);
	cmd->entry_num = 1;
	return 0;
}

static int invalidate_check(struct ok_env *env, const void *arg, size_t sz)
{
	const struct iommu_hwpt_invalidate *cmd = arg;

	if (cmd->entry_num != 1)
		return __LINE__;
	return mock_check_iotlb(env->fd, env->nested_id, 1, 0) ?:
	       mock_check_iotlb(env->fd, env->nested_id, 0,
				IOMMU_TEST_IOTLB_DEFAULT);
}

static const struct ok_case ok_hwpt_invalidate[] = {
	{ "one entry", invalidate_prep, invalidate_check },
	{}
};

/* IOMMU_FAULT_QUEUE_ALLOC: a FAULT and its descriptor */
static int fault_alloc_check(struct ok_env *env, const void *arg, size_t sz)
{
	const struct iommu_fault_alloc *cmd = arg;

	if (!cmd->out_fault_id || (int)cmd->out_fault_fd <= 2)
		return __LINE__;
	if (fcntl(cmd->out_fault_fd, F_GETFD) < 0)
		return __LINE__;
	if (close(cmd->out_fault_fd))
		return __LINE__;
	return obj_destroy(env->fd, cmd->out_fault_id);
}

static const struct ok_case ok_fault_queue_alloc[] = {
	{ "a queue", ok_none, fault_alloc_check },
	{}
};

/* IOMMU_TEST_CMD, every operation */
static int test_add_reserved_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_test_cmd *cmd = arg;

	/* A new range for each size: a reserved range cannot be removed */
	env->made_iova = 0x40000000 + sz * 0x100000;
	cmd->op = IOMMU_TEST_OP_ADD_RESERVED;
	cmd->id = env->plain_id;
	cmd->add_reserved.start = env->made_iova;
	cmd->add_reserved.length = page_size;
	return 0;
}

static int test_add_reserved_check(struct ok_env *env, const void *arg,
				   size_t sz)
{
	if (!ioas_map_at(env->fd, env->plain_id, env->buf, page_size,
			 env->made_iova))
		return __LINE__;
	return 0;
}

static int test_mock_domain_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_test_cmd *cmd = arg;

	cmd->op = IOMMU_TEST_OP_MOCK_DOMAIN;
	cmd->id = env->ioas_id;
	return 0;
}

static int test_mock_domain_flags_prep(struct ok_env *env, void *arg,
				       size_t sz)
{
	struct iommu_test_cmd *cmd = arg;

	cmd->op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS;
	cmd->id = env->ioas_id;
	cmd->mock_domain_flags.dev_flags = MOCK_FLAGS_DEVICE_NO_DIRTY;
	return 0;
}

/* A new device joined the automatic domain */
static int test_mock_domain_check(struct ok_env *env, const void *arg,
				  size_t sz)
{
	const struct iommu_test_cmd *cmd = arg;

	if (cmd->mock_domain.out_hwpt_id != env->hwpt_id)
		return __LINE__;
	if (!cmd->mock_domain.out_idev_id ||
	    cmd->mock_domain.out_idev_id == env->idev_id)
		return __LINE__;
	if (cmd->mock_domain.out_stdev_id == 0)
		return __LINE__;
	return obj_destroy(env->fd, cmd->mock_domain.out_stdev_id);
}

static int test_check_map_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_test_cmd *cmd = arg;

	cmd->op = IOMMU_TEST_OP_MD_CHECK_MAP;
	cmd->id = env->hwpt_id;
	cmd->check_map.iova = OK_IOVA;
	cmd->check_map.length = OK_LEN;
	cmd->check_map.uptr = (__u64)(unsigned long)env->buf;
	cmd->check_map.perm = OK_RW;
	return ok_map_buf(env, env->ioas_id, OK_IOVA);
}

static int test_unmap_buf(struct ok_env *env, const void *arg, size_t sz)
{
	return ok_unmap_buf(env, env->ioas_id, OK_IOVA);
}

static int test_check_refs_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_test_cmd *cmd = arg;

	cmd->op = IOMMU_TEST_OP_MD_CHECK_REFS;
	cmd->check_refs.length = OK_LEN;
	cmd->check_refs.uptr = (__u64)(unsigned long)env->buf;
	cmd->check_refs.refs = 1;
	return ok_map_buf(env, env->ioas_id, OK_IOVA);
}

static int test_create_access_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_test_cmd *cmd = arg;

	cmd->op = IOMMU_TEST_OP_CREATE_ACCESS;
	cmd->id = env->ioas_id;
	return 0;
}

static int test_create_access_check(struct ok_env *env, const void *arg,
				    size_t sz)
{
	const struct iommu_test_cmd *cmd = arg;
	int afd = cmd->create_access.out_access_fd;

	if (afd <= 2 || fcntl(afd, F_GETFD) < 0)
		return __LINE__;
	if (close(afd))
		return __LINE__;
	return 0;
}

/*
 * env->buf mapped at OK_IOVA, an access (made_fd) on the IOAS; @flags are
 * MOCK_FLAGS_ACCESS_CREATE_*
 */
static int ok_map_and_access(struct ok_env *env, __u32 flags)
{
	return ok_map_buf(env, env->ioas_id, OK_IOVA) ?:
	       mock_access_create(env->fd, env->ioas_id, flags,
				  &env->made_fd);
}

/* Close the access of ok_map_and_access() and unmap */
static int ok_access_done(struct ok_env *env)
{
	int afd = env->made_fd;

	env->made_fd = -1;
	if (close(afd))
		return __LINE__;
	return ok_unmap_buf(env, env->ioas_id, OK_IOVA);
}

static int test_access_pages_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_test_cmd *cmd = arg;
	int rc;

	rc = ok_map_and_access(env, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	cmd->op = IOMMU_TEST_OP_ACCESS_PAGES;
	cmd->id = env->made_fd;
	cmd->access_pages.iova = OK_IOVA;
	cmd->access_pages.length = page_size;
	cmd->access_pages.uptr = (__u64)(unsigned long)env->buf;
	return rc;
}

static int test_access_pages_check(struct ok_env *env, const void *arg,
				   size_t sz)
{
	const struct iommu_test_cmd *cmd = arg;
	int rc;

	rc = mock_access_unpin(env->fd, env->made_fd,
			       cmd->access_pages.out_access_pages_id);
	return rc ?: ok_access_done(env);
}

static int test_destroy_pages_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_test_cmd *cmd = arg;
	__u32 item = 0;
	int rc;

	rc = ok_map_and_access(env, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) ?:
	     mock_access_pin(env->fd, env->made_fd, OK_IOVA, page_size,
			     env->buf, 0, &item);
	cmd->op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES;
	cmd->id = env->made_fd;
	cmd->destroy_access_pages.access_pages_id = item;
	env->made_id = item;
	return rc;
}

static int test_destroy_pages_check(struct ok_env *env, const void *arg,
				    size_t sz)
{
	/* Released already */
	if (mock_access_unpin(env->fd, env->made_fd, env->made_id) != -ENOENT)
		return __LINE__;
	return ok_access_done(env);
}

static int test_access_rw_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_test_cmd *cmd = arg;
	int rc = ok_map_and_access(env, 0);
	size_t i;

	for (i = 0; i != 32; i++)
		env->buf[8 + i] = i + sz;
	memset(env->bytes, 0, sizeof(env->bytes));
	cmd->op = IOMMU_TEST_OP_ACCESS_RW;
	cmd->id = env->made_fd;
	cmd->access_rw.iova = OK_IOVA + 8;
	cmd->access_rw.length = 32;
	cmd->access_rw.uptr = (__u64)(unsigned long)env->bytes;
	return rc;
}

static int test_access_rw_check(struct ok_env *env, const void *arg,
				size_t sz)
{
	if (memcmp(env->bytes, env->buf + 8, 32))
		return __LINE__;
	return ok_access_done(env);
}

static int test_memory_limit_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_test_cmd *cmd = arg;

	cmd->op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT;
	cmd->memory_limit.limit = DEFAULT_TEMP_MEMORY_LIMIT;
	return 0;
}

static int ok_nothing(struct ok_env *env, const void *arg, size_t sz)
{
	return 0;
}

static int test_replace_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_test_cmd *cmd = arg;

	cmd->op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE;
	cmd->mock_domain_replace.pt_id = env->parent_id;
	return mock_domain(env->fd, env->ioas_id, &cmd->id, NULL, NULL);
}

static int test_replace_check(struct ok_env *env, const void *arg, size_t sz)
{
	const struct iommu_test_cmd *cmd = arg;

	if (cmd->mock_domain_replace.pt_id != env->parent_id)
		return __LINE__;
	/* The device uses it now */
	if (obj_destroy(env->fd, env->parent_id) != -EBUSY)
		return __LINE__;
	return obj_destroy(env->fd, cmd->id);
}

static int test_access_ioas_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_test_cmd *cmd = arg;
	int rc;

	rc = ok_map_buf(env, env->plain_id, OK_SRC_IOVA) ?:
	     mock_access_create(env->fd, env->ioas_id, 0, &env->made_fd);
	cmd->op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS;
	cmd->id = env->made_fd;
	cmd->access_replace_ioas.ioas_id = env->plain_id;
	return rc;
}

static int test_access_ioas_check(struct ok_env *env, const void *arg,
				  size_t sz)
{
	int afd = env->made_fd;
	int rc;

	/* The access reads the other IOAS now */
	memset(env->bytes, 0, sizeof(env->bytes));
	rc = mock_access_rw(env->fd, afd, OK_SRC_IOVA, env->bytes, 16, 0);
	if (rc)
		return rc;
	if (memcmp(env->bytes, env->buf, 16))
		return __LINE__;
	env->made_fd = -1;
	if (close(afd))
		return __LINE__;
	return ok_unmap_buf(env, env->plain_id, OK_SRC_IOVA);
}

static int test_dirty_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_test_cmd *cmd = arg;

	env->bitmap[0] = 1 << 0 | 1 << 2;
	cmd->op = IOMMU_TEST_OP_DIRTY;
	cmd->id = env->parent_id;
	cmd->dirty.iova = OK_IOVA;
	cmd->dirty.length = OK_LEN;
	cmd->dirty.page_size = page_size;
	cmd->dirty.uptr = (__u64)(unsigned long)env->bitmap;
	return ok_map_buf(env, env->ioas_id, OK_IOVA) ?:
	       hwpt_set_dirty(env->fd, env->parent_id, true);
}

static int test_dirty_check(struct ok_env *env, const void *arg, size_t sz)
{
	const struct iommu_test_cmd *cmd = arg;
	int rc;

	/* Two CPU pages, two IO pages each */
	if (cmd->dirty.out_nr_dirty != 4)
		return __LINE__;
	memset(env->bitmap, 0, sizeof(env->bitmap));
	rc = hwpt_get_dirty(env->fd, env->parent_id, OK_IOVA, OK_LEN,
			    page_size, env->bitmap, 0);
	if (rc)
		return rc;
	if (env->bitmap[0] != (1 << 0 | 1 << 2))
		return __LINE__;
	return hwpt_set_dirty(env->fd, env->parent_id, false) ?:
	       ok_unmap_buf(env, env->ioas_id, OK_IOVA);
}

static int test_check_iotlb_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_test_cmd *cmd = arg;

	cmd->op = IOMMU_TEST_OP_MD_CHECK_IOTLB;
	cmd->id = env->nested_id;
	cmd->check_iotlb.id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX;
	cmd->check_iotlb.iotlb = IOMMU_TEST_IOTLB_DEFAULT;
	return 0;
}

/* A new device on a nested HWPT that reports to the fault queue */
static int test_iopf_prep(struct ok_env *env, void *arg, size_t sz)
{
	struct iommu_test_cmd *cmd = arg;
	int rc;

	rc = mock_domain(env->fd, env->ioas_id, &env->made_id, NULL,
			 &env->made_idev) ?:
	     hwpt_alloc_mock_nested(env->fd, env->made_idev, env->parent_id,
				    IOMMU_HWPT_FAULT_ID_VALID, env->fault_id,
				    IOMMU_TEST_IOTLB_DEFAULT,
				    &env->made_id2) ?:
	     mock_replace(env->fd, env->made_id, env->made_id2, NULL);
	cmd->op = IOMMU_TEST_OP_TRIGGER_IOPF;
	cmd->trigger_iopf.dev_id = env->made_idev;
	cmd->trigger_iopf.grpid = sz;
	cmd->trigger_iopf.perm = IOMMU_PGFAULT_PERM_READ;
	cmd->trigger_iopf.addr = OK_FAULT_ADDR;
	return rc;
}

static int test_iopf_check(struct ok_env *env, const void *arg, size_t sz)
{
	struct iommu_hwpt_page_response resp = {
		.code = IOMMUFD_PAGE_RESP_SUCCESS,
	};
	struct iommu_hwpt_pgfault rec;

	if (read(env->fault_fd, &rec, sizeof(rec)) != sizeof(rec))
		return __LINE__;
	if (rec.dev_id != env->made_idev || rec.grpid != sz ||
	    rec.addr != OK_FAULT_ADDR || rec.perm != IOMMU_PGFAULT_PERM_READ)
		return __LINE__;
	resp.cookie = rec.cookie;
	if (write(env->fault_fd, &resp, sizeof(resp)) != sizeof(resp))
		return __LINE__;
	return obj_destroy(env->fd, env->made_id) ?:
	       obj_destroy(env->fd, env->made_id2);
}

static const struct ok_case ok_test_cmd[] = {
	{ "add_reserved", test_add_reserved_prep, test_add_reserved_check },
	{ "mock_domain", test_mock_domain_prep, test_mock_domain_check },
	{ "md_check_map", test_check_map_prep, test_unmap_buf },
	{ "md_check_refs", test_check_refs_prep, test_unmap_buf },
	{ "create_access", test_create_access_prep, test_create_access_check },
	{ "destroy_access_pages", test_destroy_pages_prep,
	  test_destroy_pages_check },
	{ "access_pages", test_access_pages_prep, test_access_pages_check },
	{ "access_rw", test_access_rw_prep, test_access_rw_check },
	{ "set_temp_memory_limit", test_memory_limit_prep, ok_nothing },
	{ "mock_domain_replace", test_replace_prep, test_replace_check },
	{ "access_replace_ioas", test_access_ioas_prep,
	  test_access_ioas_check },
	{ "mock_domain_flags", test_mock_domain_flags_prep,
	  test_mock_domain_check },
	{ "dirty", test_dirty_prep, test_dirty_check },
	{ "md_check_iotlb", test_check_iotlb_prep, ok_nothing },
	{ "trigger_iopf", test_iopf_prep, test_iopf_check },
	{}
};

/*
 * The size protocol, for every command. Each variant is one command with
 * the end of its first layout, its current size, and calls of it that
 * succeed. The argument lives at the end of a read-write area that is
 * followed by a PROT_NONE page.
 */
FIXTURE(dispatch)
{
	int fd;
	char *area;	/* DISPATCH_PAGES read-write pages, one PROT_NONE */
};

FIXTURE_VARIANT(dispatch)
{
	unsigned long request;
	size_t min_size;	/* end of the first published layout */
	size_t size;		/* sizeof() in our headers */
	const struct ok_case *ok;	/* calls that succeed */
};

#define DISPATCH_PAGES 3
/*
 * @first is the size of the first published layout: part of the ABI, so
 * spelled out here rather than derived from today's header. @ok is the
 * ok_case array of calls that succeed.
 */
#define CMD_SIZES(req, type, first, ok_cases)		\
	.request = (req),				\
	.min_size = (first),				\
	.size = sizeof(type),				\
	.ok = (ok_cases)

FIXTURE_VARIANT_ADD(dispatch, destroy)
{
	CMD_SIZES(IOMMU_DESTROY, struct iommu_destroy, 8, ok_destroy),
};

FIXTURE_VARIANT_ADD(dispatch, ioas_alloc)
{
	CMD_SIZES(IOMMU_IOAS_ALLOC, struct iommu_ioas_alloc, 12,
		  ok_ioas_alloc),
};

FIXTURE_VARIANT_ADD(dispatch, ioas_allow_iovas)
{
	CMD_SIZES(IOMMU_IOAS_ALLOW_IOVAS, struct iommu_ioas_allow_iovas, 24,
		  ok_ioas_allow_iovas),
};

FIXTURE_VARIANT_ADD(dispatch, ioas_copy)
{
	CMD_SIZES(IOMMU_IOAS_COPY, struct iommu_ioas_copy, 40, ok_ioas_copy),
};

FIXTURE_VARIANT_ADD(dispatch, ioas_iova_ranges)
{
	CMD_SIZES(IOMMU_IOAS_IOVA_RANGES, struct iommu_ioas_iova_ranges, 32,
		  ok_ioas_iova_ranges),
};

FIXTURE_VARIANT_ADD(dispatch, ioas_map)
{
	CMD_SIZES(IOMMU_IOAS_MAP, struct iommu_ioas_map, 40, ok_ioas_map),
};

FIXTURE_VARIANT_ADD(dispatch, ioas_map_file)
{
	CMD_SIZES(IOMMU_IOAS_MAP_FILE, struct iommu_ioas_map_file, 40,
		  ok_ioas_map_file),
};

FIXTURE_VARIANT_ADD(dispatch, ioas_unmap)
{
	CMD_SIZES(IOMMU_IOAS_UNMAP, struct iommu_ioas_unmap, 24,
		  ok_ioas_unmap),
};

FIXTURE_VARIANT_ADD(dispatch, ioas_change_process)
{
	CMD_SIZES(IOMMU_IOAS_CHANGE_PROCESS,
		  struct iommu_ioas_change_process, 8,
		  ok_ioas_change_process),
};

FIXTURE_VARIANT_ADD(dispatch, option)
{
	CMD_SIZES(IOMMU_OPTION, struct iommu_option, 24, ok_option),
};

FIXTURE_VARIANT_ADD(dispatch, vfio_ioas)
{
	CMD_SIZES(IOMMU_VFIO_IOAS, struct iommu_vfio_ioas, 12, ok_vfio_ioas),
};

FIXTURE_VARIANT_ADD(dispatch, hwpt_alloc)
{
	CMD_SIZES(IOMMU_HWPT_ALLOC, struct iommu_hwpt_alloc, 24,
		  ok_hwpt_alloc),
};

FIXTURE_VARIANT_ADD(dispatch, get_hw_info)
{
	CMD_SIZES(IOMMU_GET_HW_INFO, struct iommu_hw_info, 32,
		  ok_get_hw_info),
};

FIXTURE_VARIANT_ADD(dispatch, hwpt_set_dirty_tracking)
{
	CMD_SIZES(IOMMU_HWPT_SET_DIRTY_TRACKING,
		  struct iommu_hwpt_set_dirty_tracking, 16,
		  ok_hwpt_set_dirty_tracking),
};

FIXTURE_VARIANT_ADD(dispatch, hwpt_get_dirty_bitmap)
{
	CMD_SIZES(IOMMU_HWPT_GET_DIRTY_BITMAP,
		  struct iommu_hwpt_get_dirty_bitmap, 48,
		  ok_hwpt_get_dirty_bitmap),
};

FIXTURE_VARIANT_ADD(dispatch, hwpt_invalidate)
{
	CMD_SIZES(IOMMU_HWPT_INVALIDATE, struct iommu_hwpt_invalidate, 32,
		  ok_hwpt_invalidate),
};

FIXTURE_VARIANT_ADD(dispatch, fault_queue_alloc)
{
	CMD_SIZES(IOMMU_FAULT_QUEUE_ALLOC, struct iommu_fault_alloc, 16,
		  ok_fault_queue_alloc),
};

FIXTURE_VARIANT_ADD(dispatch, test_cmd)
{
	CMD_SIZES(IOMMU_TEST_CMD, struct iommu_test_cmd, 68, ok_test_cmd),
};

FIXTURE_SETUP(dispatch)
{
	size_t rw = DISPATCH_PAGES * page_size;

	if (variant->request == IOMMU_TEST_CMD)
		ASSERT_MOCK();
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	self->area = mmap(NULL, rw + page_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->area);
	ASSERT_OK(mprotect(self->area + rw, page_size, PROT_NONE));
}

FIXTURE_TEARDOWN(dispatch)
{
	munmap(self->area, (DISPATCH_PAGES + 1) * page_size);
	ASSERT_OK(close(self->fd));
}

/*
 * Put a zeroed argument of @len bytes whose size member says @size right
 * before the PROT_NONE page, and issue the variant's command with it.
 */
static int dispatch_call(int fd, char *area, unsigned long request,
			 size_t len, __u32 size)
{
	char *arg = area + DISPATCH_PAGES * page_size - len;

	memset(area, 0, DISPATCH_PAGES * page_size);
	memcpy(arg, &size, sizeof(size));
	return ifd_ioctl(fd, request, arg);
}

/* The argument dispatch_call() used */
static char *dispatch_arg(char *area, size_t len)
{
	return area + DISPATCH_PAGES * page_size - len;
}

TEST_F(dispatch, size_too_small)
{
	size_t sz;

	/* Every size short of the first layout, including 0 */
	for (sz = 0; sz < variant->min_size; sz++)
		EXPECT_ERR(EINVAL, dispatch_call(self->fd, self->area,
						 variant->request,
						 variant->size, sz));
}

TEST_F(dispatch, size_nonzero_tail)
{
	size_t extra[] = { 1, 8, 64, page_size };
	size_t i, pos;

	for (i = 0; i != ARRAY_SIZE(extra); i++) {
		size_t len = variant->size + extra[i];

		/* A set byte anywhere in the tail is a request we can't do */
		for (pos = variant->size; pos < len;
		     pos += (extra[i] + 2) / 3) {
			char *arg = dispatch_arg(self->area, len);
			__u32 size = len;

			memset(self->area, 0, DISPATCH_PAGES * page_size);
			memcpy(arg, &size, sizeof(size));
			arg[pos] = 0x01;
			EXPECT_ERR(E2BIG, ifd_ioctl(self->fd, variant->request,
						    arg));
		}
	}
}

/*
 * A zeroed argument gives the same answer at every size from the first
 * layout up to well beyond the current one, and the kernel never writes
 * past the size it was given.
 */
TEST_F(dispatch, size_zero_tail)
{
	size_t sizes[] = { variant->size + 1, variant->size + 8,
			   variant->size + 100, 2 * page_size };
	size_t sz, i, tail_len = 64;
	int expect;

	expect = dispatch_call(self->fd, self->area, variant->request,
			       variant->size, variant->size);
	for (sz = variant->min_size; sz <= variant->size; sz++)
		EXPECT_EQ(expect, dispatch_call(self->fd, self->area,
						variant->request, sz + tail_len,
						sz));
	for (i = 0; i != ARRAY_SIZE(sizes); i++) {
		char *arg;

		EXPECT_EQ(expect, dispatch_call(self->fd, self->area,
						variant->request,
						sizes[i] + tail_len, sizes[i]));
		/* Nothing written after the argument */
		arg = dispatch_arg(self->area, sizes[i] + tail_len);
		for (sz = sizes[i]; sz != sizes[i] + tail_len; sz++)
			EXPECT_EQ(0, arg[sz]);
	}
}

/*
 * Every layout from the first to the current one, with a call that
 * succeeds: the kernel takes what is past the size as zero without
 * reading it, and writes its answer (which the case checks) within the
 * size. The bytes past the size are not zero, and must stay as they are.
 */
TEST_F(dispatch, short_layout_not_overwritten)
{
	size_t len = variant->size + OK_TAIL_LEN;
	struct ok_env env;
	const struct ok_case *ok;
	size_t sz, i;
	int rc;

	ASSERT_MOCK();
	ASSERT_GE(OK_ARG_MAX, variant->size);
	rc = ok_env_setup(&env, self->fd);
	if (rc)
		ok_env_teardown(&env);
	ASSERT_OK(rc);

	for (ok = variant->ok; ok->name; ok++) {
		for (sz = variant->min_size; sz <= variant->size; sz++) {
			char *arg = dispatch_arg(self->area, len);
			union {
				__u64 align;
				char raw[OK_ARG_MAX];
			} in = {}, out = {};
			__u32 size = sz;
			size_t bad = 0;

			ASSERT_OK(ok->prepare(&env, in.raw, sz))
				TH_LOG("%s, size %zu: setting up", ok->name,
				       sz);
			memcpy(in.raw, &size, sizeof(size));
			memset(arg, OK_TAIL_FILL, len);
			memcpy(arg, in.raw, sz);
			ASSERT_OK(ifd_ioctl(self->fd, variant->request, arg))
				TH_LOG("%s, size %zu", ok->name, sz);
			for (i = sz; i != len; i++)
				bad += (unsigned char)arg[i] != OK_TAIL_FILL;
			EXPECT_EQ(0, bad)
				TH_LOG("%s, size %zu: %zu bytes past it",
				       ok->name, sz, bad);
			memcpy(out.raw, arg, sz);
			ASSERT_OK(ok->check(&env, out.raw, sz))
				TH_LOG("%s, size %zu: the answer (> 0: line)",
				       ok->name, sz);
		}
	}
	ok_env_teardown(&env);
}

TEST_F(dispatch, bad_pointer)
{
	char *arg;
	__u32 size = variant->size;

	EXPECT_ERR(EFAULT, ifd_ioctl(self->fd, variant->request, NULL));
	EXPECT_ERR(EFAULT, ifd_ioctl(self->fd, variant->request,
				     self->area + DISPATCH_PAGES *
						  page_size));
	EXPECT_ERR(EFAULT, ifd_ioctl(self->fd, variant->request,
				     (void *)-4096L));

	/* The size member is readable, the rest of the struct is not */
	arg = self->area + DISPATCH_PAGES * page_size - sizeof(size);
	memcpy(arg, &size, sizeof(size));
	EXPECT_ERR(EFAULT, ifd_ioctl(self->fd, variant->request, arg));

	/* A zero tail that runs into the unreadable page */
	arg = self->area + DISPATCH_PAGES * page_size - variant->size;
	size = variant->size + 16;
	memset(arg, 0, variant->size);
	memcpy(arg, &size, sizeof(size));
	EXPECT_ERR(EFAULT, ifd_ioctl(self->fd, variant->request, arg));
}

/*
 * The whole request number must match, not just the command number: a
 * different type, direction or encoded size is another ioctl.
 */
TEST_F(dispatch, request_number_mangled)
{
	unsigned int nr = _IOC_NR(variant->request);
	unsigned long mangled[] = {
		_IOC(_IOC_READ, IOMMUFD_TYPE, nr, 0),
		_IOC(_IOC_WRITE, IOMMUFD_TYPE, nr, 0),
		_IOC(_IOC_READ | _IOC_WRITE, IOMMUFD_TYPE, nr, variant->size),
		_IOC(_IOC_NONE, IOMMUFD_TYPE, nr, variant->size),
		_IOC(_IOC_NONE, IOMMUFD_TYPE + 1, nr, 0),
		_IOC(_IOC_NONE, 'i', nr, 0),
	};
	size_t i;

	for (i = 0; i != ARRAY_SIZE(mangled); i++)
		EXPECT_ERR(ENOTTY, dispatch_call(self->fd, self->area,
						 mangled[i], variant->size,
						 variant->size));
}

TEST_HARNESS_MAIN
