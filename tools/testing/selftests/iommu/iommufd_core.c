// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd_core.c - the foundation of /dev/iommu: contexts, object IDs and
 * their lifetime, and the rules that every ioctl shares.
 *
 * The "dispatch" fixture has one variant per command of the uAPI and
 * checks the size protocol on each: too short is EINVAL, longer with a
 * non-zero tail is E2BIG, longer with a zero tail acts exactly like the
 * exact size, and a bad pointer is EFAULT. The other tests go through the
 * commands one by one for unknown flags, reserved members, bad and
 * mistyped IDs, and IOMMU_OPTION, and check that failing calls leave no
 * trace. Tests that need the mock driver say so by creating mock objects;
 * on a kernel without CONFIG_IOMMUFD_TEST they are skipped.
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
 * The size protocol, for every command. Each variant is one command with
 * the end of its first layout and its current size. The argument lives at
 * the end of a read-write area that is followed by a PROT_NONE page.
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
};

#define DISPATCH_PAGES 3
/*
 * @first is the size of the first published layout: part of the ABI, so
 * spelled out here rather than derived from today's header.
 */
#define CMD_SIZES(req, type, first)			\
	.request = (req),				\
	.min_size = (first),				\
	.size = sizeof(type)

FIXTURE_VARIANT_ADD(dispatch, destroy)
{
	CMD_SIZES(IOMMU_DESTROY, struct iommu_destroy, 8),
};

FIXTURE_VARIANT_ADD(dispatch, ioas_alloc)
{
	CMD_SIZES(IOMMU_IOAS_ALLOC, struct iommu_ioas_alloc, 12),
};

FIXTURE_VARIANT_ADD(dispatch, ioas_allow_iovas)
{
	CMD_SIZES(IOMMU_IOAS_ALLOW_IOVAS, struct iommu_ioas_allow_iovas, 24),
};

FIXTURE_VARIANT_ADD(dispatch, ioas_copy)
{
	CMD_SIZES(IOMMU_IOAS_COPY, struct iommu_ioas_copy, 40),
};

FIXTURE_VARIANT_ADD(dispatch, ioas_iova_ranges)
{
	CMD_SIZES(IOMMU_IOAS_IOVA_RANGES, struct iommu_ioas_iova_ranges, 32),
};

FIXTURE_VARIANT_ADD(dispatch, ioas_map)
{
	CMD_SIZES(IOMMU_IOAS_MAP, struct iommu_ioas_map, 40),
};

FIXTURE_VARIANT_ADD(dispatch, ioas_map_file)
{
	CMD_SIZES(IOMMU_IOAS_MAP_FILE, struct iommu_ioas_map_file, 40),
};

FIXTURE_VARIANT_ADD(dispatch, ioas_unmap)
{
	CMD_SIZES(IOMMU_IOAS_UNMAP, struct iommu_ioas_unmap, 24),
};

FIXTURE_VARIANT_ADD(dispatch, ioas_change_process)
{
	CMD_SIZES(IOMMU_IOAS_CHANGE_PROCESS,
		  struct iommu_ioas_change_process, 8),
};

FIXTURE_VARIANT_ADD(dispatch, option)
{
	CMD_SIZES(IOMMU_OPTION, struct iommu_option, 24),
};

FIXTURE_VARIANT_ADD(dispatch, vfio_ioas)
{
	CMD_SIZES(IOMMU_VFIO_IOAS, struct iommu_vfio_ioas, 12),
};

FIXTURE_VARIANT_ADD(dispatch, hwpt_alloc)
{
	CMD_SIZES(IOMMU_HWPT_ALLOC, struct iommu_hwpt_alloc, 24),
};

FIXTURE_VARIANT_ADD(dispatch, get_hw_info)
{
	CMD_SIZES(IOMMU_GET_HW_INFO, struct iommu_hw_info, 32),
};

FIXTURE_VARIANT_ADD(dispatch, hwpt_set_dirty_tracking)
{
	CMD_SIZES(IOMMU_HWPT_SET_DIRTY_TRACKING,
		  struct iommu_hwpt_set_dirty_tracking, 16),
};

FIXTURE_VARIANT_ADD(dispatch, hwpt_get_dirty_bitmap)
{
	CMD_SIZES(IOMMU_HWPT_GET_DIRTY_BITMAP,
		  struct iommu_hwpt_get_dirty_bitmap, 48),
};

FIXTURE_VARIANT_ADD(dispatch, hwpt_invalidate)
{
	CMD_SIZES(IOMMU_HWPT_INVALIDATE, struct iommu_hwpt_invalidate, 32),
};

FIXTURE_VARIANT_ADD(dispatch, fault_queue_alloc)
{
	CMD_SIZES(IOMMU_FAULT_QUEUE_ALLOC, struct iommu_fault_alloc, 16),
};

FIXTURE_VARIANT_ADD(dispatch, test_cmd)
{
	CMD_SIZES(IOMMU_TEST_CMD, struct iommu_test_cmd, 68),
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

/* An older, shorter layout: nothing is written beyond it */
TEST_F(dispatch, short_layout_not_overwritten)
{
	size_t sz;

	for (sz = variant->min_size; sz <= variant->size; sz++) {
		char *arg = dispatch_arg(self->area, variant->size + 16);
		size_t i;

		dispatch_call(self->fd, self->area, variant->request,
			      variant->size + 16, sz);
		for (i = sz; i != variant->size + 16; i++)
			EXPECT_EQ(0, arg[i]);
	}
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
