// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd_vfio_compat.c - the VFIO type1 container ioctls, as iommufd serves
 * them on a /dev/iommu file descriptor (and on /dev/vfio/vfio when it
 * provides that node): they act on the context's compatibility IOAS, which
 * IOMMU_VFIO_IOAS chooses.
 *
 * The plain tests need no device. The "compat" fixture sets up what a VFIO
 * user would have after VFIO_SET_IOMMU: a compatibility IOAS with a mock
 * device on it, once as type1 (v1: an unmap starting inside a mapping
 * unmaps nothing of it, one covering a mapping's first IOVA takes all of
 * it) and once as type1v2 (an unmap may not cut a mapping at all). Neither
 * cuts a mapping, so both keep large IOPTEs. Mock domains translate
 * [MOCK_APERTURE_START, MOCK_APERTURE_LAST]; IOMMU_TEST_OP_MD_CHECK_MAP,
 * _MD_CHECK_REFS and _MD_COUNT_IOPTES show what a domain really maps, how
 * often each page is pinned and with which IOPTE sizes.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <linux/vfio.h>

#include "../kselftest_harness.h"
#include "iommufd_test_util.h"
#include "iommufd_type1.h"

#define BUF_PAGES 16
#define BUF_LEN (BUF_PAGES * page_size)
#define HUGE_2M (2UL << 20)
#define BASE_IOVA ((__u64)MOCK_APERTURE_START)
#define INFO_HDR sizeof(struct vfio_iommu_type1_info)
/* The shortest argsz each ioctl takes: its struct up to the size member */
#define MAP_MINSZ \
	(offsetof(struct vfio_iommu_type1_dma_map, size) + sizeof(__u64))
#define UNMAP_MINSZ \
	(offsetof(struct vfio_iommu_type1_dma_unmap, size) + sizeof(__u64))
#define INFO_MINSZ \
	(offsetof(struct vfio_iommu_type1_info, iova_pgsizes) + sizeof(__u64))
/* What the tests fill memory with to see whether the kernel wrote to it */
#define FILL 0xa5

/* An ioctl whose argument is a value: its result, or -errno */
static long vfio_val(int fd, unsigned long request, unsigned long arg)
{
	long rc = ioctl(fd, request, arg);

	return rc < 0 ? -errno : rc;
}

/* IOMMU_VFIO_IOAS; *@ioas_id is input for SET, output for GET */
static int compat_ioas(int fd, __u16 op, __u32 *ioas_id)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.op = op,
		.ioas_id = ioas_id ? *ioas_id : 0,
	};
	int rc = ifd_ioctl(fd, IOMMU_VFIO_IOAS, &cmd);

	if (!rc && op == IOMMU_VFIO_IOAS_GET)
		*ioas_id = cmd.ioas_id;
	return rc;
}

static int vfio_map(int fd, __u32 flags, const void *va, __u64 iova,
		    __u64 size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = (__u64)(unsigned long)va,
		.iova = iova,
		.size = size,
	};

	return ifd_ioctl(fd, VFIO_IOMMU_MAP_DMA, &map);
}

/* Read and write access, the usual mapping */
static int vfio_map_rw(int fd, const void *va, __u64 iova, __u64 size)
{
	return vfio_map(fd, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			va, iova, size);
}

/*
 * VFIO_IOMMU_UNMAP_DMA; *@size (in/out) is the size, and is only written
 * back on success, like the kernel does.
 */
static int vfio_unmap(int fd, __u32 flags, __u64 iova, __u64 *size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = flags,
		.iova = iova,
		.size = *size,
	};
	int rc = ifd_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap);

	if (unmap.argsz != sizeof(unmap) || unmap.flags != flags ||
	    unmap.iova != iova)
		return -EBADMSG;
	*size = unmap.size;
	return rc;
}

/* Is CONFIG_VFIO_NOIOMMU built? It adds a parameter to vfio */
static bool noiommu_built(void)
{
	return !access("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode",
		       F_OK);
}

TEST(api_version)
{
	__u32 ioas_id;
	int fd;

	fd = iommufd_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(VFIO_API_VERSION, vfio_val(fd, VFIO_GET_API_VERSION, 0));
	ASSERT_OK(ioas_alloc(fd, &ioas_id));
	ASSERT_OK(compat_ioas(fd, IOMMU_VFIO_IOAS_SET, &ioas_id));
	EXPECT_EQ(VFIO_API_VERSION, vfio_val(fd, VFIO_GET_API_VERSION, 0));
	EXPECT_OK(close(fd));
}

/* Every extension: offered, not offered, or depending on the IOAS */
TEST(check_extension)
{
	static const struct {
		unsigned long ext;
		long want;
	} exts[] = {
		{ VFIO_TYPE1_IOMMU, 1 },
		{ VFIO_TYPE1v2_IOMMU, 1 },
		{ VFIO_UNMAP_ALL, 1 },
		{ VFIO_SPAPR_TCE_IOMMU, 0 },
		{ VFIO_EEH, 0 },
		{ VFIO_TYPE1_NESTING_IOMMU, 0 },
		{ VFIO_SPAPR_TCE_v2_IOMMU, 0 },
		{ 0, 0 },
		{ 11, 0 },
		{ 0xffffffffUL, 0 },
	};
	unsigned int i, pass;
	__u32 ioas_id;
	int fd;

	fd = iommufd_open();
	ASSERT_LE(0, fd);
	/* Without, then with, a compatibility IOAS: the same answers */
	for (pass = 0; pass != 2; pass++) {
		for (i = 0; i != ARRAY_SIZE(exts); i++)
			EXPECT_EQ(exts[i].want,
				  vfio_val(fd, VFIO_CHECK_EXTENSION,
					   exts[i].ext));
		EXPECT_EQ(noiommu_built() ? 1 : 0,
			  vfio_val(fd, VFIO_CHECK_EXTENSION,
				   VFIO_NOIOMMU_IOMMU));
		/* Works on a compatibility IOAS (without accesses) only */
		EXPECT_EQ(pass, vfio_val(fd, VFIO_CHECK_EXTENSION,
					 VFIO_UPDATE_VADDR));
		ASSERT_OK(ioas_alloc(fd, &ioas_id));
		ASSERT_OK(compat_ioas(fd, IOMMU_VFIO_IOAS_SET, &ioas_id));
	}
	EXPECT_OK(close(fd));
}

/*
 * VFIO_DMA_CC_IOMMU asks about the compatibility IOAS's domains: no
 * without an IOAS (as VFIO's container without a group); yes with no
 * domain, as type1 answers when none of its domains is incoherent; yes
 * with the mock's (which always enforces cache coherency).
 */
TEST(check_extension_cache_coherency)
{
	__u32 ioas_id, stdev_id;
	int fd;

	ASSERT_MOCK();
	fd = iommufd_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, vfio_val(fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU));
	ASSERT_OK(ioas_alloc(fd, &ioas_id));
	ASSERT_OK(compat_ioas(fd, IOMMU_VFIO_IOAS_SET, &ioas_id));
	EXPECT_EQ(1, vfio_val(fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU));
	ASSERT_OK(mock_domain(fd, ioas_id, &stdev_id, NULL, NULL));
	EXPECT_EQ(1, vfio_val(fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU));
	ASSERT_OK(obj_destroy(fd, stdev_id));
	EXPECT_EQ(1, vfio_val(fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU));
	ASSERT_OK(compat_ioas(fd, IOMMU_VFIO_IOAS_CLEAR, NULL));
	EXPECT_EQ(0, vfio_val(fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU));
	EXPECT_OK(close(fd));
}

/*
 * VFIO_SET_IOMMU needs a compatibility IOAS (EINVAL without, as VFIO's
 * container without a group); then only the two type1 flavours are served
 * (ENODEV, as no IOMMU driver of VFIO's serves the others, but EINVAL for
 * nesting). Neither turns large pages off.
 */
TEST(set_iommu)
{
	static const unsigned long bad[] = {
		0, VFIO_SPAPR_TCE_IOMMU, VFIO_DMA_CC_IOMMU,
		VFIO_TYPE1_NESTING_IOMMU, VFIO_SPAPR_TCE_v2_IOMMU,
		VFIO_NOIOMMU_IOMMU, VFIO_UNMAP_ALL, 0xffff,
	};
	__u32 ioas_id;
	unsigned int i;
	__u64 huge;
	int fd;

	fd = iommufd_open();
	ASSERT_LE(0, fd);
	for (i = 0; i != ARRAY_SIZE(bad); i++)
		EXPECT_ERR(EINVAL, vfio_val(fd, VFIO_SET_IOMMU, bad[i]));
	EXPECT_ERR(EINVAL, vfio_val(fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	EXPECT_ERR(EINVAL, vfio_val(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));

	ASSERT_OK(ioas_alloc(fd, &ioas_id));
	ASSERT_OK(compat_ioas(fd, IOMMU_VFIO_IOAS_SET, &ioas_id));
	/* Nesting: EINVAL, as type1, which takes it but cannot attach */
	for (i = 0; i != ARRAY_SIZE(bad); i++)
		EXPECT_ERR(bad[i] == VFIO_TYPE1_NESTING_IOMMU ? EINVAL : ENODEV,
			   vfio_val(fd, VFIO_SET_IOMMU, bad[i]));
	EXPECT_EQ(0, vfio_val(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	ASSERT_OK(option_get(fd, IOMMU_OPTION_HUGE_PAGES, ioas_id, &huge));
	EXPECT_EQ(1, huge);
	EXPECT_EQ(0, vfio_val(fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	ASSERT_OK(option_get(fd, IOMMU_OPTION_HUGE_PAGES, ioas_id, &huge));
	EXPECT_EQ(1, huge);
	EXPECT_OK(close(fd));
}

/*
 * Type1 (v1) can be chosen whatever the IOAS holds already, as it never
 * cuts a mapping: mappings a domain may serve with large IOPTEs, or that
 * are not CPU-page aligned, stay as they are, large pages stay on.
 */
TEST(set_iommu_type1_with_mappings)
{
	__u64 huge, size;
	__u32 ioas_id;
	char *buf;
	int fd;

	ASSERT_MOCK();
	buf = alloc_shared(BUF_LEN, HUGE_2M);
	ASSERT_NE(MAP_FAILED, buf);
	fd = iommufd_open();
	ASSERT_LE(0, fd);

	/* A domain with a mapping */
	ASSERT_OK(ioas_alloc(fd, &ioas_id));
	ASSERT_OK(mock_domain(fd, ioas_id, NULL, NULL, NULL));
	ASSERT_OK(ioas_map_at(fd, ioas_id, buf, BUF_LEN, BASE_IOVA));
	ASSERT_OK(compat_ioas(fd, IOMMU_VFIO_IOAS_SET, &ioas_id));
	EXPECT_EQ(0, vfio_val(fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	ASSERT_OK(option_get(fd, IOMMU_OPTION_HUGE_PAGES, ioas_id, &huge));
	EXPECT_EQ(1, huge);
	/* A v1 unmap from its second page leaves it be */
	size = page_size;
	ASSERT_OK(vfio_unmap(fd, 0, BASE_IOVA + page_size, &size));
	EXPECT_EQ(0, size);
	EXPECT_OK(mock_check_pins(fd, buf, BUF_LEN, 1));

	/* No domain, but a mapping at half a page: a v1 unmap takes it */
	ASSERT_OK(ioas_alloc(fd, &ioas_id));
	ASSERT_OK(ioas_map_at(fd, ioas_id, buf, page_size, page_size / 2));
	ASSERT_OK(compat_ioas(fd, IOMMU_VFIO_IOAS_SET, &ioas_id));
	EXPECT_EQ(0, vfio_val(fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	size = page_size;
	ASSERT_OK(vfio_unmap(fd, 0, 0, &size));
	EXPECT_EQ(page_size, size);
	TEARDOWN_CLOSE_UNPINNED(fd, buf, BUF_LEN);
	munmap(buf, BUF_LEN);
}

/*
 * IOMMU_VFIO_IOAS picks the IOAS the VFIO ioctls act on: only an IOAS
 * qualifies, the choice can change, and destroying the IOAS forgets it.
 */
TEST(compat_ioas_choice)
{
	__u32 a, b, got, hwpt_id = 0;
	__u64 len = 4 * page_size, unmapped;
	char *buf;
	int fd;

	buf = alloc_shared(len, page_size);
	ASSERT_NE(MAP_FAILED, buf);
	fd = iommufd_open();
	ASSERT_LE(0, fd);
	ASSERT_OK(ioas_alloc(fd, &a));
	ASSERT_OK(ioas_alloc(fd, &b));
	EXPECT_ERR(ENODEV, compat_ioas(fd, IOMMU_VFIO_IOAS_GET, &got));
	EXPECT_OK(compat_ioas(fd, IOMMU_VFIO_IOAS_CLEAR, NULL));
	got = b + 1;
	EXPECT_ERR(ENOENT, compat_ioas(fd, IOMMU_VFIO_IOAS_SET, &got));
	ASSERT_OK(mock_domain(fd, b, NULL, &hwpt_id, &got));
	EXPECT_ERR(ENOENT, compat_ioas(fd, IOMMU_VFIO_IOAS_SET, &got));
	EXPECT_ERR(ENOENT, compat_ioas(fd, IOMMU_VFIO_IOAS_SET, &hwpt_id));

	ASSERT_OK(compat_ioas(fd, IOMMU_VFIO_IOAS_SET, &a));
	ASSERT_OK(compat_ioas(fd, IOMMU_VFIO_IOAS_GET, &got));
	EXPECT_EQ(a, got);
	ASSERT_OK(compat_ioas(fd, IOMMU_VFIO_IOAS_SET, &b));
	ASSERT_OK(compat_ioas(fd, IOMMU_VFIO_IOAS_GET, &got));
	EXPECT_EQ(b, got);

	/* MAP_DMA goes to the IOAS chosen last */
	ASSERT_OK(vfio_map_rw(fd, buf, BASE_IOVA, len));
	EXPECT_ERR(ENOENT, ioas_unmap(fd, a, BASE_IOVA, len, NULL));
	ASSERT_OK(ioas_unmap(fd, b, BASE_IOVA, len, &unmapped));
	EXPECT_EQ(len, unmapped);

	/* Clearing forgets it but leaves it alive; destroying forgets it */
	ASSERT_OK(compat_ioas(fd, IOMMU_VFIO_IOAS_CLEAR, NULL));
	EXPECT_ERR(ENODEV, compat_ioas(fd, IOMMU_VFIO_IOAS_GET, &got));
	EXPECT_ERR(EINVAL, vfio_map_rw(fd, buf, BASE_IOVA, len));
	ASSERT_OK(compat_ioas(fd, IOMMU_VFIO_IOAS_SET, &a));
	ASSERT_OK(obj_destroy(fd, a));
	EXPECT_ERR(ENODEV, compat_ioas(fd, IOMMU_VFIO_IOAS_GET, &got));
	EXPECT_ERR(EINVAL, vfio_map_rw(fd, buf, BASE_IOVA, len));
	EXPECT_ERR(EINVAL, vfio_val(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	EXPECT_OK(close(fd));
	munmap(buf, len);
}

/*
 * Malformed requests are refused before the compatibility IOAS is even
 * looked for; well-formed ones then fail with EINVAL without one, as in
 * VFIO's container without a group.
 */
TEST(ioctls_without_compat_ioas)
{
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	struct vfio_iommu_type1_dirty_bitmap dirty = {};
	__u32 argsz;
	int fd;

	fd = iommufd_open();
	ASSERT_LE(0, fd);
	/* Never touched: nothing gets far enough to map it */
	map.vaddr = 16 * page_size;
	map.size = page_size;
	map.flags = VFIO_DMA_MAP_FLAG_READ;

	for (argsz = 0; argsz != MAP_MINSZ; argsz++) {
		map.argsz = argsz;
		EXPECT_ERR(EINVAL, ifd_ioctl(fd, VFIO_IOMMU_MAP_DMA, &map));
	}
	map.argsz = sizeof(map);
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_VADDR;
	EXPECT_ERR(EINVAL, ifd_ioctl(fd, VFIO_IOMMU_MAP_DMA, &map));
	map.flags = VFIO_DMA_MAP_FLAG_READ | 1U << 31;
	EXPECT_ERR(EINVAL, ifd_ioctl(fd, VFIO_IOMMU_MAP_DMA, &map));
	map.flags = 0;
	EXPECT_ERR(EINVAL, ifd_ioctl(fd, VFIO_IOMMU_MAP_DMA, &map));
	map.flags = VFIO_DMA_MAP_FLAG_WRITE;
	map.size = 0;
	EXPECT_ERR(EINVAL, ifd_ioctl(fd, VFIO_IOMMU_MAP_DMA, &map));
	/* Type1 maps whole CPU pages only */
	map.size = page_size / 2;
	EXPECT_ERR(EINVAL, ifd_ioctl(fd, VFIO_IOMMU_MAP_DMA, &map));
	map.size = page_size;
	EXPECT_ERR(EINVAL, ifd_ioctl(fd, VFIO_IOMMU_MAP_DMA, &map));
	map.flags = VFIO_DMA_MAP_FLAG_VADDR;
	EXPECT_ERR(EINVAL, ifd_ioctl(fd, VFIO_IOMMU_MAP_DMA, &map));

	for (argsz = 0; argsz != UNMAP_MINSZ; argsz++) {
		unmap.argsz = argsz;
		EXPECT_ERR(EINVAL, ifd_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
	}
	unmap.argsz = sizeof(unmap);
	unmap.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	EXPECT_ERR(EINVAL, ifd_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
	unmap.flags = VFIO_DMA_UNMAP_FLAG_VADDR;
	EXPECT_ERR(EINVAL, ifd_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
	unmap.flags = 1U << 31;
	EXPECT_ERR(EINVAL, ifd_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
	unmap.flags = VFIO_DMA_UNMAP_FLAG_ALL;
	unmap.size = page_size;
	EXPECT_ERR(EINVAL, ifd_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
	unmap.size = 0;
	unmap.iova = page_size;
	EXPECT_ERR(EINVAL, ifd_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
	unmap.iova = 0;
	EXPECT_ERR(EINVAL, ifd_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
	unmap.flags = 0;
	unmap.size = page_size;
	EXPECT_ERR(EINVAL, ifd_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap));

	for (argsz = 0; argsz != INFO_MINSZ; argsz++) {
		info.argsz = argsz;
		EXPECT_ERR(EINVAL, ifd_ioctl(fd, VFIO_IOMMU_GET_INFO, &info));
	}
	info.argsz = sizeof(info);
	EXPECT_ERR(EINVAL, ifd_ioctl(fd, VFIO_IOMMU_GET_INFO, &info));

	dirty.argsz = sizeof(dirty);
	dirty.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START;
	EXPECT_ERR(EINVAL, ifd_ioctl(fd, VFIO_IOMMU_DIRTY_PAGES, &dirty));
	dirty.argsz = sizeof(dirty) - 1;
	EXPECT_ERR(EINVAL, ifd_ioctl(fd, VFIO_IOMMU_DIRTY_PAGES, &dirty));

	/* Container ioctls that are not served */
	EXPECT_ERR(ENOTTY, vfio_val(fd, VFIO_EEH_PE_OP, 0));
	EXPECT_ERR(ENOTTY, vfio_val(fd, _IO(VFIO_TYPE, VFIO_BASE + 25), 0));
	EXPECT_ERR(ENOTTY, vfio_val(fd, _IO(VFIO_TYPE, 0x7f), 0));
	EXPECT_OK(close(fd));
}

/*
 * /dev/vfio/vfio, when iommufd provides it, is the same kind of context,
 * except that pins are charged per process (VmLck) as VFIO's type1 did.
 */
TEST(vfio_container_node)
{
	__u64 mode, size, len = 4 * page_size;
	__u32 ioas_id, got;
	long before;
	char *buf;
	int fd;

	fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		SKIP(return, "no /dev/vfio/vfio (%s)", strerror(errno));
	EXPECT_EQ(VFIO_API_VERSION, vfio_val(fd, VFIO_GET_API_VERSION, 0));
	EXPECT_EQ(1, vfio_val(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	ASSERT_OK(option_get(fd, IOMMU_OPTION_RLIMIT_MODE, 0, &mode));
	EXPECT_EQ(1, mode);
	EXPECT_ERR(ENODEV, compat_ioas(fd, IOMMU_VFIO_IOAS_GET, &got));
	ASSERT_MOCK();

	buf = alloc_shared(len, page_size);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_OK(ioas_alloc(fd, &ioas_id));
	ASSERT_OK(mock_domain(fd, ioas_id, NULL, NULL, NULL));
	ASSERT_OK(compat_ioas(fd, IOMMU_VFIO_IOAS_SET, &ioas_id));
	EXPECT_EQ(0, vfio_val(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	before = proc_status_kib("VmLck");
	ASSERT_OK(vfio_map_rw(fd, buf, BASE_IOVA, len));
	EXPECT_EQ(before + (long)(len / 1024), proc_status_kib("VmLck"));
	size = 0;
	ASSERT_OK(vfio_unmap(fd, VFIO_DMA_UNMAP_FLAG_ALL, 0, &size));
	EXPECT_EQ(len, size);
	EXPECT_EQ(before, proc_status_kib("VmLck"));
	TEARDOWN_CLOSE_UNPINNED(fd, buf, len);
	munmap(buf, len);
}

/*
 * A compatibility IOAS with a mock device, after VFIO_SET_IOMMU with the
 * variant's type.
 */
FIXTURE(compat)
{
	int fd;
	__u32 ioas_id;
	__u32 stdev_id;
	__u32 hwpt_id;
	char *buf;
};

FIXTURE_VARIANT(compat)
{
	unsigned long type;
	bool v1;	/* type1: unmaps follow type1's v1 rules */
};

FIXTURE_VARIANT_ADD(compat, type1)
{
	.type = VFIO_TYPE1_IOMMU,
	.v1 = true,
};

FIXTURE_VARIANT_ADD(compat, type1v2)
{
	.type = VFIO_TYPE1v2_IOMMU,
};

FIXTURE_SETUP(compat)
{
	ASSERT_MOCK();
	self->buf = alloc_shared(BUF_LEN, HUGE_2M);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 0x3e, BUF_LEN);
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_OK(ioas_alloc(self->fd, &self->ioas_id));
	ASSERT_OK(mock_domain(self->fd, self->ioas_id, &self->stdev_id,
			      &self->hwpt_id, NULL));
	ASSERT_OK(compat_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &self->ioas_id));
	ASSERT_EQ(0, vfio_val(self->fd, VFIO_SET_IOMMU, variant->type));
}

FIXTURE_TEARDOWN(compat)
{
	TEARDOWN_CLOSE_UNPINNED(self->fd, self->buf, BUF_LEN);
	munmap(self->buf, BUF_LEN);
}

/* Pages [first, first + n) of the buffer: mapped at their IOVA, @pins pins */
static int pages_state(struct _test_data_compat *self, unsigned int first,
		       unsigned int n, bool mapped, unsigned int pins)
{
	__u64 off = (__u64)first * page_size;
	int rc;

	rc = mock_check_map(self->fd, self->hwpt_id, BASE_IOVA + off,
			    self->buf + off, n * page_size);
	if (mapped ? rc : !rc)
		return mapped ? rc : -EEXIST;
	return mock_check_pins(self->fd, self->buf + off, n * page_size,
			       pins);
}

/* Neither flavour turns large pages off on the compatibility IOAS */
TEST_F(compat, huge_pages_option)
{
	__u64 huge;

	ASSERT_OK(option_get(self->fd, IOMMU_OPTION_HUGE_PAGES, self->ioas_id,
			     &huge));
	EXPECT_EQ(1, huge);
}

/* Map, unmap, unmap nothing, unmap all */
TEST_F(compat, map_unmap)
{
	__u64 size;

	ASSERT_OK(vfio_map_rw(self->fd, self->buf, BASE_IOVA, BUF_LEN));
	EXPECT_OK(pages_state(self, 0, BUF_PAGES, true, 1));
	/* The same IOVA again */
	EXPECT_ERR(EEXIST, vfio_map_rw(self->fd, self->buf, BASE_IOVA,
				       page_size));
	size = BUF_LEN;
	ASSERT_OK(vfio_unmap(self->fd, 0, BASE_IOVA, &size));
	EXPECT_EQ(BUF_LEN, size);
	EXPECT_OK(pages_state(self, 0, BUF_PAGES, false, 0));

	/* Unmapping where nothing is mapped is no error, just nothing */
	size = BUF_LEN;
	ASSERT_OK(vfio_unmap(self->fd, 0, BASE_IOVA, &size));
	EXPECT_EQ(0, size);
	size = page_size;
	ASSERT_OK(vfio_unmap(self->fd, 0, 0, &size));
	EXPECT_EQ(0, size);

	/* Read-only and write-only mappings are fine too */
	ASSERT_OK(vfio_map(self->fd, VFIO_DMA_MAP_FLAG_READ, self->buf,
			   BASE_IOVA, BUF_LEN / 2));
	ASSERT_OK(vfio_map(self->fd, VFIO_DMA_MAP_FLAG_WRITE,
			   self->buf + BUF_LEN / 2, BASE_IOVA + BUF_LEN / 2,
			   BUF_LEN / 2));
	EXPECT_OK(pages_state(self, 0, BUF_PAGES, true, 1));
	size = page_size;
	EXPECT_ERR(EINVAL, vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_ALL,
				      BASE_IOVA, &size));
	size = 0;
	ASSERT_OK(vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_ALL, 0, &size));
	EXPECT_EQ(BUF_LEN, size);
	EXPECT_OK(pages_state(self, 0, BUF_PAGES, false, 0));
	size = 0;
	ASSERT_OK(vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_ALL, 0, &size));
	EXPECT_EQ(0, size);
}

/*
 * MAP_DMA's READ and WRITE flags reach the IOPTEs as they are. On type1 v1
 * an unmap that starts inside a mapping leaves it whole, permission and all.
 */
TEST_F(compat, map_permissions)
{
	const __u32 r = MOCK_CHECK_MAP_READ, w = MOCK_CHECK_MAP_WRITE;
	const struct {
		__u32 flags;
		__u32 perm;
	} maps[] = {
		{ VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, r | w },
		{ VFIO_DMA_MAP_FLAG_READ, r },
		{ VFIO_DMA_MAP_FLAG_WRITE, w },
	};
	__u64 len = 4 * page_size, size;
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(maps); i++)
		ASSERT_OK(vfio_map(self->fd, maps[i].flags,
				   self->buf + i * len, BASE_IOVA + i * len,
				   len));
	for (i = 0; i != ARRAY_SIZE(maps); i++) {
		EXPECT_OK(mock_check_map_perm(self->fd, self->hwpt_id,
					      BASE_IOVA + i * len,
					      self->buf + i * len, len,
					      maps[i].perm));
		EXPECT_ERR(EACCES,
			   mock_check_map_perm(self->fd, self->hwpt_id,
					       BASE_IOVA + i * len,
					       self->buf + i * len, len,
					       maps[i].perm == (r | w) ?
					       r : r | w));
	}

	/*
	 * Type1 v1 takes nothing of a mapping an unmap starts inside, and
	 * the read-only one keeps all its IOPTEs, still read-only
	 */
	size = page_size;
	if (variant->v1) {
		ASSERT_OK(vfio_unmap(self->fd, 0, BASE_IOVA + len + page_size,
				     &size));
		EXPECT_EQ(0, size);
		EXPECT_OK(mock_check_map_perm(self->fd, self->hwpt_id,
					      BASE_IOVA + len, self->buf + len,
					      len, r));
	}
	size = 0;
	ASSERT_OK(vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_ALL, 0, &size));
	EXPECT_EQ(3 * len, size);
	EXPECT_OK(pages_state(self, 0, 3 * len / page_size, false, 0));
}

/* Single pages, mapped in order and unmapped in a shuffled one */
TEST_F(compat, many_small)
{
	unsigned int i, page;
	__u64 size;

	for (i = 0; i != BUF_PAGES; i++)
		ASSERT_OK(vfio_map_rw(self->fd, self->buf + i * page_size,
				      BASE_IOVA + i * page_size, page_size));
	EXPECT_OK(pages_state(self, 0, BUF_PAGES, true, 1));
	for (i = 0; i != BUF_PAGES; i++) {
		page = (i * 5 + 3) % BUF_PAGES;
		size = page_size;
		ASSERT_OK(vfio_unmap(self->fd, 0, BASE_IOVA + page * page_size,
				     &size));
		EXPECT_EQ(page_size, size);
		EXPECT_OK(pages_state(self, page, 1, false, 0));
	}
}

/* Requests the IOAS refuses, as for IOMMU_IOAS_MAP */
TEST_F(compat, map_errors)
{
	char *hole;

	/* Below the mock aperture */
	EXPECT_ERR(EINVAL, vfio_map_rw(self->fd, self->buf, 0, page_size));
	/* Memory that is not there */
	hole = mmap(NULL, page_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	ASSERT_NE(MAP_FAILED, hole);
	EXPECT_ERR(EFAULT, vfio_map_rw(self->fd, hole, BASE_IOVA, page_size));
	munmap(hole, page_size);
	/* Half a page, or at half a page: type1 maps whole CPU pages only */
	EXPECT_ERR(EINVAL, vfio_map_rw(self->fd, self->buf, BASE_IOVA,
				       page_size / 2));
	EXPECT_ERR(EINVAL, vfio_map_rw(self->fd, self->buf,
				       BASE_IOVA + page_size / 2, page_size));
	EXPECT_ERR(EINVAL, vfio_map_rw(self->fd, self->buf + page_size / 2,
				       BASE_IOVA, page_size));
	/* Wrapping around, in IOVA or in memory */
	EXPECT_ERR(EINVAL, vfio_map_rw(self->fd, self->buf,
				       -(__u64)page_size, 2 * page_size));
	EXPECT_ERR(EINVAL, vfio_map_rw(self->fd, (void *)-page_size,
				       BASE_IOVA, 2 * page_size));
	EXPECT_OK(pages_state(self, 0, BUF_PAGES, false, 0));
}

/*
 * Unmapping part of a mapping. Type1 (v1) never cuts one: a range that
 * starts inside the first mapping it meets unmaps nothing at all (and
 * succeeds), one that covers a mapping's first IOVA unmaps all of it, and
 * the size returned is what really went. Type1v2 refuses a range that cuts
 * a mapping with EINVAL, as type1 does, and changes nothing.
 */
TEST_F(compat, unmap_part)
{
	__u64 size;

	/* Mappings of pages [0, 4), [4, 8) and [8, 16) */
	ASSERT_OK(vfio_map_rw(self->fd, self->buf, BASE_IOVA, 4 * page_size));
	ASSERT_OK(vfio_map_rw(self->fd, self->buf + 4 * page_size,
			      BASE_IOVA + 4 * page_size, 4 * page_size));
	ASSERT_OK(vfio_map_rw(self->fd, self->buf + 8 * page_size,
			      BASE_IOVA + 8 * page_size, 8 * page_size));

	/* Pages 2 to 9: from inside the first mapping */
	size = 8 * page_size;
	if (variant->v1) {
		ASSERT_OK(vfio_unmap(self->fd, 0, BASE_IOVA + 2 * page_size,
				     &size));
		EXPECT_EQ(0, size);
	} else {
		EXPECT_ERR(EINVAL, vfio_unmap(self->fd, 0,
					      BASE_IOVA + 2 * page_size,
					      &size));
	}
	EXPECT_OK(pages_state(self, 0, BUF_PAGES, true, 1));

	/* Not at a page boundary, or no size: refused, nothing changes */
	size = page_size;
	EXPECT_ERR(EINVAL, vfio_unmap(self->fd, 0,
				      BASE_IOVA + 4 * page_size +
				      page_size / 2, &size));
	size = page_size / 2;
	EXPECT_ERR(EINVAL, vfio_unmap(self->fd, 0, BASE_IOVA + 4 * page_size,
				      &size));
	size = 0;
	EXPECT_ERR(EINVAL, vfio_unmap(self->fd, 0, BASE_IOVA, &size));
	/* Wrapping around */
	size = 2 * page_size;
	EXPECT_ERR(EINVAL, vfio_unmap(self->fd, 0, -(__u64)page_size, &size));
	EXPECT_OK(pages_state(self, 0, BUF_PAGES, true, 1));

	/* Pages 4 to 8: the second mapping, and the first page of the third */
	size = 5 * page_size;
	if (variant->v1) {
		ASSERT_OK(vfio_unmap(self->fd, 0, BASE_IOVA + 4 * page_size,
				     &size));
		EXPECT_EQ(12 * page_size, size);
		EXPECT_OK(pages_state(self, 0, 4, true, 1));
		EXPECT_OK(pages_state(self, 4, 12, false, 0));
	} else {
		EXPECT_ERR(EINVAL, vfio_unmap(self->fd, 0,
					      BASE_IOVA + 4 * page_size,
					      &size));
		EXPECT_OK(pages_state(self, 0, BUF_PAGES, true, 1));
	}

	/* The first page of the first mapping takes all of it in v1 */
	size = page_size;
	if (variant->v1) {
		ASSERT_OK(vfio_unmap(self->fd, 0, BASE_IOVA, &size));
		EXPECT_EQ(4 * page_size, size);
	} else {
		EXPECT_ERR(EINVAL, vfio_unmap(self->fd, 0, BASE_IOVA, &size));
		size = 0;
		ASSERT_OK(vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_ALL, 0,
				     &size));
		EXPECT_EQ(BUF_LEN, size);
	}
	EXPECT_OK(pages_state(self, 0, BUF_PAGES, false, 0));
}

/*
 * Hugetlb memory, one mapping, unmapped in 256 KiB pieces from inside: in
 * type1 (v1) every such unmap succeeds and unmaps nothing, type1v2 refuses
 * each; the mapping stays whole either way.
 */
TEST_F(compat, unmap_part_hugetlb)
{
	const __u64 len = 4UL << 20, piece = 256UL << 10;
	unsigned int i, n = len / piece, p;
	__u64 size;
	char *huge;

	huge = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE,
		    -1, 0);
	if (huge == MAP_FAILED)
		SKIP(return, "no 4 MiB of hugetlb pages free");
	ASSERT_OK(vfio_map_rw(self->fd, huge, BASE_IOVA, len));
	EXPECT_OK(mock_check_map(self->fd, self->hwpt_id, BASE_IOVA, huge,
				 len));

	for (i = 0; i != n; i++) {
		p = (i * 7 + 2) % n;
		if (!p)
			continue;
		size = piece;
		if (!variant->v1) {
			EXPECT_ERR(EINVAL, vfio_unmap(self->fd, 0,
						      BASE_IOVA + p * piece,
						      &size));
			continue;
		}
		ASSERT_OK(vfio_unmap(self->fd, 0, BASE_IOVA + p * piece,
				     &size));
		EXPECT_EQ(0, size);
	}
	EXPECT_OK(mock_check_map(self->fd, self->hwpt_id, BASE_IOVA, huge,
				 len));
	size = 0;
	ASSERT_OK(vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_ALL, 0, &size));
	EXPECT_EQ(len, size);
	EXPECT_OK(mock_check_pins(self->fd, huge, len, 0));
	munmap(huge, len);
}

/*
 * Large IOPTEs in both flavours: hugetlb memory mapped as two 2 MiB
 * mappings on a domain with 512-IO-page IOPTEs is served by those only.
 * An unmap from inside the first one leaves every IOPTE in place (v1:
 * success with size 0; v2: EINVAL); an unmap of one page at the second
 * one's start takes that whole mapping in v1, and the first mapping's
 * large IOPTEs stay, still translating to the same memory.
 */
TEST_F(compat, large_ioptes)
{
	const __u64 half = 2UL << 20, len = 2 * half;
	const __u64 large = 512 * mock_io_page;
	__u32 ioas_id, hwpt_id, small, nlarge, empty;
	__u64 size;
	char *huge;

	huge = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE,
		    -1, 0);
	if (huge == MAP_FAILED)
		SKIP(return, "no 4 MiB of hugetlb pages free");
	if (half % large)
		SKIP(goto out_unmap, "large IOPTE above 2 MiB (big CPU pages)");
	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	ASSERT_OK(mock_domain_flags(self->fd, ioas_id,
				    MOCK_FLAGS_DEVICE_HUGE_IOVA, NULL,
				    &hwpt_id, NULL));
	ASSERT_OK(compat_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &ioas_id));
	ASSERT_EQ(0, vfio_val(self->fd, VFIO_SET_IOMMU, variant->type));

	ASSERT_OK(vfio_map_rw(self->fd, huge, BASE_IOVA, half));
	ASSERT_OK(vfio_map_rw(self->fd, huge + half, BASE_IOVA + half, half));
	ASSERT_OK(mock_count_ioptes(self->fd, hwpt_id, BASE_IOVA, len, &small,
				    &nlarge, &empty));
	EXPECT_EQ(0, small);
	EXPECT_EQ(len / large, nlarge);
	EXPECT_EQ(0, empty);

	/* From the middle of the first mapping into the second */
	size = half;
	if (variant->v1) {
		ASSERT_OK(vfio_unmap(self->fd, 0, BASE_IOVA + half / 2,
				     &size));
		EXPECT_EQ(0, size);
	} else {
		EXPECT_ERR(EINVAL, vfio_unmap(self->fd, 0,
					      BASE_IOVA + half / 2, &size));
	}
	ASSERT_OK(mock_count_ioptes(self->fd, hwpt_id, BASE_IOVA, len, &small,
				    &nlarge, &empty));
	EXPECT_EQ(0, small);
	EXPECT_EQ(len / large, nlarge);
	EXPECT_OK(mock_check_map(self->fd, hwpt_id, BASE_IOVA, huge, len));

	/* One page at the second mapping's start */
	size = page_size;
	if (variant->v1) {
		ASSERT_OK(vfio_unmap(self->fd, 0, BASE_IOVA + half, &size));
		EXPECT_EQ(half, size);
	} else {
		EXPECT_ERR(EINVAL, vfio_unmap(self->fd, 0, BASE_IOVA + half,
					      &size));
		size = half;
		ASSERT_OK(vfio_unmap(self->fd, 0, BASE_IOVA + half, &size));
		EXPECT_EQ(half, size);
	}
	ASSERT_OK(mock_count_ioptes(self->fd, hwpt_id, BASE_IOVA, len, &small,
				    &nlarge, &empty));
	EXPECT_EQ(0, small);
	EXPECT_EQ(half / large, nlarge);
	EXPECT_EQ(half / mock_io_page, empty);
	EXPECT_OK(mock_check_map(self->fd, hwpt_id, BASE_IOVA, huge, half));
	EXPECT_OK(mock_check_pins(self->fd, huge + half, half, 0));

	size = 0;
	ASSERT_OK(vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_ALL, 0, &size));
	EXPECT_EQ(half, size);
	ASSERT_OK(mock_count_ioptes(self->fd, hwpt_id, BASE_IOVA, len, NULL,
				    NULL, &empty));
	EXPECT_EQ(len / mock_io_page, empty);
out_unmap:
	munmap(huge, len);
}

/* @len bytes of a memfd, mapped twice: *@second is the other view */
static char *memfd_views(size_t len, char **second)
{
	char *first;
	int memfd;

	memfd = memfd_create("vaddr", 0);
	if (memfd < 0 || ftruncate(memfd, len))
		return MAP_FAILED;
	first = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	*second = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd,
		       0);
	close(memfd);
	if (*second == MAP_FAILED) {
		munmap(first, len);
		return MAP_FAILED;
	}
	return first;
}

/*
 * VFIO_UPDATE_VADDR, as QEMU's live update uses it: VFIO_DMA_UNMAP_FLAG_VADDR
 * keeps the mappings and their pins, VFIO_DMA_MAP_FLAG_VADDR gives each
 * its new address, for exactly its range. Meanwhile no access can attach,
 * and while one is attached the extension is off and invalidating fails
 * with EBUSY. The access afterwards reads through the new address.
 */
TEST_F(compat, vaddr_update)
{
	const __u64 half = BUF_LEN / 2;
	char *old, *new, out[64];
	int access_fd;
	__u64 size;

	old = memfd_views(BUF_LEN, &new);
	ASSERT_NE(MAP_FAILED, old);
	memset(old, 0x5c, BUF_LEN);
	EXPECT_EQ(1, vfio_val(self->fd, VFIO_CHECK_EXTENSION,
			      VFIO_UPDATE_VADDR));
	ASSERT_OK(vfio_map_rw(self->fd, old, BASE_IOVA, half));
	ASSERT_OK(vfio_map_rw(self->fd, old + half, BASE_IOVA + half, half));

	/* From inside the first mapping: v1 takes nothing, v2 refuses */
	size = half;
	if (variant->v1) {
		ASSERT_OK(vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_VADDR,
				     BASE_IOVA + page_size, &size));
		EXPECT_EQ(0, size);
	} else {
		EXPECT_ERR(EINVAL, vfio_unmap(self->fd,
					      VFIO_DMA_UNMAP_FLAG_VADDR,
					      BASE_IOVA + page_size, &size));
	}
	/* No address was taken: an access may still attach */
	ASSERT_OK(mock_access_create(self->fd, self->ioas_id, 0, &access_fd));
	EXPECT_EQ(0, vfio_val(self->fd, VFIO_CHECK_EXTENSION,
			      VFIO_UPDATE_VADDR));
	size = BUF_LEN;
	EXPECT_ERR(EBUSY, vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_VADDR,
				     BASE_IOVA, &size));
	EXPECT_OK(close(access_fd));
	EXPECT_EQ(1, vfio_val(self->fd, VFIO_CHECK_EXTENSION,
			      VFIO_UPDATE_VADDR));

	/* Both; with the dirty-bitmap flag too it is refused */
	size = BUF_LEN;
	EXPECT_ERR(EINVAL, vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_VADDR |
				      VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
				      BASE_IOVA, &size));
	ASSERT_OK(vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_VADDR, BASE_IOVA,
			     &size));
	EXPECT_EQ(BUF_LEN, size);
	/* The mappings and their pins stay */
	EXPECT_OK(mock_check_map(self->fd, self->hwpt_id, BASE_IOVA, old,
				 BUF_LEN));
	EXPECT_OK(mock_check_pins(self->fd, old, BUF_LEN, 1));
	/* Invalid already: refused, and the first one is not revalidated */
	size = BUF_LEN;
	EXPECT_ERR(EINVAL, vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_VADDR,
				      BASE_IOVA, &size));
	EXPECT_ERR(EBUSY, mock_access_create(self->fd, self->ioas_id, 0,
					     &access_fd));

	/* Wrong requests: access flags, another range, nothing there */
	EXPECT_ERR(EINVAL, vfio_map(self->fd, VFIO_DMA_MAP_FLAG_VADDR |
				    VFIO_DMA_MAP_FLAG_READ, new, BASE_IOVA,
				    half));
	EXPECT_ERR(EINVAL, vfio_map(self->fd, VFIO_DMA_MAP_FLAG_VADDR, new,
				    BASE_IOVA, BUF_LEN));
	EXPECT_ERR(EINVAL, vfio_map(self->fd, VFIO_DMA_MAP_FLAG_VADDR,
				    new + 64, BASE_IOVA, half));
	EXPECT_ERR(ENOENT, vfio_map(self->fd, VFIO_DMA_MAP_FLAG_VADDR, new,
				    BASE_IOVA + BUF_LEN, half));
	/* The old address goes away for good */
	ASSERT_OK(munmap(old, BUF_LEN));
	ASSERT_OK(vfio_map(self->fd, VFIO_DMA_MAP_FLAG_VADDR, new, BASE_IOVA,
			   half));
	EXPECT_ERR(EINVAL, vfio_map(self->fd, VFIO_DMA_MAP_FLAG_VADDR, new,
				    BASE_IOVA, half));
	EXPECT_ERR(EBUSY, mock_access_create(self->fd, self->ioas_id, 0,
					     &access_fd));
	ASSERT_OK(vfio_map(self->fd, VFIO_DMA_MAP_FLAG_VADDR, new + half,
			   BASE_IOVA + half, half));

	/* An access copies through the new address */
	ASSERT_OK(mock_access_create(self->fd, self->ioas_id, 0, &access_fd));
	new[half + 3] = 0x17;
	ASSERT_OK(mock_access_rw(self->fd, access_fd, BASE_IOVA + half,
				 out, sizeof(out), 0));
	EXPECT_EQ(0x5c, out[0]);
	EXPECT_EQ(0x17, out[3]);
	EXPECT_OK(close(access_fd));
	EXPECT_OK(mock_check_map(self->fd, self->hwpt_id, BASE_IOVA, new,
				 BUF_LEN));
	size = 0;
	ASSERT_OK(vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_ALL, 0, &size));
	EXPECT_EQ(BUF_LEN, size);
	EXPECT_OK(mock_check_pins(self->fd, new, BUF_LEN, 0));
	munmap(new, BUF_LEN);
}

/*
 * An access elsewhere, on an IOAS that IOMMU_IOAS_COPY gave the same
 * memory: while the address is invalid it cannot copy through it (EBUSY,
 * as type1's vfio_dma_rw() fails), though it may still pin what the
 * domain keeps pinned; with the address back it copies again.
 */
TEST_F(compat, vaddr_access_elsewhere)
{
	__u64 iova = 0, size = BUF_LEN;
	__u32 other;
	int access_fd;
	char out[64];

	ASSERT_OK(vfio_map_rw(self->fd, self->buf, BASE_IOVA, BUF_LEN));
	ASSERT_OK(ioas_alloc(self->fd, &other));
	ASSERT_OK(mock_access_create(self->fd, other, 0, &access_fd));
	ASSERT_OK(vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_VADDR, BASE_IOVA,
			     &size));
	ASSERT_OK(ioas_copy(self->fd, other, self->ioas_id, BASE_IOVA,
			    BUF_LEN, &iova,
			    IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
	EXPECT_ERR(EBUSY, mock_access_rw(self->fd, access_fd, iova, out,
					 sizeof(out), 0));
	ASSERT_OK(mock_access_rw(self->fd, access_fd, iova, out, sizeof(out),
				 MOCK_ACCESS_RW_SLOW_PATH));
	EXPECT_EQ(0x3e, out[0]);

	ASSERT_OK(vfio_map(self->fd, VFIO_DMA_MAP_FLAG_VADDR, self->buf,
			   BASE_IOVA, BUF_LEN));
	self->buf[5] = 0x11;
	ASSERT_OK(mock_access_rw(self->fd, access_fd, iova, out, sizeof(out),
				 0));
	EXPECT_EQ(0x11, out[5]);
	self->buf[5] = 0x3e;
	EXPECT_OK(close(access_fd));
	ASSERT_OK(ioas_unmap_all(self->fd, other, NULL));
}

/*
 * Without a domain nothing is pinned: while the address is invalid a
 * domain cannot be attached (it would pin from no address; type1 refuses
 * attaching then too), and once the new address is given it pins from
 * there.
 */
TEST_F(compat, vaddr_update_unpinned)
{
	__u32 ioas_id, stdev_id, hwpt_id;
	char *old, *new;
	__u64 size = 0;

	old = memfd_views(BUF_LEN, &new);
	ASSERT_NE(MAP_FAILED, old);
	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	ASSERT_OK(compat_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &ioas_id));
	ASSERT_EQ(0, vfio_val(self->fd, VFIO_SET_IOMMU, variant->type));
	ASSERT_OK(vfio_map_rw(self->fd, old, BASE_IOVA, BUF_LEN));
	ASSERT_OK(vfio_unmap(self->fd, VFIO_DMA_UNMAP_FLAG_VADDR |
			     VFIO_DMA_UNMAP_FLAG_ALL, 0, &size));
	EXPECT_EQ(BUF_LEN, size);
	EXPECT_ERR(EBUSY, mock_domain(self->fd, ioas_id, NULL, NULL, NULL));
	EXPECT_OK(mock_check_pins(self->fd, old, BUF_LEN, 0));

	ASSERT_OK(munmap(old, BUF_LEN));
	ASSERT_OK(vfio_map(self->fd, VFIO_DMA_MAP_FLAG_VADDR, new, BASE_IOVA,
			   BUF_LEN));
	ASSERT_OK(mock_domain(self->fd, ioas_id, &stdev_id, &hwpt_id, NULL));
	EXPECT_OK(mock_check_map(self->fd, hwpt_id, BASE_IOVA, new, BUF_LEN));
	EXPECT_OK(mock_check_pins(self->fd, new, BUF_LEN, 1));
	ASSERT_OK(obj_destroy(self->fd, stdev_id));
	EXPECT_OK(mock_check_pins(self->fd, new, BUF_LEN, 0));
	munmap(new, BUF_LEN);
}

/*
 * A process that exits while a mapping's address is invalid releases
 * everything: the pins go with the context, which needs no address for it.
 */
TEST(vaddr_invalid_at_exit)
{
	int fd, status;
	char *buf;
	pid_t pid;

	ASSERT_MOCK();
	buf = alloc_shared(BUF_LEN, page_size);
	ASSERT_NE(MAP_FAILED, buf);
	fd = iommufd_open();
	ASSERT_LE(0, fd);

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		__u64 size = BUF_LEN;
		__u32 ioas_id;
		int cfd = iommufd_open();

		if (cfd < 0 || ioas_alloc(cfd, &ioas_id) ||
		    mock_domain(cfd, ioas_id, NULL, NULL, NULL) ||
		    compat_ioas(cfd, IOMMU_VFIO_IOAS_SET, &ioas_id) ||
		    vfio_val(cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) ||
		    vfio_map_rw(cfd, buf, BASE_IOVA, BUF_LEN) ||
		    vfio_unmap(cfd, VFIO_DMA_UNMAP_FLAG_VADDR, BASE_IOVA,
			       &size) || size != BUF_LEN)
			_exit(1);
		/* Pinned, with no valid address, when the process goes */
		_exit(mock_check_pins(cfd, buf, BUF_LEN, 1) ? 2 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_OK(mock_check_pins(fd, buf, BUF_LEN, 0));
	TEARDOWN_CLOSE_UNPINNED(fd, buf, BUF_LEN);
	munmap(buf, BUF_LEN);
}

/* What the new process of vaddr_new_process() does, and where it looks */
struct vaddr_taker {
	int fd;
	char *buf;
	const char *counter;	/* VmPin or VmLck: where the mode shows pins */
};

/*
 * Child side: take the address away and give it back, as the new process
 * of a live update does; it then pays for the pins.
 */
static int vaddr_take_over(void *arg)
{
	struct vaddr_taker *t = arg;
	__u64 size = BUF_LEN;

	if (proc_status_kib(t->counter))
		return child_failed(2, "a new child has pins already");
	if (vfio_unmap(t->fd, VFIO_DMA_UNMAP_FLAG_VADDR, BASE_IOVA, &size) ||
	    size != BUF_LEN)
		return child_failed(3, "VFIO_DMA_UNMAP_FLAG_VADDR");
	if (vfio_map(t->fd, VFIO_DMA_MAP_FLAG_VADDR, t->buf, BASE_IOVA,
		     BUF_LEN))
		return child_failed(4, "VFIO_DMA_MAP_FLAG_VADDR");
	if (proc_status_kib(t->counter) != (long)(BUF_LEN / 1024))
		return child_failed(5, "the child does not pay for the pins");
	return 0;
}

/*
 * The setup of the VFIO_DMA_MAP_FLAG_VADDR tests: @t's buffer, and its fd
 * in accounting @mode, with a type1v2 container on an IOAS with a mock
 * domain. The caller skips when not root (only root chooses the mode).
 */
static void vaddr_container(struct __test_metadata *_metadata, __u64 mode,
			    struct vaddr_taker *t)
{
	__u32 ioas_id;

	ASSERT_MOCK();
	t->buf = alloc_shared(BUF_LEN, page_size);
	ASSERT_NE(MAP_FAILED, t->buf);
	t->fd = iommufd_open();
	ASSERT_LE(0, t->fd);
	ASSERT_OK(option_set(t->fd, IOMMU_OPTION_RLIMIT_MODE, 0, mode));
	ASSERT_OK(ioas_alloc(t->fd, &ioas_id));
	ASSERT_OK(mock_domain(t->fd, ioas_id, NULL, NULL, NULL));
	ASSERT_OK(compat_ioas(t->fd, IOMMU_VFIO_IOAS_SET, &ioas_id));
	ASSERT_EQ(0, vfio_val(t->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
}

/*
 * VFIO_DMA_MAP_FLAG_VADDR from a forked child, whose RLIMIT_MEMLOCK (as
 * its parent's, without CAP_IPC_LOCK) holds the mapping once and a half:
 * it takes the pins over, and the parent takes them back the same way. In
 * the per-user @mode of IOMMU_OPTION_RLIMIT_MODE both are the same user,
 * who already pays: only the process showing the pins (VmPin) changes. In
 * the per-process mode each process's own locked_vm (VmLck) is charged in
 * turn, and holds them.
 */
static void vaddr_new_process(struct __test_metadata *_metadata, __u64 mode,
			      const char *counter)
{
	struct rlimit lim = {
		.rlim_cur = BUF_LEN + BUF_LEN / 2,
		.rlim_max = BUF_LEN + BUF_LEN / 2,
	};
	struct vaddr_taker t = { .counter = counter };
	__u64 size = BUF_LEN;
	long start;

	if (geteuid())
		SKIP(return, "needs CAP_SYS_RESOURCE to choose the mode");
	vaddr_container(_metadata, mode, &t);
	ASSERT_OK(setrlimit(RLIMIT_MEMLOCK, &lim));
	ASSERT_OK(drop_capability(CAP_IPC_LOCK));
	start = proc_status_kib(counter);
	ASSERT_LE(0, start);

	ASSERT_OK(vfio_map_rw(t.fd, t.buf, BASE_IOVA, BUF_LEN));
	EXPECT_EQ(start + (long)(BUF_LEN / 1024), proc_status_kib(counter));
	EXPECT_EQ(0, run_in_child(vaddr_take_over, &t));
	EXPECT_EQ(start, proc_status_kib(counter));
	EXPECT_OK(mock_check_pins(t.fd, t.buf, BUF_LEN, 1));

	ASSERT_OK(vfio_unmap(t.fd, VFIO_DMA_UNMAP_FLAG_VADDR, BASE_IOVA,
			     &size));
	ASSERT_OK(vfio_map(t.fd, VFIO_DMA_MAP_FLAG_VADDR, t.buf, BASE_IOVA,
			   BUF_LEN));
	EXPECT_EQ(start + (long)(BUF_LEN / 1024), proc_status_kib(counter));
	TEARDOWN_CLOSE_UNPINNED(t.fd, t.buf, BUF_LEN);
	EXPECT_EQ(start, proc_status_kib(counter));
	munmap(t.buf, BUF_LEN);
}

TEST(vaddr_new_process_per_user)
{
	vaddr_new_process(_metadata, 0, "VmPin");
}

TEST(vaddr_new_process_per_process)
{
	vaddr_new_process(_metadata, 1, "VmLck");
}

/*
 * Child side of vaddr_taker_refused(): under a one-page limit and without
 * CAP_IPC_LOCK, the new address is refused with ENOMEM, and nothing is
 * charged to the child. That the mapper had the capability does not help:
 * the taker becomes the payer with what it has.
 */
static int vaddr_take_over_refused(void *arg)
{
	struct vaddr_taker *t = arg;
	struct rlimit lim = { .rlim_cur = page_size, .rlim_max = page_size };

	if (setrlimit(RLIMIT_MEMLOCK, &lim) || drop_capability(CAP_IPC_LOCK))
		return child_failed(2, "limit and capability");
	if (vfio_map(t->fd, VFIO_DMA_MAP_FLAG_VADDR, t->buf, BASE_IOVA,
		     BUF_LEN) != -ENOMEM)
		return child_failed(3, "VFIO_DMA_MAP_FLAG_VADDR is not ENOMEM");
	if (proc_status_kib(t->counter))
		return child_failed(4, "the refused child was charged");
	return 0;
}

/*
 * A mapper with CAP_IPC_LOCK takes its address away; a child without it
 * and with a small limit cannot supply the new one. The address stays
 * invalid and the mapper keeps paying, until it supplies one itself.
 */
static void vaddr_taker_refused(struct __test_metadata *_metadata,
				__u64 mode, const char *counter)
{
	struct vaddr_taker t = { .counter = counter };
	__u64 size = BUF_LEN;
	long start;

	if (geteuid())
		SKIP(return, "needs CAP_SYS_RESOURCE to choose the mode");
	vaddr_container(_metadata, mode, &t);
	start = proc_status_kib(counter);
	ASSERT_LE(0, start);

	ASSERT_OK(vfio_map_rw(t.fd, t.buf, BASE_IOVA, BUF_LEN));
	ASSERT_OK(vfio_unmap(t.fd, VFIO_DMA_UNMAP_FLAG_VADDR, BASE_IOVA,
			     &size));
	EXPECT_EQ(0, run_in_child(vaddr_take_over_refused, &t));
	EXPECT_EQ(start + (long)(BUF_LEN / 1024), proc_status_kib(counter));
	EXPECT_OK(mock_check_pins(t.fd, t.buf, BUF_LEN, 1));
	/* Still without an address: the mapper gives one back */
	ASSERT_OK(vfio_map(t.fd, VFIO_DMA_MAP_FLAG_VADDR, t.buf, BASE_IOVA,
			   BUF_LEN));
	EXPECT_EQ(start + (long)(BUF_LEN / 1024), proc_status_kib(counter));
	TEARDOWN_CLOSE_UNPINNED(t.fd, t.buf, BUF_LEN);
	EXPECT_EQ(start, proc_status_kib(counter));
	munmap(t.buf, BUF_LEN);
}

TEST(vaddr_taker_refused_per_user)
{
	vaddr_taker_refused(_metadata, 0, "VmPin");
}

TEST(vaddr_taker_refused_per_process)
{
	vaddr_taker_refused(_metadata, 1, "VmLck");
}

/* VFIO_IOMMU_DIRTY_PAGES with one flag and nothing after it */
static int dirty_cmd(int fd, __u32 flags)
{
	struct vfio_iommu_type1_dirty_bitmap cmd = {
		.argsz = sizeof(cmd),
		.flags = flags,
	};

	return ifd_ioctl(fd, VFIO_IOMMU_DIRTY_PAGES, &cmd);
}

/* GET_BITMAP of [@iova, @iova + @size) into @bitmap, sized exactly */
static int dirty_get(int fd, __u64 iova, __u64 size, __u64 *bitmap)
{
	struct type1_dirty_get get;

	type1_dirty_get_init(&get, iova, size, page_size,
			     TYPE1_BITMAP_BYTES(size / page_size), bitmap);
	return ifd_ioctl(fd, VFIO_IOMMU_DIRTY_PAGES, &get);
}

/* VFIO_IOMMU_UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP */
static int unmap_dirty(int fd, __u64 iova, __u64 *size, __u64 *bitmap,
		       __u64 bitmap_size, __u32 argsz)
{
	struct type1_unmap_dirty cmd;
	int rc;

	type1_unmap_dirty_init(&cmd, iova, *size, page_size, bitmap_size,
			       bitmap);
	cmd.unmap.argsz = argsz;
	rc = ifd_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &cmd);
	*size = cmd.unmap.size;
	return rc;
}

/* Bits [first, first + n) of @bitmap set, all others of [0, nbits) clear */
static bool bits_are(const __u64 *bitmap, unsigned long nbits,
		     unsigned long first, unsigned long n)
{
	unsigned long i;

	for (i = 0; i != nbits; i++) {
		bool set = bitmap[i / 64] & (1ULL << (i % 64));

		if (set != (i >= first && i < first + n))
			return false;
	}
	return true;
}

/*
 * VFIO_IOMMU_DIRTY_PAGES and unmap with the dirty bitmap. The mock domain
 * here has no dirty tracking, so type1's rule applies: every mapped page
 * is dirty, at every read, and no other bit is set. Type1 (v1) has no
 * dirty tracking at all (EACCES). Requests are checked as type1 checks
 * them, and a large range costs the kernel no large buffer.
 */
TEST_F(compat, dirty_pages)
{
	const unsigned long big_pages = 1UL << 18;	/* 1 GiB of 4 KiB */
	struct type1_unmap_dirty all = {};
	__u64 bitmap[4], *big, size;
	struct type1_dirty_get get;

	if (variant->v1) {
		EXPECT_ERR(EACCES, dirty_cmd(self->fd,
					     VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
		EXPECT_ERR(EACCES, dirty_get(self->fd, BASE_IOVA, BUF_LEN,
					     bitmap));
		return;
	}
	/* Pages [0, 8) and [12, 16) mapped, a hole between */
	ASSERT_OK(vfio_map_rw(self->fd, self->buf, BASE_IOVA, 8 * page_size));
	ASSERT_OK(vfio_map_rw(self->fd, self->buf + 12 * page_size,
			      BASE_IOVA + 12 * page_size, 4 * page_size));
	EXPECT_ERR(EINVAL, dirty_get(self->fd, BASE_IOVA, BUF_LEN, bitmap));
	EXPECT_ERR(EINVAL, dirty_cmd(self->fd, 0));
	EXPECT_ERR(EINVAL, dirty_cmd(self->fd,
				     VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
				     VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
	EXPECT_ERR(EINVAL, dirty_cmd(self->fd, 1 << 3));
	ASSERT_OK(dirty_cmd(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	ASSERT_OK(dirty_cmd(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));

	/* Exactly the mapped pages, every time */
	memset(bitmap, 0xff, sizeof(bitmap));
	ASSERT_OK(dirty_get(self->fd, BASE_IOVA, BUF_LEN, bitmap));
	EXPECT_EQ(0xf0ffULL, bitmap[0]);
	/* 16 bits take one u64: nothing after it is written */
	EXPECT_EQ(~0ULL, bitmap[1]);
	memset(bitmap, 0, sizeof(bitmap));
	ASSERT_OK(dirty_get(self->fd, BASE_IOVA, BUF_LEN, bitmap));
	EXPECT_EQ(0xf0ffULL, bitmap[0]);
	EXPECT_EQ(0, bitmap[1]);
	/* From the second mapping on */
	ASSERT_OK(dirty_get(self->fd, BASE_IOVA + 12 * page_size,
			    8 * page_size, bitmap));
	EXPECT_EQ(0xfULL, bitmap[0]);

	/* Bad requests */
	type1_dirty_get_init(&get, BASE_IOVA, BUF_LEN, page_size, 8, bitmap);
	get.range.bitmap.pgsize = 2 * page_size;
	EXPECT_ERR(EINVAL, ifd_ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, &get));
	get.range.bitmap.pgsize = 0;
	EXPECT_ERR(EINVAL, ifd_ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, &get));
	type1_dirty_get_init(&get, BASE_IOVA, 65 * page_size, page_size, 8,
			     bitmap);
	EXPECT_ERR(EINVAL, ifd_ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, &get));
	type1_dirty_get_init(&get, BASE_IOVA, BUF_LEN, page_size, 0, bitmap);
	EXPECT_ERR(EINVAL, ifd_ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, &get));
	type1_dirty_get_init(&get, BASE_IOVA, BUF_LEN, page_size,
			     (1ULL << 28) + 8, bitmap);
	EXPECT_ERR(EINVAL, ifd_ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, &get));
	type1_dirty_get_init(&get, BASE_IOVA, 0, page_size, 8, bitmap);
	EXPECT_ERR(EINVAL, ifd_ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, &get));
	type1_dirty_get_init(&get, BASE_IOVA + 1, BUF_LEN, page_size, 8,
			     bitmap);
	EXPECT_ERR(EINVAL, ifd_ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, &get));
	type1_dirty_get_init(&get, -(__u64)page_size, 2 * page_size, page_size,
			     8, bitmap);
	EXPECT_ERR(EINVAL, ifd_ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, &get));
	type1_dirty_get_init(&get, BASE_IOVA, BUF_LEN, page_size, 8, bitmap);
	get.hdr.argsz = sizeof(get.hdr) + sizeof(get.range) - 1;
	EXPECT_ERR(EINVAL, ifd_ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, &get));
	/* Cutting a mapping, at either end */
	EXPECT_ERR(EINVAL, dirty_get(self->fd, BASE_IOVA + page_size,
				     BUF_LEN - page_size, bitmap));
	EXPECT_ERR(EINVAL, dirty_get(self->fd, BASE_IOVA, 4 * page_size,
				     bitmap));

	/* 1 GiB of IOVA: a 32 KiB bitmap, written in chunks */
	big = calloc(big_pages / 64, sizeof(*big));
	ASSERT_NE(NULL, big);
	memset(big, 0xff, big_pages / 8);
	ASSERT_OK(dirty_get(self->fd, BASE_IOVA, big_pages * page_size, big));
	EXPECT_EQ(0xf0ffULL, big[0]);
	EXPECT_TRUE(bits_are(big + 1, big_pages - 64, 0, 0));
	free(big);

	/* Unmap with the bitmap: the second mapping's pages, then it goes */
	size = 4 * page_size;
	EXPECT_ERR(EINVAL, unmap_dirty(self->fd, BASE_IOVA + 12 * page_size,
				       &size, bitmap, 8, UNMAP_MINSZ));
	EXPECT_ERR(EINVAL, unmap_dirty(self->fd, BASE_IOVA + 12 * page_size,
				       &size, bitmap, 0,
				       sizeof(struct type1_unmap_dirty)));
	memset(bitmap, 0xff, sizeof(bitmap));
	ASSERT_OK(unmap_dirty(self->fd, BASE_IOVA + 12 * page_size, &size,
			      bitmap, 8, sizeof(struct type1_unmap_dirty)));
	EXPECT_EQ(4 * page_size, size);
	EXPECT_EQ(0xfULL, bitmap[0]);
	EXPECT_OK(pages_state(self, 12, 4, false, 0));
	EXPECT_OK(pages_state(self, 0, 8, true, 1));
	/* With UNMAP_ALL: refused */
	all.unmap.argsz = sizeof(all);
	all.unmap.flags = VFIO_DMA_UNMAP_FLAG_ALL |
			  VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	all.bitmap.pgsize = page_size;
	all.bitmap.size = sizeof(bitmap);
	all.bitmap.data = bitmap;
	EXPECT_ERR(EINVAL, ifd_ioctl(self->fd, VFIO_IOMMU_UNMAP_DMA, &all));
	EXPECT_OK(pages_state(self, 0, 8, true, 1));

	ASSERT_OK(dirty_cmd(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
	ASSERT_OK(dirty_cmd(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
	EXPECT_ERR(EINVAL, dirty_get(self->fd, BASE_IOVA, BUF_LEN, bitmap));
	size = 8 * page_size;
	EXPECT_ERR(EINVAL, unmap_dirty(self->fd, BASE_IOVA, &size, bitmap, 8,
				       sizeof(struct type1_unmap_dirty)));
	EXPECT_OK(pages_state(self, 0, 8, true, 1));
}

/*
 * With a domain that tracks dirty IOVA itself (a HWPT allocated with
 * IOMMU_HWPT_ALLOC_DIRTY_TRACKING), VFIO_IOMMU_DIRTY_PAGES uses it: only
 * the pages the device wrote read as dirty, and reading clears them.
 */
TEST_F(compat, dirty_pages_hw)
{
	__u32 ioas_id, stdev_id, idev_id, hwpt_id;
	__u64 bitmap[1], mark[1], size;

	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	ASSERT_OK(mock_domain(self->fd, ioas_id, &stdev_id, NULL, &idev_id));
	ASSERT_OK(hwpt_alloc(self->fd, idev_id, ioas_id,
			     IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt_id));
	ASSERT_OK(mock_replace(self->fd, stdev_id, hwpt_id, NULL));
	ASSERT_OK(compat_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &ioas_id));
	ASSERT_EQ(0, vfio_val(self->fd, VFIO_SET_IOMMU, variant->type));
	ASSERT_OK(vfio_map_rw(self->fd, self->buf, BASE_IOVA, BUF_LEN));
	if (variant->v1) {
		EXPECT_ERR(EACCES, dirty_cmd(self->fd,
					     VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
		return;
	}
	ASSERT_OK(dirty_cmd(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));

	/* Nothing written yet */
	memset(bitmap, 0xff, sizeof(bitmap));
	ASSERT_OK(dirty_get(self->fd, BASE_IOVA, BUF_LEN, bitmap));
	EXPECT_EQ(0, bitmap[0]);

	/* The device writes pages 3 and 9 */
	mark[0] = 1ULL << 3 | 1ULL << 9;
	ASSERT_OK(mock_dirty_mark(self->fd, hwpt_id, BASE_IOVA, BUF_LEN,
				  page_size, mark, NULL));
	ASSERT_OK(dirty_get(self->fd, BASE_IOVA, BUF_LEN, bitmap));
	EXPECT_EQ(mark[0], bitmap[0]);
	/* Read and cleared */
	ASSERT_OK(dirty_get(self->fd, BASE_IOVA, BUF_LEN, bitmap));
	EXPECT_EQ(0, bitmap[0]);

	/* Unmap with the bitmap reports what the device wrote last */
	mark[0] = 1ULL << 5;
	ASSERT_OK(mock_dirty_mark(self->fd, hwpt_id, BASE_IOVA, BUF_LEN,
				  page_size, mark, NULL));
	size = BUF_LEN;
	memset(bitmap, 0xff, sizeof(bitmap));
	ASSERT_OK(unmap_dirty(self->fd, BASE_IOVA, &size, bitmap, 8,
			      sizeof(struct type1_unmap_dirty)));
	EXPECT_EQ(BUF_LEN, size);
	EXPECT_EQ(mark[0], bitmap[0]);

	ASSERT_OK(dirty_cmd(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
	ASSERT_OK(obj_destroy(self->fd, stdev_id));
	ASSERT_OK(obj_destroy(self->fd, hwpt_id));
}

/*
 * An unmap with the dirty bitmap that fails loses no dirty bit: the bits
 * are read without clearing them, so the domains still have them for the
 * next read. Here it fails while reading: of the two tracking domains, one
 * had its tracking stopped behind the container's back, which the mock
 * refuses to read. Each domain takes that role once, so the other is read
 * first once, whatever order the kernel reads them in.
 */
TEST_F(compat, dirty_unmap_failure_keeps_the_bits)
{
	__u32 ioas_id, stdev_id[2], idev_id[2], hwpt_id[2];
	__u64 bitmap[1], mark[1] = { 1ULL << 3 }, size;
	unsigned int i, stopped;

	/* Type1 v1 has no dirty tracking (dirty_pages checks it) */
	if (variant->v1)
		return;
	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	for (i = 0; i != 2; i++) {
		ASSERT_OK(mock_domain(self->fd, ioas_id, &stdev_id[i], NULL,
				      &idev_id[i]));
		ASSERT_OK(hwpt_alloc(self->fd, idev_id[i], ioas_id,
				     IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				     &hwpt_id[i]));
		ASSERT_OK(mock_replace(self->fd, stdev_id[i], hwpt_id[i],
				       NULL));
	}
	ASSERT_OK(compat_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &ioas_id));
	ASSERT_EQ(0, vfio_val(self->fd, VFIO_SET_IOMMU, variant->type));
	ASSERT_OK(vfio_map_rw(self->fd, self->buf, BASE_IOVA, BUF_LEN));

	for (stopped = 0; stopped != 2; stopped++) {
		ASSERT_OK(dirty_cmd(self->fd,
				    VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
		for (i = 0; i != 2; i++)
			ASSERT_OK(mock_dirty_mark(self->fd, hwpt_id[i],
						  BASE_IOVA, BUF_LEN,
						  page_size, mark, NULL));
		ASSERT_OK(hwpt_set_dirty(self->fd, hwpt_id[stopped], false));
		size = BUF_LEN;
		EXPECT_ERR(EINVAL, unmap_dirty(self->fd, BASE_IOVA, &size,
					       bitmap, sizeof(bitmap),
					       sizeof(struct type1_unmap_dirty)));
		EXPECT_OK(mock_check_map(self->fd, hwpt_id[!stopped],
					 BASE_IOVA, self->buf, BUF_LEN));
		EXPECT_OK(mock_check_pins(self->fd, self->buf, BUF_LEN, 1));
		/* The domain that still tracks still has its bit */
		bitmap[0] = 0;
		ASSERT_OK(hwpt_get_dirty(self->fd, hwpt_id[!stopped],
					 BASE_IOVA, BUF_LEN, page_size, bitmap,
					 0));
		EXPECT_EQ(mark[0], bitmap[0]);
		ASSERT_OK(dirty_cmd(self->fd,
				    VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
	}

	/* With both tracking, the unmap reports the bit and unmaps */
	ASSERT_OK(dirty_cmd(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	ASSERT_OK(mock_dirty_mark(self->fd, hwpt_id[1], BASE_IOVA, BUF_LEN,
				  page_size, mark, NULL));
	size = BUF_LEN;
	bitmap[0] = 0;
	ASSERT_OK(unmap_dirty(self->fd, BASE_IOVA, &size, bitmap,
			      sizeof(bitmap), sizeof(struct type1_unmap_dirty)));
	EXPECT_EQ(BUF_LEN, size);
	EXPECT_EQ(mark[0], bitmap[0]);
	EXPECT_OK(mock_check_pins(self->fd, self->buf, BUF_LEN, 0));
	ASSERT_OK(dirty_cmd(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
	for (i = 0; i != 2; i++) {
		ASSERT_OK(obj_destroy(self->fd, stdev_id[i]));
		ASSERT_OK(obj_destroy(self->fd, hwpt_id[i]));
	}
}

/*
 * Dirty tracking belongs to the compatibility IOAS it was started on.
 * While it runs, IOMMU_VFIO_IOAS may set that same IOAS again but not
 * another one, nor clear it (EBUSY, and nothing changes); after STOP it
 * may. Destroying the compatibility IOAS ends the tracking: the next one
 * does not inherit it.
 */
TEST_F(compat, dirty_tracking_stays_with_its_ioas)
{
	__u64 bitmap[1];
	__u32 other, id;

	/* Type1 v1 has no dirty tracking (dirty_pages checks it) */
	if (variant->v1)
		return;
	ASSERT_OK(ioas_alloc(self->fd, &other));
	ASSERT_OK(vfio_map_rw(self->fd, self->buf, BASE_IOVA, BUF_LEN));
	ASSERT_OK(dirty_cmd(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));

	EXPECT_ERR(EBUSY, compat_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &other));
	EXPECT_ERR(EBUSY, compat_ioas(self->fd, IOMMU_VFIO_IOAS_CLEAR, NULL));
	EXPECT_OK(compat_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &self->ioas_id));
	ASSERT_OK(compat_ioas(self->fd, IOMMU_VFIO_IOAS_GET, &id));
	EXPECT_EQ(self->ioas_id, id);
	bitmap[0] = 0;
	ASSERT_OK(dirty_get(self->fd, BASE_IOVA, BUF_LEN, bitmap));
	EXPECT_EQ(0xffffULL, bitmap[0]);

	ASSERT_OK(dirty_cmd(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
	ASSERT_OK(compat_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &other));
	EXPECT_ERR(EINVAL, dirty_get(self->fd, BASE_IOVA, BUF_LEN, bitmap));

	/* Started on the other IOAS, which then goes */
	ASSERT_OK(vfio_map_rw(self->fd, self->buf, BASE_IOVA, BUF_LEN));
	ASSERT_OK(dirty_cmd(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	ASSERT_OK(dirty_get(self->fd, BASE_IOVA, BUF_LEN, bitmap));
	ASSERT_OK(obj_destroy(self->fd, other));
	EXPECT_ERR(EINVAL, dirty_get(self->fd, BASE_IOVA, BUF_LEN, bitmap));
	ASSERT_OK(compat_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &self->ioas_id));
	EXPECT_ERR(EINVAL, dirty_get(self->fd, BASE_IOVA, BUF_LEN, bitmap));
	ASSERT_OK(dirty_cmd(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	ASSERT_OK(dirty_cmd(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
}

/*
 * STOP stops every domain that tracks, even when one attached since START
 * cannot track (a device without dirty tracking gets an automatic domain
 * of its own): the first domain must not be left tracking. And while the
 * container tracks, it cannot be switched to v1, which has no STOP.
 */
TEST_F(compat, dirty_stop_with_an_untracked_domain)
{
	__u32 ioas_id, stdev_id, idev_id, hwpt_id, stdev2_id;
	__u64 bitmap[1];

	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	ASSERT_OK(mock_domain(self->fd, ioas_id, &stdev_id, NULL, &idev_id));
	ASSERT_OK(hwpt_alloc(self->fd, idev_id, ioas_id,
			     IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt_id));
	ASSERT_OK(mock_replace(self->fd, stdev_id, hwpt_id, NULL));
	ASSERT_OK(compat_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &ioas_id));
	ASSERT_EQ(0, vfio_val(self->fd, VFIO_SET_IOMMU, variant->type));
	ASSERT_OK(vfio_map_rw(self->fd, self->buf, BASE_IOVA, BUF_LEN));
	if (variant->v1) {
		/* Type1 v1 has no dirty tracking at all */
		EXPECT_ERR(EACCES, dirty_cmd(self->fd,
					     VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
		return;
	}
	ASSERT_OK(dirty_cmd(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));

	EXPECT_ERR(EBUSY, vfio_val(self->fd, VFIO_SET_IOMMU,
				   VFIO_TYPE1_IOMMU));

	ASSERT_OK(mock_domain_flags(self->fd, ioas_id,
				    MOCK_FLAGS_DEVICE_NO_DIRTY, &stdev2_id,
				    NULL, NULL));
	ASSERT_OK(dirty_cmd(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
	/* The mock refuses to read bits of a domain that does not track */
	EXPECT_ERR(EINVAL, hwpt_get_dirty(self->fd, hwpt_id, BASE_IOVA,
					  BUF_LEN, page_size, bitmap, 0));
	EXPECT_EQ(0, vfio_val(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));

	ASSERT_OK(obj_destroy(self->fd, stdev2_id));
	ASSERT_OK(obj_destroy(self->fd, stdev_id));
	ASSERT_OK(obj_destroy(self->fd, hwpt_id));
}

/*
 * VFIO_DMA_UNMAP_FLAG_VADDR with ALL takes the address of every mapping,
 * the one that ends at the last IOVA too (a compat IOAS without a domain
 * reserves nothing there), and it can be given back.
 */
TEST_F(compat, vaddr_all_to_the_last_iova)
{
	const __u64 top = 0ULL - page_size;
	__u32 ioas_id;
	__u64 size;
	int fd;

	fd = iommufd_open();
	ASSERT_LE(0, fd);
	ASSERT_OK(ioas_alloc(fd, &ioas_id));
	ASSERT_OK(compat_ioas(fd, IOMMU_VFIO_IOAS_SET, &ioas_id));
	ASSERT_EQ(0, vfio_val(fd, VFIO_SET_IOMMU, variant->type));
	ASSERT_OK(vfio_map_rw(fd, self->buf, top, page_size));

	size = 0;
	ASSERT_OK(vfio_unmap(fd, VFIO_DMA_UNMAP_FLAG_VADDR |
				 VFIO_DMA_UNMAP_FLAG_ALL, 0, &size));
	EXPECT_EQ(page_size, size);
	ASSERT_OK(vfio_map(fd, VFIO_DMA_MAP_FLAG_VADDR, self->buf, top,
			   page_size));
	size = 0;
	ASSERT_OK(vfio_unmap(fd, VFIO_DMA_UNMAP_FLAG_ALL, 0, &size));
	EXPECT_EQ(page_size, size);
	EXPECT_OK(close(fd));
}

/* What GET_INFO must report: its whole size, and the usable ranges */
struct info_expect {
	__u32 total;
	__u32 nr;
	struct vfio_iova_range ranges[4];
};

/* Type1's largest dirty bitmap: INT_MAX bits, in whole u64s */
#define DIRTY_BITMAP_MAX (256ULL * 1024 * 1024)

/*
 * Walk the capability chain of a complete answer. Returns 0 if it holds
 * exactly one MIGRATION (CPU pages, type1's bitmap limit), one DMA_AVAIL
 * (avail U32_MAX) and one IOVA_RANGE capability matching @want, all inside
 * @want->total bytes; else the step that failed.
 */
static int check_caps(const char *info_buf, const struct info_expect *want)
{
	const struct vfio_iommu_type1_info *info = (const void *)info_buf;
	const struct vfio_iommu_type1_info_cap_iova_range *range = NULL;
	const struct vfio_iommu_type1_info_cap_migration *mig = NULL;
	const struct vfio_iommu_type1_info_dma_avail *avail = NULL;
	const struct vfio_info_cap_header *hdr;
	__u32 off = info->cap_offset, n = 0;

	while (off) {
		if (off < INFO_HDR || off + sizeof(*hdr) > want->total ||
		    ++n > 3)
			return 1;
		hdr = (const void *)(info_buf + off);
		if (hdr->version != 1)
			return 2;
		if (hdr->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL && !avail)
			avail = (const void *)hdr;
		else if (hdr->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE &&
			 !range)
			range = (const void *)hdr;
		else if (hdr->id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION &&
			 !mig)
			mig = (const void *)hdr;
		else
			return 3;
		if (hdr->next && hdr->next <= off)
			return 4;
		off = hdr->next;
	}
	if (!avail || !range || !mig)
		return 5;
	if ((const char *)mig + sizeof(*mig) > info_buf + want->total ||
	    mig->flags || mig->pgsize_bitmap != page_size ||
	    mig->max_dirty_bitmap_size != DIRTY_BITMAP_MAX)
		return 9;
	if ((const char *)avail + sizeof(*avail) > info_buf + want->total ||
	    avail->avail != UINT32_MAX)
		return 6;
	if ((const char *)&range->iova_ranges[want->nr] >
	    info_buf + want->total || range->nr_iovas != want->nr)
		return 7;
	if (memcmp(range->iova_ranges, want->ranges,
		   want->nr * sizeof(want->ranges[0])))
		return 8;
	return 0;
}

/* Does all of [p, p + len) still hold FILL? */
static bool bytes_untouched(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i != len; i++)
		if ((unsigned char)p[i] != FILL)
			return false;
	return true;
}

/*
 * Ask with every argsz from 16 up to past what is needed: the kernel
 * never writes past argsz, tells the size it needs when argsz is smaller
 * and leaves argsz alone otherwise (as type1 does), and gives the
 * capability chain only when all of it fits.
 */
static void info_sweep(struct __test_metadata *_metadata,
		       struct _test_data_compat *self,
		       const struct info_expect *want)
{
	struct vfio_iommu_type1_info *info;
	const size_t room = 512;
	__u32 argsz;
	char *buf;

	buf = malloc(room);
	ASSERT_NE(NULL, buf);
	info = (void *)buf;
	for (argsz = INFO_MINSZ; argsz != want->total + 32; argsz++) {
		memset(buf, FILL, room);
		info->argsz = argsz;
		ASSERT_OK(ifd_ioctl(self->fd, VFIO_IOMMU_GET_INFO, info));
		ASSERT_TRUE(bytes_untouched(buf + argsz, room - argsz)) {
			TH_LOG("argsz %u: written past it", argsz);
		}
		if (argsz >= want->total)
			ASSERT_TRUE(bytes_untouched(buf + want->total,
						    room - want->total));
		EXPECT_EQ(argsz < want->total ? want->total : argsz,
			  info->argsz);
		EXPECT_EQ(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS,
			  info->flags);
		EXPECT_EQ(page_size, info->iova_pgsizes & -info->iova_pgsizes);
		if (argsz < INFO_HDR)
			continue;
		if (argsz < want->total) {
			EXPECT_EQ(0, info->cap_offset);
			continue;
		}
		ASSERT_NE(0, info->cap_offset);
		EXPECT_EQ(0, check_caps(buf, want));
	}
	free(buf);
}

/* The size GET_INFO needs, as it tells an old 16-byte caller */
static __u32 info_total(int fd)
{
	struct vfio_iommu_type1_info info = {
		.argsz = INFO_MINSZ,
	};

	return ifd_ioctl(fd, VFIO_IOMMU_GET_INFO, &info) ? 0 : info.argsz;
}

/* The whole answer, into @buf of @len bytes */
static int info_get(int fd, char *buf, __u32 len)
{
	struct vfio_iommu_type1_info *info = (void *)buf;

	memset(buf, 0, len);
	info->argsz = len;
	return ifd_ioctl(fd, VFIO_IOMMU_GET_INFO, info);
}

/*
 * VFIO_IOMMU_GET_INFO: page sizes, and the usable IOVA ranges, which
 * follow the IOAS's reserved regions, as IOMMU_IOAS_IOVA_RANGES reports
 * them.
 */
TEST_F(compat, get_info)
{
	const __u32 cap_min = sizeof(struct vfio_iommu_type1_info_cap_migration) +
			      sizeof(struct vfio_iommu_type1_info_dma_avail) +
			      sizeof(struct vfio_iommu_type1_info_cap_iova_range);
	const __u64 resv = BASE_IOVA + 64 * page_size;
	struct vfio_iommu_type1_info *info;
	struct iommu_iova_range ranges[4];
	struct info_expect want = {
		.nr = 1,
		.ranges = { { MOCK_APERTURE_START, MOCK_APERTURE_LAST } },
	};
	char buf[256];
	__u32 num = 4, one;

	info = (void *)buf;
	for (one = 0; one != INFO_MINSZ; one++) {
		info->argsz = one;
		EXPECT_ERR(EINVAL, ifd_ioctl(self->fd, VFIO_IOMMU_GET_INFO,
					     info));
	}

	want.total = info_total(self->fd);
	EXPECT_LE(INFO_HDR + cap_min + sizeof(want.ranges[0]), want.total);
	EXPECT_GE(INFO_HDR + cap_min + sizeof(want.ranges[0]) + 8,
		  want.total);
	ASSERT_OK(info_get(self->fd, buf, sizeof(buf)));
	/* The mock's 2 KiB IO pages show as CPU pages; type1 has only those */
	EXPECT_EQ(page_size, info->iova_pgsizes);
	info_sweep(_metadata, self, &want);

	/* A reserved region in the middle splits the usable range */
	ASSERT_OK(mock_add_reserved(self->fd, self->ioas_id, resv,
				    4 * page_size));
	one = want.total;
	want.nr = 2;
	want.ranges[0].end = resv - 1;
	want.ranges[1].start = resv + 4 * page_size;
	want.ranges[1].end = MOCK_APERTURE_LAST;
	want.total = info_total(self->fd);
	EXPECT_EQ(one + sizeof(want.ranges[0]), want.total);
	info_sweep(_metadata, self, &want);

	ASSERT_OK(ioas_ranges(self->fd, self->ioas_id, ranges, &num, NULL));
	ASSERT_EQ(2, num);
	EXPECT_EQ(ranges[0].start, want.ranges[0].start);
	EXPECT_EQ(ranges[0].last, want.ranges[0].end);
	EXPECT_EQ(ranges[1].start, want.ranges[1].start);
	EXPECT_EQ(ranges[1].last, want.ranges[1].end);
}

/*
 * With a domain that has 512-IO-page IOPTEs, both flavours offer that page
 * size too, as type1 does.
 */
TEST_F(compat, get_info_page_sizes)
{
	__u32 ioas_id, stdev_id, idev_id, hwpt_id;
	struct vfio_iommu_type1_info *info;
	char buf[256];
	__u64 want;

	info = (void *)buf;
	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	ASSERT_OK(mock_domain_flags(self->fd, ioas_id,
				    MOCK_FLAGS_DEVICE_HUGE_IOVA, NULL, NULL,
				    NULL));
	ASSERT_OK(compat_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &ioas_id));
	ASSERT_EQ(0, vfio_val(self->fd, VFIO_SET_IOMMU, variant->type));
	ASSERT_OK(info_get(self->fd, buf, sizeof(buf)));
	want = page_size | 512 * mock_io_page;
	EXPECT_EQ(want, info->iova_pgsizes);

	/*
	 * The sizes every domain has: a second domain without the large
	 * IOPTE takes it away. Every domain maps whole CPU pages (one with
	 * larger IO pages cannot attach), so PAGE_SIZE is always there.
	 */
	ASSERT_OK(mock_domain(self->fd, ioas_id, &stdev_id, NULL, &idev_id));
	ASSERT_OK(hwpt_alloc(self->fd, idev_id, ioas_id, 0, &hwpt_id));
	ASSERT_OK(mock_replace(self->fd, stdev_id, hwpt_id, NULL));
	ASSERT_OK(info_get(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(page_size, info->iova_pgsizes);
}

/*
 * With no domain, any size from PAGE_SIZE on may still be mapped, and
 * type1's container says so too (PAGE_MASK) until a group brings an IOMMU.
 * With large pages off, PAGE_SIZE only.
 */
TEST_F(compat, get_info_page_sizes_no_domain)
{
	struct vfio_iommu_type1_info *info;
	__u32 ioas_id;
	char buf[256];

	info = (void *)buf;
	ASSERT_OK(ioas_alloc(self->fd, &ioas_id));
	ASSERT_OK(compat_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &ioas_id));
	ASSERT_EQ(0, vfio_val(self->fd, VFIO_SET_IOMMU, variant->type));
	ASSERT_OK(info_get(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(~(__u64)(page_size - 1), info->iova_pgsizes);
	ASSERT_OK(option_set(self->fd, IOMMU_OPTION_HUGE_PAGES, ioas_id, 0));
	ASSERT_OK(info_get(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(page_size, info->iova_pgsizes);
}

TEST_HARNESS_MAIN
