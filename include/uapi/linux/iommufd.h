/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/* Copyright (c) 2026 The iommufd-from-scratch authors */
#ifndef _UAPI_IOMMUFD_H
#define _UAPI_IOMMUFD_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define IOMMUFD_TYPE (';')

/**
 * DOC: iommufd ioctl conventions
 *
 * Every command is an ioctl() on a file descriptor obtained by opening
 * /dev/iommu. Its argument points at one command struct, and that struct
 * always begins with ``__u32 size``, which the caller sets to sizeof() of the
 * struct as its own headers define it. The size field is what lets a command
 * struct gain members over time without a new ioctl number:
 *
 * - A caller built against older headers passes a shorter struct. Any size
 *   from the end of the struct's first published layout up to the current
 *   one is accepted. The members the caller did not pass are taken as zero,
 *   and a member is only ever appended if zero selects the behaviour that
 *   existed before it.
 * - A caller built against newer headers passes a longer struct. The kernel
 *   accepts it as long as every byte beyond the part it understands is zero;
 *   a set bit there is a request it cannot honour, so the call fails.
 *
 * The common error numbers mean the same thing for every command:
 *
 * - ENOTTY: the ioctl number is not an iommufd command known to this kernel.
 * - E2BIG: the struct is longer than the kernel's and the extra bytes are
 *   not all zero.
 * - EINVAL: @size is below the first published layout, or a known member
 *   holds a value that is wrong for this request (misaligned, zero where a
 *   length is needed, inconsistent with another member).
 * - EOPNOTSUPP: the request is understood but not offered: an unknown flag
 *   bit, a non-zero reserved member, an unknown option, operation or data
 *   type, or a feature that the device or its IOMMU does not have.
 * - ENOENT: an ID does not name a live object of the kind the member asks
 *   for, or an IOVA range does not match what is mapped.
 * - EOVERFLOW: an address or length does not fit the kernel's types, or
 *   adding a length to an address wraps around.
 * - EBUSY: the object is still used by another object or by the kernel.
 * - ENOMEM: the kernel ran out of memory, or pinning more pages would go
 *   over the RLIMIT_MEMLOCK of the account being charged.
 * - EPERM: the caller lacks a capability the request needs, or asks for
 *   write access to memory that was only made available for reading.
 * - EFAULT: the struct, or memory that one of its pointers names, cannot be
 *   accessed.
 *
 * Some commands add errnos of their own (EEXIST, EADDRINUSE, ENOSPC,
 * EMSGSIZE, ENODEV, EBADF); each command lists them.
 *
 * A command that fails has no lasting effect: no object appears or
 * disappears, no mapping changes, and the members the kernel reports back
 * (the ``out_*`` ones, and the in/out ones) are only written when the
 * command succeeds. Two commands report something on failure by design and
 * say so: IOMMU_IOAS_IOVA_RANGES (the array size it needs) and
 * IOMMU_HWPT_INVALIDATE (how many requests it completed).
 *
 * Objects are named by 32-bit IDs that are private to the file descriptor.
 * ID 0 never names an object. Closing the file descriptor destroys every
 * object it holds.
 */

/**
 * DOC: iommufd command numbers
 *
 * A command's ioctl number is ``_IO(IOMMUFD_TYPE, nr)``. The argument size is
 * deliberately not encoded in the number; it travels in the struct instead.
 * The values of ``nr`` are IOMMUFD_CMD_BASE (0x80) upward. 0x90 and 0x91 are
 * taken by virtual IOMMU commands that this implementation does not provide,
 * and IOMMUFD_CMD_BASE + 32 is the mock-driver test command, present only in
 * kernels built for self testing.
 */
enum {
	IOMMUFD_CMD_BASE = 0x80,
	IOMMUFD_CMD_DESTROY = IOMMUFD_CMD_BASE,
	IOMMUFD_CMD_IOAS_ALLOC = 0x81,
	IOMMUFD_CMD_IOAS_ALLOW_IOVAS = 0x82,
	IOMMUFD_CMD_IOAS_COPY = 0x83,
	IOMMUFD_CMD_IOAS_IOVA_RANGES = 0x84,
	IOMMUFD_CMD_IOAS_MAP = 0x85,
	IOMMUFD_CMD_IOAS_UNMAP = 0x86,
	IOMMUFD_CMD_OPTION = 0x87,
	IOMMUFD_CMD_VFIO_IOAS = 0x88,
	IOMMUFD_CMD_HWPT_ALLOC = 0x89,
	IOMMUFD_CMD_GET_HW_INFO = 0x8a,
	IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING = 0x8b,
	IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP = 0x8c,
	IOMMUFD_CMD_HWPT_INVALIDATE = 0x8d,
	IOMMUFD_CMD_FAULT_QUEUE_ALLOC = 0x8e,
	IOMMUFD_CMD_IOAS_MAP_FILE = 0x8f,
	IOMMUFD_CMD_IOAS_CHANGE_PROCESS = 0x92,
};

/**
 * struct iommu_destroy - ioctl(IOMMU_DESTROY)
 * @size: sizeof(struct iommu_destroy)
 * @id: the object to destroy; any type that userspace allocates
 *
 * Removes one object from the file descriptor and frees it. Objects that
 * others depend on must go last: an IOAS cannot be destroyed while a HWPT,
 * an attached device or an access still uses it, and a HWPT cannot while a
 * device is attached to it or a nested HWPT sits on top of it. Such a call
 * fails with EBUSY and changes nothing. An @id that names no object gives
 * ENOENT.
 */
struct iommu_destroy {
	__u32 size;
	__u32 id;
};

#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)

/**
 * struct iommu_ioas_alloc - ioctl(IOMMU_IOAS_ALLOC)
 * @size: sizeof(struct iommu_ioas_alloc)
 * @flags: no flags are defined yet; must be 0
 * @out_ioas_id: on success, the ID of the new IOAS
 *
 * Creates an I/O address space (IOAS): a table, kept by the kernel, that
 * says which memory each range of I/O virtual addresses (IOVA) leads to.
 * A new IOAS maps nothing and every IOVA is usable. Devices and HWPTs
 * attached to it later see exactly the mappings it holds, and adding them
 * may make parts of the IOVA space unusable (see IOMMU_IOAS_IOVA_RANGES).
 */
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};

#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)

/**
 * struct iommu_iova_range - one closed interval of IOVA
 * @start: lowest IOVA in the interval
 * @last: highest IOVA in the interval; it belongs to the interval
 *
 * The element type of the arrays used by IOMMU_IOAS_IOVA_RANGES and
 * IOMMU_IOAS_ALLOW_IOVAS. A range that covers the whole 64-bit space is
 * written start = 0, last = U64_MAX.
 */
struct iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

/**
 * struct iommu_ioas_iova_ranges - ioctl(IOMMU_IOAS_IOVA_RANGES)
 * @size: sizeof(struct iommu_ioas_iova_ranges)
 * @ioas_id: the IOAS to query
 * @num_iovas: in: how many elements @allowed_iovas has room for;
 *             out: how many usable ranges the IOAS has
 * @__reserved: must be 0
 * @allowed_iovas: user pointer to an array of struct iommu_iova_range that
 *                 receives the usable ranges in ascending order
 * @out_iova_alignment: the alignment, in bytes, that the IOVA and length of
 *                      every new mapping must have
 *
 * Reports which IOVAs may currently be mapped. What is usable shrinks as
 * devices are attached, since each one removes what its IOMMU cannot
 * translate (outside the domain aperture, reserved regions, MSI windows),
 * and can grow again when they are detached. Userspace should ask again
 * after every attach and detach.
 *
 * When the array is too small the kernel fills as many elements as fit,
 * sets @num_iovas to the total and fails with EMSGSIZE; the caller can then
 * retry with a large enough array. This is the one case where this command
 * writes @num_iovas without succeeding.
 *
 * @out_iova_alignment is a power of two between 1 and the CPU page size: the
 * strictest requirement among the users of the IOAS, that is the smallest
 * page size of each IOMMU domain mirroring it, the needs of in-kernel
 * accesses, and the CPU page size when %IOMMU_OPTION_HUGE_PAGES is 0. It can
 * therefore grow when a device is attached. Mappings made by
 * IOMMU_IOAS_MAP, IOMMU_IOAS_MAP_FILE and IOMMU_IOAS_COPY must satisfy::
 *
 *   iova % out_iova_alignment == 0
 *   length % out_iova_alignment == 0
 *
 * and the offset of the backing memory within its CPU page must be a
 * multiple of it as well.
 */
struct iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};

#define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES)

/**
 * struct iommu_ioas_allow_iovas - ioctl(IOMMU_IOAS_ALLOW_IOVAS)
 * @size: sizeof(struct iommu_ioas_allow_iovas)
 * @ioas_id: the IOAS to constrain
 * @num_iovas: number of elements in @allowed_iovas; 0 clears the list
 * @__reserved: must be 0
 * @allowed_iovas: user pointer to an array of struct iommu_iova_range
 *
 * Sets the IOAS's list of allowed ranges, replacing the previous list
 * entirely. The list is a promise in both directions:
 *
 * - The ranges stay usable. The call fails with EADDRINUSE if any of them is
 *   already reserved, and later attaching a device whose IOMMU would need to
 *   reserve IOVA inside them fails too.
 * - When the list is not empty, the kernel only picks IOVAs inside it for
 *   mappings made without %IOMMU_IOAS_MAP_FIXED_IOVA.
 *
 * Each range must have start < last, and ranges must not overlap one
 * another (EINVAL).
 */
struct iommu_ioas_allow_iovas {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
};

#define IOMMU_IOAS_ALLOW_IOVAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS)

/**
 * enum iommufd_ioas_map_flags - how IOMMU_IOAS_MAP, _MAP_FILE and _COPY map
 * @IOMMU_IOAS_MAP_FIXED_IOVA: the caller chooses the IOVA and passes it in;
 *                             without this flag the kernel chooses it
 * @IOMMU_IOAS_MAP_WRITEABLE: devices may write to the memory
 * @IOMMU_IOAS_MAP_READABLE: devices may read the memory
 *
 * At least one of %IOMMU_IOAS_MAP_READABLE and %IOMMU_IOAS_MAP_WRITEABLE is
 * required (EINVAL otherwise).
 */
enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

/**
 * struct iommu_ioas_map - ioctl(IOMMU_IOAS_MAP)
 * @size: sizeof(struct iommu_ioas_map)
 * @flags: a combination of enum iommufd_ioas_map_flags
 * @ioas_id: the IOAS that gets the new mapping
 * @__reserved: must be 0
 * @user_va: start of the process memory to map
 * @length: number of bytes to map; not 0
 * @iova: with %IOMMU_IOAS_MAP_FIXED_IOVA, the IOVA to map at (input);
 *        otherwise the IOVA the kernel chose (output)
 *
 * Makes the IOVA range [@iova, @iova + @length) lead to the memory at
 * @user_va in the calling process, in every IOMMU domain attached to the
 * IOAS and for every in-kernel access. The range is one unit from now on:
 * it can only be unmapped as a whole.
 *
 * Placement. Without %IOMMU_IOAS_MAP_FIXED_IOVA the kernel looks for a free
 * hole that lies in the usable ranges (and within the allowed list, if one
 * was set) and avoids reserved regions, preferring an IOVA aligned like
 * @user_va so that large IOMMU pages can be used; ENOSPC if there is none.
 * With the flag, the range at @iova must be free: overlapping an existing
 * mapping fails with EEXIST (a mapping is never replaced), and touching a
 * reserved region fails with EINVAL.
 *
 * Alignment. @iova (when fixed), @length and the offset of @user_va within
 * its CPU page must be multiples of the IOAS's alignment, reported as
 * out_iova_alignment by IOMMU_IOAS_IOVA_RANGES (EINVAL). With no domain
 * attached the alignment is 1.
 *
 * Pinning. The pages are pinned, and charged against RLIMIT_MEMLOCK as set
 * by %IOMMU_OPTION_RLIMIT_MODE, as soon as something needs them: at once if
 * the IOAS has a domain, otherwise when the first domain is attached or an
 * access first uses the range. Each page is pinned and charged only once
 * however many domains and accesses use it. The pages that back the range
 * are the ones @user_va points at when they are pinned; the caller must
 * leave that memory mapped and must not replace it while the mapping
 * exists. Memory that cannot be pinned (not mapped, or not writable while
 * %IOMMU_IOAS_MAP_WRITEABLE is asked for) fails the call with EFAULT, and
 * going over the limit fails it with ENOMEM.
 *
 * Unknown @flags bits or a non-zero @__reserved give EOPNOTSUPP; an @iova or
 * @length that does not fit an unsigned long, or a range that wraps, gives
 * EOVERFLOW.
 */
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};

#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)

/**
 * struct iommu_ioas_map_file - ioctl(IOMMU_IOAS_MAP_FILE)
 * @size: sizeof(struct iommu_ioas_map_file)
 * @flags: a combination of enum iommufd_ioas_map_flags
 * @ioas_id: the IOAS that gets the new mapping
 * @fd: the file whose contents are mapped: a memfd, a shmem file or a
 *      hugetlbfs file
 * @start: offset in bytes into the file of the first byte to map
 * @length: number of bytes to map; not 0
 * @iova: with %IOMMU_IOAS_MAP_FIXED_IOVA, the IOVA to map at (input);
 *        otherwise the IOVA the kernel chose (output)
 *
 * Like IOMMU_IOAS_MAP, except that the memory is named by a file and an
 * offset rather than by an address in the caller's address space. Placement,
 * alignment (with @start in place of the user address), pinning and the
 * errors are those of IOMMU_IOAS_MAP. The mapping holds a reference to the
 * file, so it does not depend on the caller keeping the file mapped or even
 * open, and it is tied to the calling process only through the accounting,
 * which IOMMU_IOAS_CHANGE_PROCESS can move.
 *
 * The bytes [@start, @start + @length) must lie within the file. Further
 * errors: EBADF if @fd is not an open file descriptor, EINVAL if the file is
 * not of a supported kind.
 */
struct iommu_ioas_map_file {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__s32 fd;
	__aligned_u64 start;
	__aligned_u64 length;
	__aligned_u64 iova;
};

#define IOMMU_IOAS_MAP_FILE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP_FILE)

/**
 * struct iommu_ioas_copy - ioctl(IOMMU_IOAS_COPY)
 * @size: sizeof(struct iommu_ioas_copy)
 * @flags: a combination of enum iommufd_ioas_map_flags, applied to the new
 *         mapping
 * @dst_ioas_id: the IOAS that gets the new mapping
 * @src_ioas_id: the IOAS whose memory is mapped again; it may be the same as
 *               @dst_ioas_id
 * @length: number of bytes to map; not 0
 * @dst_iova: with %IOMMU_IOAS_MAP_FIXED_IOVA, the IOVA in the destination to
 *            map at (input); otherwise the IOVA the kernel chose (output)
 * @src_iova: start of the range in the source IOAS
 *
 * Maps, in the destination IOAS, the same memory that the range
 * [@src_iova, @src_iova + @length) of the source IOAS leads to. The source
 * range must be covered completely by existing mappings, with no holes
 * (ENOENT otherwise); it may start and end inside them. The new mapping
 * shares the source's pinned pages instead of pinning and charging them
 * again, which makes this cheaper than a second IOMMU_IOAS_MAP of the same
 * memory; it is independent of the source afterwards, and unmapping either
 * one leaves the other intact.
 *
 * Placement and alignment in the destination, and the errors, are as for
 * IOMMU_IOAS_MAP. %IOMMU_IOAS_MAP_WRITEABLE is refused with EPERM when the
 * source memory was only pinned for reading.
 */
struct iommu_ioas_copy {
	__u32 size;
	__u32 flags;
	__u32 dst_ioas_id;
	__u32 src_ioas_id;
	__aligned_u64 length;
	__aligned_u64 dst_iova;
	__aligned_u64 src_iova;
};

#define IOMMU_IOAS_COPY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY)

/**
 * struct iommu_ioas_unmap - ioctl(IOMMU_IOAS_UNMAP)
 * @size: sizeof(struct iommu_ioas_unmap)
 * @ioas_id: the IOAS to unmap from
 * @iova: start of the IOVA range to clear
 * @length: in: size of the IOVA range in bytes; out: how many bytes of
 *          mappings were removed
 *
 * Removes every mapping that lies entirely inside [@iova, @iova + @length).
 * Mappings are never cut: if one of them lies only partly inside the range
 * the call fails with ENOENT and nothing is unmapped, and a range that
 * contains no mapping at all fails with ENOENT too. The range does not have
 * to start or end at a mapping; the gaps inside it are skipped.
 *
 * @iova = 0 with @length = U64_MAX removes everything and succeeds even on an
 * empty IOAS.
 *
 * Before a mapping goes away, in-kernel accesses that have pinned part of it
 * are told to release their pins; the IOMMU domains stop translating the
 * range and the pages are unpinned and uncharged once nothing else uses
 * them. A @length of 0 gives EINVAL, and a range that does not fit an
 * unsigned long, or wraps, gives EOVERFLOW.
 */
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};

#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)

/**
 * struct iommu_ioas_change_process - ioctl(IOMMU_IOAS_CHANGE_PROCESS)
 * @size: sizeof(struct iommu_ioas_change_process)
 * @__reserved: must be 0
 *
 * Hands the whole file descriptor over to the calling process, for live
 * update: a new process inherits the iommufd (for example through a unix
 * socket) and takes over from the old one without the devices noticing.
 * For every mapping of every IOAS in the file descriptor, the pinned pages
 * are charged to the caller's accounts and uncharged from the previous ones,
 * and the caller's mm becomes the one the mapping refers to.
 *
 * Only mappings made with IOMMU_IOAS_MAP_FILE can be moved, since a mapping
 * made with IOMMU_IOAS_MAP means addresses in the old process. If any IOAS
 * holds such a mapping the call fails with EINVAL. ENOMEM if the caller's
 * RLIMIT_MEMLOCK cannot take the charge (in the per-user accounting mode, a
 * caller of the same user is not charged again, but its limit must hold
 * what the user has locked). Either every mapping moves or none does.
 */
struct iommu_ioas_change_process {
	__u32 size;
	__u32 __reserved;
};

#define IOMMU_IOAS_CHANGE_PROCESS \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_CHANGE_PROCESS)

/**
 * enum iommufd_option - the options IOMMU_OPTION can read and write
 * @IOMMU_OPTION_RLIMIT_MODE:
 *	whose RLIMIT_MEMLOCK pinned pages are charged to, for the whole file
 *	descriptor (the object_id must be 0, else EOPNOTSUPP). 0, the default,
 *	charges the user that owns the process (user->locked_vm, like io_uring
 *	and RDMA); 1 charges the process itself (mm->locked_vm, like VFIO's
 *	type1 container, so per-process limits apply). Setting it needs
 *	CAP_SYS_RESOURCE (EPERM) and is only possible while the file descriptor
 *	holds no objects (EBUSY).
 * @IOMMU_OPTION_HUGE_PAGES:
 *	whether an IOAS may map physically contiguous memory with IOMMU pages
 *	larger than the CPU page; object_id names the IOAS. 1, the default,
 *	allows it; 0 maps everything in CPU page units, which is mostly of use
 *	for measuring. 0 also raises the IOAS alignment to the CPU page size,
 *	so it fails with EADDRINUSE while a mapping is not aligned to it.
 *
 * Both options take only the values 0 and 1; anything else gives EINVAL.
 */
enum iommufd_option {
	IOMMU_OPTION_RLIMIT_MODE = 0,
	IOMMU_OPTION_HUGE_PAGES = 1,
};

/**
 * enum iommufd_option_ops - what IOMMU_OPTION does with the option
 * @IOMMU_OPTION_OP_SET: store val64 as the option's new value
 * @IOMMU_OPTION_OP_GET: return the option's current value in val64
 */
enum iommufd_option_ops {
	IOMMU_OPTION_OP_SET = 0,
	IOMMU_OPTION_OP_GET = 1,
};

/**
 * struct iommu_option - ioctl(IOMMU_OPTION)
 * @size: sizeof(struct iommu_option)
 * @option_id: which option, one of enum iommufd_option
 * @op: read or write it, one of enum iommufd_option_ops
 * @__reserved: must be 0
 * @object_id: the object the option belongs to, or 0 for an option of the
 *             whole file descriptor
 * @val64: the value to set (for %IOMMU_OPTION_OP_SET) or the value read
 *         (for %IOMMU_OPTION_OP_GET)
 *
 * One command for small settings, so that a new setting needs a new enum
 * value rather than a new ioctl. An unknown @option_id or @op gives
 * EOPNOTSUPP; an @object_id that does not name the kind of object the
 * option belongs to gives ENOENT.
 */
struct iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};

#define IOMMU_OPTION _IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION)

/**
 * enum iommufd_vfio_ioas_op - what IOMMU_VFIO_IOAS does
 * @IOMMU_VFIO_IOAS_GET: report the current compatibility IOAS in ioas_id;
 *                       ENODEV if there is none
 * @IOMMU_VFIO_IOAS_SET: make the IOAS in ioas_id the compatibility IOAS
 * @IOMMU_VFIO_IOAS_CLEAR: forget the compatibility IOAS
 */
enum iommufd_vfio_ioas_op {
	IOMMU_VFIO_IOAS_GET = 0,
	IOMMU_VFIO_IOAS_SET = 1,
	IOMMU_VFIO_IOAS_CLEAR = 2,
};

/**
 * struct iommu_vfio_ioas - ioctl(IOMMU_VFIO_IOAS)
 * @size: sizeof(struct iommu_vfio_ioas)
 * @ioas_id: the IOAS to use (%IOMMU_VFIO_IOAS_SET, input) or in use
 *           (%IOMMU_VFIO_IOAS_GET, output)
 * @op: one of enum iommufd_vfio_ioas_op
 * @__reserved: must be 0
 *
 * The VFIO container ioctls carry no object IDs, so an iommufd that serves
 * them uses one IOAS for all of them: the compatibility IOAS. This command
 * lets a program choose or inspect it, for instance to share an IOAS
 * between VFIO-style and native use of the same file descriptor.
 *
 * When a VFIO group joins the iommufd (VFIO_GROUP_SET_CONTAINER) and none has
 * been set, a new IOAS is created for the purpose; until one exists, the
 * VFIO type1 ioctls fail with EINVAL, as VFIO's own container does without
 * a group. Changing or clearing the choice later
 * does not move devices already attached through VFIO, and never destroys
 * an IOAS, including one created automatically. While the container tracks
 * dirty pages (VFIO_IOMMU_DIRTY_PAGES_FLAG_START, until _STOP), the
 * tracking belongs to the compatibility IOAS: changing or clearing it then
 * fails with EBUSY (setting the same IOAS again is allowed). Destroying the
 * compatibility IOAS ends the tracking with it.
 */
struct iommu_vfio_ioas {
	__u32 size;
	__u32 ioas_id;
	__u16 op;
	__u16 __reserved;
};

#define IOMMU_VFIO_IOAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS)

/**
 * enum iommu_hw_info_type - formats of the IOMMU specific data returned by
 *                           IOMMU_GET_HW_INFO
 * @IOMMU_HW_INFO_TYPE_NONE: the IOMMU driver reports no specific data
 * @IOMMU_HW_INFO_TYPE_DEFAULT: the same value as %IOMMU_HW_INFO_TYPE_NONE; as
 *                              an input it means "whatever the driver
 *                              reports by default"
 * @IOMMU_HW_INFO_TYPE_INTEL_VTD: struct iommu_hw_info_vtd, from Intel VT-d
 */
enum iommu_hw_info_type {
	IOMMU_HW_INFO_TYPE_NONE = 0,
	IOMMU_HW_INFO_TYPE_DEFAULT = 0,
	IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
};

/**
 * enum iommufd_hw_info_flags - flags of IOMMU_GET_HW_INFO
 * @IOMMU_HW_INFO_FLAG_INPUT_TYPE: in_data_type is an input that names the
 *                                 format wanted. Without the flag the
 *                                 value there is ignored and the driver's
 *                                 default format is returned.
 */
enum iommufd_hw_info_flags {
	IOMMU_HW_INFO_FLAG_INPUT_TYPE = 1 << 0,
};

/**
 * enum iommufd_hw_capabilities - IOMMU features reported by IOMMU_GET_HW_INFO
 * @IOMMU_HW_CAP_DIRTY_TRACKING: the IOMMU can record which pages devices
 *                               wrote, so a HWPT may be allocated with
 *                               %IOMMU_HWPT_ALLOC_DIRTY_TRACKING and used
 *                               with IOMMU_HWPT_SET_DIRTY_TRACKING and
 *                               IOMMU_HWPT_GET_DIRTY_BITMAP
 * @IOMMU_HW_CAP_PCI_PASID_EXEC: the PCI device may mark PASID requests as
 *                               "execute"; meaningless when
 *                               out_max_pasid_log2 is 0
 * @IOMMU_HW_CAP_PCI_PASID_PRIV: the PCI device may mark PASID requests as
 *                               "privileged"; meaningless when
 *                               out_max_pasid_log2 is 0
 */
enum iommufd_hw_capabilities {
	IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0,
	IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1,
	IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2,
};

/**
 * enum iommu_hw_info_vtd_flags - flags in struct iommu_hw_info_vtd
 * @IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17: the hardware has Intel erratum
 *	772415 (SPR17), so a HWPT allocated with %IOMMU_HWPT_ALLOC_NEST_PARENT
 *	must not contain read-only mappings. See
 *	https://www.intel.com/content/www/us/en/content-details/772415/content-details.html
 */
enum iommu_hw_info_vtd_flags {
	IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0,
};

/**
 * struct iommu_hw_info_vtd - Intel VT-d data (%IOMMU_HW_INFO_TYPE_INTEL_VTD)
 * @flags: a combination of enum iommu_hw_info_vtd_flags
 * @__reserved: 0
 * @cap_reg: the VT-d Capability Register (VT-d specification, 11.4.2)
 * @ecap_reg: the VT-d Extended Capability Register (VT-d specification,
 *            11.4.3)
 *
 * The registers are copied raw; decoding them is up to the reader, with
 * the VT-d specification at hand. A virtual machine monitor uses them to
 * describe a virtual VT-d whose stage-1 tables the hardware can walk.
 */
struct iommu_hw_info_vtd {
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 cap_reg;
	__aligned_u64 ecap_reg;
};

/**
 * struct iommu_hw_info - ioctl(IOMMU_GET_HW_INFO)
 * @size: sizeof(struct iommu_hw_info)
 * @flags: a combination of enum iommufd_hw_info_flags
 * @dev_id: a device bound to this iommufd
 * @data_len: in: size of the buffer at @data_uptr, which may be 0;
 *            out: size of the data in the format returned
 * @data_uptr: user pointer to the buffer that receives the IOMMU specific
 *             data
 * @in_data_type: with %IOMMU_HW_INFO_FLAG_INPUT_TYPE, the format wanted, one
 *                of enum iommu_hw_info_type; ignored otherwise
 * @out_data_type: the format of the data returned, one of enum
 *                 iommu_hw_info_type; it overwrites @in_data_type
 * @out_max_pasid_log2: how many PASID bits the device and its IOMMU support
 *                      together; 0 when PASIDs cannot be used
 * @__reserved: must be 0
 * @out_capabilities: a combination of enum iommufd_hw_capabilities
 *
 * Describes the IOMMU that translates for @dev_id. Generic features come in
 * @out_capabilities and @out_max_pasid_log2; the rest is in an IOMMU
 * specific format, for those (chiefly virtual machine monitors building a
 * matching virtual IOMMU for nesting) who can use it.
 *
 * The data is copied into the buffer at @data_uptr, cut short if the buffer
 * is smaller and followed by zeroes if it is larger. @data_len then tells
 * how much data the kernel has, so a caller can detect a newer, longer
 * format; passing a @data_len of 0 just queries that length. An
 * @in_data_type the IOMMU cannot provide gives EOPNOTSUPP; an unknown
 * @dev_id gives ENOENT. The shortest accepted @size ends at @__reserved.
 */
struct iommu_hw_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 data_len;
	__aligned_u64 data_uptr;
	union {
		__u32 in_data_type;
		__u32 out_data_type;
	};
	__u8 out_max_pasid_log2;
	__u8 __reserved[3];
	__aligned_u64 out_capabilities;
};

#define IOMMU_GET_HW_INFO _IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)

/**
 * enum iommufd_hwpt_alloc_flags - flags of IOMMU_HWPT_ALLOC
 * @IOMMU_HWPT_ALLOC_NEST_PARENT: the new paging HWPT may later carry nested
 *                                HWPTs (serve as their stage 2)
 * @IOMMU_HWPT_ALLOC_DIRTY_TRACKING: the new HWPT must support dirty tracking;
 *                                   devices that cannot provide it are
 *                                   refused at allocation and at attach
 * @IOMMU_HWPT_FAULT_ID_VALID: fault_id names a FAULT object that receives
 *                             the I/O page faults of this HWPT
 */
enum iommufd_hwpt_alloc_flags {
	IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0,
	IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1,
	IOMMU_HWPT_FAULT_ID_VALID = 1 << 2,
};

/**
 * enum iommu_hwpt_data_type - formats of the driver data for IOMMU_HWPT_ALLOC
 * @IOMMU_HWPT_DATA_NONE: no data; used to allocate a paging HWPT
 * @IOMMU_HWPT_DATA_VTD_S1: struct iommu_hwpt_vtd_s1, an Intel VT-d stage-1
 *                          table for a nested HWPT
 */
enum iommu_hwpt_data_type {
	IOMMU_HWPT_DATA_NONE = 0,
	IOMMU_HWPT_DATA_VTD_S1 = 1,
};

/**
 * enum iommu_hwpt_vtd_s1_flags - attributes of a VT-d stage-1 table
 * @IOMMU_VTD_S1_SRE: supervisor requests are allowed
 * @IOMMU_VTD_S1_EAFE: the extended accessed flag is enabled
 * @IOMMU_VTD_S1_WPE: write protection applies to supervisor requests
 *
 * Each flag sets the PASID-table-entry bit of the same name described in
 * the VT-d specification.
 */
enum iommu_hwpt_vtd_s1_flags {
	IOMMU_VTD_S1_SRE = 1 << 0,
	IOMMU_VTD_S1_EAFE = 1 << 1,
	IOMMU_VTD_S1_WPE = 1 << 2,
};

/**
 * struct iommu_hwpt_vtd_s1 - VT-d stage-1 table (%IOMMU_HWPT_DATA_VTD_S1)
 * @flags: a combination of enum iommu_hwpt_vtd_s1_flags
 * @pgtbl_addr: address of the table's root, in the address space of the
 *              parent (stage-2) HWPT
 * @addr_width: input address width of the table, in bits
 * @__reserved: must be 0
 */
struct iommu_hwpt_vtd_s1 {
	__aligned_u64 flags;
	__aligned_u64 pgtbl_addr;
	__u32 addr_width;
	__u32 __reserved;
};

/**
 * struct iommu_hwpt_alloc - ioctl(IOMMU_HWPT_ALLOC)
 * @size: sizeof(struct iommu_hwpt_alloc)
 * @flags: a combination of enum iommufd_hwpt_alloc_flags
 * @dev_id: the device whose IOMMU the HWPT is made for
 * @pt_id: what the HWPT is built on: an IOAS, or a paging HWPT that was
 *         allocated with %IOMMU_HWPT_ALLOC_NEST_PARENT
 * @out_hwpt_id: on success, the new HWPT's ID
 * @__reserved: must be 0
 * @data_type: format of the data at @data_uptr, one of enum
 *             iommu_hwpt_data_type
 * @data_len: size in bytes of the data at @data_uptr
 * @data_uptr: user pointer to the driver data
 * @fault_id: with %IOMMU_HWPT_FAULT_ID_VALID, the FAULT object that
 *            receives this HWPT's I/O page faults; ignored otherwise
 * @__reserved2: must be 0; pads the struct to a multiple of 8 bytes
 *
 * Creates a HWPT, the object that stands for one set of IOMMU page tables
 * (an IOMMU domain) in the format of the IOMMU behind @dev_id. The HWPT is
 * not attached to anything yet; devices are attached to it through VFIO.
 * Two kinds can be made:
 *
 * - When @pt_id is an IOAS, a paging HWPT whose translations the kernel
 *   keeps equal to the IOAS's mappings for as long as it lives.
 *   @data_type must be %IOMMU_HWPT_DATA_NONE. This is the kind the kernel
 *   would create by itself when a device is attached to an IOAS; allocating
 *   it explicitly lets userspace choose flags, such as making it a nesting
 *   parent or enabling dirty tracking.
 * - When @pt_id is a nesting parent, a nested HWPT: a stage-1 table that
 *   userspace (usually a guest) owns and edits directly, translated in turn
 *   by the parent. @data_type and the data describe the table in the
 *   IOMMU's own format. The kernel does not see changes to the table, so
 *   userspace must report them with IOMMU_HWPT_INVALIDATE.
 *
 * @data_len must be 0 exactly when @data_type is %IOMMU_HWPT_DATA_NONE
 * (EINVAL). ENOENT if @dev_id or @fault_id does not name a device or a FAULT
 * object; EINVAL if @pt_id names neither an IOAS nor a paging HWPT, or names
 * a HWPT that cannot be a parent. EOPNOTSUPP for flags or data the device's
 * IOMMU cannot honour, and for %IOMMU_HWPT_FAULT_ID_VALID together with
 * %IOMMU_HWPT_ALLOC_NEST_PARENT. The shortest accepted @size ends at
 * @__reserved.
 */
struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 fault_id;
	__u32 __reserved2;
};

#define IOMMU_HWPT_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)

/**
 * enum iommufd_hwpt_set_dirty_tracking_flags - flags of
 *                                              IOMMU_HWPT_SET_DIRTY_TRACKING
 * @IOMMU_HWPT_DIRTY_TRACKING_ENABLE: turn tracking on; without it, off
 */
enum iommufd_hwpt_set_dirty_tracking_flags {
	IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1,
};

/**
 * struct iommu_hwpt_set_dirty_tracking - ioctl(IOMMU_HWPT_SET_DIRTY_TRACKING)
 * @size: sizeof(struct iommu_hwpt_set_dirty_tracking)
 * @flags: a combination of enum iommufd_hwpt_set_dirty_tracking_flags
 * @hwpt_id: a paging HWPT
 * @__reserved: must be 0
 *
 * Starts or stops the recording of device writes in a paging HWPT, as used
 * for live migration. Turning it on starts from a clean state: whatever was
 * recorded before is discarded. The HWPT's IOMMU must support dirty
 * tracking (EOPNOTSUPP otherwise); ENOENT if @hwpt_id is not a paging HWPT.
 */
struct iommu_hwpt_set_dirty_tracking {
	__u32 size;
	__u32 flags;
	__u32 hwpt_id;
	__u32 __reserved;
};

#define IOMMU_HWPT_SET_DIRTY_TRACKING _IO(IOMMUFD_TYPE, \
					  IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)

/**
 * enum iommufd_hwpt_get_dirty_bitmap_flags - flags of
 *                                            IOMMU_HWPT_GET_DIRTY_BITMAP
 * @IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR: only read the dirty state, leaving
 *	it recorded. Cheaper, and enough when the range is about to be
 *	unmapped anyway.
 */
enum iommufd_hwpt_get_dirty_bitmap_flags {
	IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1,
};

/**
 * struct iommu_hwpt_get_dirty_bitmap - ioctl(IOMMU_HWPT_GET_DIRTY_BITMAP)
 * @size: sizeof(struct iommu_hwpt_get_dirty_bitmap)
 * @hwpt_id: a paging HWPT with dirty tracking
 * @flags: a combination of enum iommufd_hwpt_get_dirty_bitmap_flags
 * @__reserved: must be 0
 * @iova: start of the IOVA range to report on
 * @length: size of the range in bytes; not 0
 * @page_size: how many bytes of IOVA one bit stands for; a power of two
 * @data: user pointer to the bitmap, an array of __u64 holding at least
 *        @length / @page_size bits
 *
 * Reports which parts of [@iova, @iova + @length) devices wrote since dirty
 * tracking was enabled or the state was last cleared, and by default clears
 * that state. Bit k of the bitmap covers the IOVA range that starts at
 * @iova + k * @page_size; counting the bits in 64-bit words, that is::
 *
 *   data[k / 64] & (1ULL << (k % 64))
 *
 * The kernel only sets bits, it never clears them, so the caller zeroes the
 * bitmap beforehand. @iova and @length must be multiples of both
 * @page_size and the IOAS alignment (EINVAL); a range that wraps or does
 * not fit an unsigned long gives EOVERFLOW. Mappings must cover the whole
 * range, with no hole (EINVAL otherwise, also when a concurrent
 * IOMMU_IOAS_UNMAP has just removed part of it).
 */
struct iommu_hwpt_get_dirty_bitmap {
	__u32 size;
	__u32 hwpt_id;
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;
};

#define IOMMU_HWPT_GET_DIRTY_BITMAP _IO(IOMMUFD_TYPE, \
					IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)

/**
 * enum iommu_hwpt_invalidate_data_type - formats of invalidation requests
 * @IOMMU_HWPT_INVALIDATE_DATA_VTD_S1: struct iommu_hwpt_vtd_s1_invalidate,
 *                                     for a %IOMMU_HWPT_DATA_VTD_S1 HWPT
 */
enum iommu_hwpt_invalidate_data_type {
	IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0,
};

/**
 * enum iommu_hwpt_vtd_s1_invalidate_flags - flags of a VT-d invalidation
 * @IOMMU_VTD_INV_FLAGS_LEAF: only leaf entries changed, so the cached
 *                            upper levels of the table may be kept
 */
enum iommu_hwpt_vtd_s1_invalidate_flags {
	IOMMU_VTD_INV_FLAGS_LEAF = 1 << 0,
};

/**
 * struct iommu_hwpt_vtd_s1_invalidate - one VT-d stage-1 invalidation
 *                                       (%IOMMU_HWPT_INVALIDATE_DATA_VTD_S1)
 * @addr: first address to invalidate; a multiple of 4 KiB
 * @npages: how many 4 KiB pages, from @addr on, to invalidate
 * @flags: a combination of enum iommu_hwpt_vtd_s1_invalidate_flags
 * @__reserved: must be 0
 *
 * Asks that the IOTLB (and paging-structure) entries derived from a range of
 * the user's stage-1 table be dropped after the user edited that range.
 * @addr = 0 with @npages = U64_MAX drops everything derived from the table.
 * When the device uses ATS, its own translation cache is invalidated
 * too; userspace does not ask for that separately.
 */
struct iommu_hwpt_vtd_s1_invalidate {
	__aligned_u64 addr;
	__aligned_u64 npages;
	__u32 flags;
	__u32 __reserved;
};

/**
 * struct iommu_hwpt_invalidate - ioctl(IOMMU_HWPT_INVALIDATE)
 * @size: sizeof(struct iommu_hwpt_invalidate)
 * @hwpt_id: a nested HWPT
 * @data_uptr: user pointer to an array of invalidation requests
 * @data_type: the format of every request in the array, one of enum
 *             iommu_hwpt_invalidate_data_type; the HWPT's driver must
 *             support it
 * @entry_len: size in bytes of one request in the array
 * @entry_num: in: how many requests the array holds; out: how many of them
 *             were carried out
 * @__reserved: must be 0
 *
 * Tells the IOMMU to forget what it cached from a user-owned stage-1 table,
 * which userspace must do after changing the table. The requests run in
 * array order and the kernel stops at the first one that fails. Since the
 * requests already carried out cannot be undone, @entry_num is written back
 * even when the call fails: it then counts the requests before the failing
 * one.
 *
 * An @entry_num of 0 is allowed and does nothing; @data_uptr and
 * @entry_len are not looked at then, which makes it a way to ask whether
 * @data_type is supported. With requests, @data_uptr and @entry_len must
 * not be 0, and the driver may insist on @entry_len being the size of its
 * request struct (EINVAL). ENOENT if @hwpt_id is not a nested HWPT.
 */
struct iommu_hwpt_invalidate {
	__u32 size;
	__u32 hwpt_id;
	__aligned_u64 data_uptr;
	__u32 data_type;
	__u32 entry_len;
	__u32 entry_num;
	__u32 __reserved;
};

#define IOMMU_HWPT_INVALIDATE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE)

/**
 * enum iommu_hwpt_pgfault_flags - flags of struct iommu_hwpt_pgfault
 * @IOMMU_PGFAULT_FLAGS_PASID_VALID: the fault came with a PASID, found in
 *                                   the pasid member
 * @IOMMU_PGFAULT_FLAGS_LAST_PAGE: this record ends its group
 */
enum iommu_hwpt_pgfault_flags {
	IOMMU_PGFAULT_FLAGS_PASID_VALID		= (1 << 0),
	IOMMU_PGFAULT_FLAGS_LAST_PAGE		= (1 << 1),
};

/**
 * enum iommu_hwpt_pgfault_perm - access asked for by a faulting request
 * @IOMMU_PGFAULT_PERM_READ: the device wants to read
 * @IOMMU_PGFAULT_PERM_WRITE: the device wants to write
 * @IOMMU_PGFAULT_PERM_EXEC: the request's PASID prefix has Execute
 *                           Requested set (PCIe r6, 10.4.1)
 * @IOMMU_PGFAULT_PERM_PRIV: the request's PASID prefix has Privileged Mode
 *                           Requested set (PCIe r6, 10.4.1)
 */
enum iommu_hwpt_pgfault_perm {
	IOMMU_PGFAULT_PERM_READ			= (1 << 0),
	IOMMU_PGFAULT_PERM_WRITE		= (1 << 1),
	IOMMU_PGFAULT_PERM_EXEC			= (1 << 2),
	IOMMU_PGFAULT_PERM_PRIV			= (1 << 3),
};

/**
 * struct iommu_hwpt_pgfault - one I/O page fault, as read from a FAULT fd
 * @flags: a combination of enum iommu_hwpt_pgfault_flags
 * @dev_id: the device that faulted, by its iommufd device ID
 * @pasid: the PASID of the request, if %IOMMU_PGFAULT_FLAGS_PASID_VALID
 * @grpid: the PCI page request group index the fault belongs to
 * @perm: the access wanted, a combination of enum iommu_hwpt_pgfault_perm
 * @__reserved: 0
 * @addr: the faulting address
 * @length: how many bytes the device expects to access from @addr, if it
 *          said so; the handler may fault in that much at once. 0 when no
 *          hint was given.
 * @cookie: identifies the group for the answer; every record of a group
 *          carries the same value
 *
 * A device may send several page requests as a group and expects one
 * answer for all of them; the last record of a group has
 * %IOMMU_PGFAULT_FLAGS_LAST_PAGE set.
 */
struct iommu_hwpt_pgfault {
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
	__u32 grpid;
	__u32 perm;
	__u32 __reserved;
	__aligned_u64 addr;
	__u32 length;
	__u32 cookie;
};

/**
 * enum iommufd_page_response_code - outcome of handling a fault group
 * @IOMMUFD_PAGE_RESP_SUCCESS: the page tables now allow the access; the
 *                             device should retry it ("Success" in PCIe r6,
 *                             10.4.2.1)
 * @IOMMUFD_PAGE_RESP_INVALID: the fault could not be resolved; the device
 *                             must not retry ("Invalid Request" in PCIe r6,
 *                             10.4.2.1)
 */
enum iommufd_page_response_code {
	IOMMUFD_PAGE_RESP_SUCCESS = 0,
	IOMMUFD_PAGE_RESP_INVALID = 1,
};

/**
 * struct iommu_hwpt_page_response - the answer to one fault group, as
 *                                   written to a FAULT fd
 * @cookie: the cookie of the group being answered
 * @code: one of enum iommufd_page_response_code
 */
struct iommu_hwpt_page_response {
	__u32 cookie;
	__u32 code;
};

/**
 * struct iommu_fault_alloc - ioctl(IOMMU_FAULT_QUEUE_ALLOC)
 * @size: sizeof(struct iommu_fault_alloc)
 * @flags: no flags are defined yet; must be 0
 * @out_fault_id: on success, the new FAULT's object ID
 * @out_fault_fd: on success, a new file descriptor for the FAULT's queue
 *
 * Creates a FAULT object: a queue of I/O page faults coming from the HWPTs
 * that name it in IOMMU_HWPT_ALLOC. Handling happens on @out_fault_fd:
 *
 * - read() returns whole struct iommu_hwpt_pgfault records, oldest first;
 *   the buffer must hold a whole number of them. poll() reports the fd
 *   readable while records are waiting.
 * - write() takes whole struct iommu_hwpt_page_response records, one for
 *   each group, and passes the answers to the devices.
 *
 * Groups still unanswered when a device is detached from the HWPT are
 * answered by the kernel at that point.
 */
struct iommu_fault_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_fault_id;
	__u32 out_fault_fd;
};

#define IOMMU_FAULT_QUEUE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_FAULT_QUEUE_ALLOC)

#endif
