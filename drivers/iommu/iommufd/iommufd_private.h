/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iommufd_private.h - what the files of iommufd share.
 *
 * Glossary used throughout drivers/iommu/iommufd:
 *
 *  ictx    one open of /dev/iommu (or of /dev/vfio/vfio): a struct
 *          iommufd_ctx holding a table of objects by 32-bit ID.
 *  object  anything userspace names by ID: IOAS, HWPT, DEVICE, ACCESS,
 *          FAULT. Every object embeds a struct iommufd_object at offset 0.
 *  ucmd    one ioctl in flight: the decoded command struct and where to
 *          write the answer.
 *
 * The life of an object
 * ---------------------
 * An object is *reserved* (its ID is taken but resolves to nothing), built,
 * and then either *published* (the ID now finds it) or *aborted* (the ID is
 * released and the memory freed; no lookup ever saw it). Builders answer the
 * ioctl before publishing, so a failed copy to userspace leaves no trace.
 *
 * Two counters keep a published object alive:
 *
 *  @users   long-term holders: 1 for the owner (the object table for objects
 *           userspace created, the kernel driver for kernel-owned ones) plus
 *           one per dependent object (a HWPT holds its IOAS, an attached
 *           device holds its HWPT, ...). Destroying needs it to be exactly 1.
 *  @active  short-term holders: 1 while the ID resolves to the object, plus
 *           one per lookup in flight (an ioctl that works on the object).
 *
 * A long-term reference may only be taken while holding a short-term one.
 * Lookups and destruction both run under the table's xa_lock, so a
 * userspace IOMMU_DESTROY is decided atomically: it succeeds only when
 * @users is 1 and @active is 1, and then drops @active to 0 and removes the
 * ID in the same critical section. Nobody can find the object afterwards,
 * so its destroy callback runs without racing anyone. Otherwise the answer
 * is -EBUSY: the object is depended on, or an ioctl is using it right now.
 *
 * Objects owned by a kernel driver (a DEVICE bound by VFIO, an ACCESS made
 * by an mdev driver) carry the owner's reference in @users, so userspace
 * cannot destroy them. The owner removes them with
 * iommufd_object_remove_owned(), which waits for in-flight lookups to
 * finish instead of failing.
 *
 * Closing the file destroys whatever is left, leaves first: each pass
 * destroys every object nobody depends on, until the table is empty.
 *
 * Locking
 * -------
 * Every lock of iommufd, outermost first. A path may take a lock while
 * holding only locks above it; the spinlocks are marked, the rest sleep.
 *
 *  iommufd_ctx::maps_rwsem            read around every map and unmap
 *                                     ioctl, written by CHANGE_PROCESS
 *  iommufd_ctx::compat_lock           the compat IOAS pointer, mode and
 *                                     VFIO dirty tracking state; held over
 *                                     that tracking's start and stop (then
 *                                     the io_pagetable locks), and to make
 *                                     and publish the compat IOAS; a read
 *                                     of the bits samples the state under
 *                                     it and reads without it
 *  iommufd_ioas::mutex                the IOAS's list of HWPTs; held while
 *                                     an auto domain is found or made,
 *                                     filled and attached
 *  iommufd_group::lock                a group's HWPT, attachment, devices
 *                                     and MSI window
 *  iommufd_access::lock               an access's attach, replace, detach;
 *                                     held around the driver's unmap
 *                                     callback there
 *  io_pagetable::domains_rwsem        the domains of an IOAS; read by every
 *                                     map and unmap for their whole run,
 *                                     written to add or remove a domain or
 *                                     access
 *   (the locks of an access driver's unmap callback, which runs here)
 *  io_pagetable::dirty_lock           switching dirty tracking in a domain
 *                                     and recording that it did
 *  io_pagetable::iova_rwsem           the IOVA trees; held briefly by
 *                                     map and unmap, but for reading
 *                                     across user memory by an access's
 *                                     pin (GUP) and copy, and by a dirty
 *                                     bitmap read writing the user's
 *                                     bitmap (for writing, an unmap's):
 *                                     a fault there holds the IOAS, as
 *                                     type1's lock does
 *  iopt_pages::mutex                  the pin trees, PFN store and charge
 *                                     of one range of memory
 *  mmap_lock, shmem/hugetlbfs locks   taken by GUP and memfd_pin_folios()
 *
 * and, taken under any of the above (or none):
 *
 *  iommufd_fault::mutex               a fault queue's answers; readers
 *                                     copy out without it; answering under
 *                                     it takes the IOMMU core's fault locks
 *  iommufd_access::ioas_lock          the access's IOAS pointers
 *  iommufd_fault::lock                the queue of unread faults (a
 *                                     spinlock: the IOMMU driver's fault
 *                                     path takes only this)
 *  xa_lock of iommufd_ctx::objects    the object table (a spinlock)
 *  xa_lock of io_pagetable::domains   which domain tracks dirty IOVA (a
 *                                     spinlock; fdinfo takes it under the
 *                                     object table's)
 *  xa_lock of iommufd_ctx::groups     the groups by ID (a spinlock)
 *
 * Helpers that rely on a caller's lock assert it with lockdep_assert_held()
 * and say it with __must_hold(), which sparse does not check at the call
 * sites: lockdep does.
 */
#ifndef __IOMMUFD_PRIVATE_H
#define __IOMMUFD_PRIVATE_H

#include <linux/iommu.h>
#include <linux/iommufd.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/xarray.h>
#include <uapi/linux/iommufd.h>

#include "io_pagetable.h"

struct iommufd_fault;
struct seq_file;

/*
 * How pinned pages are charged against RLIMIT_MEMLOCK, chosen per context
 * with IOMMU_OPTION_RLIMIT_MODE.
 */
enum iommufd_account_mode {
	/* Nothing is charged: used by kernel-internal users only */
	IOMMUFD_ACCOUNT_NONE,
	/* user_struct::locked_vm, like io_uring and RDMA (the default) */
	IOMMUFD_ACCOUNT_USER,
	/* mm_struct::locked_vm of the mapping process, like VFIO type1 */
	IOMMUFD_ACCOUNT_MM,
};

/**
 * struct iommufd_ctx - the state behind one open /dev/iommu file
 * @file: the file this context lives in; its reference count is the
 *        context's (iommufd_ctx_get() / iommufd_ctx_put())
 * @objects: object ID -> struct iommufd_object. A reserved ID holds
 *           XA_ZERO_ENTRY. The xa_lock orders lookups against destruction.
 * @destroy_wait: woken when an object's @active count drops to zero
 * @groups: iommu_group ID -> struct iommufd_group of the bound devices
 * @compat_lock: protects @vfio_ioas, @no_iommu_mode, @vfio_v1 and the
 *               VFIO dirty tracking state (@vfio_dirty, @vfio_dirty_gen);
 *               taken before the io_pagetable locks
 * @maps_rwsem: held for reading by every ioctl that maps or unmaps (see
 *              iommufd_run_ucmd()), for writing by IOAS_CHANGE_PROCESS,
 *              which must see no map half done
 * @vfio_ioas: the IOAS the VFIO container emulation uses, or NULL
 * @no_iommu_mode: the VFIO container emulation was put in no-IOMMU mode
 * @vfio_v1: VFIO_SET_IOMMU chose VFIO_TYPE1_IOMMU: unmaps follow type1 v1
 *           (iopt_unmap_v1()). Otherwise, set or not, type1v2's rules
 *           apply. Read without the lock by the ioctls that act on it.
 * @vfio_dirty: VFIO_IOMMU_DIRTY_PAGES_FLAG_START is in effect, on
 *              @vfio_ioas: IOMMU_VFIO_IOAS cannot change that meanwhile,
 *              and destroying it resets this state
 * @vfio_dirty_gen: the compat IOAS's domains generation when START turned
 *                  hardware dirty tracking on in all its domains, or 0:
 *                  then every mapped page is reported dirty
 * @account_mode: enum iommufd_account_mode for new mappings; set with
 *                IOMMU_OPTION_RLIMIT_MODE, under the @objects lock, while
 *                the context has no objects
 * @stat_pinned: pages pinned for the mappings made through this file
 * @stat_charged: pages of @stat_pinned charged to RLIMIT_MEMLOCK
 * @stat_pfn_arrays: arrays of PFNs the mappings made through this file
 *                   keep in kernel memory, 512 PFNs each (see "The PFN
 *                   store" in pages.c)
 * @stat_lock: protects @stat_payer and @stat_payer_uid
 * @stat_payer: thread group of the process last charged for this file's
 *              pins, or that took the charge over (CHANGE_PROCESS); NULL
 *              before any. Holds a reference.
 * @stat_payer_uid: the user charged with it; INVALID_UID before any
 *
 * The stat_ members are for fdinfo: counters kept at pin and charge time,
 * read without any lock but @stat_lock. fdinfo translates the payer into
 * its reader's namespaces.
 */
struct iommufd_ctx {
	struct file *file;
	struct xarray objects;
	wait_queue_head_t destroy_wait;
	struct xarray groups;

	struct mutex compat_lock; /* see @compat_lock above */
	struct rw_semaphore maps_rwsem; /* see above */
	struct iommufd_ioas *vfio_ioas;
	bool no_iommu_mode;
	bool vfio_v1;
	bool vfio_dirty;
	u64 vfio_dirty_gen;
	u8 account_mode;

	atomic_long_t stat_pinned;
	atomic_long_t stat_charged;
	atomic_long_t stat_pfn_arrays;
	spinlock_t stat_lock; /* see above */
	struct pid *stat_payer;
	kuid_t stat_payer_uid;
};

void iommufd_ctx_note_payer(struct iommufd_ctx *ictx, struct task_struct *task,
			    kuid_t uid);

/**
 * struct iommufd_ucmd - one ioctl being executed
 * @ictx: the context the ioctl was issued on
 * @ubuffer: the user's copy of the command struct
 * @user_size: the size userspace says its struct has
 * @cmd: the kernel's copy, zero-extended to the size the kernel knows
 */
struct iommufd_ucmd {
	struct iommufd_ctx *ictx;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd, size_t cmd_len);

/* The types of objects; the order is irrelevant */
enum iommufd_object_type {
	/* Lookups that accept any type pass this */
	IOMMUFD_OBJ_ANY = 0,
	IOMMUFD_OBJ_IOAS,
	IOMMUFD_OBJ_ACCESS,
	IOMMUFD_OBJ_FAULT,
	IOMMUFD_OBJ_DEVICE,
	IOMMUFD_OBJ_HWPT_NESTED,
	IOMMUFD_OBJ_HWPT_PAGING,
#ifdef CONFIG_IOMMUFD_TEST
	IOMMUFD_OBJ_SELFTEST,
#endif
	IOMMUFD_OBJ_MAX,
};

/**
 * struct iommufd_object - the header every object starts with
 * @id: the ID userspace names it by
 * @type: enum iommufd_object_type
 * @active: 1 while published, plus one per lookup in flight
 * @users: long-term references: the owner's plus one per dependent
 *
 * See the top of this file for the rules of the two counters.
 */
struct iommufd_object {
	u32 id;
	unsigned int type;
	refcount_t active;
	refcount_t users;
};

struct iommufd_object *__iommufd_object_alloc(struct iommufd_ctx *ictx,
					      size_t size,
					      enum iommufd_object_type type);

/*
 * iommufd_object_alloc() - reserve an ID and allocate a zeroed object of the
 * C type @ctype, whose struct iommufd_object @member must be at offset 0.
 * Returns the object or an ERR_PTR.
 */
#define iommufd_object_alloc(ictx, ctype, member, type)                      \
	((typeof(ctype) *)__iommufd_object_alloc((ictx), sizeof(ctype),      \
						 (type)) +                   \
	 BUILD_BUG_ON_ZERO(offsetof(ctype, member) != 0))

void iommufd_object_publish(struct iommufd_ctx *ictx,
			    struct iommufd_object *obj);
void iommufd_object_abort(struct iommufd_ctx *ictx,
			  struct iommufd_object *obj);
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj);
void iommufd_object_remove_owned(struct iommufd_ctx *ictx,
				 struct iommufd_object *obj);
void iommufd_object_unhold_reap(struct iommufd_ctx *ictx,
				struct iommufd_object *obj, unsigned int nrefs);

struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_object_type type);
void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj);

/*
 * Take or drop a long-term reference. The caller of iommufd_object_hold()
 * must hold a short-term one (from iommufd_get_object()) or already hold a
 * long-term one.
 */
static inline void iommufd_object_hold(struct iommufd_object *obj)
{
	refcount_inc(&obj->users);
}

static inline void iommufd_object_unhold(struct iommufd_object *obj)
{
	/* The owner's reference keeps this from ever reaching zero here */
	refcount_dec(&obj->users);
}

/* What io_pagetable.c needs to know of an access (access.c) */
unsigned long iommufd_access_iova_alignment(struct iommufd_access *access);
void iommufd_access_set_iopt_id(struct iommufd_access *access, u32 id);
u32 iommufd_access_iopt_id(struct iommufd_access *access);
void iommufd_access_notify_unmap(struct iommufd_access *access,
				 unsigned long start, unsigned long last);

/**
 * struct iommufd_ioas - an I/O address space
 * @obj: object header
 * @ictx: the context it belongs to
 * @iopt: the IOVA space and the memory mapped into it
 * @mutex: protects @hwpt_list
 * @hwpt_list: struct iommufd_hwpt_paging made for this IOAS, for devices
 *             attaching to it to reuse
 */
struct iommufd_ioas {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct io_pagetable iopt;
	struct mutex mutex; /* protects hwpt_list */
	struct list_head hwpt_list;
};

static inline struct iommufd_ioas *to_ioas(struct iommufd_object *obj)
{
	return container_of(obj, struct iommufd_ioas, obj);
}

static inline struct iommufd_ioas *iommufd_get_ioas(struct iommufd_ctx *ictx,
						    u32 id)
{
	struct iommufd_object *obj;

	obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_IOAS);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return to_ioas(obj);
}

struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx);
void iommufd_vfio_compat_forget(struct iommufd_ioas *ioas);

/**
 * struct iommufd_hw_pagetable - what every HWPT starts with
 * @obj: object header (type IOMMUFD_OBJ_HWPT_PAGING or _NESTED)
 * @fault: the FAULT object I/O page faults are reported to, or NULL
 * @domain: the iommu_domain devices attach to
 * @iommu_name: the name of the IOMMU instance the domain is of, as in
 *              /sys/class/iommu, copied at allocation; immutable
 * @stat_devices: devices attached, for fdinfo (changed under the group
 *                locks, read without them)
 */
struct iommufd_hw_pagetable {
	struct iommufd_object obj;
	struct iommufd_fault *fault;
	struct iommu_domain *domain;
	char iommu_name[32];
	atomic_t stat_devices;
};

/**
 * struct iommufd_hwpt_paging - a HWPT whose mappings mirror an IOAS
 * @common: the HWPT header
 * @ioas: the IOAS, with a long-term reference; immutable
 * @hwpt_item: in ioas->hwpt_list while @auto_domain (ioas->mutex)
 * @auto_domain: made by attaching a device to the IOAS; destroyed when the
 *               last device leaves
 * @in_iopt: the domain is filled from and kept in sync with @ioas
 * @enforce_cache_coherency: the domain blocks no-snoop DMA
 * @msi_cookie: the domain has its software MSI window set up
 * @nest_parent: may be the parent of nested HWPTs
 */
struct iommufd_hwpt_paging {
	struct iommufd_hw_pagetable common;
	struct list_head hwpt_item;
	struct iommufd_ioas *ioas;
	bool auto_domain : 1;
	bool in_iopt : 1;
	bool enforce_cache_coherency : 1;
	bool msi_cookie : 1;
	bool nest_parent : 1;
};

/**
 * struct iommufd_hwpt_nested - a user-managed stage-1 table over a parent
 * @common: the HWPT header
 * @parent: the nesting parent, with a long-term reference; immutable
 */
struct iommufd_hwpt_nested {
	struct iommufd_hw_pagetable common;
	struct iommufd_hwpt_paging *parent;
};

static inline struct iommufd_hw_pagetable *
to_hwpt(struct iommufd_object *obj)
{
	return container_of(obj, struct iommufd_hw_pagetable, obj);
}

/* The two kinds of HWPT, from their shared header */
#define to_hwpt_paging(hwpt)                                                 \
	container_of(hwpt, struct iommufd_hwpt_paging, common)
#define to_hwpt_nested(hwpt)                                                 \
	container_of(hwpt, struct iommufd_hwpt_nested, common)

static inline bool hwpt_is_paging(const struct iommufd_hw_pagetable *hwpt)
{
	return hwpt->obj.type == IOMMUFD_OBJ_HWPT_PAGING;
}

/* Look up a HWPT of either kind; returns an ERR_PTR or a short-term ref */
struct iommufd_hw_pagetable *iommufd_get_hwpt(struct iommufd_ctx *ictx, u32 id);

static inline void iommufd_put_hwpt(struct iommufd_ctx *ictx,
				    struct iommufd_hw_pagetable *hwpt)
{
	iommufd_put_object(ictx, &hwpt->obj);
}

/* Look up a HWPT_PAGING; returns an ERR_PTR or a short-term ref */
struct iommufd_hwpt_paging *iommufd_get_hwpt_paging(struct iommufd_ctx *ictx,
						    u32 id);

struct iommufd_hwpt_paging *
iommufd_hwpt_paging_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			  struct iommufd_device *idev, u32 flags,
			  bool auto_domain,
			  const struct iommu_user_data *user_data);
int iommufd_hwpt_paging_fill(struct iommufd_hwpt_paging *paging);
void iommufd_hwpt_paging_list(struct iommufd_hwpt_paging *paging);
int iommufd_hwpt_paging_enforce_cc(struct iommufd_hwpt_paging *hwpt_paging);

/**
 * struct iommufd_attach_handle - what the IOMMU core keeps for an attachment
 * @handle: the core's part; handle.domain is the attached domain
 * @dev_id: the ID of the device that attached the group, reported with
 *          its I/O page faults
 *
 * A new one is made for every attach and replace, so a fault can never
 * see an attachment change under it.
 */
struct iommufd_attach_handle {
	struct iommu_attach_handle handle;
	u32 dev_id;
};

/**
 * struct iommufd_group - the devices of one iommu_group bound to a context
 * @ref: one reference per bound device
 * @lock: protects @hwpt, @devices and @sw_msi_start
 * @ictx: the context
 * @group: the iommu_group, with a reference
 * @hwpt: the HWPT the group is attached to, or NULL; all devices of a group
 *        share one translation
 * @handle: the attachment to @hwpt
 * @devices: struct iommufd_device attached to @hwpt (through group_item)
 * @sw_msi_start: base of the software MSI window the devices need, or
 *                PHYS_ADDR_MAX
 */
struct iommufd_group {
	struct iommu_group *group;
	struct iommufd_ctx *ictx;
	struct kref ref;
	struct mutex lock; /* protects hwpt, devices, sw_msi_start */
	struct list_head devices;
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_attach_handle *handle;
	phys_addr_t sw_msi_start;
};

/**
 * struct iommufd_device - a device bound to a context by its driver
 * @obj: object header; owned by the binding driver
 * @ictx: the context
 * @holds_ictx: the device holds a reference on @ictx until it is unbound
 *              (every device but the selftest's mock ones)
 * @igroup: its group, with a reference
 * @group_item: in igroup->devices while attached (igroup->lock)
 * @dev: the device
 * @enforce_cache_coherency: the IOMMU can block no-snoop DMA for it, so
 *                           every domain it attaches to must do so
 * @iopf_enabled: I/O page fault reporting is on, for a fault-capable HWPT
 * @attached_id: ID of the HWPT the device is attached to, or 0 (for
 *               fdinfo: written under igroup->lock, read without it)
 */
struct iommufd_device {
	struct iommufd_object obj;
	struct device *dev;
	struct iommufd_group *igroup;
	struct list_head group_item;
	struct iommufd_ctx *ictx;
	bool holds_ictx;
	bool iopf_enabled;
	bool enforce_cache_coherency;
	u32 attached_id;
};

static inline struct iommufd_device *
iommufd_get_device(struct iommufd_ucmd *ucmd, u32 id)
{
	struct iommufd_object *obj;

	obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_DEVICE);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iommufd_device, obj);
}

/* fault.c */
struct iommufd_fault *iommufd_get_fault(struct iommufd_ucmd *ucmd, u32 id);
void iommufd_fault_put(struct iommufd_ucmd *ucmd, struct iommufd_fault *fault);
void iommufd_fault_hold(struct iommufd_fault *fault);
void iommufd_fault_unhold(struct iommufd_fault *fault);
int iommufd_fault_iopf_handler(struct iopf_group *group);
void iommufd_fault_forget_handle(struct iommufd_fault *fault,
				 struct iommu_attach_handle *handle);
void iommufd_fault_show_fdinfo(struct seq_file *m, struct iommufd_object *obj);
u32 iommufd_fault_id(struct iommufd_fault *fault);

/* Handlers of the ioctls, by file */
int iommufd_destroy(struct iommufd_ucmd *ucmd);
int iommufd_option(struct iommufd_ucmd *ucmd);

int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd);
int iommufd_ioas_copy(struct iommufd_ucmd *ucmd);
int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map_file(struct iommufd_ucmd *ucmd);
int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd);
int iommufd_ioas_change_process(struct iommufd_ucmd *ucmd);
int iommufd_ioas_option(struct iommufd_ucmd *ucmd);
int iommufd_option_rlimit_mode(struct iommufd_ucmd *ucmd);
int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd);

int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd);
int iommufd_get_hw_info(struct iommufd_ucmd *ucmd);
int iommufd_fault_alloc(struct iommufd_ucmd *ucmd);

long iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
			unsigned long arg);

/* Per-type callbacks, one table entry per enum iommufd_object_type */
void iommufd_ioas_destroy(struct iommufd_object *obj);
void iommufd_hwpt_paging_destroy(struct iommufd_object *obj);
void iommufd_hwpt_paging_abort(struct iommufd_object *obj);
void iommufd_hwpt_nested_destroy(struct iommufd_object *obj);
void iommufd_hwpt_nested_abort(struct iommufd_object *obj);
void iommufd_device_destroy(struct iommufd_object *obj);
void iommufd_access_destroy_object(struct iommufd_object *obj);
void iommufd_fault_destroy(struct iommufd_object *obj);

#ifdef CONFIG_IOMMUFD_TEST
bool iommufd_selftest_is_mock_dev(struct device *dev);
void iommufd_selftest_show_ioptes(struct seq_file *m,
				  struct iommu_domain *domain);
/* A fault injection point (debugfs fail_iommufd) where failslab can't reach */
bool iommufd_should_fail(void);
/* Bytes of scratch memory one pinning batch may use, set by the selftest */
extern size_t iommufd_test_memory_limit;
int iommufd_test(struct iommufd_ucmd *ucmd);
void iommufd_selftest_destroy(struct iommufd_object *obj);
int __init iommufd_test_init(void);
void iommufd_test_exit(void);
#else
static inline int __init iommufd_test_init(void)
{
	return 0;
}

static inline void iommufd_test_exit(void)
{
}

static inline bool iommufd_selftest_is_mock_dev(struct device *dev)
{
	return false;
}

static inline void iommufd_selftest_show_ioptes(struct seq_file *m,
						struct iommu_domain *domain)
{
}

static inline bool iommufd_should_fail(void)
{
	return false;
}
#endif

#endif /* __IOMMUFD_PRIVATE_H */
