// SPDX-License-Identifier: GPL-2.0-only
/*
 * access.c - ACCESS objects: emulated and mediated devices that reach the
 * memory of an IOAS with the CPU instead of through an IOMMU.
 *
 * A driver creates an access, attaches it to an IOAS by ID, and then either
 * copies with iommufd_access_rw() or pins pages with
 * iommufd_access_pin_pages() to hand to its own DMA engine. The access is
 * listed in the IOAS, so when userspace unmaps a range the driver's unmap
 * callback runs first and must drop every pin in that range.
 *
 * The callback runs with the IOAS's domains_rwsem held for reading, and the
 * driver calls back into iommufd_access_unpin_pages() from it. So nothing
 * may hold @ioas_lock while waiting for that rwsem: it only guards reading
 * and swapping the IOAS pointers. Pins go through @ioas; unpins through
 * @ioas_unpin, which keeps naming the old IOAS while a replace or a detach
 * asks the driver to drop the pins it holds there.
 */
#include <linux/slab.h>

#include "iommufd_private.h"

/**
 * struct iommufd_access - an emulated device's view of an IOAS
 * @obj: object header; owned by the driver that created it
 * @ictx: context, with a reference held for the access's lifetime
 * @ops: the driver's callbacks
 * @data: the driver's cookie for @ops
 * @lock: serializes attach, replace and detach
 * @ioas_lock: protects @ioas and @ioas_unpin
 * @ioas: the IOAS new pins and copies go to, with a long-term reference
 * @ioas_unpin: the IOAS unpins go to
 * @iova_alignment: the alignment the driver needs of every mapping
 * @iopt_id: our index in the IOAS's io_pagetable::access_list (@lock)
 */
struct iommufd_access {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	const struct iommufd_access_ops *ops;
	void *data;
	struct mutex lock; /* see @lock above */
	struct mutex ioas_lock; /* see @ioas_lock above */
	struct iommufd_ioas *ioas;
	struct iommufd_ioas *ioas_unpin;
	unsigned long iova_alignment;
	u32 iopt_id;
};

unsigned long iommufd_access_iova_alignment(struct iommufd_access *access)
{
	return access->iova_alignment;
}

void iommufd_access_set_iopt_id(struct iommufd_access *access, u32 id)
{
	access->iopt_id = id;
}

u32 iommufd_access_iopt_id(struct iommufd_access *access)
{
	return access->iopt_id;
}

/*
 * Called by the IOAS before [start, last] is unmapped; the driver drops
 * its pins in that range.
 */
void iommufd_access_notify_unmap(struct iommufd_access *access,
				 unsigned long start, unsigned long last)
{
	if (access->ops->unmap)
		access->ops->unmap(access->data, start, last - start + 1);
}

/**
 * iommufd_access_create() - create an access for an emulated device
 * @ictx: context to create it in
 * @ops: the driver's callbacks
 * @data: cookie passed to @ops
 * @id: out: the object ID, which VFIO reports as the device ID
 *
 * The driver owns the access: userspace cannot destroy it, and the driver
 * must end it with iommufd_access_destroy(). An access that only copies
 * (no ops->needs_pin_pages) puts no alignment constraint on the IOAS;
 * one that pins needs every mapping to start and end on CPU pages.
 *
 * Context: Process context.
 * Return: the access, or an ERR_PTR.
 */
struct iommufd_access *
iommufd_access_create(struct iommufd_ctx *ictx,
		      const struct iommufd_access_ops *ops, void *data, u32 *id)
{
	struct iommufd_access *access;

	access = iommufd_object_alloc(ictx, struct iommufd_access, obj,
				      IOMMUFD_OBJ_ACCESS);
	if (IS_ERR(access))
		return access;

	access->ictx = ictx;
	access->ops = ops;
	access->data = data;
	access->iova_alignment = ops->needs_pin_pages ? PAGE_SIZE : 1;
	mutex_init(&access->lock);
	mutex_init(&access->ioas_lock);
	iommufd_ctx_get(ictx);

	/* The driver's reference: only iommufd_access_destroy() ends it */
	iommufd_object_hold(&access->obj);
	*id = access->obj.id;
	iommufd_object_publish(ictx, &access->obj);
	return access;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_create, IOMMUFD);

void iommufd_access_destroy_object(struct iommufd_object *obj)
{
	struct iommufd_access *access =
		container_of(obj, struct iommufd_access, obj);

	/* A driver that forgot to detach: do it for it */
	if (access->ioas)
		iommufd_access_detach(access);
	mutex_destroy(&access->ioas_lock);
	mutex_destroy(&access->lock);
}

/**
 * iommufd_access_destroy() - end an access
 * @access: the access, detached and without pins
 *
 * Context: Process context. Waits for lookups of the access in flight.
 */
void iommufd_access_destroy(struct iommufd_access *access)
{
	struct iommufd_ctx *ictx = access->ictx;

	iommufd_object_remove_owned(ictx, &access->obj);
	iommufd_ctx_put(ictx);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_destroy, IOMMUFD);

/* Point new pins and copies at @ioas, and unpins at @ioas_unpin */
static void access_set_ioas(struct iommufd_access *access,
			    struct iommufd_ioas *ioas,
			    struct iommufd_ioas *ioas_unpin)
{
	guard(mutex)(&access->ioas_lock);
	access->ioas = ioas;
	access->ioas_unpin = ioas_unpin;
}

/*
 * Take the access out of @ioas, where it is listed as @iopt_id. New pins
 * fail from here on, so once the driver has dropped what it pinned (its
 * unpins still reach @ioas) nothing of the access is left there.
 */
static void access_leave_ioas(struct iommufd_access *access,
			      struct iommufd_ioas *ioas, u32 iopt_id)
{
	/* A replace already listed the access in the new IOAS */
	u32 new_iopt_id = access->iopt_id;

	lockdep_assert_held(&access->lock);

	access_set_ioas(access, NULL, ioas);
	if (access->ops->unmap)
		access->ops->unmap(access->data, 0, ULONG_MAX);
	/* iopt_unregister_access() finds the access by access->iopt_id */
	access->iopt_id = iopt_id;
	iopt_unregister_access(&ioas->iopt, access);
	access->iopt_id = new_iopt_id;
}

/*
 * Move the access from its IOAS (if any) to @new_ioas (if any). The driver
 * is told to drop everything it pinned in the old IOAS before the access
 * leaves it, so no pin can outlive the attachment it came from.
 */
static int iommufd_access_change_ioas(struct iommufd_access *access,
				      struct iommufd_ioas *new_ioas)
{
	struct iommufd_ioas *old_ioas = access->ioas;
	u32 old_iopt_id = access->iopt_id;
	int rc;

	lockdep_assert_held(&access->lock);

	if (old_ioas == new_ioas)
		return 0;
	if (new_ioas) {
		rc = iopt_register_access(&new_ioas->iopt, access);
		if (rc)
			return rc;
		iommufd_object_hold(&new_ioas->obj);
	}
	if (old_ioas)
		access_leave_ioas(access, old_ioas, old_iopt_id);
	access_set_ioas(access, new_ioas, new_ioas);
	/* Only now that no unpin can find it any more */
	if (old_ioas)
		iommufd_object_unhold(&old_ioas->obj);
	return 0;
}

/* Attach or replace onto the IOAS @ioas_id; @replace says which */
static int iommufd_access_change_ioas_id(struct iommufd_access *access,
					 u32 ioas_id, bool replace)
{
	struct iommufd_ioas *ioas;
	int rc;

	ioas = iommufd_get_ioas(access->ictx, ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	mutex_lock(&access->lock);
	if (replace != !!access->ioas)
		rc = -EINVAL;
	else
		rc = iommufd_access_change_ioas(access, ioas);
	mutex_unlock(&access->lock);
	iommufd_put_object(access->ictx, &ioas->obj);
	return rc;
}

/**
 * iommufd_access_attach() - attach an access to an IOAS
 * @access: an access not attached anywhere
 * @ioas_id: ID of the IOAS
 *
 * Context: Process context.
 * Return: 0; -ENOENT for a bad ID; -EINVAL if already attached;
 * -EADDRINUSE if a mapping of the IOAS does not suit the access.
 */
int iommufd_access_attach(struct iommufd_access *access, u32 ioas_id)
{
	return iommufd_access_change_ioas_id(access, ioas_id, false);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_attach, IOMMUFD);

/**
 * iommufd_access_replace() - move an attached access to another IOAS
 * @access: an attached access
 * @ioas_id: ID of the new IOAS
 *
 * Context: Process context.
 * Return: 0; -ENOENT for a bad ID; -EINVAL if not attached; -EADDRINUSE if
 * a mapping of the new IOAS does not suit the access.
 */
int iommufd_access_replace(struct iommufd_access *access, u32 ioas_id)
{
	return iommufd_access_change_ioas_id(access, ioas_id, true);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_replace, IOMMUFD);

/**
 * iommufd_access_detach() - detach an access from its IOAS
 * @access: an attached access
 *
 * The driver's unmap callback is called for the whole IOVA space first, so
 * it drops any pin it still holds.
 *
 * Context: Process context.
 */
void iommufd_access_detach(struct iommufd_access *access)
{
	mutex_lock(&access->lock);
	if (!WARN_ON_ONCE(!access->ioas))
		iommufd_access_change_ioas(access, NULL);
	mutex_unlock(&access->lock);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_detach, IOMMUFD);

/* Borrow the IOAS for one call: pins go to @ioas, unpins to @ioas_unpin */
static struct iommufd_ioas *access_get_ioas(struct iommufd_access *access,
					    bool unpin)
{
	struct iommufd_ioas *ioas;

	mutex_lock(&access->ioas_lock);
	ioas = unpin ? access->ioas_unpin : access->ioas;
	if (ioas)
		iommufd_object_hold(&ioas->obj);
	mutex_unlock(&access->ioas_lock);
	return ioas;
}

/**
 * iommufd_access_pin_pages() - pin the pages behind an IOVA range
 * @access: an attached access created with ops->needs_pin_pages
 * @iova: first IOVA, PAGE_SIZE aligned
 * @length: bytes, a multiple of PAGE_SIZE
 * @out_pages: receives length / PAGE_SIZE page pointers
 * @flags: IOMMUFD_ACCESS_RW_WRITE if the device will write to them
 *
 * The pages stay pinned until iommufd_access_unpin_pages() of exactly the
 * same range, which the driver must do at the latest from its unmap
 * callback.
 *
 * Context: Process context.
 * Return: 0; -EINVAL for a misaligned or empty range; -ENOENT when not
 * attached or if part of the range is not mapped; -EPERM to write read-only
 * memory; -EBUSY while part of it is being unmapped (the driver's unmap
 * callback is on its way); -ENOMEM or a pinning error.
 */
int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, struct page **out_pages,
			     unsigned int flags)
{
	struct iommufd_ioas *ioas;
	int rc;

	if (WARN_ON_ONCE(!access->ops->needs_pin_pages))
		return -EINVAL;
	if (!length || (iova | length) % PAGE_SIZE)
		return -EINVAL;

	ioas = access_get_ioas(access, false);
	if (!ioas)
		return -ENOENT;
	rc = iopt_access_pin_pages(&ioas->iopt, iova, length, out_pages,
				   flags);
	iommufd_object_unhold(&ioas->obj);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_pin_pages, IOMMUFD);

/**
 * iommufd_access_unpin_pages() - release pages pinned by the access
 * @access: the access
 * @iova: as passed to iommufd_access_pin_pages()
 * @length: as passed to iommufd_access_pin_pages()
 *
 * Context: Process context.
 */
void iommufd_access_unpin_pages(struct iommufd_access *access,
				unsigned long iova, unsigned long length)
{
	struct iommufd_ioas *ioas;

	if (WARN_ON_ONCE(!length))
		return;
	ioas = access_get_ioas(access, true);
	if (WARN_ON_ONCE(!ioas))
		return;
	iopt_access_unpin_pages(&ioas->iopt, iova, length);
	iommufd_object_unhold(&ioas->obj);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_unpin_pages, IOMMUFD);

/**
 * iommufd_access_rw() - copy to or from the memory behind IOVA
 * @access: an attached access
 * @iova: first IOVA, any alignment
 * @data: kernel buffer
 * @len: bytes
 * @flags: IOMMUFD_ACCESS_RW_WRITE copies @data into the IOAS;
 *         IOMMUFD_ACCESS_RW_KTHREAD when called from a kthread
 *
 * Context: Process context, or a kthread with IOMMUFD_ACCESS_RW_KTHREAD.
 * Return: 0; -EINVAL for an empty copy; -ENOENT when not attached or if
 * part of the range is not mapped; -EPERM to write read-only memory;
 * -EFAULT.
 */
int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t len, unsigned int flags)
{
	struct iommufd_ioas *ioas;
	int rc;

	if (!len)
		return -EINVAL;

	ioas = access_get_ioas(access, false);
	if (!ioas)
		return -ENOENT;
	rc = iopt_access_rw(&ioas->iopt, iova, data, len, flags);
	iommufd_object_unhold(&ioas->obj);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_rw, IOMMUFD);
