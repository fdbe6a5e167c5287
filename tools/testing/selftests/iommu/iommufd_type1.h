/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iommufd_type1.h - the VFIO type1 requests that carry a dirty bitmap.
 *
 * VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP and VFIO_IOMMU_UNMAP_DMA with
 * VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP are each a header with a struct
 * vfio_bitmap after it. The tests of the container (mock and real device)
 * and the fault injection build them here, every field given, so each
 * test says only what it varies.
 */
#ifndef __SELFTEST_IOMMUFD_TYPE1_H
#define __SELFTEST_IOMMUFD_TYPE1_H

#include <string.h>
#include <linux/types.h>
#include <linux/vfio.h>

/* The bytes of a type1 bitmap of @npages pages: whole u64s, as type1 wants */
#define TYPE1_BITMAP_BYTES(npages) ((((__u64)(npages) + 63) / 64) * 8)

/* VFIO_IOMMU_DIRTY_PAGES with GET_BITMAP (or another flag) and its range */
struct type1_dirty_get {
	struct vfio_iommu_type1_dirty_bitmap hdr;
	struct vfio_iommu_type1_dirty_bitmap_get range;
};

static inline void type1_dirty_get_init(struct type1_dirty_get *get,
					__u64 iova, __u64 size, __u64 pgsize,
					__u64 bitmap_size, void *bitmap)
{
	memset(get, 0, sizeof(*get));
	get->hdr.argsz = sizeof(*get);
	get->hdr.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	get->range.iova = iova;
	get->range.size = size;
	get->range.bitmap.pgsize = pgsize;
	get->range.bitmap.size = bitmap_size;
	get->range.bitmap.data = bitmap;
}

/* VFIO_IOMMU_UNMAP_DMA with GET_DIRTY_BITMAP and the bitmap after it */
struct type1_unmap_dirty {
	struct vfio_iommu_type1_dma_unmap unmap;
	struct vfio_bitmap bitmap;
};

static inline void type1_unmap_dirty_init(struct type1_unmap_dirty *cmd,
					  __u64 iova, __u64 size, __u64 pgsize,
					  __u64 bitmap_size, void *bitmap)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->unmap.argsz = sizeof(*cmd);
	cmd->unmap.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	cmd->unmap.iova = iova;
	cmd->unmap.size = size;
	cmd->bitmap.pgsize = pgsize;
	cmd->bitmap.size = bitmap_size;
	cmd->bitmap.data = bitmap;
}

#endif
