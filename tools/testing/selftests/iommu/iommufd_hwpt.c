// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd_hwpt.c - devices and the page tables they attach to: mock
 * devices, automatic and user-allocated HWPTs, nested HWPTs and their
 * invalidation, moving a device from one page table to another,
 * IOMMU_GET_HW_INFO, dirty tracking and I/O page faults.
 *
 * Everything runs against the mock IOMMU of CONFIG_IOMMUFD_TEST. Its
 * devices come from IOMMU_TEST_OP_MOCK_DOMAIN(_FLAGS); its paging domains
 * translate [MOCK_APERTURE_START, MOCK_APERTURE_LAST] in IO pages of half a
 * CPU page (plus 1 MiB IOPTEs for MOCK_FLAGS_DEVICE_HUGE_IOVA devices), and
 * IOMMU_TEST_OP_MD_CHECK_MAP says whether a HWPT translates a range to the
 * memory it should. Without the mock every test skips.
 *
 * Fixtures:
 *  - "hwpt": an IOAS with one mapping and one device on its automatic HWPT;
 *  - "dirty": a dirty-tracking HWPT over buffers of several sizes, some of
 *    them hugetlb memory that the HWPT maps with 1 MiB IOPTEs;
 *  - "fault": a device on a nested HWPT that sends its I/O page faults to a
 *    FAULT object.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#include "../kselftest_harness.h"
#include "iommufd_test_util.h"

#define BUF_PAGES 16
#define BUF_LEN (BUF_PAGES * page_size)
#define HUGE_2M (2UL << 20)
/* Where the "hwpt" fixture maps its buffer: inside the mock aperture */
#define BASE_IOVA ((__u64)MOCK_APERTURE_START)
/* The large IOPTE of MOCK_FLAGS_DEVICE_HUGE_IOVA domains */
#define MOCK_HUGE_IOPTE (512 * mock_io_page)
#define IOTLB_DEFAULT IOMMU_TEST_IOTLB_DEFAULT
#define INV_TYPE IOMMU_HWPT_INVALIDATE_DATA_SELFTEST
#define INV_TYPE_BAD IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID

/*
 * Which IOTLB entries of mock nested HWPT @hwpt_id were reset to 0, as a
 * bit mask; -1 if one holds neither 0 nor IOTLB_DEFAULT.
 */
static int iotlb_zeroed(int fd, __u32 hwpt_id)
{
	int slot, mask = 0;

	for (slot = 0; slot != MOCK_NESTED_DOMAIN_IOTLB_NUM; slot++) {
		if (!mock_check_iotlb(fd, hwpt_id, slot, 0))
			mask |= 1 << slot;
		else if (mock_check_iotlb(fd, hwpt_id, slot, IOTLB_DEFAULT))
			return -1;
	}
	return mask;
}

/* The usable IOVA ranges of an IOAS, as a count and the first range */
static int ioas_first_range(int fd, __u32 ioas_id, __u32 *count,
			    struct iommu_iova_range *first, __u64 *align)
{
	struct iommu_iova_range ranges[8];
	__u32 num = 8;
	int rc;

	rc = ioas_ranges(fd, ioas_id, ranges, &num, align);
	if (rc)
		return rc;
	*count = num;
	*first = ranges[0];
	return 0;
}

FIXTURE(hwpt)
{
	int fd;
	__u32 ioas_id;
	__u32 stdev_id;		/* the fixture's device, */
	__u32 idev_id;		/* its device ID, */
	__u32 hwpt_id;		/* and the automatic HWPT it is attached to */
	char *buf;		/* BUF_LEN bytes, mapped at BASE_IOVA */
};

FIXTURE_SETUP(hwpt)
{
	ASSERT_MOCK();
	self->buf = alloc_shared(BUF_LEN, HUGE_2M);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 0x6b, BUF_LEN);
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_OK(ioas_alloc(self->fd, &self->ioas_id));
	ASSERT_OK(mock_domain(self->fd, self->ioas_id, &self->stdev_id,
			      &self->hwpt_id, &self->idev_id));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      BASE_IOVA));
}

FIXTURE_TEARDOWN(hwpt)
{
	TEARDOWN_CLOSE_UNPINNED(self->fd, self->buf, BUF_LEN);
	munmap(self->buf, BUF_LEN);
}

/* Does the HWPT translate the whole fixture buffer? */
static int maps_buf(struct _test_data_hwpt *self, __u32 hwpt_id)
{
	return mock_check_map(self->fd, hwpt_id, BASE_IOVA, self->buf,
			      BUF_LEN);
}

/*
 * MOCK_DOMAIN answers with three distinct objects: the selftest object,
 * the device, and the paging HWPT, which already maps the IOAS.
 */
TEST_F(hwpt, mock_domain_ids)
{
	struct iommu_hw_info info = { .size = sizeof(info) };

	EXPECT_NE(0, self->stdev_id);
	EXPECT_NE(0, self->idev_id);
	EXPECT_NE(0, self->hwpt_id);
	EXPECT_NE(self->stdev_id, self->idev_id);
	EXPECT_NE(self->stdev_id, self->hwpt_id);
	EXPECT_NE(self->idev_id, self->hwpt_id);
	EXPECT_OK(maps_buf(self, self->hwpt_id));
	EXPECT_OK(mock_check_pins(self->fd, self->buf, BUF_LEN, 1));

	/* Only the device ID names a device */
	info.dev_id = self->idev_id;
	EXPECT_OK(ifd_ioctl(self->fd, IOMMU_GET_HW_INFO, &info));
	info.dev_id = self->stdev_id;
	EXPECT_ERR(ENOENT, ifd_ioctl(self->fd, IOMMU_GET_HW_INFO, &info));
	info.dev_id = self->hwpt_id;
	EXPECT_ERR(ENOENT, ifd_ioctl(self->fd, IOMMU_GET_HW_INFO, &info));

	/* Only the HWPT is a HWPT */
	EXPECT_ERR(ENOENT, maps_buf(self, self->idev_id));
	EXPECT_ERR(ENOENT, maps_buf(self, self->stdev_id));
	EXPECT_ERR(ENOENT, maps_buf(self, self->ioas_id));
}

/* A device can only be attached to an IOAS or a HWPT */
TEST_F(hwpt, mock_domain_bad_target)
{
	__u32 fault_id, stdev_id, hwpt_id;
	int fault_fd;

	ASSERT_OK(fault_queue_new(self->fd, &fault_id, &fault_fd));
	EXPECT_ERR(ENOENT, mock_domain(self->fd, 0, NULL, NULL, NULL));
	EXPECT_ERR(ENOENT, mock_domain(self->fd, fault_id + 100, NULL, NULL,
				       NULL));
	EXPECT_ERR(EINVAL, mock_domain(self->fd, self->idev_id, NULL, NULL,
				       NULL));
	EXPECT_ERR(EINVAL, mock_domain(self->fd, self->stdev_id, NULL, NULL,
				       NULL));
	EXPECT_ERR(EINVAL, mock_domain(self->fd, fault_id, NULL, NULL, NULL));
	ASSERT_OK(close(fault_fd));
	ASSERT_OK(obj_destroy(self->fd, fault_id));

	/* None of that left a device behind on the automatic HWPT */
	ASSERT_OK(mock_domain(self->fd, self->ioas_id, &stdev_id, &hwpt_id,
			      NULL));
	EXPECT_EQ(self->hwpt_id, hwpt_id);
	ASSERT_OK(obj_destroy(self->fd, stdev_id));
	ASSERT_OK(obj_destroy(self->fd, self->stdev_id));
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, self->hwpt_id));
	EXPECT_OK(obj_destroy(self->fd, self->ioas_id));
}

/*
 * Every device flag and combination is accepted, and each such device
 * shares the automatic HWPT: none of them makes a domain incompatible.
 */
TEST_F(hwpt, mock_domain_flags)
{
	static const __u32 flags[] = {
		0,
		MOCK_FLAGS_DEVICE_NO_DIRTY,
		MOCK_FLAGS_DEVICE_HUGE_IOVA,
		MOCK_FLAGS_DEVICE_PASID,
		MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_HUGE_IOVA |
			MOCK_FLAGS_DEVICE_PASID,
	};
	__u32 stdev_id[ARRAY_SIZE(flags)], hwpt_id, idev_id, bit;
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(flags); i++) {
		ASSERT_OK(mock_domain_flags(self->fd, self->ioas_id, flags[i],
					    &stdev_id[i], &hwpt_id,
					    &idev_id));
		EXPECT_EQ(self->hwpt_id, hwpt_id);
		EXPECT_NE(self->idev_id, idev_id);
	}
	/* Unknown device flags are refused, and make no device */
	for (bit = 4; bit != 32; bit++)
		EXPECT_ERR(EOPNOTSUPP,
			   mock_domain_flags(self->fd, self->ioas_id,
					     1U << bit, NULL, NULL, NULL));
	for (i = 0; i != ARRAY_SIZE(flags); i++)
		ASSERT_OK(obj_destroy(self->fd, stdev_id[i]));
	EXPECT_OK(maps_buf(self, self->hwpt_id));
}

/*
 * Two devices attached to one IOAS share its automatic HWPT. It lives as
 * long as one of them is attached, and goes with the last.
 */
TEST_F(hwpt, auto_hwpt_shared_then_gone)
{
	__u32 stdev2, hwpt2, idev2;

	ASSERT_OK(mock_domain(self->fd, self->ioas_id, &stdev2, &hwpt2,
			      &idev2));
	EXPECT_EQ(self->hwpt_id, hwpt2);
	EXPECT_NE(self->idev_id, idev2);
	/* Shared, so the memory is pinned once */
	EXPECT_OK(mock_check_pins(self->fd, self->buf, BUF_LEN, 1));

	ASSERT_OK(obj_destroy(self->fd, self->stdev_id));
	EXPECT_OK(maps_buf(self, self->hwpt_id));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, self->hwpt_id));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, self->ioas_id));

	ASSERT_OK(obj_destroy(self->fd, stdev2));
	EXPECT_ERR(ENOENT, maps_buf(self, self->hwpt_id));
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, self->hwpt_id));
	/* Nothing needs the pages any more, and the IOAS is free */
	EXPECT_OK(mock_check_pins(self->fd, self->buf, BUF_LEN, 0));
	EXPECT_EQ(1, ioas_alignment(self->fd, self->ioas_id));
	EXPECT_OK(obj_destroy(self->fd, self->ioas_id));
}

/* What IOMMU_DESTROY refuses while something depends on it */
TEST_F(hwpt, destroy_busy)
{
	__u32 parent_id, nested_id, user_id, stdev2;

	/* The device belongs to its binding, the HWPT to the device */
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, self->idev_id));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, self->hwpt_id));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, self->ioas_id));

	/* A user HWPT keeps its IOAS, and its nested HWPTs keep it */
	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_NEST_PARENT, &parent_id));
	ASSERT_OK(hwpt_alloc_mock_nested(self->fd, self->idev_id, parent_id,
					 0, 0, IOTLB_DEFAULT, &nested_id));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, parent_id));
	ASSERT_OK(mock_domain(self->fd, nested_id, &stdev2, NULL, NULL));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, nested_id));
	ASSERT_OK(obj_destroy(self->fd, stdev2));
	ASSERT_OK(obj_destroy(self->fd, nested_id));
	ASSERT_OK(obj_destroy(self->fd, parent_id));

	/* Unused user HWPTs go at once; the refusals changed nothing */
	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id, 0,
			     &user_id));
	EXPECT_OK(maps_buf(self, user_id));
	EXPECT_OK(obj_destroy(self->fd, user_id));
	EXPECT_OK(maps_buf(self, self->hwpt_id));
	EXPECT_OK(mock_check_pins(self->fd, self->buf, BUF_LEN, 1));
	ASSERT_OK(obj_destroy(self->fd, self->stdev_id));
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, self->idev_id));
	EXPECT_OK(obj_destroy(self->fd, self->ioas_id));
}

/*
 * Replacing onto another IOAS moves the device to that IOAS's automatic
 * HWPT; the old automatic HWPT, now unused, goes. And back again.
 */
TEST_F(hwpt, replace_between_ioas)
{
	__u64 other_iova = BASE_IOVA + 64 * page_size;
	__u32 other_ioas, new_hwpt, back_hwpt;
	char *half = self->buf + BUF_LEN / 2;

	ASSERT_OK(ioas_alloc(self->fd, &other_ioas));
	ASSERT_OK(ioas_map_at(self->fd, other_ioas, half, BUF_LEN / 2,
			      other_iova));
	/* Not pinned yet: nothing translates the other IOAS */
	EXPECT_OK(mock_check_pins(self->fd, self->buf, BUF_LEN, 1));

	ASSERT_OK(mock_replace(self->fd, self->stdev_id, other_ioas,
			       &new_hwpt));
	EXPECT_NE(self->hwpt_id, new_hwpt);
	EXPECT_ERR(ENOENT, maps_buf(self, self->hwpt_id));
	EXPECT_OK(mock_check_map(self->fd, new_hwpt, other_iova, half,
				 BUF_LEN / 2));
	/* The first half lost its only domain; the second has the new one */
	EXPECT_OK(mock_check_pins(self->fd, self->buf, BUF_LEN / 2, 0));
	EXPECT_OK(mock_check_pins(self->fd, half, BUF_LEN / 2, 1));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, other_ioas));
	EXPECT_OK(obj_destroy(self->fd, self->ioas_id));

	/* Back to a new IOAS, and the one it left is free again */
	ASSERT_OK(ioas_alloc(self->fd, &self->ioas_id));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      BASE_IOVA));
	ASSERT_OK(mock_replace(self->fd, self->stdev_id, self->ioas_id,
			       &back_hwpt));
	EXPECT_OK(maps_buf(self, back_hwpt));
	EXPECT_ERR(ENOENT, mock_check_map(self->fd, new_hwpt, other_iova,
					  half, BUF_LEN / 2));
	EXPECT_OK(mock_check_pins(self->fd, self->buf, BUF_LEN, 1));
	EXPECT_OK(obj_destroy(self->fd, other_ioas));
}

/* Replacing with where the device already is changes nothing */
TEST_F(hwpt, replace_same)
{
	__u32 hwpt_id = 0;

	ASSERT_OK(mock_replace(self->fd, self->stdev_id, self->hwpt_id,
			       &hwpt_id));
	EXPECT_EQ(self->hwpt_id, hwpt_id);
	hwpt_id = 0;
	ASSERT_OK(mock_replace(self->fd, self->stdev_id, self->ioas_id,
			       &hwpt_id));
	EXPECT_EQ(self->hwpt_id, hwpt_id);
	EXPECT_OK(maps_buf(self, self->hwpt_id));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, self->hwpt_id));
}

/*
 * From the automatic HWPT to a user one on the same IOAS and back: the
 * automatic one goes when the device leaves it, the user one never does,
 * and attaching to the IOAS never picks a user HWPT.
 */
TEST_F(hwpt, replace_auto_and_user)
{
	__u32 user_id, got, auto2, stdev2;

	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id, 0,
			     &user_id));
	EXPECT_NE(self->hwpt_id, user_id);
	ASSERT_OK(mock_replace(self->fd, self->stdev_id, user_id, &got));
	EXPECT_EQ(user_id, got);
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, self->hwpt_id));
	EXPECT_OK(maps_buf(self, user_id));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, user_id));
	EXPECT_OK(mock_check_pins(self->fd, self->buf, BUF_LEN, 1));

	/* A new device on the IOAS gets a new automatic HWPT */
	ASSERT_OK(mock_domain(self->fd, self->ioas_id, &stdev2, &auto2,
			      NULL));
	EXPECT_NE(user_id, auto2);
	EXPECT_OK(maps_buf(self, auto2));

	/* Back to the IOAS: it joins that one, and the user HWPT stays */
	ASSERT_OK(mock_replace(self->fd, self->stdev_id, self->ioas_id,
			       &got));
	EXPECT_EQ(auto2, got);
	EXPECT_OK(maps_buf(self, user_id));
	EXPECT_OK(mock_check_pins(self->fd, self->buf, BUF_LEN, 1));
	EXPECT_OK(obj_destroy(self->fd, user_id));
	ASSERT_OK(obj_destroy(self->fd, stdev2));
	EXPECT_OK(maps_buf(self, auto2));
}

/* Through nested HWPTs: on and off them, and between two of them */
TEST_F(hwpt, replace_nested)
{
	__u32 parent_id, nested[2], got;

	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_NEST_PARENT, &parent_id));
	ASSERT_OK(hwpt_alloc_mock_nested(self->fd, self->idev_id, parent_id,
					 0, 0, IOTLB_DEFAULT, &nested[0]));
	ASSERT_OK(hwpt_alloc_mock_nested(self->fd, self->idev_id, parent_id,
					 0, 0, IOTLB_DEFAULT, &nested[1]));

	ASSERT_OK(mock_replace(self->fd, self->stdev_id, nested[0], &got));
	EXPECT_EQ(nested[0], got);
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, self->hwpt_id));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, nested[0]));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, parent_id));
	/* The parent goes on mirroring the IOAS underneath */
	EXPECT_OK(maps_buf(self, parent_id));
	EXPECT_OK(mock_check_pins(self->fd, self->buf, BUF_LEN, 1));

	ASSERT_OK(mock_replace(self->fd, self->stdev_id, nested[1], &got));
	EXPECT_EQ(nested[1], got);
	EXPECT_OK(obj_destroy(self->fd, nested[0]));
	ASSERT_OK(mock_replace(self->fd, self->stdev_id, parent_id, &got));
	EXPECT_EQ(parent_id, got);
	EXPECT_OK(obj_destroy(self->fd, nested[1]));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, parent_id));

	ASSERT_OK(mock_replace(self->fd, self->stdev_id, self->ioas_id,
			       &got));
	EXPECT_NE(parent_id, got);
	EXPECT_OK(maps_buf(self, got));
	EXPECT_OK(obj_destroy(self->fd, parent_id));
	EXPECT_OK(mock_check_pins(self->fd, self->buf, BUF_LEN, 1));
}

/*
 * A replace that fails leaves the device where it was: the old HWPT still
 * translates, still follows its IOAS, and is still in use.
 */
TEST_F(hwpt, replace_failure_keeps_attachment)
{
	__u32 dirty_id, gone_id, nd_stdev, nd_hwpt, other_ioas, got;
	__u64 later = BASE_IOVA + 2 * BUF_LEN;

	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &dirty_id));
	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id, 0,
			     &gone_id));
	ASSERT_OK(mock_domain_flags(self->fd, self->ioas_id,
				    MOCK_FLAGS_DEVICE_NO_DIRTY, &nd_stdev,
				    &nd_hwpt, NULL));
	EXPECT_EQ(self->hwpt_id, nd_hwpt);
	ASSERT_OK(obj_destroy(self->fd, self->stdev_id));

	/* A HWPT that was there (IDs are reused: nothing made in between) */
	ASSERT_OK(obj_destroy(self->fd, gone_id));
	EXPECT_ERR(ENOENT, mock_replace(self->fd, nd_stdev, gone_id, &got));
	/* The device cannot do dirty tracking, so the driver refuses */
	EXPECT_ERR(EINVAL, mock_replace(self->fd, nd_stdev, dirty_id, &got));
	/* Targets that are not there, or not page tables */
	EXPECT_ERR(ENOENT, mock_replace(self->fd, nd_stdev, 0, &got));
	EXPECT_ERR(EINVAL, mock_replace(self->fd, nd_stdev, nd_stdev, &got));
	/* Devices that are not there */
	EXPECT_ERR(ENOENT, mock_replace(self->fd, 0, self->ioas_id, &got));
	EXPECT_ERR(ENOENT, mock_replace(self->fd, self->stdev_id,
					self->ioas_id, &got));
	/* An IOAS whose mapping lies outside the mock aperture */
	ASSERT_OK(ioas_alloc(self->fd, &other_ioas));
	ASSERT_OK(ioas_map_at(self->fd, other_ioas, self->buf, page_size, 0));
	EXPECT_NE(0, mock_replace(self->fd, nd_stdev, other_ioas, &got));
	EXPECT_EQ(1, ioas_alignment(self->fd, other_ioas));

	/* Still on its HWPT, which still follows the IOAS */
	EXPECT_OK(maps_buf(self, nd_hwpt));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, nd_hwpt));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, page_size,
			      later));
	EXPECT_OK(mock_check_map(self->fd, nd_hwpt, later, self->buf,
				 page_size));
	EXPECT_OK(mock_check_pins(self->fd, self->buf, page_size, 2));

	/* And it can still move where it may */
	ASSERT_OK(obj_destroy(self->fd, dirty_id));
	ASSERT_OK(ioas_unmap_all(self->fd, other_ioas, NULL));
	ASSERT_OK(mock_replace(self->fd, nd_stdev, other_ioas, &got));
	EXPECT_NE(nd_hwpt, got);
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, nd_hwpt));
	EXPECT_OK(mock_check_pins(self->fd, self->buf, BUF_LEN, 0));
}

/* IOMMU_HWPT_ALLOC: what is checked, in which order, with which errno */
TEST_F(hwpt, alloc_errors)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOTLB_DEFAULT };
	struct {
		struct iommu_hwpt_selftest data;
		__u32 more;
	} longer = { .data = data };
	__u32 parent_id, plain_id, nested_id, nd_idev, fault_id, bit;
	__u32 id = 0;
	int fault_fd;

	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_NEST_PARENT, &parent_id));
	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id, 0,
			     &plain_id));
	ASSERT_OK(hwpt_alloc_mock_nested(self->fd, self->idev_id, parent_id,
					 0, 0, IOTLB_DEFAULT, &nested_id));
	ASSERT_OK(fault_queue_new(self->fd, &fault_id, &fault_fd));
	ASSERT_OK(mock_domain_flags(self->fd, self->ioas_id,
				    MOCK_FLAGS_DEVICE_NO_DIRTY, NULL, NULL,
				    &nd_idev));

	/* Unknown flags come first */
	for (bit = 4; bit != 32; bit++)
		EXPECT_ERR(EOPNOTSUPP, hwpt_alloc(self->fd, 0, 0, 1U << bit,
						  &id));
	/* Then data_len against data_type, before any lookup */
	EXPECT_ERR(EINVAL, hwpt_alloc_data(self->fd, 0, 0, 0,
					   IOMMU_HWPT_DATA_NONE, &data,
					   sizeof(data), 0, &id));
	EXPECT_ERR(EINVAL, hwpt_alloc_data(self->fd, 0, 0, 0,
					   IOMMU_HWPT_DATA_SELFTEST, &data, 0,
					   0, &id));
	/* Then the device, before the page table */
	EXPECT_ERR(ENOENT, hwpt_alloc(self->fd, 0, 0, 0, &id));
	EXPECT_ERR(ENOENT, hwpt_alloc(self->fd, self->ioas_id, self->ioas_id,
				      0, &id));
	EXPECT_ERR(ENOENT, hwpt_alloc(self->fd, self->stdev_id,
				      self->ioas_id, 0, &id));
	EXPECT_ERR(ENOENT, hwpt_alloc(self->fd, self->hwpt_id, self->ioas_id,
				      0, &id));
	/* pt_id that is neither an IOAS nor a paging HWPT: EINVAL */
	EXPECT_ERR(EINVAL, hwpt_alloc(self->fd, self->idev_id, 0, 0, &id));
	EXPECT_ERR(EINVAL, hwpt_alloc(self->fd, self->idev_id, fault_id + 100,
				      0, &id));
	EXPECT_ERR(EINVAL, hwpt_alloc(self->fd, self->idev_id, self->idev_id,
				      0, &id));
	EXPECT_ERR(EINVAL, hwpt_alloc(self->fd, self->idev_id,
				      self->stdev_id, 0, &id));
	EXPECT_ERR(EINVAL, hwpt_alloc(self->fd, self->idev_id, fault_id, 0,
				      &id));
	EXPECT_ERR(EINVAL, hwpt_alloc_mock_nested(self->fd, self->idev_id,
						  nested_id, 0, 0,
						  IOTLB_DEFAULT, &id));

	/* Paging: no fault queue, no driver data, dirty only if capable */
	EXPECT_ERR(EOPNOTSUPP,
		   hwpt_alloc_data(self->fd, self->idev_id, self->ioas_id,
				   IOMMU_HWPT_FAULT_ID_VALID,
				   IOMMU_HWPT_DATA_NONE, NULL, 0, fault_id,
				   &id));
	EXPECT_ERR(EOPNOTSUPP,
		   hwpt_alloc_data(self->fd, self->idev_id, self->ioas_id,
				   IOMMU_HWPT_ALLOC_NEST_PARENT |
				   IOMMU_HWPT_FAULT_ID_VALID,
				   IOMMU_HWPT_DATA_NONE, NULL, 0, fault_id,
				   &id));
	EXPECT_ERR(EOPNOTSUPP,
		   hwpt_alloc_data(self->fd, self->idev_id, self->ioas_id, 0,
				   IOMMU_HWPT_DATA_SELFTEST, &data,
				   sizeof(data), 0, &id));
	EXPECT_ERR(EOPNOTSUPP,
		   hwpt_alloc(self->fd, nd_idev, self->ioas_id,
			      IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &id));
	EXPECT_ERR(EOPNOTSUPP,
		   hwpt_alloc(self->fd, nd_idev, self->ioas_id,
			      IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
			      IOMMU_HWPT_ALLOC_NEST_PARENT, &id));

	/* Nested: on a nesting parent only */
	EXPECT_ERR(EINVAL, hwpt_alloc_mock_nested(self->fd, self->idev_id,
						  self->hwpt_id, 0, 0,
						  IOTLB_DEFAULT, &id));
	EXPECT_ERR(EINVAL, hwpt_alloc_mock_nested(self->fd, self->idev_id,
						  plain_id, 0, 0,
						  IOTLB_DEFAULT, &id));
	/* with no paging flags */
	EXPECT_ERR(EOPNOTSUPP,
		   hwpt_alloc_mock_nested(self->fd, self->idev_id, parent_id,
					  IOMMU_HWPT_ALLOC_NEST_PARENT, 0,
					  IOTLB_DEFAULT, &id));
	EXPECT_ERR(EOPNOTSUPP,
		   hwpt_alloc_mock_nested(self->fd, self->idev_id, parent_id,
					  IOMMU_HWPT_ALLOC_DIRTY_TRACKING, 0,
					  IOTLB_DEFAULT, &id));
	/* with data of the driver's type, size and in readable memory */
	EXPECT_ERR(EOPNOTSUPP,
		   hwpt_alloc_data(self->fd, self->idev_id, parent_id, 0,
				   IOMMU_HWPT_DATA_NONE, NULL, 0, 0, &id));
	EXPECT_ERR(EOPNOTSUPP,
		   hwpt_alloc_data(self->fd, self->idev_id, parent_id, 0,
				   IOMMU_HWPT_DATA_SELFTEST + 1, &data,
				   sizeof(data), 0, &id));
	EXPECT_ERR(EOPNOTSUPP,
		   hwpt_alloc_data(self->fd, self->idev_id, parent_id, 0,
				   IOMMU_HWPT_DATA_VTD_S1, &data,
				   sizeof(data), 0, &id));
	EXPECT_ERR(EINVAL,
		   hwpt_alloc_data(self->fd, self->idev_id, parent_id, 0,
				   IOMMU_HWPT_DATA_SELFTEST, &data,
				   sizeof(data) - 1, 0, &id));
	EXPECT_ERR(EINVAL,
		   hwpt_alloc_data(self->fd, self->idev_id, parent_id, 0,
				   IOMMU_HWPT_DATA_SELFTEST, &longer,
				   sizeof(longer), 0, &id));
	EXPECT_ERR(EFAULT,
		   hwpt_alloc_data(self->fd, self->idev_id, parent_id, 0,
				   IOMMU_HWPT_DATA_SELFTEST, NULL,
				   sizeof(data), 0, &id));
	/* and a fault queue that exists */
	EXPECT_ERR(ENOENT,
		   hwpt_alloc_mock_nested(self->fd, self->idev_id, parent_id,
					  IOMMU_HWPT_FAULT_ID_VALID,
					  UINT32_MAX, IOTLB_DEFAULT, &id));
	EXPECT_ERR(ENOENT,
		   hwpt_alloc_mock_nested(self->fd, self->idev_id, parent_id,
					  IOMMU_HWPT_FAULT_ID_VALID,
					  self->ioas_id, IOTLB_DEFAULT, &id));
	EXPECT_EQ(0, id);

	/* Nothing was left behind: each object goes at the first try */
	ASSERT_OK(close(fault_fd));
	EXPECT_OK(obj_destroy(self->fd, fault_id));
	EXPECT_OK(obj_destroy(self->fd, nested_id));
	EXPECT_OK(obj_destroy(self->fd, parent_id));
	EXPECT_OK(obj_destroy(self->fd, plain_id));
	EXPECT_OK(maps_buf(self, self->hwpt_id));
	EXPECT_OK(mock_check_pins(self->fd, self->buf, BUF_LEN, 1));
}

/*
 * A user paging HWPT is filled with the IOAS's mappings before it is
 * handed out, for a device attached anywhere, and the IOAS shrinks to what
 * the HWPT translates for as long as it lives.
 */
TEST_F(hwpt, alloc_paging_filled)
{
	static const __u32 flags[] = {
		0,
		IOMMU_HWPT_ALLOC_NEST_PARENT,
		IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
		IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
	};
	__u64 iova = BASE_IOVA + 3 * BUF_LEN, align;
	struct iommu_iova_range r;
	__u32 other, id, count;
	unsigned int i;

	ASSERT_OK(ioas_alloc(self->fd, &other));
	ASSERT_OK(ioas_map_at(self->fd, other, self->buf, BUF_LEN, iova));
	for (i = 0; i != ARRAY_SIZE(flags); i++) {
		ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, other, flags[i],
				     &id));
		EXPECT_OK(mock_check_map(self->fd, id, iova, self->buf,
					 BUF_LEN));
		EXPECT_OK(mock_check_pins(self->fd, self->buf, BUF_LEN, 2));
		ASSERT_OK(ioas_first_range(self->fd, other, &count, &r,
					   &align));
		EXPECT_EQ(1, count);
		EXPECT_EQ(MOCK_APERTURE_START, r.start);
		EXPECT_EQ(MOCK_APERTURE_LAST, r.last);
		EXPECT_EQ(mock_io_page, align);
		EXPECT_ERR(EBUSY, obj_destroy(self->fd, other));

		ASSERT_OK(obj_destroy(self->fd, id));
		EXPECT_OK(mock_check_pins(self->fd, self->buf, BUF_LEN, 1));
		ASSERT_OK(ioas_first_range(self->fd, other, &count, &r,
					   &align));
		EXPECT_EQ(1, count);
		EXPECT_EQ(0, r.start);
		EXPECT_EQ(UINT64_MAX, r.last);
		EXPECT_EQ(1, align);
	}

	/* With a mapping the domain could not translate it is refused */
	ASSERT_OK(ioas_map_at(self->fd, other, self->buf, page_size,
			      page_size));
	EXPECT_NE(0, hwpt_alloc(self->fd, self->idev_id, other, 0, &id));
	ASSERT_OK(ioas_first_range(self->fd, other, &count, &r, &align));
	EXPECT_EQ(0, r.start);
	EXPECT_EQ(1, align);
	EXPECT_OK(mock_check_pins(self->fd, self->buf, BUF_LEN, 1));
	EXPECT_OK(obj_destroy(self->fd, other));
}

/* Devices attach straight to user HWPTs, paging or nested */
TEST_F(hwpt, attach_to_user_hwpt)
{
	__u32 parent_id, nested_id, stdev[2], got;

	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_NEST_PARENT, &parent_id));
	ASSERT_OK(hwpt_alloc_mock_nested(self->fd, self->idev_id, parent_id,
					 0, 0, IOTLB_DEFAULT, &nested_id));
	ASSERT_OK(mock_domain(self->fd, parent_id, &stdev[0], &got, NULL));
	EXPECT_EQ(parent_id, got);
	ASSERT_OK(mock_domain(self->fd, nested_id, &stdev[1], &got, NULL));
	EXPECT_EQ(nested_id, got);
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, nested_id));

	/* Nested HWPTs cannot be the subject of MD_CHECK_MAP: not paging */
	EXPECT_ERR(ENOENT, maps_buf(self, nested_id));
	EXPECT_OK(maps_buf(self, parent_id));
	ASSERT_OK(obj_destroy(self->fd, stdev[1]));
	EXPECT_OK(obj_destroy(self->fd, nested_id));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, parent_id));
	ASSERT_OK(obj_destroy(self->fd, stdev[0]));
	EXPECT_OK(obj_destroy(self->fd, parent_id));
}

/*
 * Nested HWPTs start with every IOTLB entry at the value of their data,
 * and several may share a parent, which then cannot go.
 */
TEST_F(hwpt, nested_alloc)
{
	__u32 parent_id, nested[2], slot;

	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_NEST_PARENT, &parent_id));
	ASSERT_OK(hwpt_alloc_mock_nested(self->fd, self->idev_id, parent_id,
					 0, 0, IOTLB_DEFAULT, &nested[0]));
	ASSERT_OK(hwpt_alloc_mock_nested(self->fd, self->idev_id, parent_id,
					 0, 0, 0x5eed, &nested[1]));
	EXPECT_NE(nested[0], nested[1]);
	EXPECT_EQ(0, iotlb_zeroed(self->fd, nested[0]));
	for (slot = 0; slot != MOCK_NESTED_DOMAIN_IOTLB_NUM; slot++)
		EXPECT_OK(mock_check_iotlb(self->fd, nested[1], slot, 0x5eed));

	/* MD_CHECK_IOTLB itself refuses what it cannot check */
	EXPECT_ERR(EINVAL, mock_check_iotlb(self->fd, nested[0],
					    MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1,
					    IOTLB_DEFAULT));
	EXPECT_ERR(EINVAL, mock_check_iotlb(self->fd, nested[0], 0,
					    IOTLB_DEFAULT + 1));
	EXPECT_ERR(ENOENT, mock_check_iotlb(self->fd, parent_id, 0,
					    IOTLB_DEFAULT));
	EXPECT_ERR(ENOENT, mock_check_iotlb(self->fd, self->ioas_id, 0,
					    IOTLB_DEFAULT));

	EXPECT_ERR(EBUSY, obj_destroy(self->fd, parent_id));
	ASSERT_OK(obj_destroy(self->fd, nested[0]));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, parent_id));
	ASSERT_OK(obj_destroy(self->fd, nested[1]));
	EXPECT_OK(obj_destroy(self->fd, parent_id));
}

/*
 * A nesting parent belongs to the IOMMU driver that made it: a device
 * behind another IOMMU (the second mock, MOCK_FLAGS_DEVICE_FOREIGN) cannot
 * have a nested HWPT on it, as its driver would take the parent for one of
 * its own domains. On a parent of its own driver it can.
 */
TEST_F(hwpt, nested_parent_of_another_driver)
{
	__u32 parent_id, foreign_parent_id, nested_id;
	__u32 stdev_id, foreign_idev_id, auto_id;

	/* Not even the IOAS's automatic domain is shared across drivers */
	ASSERT_OK(mock_domain_flags(self->fd, self->ioas_id,
				    MOCK_FLAGS_DEVICE_FOREIGN, &stdev_id,
				    &auto_id, &foreign_idev_id));
	EXPECT_NE(self->hwpt_id, auto_id);
	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_NEST_PARENT, &parent_id));
	ASSERT_OK(hwpt_alloc(self->fd, foreign_idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_NEST_PARENT, &foreign_parent_id));

	EXPECT_ERR(EINVAL, hwpt_alloc_mock_nested(self->fd, foreign_idev_id,
						  parent_id, 0, 0,
						  IOTLB_DEFAULT, &nested_id));
	EXPECT_ERR(EINVAL, hwpt_alloc_mock_nested(self->fd, self->idev_id,
						  foreign_parent_id, 0, 0,
						  IOTLB_DEFAULT, &nested_id));
	/* Nothing was made: the parents are free to go */
	EXPECT_OK(obj_destroy(self->fd, parent_id));

	ASSERT_OK(hwpt_alloc_mock_nested(self->fd, foreign_idev_id,
					 foreign_parent_id, 0, 0,
					 IOTLB_DEFAULT, &nested_id));
	EXPECT_OK(obj_destroy(self->fd, nested_id));
	EXPECT_OK(obj_destroy(self->fd, foreign_parent_id));
	EXPECT_OK(obj_destroy(self->fd, stdev_id));
}

/*
 * IOMMU_HWPT_INVALIDATE argument errors: nothing is done, and entry_num
 * comes back as 0 every time.
 */
TEST_F(hwpt, invalidate_errors)
{
	const __u32 vtd_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1;
	struct iommu_hwpt_invalidate_selftest inv[2] = {};
	__u32 sz = sizeof(inv[0]), parent_id, nested_id, num;

	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_NEST_PARENT, &parent_id));
	ASSERT_OK(hwpt_alloc_mock_nested(self->fd, self->idev_id, parent_id,
					 0, 0, IOTLB_DEFAULT, &nested_id));

	num = 1;
	EXPECT_ERR(EINVAL, hwpt_invalidate_entries(self->fd, nested_id,
						   INV_TYPE, NULL, sz, &num));
	EXPECT_EQ(0, num);
	num = 1;
	EXPECT_ERR(EINVAL, hwpt_invalidate_entries(self->fd, nested_id,
						   INV_TYPE, inv, 0, &num));
	EXPECT_EQ(0, num);
	num = 1;
	EXPECT_ERR(EINVAL, hwpt_invalidate_entries(self->fd, nested_id,
						   INV_TYPE, inv,
						   page_size + 1, &num));
	EXPECT_EQ(0, num);
	num = (1U << 19) + 1;
	EXPECT_ERR(EINVAL, hwpt_invalidate_entries(self->fd, nested_id,
						   INV_TYPE, inv, sz, &num));
	EXPECT_EQ(0, num);

	/* The mock takes exactly its own struct, of its own type */
	num = 1;
	EXPECT_ERR(EINVAL, hwpt_invalidate_entries(self->fd, nested_id,
						   INV_TYPE, inv, 1, &num));
	EXPECT_EQ(0, num);
	num = 1;
	EXPECT_ERR(EINVAL, hwpt_invalidate_entries(self->fd, nested_id,
						   INV_TYPE, inv, sz - 1,
						   &num));
	EXPECT_EQ(0, num);
	num = 1;
	EXPECT_ERR(EINVAL, hwpt_invalidate_entries(self->fd, nested_id,
						   INV_TYPE, inv, sz + 1,
						   &num));
	EXPECT_EQ(0, num);
	num = 1;
	EXPECT_ERR(EINVAL, hwpt_invalidate_entries(self->fd, nested_id,
						   INV_TYPE, inv, 2 * sz,
						   &num));
	EXPECT_EQ(0, num);
	num = 2;
	EXPECT_ERR(EINVAL, hwpt_invalidate_entries(self->fd, nested_id,
						   INV_TYPE_BAD, inv, sz,
						   &num));
	EXPECT_EQ(0, num);
	num = 2;
	EXPECT_ERR(EINVAL, hwpt_invalidate_entries(self->fd, nested_id,
						   vtd_type, inv, sz, &num));
	EXPECT_EQ(0, num);

	/* Only a nested HWPT takes invalidations */
	num = 2;
	EXPECT_ERR(ENOENT, hwpt_invalidate_entries(self->fd, parent_id,
						   INV_TYPE, inv, sz, &num));
	EXPECT_EQ(0, num);
	num = 2;
	EXPECT_ERR(ENOENT, hwpt_invalidate_entries(self->fd, self->hwpt_id,
						   INV_TYPE, inv, sz, &num));
	EXPECT_EQ(0, num);
	num = 2;
	EXPECT_ERR(ENOENT, hwpt_invalidate_entries(self->fd, self->ioas_id,
						   INV_TYPE, inv, sz, &num));
	EXPECT_EQ(0, num);
	num = 2;
	EXPECT_ERR(ENOENT, hwpt_invalidate_entries(self->fd, self->idev_id,
						   INV_TYPE, inv, sz, &num));
	EXPECT_EQ(0, num);
	EXPECT_EQ(0, iotlb_zeroed(self->fd, nested_id));
}

/*
 * No entries: nothing is read or done, which makes it the way to ask
 * whether a data type is supported.
 */
TEST_F(hwpt, invalidate_zero_entries)
{
	__u32 parent_id, nested_id, num;

	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_NEST_PARENT, &parent_id));
	ASSERT_OK(hwpt_alloc_mock_nested(self->fd, self->idev_id, parent_id,
					 0, 0, IOTLB_DEFAULT, &nested_id));
	num = 0;
	EXPECT_OK(hwpt_invalidate_entries(self->fd, nested_id, INV_TYPE,
					  NULL, 0, &num));
	EXPECT_EQ(0, num);
	EXPECT_OK(hwpt_invalidate_entries(self->fd, nested_id, INV_TYPE,
					  (void *)1, 3, &num));
	EXPECT_EQ(0, num);
	EXPECT_EQ(0, iotlb_zeroed(self->fd, nested_id));

	/* An unsupported type is still unsupported */
	EXPECT_NE(0, hwpt_invalidate_entries(self->fd, nested_id,
					     INV_TYPE_BAD, NULL, 0, &num));
	EXPECT_EQ(0, num);
}

/*
 * Entries run in array order and the call stops at the first that fails;
 * entry_num tells how many were carried out, and their effect stays.
 */
TEST_F(hwpt, invalidate_in_order)
{
	const __u32 max = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX;
	struct iommu_hwpt_invalidate_selftest inv[3] = {};
	__u32 sz = sizeof(inv[0]), parent_id, nested[3], num, i;

	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_NEST_PARENT, &parent_id));
	for (i = 0; i != 3; i++)
		ASSERT_OK(hwpt_alloc_mock_nested(self->fd, self->idev_id,
						 parent_id, 0, 0,
						 IOTLB_DEFAULT, &nested[i]));

	/* A good entry, then one with unknown flags */
	inv[0].iotlb_id = 0;
	inv[1].flags = 1U << 1;
	inv[1].iotlb_id = 1;
	num = 2;
	EXPECT_ERR(EOPNOTSUPP, hwpt_invalidate_entries(self->fd, nested[0],
						       INV_TYPE, inv, sz,
						       &num));
	EXPECT_EQ(1, num);
	EXPECT_EQ(0x1, iotlb_zeroed(self->fd, nested[0]));

	/* A good entry, a bad entry, and one never reached */
	memset(inv, 0, sizeof(inv));
	inv[0].iotlb_id = 1;
	inv[1].iotlb_id = max + 1;
	inv[2].iotlb_id = 2;
	num = 3;
	EXPECT_ERR(EINVAL, hwpt_invalidate_entries(self->fd, nested[0],
						   INV_TYPE, inv, sz, &num));
	EXPECT_EQ(1, num);
	EXPECT_EQ(0x3, iotlb_zeroed(self->fd, nested[0]));

	/* All good */
	inv[0].iotlb_id = 2;
	inv[1].iotlb_id = max;
	num = 2;
	EXPECT_OK(hwpt_invalidate_entries(self->fd, nested[0], INV_TYPE, inv,
					  sz, &num));
	EXPECT_EQ(2, num);
	EXPECT_EQ(0xf, iotlb_zeroed(self->fd, nested[0]));
	/* The others were not touched */
	EXPECT_EQ(0, iotlb_zeroed(self->fd, nested[1]));
	EXPECT_EQ(0, iotlb_zeroed(self->fd, nested[2]));

	/* FLAG_ALL resets every entry; iotlb_id is not looked at then */
	memset(inv, 0, sizeof(inv));
	inv[0].flags = IOMMU_TEST_INVALIDATE_FLAG_ALL;
	num = 1;
	EXPECT_OK(hwpt_invalidate_entries(self->fd, nested[1], INV_TYPE, inv,
					  sz, &num));
	EXPECT_EQ(1, num);
	EXPECT_EQ(0xf, iotlb_zeroed(self->fd, nested[1]));
	inv[0].iotlb_id = max + 7;
	num = 1;
	EXPECT_OK(hwpt_invalidate_entries(self->fd, nested[2], INV_TYPE, inv,
					  sz, &num));
	EXPECT_EQ(1, num);
	EXPECT_EQ(0xf, iotlb_zeroed(self->fd, nested[2]));
}

/* An entry the kernel cannot read stops the array like a bad one */
TEST_F(hwpt, invalidate_unreadable_entry)
{
	struct iommu_hwpt_invalidate_selftest *inv;
	__u32 sz = sizeof(*inv), parent_id, nested_id, num;
	char *pages;

	pages = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, pages);
	ASSERT_OK(mprotect(pages + page_size, page_size, PROT_NONE));
	inv = (void *)(pages + page_size - sz);
	inv->flags = 0;
	inv->iotlb_id = 3;

	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_NEST_PARENT, &parent_id));
	ASSERT_OK(hwpt_alloc_mock_nested(self->fd, self->idev_id, parent_id,
					 0, 0, IOTLB_DEFAULT, &nested_id));
	num = 2;
	EXPECT_ERR(EFAULT, hwpt_invalidate_entries(self->fd, nested_id,
						   INV_TYPE, inv, sz, &num));
	EXPECT_EQ(1, num);
	EXPECT_EQ(0x8, iotlb_zeroed(self->fd, nested_id));
	munmap(pages, 2 * page_size);
}

/* What IOMMU_GET_HW_INFO reports; out members are preset to junk */
static int query_hw_info(int fd, __u32 dev_id, __u32 flags, __u32 in_type,
			 void *data, __u32 len, struct iommu_hw_info *out)
{
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dev_id = dev_id,
		.data_len = len,
		.data_uptr = (__u64)(unsigned long)data,
		.in_data_type = in_type,
		.out_max_pasid_log2 = 0xee,
		.out_capabilities = ~0ULL,
	};
	int rc = ifd_ioctl(fd, IOMMU_GET_HW_INFO, &cmd);

	*out = cmd;
	return rc;
}

/* True if the @len bytes at @p all equal @c */
static bool bytes_are(const void *p, int c, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i != len; i++)
		if (b[i] != (unsigned char)c)
			return false;
	return true;
}

/* The mock's default answer, and a type asked for without the flag */
TEST_F(hwpt, hw_info_default)
{
	union {
		struct iommu_test_hw_info info;
		char raw[64];
	} data;
	struct iommu_hw_info out;
	__u32 in_type;

	for (in_type = 0; in_type != 3; in_type++) {
		memset(&data, 0xcc, sizeof(data));
		ASSERT_OK(query_hw_info(self->fd, self->idev_id, 0,
					in_type ? 0x1234 * in_type : 0,
					&data, sizeof(data.info), &out));
		EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, out.out_data_type);
		EXPECT_EQ(sizeof(data.info), out.data_len);
		EXPECT_EQ(0, data.info.flags);
		EXPECT_EQ(IOMMU_HW_INFO_SELFTEST_REGVAL, data.info.test_reg);
		EXPECT_TRUE(bytes_are(data.raw + sizeof(data.info), 0xcc,
				      sizeof(data) - sizeof(data.info)));
		EXPECT_EQ(IOMMU_HW_CAP_DIRTY_TRACKING, out.out_capabilities);
		EXPECT_EQ(0, out.out_max_pasid_log2);
	}
}

/*
 * IOMMU_HW_INFO_FLAG_INPUT_TYPE: the driver's type or the default work,
 * another type fails and writes nothing, neither buffer nor struct.
 */
TEST_F(hwpt, hw_info_input_type)
{
	static const __u32 bad[] = {
		IOMMU_HW_INFO_TYPE_SELFTEST + 1,
		IOMMU_HW_INFO_TYPE_INTEL_VTD,
		0xffffffff,
	};
	struct iommu_test_hw_info data;
	struct iommu_hw_info out;
	unsigned int i;

	memset(&data, 0xcc, sizeof(data));
	ASSERT_OK(query_hw_info(self->fd, self->idev_id,
				IOMMU_HW_INFO_FLAG_INPUT_TYPE,
				IOMMU_HW_INFO_TYPE_SELFTEST, &data,
				sizeof(data), &out));
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, out.out_data_type);
	EXPECT_EQ(IOMMU_HW_INFO_SELFTEST_REGVAL, data.test_reg);

	memset(&data, 0xcc, sizeof(data));
	ASSERT_OK(query_hw_info(self->fd, self->idev_id,
				IOMMU_HW_INFO_FLAG_INPUT_TYPE,
				IOMMU_HW_INFO_TYPE_DEFAULT, &data,
				sizeof(data), &out));
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, out.out_data_type);
	EXPECT_EQ(IOMMU_HW_INFO_SELFTEST_REGVAL, data.test_reg);

	for (i = 0; i != ARRAY_SIZE(bad); i++) {
		memset(&data, 0xcc, sizeof(data));
		EXPECT_ERR(EOPNOTSUPP,
			   query_hw_info(self->fd, self->idev_id,
					 IOMMU_HW_INFO_FLAG_INPUT_TYPE, bad[i],
					 &data, sizeof(data), &out));
		EXPECT_TRUE(bytes_are(&data, 0xcc, sizeof(data)));
		EXPECT_EQ(sizeof(data), out.data_len);
		EXPECT_EQ(bad[i], out.in_data_type);
		EXPECT_EQ(~0ULL, out.out_capabilities);
		EXPECT_EQ(0xee, out.out_max_pasid_log2);
	}
}

/*
 * Any buffer length: the data is cut short or followed by zeroes up to
 * data_len, nothing past it is touched, and data_len comes back as the
 * size of the driver's data.
 */
TEST_F(hwpt, hw_info_buffer_sizes)
{
	const size_t full = sizeof(struct iommu_test_hw_info);
	struct iommu_test_hw_info want = {
		.test_reg = IOMMU_HW_INFO_SELFTEST_REGVAL,
	};
	struct iommu_hw_info out;
	unsigned char buf[96];
	__u32 len;

	for (len = 0; len <= 80; len++) {
		size_t n = len < full ? len : full;

		memset(buf, 0xcc, sizeof(buf));
		ASSERT_OK(query_hw_info(self->fd, self->idev_id, 0, 0, buf,
					len, &out));
		EXPECT_EQ(full, out.data_len);
		EXPECT_EQ(0, memcmp(buf, &want, n));
		if (len > full)
			EXPECT_TRUE(bytes_are(buf + full, 0, len - full));
		EXPECT_TRUE(bytes_are(buf + len, 0xcc, sizeof(buf) - len));
		EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, out.out_data_type);
	}

	/* A length of 0 needs no buffer; any other length does */
	ASSERT_OK(query_hw_info(self->fd, self->idev_id, 0, 0, NULL, 0, &out));
	EXPECT_EQ(full, out.data_len);
	EXPECT_ERR(EFAULT, query_hw_info(self->fd, self->idev_id, 0, 0, NULL,
					 full, &out));
}

/* Capabilities and PASID width follow the device's flags */
TEST_F(hwpt, hw_info_capabilities)
{
	static const struct {
		__u32 dev_flags;
		__u64 caps;
		__u8 pasid_log2;
	} devs[] = {
		{ 0, IOMMU_HW_CAP_DIRTY_TRACKING, 0 },
		{ MOCK_FLAGS_DEVICE_NO_DIRTY, 0, 0 },
		{ MOCK_FLAGS_DEVICE_HUGE_IOVA, IOMMU_HW_CAP_DIRTY_TRACKING, 0 },
		{ MOCK_FLAGS_DEVICE_PASID, IOMMU_HW_CAP_DIRTY_TRACKING,
		  MOCK_PASID_WIDTH },
		{ MOCK_FLAGS_DEVICE_PASID | MOCK_FLAGS_DEVICE_NO_DIRTY, 0,
		  MOCK_PASID_WIDTH },
	};
	struct iommu_test_hw_info data;
	struct iommu_hw_info out;
	__u32 stdev_id, idev_id;
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(devs); i++) {
		ASSERT_OK(mock_domain_flags(self->fd, self->ioas_id,
					    devs[i].dev_flags, &stdev_id, NULL,
					    &idev_id));
		ASSERT_OK(query_hw_info(self->fd, idev_id, 0, 0, &data,
					sizeof(data), &out));
		/* Mock devices are no PCI devices: no PCI PASID bits */
		EXPECT_EQ(devs[i].caps, out.out_capabilities);
		EXPECT_EQ(devs[i].pasid_log2, out.out_max_pasid_log2);
		EXPECT_EQ(IOMMU_HW_INFO_SELFTEST_REGVAL, data.test_reg);
		ASSERT_OK(obj_destroy(self->fd, stdev_id));
		EXPECT_ERR(ENOENT, query_hw_info(self->fd, idev_id, 0, 0,
						 &data, sizeof(data), &out));
	}
}

/*
 * Dirty tracking needs a HWPT allocated for it, and devices that can do
 * it. Nested HWPTs have no dirty state of their own.
 */
TEST_F(hwpt, dirty_needs_capable_hwpt)
{
	__u64 bitmap[4] = {};
	__u32 dirty_id, nested_id, nd_ioas, nd_stdev, got;

	EXPECT_ERR(EOPNOTSUPP, hwpt_set_dirty(self->fd, self->hwpt_id, true));
	EXPECT_ERR(EOPNOTSUPP, hwpt_set_dirty(self->fd, self->hwpt_id,
					      false));
	EXPECT_ERR(EOPNOTSUPP, hwpt_get_dirty(self->fd, self->hwpt_id,
					      BASE_IOVA, BUF_LEN, page_size,
					      bitmap, 0));

	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
			     IOMMU_HWPT_ALLOC_NEST_PARENT, &dirty_id));
	ASSERT_OK(hwpt_alloc_mock_nested(self->fd, self->idev_id, dirty_id,
					 0, 0, IOTLB_DEFAULT, &nested_id));
	EXPECT_ERR(ENOENT, hwpt_set_dirty(self->fd, nested_id, true));
	EXPECT_ERR(ENOENT, hwpt_get_dirty(self->fd, nested_id, BASE_IOVA,
					  BUF_LEN, page_size, bitmap, 0));
	EXPECT_ERR(ENOENT, hwpt_set_dirty(self->fd, self->ioas_id, true));
	EXPECT_ERR(ENOENT, hwpt_set_dirty(self->fd, self->idev_id, true));
	EXPECT_OK(hwpt_set_dirty(self->fd, dirty_id, true));
	EXPECT_OK(hwpt_get_dirty(self->fd, dirty_id, BASE_IOVA, BUF_LEN,
				 page_size, bitmap, 0));
	EXPECT_EQ(0, bitmap[0]);
	EXPECT_OK(hwpt_set_dirty(self->fd, dirty_id, false));

	/* A device without the capability cannot attach to it */
	EXPECT_ERR(EINVAL, mock_domain_flags(self->fd, dirty_id,
					     MOCK_FLAGS_DEVICE_NO_DIRTY, NULL,
					     NULL, NULL));
	ASSERT_OK(ioas_alloc(self->fd, &nd_ioas));
	ASSERT_OK(mock_domain_flags(self->fd, nd_ioas,
				    MOCK_FLAGS_DEVICE_NO_DIRTY, &nd_stdev,
				    NULL, NULL));
	EXPECT_ERR(EINVAL, mock_replace(self->fd, nd_stdev, dirty_id, &got));
	/* A capable one can, to the parent and to the nested HWPT */
	ASSERT_OK(mock_replace(self->fd, self->stdev_id, dirty_id, &got));
	ASSERT_OK(mock_replace(self->fd, self->stdev_id, nested_id, &got));
	ASSERT_OK(mock_replace(self->fd, self->stdev_id, self->ioas_id,
			       &got));
	ASSERT_OK(obj_destroy(self->fd, nested_id));
	/* Those refusals left no attachment behind */
	EXPECT_OK(obj_destroy(self->fd, dirty_id));
}

/* Each dirty-tracking HWPT has its own dirty state and its own switch */
TEST_F(hwpt, dirty_state_per_hwpt)
{
	__u64 one = 1, nr = 0, got[2] = {};
	__u32 a, b;

	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &a));
	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &b));
	ASSERT_OK(hwpt_set_dirty(self->fd, a, true));
	ASSERT_OK(hwpt_set_dirty(self->fd, b, true));
	ASSERT_OK(mock_dirty_mark(self->fd, a, BASE_IOVA + mock_io_page,
				  mock_io_page, mock_io_page, &one, &nr));
	EXPECT_EQ(1, nr);
	ASSERT_OK(hwpt_get_dirty(self->fd, a, BASE_IOVA, BUF_LEN, mock_io_page,
				 &got[0], IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	ASSERT_OK(hwpt_get_dirty(self->fd, b, BASE_IOVA, BUF_LEN, mock_io_page,
				 &got[1], IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	EXPECT_EQ(2, got[0]);
	EXPECT_EQ(0, got[1]);

	/* Off for one, still on for the other */
	ASSERT_OK(hwpt_set_dirty(self->fd, b, false));
	EXPECT_ERR(EINVAL, mock_dirty_mark(self->fd, b, BASE_IOVA,
					   mock_io_page, mock_io_page, &one,
					   &nr));
	EXPECT_OK(mock_dirty_mark(self->fd, a, BASE_IOVA, mock_io_page,
				  mock_io_page, &one, &nr));
	got[0] = 0;
	ASSERT_OK(hwpt_get_dirty(self->fd, a, BASE_IOVA, BUF_LEN, mock_io_page,
				 &got[0], 0));
	EXPECT_EQ(3, got[0]);
	EXPECT_OK(obj_destroy(self->fd, a));
	EXPECT_OK(obj_destroy(self->fd, b));
}

/*
 * Dirty tracking on a user HWPT allocated with
 * IOMMU_HWPT_ALLOC_DIRTY_TRACKING over the whole buffer, with the fixture's
 * device attached to it. IOMMU_TEST_OP_DIRTY plays the device writing to
 * IO pages; the test keeps a model of which IOPTEs that made dirty, and
 * compares every bitmap IOMMU_HWPT_GET_DIRTY_BITMAP returns with it. With
 * hugetlb memory and a MOCK_FLAGS_DEVICE_HUGE_IOVA device the HWPT maps
 * 1 MiB IOPTEs, which are dirty as a whole: one written IO page makes all
 * 1 MiB of it dirty.
 */
#define GUARD 0x5a

FIXTURE(dirty)
{
	int fd;
	__u32 ioas_id;
	__u32 stdev_id;
	__u32 idev_id;
	__u32 hwpt_id;		/* the dirty-tracking HWPT */
	char *buf;
	size_t len;
	size_t unit;		/* size of the IOPTEs mapping the buffer */
	unsigned long npages;	/* IO pages in the buffer */
	unsigned long nunits;	/* IOPTEs in the buffer */
	bool *unit_dirty;	/* the model: which IOPTEs are dirty */
	__u64 *marks;		/* IOMMU_TEST_OP_DIRTY's bitmap, per IO page */
	char *area;		/* room for a bitmap, with guard bytes */
	size_t area_len;
};

FIXTURE_VARIANT(dirty)
{
	size_t len;
	bool hugetlb;
};

FIXTURE_VARIANT_ADD(dirty, buf_8k)
{
	.len = 8UL << 10,
};

FIXTURE_VARIANT_ADD(dirty, buf_64k)
{
	.len = 64UL << 10,
};

FIXTURE_VARIANT_ADD(dirty, buf_2m)
{
	.len = 2UL << 20,
};

/* 24576 IO pages: a 3 KiB bitmap, across a page at the odd offsets */
FIXTURE_VARIANT_ADD(dirty, buf_48m)
{
	.len = 48UL << 20,
};

FIXTURE_VARIANT_ADD(dirty, hugetlb_4m)
{
	.len = 4UL << 20,
	.hugetlb = true,
};

FIXTURE_VARIANT_ADD(dirty, hugetlb_32m)
{
	.len = 32UL << 20,
	.hugetlb = true,
};

FIXTURE_SETUP(dirty)
{
	size_t mark_bytes;

	ASSERT_MOCK();
	/*
	 * At least two pages, so that a quarter of the buffer is whole IO
	 * pages: the small variants grow on a kernel with 64 KiB pages
	 */
	self->len = variant->len;
	if (self->len < 2 * page_size)
		self->len = 2 * page_size;
	if (variant->hugetlb) {
		/*
		 * The huge IOPTE is 512 IO pages: 1 MiB with 4 KiB CPU pages,
		 * but 16 MiB with 64 KiB ones, where no hugetlb size (2 MiB,
		 * 512 MiB) is sure to give that much physically contiguous
		 * and aligned memory: whether the mock could use it would be
		 * luck.
		 */
		if (meminfo_kib("Hugepagesize") * 1024 < (long)MOCK_HUGE_IOPTE)
			SKIP(return, "huge pages are smaller than the huge IOPTE");
		self->buf = mmap(NULL, self->len, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB |
				 MAP_POPULATE, -1, 0);
		if (self->buf == MAP_FAILED)
			SKIP(return, "no %zu MiB of hugetlb pages free",
			     self->len >> 20);
		self->unit = MOCK_HUGE_IOPTE;
	} else {
		self->buf = alloc_shared(self->len, HUGE_2M);
		ASSERT_NE(MAP_FAILED, self->buf);
		memset(self->buf, 0x11, self->len);
		self->unit = mock_io_page;
	}
	self->npages = self->len / mock_io_page;
	self->nunits = self->len / self->unit;
	self->unit_dirty = calloc(self->nunits, sizeof(bool));
	ASSERT_NE(NULL, self->unit_dirty);
	mark_bytes = (self->npages + 63) / 64 * sizeof(__u64);
	self->marks = calloc(1, mark_bytes);
	ASSERT_NE(NULL, self->marks);
	/* The finest bitmap read is 1 KiB per bit, at up to a page in */
	self->area_len = (self->len / 1024 / 8 / page_size + 3) * page_size;
	self->area = mmap(NULL, self->area_len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->area);

	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_OK(ioas_alloc(self->fd, &self->ioas_id));
	ASSERT_OK(mock_domain_flags(self->fd, self->ioas_id,
				    variant->hugetlb ?
					    MOCK_FLAGS_DEVICE_HUGE_IOVA : 0,
				    &self->stdev_id, NULL, &self->idev_id));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, self->len,
			      BASE_IOVA));
	/* Filled from the mapping: with 1 MiB IOPTEs where it can */
	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &self->hwpt_id));
	ASSERT_OK(mock_replace(self->fd, self->stdev_id, self->hwpt_id, NULL));
}

FIXTURE_TEARDOWN(dirty)
{
	TEARDOWN_CLOSE_UNPINNED(self->fd, self->buf, self->len);
	munmap(self->area, self->area_len);
	free(self->marks);
	free(self->unit_dirty);
	munmap(self->buf, self->len);
}

/*
 * The IO pages the "device" writes to: in two IOPTEs of every three, one
 * IO page, at an offset that changes from IOPTE to IOPTE.
 */
static bool dirty_pattern(struct _test_data_dirty *self, unsigned long i)
{
	unsigned long per = self->unit / mock_io_page;
	unsigned long u = i / per;

	return u % 3 != 1 && i % per == (u * 7) % per;
}

/*
 * Write to every IO page dirty_pattern() picks. Returns 0 when the mock
 * counted them all, a positive difference when it did not, or -errno.
 */
static long dirty_write(struct _test_data_dirty *self)
{
	unsigned long i, count = 0;
	__u64 nr = 0;
	int rc;

	memset(self->marks, 0, (self->npages + 63) / 64 * sizeof(__u64));
	for (i = 0; i != self->npages; i++) {
		if (!dirty_pattern(self, i))
			continue;
		self->marks[i / 64] |= 1ULL << (i % 64);
		count++;
	}
	rc = mock_dirty_mark(self->fd, self->hwpt_id, BASE_IOVA, self->len,
			     mock_io_page, self->marks, &nr);
	if (rc)
		return rc;
	for (i = 0; i != self->npages; i++)
		if (dirty_pattern(self, i))
			self->unit_dirty[i * mock_io_page / self->unit] = true;
	return labs((long)(nr - count));
}

/* Does the model say some byte of [first, last] (buffer offsets) is dirty? */
static bool model_dirty(struct _test_data_dirty *self, __u64 first,
			__u64 last)
{
	__u64 u;

	for (u = first / self->unit; u <= last / self->unit; u++)
		if (self->unit_dirty[u])
			return true;
	return false;
}

/*
 * Read the dirty bits of [@off, @off + @length) of the buffer, @pgsize
 * bytes per bit, into a bitmap @shift bytes into the guarded area, and
 * compare it with the model. Returns how many bits and guard bytes were
 * wrong (0: all good), or -errno if the read failed. A clearing read then
 * clears the model for the IOPTEs inside the range.
 */
static long dirty_read(struct _test_data_dirty *self, __u64 off,
		       __u64 length, __u64 pgsize, size_t shift, __u32 flags)
{
	unsigned long nbits = length / pgsize, nbytes = (nbits + 7) / 8, k;
	unsigned char *bitmap = (unsigned char *)self->area + shift;
	long wrong = 0;
	__u64 u;
	int rc;

	memset(self->area, GUARD, self->area_len);
	memset(bitmap, 0, nbytes);
	rc = hwpt_get_dirty(self->fd, self->hwpt_id, BASE_IOVA + off, length,
			    pgsize, bitmap, flags);
	if (rc)
		return rc;

	for (k = 0; k != nbytes * 8; k++) {
		bool got = bitmap[k / 8] & (1 << (k % 8));
		bool want = k < nbits &&
			    model_dirty(self, off + k * pgsize,
					off + (k + 1) * pgsize - 1);

		if (got != want && !wrong)
			fprintf(stderr, "# first wrong bit: %lu of %lu\n", k,
				nbits);
		wrong += got != want;
	}
	wrong += !bytes_are(self->area, GUARD, shift);
	wrong += !bytes_are(bitmap + nbytes, GUARD,
			    self->area_len - shift - nbytes);

	if (!(flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR)) {
		for (u = 0; u != self->nunits; u++)
			if (u * self->unit >= off &&
			    (u + 1) * self->unit <= off + length)
				self->unit_dirty[u] = false;
	}
	return wrong;
}

/* Forget the model: what enabling tracking does to the real state */
static void model_clear(struct _test_data_dirty *self)
{
	memset(self->unit_dirty, 0, self->nunits * sizeof(bool));
}

/* Turning tracking on and off; nothing is recorded or read while off */
TEST_F(dirty, tracking_on_off)
{
	EXPECT_OK(hwpt_set_dirty(self->fd, self->hwpt_id, false));
	EXPECT_OK(hwpt_set_dirty(self->fd, self->hwpt_id, false));
	EXPECT_ERR(EINVAL, dirty_write(self));
	EXPECT_ERR(EINVAL, dirty_read(self, 0, self->len, mock_io_page, 0,
				      0));
	model_clear(self);

	EXPECT_OK(hwpt_set_dirty(self->fd, self->hwpt_id, true));
	EXPECT_OK(hwpt_set_dirty(self->fd, self->hwpt_id, true));
	EXPECT_EQ(0, dirty_read(self, 0, self->len, mock_io_page, 0, 0));
	EXPECT_EQ(0, dirty_write(self));

	/* Turning it on again starts from a clean state */
	EXPECT_OK(hwpt_set_dirty(self->fd, self->hwpt_id, false));
	EXPECT_OK(hwpt_set_dirty(self->fd, self->hwpt_id, true));
	model_clear(self);
	EXPECT_EQ(0, dirty_read(self, 0, self->len, mock_io_page, 0,
				IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	EXPECT_OK(hwpt_set_dirty(self->fd, self->hwpt_id, false));
}

/*
 * Read and clear, with the bitmap at several byte offsets, even odd ones:
 * exactly the dirty IOPTEs show, and a second read finds nothing.
 */
TEST_F(dirty, read_and_clear)
{
	static const size_t shifts[] = { 0, 1, 2048, 4081 };
	unsigned int i;

	ASSERT_OK(hwpt_set_dirty(self->fd, self->hwpt_id, true));
	for (i = 0; i != ARRAY_SIZE(shifts); i++) {
		ASSERT_EQ(0, dirty_write(self));
		EXPECT_EQ(0, dirty_read(self, 0, self->len, mock_io_page,
					shifts[i], 0));
		EXPECT_EQ(0, dirty_read(self, 0, self->len, mock_io_page,
					shifts[i], 0));
	}
}

/* IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR reads and leaves the state alone */
TEST_F(dirty, read_no_clear)
{
	static const size_t shifts[] = { 0, 1, 2048, 4081 };
	unsigned int i;

	ASSERT_OK(hwpt_set_dirty(self->fd, self->hwpt_id, true));
	ASSERT_EQ(0, dirty_write(self));
	for (i = 0; i != ARRAY_SIZE(shifts); i++)
		EXPECT_EQ(0, dirty_read(self, 0, self->len, mock_io_page,
					shifts[i],
					IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	/* Writing again to dirty IOPTEs counts, and changes nothing */
	ASSERT_EQ(0, dirty_write(self));
	EXPECT_EQ(0, dirty_read(self, 0, self->len, mock_io_page, 4081, 0));
	EXPECT_EQ(0, dirty_read(self, 0, self->len, mock_io_page, 1, 0));
}

/* Bits coarser and finer than the IO page; the IOVA is 16 MiB aligned */
TEST_F(dirty, page_sizes)
{
	const __u64 sizes[] = {
		mock_io_page / 2, 2 * mock_io_page, 16 * page_size,
		MOCK_HUGE_IOPTE, 2 * MOCK_HUGE_IOPTE, BASE_IOVA, self->len,
	};
	unsigned int i;

	ASSERT_OK(hwpt_set_dirty(self->fd, self->hwpt_id, true));
	ASSERT_EQ(0, dirty_write(self));
	for (i = 0; i != ARRAY_SIZE(sizes); i++) {
		/* A power of two that divides the range and its IOVA */
		if (sizes[i] & (sizes[i] - 1) || self->len % sizes[i] ||
		    BASE_IOVA % sizes[i])
			continue;
		EXPECT_EQ(0, dirty_read(self, 0, self->len, sizes[i], 1,
					IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	}
	EXPECT_EQ(0, dirty_read(self, 0, self->len, 2 * mock_io_page, 2048,
				0));
	EXPECT_EQ(0, dirty_read(self, 0, self->len, mock_io_page / 2, 0, 0));
}

/* A read of part of the range clears that part only */
TEST_F(dirty, read_part)
{
	__u64 quarter = self->len / 4;

	ASSERT_OK(hwpt_set_dirty(self->fd, self->hwpt_id, true));
	ASSERT_EQ(0, dirty_write(self));
	EXPECT_EQ(0, dirty_read(self, quarter, 2 * quarter, mock_io_page, 1,
				0));
	EXPECT_EQ(0, dirty_read(self, 0, self->len, mock_io_page, 0,
				IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	EXPECT_EQ(0, dirty_read(self, 0, quarter, mock_io_page, 2048, 0));
	EXPECT_EQ(0, dirty_read(self, 0, self->len, mock_io_page, 0, 0));
}

/*
 * One written IO page makes its whole 1 MiB IOPTE dirty, and reading half
 * of that IOPTE must not lose the other half.
 */
TEST_F(dirty, huge_iopte)
{
	unsigned long per = MOCK_HUGE_IOPTE / mock_io_page, k;
	unsigned char *bitmap = (unsigned char *)self->area;
	__u64 nr = 0;

	if (!variant->hugetlb)
		SKIP(return, "the buffer is mapped with IO-page IOPTEs");
	ASSERT_OK(hwpt_set_dirty(self->fd, self->hwpt_id, true));

	/* One IO page in the second IOPTE */
	memset(self->marks, 0, sizeof(__u64));
	self->marks[0] = 1;
	ASSERT_OK(mock_dirty_mark(self->fd, self->hwpt_id,
				  BASE_IOVA + MOCK_HUGE_IOPTE + 5 * mock_io_page,
				  mock_io_page, mock_io_page, self->marks,
				  &nr));
	EXPECT_EQ(1, nr);
	self->unit_dirty[1] = true;

	/* All of it reads as dirty */
	memset(bitmap, 0, 2 * per / 8);
	ASSERT_OK(hwpt_get_dirty(self->fd, self->hwpt_id, BASE_IOVA,
				 2 * MOCK_HUGE_IOPTE, mock_io_page, bitmap,
				 IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	for (k = 0; k != 2 * per; k++) {
		bool set = bitmap[k / 8] & (1 << (k % 8));
		bool first_half = k < per;

		if (set == first_half)
			break;
	}
	EXPECT_EQ(2 * per, k);

	/* Half of it, cleared: that half reads dirty, the rest stays so */
	EXPECT_EQ(0, dirty_read(self, MOCK_HUGE_IOPTE, MOCK_HUGE_IOPTE / 2,
				mock_io_page, 1, 0));
	EXPECT_EQ(0, dirty_read(self, 0, self->len, mock_io_page, 4081,
				IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	EXPECT_EQ(0, dirty_read(self, 0, self->len, mock_io_page, 0, 0));
	EXPECT_EQ(0, dirty_read(self, 0, self->len, mock_io_page, 0, 0));
}

/* Bad ranges, page sizes and bitmaps fail, and clear nothing */
TEST_F(dirty, read_errors)
{
	__u64 base = BASE_IOVA, ps = 2 * mock_io_page, len = self->len;
	void *bitmap = self->area, *ro;

	ASSERT_OK(hwpt_set_dirty(self->fd, self->hwpt_id, true));
	ASSERT_EQ(0, dirty_write(self));
	ro = mmap(NULL, page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		  0);
	ASSERT_NE(MAP_FAILED, ro);

	EXPECT_ERR(EOPNOTSUPP, hwpt_get_dirty(self->fd, self->hwpt_id, base,
					      len, ps, bitmap, 1U << 1));
	EXPECT_ERR(EINVAL, hwpt_get_dirty(self->fd, self->hwpt_id, base, 0,
					  ps, bitmap, 0));
	EXPECT_ERR(EINVAL, hwpt_get_dirty(self->fd, self->hwpt_id, base, len,
					  0, bitmap, 0));
	EXPECT_ERR(EINVAL, hwpt_get_dirty(self->fd, self->hwpt_id, base, len,
					  3 * 1024, bitmap, 0));
	/* 32 MiB bits, but the IOVA is not a multiple of that */
	EXPECT_ERR(EINVAL, hwpt_get_dirty(self->fd, self->hwpt_id, base,
					  2 * BASE_IOVA, 2 * BASE_IOVA, bitmap,
					  0));
	/* Range not in page_size units */
	EXPECT_ERR(EINVAL, hwpt_get_dirty(self->fd, self->hwpt_id,
					  base + mock_io_page, len - ps, ps,
					  bitmap, 0));
	EXPECT_ERR(EINVAL, hwpt_get_dirty(self->fd, self->hwpt_id, base,
					  len - mock_io_page, ps, bitmap, 0));
	/* Fine bits, but a range below the IOAS alignment */
	EXPECT_ERR(EINVAL, hwpt_get_dirty(self->fd, self->hwpt_id,
					  base + 1024, 1024, 1024, bitmap, 0));
	EXPECT_ERR(EINVAL, hwpt_get_dirty(self->fd, self->hwpt_id, base,
					  mock_io_page + 1024, 1024, bitmap,
					  0));
	/* Not (all) mapped */
	EXPECT_ERR(EINVAL, hwpt_get_dirty(self->fd, self->hwpt_id, base - ps,
					  len, ps, bitmap, 0));
	EXPECT_ERR(EINVAL, hwpt_get_dirty(self->fd, self->hwpt_id, base,
					  len + ps, ps, bitmap, 0));
	/* Wrapping around */
	EXPECT_ERR(EOVERFLOW, hwpt_get_dirty(self->fd, self->hwpt_id,
					     -(__u64)ps, 2 * ps, ps, bitmap,
					     0));
	/* A bitmap the kernel cannot write */
	EXPECT_ERR(EFAULT, hwpt_get_dirty(self->fd, self->hwpt_id, base, len,
					  ps, NULL, 0));
	EXPECT_ERR(EFAULT, hwpt_get_dirty(self->fd, self->hwpt_id, base,
					  len < 8 * ps ? len : 8 * ps, ps, ro,
					  0));
	munmap(ro, page_size);

	EXPECT_EQ(0, dirty_read(self, 0, self->len, mock_io_page, 0, 0));
}

/*
 * I/O page faults: the fixture's device sits on a nested HWPT that sends
 * its faults to a FAULT object; IOMMU_TEST_OP_TRIGGER_IOPF makes the
 * device fault, and the test reads and answers through the FAULT's fd.
 */
#define FAULT_ADDR 0x7e57f000ULL
#define REC_SIZE sizeof(struct iommu_hwpt_pgfault)
#define RESP_SIZE sizeof(struct iommu_hwpt_page_response)

FIXTURE(fault)
{
	int fd;
	int fault_fd;		/* the FAULT's queue, -1 once closed */
	char *buf;		/* mapped in the IOAS */
	__u32 ioas_id;
	__u32 stdev_id;
	__u32 idev_id;
	__u32 fault_id;
	__u32 parent_id;
	__u32 nested_id;	/* delivers to fault_id; the device is on it */
};

FIXTURE_SETUP(fault)
{
	ASSERT_MOCK();
	self->fault_fd = -1;
	self->buf = alloc_shared(BUF_LEN, HUGE_2M);
	ASSERT_NE(MAP_FAILED, self->buf);
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_OK(ioas_alloc(self->fd, &self->ioas_id));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      BASE_IOVA));
	ASSERT_OK(mock_domain(self->fd, self->ioas_id, &self->stdev_id, NULL,
			      &self->idev_id));
	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_NEST_PARENT, &self->parent_id));
	ASSERT_OK(fault_queue_new(self->fd, &self->fault_id,
				  &self->fault_fd));
	ASSERT_OK(hwpt_alloc_mock_nested(self->fd, self->idev_id,
					 self->parent_id,
					 IOMMU_HWPT_FAULT_ID_VALID,
					 self->fault_id, IOTLB_DEFAULT,
					 &self->nested_id));
	ASSERT_OK(mock_replace(self->fd, self->stdev_id, self->nested_id,
			       NULL));
	/* A page request from a device that does not exist */
	ASSERT_ERR(ENOENT, mock_trigger_iopf(self->fd, 0, 0, 0, 0, 0));
}

FIXTURE_TEARDOWN(fault)
{
	/* An open fault fd keeps the context, and its pins, alive */
	if (self->fault_fd >= 0)
		close(self->fault_fd);
	TEARDOWN_CLOSE_UNPINNED(self->fd, self->buf, BUF_LEN);
	munmap(self->buf, BUF_LEN);
}

/* read() and write() on the fault fd, as 0 / byte count or -errno */
static ssize_t fault_read(int fd, void *buf, size_t len)
{
	ssize_t n = read(fd, buf, len);

	return n < 0 ? -errno : n;
}

static ssize_t fault_write(int fd, const void *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	return n < 0 ? -errno : n;
}

/* Answer the group of @cookie with @code: the write()'s result */
static ssize_t fault_answer(int fd, __u32 cookie, __u32 code)
{
	struct iommu_hwpt_page_response resp = {
		.cookie = cookie,
		.code = code,
	};

	return fault_write(fd, &resp, sizeof(resp));
}

/* poll() revents of @fd, without waiting */
static short poll_now(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };

	return poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

/* Make the device @idev_id fault: a whole group of one page request */
static int trigger(struct _test_data_fault *self, __u32 idev_id, __u32 pasid,
		   __u32 grpid, __u32 perm, __u64 addr)
{
	return mock_trigger_iopf(self->fd, idev_id, pasid, grpid, perm, addr);
}

/* The queue: its IDs and fd, empty at first */
TEST_F(fault, queue)
{
	struct iommu_hwpt_pgfault rec;
	int flags;

	EXPECT_NE(0, self->fault_id);
	EXPECT_NE(self->ioas_id, self->fault_id);
	EXPECT_NE(self->nested_id, self->fault_id);
	EXPECT_LT(2, self->fault_fd);
	flags = fcntl(self->fault_fd, F_GETFD);
	ASSERT_LE(0, flags);
	EXPECT_TRUE(flags & FD_CLOEXEC);
	EXPECT_EQ(POLLOUT, poll_now(self->fault_fd));
	EXPECT_EQ(0, fault_read(self->fault_fd, &rec, sizeof(rec)));
	/* No fault, no group to answer */
	EXPECT_ERR(EINVAL, fault_answer(self->fault_fd, 1,
					IOMMUFD_PAGE_RESP_SUCCESS));
}

/* HWPTs name a FAULT with IOMMU_HWPT_FAULT_ID_VALID, nested ones only */
TEST_F(fault, hwpt_alloc)
{
	__u32 id = 0, second;

	EXPECT_ERR(ENOENT, hwpt_alloc_mock_nested(self->fd, self->idev_id,
						  self->parent_id,
						  IOMMU_HWPT_FAULT_ID_VALID,
						  UINT32_MAX, IOTLB_DEFAULT,
						  &id));
	EXPECT_ERR(ENOENT, hwpt_alloc_mock_nested(self->fd, self->idev_id,
						  self->parent_id,
						  IOMMU_HWPT_FAULT_ID_VALID,
						  self->nested_id,
						  IOTLB_DEFAULT, &id));
	EXPECT_ERR(EOPNOTSUPP,
		   hwpt_alloc_data(self->fd, self->idev_id, self->ioas_id,
				   IOMMU_HWPT_FAULT_ID_VALID,
				   IOMMU_HWPT_DATA_NONE, NULL, 0,
				   self->fault_id, &id));
	EXPECT_ERR(EOPNOTSUPP,
		   hwpt_alloc_data(self->fd, self->idev_id, self->ioas_id,
				   IOMMU_HWPT_FAULT_ID_VALID |
				   IOMMU_HWPT_ALLOC_NEST_PARENT,
				   IOMMU_HWPT_DATA_NONE, NULL, 0,
				   self->fault_id, &id));
	EXPECT_EQ(0, id);

	/* Without the flag fault_id is not looked at */
	ASSERT_OK(hwpt_alloc_mock_nested(self->fd, self->idev_id,
					 self->parent_id, 0, UINT32_MAX,
					 IOTLB_DEFAULT, &id));
	EXPECT_OK(obj_destroy(self->fd, id));
	/* Several HWPTs may share one queue */
	ASSERT_OK(hwpt_alloc_mock_nested(self->fd, self->idev_id,
					 self->parent_id,
					 IOMMU_HWPT_FAULT_ID_VALID,
					 self->fault_id, IOTLB_DEFAULT,
					 &second));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, self->fault_id));
	EXPECT_OK(obj_destroy(self->fd, second));
}

/* A FAULT goes only once its fd is closed and no HWPT names it */
TEST_F(fault, destroy)
{
	__u32 spare_id;
	int spare_fd;

	EXPECT_ERR(EBUSY, obj_destroy(self->fd, self->fault_id));
	ASSERT_OK(close(self->fault_fd));
	self->fault_fd = -1;
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, self->fault_id));
	ASSERT_OK(mock_replace(self->fd, self->stdev_id, self->parent_id,
			       NULL));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, self->fault_id));
	ASSERT_OK(obj_destroy(self->fd, self->nested_id));
	EXPECT_OK(obj_destroy(self->fd, self->fault_id));
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, self->fault_id));

	/* One that no HWPT ever named: only the fd holds it */
	ASSERT_OK(fault_queue_new(self->fd, &spare_id, &spare_fd));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, spare_id));
	ASSERT_OK(close(spare_fd));
	EXPECT_OK(obj_destroy(self->fd, spare_id));
}

/* One fault, read as one record and answered by its cookie */
TEST_F(fault, deliver_and_answer)
{
	const __u32 perm = IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE;
	struct iommu_hwpt_pgfault rec;

	ASSERT_OK(trigger(self, self->idev_id, 0x5a, 7, perm, FAULT_ADDR));
	EXPECT_EQ(POLLIN | POLLOUT, poll_now(self->fault_fd));
	memset(&rec, 0xcc, sizeof(rec));
	ASSERT_EQ(REC_SIZE, fault_read(self->fault_fd, &rec, sizeof(rec)));
	EXPECT_EQ(IOMMU_PGFAULT_FLAGS_PASID_VALID |
		  IOMMU_PGFAULT_FLAGS_LAST_PAGE, rec.flags);
	EXPECT_EQ(self->idev_id, rec.dev_id);
	EXPECT_EQ(0x5a, rec.pasid);
	EXPECT_EQ(7, rec.grpid);
	EXPECT_EQ(perm, rec.perm);
	EXPECT_EQ(0, rec.__reserved);
	EXPECT_EQ(FAULT_ADDR, rec.addr);
	EXPECT_EQ(0, rec.length);

	/* Read once only */
	EXPECT_EQ(POLLOUT, poll_now(self->fault_fd));
	EXPECT_EQ(0, fault_read(self->fault_fd, &rec, sizeof(rec)));

	EXPECT_EQ(RESP_SIZE, fault_answer(self->fault_fd, rec.cookie,
					  IOMMUFD_PAGE_RESP_SUCCESS));
	/* Answered once only */
	EXPECT_ERR(EINVAL, fault_answer(self->fault_fd, rec.cookie,
					IOMMUFD_PAGE_RESP_SUCCESS));
}

/* Without a PASID the record says so; every permission bit comes through */
TEST_F(fault, no_pasid)
{
	const __u32 perm = IOMMU_PGFAULT_PERM_EXEC | IOMMU_PGFAULT_PERM_PRIV |
			   IOMMU_PGFAULT_PERM_READ;
	struct iommu_hwpt_pgfault rec;

	ASSERT_OK(trigger(self, self->idev_id, 0, 1, perm,
			  FAULT_ADDR + page_size));
	ASSERT_EQ(REC_SIZE, fault_read(self->fault_fd, &rec, sizeof(rec)));
	EXPECT_EQ(IOMMU_PGFAULT_FLAGS_LAST_PAGE, rec.flags);
	EXPECT_EQ(0, rec.pasid);
	EXPECT_EQ(perm, rec.perm);
	EXPECT_EQ(FAULT_ADDR + page_size, rec.addr);
	EXPECT_EQ(RESP_SIZE, fault_answer(self->fault_fd, rec.cookie,
					  IOMMUFD_PAGE_RESP_INVALID));
}

/* Several groups: oldest first, as many whole groups as fit */
TEST_F(fault, several_groups)
{
	struct iommu_hwpt_page_response resp[3];
	struct iommu_hwpt_pgfault rec[5];
	unsigned int i;

	for (i = 0; i != 3; i++)
		ASSERT_OK(trigger(self, self->idev_id, 0, 10 + i,
				  IOMMU_PGFAULT_PERM_READ,
				  FAULT_ADDR + i * page_size));
	/* Room for two of the three */
	ASSERT_EQ(2 * REC_SIZE, fault_read(self->fault_fd, rec,
					   2 * REC_SIZE));
	EXPECT_EQ(POLLIN | POLLOUT, poll_now(self->fault_fd));
	/* Room for three, one left */
	ASSERT_EQ(REC_SIZE, fault_read(self->fault_fd, &rec[2],
				       3 * REC_SIZE));
	EXPECT_EQ(POLLOUT, poll_now(self->fault_fd));

	for (i = 0; i != 3; i++) {
		EXPECT_EQ(10 + i, rec[i].grpid);
		EXPECT_EQ(FAULT_ADDR + i * page_size, rec[i].addr);
		EXPECT_NE(rec[i].cookie, rec[(i + 1) % 3].cookie);
		resp[i].cookie = rec[i].cookie;
		resp[i].code = IOMMUFD_PAGE_RESP_SUCCESS;
	}
	/* All answers in one write, in any order */
	resp[0].cookie = rec[2].cookie;
	resp[2].cookie = rec[0].cookie;
	EXPECT_EQ(3 * RESP_SIZE, fault_write(self->fault_fd, resp,
					     sizeof(resp)));
	for (i = 0; i != 3; i++)
		EXPECT_ERR(EINVAL, fault_answer(self->fault_fd, rec[i].cookie,
						IOMMUFD_PAGE_RESP_SUCCESS));
}

/* Reads and writes must be whole records; answers must be valid */
TEST_F(fault, bad_io)
{
	struct iommu_hwpt_page_response resp[2];
	struct iommu_hwpt_pgfault rec[2];
	void *none;
	ssize_t n;

	ASSERT_OK(trigger(self, self->idev_id, 0, 3, IOMMU_PGFAULT_PERM_WRITE,
			  FAULT_ADDR));
	EXPECT_ERR(ESPIPE, fault_read(self->fault_fd, rec, 1));
	EXPECT_ERR(ESPIPE, fault_read(self->fault_fd, rec, REC_SIZE - 1));
	EXPECT_ERR(ESPIPE, fault_read(self->fault_fd, rec, REC_SIZE + 1));
	/* Not seekable: there is no position to read from */
	n = pread(self->fault_fd, rec, REC_SIZE, REC_SIZE);
	EXPECT_EQ(-1, n);
	EXPECT_EQ(ESPIPE, errno);
	/* Still there after all that */
	EXPECT_EQ(POLLIN | POLLOUT, poll_now(self->fault_fd));
	ASSERT_EQ(REC_SIZE, fault_read(self->fault_fd, rec, sizeof(rec)));

	EXPECT_ERR(ESPIPE, fault_write(self->fault_fd, resp, RESP_SIZE - 1));
	EXPECT_ERR(ESPIPE, fault_write(self->fault_fd, resp, RESP_SIZE + 1));
	EXPECT_ERR(EINVAL, fault_answer(self->fault_fd, rec[0].cookie, 2));
	EXPECT_ERR(EINVAL, fault_answer(self->fault_fd, rec[0].cookie,
					0xffffffff));
	EXPECT_ERR(EINVAL, fault_answer(self->fault_fd, rec[0].cookie + 1000,
					IOMMUFD_PAGE_RESP_SUCCESS));
	none = mmap(NULL, page_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	ASSERT_NE(MAP_FAILED, none);
	EXPECT_ERR(EFAULT, fault_write(self->fault_fd, none, RESP_SIZE));
	munmap(none, page_size);

	/* A good answer then a bad one: the good one is taken */
	resp[0].cookie = rec[0].cookie;
	resp[0].code = IOMMUFD_PAGE_RESP_SUCCESS;
	resp[1].cookie = rec[0].cookie + 1000;
	resp[1].code = IOMMUFD_PAGE_RESP_SUCCESS;
	EXPECT_EQ(RESP_SIZE, fault_write(self->fault_fd, resp, sizeof(resp)));
	EXPECT_ERR(EINVAL, fault_answer(self->fault_fd, rec[0].cookie,
					IOMMUFD_PAGE_RESP_SUCCESS));
}

/*
 * Leaving the fault-capable HWPT answers what is still outstanding: read
 * but unanswered, and not read at all. Faults then go nowhere.
 */
TEST_F(fault, detach_answers)
{
	struct iommu_hwpt_pgfault rec;

	ASSERT_OK(trigger(self, self->idev_id, 0, 1, IOMMU_PGFAULT_PERM_READ,
			  FAULT_ADDR));
	ASSERT_OK(trigger(self, self->idev_id, 0, 2, IOMMU_PGFAULT_PERM_READ,
			  FAULT_ADDR));
	ASSERT_EQ(REC_SIZE, fault_read(self->fault_fd, &rec, sizeof(rec)));
	EXPECT_EQ(1, rec.grpid);

	ASSERT_OK(mock_replace(self->fd, self->stdev_id, self->parent_id,
			       NULL));
	EXPECT_EQ(POLLOUT, poll_now(self->fault_fd));
	EXPECT_EQ(0, fault_read(self->fault_fd, &rec, sizeof(rec)));
	EXPECT_ERR(EINVAL, fault_answer(self->fault_fd, rec.cookie,
					IOMMUFD_PAGE_RESP_SUCCESS));
	EXPECT_ERR(EINVAL, mock_trigger_iopf(self->fd, self->idev_id, 0, 3,
					     IOMMU_PGFAULT_PERM_READ,
					     FAULT_ADDR));
	EXPECT_EQ(POLLOUT, poll_now(self->fault_fd));

	/* Back on it, faults flow again */
	ASSERT_OK(mock_replace(self->fd, self->stdev_id, self->nested_id,
			       NULL));
	ASSERT_OK(trigger(self, self->idev_id, 0, 4, IOMMU_PGFAULT_PERM_READ,
			  FAULT_ADDR));
	ASSERT_EQ(REC_SIZE, fault_read(self->fault_fd, &rec, sizeof(rec)));
	EXPECT_EQ(4, rec.grpid);

	/* Destroying the device answers too */
	ASSERT_OK(trigger(self, self->idev_id, 0, 5, IOMMU_PGFAULT_PERM_READ,
			  FAULT_ADDR));
	ASSERT_OK(obj_destroy(self->fd, self->stdev_id));
	EXPECT_EQ(0, fault_read(self->fault_fd, &rec, sizeof(rec)));
	EXPECT_ERR(EINVAL, fault_answer(self->fault_fd, rec.cookie,
					IOMMUFD_PAGE_RESP_SUCCESS));
	EXPECT_OK(obj_destroy(self->fd, self->nested_id));
}

/* A thread that keeps the device faulting until told to stop */
struct fault_storm {
	int fd;
	__u32 idev_id;
	atomic_bool stop;
	int bad;		/* a result other than 0 or EINVAL */
};

static void *fault_storm_run(void *arg)
{
	struct fault_storm *storm = arg;
	__u32 grpid = 0;
	int rc;

	while (!atomic_load(&storm->stop)) {
		rc = mock_trigger_iopf(storm->fd, storm->idev_id, 0,
				       grpid++ % 512, IOMMU_PGFAULT_PERM_READ,
				       FAULT_ADDR);
		if (rc && rc != -EINVAL)
			storm->bad = rc;
	}
	return NULL;
}

/*
 * Faults reported while the device leaves the fault-capable HWPT: each
 * either reaches the queue before the device has left, and the kernel
 * answers it then, or finds the device gone (EINVAL). None may arrive in
 * the queue afterwards, through the attachment that has just ended: the
 * IOMMU's queue is drained before that attachment is retired.
 */
TEST_F(fault, detach_while_faulting)
{
	struct fault_storm storm = {
		.fd = self->fd,
		.idev_id = self->idev_id,
	};
	struct iommu_hwpt_pgfault rec;
	time_t start = time(NULL);
	pthread_t thread;
	int i;

	ASSERT_OK(pthread_create(&thread, NULL, fault_storm_run, &storm));
	/* 200 rounds, or 10 s on a slow (KASAN, TCG) machine */
	for (i = 0; i < 200 && time(NULL) < start + 10; i++) {
		ASSERT_OK(mock_replace(self->fd, self->stdev_id,
				       self->parent_id, NULL));
		ASSERT_EQ(0, fault_read(self->fault_fd, &rec, sizeof(rec)))
			TH_LOG("round %d: a fault queued after the detach", i);
		ASSERT_OK(mock_replace(self->fd, self->stdev_id,
				       self->nested_id, NULL));
	}
	atomic_store(&storm.stop, true);
	ASSERT_OK(pthread_join(thread, NULL));
	EXPECT_EQ(0, storm.bad);
}

/* Each record names the device that faulted */
TEST_F(fault, two_devices)
{
	struct iommu_hwpt_pgfault rec[2];
	__u32 stdev2, idev2, hwpt;

	ASSERT_OK(mock_domain(self->fd, self->nested_id, &stdev2, &hwpt,
			      &idev2));
	EXPECT_EQ(self->nested_id, hwpt);
	ASSERT_OK(trigger(self, idev2, 0, 1, IOMMU_PGFAULT_PERM_READ,
			  FAULT_ADDR));
	ASSERT_OK(trigger(self, self->idev_id, 0, 1, IOMMU_PGFAULT_PERM_READ,
			  FAULT_ADDR));
	ASSERT_EQ(2 * REC_SIZE, fault_read(self->fault_fd, rec, sizeof(rec)));
	EXPECT_EQ(idev2, rec[0].dev_id);
	EXPECT_EQ(self->idev_id, rec[1].dev_id);
	EXPECT_NE(rec[0].cookie, rec[1].cookie);

	/* The second device leaving answers its fault only */
	ASSERT_OK(obj_destroy(self->fd, stdev2));
	EXPECT_ERR(EINVAL, fault_answer(self->fault_fd, rec[0].cookie,
					IOMMUFD_PAGE_RESP_SUCCESS));
	EXPECT_EQ(RESP_SIZE, fault_answer(self->fault_fd, rec[1].cookie,
					  IOMMUFD_PAGE_RESP_SUCCESS));
}

/*
 * Closing everything with faults outstanding, read and unread: the kernel
 * answers them as it tears down (the teardown closes the context).
 */
TEST_F(fault, close_with_faults_pending)
{
	struct iommu_hwpt_pgfault rec;
	unsigned int i;

	for (i = 0; i != 4; i++)
		ASSERT_OK(trigger(self, self->idev_id, i, i,
				  IOMMU_PGFAULT_PERM_READ, FAULT_ADDR));
	ASSERT_EQ(REC_SIZE, fault_read(self->fault_fd, &rec, sizeof(rec)));
	EXPECT_EQ(0, rec.grpid);
	ASSERT_OK(close(self->fault_fd));
	self->fault_fd = -1;
}

/* How long a thread that must not be blocked may take */
#define PROMPT_MS	10000

/* A read() of the fault queue, or a trigger, in a thread of its own */
struct fault_job {
	struct _test_data_fault *self;
	void *buf;
	ssize_t rc;
	atomic_bool done;
};

static void *fault_read_job(void *arg)
{
	struct fault_job *job = arg;

	job->rc = fault_read(job->self->fault_fd, job->buf,
			     sizeof(struct iommu_hwpt_pgfault));
	atomic_store(&job->done, true);
	return NULL;
}

static void *fault_trigger_job(void *arg)
{
	struct fault_job *job = arg;

	job->rc = trigger(job->self, job->self->idev_id, 0, 2,
			  IOMMU_PGFAULT_PERM_READ, FAULT_ADDR);
	atomic_store(&job->done, true);
	return NULL;
}

static bool fault_job_wait(struct fault_job *job, int ms)
{
	while (!atomic_load(&job->done) && ms-- > 0)
		usleep(1000);
	return atomic_load(&job->done);
}

/*
 * A reader whose buffer faults (here on userfaultfd, for as long as the
 * test likes) holds nothing up: the device's next page request is queued,
 * and the device can leave the HWPT. Once the buffer has a page, the read
 * completes with the first group, which can be answered.
 */
TEST_F(fault, reader_stuck_in_copy)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct fault_job rd = { .self = self }, tr = { .self = self };
	struct pollfd pfd = { .events = POLLIN };
	struct iommu_hwpt_pgfault rec;
	struct uffdio_zeropage zero;
	pthread_t reader, trig;
	struct uffd_msg msg;
	char *page;
	int uffd;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	ASSERT_LE(0, uffd) TH_LOG("userfaultfd: %s", strerror(errno));
	ASSERT_OK(ioctl(uffd, UFFDIO_API, &api));
	page = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	reg.range.start = (uintptr_t)page;
	reg.range.len = page_size;
	ASSERT_OK(ioctl(uffd, UFFDIO_REGISTER, &reg));

	ASSERT_OK(trigger(self, self->idev_id, 0, 1, IOMMU_PGFAULT_PERM_READ,
			  FAULT_ADDR));
	rd.buf = page;
	ASSERT_OK(pthread_create(&reader, NULL, fault_read_job, &rd));
	pfd.fd = uffd;
	ASSERT_EQ(1, poll(&pfd, 1, PROMPT_MS));
	ASSERT_EQ(sizeof(msg), read(uffd, &msg, sizeof(msg)));
	ASSERT_FALSE(atomic_load(&rd.done));

	/* The reader is stuck in its copy: the device faults again */
	ASSERT_OK(pthread_create(&trig, NULL, fault_trigger_job, &tr));
	EXPECT_TRUE(fault_job_wait(&tr, PROMPT_MS));
	/* ... and leaves the HWPT (if not stuck too), its group answered */
	if (atomic_load(&tr.done))
		EXPECT_OK(mock_replace(self->fd, self->stdev_id,
				       self->parent_id, NULL));

	zero.range = reg.range;
	zero.mode = 0;
	ASSERT_OK(ioctl(uffd, UFFDIO_ZEROPAGE, &zero));
	pthread_join(reader, NULL);
	pthread_join(trig, NULL);
	EXPECT_OK(tr.rc);
	/* The first group was delivered; the second answered at detach */
	ASSERT_EQ(sizeof(rec), rd.rc);
	memcpy(&rec, page, sizeof(rec));
	EXPECT_EQ(1, rec.grpid);
	EXPECT_EQ(0, fault_read(self->fault_fd, &rec, sizeof(rec)));
	/* Its device has left: the answer is refused, nothing leaks */
	EXPECT_ERR(EINVAL, fault_answer(self->fault_fd, rec.cookie,
					IOMMUFD_PAGE_RESP_SUCCESS));
	munmap(page, page_size);
	close(uffd);
}

/* Devices on HWPTs without a FAULT: their faults have nowhere to go */
TEST_F(fault, no_queue_no_delivery)
{
	__u32 plain_nested, hwpt;

	ASSERT_OK(hwpt_alloc_mock_nested(self->fd, self->idev_id,
					 self->parent_id, 0, 0, IOTLB_DEFAULT,
					 &plain_nested));
	ASSERT_OK(mock_replace(self->fd, self->stdev_id, plain_nested, &hwpt));
	EXPECT_ERR(EINVAL, mock_trigger_iopf(self->fd, self->idev_id, 1, 1,
					     IOMMU_PGFAULT_PERM_READ,
					     FAULT_ADDR));
	ASSERT_OK(mock_replace(self->fd, self->stdev_id, self->ioas_id,
			       &hwpt));
	EXPECT_ERR(EINVAL, mock_trigger_iopf(self->fd, self->idev_id, 0, 1,
					     IOMMU_PGFAULT_PERM_READ,
					     FAULT_ADDR));
	EXPECT_ERR(ENOENT, mock_trigger_iopf(self->fd, self->stdev_id, 0, 1,
					     IOMMU_PGFAULT_PERM_READ,
					     FAULT_ADDR));
	EXPECT_EQ(POLLOUT, poll_now(self->fault_fd));
	EXPECT_OK(obj_destroy(self->fd, plain_nested));
}

TEST_HARNESS_MAIN
