/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * io_pagetable.h - the IOVA space of an IOAS and the user memory behind it.
 *
 * Three layers, each with its own lock:
 *
 *  struct io_pagetable   one per IOAS. Which IOVA ranges are mapped (areas),
 *                        which may be (allowed) and which never (reserved),
 *                        and the iommu_domains that must mirror the areas.
 *  struct iopt_area      one mapped IOVA range [node.start, node.last],
 *                        translating to a byte range of one iopt_pages.
 *  struct iopt_pages     a range of user memory: a user VA range of an mm,
 *                        or a range of a memfd/hugetlbfs file. It pins pages
 *                        on demand, remembers their PFNs, and charges them
 *                        to RLIMIT_MEMLOCK. IOAS_COPY makes several areas,
 *                        possibly in different IOASes, share one.
 *
 * Who needs a page pinned is kept per iopt_pages in two interval trees of
 * page indexes: every area that is mapped into iommu_domains has its whole
 * range in @domains_itree, and every iommufd_access_pin_pages() call has its
 * range in @access_itree. A page is pinned exactly while some node of
 * either tree covers it, so pinning and unpinning only ever touch the holes
 * between the other users: one pin per page whatever the number of domains,
 * areas and accesses.
 *
 * Lock order: io_pagetable::domains_rwsem -> io_pagetable::dirty_lock ->
 * io_pagetable::iova_rwsem -> iopt_pages::mutex; the whole of iommufd's is
 * in iommufd_private.h.
 *
 * Conventions: "start" and "last" are inclusive, "end" is exclusive;
 * "index" counts PAGE_SIZE pages from the start of an iopt_pages; lengths
 * are in bytes.
 */
#ifndef __IO_PAGETABLE_H
#define __IO_PAGETABLE_H

#include <linux/interval_tree.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/xarray.h>

struct iommufd_access;
struct iommufd_ctx;
struct iova_bitmap;

/**
 * struct io_pagetable - the IOVA space of one IOAS
 * @domains_rwsem: protects @domains, @next_domain_id and @access_list;
 *                 taken for write to add or remove a domain or an access
 * @domains: index 0 .. @next_domain_id - 1 -> struct iommu_domain *, every
 *           domain kept in sync with the areas. IOPT_DOMAIN_DIRTY marks
 *           those whose dirty tracking is on (changed under @dirty_lock
 *           and the xa_lock, read under either).
 * @dirty_lock: serializes switching dirty tracking in the domains with
 *              recording the result (IOPT_DOMAIN_DIRTY), so the record
 *              is what the driver was last told
 * @access_list: struct iommufd_access * of every access attached to this
 *               IOAS, told about each unmap that hits its pins
 * @next_domain_id: number of entries in @domains
 * @iova_rwsem: protects the three interval trees and @iova_alignment, and
 *              with @domains_rwsem @disable_large_pages (changed with both
 *              held for write, read under either). Held only briefly by
 *              map and unmap: the work in proportion to the length is done
 *              on busy areas (see struct iopt_area) without it. Held
 *              across user memory by an access's pin and copy (reading)
 *              and by a dirty bitmap read's writes to the user's bitmap
 *              (for writing, with an unmap's bitmap): memory that faults
 *              slowly (userfaultfd, FUSE) holds the IOAS's maps and
 *              unmaps for that long, as type1's lock does.
 * @area_itree: struct iopt_area by IOVA; areas never overlap
 * @allowed_itree: struct iopt_allowed; when not empty, new areas must lie
 *                 inside one of these ranges
 * @reserved_itree: struct iopt_reserved; IOVA no area may ever cover
 * @iova_alignment: every area's IOVA and length are multiples of this: the
 *                  largest minimum page size of the domains and accesses
 * @disable_large_pages: map PAGE_SIZE IOPTEs only (IOMMU_OPTION_HUGE_PAGES)
 * @domains_gen: changes (to a value no table had before) whenever a domain
 *               is attached (domains_rwsem)
 * @stat_areas: areas in @area_itree, busy ones included (fdinfo; changed
 *              under iova_rwsem, read without it)
 * @stat_bytes: bytes the areas of @stat_areas cover
 * @stat_pinned: pages the areas hold pinned for the domains, each area's
 *               counted (a page two areas map counts twice)
 * @stat_accesses: accesses in @access_list
 *
 * The stat_ counters are kept for fdinfo, which reads them without any of
 * the locks above.
 */
struct io_pagetable {
	struct rw_semaphore iova_rwsem;
	struct rb_root_cached area_itree;
	struct rb_root_cached reserved_itree;
	struct rb_root_cached allowed_itree;
	unsigned long iova_alignment;
	bool disable_large_pages;

	struct rw_semaphore domains_rwsem;
	struct mutex dirty_lock; /* see above */
	unsigned int next_domain_id;
	u64 domains_gen;
	struct xarray domains;
	struct xarray access_list;

	atomic_long_t stat_areas;
	atomic_long_t stat_bytes;
	atomic_long_t stat_pinned;
	atomic_t stat_accesses;
};

/**
 * struct iopt_allowed - an IOVA range that IOMMU_IOAS_ALLOW_IOVAS permits
 * @node: the range, in io_pagetable::allowed_itree
 */
struct iopt_allowed {
	struct interval_tree_node node;
};

/**
 * struct iopt_reserved - an IOVA range no area may use
 * @node: the range, in io_pagetable::reserved_itree
 * @owner: who reserved it (a domain, a device group, the selftest), so that
 *         iopt_unreserve_owner() can drop all of one owner's ranges
 */
struct iopt_reserved {
	struct interval_tree_node node;
	void *owner;
};

/**
 * struct iopt_area - one mapped IOVA range
 * @node: the IOVA range, in io_pagetable::area_itree (iova_rwsem)
 * @pages_node: the page indexes it uses, in iopt_pages::domains_itree while
 *              @in_domains (iopt_pages::mutex)
 * @iopt: the owning table; immutable
 * @pages: the memory behind it; immutable, holds a reference
 * @pages_offset: byte offset into @pages of the byte at node.start;
 *                immutable. Bytes map linearly from there.
 * @iommu_prot: IOMMU_READ / IOMMU_WRITE / IOMMU_CACHE; immutable
 * @in_domains: pinned through @pages_node and mapped into every domain of
 *              @iopt. Changed by the owner of a busy area, or with the
 *              domains_rwsem held for write; read under the domains_rwsem.
 * @busy: a map is filling it, or an unmap tearing it down, without the
 *        iova_rwsem: to everyone but that ioctl the area does not exist,
 *        only its IOVA is taken (iova_rwsem held for write to change). A
 *        busy area's owner holds the domains_rwsem for reading throughout.
 * @doomed_item: in the list of areas an unmap tears down (its owner)
 * @map_id: the same for the areas of one map, unique to it; immutable
 * @num_accesses: pins that accesses hold inside this area
 *                (iopt_pages::mutex)
 * @unmapping: an unmap is notifying the accesses; no new access pins
 *             (iopt_pages::mutex)
 * @keeper: the domain that keeps the PFNs of chunks of @pages's PFN
 *          store that only this area uses (see "Keeping PFNs in a domain"
 *          in pages.c): set once one is kept, until the area leaves its
 *          domains, even if the chunks were all taken back since; NULL
 *          if none ever was. Always the first domain of @iopt; the area
 *          is unmapped from it last, by iopt_area_unpin_for_domains().
 *          Changed under iopt_pages::mutex, and only by the owner of a
 *          busy area or with the domains_rwsem held for write, who may
 *          read it without the mutex.
 */
struct iopt_area {
	struct interval_tree_node node;
	struct interval_tree_node pages_node;
	struct io_pagetable *iopt;
	struct iopt_pages *pages;
	unsigned long pages_offset;
	int iommu_prot;
	bool in_domains;
	bool busy;
	struct list_head doomed_item;
	u64 map_id;
	unsigned int num_accesses;
	bool unmapping;
	struct iommu_domain *keeper;
};

/* Where the memory of an iopt_pages comes from */
enum iopt_pages_source {
	IOPT_PAGES_USER,	/* a VA range of an mm */
	IOPT_PAGES_FILE,	/* a range of a memfd / hugetlbfs file */
};

/**
 * struct iopt_payer - the process a mapping's pinned pages are charged to
 * @mm: its mm (grabbed): charged in MM mode, and shows the pins in
 *      pinned_vm in USER mode
 * @task: its thread group leader (referenced), whose RLIMIT_MEMLOCK applies
 * @user: its user (referenced), charged in USER mode
 * @lock_cap: it had CAP_IPC_LOCK when it became the payer (asked without
 *            audit): its pins may go past its RLIMIT_MEMLOCK
 */
struct iopt_payer {
	struct mm_struct *mm;
	struct task_struct *task;
	struct user_struct *user;
	bool lock_cap;
};

/**
 * struct iopt_pages - pinnable memory, shared by the areas that map it
 * @kref: one reference per area
 * @mutex: protects everything below that is not marked immutable
 * @source: enum iopt_pages_source; immutable
 * @uptr: IOPT_PAGES_USER: page-aligned user address of index 0. Changed
 *        only by iopt_pages_set_uptr(), while @uptr_invalid
 * @uptr_invalid: IOPT_PAGES_USER: VFIO_DMA_UNMAP_FLAG_VADDR took @uptr
 *                away: nothing is pinned from it or copied through it
 *                until VFIO_DMA_MAP_FLAG_VADDR gives a new one; what is
 *                pinned stays pinned and mapped
 * @file: IOPT_PAGES_FILE: the file, with a reference; immutable
 * @file_start: IOPT_PAGES_FILE: page-aligned file offset of index 0
 * @npages: number of pages; immutable
 * @length: bytes from @first_offset; immutable
 * @first_offset: offset of the first byte inside page index 0; immutable
 * @writable: pinned with FOLL_WRITE and mappable for writing; immutable
 * @account_mode: enum iommufd_account_mode charged for the pins
 * @payer: who pays for the pins; for IOPT_PAGES_USER also the mm pinned
 *         from. IOMMU_IOAS_CHANGE_PROCESS moves it (file pages only).
 * @npinned: pages pinned now, and charged
 * @ictx: the context of the file mapped through, which counts the pins in
 *        its fdinfo, or NULL; immutable. The areas of @pages are all in
 *        IOASes of that context, which outlives them.
 * @domains_itree: iopt_area::pages_node of every area in domains
 * @access_itree: struct iopt_pages_access of every access pin
 * @pfn_skew: where index 0 sits in its chunk of @pfns: the memory's page
 *            number (VA or file offset) modulo IOPT_PFN_CHUNK; immutable,
 *            also when @uptr changes (it only places the chunks)
 * @pfns: PFN of every pinned page, by chunks of IOPT_PFN_CHUNK pages: a
 *        value entry (the chunk's pages are contiguous from that PFN), an
 *        unsigned long[IOPT_PFN_CHUNK], or PFNS_KEPT (read them back from
 *        the keeper of the one area that uses the chunk). Slots of
 *        unpinned pages are stale and never read. See "The PFN store" in
 *        pages.c.
 * @nkept: chunks of @pfns that are PFNS_KEPT
 */
struct iopt_pages {
	struct kref kref;
	struct mutex mutex; /* see @mutex above */
	u8 source;
	void __user *uptr;
	bool uptr_invalid;
	struct file *file;
	unsigned long file_start;
	unsigned long npages;
	unsigned long length;
	unsigned int first_offset;
	bool writable;

	u8 account_mode;
	struct iopt_payer payer;
	unsigned long npinned;
	struct iommufd_ctx *ictx;

	struct rb_root_cached domains_itree;
	struct rb_root_cached access_itree;
	unsigned int pfn_skew;
	struct xarray pfns;
	unsigned long nkept;
};

#define IOPT_PFN_CHUNK_SHIFT 9
#define IOPT_PFN_CHUNK BIT(IOPT_PFN_CHUNK_SHIFT)

/* First and last page index of an area inside its pages */
static inline unsigned long iopt_area_index_first(struct iopt_area *area)
{
	return area->pages_offset >> PAGE_SHIFT;
}

static inline unsigned long iopt_area_index_last(struct iopt_area *area)
{
	return (area->pages_offset + (area->node.last - area->node.start)) >>
	       PAGE_SHIFT;
}

static inline unsigned long iopt_area_bytes(struct iopt_area *area)
{
	return area->node.last - area->node.start + 1;
}

/* The pages.c layer */
struct iopt_pages *iopt_alloc_user_pages(void __user *uptr,
					 unsigned long length, bool writable,
					 u8 account_mode);
struct iopt_pages *iopt_alloc_file_pages(struct file *file,
					 unsigned long start,
					 unsigned long length, bool writable,
					 u8 account_mode);
void iopt_pages_release(struct kref *kref);

static inline void iopt_pages_put(struct iopt_pages *pages)
{
	kref_put(&pages->kref, iopt_pages_release);
}

int iopt_area_pin_for_domains(struct iopt_area *area, unsigned long *pinned);
unsigned long iopt_area_unpin_for_domains(struct iopt_area *area);
int iopt_area_map_domain(struct iopt_area *area, struct iommu_domain *domain,
			 bool disable_large_pages, unsigned long *runs);
void iopt_area_clear_domain(struct iopt_area *area,
			    struct iommu_domain *domain,
			    struct iommu_iotlb_gather *gather);
void iopt_area_keep_pfns(struct iopt_area *area);
void iopt_area_move_keeper(struct iopt_area *area, struct iommu_domain *from,
			   struct iommu_domain *to);

int iopt_pages_access_pin(struct iopt_pages *pages, unsigned long start_index,
			  unsigned long last_index, struct page **out_pages);
void iopt_pages_access_unpin(struct iopt_pages *pages,
			     unsigned long start_index,
			     unsigned long last_index);
int iopt_pages_rw(struct iopt_pages *pages, unsigned long offset, void *data,
		  unsigned long length, unsigned int flags);
int iopt_pages_switch_payer(struct iopt_pages *pages, struct iopt_payer *old);
void iopt_pages_note_payer(struct iopt_pages *pages);
void iopt_pages_restore_payer(struct iopt_pages *pages,
			      struct iopt_payer *old);
void iopt_payer_put(struct iopt_payer *payer);
int iopt_pages_invalidate_uptr(struct iopt_pages *pages);
void iopt_pages_revalidate_uptr(struct iopt_pages *pages);
int iopt_pages_set_uptr(struct iopt_pages *pages, void __user *uptr);

/* The io_pagetable.c layer */
int iopt_init(struct io_pagetable *iopt);
void iopt_uninit(struct io_pagetable *iopt);

/* Domains, and the IOVA they and the devices behind them cannot use */
int iopt_attach_domain(struct io_pagetable *iopt, struct iommu_domain *domain);
void iopt_detach_domain(struct io_pagetable *iopt, struct iommu_domain *domain);
int iopt_reserve_dev_regions(struct io_pagetable *iopt, struct device *dev,
			     phys_addr_t *sw_msi_start);
int iopt_reserve_range(struct io_pagetable *iopt, unsigned long start,
		       unsigned long last, void *owner);
void iopt_unreserve_owner(struct io_pagetable *iopt, void *owner);
int iopt_set_allowed_ranges(struct io_pagetable *iopt,
			    struct rb_root_cached *allowed_iova);
int iopt_walk_usable_ranges(struct io_pagetable *iopt,
			    int (*fn)(void *opaque, unsigned long start,
				      unsigned long last),
			    void *opaque);
unsigned long iopt_iova_alignment(struct io_pagetable *iopt);
u64 iopt_pgsize_bitmap(struct io_pagetable *iopt);
int iopt_forbid_huge_pages(struct io_pagetable *iopt);
void iopt_allow_huge_pages(struct io_pagetable *iopt);

/* iopt_map_*() and iopt_copy_iova() flags */
enum {
	/* The kernel chooses the IOVA; *iova is only an output */
	IOPT_ALLOC_IOVA = 1 << 0,
};

int iopt_map_user(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
		  unsigned long *iova, void __user *uptr, unsigned long length,
		  int iommu_prot, unsigned int flags, u64 *map_id);
int iopt_map_file(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
		  unsigned long *iova, struct file *file, unsigned long start,
		  unsigned long length, int iommu_prot, unsigned int flags,
		  u64 *map_id);
int iopt_copy_iova(struct io_pagetable *src, unsigned long src_iova,
		   struct io_pagetable *dst, unsigned long *dst_iova,
		   unsigned long length, int iommu_prot, unsigned int flags,
		   u64 *map_id);
void iopt_undo_map(struct io_pagetable *iopt, unsigned long iova,
		   unsigned long length, u64 map_id);

/* How iopt_unmap_range() picks and treats the areas of a range */
enum {
	/* A range with no area in it unmaps nothing instead of failing */
	IOPT_UNMAP_EMPTY_OK = 1 << 0,
	/* VFIO type1 v1: see iopt_unmap_v1() */
	IOPT_UNMAP_V1 = 1 << 1,
};

/* Unmapping whole areas */
int iopt_unmap(struct io_pagetable *iopt, unsigned long iova,
	       unsigned long length, bool empty_ok, unsigned long *unmapped);
int iopt_unmap_v1(struct io_pagetable *iopt, unsigned long iova,
		  unsigned long length, unsigned long *unmapped);
int iopt_unmap_dirty(struct io_pagetable *iopt, unsigned long iova,
		     unsigned long length, u64 gen, u64 __user *data,
		     unsigned long *unmapped);
int iopt_unmap_everything(struct io_pagetable *iopt, unsigned long *unmapped);
int iopt_invalidate_vaddr(struct io_pagetable *iopt, unsigned long iova,
			  unsigned long length, unsigned int how,
			  unsigned long *done);
int iopt_set_vaddr(struct io_pagetable *iopt, unsigned long iova,
		   unsigned long length, void __user *uptr);
bool iopt_has_accesses(struct io_pagetable *iopt);

/* Dirty tracking over every domain-mapped area */
int iopt_dirty_track(struct io_pagetable *iopt, struct iommu_domain *domain,
		     bool enable);
int iopt_dirty_read(struct io_pagetable *iopt, struct iommu_domain *domain,
		    unsigned long flags,
		    struct iommu_hwpt_get_dirty_bitmap *bitmap);
int iopt_dirty_track_all(struct io_pagetable *iopt, bool enable, u64 *gen);
bool iopt_dirty_tracking(struct io_pagetable *iopt,
			 struct iommu_domain *domain);
int iopt_dirty_read_all(struct io_pagetable *iopt, unsigned long iova,
			unsigned long length, u64 gen, bool clear,
			u64 __user *data);

/* A unique xarray index for an iopt_pages, for sets of them */
static inline unsigned long iopt_pages_key(struct iopt_pages *pages)
{
	return (unsigned long)pages / __alignof__(struct iopt_pages);
}

int iopt_collect_file_pages(struct io_pagetable *iopt, struct xarray *set);

int iopt_register_access(struct io_pagetable *iopt,
			 struct iommufd_access *access);
void iopt_unregister_access(struct io_pagetable *iopt,
			    struct iommufd_access *access);
int iopt_access_pin_pages(struct io_pagetable *iopt, unsigned long iova,
			  unsigned long length, struct page **out_pages,
			  unsigned int flags);
void iopt_access_unpin_pages(struct io_pagetable *iopt, unsigned long iova,
			     unsigned long length);
int iopt_access_rw(struct io_pagetable *iopt, unsigned long iova, void *data,
		   unsigned long length, unsigned int flags);

#endif /* __IO_PAGETABLE_H */
