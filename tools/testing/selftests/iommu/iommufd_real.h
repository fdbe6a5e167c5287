/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iommufd_real.h - the IOMMUs the real-device tests (iommufd_real.c,
 * iommufd_vfio_group.c) run on, and what differs between them. Include it
 * after kselftest_harness.h.
 */
#ifndef __IOMMUFD_REAL_H
#define __IOMMUFD_REAL_H

#include "iommufd_edu.h"

/* VT-d's capability bit for nested translation (ECAP_REG bit 26) */
#define VTD_ECAP_NEST	0x4000000ULL

/*
 * What differs between the IOMMUs, as Linux 6.12's drivers and QEMU 7.2's
 * emulations have it. Everything else is expected of all of them alike.
 */
struct real_iommu {
	const char *name;
	/*
	 * How to recognise it: the attribute group of its sysfs class device
	 * (the device's "iommu" link), or else a prefix of that device's name
	 */
	const char *sysfs_group;
	const char *name_prefix;
	/* The handlers of its fault interrupt, as /proc/interrupts names them */
	const char *fault_irqs[3];
	/* IOMMU_GET_HW_INFO's out_data_type, and the size of that data */
	__u32 hw_info_type;
	__u32 hw_info_len;
	/* The interrupt window that every IOAS it translates must reserve */
	__u64 msi_start, msi_last;
	/* Can the device read a mapping without IOMMU_IOAS_MAP_READABLE? */
	bool write_only_readable;
	/* Is DMA that the IOMMU blocks reported (its fault interrupt)? */
	bool faults_reported;
	/* ... also that of a detached (blocked) device? */
	bool detached_reported;
	/* Is IOMMU_HWPT_ALLOC_NEST_PARENT offered (where the hw says so)? */
	bool nest_parent_by_ecap;
};

static const struct real_iommu real_iommus[] = {
	{
		.name = "vtd",
		.sysfs_group = "intel-iommu",
		/* DMAR fault event, one MSI per unit: QEMU emulates one */
		.fault_irqs = { "dmar0" },
		/* The cap and ecap registers, for a VMM's vIOMMU */
		.hw_info_type = IOMMU_HW_INFO_TYPE_INTEL_VTD,
		.hw_info_len = sizeof(struct iommu_hw_info_vtd),
		/*
		 * x86's interrupt address range: a DMA write there is an
		 * interrupt message, never memory (IOMMU_RESV_MSI)
		 */
		.msi_start = 0xfee00000ULL,
		.msi_last = 0xfeefffffULL,
		/*
		 * 6.12's intel_iommu cannot make a write-only second-level
		 * entry: __domain_mapping() always sets bit 0, which is both
		 * the first-level Present bit and the second-level Read bit
		 */
		.write_only_readable = true,
		/*
		 * Every blocked DMA, as a fault record and the fault event
		 * interrupt; blocking clears the context entry: fault reason
		 * 2, "Present bit in context entry is clear"
		 */
		.faults_reported = true,
		.detached_reported = true,
		/* Nesting parents need ECAP.NEST, which QEMU 7.2 lacks */
		.nest_parent_by_ecap = true,
	},
	{
		.name = "amd",
		.sysfs_group = "amd-iommu",
		/*
		 * The event log interrupt: "AMD-Vi" when it is a plain MSI
		 * (QEMU 7.2, no XT), "AMD-Vi0-Evt" with x2APIC interrupt
		 * control (XT)
		 */
		.fault_irqs = { "AMD-Vi", "AMD-Vi0-Evt" },
		/* 6.12's AMD driver has no hw_info (mainline added it later) */
		.hw_info_type = IOMMU_HW_INFO_TYPE_NONE,
		.hw_info_len = 0,
		/* The same x86 interrupt range, reserved by amd_iommu too */
		.msi_start = 0xfee00000ULL,
		.msi_last = 0xfeefffffULL,
		/*
		 * The v1 page table has separate IR and IW bits: a
		 * write-only mapping is not readable
		 */
		.write_only_readable = false,
		/*
		 * Real AMD-Vi logs an IO_PAGE_FAULT event for each, but QEMU
		 * 7.2's amd-iommu never does for what Linux blocks: its walk
		 * stops silently at an all-zero entry (unmapped, at any
		 * level), and hands the leaf's IR/IW bits to QEMU's memory
		 * core, which refuses the access without an event. So the
		 * test checks that the data stays out, and that the event
		 * log interrupt stays quiet: a QEMU that reports faults
		 * fails here, and this entry is to be updated then.
		 */
		.faults_reported = false,
		.detached_reported = false,
		/* 6.12's amd_iommu_domain_alloc_user() offers no nesting */
		.nest_parent_by_ecap = false,
	},
	{
		.name = "smmuv3",
		.name_prefix = "smmu3.",
		/* Event queue: its own wired interrupt on virt, or combined */
		.fault_irqs = { "arm-smmu-v3-evtq", "arm-smmu-v3-combined-irq" },
		/* 6.12's arm-smmu-v3 has no hw_info (mainline added it later) */
		.hw_info_type = IOMMU_HW_INFO_TYPE_NONE,
		.hw_info_len = 0,
		/*
		 * The software-managed MSI window (IOMMU_RESV_SW_MSI), where
		 * the kernel maps the GIC ITS doorbell for the device
		 */
		.msi_start = 0x08000000ULL,
		.msi_last = 0x080fffffULL,
		/*
		 * Stage-1 LPAE descriptors have no read permission: AP only
		 * chooses read-only or read-write, so io-pgtable-arm maps a
		 * write-only mapping read-write
		 */
		.write_only_readable = true,
		/*
		 * Translation and permission faults are recorded in the event
		 * queue (the driver sets CD.R), but blocking installs an STE
		 * whose Config is "abort", and the SMMU terminates such
		 * transactions without recording an event
		 */
		.faults_reported = true,
		.detached_reported = false,
		/*
		 * 6.12's arm_smmu_domain_alloc_user() takes DIRTY_TRACKING
		 * only; nesting came in 6.13
		 */
		.nest_parent_by_ecap = false,
	},
};

/* The entry of real_iommus[] for the IOMMU that translates @bdf, or NULL */
static inline const struct real_iommu *real_iommu_of(const char *bdf)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *name;
	struct stat st;
	unsigned int i;
	ssize_t n;

	pci_path(path, sizeof(path), bdf, "iommu");
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return NULL;
	target[n] = 0;
	name = strrchr(target, '/');
	name = name ? name + 1 : target;
	for (i = 0; i != ARRAY_SIZE(real_iommus); i++) {
		const struct real_iommu *iommu = &real_iommus[i];

		if (iommu->name_prefix &&
		    !strncmp(name, iommu->name_prefix,
			     strlen(iommu->name_prefix)))
			return iommu;
		if (!iommu->sysfs_group)
			continue;
		pci_path(path, sizeof(path), bdf, "iommu/");
		strncat(path, iommu->sysfs_group,
			sizeof(path) - strlen(path) - 1);
		if (!stat(path, &st))
			return iommu;
	}
	return NULL;
}

/*
 * Has the fault interrupt fired since it counted @before? The interrupt is
 * raised while the device's transfer is translated, before the transfer
 * completes; the wait only covers a slow guest.
 */
static inline bool fault_reported(const struct real_iommu *iommu,
				  long long before)
{
	long long end = edu_now_ms() + 2000;

	while (irq_count(iommu->fault_irqs) <= before) {
		if (edu_now_ms() > end)
			return false;
		usleep(10000);
	}
	return true;
}

#endif /* __IOMMUFD_REAL_H */
