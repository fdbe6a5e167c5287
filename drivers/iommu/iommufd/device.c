// SPDX-License-Identifier: GPL-2.0-only
/*
 * device.c - DEVICE objects: devices their driver (VFIO) bound to a context.
 *
 * Binding claims DMA ownership of the device's iommu_group for the context,
 * so the kernel's own DMA API domain is gone and nothing else can attach it
 * behind our back. From then on the device is always either blocked or
 * attached to one of our HWPTs.
 *
 * The IOMMU translates per group, not per device, so all devices of one
 * group that are bound to a context share a struct iommufd_group, and they
 * all attach to the same HWPT: the first attach of a group does the real
 * attach (iommu_attach_group_handle(), so I/O page faults can find their
 * way back to us), the last detach undoes it.
 *
 * Attaching to an IOAS instead of a HWPT picks a HWPT the kernel manages
 * (an "auto domain"): one already made for that IOAS if the device can use
 * it, or a new one, filled with every mapping of the IOAS before any device
 * uses it, so there is never a window without translation. It goes away
 * with the last device. Replace moves an attached group to another HWPT in
 * one step with iommu_replace_group_handle(), and puts everything back if
 * that fails.
 */
#define pr_fmt(fmt) "iommufd: " fmt

#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/msi.h>
#include <linux/pci.h>
#include <linux/pci-ats.h>
#include <linux/slab.h>

#include "../iommu-priv.h"
#include "iommufd_private.h"
#include "iommufd_trace.h"

static bool allow_unsafe_interrupts;
module_param(allow_unsafe_interrupts, bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "Allow binding devices whose MSIs the platform cannot isolate: they could then raise other interrupts with plain DMA writes");

static void iommufd_group_release(struct kref *kref)
{
	struct iommufd_group *igroup =
		container_of(kref, struct iommufd_group, ref);

	WARN_ON_ONCE(igroup->hwpt || !list_empty(&igroup->devices));
	xa_cmpxchg(&igroup->ictx->groups, iommu_group_id(igroup->group),
		   igroup, NULL, GFP_KERNEL);
	iommu_group_put(igroup->group);
	mutex_destroy(&igroup->lock);
	kfree(igroup);
}

static void iommufd_put_group(struct iommufd_group *igroup)
{
	kref_put(&igroup->ref, iommufd_group_release);
}

/* A reference on an existing iommufd_group for @group, or a new one */
static struct iommufd_group *iommufd_get_group(struct iommufd_ctx *ictx,
					       struct iommu_group *group)
{
	unsigned int id = iommu_group_id(group);
	struct iommufd_group *igroup, *cur;

	xa_lock(&ictx->groups);
	igroup = xa_load(&ictx->groups, id);
	if (igroup && kref_get_unless_zero(&igroup->ref)) {
		xa_unlock(&ictx->groups);
		return igroup;
	}
	xa_unlock(&ictx->groups);

	igroup = kzalloc(sizeof(*igroup), GFP_KERNEL);
	if (!igroup)
		return ERR_PTR(-ENOMEM);
	igroup->group = group;
	igroup->ictx = ictx;
	igroup->sw_msi_start = PHYS_ADDR_MAX;
	INIT_LIST_HEAD(&igroup->devices);
	mutex_init(&igroup->lock);
	kref_init(&igroup->ref);

	/*
	 * Install it, unless a racing bind got there first (take theirs) or a
	 * dying one is still in the slot (replace it: its release only
	 * removes the slot if it still holds itself).
	 */
	xa_lock(&ictx->groups);
	cur = xa_load(&ictx->groups, id);
	if (cur && kref_get_unless_zero(&cur->ref)) {
		xa_unlock(&ictx->groups);
		mutex_destroy(&igroup->lock);
		kfree(igroup);
		return cur;
	}
	cur = __xa_store(&ictx->groups, id, igroup, GFP_KERNEL);
	xa_unlock(&ictx->groups);
	if (xa_is_err(cur)) {
		mutex_destroy(&igroup->lock);
		kfree(igroup);
		return ERR_PTR(xa_err(cur));
	}
	iommu_group_ref_get(group);
	return igroup;
}

/*
 * May @dev be bound at all? We always map cacheable, so the IOMMU must be
 * able to honour that. And a device that can trigger arbitrary interrupts
 * with DMA writes could attack the host, unless the admin accepts that risk.
 */
static int iommufd_device_check(struct device *dev, struct iommu_group *group)
{
	if (!device_iommu_capable(dev, IOMMU_CAP_CACHE_COHERENCY))
		return -EINVAL;
	if (iommufd_selftest_is_mock_dev(dev) ||
	    iommu_group_has_isolated_msi(group))
		return 0;
	if (!allow_unsafe_interrupts) {
		dev_warn(dev,
			 "MSI isolation unavailable: not binding (see the allow_unsafe_interrupts parameter)\n");
		return -EPERM;
	}
	dev_warn(dev, "binding with unsafe interrupts allowed by the admin\n");
	return 0;
}

/* A new, unpublished DEVICE object for @dev, holding its iommufd_group */
static struct iommufd_device *iommufd_device_new(struct iommufd_ctx *ictx,
						 struct device *dev,
						 struct iommu_group *group)
{
	struct iommufd_group *igroup;
	struct iommufd_device *idev;

	igroup = iommufd_get_group(ictx, group);
	if (IS_ERR(igroup))
		return ERR_CAST(igroup);
	idev = iommufd_object_alloc(ictx, struct iommufd_device, obj,
				    IOMMUFD_OBJ_DEVICE);
	if (IS_ERR(idev)) {
		iommufd_put_group(igroup);
		return idev;
	}
	INIT_LIST_HEAD(&idev->group_item);
	idev->enforce_cache_coherency =
		device_iommu_capable(dev, IOMMU_CAP_ENFORCE_CACHE_COHERENCY);
	idev->dev = dev;
	idev->igroup = igroup;
	idev->ictx = ictx;
	return idev;
}

/* Check @dev, take DMA ownership of it for @ictx and make its object */
static struct iommufd_device *iommufd_device_claim(struct iommufd_ctx *ictx,
						   struct device *dev,
						   struct iommu_group *group)
{
	struct iommufd_device *idev;
	int rc;

	rc = iommufd_device_check(dev, group);
	if (rc)
		return ERR_PTR(rc);
	rc = iommu_device_claim_dma_owner(dev, ictx);
	if (rc)
		return ERR_PTR(rc);
	idev = iommufd_device_new(ictx, dev, group);
	if (IS_ERR(idev))
		iommu_device_release_dma_owner(dev);
	return idev;
}

/**
 * iommufd_device_bind() - bind a device to a context
 * @ictx: the context
 * @dev: a device behind an IOMMU, not in use by a kernel driver for DMA
 * @id: out: the ID of the new DEVICE object
 *
 * Claims DMA ownership of the device's group for @ictx; other devices of the
 * group can only be bound to the same context. The device starts out
 * blocked. The caller owns the object and must end it with
 * iommufd_device_unbind(), which userspace cannot do for it. Until then
 * the device holds a reference on @ictx of its own: the binding driver
 * need not keep one (VFIO's group path drops the container's on
 * VFIO_GROUP_UNSET_CONTAINER or on the close of the group, whatever device
 * fds are still open).
 *
 * Context: Process context.
 * Return: the device, or ERR_PTR: -ENODEV without an IOMMU group, -EINVAL
 * if the IOMMU cannot keep its DMA cache coherent, -EPERM without MSI
 * isolation, -EBUSY if the group is owned elsewhere, -ENOMEM.
 */
struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx,
					   struct device *dev, u32 *id)
{
	struct iommufd_device *idev;
	struct iommu_group *group;

	group = iommu_group_get(dev);
	if (!group)
		return ERR_PTR(-ENODEV);
	/* Only needed while binding: the iommufd_group holds its own */
	idev = iommufd_device_claim(ictx, dev, group);
	iommu_group_put(group);
	if (IS_ERR(idev))
		return idev;

	/* The binding driver's reference: only unbind ends the device */
	iommufd_object_hold(&idev->obj);
	/*
	 * The selftest's mock devices are objects of the very context they
	 * are bound to, and unbound by its release: a reference of theirs
	 * would keep the file from ever being released.
	 */
	idev->holds_ictx = !iommufd_selftest_is_mock_dev(dev);
	if (idev->holds_ictx)
		iommufd_ctx_get(ictx);
	*id = idev->obj.id;
	iommufd_object_publish(ictx, &idev->obj);
	return idev;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_bind, IOMMUFD);

/**
 * iommufd_device_to_id() - the object ID of a bound device
 * @idev: the device
 *
 * Return: the ID userspace knows it by.
 */
u32 iommufd_device_to_id(struct iommufd_device *idev)
{
	return idev->obj.id;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_to_id, IOMMUFD);

/**
 * iommufd_device_to_ictx() - the context a device is bound to
 * @idev: the device
 *
 * Return: the context.
 */
struct iommufd_ctx *iommufd_device_to_ictx(struct iommufd_device *idev)
{
	return idev->ictx;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_to_ictx, IOMMUFD);

void iommufd_device_destroy(struct iommufd_object *obj)
{
	struct iommufd_device *idev =
		container_of(obj, struct iommufd_device, obj);

	/* The driver detaches before unbinding; be safe if it did not */
	if (WARN_ON_ONCE(!list_empty(&idev->group_item)))
		iommufd_device_detach(idev);
	iommu_device_release_dma_owner(idev->dev);
	iommufd_put_group(idev->igroup);
}

/**
 * iommufd_device_unbind() - undo iommufd_device_bind()
 * @idev: a detached device
 *
 * Context: Process context. Waits for ioctls using the device to finish.
 */
void iommufd_device_unbind(struct iommufd_device *idev)
{
	struct iommufd_ctx *ictx = idev->ictx;
	bool holds_ictx = idev->holds_ictx;

	iommufd_object_remove_owned(ictx, &idev->obj);
	/* Last: this may be what releases the context */
	if (holds_ictx)
		iommufd_ctx_put(ictx);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_unbind, IOMMUFD);

/**
 * iommufd_ctx_has_group() - is a device of this group bound to the context?
 * @ictx: the context
 * @group: the group
 *
 * Context: Any context.
 * Return: true if so.
 */
bool iommufd_ctx_has_group(struct iommufd_ctx *ictx, struct iommu_group *group)
{
	struct iommufd_group *igroup;
	bool found;

	if (!ictx || !group)
		return false;
	xa_lock(&ictx->groups);
	igroup = xa_load(&ictx->groups, iommu_group_id(group));
	found = igroup && igroup->group == group;
	xa_unlock(&ictx->groups);
	return found;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_has_group, IOMMUFD);

static struct iommufd_hwpt_paging *
iommufd_hwpt_paging_of(struct iommufd_hw_pagetable *hwpt)
{
	if (hwpt_is_paging(hwpt))
		return to_hwpt_paging(hwpt);
	return to_hwpt_nested(hwpt)->parent;
}

/* Reserve the IOVA @idev cannot use in @iopt */
static int iommufd_device_reserve_iova(struct iommufd_device *idev,
				       struct io_pagetable *iopt)
{
	return iopt_reserve_dev_regions(iopt, idev->dev,
						   &idev->igroup->sw_msi_start);
}

static void iommufd_device_unreserve_iova(struct iommufd_device *idev,
					  struct iommufd_hw_pagetable *hwpt)
{
	struct io_pagetable *iopt = &iommufd_hwpt_paging_of(hwpt)->ioas->iopt;

	iopt_unreserve_owner(iopt, idev->dev);
}

/*
 * Make the IOVA that devices cannot use reserved in the IOAS of @hwpt: for
 * @idev only, or for every device of the group if @idev is NULL.
 */
static int iommufd_group_reserve_iova(struct iommufd_group *igroup,
				      struct iommufd_device *idev,
				      struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_hwpt_paging *paging = iommufd_hwpt_paging_of(hwpt);
	struct io_pagetable *iopt = &paging->ioas->iopt;
	struct iommufd_device *cur;
	int rc;

	lockdep_assert_held(&igroup->lock);

	if (idev)
		return iommufd_device_reserve_iova(idev, iopt);

	list_for_each_entry(cur, &igroup->devices, group_item) {
		rc = iommufd_device_reserve_iova(cur, iopt);
		if (rc)
			goto err_remove;
	}
	return 0;

err_remove:
	list_for_each_entry(cur, &igroup->devices, group_item)
		iopt_unreserve_owner(iopt, cur->dev);
	return rc;
}

/*
 * Give the domain of @hwpt the software MSI window the group's devices
 * need, once per domain. Platforms with a hardware MSI window (VT-d,
 * AMD-Vi) have none.
 */
static int iommufd_group_setup_msi(struct iommufd_group *igroup,
				   struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_hwpt_paging *paging = iommufd_hwpt_paging_of(hwpt);
	int rc;

	lockdep_assert_held(&igroup->lock);

	if (igroup->sw_msi_start == PHYS_ADDR_MAX || paging->msi_cookie)
		return 0;
	rc = iommu_get_msi_cookie(paging->common.domain, igroup->sw_msi_start);
	if (rc)
		return rc;
	paging->msi_cookie = true;
	return 0;
}

/* Reserve @idev's IOVA in the IOAS of @hwpt and set up its MSI window */
static int iommufd_group_setup_iova(struct iommufd_group *igroup,
				    struct iommufd_device *idev,
				    struct iommufd_hw_pagetable *hwpt)
{
	int rc;

	rc = iommufd_group_reserve_iova(igroup, idev, hwpt);
	if (rc)
		return rc;
	rc = iommufd_group_setup_msi(igroup, hwpt);
	if (rc)
		iommufd_device_unreserve_iova(idev, hwpt);
	return rc;
}

static void iommufd_group_remove_iova(struct iommufd_group *igroup,
				      struct iommufd_hw_pagetable *hwpt)
{
	struct io_pagetable *iopt = &iommufd_hwpt_paging_of(hwpt)->ioas->iopt;
	struct iommufd_device *idev;

	list_for_each_entry(idev, &igroup->devices, group_item)
		iopt_unreserve_owner(iopt, idev->dev);
}

/* Can @idev use @hwpt at all? */
static int iommufd_device_hwpt_compatible(struct iommufd_device *idev,
					  struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_hwpt_paging *paging = iommufd_hwpt_paging_of(hwpt);

	if (idev->enforce_cache_coherency)
		return iommufd_hwpt_paging_enforce_cc(paging);
	return 0;
}

/* Turn I/O page fault reporting on or off for @idev */
static int iommufd_device_set_iopf(struct iommufd_device *idev, bool on)
{
	int rc;

	lockdep_assert_held(&idev->igroup->lock);

	if (on == idev->iopf_enabled)
		return 0;
	if (on) {
		rc = iommu_dev_enable_feature(idev->dev, IOMMU_DEV_FEAT_IOPF);
		if (rc)
			return rc;
	} else {
		iommu_dev_disable_feature(idev->dev, IOMMU_DEV_FEAT_IOPF);
	}
	idev->iopf_enabled = on;
	return 0;
}

/*
 * Retire the handle of an attachment the group has left. Faults of a
 * fault-capable HWPT may still be in the IOMMU driver's queue: flush them
 * into ours first, then answer whatever came through this attachment.
 */
static void iommufd_group_retire_handle(struct iommufd_group *igroup,
					struct iommufd_device *left,
					struct iommufd_hw_pagetable *hwpt,
					struct iommufd_attach_handle *handle)
{
	struct iommufd_device *cur;

	lockdep_assert_held(&igroup->lock);

	if (hwpt->fault) {
		if (left && left->iopf_enabled)
			iopf_queue_flush_dev(left->dev);
		list_for_each_entry(cur, &igroup->devices, group_item)
			if (cur->iopf_enabled)
				iopf_queue_flush_dev(cur->dev);
		iommufd_fault_forget_handle(hwpt->fault, &handle->handle);
	}
	kfree(handle);
}

/*
 * A fresh handle for attaching a group: every attachment gets its own, so
 * faults stay with the attachment they came through. @dev_id is reported
 * with the faults.
 */
static struct iommufd_attach_handle *iommufd_attach_handle_new(u32 dev_id)
{
	struct iommufd_attach_handle *handle;

	handle = kzalloc(sizeof(*handle), GFP_KERNEL_ACCOUNT);
	if (handle)
		handle->dev_id = dev_id;
	return handle;
}

/* The first device of a group attaches the whole group to @hwpt */
static int iommufd_group_attach(struct iommufd_group *igroup,
				struct iommufd_device *idev,
				struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_attach_handle *handle;
	int rc;

	handle = iommufd_attach_handle_new(idev->obj.id);
	if (!handle)
		return -ENOMEM;

	rc = iommufd_device_set_iopf(idev, !!hwpt->fault);
	if (rc)
		goto err_free;
	rc = iommu_attach_group_handle(hwpt->domain, igroup->group,
				       &handle->handle);
	if (rc)
		goto err_iopf;
	igroup->hwpt = hwpt;
	igroup->handle = handle;
	return 0;

err_iopf:
	iommufd_device_set_iopf(idev, false);
err_free:
	kfree(handle);
	return rc;
}

/* Attach @idev to @hwpt; the group follows if it is its first device */
static int iommufd_device_do_attach(struct iommufd_device *idev,
				    struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_group *igroup = idev->igroup;
	int rc;

	mutex_lock(&igroup->lock);
	if (!list_empty(&idev->group_item) ||
	    (igroup->hwpt && igroup->hwpt != hwpt)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	rc = iommufd_device_hwpt_compatible(idev, hwpt);
	if (rc)
		goto out_unlock;

	rc = iommufd_group_setup_iova(igroup, idev, hwpt);
	if (rc)
		goto out_unlock;
	/* The first device takes the group along; the others just join */
	if (!igroup->hwpt)
		rc = iommufd_group_attach(igroup, idev, hwpt);
	else
		rc = iommufd_device_set_iopf(idev, !!hwpt->fault);
	if (rc) {
		iommufd_device_unreserve_iova(idev, hwpt);
		goto out_unlock;
	}
	iommufd_object_hold(&hwpt->obj);
	list_add_tail(&idev->group_item, &igroup->devices);
	atomic_inc(&hwpt->stat_devices);
	WRITE_ONCE(idev->attached_id, hwpt->obj.id);
out_unlock:
	mutex_unlock(&igroup->lock);
	return rc;
}

/*
 * What to do with a device and a HWPT of an IOAS: attach, or replace.
 * Returns 0, -EINVAL if the HWPT cannot serve the device (another may), or
 * another error.
 */
typedef int (*iommufd_auto_op)(struct iommufd_device *idev,
			       struct iommufd_hw_pagetable *hwpt, void *arg);

/*
 * Attach or replace @idev onto @ioas with @op: onto the first auto domain
 * of the IOAS that suits the device, else onto a new one, filled before
 * anything is attached to it and published once something is. Returns the
 * HWPT used.
 */
static struct iommufd_hw_pagetable *
iommufd_device_auto_domain(struct iommufd_device *idev,
			   struct iommufd_ioas *ioas, iommufd_auto_op op,
			   void *arg)
{
	struct iommufd_hwpt_paging *paging;
	int rc;

	mutex_lock(&ioas->mutex);
	list_for_each_entry(paging, &ioas->hwpt_list, hwpt_item) {
		/* Being destroyed by userspace: not ours to use */
		if (!refcount_inc_not_zero(&paging->common.obj.active))
			continue;
		rc = op(idev, &paging->common, arg);
		iommufd_put_object(idev->ictx, &paging->common.obj);
		if (rc == -EINVAL)
			continue;
		mutex_unlock(&ioas->mutex);
		return rc ? ERR_PTR(rc) : &paging->common;
	}

	paging = iommufd_hwpt_paging_alloc(idev->ictx, ioas, idev, 0, true,
					   NULL);
	if (IS_ERR(paging)) {
		rc = PTR_ERR(paging);
		goto out_unlock;
	}
	rc = iommufd_hwpt_paging_fill(paging);
	if (!rc)
		rc = op(idev, &paging->common, arg);
	if (rc) {
		iommufd_object_abort_and_destroy(idev->ictx,
						 &paging->common.obj);
		goto out_unlock;
	}
	iommufd_hwpt_paging_list(paging);
	iommufd_object_publish(idev->ictx, &paging->common.obj);
	mutex_unlock(&ioas->mutex);
	return &paging->common;

out_unlock:
	mutex_unlock(&ioas->mutex);
	return ERR_PTR(rc);
}

static int iommufd_device_attach_op(struct iommufd_device *idev,
				    struct iommufd_hw_pagetable *hwpt, void *arg)
{
	return iommufd_device_do_attach(idev, hwpt);
}

/* The object @pt_id names: an IOAS or a HWPT, held short-term */
static struct iommufd_object *iommufd_get_pt(struct iommufd_ctx *ictx,
					     u32 pt_id)
{
	struct iommufd_object *obj;

	obj = iommufd_get_object(ictx, pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(obj))
		return obj;
	switch (obj->type) {
	case IOMMUFD_OBJ_IOAS:
	case IOMMUFD_OBJ_HWPT_PAGING:
	case IOMMUFD_OBJ_HWPT_NESTED:
		return obj;
	default:
		iommufd_put_object(ictx, obj);
		return ERR_PTR(-EINVAL);
	}
}

/**
 * iommufd_device_attach() - attach a detached device to an IOAS or a HWPT
 * @idev: the device
 * @pt_id: in: ID of an IOAS or a HWPT; out: ID of the HWPT used
 *
 * For an IOAS the kernel picks or makes a HWPT. Other devices of the group
 * already attached decide: the device must attach to the same HWPT.
 *
 * Context: Process context.
 * Return: 0; -ENOENT or -EINVAL for a bad ID; -EINVAL if already attached
 * or the group is attached elsewhere or the HWPT cannot serve the device;
 * -EADDRINUSE if the device's reserved IOVA is already mapped; or an error
 * from the IOMMU driver.
 */
int iommufd_device_attach(struct iommufd_device *idev, u32 *pt_id)
{
	struct iommufd_hw_pagetable *hwpt = NULL;
	struct iommufd_object *pt;
	int rc = 0;

	pt = iommufd_get_pt(idev->ictx, *pt_id);
	if (IS_ERR(pt)) {
		rc = PTR_ERR(pt);
		goto out_trace;
	}

	if (pt->type == IOMMUFD_OBJ_IOAS) {
		hwpt = iommufd_device_auto_domain(idev, to_ioas(pt),
						  iommufd_device_attach_op, NULL);
		if (IS_ERR(hwpt))
			rc = PTR_ERR(hwpt);
	} else {
		hwpt = to_hwpt(pt);
		rc = iommufd_device_do_attach(idev, hwpt);
	}
	iommufd_put_object(idev->ictx, pt);
out_trace:
	trace_iommufd_attach(idev->obj.id, *pt_id, rc ? 0 : hwpt->obj.id, rc);
	if (!rc)
		*pt_id = hwpt->obj.id;
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_attach, IOMMUFD);

/* Switch the group's attachment to @hwpt, with a new handle */
static int iommufd_group_switch(struct iommufd_group *igroup,
				struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_hw_pagetable *old = igroup->hwpt;
	struct iommufd_attach_handle *handle, *old_handle;
	struct iommufd_device *cur;
	int rc;

	handle = iommufd_attach_handle_new(igroup->handle->dev_id);
	if (!handle)
		return -ENOMEM;

	/* Fault reporting must be on before a fault-capable domain is in */
	list_for_each_entry(cur, &igroup->devices, group_item) {
		rc = iommufd_device_set_iopf(cur, hwpt->fault || old->fault);
		if (rc)
			goto err_iopf;
	}
	rc = iommu_replace_group_handle(igroup->group, hwpt->domain,
					&handle->handle);
	if (rc)
		goto err_iopf;

	old_handle = igroup->handle;
	igroup->hwpt = hwpt;
	igroup->handle = handle;
	iommufd_group_retire_handle(igroup, NULL, old, old_handle);
	list_for_each_entry(cur, &igroup->devices, group_item)
		iommufd_device_set_iopf(cur, !!hwpt->fault);
	return 0;

err_iopf:
	list_for_each_entry(cur, &igroup->devices, group_item)
		iommufd_device_set_iopf(cur, !!old->fault);
	kfree(handle);
	return rc;
}

/*
 * Move the whole group of @idev from its HWPT to @hwpt. The old HWPT is
 * returned, with *@nrefs references the group's devices held on it for the
 * caller to drop.
 */
static struct iommufd_hw_pagetable *
iommufd_group_do_replace(struct iommufd_device *idev,
			 struct iommufd_hw_pagetable *hwpt,
			 unsigned int *nrefs)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_hw_pagetable *old;
	struct iommufd_device *cur;
	bool same_ioas;
	int rc;

	mutex_lock(&igroup->lock);
	old = igroup->hwpt;
	if (list_empty(&idev->group_item)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (old == hwpt) {
		mutex_unlock(&igroup->lock);
		return NULL;
	}
	list_for_each_entry(cur, &igroup->devices, group_item) {
		rc = iommufd_device_hwpt_compatible(cur, hwpt);
		if (rc)
			goto out_unlock;
	}

	same_ioas = iommufd_hwpt_paging_of(old)->ioas ==
		    iommufd_hwpt_paging_of(hwpt)->ioas;
	if (!same_ioas) {
		rc = iommufd_group_reserve_iova(igroup, NULL, hwpt);
		if (rc)
			goto out_unlock;
	}
	/* Every new domain needs the MSI window, same IOAS or not */
	rc = iommufd_group_setup_msi(igroup, hwpt);
	if (!rc)
		rc = iommufd_group_switch(igroup, hwpt);
	if (rc) {
		if (!same_ioas)
			iommufd_group_remove_iova(igroup, hwpt);
		goto out_unlock;
	}
	if (!same_ioas)
		iommufd_group_remove_iova(igroup, old);

	*nrefs = 0;
	list_for_each_entry(cur, &igroup->devices, group_item) {
		iommufd_object_hold(&hwpt->obj);
		WRITE_ONCE(cur->attached_id, hwpt->obj.id);
		(*nrefs)++;
	}
	atomic_sub(*nrefs, &old->stat_devices);
	atomic_add(*nrefs, &hwpt->stat_devices);
	mutex_unlock(&igroup->lock);
	return old;

out_unlock:
	mutex_unlock(&igroup->lock);
	return ERR_PTR(rc);
}

/*
 * Drop the @nrefs references the group's devices held on @hwpt, which they
 * left, and end it if it is an auto domain nobody uses any more. From the
 * moment the references are gone, userspace may destroy the HWPT by its
 * ID: whether it is an auto domain is read before, and for one the
 * references go in the same step that finds it idle.
 */
static void iommufd_group_put_hwpt(struct iommufd_group *igroup,
				   struct iommufd_hw_pagetable *hwpt,
				   unsigned int nrefs)
{
	lockdep_assert_not_held(&igroup->lock);

	if (hwpt_is_paging(hwpt) && to_hwpt_paging(hwpt)->auto_domain) {
		iommufd_object_unhold_reap(igroup->ictx, &hwpt->obj, nrefs);
		return;
	}
	while (nrefs--)
		iommufd_object_unhold(&hwpt->obj);
}

/* What a replace leaves to drop: the old HWPT and the group's refs on it */
struct iommufd_replaced {
	struct iommufd_hw_pagetable *old;
	unsigned int nrefs;
};

/* iommufd_group_do_replace() as an iommufd_auto_op */
static int iommufd_device_replace_op(struct iommufd_device *idev,
				     struct iommufd_hw_pagetable *hwpt,
				     void *arg)
{
	struct iommufd_replaced *replaced = arg;
	struct iommufd_hw_pagetable *old;

	old = iommufd_group_do_replace(idev, hwpt, &replaced->nrefs);
	if (IS_ERR(old))
		return PTR_ERR(old);
	/* NULL: the group is on @hwpt already, nothing changes */
	replaced->old = old;
	return 0;
}

/**
 * iommufd_device_replace() - move an attached device to another IOAS or HWPT
 * @idev: the device
 * @pt_id: in: ID of an IOAS or a HWPT; out: ID of the HWPT used
 *
 * The whole group moves in one step, without a window in which its DMA is
 * untranslated or blocked. On failure it stays where it was.
 *
 * Context: Process context.
 * Return: as iommufd_device_attach(); -EINVAL if not attached.
 */
int iommufd_device_replace(struct iommufd_device *idev, u32 *pt_id)
{
	struct iommufd_replaced replaced = {};
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_object *pt;
	u32 old_id;
	int rc = 0;

	old_id = READ_ONCE(idev->attached_id);
	pt = iommufd_get_pt(idev->ictx, *pt_id);
	if (IS_ERR(pt)) {
		trace_iommufd_replace(idev->obj.id, *pt_id, old_id, 0,
				      PTR_ERR(pt));
		return PTR_ERR(pt);
	}

	if (pt->type == IOMMUFD_OBJ_IOAS) {
		hwpt = iommufd_device_auto_domain(idev, to_ioas(pt),
						  iommufd_device_replace_op,
						  &replaced);
		if (IS_ERR(hwpt))
			rc = PTR_ERR(hwpt);
	} else {
		hwpt = to_hwpt(pt);
		rc = iommufd_device_replace_op(idev, hwpt, &replaced);
	}
	trace_iommufd_replace(idev->obj.id, *pt_id,
			      replaced.old ? replaced.old->obj.id : old_id,
			      rc ? 0 : hwpt->obj.id, rc);
	if (!rc)
		*pt_id = hwpt->obj.id;
	iommufd_put_object(idev->ictx, pt);
	if (replaced.old)
		iommufd_group_put_hwpt(idev->igroup, replaced.old,
				       replaced.nrefs);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_replace, IOMMUFD);

/**
 * iommufd_device_detach() - detach an attached device
 * @idev: the device
 *
 * The last device of a group to leave blocks the group's DMA again. An auto
 * domain nobody uses any more is destroyed.
 *
 * Context: Process context.
 */
void iommufd_device_detach(struct iommufd_device *idev)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_hw_pagetable *hwpt;

	mutex_lock(&igroup->lock);
	hwpt = igroup->hwpt;
	if (WARN_ON_ONCE(!hwpt || list_empty(&idev->group_item))) {
		mutex_unlock(&igroup->lock);
		return;
	}
	list_del_init(&idev->group_item);
	atomic_dec(&hwpt->stat_devices);
	WRITE_ONCE(idev->attached_id, 0);
	trace_iommufd_detach(idev->obj.id, hwpt->obj.id);
	if (list_empty(&igroup->devices)) {
		iommu_detach_group_handle(hwpt->domain, igroup->group);
		iommufd_group_retire_handle(igroup, idev, hwpt, igroup->handle);
		igroup->handle = NULL;
		igroup->hwpt = NULL;
	}
	iommufd_device_set_iopf(idev, false);
	iommufd_device_unreserve_iova(idev, hwpt);
	mutex_unlock(&igroup->lock);

	iommufd_group_put_hwpt(igroup, hwpt, 1);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_detach, IOMMUFD);

/*
 * IOMMU_GET_HW_INFO: the generic capabilities of the IOMMU behind a device,
 * and its driver's own info struct.
 */
static u64 iommufd_hw_capabilities(struct iommufd_device *idev)
{
	u64 caps = 0;

	if (device_iommu_capable(idev->dev, IOMMU_CAP_DIRTY_TRACKING))
		caps |= IOMMU_HW_CAP_DIRTY_TRACKING;
	return caps;
}

/* PASID width and PASID capabilities of a PCI device with PASID enabled */
static void iommufd_hw_info_pasid(struct iommufd_device *idev,
				  struct iommu_hw_info *cmd)
{
	unsigned int max_pasids = idev->dev->iommu ?
					  idev->dev->iommu->max_pasids : 0;

	cmd->out_max_pasid_log2 = max_pasids ? ilog2(max_pasids) : 0;
	if (!cmd->out_max_pasid_log2 || !dev_is_pci(idev->dev))
		return;
#ifdef CONFIG_PCI_PASID
	{
		int features = pci_pasid_features(to_pci_dev(idev->dev));

		if (features & PCI_PASID_CAP_EXEC)
			cmd->out_capabilities |= IOMMU_HW_CAP_PCI_PASID_EXEC;
		if (features & PCI_PASID_CAP_PRIV)
			cmd->out_capabilities |= IOMMU_HW_CAP_PCI_PASID_PRIV;
	}
#endif
}

/* Copy the driver's info to the user buffer, zero-filling the rest */
static int iommufd_hw_info_copy(struct iommu_hw_info *cmd, void *data,
				u32 data_len)
{
	void __user *uptr = u64_to_user_ptr(cmd->data_uptr);
	u32 copy = min(cmd->data_len, data_len);

	if (copy && copy_to_user(uptr, data, copy))
		return -EFAULT;
	if (cmd->data_len > copy &&
	    clear_user(uptr + copy, cmd->data_len - copy))
		return -EFAULT;
	cmd->data_len = data_len;
	return 0;
}

/*
 * Fill @cmd for @idev, but for the driver's own info, which *@data gets
 * (kfree() it) with its length in *@len: the caller copies it to the user
 * buffer once it has let go of the device.
 */
static int iommufd_hw_info_gather(struct iommu_hw_info *cmd,
				  struct iommufd_device *idev, void **data,
				  u32 *len)
{
	const struct iommu_ops *ops = dev_iommu_ops(idev->dev);
	u32 type = IOMMU_HW_INFO_TYPE_NONE;

	*data = NULL;
	*len = 0;
	if (ops->hw_info) {
		*data = ops->hw_info(idev->dev, len, &type);
		if (IS_ERR(*data))
			return PTR_ERR(*data);
	}
	/* A specific type was asked for: only the driver's own qualifies */
	if (cmd->in_data_type != IOMMU_HW_INFO_TYPE_DEFAULT &&
	    cmd->in_data_type != type) {
		kfree(*data);
		*data = NULL;
		return -EOPNOTSUPP;
	}
	cmd->out_data_type = type;
	cmd->out_capabilities = iommufd_hw_capabilities(idev);
	iommufd_hw_info_pasid(idev, cmd);
	return 0;
}

int iommufd_get_hw_info(struct iommufd_ucmd *ucmd)
{
	struct iommu_hw_info *cmd = ucmd->cmd;
	struct iommufd_device *idev;
	void *data;
	u32 len;
	int rc;

	if (cmd->flags & ~IOMMU_HW_INFO_FLAG_INPUT_TYPE)
		return -EOPNOTSUPP;
	if (cmd->__reserved[0] || cmd->__reserved[1] || cmd->__reserved[2])
		return -EOPNOTSUPP;
	if (!(cmd->flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE))
		cmd->in_data_type = IOMMU_HW_INFO_TYPE_DEFAULT;

	idev = iommufd_get_device(ucmd, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	rc = iommufd_hw_info_gather(cmd, idev, &data, &len);
	/* Unbind waits for us: never while user memory may fault */
	iommufd_put_object(ucmd->ictx, &idev->obj);
	if (rc)
		return rc;
	rc = iommufd_hw_info_copy(cmd, data, len);
	kfree(data);
	if (!rc)
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	return rc;
}
