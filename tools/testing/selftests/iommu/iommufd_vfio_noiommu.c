// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd_vfio_noiommu.c - VFIO's unsafe no-IOMMU mode on iommufd's
 * container.
 *
 * With vfio.enable_unsafe_noiommu_mode=1 VFIO gives a device that no IOMMU
 * translates to a user with CAP_SYS_RAWIO, in a fake group
 * /dev/vfio/noiommu-N. The user programs physical addresses into the
 * device itself (DPDK does, on machines without an IOMMU). The container
 * (/dev/vfio/vfio, which iommufd serves, or a /dev/iommu fd) then only
 * has to agree: VFIO_SET_IOMMU(VFIO_NOIOMMU_IOMMU), and nothing to map.
 *
 * The VM (scripts/suites/noiommu) has an edu and no vIOMMU; its edu
 * reaches all of RAM (dma_mask), so the test can DMA to whatever page the
 * kernel gave it, found through /proc/self/pagemap.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>

#include "../kselftest_harness.h"
#include "iommufd_edu.h"
#include "iommufd_test_util.h"

#define XFER	256

/* The physical address of the byte at @va, or 0 if not known */
static __u64 phys_addr(const void *va)
{
	uintptr_t vpn = (uintptr_t)va / page_size;
	__u64 entry = 0;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (pread(fd, &entry, sizeof(entry), vpn * sizeof(entry)) !=
	    sizeof(entry))
		entry = 0;
	close(fd);
	/* Bit 63: present; bits 0-54: the PFN (zero without CAP_SYS_ADMIN) */
	if (!(entry >> 63) || !(entry & ((1ULL << 55) - 1)))
		return 0;
	return (entry & ((1ULL << 55) - 1)) * page_size +
	       (uintptr_t)va % page_size;
}

/* edu_dma() to a bus address, with no IOVA limit: the VM's edu has none */
static int edu_dma_phys(struct edu *e, bool to_ram, __u64 addr, __u32 len)
{
	__u64 dev = EDU_BUF_ADDR;
	int rc;

	rc = edu_dma_wait(e);
	if (rc)
		return rc;
	edu_write64(e, EDU_REG_DMA_SRC, to_ram ? dev : addr);
	edu_write64(e, EDU_REG_DMA_DST, to_ram ? addr : dev);
	edu_write64(e, EDU_REG_DMA_CNT, len);
	edu_write64(e, EDU_REG_DMA_CMD,
		    EDU_DMA_RUN | (to_ram ? EDU_DMA_TO_RAM : 0));
	return edu_dma_wait(e);
}

/* Is VFIO's unsafe no-IOMMU mode on? */
static bool noiommu_enabled(void)
{
	char val[8];

	return !sysfs_read("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode",
			   val, sizeof(val)) && val[0] == 'Y';
}

static int vfio_val(int fd, unsigned long request, unsigned long arg)
{
	int rc = ioctl(fd, request, arg);

	return rc < 0 ? -errno : rc;
}

FIXTURE(noiommu)
{
	char bdf[32];
	struct edu e;
	int container;
	int groupfd;
	char *buf;	/* two locked pages */
};

FIXTURE_VARIANT(noiommu)
{
	const char *container_path;
};

FIXTURE_VARIANT_ADD(noiommu, vfio)
{
	.container_path = "/dev/vfio/vfio",
};

FIXTURE_VARIANT_ADD(noiommu, iommufd)
{
	.container_path = IOMMUFD_PATH,
};

FIXTURE_SETUP(noiommu)
{
	__u64 mode;

	self->container = -1;
	self->groupfd = -1;
	self->e.devfd = -1;
	if (edu_find(self->bdf, sizeof(self->bdf)))
		SKIP(return,
		     "no QEMU edu device: this test runs in scripts/suites/noiommu");
	if (!noiommu_enabled())
		SKIP(return,
		     "vfio.enable_unsafe_noiommu_mode is off: this test runs in scripts/suites/noiommu");
	ASSERT_OK(edu_use_vfio_pci(self->bdf));

	self->container = open(variant->container_path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->container);
	/* Ours, not VFIO's own container: it answers iommufd's ioctls */
	ASSERT_OK(option_get(self->container, IOMMU_OPTION_RLIMIT_MODE, 0,
			     &mode));
	/* A device with no IOMMU gets a no-IOMMU group when VFIO takes it */
	self->groupfd = vfio_group_open(self->bdf, true);
	ASSERT_LE(0, self->groupfd);

	self->buf = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	/* No IOMMU pins it for us: the pages must not move while DMA runs */
	ASSERT_OK(mlock(self->buf, 2 * page_size));
}

FIXTURE_TEARDOWN(noiommu)
{
	edu_close(&self->e);
	if (self->groupfd >= 0)
		close(self->groupfd);
	if (self->container >= 0)
		close(self->container);
}

/*
 * The whole no-IOMMU path: the extension is offered, the group joins, the
 * container turns no-IOMMU (type1 no longer offered), and the device, told
 * physical addresses, moves bytes from one page to the other.
 */
TEST_F(noiommu, dma_by_physical_address)
{
	int container = self->container;
	__u64 pa, pb;

	EXPECT_EQ(1, vfio_val(container, VFIO_CHECK_EXTENSION,
			      VFIO_NOIOMMU_IOMMU));
	ASSERT_OK(ioctl(self->groupfd, VFIO_GROUP_SET_CONTAINER, &container));
	EXPECT_EQ(0, vfio_val(container, VFIO_CHECK_EXTENSION,
			      VFIO_TYPE1v2_IOMMU));
	EXPECT_ERR(ENODEV, vfio_val(container, VFIO_SET_IOMMU,
				    VFIO_TYPE1v2_IOMMU));
	ASSERT_OK(vfio_val(container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU));
	ASSERT_OK(edu_open_group(&self->e, self->bdf, self->groupfd));

	pa = phys_addr(self->buf);
	pb = phys_addr(self->buf + page_size);
	ASSERT_NE(0, pa);
	ASSERT_NE(0, pb);
	fill_pattern(self->buf, XFER, 7);
	memset(self->buf + page_size, 0, XFER);
	ASSERT_OK(edu_dma_phys(&self->e, false, pa, XFER));
	ASSERT_OK(edu_dma_phys(&self->e, true, pb, XFER));
	/* mlock() does not stop migration: the pages must not have moved */
	ASSERT_EQ(pa, phys_addr(self->buf));
	ASSERT_EQ(pb, phys_addr(self->buf + page_size));
	EXPECT_EQ(-1, first_diff(self->buf, self->buf + page_size, XFER));
}

/* Nothing is translated, so there is nothing to map or ask about */
TEST_F(noiommu, no_mappings)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)self->buf,
		.iova = 0x100000,
		.size = page_size,
	};
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	int container = self->container;

	ASSERT_OK(ioctl(self->groupfd, VFIO_GROUP_SET_CONTAINER, &container));
	ASSERT_OK(vfio_val(container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU));
	EXPECT_ERR(EINVAL, ifd_ioctl(container, VFIO_IOMMU_MAP_DMA, &map));
	EXPECT_ERR(EINVAL, ifd_ioctl(container, VFIO_IOMMU_GET_INFO, &info));
}

static int set_noiommu_without_rawio(void *arg)
{
	int container = *(int *)arg;

	if (drop_capability(CAP_SYS_RAWIO))
		return child_failed(1, "dropping CAP_SYS_RAWIO");
	if (vfio_val(container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU) != -EPERM)
		return child_failed(2, "VFIO_SET_IOMMU did not fail with EPERM");
	return 0;
}

/*
 * CAP_SYS_RAWIO is checked again when the container is set to no-IOMMU,
 * so a process handed the descriptors without it cannot get the device.
 */
TEST_F(noiommu, set_iommu_needs_rawio)
{
	int container = self->container;

	ASSERT_OK(ioctl(self->groupfd, VFIO_GROUP_SET_CONTAINER, &container));
	EXPECT_EQ(0, run_in_child(set_noiommu_without_rawio, &container));
	/* Still possible for the process that has it */
	EXPECT_OK(vfio_val(container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU));
}

TEST_HARNESS_MAIN
