// SPDX-License-Identifier: GPL-2.0-only
/*
 * pages.c - pinning user memory once, remembering it, and paying for it.
 *
 * An iopt_pages is a range of memory some areas map: a VA range of a
 * process, or a range of a memfd/hugetlbfs file. Nothing is pinned when it
 * is created; pages are pinned when a user appears (an area gets mapped into
 * iommu_domains, or an access pins a range) and unpinned when the last user
 * of a page goes. The users are the nodes of two interval trees (see
 * io_pagetable.h), so both directions work on "holes": the parts of a range
 * no other user covers.
 *
 * User memory is pinned with pin_user_pages*(), one FOLL_PIN reference per
 * page, released with unpin_user_page_range_dirty_lock() over physically
 * contiguous runs. File memory is pinned with memfd_pin_folios(), which
 * takes one reference per folio: an iopt_pages holds exactly one on each
 * folio that has any of its pages pinned, dropped when the last such page
 * is unpinned (a folio is only freed whole, so this holds on to no more
 * memory than a pin per page would). Every pinned page's PFN is kept in
 * @pfns, chunked so that an idle or
 * sparse object costs nothing: the domains are filled, the accesses served
 * and the unpinning done from there, never by walking IOMMU page tables.
 * Entries are only written when a page is pinned and only read while it is
 * pinned, so unpinning never needs to allocate or fail.
 *
 * Every pinned page is charged to RLIMIT_MEMLOCK once, at pin time, in the
 * mode the mapping was made with (iommufd_account_mode), and uncharged
 * exactly when it is unpinned.
 */
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>

#include "iommufd_private.h"
#include "io_pagetable.h"

/* Most pages pinned by one GUP call: one page worth of page pointers */
#define PAGES_BATCH_MAX (PAGE_SIZE / sizeof(struct page *))

/**
 * struct iopt_pages_access - one range pinned by accesses
 * @node: the page index range, in iopt_pages::access_itree
 * @users: how many access pins asked for exactly this range
 */
struct iopt_pages_access {
	struct interval_tree_node node;
	unsigned int users;
};

static void iopt_payer_get_current(struct iopt_payer *payer)
{
	payer->task = get_task_struct(current->group_leader);
	payer->user = get_uid(current_user());
	mmgrab(current->mm);
	payer->mm = current->mm;
}

/**
 * iopt_payer_put() - drop the references of a payer
 * @payer: filled by iopt_payer_get_current() or iopt_pages_switch_payer()
 */
void iopt_payer_put(struct iopt_payer *payer)
{
	mmdrop(payer->mm);
	free_uid(payer->user);
	put_task_struct(payer->task);
}

static struct iopt_pages *iopt_alloc_pages(unsigned long offset,
					   unsigned long length, bool writable,
					   u8 account_mode)
{
	struct iopt_pages *pages;
	unsigned long end;

	if (!length || check_add_overflow(offset, length, &end) ||
	    end > ULONG_MAX - PAGE_SIZE)
		return ERR_PTR(-EOVERFLOW);

	pages = kzalloc(sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return ERR_PTR(-ENOMEM);

	kref_init(&pages->kref);
	mutex_init(&pages->mutex);
	xa_init(&pages->pfns);
	pages->domains_itree = RB_ROOT_CACHED;
	pages->access_itree = RB_ROOT_CACHED;
	pages->first_offset = offset % PAGE_SIZE;
	pages->length = length;
	pages->npages = DIV_ROUND_UP(pages->first_offset + length, PAGE_SIZE);
	pages->writable = writable;
	pages->account_mode = account_mode;

	/* The caller's process pays for the pins and supplies the limits */
	iopt_payer_get_current(&pages->payer);
	return pages;
}

/**
 * iopt_alloc_user_pages() - describe a range of the caller's memory
 * @uptr: first byte
 * @length: bytes
 * @writable: the device may write: pin with FOLL_WRITE
 * @account_mode: enum iommufd_account_mode to charge pins in
 *
 * Context: Process context, with a user mm.
 * Return: the new object with one reference, or an ERR_PTR.
 */
struct iopt_pages *iopt_alloc_user_pages(void __user *uptr,
					 unsigned long length, bool writable,
					 u8 account_mode)
{
	struct iopt_pages *pages;

	pages = iopt_alloc_pages((unsigned long)uptr, length, writable,
				 account_mode);
	if (IS_ERR(pages))
		return pages;
	pages->source = IOPT_PAGES_USER;
	pages->uptr = (void __user *)PAGE_ALIGN_DOWN((unsigned long)uptr);
	return pages;
}

/**
 * iopt_alloc_file_pages() - describe a range of a memfd or hugetlbfs file
 * @file: the file; a reference is taken
 * @start: file offset of the first byte
 * @length: bytes
 * @writable: the device may write
 * @account_mode: enum iommufd_account_mode to charge pins in
 *
 * Context: Process context.
 * Return: the new object with one reference, or an ERR_PTR.
 */
struct iopt_pages *iopt_alloc_file_pages(struct file *file,
					 unsigned long start,
					 unsigned long length, bool writable,
					 u8 account_mode)
{
	struct iopt_pages *pages;

	pages = iopt_alloc_pages(start, length, writable, account_mode);
	if (IS_ERR(pages))
		return pages;
	pages->source = IOPT_PAGES_FILE;
	pages->file = get_file(file);
	pages->file_start = PAGE_ALIGN_DOWN(start);
	return pages;
}

/* Free every PFN chunk: only called when nothing is pinned */
static void pages_free_pfns(struct iopt_pages *pages)
{
	unsigned long *chunk;
	unsigned long idx;

	xa_for_each(&pages->pfns, idx, chunk)
		kfree(chunk);
	xa_destroy(&pages->pfns);
}

void iopt_pages_release(struct kref *kref)
{
	struct iopt_pages *pages = container_of(kref, struct iopt_pages, kref);

	/* Every user is an area, and the last area is gone */
	WARN_ON_ONCE(!RB_EMPTY_ROOT(&pages->domains_itree.rb_root));
	WARN_ON_ONCE(!RB_EMPTY_ROOT(&pages->access_itree.rb_root));
	WARN_ON_ONCE(pages->npinned);

	pages_free_pfns(pages);
	if (pages->file)
		fput(pages->file);
	iopt_payer_put(&pages->payer);
	mutex_destroy(&pages->mutex);
	kfree(pages);
}

/*
 * Accounting. USER mode charges user_struct::locked_vm with a cmpxchg loop,
 * so concurrent chargers can never overshoot the limit together, and shows
 * the pins in mm->pinned_vm. MM mode charges mm->locked_vm the way VFIO
 * type1 did. CAP_IPC_LOCK, checked in the pinning task, skips the limit.
 */
static int charge_user(struct iopt_payer *payer, unsigned long npages,
		       bool bypass)
{
	struct user_struct *user = payer->user;
	unsigned long limit, cur;

	if (bypass) {
		atomic_long_add(npages, &user->locked_vm);
		return 0;
	}

	limit = task_rlimit(payer->task, RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	cur = atomic_long_read(&user->locked_vm);
	do {
		if (npages > limit || cur > limit - npages)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur,
					  cur + npages));
	return 0;
}

static int charge_mm(struct iopt_payer *payer, unsigned long npages,
		     bool inc, bool bypass)
{
	int rc;

	mmap_write_lock(payer->mm);
	rc = __account_locked_vm(payer->mm, npages, inc, payer->task, bypass);
	mmap_write_unlock(payer->mm);
	return rc;
}

static int payer_charge(struct iopt_payer *payer, u8 mode,
			unsigned long npages, bool bypass)
{
	int rc = 0;

	if (!npages)
		return 0;

	switch (mode) {
	case IOMMUFD_ACCOUNT_USER:
		rc = charge_user(payer, npages, bypass);
		if (!rc)
			atomic64_add(npages, &payer->mm->pinned_vm);
		break;
	case IOMMUFD_ACCOUNT_MM:
		rc = charge_mm(payer, npages, true, bypass);
		break;
	}
	return rc;
}

static void payer_uncharge(struct iopt_payer *payer, u8 mode,
			   unsigned long npages)
{
	if (!npages)
		return;

	switch (mode) {
	case IOMMUFD_ACCOUNT_USER:
		atomic_long_sub(npages, &payer->user->locked_vm);
		atomic64_sub(npages, &payer->mm->pinned_vm);
		break;
	case IOMMUFD_ACCOUNT_MM:
		charge_mm(payer, npages, false, true);
		break;
	}
}

static int pages_charge(struct iopt_pages *pages, unsigned long npages)
{
	return payer_charge(&pages->payer, pages->account_mode, npages,
			    capable(CAP_IPC_LOCK));
}

static void pages_uncharge(struct iopt_pages *pages, unsigned long npages)
{
	payer_uncharge(&pages->payer, pages->account_mode, npages);
}

/**
 * iopt_pages_switch_payer() - make the calling process pay for the pins
 * @pages: file-backed memory
 * @old: out: the previous payer, for iopt_pages_restore_payer() or
 *       iopt_payer_put()
 *
 * The pins now held are charged to the caller (against its limits) and
 * uncharged from the old payer, in one step under the pages mutex.
 *
 * Context: Process context with a user mm.
 * Return: 0, or -ENOMEM if the caller's RLIMIT_MEMLOCK cannot take them.
 */
int iopt_pages_switch_payer(struct iopt_pages *pages, struct iopt_payer *old)
{
	struct iopt_payer payer;
	int rc;

	iopt_payer_get_current(&payer);
	mutex_lock(&pages->mutex);
	rc = payer_charge(&payer, pages->account_mode, pages->npinned,
			  capable(CAP_IPC_LOCK));
	if (!rc) {
		payer_uncharge(&pages->payer, pages->account_mode,
			       pages->npinned);
		*old = pages->payer;
		pages->payer = payer;
	}
	mutex_unlock(&pages->mutex);
	if (rc)
		iopt_payer_put(&payer);
	return rc;
}

/**
 * iopt_pages_restore_payer() - undo iopt_pages_switch_payer()
 * @pages: the memory
 * @old: the payer iopt_pages_switch_payer() returned; consumed
 *
 * The old payer already carried these pins, so its limit is not checked.
 *
 * Context: Process context.
 */
void iopt_pages_restore_payer(struct iopt_pages *pages, struct iopt_payer *old)
{
	struct iopt_payer cur;

	mutex_lock(&pages->mutex);
	payer_charge(old, pages->account_mode, pages->npinned, true);
	payer_uncharge(&pages->payer, pages->account_mode, pages->npinned);
	cur = pages->payer;
	pages->payer = *old;
	mutex_unlock(&pages->mutex);
	iopt_payer_put(&cur);
}

/* PFN storage */
static unsigned long *pages_pfn_chunk(struct iopt_pages *pages,
				      unsigned long index)
{
	return xa_load(&pages->pfns, index >> IOPT_PFN_CHUNK_SHIFT);
}

static unsigned long pages_pfn(struct iopt_pages *pages, unsigned long index)
{
	return pages_pfn_chunk(pages, index)[index % IOPT_PFN_CHUNK];
}

/* Make sure every chunk covering [start, last] exists */
static int pages_prepare_pfns(struct iopt_pages *pages, unsigned long start,
			      unsigned long last)
{
	unsigned long ci;

	for (ci = start >> IOPT_PFN_CHUNK_SHIFT;
	     ci <= last >> IOPT_PFN_CHUNK_SHIFT; ci++) {
		unsigned long *chunk;
		int rc;

		if (xa_load(&pages->pfns, ci))
			continue;
		chunk = kmalloc_array(IOPT_PFN_CHUNK, sizeof(*chunk),
				      GFP_KERNEL_ACCOUNT);
		if (!chunk)
			return -ENOMEM;
		rc = xa_insert(&pages->pfns, ci, chunk, GFP_KERNEL_ACCOUNT);
		if (rc) {
			kfree(chunk);
			return rc;
		}
	}
	return 0;
}

static void pages_store_pfn(struct iopt_pages *pages, unsigned long index,
			    struct page *page)
{
	pages_pfn_chunk(pages, index)[index % IOPT_PFN_CHUNK] =
		page_to_pfn(page);
}

/*
 * Length of the physically contiguous run of pinned pages starting at
 * @index, not going past @last.
 */
static unsigned long pages_pfn_run(struct iopt_pages *pages,
				   unsigned long index, unsigned long last)
{
	unsigned long *chunk = pages_pfn_chunk(pages, index);
	unsigned long pfn = chunk[index % IOPT_PFN_CHUNK];
	unsigned long n = 1;

	while (index + n <= last) {
		unsigned long next = index + n;

		if (next % IOPT_PFN_CHUNK == 0)
			chunk = pages_pfn_chunk(pages, next);
		if (chunk[next % IOPT_PFN_CHUNK] != pfn + n)
			break;
		n++;
	}
	return n;
}

/* Is any page of [start, last] pinned, that is used by someone? */
static bool pages_range_used(struct iopt_pages *pages, unsigned long start,
			     unsigned long last)
{
	lockdep_assert_held(&pages->mutex);

	return start <= last &&
	       (interval_tree_iter_first(&pages->domains_itree, start, last) ||
		interval_tree_iter_first(&pages->access_itree, start, last));
}

/*
 * IOPT_PAGES_FILE: does the folio of @page, at index @index, have pinned
 * pages outside the hole [start, last] that is being pinned or unpinned?
 * Then our one pin on the folio belongs to them.
 */
static bool pages_folio_used_elsewhere(struct iopt_pages *pages,
				       struct page *page, unsigned long index,
				       unsigned long start, unsigned long last)
{
	struct folio *folio = page_folio(page);
	unsigned long before = folio_page_idx(folio, page);
	unsigned long after = folio_nr_pages(folio) - 1 - before;
	unsigned long first, end;

	first = index - min(before, index);
	end = index + min(after, pages->npages - 1 - index);
	return pages_range_used(pages, first, start - 1) ||
	       pages_range_used(pages, last + 1, end);
}

/* Drop our pin on each folio of a run of file pages that nobody else uses */
static void pages_unpin_file_run(struct iopt_pages *pages, unsigned long index,
				 unsigned long n, unsigned long start,
				 unsigned long last)
{
	struct page *page = pfn_to_page(pages_pfn(pages, index));

	while (n) {
		struct folio *folio = page_folio(page);
		unsigned long k = min(n, folio_nr_pages(folio) -
					 folio_page_idx(folio, page));

		if (!pages_folio_used_elsewhere(pages, page, index, start, last))
			unpin_user_page_range_dirty_lock(page, 1,
							 pages->writable);
		page = nth_page(page, k);
		index += k;
		n -= k;
	}
}

/* Unpin [start, last], which the caller owns and nobody else uses */
static void pages_unpin_range(struct iopt_pages *pages, unsigned long start,
			      unsigned long last)
{
	unsigned long index = start;

	while (index <= last) {
		unsigned long n = pages_pfn_run(pages, index, last);
		struct page *first = pfn_to_page(pages_pfn(pages, index));

		if (pages->source == IOPT_PAGES_FILE)
			pages_unpin_file_run(pages, index, n, start, last);
		else
			unpin_user_page_range_dirty_lock(first, n,
							 pages->writable);
		index += n;
	}
	pages_uncharge(pages, last - start + 1);
	pages->npinned -= last - start + 1;
	if (!pages->npinned)
		pages_free_pfns(pages);
}

/* How many page pointers one GUP call may fill */
static unsigned long pages_batch_max(void)
{
	unsigned long max = PAGES_BATCH_MAX;

#ifdef CONFIG_IOMMUFD_TEST
	max = min_t(unsigned long, max,
		    max(iommufd_test_memory_limit / sizeof(struct page *), 1));
#endif
	return max;
}

/*
 * Pin up to @npages of the user VA range starting at page @index into
 * @out. Returns the number pinned (maybe fewer) or -errno.
 */
static long pages_gup(struct iopt_pages *pages, unsigned long index,
		      unsigned long npages, struct page **out)
{
	unsigned long uptr = (unsigned long)pages->uptr + index * PAGE_SIZE;
	unsigned int flags = FOLL_LONGTERM;
	struct mm_struct *mm = pages->payer.mm;
	long rc;

	if (pages->writable)
		flags |= FOLL_WRITE;

	if (current->mm == mm)
		return pin_user_pages_fast(uptr, npages, flags, out);

	/* Another process, or a kthread, is filling a domain or an access */
	if (!mmget_not_zero(mm))
		return -EFAULT;
	mmap_read_lock(mm);
	rc = pin_user_pages_remote(mm, uptr, npages, flags, out, NULL);
	mmap_read_unlock(mm);
	mmput(mm);
	return rc;
}

/**
 * struct pages_batch - scratch space for pinning in batches
 * @pages: page pointers filled by one pin call
 * @folios: IOPT_PAGES_FILE only: folios filled by memfd_pin_folios()
 * @max: entries in each array
 * @failed_at: first index of the hole whose pinning failed
 * @kept: IOPT_PAGES_FILE only: the last folio whose pin the hole being
 *        pinned keeps, or NULL
 */
struct pages_batch {
	struct page **pages;
	struct folio **folios;
	unsigned long max;
	unsigned long failed_at;
	struct folio *kept;
};

static int pages_batch_init(struct pages_batch *batch,
			    struct iopt_pages *pages, unsigned long npages)
{
	batch->max = min(npages, pages_batch_max());
	batch->folios = NULL;
	batch->pages = kmalloc_array(batch->max, sizeof(*batch->pages),
				     GFP_KERNEL_ACCOUNT);
	if (!batch->pages)
		return -ENOMEM;
	if (pages->source != IOPT_PAGES_FILE)
		return 0;

	batch->folios = kmalloc_array(batch->max, sizeof(*batch->folios),
				      GFP_KERNEL_ACCOUNT);
	if (!batch->folios) {
		kfree(batch->pages);
		return -ENOMEM;
	}
	return 0;
}

static void pages_batch_destroy(struct pages_batch *batch)
{
	kfree(batch->folios);
	kfree(batch->pages);
}

/*
 * Pin up to @npages of the file starting at page @index, inside the hole
 * [start, last], into batch->pages. memfd_pin_folios() pins each folio
 * once; a folio we hold a pin on already (for pages outside the hole, or
 * from an earlier batch of it) gives its new pin back at once. Returns the
 * number of pages pinned or -errno.
 */
static long pages_pin_file(struct iopt_pages *pages, unsigned long index,
			   unsigned long npages, unsigned long start,
			   unsigned long last, struct pages_batch *batch)
{
	loff_t pos = pages->file_start + (loff_t)index * PAGE_SIZE;
	unsigned long done = 0;
	long nfolios, i;
	pgoff_t offset;

	nfolios = memfd_pin_folios(pages->file, pos,
				   pos + npages * PAGE_SIZE - 1,
				   batch->folios, npages, &offset);
	if (nfolios <= 0)
		return nfolios ? nfolios : -EFAULT;

	for (i = 0; i < nfolios; i++) {
		struct folio *folio = batch->folios[i];
		unsigned long first = i ? 0 : offset >> PAGE_SHIFT;
		unsigned long take = min(folio_nr_pages(folio) - first,
					 npages - done);
		unsigned long k;

		if (!take || folio == batch->kept ||
		    pages_folio_used_elsewhere(pages, folio_page(folio, first),
					       index + done, start, last))
			unpin_folio(folio);
		else
			batch->kept = folio;
		for (k = 0; k < take; k++)
			batch->pages[done++] = folio_page(folio, first + k);
	}
	return done;
}

/* Pin and charge every page of the hole [start, last]; all or nothing */
static int pages_pin_hole(struct iopt_pages *pages, unsigned long start,
			  unsigned long last, struct pages_batch *batch)
{
	unsigned long index = start;
	int rc;

	rc = pages_prepare_pfns(pages, start, last);
	if (rc)
		return rc;

	batch->kept = NULL;

	while (index <= last) {
		unsigned long want = min(last - index + 1, batch->max);
		unsigned long i;
		long got;

		rc = pages_charge(pages, want);
		if (rc)
			goto err_unpin;
		/*
		 * Let the selftest's fault injection reach the unwinding: in
		 * the first batch (nothing to undo) and in the last (undo all
		 * the others). One point per batch would make fail-nth sweeps
		 * grow with the number of pages.
		 */
		if ((index == start || index + want > last) &&
		    iommufd_should_fail()) {
			pages_uncharge(pages, want);
			rc = -EFAULT;
			goto err_unpin;
		}
		if (pages->source == IOPT_PAGES_FILE)
			got = pages_pin_file(pages, index, want, start, last,
					     batch);
		else
			got = pages_gup(pages, index, want, batch->pages);
		if (got <= 0) {
			pages_uncharge(pages, want);
			rc = got ? got : -EFAULT;
			goto err_unpin;
		}
		pages_uncharge(pages, want - got);

		for (i = 0; i != got; i++)
			pages_store_pfn(pages, index + i, batch->pages[i]);
		pages->npinned += got;
		index += got;
	}
	return 0;

err_unpin:
	if (index != start)
		pages_unpin_range(pages, start, index - 1);
	return rc;
}

typedef int (*pages_hole_fn)(struct iopt_pages *pages, unsigned long start,
			     unsigned long last, void *arg);

/* Call @fn on each part of [start, last] that no user of @pages covers */
static int pages_walk_holes(struct iopt_pages *pages, unsigned long start,
			    unsigned long last, pages_hole_fn fn, void *arg)
{
	struct interval_tree_span_iter dspan;
	struct interval_tree_span_iter aspan;
	int rc;

	lockdep_assert_held(&pages->mutex);

	interval_tree_for_each_span(&dspan, &pages->domains_itree, start,
				    last) {
		if (!dspan.is_hole)
			continue;
		interval_tree_for_each_span(&aspan, &pages->access_itree,
					    dspan.start_hole, dspan.last_hole) {
			if (!aspan.is_hole)
				continue;
			rc = fn(pages, aspan.start_hole, aspan.last_hole, arg);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int pages_pin_hole_fn(struct iopt_pages *pages, unsigned long start,
			     unsigned long last, void *arg)
{
	struct pages_batch *batch = arg;
	int rc;

	rc = pages_pin_hole(pages, start, last, batch);
	if (rc)
		batch->failed_at = start;
	return rc;
}

static int pages_unpin_hole_fn(struct iopt_pages *pages, unsigned long start,
			       unsigned long last, void *arg)
{
	pages_unpin_range(pages, start, last);
	return 0;
}

/* Unpin what no user needs in [start, last], after a user was removed */
static void pages_unpin_unused(struct iopt_pages *pages, unsigned long start,
			       unsigned long last)
{
	pages_walk_holes(pages, start, last, pages_unpin_hole_fn, NULL);
}

/* Pin what no user has pinned yet in [start, last], before adding one */
static int pages_pin_unused(struct iopt_pages *pages, unsigned long start,
			    unsigned long last)
{
	struct pages_batch batch;
	int rc;

	rc = pages_batch_init(&batch, pages, last - start + 1);
	if (rc)
		return rc;
	rc = pages_walk_holes(pages, start, last, pages_pin_hole_fn, &batch);
	/* The holes before the failed one were pinned by us: undo them */
	if (rc && batch.failed_at != start)
		pages_unpin_unused(pages, start, batch.failed_at - 1);
	pages_batch_destroy(&batch);
	return rc;
}

/**
 * iopt_area_pin_for_domains() - pin everything an area maps
 * @area: an area about to be mapped into its table's domains
 *
 * Context: Process context; takes the pages mutex.
 * Return: 0, or -errno with nothing pinned.
 */
int iopt_area_pin_for_domains(struct iopt_area *area)
{
	struct iopt_pages *pages = area->pages;
	unsigned long start = iopt_area_index_first(area);
	unsigned long last = iopt_area_index_last(area);
	int rc;

	mutex_lock(&pages->mutex);
	rc = pages_pin_unused(pages, start, last);
	if (!rc) {
		area->pages_node.start = start;
		area->pages_node.last = last;
		interval_tree_insert(&area->pages_node, &pages->domains_itree);
	}
	mutex_unlock(&pages->mutex);
	return rc;
}

/**
 * iopt_area_unpin_for_domains() - undo iopt_area_pin_for_domains()
 * @area: an area no longer mapped into any domain
 *
 * Context: Process context; takes the pages mutex.
 */
void iopt_area_unpin_for_domains(struct iopt_area *area)
{
	struct iopt_pages *pages = area->pages;

	mutex_lock(&pages->mutex);
	interval_tree_remove(&area->pages_node, &pages->domains_itree);
	pages_unpin_unused(pages, area->pages_node.start,
			   area->pages_node.last);
	mutex_unlock(&pages->mutex);
}

/**
 * iopt_area_map_domain() - map a pinned area into one domain
 * @area: an area pinned with iopt_area_pin_for_domains()
 * @domain: the domain
 * @disable_large_pages: map PAGE_SIZE pieces only
 *
 * Each physically contiguous run goes in with one iommu_map() call, which
 * picks the largest page sizes the domain, the IOVA and the address allow.
 *
 * Context: Process context; takes the pages mutex.
 * Return: 0, or -errno with nothing of @area left in @domain.
 */
int iopt_area_map_domain(struct iopt_area *area, struct iommu_domain *domain,
			 bool disable_large_pages)
{
	struct iopt_pages *pages = area->pages;
	unsigned long off = area->pages_offset;
	unsigned long end = off + iopt_area_bytes(area);
	unsigned long last_index = (end - 1) >> PAGE_SHIFT;
	unsigned long iova = area->node.start;
	int rc = 0;

	mutex_lock(&pages->mutex);
	while (off < end) {
		unsigned long index = off >> PAGE_SHIFT;
		unsigned long n, run_end;
		phys_addr_t phys;

		n = disable_large_pages ? 1 :
					  pages_pfn_run(pages, index, last_index);
		run_end = min(end, (index + n) << PAGE_SHIFT);
		phys = PFN_PHYS(pages_pfn(pages, index)) + off % PAGE_SIZE;
		rc = iommu_map(domain, iova, phys, run_end - off,
			       area->iommu_prot, GFP_KERNEL_ACCOUNT);
		if (rc)
			break;
		iova += run_end - off;
		off = run_end;
	}
	mutex_unlock(&pages->mutex);

	if (rc && iova != area->node.start)
		iommu_unmap(domain, area->node.start, iova - area->node.start);
	return rc;
}

/**
 * iopt_area_clear_domain() - remove an area from one domain
 * @area: an area mapped into @domain
 * @domain: the domain
 * @gather: collects the IOTLB invalidation; the caller must sync it before
 *          the pages can be unpinned
 *
 * Context: Process context.
 */
void iopt_area_clear_domain(struct iopt_area *area,
			    struct iommu_domain *domain,
			    struct iommu_iotlb_gather *gather)
{
	size_t unmapped;

	unmapped = iommu_unmap_fast(domain, area->node.start,
				    iopt_area_bytes(area), gather);
	WARN_ON_ONCE(unmapped != iopt_area_bytes(area));
}

/* The record of exactly [start, last]; the records may overlap */
static struct iopt_pages_access *pages_find_access(struct iopt_pages *pages,
						   unsigned long start,
						   unsigned long last)
{
	struct interval_tree_node *node;

	lockdep_assert_held(&pages->mutex);

	node = interval_tree_iter_first(&pages->access_itree, start, last);
	while (node && (node->start != start || node->last != last))
		node = interval_tree_iter_next(node, start, last);
	return node ? container_of(node, struct iopt_pages_access, node) : NULL;
}

/**
 * iopt_pages_access_pin() - pin pages for an access
 * @pages: the memory
 * @start: first page index
 * @last: last page index
 * @out_pages: if not NULL, receives the struct page of each index
 *
 * Pins nest: every call needs its own iopt_pages_access_unpin() of exactly
 * the same range.
 *
 * Context: Process context; takes the pages mutex.
 * Return: 0, or -errno with nothing changed.
 */
int iopt_pages_access_pin(struct iopt_pages *pages, unsigned long start,
			  unsigned long last, struct page **out_pages)
{
	struct iopt_pages_access *acc;
	unsigned long i;
	int rc = 0;

	mutex_lock(&pages->mutex);
	acc = pages_find_access(pages, start, last);
	if (acc) {
		acc->users++;
		goto out_fill;
	}

	acc = kzalloc(sizeof(*acc), GFP_KERNEL_ACCOUNT);
	if (!acc) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	rc = pages_pin_unused(pages, start, last);
	if (rc) {
		kfree(acc);
		goto out_unlock;
	}
	acc->users = 1;
	acc->node.start = start;
	acc->node.last = last;
	interval_tree_insert(&acc->node, &pages->access_itree);

out_fill:
	if (out_pages)
		for (i = start; i <= last; i++)
			*out_pages++ = pfn_to_page(pages_pfn(pages, i));
out_unlock:
	mutex_unlock(&pages->mutex);
	return rc;
}

/**
 * iopt_pages_access_unpin() - undo one iopt_pages_access_pin()
 * @pages: the memory
 * @start: first page index, as pinned
 * @last: last page index, as pinned
 *
 * Context: Process context; takes the pages mutex.
 */
void iopt_pages_access_unpin(struct iopt_pages *pages, unsigned long start,
			     unsigned long last)
{
	struct iopt_pages_access *acc;

	mutex_lock(&pages->mutex);
	acc = pages_find_access(pages, start, last);
	if (WARN_ON_ONCE(!acc))
		goto out_unlock;
	if (--acc->users)
		goto out_unlock;
	interval_tree_remove(&acc->node, &pages->access_itree);
	kfree(acc);
	pages_unpin_unused(pages, start, last);
out_unlock:
	mutex_unlock(&pages->mutex);
}

/* Copy through kernel mappings of pinned pages */
static void pages_copy_pinned(struct iopt_pages *pages, unsigned long offset,
			      void *data, unsigned long length, bool to_pages)
{
	mutex_lock(&pages->mutex);
	while (length) {
		unsigned long pgoff = offset % PAGE_SIZE;
		unsigned long n = min(length, PAGE_SIZE - pgoff);
		void *va;

		va = kmap_local_pfn(pages_pfn(pages, offset >> PAGE_SHIFT));
		if (to_pages)
			memcpy(va + pgoff, data, n);
		else
			memcpy(data, va + pgoff, n);
		kunmap_local(va);
		data += n;
		offset += n;
		length -= n;
	}
	mutex_unlock(&pages->mutex);
}

/*
 * Copy through the user mapping when the source mm is at hand. Returns
 * -EAGAIN when it is not, so the caller pins instead.
 */
static int pages_copy_user(struct iopt_pages *pages, unsigned long offset,
			   void *data, unsigned long length, unsigned int flags)
{
	void __user *uptr = pages->uptr + offset;
	bool use_mm = false;
	unsigned long left;

	if (current->mm != pages->payer.mm) {
		if (!(flags & IOMMUFD_ACCESS_RW_KTHREAD) || current->mm ||
		    !(current->flags & PF_KTHREAD))
			return -EAGAIN;
		if (!mmget_not_zero(pages->payer.mm))
			return -EFAULT;
		kthread_use_mm(pages->payer.mm);
		use_mm = true;
	}

	if (flags & IOMMUFD_ACCESS_RW_WRITE)
		left = copy_to_user(uptr, data, length);
	else
		left = copy_from_user(data, uptr, length);

	if (use_mm) {
		kthread_unuse_mm(pages->payer.mm);
		mmput(pages->payer.mm);
	}
	return left ? -EFAULT : 0;
}

/**
 * iopt_pages_rw() - copy between a kernel buffer and the memory
 * @pages: the memory
 * @offset: byte offset from the start of page index 0
 * @data: kernel buffer
 * @length: bytes
 * @flags: IOMMUFD_ACCESS_RW_* flags
 *
 * Uses the user mapping directly when possible, otherwise pins the range
 * for the duration of the copy.
 *
 * Context: Process context. May sleep and fault.
 * Return: 0 or -errno.
 */
int iopt_pages_rw(struct iopt_pages *pages, unsigned long offset, void *data,
		  unsigned long length, unsigned int flags)
{
	unsigned long start = offset >> PAGE_SHIFT;
	unsigned long last = (offset + length - 1) >> PAGE_SHIFT;
	int rc;

	if (pages->source == IOPT_PAGES_USER &&
	    !(flags & __IOMMUFD_ACCESS_RW_SLOW_PATH)) {
		rc = pages_copy_user(pages, offset, data, length, flags);
		if (rc != -EAGAIN)
			return rc;
	}

	rc = iopt_pages_access_pin(pages, start, last, NULL);
	if (rc)
		return rc;
	pages_copy_pinned(pages, offset, data, length,
			  flags & IOMMUFD_ACCESS_RW_WRITE);
	iopt_pages_access_unpin(pages, start, last);
	return 0;
}
