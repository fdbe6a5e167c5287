// SPDX-License-Identifier: GPL-2.0-only
/*
 * ioas.c - the IOAS object and its ioctls.
 *
 * An IOAS is an io_pagetable with an ID. The handlers here only decode and
 * check what userspace passed; io_pagetable.c does the work. Each handler
 * rejects what it does not understand before it changes anything.
 */
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/hugetlb.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>

#include "iommufd_private.h"

/**
 * iommufd_ioas_alloc() - allocate an unpublished, empty IOAS
 * @ictx: the context
 *
 * Context: Process context.
 * Return: the IOAS, or an ERR_PTR.
 */
struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;

	ioas = iommufd_object_alloc(ictx, struct iommufd_ioas, obj,
				    IOMMUFD_OBJ_IOAS);
	if (IS_ERR(ioas))
		return ioas;

	mutex_init(&ioas->mutex);
	INIT_LIST_HEAD(&ioas->hwpt_list);
	iopt_init(&ioas->iopt);
	ioas->ictx = ictx;
	return ioas;
}

void iommufd_ioas_destroy(struct iommufd_object *obj)
{
	struct iommufd_ioas *ioas = to_ioas(obj);
	int rc;

	iommufd_vfio_compat_forget(ioas);
	/* Nothing may hold a pin any more: no access can be attached */
	rc = iopt_unmap_everything(&ioas->iopt, NULL);
	WARN_ON_ONCE(rc && rc != -ENOENT);
	mutex_destroy(&ioas->mutex);
	iopt_uninit(&ioas->iopt);
}

int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;

	ioas = iommufd_ioas_alloc(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	cmd->out_ioas_id = ioas->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		iommufd_object_abort_and_destroy(ictx, &ioas->obj);
	else
		iommufd_object_publish(ictx, &ioas->obj);
	return rc;
}

/* Sent to userspace by IOMMU_IOAS_IOVA_RANGES */
struct ioas_ranges_out {
	struct iommu_iova_range __user *uranges;
	u32 capacity;
	u32 count;
};

static int ioas_put_range(void *opaque, unsigned long start,
			  unsigned long last)
{
	struct ioas_ranges_out *out = opaque;
	struct iommu_iova_range range = { .start = start, .last = last };

	if (out->count < out->capacity &&
	    copy_to_user(&out->uranges[out->count], &range, sizeof(range)))
		return -EFAULT;
	out->count++;
	return 0;
}

/*
 * Reports every usable range when the caller's array is large enough;
 * otherwise fills what fits, says how many there are, and fails with
 * -EMSGSIZE so the caller can retry with a larger array.
 */
int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_iova_ranges *cmd = ucmd->cmd;
	struct ioas_ranges_out out = {
		.uranges = u64_to_user_ptr(cmd->allowed_iovas),
		.capacity = cmd->num_iovas,
	};
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	ioas = iommufd_get_ioas(ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	rc = iopt_walk_usable_ranges(&ioas->iopt, ioas_put_range, &out);
	if (rc)
		goto out_put;

	cmd->out_iova_alignment = iopt_iova_alignment(&ioas->iopt);
	cmd->num_iovas = out.count;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (!rc && out.count > out.capacity)
		rc = -EMSGSIZE;
out_put:
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

static void ioas_free_allowed(struct rb_root_cached *root)
{
	struct interval_tree_node *node;

	while ((node = interval_tree_iter_first(root, 0, ULONG_MAX))) {
		interval_tree_remove(node, root);
		kfree(container_of(node, struct iopt_allowed, node));
	}
}

/* Add [start, last] to @root unless it is empty, too big or overlapping */
static int ioas_insert_allowed(struct rb_root_cached *root, u64 start,
			       u64 last)
{
	struct iopt_allowed *allowed;

	if (start >= last || last > ULONG_MAX)
		return -EINVAL;
	/* Overlapping entries would make the tree ambiguous */
	if (interval_tree_iter_first(root, start, last))
		return -EINVAL;

	allowed = kzalloc(sizeof(*allowed), GFP_KERNEL_ACCOUNT);
	if (!allowed)
		return -ENOMEM;
	allowed->node.start = start;
	allowed->node.last = last;
	interval_tree_insert(&allowed->node, root);
	return 0;
}

/* Read and check the user's array of ranges into a tree */
static int ioas_read_allowed(struct iommu_ioas_allow_iovas *cmd,
			     struct rb_root_cached *root)
{
	struct iommu_iova_range __user *uranges =
		u64_to_user_ptr(cmd->allowed_iovas);
	struct iommu_iova_range range;
	u32 i;
	int rc;

	for (i = 0; i != cmd->num_iovas; i++) {
		if (copy_from_user(&range, &uranges[i], sizeof(range)))
			return -EFAULT;
		rc = ioas_insert_allowed(root, range.start, range.last);
		if (rc)
			return rc;
	}
	return 0;
}

int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_allow_iovas *cmd = ucmd->cmd;
	struct rb_root_cached allowed = RB_ROOT_CACHED;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	ioas = iommufd_get_ioas(ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	rc = ioas_read_allowed(cmd, &allowed);
	if (!rc)
		rc = iopt_set_allowed_ranges(&ioas->iopt, &allowed);
	/* On success this frees the ranges that were replaced */
	ioas_free_allowed(&allowed);
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

/* Translate IOMMU_IOAS_MAP_* flags into IOMMU prot and iopt flags */
static int ioas_map_flags(u32 flags, int *prot, unsigned int *iopt_flags)
{
	if (flags & ~(IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE |
		      IOMMU_IOAS_MAP_READABLE))
		return -EOPNOTSUPP;
	if (!(flags & (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)))
		return -EINVAL;

	/* We map cacheable only: binding refuses devices that can't enforce it */
	*prot = IOMMU_CACHE;
	if (flags & IOMMU_IOAS_MAP_READABLE)
		*prot |= IOMMU_READ;
	if (flags & IOMMU_IOAS_MAP_WRITEABLE)
		*prot |= IOMMU_WRITE;
	*iopt_flags = flags & IOMMU_IOAS_MAP_FIXED_IOVA ? 0 : IOPT_ALLOC_IOVA;
	return 0;
}

/* Fail if a u64 from userspace does not fit an unsigned long */
static bool ioas_u64_fits(u64 val)
{
	return val <= ULONG_MAX;
}

/*
 * Answer a map: if the answer cannot be written, take the mapping back so
 * the failed ioctl leaves nothing behind, unless another thread has
 * changed that range already.
 */
static int ioas_map_respond(struct iommufd_ucmd *ucmd, size_t cmd_len,
			    struct iommufd_ioas *ioas, unsigned long iova,
			    unsigned long length, u64 map_id)
{
	int rc;

	rc = iommufd_ucmd_respond(ucmd, cmd_len);
	if (rc)
		iopt_undo_map(&ioas->iopt, iova, length, map_id);
	return rc;
}

int iommufd_ioas_map(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	unsigned int iopt_flags;
	unsigned long iova;
	int prot, rc;
	u64 map_id;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	rc = ioas_map_flags(cmd->flags, &prot, &iopt_flags);
	if (rc)
		return rc;
	if (!ioas_u64_fits(cmd->iova) || !ioas_u64_fits(cmd->length) ||
	    !ioas_u64_fits(cmd->user_va))
		return -EOVERFLOW;
	if (!cmd->length)
		return -EINVAL;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	iova = cmd->iova;
	rc = iopt_map_user(ucmd->ictx, &ioas->iopt, &iova,
			   u64_to_user_ptr(cmd->user_va), cmd->length,
			   prot, iopt_flags, &map_id);
	if (!rc) {
		cmd->iova = iova;
		rc = ioas_map_respond(ucmd, sizeof(*cmd), ioas, iova,
				      cmd->length, map_id);
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* The memfd seals of a shmem or hugetlbfs file */
static unsigned int ioas_file_seals(struct file *file)
{
	struct inode *inode = file_inode(file);

	if (shmem_file(file))
		return READ_ONCE(SHMEM_I(inode)->seals);
#ifdef CONFIG_HUGETLBFS
	/* memfd_create(MFD_HUGETLB) and SHM_HUGETLB files live there too */
	if (is_file_hugepages(file))
		return READ_ONCE(HUGETLBFS_I(inode)->seals);
#endif
	return 0;
}

/*
 * Only memory that lives in a memfd (shmem) or hugetlbfs can be pinned, the
 * range must exist, and a device may only write where the caller may: the
 * file is open for writing and not sealed against writes (F_SEAL_WRITE, or
 * F_SEAL_FUTURE_WRITE, which forbids new writable mappings: a writable
 * pin is one).
 */
static int ioas_check_file(struct file *file, u64 start, u64 length,
			   bool writable)
{
	u64 end;

	if (!shmem_file(file) && !is_file_hugepages(file))
		return -EINVAL;
	if (writable && !(file->f_mode & FMODE_WRITE))
		return -EPERM;
	if (writable &&
	    (ioas_file_seals(file) & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		return -EPERM;
	if (check_add_overflow(start, length, &end))
		return -EOVERFLOW;
	if (end > i_size_read(file_inode(file)))
		return -EINVAL;
	return 0;
}

int iommufd_ioas_map_file(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map_file *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	unsigned int iopt_flags;
	unsigned long iova;
	struct file *file;
	int prot, rc;
	u64 map_id;

	rc = ioas_map_flags(cmd->flags, &prot, &iopt_flags);
	if (rc)
		return rc;
	if (!ioas_u64_fits(cmd->iova) || !ioas_u64_fits(cmd->length) ||
	    !ioas_u64_fits(cmd->start))
		return -EOVERFLOW;
	if (!cmd->length)
		return -EINVAL;

	file = fget(cmd->fd);
	if (!file)
		return -EBADF;
	rc = ioas_check_file(file, cmd->start, cmd->length,
			     prot & IOMMU_WRITE);
	if (rc)
		goto out_fput;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas)) {
		rc = PTR_ERR(ioas);
		goto out_fput;
	}

	iova = cmd->iova;
	rc = iopt_map_file(ucmd->ictx, &ioas->iopt, &iova, file,
			   cmd->start, cmd->length, prot, iopt_flags, &map_id);
	if (!rc) {
		cmd->iova = iova;
		rc = ioas_map_respond(ucmd, sizeof(*cmd), ioas, iova,
				      cmd->length, map_id);
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
out_fput:
	fput(file);
	return rc;
}

int iommufd_ioas_copy(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_copy *cmd = ucmd->cmd;
	struct iommufd_ioas *src, *dst;
	unsigned int iopt_flags;
	unsigned long iova;
	int prot, rc;
	u64 map_id;

	rc = ioas_map_flags(cmd->flags, &prot, &iopt_flags);
	if (rc)
		return rc;
	if (!ioas_u64_fits(cmd->length) || !ioas_u64_fits(cmd->src_iova) ||
	    !ioas_u64_fits(cmd->dst_iova))
		return -EOVERFLOW;

	src = iommufd_get_ioas(ucmd->ictx, cmd->src_ioas_id);
	if (IS_ERR(src))
		return PTR_ERR(src);
	dst = iommufd_get_ioas(ucmd->ictx, cmd->dst_ioas_id);
	if (IS_ERR(dst)) {
		rc = PTR_ERR(dst);
		goto out_put_src;
	}

	iova = cmd->dst_iova;
	rc = iopt_copy_iova(&src->iopt, cmd->src_iova, &dst->iopt, &iova,
			    cmd->length, prot, iopt_flags, &map_id);
	if (!rc) {
		cmd->dst_iova = iova;
		rc = ioas_map_respond(ucmd, sizeof(*cmd), dst, iova,
				      cmd->length, map_id);
	}
	iommufd_put_object(ucmd->ictx, &dst->obj);
out_put_src:
	iommufd_put_object(ucmd->ictx, &src->obj);
	return rc;
}

int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_unmap *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	unsigned long unmapped = 0;
	struct iommufd_ioas *ioas;
	int rc;

	ioas = iommufd_get_ioas(ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	if (!cmd->iova && cmd->length == U64_MAX)
		rc = iopt_unmap_everything(&ioas->iopt, &unmapped);
	else if (!ioas_u64_fits(cmd->iova) || !ioas_u64_fits(cmd->length))
		rc = -EOVERFLOW;
	else
		rc = iopt_unmap(&ioas->iopt, cmd->iova, cmd->length, false,
				&unmapped);
	if (!rc) {
		cmd->length = unmapped;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

/*
 * Gather the pages of every IOAS of the context into @set. With maps_rwsem
 * held for writing no map or unmap is in flight, and none starts.
 */
static int ioas_collect_all_pages(struct iommufd_ctx *ictx, struct xarray *set)
	__must_hold(&ictx->maps_rwsem)
{
	struct iommufd_object *obj;
	unsigned long index;
	int rc = 0;

	lockdep_assert_held_write(&ictx->maps_rwsem);
	xa_for_each(&ictx->objects, index, obj) {
		struct iommufd_ioas *ioas = iommufd_get_ioas(ictx, index);

		if (IS_ERR(ioas))
			continue;
		rc = iopt_collect_file_pages(&ioas->iopt, set);
		iommufd_put_object(ictx, &ioas->obj);
		if (rc)
			break;
	}
	return rc;
}

/* A pages object whose payer was switched, and who paid before */
struct ioas_switched {
	struct iopt_pages *pages;
	struct iopt_payer old;
};

/* Switch the payer of every pages in @set to the caller; all or nothing */
static int ioas_switch_payers(struct xarray *set)
{
	struct ioas_switched *done;
	struct iopt_pages *pages;
	unsigned long index, n = 0, i;
	int rc = 0;

	xa_for_each(set, index, pages)
		n++;
	done = kvcalloc(n, sizeof(*done), GFP_KERNEL_ACCOUNT);
	if (!done)
		return -ENOMEM;

	n = 0;
	xa_for_each(set, index, pages) {
		rc = iopt_pages_switch_payer(pages, &done[n].old);
		if (rc)
			break;
		done[n++].pages = pages;
	}
	for (i = 0; i != n; i++) {
		if (rc)
			iopt_pages_restore_payer(done[i].pages, &done[i].old);
		else
			iopt_payer_put(&done[i].old);
	}
	/* Only a change that took everything changes the payer fdinfo names */
	if (!rc && n)
		iopt_pages_note_payer(done[0].pages);
	kvfree(done);
	return rc;
}

/*
 * IOMMU_IOAS_CHANGE_PROCESS: a new process takes over a context (live
 * update). Only file-backed memory can follow it: the VA ranges of the old
 * process mean nothing in the new one. All or nothing, for everything
 * mapped when it returns: maps and unmaps in flight finish first, and new
 * ones wait.
 */
int iommufd_ioas_change_process(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_change_process *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct xarray set;
	struct iopt_pages *pages;
	unsigned long index;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if (!current->mm)
		return -EINVAL;

	/* Maps in flight finish first: waiting for them can be killed */
	rc = down_write_killable(&ictx->maps_rwsem);
	if (rc)
		return rc;
	xa_init(&set);
	rc = ioas_collect_all_pages(ictx, &set);
	if (!rc)
		rc = ioas_switch_payers(&set);
	up_write(&ictx->maps_rwsem);
	xa_for_each(&set, index, pages)
		iopt_pages_put(pages);
	xa_destroy(&set);
	return rc;
}

/* IOMMU_OPTION_HUGE_PAGES, set on one IOAS: 1 allows large IOPTEs */
int iommufd_ioas_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int rc = 0;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->object_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	if (cmd->op == IOMMU_OPTION_OP_GET)
		cmd->val64 = !READ_ONCE(ioas->iopt.disable_large_pages);
	else if (cmd->val64 == 1)
		iopt_allow_huge_pages(&ioas->iopt);
	else if (cmd->val64 == 0)
		rc = iopt_forbid_huge_pages(&ioas->iopt);
	else
		rc = -EINVAL;
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/*
 * IOMMU_OPTION_RLIMIT_MODE, global: 0 charges user->locked_vm, 1 charges
 * mm->locked_vm. Only privileged processes may switch, since it changes
 * whose limit applies.
 */
int iommufd_option_rlimit_mode(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;

	if (cmd->object_id)
		return -EOPNOTSUPP;

	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = READ_ONCE(ictx->account_mode) ==
			     IOMMUFD_ACCOUNT_MM;
		return 0;
	}
	if (!capable(CAP_SYS_RESOURCE))
		return -EPERM;
	if (cmd->val64 > 1)
		return -EINVAL;

	/*
	 * Pins are uncharged the way they were charged, so switching with
	 * pins around would be safe; but a context that already made objects
	 * has chosen its accounting. Keep it simple for everyone: choose
	 * first, then create.
	 */
	xa_lock(&ictx->objects);
	if (!xa_empty(&ictx->objects)) {
		xa_unlock(&ictx->objects);
		return -EBUSY;
	}
	WRITE_ONCE(ictx->account_mode, cmd->val64 ? IOMMUFD_ACCOUNT_MM :
						    IOMMUFD_ACCOUNT_USER);
	xa_unlock(&ictx->objects);
	return 0;
}
