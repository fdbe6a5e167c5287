// SPDX-License-Identifier: GPL-2.0-only
/*
 * io_pagetable.c - the IOVA space of an IOAS.
 *
 * The io_pagetable decides where things go: which IOVA ranges are mapped,
 * which may be and which may never be, and it keeps every attached
 * iommu_domain identical to its set of areas. The memory itself (pinning,
 * PFNs, accounting) is pages.c's business.
 *
 * Everything that changes the IOVA space is all-or-nothing: it checks first,
 * allocates what it needs, and unwinds the domains and the pins on a
 * failure part way, so userspace sees either the whole change or none.
 *
 * Areas that accesses hold pins in cannot be unmapped under them: the
 * accesses are told with their unmap callback, with no lock of ours held
 * but the domains_rwsem (for reading), and the unmap is retried once they
 * have let go.
 */
#include <linux/err.h>
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/iova_bitmap.h>
#include <linux/slab.h>

#include "iommufd_private.h"
#include "iommufd_trace.h"
#include "io_pagetable.h"

/* Makes io_pagetable::domains_gen unique among all tables */
static atomic64_t iopt_last_domains_gen;

/* The ID of the IOAS a table belongs to, for the tracepoints */
static u32 iopt_ioas_id(struct io_pagetable *iopt)
{
	return container_of(iopt, struct iommufd_ioas, iopt)->obj.id;
}

/* Count an area in or out of the table, for fdinfo (iova_rwsem) */
static void iopt_count_area(struct io_pagetable *iopt, struct iopt_area *area,
			    long sign)
{
	lockdep_assert_held_write(&iopt->iova_rwsem);
	atomic_long_add(sign, &iopt->stat_areas);
	atomic_long_add(sign * (long)iopt_area_bytes(area), &iopt->stat_bytes);
}

/**
 * iopt_init() - initialize an empty IOVA space
 * @iopt: the table, zeroed by the caller
 *
 * Return: 0.
 */
int iopt_init(struct io_pagetable *iopt)
{
	init_rwsem(&iopt->domains_rwsem);
	mutex_init(&iopt->dirty_lock);
	init_rwsem(&iopt->iova_rwsem);
	xa_init(&iopt->domains);
	xa_init_flags(&iopt->access_list, XA_FLAGS_ALLOC);
	iopt->area_itree = RB_ROOT_CACHED;
	iopt->allowed_itree = RB_ROOT_CACHED;
	iopt->reserved_itree = RB_ROOT_CACHED;
	iopt->iova_alignment = 1;
	iopt->domains_gen = atomic64_inc_return(&iopt_last_domains_gen);
	return 0;
}

static void iopt_free_itree(struct rb_root_cached *root, size_t offset)
{
	struct interval_tree_node *node;

	while ((node = interval_tree_iter_first(root, 0, ULONG_MAX))) {
		interval_tree_remove(node, root);
		kfree((void *)node - offset);
	}
}

/**
 * iopt_uninit() - free an IOVA space with no areas left
 * @iopt: the table
 *
 * The owner has unmapped everything and detached every domain and access.
 */
void iopt_uninit(struct io_pagetable *iopt)
{
	iopt_free_itree(&iopt->allowed_itree,
			offsetof(struct iopt_allowed, node));
	iopt_free_itree(&iopt->reserved_itree,
			offsetof(struct iopt_reserved, node));
	WARN_ON_ONCE(!RB_EMPTY_ROOT(&iopt->area_itree.rb_root));
	WARN_ON_ONCE(!xa_empty(&iopt->domains));
	WARN_ON_ONCE(!xa_empty(&iopt->access_list));
	xa_destroy(&iopt->domains);
	xa_destroy(&iopt->access_list);
	mutex_destroy(&iopt->dirty_lock);
}

static struct iopt_area *iopt_area_from_node(struct interval_tree_node *node)
{
	return node ? container_of(node, struct iopt_area, node) : NULL;
}

/* The first area from @node on that is not busy, or NULL */
static struct iopt_area *iopt_live_from(struct interval_tree_node *node,
					unsigned long start,
					unsigned long last)
{
	while (node && iopt_area_from_node(node)->busy)
		node = interval_tree_iter_next(node, start, last);
	return iopt_area_from_node(node);
}

/*
 * Iterate over the areas meeting [start, last] in IOVA order. Busy areas
 * (being filled or torn down by an ioctl that left the lock) are skipped:
 * to everyone but their owner they are not mapped. Only their IOVA is
 * taken, which the checks for free IOVA see in the tree itself.
 */
static struct iopt_area *iopt_first_area(struct io_pagetable *iopt,
					 unsigned long start,
					 unsigned long last)
{
	lockdep_assert_held(&iopt->iova_rwsem);

	return iopt_live_from(interval_tree_iter_first(&iopt->area_itree,
						       start, last),
			      start, last);
}

static struct iopt_area *iopt_next_area(struct iopt_area *area,
					unsigned long start,
					unsigned long last)
{
	return iopt_live_from(interval_tree_iter_next(&area->node, start,
						      last),
			      start, last);
}

static bool iopt_range_used(struct rb_root_cached *root, unsigned long start,
			    unsigned long last)
{
	return interval_tree_iter_first(root, start, last);
}

/* The last IOVA of a range given by the user: not empty, not wrapping */
static int iopt_user_range_last(unsigned long iova, unsigned long length,
				unsigned long *last)
{
	if (!length)
		return -EINVAL;
	return check_add_overflow(iova, length - 1, last) ? -EOVERFLOW : 0;
}

/*
 * Check a caller-chosen range for a new area: aligned, and free of both
 * reserved IOVA and other areas. The allowed ranges only steer the IOVAs
 * the kernel chooses.
 */
static int iopt_check_fixed_iova(struct io_pagetable *iopt, unsigned long iova,
				 unsigned long length)
{
	unsigned long last;

	lockdep_assert_held(&iopt->iova_rwsem);

	if ((iova | length) & (iopt->iova_alignment - 1))
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	if (iopt_range_used(&iopt->reserved_itree, iova, last))
		return -EINVAL;
	if (iopt_range_used(&iopt->area_itree, iova, last))
		return -EEXIST;
	return 0;
}

/*
 * Look for room for @length bytes inside [start, last], avoiding areas and
 * reserved ranges, at an IOVA that is congruent to @residue modulo @align.
 */
static bool iopt_find_room(struct io_pagetable *iopt, unsigned long start,
			   unsigned long last, unsigned long length,
			   unsigned long align, unsigned long residue,
			   unsigned long *iova)
{
	struct interval_tree_span_iter areas;
	struct interval_tree_span_iter resv;

	interval_tree_for_each_span(&areas, &iopt->area_itree, start, last) {
		if (!areas.is_hole)
			continue;
		interval_tree_for_each_span(&resv, &iopt->reserved_itree,
					    areas.start_hole,
					    areas.last_hole) {
			unsigned long cand, cand_last;

			if (!resv.is_hole)
				continue;
			if (check_add_overflow(ALIGN_DOWN(resv.start_hole, align),
					       residue, &cand))
				continue;
			if (cand < resv.start_hole &&
			    check_add_overflow(cand, align, &cand))
				continue;
			if (check_add_overflow(cand, length - 1, &cand_last))
				continue;
			if (cand_last <= resv.last_hole) {
				*iova = cand;
				return true;
			}
		}
	}
	return false;
}

/*
 * Choose an IOVA for @length bytes. @hint is the address of the memory
 * (user VA or file offset). The IOVA keeps the hint's offset inside a CPU
 * page, and is aligned like the hint up to the largest page size that can
 * help (the length, capped at PUD_SIZE), so that huge pages of memory can be
 * mapped as huge IOPTEs. IOVA 0 and the last page are never handed out.
 */
static int iopt_find_free_iova(struct io_pagetable *iopt, unsigned long *iova,
			       unsigned long hint, unsigned long length)
{
	struct interval_tree_span_iter allowed;
	unsigned long align, modulus, residue;
	const unsigned long first = PAGE_SIZE, last = ULONG_MAX - PAGE_SIZE;

	lockdep_assert_held(&iopt->iova_rwsem);

	if ((hint % PAGE_SIZE | length) & (iopt->iova_alignment - 1))
		return -EINVAL;

	align = length > PUD_SIZE ? PUD_SIZE : roundup_pow_of_two(length);
	if (hint)
		align = min(align, 1UL << __ffs(hint));
	align = max(align, iopt->iova_alignment);
	modulus = max(align, PAGE_SIZE);
	residue = hint % modulus;

	if (RB_EMPTY_ROOT(&iopt->allowed_itree.rb_root))
		return iopt_find_room(iopt, first, last, length, modulus,
				      residue, iova) ? 0 : -ENOSPC;

	interval_tree_for_each_span(&allowed, &iopt->allowed_itree, first,
				    last) {
		if (allowed.is_hole)
			continue;
		if (iopt_find_room(iopt, allowed.start_used, allowed.last_used,
				   length, modulus, residue, iova))
			return 0;
	}
	return -ENOSPC;
}

static struct iommu_domain *iopt_domain(struct io_pagetable *iopt,
					unsigned int idx)
{
	return xa_load(&iopt->domains, idx);
}

/* In io_pagetable::domains: the domain's dirty tracking is on */
#define IOPT_DOMAIN_DIRTY XA_MARK_1

/* Unmap @area from the first @ndomains domains, syncing each */
static void iopt_area_unmap_domains(struct io_pagetable *iopt,
				    struct iopt_area *area,
				    unsigned int ndomains)
{
	struct iommu_iotlb_gather gather;
	unsigned int i;

	for (i = 0; i != ndomains; i++) {
		struct iommu_domain *domain = iopt_domain(iopt, i);

		iommu_iotlb_gather_init(&gather);
		iopt_area_clear_domain(area, domain, &gather);
		iommu_iotlb_sync(domain, &gather);
	}
}

/**
 * struct iopt_map_stats - what a map did, for its tracepoint
 * @pinned: pages it pinned that were not pinned before
 * @runs: physically contiguous runs it mapped, over all domains
 */
struct iopt_map_stats {
	unsigned long pinned;
	unsigned long runs;
};

/*
 * Pin a new, busy area and map it into every domain; all or nothing. Only
 * the domains_rwsem is held, so that the domains stay the same: maps of
 * other ranges and the IOVA readers go on meanwhile.
 */
static int iopt_area_populate_domains(struct io_pagetable *iopt,
				      struct iopt_area *area,
				      struct iopt_map_stats *stats)
{
	unsigned long pinned;
	unsigned int i;
	int rc;

	lockdep_assert_held(&iopt->domains_rwsem);

	if (!iopt->next_domain_id)
		return 0;

	rc = iopt_area_pin_for_domains(area, &pinned);
	if (rc)
		return rc;
	for (i = 0; i != iopt->next_domain_id; i++) {
		rc = iopt_area_map_domain(area, iopt_domain(iopt, i),
					  iopt->disable_large_pages,
					  &stats->runs);
		if (rc)
			goto err_unmap;
	}
	area->in_domains = true;
	stats->pinned += pinned;
	return 0;

err_unmap:
	iopt_area_unmap_domains(iopt, area, i);
	iopt_area_unpin_for_domains(area);
	return rc;
}

/**
 * struct iopt_map_piece - one piece of memory for iopt_map_pieces()
 * @pages: the memory; the piece holds a reference
 * @pages_offset: byte offset into @pages of the first byte
 * @length: bytes
 */
struct iopt_map_piece {
	struct iopt_pages *pages;
	unsigned long pages_offset;
	unsigned long length;
};

/* Take the first @n of iopt_map_pieces()'s busy areas out of the domains */
static void iopt_unmap_new_areas(struct io_pagetable *iopt,
				 struct iopt_area **areas, unsigned int n)
{
	while (n--) {
		struct iopt_area *area = areas[n];

		if (area->in_domains) {
			iopt_area_unmap_domains(iopt, area,
						iopt->next_domain_id);
			iopt_area_unpin_for_domains(area);
		}
	}
}

/* Pin and map @n new busy areas; all or nothing */
static int iopt_populate_areas(struct io_pagetable *iopt,
			       struct iopt_area **areas, unsigned int n,
			       struct iopt_map_stats *stats)
{
	unsigned int i;
	int rc;

	for (i = 0; i != n; i++) {
		rc = iopt_area_populate_domains(iopt, areas[i], stats);
		if (rc) {
			iopt_unmap_new_areas(iopt, areas, i);
			return rc;
		}
	}
	return 0;
}

/* Tells the areas of one map from all others, for iopt_undo_map() */
static atomic64_t iopt_last_map_id;

/*
 * Map @npieces consecutive pieces of memory at consecutive IOVAs, as one
 * area each. On success the areas own the pieces' pages references, and
 * *@map_id (if not NULL) names them.
 *
 * The IOVA is claimed with the areas inserted busy; the pinning and the
 * mapping into the domains, which take time in proportion to the length,
 * run without the iova_rwsem; the areas go live in one step at the end, or
 * leave the tree if anything failed.
 */
static int iopt_map_pieces(struct io_pagetable *iopt,
			   struct iopt_map_piece *pieces, unsigned int npieces,
			   unsigned long *iova, unsigned long hint,
			   int iommu_prot, unsigned int flags, u64 *map_id)
{
	u64 id = atomic64_inc_return(&iopt_last_map_id);
	struct iopt_map_stats stats = {};
	unsigned long length = 0, cursor;
	struct iopt_area **areas, *one_area = NULL;
	unsigned int i;
	int rc;

	for (i = 0; i != npieces; i++)
		if (check_add_overflow(length, pieces[i].length, &length))
			return -EOVERFLOW;
	if (!length)
		return -EINVAL;

	/* One piece (user memory, a file, most copies): no list to allocate */
	areas = &one_area;
	if (npieces > 1) {
		areas = kcalloc(npieces, sizeof(*areas), GFP_KERNEL_ACCOUNT);
		if (!areas)
			return -ENOMEM;
	}
	for (i = 0; i != npieces; i++) {
		areas[i] = kzalloc(sizeof(*areas[i]), GFP_KERNEL_ACCOUNT);
		if (!areas[i]) {
			rc = -ENOMEM;
			goto out_free;
		}
	}

	down_read(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	if (flags & IOPT_ALLOC_IOVA)
		rc = iopt_find_free_iova(iopt, iova, hint, length);
	else
		rc = iopt_check_fixed_iova(iopt, *iova, length);
	if (rc)
		goto out_unlock;
	/* Every area must be aligned, in IOVA and in the memory behind it */
	for (i = 0; i != npieces; i++) {
		if ((pieces[i].length | pieces[i].pages_offset) &
		    (iopt->iova_alignment - 1)) {
			rc = -EINVAL;
			goto out_unlock;
		}
	}

	cursor = *iova;
	for (i = 0; i != npieces; i++) {
		struct iopt_area *area = areas[i];

		area->iopt = iopt;
		area->pages = pieces[i].pages;
		area->pages_offset = pieces[i].pages_offset;
		area->iommu_prot = iommu_prot;
		area->busy = true;
		area->map_id = id;
		area->node.start = cursor;
		area->node.last = cursor + pieces[i].length - 1;
		interval_tree_insert(&area->node, &iopt->area_itree);
		iopt_count_area(iopt, area, 1);
		cursor += pieces[i].length;
	}
	up_write(&iopt->iova_rwsem);

	rc = iopt_populate_areas(iopt, areas, npieces, &stats);
	/* In every domain now: the first may keep the PFNs for us */
	if (!rc && iopt->next_domain_id)
		for (i = 0; i != npieces; i++)
			iopt_area_keep_pfns(areas[i]);

	down_write(&iopt->iova_rwsem);
	for (i = 0; i != npieces; i++) {
		if (rc) {
			interval_tree_remove(&areas[i]->node,
					     &iopt->area_itree);
			iopt_count_area(iopt, areas[i], -1);
			continue;
		}
		areas[i]->busy = false;
		/* The areas own the pages now */
		pieces[i].pages = NULL;
		areas[i] = NULL;
	}
	if (!rc && map_id)
		*map_id = id;
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_rwsem);
	trace_iommufd_map(iopt_ioas_id(iopt), *iova, length, stats.pinned,
			  stats.runs, rc);
out_free:
	for (i = 0; i != npieces; i++)
		kfree(areas[i]);
	if (areas != &one_area)
		kfree(areas);
	return rc;
}

/**
 * iopt_map_user() - map a range of the caller's memory
 * @ictx: the context, for its accounting mode
 * @iopt: the table
 * @iova: in: the IOVA (without IOPT_ALLOC_IOVA); out: the IOVA used
 * @uptr: first byte of the memory
 * @length: bytes
 * @iommu_prot: IOMMU_READ / IOMMU_WRITE / IOMMU_CACHE
 * @flags: IOPT_ALLOC_IOVA to let the kernel choose
 * @map_id: out, may be NULL: names the mapping for iopt_undo_map()
 *
 * Context: Process context with a user mm.
 * Return: 0 or -errno, with nothing changed on failure.
 */
int iopt_map_user(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
		  unsigned long *iova, void __user *uptr,
		  unsigned long length, int iommu_prot,
		  unsigned int flags, u64 *map_id)
{
	struct iopt_map_piece piece = { .length = length };
	int rc;

	piece.pages = iopt_alloc_user_pages(uptr, length,
					    iommu_prot & IOMMU_WRITE,
					    ictx->account_mode);
	if (IS_ERR(piece.pages))
		return PTR_ERR(piece.pages);
	piece.pages->ictx = ictx;
	piece.pages_offset = piece.pages->first_offset;

	rc = iopt_map_pieces(iopt, &piece, 1, iova, (unsigned long)uptr,
			     iommu_prot, flags, map_id);
	if (piece.pages)
		iopt_pages_put(piece.pages);
	return rc;
}

/**
 * iopt_map_file() - map a range of a memfd or hugetlbfs file
 * @ictx: the context, for its accounting mode
 * @iopt: the table
 * @iova: in: the IOVA (without IOPT_ALLOC_IOVA); out: the IOVA used
 * @file: the file
 * @start: file offset of the first byte
 * @length: bytes
 * @iommu_prot: IOMMU_READ / IOMMU_WRITE / IOMMU_CACHE
 * @flags: IOPT_ALLOC_IOVA to let the kernel choose
 * @map_id: out, may be NULL: names the mapping for iopt_undo_map()
 *
 * Context: Process context.
 * Return: 0 or -errno, with nothing changed on failure.
 */
int iopt_map_file(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
		  unsigned long *iova, struct file *file,
		  unsigned long start, unsigned long length,
		  int iommu_prot, unsigned int flags, u64 *map_id)
{
	struct iopt_map_piece piece = { .length = length };
	int rc;

	piece.pages = iopt_alloc_file_pages(file, start, length,
					    iommu_prot & IOMMU_WRITE,
					    ictx->account_mode);
	if (IS_ERR(piece.pages))
		return PTR_ERR(piece.pages);
	piece.pages->ictx = ictx;
	piece.pages_offset = piece.pages->first_offset;

	rc = iopt_map_pieces(iopt, &piece, 1, iova, start, iommu_prot, flags,
			     map_id);
	if (piece.pages)
		iopt_pages_put(piece.pages);
	return rc;
}

/*
 * Describe [start, last] of @iopt as pieces of the areas covering it, each
 * with a reference on its pages. The range must be covered without holes.
 */
static int iopt_get_pieces(struct io_pagetable *iopt, unsigned long start,
			   unsigned long last, bool writable,
			   struct iopt_map_piece **out, unsigned int *out_n)
{
	struct iopt_map_piece *pieces;
	struct iopt_area *area;
	unsigned long expect = start;
	unsigned int n = 0, i;
	int rc = 0;

	down_read(&iopt->iova_rwsem);
	for (area = iopt_first_area(iopt, start, last); area;
	     area = iopt_next_area(area, start, last))
		n++;
	pieces = kcalloc(max(n, 1U), sizeof(*pieces), GFP_KERNEL_ACCOUNT);
	if (!pieces) {
		rc = -ENOMEM;
		goto out_unlock;
	}

	i = 0;
	for (area = iopt_first_area(iopt, start, last); area;
	     area = iopt_next_area(area, start, last)) {
		unsigned long from = max(start, area->node.start);
		unsigned long to = min(last, area->node.last);

		if (area->node.start > expect) {
			rc = -ENOENT;
			break;
		}
		if (writable && !(area->iommu_prot & IOMMU_WRITE)) {
			rc = -EPERM;
			break;
		}
		kref_get(&area->pages->kref);
		pieces[i].pages = area->pages;
		pieces[i].pages_offset = area->pages_offset +
					 (from - area->node.start);
		pieces[i].length = to - from + 1;
		i++;
		expect = to + 1;
	}
	if (!rc && (!n || expect - 1 != last))
		rc = -ENOENT;
	if (rc) {
		while (i--)
			iopt_pages_put(pieces[i].pages);
		kfree(pieces);
		goto out_unlock;
	}
	*out = pieces;
	*out_n = n;
out_unlock:
	up_read(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_copy_iova() - map memory already mapped in one table into another
 * @src: table to copy from
 * @src_iova: first IOVA of the range in @src
 * @dst: table to copy to (may be @src)
 * @dst_iova: in: the IOVA (without IOPT_ALLOC_IOVA); out: the IOVA used
 * @length: bytes; [src_iova, src_iova + length) must be fully mapped
 * @iommu_prot: protection of the new mapping; write needs writable source
 * @flags: IOPT_ALLOC_IOVA to let the kernel choose
 * @map_id: out, may be NULL: names the mapping for iopt_undo_map()
 *
 * The new areas share the source's pages: nothing is pinned twice.
 *
 * Context: Process context.
 * Return: 0 or -errno, with nothing changed on failure.
 */
int iopt_copy_iova(struct io_pagetable *src, unsigned long src_iova,
		   struct io_pagetable *dst, unsigned long *dst_iova,
		   unsigned long length, int iommu_prot, unsigned int flags,
		   u64 *map_id)
{
	struct iopt_map_piece *pieces;
	unsigned long last, hint;
	unsigned int n, i;
	int rc;

	rc = iopt_user_range_last(src_iova, length, &last);
	if (rc)
		return rc;
	rc = iopt_get_pieces(src, src_iova, last, iommu_prot & IOMMU_WRITE,
			     &pieces, &n);
	if (rc)
		return rc;

	hint = pieces[0].pages->source == IOPT_PAGES_USER ?
		       (unsigned long)pieces[0].pages->uptr :
		       pieces[0].pages->file_start;
	hint += pieces[0].pages_offset;
	rc = iopt_map_pieces(dst, pieces, n, dst_iova, hint, iommu_prot,
			     flags, map_id);
	for (i = 0; i != n; i++)
		if (pieces[i].pages)
			iopt_pages_put(pieces[i].pages);
	kfree(pieces);
	return rc;
}

/* Tell every access that [start, last] is going away */
static void iopt_notify_accesses(struct io_pagetable *iopt,
				 unsigned long start, unsigned long last)
{
	struct iommufd_access *access;
	unsigned long index;

	lockdep_assert_held(&iopt->domains_rwsem);

	xa_for_each(&iopt->access_list, index, access)
		iommufd_access_notify_unmap(access, start, last);
}

/*
 * The first area in [start, last] that accesses hold pins in, or NULL.
 * The area is marked so no new access pin starts while it is notified.
 */
static struct iopt_area *iopt_first_pinned_area(struct io_pagetable *iopt,
						unsigned long start,
						unsigned long last)
{
	struct iopt_area *area;
	bool pinned;

	for (area = iopt_first_area(iopt, start, last); area;
	     area = iopt_next_area(area, start, last)) {
		mutex_lock(&area->pages->mutex);
		pinned = area->num_accesses;
		if (pinned)
			area->unmapping = true;
		mutex_unlock(&area->pages->mutex);
		if (pinned)
			return area;
	}
	return NULL;
}

/*
 * Remove the live areas of [start, last] from every domain, then free them.
 * Called with the iova_rwsem held for write, which it drops while the
 * domains are cleared and the pages unpinned: the areas are busy then, so
 * nobody else sees them, and their IOVA is only free once they are gone.
 * Returns the bytes unmapped, and adds the pages unpinned to *@unpinned.
 */
static unsigned long iopt_remove_areas(struct io_pagetable *iopt,
				       unsigned long start, unsigned long last,
				       unsigned long *unpinned)
	__must_hold(&iopt->iova_rwsem)
{
	struct iommu_iotlb_gather gather;
	struct iopt_area *area, *next;
	unsigned long unmapped = 0;
	LIST_HEAD(doomed);
	unsigned int i;

	lockdep_assert_held(&iopt->domains_rwsem);
	lockdep_assert_held_write(&iopt->iova_rwsem);

	for (area = iopt_first_area(iopt, start, last); area;
	     area = iopt_next_area(area, start, last))
		list_add_tail(&area->doomed_item, &doomed);
	list_for_each_entry(area, &doomed, doomed_item)
		area->busy = true;
	up_write(&iopt->iova_rwsem);

	/*
	 * One IOTLB flush per domain for the whole range; areas whose PFNs a
	 * domain keeps are unmapped from it by the unpinning below
	 */
	for (i = 0; i != iopt->next_domain_id; i++) {
		struct iommu_domain *domain = iopt_domain(iopt, i);

		iommu_iotlb_gather_init(&gather);
		list_for_each_entry(area, &doomed, doomed_item)
			iopt_area_clear_domain(area, domain, &gather);
		iommu_iotlb_sync(domain, &gather);
	}
	list_for_each_entry(area, &doomed, doomed_item) {
		if (area->in_domains)
			*unpinned += iopt_area_unpin_for_domains(area);
		unmapped += iopt_area_bytes(area);
	}

	down_write(&iopt->iova_rwsem);
	list_for_each_entry_safe(area, next, &doomed, doomed_item) {
		interval_tree_remove(&area->node, &iopt->area_itree);
		iopt_count_area(iopt, area, -1);
		iopt_pages_put(area->pages);
		kfree(area);
	}
	return unmapped;
}

static void iopt_clear_unmapping(struct io_pagetable *iopt,
				 unsigned long start, unsigned long last)
{
	struct iopt_area *area;

	for (area = iopt_first_area(iopt, start, last); area;
	     area = iopt_next_area(area, start, last)) {
		mutex_lock(&area->pages->mutex);
		area->unmapping = false;
		mutex_unlock(&area->pages->mutex);
	}
}

/*
 * VFIO type1 v1: what an unmap of [start, *last] takes. Nothing when the
 * first area it meets begins before @start; otherwise every area that
 * begins inside it, whole, so *last is moved to the end of the last of
 * them when that lies further. Returns false when nothing is taken.
 */
static bool iopt_v1_extent(struct io_pagetable *iopt, unsigned long start,
			   unsigned long *last)
{
	struct iopt_area *area, *final;

	area = iopt_first_area(iopt, start, *last);
	if (!area || area->node.start < start)
		return false;
	for (final = area; area; area = iopt_next_area(area, start, *last))
		final = area;
	*last = max(*last, final->node.last);
	return true;
}

/**
 * struct iopt_unmap_dirty - where an unmap reports the dirty bits it takes
 * @gen: as for iopt_dirty_read_all()
 * @data: the user bitmap, a bit per page of the whole unmap range
 */
struct iopt_unmap_dirty {
	u64 gen;
	u64 __user *data;
};

static int iopt_dirty_read_locked(struct io_pagetable *iopt,
				  unsigned long iova, unsigned long length,
				  u64 gen, bool clear, u64 __user *data);

/*
 * Unmap every area inside [start, last]. An area crossing either end makes
 * the whole call fail; holes between areas are fine. With @map_id, every
 * area must be of that map, or nothing is done. With IOPT_UNMAP_V1 the
 * range is first chosen as type1 v1 does (iopt_v1_extent()), so no area
 * crosses its ends. Areas with access pins are announced to the accesses,
 * one at a time, and the unmap starts over once they have let go; an access
 * that keeps its pins makes it fail. Between two passes the area may have
 * been unmapped and the range mapped and pinned again by other threads: a
 * new area (another map_id) is announced as well, not taken for a pin the
 * accesses kept.
 *
 * With @dirty the range's dirty bits are read into the user's bitmap under
 * the same hold of the locks as the areas are removed, so no other map or
 * unmap comes in between: the bitmap tells about exactly what this call
 * unmaps. If the read fails, nothing is unmapped.
 */
static int iopt_unmap_range(struct io_pagetable *iopt, unsigned long start,
			    unsigned long req_last, unsigned int how,
			    u64 map_id, const struct iopt_unmap_dirty *dirty,
			    unsigned long *unmapped)
{
	unsigned long notified_start = 0, notified_last = 0, last;
	unsigned long unpinned = 0;
	struct iopt_area *area;
	u64 notified_id = 0;
	bool notified = false;
	int rc;

again:
	down_read(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);

	last = req_last;
	area = iopt_first_area(iopt, start, last);
	if (!area || ((how & IOPT_UNMAP_V1) &&
		      !iopt_v1_extent(iopt, start, &last))) {
		*unmapped = 0;
		rc = (how & IOPT_UNMAP_EMPTY_OK) ? 0 : -ENOENT;
		/* Nothing mapped there: the bitmap reads all clear */
		if (!rc && dirty)
			rc = iopt_dirty_read_locked(iopt, start,
						    last - start + 1, 0, false,
						    dirty->data);
		goto out_clear;
	}
	for (; area; area = iopt_next_area(area, start, last)) {
		if (area->node.start < start || area->node.last > last ||
		    (map_id && area->map_id != map_id)) {
			rc = -ENOENT;
			goto out_clear;
		}
	}

	area = iopt_first_pinned_area(iopt, start, last);
	if (area) {
		unsigned long astart = area->node.start;
		unsigned long alast = area->node.last;

		if (notified && area->map_id == notified_id &&
		    astart == notified_start && alast == notified_last) {
			/* Told once already, and the pins are still there */
			rc = -EBUSY;
			goto out_clear;
		}
		notified_id = area->map_id;
		up_write(&iopt->iova_rwsem);
		iopt_notify_accesses(iopt, astart, alast);
		up_read(&iopt->domains_rwsem);
		notified = true;
		notified_start = astart;
		notified_last = alast;
		goto again;
	}

	if (dirty) {
		/* Without clearing: if this fails, the domains keep the bits */
		rc = iopt_dirty_read_locked(iopt, start, last - start + 1,
					    dirty->gen, false, dirty->data);
		if (rc)
			goto out_clear;
	}
	*unmapped = iopt_remove_areas(iopt, start, last, &unpinned);
	rc = 0;
	goto out_unlock;

out_clear:
	if (notified)
		iopt_clear_unmapping(iopt, start, max(last, notified_last));
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_rwsem);
	trace_iommufd_unmap(iopt_ioas_id(iopt), start, req_last,
			    rc ? 0 : *unmapped, unpinned, rc);
	return rc;
}

/**
 * iopt_unmap() - unmap the areas inside an IOVA range
 * @iopt: the table
 * @iova: first IOVA
 * @length: bytes
 * @empty_ok: a range with no area in it unmaps nothing instead of failing
 *            (VFIO type1v2 semantics)
 * @unmapped: out: bytes unmapped
 *
 * Context: Process context.
 * Return: 0; -ENOENT if an area crosses an edge of the range, or no area
 * lies inside it and !@empty_ok; -EBUSY if accesses keep pins in it;
 * -EOVERFLOW.
 */
int iopt_unmap(struct io_pagetable *iopt, unsigned long iova,
	       unsigned long length, bool empty_ok, unsigned long *unmapped)
{
	unsigned long last;
	int rc;

	rc = iopt_user_range_last(iova, length, &last);
	if (rc)
		return rc;
	return iopt_unmap_range(iopt, iova, last,
				empty_ok ? IOPT_UNMAP_EMPTY_OK : 0, 0, NULL,
				unmapped);
}

/**
 * iopt_unmap_dirty() - unmap, and report what was dirty in what went
 * @iopt: the table
 * @iova: first IOVA, page aligned
 * @length: bytes, whole pages
 * @gen: as for iopt_dirty_read_all()
 * @data: the user bitmap, a bit per page, in u64s, room checked by the
 *        caller
 * @unmapped: out: bytes unmapped
 *
 * VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP: iopt_unmap() with @empty_ok, whose
 * areas have their dirty bits written to @data first, as
 * iopt_dirty_read_all() reads them, in one step with the unmap (see
 * iopt_unmap_range()). A page the device dirties after the read and before
 * its IOPTE is gone is not reported: stop the device's DMA first. As with
 * type1, accesses with pins in the range are told to unpin before the
 * bitmap is written: if that write fails, the mapping stays, and they
 * have let go of it.
 *
 * Context: Process context.
 * Return: as iopt_unmap(), or an error of the read (then nothing is
 * unmapped).
 */
int iopt_unmap_dirty(struct io_pagetable *iopt, unsigned long iova,
		     unsigned long length, u64 gen, u64 __user *data,
		     unsigned long *unmapped)
{
	struct iopt_unmap_dirty dirty = { .gen = gen, .data = data };
	unsigned long last;
	int rc;

	rc = iopt_user_range_last(iova, length, &last);
	if (rc)
		return rc;
	return iopt_unmap_range(iopt, iova, last, IOPT_UNMAP_EMPTY_OK, 0,
				&dirty, unmapped);
}

/**
 * iopt_unmap_v1() - unmap as VFIO type1 v1 does
 * @iopt: the table
 * @iova: first IOVA
 * @length: bytes
 * @unmapped: out: bytes unmapped
 *
 * Type1 v1 never cuts a mapping: when the range starts inside an area
 * nothing is unmapped (and that is no error), otherwise every area that
 * starts inside the range is unmapped whole, even where it reaches past the
 * range's end. *@unmapped tells what really went. Large IOPTEs are never
 * split, so v1 may map with them.
 *
 * Context: Process context.
 * Return: 0; -EBUSY if accesses keep pins in it; -EOVERFLOW.
 */
int iopt_unmap_v1(struct io_pagetable *iopt, unsigned long iova,
		  unsigned long length, unsigned long *unmapped)
{
	unsigned long last;
	int rc;

	rc = iopt_user_range_last(iova, length, &last);
	if (rc)
		return rc;
	return iopt_unmap_range(iopt, iova, last,
				IOPT_UNMAP_EMPTY_OK | IOPT_UNMAP_V1, 0, NULL,
				unmapped);
}

/**
 * iopt_undo_map() - take back a mapping just made, if it is still there
 * @iopt: the table
 * @iova: its first IOVA
 * @length: its length
 * @map_id: what the map returned
 *
 * For an ioctl that mapped but could not tell userspace so. Another thread
 * may have unmapped the range and mapped something else there meanwhile:
 * then nothing of that is touched.
 *
 * Context: Process context.
 */
void iopt_undo_map(struct io_pagetable *iopt, unsigned long iova,
		   unsigned long length, u64 map_id)
{
	unsigned long unmapped;

	iopt_unmap_range(iopt, iova, iova + length - 1, IOPT_UNMAP_EMPTY_OK,
			 map_id, NULL, &unmapped);
}

/**
 * iopt_unmap_everything() - unmap every area
 * @iopt: the table
 * @unmapped: out: bytes unmapped (may be NULL)
 *
 * An empty table is not an error: there is simply nothing to do.
 *
 * Context: Process context.
 * Return: 0, or -EBUSY if accesses keep pins.
 */
int iopt_unmap_everything(struct io_pagetable *iopt, unsigned long *unmapped)
{
	unsigned long done = 0;
	int rc;

	rc = iopt_unmap_range(iopt, 0, ULONG_MAX, IOPT_UNMAP_EMPTY_OK, 0, NULL,
			      &done);
	if (unmapped)
		*unmapped = done;
	return rc;
}

/*
 * The areas an unmap of [start, *last] with @how would take, checked: v2
 * (no IOPT_UNMAP_V1) refuses a range that cuts an area. Returns the first,
 * NULL for none, or an ERR_PTR.
 */
static struct iopt_area *iopt_unmap_pick(struct io_pagetable *iopt,
					 unsigned long start,
					 unsigned long *last, unsigned int how)
{
	struct iopt_area *area, *first;

	lockdep_assert_held(&iopt->iova_rwsem);

	if ((how & IOPT_UNMAP_V1) && !iopt_v1_extent(iopt, start, last))
		return NULL;
	first = iopt_first_area(iopt, start, *last);
	for (area = first; area; area = iopt_next_area(area, start, *last))
		if (area->node.start < start || area->node.last > *last)
			return ERR_PTR(-ENOENT);
	return first;
}

/**
 * iopt_invalidate_vaddr() - VFIO_DMA_UNMAP_FLAG_VADDR
 * @iopt: the table
 * @iova: first IOVA
 * @length: bytes; ULONG_MAX with @iova 0 for every area
 * @how: IOPT_UNMAP_V1 to pick the areas as a type1 v1 unmap would
 * @done: out: bytes of the areas whose address is now invalid
 *
 * Takes the user address away from the memory of every area an unmap of
 * the range would remove, and removes nothing: mappings, pins and IOPTEs
 * stay until iopt_set_vaddr() gives each area an address again, or it is
 * unmapped. All areas or none: if one has no address to take (file memory,
 * or taken already), the others get theirs back.
 *
 * Context: Process context.
 * Return: 0; -EBUSY while accesses are attached (they could not pin or
 * copy); -ENOENT if the range cuts an area (v2); -EINVAL; -EOVERFLOW.
 */
int iopt_invalidate_vaddr(struct io_pagetable *iopt, unsigned long iova,
			  unsigned long length, unsigned int how,
			  unsigned long *done)
{
	struct iopt_area *area, *first, *failed = NULL;
	unsigned long last;
	int rc;

	/* Everything, as the doc says: up to and including ULONG_MAX */
	if (!iova && length == ULONG_MAX) {
		last = ULONG_MAX;
	} else {
		rc = iopt_user_range_last(iova, length, &last);
		if (rc)
			return rc;
	}

	*done = 0;
	/* Against iopt_register_access(), which holds it for write */
	guard(rwsem_read)(&iopt->domains_rwsem);
	guard(rwsem_write)(&iopt->iova_rwsem);
	if (!xa_empty(&iopt->access_list))
		return -EBUSY;
	first = iopt_unmap_pick(iopt, iova, &last, how);
	if (IS_ERR_OR_NULL(first))
		return PTR_ERR_OR_ZERO(first);

	for (area = first; area; area = iopt_next_area(area, iova, last)) {
		if (iopt_pages_invalidate_uptr(area->pages)) {
			failed = area;
			break;
		}
		*done += iopt_area_bytes(area);
	}
	if (!failed)
		return 0;
	for (area = first; area != failed;
	     area = iopt_next_area(area, iova, last))
		iopt_pages_revalidate_uptr(area->pages);
	*done = 0;
	return -EINVAL;
}

/**
 * iopt_set_vaddr() - VFIO_DMA_MAP_FLAG_VADDR
 * @iopt: the table
 * @iova: first IOVA of the area
 * @length: its length: the area must be exactly [@iova, @iova + @length)
 * @uptr: the new user address of its first byte
 *
 * Context: Process context with a user mm.
 * Return: 0; -ENOENT if nothing is mapped in the range; -EINVAL if the
 * range is not exactly one area, its address is valid, or @uptr does not
 * sit in its page as the old address did; -ENOMEM (see
 * iopt_pages_set_uptr()); -EOVERFLOW.
 */
int iopt_set_vaddr(struct io_pagetable *iopt, unsigned long iova,
		   unsigned long length, void __user *uptr)
{
	struct iopt_area *area;
	unsigned long last;
	int rc;

	rc = iopt_user_range_last(iova, length, &last);
	if (rc)
		return rc;

	guard(rwsem_read)(&iopt->iova_rwsem);
	area = iopt_first_area(iopt, iova, last);
	if (!area)
		return -ENOENT;
	if (area->node.start != iova || area->node.last != last ||
	    (unsigned long)uptr < area->pages_offset)
		return -EINVAL;
	return iopt_pages_set_uptr(area->pages, uptr - area->pages_offset);
}

/* Has any area's memory lost its user address (iopt_invalidate_vaddr())? */
static bool iopt_vaddr_invalid(struct io_pagetable *iopt)
{
	struct iopt_area *area;

	lockdep_assert_held(&iopt->iova_rwsem);

	for (area = iopt_first_area(iopt, 0, ULONG_MAX); area;
	     area = iopt_next_area(area, 0, ULONG_MAX))
		if (READ_ONCE(area->pages->uptr_invalid))
			return true;
	return false;
}

/**
 * iopt_set_allowed_ranges() - replace the allowed ranges
 * @iopt: the table
 * @allowed_iova: tree of struct iopt_allowed; on success it receives the
 *                ranges that were replaced, for the caller to free
 *
 * An allowed range may not cover reserved IOVA. Existing areas stay where
 * they are; the ranges only steer future mappings.
 *
 * Context: Process context.
 * Return: 0 or -EADDRINUSE.
 */
int iopt_set_allowed_ranges(struct io_pagetable *iopt,
			    struct rb_root_cached *allowed_iova)
{
	struct interval_tree_node *node;
	struct rb_root_cached old;
	int rc = 0;

	down_write(&iopt->iova_rwsem);
	for (node = interval_tree_iter_first(allowed_iova, 0, ULONG_MAX); node;
	     node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		if (iopt_range_used(&iopt->reserved_itree, node->start,
				    node->last)) {
			rc = -EADDRINUSE;
			goto out_unlock;
		}
	}
	old = iopt->allowed_itree;
	iopt->allowed_itree = *allowed_iova;
	*allowed_iova = old;
out_unlock:
	up_write(&iopt->iova_rwsem);
	return rc;
}

static int __iopt_reserve_range(struct io_pagetable *iopt, unsigned long start,
				unsigned long last, void *owner)
{
	struct iopt_reserved *resv;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	/* Neither mapped nor promised to userspace as usable */
	if (iopt_range_used(&iopt->allowed_itree, start, last) ||
	    iopt_range_used(&iopt->area_itree, start, last))
		return -EADDRINUSE;

	resv = kmalloc(sizeof(*resv), GFP_KERNEL_ACCOUNT);
	if (!resv)
		return -ENOMEM;
	*resv = (struct iopt_reserved){
		.node = { .start = start, .last = last },
		.owner = owner,
	};
	interval_tree_insert(&resv->node, &iopt->reserved_itree);
	return 0;
}

static void __iopt_unreserve_owner(struct io_pagetable *iopt, void *owner)
{
	struct interval_tree_node *node, *next;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	for (node = interval_tree_iter_first(&iopt->reserved_itree, 0,
					     ULONG_MAX);
	     node; node = next) {
		struct iopt_reserved *resv =
			container_of(node, struct iopt_reserved, node);

		next = interval_tree_iter_next(node, 0, ULONG_MAX);
		if (resv->owner == owner) {
			interval_tree_remove(node, &iopt->reserved_itree);
			kfree(resv);
		}
	}
}

/**
 * iopt_reserve_range() - forbid an IOVA range to areas
 * @iopt: the table
 * @start: first IOVA
 * @last: last IOVA
 * @owner: tag for iopt_unreserve_owner()
 *
 * Context: Process context.
 * Return: 0, -EADDRINUSE if an area already uses the range, or -ENOMEM.
 */
int iopt_reserve_range(struct io_pagetable *iopt, unsigned long start,
		       unsigned long last, void *owner)
{
	int rc;

	down_write(&iopt->iova_rwsem);
	rc = __iopt_reserve_range(iopt, start, last, owner);
	up_write(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_unreserve_owner() - drop every range @owner reserved
 * @iopt: the table
 * @owner: as passed to iopt_reserve_range()
 *
 * Context: Process context.
 */
void iopt_unreserve_owner(struct io_pagetable *iopt, void *owner)
{
	down_write(&iopt->iova_rwsem);
	__iopt_unreserve_owner(iopt, owner);
	up_write(&iopt->iova_rwsem);
}

/**
 * iopt_walk_usable_ranges() - walk the IOVA ranges areas may use
 * @iopt: the table
 * @fn: called for each maximal range, in increasing order; a non-zero
 *      return stops the walk and is returned
 * @opaque: passed to @fn
 *
 * Usable means not reserved; areas already mapped do not count. The allowed
 * ranges are a promise that they stay usable, not a limit.
 *
 * Context: Process context.
 * Return: 0 or the first non-zero return of @fn.
 */
int iopt_walk_usable_ranges(struct io_pagetable *iopt,
			    int (*fn)(void *opaque, unsigned long start,
				      unsigned long last),
			    void *opaque)
{
	struct interval_tree_span_iter resv;
	int rc = 0;

	down_read(&iopt->iova_rwsem);
	interval_tree_for_each_span(&resv, &iopt->reserved_itree, 0,
				    ULONG_MAX) {
		if (!resv.is_hole)
			continue;
		rc = fn(opaque, resv.start_hole, resv.last_hole);
		if (rc)
			break;
	}
	up_read(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_iova_alignment() - the alignment every new area must have
 * @iopt: the table
 *
 * Context: Process context.
 * Return: a power of two, in bytes; it may grow as domains and accesses
 * join.
 */
unsigned long iopt_iova_alignment(struct io_pagetable *iopt)
{
	guard(rwsem_read)(&iopt->iova_rwsem);
	return iopt->iova_alignment;
}

/* The smallest IOVA granule of a domain */
static unsigned long iopt_domain_granule(struct iommu_domain *domain)
{
	return 1UL << __ffs(domain->pgsize_bitmap);
}

/* Recompute the alignment from the domains and accesses left */
static void iopt_update_alignment(struct io_pagetable *iopt)
{
	unsigned long align = 1;
	struct iommufd_access *access;
	unsigned long index;
	unsigned int i;

	lockdep_assert_held_write(&iopt->domains_rwsem);
	lockdep_assert_held_write(&iopt->iova_rwsem);

	if (iopt->disable_large_pages)
		align = PAGE_SIZE;
	for (i = 0; i != iopt->next_domain_id; i++)
		align = max(align, iopt_domain_granule(iopt_domain(iopt, i)));
	xa_for_each(&iopt->access_list, index, access)
		align = max(align, iommufd_access_iova_alignment(access));
	/* Also read without the lock, by the dirty bitmap ioctl */
	WRITE_ONCE(iopt->iova_alignment, align);
}

/* Can every area live with @align and inside [aperture_start, end]? */
static int iopt_check_areas_fit(struct io_pagetable *iopt, unsigned long align,
				unsigned long aperture_start,
				unsigned long aperture_end)
{
	struct iopt_area *area;

	for (area = iopt_first_area(iopt, 0, ULONG_MAX); area;
	     area = iopt_next_area(area, 0, ULONG_MAX)) {
		if ((area->node.start | (area->node.last + 1) |
		     area->pages_offset) & (align - 1))
			return -EADDRINUSE;
		if (area->node.start < aperture_start ||
		    area->node.last > aperture_end)
			return -EADDRINUSE;
	}
	return 0;
}

/* Reserve what lies outside the domain's aperture */
static int iopt_reserve_outside_aperture(struct io_pagetable *iopt,
					 struct iommu_domain *domain)
{
	unsigned long start = domain->geometry.aperture_start;
	unsigned long end = domain->geometry.aperture_end;
	int rc;

	if (start) {
		rc = __iopt_reserve_range(iopt, 0, start - 1, domain);
		if (rc)
			return rc;
	}
	if (end != ULONG_MAX) {
		rc = __iopt_reserve_range(iopt, end + 1, ULONG_MAX, domain);
		if (rc) {
			__iopt_unreserve_owner(iopt, domain);
			return rc;
		}
	}
	return 0;
}

/* Pin (if first) and map every area into @domain; all or nothing */
static int iopt_fill_new_domain(struct io_pagetable *iopt,
				struct iommu_domain *domain)
{
	struct iopt_area *area, *done;
	bool first = !iopt->next_domain_id;
	unsigned long pinned, runs = 0;
	int rc = 0;

	for (area = iopt_first_area(iopt, 0, ULONG_MAX); area;
	     area = iopt_next_area(area, 0, ULONG_MAX)) {
		if (first) {
			rc = iopt_area_pin_for_domains(area, &pinned);
			if (rc)
				break;
		}
		rc = iopt_area_map_domain(area, domain,
					  iopt->disable_large_pages, &runs);
		if (rc) {
			if (first)
				iopt_area_unpin_for_domains(area);
			break;
		}
		if (first)
			area->in_domains = true;
	}
	if (!rc)
		return 0;

	for (done = iopt_first_area(iopt, 0, ULONG_MAX); done;
	     done = iopt_next_area(done, 0, ULONG_MAX)) {
		struct iommu_iotlb_gather gather;

		if (done == area)
			break;
		iommu_iotlb_gather_init(&gather);
		iopt_area_clear_domain(done, domain, &gather);
		iommu_iotlb_sync(domain, &gather);
		if (first) {
			iopt_area_unpin_for_domains(done);
			done->in_domains = false;
		}
	}
	return rc;
}

/**
 * iopt_attach_domain() - make a domain mirror the table
 * @iopt: the table
 * @domain: a paging domain not yet in any table
 *
 * Every area is mapped into @domain; the first domain of a table also pins
 * the memory. The IOVA outside the domain's aperture becomes reserved.
 *
 * Context: Process context.
 * Return: 0; -EADDRINUSE if an area is misaligned for the domain or lies
 * outside its aperture; -ENOMEM; or an error from pinning or mapping. On
 * failure nothing changed.
 */
int iopt_attach_domain(struct io_pagetable *iopt,
		       struct iommu_domain *domain)
{
	unsigned long granule = iopt_domain_granule(domain);
	struct iopt_area *area;
	unsigned int idx;
	int rc;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);

	idx = iopt->next_domain_id;
	/* Areas are pinned in PAGE_SIZE units: bigger granules can't follow */
	if (granule > PAGE_SIZE) {
		rc = -EINVAL;
		goto out_unlock;
	}
	rc = iopt_check_areas_fit(iopt, granule,
				  domain->geometry.aperture_start,
				  domain->geometry.aperture_end);
	if (rc)
		goto out_unlock;
	/* Claim the slot first: nothing may fail after the mapping */
	rc = xa_reserve(&iopt->domains, idx, GFP_KERNEL_ACCOUNT);
	if (rc)
		goto out_unlock;
	rc = iopt_reserve_outside_aperture(iopt, domain);
	if (rc)
		goto err_release;
	rc = iopt_fill_new_domain(iopt, domain);
	if (rc)
		goto err_unreserve;

	xa_store(&iopt->domains, idx, domain, GFP_KERNEL);
	iopt->next_domain_id++;
	iopt->domains_gen = atomic64_inc_return(&iopt_last_domains_gen);
	iopt_update_alignment(iopt);
	/* The first domain keeps the PFNs for us, where it can */
	if (!idx)
		for (area = iopt_first_area(iopt, 0, ULONG_MAX); area;
		     area = iopt_next_area(area, 0, ULONG_MAX))
			iopt_area_keep_pfns(area);
	goto out_unlock;

err_unreserve:
	__iopt_unreserve_owner(iopt, domain);
err_release:
	xa_release(&iopt->domains, idx);
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return rc;
}

/**
 * iopt_detach_domain() - stop mirroring the table into a domain
 * @iopt: the table
 * @domain: a domain added with iopt_attach_domain()
 *
 * Unmaps everything from @domain; the last domain also unpins the memory
 * that no access holds.
 *
 * Context: Process context.
 */
void iopt_detach_domain(struct io_pagetable *iopt,
			struct iommu_domain *domain)
{
	struct iommu_iotlb_gather gather;
	struct iopt_area *area;
	unsigned int idx, last;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);

	for (idx = 0; idx != iopt->next_domain_id; idx++)
		if (iopt_domain(iopt, idx) == domain)
			break;
	if (WARN_ON_ONCE(idx == iopt->next_domain_id))
		goto out_unlock;
	last = iopt->next_domain_id - 1;

	/* The domain that takes the first slot keeps the PFNs from now on */
	if (!idx && last)
		for (area = iopt_first_area(iopt, 0, ULONG_MAX); area;
		     area = iopt_next_area(area, 0, ULONG_MAX))
			iopt_area_move_keeper(area, domain,
					      iopt_domain(iopt, last));

	/* A last domain that keeps PFNs is cleared by the unpinning below */
	iommu_iotlb_gather_init(&gather);
	for (area = iopt_first_area(iopt, 0, ULONG_MAX); area;
	     area = iopt_next_area(area, 0, ULONG_MAX))
		iopt_area_clear_domain(area, domain, &gather);
	iommu_iotlb_sync(domain, &gather);

	/*
	 * Keep the array dense: the last domain takes the freed slot, with
	 * its dirty tracking state, in one step for iopt_dirty_tracking()
	 */
	xa_lock(&iopt->domains);
	__xa_store(&iopt->domains, idx, iopt_domain(iopt, last), GFP_ATOMIC);
	if (xa_get_mark(&iopt->domains, last, IOPT_DOMAIN_DIRTY))
		__xa_set_mark(&iopt->domains, idx, IOPT_DOMAIN_DIRTY);
	else
		__xa_clear_mark(&iopt->domains, idx, IOPT_DOMAIN_DIRTY);
	__xa_erase(&iopt->domains, last);
	xa_unlock(&iopt->domains);
	iopt->next_domain_id--;

	if (!iopt->next_domain_id) {
		for (area = iopt_first_area(iopt, 0, ULONG_MAX); area;
		     area = iopt_next_area(area, 0, ULONG_MAX)) {
			iopt_area_unpin_for_domains(area);
			area->in_domains = false;
		}
	}
	__iopt_unreserve_owner(iopt, domain);
	iopt_update_alignment(iopt);
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
}

/**
 * iopt_pgsize_bitmap() - the IOPTE sizes every mapping of the table may use
 * @iopt: the table
 *
 * The page sizes all the domains support, as whole CPU pages (a domain's
 * sub-page sizes count as PAGE_SIZE), or PAGE_SIZE alone when large pages
 * are disabled. With no domain, any size.
 *
 * Context: Process context. Takes the domains_rwsem for reading.
 * Return: a bitmap of page sizes, PAGE_SIZE always among them.
 */
u64 iopt_pgsize_bitmap(struct io_pagetable *iopt)
{
	u64 pgsizes = ~0ULL;
	unsigned int i;

	guard(rwsem_read)(&iopt->domains_rwsem);
	if (READ_ONCE(iopt->disable_large_pages))
		return PAGE_SIZE;
	for (i = 0; i != iopt->next_domain_id; i++)
		pgsizes &= iopt_domain(iopt, i)->pgsize_bitmap;
	return (pgsizes & PAGE_MASK) | PAGE_SIZE;
}

/**
 * iopt_forbid_huge_pages() - map PAGE_SIZE IOPTEs only from now on
 * @iopt: the table
 *
 * Mappings then also need PAGE_SIZE alignment, so that any page boundary
 * can later become an unmap boundary.
 *
 * Context: Process context.
 * Return: 0; -EINVAL while domains hold mappings (they would keep their
 * large IOPTEs); -EADDRINUSE if an area is not PAGE_SIZE aligned.
 */
int iopt_forbid_huge_pages(struct io_pagetable *iopt)
{
	int rc;

	guard(rwsem_write)(&iopt->domains_rwsem);
	guard(rwsem_write)(&iopt->iova_rwsem);
	if (iopt->disable_large_pages)
		return 0;
	if (iopt->next_domain_id && !RB_EMPTY_ROOT(&iopt->area_itree.rb_root))
		return -EINVAL;
	rc = iopt_check_areas_fit(iopt, PAGE_SIZE, 0, ULONG_MAX);
	if (rc)
		return rc;
	/* Paired with the lockless READ_ONCE() of the ioctl paths */
	WRITE_ONCE(iopt->disable_large_pages, true);
	iopt_update_alignment(iopt);
	return 0;
}

/**
 * iopt_allow_huge_pages() - allow large IOPTEs again
 * @iopt: the table
 *
 * Existing mappings keep their IOPTEs; new ones may use large pages.
 *
 * Context: Process context.
 */
void iopt_allow_huge_pages(struct io_pagetable *iopt)
{
	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	WRITE_ONCE(iopt->disable_large_pages, false);
	iopt_update_alignment(iopt);
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
}

/**
 * iopt_has_accesses() - is an access (an emulated device) attached?
 * @iopt: the table
 *
 * Context: Process context. Takes the domains_rwsem for reading.
 * Return: true if at least one access is attached.
 */
bool iopt_has_accesses(struct io_pagetable *iopt)
{
	guard(rwsem_read)(&iopt->domains_rwsem);
	return !xa_empty(&iopt->access_list);
}

/**
 * iopt_register_access() - attach an access to the table
 * @iopt: the table
 * @access: the access
 *
 * Context: Process context.
 * Return: 0, -EADDRINUSE if an area does not fit the access's alignment,
 * -EBUSY while the memory of an area has no valid user address
 * (VFIO_DMA_UNMAP_FLAG_VADDR), or -ENOMEM.
 */
int iopt_register_access(struct io_pagetable *iopt, struct iommufd_access *access)
{
	unsigned long align = iommufd_access_iova_alignment(access);
	u32 id;
	int rc;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	/* Type1 has no emulated device while a vaddr is invalid, nor do we */
	if (iopt_vaddr_invalid(iopt)) {
		rc = -EBUSY;
		goto out_unlock;
	}
	rc = iopt_check_areas_fit(iopt, align, 0, ULONG_MAX);
	if (rc)
		goto out_unlock;
	rc = xa_alloc(&iopt->access_list, &id, access, xa_limit_32b,
		      GFP_KERNEL_ACCOUNT);
	if (rc)
		goto out_unlock;
	iommufd_access_set_iopt_id(access, id);
	atomic_inc(&iopt->stat_accesses);
	iopt_update_alignment(iopt);
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return rc;
}

/**
 * iopt_unregister_access() - detach an access that holds no pins
 * @iopt: the table
 * @access: the access
 *
 * Context: Process context.
 */
void iopt_unregister_access(struct io_pagetable *iopt,
			    struct iommufd_access *access)
{
	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	WARN_ON_ONCE(xa_erase(&iopt->access_list,
			      iommufd_access_iopt_id(access)) != access);
	atomic_dec(&iopt->stat_accesses);
	iopt_update_alignment(iopt);
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
}

/*
 * Check that [iova, last] is covered by areas without holes, every one
 * allowing @prot, and return the first.
 */
static struct iopt_area *iopt_covering_areas(struct io_pagetable *iopt,
					     unsigned long iova,
					     unsigned long last, int prot)
{
	struct iopt_area *area, *first;
	unsigned long expect = iova;

	lockdep_assert_held(&iopt->iova_rwsem);

	first = iopt_first_area(iopt, iova, last);
	for (area = first; area; area = iopt_next_area(area, iova, last)) {
		if (area->node.start > expect)
			return ERR_PTR(-ENOENT);
		if ((area->iommu_prot & prot) != prot)
			return ERR_PTR(-EPERM);
		if (area->node.last >= last)
			return first;
		expect = area->node.last + 1;
	}
	return ERR_PTR(-ENOENT);
}

/* Page indexes of [iova, last] clipped to @area */
static void iopt_area_index_range(struct iopt_area *area, unsigned long iova,
				  unsigned long last, unsigned long *first_index,
				  unsigned long *last_index)
{
	unsigned long from = max(iova, area->node.start);
	unsigned long to = min(last, area->node.last);

	*first_index = (area->pages_offset + from - area->node.start) >>
		       PAGE_SHIFT;
	*last_index = (area->pages_offset + to - area->node.start) >>
		      PAGE_SHIFT;
}

static void iopt_access_unpin_areas(struct io_pagetable *iopt,
				    unsigned long iova, unsigned long last,
				    struct iopt_area *stop)
{
	struct iopt_area *area;

	for (area = iopt_first_area(iopt, iova, last); area;
	     area = iopt_next_area(area, iova, last)) {
		unsigned long first_index, last_index;

		if (area == stop)
			break;
		iopt_area_index_range(area, iova, last, &first_index,
				      &last_index);
		iopt_pages_access_unpin(area->pages, first_index, last_index);
		mutex_lock(&area->pages->mutex);
		area->num_accesses--;
		mutex_unlock(&area->pages->mutex);
	}
}

/**
 * iopt_access_pin_pages() - pin the pages behind an IOVA range
 * @iopt: the table
 * @iova: first IOVA, page aligned
 * @length: bytes, a multiple of PAGE_SIZE
 * @out_pages: receives one struct page per PAGE_SIZE of IOVA
 * @flags: IOMMUFD_ACCESS_RW_WRITE if the pages will be written
 *
 * Context: Process context.
 * Return: 0; -ENOENT if part of the range is not mapped; -EPERM for a write
 * pin of read-only memory; -EINVAL if the IOVA does not start pages; -EBUSY
 * while the range is being unmapped; or a pinning error.
 */
int iopt_access_pin_pages(struct io_pagetable *iopt, unsigned long iova,
			  unsigned long length, struct page **out_pages,
			  unsigned int flags)
{
	int prot = flags & IOMMUFD_ACCESS_RW_WRITE ? IOMMU_WRITE : IOMMU_READ;
	struct iopt_area *area, *first;
	unsigned long last;
	int rc = 0;

	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;

	down_read(&iopt->iova_rwsem);
	first = iopt_covering_areas(iopt, iova, last, prot);
	if (IS_ERR(first)) {
		rc = PTR_ERR(first);
		goto out_unlock;
	}
	for (area = first; area; area = iopt_next_area(area, iova, last)) {
		unsigned long first_index, last_index;
		unsigned long from = max(iova, area->node.start);

		if ((area->pages_offset + from - area->node.start) %
		    PAGE_SIZE) {
			rc = -EINVAL;
			break;
		}
		mutex_lock(&area->pages->mutex);
		if (area->unmapping)
			rc = -EBUSY;
		else
			area->num_accesses++;
		mutex_unlock(&area->pages->mutex);
		if (rc)
			break;

		iopt_area_index_range(area, iova, last, &first_index,
				      &last_index);
		rc = iopt_pages_access_pin(area->pages, first_index,
					   last_index, out_pages);
		if (rc) {
			mutex_lock(&area->pages->mutex);
			area->num_accesses--;
			mutex_unlock(&area->pages->mutex);
			break;
		}
		out_pages += last_index - first_index + 1;
	}
	if (rc)
		iopt_access_unpin_areas(iopt, iova, last, area);
out_unlock:
	up_read(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_access_unpin_pages() - undo iopt_access_pin_pages()
 * @iopt: the table
 * @iova: as pinned
 * @length: as pinned
 *
 * Context: Process context.
 */
void iopt_access_unpin_pages(struct io_pagetable *iopt, unsigned long iova,
			     unsigned long length)
{
	unsigned long last;

	if (WARN_ON_ONCE(check_add_overflow(iova, length - 1, &last)))
		return;
	down_read(&iopt->iova_rwsem);
	iopt_access_unpin_areas(iopt, iova, last, NULL);
	up_read(&iopt->iova_rwsem);
}

/**
 * iopt_access_rw() - copy between a kernel buffer and IOVA
 * @iopt: the table
 * @iova: first IOVA
 * @data: kernel buffer
 * @length: bytes
 * @flags: IOMMUFD_ACCESS_RW_* flags
 *
 * Context: Process context.
 * Return: 0; -ENOENT if part of the range is not mapped; -EPERM writing to
 * read-only memory; or a copy error.
 */
int iopt_access_rw(struct io_pagetable *iopt, unsigned long iova, void *data,
		   unsigned long length, unsigned int flags)
{
	int prot = flags & IOMMUFD_ACCESS_RW_WRITE ? IOMMU_WRITE : IOMMU_READ;
	struct iopt_area *area, *first;
	unsigned long last;
	int rc = 0;

	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;

	down_read(&iopt->iova_rwsem);
	first = iopt_covering_areas(iopt, iova, last, prot);
	if (IS_ERR(first)) {
		rc = PTR_ERR(first);
		goto out_unlock;
	}
	for (area = first; area && !rc;
	     area = iopt_next_area(area, iova, last)) {
		unsigned long from = max(iova, area->node.start);
		unsigned long to = min(last, area->node.last);

		rc = iopt_pages_rw(area->pages,
				   area->pages_offset + from - area->node.start,
				   data, to - from + 1, flags);
		data += to - from + 1;
	}
out_unlock:
	up_read(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_reserve_dev_regions() - reserve a device's reserved IOVA
 * @iopt: the table the device is about to use
 * @dev: the device; its ranges are reserved with @dev as the owner
 * @sw_msi_start: in/out: base of the software MSI window, if it has one
 *
 * Context: Process context.
 * Return: 0, -EADDRINUSE if a range is already mapped, or -ENOMEM. On
 * failure nothing of @dev is reserved.
 */
int iopt_reserve_dev_regions(struct io_pagetable *iopt,
			     struct device *dev,
			     phys_addr_t *sw_msi_start)
{
	struct iommu_resv_region *resv;
	LIST_HEAD(regions);
	int rc = 0;

	down_write(&iopt->iova_rwsem);
	iommu_get_resv_regions(dev, &regions);
	list_for_each_entry(resv, &regions, list) {
		/* Only matters to the DMA API: a user domain may map it */
		if (resv->type == IOMMU_RESV_DIRECT_RELAXABLE)
			continue;
		if (resv->type == IOMMU_RESV_SW_MSI)
			*sw_msi_start = resv->start;
		rc = __iopt_reserve_range(iopt, resv->start,
					  resv->start + resv->length - 1, dev);
		if (rc) {
			__iopt_unreserve_owner(iopt, dev);
			break;
		}
	}
	iommu_put_resv_regions(dev, &regions);
	up_write(&iopt->iova_rwsem);
	return rc;
}

/**
 * struct iopt_dirty_walk - state of a dirty bitmap read
 * @iopt: the table, whose iova_rwsem the reader holds (either way)
 * @domain: the domain to read
 * @flags: IOMMU_DIRTY_NO_CLEAR or 0
 */
struct iopt_dirty_walk {
	struct io_pagetable *iopt;
	struct iommu_domain *domain;
	unsigned long flags;
};

/*
 * Bytes a single read_and_clear_dirty() call may walk: aligned so that it
 * never cuts an IOPTE of the sizes IOMMUs use, small enough that the walk
 * reschedules now and then whatever the bitmap's page size.
 */
#define IOPT_DIRTY_STEP SZ_1G

/*
 * Read (and, without IOMMU_DIRTY_NO_CLEAR in @flags, clear) the dirty bits
 * of [start, last], which one live area maps, in steps of IOPT_DIRTY_STEP
 */
static int iopt_dirty_read_span(struct iommu_domain *domain,
				unsigned long start, unsigned long last,
				unsigned long flags,
				struct iommu_dirty_bitmap *dirty)
{
	const struct iommu_dirty_ops *ops = domain->dirty_ops;
	unsigned long step_last;
	int rc;

	for (;; start = step_last + 1) {
		step_last = min(last, start | (IOPT_DIRTY_STEP - 1));
		rc = ops->read_and_clear_dirty(domain, start,
					       step_last - start + 1, flags,
					       dirty);
		cond_resched();
		if (rc || step_last == last)
			return rc;
	}
}

/*
 * Called for each window of the user bitmap. Only the live areas of the
 * window are read. A busy area is being filled, or unwound after a failed
 * fill, without the iova_rwsem the reader holds, and that may free page
 * tables under a driver's walk; the holes have nothing to tell. This
 * relies on a rule the IOMMU page table drivers keep: a map or unmap of
 * one IOVA range frees no page table that the walk of a disjoint range
 * reaches. A driver records whole IOPTEs, so the bits of a large IOPTE at
 * the edge of an area may still spill past it: over-reporting, never a
 * lost bit. iommu_dirty_bitmap_init() starts the gather afresh, so every
 * window flushes the IOTLB for the bits it cleared before the next one
 * begins.
 */
static int iopt_dirty_window(struct iova_bitmap *bitmap, unsigned long iova,
			     size_t length, void *opaque)
{
	struct iopt_dirty_walk *walk = opaque;
	struct iommu_domain *domain = walk->domain;
	unsigned long last = iova + length - 1;
	struct iommu_iotlb_gather gather;
	struct iommu_dirty_bitmap dirty;
	struct iopt_area *area;
	int rc = 0;

	lockdep_assert_held(&walk->iopt->iova_rwsem);

	iommu_dirty_bitmap_init(&dirty, bitmap, &gather);
	for (area = iopt_first_area(walk->iopt, iova, last); area && !rc;
	     area = iopt_next_area(area, iova, last))
		rc = iopt_dirty_read_span(domain,
					  max(area->node.start, iova),
					  min(area->node.last, last),
					  walk->flags, &dirty);
	iommu_iotlb_sync(domain, &gather);
	return rc;
}

/* Is [iova, last] fully mapped? */
static bool iopt_range_mapped(struct io_pagetable *iopt, unsigned long iova,
			      unsigned long last)
{
	return !IS_ERR(iopt_covering_areas(iopt, iova, last, 0));
}

/**
 * iopt_dirty_read() - report dirty IOVA into a user bitmap
 * @iopt: the table
 * @domain: a domain of the table with dirty tracking
 * @flags: IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR to leave the bits set
 * @cmd: the user's request: range, page size and bitmap address
 *
 * Context: Process context.
 * Return: 0; -EINVAL for a bad range or page size or an unmapped range;
 * -EOPNOTSUPP without dirty tracking; -EFAULT; -ENOMEM.
 */
int iopt_dirty_read(struct io_pagetable *iopt,
		    struct iommu_domain *domain,
		    unsigned long flags,
		    struct iommu_hwpt_get_dirty_bitmap *cmd)
{
	struct iopt_dirty_walk walk = { .iopt = iopt, .domain = domain };
	struct iova_bitmap *bitmap;
	unsigned long last;
	int rc;

	if (!domain->dirty_ops)
		return -EOPNOTSUPP;
	if (!cmd->length || !cmd->page_size ||
	    !is_power_of_2(cmd->page_size) || cmd->page_size > ULONG_MAX ||
	    cmd->iova > ULONG_MAX || cmd->length > ULONG_MAX)
		return -EINVAL;
	if ((cmd->iova | cmd->length) & (cmd->page_size - 1))
		return -EINVAL;
	if ((cmd->iova | cmd->length) & (READ_ONCE(iopt->iova_alignment) - 1))
		return -EINVAL;
	if (check_add_overflow((unsigned long)cmd->iova,
			       (unsigned long)cmd->length - 1, &last))
		return -EOVERFLOW;

	if (flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR)
		walk.flags = IOMMU_DIRTY_NO_CLEAR;

	bitmap = iova_bitmap_alloc(cmd->iova, cmd->length, cmd->page_size,
				   u64_to_user_ptr(cmd->data));
	if (IS_ERR(bitmap))
		return PTR_ERR(bitmap);

	down_read(&iopt->iova_rwsem);
	if (!iopt_range_mapped(iopt, cmd->iova, last)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	rc = iova_bitmap_for_each(bitmap, &walk, iopt_dirty_window);
out_unlock:
	up_read(&iopt->iova_rwsem);
	iova_bitmap_free(bitmap);
	return rc;
}

/*
 * Throw away the dirty bits the domain has collected so far, with one IOTLB
 * flush for all the areas.
 */
static int iopt_dirty_clear(struct io_pagetable *iopt,
			    struct iommu_domain *domain)
{
	struct iopt_area *area = iopt_first_area(iopt, 0, ULONG_MAX);
	struct iommu_iotlb_gather gather;
	struct iommu_dirty_bitmap dirty;
	int rc = 0;

	lockdep_assert_held(&iopt->iova_rwsem);

	/* No bitmap: the bits read are dropped; this also inits the gather */
	iommu_dirty_bitmap_init(&dirty, NULL, &gather);
	for (; area && !rc; area = iopt_next_area(area, 0, ULONG_MAX))
		rc = iopt_dirty_read_span(domain, area->node.start,
					  area->node.last, 0, &dirty);
	iommu_iotlb_sync(domain, &gather);
	return rc;
}

/* Record whether @domain, one of @iopt's, now tracks dirty IOVA */
static void iopt_dirty_record(struct io_pagetable *iopt,
			      struct iommu_domain *domain, bool enable)
{
	unsigned int i;

	lockdep_assert_held(&iopt->domains_rwsem);
	lockdep_assert_held(&iopt->dirty_lock);

	for (i = 0; i != iopt->next_domain_id; i++) {
		if (iopt_domain(iopt, i) != domain)
			continue;
		if (enable)
			xa_set_mark(&iopt->domains, i, IOPT_DOMAIN_DIRTY);
		else
			xa_clear_mark(&iopt->domains, i, IOPT_DOMAIN_DIRTY);
	}
}

/* iopt_dirty_track() with the domains_rwsem held */
static int __iopt_dirty_track(struct io_pagetable *iopt,
			      struct iommu_domain *domain, bool enable)
	__must_hold(&iopt->domains_rwsem)
{
	int rc = 0;

	lockdep_assert_held(&iopt->domains_rwsem);

	if (!domain->dirty_ops)
		return -EOPNOTSUPP;

	guard(mutex)(&iopt->dirty_lock);
	scoped_guard(rwsem_read, &iopt->iova_rwsem) {
		/* Bits left over from an earlier tracking period are stale */
		if (enable)
			rc = iopt_dirty_clear(iopt, domain);
		if (!rc)
			rc = domain->dirty_ops->set_dirty_tracking(domain,
								   enable);
	}
	if (!rc)
		iopt_dirty_record(iopt, domain, enable);
	return rc;
}

/**
 * iopt_dirty_track() - start or stop dirty tracking in a domain
 * @iopt: the table
 * @domain: a domain of the table
 * @enable: start (clearing the stale bits first) or stop
 *
 * Context: Process context.
 * Return: 0, -EOPNOTSUPP without dirty tracking, or a driver error.
 */
int iopt_dirty_track(struct io_pagetable *iopt,
		     struct iommu_domain *domain, bool enable)
{
	guard(rwsem_read)(&iopt->domains_rwsem);
	return __iopt_dirty_track(iopt, domain, enable);
}

/**
 * iopt_dirty_tracking() - is dirty tracking on in a domain?
 * @iopt: the table
 * @domain: a domain of the table, or one that left it (then: false)
 *
 * What the last successful iopt_dirty_track() or iopt_dirty_track_all()
 * switched in @domain, for fdinfo.
 *
 * Context: Any context: takes the domains' xa_lock only.
 * Return: true if the domain's dirty tracking is on.
 */
bool iopt_dirty_tracking(struct io_pagetable *iopt,
			 struct iommu_domain *domain)
{
	struct iommu_domain *entry;
	unsigned long index;
	bool on = false;

	xa_lock(&iopt->domains);
	xa_for_each_marked(&iopt->domains, index, entry, IOPT_DOMAIN_DIRTY) {
		if (entry == domain) {
			on = true;
			break;
		}
	}
	xa_unlock(&iopt->domains);
	return on;
}

/* Does every domain (at least one) track dirty IOVA itself? */
static bool iopt_dirty_hw(struct io_pagetable *iopt)
{
	unsigned int i;

	lockdep_assert_held(&iopt->domains_rwsem);

	for (i = 0; i != iopt->next_domain_id; i++)
		if (!iopt_domain(iopt, i)->dirty_ops)
			return false;
	return iopt->next_domain_id;
}

/**
 * iopt_dirty_track_all() - start or stop dirty tracking in every domain
 * @iopt: the table
 * @enable: start or stop
 * @gen: out, may be NULL: the table's domains generation, for
 *       iopt_dirty_read_all()
 *
 * For VFIO_IOMMU_DIRTY_PAGES. Starting is all the domains, or none if any
 * of them cannot track dirty IOVA. Stopping stops every domain that can
 * track, whatever joined since the start.
 *
 * Context: Process context.
 * Return: 0 (always, to stop); -EOPNOTSUPP without domains or if one has
 * no dirty tracking (nothing is changed then); a driver error.
 */
int iopt_dirty_track_all(struct io_pagetable *iopt, bool enable, u64 *gen)
{
	unsigned int i;
	int rc = 0;

	guard(rwsem_read)(&iopt->domains_rwsem);
	if (!enable) {
		/*
		 * Best effort on every domain that can: one attached since the
		 * start without dirty ops must not keep the others tracking.
		 */
		for (i = 0; i != iopt->next_domain_id; i++)
			if (iopt_domain(iopt, i)->dirty_ops)
				__iopt_dirty_track(iopt, iopt_domain(iopt, i),
						   false);
		return 0;
	}
	if (!iopt_dirty_hw(iopt))
		return -EOPNOTSUPP;
	for (i = 0; i != iopt->next_domain_id; i++) {
		rc = __iopt_dirty_track(iopt, iopt_domain(iopt, i), true);
		if (rc)
			break;
	}
	if (rc) {
		while (i--)
			__iopt_dirty_track(iopt, iopt_domain(iopt, i),
					   false);
		return rc;
	}
	if (gen)
		*gen = iopt->domains_gen;
	return rc;
}

/* Does an area cross the start or the end of [iova, last]? */
static bool iopt_range_cuts_area(struct io_pagetable *iopt,
				 unsigned long iova, unsigned long last)
{
	struct iopt_area *area;

	lockdep_assert_held(&iopt->iova_rwsem);

	area = iopt_first_area(iopt, iova, iova);
	if (area && area->node.start != iova)
		return true;
	area = iopt_first_area(iopt, last, last);
	return area && area->node.last != last;
}

/* Bits of one dirty bitmap chunk: a page of them */
#define IOPT_DIRTY_CHUNK_BITS (PAGE_SIZE * BITS_PER_BYTE)

/*
 * Every page of [iova, iova + nbits pages) that an area maps is dirty:
 * VFIO type1's rule where a domain cannot tell. Written a chunk at a time,
 * in whole u64s as type1 writes them, so the kernel memory used does not
 * grow with the bitmap.
 */
static int iopt_dirty_mapped(struct io_pagetable *iopt, unsigned long iova,
			     unsigned long nbits, u64 __user *data)
{
	unsigned long *bits, done, n;
	int rc = 0;

	lockdep_assert_held(&iopt->iova_rwsem);

	bits = kmalloc(IOPT_DIRTY_CHUNK_BITS / BITS_PER_BYTE,
		       GFP_KERNEL_ACCOUNT);
	if (!bits)
		return -ENOMEM;
	for (done = 0; done < nbits && !rc; done += n) {
		unsigned long start = iova + done * PAGE_SIZE, last;
		struct iopt_area *area;

		n = min(nbits - done, IOPT_DIRTY_CHUNK_BITS);
		last = start + n * PAGE_SIZE - 1;
		bitmap_zero(bits, n);
		for (area = iopt_first_area(iopt, start, last); area;
		     area = iopt_next_area(area, start, last)) {
			unsigned long first = max(area->node.start, start);
			unsigned long end = min(area->node.last, last);

			bitmap_set(bits, (first - start) >> PAGE_SHIFT,
				   ((end - start) >> PAGE_SHIFT) -
				   ((first - start) >> PAGE_SHIFT) + 1);
		}
		if (copy_to_user(data + done / 64, bits,
				 DIV_ROUND_UP(n, 64) * sizeof(u64)))
			rc = -EFAULT;
		cond_resched();
	}
	kfree(bits);
	return rc;
}

/* Read (and @clear) every domain's dirty bits into the zeroed user bitmap */
static int iopt_dirty_read_hw(struct io_pagetable *iopt, unsigned long iova,
			      unsigned long length, bool clear,
			      u64 __user *data)
{
	struct iova_bitmap *bitmap;
	unsigned int i;
	int rc = 0;

	lockdep_assert_held(&iopt->domains_rwsem);
	lockdep_assert_held(&iopt->iova_rwsem);

	if (clear_user(data, DIV_ROUND_UP(length >> PAGE_SHIFT, 64) *
				     sizeof(u64)))
		return -EFAULT;
	for (i = 0; i != iopt->next_domain_id && !rc; i++) {
		struct iopt_dirty_walk walk = {
			.iopt = iopt,
			.domain = iopt_domain(iopt, i),
			.flags = clear ? 0 : IOMMU_DIRTY_NO_CLEAR,
		};

		bitmap = iova_bitmap_alloc(iova, length, PAGE_SIZE, data);
		if (IS_ERR(bitmap))
			return PTR_ERR(bitmap);
		rc = iova_bitmap_for_each(bitmap, &walk, iopt_dirty_window);
		iova_bitmap_free(bitmap);
	}
	return rc;
}

/*
 * iopt_dirty_read_all() with both locks held (iova_rwsem either way), the
 * range checked by the caller
 */
static int iopt_dirty_read_locked(struct io_pagetable *iopt,
				  unsigned long iova, unsigned long length,
				  u64 gen, bool clear, u64 __user *data)
{
	lockdep_assert_held(&iopt->domains_rwsem);

	if (gen && gen == iopt->domains_gen && iopt_dirty_hw(iopt))
		return iopt_dirty_read_hw(iopt, iova, length, clear, data);
	return iopt_dirty_mapped(iopt, iova, length >> PAGE_SHIFT, data);
}

/**
 * iopt_dirty_read_all() - VFIO type1's dirty bitmap of an IOVA range
 * @iopt: the table
 * @iova: first IOVA, page aligned
 * @length: bytes, whole pages
 * @gen: what iopt_dirty_track_all() returned when it started hardware
 *       tracking, or 0
 * @clear: clear the bits read in the domains
 * @data: the user bitmap, a bit per page, in u64s, room checked by the
 *        caller
 *
 * With hardware tracking started in every domain the table still has
 * (@gen is still its domains generation: no domain was attached since),
 * the domains tell, and with @clear their bits are cleared. Otherwise every
 * mapped page is reported dirty, at every read, as type1 does with a
 * device whose IOMMU cannot tell. A failed read may have cleared the bits
 * of some domains: without @clear it changes nothing. The IOVA lock is
 * held for reading across the whole read, so no map or unmap changes the
 * live areas it reads (as type1's wait for its lock). Maps and unmaps in
 * flight go on with their busy areas, which read clean.
 *
 * Context: Process context.
 * Return: 0; -EINVAL if the range cuts an area; -EFAULT; -ENOMEM; a driver
 * error.
 */
int iopt_dirty_read_all(struct io_pagetable *iopt, unsigned long iova,
			unsigned long length, u64 gen, bool clear,
			u64 __user *data)
{
	guard(rwsem_read)(&iopt->domains_rwsem);
	guard(rwsem_read)(&iopt->iova_rwsem);
	if (iopt_range_cuts_area(iopt, iova, iova + length - 1))
		return -EINVAL;
	return iopt_dirty_read_locked(iopt, iova, length, gen, clear, data);
}

/**
 * iopt_collect_file_pages() - gather the pages of every area, once each
 * @iopt: the table
 * @set: receives each struct iopt_pages with a reference, indexed by
 *       iopt_pages_key(); pages already in it are skipped
 *
 * Context: Process context.
 * Return: 0; -EINVAL if an area maps a user VA range rather than a file;
 * -ENOMEM.
 */
int iopt_collect_file_pages(struct io_pagetable *iopt, struct xarray *set)
{
	struct iopt_area *area;
	int rc = 0;

	down_read(&iopt->iova_rwsem);
	for (area = iopt_first_area(iopt, 0, ULONG_MAX); area;
	     area = iopt_next_area(area, 0, ULONG_MAX)) {
		struct iopt_pages *pages = area->pages;

		if (pages->source != IOPT_PAGES_FILE) {
			rc = -EINVAL;
			break;
		}
		rc = xa_insert(set, iopt_pages_key(pages), pages,
			       GFP_KERNEL_ACCOUNT);
		if (rc == -EBUSY) {
			rc = 0;
			continue;
		}
		if (rc)
			break;
		kref_get(&pages->kref);
	}
	up_read(&iopt->iova_rwsem);
	return rc;
}
