/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iommufd_test.h - the private test interface between the mock IOMMU driver
 * (selftest.c, built with CONFIG_IOMMUFD_TEST) and
 * tools/testing/selftests/iommu.
 *
 * Userspace reaches the mock through one extra ioctl on /dev/iommu,
 * IOMMU_TEST_CMD, whose struct iommu_test_cmd carries an operation code and
 * a union with the arguments of each operation. Like the real uAPI, the
 * numbers and layouts here are fixed: existing selftest binaries must keep
 * working against newer kernels.
 *
 * Copyright (c) 2026 The iommufd-from-scratch authors
 */
#ifndef _UAPI_IOMMUFD_TEST_H
#define _UAPI_IOMMUFD_TEST_H

#include <linux/iommufd.h>
#include <linux/types.h>

/*
 * Operation codes for iommu_test_cmd.op. The argument member of the union
 * each one uses is named after the right hand comment.
 */
enum {
	IOMMU_TEST_OP_ADD_RESERVED = 1,		/* add_reserved */
	IOMMU_TEST_OP_MOCK_DOMAIN,		/* mock_domain */
	IOMMU_TEST_OP_MD_CHECK_MAP,		/* check_map */
	IOMMU_TEST_OP_MD_CHECK_REFS,		/* check_refs */
	IOMMU_TEST_OP_CREATE_ACCESS,		/* create_access */
	IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,	/* destroy_access_pages */
	IOMMU_TEST_OP_ACCESS_PAGES,		/* access_pages */
	IOMMU_TEST_OP_ACCESS_RW,		/* access_rw */
	IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,	/* memory_limit */
	IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,	/* mock_domain_replace */
	IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,	/* access_replace_ioas */
	IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,	/* mock_domain_flags */
	IOMMU_TEST_OP_DIRTY,			/* dirty */
	IOMMU_TEST_OP_MD_CHECK_IOTLB,		/* check_iotlb */
	IOMMU_TEST_OP_TRIGGER_IOPF,		/* trigger_iopf */
	IOMMU_TEST_OP_MD_COUNT_IOPTES,		/* count_ioptes */
};

/* The IOVA window, inclusive at both ends, that a mock domain translates */
enum {
	MOCK_APERTURE_START = 1UL << 24,
	MOCK_APERTURE_LAST = (1UL << 31) - 1,
};

/*
 * access_pages.flags. MOCK_FLAGS_ACCESS_SYZ is also understood by access_rw
 * and, in test kernels, by IOMMU_IOAS_COPY: it lets a fuzzer give an IOVA
 * relative to what is mapped, which the kernel turns into a real one.
 */
enum {
	MOCK_FLAGS_ACCESS_WRITE = 1 << 0,	/* pin the pages for writing */
	MOCK_FLAGS_ACCESS_SYZ = 1 << 16,	/* the IOVA is relative */
};

/*
 * check_map.perm: the permissions every IOPTE of the range must have,
 * exactly. 0 compares the addresses only (a mapping always allows one of
 * the two, so 0 cannot be a permission to expect).
 */
enum {
	MOCK_CHECK_MAP_READ = 1 << 0,		/* the device may read */
	MOCK_CHECK_MAP_WRITE = 1 << 1,		/* the device may write */
};

/* access_rw.flags */
enum {
	MOCK_ACCESS_RW_WRITE = 1 << 0,		/* copy into the IOAS */
	MOCK_ACCESS_RW_SLOW_PATH = 1 << 2,	/* copy page by page */
};

/* create_access.flags */
enum {
	/* the access needs pinned pages, so it sets the IOAS alignment */
	MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0,
};

/* mock_domain_flags.dev_flags: what the mock device can or cannot do */
enum {
	MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0,	/* no dirty tracking */
	MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1,	/* large IO page sizes */
	MOCK_FLAGS_DEVICE_PASID = 1 << 2,	/* PASID capable */
	MOCK_FLAGS_DEVICE_FOREIGN = 1 << 3,	/* behind the second mock IOMMU */
};

/* Each mock nested domain has a small IOTLB that invalidation acts on */
enum {
	MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3,	/* highest valid entry index */
	MOCK_NESTED_DOMAIN_IOTLB_NUM = 4,	/* number of entries */
};

/* out_max_pasid_log2 reported for a MOCK_FLAGS_DEVICE_PASID device */
#define MOCK_PASID_WIDTH 20

/**
 * struct iommu_test_cmd - ioctl(IOMMU_TEST_CMD)
 * @size: sizeof(struct iommu_test_cmd)
 * @op: the operation, one of the IOMMU_TEST_OP_* values
 * @id: the object the operation works on (an IOAS, HWPT, mock device or
 *      access, depending on @op)
 * @__reserved: must be 0
 * @add_reserved: reserve [@add_reserved.start, + @add_reserved.length) in
 *                IOAS @id, as a device reserved region would
 * @add_reserved.start: first reserved IOVA
 * @add_reserved.length: number of bytes reserved
 * @mock_domain: create a mock device and attach it to the IOAS or HWPT @id
 * @mock_domain.out_stdev_id: the selftest object standing for the device;
 *                            destroying it unbinds the device
 * @mock_domain.out_hwpt_id: the HWPT the device ended up attached to
 * @mock_domain.out_idev_id: the device's ordinary iommufd device ID, as a
 *                           VFIO bind would return it
 * @mock_domain_flags: like @mock_domain, with device capabilities
 * @mock_domain_flags.out_stdev_id: as in @mock_domain
 * @mock_domain_flags.out_hwpt_id: as in @mock_domain
 * @mock_domain_flags.out_idev_id: as in @mock_domain
 * @mock_domain_flags.dev_flags: MOCK_FLAGS_DEVICE_* bits
 * @mock_domain_replace: move mock device @id to another IOAS or HWPT
 * @mock_domain_replace.pt_id: in: the IOAS or HWPT to attach to; out: the
 *                             HWPT the device is now attached to
 * @check_map: verify that the mock paging HWPT @id maps the IOVA range to
 *             the memory at @check_map.uptr
 * @check_map.iova: first IOVA to check
 * @check_map.length: number of bytes to check
 * @check_map.uptr: the user memory the range should lead to
 * @check_map.perm: MOCK_CHECK_MAP_* bits the IOPTEs must have, or 0 not to
 *                  look at permissions; a wrong one fails with -EACCES
 * @check_refs: verify the pin count of every page of a user buffer
 * @check_refs.length: size of the buffer in bytes
 * @check_refs.uptr: start of the buffer
 * @check_refs.refs: the expected number of pins per page; 0 asks that no
 *                   page of any folio the buffer touches be pinned, also
 *                   outside the buffer (a large folio counts its pins as
 *                   one)
 * @create_access: create an emulated-device access to IOAS @id
 * @create_access.out_access_fd: a file descriptor owning the access
 * @create_access.flags: MOCK_FLAGS_ACCESS_CREATE_* bits
 * @destroy_access_pages: release a pin taken by @access_pages
 * @destroy_access_pages.access_pages_id: the pin to release
 * @access_pages: pin an IOVA range through access @id
 * @access_pages.flags: MOCK_FLAGS_ACCESS_* bits
 * @access_pages.out_access_pages_id: names the pin for
 *                                    @destroy_access_pages
 * @access_pages.iova: first IOVA to pin
 * @access_pages.length: number of bytes to pin
 * @access_pages.uptr: user memory the pinned pages are checked against
 * @access_rw: copy between user memory and an IOVA range through access @id
 * @access_rw.iova: first IOVA
 * @access_rw.length: number of bytes to copy
 * @access_rw.uptr: the user buffer
 * @access_rw.flags: MOCK_ACCESS_RW_* bits
 * @memory_limit: shrink the temporary memory the pinning code may use for
 *                one batch, so that small buffers cross batch boundaries
 * @memory_limit.limit: the new size in bytes; the tests put back the
 *                      default, 65536, when they are done
 * @access_replace_ioas: move access @id to another IOAS
 * @access_replace_ioas.ioas_id: the IOAS to move to
 * @dirty: mark pages of mock HWPT @id dirty, as device writes would
 * @dirty.flags: reserved, 0
 * @dirty.iova: first IOVA covered by the bitmap
 * @dirty.length: number of bytes covered by the bitmap
 * @dirty.page_size: bytes per bitmap bit
 * @dirty.uptr: user pointer to the bitmap of pages to mark
 * @dirty.out_nr_dirty: how many pages were marked
 * @check_iotlb: verify one IOTLB entry of mock nested HWPT @id
 * @check_iotlb.id: the entry index, at most MOCK_NESTED_DOMAIN_IOTLB_ID_MAX
 * @check_iotlb.iotlb: its expected value
 * @trigger_iopf: make a mock device report an I/O page fault
 * @trigger_iopf.dev_id: the faulting device, by iommufd device ID
 * @trigger_iopf.pasid: PASID of the request
 * @trigger_iopf.grpid: page request group index
 * @trigger_iopf.perm: access wanted, enum iommu_hwpt_pgfault_perm bits
 * @trigger_iopf.addr: faulting address
 * @count_ioptes: count the IOPTEs of mock paging HWPT @id in an IOVA range
 * @count_ioptes.iova: first IOVA, a multiple of the mock's IO page size
 * @count_ioptes.length: number of bytes, a multiple of the IO page size
 * @count_ioptes.out_small: IO-page-sized IOPTEs in the range
 * @count_ioptes.out_huge: large IOPTEs whose first IO page is in the range
 * @count_ioptes.out_empty: IO pages of the range nothing maps
 * @last: marks the end of the struct; the smallest accepted @size ends here
 */
struct iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		struct {
			__aligned_u64 start;
			__aligned_u64 length;
		} add_reserved;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
		} mock_domain;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
			__u32 dev_flags;
		} mock_domain_flags;
		struct {
			__u32 pt_id;
		} mock_domain_replace;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 perm;
		} check_map;
		struct {
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 refs;
		} check_refs;
		struct {
			__u32 out_access_fd;
			__u32 flags;
		} create_access;
		struct {
			__u32 access_pages_id;
		} destroy_access_pages;
		struct {
			__u32 flags;
			__u32 out_access_pages_id;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} access_pages;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 flags;
		} access_rw;
		struct {
			__u32 limit;
		} memory_limit;
		struct {
			__u32 ioas_id;
		} access_replace_ioas;
		struct {
			__u32 flags;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 page_size;
			__aligned_u64 uptr;
			__aligned_u64 out_nr_dirty;
		} dirty;
		struct {
			__u32 id;
			__u32 iotlb;
		} check_iotlb;
		struct {
			__u32 dev_id;
			__u32 pasid;
			__u32 grpid;
			__u32 perm;
			__u64 addr;
		} trigger_iopf;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__u32 out_small;
			__u32 out_huge;
			__u32 out_empty;
		} count_ioptes;
	};
	__u32 last;
};

#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)

/*
 * IOMMU_GET_HW_INFO on a mock device returns struct iommu_test_hw_info in
 * this format, with test_reg holding IOMMU_HW_INFO_SELFTEST_REGVAL.
 */
#define IOMMU_HW_INFO_TYPE_SELFTEST	0xfeedbeef
#define IOMMU_HW_INFO_SELFTEST_REGVAL	0xdeadbeef

/**
 * struct iommu_test_hw_info - mock IOMMU data (IOMMU_HW_INFO_TYPE_SELFTEST)
 * @flags: always 0
 * @test_reg: always IOMMU_HW_INFO_SELFTEST_REGVAL
 */
struct iommu_test_hw_info {
	__u32 flags;
	__u32 test_reg;
};

/*
 * The mock's nested HWPT data type. It is chosen far away from the values of
 * enum iommu_hwpt_data_type so the two can never collide.
 */
#define IOMMU_HWPT_DATA_SELFTEST 0xdead
/* What every IOTLB entry of a new mock nested domain holds */
#define IOMMU_TEST_IOTLB_DEFAULT 0xbadbeef

/**
 * struct iommu_hwpt_selftest - mock nested HWPT data (IOMMU_HWPT_DATA_SELFTEST)
 * @iotlb: the value every IOTLB entry starts with; the tests pass
 *         IOMMU_TEST_IOTLB_DEFAULT
 */
struct iommu_hwpt_selftest {
	__u32 iotlb;
};

/*
 * The mock's invalidation request type, again well clear of enum
 * iommu_hwpt_invalidate_data_type, and a second value that the mock refuses,
 * for testing the rejection of unsupported types.
 */
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST 0xdeadbeef
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef

/* iommu_hwpt_invalidate_selftest.flags: reset every entry, not just one */
#define IOMMU_TEST_INVALIDATE_FLAG_ALL	1

/**
 * struct iommu_hwpt_invalidate_selftest - one mock invalidation request
 *                                         (IOMMU_HWPT_INVALIDATE_DATA_SELFTEST)
 * @flags: IOMMU_TEST_INVALIDATE_FLAG_ALL or 0
 * @iotlb_id: the IOTLB entry to reset to 0; not looked at with
 *            IOMMU_TEST_INVALIDATE_FLAG_ALL
 */
struct iommu_hwpt_invalidate_selftest {
	__u32 flags;
	__u32 iotlb_id;
};

#endif
