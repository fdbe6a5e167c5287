// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_compat.c - what the VFIO container emulation needs of a context.
 *
 * A context can name one of its IOASes the "compat IOAS": the address
 * space VFIO's container ioctls work on. VFIO's group code creates it when
 * a group is added to a /dev/vfio/vfio container served by us, and
 * userspace can choose it with IOMMU_VFIO_IOAS (QEMU does, to share an IOAS
 * between the legacy and the new interface). The pointer holds no
 * reference: an IOAS that is destroyed simply stops being the compat IOAS.
 */
#include <linux/vfio.h>

#include "iommufd_private.h"

/* The compat IOAS with a short-term reference, or ERR_PTR(-ENODEV) */
static struct iommufd_ioas *compat_get_ioas(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;

	guard(mutex)(&ictx->compat_lock);
	ioas = ictx->vfio_ioas;
	/* An IOAS being destroyed has no active count left */
	if (!ioas || !refcount_inc_not_zero(&ioas->obj.active))
		return ERR_PTR(-ENODEV);
	return ioas;
}

/*
 * The compat IOAS for the ioctls of the type1 backend proper, or
 * ERR_PTR(-EINVAL): without a group in it, VFIO's container has no IOMMU
 * backend to hand them to, and says EINVAL
 */
static struct iommufd_ioas *type1_get_ioas(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas = compat_get_ioas(ictx);

	return IS_ERR(ioas) ? ERR_PTR(-EINVAL) : ioas;
}

/*
 * Do all the domains of @ioas keep DMA cache coherent? With none yet, yes:
 * type1 answers for the domains it has, and a device that could not be
 * kept coherent is never bound (iommufd_device_check()).
 */
static bool ioas_all_coherent(struct iommufd_ioas *ioas)
{
	struct iommufd_hwpt_paging *paging;

	guard(mutex)(&ioas->mutex);
	list_for_each_entry(paging, &ioas->hwpt_list, hwpt_item)
		if (!paging->enforce_cache_coherency)
			return false;
	return true;
}

/*
 * VFIO_DMA_CC_IOMMU: 1 if the compat IOAS's domains are all coherent; 0
 * without a compat IOAS, as VFIO's container answers without a group
 */
static int vfio_compat_cache_coherent(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas = compat_get_ioas(ictx);
	bool coherent;

	if (IS_ERR(ioas))
		return 0;
	coherent = ioas_all_coherent(ioas);
	iommufd_put_object(ictx, &ioas->obj);
	return coherent;
}

/* Called by the destruction of every IOAS */
void iommufd_vfio_compat_forget(struct iommufd_ioas *ioas)
{
	struct iommufd_ctx *ictx = ioas->ictx;

	mutex_lock(&ictx->compat_lock);
	if (ictx->vfio_ioas == ioas) {
		ictx->vfio_ioas = NULL;
		/* Its domains are gone: so is what tracked dirty IOVA there */
		ictx->vfio_dirty = false;
		ictx->vfio_dirty_gen = 0;
	}
	mutex_unlock(&ictx->compat_lock);
}

/**
 * iommufd_vfio_compat_ioas_get_id() - the ID of the compat IOAS
 * @ictx: the context
 * @out_ioas_id: receives the ID
 *
 * Context: Process context.
 * Return: 0, or -ENODEV if the context has no compat IOAS.
 */
int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx, u32 *out_ioas_id)
{
	struct iommufd_ioas *ioas = compat_get_ioas(ictx);

	if (!IS_ERR(ioas)) {
		*out_ioas_id = ioas->obj.id;
		iommufd_put_object(ictx, &ioas->obj);
	}
	return PTR_ERR_OR_ZERO(ioas);
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_get_id, IOMMUFD_VFIO);

/**
 * iommufd_vfio_compat_ioas_create() - make sure the context has a compat IOAS
 * @ictx: the context
 *
 * Creates and publishes an empty IOAS unless there is one already.
 *
 * Context: Process context.
 * Return: 0, or -ENOMEM.
 */
int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;
	int rc = 0;

	mutex_lock(&ictx->compat_lock);
	if (ictx->vfio_ioas)
		goto out_unlock;
	ioas = iommufd_ioas_alloc(ictx);
	if (IS_ERR(ioas)) {
		rc = PTR_ERR(ioas);
		goto out_unlock;
	}
	ictx->vfio_ioas = ioas;
	iommufd_object_publish(ictx, &ioas->obj);
out_unlock:
	mutex_unlock(&ictx->compat_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_create, IOMMUFD_VFIO);

/**
 * iommufd_vfio_compat_set_no_iommu() - put the container in no-IOMMU mode
 * @ictx: the context
 *
 * For VFIO's unsafe no-IOMMU groups: the container then translates
 * nothing. Only possible before it has an IOAS.
 *
 * Context: Process context.
 * Return: 0, or -EINVAL if the context already has a compat IOAS.
 */
int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx)
{
	int rc = 0;

	mutex_lock(&ictx->compat_lock);
	if (ictx->vfio_ioas)
		rc = -EINVAL;
	else
		ictx->no_iommu_mode = true;
	mutex_unlock(&ictx->compat_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_set_no_iommu, IOMMUFD_VFIO);

/*
 * Make @ioas (may be NULL) the compat IOAS. VFIO_IOMMU_DIRTY_PAGES state
 * belongs to the compat IOAS it was started on, and type1 has no way to
 * carry it over to another: while it is started, only the same IOAS may be
 * set again.
 */
static int vfio_compat_set_ioas(struct iommufd_ctx *ictx,
				struct iommufd_ioas *ioas)
{
	guard(mutex)(&ictx->compat_lock);
	if (ictx->vfio_dirty && ictx->vfio_ioas != ioas)
		return -EBUSY;
	ictx->vfio_ioas = ioas;
	return 0;
}

/* IOMMU_VFIO_IOAS: read, choose or forget the compat IOAS */
int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd)
{
	struct iommu_vfio_ioas *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_ioas *ioas = NULL;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		rc = iommufd_vfio_compat_ioas_get_id(ictx, &cmd->ioas_id);
		return rc ?: iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	case IOMMU_VFIO_IOAS_SET:
		ioas = iommufd_get_ioas(ictx, cmd->ioas_id);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		fallthrough;
	case IOMMU_VFIO_IOAS_CLEAR:
		rc = vfio_compat_set_ioas(ictx, ioas);
		if (ioas)
			iommufd_put_object(ictx, &ioas->obj);
		return rc;
	default:
		return -EOPNOTSUPP;
	}
}

/*
 * The VFIO type1 container ioctls, served on the compat IOAS.
 *
 * Every VFIO_IOMMU_MAP_DMA is one area. Type1 v2 unmaps whole areas only,
 * like IOMMU_IOAS_UNMAP. Type1 v1 never cuts a mapping either: an unmap
 * that starts inside one leaves it alone (success, nothing unmapped), and
 * one that covers a mapping's first IOVA takes all of it, however far it
 * reaches past the range, and says so in the size it returns. That is
 * type1's own v1 behaviour, and since no unmap ever ends inside an area,
 * both flavours map with the largest IOPTEs the domains have: nothing ever
 * needs splitting, so nothing is split or refused for it.
 */
/*
 * VFIO_UPDATE_VADDR works while no access (an emulated device, type1's
 * mdev) is attached to the compat IOAS: an access could neither pin nor
 * copy while an address is invalid. Type1 asks the same of its container.
 */
static int vfio_update_vaddr_works(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas = compat_get_ioas(ictx);
	bool works;

	if (IS_ERR(ioas))
		return 0;
	works = !iopt_has_accesses(&ioas->iopt);
	iommufd_put_object(ictx, &ioas->obj);
	return works;
}

static int vfio_check_extension(struct iommufd_ctx *ictx, unsigned long type)
{
	bool type1 = type == VFIO_TYPE1_IOMMU || type == VFIO_TYPE1v2_IOMMU ||
		     type == VFIO_UNMAP_ALL;

	if (type1)
		return !ictx->no_iommu_mode;
	if (type == VFIO_NOIOMMU_IOMMU)
		return IS_ENABLED(CONFIG_VFIO_NOIOMMU);
	if (type == VFIO_DMA_CC_IOMMU)
		return vfio_compat_cache_coherent(ictx);
	if (type == VFIO_UPDATE_VADDR)
		return !ictx->no_iommu_mode && vfio_update_vaddr_works(ictx);
	/* Nesting, SPAPR, EEH: not offered */
	return 0;
}

static int vfio_set_iommu(struct iommufd_ctx *ictx, unsigned long type)
{
	bool v1 = type == VFIO_TYPE1_IOMMU;
	struct iommufd_ioas *ioas;

	/*
	 * VFIO's container's errnos: ENODEV for a type that no IOMMU driver
	 * serves for the group, EINVAL without a group to serve
	 */
	if (ictx->no_iommu_mode) {
		if (type != VFIO_NOIOMMU_IOMMU)
			return -ENODEV;
		return capable(CAP_SYS_RAWIO) ? 0 : -EPERM;
	}
	ioas = compat_get_ioas(ictx);
	if (IS_ERR(ioas))
		return -EINVAL;
	iommufd_put_object(ictx, &ioas->obj);
	/* Type1 takes it, then fails to attach: no 6.12 driver nests so */
	if (type == VFIO_TYPE1_NESTING_IOMMU)
		return -EINVAL;
	if (!v1 && type != VFIO_TYPE1v2_IOMMU)
		return -ENODEV;
	guard(mutex)(&ictx->compat_lock);
	/* v1 has no dirty tracking: it could not be stopped after the switch */
	if (v1 && ictx->vfio_dirty)
		return -EBUSY;
	WRITE_ONCE(ictx->vfio_v1, v1);
	return 0;
}

/* The IOMMU prot for the flags of VFIO_IOMMU_MAP_DMA, or 0 if unusable */
static int vfio_map_prot(u32 flags)
{
	int prot = IOMMU_CACHE;

	if (flags & ~(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE))
		return 0;
	if (flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOMMU_READ;
	if (flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOMMU_WRITE;
	return prot & (IOMMU_READ | IOMMU_WRITE) ? prot : 0;
}

static int vfio_map_dma(struct iommufd_ctx *ictx, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	struct vfio_iommu_type1_dma_map map;
	bool set_vaddr;
	struct iommufd_ioas *ioas;
	unsigned long iova;
	int prot, rc;

	if (copy_from_user(&map, uarg, minsz))
		return -EFAULT;
	/* VFIO_DMA_MAP_FLAG_VADDR goes alone, as in type1 */
	set_vaddr = map.flags == VFIO_DMA_MAP_FLAG_VADDR;
	prot = vfio_map_prot(map.flags);
	if (map.argsz < minsz || (!prot && !set_vaddr) || !map.size)
		return -EINVAL;
	/* Type1's checks: whole CPU pages, no wrap around */
	if ((map.iova | map.size | map.vaddr) & ~PAGE_MASK ||
	    map.iova + map.size - 1 < map.iova ||
	    map.vaddr + map.size - 1 < map.vaddr)
		return -EINVAL;
	if (map.iova > ULONG_MAX || map.size > ULONG_MAX ||
	    map.vaddr > ULONG_MAX)
		return -EOVERFLOW;

	ioas = type1_get_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (set_vaddr) {
		/* A new address for a mapping VFIO_DMA_UNMAP_FLAG_VADDR left */
		rc = iopt_set_vaddr(&ioas->iopt, map.iova, map.size,
				    u64_to_user_ptr(map.vaddr));
	} else {
		iova = map.iova;
		rc = iopt_map_user(ictx, &ioas->iopt, &iova,
				   u64_to_user_ptr(map.vaddr), map.size, prot,
				   0, NULL);
	}
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

/* VFIO_DMA_UNMAP_FLAG_* that VFIO_IOMMU_UNMAP_DMA understands */
#define VFIO_UNMAP_FLAGS                                                   \
	(VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR |              \
	 VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP)

/*
 * Type1's bounds on a dirty bitmap: INT_MAX pages at most (256 MiB of
 * bitmap, 8 TiB of IOVA with 4 KiB pages), in whole u64s
 */
#define VFIO_DIRTY_PAGES_MAX ((u64)INT_MAX)
#define VFIO_DIRTY_BYTES(npages) (ALIGN((u64)(npages), 64) / BITS_PER_BYTE)
#define VFIO_DIRTY_BYTES_MAX VFIO_DIRTY_BYTES(VFIO_DIRTY_PAGES_MAX)

/* A user bitmap for @size bytes of IOVA, checked as type1 checks it */
static int vfio_bitmap_check(const struct vfio_bitmap *bitmap, u64 size)
{
	u64 npages = size >> PAGE_SHIFT;

	/* Type1 takes its smallest page size only, which is PAGE_SIZE */
	if (bitmap->pgsize != PAGE_SIZE || !npages || !bitmap->size ||
	    bitmap->size > VFIO_DIRTY_BYTES_MAX ||
	    bitmap->size < VFIO_DIRTY_BYTES(npages))
		return -EINVAL;
	if (!access_ok(bitmap->data, bitmap->size))
		return -EINVAL;
	return 0;
}

/*
 * The compat IOAS's dirty tracking state, for a read of its bitmap: -EBUSY
 * if @ioas is no longer the compat IOAS, -EINVAL if tracking is off (as
 * type1 says). The read itself runs without compat_lock, so one that races
 * a stop may read the bits from before it, or fail with the -EINVAL of a
 * domain that has stopped (type1's answer once tracking is off; the bitmap
 * may be partly written then, and the domains read before it cleared), or
 * find nothing live to ask a domain about and read zeros.
 */
static int vfio_dirty_gen(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			  u64 *gen)
{
	guard(mutex)(&ictx->compat_lock);
	if (ictx->vfio_ioas != ioas)
		return -EBUSY;
	if (!ictx->vfio_dirty)
		return -EINVAL;
	*gen = ictx->vfio_dirty_gen;
	return 0;
}

/* Type1's checks of an unmap request, before anything is looked at */
static int vfio_unmap_check(struct vfio_iommu_type1_dma_unmap *unmap,
			    size_t minsz)
{
	bool all = unmap->flags & VFIO_DMA_UNMAP_FLAG_ALL;

	if (unmap->argsz < minsz || unmap->flags & ~VFIO_UNMAP_FLAGS)
		return -EINVAL;
	if ((unmap->flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) &&
	    (unmap->flags & ~VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP))
		return -EINVAL;
	if (all)
		return unmap->iova || unmap->size ? -EINVAL : 0;
	/* Whole CPU pages, and no wrap around */
	if (!unmap->size || (unmap->iova | unmap->size) & ~PAGE_MASK ||
	    unmap->iova + unmap->size - 1 < unmap->iova)
		return -EINVAL;
	if (unmap->iova > ULONG_MAX || unmap->size > ULONG_MAX)
		return -EOVERFLOW;
	return 0;
}

/*
 * VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP: the struct vfio_bitmap that follows
 * the request, checked, and the unmap (type1v2's: the range may not cut a
 * mapping) with the dirty bits of what it takes written to it, read in one
 * step with the unmap (iopt_unmap_dirty()). If the unmap fails, the
 * domains keep every bit for the next read; only the user's bitmap may
 * have been written.
 */
static int vfio_unmap_dirty(struct iommufd_ctx *ictx,
			    struct iommufd_ioas *ioas,
			    struct vfio_iommu_type1_dma_unmap *unmap,
			    void __user *uarg, size_t minsz,
			    unsigned long *unmapped)
{
	struct vfio_bitmap bitmap;
	u64 gen;
	int rc;

	if (unmap->argsz < minsz + sizeof(bitmap))
		return -EINVAL;
	if (copy_from_user(&bitmap, uarg + minsz, sizeof(bitmap)))
		return -EFAULT;
	rc = vfio_bitmap_check(&bitmap, unmap->size);
	if (rc)
		return rc;
	rc = vfio_dirty_gen(ictx, ioas, &gen);
	if (rc)
		return rc;
	return iopt_unmap_dirty(&ioas->iopt, unmap->iova, unmap->size, gen,
				bitmap.data, unmapped);
}

static int vfio_unmap_dma(struct iommufd_ctx *ictx, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	struct vfio_iommu_type1_dma_unmap unmap;
	unsigned int how = IOPT_UNMAP_EMPTY_OK;
	unsigned long iova, length;
	struct iommufd_ioas *ioas;
	unsigned long unmapped = 0;
	int rc;

	if (copy_from_user(&unmap, uarg, minsz))
		return -EFAULT;
	rc = vfio_unmap_check(&unmap, minsz);
	if (rc)
		return rc;
	iova = unmap.iova;
	length = unmap.size;
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		iova = 0;
		length = ULONG_MAX;
	} else if (READ_ONCE(ictx->vfio_v1)) {
		how |= IOPT_UNMAP_V1;
	}

	ioas = type1_get_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP)
		rc = vfio_unmap_dirty(ictx, ioas, &unmap, uarg, minsz,
				      &unmapped);
	else if (unmap.flags & VFIO_DMA_UNMAP_FLAG_VADDR)
		rc = iopt_invalidate_vaddr(&ioas->iopt, iova, length, how,
					   &unmapped);
	else if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL)
		rc = iopt_unmap_everything(&ioas->iopt, &unmapped);
	else if (how & IOPT_UNMAP_V1)
		rc = iopt_unmap_v1(&ioas->iopt, iova, length, &unmapped);
	else
		rc = iopt_unmap(&ioas->iopt, iova, length, true, &unmapped);
	iommufd_put_object(ictx, &ioas->obj);
	/* A range that cuts a mapping (type1v2): EINVAL, as type1 says */
	if (rc == -ENOENT)
		return -EINVAL;
	if (rc)
		return rc;

	unmap.size = unmapped;
	if (copy_to_user(uarg, &unmap, minsz))
		return -EFAULT;
	return 0;
}

/*
 * VFIO_IOMMU_DIRTY_PAGES. Start and stop turn hardware dirty tracking on
 * and off in the compat IOAS's domains when all of them have it; without
 * it every mapped page reads as dirty (type1's rule for a device whose
 * IOMMU cannot tell), which is always correct, if not small.
 *
 * The state belongs to the compat IOAS: IOMMU_VFIO_IOAS may not change it
 * while tracking, and each of these fails with EBUSY if it changed between
 * compat_get_ioas() and taking the lock.
 */
static int vfio_dirty_start(struct iommufd_ctx *ictx,
			    struct iommufd_ioas *ioas)
{
	u64 gen = 0;
	int rc;

	guard(mutex)(&ictx->compat_lock);
	if (ictx->vfio_ioas != ioas)
		return -EBUSY;
	/* Checked again here: VFIO_SET_IOMMU may have switched to v1 since */
	if (ictx->vfio_v1)
		return -EACCES;
	if (ictx->vfio_dirty)
		return 0;
	rc = iopt_dirty_track_all(&ioas->iopt, true, &gen);
	if (rc && rc != -EOPNOTSUPP)
		return rc;
	ictx->vfio_dirty = true;
	ictx->vfio_dirty_gen = rc ? 0 : gen;
	return 0;
}

static int vfio_dirty_stop(struct iommufd_ctx *ictx,
			   struct iommufd_ioas *ioas)
{
	guard(mutex)(&ictx->compat_lock);
	if (ictx->vfio_ioas != ioas)
		return -EBUSY;
	/* A driver that fails to stop tracking still reports nothing more */
	if (ictx->vfio_dirty_gen)
		iopt_dirty_track_all(&ioas->iopt, false, NULL);
	ictx->vfio_dirty = false;
	ictx->vfio_dirty_gen = 0;
	return 0;
}

static int vfio_dirty_get(struct iommufd_ctx *ictx,
			  struct iommufd_ioas *ioas, void __user *uarg,
			  size_t data_size)
{
	struct vfio_iommu_type1_dirty_bitmap_get range;
	u64 gen;
	int rc;

	if (data_size < sizeof(range))
		return -EINVAL;
	if (copy_from_user(&range, uarg, sizeof(range)))
		return -EFAULT;
	if (range.iova + range.size < range.iova || !range.size ||
	    (range.iova | range.size) & ~PAGE_MASK ||
	    range.iova + range.size - 1 > ULONG_MAX)
		return -EINVAL;
	rc = vfio_bitmap_check(&range.bitmap, range.size);
	if (rc)
		return rc;
	rc = vfio_dirty_gen(ictx, ioas, &gen);
	if (rc)
		return rc;
	return iopt_dirty_read_all(&ioas->iopt, range.iova, range.size, gen,
				   true, range.bitmap.data);
}

#define VFIO_DIRTY_FLAGS                                                   \
	(VFIO_IOMMU_DIRTY_PAGES_FLAG_START |                                \
	 VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP |                                 \
	 VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP)

static int vfio_dirty_pages(struct iommufd_ctx *ictx, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dirty_bitmap, flags);
	struct vfio_iommu_type1_dirty_bitmap dirty;
	struct iommufd_ioas *ioas;
	int rc;

	/* Type1 v1 has no dirty tracking */
	if (READ_ONCE(ictx->vfio_v1))
		return -EACCES;
	if (copy_from_user(&dirty, uarg, minsz))
		return -EFAULT;
	if (dirty.argsz < minsz || dirty.flags & ~VFIO_DIRTY_FLAGS ||
	    hweight32(dirty.flags) != 1)
		return -EINVAL;

	ioas = type1_get_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (dirty.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_START)
		rc = vfio_dirty_start(ictx, ioas);
	else if (dirty.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP)
		rc = vfio_dirty_stop(ictx, ioas);
	else
		rc = vfio_dirty_get(ictx, ioas, uarg + minsz,
				    dirty.argsz - minsz);
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

/* The IOVA range capability is built in a kernel buffer, then copied */
struct vfio_ranges_buf {
	struct vfio_iova_range *ranges;
	u32 count;
	u32 capacity;
};

static int vfio_put_range(void *opaque, unsigned long start,
			  unsigned long last)
{
	struct vfio_ranges_buf *buf = opaque;

	if (buf->count < buf->capacity) {
		buf->ranges[buf->count].start = start;
		buf->ranges[buf->count].end = last;
	}
	buf->count++;
	return 0;
}

/* Collect the usable ranges into a freshly allocated array */
static int vfio_collect_ranges(struct iommufd_ioas *ioas,
			       struct vfio_ranges_buf *buf)
{
	int rc;

	buf->ranges = NULL;
	buf->capacity = 0;
	for (;;) {
		buf->count = 0;
		rc = iopt_walk_usable_ranges(&ioas->iopt, vfio_put_range, buf);
		if (rc || buf->count <= buf->capacity)
			return rc;
		/* The ranges changed size under us, or this is the first pass */
		kfree(buf->ranges);
		buf->capacity = buf->count;
		buf->ranges = kcalloc(buf->capacity, sizeof(*buf->ranges),
				      GFP_KERNEL_ACCOUNT);
		if (!buf->ranges)
			return -ENOMEM;
	}
}

/*
 * Write the capability chain, in type1's order: migration at @mig_off,
 * DMA available at @avail_off, IOVA ranges at @ranges_off. It fits.
 */
static int vfio_put_caps(void __user *uarg, struct vfio_ranges_buf *buf,
			 size_t mig_off, size_t avail_off, size_t ranges_off)
{
	struct vfio_iommu_type1_info_cap_migration mig = {
		.header.id = VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION,
		.header.version = 1,
		.header.next = avail_off,
		.pgsize_bitmap = PAGE_SIZE,
		.max_dirty_bitmap_size = VFIO_DIRTY_BYTES_MAX,
	};
	struct vfio_iommu_type1_info_dma_avail avail = {
		.header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
		.header.version = 1,
		.header.next = ranges_off,
		.avail = U32_MAX,
	};
	struct vfio_iommu_type1_info_cap_iova_range range_cap = {
		.header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
		.header.version = 1,
		.nr_iovas = buf->count,
	};

	if (copy_to_user(uarg + mig_off, &mig, sizeof(mig)) ||
	    copy_to_user(uarg + avail_off, &avail, sizeof(avail)) ||
	    copy_to_user(uarg + ranges_off, &range_cap, sizeof(range_cap)) ||
	    copy_to_user(uarg + ranges_off + sizeof(range_cap), buf->ranges,
			 buf->count * sizeof(*buf->ranges)))
		return -EFAULT;
	return 0;
}

static int vfio_iommu_get_info(struct iommufd_ctx *ictx, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	size_t mig_off = sizeof(struct vfio_iommu_type1_info);
	size_t avail_off, ranges_off, total;
	struct vfio_iommu_type1_info info = {};
	struct vfio_ranges_buf buf;
	struct iommufd_ioas *ioas;
	u32 user_argsz;
	int rc;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	user_argsz = info.argsz;

	ioas = type1_get_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	rc = vfio_collect_ranges(ioas, &buf);
	if (rc)
		goto out_put;

	avail_off = mig_off + sizeof(struct vfio_iommu_type1_info_cap_migration);
	/* The DMA_AVAIL capability is 12 bytes, padded to keep alignment */
	ranges_off = avail_off +
		     ALIGN(sizeof(struct vfio_iommu_type1_info_dma_avail), 8);
	total = ranges_off + sizeof(struct vfio_iommu_type1_info_cap_iova_range) +
		buf.count * sizeof(*buf.ranges);

	info.flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
	info.iova_pgsizes = iopt_pgsize_bitmap(&ioas->iopt);
	info.cap_offset = 0;
	/*
	 * The chain is only reported when all of it fits; argsz says the size
	 * needed when it does not, and stays the caller's when it does
	 */
	if (user_argsz < total) {
		info.argsz = total;
	} else {
		rc = vfio_put_caps(uarg, &buf, mig_off, avail_off,
				   ranges_off);
		if (rc)
			goto out_free;
		info.cap_offset = mig_off;
	}
	if (copy_to_user(uarg, &info, min_t(size_t, user_argsz, sizeof(info))))
		rc = -EFAULT;
out_free:
	kfree(buf.ranges);
out_put:
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

/* The ioctls of the type1 backend proper, all on the compat IOAS */
static long vfio_type1_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
			     void __user *uarg)
{
	switch (cmd) {
	case VFIO_IOMMU_GET_INFO:
		return vfio_iommu_get_info(ictx, uarg);
	case VFIO_IOMMU_MAP_DMA:
		return vfio_map_dma(ictx, uarg);
	case VFIO_IOMMU_UNMAP_DMA:
		return vfio_unmap_dma(ictx, uarg);
	case VFIO_IOMMU_DIRTY_PAGES:
		return vfio_dirty_pages(ictx, uarg);
	default:
		return -ENOTTY;
	}
}

/**
 * iommufd_vfio_ioctl() - serve a VFIO container ioctl
 * @ictx: the context behind /dev/vfio/vfio (or /dev/iommu)
 * @cmd: the ioctl number
 * @arg: its argument
 *
 * Context: Process context.
 * Return: the ioctl's result, or -ENOTTY for what is not a container ioctl
 * we serve.
 */
long iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
			unsigned long arg)
{
	switch (cmd) {
	case VFIO_CHECK_EXTENSION:
		return vfio_check_extension(ictx, arg);
	case VFIO_SET_IOMMU:
		return vfio_set_iommu(ictx, arg);
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	default:
		return vfio_type1_ioctl(ictx, cmd, (void __user *)arg);
	}
}
