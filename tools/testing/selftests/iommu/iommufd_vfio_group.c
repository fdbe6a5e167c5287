// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd_vfio_group.c - a real device through the VFIO group path, the way
 * DPDK, SPDK and every VFIO program older than iommufd reach us: a
 * container (/dev/vfio/vfio, which iommufd serves, or a /dev/iommu fd
 * handed to VFIO_GROUP_SET_CONTAINER), the type1 ioctls on it, and the
 * device fd from VFIO_GROUP_GET_DEVICE_FD.
 *
 * The device is QEMU's edu (iommufd_edu.h), which copies bytes between its
 * own buffer and IOVAs, so every mapping is checked by real DMA: bytes land
 * exactly where the container maps them, and DMA to an IOVA that is not
 * mapped is blocked and reported by the IOMMU.
 *
 * The fixture variants are the two kinds of container times the two type1
 * flavours DPDK and QEMU ask for (v1, DPDK 22.11; v2, QEMU). The fixture
 * opens the container and the group and nothing else; each test makes the
 * steps it is about.
 *
 * Runs in the real-IOMMU VMs (scripts/suites/vtd, amd, smmuv3). Without
 * an edu device every test is skipped, saying why.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>

#include "../kselftest_harness.h"
#include "iommufd_real.h"

#define BUF_PAGES	16
#define BUF_LEN		(BUF_PAGES * page_size)
#define HUGE_LEN	(2UL << 20)

/* IOVAs the tests use: all below the edu's 28-bit limit */
#define IOVA_A		0x100000ULL
#define IOVA_B		0x200000ULL
#define IOVA_HOLE	0x300000ULL	/* never mapped */
#define IOVA_HUGE	0x800000ULL	/* 2 MiB aligned */

/* Emulated DMA under TCG on a busy machine: be generous */
#define GROUP_TIMEOUT	600

FIXTURE(group)
{
	char bdf[32];
	struct edu e;
	const struct real_iommu *iommu;	/* what the device is behind */
	int container;	/* /dev/vfio/vfio or /dev/iommu */
	int groupfd;	/* /dev/vfio/N */
	char *a, *b;	/* BUF_LEN each, 4 KiB pages */
	char *huge;	/* HUGE_LEN of hugetlb memory */
};

FIXTURE_VARIANT(group)
{
	const char *container_path;
	unsigned long type;
	/* Which accounting /proc/self/status shows the pins in */
	const char *pin_key;
};

/* /dev/vfio/vfio charges mm->locked_vm, like VFIO type1 */
FIXTURE_VARIANT_ADD(group, vfio_type1)
{
	.container_path = "/dev/vfio/vfio",
	.type = VFIO_TYPE1_IOMMU,
	.pin_key = "VmLck",
};

FIXTURE_VARIANT_ADD(group, vfio_type1v2)
{
	.container_path = "/dev/vfio/vfio",
	.type = VFIO_TYPE1v2_IOMMU,
	.pin_key = "VmLck",
};

/* /dev/iommu charges the user, and shows the pins in VmPin */
FIXTURE_VARIANT_ADD(group, iommufd_type1)
{
	.container_path = IOMMUFD_PATH,
	.type = VFIO_TYPE1_IOMMU,
	.pin_key = "VmPin",
};

FIXTURE_VARIANT_ADD(group, iommufd_type1v2)
{
	.container_path = IOMMUFD_PATH,
	.type = VFIO_TYPE1v2_IOMMU,
	.pin_key = "VmPin",
};

FIXTURE_SETUP(group)
{
	int rc;

	self->container = -1;
	self->groupfd = -1;
	self->e.devfd = -1;
	rc = edu_find(self->bdf, sizeof(self->bdf));
	if (rc)
		SKIP(return,
		     "no QEMU edu device (PCI %04x:%04x): this test runs in the real-IOMMU VMs (scripts/suites/vtd, amd, smmuv3)",
		     EDU_VENDOR, EDU_DEVICE);
	/* First: under a device tree, probing a driver makes the group */
	rc = edu_use_vfio_pci(self->bdf);
	if (!pci_has_iommu_group(self->bdf))
		SKIP(return, "the edu device %s is not behind an IOMMU",
		     self->bdf);
	ASSERT_OK(rc);
	self->iommu = real_iommu_of(self->bdf);
	ASSERT_NE(NULL, self->iommu);

	self->container = open(variant->container_path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->container)
		TH_LOG("open %s: %s", variant->container_path,
		       strerror(errno));
	self->groupfd = vfio_group_open(self->bdf, false);
	ASSERT_LE(0, self->groupfd);

	self->a = alloc_shared(BUF_LEN, page_size);
	self->b = alloc_shared(BUF_LEN, page_size);
	ASSERT_NE(MAP_FAILED, self->a);
	ASSERT_NE(MAP_FAILED, self->b);
	fill_pattern(self->a, BUF_LEN, 1);
	fill_pattern(self->b, BUF_LEN, 2);
	self->huge = mmap(NULL, HUGE_LEN, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	ASSERT_NE(MAP_FAILED, self->huge)
		TH_LOG("no 2 MiB hugetlb page (vm.nr_hugepages?)");
	fill_pattern(self->huge, HUGE_LEN, 3);
}

FIXTURE_TEARDOWN(group)
{
	edu_close(&self->e);
	if (self->groupfd >= 0)
		close(self->groupfd);
	if (self->container >= 0)
		close(self->container);
}

static int set_container(int groupfd, int container)
{
	return ioctl(groupfd, VFIO_GROUP_SET_CONTAINER, &container) ? -errno
								     : 0;
}

static int unset_container(int groupfd)
{
	return ioctl(groupfd, VFIO_GROUP_UNSET_CONTAINER) ? -errno : 0;
}

static int set_iommu(int container, unsigned long type)
{
	return ioctl(container, VFIO_SET_IOMMU, type) ? -errno : 0;
}

static int map_dma(int container, void *buf, __u64 iova, __u64 size,
		   __u32 flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = (uintptr_t)buf,
		.iova = iova,
		.size = size,
	};

	return ioctl(container, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

#define MAP_RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

/* UNMAP_DMA; *@unmapped (if not NULL) receives the size unmapped */
static int unmap_dma(int container, __u64 iova, __u64 size, __u32 flags,
		     __u64 *unmapped)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = flags,
		.iova = iova,
		.size = size,
	};

	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		return -errno;
	if (unmapped)
		*unmapped = unmap.size;
	return 0;
}

/*
 * Everything up to a device that can DMA: the group into the container,
 * the IOMMU type, the device fd. What DPDK's rte_vfio_setup_device() does.
 */
static int group_connect(int container, int groupfd, unsigned long type,
			 struct edu *e, const char *bdf)
{
	int rc;

	rc = set_container(groupfd, container);
	if (rc)
		return rc;
	rc = set_iommu(container, type);
	if (rc)
		return rc;
	return edu_open_group(e, bdf, groupfd);
}

/*
 * The device copies 2 KiB from @src_iova into its buffer and back out to
 * @dst_iova; @src and @dst are what those IOVAs map. 0 if the bytes landed
 * exactly, else a negative errno or the offset of the first wrong byte + 1.
 */
static long dma_round_trip(struct edu *e, __u64 src_iova, const void *src,
			   __u64 dst_iova, void *dst)
{
	long diff;
	int rc;

	memset(dst, 0, 2048);
	rc = edu_from_ram(e, src_iova, 0, 2048);
	if (rc)
		return rc;
	rc = edu_to_ram(e, 0, dst_iova, 2048);
	if (rc)
		return rc;
	diff = first_diff(dst, src, 2048);
	return diff < 0 ? 0 : diff + 1;
}

/* VFIO_IOMMU_GET_INFO's capability @id in @info (argsz bytes), or NULL */
static struct vfio_info_cap_header *info_cap(struct vfio_iommu_type1_info *info,
					     __u16 id)
{
	__u32 off = info->cap_offset;
	int hops = 0;

	while (off && off + sizeof(struct vfio_info_cap_header) <= info->argsz &&
	       hops++ < 16) {
		struct vfio_info_cap_header *hdr = (void *)info + off;

		if (hdr->id == id)
			return hdr;
		off = hdr->next;
	}
	return NULL;
}

/*
 * After a DMA that the IOMMU blocked: it reported it, where it reports
 * blocked DMA at all (real_iommus[])
 */
#define EXPECT_BLOCKED_REPORTED(before)                                    \
	do {                                                               \
		const struct real_iommu *__iommu = self->iommu;            \
		long long __before = (before);                             \
		bool __fired = fault_reported(__iommu, __before);          \
		EXPECT_EQ(__iommu->faults_reported, __fired);              \
	} while (0)

/*
 * The whole start-up of a DPDK application with one device, each step
 * checked, then real DMA through 4 KiB and hugetlb mappings, blocked DMA,
 * and both kinds of unmap.
 */
TEST_F_TIMEOUT(group, dpdk_eal_flow, GROUP_TIMEOUT)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_iommu_type1_info_cap_iova_range *ranges;
	struct vfio_iommu_type1_info *info;
	struct vfio_info_cap_header *cap;
	bool a_in_range = false;
	__u64 unmapped = 0;
	long long before;
	__u32 i;

	ASSERT_EQ(VFIO_API_VERSION,
		  ioctl(self->container, VFIO_GET_API_VERSION));
	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_TYPE1_IOMMU));
	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(0, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_SPAPR_TCE_IOMMU));

	ASSERT_OK(ioctl(self->groupfd, VFIO_GROUP_GET_STATUS, &status));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE, status.flags);
	/* No IOMMU type before a group is in the container */
	EXPECT_NE(0, set_iommu(self->container, variant->type));
	ASSERT_OK(set_container(self->groupfd, self->container));
	ASSERT_OK(ioctl(self->groupfd, VFIO_GROUP_GET_STATUS, &status));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  status.flags);
	ASSERT_OK(set_iommu(self->container, variant->type));
	/* Type1 answers for the domains it has: none is incoherent yet */
	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_DMA_CC_IOMMU));

	/* GET_INFO: first the size, then the capability chain */
	info = calloc(1, 4096);
	ASSERT_NE(NULL, info);
	info->argsz = sizeof(*info);
	ASSERT_OK(ioctl(self->container, VFIO_IOMMU_GET_INFO, info));
	EXPECT_NE(0, info->flags & VFIO_IOMMU_INFO_PGSIZES);
	EXPECT_NE(0, info->iova_pgsizes & page_size);
	EXPECT_EQ(0, info->iova_pgsizes & (page_size - 1));
	ASSERT_GE(4096, info->argsz);
	if (info->flags & VFIO_IOMMU_INFO_CAPS) {
		ASSERT_LT(sizeof(*info), info->argsz);
		info->argsz = 4096;
		ASSERT_OK(ioctl(self->container, VFIO_IOMMU_GET_INFO, info));
		cap = info_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
		ASSERT_NE(NULL, cap);
		ranges = (void *)cap;
		ASSERT_LT(0, ranges->nr_iovas);
		for (i = 0; i != ranges->nr_iovas; i++)
			if (ranges->iova_ranges[i].start <= IOVA_A &&
			    ranges->iova_ranges[i].end >= IOVA_HUGE + HUGE_LEN)
				a_in_range = true;
		EXPECT_TRUE(a_in_range);
		EXPECT_NE(NULL,
			  info_cap(info, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL));
	}
	free(info);

	/* Memory first, the device afterwards, as DPDK does */
	ASSERT_OK(map_dma(self->container, self->a, IOVA_A, BUF_LEN, MAP_RW));
	ASSERT_OK(map_dma(self->container, self->b, IOVA_B, BUF_LEN, MAP_RW));
	ASSERT_OK(map_dma(self->container, self->huge, IOVA_HUGE, HUGE_LEN,
			  MAP_RW));
	EXPECT_ERR(EEXIST, map_dma(self->container, self->b, IOVA_A, BUF_LEN,
				   MAP_RW));
	ASSERT_OK(edu_open_group(&self->e, self->bdf, self->groupfd));

	EXPECT_OK(dma_round_trip(&self->e, IOVA_A + 0x800, self->a + 0x800,
				 IOVA_B + 0x1000, self->b + 0x1000));
	EXPECT_OK(dma_round_trip(&self->e, IOVA_HUGE + HUGE_LEN - 4096,
				 self->huge + HUGE_LEN - 4096, IOVA_A,
				 self->a));
	EXPECT_OK(dma_round_trip(&self->e, IOVA_B, self->b,
				 IOVA_HUGE + 0x123000, self->huge + 0x123000));

	/* Nothing at IOVA_HOLE: the write goes nowhere, and is reported */
	memcpy(self->b, self->a, BUF_LEN);
	before = irq_count(self->iommu->fault_irqs);
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_HOLE, 2048));
	EXPECT_EQ(-1, first_diff(self->b, self->a, BUF_LEN));
	EXPECT_BLOCKED_REPORTED(before);

	/* Unmap one mapping: the device loses it, the others stay */
	ASSERT_OK(unmap_dma(self->container, IOVA_B, BUF_LEN, 0, &unmapped));
	EXPECT_EQ(BUF_LEN, unmapped);
	memcpy(self->a, self->b, BUF_LEN);
	fill_pattern(self->huge, 4096, 4);
	ASSERT_OK(edu_from_ram(&self->e, IOVA_HUGE, 0, 2048));
	before = irq_count(self->iommu->fault_irqs);
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_B, 2048));
	EXPECT_EQ(-1, first_diff(self->b, self->a, BUF_LEN));
	EXPECT_BLOCKED_REPORTED(before);
	EXPECT_OK(dma_round_trip(&self->e, IOVA_HUGE, self->huge, IOVA_A,
				 self->a));

	/* Unmap everything that is left: 4K + 2M */
	ASSERT_OK(unmap_dma(self->container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
			    &unmapped));
	EXPECT_EQ(BUF_LEN + HUGE_LEN, unmapped);
	memcpy(self->b, self->a, BUF_LEN);
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_A, 2048));
	EXPECT_EQ(-1, first_diff(self->a, self->b, BUF_LEN));
	ASSERT_OK(unmap_dma(self->container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
			    &unmapped));
	EXPECT_EQ(0, unmapped);
}

/*
 * Type1 v1 unmaps of hugetlb memory that a 2 MiB IOPTE may serve, as
 * DPDK makes them: an unmap from inside the mapping succeeds and unmaps
 * nothing (type1v2 refuses it), and the device still reaches every byte
 * of it, the "unmapped" page too; an unmap of its first page alone takes
 * all 2 MiB, after which the device reaches none of it, while the other
 * mapping keeps working.
 */
TEST_F_TIMEOUT(group, v1_partial_unmap_hugetlb, GROUP_TIMEOUT)
{
	const __u64 mid = 0x100000;
	bool v1 = variant->type == VFIO_TYPE1_IOMMU;
	__u64 unmapped = 1;
	long long before;

	ASSERT_OK(group_connect(self->container, self->groupfd, variant->type,
				&self->e, self->bdf));
	ASSERT_OK(map_dma(self->container, self->a, IOVA_A, BUF_LEN, MAP_RW));
	ASSERT_OK(map_dma(self->container, self->huge, IOVA_HUGE, HUGE_LEN,
			  MAP_RW));
	EXPECT_OK(dma_round_trip(&self->e, IOVA_HUGE + mid, self->huge + mid,
				 IOVA_A, self->a));

	if (v1) {
		ASSERT_OK(unmap_dma(self->container, IOVA_HUGE + mid,
				    page_size, 0, &unmapped));
		EXPECT_EQ(0, unmapped);
	} else {
		EXPECT_NE(0, unmap_dma(self->container, IOVA_HUGE + mid,
				       page_size, 0, NULL));
	}
	/* Every part of the 2 MiB still reaches its own bytes */
	fill_pattern(self->huge, HUGE_LEN, 5);
	EXPECT_OK(dma_round_trip(&self->e, IOVA_HUGE, self->huge,
				 IOVA_HUGE + mid, self->huge + mid));
	fill_pattern(self->a, BUF_LEN, 6);
	EXPECT_OK(dma_round_trip(&self->e, IOVA_A, self->a,
				 IOVA_HUGE + HUGE_LEN - 4096,
				 self->huge + HUGE_LEN - 4096));

	if (v1) {
		ASSERT_OK(unmap_dma(self->container, IOVA_HUGE, page_size, 0,
				    &unmapped));
	} else {
		EXPECT_NE(0, unmap_dma(self->container, IOVA_HUGE, page_size,
				       0, NULL));
		ASSERT_OK(unmap_dma(self->container, IOVA_HUGE, HUGE_LEN, 0,
				    &unmapped));
	}
	EXPECT_EQ(HUGE_LEN, unmapped);

	/* None of it is reachable now; IOVA_A is */
	fill_pattern(self->a, BUF_LEN, 7);
	ASSERT_OK(edu_from_ram(&self->e, IOVA_A, 0, 2048));
	memcpy(self->b, self->huge + mid, 2048);
	before = irq_count(self->iommu->fault_irqs);
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_HUGE + mid, 2048));
	EXPECT_EQ(-1, first_diff(self->huge + mid, self->b, 2048));
	EXPECT_BLOCKED_REPORTED(before);
	EXPECT_OK(dma_round_trip(&self->e, IOVA_A + 0x800, self->a + 0x800,
				 IOVA_A + 0x2000, self->a + 0x2000));
}

/*
 * VFIO_UPDATE_VADDR with a device doing DMA: while the mapping's address
 * is invalid the device still reaches the memory (the pins and the IOMMU
 * mapping stay); the new address, another view of the same memory, then
 * serves the mapping, and unmapping releases every pin.
 */
TEST_F_TIMEOUT(group, vaddr_update, GROUP_TIMEOUT)
{
	long pin0 = proc_status_kib(variant->pin_key);
	__u64 unmapped = 0;
	char *alias;

	ASSERT_OK(group_connect(self->container, self->groupfd, variant->type,
				&self->e, self->bdf));
	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_UPDATE_VADDR));
	ASSERT_OK(map_dma(self->container, self->a, IOVA_A, BUF_LEN, MAP_RW));
	ASSERT_OK(unmap_dma(self->container, IOVA_A, BUF_LEN,
			    VFIO_DMA_UNMAP_FLAG_VADDR, &unmapped));
	EXPECT_EQ(BUF_LEN, unmapped);
	EXPECT_EQ(pin0 + (long)BUF_LEN / 1024,
		  proc_status_kib(variant->pin_key));
	fill_pattern(self->a, BUF_LEN, 9);
	EXPECT_OK(dma_round_trip(&self->e, IOVA_A, self->a, IOVA_A + 0x2000,
				 self->a + 0x2000));

	/* A second view of the same shared memory */
	alias = mremap(self->a, 0, BUF_LEN, MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, alias);
	ASSERT_OK(map_dma(self->container, alias, IOVA_A, BUF_LEN,
			  VFIO_DMA_MAP_FLAG_VADDR));
	EXPECT_ERR(EINVAL, map_dma(self->container, alias, IOVA_A, BUF_LEN,
				   VFIO_DMA_MAP_FLAG_VADDR));
	fill_pattern(alias, BUF_LEN, 10);
	EXPECT_OK(dma_round_trip(&self->e, IOVA_A + 0x800, alias + 0x800,
				 IOVA_A + 0x3000, alias + 0x3000));
	ASSERT_OK(unmap_dma(self->container, IOVA_A, BUF_LEN, 0, &unmapped));
	EXPECT_EQ(BUF_LEN, unmapped);
	EXPECT_EQ(pin0, proc_status_kib(variant->pin_key));
	munmap(alias, BUF_LEN);
}

/* VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP of [@iova, @iova + @size) */
static int dirty_bitmap(int container, __u64 iova, __u64 size, __u64 *bits)
{
	struct {
		struct vfio_iommu_type1_dirty_bitmap hdr;
		struct vfio_iommu_type1_dirty_bitmap_get range;
	} get = {
		.hdr = {
			.argsz = sizeof(get),
			.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
		},
		.range = {
			.iova = iova,
			.size = size,
			.bitmap = {
				.pgsize = page_size,
				.size = (size / page_size + 63) / 64 * 8,
				.data = bits,
			},
		},
	};

	return ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &get) ? -errno : 0;
}

static int dirty_flag(int container, __u32 flags)
{
	struct vfio_iommu_type1_dirty_bitmap cmd = {
		.argsz = sizeof(cmd),
		.flags = flags,
	};

	return ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &cmd) ? -errno : 0;
}

/*
 * Migration through the container: GET_INFO offers the migration
 * capability; with dirty tracking started, a page the device writes reads
 * as dirty (none of the emulated IOMMUs tracks dirty pages, so every
 * mapped page does, as with type1); an unmap hands over the bitmap too.
 * Type1 (v1) has no dirty tracking: EACCES.
 */
TEST_F_TIMEOUT(group, dirty_pages, GROUP_TIMEOUT)
{
	struct vfio_iommu_type1_info *info;
	struct {
		struct vfio_iommu_type1_dma_unmap unmap;
		struct vfio_bitmap bitmap;
	} unmap = {};
	const __u64 all = (1ULL << BUF_PAGES) - 1;
	__u64 bits[1];

	ASSERT_OK(group_connect(self->container, self->groupfd, variant->type,
				&self->e, self->bdf));
	info = calloc(1, 4096);
	ASSERT_NE(NULL, info);
	info->argsz = 4096;
	ASSERT_OK(ioctl(self->container, VFIO_IOMMU_GET_INFO, info));
	EXPECT_NE(NULL, info_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION));
	free(info);
	ASSERT_OK(map_dma(self->container, self->a, IOVA_A, BUF_LEN, MAP_RW));
	if (variant->type == VFIO_TYPE1_IOMMU) {
		EXPECT_ERR(EACCES, dirty_flag(self->container,
					      VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
		return;
	}
	ASSERT_OK(dirty_flag(self->container,
			     VFIO_IOMMU_DIRTY_PAGES_FLAG_START));

	/* The device copies page 0's first 2 KiB into page 5 */
	fill_pattern(self->a, BUF_LEN, 8);
	EXPECT_OK(dma_round_trip(&self->e, IOVA_A, self->a,
				 IOVA_A + 5 * page_size,
				 self->a + 5 * page_size));
	bits[0] = 0;
	ASSERT_OK(dirty_bitmap(self->container, IOVA_A, BUF_LEN, bits));
	EXPECT_NE(0, bits[0] & 1ULL << 5);
	EXPECT_EQ(all, bits[0]);

	unmap.unmap.argsz = sizeof(unmap);
	unmap.unmap.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	unmap.unmap.iova = IOVA_A;
	unmap.unmap.size = BUF_LEN;
	unmap.bitmap.pgsize = page_size;
	unmap.bitmap.size = sizeof(bits);
	unmap.bitmap.data = bits;
	bits[0] = 0;
	ASSERT_OK(ioctl(self->container, VFIO_IOMMU_UNMAP_DMA, &unmap));
	EXPECT_EQ(BUF_LEN, unmap.unmap.size);
	EXPECT_EQ(all, bits[0]);
	ASSERT_OK(dirty_flag(self->container,
			     VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
}

/*
 * The steps that end a group-path user, in one order each: 'U' unset the
 * container, 'C' close the container, 'D' close the device, 'G' close the
 * group. 'U' needs the group open.
 */
static const char *const close_orders[] = {
	"CDG", "CGD", "DCG", "DGC", "GCD", "GDC",
	"UCDG", "UCGD", "UDCG", "UDGC", "UGCD", "UGDC",
	"CUDG", "CUGD", "DUCG", "DUGC", "CDUG", "DCUG",
};

/*
 * Every order in which a VFIO user can let go of the container, the group
 * and the device, with and without VFIO_GROUP_UNSET_CONTAINER: the device
 * keeps DMAing correctly for as long as its fd is open, whatever was closed
 * before, and once all is closed nothing stays pinned and the next user
 * starts from scratch. The order "UCDG" is the use-after-free of a context
 * freed under a bound device.
 */
TEST_F_TIMEOUT(group, close_orders, GROUP_TIMEOUT)
{
	long pin0 = proc_status_kib(variant->pin_key);
	unsigned int o;

	ASSERT_LE(0, pin0);
	for (o = 0; o != ARRAY_SIZE(close_orders); o++) {
		const char *order = close_orders[o], *step;
		__u32 seed = 10 + o;

		if (self->container < 0) {
			self->container = open(variant->container_path,
					       O_RDWR | O_CLOEXEC);
			ASSERT_LE(0, self->container);
		}
		if (self->groupfd < 0) {
			self->groupfd = vfio_group_open(self->bdf, false);
			ASSERT_LE(0, self->groupfd);
		}
		ASSERT_OK(group_connect(self->container, self->groupfd,
					variant->type, &self->e, self->bdf))
			TH_LOG("order %s", order);
		ASSERT_OK(map_dma(self->container, self->a, IOVA_A, BUF_LEN,
				  MAP_RW));
		ASSERT_OK(map_dma(self->container, self->huge, IOVA_HUGE,
				  HUGE_LEN, MAP_RW));
		ASSERT_EQ(pin0 + (long)(BUF_LEN + HUGE_LEN) / 1024,
			  proc_status_kib(variant->pin_key));

		for (step = order; *step; step++) {
			switch (*step) {
			case 'U':
				ASSERT_OK(unset_container(self->groupfd));
				break;
			case 'C':
				ASSERT_OK(close(self->container));
				self->container = -1;
				break;
			case 'D':
				ASSERT_OK(edu_close(&self->e));
				break;
			case 'G':
				ASSERT_OK(close(self->groupfd));
				self->groupfd = -1;
				break;
			}
			if (self->e.devfd < 0)
				continue;
			/* Whatever went, the device's mappings are intact */
			fill_pattern(self->a, BUF_LEN, seed++);
			EXPECT_OK(dma_round_trip(&self->e, IOVA_A, self->a,
						 IOVA_HUGE + 0x1000,
						 self->huge + 0x1000))
				TH_LOG("order %s after %c", order, *step);
		}
		EXPECT_EQ(pin0, proc_status_kib(variant->pin_key))
			TH_LOG("order %s left pages pinned", order);
	}
}

/*
 * A group is in one container at a time: another container cannot take it
 * while it is set, and unsetting it (with the device closed) frees it for
 * another, where the device works again.
 */
TEST_F_TIMEOUT(group, group_moves_between_containers, GROUP_TIMEOUT)
{
	int other;

	ASSERT_OK(group_connect(self->container, self->groupfd, variant->type,
				&self->e, self->bdf));
	other = open(variant->container_path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, other);
	EXPECT_ERR(EINVAL, set_container(self->groupfd, other));

	ASSERT_OK(edu_close(&self->e));
	ASSERT_OK(unset_container(self->groupfd));
	EXPECT_NE(0, unset_container(self->groupfd));

	ASSERT_OK(group_connect(other, self->groupfd, variant->type, &self->e,
				self->bdf));
	ASSERT_OK(map_dma(other, self->a, IOVA_A, BUF_LEN, MAP_RW));
	ASSERT_OK(map_dma(other, self->b, IOVA_B, BUF_LEN, MAP_RW));
	EXPECT_OK(dma_round_trip(&self->e, IOVA_A, self->a, IOVA_B, self->b));
	ASSERT_OK(edu_close(&self->e));
	ASSERT_OK(close(other));
}

TEST_HARNESS_MAIN
