// SPDX-License-Identifier: GPL-2.0-only
/*
 * main.c - the /dev/iommu character device, its object table and the ioctl
 * dispatcher.
 *
 * Every ioctl takes a pointer to a struct whose first member is a __u32
 * "size". The dispatcher copies that struct into a kernel buffer sized for
 * the largest command this kernel knows, zero-filling whatever the caller's
 * older struct lacks and refusing (-E2BIG) a newer struct whose extra bytes
 * are not all zero. Handlers therefore always see a complete, current
 * struct and never touch user memory for the command itself.
 *
 * The object table and the rules of an object's two reference counts are
 * described at the top of iommufd_private.h.
 */
#define pr_fmt(fmt) "iommufd: " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/pid_namespace.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/vfio.h>

#include "iommufd_private.h"
#include "iommufd_test.h"

#define CREATE_TRACE_POINTS
#include "iommufd_trace.h"

/**
 * struct iommufd_object_ops - what a type of object does when it ends
 * @destroy: take apart a published object nobody holds any more
 * @abort: take apart a half-built object that was never published; when
 *         NULL, @destroy copes with that too
 */
struct iommufd_object_ops {
	void (*destroy)(struct iommufd_object *obj);
	void (*abort)(struct iommufd_object *obj);
};

#define IOMMUFD_OPS(type, destroy_fn, abort_fn)                              \
	[IOMMUFD_OBJ_##type] = { .destroy = destroy_fn, .abort = abort_fn }

static const struct iommufd_object_ops iommufd_object_ops[IOMMUFD_OBJ_MAX] = {
	IOMMUFD_OPS(IOAS, iommufd_ioas_destroy, NULL),
	IOMMUFD_OPS(ACCESS, iommufd_access_destroy_object, NULL),
	IOMMUFD_OPS(DEVICE, iommufd_device_destroy, NULL),
	IOMMUFD_OPS(FAULT, iommufd_fault_destroy, NULL),
	IOMMUFD_OPS(HWPT_PAGING, iommufd_hwpt_paging_destroy,
		    iommufd_hwpt_paging_abort),
	IOMMUFD_OPS(HWPT_NESTED, iommufd_hwpt_nested_destroy,
		    iommufd_hwpt_nested_abort),
#ifdef CONFIG_IOMMUFD_TEST
	IOMMUFD_OPS(SELFTEST, iommufd_selftest_destroy, NULL),
#endif
};

/**
 * __iommufd_object_alloc() - allocate an object and reserve its ID
 * @ictx: context the object will belong to
 * @size: size of the containing structure
 * @type: enum iommufd_object_type of the new object
 *
 * The ID does not resolve to the object until iommufd_object_publish().
 * Until then the builder owns it alone and gets rid of it with
 * iommufd_object_abort() or iommufd_object_abort_and_destroy().
 *
 * Context: Process context. May sleep.
 * Return: the zeroed object, or ERR_PTR(-ENOMEM).
 */
struct iommufd_object *__iommufd_object_alloc(struct iommufd_ctx *ictx,
					      size_t size,
					      enum iommufd_object_type type)
{
	struct iommufd_object *obj __free(kfree) =
		kzalloc(size, GFP_KERNEL_ACCOUNT);
	int rc;

	if (!obj)
		return ERR_PTR(-ENOMEM);

	/* A NULL entry stores XA_ZERO_ENTRY: taken, but loads as nothing */
	rc = xa_alloc(&ictx->objects, &obj->id, NULL, xa_limit_31b,
		      GFP_KERNEL_ACCOUNT);
	if (rc)
		return ERR_PTR(rc);

	/* The owner's reference, and the one the published ID will hold */
	refcount_set(&obj->users, 1);
	refcount_set(&obj->active, 1);
	obj->type = type;
	return_ptr(obj);
}

/**
 * iommufd_object_publish() - make a fully built object reachable by its ID
 * @ictx: context the object was allocated in
 * @obj: the object
 *
 * Cannot fail: the slot was reserved at allocation.
 *
 * Context: Any context that may take a spinlock.
 */
void iommufd_object_publish(struct iommufd_ctx *ictx,
			    struct iommufd_object *obj)
{
	void *old;

	old = xa_cmpxchg(&ictx->objects, obj->id, XA_ZERO_ENTRY, obj,
			 GFP_ATOMIC);
	WARN_ON_ONCE(old);
}

/**
 * iommufd_object_abort() - free an object that was never published
 * @ictx: context the object was allocated in
 * @obj: the object; its type's destroy callback is not called
 *
 * Context: Any context that may take a spinlock.
 */
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	xa_release(&ictx->objects, obj->id);
	kfree(obj);
}

/**
 * iommufd_object_abort_and_destroy() - undo and free an unpublished object
 * @ictx: context the object was allocated in
 * @obj: the object
 *
 * For objects built far enough that their type's abort (or, lacking one,
 * destroy) callback can take them apart.
 *
 * Context: Process context. May sleep.
 */
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj)
{
	const struct iommufd_object_ops *ops = &iommufd_object_ops[obj->type];

	if (ops->abort)
		ops->abort(obj);
	else
		ops->destroy(obj);
	iommufd_object_abort(ictx, obj);
}

/*
 * The object left the table and nobody holds it: take it apart. Never
 * fails: every destroy callback must cope with whatever state it finds.
 */
static void iommufd_object_free(struct iommufd_object *obj)
{
	iommufd_object_ops[obj->type].destroy(obj);
	kfree(obj);
}

/**
 * iommufd_get_object() - look an object up by ID, holding it short-term
 * @ictx: context to search
 * @id: the ID from userspace
 * @type: the type wanted, or IOMMUFD_OBJ_ANY
 *
 * The object stays valid until the matching iommufd_put_object().
 *
 * Context: Any context that may take a spinlock.
 * Return: the object, or ERR_PTR(-ENOENT) when @id names nothing published
 * of that type or the object is being destroyed.
 */
struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_object_type type)
{
	struct iommufd_object *obj;

	xa_lock(&ictx->objects);
	obj = xa_load(&ictx->objects, id);
	if (!obj || (type != IOMMUFD_OBJ_ANY && obj->type != type) ||
	    !refcount_inc_not_zero(&obj->active))
		obj = ERR_PTR(-ENOENT);
	xa_unlock(&ictx->objects);
	return obj;
}

/**
 * iommufd_put_object() - drop a short-term reference
 * @ictx: context the object belongs to
 * @obj: object from iommufd_get_object()
 *
 * Context: Any context.
 */
void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	/* Only iommufd_object_remove_owned() can be waiting for zero */
	if (refcount_dec_and_test(&obj->active))
		wake_up_all(&ictx->destroy_wait);
}

/*
 * Unpublish @obj if nothing holds it, deciding under the table lock so no
 * lookup can slip in between the checks and the removal.
 */
static int iommufd_object_unpublish_idle(struct iommufd_ctx *ictx,
					 struct iommufd_object *obj)
{
	lockdep_assert_held(&ictx->objects.xa_lock);

	if (refcount_read(&obj->users) != 1)
		return -EBUSY;
	if (!refcount_dec_if_one(&obj->active))
		return -EBUSY;
	__xa_erase(&ictx->objects, obj->id);
	return 0;
}

/*
 * Destroy the object at @id on behalf of userspace, or of the release of
 * the file. @expect, when not NULL, must be the object found there.
 */
static int iommufd_object_destroy_id(struct iommufd_ctx *ictx, u32 id,
				     struct iommufd_object *expect)
{
	struct iommufd_object *obj;
	int rc = -ENOENT;

	xa_lock(&ictx->objects);
	obj = xa_load(&ictx->objects, id);
	if (obj && (!expect || obj == expect))
		rc = iommufd_object_unpublish_idle(ictx, obj);
	xa_unlock(&ictx->objects);
	if (rc)
		return rc;

	iommufd_object_free(obj);
	return 0;
}

/**
 * iommufd_object_remove_owned() - destroy a kernel-owned object
 * @ictx: context the object belongs to
 * @obj: object published with the owner's reference in its @users
 *
 * Unpublishes the object, drops the owner's reference, waits for every
 * lookup in flight to finish, then destroys it. Every dependent must be gone
 * already: that is the owner's job (a device is detached before unbind).
 *
 * Context: Process context. Sleeps.
 */
void iommufd_object_remove_owned(struct iommufd_ctx *ictx,
				 struct iommufd_object *obj)
{
	/*
	 * Unpublish first: once the owner's reference is gone an
	 * IOMMU_DESTROY could otherwise find the object idle and take it.
	 */
	xa_lock(&ictx->objects);
	WARN_ON_ONCE(__xa_erase(&ictx->objects, obj->id) != obj);
	xa_unlock(&ictx->objects);

	iommufd_object_unhold(obj);
	WARN_ON_ONCE(refcount_read(&obj->users) != 1);

	if (!refcount_dec_and_test(&obj->active))
		wait_event(ictx->destroy_wait,
			   refcount_read(&obj->active) == 0);
	iommufd_object_free(obj);
}

/**
 * iommufd_object_unhold_reap() - drop long-term references, and the object
 *                                with them if nobody else uses it
 * @ictx: context the object belongs to
 * @obj: a published object
 * @nrefs: how many long-term references (iommufd_object_hold()) to drop
 *
 * For objects the kernel made on the user's behalf and ends by itself, like
 * the HWPT of an IOAS attach, when their last kernel user leaves. The
 * references go and the object is found idle or not in one step under the
 * table's lock: a moment after they are gone, userspace may destroy the
 * object by ID and the memory be reused. If it is still depended on or in
 * use, it stays; userspace then destroys it, or the file release does.
 *
 * Context: Process context.
 */
void iommufd_object_unhold_reap(struct iommufd_ctx *ictx,
				struct iommufd_object *obj, unsigned int nrefs)
{
	int rc;

	xa_lock(&ictx->objects);
	while (nrefs--)
		iommufd_object_unhold(obj);
	rc = iommufd_object_unpublish_idle(ictx, obj);
	xa_unlock(&ictx->objects);
	if (!rc)
		iommufd_object_free(obj);
}

int iommufd_destroy(struct iommufd_ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;

	return iommufd_object_destroy_id(ucmd->ictx, cmd->id, NULL);
}

/*
 * Destroy everything still in the table. Objects that others depend on are
 * skipped and picked up by a later pass, once their dependents are gone.
 */
static void iommufd_destroy_all(struct iommufd_ctx *ictx)
{
	struct iommufd_object *obj;
	unsigned long index;
	bool progress;

	do {
		progress = false;
		xa_for_each(&ictx->objects, index, obj)
			if (!iommufd_object_destroy_id(ictx, index, obj))
				progress = true;
	} while (progress);

	/* Whatever is left is a leaked reference: a kernel bug */
	WARN_ON_ONCE(!xa_empty(&ictx->objects));
}

/**
 * iommufd_ucmd_respond() - copy the command struct back to userspace
 * @ucmd: the ioctl in flight
 * @cmd_len: size of the kernel's struct
 *
 * Copies no more than the caller's struct holds.
 *
 * Return: 0, or -EFAULT.
 */
int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd, size_t cmd_len)
{
	if (copy_to_user(ucmd->ubuffer, ucmd->cmd,
			 min_t(size_t, ucmd->user_size, cmd_len)))
		return -EFAULT;
	return 0;
}

/*
 * IOMMU_OPTION: options are either global to the context (object_id must
 * be 0) or set on one object; each option's handler checks its own scope
 * and, for a get, fills in val64.
 */
static int (*const iommufd_option_handlers[])(struct iommufd_ucmd *ucmd) = {
	[IOMMU_OPTION_RLIMIT_MODE] = iommufd_option_rlimit_mode,
	[IOMMU_OPTION_HUGE_PAGES] = iommufd_ioas_option,
};

int iommufd_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	unsigned int id = cmd->option_id;
	bool get = cmd->op == IOMMU_OPTION_OP_GET;
	int rc;

	if (cmd->__reserved || id >= ARRAY_SIZE(iommufd_option_handlers))
		return -EOPNOTSUPP;
	if (!get && cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;

	id = array_index_nospec(id, ARRAY_SIZE(iommufd_option_handlers));
	rc = iommufd_option_handlers[id](ucmd);
	if (!rc && get)
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	return rc;
}

/*
 * The largest command struct. Every table row checks its struct against it
 * at build time, so the dispatcher's stack buffer always fits.
 */
#define IOMMUFD_UCMD_MAX_SIZE 80

/**
 * struct iommufd_ucmd_desc - how to decode and run one command
 * @handler: runs the command on the kernel's copy in ucmd->cmd
 * @min_size: size of the first version of the struct; less is -EINVAL
 * @size: size of the struct this kernel knows
 * @maps: the command maps or unmaps: it runs under iommufd_ctx::maps_rwsem
 */
struct iommufd_ucmd_desc {
	int (*handler)(struct iommufd_ucmd *ucmd);
	u16 min_size;
	u16 size;
	bool maps;
};

/*
 * One table row, for the command IOMMU_@name taking struct iommu_@tag,
 * whose first version ended with the member @first_last.
 */
#define __IOMMUFD_UCMD(name, tag, first_last, fn, changes_maps)              \
	[IOMMUFD_CMD_##name - IOMMUFD_CMD_BASE] = {                          \
		.handler = fn,                                               \
		.min_size = offsetofend(struct iommu_##tag, first_last),     \
		.size = sizeof(struct iommu_##tag) +                         \
			BUILD_BUG_ON_ZERO(sizeof(struct iommu_##tag) >       \
					  IOMMUFD_UCMD_MAX_SIZE),            \
		.maps = changes_maps,                                        \
	}
#define IOMMUFD_UCMD(name, tag, first_last, fn)                              \
	__IOMMUFD_UCMD(name, tag, first_last, fn, false)
/* A command that maps or unmaps */
#define IOMMUFD_UCMD_MAPS(name, tag, first_last, fn)                         \
	__IOMMUFD_UCMD(name, tag, first_last, fn, true)

/* IOMMU_TEST_CMD is numbered apart, after the others */
#define IOMMUFD_CMD_TEST_CMD _IOC_NR(IOMMU_TEST_CMD)

static const struct iommufd_ucmd_desc iommufd_ucmds[] = {
	IOMMUFD_UCMD(DESTROY, destroy, id, iommufd_destroy),
	IOMMUFD_UCMD(IOAS_ALLOC, ioas_alloc, out_ioas_id,
		     iommufd_ioas_alloc_ioctl),
	IOMMUFD_UCMD(IOAS_ALLOW_IOVAS, ioas_allow_iovas, allowed_iovas,
		     iommufd_ioas_allow_iovas),
	IOMMUFD_UCMD_MAPS(IOAS_COPY, ioas_copy, src_iova, iommufd_ioas_copy),
	IOMMUFD_UCMD(IOAS_IOVA_RANGES, ioas_iova_ranges, out_iova_alignment,
		     iommufd_ioas_iova_ranges),
	IOMMUFD_UCMD_MAPS(IOAS_MAP, ioas_map, iova, iommufd_ioas_map),
	IOMMUFD_UCMD_MAPS(IOAS_UNMAP, ioas_unmap, length, iommufd_ioas_unmap),
	IOMMUFD_UCMD(OPTION, option, val64, iommufd_option),
	IOMMUFD_UCMD(VFIO_IOAS, vfio_ioas, __reserved, iommufd_vfio_ioas),
	IOMMUFD_UCMD(HWPT_ALLOC, hwpt_alloc, __reserved, iommufd_hwpt_alloc),
	IOMMUFD_UCMD(GET_HW_INFO, hw_info, __reserved, iommufd_get_hw_info),
	IOMMUFD_UCMD(HWPT_SET_DIRTY_TRACKING, hwpt_set_dirty_tracking,
		     __reserved, iommufd_hwpt_set_dirty_tracking),
	IOMMUFD_UCMD(HWPT_GET_DIRTY_BITMAP, hwpt_get_dirty_bitmap, data,
		     iommufd_hwpt_get_dirty_bitmap),
	IOMMUFD_UCMD(HWPT_INVALIDATE, hwpt_invalidate, __reserved,
		     iommufd_hwpt_invalidate),
	IOMMUFD_UCMD(FAULT_QUEUE_ALLOC, fault_alloc, out_fault_fd,
		     iommufd_fault_alloc),
	IOMMUFD_UCMD_MAPS(IOAS_MAP_FILE, ioas_map_file, iova,
			  iommufd_ioas_map_file),
	IOMMUFD_UCMD(IOAS_CHANGE_PROCESS, ioas_change_process, __reserved,
		     iommufd_ioas_change_process),
#ifdef CONFIG_IOMMUFD_TEST
	IOMMUFD_UCMD(TEST_CMD, test_cmd, last, iommufd_test),
#endif
};

/*
 * Copy the command in: at least its first version, zero-extended to the
 * size we know, and nothing unknown that is not zero. Then run it.
 */
static int iommufd_run_ucmd(struct iommufd_ctx *ictx,
			    const struct iommufd_ucmd_desc *desc,
			    void __user *uarg)
{
	u64 buf[IOMMUFD_UCMD_MAX_SIZE / sizeof(u64)];
	struct iommufd_ucmd ucmd = { .ictx = ictx, .ubuffer = uarg };
	int rc;

	rc = get_user(ucmd.user_size, (u32 __user *)uarg);
	if (rc)
		return rc;
	if (ucmd.user_size < desc->min_size)
		return -EINVAL;
	rc = copy_struct_from_user(buf, desc->size, uarg, ucmd.user_size);
	if (rc)
		return rc;
	ucmd.cmd = buf;
	if (!desc->maps)
		return desc->handler(&ucmd);

	rc = down_read_killable(&ictx->maps_rwsem);
	if (rc)
		return rc;
	rc = desc->handler(&ucmd);
	up_read(&ictx->maps_rwsem);
	return rc;
}

/* VFIO's container ioctls; its maps and unmaps like ours */
static long iommufd_vfio_container_ioctl(struct iommufd_ctx *ictx,
					 unsigned int cmd, unsigned long arg)
{
	long rc;

	if (cmd != VFIO_IOMMU_MAP_DMA && cmd != VFIO_IOMMU_UNMAP_DMA)
		return iommufd_vfio_ioctl(ictx, cmd, arg);

	rc = down_read_killable(&ictx->maps_rwsem);
	if (rc)
		return rc;
	rc = iommufd_vfio_ioctl(ictx, cmd, arg);
	up_read(&ictx->maps_rwsem);
	return rc;
}

static long iommufd_fops_ioctl(struct file *filp, unsigned int cmd,
			       unsigned long arg)
{
	unsigned int nr = _IOC_NR(cmd), idx;

	/* Outside our numbers: VFIO's container ioctls share our type */
	if (nr < IOMMUFD_CMD_BASE ||
	    nr - IOMMUFD_CMD_BASE >= ARRAY_SIZE(iommufd_ucmds))
		return iommufd_vfio_container_ioctl(filp->private_data, cmd,
						    arg);

	/* Every command of ours is _IO(IOMMUFD_TYPE, nr), exactly */
	if (cmd != _IO(IOMMUFD_TYPE, nr))
		return -ENOTTY;
	idx = array_index_nospec(nr - IOMMUFD_CMD_BASE,
				 ARRAY_SIZE(iommufd_ucmds));
	if (!iommufd_ucmds[idx].handler)
		return -ENOTTY;
	return iommufd_run_ucmd(filp->private_data, &iommufd_ucmds[idx],
				(void __user *)arg);
}

static const struct file_operations iommufd_fops;

/*
 * The character devices: /dev/iommu, and /dev/vfio/vfio when we stand in
 * for VFIO's own container. Both give the same kind of context.
 */
static struct miscdevice iommufd_miscdevs[] = {
	{
		.name = "iommu",
		.nodename = "iommu",
		.minor = MISC_DYNAMIC_MINOR,
		.mode = 0660,
		.fops = &iommufd_fops,
	},
#if IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER)
	{
		.name = "vfio",
		.nodename = "vfio/vfio",
		.minor = VFIO_MINOR,
		.mode = 0666,
		.fops = &iommufd_fops,
	},
#endif
};

static int iommufd_fops_open(struct inode *inode, struct file *filp)
{
	/* The misc core leaves the device opened in private_data */
	struct miscdevice *misc = filp->private_data;
	struct iommufd_ctx *ictx;

	ictx = kzalloc(sizeof(*ictx), GFP_KERNEL_ACCOUNT);
	if (!ictx)
		return -ENOMEM;

	xa_init_flags(&ictx->objects, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	xa_init(&ictx->groups);
	init_waitqueue_head(&ictx->destroy_wait);
	mutex_init(&ictx->compat_lock);
	init_rwsem(&ictx->maps_rwsem);
	spin_lock_init(&ictx->stat_lock);
	ictx->stat_payer_uid = INVALID_UID;

	/*
	 * VFIO type1 charged mm->locked_vm; its users (and their prlimit
	 * based sandboxes) expect the same from the emulated container.
	 */
	if (misc->minor == VFIO_MINOR) {
		pr_info_once("IOMMUFD is providing /dev/vfio/vfio, not VFIO\n");
		ictx->account_mode = IOMMUFD_ACCOUNT_MM;
	} else {
		ictx->account_mode = IOMMUFD_ACCOUNT_USER;
	}

	ictx->file = filp;
	filp->private_data = ictx;
	return 0;
}

static int iommufd_fops_release(struct inode *inode, struct file *filp)
{
	struct iommufd_ctx *ictx = filp->private_data;

	iommufd_destroy_all(ictx);
	WARN_ON_ONCE(!xa_empty(&ictx->groups));
	xa_destroy(&ictx->groups);
	xa_destroy(&ictx->objects);
	mutex_destroy(&ictx->compat_lock);
	put_pid(ictx->stat_payer);
	kfree(ictx);
	return 0;
}

/*
 * fdinfo: what the file has pinned and charged, and a line per object.
 * Documented key by key in Documentation/userspace-api/iommufd.rst
 * ("Observing iommufd"); keep the two in step, and only ever add.
 *
 * It must be cheap and never wait for a map: everything printed is a
 * counter kept at map, pin, attach and fault time, read without the locks
 * that maps take. An object's line is printed under the table's xa_lock,
 * which is what keeps the object alive meanwhile: every object is erased
 * from the table under that lock before it is freed, and the pointers
 * followed (a HWPT's IOAS and domain, a device's struct device) are held by
 * the object itself. The lock is taken for one object at a time, so the
 * lookups of every ioctl wait for one line at most, and at most
 * IOMMUFD_FDINFO_MAX_OBJECTS lines are printed: a file can have millions of
 * objects, and the rest are only counted (objects_not_shown).
 */
#define IOMMUFD_FDINFO_MAX_OBJECTS 256

static const char *const iommufd_account_mode_names[] = {
	[IOMMUFD_ACCOUNT_NONE] = "none",
	[IOMMUFD_ACCOUNT_USER] = "user",
	[IOMMUFD_ACCOUNT_MM] = "process",
};

static void iommufd_fdinfo_ioas(struct seq_file *m, struct iommufd_ioas *ioas)
{
	struct io_pagetable *iopt = &ioas->iopt;

	seq_printf(m, "ioas:\tid=%u areas=%ld mapped_bytes=%ld pinned_pages=%ld accesses=%d\n",
		   ioas->obj.id, atomic_long_read(&iopt->stat_areas),
		   atomic_long_read(&iopt->stat_bytes),
		   atomic_long_read(&iopt->stat_pinned),
		   atomic_read(&iopt->stat_accesses));
}

static void iommufd_fdinfo_hwpt(struct seq_file *m,
				struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_hwpt_paging *paging;

	seq_printf(m, "hwpt:\tid=%u type=%s iommu=%s", hwpt->obj.id,
		   hwpt_is_paging(hwpt) ? "paging" : "nested",
		   hwpt->iommu_name);
	if (hwpt_is_paging(hwpt)) {
		paging = to_hwpt_paging(hwpt);
		seq_printf(m, " ioas=%u auto=%d nest_parent=%d dirty_tracking=%s",
			   paging->ioas->obj.id, paging->auto_domain,
			   paging->nest_parent,
			   !hwpt->domain->dirty_ops ? "unsupported" :
			   iopt_dirty_tracking(&paging->ioas->iopt,
					       hwpt->domain) ? "on" : "off");
	} else {
		seq_printf(m, " parent=%u",
			   to_hwpt_nested(hwpt)->parent->common.obj.id);
	}
	seq_printf(m, " fault=%u devices=%d",
		   hwpt->fault ? iommufd_fault_id(hwpt->fault) : 0,
		   atomic_read(&hwpt->stat_devices));
	iommufd_selftest_show_ioptes(m, hwpt->domain);
	seq_putc(m, '\n');
}

static void iommufd_fdinfo_object(struct seq_file *m,
				  struct iommufd_object *obj)
{
	struct iommufd_device *idev;

	switch (obj->type) {
	case IOMMUFD_OBJ_IOAS:
		iommufd_fdinfo_ioas(m, to_ioas(obj));
		break;
	case IOMMUFD_OBJ_HWPT_PAGING:
	case IOMMUFD_OBJ_HWPT_NESTED:
		iommufd_fdinfo_hwpt(m, to_hwpt(obj));
		break;
	case IOMMUFD_OBJ_DEVICE:
		idev = container_of(obj, struct iommufd_device, obj);
		seq_printf(m, "device:\tid=%u dev=%s hwpt=%u\n", obj->id,
			   dev_name(idev->dev), READ_ONCE(idev->attached_id));
		break;
	case IOMMUFD_OBJ_FAULT:
		iommufd_fault_show_fdinfo(m, obj);
		break;
	case IOMMUFD_OBJ_ACCESS:
		seq_printf(m, "access:\tid=%u\n", obj->id);
		break;
	}
}

/**
 * iommufd_ctx_note_payer() - remember who pays for a context's pins
 * @ictx: the context
 * @task: the process charged (its thread group), or that took the charge
 *        over; may have exited
 * @uid: the user charged with it
 *
 * For fdinfo's payer_pid and payer_uid, which show them in the namespaces
 * of whoever reads them.
 *
 * Context: Any context that may take a spinlock.
 */
void iommufd_ctx_note_payer(struct iommufd_ctx *ictx, struct task_struct *task,
			    kuid_t uid)
{
	struct pid *pid = get_task_pid(task, PIDTYPE_TGID);
	struct pid *old;

	/*
	 * Charges mostly come from the same payer: no lock for those. A racy
	 * read at worst takes the lock for nothing, or skips a payer that
	 * another charge is recording at the same moment.
	 */
	if (pid == READ_ONCE(ictx->stat_payer) &&
	    __kuid_val(uid) == READ_ONCE(ictx->stat_payer_uid.val)) {
		put_pid(pid);
		return;
	}

	spin_lock(&ictx->stat_lock);
	old = ictx->stat_payer;
	WRITE_ONCE(ictx->stat_payer, pid);
	WRITE_ONCE(ictx->stat_payer_uid.val, __kuid_val(uid));
	spin_unlock(&ictx->stat_lock);
	put_pid(old);
}

/*
 * The payer as the reader sees it: its PID in the PID namespace of the proc
 * mount read, as proc's own files have them (0 if it has none there, or
 * has exited), its UID in the user namespace of whoever opened the fdinfo
 * file (the overflow UID if unmapped there).
 */
static void iommufd_fdinfo_payer(struct seq_file *m, struct iommufd_ctx *ictx)
{
	struct pid_namespace *ns = proc_pid_ns(file_inode(m->file)->i_sb);
	kuid_t kuid;
	pid_t pid;

	spin_lock(&ictx->stat_lock);
	/* A PID whose process is gone may be another's by now: none then */
	pid = 0;
	if (ictx->stat_payer && pid_has_task(ictx->stat_payer, PIDTYPE_TGID))
		pid = pid_nr_ns(ictx->stat_payer, ns);
	kuid = ictx->stat_payer_uid;
	spin_unlock(&ictx->stat_lock);
	seq_printf(m, "payer_pid:\t%d\n", pid);
	/* Nobody charged yet: 0, as before any charge */
	seq_printf(m, "payer_uid:\t%u\n", uid_valid(kuid) ?
		   from_kuid_munged(seq_user_ns(m), kuid) : 0);
}

static void iommufd_fops_show_fdinfo(struct seq_file *m, struct file *filp)
{
	struct iommufd_ctx *ictx = filp->private_data;
	u8 mode = READ_ONCE(ictx->account_mode);
	unsigned long index = 0, not_shown = 0;
	struct iommufd_object *obj;
	unsigned int shown;

	seq_printf(m, "account_mode:\t%s\n",
		   mode < ARRAY_SIZE(iommufd_account_mode_names) ?
			   iommufd_account_mode_names[mode] : "?");
	iommufd_fdinfo_payer(m, ictx);
	seq_printf(m, "pinned_pages:\t%ld\n",
		   atomic_long_read(&ictx->stat_pinned));
	seq_printf(m, "charged_pages:\t%ld\n",
		   atomic_long_read(&ictx->stat_charged));
	seq_printf(m, "pfn_arrays:\t%ld\n",
		   atomic_long_read(&ictx->stat_pfn_arrays));

	for (shown = 0; shown != IOMMUFD_FDINFO_MAX_OBJECTS; shown++, index++) {
		/* seq_file calls again with a larger buffer: stop early */
		if (seq_has_overflowed(m))
			return;
		xa_lock(&ictx->objects);
		obj = xa_find(&ictx->objects, &index, ULONG_MAX, XA_PRESENT);
		if (obj)
			iommufd_fdinfo_object(m, obj);
		xa_unlock(&ictx->objects);
		if (!obj)
			break;
	}
	if (seq_has_overflowed(m))
		return;
	/* The rest are counted under RCU, without the table's lock */
	if (shown == IOMMUFD_FDINFO_MAX_OBJECTS) {
		xa_for_each_start(&ictx->objects, index, obj, index) {
			not_shown++;
			cond_resched();
		}
	}
	seq_printf(m, "objects_not_shown:\t%lu\n", not_shown);
}

static const struct file_operations iommufd_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = iommufd_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.open = iommufd_fops_open,
	.release = iommufd_fops_release,
	.show_fdinfo = iommufd_fops_show_fdinfo,
};

/**
 * iommufd_ctx_from_file() - the context behind an open /dev/iommu file
 * @file: a file the caller holds a reference on
 *
 * Context: Any context.
 * Return: the context with a new reference (drop it with iommufd_ctx_put()),
 * or ERR_PTR(-EBADFD) if @file is not an iommufd file.
 */
struct iommufd_ctx *iommufd_ctx_from_file(struct file *file)
{
	if (file->f_op != &iommufd_fops)
		return ERR_PTR(-EBADFD);
	/* The context's references are its file's */
	get_file(file);
	return file->private_data;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_from_file, IOMMUFD);

/**
 * iommufd_ctx_from_fd() - the context behind a file descriptor
 * @fd: a descriptor of the calling process
 *
 * Context: Process context.
 * Return: the context with a new reference (drop it with iommufd_ctx_put()),
 * ERR_PTR(-EBADF) for a bad descriptor, or ERR_PTR(-EBADFD) if it is not an
 * iommufd file.
 */
struct iommufd_ctx *iommufd_ctx_from_fd(int fd)
{
	CLASS(fd, f)(fd);

	if (fd_empty(f))
		return ERR_PTR(-EBADF);
	return iommufd_ctx_from_file(fd_file(f));
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_from_fd, IOMMUFD);

/**
 * iommufd_ctx_get() - take a reference on a context
 * @ictx: the context; the caller already holds a reference
 *
 * Context: Any context.
 */
void iommufd_ctx_get(struct iommufd_ctx *ictx)
{
	get_file(ictx->file);
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_get, IOMMUFD);

/**
 * iommufd_ctx_put() - drop a reference on a context
 * @ictx: the context
 *
 * Context: Process context.
 */
void iommufd_ctx_put(struct iommufd_ctx *ictx)
{
	fput(ictx->file);
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_put, IOMMUFD);

/* Deregister the first @n character devices, last first */
static void iommufd_miscdevs_deregister(unsigned int n)
{
	while (n)
		misc_deregister(&iommufd_miscdevs[--n]);
}

static int __init iommufd_init(void)
{
	unsigned int i;
	int rc = 0;

	for (i = 0; i != ARRAY_SIZE(iommufd_miscdevs) && !rc; i++)
		rc = misc_register(&iommufd_miscdevs[i]);
	if (rc) {
		iommufd_miscdevs_deregister(i - 1);
		return rc;
	}

	rc = iommufd_test_init();
	if (rc)
		iommufd_miscdevs_deregister(ARRAY_SIZE(iommufd_miscdevs));
	return rc;
}

static void __exit iommufd_exit(void)
{
	iommufd_test_exit();
	iommufd_miscdevs_deregister(ARRAY_SIZE(iommufd_miscdevs));
}

module_init(iommufd_init);
module_exit(iommufd_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("iommufd: userspace control of IOMMU page tables (/dev/iommu)");
MODULE_IMPORT_NS(IOMMUFD);
MODULE_IMPORT_NS(IOMMUFD_INTERNAL);
#if IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER)
MODULE_ALIAS("devname:vfio/vfio");
MODULE_ALIAS_MISCDEV(VFIO_MINOR);
#endif
