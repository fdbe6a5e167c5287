// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd_real.c - iommufd with a real IOMMU and a real DMA engine: QEMU's
 * emulated IOMMUs (Intel VT-d, AMD-Vi, and arm64 virt's SMMUv3) and its
 * "edu" PCI device, driven from userspace through the VFIO device cdev
 * bound to /dev/iommu.
 *
 * Every test gets, from the "real" fixture, the edu device bound to
 * vfio-pci, its cdev bound to a fresh iommufd, an IOAS the device is
 * attached to (through the HWPT the kernel made for it), and three
 * BUF_LEN buffers. The tests then map buffers, have the device copy bytes
 * between its own 4 KiB buffer and IOVAs (iommufd_edu.h), and look at the
 * buffers: data must land exactly where the IOAS says, and nowhere when
 * the IOVA is not mapped (or not mapped for that direction, or no longer
 * mapped, or the device is detached). They also replace the IOAS and the
 * HWPT under the attached device, allocate HWPTs, read IOMMU_GET_HW_INFO
 * and follow the pinned-page accounting through VmPin.
 *
 * "Blocked" is two facts: the buffers keep their bytes, and the IOMMU
 * reported the fault: its fault interrupt, counted in /proc/interrupts,
 * fired (the kernel's fault log lines are rate-limited, the interrupt count
 * is not). Correct DMA must not make it fire.
 *
 * The same tests run on every IOMMU; what really differs between them is
 * in real_iommus[] (iommufd_real.h), each entry with its reason. Runs in the vtd, amd
 * and smmuv3 VMs (scripts/suites/). Without an edu device behind an IOMMU
 * every test is skipped, saying why.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>

#include "../kselftest_harness.h"
#include "iommufd_real.h"

#define BUF_PAGES 16
#define BUF_LEN (BUF_PAGES * page_size)
#define BUF_KIB ((long)(BUF_LEN / 1024))

/* IOVAs the tests use: all below the edu's 28-bit limit */
#define IOVA_A		0x100000ULL
#define IOVA_B		0x200000ULL
#define IOVA_HOLE	0x300000ULL	/* never mapped */
#define IOVA_C		0x400000ULL
#define IOVA_HUGE	0x800000ULL	/* 2 MiB aligned */
#define IOVA_FRAG	0x1000000ULL

/* Emulated DMA under TCG on a busy machine: be generous */
#define REAL_TIMEOUT 300

FIXTURE(real)
{
	struct edu e;
	const struct real_iommu *iommu;
	int fd;			/* /dev/iommu */
	__u32 ioas_id;
	__u32 hwpt_id;		/* what the attach in setup used */
	char *a, *b, *c;	/* BUF_LEN each */
	char *save;		/* BUF_LEN, for "unchanged" checks */
};

FIXTURE_SETUP(real)
{
	char bdf[32];
	__u32 pt_id;
	int rc;

	self->fd = -1;
	self->e.devfd = -1;
	rc = edu_find(bdf, sizeof(bdf));
	if (rc)
		SKIP(return,
		     "no QEMU edu device (PCI %04x:%04x): this test runs in the real-IOMMU VMs (scripts/suites/vtd, amd, smmuv3)",
		     EDU_VENDOR, EDU_DEVICE);
	/*
	 * Binding vfio-pci first: where the firmware is a device tree (arm64
	 * virt), a device gets its IOMMU group only when a driver probes it
	 */
	rc = edu_use_vfio_pci(bdf);
	if (!pci_has_iommu_group(bdf))
		SKIP(return,
		     "the edu device %s is not behind an IOMMU (QEMU's intel-iommu, amd-iommu or virt's smmuv3)",
		     bdf);
	ASSERT_OK(rc);
	self->iommu = real_iommu_of(bdf);
	ASSERT_NE(NULL, self->iommu)
		TH_LOG("the IOMMU of %s is none this test knows", bdf);
	ASSERT_LE(0, irq_count(self->iommu->fault_irqs))
		TH_LOG("no %s fault interrupt in /proc/interrupts",
		       self->iommu->name);

	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_OK(edu_open(&self->e, bdf, self->fd));
	ASSERT_OK(ioas_alloc(self->fd, &self->ioas_id));
	pt_id = self->ioas_id;
	ASSERT_OK(vfio_attach_pt(self->e.devfd, &pt_id));
	ASSERT_NE(self->ioas_id, pt_id);
	self->hwpt_id = pt_id;

	self->a = alloc_shared(BUF_LEN, page_size);
	self->b = alloc_shared(BUF_LEN, page_size);
	self->c = alloc_shared(BUF_LEN, page_size);
	ASSERT_NE(MAP_FAILED, self->a);
	ASSERT_NE(MAP_FAILED, self->b);
	ASSERT_NE(MAP_FAILED, self->c);
	self->save = malloc(BUF_LEN);
	ASSERT_NE(NULL, self->save);
	fill_pattern(self->a, BUF_LEN, 1);
	fill_pattern(self->b, BUF_LEN, 2);
	fill_pattern(self->c, BUF_LEN, 3);
}

FIXTURE_TEARDOWN(real)
{
	edu_close(&self->e);
	if (self->fd >= 0)
		close(self->fd);
}

/* Map the BUF_LEN bytes at @buf read-write at @iova */
#define map_rw(self, ioas_id, buf, iova) \
	ioas_map_at((self)->fd, ioas_id, buf, BUF_LEN, iova)

/* Map @buf at @iova for the device to read only, or to write only */
static int map_prot(int fd, __u32 ioas_id, void *buf, __u64 iova,
		    __u32 prot)
{
	return ioas_map_flags(fd, ioas_id, buf, BUF_LEN, &iova,
			      IOMMU_IOAS_MAP_FIXED_IOVA | prot);
}

/* The IOMMU's fault interrupts so far */
#define faults(self) irq_count((self)->iommu->fault_irqs)

/*
 * After a DMA the IOMMU must have blocked: it reported the fault, or, where
 * @reported is false because this IOMMU blocks that case silently
 * (real_iommus[]), it did not.
 */
#define EXPECT_FAULT(before, reported)                                     \
	do {                                                               \
		long long __before = (before);                             \
		if (reported) {                                            \
			EXPECT_TRUE(fault_reported(self->iommu, __before)) \
				TH_LOG("%s reported no fault",             \
				       self->iommu->name);                 \
		} else {                                                   \
			EXPECT_EQ(__before, faults(self));                 \
		}                                                          \
	} while (0)

/* The IOMMU_GET_HW_INFO of device @dev_id, into @data of @len bytes */
static int hw_info(int fd, __u32 dev_id, struct iommu_hw_info *info,
		   void *data, __u32 len)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	info->dev_id = dev_id;
	info->data_len = len;
	info->data_uptr = (uintptr_t)data;
	return ifd_ioctl(fd, IOMMU_GET_HW_INFO, info);
}

/*
 * The VT-d driver describes the unit the edu sits behind: the same cap and
 * ecap registers the DMAR driver shows in sysfs.
 */
static void check_vtd_info(struct __test_metadata *_metadata,
			   const char *bdf,
			   const struct iommu_hw_info_vtd *vtd)
{
	unsigned long long cap, ecap;
	unsigned int mgaw, sagaw;
	char path[PATH_MAX];

	EXPECT_EQ(0, vtd->flags & ~IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17);
	EXPECT_EQ(0, vtd->__reserved);
	TH_LOG("VT-d cap 0x%llx ecap 0x%llx flags 0x%x",
	       (unsigned long long)vtd->cap_reg,
	       (unsigned long long)vtd->ecap_reg, vtd->flags);

	pci_path(path, sizeof(path), bdf, "iommu/intel-iommu/cap");
	ASSERT_OK(sysfs_read_hex(path, &cap));
	pci_path(path, sizeof(path), bdf, "iommu/intel-iommu/ecap");
	ASSERT_OK(sysfs_read_hex(path, &ecap));
	EXPECT_EQ(cap, vtd->cap_reg);
	EXPECT_EQ(ecap, vtd->ecap_reg);

	/* Plausible: MGAW (bits 21:16) + 1 in 39..57, SAGAW 39 or 48 bit */
	mgaw = ((vtd->cap_reg >> 16) & 0x3f) + 1;
	sagaw = (vtd->cap_reg >> 8) & 0x1f;
	EXPECT_LE(39, mgaw);
	EXPECT_GE(57, mgaw);
	EXPECT_NE(0, sagaw & 0x6);
	/* Queued invalidation (ecap bit 1), which the driver insists on */
	EXPECT_NE(0, vtd->ecap_reg & 0x2);
}

/*
 * IOMMU_GET_HW_INFO gives the driver's own data, of its type and size (none
 * at all from a driver without hw_info), and what the device and IOMMU can
 * do together (edu has no PASID capability). A shorter buffer gets the
 * start of the data, a zero-length one its length; asking for the
 * driver's type by name works, for another type fails.
 */
TEST_F_TIMEOUT(real, hw_info, REAL_TIMEOUT)
{
	const struct real_iommu *iommu = self->iommu;
	struct iommu_hw_info info;
	__u8 data[256], want[256];

	memset(data, 0xa5, sizeof(data));
	ASSERT_OK(hw_info(self->fd, self->e.dev_id, &info, data,
			  sizeof(data)));
	EXPECT_EQ(iommu->hw_info_type, info.out_data_type);
	EXPECT_EQ(iommu->hw_info_len, info.data_len);
	EXPECT_EQ(0, info.out_max_pasid_log2);
	TH_LOG("%s: hw_info type %u, %u bytes, capabilities 0x%llx",
	       iommu->name, info.out_data_type, info.data_len,
	       (unsigned long long)info.out_capabilities);
	/* What the driver did not fill was zeroed */
	EXPECT_TRUE(all_bytes(data + iommu->hw_info_len, 0,
			      sizeof(data) - iommu->hw_info_len));
	if (iommu->hw_info_type == IOMMU_HW_INFO_TYPE_INTEL_VTD)
		check_vtd_info(_metadata, self->e.bdf, (void *)data);
	memcpy(want, data, sizeof(want));

	/* A zero-length buffer asks for the length */
	ASSERT_OK(hw_info(self->fd, self->e.dev_id, &info, NULL, 0));
	EXPECT_EQ(iommu->hw_info_len, info.data_len);
	EXPECT_EQ(iommu->hw_info_type, info.out_data_type);

	/* A shorter buffer gets the start of the data */
	memset(data, 0xa5, sizeof(data));
	ASSERT_OK(hw_info(self->fd, self->e.dev_id, &info, data, 8));
	EXPECT_EQ(iommu->hw_info_len, info.data_len);
	EXPECT_EQ(-1, first_diff(data, want, 8));
	EXPECT_TRUE(all_bytes(data + 8, 0xa5, sizeof(data) - 8));

	/* Asking for its own format by name works, for another fails */
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.dev_id = self->e.dev_id;
	info.flags = IOMMU_HW_INFO_FLAG_INPUT_TYPE;
	info.in_data_type = iommu->hw_info_type;
	EXPECT_OK(ifd_ioctl(self->fd, IOMMU_GET_HW_INFO, &info));
	EXPECT_EQ(iommu->hw_info_type, info.out_data_type);
	info.in_data_type = IOMMU_HW_INFO_TYPE_INTEL_VTD + 1;
	EXPECT_ERR(EOPNOTSUPP, ifd_ioctl(self->fd, IOMMU_GET_HW_INFO, &info));
}

/*
 * Attached to a domain of the IOMMU, the IOAS loses the interrupt window
 * and everything beyond the domain's address width, and wants the IOMMU's
 * smallest page (the CPU's page here) as alignment.
 */
TEST_F_TIMEOUT(real, iova_ranges, REAL_TIMEOUT)
{
	const __u64 msi_start = self->iommu->msi_start;
	const __u64 msi_last = self->iommu->msi_last;
	struct iommu_iova_range r[16];
	bool below = false, above = false;
	__u32 num = 16, i;
	__u64 align, end;

	ASSERT_OK(ioas_ranges(self->fd, self->ioas_id, r, &num, &align));
	ASSERT_LE(2, num);
	EXPECT_EQ(page_size, align);
	EXPECT_EQ(0, r[0].start);
	for (i = 0; i != num; i++) {
		TH_LOG("usable IOVA [0x%llx, 0x%llx]",
		       (unsigned long long)r[i].start,
		       (unsigned long long)r[i].last);
		EXPECT_TRUE(r[i].last < msi_start || r[i].start > msi_last);
		if (r[i].last == msi_start - 1)
			below = true;
		if (r[i].start == msi_last + 1)
			above = true;
	}
	EXPECT_TRUE(below);
	EXPECT_TRUE(above);
	/*
	 * The last usable IOVA is the top of a 2^n address width (all 64
	 * bits with AMD-Vi's six-level v1 table)
	 */
	end = r[num - 1].last + 1;
	EXPECT_EQ(0, end & (end - 1));
	EXPECT_TRUE(!end || end >= 1ULL << 32);

	/* Mapping into the window is refused, right next to it is fine */
	EXPECT_ERR(EINVAL, ioas_map_at(self->fd, self->ioas_id, self->a,
				       page_size, msi_start));
	EXPECT_ERR(EINVAL, ioas_map_at(self->fd, self->ioas_id, self->a,
				       2 * page_size, msi_start - page_size));
	EXPECT_OK(ioas_map_at(self->fd, self->ioas_id, self->a, page_size,
			      msi_start - page_size));
	EXPECT_OK(ioas_map_at(self->fd, self->ioas_id, self->b, page_size,
			      msi_last + 1));
	/* Misaligned for the IOMMU page */
	EXPECT_ERR(EINVAL, ioas_map_at(self->fd, self->ioas_id, self->c,
				       page_size, IOVA_A + 512));
}

/*
 * Both directions, at several sizes and offsets, some crossing a page
 * boundary on the RAM side: RAM -> device from @a, device -> RAM into @b,
 * and @b must then hold exactly @a's bytes, moved, and nothing else.
 */
TEST_F_TIMEOUT(real, dma_both_ways, REAL_TIMEOUT)
{
	static const struct {
		__u32 len, src_off, dev_off, dst_off;
	} t[] = {
		{ 1, 0, 0, 0 },
		{ 8, 8, 0x10, 0x18 },
		{ 64, 0x3c0, 0x100, 0x1fe0 },	/* dst crosses a page */
		{ 256, 0xff0, 0x7f0, 0x5000 },	/* src crosses a page */
		{ 1000, 0x1234, 0x321, 0x9876 },
		{ 2048, 0, 0, 0 },
		{ 2048, 0x3c00, 0x7ff, 0xf800 },	/* device 0x7ff..0xffe */
		{ 2047, 0x1801, 0x800, 0x6801 },
	};
	long long before;
	unsigned int i;

	ASSERT_OK(map_rw(self, self->ioas_id, self->a, IOVA_A));
	ASSERT_OK(map_rw(self, self->ioas_id, self->b, IOVA_B));

	before = faults(self);
	for (i = 0; i != ARRAY_SIZE(t); i++) {
		fill_pattern(self->a, BUF_LEN, 100 + i);
		memset(self->b, 0xee, BUF_LEN);
		memcpy(self->save, self->a, BUF_LEN);

		ASSERT_OK(edu_from_ram(&self->e, IOVA_A + t[i].src_off,
				       t[i].dev_off, t[i].len));
		ASSERT_OK(edu_to_ram(&self->e, t[i].dev_off,
				     IOVA_B + t[i].dst_off, t[i].len));

		EXPECT_EQ(-1, first_diff(self->b + t[i].dst_off,
					 self->a + t[i].src_off, t[i].len));
		EXPECT_TRUE(all_bytes(self->b, 0xee, t[i].dst_off));
		EXPECT_TRUE(all_bytes(self->b + t[i].dst_off + t[i].len, 0xee,
				      BUF_LEN - t[i].dst_off - t[i].len));
		/* The source was only read */
		EXPECT_EQ(-1, first_diff(self->a, self->save, BUF_LEN));
		if (_metadata->exit_code)
			TH_LOG("case %u: %u bytes from 0x%llx via device 0x%x to 0x%llx",
			       i, t[i].len,
			       (unsigned long long)(IOVA_A + t[i].src_off),
			       t[i].dev_off,
			       (unsigned long long)(IOVA_B + t[i].dst_off));
	}
	/* None of that was a fault */
	EXPECT_EQ(before, faults(self));
}

/*
 * Several mappings at once, including IOVA 0 and one just below the
 * device's 256 MiB limit: each IOVA leads to its own buffer.
 */
TEST_F_TIMEOUT(real, multiple_mappings, REAL_TIMEOUT)
{
	const __u64 iova_top = EDU_ADDR_LIMIT - 2 * BUF_LEN;

	ASSERT_OK(map_rw(self, self->ioas_id, self->a, 0));
	ASSERT_OK(map_rw(self, self->ioas_id, self->b, IOVA_B));
	ASSERT_OK(map_rw(self, self->ioas_id, self->c, iova_top));
	memcpy(self->save, self->c, BUF_LEN);

	/* c -> device -> a and b, at different offsets */
	ASSERT_OK(edu_from_ram(&self->e, iova_top + 0x2345, 0x100, 1500));
	ASSERT_OK(edu_to_ram(&self->e, 0x100, 0x10, 1500));
	ASSERT_OK(edu_to_ram(&self->e, 0x100, IOVA_B + BUF_LEN - 1500, 1500));
	EXPECT_EQ(-1, first_diff(self->a + 0x10, self->c + 0x2345, 1500));
	EXPECT_EQ(-1, first_diff(self->b + BUF_LEN - 1500, self->c + 0x2345,
				 1500));
	EXPECT_EQ(-1, first_diff(self->c, self->save, BUF_LEN));

	/* a -> device -> c */
	ASSERT_OK(edu_from_ram(&self->e, 0x3000, 0, 2048));
	ASSERT_OK(edu_to_ram(&self->e, 0, iova_top + BUF_LEN - 2048, 2048));
	EXPECT_EQ(-1, first_diff(self->c + BUF_LEN - 2048, self->a + 0x3000,
				 2048));
	EXPECT_EQ(-1, first_diff(self->c, self->save, BUF_LEN - 2048));
}

/*
 * IOVAs of the kernel's choosing, steered below the device's limit with
 * IOMMU_IOAS_ALLOW_IOVAS.
 */
TEST_F_TIMEOUT(real, kernel_chosen_iova, REAL_TIMEOUT)
{
	struct iommu_iova_range allow = {
		.start = 0x1000000, .last = 0x1ffffff,
	};
	__u64 iova_a, iova_b;

	ASSERT_OK(ioas_allow(self->fd, self->ioas_id, &allow, 1));
	ASSERT_OK(ioas_map_any(self->fd, self->ioas_id, self->a, BUF_LEN,
			       &iova_a));
	ASSERT_OK(ioas_map_any(self->fd, self->ioas_id, self->b, BUF_LEN,
			       &iova_b));
	TH_LOG("the kernel chose IOVA 0x%llx and 0x%llx",
	       (unsigned long long)iova_a, (unsigned long long)iova_b);
	EXPECT_LE(allow.start, iova_a);
	EXPECT_GE(allow.last, iova_a + BUF_LEN - 1);
	EXPECT_LE(allow.start, iova_b);
	EXPECT_GE(allow.last, iova_b + BUF_LEN - 1);
	EXPECT_EQ(0, iova_a % page_size);

	ASSERT_OK(edu_from_ram(&self->e, iova_a + 0x777, 0x10, 2000));
	ASSERT_OK(edu_to_ram(&self->e, 0x10, iova_b + 0x2000, 2000));
	EXPECT_EQ(-1, first_diff(self->b + 0x2000, self->a + 0x777, 2000));
}

/*
 * A 2 MiB huge page at a 2 MiB aligned IOVA, which VT-d can map with one
 * large IOPTE: every part of it is reached at the right offset.
 */
TEST_F_TIMEOUT(real, huge_page_mapping, REAL_TIMEOUT)
{
	static const __u32 offs[] = { 0, 0x1000, 0x123450, 0x1ff800 };
	const size_t huge = 2UL << 20;
	unsigned int i;
	char *h;

	h = mmap(NULL, huge, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (h == MAP_FAILED)
		SKIP(return, "no 2 MiB huge page (vm.nr_hugepages)");
	fill_pattern(h, huge, 7);
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, h, huge, IOVA_HUGE));
	ASSERT_OK(map_rw(self, self->ioas_id, self->b, IOVA_B));

	for (i = 0; i != ARRAY_SIZE(offs); i++) {
		/* huge page -> b, then b (changed) -> huge page */
		ASSERT_OK(edu_from_ram(&self->e, IOVA_HUGE + offs[i], 0, 2048));
		ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_B, 2048));
		EXPECT_EQ(-1, first_diff(self->b, h + offs[i], 2048));

		fill_pattern(self->b, 2048, 200 + i);
		ASSERT_OK(edu_from_ram(&self->e, IOVA_B, 0x800, 2047));
		ASSERT_OK(edu_to_ram(&self->e, 0x800, IOVA_HUGE + offs[i],
				     2047));
		EXPECT_EQ(-1, first_diff(h + offs[i], self->b, 2047));
	}
	EXPECT_OK(ioas_unmap(self->fd, self->ioas_id, IOVA_HUGE, huge, NULL));
	munmap(h, huge);
}

/*
 * The device writes to an IOVA nothing is mapped at, between two
 * mappings: the IOMMU blocks it and no buffer changes.
 */
TEST_F_TIMEOUT(real, dma_to_unmapped_iova_blocked, REAL_TIMEOUT)
{
	long long before;
	char *save_c;

	ASSERT_OK(map_rw(self, self->ioas_id, self->a, IOVA_A));
	ASSERT_OK(map_rw(self, self->ioas_id, self->c, IOVA_C));
	memcpy(self->save, self->a, BUF_LEN);
	save_c = malloc(BUF_LEN);
	ASSERT_NE(NULL, save_c);
	memcpy(save_c, self->c, BUF_LEN);

	/* Load the device buffer with b's bytes, through a mapping */
	ASSERT_OK(map_rw(self, self->ioas_id, self->b, IOVA_B));
	ASSERT_OK(edu_from_ram(&self->e, IOVA_B, 0, 2048));

	before = faults(self);
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_HOLE, 2048));
	EXPECT_FAULT(before, self->iommu->faults_reported);
	/* Right after the end of a mapping */
	before = faults(self);
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_A + BUF_LEN, 2048));
	EXPECT_FAULT(before, self->iommu->faults_reported);
	EXPECT_EQ(-1, first_diff(self->a, self->save, BUF_LEN));
	EXPECT_EQ(-1, first_diff(self->c, save_c, BUF_LEN));

	/* The device still works, and its buffer still holds b's bytes */
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_C, 2048));
	EXPECT_EQ(-1, first_diff(self->c, self->b, 2048));
	free(save_c);
}

/*
 * A transfer that runs off the end of a mapping: the mapped part lands,
 * the IOMMU stops the rest.
 */
TEST_F_TIMEOUT(real, dma_across_mapping_end, REAL_TIMEOUT)
{
	long long before;

	ASSERT_OK(map_rw(self, self->ioas_id, self->a, IOVA_A));
	ASSERT_OK(map_rw(self, self->ioas_id, self->b, IOVA_B));
	memcpy(self->save, self->a, BUF_LEN);

	ASSERT_OK(edu_from_ram(&self->e, IOVA_B, 0, 2048));
	before = faults(self);
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_A + BUF_LEN - 1024, 2048));
	EXPECT_FAULT(before, self->iommu->faults_reported);
	EXPECT_EQ(-1, first_diff(self->a + BUF_LEN - 1024, self->b, 1024));
	EXPECT_EQ(-1, first_diff(self->a, self->save, BUF_LEN - 1024));
}

/*
 * A mapping without IOMMU_IOAS_MAP_WRITEABLE: the device may read it, its
 * writes are blocked. The first write is also reported. A write after the
 * device has read the page is blocked all the same, but QEMU 7.2's
 * emulations check a translation they have cached (IOTLB hit) without
 * reporting the fault, so only the data is checked then.
 */
TEST_F_TIMEOUT(real, readonly_mapping, REAL_TIMEOUT)
{
	long long before;

	ASSERT_OK(map_prot(self->fd, self->ioas_id, self->a, IOVA_A, IOMMU_IOAS_MAP_READABLE));
	ASSERT_OK(map_rw(self, self->ioas_id, self->b, IOVA_B));
	memcpy(self->save, self->a, BUF_LEN);

	fill_pattern(self->b, BUF_LEN, 9);
	ASSERT_OK(edu_from_ram(&self->e, IOVA_B, 0x800, 2047));
	before = faults(self);
	ASSERT_OK(edu_to_ram(&self->e, 0x800, IOVA_A, 2047));
	EXPECT_FAULT(before, self->iommu->faults_reported);
	EXPECT_EQ(-1, first_diff(self->a, self->save, BUF_LEN));

	ASSERT_OK(edu_from_ram(&self->e, IOVA_A + 0x100, 0, 2048));
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_B, 2048));
	EXPECT_EQ(-1, first_diff(self->b, self->a + 0x100, 2048));

	ASSERT_OK(edu_to_ram(&self->e, 0x800, IOVA_A, 2047));
	EXPECT_EQ(-1, first_diff(self->a, self->save, BUF_LEN));
}

/*
 * A mapping without IOMMU_IOAS_MAP_READABLE: the device may write it.
 * Whether it can read it depends on the IOMMU's page table format
 * (real_iommus[], write_only_readable): where it cannot, the read is
 * blocked and reported; where it can, the bytes it read are a's.
 */
TEST_F_TIMEOUT(real, writeonly_mapping, REAL_TIMEOUT)
{
	bool readable = self->iommu->write_only_readable;
	long long before;

	ASSERT_OK(map_prot(self->fd, self->ioas_id, self->a, IOVA_A, IOMMU_IOAS_MAP_WRITEABLE));
	ASSERT_OK(map_rw(self, self->ioas_id, self->b, IOVA_B));
	ASSERT_OK(map_rw(self, self->ioas_id, self->c, IOVA_C));

	/* Device buffer := 0x5a, then read a over it */
	memset(self->b, 0x5a, 2048);
	ASSERT_OK(edu_from_ram(&self->e, IOVA_B, 0, 2048));
	before = faults(self);
	ASSERT_OK(edu_from_ram(&self->e, IOVA_A, 0, 2048));
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_C, 2048));
	if (readable) {
		EXPECT_EQ(-1, first_diff(self->c, self->a, 2048));
		EXPECT_EQ(before, faults(self));
	} else {
		/* What a blocked read gives the device is not defined */
		EXPECT_NE(0, memcmp(self->c, self->a, 2048));
		EXPECT_FAULT(before, self->iommu->faults_reported);
	}

	/* Writing it works, and lands exactly */
	memcpy(self->save, self->a, BUF_LEN);
	fill_pattern(self->b, BUF_LEN, 10);
	ASSERT_OK(edu_from_ram(&self->e, IOVA_B, 0, 2048));
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_A + 0x800, 2048));
	EXPECT_EQ(-1, first_diff(self->a + 0x800, self->b, 2048));
	EXPECT_EQ(-1, first_diff(self->a, self->save, 0x800));
	EXPECT_EQ(-1, first_diff(self->a + 0x1000, self->save + 0x1000,
				 BUF_LEN - 0x1000));
}

/*
 * After IOMMU_IOAS_UNMAP the device reaches the memory no more, in either
 * direction, although the process still has it: the IOTLB was flushed.
 */
TEST_F_TIMEOUT(real, unmap_then_dma_blocked, REAL_TIMEOUT)
{
	long long before;
	__u64 unmapped = 0;

	ASSERT_OK(map_rw(self, self->ioas_id, self->a, IOVA_A));
	ASSERT_OK(map_rw(self, self->ioas_id, self->c, IOVA_C));

	/* It works before, and the IOMMU caches the translation */
	ASSERT_OK(edu_from_ram(&self->e, IOVA_C, 0, 2048));
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_A, 2048));
	EXPECT_EQ(-1, first_diff(self->a, self->c, 2048));
	ASSERT_OK(edu_from_ram(&self->e, IOVA_A + 0x1000, 0x800, 2047));

	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, IOVA_A, BUF_LEN,
			     &unmapped));
	EXPECT_EQ(BUF_LEN, unmapped);

	/* Writes: a keeps its bytes */
	fill_pattern(self->a, BUF_LEN, 11);
	memcpy(self->save, self->a, BUF_LEN);
	before = faults(self);
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_A, 2048));
	EXPECT_FAULT(before, self->iommu->faults_reported);
	EXPECT_EQ(-1, first_diff(self->a, self->save, BUF_LEN));

	/* Reads: the device does not get a's new bytes */
	before = faults(self);
	ASSERT_OK(edu_from_ram(&self->e, IOVA_A + 0x1000, 0x800, 2047));
	EXPECT_FAULT(before, self->iommu->faults_reported);
	ASSERT_OK(edu_to_ram(&self->e, 0x800, IOVA_C, 2047));
	EXPECT_NE(0, memcmp(self->c, self->a + 0x1000, 2047));

	/* Unmapping again finds nothing, and the IOVA stays blocked */
	EXPECT_ERR(ENOENT, ioas_unmap(self->fd, self->ioas_id, IOVA_A,
				      BUF_LEN, NULL));
	before = faults(self);
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_A, 2048));
	EXPECT_FAULT(before, self->iommu->faults_reported);
	EXPECT_EQ(-1, first_diff(self->a, self->save, BUF_LEN));
}

/* Pages of the scattered mapping that frag_dma() has the device use */
static const unsigned int frag_pages[] = { 0, 1, 255, 511, 512, 700, 1023 };

/*
 * The device reads 256 bytes of each of frag_pages[] of the mapping of @p
 * at @iova into b (mapped at IOVA_B), and writes 256 bytes of a (at
 * IOVA_A) into each: every IOPTE leads to the page behind the address.
 */
static void frag_dma(struct __test_metadata *_metadata,
		     struct _test_data_real *self, char *p, __u64 iova)
{
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(frag_pages); i++) {
		__u64 off = (__u64)frag_pages[i] * page_size;

		ASSERT_OK(edu_from_ram(&self->e, iova + off + 0x100, 0, 256));
		ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_B + i * 256, 256));
		EXPECT_EQ(-1, first_diff(self->b + i * 256, p + off + 0x100,
					 256))
			TH_LOG("page %u read wrong", frag_pages[i]);
		ASSERT_OK(edu_from_ram(&self->e, IOVA_A + i * 256, 0x800, 256));
		ASSERT_OK(edu_to_ram(&self->e, 0x800, iova + off + 0x200, 256));
		EXPECT_EQ(-1, first_diff(p + off + 0x200, self->a + i * 256,
					 256))
			TH_LOG("page %u written wrong", frag_pages[i]);
	}
}

/*
 * Physically scattered memory, two whole chunks of the kernel's PFN store
 * (512 pages each), whose PFNs the domain keeps instead of the store
 * (fdinfo pfn_arrays). A second HWPT is filled from the PFNs read
 * back from the first; the device moves there, and the first HWPT goes,
 * leaving the second to keep them. The unmap reads them back, unmaps and
 * unpins in stretches, and the IOVA is blocked after it.
 */
TEST_F_TIMEOUT(real, scattered_memory_kept, REAL_TIMEOUT)
{
	size_t chunk = 512 * page_size, len = 2 * chunk;
	long pin0, arrays0;
	long long before;
	__u32 hwpt2, pt_id;
	char *p;

	p = alloc_fragmented(len, chunk);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, len, 21);
	fill_pattern(self->a, BUF_LEN, 22);
	ASSERT_OK(map_rw(self, self->ioas_id, self->a, IOVA_A));
	ASSERT_OK(map_rw(self, self->ioas_id, self->b, IOVA_B));
	pin0 = proc_status_kib("VmPin");
	arrays0 = fdinfo_num(self->fd, "pfn_arrays");
	ASSERT_LE(0, arrays0);

	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, p, len, IOVA_FRAG));
	EXPECT_EQ(pin0 + (long)(len / 1024), proc_status_kib("VmPin"));
	EXPECT_EQ(arrays0, fdinfo_num(self->fd, "pfn_arrays"));
	frag_dma(_metadata, self, p, IOVA_FRAG);

	ASSERT_OK(hwpt_alloc(self->fd, self->e.dev_id, self->ioas_id, 0,
			     &hwpt2));
	pt_id = hwpt2;
	ASSERT_OK(vfio_attach_pt(self->e.devfd, &pt_id));
	EXPECT_EQ(hwpt2, pt_id);
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, self->hwpt_id));
	fill_pattern(self->a, BUF_LEN, 23);
	frag_dma(_metadata, self, p, IOVA_FRAG);
	EXPECT_EQ(arrays0, fdinfo_num(self->fd, "pfn_arrays"));

	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, IOVA_FRAG, len, NULL));
	EXPECT_EQ(pin0, proc_status_kib("VmPin"));
	EXPECT_EQ(arrays0, fdinfo_num(self->fd, "pfn_arrays"));
	memcpy(self->save, p + chunk + 5 * page_size, BUF_LEN);
	before = faults(self);
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_FRAG + chunk + 5 * page_size,
			     2048));
	EXPECT_FAULT(before, self->iommu->faults_reported);
	EXPECT_EQ(-1, first_diff(p + chunk + 5 * page_size, self->save,
				 BUF_LEN));

	ASSERT_OK(vfio_detach_pt(self->e.devfd));
	EXPECT_OK(obj_destroy(self->fd, hwpt2));
	munmap(p, len);
}

/*
 * IOMMU_HWPT_ALLOC of a paging HWPT on the IOAS, and a detached device
 * attached to it: it serves the IOAS's mappings, old and new, and lives
 * until destroyed, not only while used.
 */
TEST_F_TIMEOUT(real, user_hwpt_attach, REAL_TIMEOUT)
{
	__u32 hwpt_id, pt_id;

	ASSERT_OK(map_rw(self, self->ioas_id, self->a, IOVA_A));
	ASSERT_OK(vfio_detach_pt(self->e.devfd));
	/* The kernel's HWPT went with the last device */
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, self->hwpt_id));

	ASSERT_OK(hwpt_alloc(self->fd, self->e.dev_id, self->ioas_id, 0,
			     &hwpt_id));
	ASSERT_OK(map_rw(self, self->ioas_id, self->b, IOVA_B));
	pt_id = hwpt_id;
	ASSERT_OK(vfio_attach_pt(self->e.devfd, &pt_id));
	EXPECT_EQ(hwpt_id, pt_id);

	ASSERT_OK(edu_from_ram(&self->e, IOVA_A, 0, 2048));
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_B + 0x3000, 2048));
	EXPECT_EQ(-1, first_diff(self->b + 0x3000, self->a, 2048));
	/* A mapping made now reaches the device too */
	ASSERT_OK(map_rw(self, self->ioas_id, self->c, IOVA_C));
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_C, 2048));
	EXPECT_EQ(-1, first_diff(self->c, self->a, 2048));

	EXPECT_ERR(EBUSY, obj_destroy(self->fd, hwpt_id));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, self->ioas_id));

	/* Detached, the HWPT stays, and can be attached again */
	ASSERT_OK(vfio_detach_pt(self->e.devfd));
	pt_id = hwpt_id;
	ASSERT_OK(vfio_attach_pt(self->e.devfd, &pt_id));
	EXPECT_EQ(hwpt_id, pt_id);
	ASSERT_OK(vfio_detach_pt(self->e.devfd));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, self->ioas_id));
	EXPECT_OK(obj_destroy(self->fd, hwpt_id));
}

/*
 * A dirty-tracking HWPT was made for an IOMMU that cannot track: say what
 * it then reports for a page the device certainly wrote.
 */
static void log_dirty_without_capability(struct __test_metadata *_metadata,
					 FIXTURE_DATA(real) * self,
					 __u32 hwpt_id)
{
	__u64 bitmap[BUF_PAGES / 64 + 1] = {};
	unsigned int i, n = 0;
	__u32 pt_id = hwpt_id;

	if (map_rw(self, self->ioas_id, self->a, IOVA_A))
		return;
	if (vfio_attach_pt(self->e.devfd, &pt_id) ||
	    hwpt_set_dirty(self->fd, hwpt_id, true) ||
	    edu_to_ram(&self->e, 0, IOVA_A, 16) ||
	    hwpt_get_dirty(self->fd, hwpt_id, IOVA_A, BUF_LEN, page_size,
			   bitmap, 0)) {
		TH_LOG("the dirty-tracking HWPT did not work at all");
	} else {
		for (i = 0; i != BUF_PAGES; i++)
			n += !!(bitmap[i / 64] & (1ULL << (i % 64)));
		TH_LOG("no dirty tracking capability, yet a HWPT with it: %s %u",
		       "dirty pages reported after a device write:", n);
	}
	pt_id = self->ioas_id;
	vfio_attach_pt(self->e.devfd, &pt_id);
	self->hwpt_id = pt_id;
	ioas_unmap(self->fd, self->ioas_id, IOVA_A, BUF_LEN, NULL);
}

/*
 * Flags the driver does not offer here are refused with EOPNOTSUPP,
 * consistently with what IOMMU_GET_HW_INFO says: dirty tracking without
 * the capability (none of QEMU's IOMMUs tracks dirty pages), a nesting
 * parent where the IOMMU cannot nest (real_iommus[]). So is driver data on
 * an IOAS, and a nested HWPT on a parent that is not a nesting parent.
 */
TEST_F_TIMEOUT(real, hwpt_alloc_refusals, REAL_TIMEOUT)
{
	struct iommu_hwpt_vtd_s1 s1 = { .addr_width = 48 };
	struct iommu_hw_info_vtd vtd = {};
	struct iommu_hwpt_alloc cmd;
	struct iommu_hw_info info;
	bool nest = false;
	__u32 hwpt_id;
	int rc;

	ASSERT_OK(hw_info(self->fd, self->e.dev_id, &info, &vtd, sizeof(vtd)));
	if (self->iommu->nest_parent_by_ecap)
		nest = vtd.ecap_reg & VTD_ECAP_NEST;

	rc = hwpt_alloc(self->fd, self->e.dev_id, self->ioas_id,
			IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt_id);
	if (info.out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING) {
		EXPECT_OK(rc);
	} else {
		EXPECT_ERR(EOPNOTSUPP, rc);
		if (!rc)
			log_dirty_without_capability(_metadata, self, hwpt_id);
	}
	if (!rc)
		EXPECT_OK(obj_destroy(self->fd, hwpt_id));

	rc = hwpt_alloc(self->fd, self->e.dev_id, self->ioas_id,
			IOMMU_HWPT_ALLOC_NEST_PARENT, &hwpt_id);
	TH_LOG("NEST_PARENT: %s (the IOMMU can nest: %s)",
	       rc ? strerror(-rc) : "allocated", nest ? "yes" : "no");
	EXPECT_EQ(nest ? 0 : -EOPNOTSUPP, rc);
	if (!rc)
		EXPECT_OK(obj_destroy(self->fd, hwpt_id));

	EXPECT_ERR(EOPNOTSUPP, hwpt_alloc(self->fd, self->e.dev_id,
					  self->ioas_id, 1U << 7, &hwpt_id));
	EXPECT_ERR(ENOENT, hwpt_alloc(self->fd, self->e.dev_id + 1000,
				      self->ioas_id, 0, &hwpt_id));

	/* Driver data with an IOAS: not for a paging HWPT */
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.dev_id = self->e.dev_id;
	cmd.pt_id = self->ioas_id;
	cmd.data_type = IOMMU_HWPT_DATA_VTD_S1;
	cmd.data_len = sizeof(s1);
	cmd.data_uptr = (uintptr_t)&s1;
	EXPECT_ERR(EOPNOTSUPP, ifd_ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	/* ... and on a HWPT that is no nesting parent */
	cmd.pt_id = self->hwpt_id;
	EXPECT_ERR(EINVAL, ifd_ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));

	/* The device still works after all that */
	ASSERT_OK(map_rw(self, self->ioas_id, self->a, IOVA_A));
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_A, 16));
}

/*
 * Replace: VFIO_DEVICE_ATTACH_IOMMUFD_PT on the attached device with a
 * second IOAS. The same IOVA now leads to the second IOAS's buffer; the
 * first IOAS's buffer is out of reach and unpinned; the kernel's HWPT of
 * the first IOAS is gone. And back again.
 */
TEST_F_TIMEOUT(real, replace_ioas, REAL_TIMEOUT)
{
	struct iommu_iova_range r[8];
	__u32 ioas2, pt_id, hwpt2;
	long pin0;
	__u32 num;

	pin0 = proc_status_kib("VmPin");
	ASSERT_LE(0, pin0);
	ASSERT_OK(ioas_alloc(self->fd, &ioas2));
	ASSERT_OK(map_rw(self, self->ioas_id, self->a, IOVA_A));
	ASSERT_OK(map_rw(self, ioas2, self->b, IOVA_A));
	ASSERT_OK(map_rw(self, ioas2, self->c, IOVA_C));
	/* Only the attached IOAS pins */
	EXPECT_EQ(pin0 + BUF_KIB, proc_status_kib("VmPin"));

	/* Before: IOVA_A is a */
	fill_pattern(self->c, BUF_LEN, 12);
	ASSERT_OK(edu_from_ram(&self->e, IOVA_A + 0x400, 0, 2048));
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_A + 0x2000, 2048));
	EXPECT_EQ(-1, first_diff(self->a + 0x2000, self->a + 0x400, 2048));

	pt_id = ioas2;
	ASSERT_OK(vfio_attach_pt(self->e.devfd, &pt_id));
	hwpt2 = pt_id;
	EXPECT_NE(ioas2, hwpt2);
	EXPECT_NE(self->hwpt_id, hwpt2);
	TH_LOG("replaced IOAS %u (HWPT %u) by IOAS %u (HWPT %u)",
	       self->ioas_id, self->hwpt_id, ioas2, hwpt2);
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, self->hwpt_id));
	EXPECT_EQ(pin0 + 2 * BUF_KIB, proc_status_kib("VmPin"));

	/* After: IOVA_A is b, and IOVA_C (only in IOAS 2) works */
	memcpy(self->save, self->a, BUF_LEN);
	ASSERT_OK(edu_from_ram(&self->e, IOVA_C, 0, 2048));
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_A + 0x2000, 2048));
	EXPECT_EQ(-1, first_diff(self->b + 0x2000, self->c, 2048));
	EXPECT_EQ(-1, first_diff(self->a, self->save, BUF_LEN));
	ASSERT_OK(edu_from_ram(&self->e, IOVA_A, 0x800, 2047));
	ASSERT_OK(edu_to_ram(&self->e, 0x800, IOVA_C + 0x1000, 2047));
	EXPECT_EQ(-1, first_diff(self->c + 0x1000, self->b, 2047));

	/* IOAS 1 has no device now: all of its IOVA is usable again */
	num = 8;
	ASSERT_OK(ioas_ranges(self->fd, self->ioas_id, r, &num, NULL));
	EXPECT_EQ(1, num);
	EXPECT_EQ(0, r[0].start);
	EXPECT_EQ(UINT64_MAX, r[0].last);
	num = 8;
	ASSERT_OK(ioas_ranges(self->fd, ioas2, r, &num, NULL));
	EXPECT_LE(2, num);
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, ioas2));

	/* And back to IOAS 1, on a new HWPT of the kernel's */
	pt_id = self->ioas_id;
	ASSERT_OK(vfio_attach_pt(self->e.devfd, &pt_id));
	EXPECT_NE(hwpt2, pt_id);
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, hwpt2));
	memcpy(self->save, self->b, BUF_LEN);
	ASSERT_OK(edu_to_ram(&self->e, 0x800, IOVA_A + 0x3000, 2047));
	EXPECT_EQ(-1, first_diff(self->a + 0x3000, self->b, 2047));
	EXPECT_EQ(-1, first_diff(self->b, self->save, BUF_LEN));
	EXPECT_EQ(pin0 + BUF_KIB, proc_status_kib("VmPin"));
	EXPECT_OK(obj_destroy(self->fd, ioas2));
	EXPECT_EQ(pin0 + BUF_KIB, proc_status_kib("VmPin"));
}

/*
 * Replace the kernel's HWPT by one of the user's on the same IOAS, then by
 * one on another IOAS, then go back to the first IOAS.
 */
TEST_F_TIMEOUT(real, replace_with_user_hwpt, REAL_TIMEOUT)
{
	__u32 ioas2, hwpt1, hwpt2, pt_id;

	ASSERT_OK(map_rw(self, self->ioas_id, self->a, IOVA_A));
	ASSERT_OK(ioas_alloc(self->fd, &ioas2));
	ASSERT_OK(map_rw(self, ioas2, self->b, IOVA_A));
	ASSERT_OK(hwpt_alloc(self->fd, self->e.dev_id, self->ioas_id, 0,
			     &hwpt1));
	ASSERT_OK(hwpt_alloc(self->fd, self->e.dev_id, ioas2, 0, &hwpt2));

	pt_id = hwpt1;
	ASSERT_OK(vfio_attach_pt(self->e.devfd, &pt_id));
	EXPECT_EQ(hwpt1, pt_id);
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, self->hwpt_id));
	fill_pattern(self->c, 2048, 13);
	ASSERT_OK(map_rw(self, ioas2, self->c, IOVA_C));
	ASSERT_OK(map_rw(self, self->ioas_id, self->c, IOVA_C));
	ASSERT_OK(edu_from_ram(&self->e, IOVA_C, 0, 2048));
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_A, 2048));
	EXPECT_EQ(-1, first_diff(self->a, self->c, 2048));

	pt_id = hwpt2;
	ASSERT_OK(vfio_attach_pt(self->e.devfd, &pt_id));
	EXPECT_EQ(hwpt2, pt_id);
	/* A user HWPT outlives its use */
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, hwpt2));
	memcpy(self->save, self->a, BUF_LEN);
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_A + 0x1000, 2048));
	EXPECT_EQ(-1, first_diff(self->b + 0x1000, self->c, 2048));
	EXPECT_EQ(-1, first_diff(self->a, self->save, BUF_LEN));

	/* Replacing by the HWPT already in use changes nothing */
	pt_id = hwpt2;
	ASSERT_OK(vfio_attach_pt(self->e.devfd, &pt_id));
	EXPECT_EQ(hwpt2, pt_id);

	pt_id = self->ioas_id;
	ASSERT_OK(vfio_attach_pt(self->e.devfd, &pt_id));
	EXPECT_NE(hwpt1, pt_id);
	EXPECT_NE(hwpt2, pt_id);
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_A + 0x2000, 2048));
	EXPECT_EQ(-1, first_diff(self->a + 0x2000, self->c, 2048));
	EXPECT_OK(obj_destroy(self->fd, hwpt1));
	EXPECT_OK(obj_destroy(self->fd, hwpt2));
	EXPECT_OK(obj_destroy(self->fd, ioas2));
}

/*
 * A replace that cannot be done leaves the device where it was: a bad ID,
 * an ID of the wrong kind, and an IOAS whose mappings cover the interrupt
 * window the device needs reserved.
 */
TEST_F_TIMEOUT(real, failed_replace_keeps_attachment, REAL_TIMEOUT)
{
	struct iommu_iova_range r[8];
	__u32 ioas2, pt_id, num = 8;

	ASSERT_OK(map_rw(self, self->ioas_id, self->a, IOVA_A));
	ASSERT_OK(map_rw(self, self->ioas_id, self->c, IOVA_C));
	ASSERT_OK(ioas_alloc(self->fd, &ioas2));
	ASSERT_OK(map_rw(self, ioas2, self->b, self->iommu->msi_start));

	pt_id = ioas2 + 1000;
	EXPECT_ERR(ENOENT, vfio_attach_pt(self->e.devfd, &pt_id));
	pt_id = self->e.dev_id;
	EXPECT_ERR(EINVAL, vfio_attach_pt(self->e.devfd, &pt_id));
	pt_id = ioas2;
	EXPECT_ERR(EADDRINUSE, vfio_attach_pt(self->e.devfd, &pt_id));

	/* IOAS 2 got no HWPT and no reservation out of it */
	ASSERT_OK(ioas_ranges(self->fd, ioas2, r, &num, NULL));
	EXPECT_EQ(1, num);
	/* The device is still on IOAS 1, through the same HWPT */
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, self->hwpt_id));
	ASSERT_OK(edu_from_ram(&self->e, IOVA_C, 0, 2048));
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_A, 2048));
	EXPECT_EQ(-1, first_diff(self->a, self->c, 2048));
	EXPECT_OK(obj_destroy(self->fd, ioas2));
}

/*
 * VFIO_DEVICE_DETACH_IOMMUFD_PT: the device's DMA is blocked (and
 * reported, where the IOMMU reports it: real_iommus[]), the IOAS gets its
 * whole IOVA space back, and attaching again restores DMA. Attaching is
 * refused while the IOAS maps the interrupt window.
 */
TEST_F_TIMEOUT(real, detach_then_dma_blocked, REAL_TIMEOUT)
{
	long long before;
	struct iommu_iova_range r[8];
	__u32 pt_id, num = 8;

	ASSERT_OK(map_rw(self, self->ioas_id, self->a, IOVA_A));
	ASSERT_OK(map_rw(self, self->ioas_id, self->c, IOVA_C));
	ASSERT_OK(edu_from_ram(&self->e, IOVA_C, 0, 2048));
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_A, 2048));
	EXPECT_EQ(-1, first_diff(self->a, self->c, 2048));

	ASSERT_OK(vfio_detach_pt(self->e.devfd));
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, self->hwpt_id));
	ASSERT_OK(ioas_ranges(self->fd, self->ioas_id, r, &num, NULL));
	EXPECT_EQ(1, num);
	EXPECT_EQ(UINT64_MAX, r[0].last);

	fill_pattern(self->a, BUF_LEN, 14);
	memcpy(self->save, self->a, BUF_LEN);
	before = faults(self);
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_A, 2048));
	EXPECT_FAULT(before, self->iommu->faults_reported &&
		     self->iommu->detached_reported);
	EXPECT_EQ(-1, first_diff(self->a, self->save, BUF_LEN));

	/* Nothing stops mapping the window now, but then attach fails */
	ASSERT_OK(map_rw(self, self->ioas_id, self->b, self->iommu->msi_start));
	pt_id = self->ioas_id;
	EXPECT_ERR(EADDRINUSE, vfio_attach_pt(self->e.devfd, &pt_id));
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_A, 2048));
	EXPECT_EQ(-1, first_diff(self->a, self->save, BUF_LEN));
	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, self->iommu->msi_start, BUF_LEN,
			     NULL));

	pt_id = self->ioas_id;
	ASSERT_OK(vfio_attach_pt(self->e.devfd, &pt_id));
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_A, 2048));
	EXPECT_EQ(-1, first_diff(self->a, self->c, 2048));
}

/*
 * The "@kind:\tid=@id ..." line of @fd's fdinfo into @out: 1 if found, 0
 * if the fdinfo has no such line, -errno if it cannot be read
 */
static int fdinfo_line(int fd, const char *kind, __u32 id, char *out,
		       size_t size)
{
	char info[16384], pat[64];
	const char *p;
	size_t len;
	int rc;

	rc = fdinfo_read(fd, info, sizeof(info));
	if (rc)
		return rc;
	snprintf(pat, sizeof(pat), "\n%s:\tid=%u ", kind, id);
	p = strstr(info, pat);
	if (!p)
		return 0;
	p++;
	len = strcspn(p, "\n");
	if (len >= size)
		len = size - 1;
	memcpy(out, p, len);
	out[len] = 0;
	ksft_print_msg("fdinfo: %s\n", out);
	return 1;
}

/* Does @line have the field " @name=@val", whole? */
static bool fdinfo_field_is(const char *line, const char *name,
			    const char *val)
{
	char pat[PATH_MAX];
	const char *p;

	snprintf(pat, sizeof(pat), " %s=%s", name, val);
	p = strstr(line, pat);
	return p && (p[strlen(pat)] == ' ' || !p[strlen(pat)]);
}

/* The number of field " @name=" of @line, or -1 */
static long fdinfo_field_num(const char *line, const char *name)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), " %s=", name);
	p = strstr(line, pat);
	return p ? strtol(p + strlen(pat), NULL, 0) : -1;
}

/*
 * fdinfo with a real device: the device line names the PCI device and the
 * HWPT it is attached to, the HWPT line the IOMMU instance (its sysfs
 * class device, whose attributes name the driver) and the IOAS, and the
 * counters follow the mappings.
 */
TEST_F_TIMEOUT(real, fdinfo, REAL_TIMEOUT)
{
	char path[PATH_MAX], target[PATH_MAX], line[1024];
	const char *iommu_name;
	struct stat st;
	__u32 pt_id, hwpt2;
	ssize_t n;

	pci_path(path, sizeof(path), self->e.bdf, "iommu");
	n = readlink(path, target, sizeof(target) - 1);
	ASSERT_LT(0, n);
	target[n] = 0;
	iommu_name = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;

	ASSERT_EQ(1, fdinfo_line(self->fd, "device", self->e.dev_id, line,
				 sizeof(line)));
	EXPECT_TRUE(fdinfo_field_is(line, "dev", self->e.bdf));
	EXPECT_EQ(self->hwpt_id, fdinfo_field_num(line, "hwpt"));

	ASSERT_EQ(1, fdinfo_line(self->fd, "hwpt", self->hwpt_id, line,
				 sizeof(line)));
	EXPECT_TRUE(fdinfo_field_is(line, "type", "paging"));
	EXPECT_TRUE(fdinfo_field_is(line, "iommu", iommu_name));
	if (self->iommu->sysfs_group) {
		/* That IOMMU instance is one of the driver's */
		ASSERT_GT(sizeof(path),
			  snprintf(path, sizeof(path), "/sys/class/iommu/%s/%s",
				   iommu_name, self->iommu->sysfs_group));
		EXPECT_OK(stat(path, &st));
	}
	EXPECT_EQ(self->ioas_id, fdinfo_field_num(line, "ioas"));
	EXPECT_EQ(1, fdinfo_field_num(line, "auto"));
	EXPECT_EQ(1, fdinfo_field_num(line, "devices"));
	/* Not allocated for dirty tracking */
	EXPECT_TRUE(fdinfo_field_is(line, "dirty_tracking", "unsupported"));

	ASSERT_OK(map_rw(self, self->ioas_id, self->a, IOVA_A));
	ASSERT_EQ(1, fdinfo_line(self->fd, "ioas", self->ioas_id, line,
				 sizeof(line)));
	EXPECT_EQ(1, fdinfo_field_num(line, "areas"));
	EXPECT_EQ((long)BUF_LEN, fdinfo_field_num(line, "mapped_bytes"));
	EXPECT_EQ(BUF_PAGES, fdinfo_field_num(line, "pinned_pages"));

	/* Attached to a HWPT of its own, the device line follows */
	ASSERT_OK(hwpt_alloc(self->fd, self->e.dev_id, self->ioas_id, 0,
			     &hwpt2));
	pt_id = hwpt2;
	ASSERT_OK(vfio_attach_pt(self->e.devfd, &pt_id));
	ASSERT_EQ(1, fdinfo_line(self->fd, "device", self->e.dev_id, line,
				 sizeof(line)));
	EXPECT_EQ(hwpt2, fdinfo_field_num(line, "hwpt"));
	ASSERT_EQ(1, fdinfo_line(self->fd, "hwpt", hwpt2, line, sizeof(line)));
	EXPECT_TRUE(fdinfo_field_is(line, "iommu", iommu_name));
	EXPECT_EQ(0, fdinfo_field_num(line, "auto"));
	EXPECT_EQ(1, fdinfo_field_num(line, "devices"));
	/* The kernel's HWPT went with its last device */
	EXPECT_EQ(0, fdinfo_line(self->fd, "hwpt", self->hwpt_id, line,
				 sizeof(line)));

	ASSERT_OK(vfio_detach_pt(self->e.devfd));
	ASSERT_EQ(1, fdinfo_line(self->fd, "device", self->e.dev_id, line,
				 sizeof(line)));
	EXPECT_EQ(0, fdinfo_field_num(line, "hwpt"));
	EXPECT_OK(obj_destroy(self->fd, hwpt2));
}

/*
 * Pinned pages, as /proc/self/status's VmPin shows them: a mapping is
 * pinned while a domain needs it, and only then.
 */
TEST_F_TIMEOUT(real, pins_follow_mappings, REAL_TIMEOUT)
{
	long pin0;
	__u32 pt_id;

	pin0 = proc_status_kib("VmPin");
	ASSERT_LE(0, pin0);

	ASSERT_OK(map_rw(self, self->ioas_id, self->a, IOVA_A));
	EXPECT_EQ(pin0 + BUF_KIB, proc_status_kib("VmPin"));
	ASSERT_OK(map_rw(self, self->ioas_id, self->b, IOVA_B));
	EXPECT_EQ(pin0 + 2 * BUF_KIB, proc_status_kib("VmPin"));
	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, IOVA_A, BUF_LEN, NULL));
	EXPECT_EQ(pin0 + BUF_KIB, proc_status_kib("VmPin"));

	/* No domain, nothing pinned; mapping then pins nothing */
	ASSERT_OK(vfio_detach_pt(self->e.devfd));
	EXPECT_EQ(pin0, proc_status_kib("VmPin"));
	ASSERT_OK(map_rw(self, self->ioas_id, self->a, IOVA_A));
	EXPECT_EQ(pin0, proc_status_kib("VmPin"));

	/* Attaching pins both, and the new domain has both */
	pt_id = self->ioas_id;
	ASSERT_OK(vfio_attach_pt(self->e.devfd, &pt_id));
	EXPECT_EQ(pin0 + 2 * BUF_KIB, proc_status_kib("VmPin"));
	ASSERT_OK(edu_from_ram(&self->e, IOVA_A, 0, 2048));
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_B, 2048));
	EXPECT_EQ(-1, first_diff(self->b, self->a, 2048));

	/* A second domain on the same IOAS does not pin them again */
	ASSERT_OK(hwpt_alloc(self->fd, self->e.dev_id, self->ioas_id, 0,
			     &pt_id));
	EXPECT_EQ(pin0 + 2 * BUF_KIB, proc_status_kib("VmPin"));
	EXPECT_OK(obj_destroy(self->fd, pt_id));

	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));
	EXPECT_EQ(pin0, proc_status_kib("VmPin"));
}

/* After close(), no page of @buf may still carry a pin (needs the mock) */
static int check_unpinned(const void *buf, size_t len)
{
	int fd, rc;

	fd = iommufd_open();
	if (fd < 0)
		return fd;
	rc = mock_check_pins(fd, buf, len, 0);
	close(fd);
	return rc;
}

#define EXPECT_UNPINNED(buf)                                               \
	do {                                                               \
		int __rc = check_unpinned(buf, BUF_LEN);                   \
		if (__rc == -ENOTTY)                                       \
			TH_LOG("page pin check unavailable (no CONFIG_IOMMUFD_TEST)"); \
		else                                                       \
			EXPECT_OK(__rc);                                   \
	} while (0)

/*
 * Close the iommufd with everything live: the device keeps the context
 * alive and keeps working; closing the device then frees it all, and the
 * device can be bound again.
 */
TEST_F_TIMEOUT(real, close_iommufd_then_device, REAL_TIMEOUT)
{
	char bdf[sizeof(self->e.bdf)];
	__u32 pt_id;
	long pin0;

	pin0 = proc_status_kib("VmPin");
	ASSERT_OK(map_rw(self, self->ioas_id, self->a, IOVA_A));
	ASSERT_OK(map_rw(self, self->ioas_id, self->b, IOVA_B));
	ASSERT_OK(edu_from_ram(&self->e, IOVA_A, 0, 2048));
	EXPECT_EQ(pin0 + 2 * BUF_KIB, proc_status_kib("VmPin"));

	ASSERT_OK(close(self->fd));
	self->fd = -1;
	EXPECT_EQ(pin0 + 2 * BUF_KIB, proc_status_kib("VmPin"));
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_B, 2048));
	EXPECT_EQ(-1, first_diff(self->b, self->a, 2048));

	memcpy(bdf, self->e.bdf, sizeof(bdf));
	ASSERT_OK(edu_close(&self->e));
	EXPECT_EQ(pin0, proc_status_kib("VmPin"));
	EXPECT_UNPINNED(self->a);
	EXPECT_UNPINNED(self->b);

	/* All released: the device binds again */
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_OK(edu_open(&self->e, bdf, self->fd));
	ASSERT_OK(ioas_alloc(self->fd, &self->ioas_id));
	pt_id = self->ioas_id;
	ASSERT_OK(vfio_attach_pt(self->e.devfd, &pt_id));
	ASSERT_OK(map_rw(self, self->ioas_id, self->c, IOVA_C));
	ASSERT_OK(edu_from_ram(&self->e, IOVA_C, 0, 2048));
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_C + 0x2000, 2048));
	EXPECT_EQ(-1, first_diff(self->c + 0x2000, self->c, 2048));
}

/*
 * Close the device first: it is detached and unbound, the mappings stay in
 * the IOAS but nothing needs them pinned; closing the iommufd ends it all.
 */
TEST_F_TIMEOUT(real, close_device_then_iommufd, REAL_TIMEOUT)
{
	struct iommu_iova_range r[8];
	__u32 num = 8;
	long pin0;

	pin0 = proc_status_kib("VmPin");
	ASSERT_OK(map_rw(self, self->ioas_id, self->a, IOVA_A));
	ASSERT_OK(edu_from_ram(&self->e, IOVA_A, 0, 2048));
	EXPECT_EQ(pin0 + BUF_KIB, proc_status_kib("VmPin"));

	ASSERT_OK(edu_close(&self->e));
	EXPECT_EQ(pin0, proc_status_kib("VmPin"));
	EXPECT_ERR(ENOENT, obj_destroy(self->fd, self->hwpt_id));
	ASSERT_OK(ioas_ranges(self->fd, self->ioas_id, r, &num, NULL));
	EXPECT_EQ(1, num);
	EXPECT_OK(ioas_unmap(self->fd, self->ioas_id, IOVA_A, BUF_LEN, NULL));

	ASSERT_OK(map_rw(self, self->ioas_id, self->a, IOVA_A));
	ASSERT_OK(close(self->fd));
	self->fd = -1;
	EXPECT_EQ(pin0, proc_status_kib("VmPin"));
	EXPECT_UNPINNED(self->a);
}

TEST_HARNESS_MAIN
