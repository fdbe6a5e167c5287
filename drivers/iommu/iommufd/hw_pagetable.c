// SPDX-License-Identifier: GPL-2.0-only
/*
 * hw_pagetable.c - HWPT objects: the iommu_domains devices attach to.
 *
 * A HWPT_PAGING wraps a paging domain that mirrors one IOAS: it is added to
 * the IOAS's io_pagetable, which fills it with every area and keeps it in
 * sync. The kernel makes one implicitly when a device attaches to an IOAS
 * (an auto domain); userspace makes them explicitly with IOMMU_HWPT_ALLOC,
 * for instance to ask for dirty tracking or to use as a nesting parent.
 *
 * A HWPT_NESTED wraps a domain whose stage-1 table lives in user memory in
 * the IOMMU's own format (VT-d first-stage, the mock's test format),
 * translated again through its parent HWPT_PAGING. Userspace edits that
 * table itself and tells the IOMMU with IOMMU_HWPT_INVALIDATE.
 */
#include <linux/iommu.h>
#include <linux/slab.h>

#include "../iommu-priv.h"
#include "iommufd_private.h"
#include "iommufd_trace.h"

/**
 * iommufd_get_hwpt() - look up a HWPT of either kind
 * @ictx: the context
 * @id: the ID from userspace
 *
 * Context: Any context that may take a spinlock.
 * Return: the HWPT held short-term, or ERR_PTR(-ENOENT).
 */
struct iommufd_hw_pagetable *iommufd_get_hwpt(struct iommufd_ctx *ictx, u32 id)
{
	struct iommufd_object *obj;

	obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	if (obj->type != IOMMUFD_OBJ_HWPT_PAGING &&
	    obj->type != IOMMUFD_OBJ_HWPT_NESTED) {
		iommufd_put_object(ictx, obj);
		return ERR_PTR(-ENOENT);
	}
	return to_hwpt(obj);
}

/**
 * iommufd_get_hwpt_paging() - look up a HWPT_PAGING
 * @ictx: the context
 * @id: the ID from userspace
 *
 * Context: Any context that may take a spinlock.
 * Return: the HWPT held short-term, or ERR_PTR(-ENOENT).
 */
struct iommufd_hwpt_paging *iommufd_get_hwpt_paging(struct iommufd_ctx *ictx,
						    u32 id)
{
	struct iommufd_object *obj;

	obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return to_hwpt_paging(to_hwpt(obj));
}

/* Undo everything iommufd_hwpt_paging_alloc() did */
void iommufd_hwpt_paging_abort(struct iommufd_object *obj)
{
	struct iommufd_hwpt_paging *paging = to_hwpt_paging(to_hwpt(obj));

	if (paging->in_iopt)
		iopt_detach_domain(&paging->ioas->iopt,
				   paging->common.domain);
	if (paging->common.domain)
		iommu_domain_free(paging->common.domain);
	iommufd_object_unhold(&paging->ioas->obj);
}

void iommufd_hwpt_paging_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_paging *paging = to_hwpt_paging(to_hwpt(obj));

	if (!list_empty(&paging->hwpt_item)) {
		mutex_lock(&paging->ioas->mutex);
		list_del(&paging->hwpt_item);
		mutex_unlock(&paging->ioas->mutex);
	}
	iommufd_hwpt_paging_abort(obj);
}

void iommufd_hwpt_nested_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_nested *nested = to_hwpt_nested(to_hwpt(obj));

	if (nested->common.domain)
		iommu_domain_free(nested->common.domain);
	if (nested->common.fault)
		iommufd_fault_unhold(nested->common.fault);
	iommufd_object_unhold(&nested->parent->common.obj);
}

void iommufd_hwpt_nested_abort(struct iommufd_object *obj)
{
	iommufd_hwpt_nested_destroy(obj);
}

/**
 * iommufd_hwpt_paging_enforce_cc() - make a domain block no-snoop DMA
 * @paging: the HWPT
 *
 * Devices whose IOMMU can enforce cache coherency only use domains that do.
 * Once enforced it stays so.
 *
 * Context: Process context.
 * Return: 0, or -EINVAL if the domain cannot.
 */
int iommufd_hwpt_paging_enforce_cc(struct iommufd_hwpt_paging *paging)
{
	struct iommu_domain *domain = paging->common.domain;

	if (paging->enforce_cache_coherency)
		return 0;
	if (!domain->ops->enforce_cache_coherency ||
	    !domain->ops->enforce_cache_coherency(domain))
		return -EINVAL;
	paging->enforce_cache_coherency = true;
	return 0;
}

/*
 * Copy the name of @dev's IOMMU instance in /sys/class/iommu, or "", into
 * @hwpt: a copy, since the IOMMU's device can go (hot removal) while the
 * HWPT, with no device attached, stays.
 */
static void iommufd_iommu_name(struct iommufd_hw_pagetable *hwpt,
			       struct device *dev)
{
	struct iommu_device *iommu = dev->iommu ? dev->iommu->iommu_dev : NULL;

	strscpy(hwpt->iommu_name,
		iommu && iommu->dev ? dev_name(iommu->dev) : "");
}

/* Ask the driver for a domain: its domain_alloc_user if it has one */
static struct iommu_domain *
iommufd_alloc_domain(struct device *dev, u32 flags, struct iommu_domain *parent,
		     const struct iommu_user_data *user_data)
{
	const struct iommu_ops *ops = dev_iommu_ops(dev);
	struct iommu_domain *domain;

	if (!ops->domain_alloc_user) {
		if (flags || parent || user_data)
			return ERR_PTR(-EOPNOTSUPP);
		return iommu_paging_domain_alloc(dev);
	}

	domain = ops->domain_alloc_user(dev, flags, parent, user_data);
	if (IS_ERR(domain))
		return domain;
	if (WARN_ON_ONCE(!domain))
		return ERR_PTR(-ENOMEM);
	domain->owner = ops;
	return domain;
}

/**
 * iommufd_hwpt_paging_alloc() - make an unpublished HWPT_PAGING for an IOAS
 * @ictx: the context
 * @ioas: the IOAS to mirror
 * @idev: the device the domain must suit
 * @flags: IOMMU_HWPT_ALLOC_NEST_PARENT / IOMMU_HWPT_ALLOC_DIRTY_TRACKING
 * @auto_domain: made implicitly by an attach to @ioas
 * @user_data: driver-specific data, or NULL
 *
 * The domain is empty: iommufd_hwpt_paging_fill() fills it with every
 * mapping of @ioas before any device may attach, so that none ever sees an
 * incomplete translation; @idev is not needed for that. The caller
 * publishes the HWPT, or aborts it with iommufd_object_abort_and_destroy().
 *
 * Context: Process context.
 * Return: the HWPT, or an ERR_PTR.
 */
struct iommufd_hwpt_paging *
iommufd_hwpt_paging_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			  struct iommufd_device *idev, u32 flags,
			  bool auto_domain,
			  const struct iommu_user_data *user_data)
{
	struct iommufd_hwpt_paging *paging;
	struct iommu_domain *domain;
	int rc;

	if (flags & ~(IOMMU_HWPT_ALLOC_NEST_PARENT |
		      IOMMU_HWPT_ALLOC_DIRTY_TRACKING))
		return ERR_PTR(-EOPNOTSUPP);
	/*
	 * Drivers may leave it to us to refuse dirty tracking where the
	 * hardware has none (SMMUv3 without HTTU): a domain that accepted
	 * it would report no page dirty, ever.
	 */
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
	    !device_iommu_capable(idev->dev, IOMMU_CAP_DIRTY_TRACKING))
		return ERR_PTR(-EOPNOTSUPP);

	paging = iommufd_object_alloc(ictx, struct iommufd_hwpt_paging,
				      common.obj, IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(paging))
		return paging;
	INIT_LIST_HEAD(&paging->hwpt_item);
	iommufd_object_hold(&ioas->obj);
	paging->ioas = ioas;
	paging->auto_domain = auto_domain;
	paging->nest_parent = flags & IOMMU_HWPT_ALLOC_NEST_PARENT;

	domain = iommufd_alloc_domain(idev->dev, flags, NULL, user_data);
	if (IS_ERR(domain)) {
		rc = PTR_ERR(domain);
		goto err_abort;
	}
	paging->common.domain = domain;
	iommufd_iommu_name(&paging->common, idev->dev);
	if (WARN_ON_ONCE(!(domain->type & __IOMMU_DOMAIN_PAGING))) {
		rc = -EINVAL;
		goto err_abort;
	}

	/*
	 * Devices that need no-snoop blocked would refuse the domain later;
	 * enforce it now so the first attach cannot fail for that.
	 */
	if (idev->enforce_cache_coherency) {
		rc = iommufd_hwpt_paging_enforce_cc(paging);
		if (rc)
			goto err_abort;
	}
	return paging;

err_abort:
	iommufd_object_abort_and_destroy(ictx, &paging->common.obj);
	return ERR_PTR(rc);
}

/**
 * iommufd_hwpt_paging_fill() - make a new HWPT's domain mirror its IOAS
 * @paging: from iommufd_hwpt_paging_alloc(), unpublished
 *
 * Pins what the IOAS maps if nothing else has, which may take long: callers
 * holding a device from a user lookup drop it first, as its unbind waits
 * for them.
 *
 * Context: Process context.
 * Return: 0, or -errno with @paging to be aborted.
 */
int iommufd_hwpt_paging_fill(struct iommufd_hwpt_paging *paging)
{
	int rc;

	/* Or a second device could make a second one meanwhile */
	if (paging->auto_domain)
		lockdep_assert_held(&paging->ioas->mutex);

	rc = iopt_attach_domain(&paging->ioas->iopt, paging->common.domain);
	if (!rc)
		paging->in_iopt = true;
	trace_iommufd_domain_fill(paging->common.obj.id, paging->ioas->obj.id,
				  atomic_long_read(&paging->ioas->iopt.stat_areas),
				  atomic_long_read(&paging->ioas->iopt.stat_bytes),
				  rc);
	return rc;
}

/**
 * iommufd_hwpt_paging_list() - offer a filled auto domain to other devices
 * @paging: an auto domain, filled and attached, about to be published
 *
 * Devices attaching to the IOAS look for a domain to share in its list.
 *
 * Context: Process context, ioas->mutex held since @paging was allocated.
 */
void iommufd_hwpt_paging_list(struct iommufd_hwpt_paging *paging)
	__must_hold(&paging->ioas->mutex)
{
	lockdep_assert_held(&paging->ioas->mutex);
	list_add_tail(&paging->hwpt_item, &paging->ioas->hwpt_list);
}

/* Make an unpublished HWPT_NESTED on @parent */
static struct iommufd_hwpt_nested *
iommufd_hwpt_nested_alloc(struct iommufd_ctx *ictx, struct iommufd_device *idev,
			  struct iommufd_hwpt_paging *parent, u32 flags,
			  const struct iommu_user_data *user_data)
{
	struct iommufd_hwpt_nested *nested;
	struct iommu_domain *domain;
	int rc;

	if (flags || !user_data->len)
		return ERR_PTR(-EOPNOTSUPP);
	/*
	 * The driver takes the parent for a domain of its own type: one of
	 * another IOMMU driver (a device behind another IOMMU) is no parent.
	 */
	if (!parent->nest_parent ||
	    parent->common.domain->owner != dev_iommu_ops(idev->dev))
		return ERR_PTR(-EINVAL);

	nested = iommufd_object_alloc(ictx, struct iommufd_hwpt_nested,
				      common.obj, IOMMUFD_OBJ_HWPT_NESTED);
	if (IS_ERR(nested))
		return nested;
	iommufd_object_hold(&parent->common.obj);
	nested->parent = parent;

	domain = iommufd_alloc_domain(idev->dev, 0, parent->common.domain,
				      user_data);
	if (IS_ERR(domain)) {
		rc = PTR_ERR(domain);
		goto err_abort;
	}
	nested->common.domain = domain;
	iommufd_iommu_name(&nested->common, idev->dev);
	if (WARN_ON_ONCE(domain->type != IOMMU_DOMAIN_NESTED)) {
		rc = -EINVAL;
		goto err_abort;
	}
	return nested;

err_abort:
	iommufd_object_abort_and_destroy(ictx, &nested->common.obj);
	return ERR_PTR(rc);
}

/* Build the HWPT an IOMMU_HWPT_ALLOC asks for, unpublished */
static struct iommufd_hw_pagetable *
iommufd_hwpt_alloc_for(struct iommufd_ucmd *ucmd, struct iommufd_object *pt,
		       struct iommufd_device *idev)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	u32 flags = cmd->flags & ~IOMMU_HWPT_FAULT_ID_VALID;
	const struct iommu_user_data user_data = {
		.type = cmd->data_type,
		.len = cmd->data_len,
		.uptr = u64_to_user_ptr(cmd->data_uptr),
	};
	struct iommufd_hwpt_paging *paging;
	struct iommufd_hwpt_nested *nested;

	switch (pt->type) {
	case IOMMUFD_OBJ_IOAS:
		paging = iommufd_hwpt_paging_alloc(ucmd->ictx, to_ioas(pt), idev,
						   flags, false,
						   user_data.len ? &user_data : NULL);
		return IS_ERR(paging) ? ERR_CAST(paging) : &paging->common;
	case IOMMUFD_OBJ_HWPT_PAGING:
		nested = iommufd_hwpt_nested_alloc(ucmd->ictx, idev,
						   to_hwpt_paging(to_hwpt(pt)),
						   flags, &user_data);
		return IS_ERR(nested) ? ERR_CAST(nested) : &nested->common;
	default:
		return ERR_PTR(-EINVAL);
	}
}

/*
 * With IOMMU_HWPT_FAULT_ID_VALID, make a new nested HWPT report its I/O page
 * faults to the FAULT object cmd->fault_id. Paging HWPTs take no faults:
 * their mappings are all present.
 */
static int iommufd_hwpt_set_fault(struct iommufd_ucmd *ucmd,
				  struct iommufd_hw_pagetable *hwpt)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	struct iommufd_fault *fault;

	if (!(cmd->flags & IOMMU_HWPT_FAULT_ID_VALID))
		return 0;
	if (hwpt_is_paging(hwpt))
		return -EOPNOTSUPP;
	fault = iommufd_get_fault(ucmd, cmd->fault_id);
	if (IS_ERR(fault))
		return PTR_ERR(fault);
	iommufd_fault_hold(fault);
	hwpt->fault = fault;
	hwpt->domain->iopf_handler = iommufd_fault_iopf_handler;
	hwpt->domain->fault_data = hwpt;
	iommufd_fault_put(ucmd, fault);
	return 0;
}

int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	bool typed = cmd->data_type != IOMMU_HWPT_DATA_NONE;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_device *idev;
	struct iommufd_object *pt;
	int rc;

	if (cmd->flags & ~(IOMMU_HWPT_ALLOC_NEST_PARENT |
			   IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
			   IOMMU_HWPT_FAULT_ID_VALID) ||
	    cmd->__reserved || cmd->__reserved2)
		return -EOPNOTSUPP;
	/* Driver data comes with its type, and a type with its data */
	if (typed != !!cmd->data_len)
		return -EINVAL;

	idev = iommufd_get_device(ucmd, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	/* Anything but an IOAS or a HWPT_PAGING, even nothing, is -EINVAL */
	pt = iommufd_get_object(ictx, cmd->pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt)) {
		iommufd_put_object(ictx, &idev->obj);
		return -EINVAL;
	}

	hwpt = iommufd_hwpt_alloc_for(ucmd, pt, idev);
	/* The device's unbind waits for us: not while pinning memory */
	iommufd_put_object(ictx, &idev->obj);
	if (IS_ERR(hwpt)) {
		rc = PTR_ERR(hwpt);
		goto out_put_pt;
	}
	rc = 0;
	if (hwpt_is_paging(hwpt))
		rc = iommufd_hwpt_paging_fill(to_hwpt_paging(hwpt));
	if (!rc)
		rc = iommufd_hwpt_set_fault(ucmd, hwpt);
	if (!rc) {
		cmd->out_hwpt_id = hwpt->obj.id;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	if (rc)
		iommufd_object_abort_and_destroy(ictx, &hwpt->obj);
	else
		iommufd_object_publish(ictx, &hwpt->obj);
out_put_pt:
	iommufd_put_object(ictx, pt);
	return rc;
}

/* Sanity limits on an invalidation array, whatever the driver's format */
#define IOMMUFD_INVALIDATE_MAX_ENTRIES BIT(19)

/* Check an invalidation request and hand its entries to the driver */
static int iommufd_hwpt_invalidate_user(struct iommufd_ucmd *ucmd, u32 *done)
{
	struct iommu_hwpt_invalidate *cmd = ucmd->cmd;
	struct iommu_user_data_array data = {
		.type = cmd->data_type,
		.entry_num = cmd->entry_num,
		.entry_len = cmd->entry_len,
		.uptr = u64_to_user_ptr(cmd->data_uptr),
	};
	struct iommufd_hw_pagetable *hwpt;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->entry_num &&
	    (!cmd->data_uptr || !cmd->entry_len ||
	     cmd->entry_len > PAGE_SIZE ||
	     cmd->entry_num > IOMMUFD_INVALIDATE_MAX_ENTRIES))
		return -EINVAL;

	hwpt = iommufd_get_hwpt(ucmd->ictx, cmd->hwpt_id);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	if (hwpt_is_paging(hwpt)) {
		rc = -ENOENT;
	} else if (!hwpt->domain->ops->cache_invalidate_user) {
		rc = -EOPNOTSUPP;
	} else {
		/* Even for no entries: the driver still checks the type */
		rc = hwpt->domain->ops->cache_invalidate_user(hwpt->domain,
							      &data);
		*done = data.entry_num;
	}
	iommufd_put_hwpt(ucmd->ictx, hwpt);
	return rc;
}

/*
 * IOMMU_HWPT_INVALIDATE: the driver consumes entries in order until one
 * fails, and says how many it handled. That count goes back to userspace
 * however the call ends, so it knows where to resume.
 */
int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_invalidate *cmd = ucmd->cmd;
	u32 done = 0;
	int rc;

	rc = iommufd_hwpt_invalidate_user(ucmd, &done);
	cmd->entry_num = done;
	if (iommufd_ucmd_respond(ucmd, sizeof(*cmd)))
		rc = -EFAULT;
	return rc;
}

int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *paging;
	int rc;

	if (cmd->flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EOPNOTSUPP;

	paging = iommufd_get_hwpt_paging(ucmd->ictx, cmd->hwpt_id);
	if (IS_ERR(paging))
		return PTR_ERR(paging);
	rc = iopt_dirty_track(&paging->ioas->iopt,
			      paging->common.domain,
			      cmd->flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
	iommufd_put_hwpt(ucmd->ictx, &paging->common);
	return rc;
}

int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *paging;
	int rc;

	if (cmd->flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EOPNOTSUPP;

	paging = iommufd_get_hwpt_paging(ucmd->ictx, cmd->hwpt_id);
	if (IS_ERR(paging))
		return PTR_ERR(paging);
	rc = iopt_dirty_read(&paging->ioas->iopt,
			     paging->common.domain, cmd->flags,
			     cmd);
	iommufd_put_hwpt(ucmd->ictx, &paging->common);
	return rc;
}
