/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The in-kernel face of iommufd.
 *
 * Two kinds of kernel users talk to an iommufd context:
 *
 *  - drivers of real DMA-capable devices (VFIO's PCI, platform and CDX
 *    drivers) bind a struct device to a context and attach it to an IOAS or
 *    a hardware page table by ID;
 *  - drivers of emulated or mediated devices (mdev, s390 CCW/AP, i915 GVT)
 *    create an "access": a view of an IOAS through which they pin guest
 *    pages or copy to and from them with the CPU.
 *
 * VFIO's container emulation uses a few more calls, grouped at the end. The
 * functions are documented where they are defined, under
 * drivers/iommu/iommufd/.
 */
#ifndef __LINUX_IOMMUFD_H
#define __LINUX_IOMMUFD_H

#include <linux/err.h>
#include <linux/errno.h>
#include <linux/types.h>

struct iommufd_ctx;

/*
 * Contexts. A driver that got a context from a file or a descriptor holds
 * a reference on it until iommufd_ctx_put().
 */
void iommufd_ctx_get(struct iommufd_ctx *ictx);

/* Devices with a real IOMMU behind them */
struct device;
struct iommufd_device;

struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx,
					   struct device *dev, u32 *id);
void iommufd_device_unbind(struct iommufd_device *idev);
u32 iommufd_device_to_id(struct iommufd_device *idev);
struct iommufd_ctx *iommufd_device_to_ictx(struct iommufd_device *idev);
int iommufd_device_attach(struct iommufd_device *idev, u32 *pt_id);
void iommufd_device_detach(struct iommufd_device *idev);
int iommufd_device_replace(struct iommufd_device *idev, u32 *pt_id);

/**
 * struct iommufd_access_ops - callbacks of an emulated-device driver
 * @needs_pin_pages: the driver will call iommufd_access_pin_pages(); without
 *                   it only iommufd_access_rw() may be used
 * @unmap: called before the IOVA range [@iova, @iova + @length) stops being
 *         mapped in the IOAS; the driver must unpin every page it pinned in
 *         that range before it returns. May sleep.
 */
struct iommufd_access_ops {
	u8 needs_pin_pages : 1;
	void (*unmap)(void *data, unsigned long iova, unsigned long length);
};

/* Emulated and mediated devices */
struct iommufd_access;

struct iommufd_access *
iommufd_access_create(struct iommufd_ctx *ictx,
		      const struct iommufd_access_ops *ops, void *data, u32 *id);
void iommufd_access_destroy(struct iommufd_access *access);
int iommufd_access_attach(struct iommufd_access *access, u32 ioas_id);
void iommufd_access_detach(struct iommufd_access *access);
int iommufd_access_replace(struct iommufd_access *access, u32 ioas_id);

/* Flags of iommufd_access_rw() */
enum {
	/* Selftest only: take the pinning path even for short copies */
	__IOMMUFD_ACCESS_RW_SLOW_PATH = 1 << 2,
	/* The caller is a kthread: borrow the owner's mm with kthread_use_mm() */
	IOMMUFD_ACCESS_RW_KTHREAD = 1 << 1,
	/* Copy @data into the IOAS memory */
	IOMMUFD_ACCESS_RW_WRITE = 1 << 0,
	/* Copy out of the IOAS memory into @data */
	IOMMUFD_ACCESS_RW_READ = 0,
};

struct file;
struct iommu_group;
struct page;

#if IS_ENABLED(CONFIG_IOMMUFD)
struct iommufd_ctx *iommufd_ctx_from_fd(int fd);
struct iommufd_ctx *iommufd_ctx_from_file(struct file *file);
bool iommufd_ctx_has_group(struct iommufd_ctx *ictx, struct iommu_group *group);
void iommufd_ctx_put(struct iommufd_ctx *ictx);

int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t len, unsigned int flags);
int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, struct page **out_pages,
			     unsigned int flags);
void iommufd_access_unpin_pages(struct iommufd_access *access,
				unsigned long iova, unsigned long length);

/* VFIO container emulation */
int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx);
int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx, u32 *out_ioas_id);
int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx);
#else /* !CONFIG_IOMMUFD */
/*
 * Without iommufd, VFIO still builds: no file is ever an iommufd context,
 * so these are never reached with a real context.
 */
static inline struct iommufd_ctx *iommufd_ctx_from_file(struct file *file)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static inline void iommufd_ctx_put(struct iommufd_ctx *ictx)
{
}

static inline int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx)
{
	return -EOPNOTSUPP;
}

static inline int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx)
{
	return -EOPNOTSUPP;
}

static inline void iommufd_access_unpin_pages(struct iommufd_access *access,
					      unsigned long iova,
					      unsigned long length)
{
}

static inline int iommufd_access_rw(struct iommufd_access *access,
				    unsigned long iova, void *data,
				    size_t len, unsigned int flags)
{
	return -EOPNOTSUPP;
}

static inline int
iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			 unsigned long length, struct page **out_pages,
			 unsigned int flags)
{
	return -EOPNOTSUPP;
}
#endif /* CONFIG_IOMMUFD */
#endif /* __LINUX_IOMMUFD_H */
