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
 * memory than a pin per page would).
 *
 * The PFNs of the pinned pages are kept in @pfns (see "The PFN store"
 * below), in memory that grows with their fragmentation, not their size,
 * and for scattered memory that only one mapping in domains uses, not at
 * all: its first domain keeps them, and they are read back from it (see
 * "Keeping PFNs in a domain"). The domains are filled, the accesses served
 * and the unpinning done from there. Entries are only read while their
 * pages are pinned, and unpinning never fails: what it may allocate has a
 * fallback. Domains are filled a scatterlist at a time with
 * iommu_map_sg(), one IOTLB sync per call.
 *
 * Every pinned page is charged to RLIMIT_MEMLOCK once, at pin time, in the
 * mode the mapping was made with (iommufd_account_mode), and uncharged
 * exactly when it is unpinned. A charge RLIMIT_MEMLOCK refuses is logged
 * (rate-limited) with who asked for how much against which limit, so that
 * an ENOMEM from a map can be told apart from a lack of memory.
 */
#define pr_fmt(fmt) "iommufd: " fmt

#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/kmemleak.h>
#include <linux/kthread.h>
#include <linux/scatterlist.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "iommufd_private.h"
#include "iommufd_trace.h"
#include "io_pagetable.h"

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
	payer->lock_cap = ns_capable_noaudit(&init_user_ns, CAP_IPC_LOCK);
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
	pages->pfn_skew = ((unsigned long)uptr >> PAGE_SHIFT) % IOPT_PFN_CHUNK;
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
	pages->pfn_skew = (start >> PAGE_SHIFT) % IOPT_PFN_CHUNK;
	return pages;
}

void iopt_pages_release(struct kref *kref)
{
	struct iopt_pages *pages = container_of(kref, struct iopt_pages, kref);

	/* Every user is an area, and the last area is gone */
	WARN_ON_ONCE(!RB_EMPTY_ROOT(&pages->domains_itree.rb_root));
	WARN_ON_ONCE(!RB_EMPTY_ROOT(&pages->access_itree.rb_root));
	WARN_ON_ONCE(pages->npinned);
	/* Unpinning the last page forgot the last PFN */
	WARN_ON_ONCE(!xa_empty(&pages->pfns));
	WARN_ON_ONCE(pages->nkept);

	if (pages->file)
		fput(pages->file);
	iopt_payer_put(&pages->payer);
	mutex_destroy(&pages->mutex);
	kfree(pages);
}

/*
 * Whether the payer may go past its limit: the capability of the process
 * whose limit it is, never that of the task making the pin (a kernel
 * thread pinning for an emulated device has every capability; another
 * process sharing the file may have more than the payer). As type1 does,
 * it counts as it was when the process became the payer (it mapped, or
 * took the memory over): a QEMU that maps as root and then drops its
 * capabilities (-run-with user=) keeps pinning past the limit. That was
 * asked without audit; a payer that did not have it is asked again, now
 * audited, only if it is the caller and only when the limit refuses, so
 * an LSM logs a denial only where the capability was needed.
 */
static bool payer_lock_cap(struct iopt_payer *payer)
{
	if (payer->lock_cap)
		return true;
	return current->group_leader == payer->task && capable(CAP_IPC_LOCK);
}

/*
 * Accounting. USER mode charges user_struct::locked_vm with a cmpxchg loop,
 * so concurrent chargers can never overshoot the limit together, and shows
 * the pins in mm->pinned_vm. MM mode charges mm->locked_vm the way VFIO
 * type1 did. CAP_IPC_LOCK lets a charge past the limit: see
 * payer_lock_cap(). @bypass skips the limit: the charge is known to be
 * allowed.
 */
static int charge_user(struct iopt_payer *payer, unsigned long npages,
		       bool bypass)
{
	struct user_struct *user = payer->user;
	unsigned long limit, cur;

	limit = task_rlimit(payer->task, RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	cur = atomic_long_read(&user->locked_vm);
	do {
		if (npages > limit || cur > limit - npages) {
			if (!bypass && !payer_lock_cap(payer))
				return -ENOMEM;
			atomic_long_add(npages, &user->locked_vm);
			return 0;
		}
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
	/* Only an increase past the limit fails, and changes nothing */
	if (rc == -ENOMEM && payer_lock_cap(payer))
		rc = __account_locked_vm(payer->mm, npages, inc, payer->task,
					 true);
	mmap_write_unlock(payer->mm);
	return rc;
}

/* Pages the payer has locked in @mode, and its RLIMIT_MEMLOCK in pages */
static unsigned long payer_locked(struct iopt_payer *payer, u8 mode)
{
	if (mode == IOMMUFD_ACCOUNT_USER)
		return atomic_long_read(&payer->user->locked_vm);
	return READ_ONCE(payer->mm->locked_vm);
}

static unsigned long payer_limit(struct iopt_payer *payer)
{
	return task_rlimit(payer->task, RLIMIT_MEMLOCK) >> PAGE_SHIFT;
}

static uid_t payer_uid(struct iopt_payer *payer)
{
	return from_kuid(&init_user_ns, payer->user->uid);
}

/*
 * Say why a map fails with ENOMEM when the limit refused it: userspace
 * sees only the errno, and the operator of a VM host needs the process,
 * the mode, the limit and the amount to fix the right limit.
 */
static void payer_refused(struct iopt_payer *payer, u8 mode,
			  unsigned long npages)
{
	unsigned long locked = payer_locked(payer, mode);
	unsigned long limit = payer_limit(payer);
	pid_t pid = task_tgid_nr(payer->task);
	const int kib = PAGE_SHIFT - 10;
	char comm[TASK_COMM_LEN];

	trace_iommufd_account_refuse(mode, pid, payer_uid(payer), npages,
				     locked, limit);
	/* A copy: the payer need not be current, and may rename itself */
	get_task_comm(comm, payer->task);
	if (mode == IOMMUFD_ACCOUNT_USER)
		pr_info_ratelimited("RLIMIT_MEMLOCK refused %s[%d]: asked to pin %lu KiB, %lu KiB locked of a %lu KiB limit (mode user: charged to uid %u)\n",
				    comm, pid, npages << kib, locked << kib,
				    limit << kib, payer_uid(payer));
	else
		pr_info_ratelimited("RLIMIT_MEMLOCK refused %s[%d]: asked to pin %lu KiB, %lu KiB locked of a %lu KiB limit (mode process: charged to pid %d)\n",
				    comm, pid, npages << kib, locked << kib,
				    limit << kib, pid);
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
	default:
		return 0;
	}
	if (rc)
		payer_refused(payer, mode, npages);
	else if (trace_iommufd_account_charge_enabled())
		trace_iommufd_account_charge(mode, task_tgid_nr(payer->task),
					     payer_uid(payer), npages,
					     payer_locked(payer, mode),
					     payer_limit(payer));
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
	default:
		return;
	}
	if (trace_iommufd_account_uncharge_enabled())
		trace_iommufd_account_uncharge(mode, task_tgid_nr(payer->task),
					       payer_uid(payer), npages,
					       payer_locked(payer, mode),
					       payer_limit(payer));
}

/*
 * Make @to pay for @npages pins @from paid for. In USER mode with the same
 * user on both sides the pins stay in user->locked_vm, where they already
 * are: only the mm that shows them (pinned_vm) changes, and @to's limit
 * must hold what the user has locked, with nothing added. Charging them to
 * the user a second time, even for a moment, would fail a process whose
 * limit holds them once. Otherwise @to is charged like any new pin, against
 * its own limit, and then @from is uncharged: in MM mode that is a real
 * recharge, as type1 does when a mapping changes mm, unless the mm stays.
 */
static int payer_move(struct iopt_payer *from, struct iopt_payer *to, u8 mode,
		      unsigned long npages, bool bypass)
{
	unsigned long limit;
	int rc;

	if (!npages)
		return 0;

	/* In MM mode the same mm already holds them: nothing moves */
	if (mode == IOMMUFD_ACCOUNT_MM && from->mm == to->mm)
		return 0;

	if (mode == IOMMUFD_ACCOUNT_USER && from->user == to->user) {
		limit = task_rlimit(to->task, RLIMIT_MEMLOCK) >> PAGE_SHIFT;
		if (!bypass && atomic_long_read(&to->user->locked_vm) > limit &&
		    !payer_lock_cap(to))
			return -ENOMEM;
		atomic64_sub(npages, &from->mm->pinned_vm);
		atomic64_add(npages, &to->mm->pinned_vm);
		return 0;
	}
	rc = payer_charge(to, mode, npages, bypass);
	if (!rc)
		payer_uncharge(from, mode, npages);
	return rc;
}

/* Tell @pages's file who pays for its pins now (fdinfo) */
static void pages_note_payer(struct iopt_pages *pages)
{
	lockdep_assert_held(&pages->mutex);

	if (pages->ictx && pages->account_mode != IOMMUFD_ACCOUNT_NONE)
		iommufd_ctx_note_payer(pages->ictx, pages->payer.task,
				       pages->payer.user->uid);
}

/**
 * iopt_pages_note_payer() - tell @pages's file who pays for its pins now
 * @pages: the memory
 *
 * For fdinfo, once IOMMU_IOAS_CHANGE_PROCESS has moved every charge: a
 * change that fails leaves the payer fdinfo names as it was.
 *
 * Context: Process context; takes the pages mutex.
 */
void iopt_pages_note_payer(struct iopt_pages *pages)
{
	guard(mutex)(&pages->mutex);
	pages_note_payer(pages);
}

/*
 * Charge and uncharge pins of @pages: its file counts them too, and
 * remembers who it last charged (for fdinfo).
 */
static int pages_charge(struct iopt_pages *pages, unsigned long npages)
{
	struct iommufd_ctx *ictx = pages->ictx;
	int rc;

	rc = payer_charge(&pages->payer, pages->account_mode, npages, false);
	if (rc || !ictx || pages->account_mode == IOMMUFD_ACCOUNT_NONE)
		return rc;
	atomic_long_add(npages, &ictx->stat_charged);
	pages_note_payer(pages);
	return 0;
}

static void pages_uncharge(struct iopt_pages *pages, unsigned long npages)
{
	payer_uncharge(&pages->payer, pages->account_mode, npages);
	if (pages->ictx && pages->account_mode != IOMMUFD_ACCOUNT_NONE)
		atomic_long_sub(npages, &pages->ictx->stat_charged);
}

/* Count pins in @pages and in the file it was mapped through */
static void pages_count_pinned(struct iopt_pages *pages, long npages)
{
	pages->npinned += npages;
	if (pages->ictx)
		atomic_long_add(npages, &pages->ictx->stat_pinned);
}

/**
 * iopt_pages_switch_payer() - make the calling process pay for the pins
 * @pages: file-backed memory
 * @old: out: the previous payer, for iopt_pages_restore_payer() or
 *       iopt_payer_put()
 *
 * The pins now held are charged to the caller (against its limits) and
 * uncharged from the old payer, in one step under the pages mutex. In the
 * per-user mode a caller of the same user only takes over the pins'
 * pinned_vm; its limit must hold what the user has locked (payer_move()).
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
	rc = payer_move(&pages->payer, &payer, pages->account_mode,
			pages->npinned, false);
	if (!rc) {
		*old = pages->payer;
		pages->payer = payer;
	}
	mutex_unlock(&pages->mutex);
	if (rc)
		iopt_payer_put(&payer);
	return rc;
}

/**
 * iopt_pages_invalidate_uptr() - take the user address away from the memory
 * @pages: user memory
 *
 * VFIO_DMA_UNMAP_FLAG_VADDR: the pins and the PFNs stay, and so does what
 * the domains map, but nothing more may be pinned from the address or
 * copied through it until iopt_pages_set_uptr() supplies a new one.
 *
 * Context: Process context.
 * Return: 0; -EINVAL for file memory or an address already invalid.
 */
int iopt_pages_invalidate_uptr(struct iopt_pages *pages)
{
	guard(mutex)(&pages->mutex);
	if (pages->source != IOPT_PAGES_USER || pages->uptr_invalid)
		return -EINVAL;
	pages->uptr_invalid = true;
	return 0;
}

/**
 * iopt_pages_revalidate_uptr() - undo iopt_pages_invalidate_uptr()
 * @pages: user memory whose address iopt_pages_invalidate_uptr() took
 *
 * For a VFIO_DMA_UNMAP_FLAG_VADDR that fails part way: the old address
 * comes back as it was.
 *
 * Context: Process context.
 */
void iopt_pages_revalidate_uptr(struct iopt_pages *pages)
{
	guard(mutex)(&pages->mutex);
	pages->uptr_invalid = false;
}

/**
 * iopt_pages_set_uptr() - give the memory its user address again
 * @pages: user memory whose address is invalid
 * @uptr: the new address of page index 0, page aligned like the old one
 *
 * VFIO_DMA_MAP_FLAG_VADDR. The caller may be another process than the one
 * that mapped (a live update that exec()ed): it then pays for the pins
 * from now on, as with type1, against its own limit (payer_move(): in the
 * per-user mode, the same user is not charged again).
 *
 * Context: Process context with a user mm.
 * Return: 0; -EINVAL if the address is valid or @uptr is not page
 * aligned; -ENOMEM if the caller's RLIMIT_MEMLOCK cannot take the pins.
 */
int iopt_pages_set_uptr(struct iopt_pages *pages, void __user *uptr)
{
	struct iopt_payer payer, old;
	int rc = 0;

	iopt_payer_get_current(&payer);
	mutex_lock(&pages->mutex);
	if (!pages->uptr_invalid || pages->source != IOPT_PAGES_USER ||
	    !PAGE_ALIGNED(uptr)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	old = payer;
	if (payer.mm != pages->payer.mm || payer.user != pages->payer.user) {
		rc = payer_move(&pages->payer, &payer, pages->account_mode,
				pages->npinned, false);
		if (rc)
			goto out_unlock;
		old = pages->payer;
		pages->payer = payer;
		pages_note_payer(pages);
	}
	pages->uptr = uptr;
	pages->uptr_invalid = false;
out_unlock:
	mutex_unlock(&pages->mutex);
	iopt_payer_put(rc ? &payer : &old);
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
	payer_move(&pages->payer, old, pages->account_mode, pages->npinned,
		   true);
	cur = pages->payer;
	pages->payer = *old;
	mutex_unlock(&pages->mutex);
	iopt_payer_put(&cur);
}

/*
 * The PFN store
 * -------------
 * @pfns is an xarray of chunks, each covering IOPT_PFN_CHUNK consecutive
 * page indexes. Chunks are aligned to the memory, not to the index: chunk
 * number (index + @pfn_skew) / IOPT_PFN_CHUNK, where @pfn_skew puts index 0
 * where its virtual page (or file page) sits inside an aligned
 * IOPT_PFN_CHUNK block. So a huge page of the memory, which is aligned
 * there, fills whole chunks.
 *
 * A chunk whose pinned pages are physically contiguous is an xarray value
 * entry holding the PFN its first slot would have: no memory at all. Any
 * other chunk is an array of IOPT_PFN_CHUNK PFNs, or PFNS_KEPT once a
 * domain keeps them for us (see "Keeping PFNs in a domain" below). A value
 * chunk becomes an array when a page is pinned that does not fit it. Slots
 * of unpinned pages are stale and never read. A chunk is erased (and its
 * array freed) once none of its pages is pinned, so the store grows with
 * the pinned memory's fragmentation, not with its size, and nothing is
 * allocated for a page before it is pinned and charged. All of it is
 * protected by pages->mutex.
 */
#define PFNS_KEPT xa_mk_value(LONG_MAX)	/* no PFN minus slot is that large */

static bool pfns_is_array(void *entry)
{
	return entry && !xa_is_value(entry);
}

/* A value chunk: its pinned pages are physically contiguous */
static bool pfns_is_contiguous(void *entry)
{
	return xa_is_value(entry) && entry != PFNS_KEPT;
}

static unsigned long pfns_chunk(struct iopt_pages *pages, unsigned long index)
{
	return (index + pages->pfn_skew) / IOPT_PFN_CHUNK;
}

static unsigned int pfns_slot(struct iopt_pages *pages, unsigned long index)
{
	return (index + pages->pfn_skew) % IOPT_PFN_CHUNK;
}

/* The first and last index of @pages inside @chunk */
static void pfns_chunk_range(struct iopt_pages *pages, unsigned long chunk,
			     unsigned long *first, unsigned long *last)
{
	/* The chunk's pages, in skewed then in real indexes */
	unsigned long start = chunk * IOPT_PFN_CHUNK;
	unsigned long end = start + IOPT_PFN_CHUNK - 1 - pages->pfn_skew;

	*first = max_t(unsigned long, start, pages->pfn_skew) - pages->pfn_skew;
	*last = min(end, pages->npages - 1);
}

/*
 * An array for a chunk, counted in the fdinfo of @pages's file. Where it
 * is exactly a page (4 KiB pages), it comes from the page allocator, not
 * from kmalloc: a map of scattered memory allocates one per chunk and then
 * frees most of them once its first domain keeps their PFNs, and SLUB
 * would keep slabs of those freed arrays cached (a few hundred KiB after a
 * GiB) where the page allocator gives them back to everyone.
 */
#define PFNS_ARRAY_BYTES (IOPT_PFN_CHUNK * sizeof(unsigned long))

static unsigned long *pfns_array_alloc(struct iopt_pages *pages)
{
	unsigned long *arr;

	if (PFNS_ARRAY_BYTES == PAGE_SIZE) {
		/*
		 * fail_page_alloc spares order 0 by default: the selftest's
		 * fault injection still reaches this failure, as it did
		 * when kmalloc could fail here, and kmemleak still follows
		 * the array
		 */
		if (iommufd_should_fail())
			return NULL;
		arr = (unsigned long *)__get_free_page(GFP_KERNEL_ACCOUNT);
		if (arr)
			kmemleak_alloc(arr, PAGE_SIZE, 1, GFP_KERNEL);
	} else {
		arr = kmalloc(PFNS_ARRAY_BYTES, GFP_KERNEL_ACCOUNT);
	}
	if (arr && pages->ictx)
		atomic_long_inc(&pages->ictx->stat_pfn_arrays);
	return arr;
}

static void pfns_array_free(struct iopt_pages *pages, unsigned long *arr)
{
	if (pages->ictx)
		atomic_long_dec(&pages->ictx->stat_pfn_arrays);
	if (PFNS_ARRAY_BYTES == PAGE_SIZE) {
		kmemleak_free(arr);
		free_page((unsigned long)arr);
	} else {
		kfree(arr);
	}
}

/* The PFN of the pinned page at @index, read from chunk entry @entry */
static unsigned long pfns_entry_pfn(void *entry, unsigned int slot)
{
	if (xa_is_value(entry))
		return xa_to_value(entry) + slot;
	return ((unsigned long *)entry)[slot];
}

static unsigned long pages_pfn(struct iopt_pages *pages, unsigned long index)
{
	lockdep_assert_held(&pages->mutex);

	return pfns_entry_pfn(xa_load(&pages->pfns, pfns_chunk(pages, index)),
			      pfns_slot(pages, index));
}

/*
 * Keeping PFNs in a domain
 * ------------------------
 * An array chunk costs 4 KiB of kernel memory per IOPT_PFN_CHUNK pages,
 * 2 MiB per GiB of fragmented 4 KiB pages, while the domains the chunk's pages
 * are mapped into hold the same PFNs in their IOPTEs. So when an area has
 * been mapped into every domain of its table, the array chunks that lie
 * wholly inside it and that nobody else uses (no other area in domains, no
 * access) are freed: PFNS_KEPT, read back with iommu_iova_to_phys() from
 * the area's keeper, the table's first domain (iopt_area_keep_pfns()).
 *
 * A kept chunk has exactly one user, the area it is kept for, which is how
 * a reader finds the keeper (pages_kept_owner()), and everything that
 * would add a user takes the chunk back into an array first
 * (pages_unkeep(), in pages_pin_unused()): an area of another table or of
 * IOAS_COPY, an access. That can fail, as adding a user may. Mapping the
 * area into a new domain of its table reads the keeper directly.
 *
 * Removing the area from its domains cannot fail, and must unpin the pages
 * only once no domain maps them. The other domains are cleared as usual;
 * the keeper is cleared last, by iopt_area_unpin_for_domains(), which
 * reads the kept PFNs, unmaps them and unpins them in stretches
 * (pages_unmap_keeper()). Drivers differ on an unmap that ends inside an
 * IOPTE or inside what one map call mapped: VT-d and AMD-Vi unmap all of
 * it, io-pgtable-arm splits it, virtio-iommu and the mock refuse. So no
 * stretch may end there. iommu_map_sg() calls the driver once per
 * physically contiguous run of its list, so a kept stretch is cut inside
 * only where the PFNs are not contiguous, and its two ends, the edges of
 * kept chunks, are hard edges: a run the store reports never goes on past
 * the edge of a chunk that is an array or kept (pages_pfn_run()), and a
 * scatterlist that would map one run from both sides of such an edge
 * ends there (pages_fill_sg()), so no map call of any domain spans it.
 * Arrays count too because a chunk is kept only after it was an array
 * in the first domain's fill; a value chunk wholly inside the area when a
 * domain is filled stays one while the area is there, for all its pages
 * are pinned (one the area covers only in part may become an array, but
 * is never kept for it). Moving the keeper when it leaves a table with
 * other domains is iopt_area_move_keeper().
 *
 * What a kept chunk is taken back for stays an array: an access that
 * unpins, or the copy whose source is unmapped, leaves its arrays, and so
 * does a table whose domains all left and came back. Keeping is only
 * decided when an area has just been mapped into its first domain. So an
 * emulated device that pins and unpins the same pages for every I/O reads
 * them back from the domain once, not at every pin.
 */

/* The IOVA at which @area maps (the part of) page @index it covers */
static unsigned long area_index_iova(struct iopt_area *area,
				     unsigned long index)
{
	unsigned long off = max(index << PAGE_SHIFT, area->pages_offset);

	return area->node.start + (off - area->pages_offset);
}

/* The bytes @area maps of the pages [first, last] */
static unsigned long area_range_bytes(struct iopt_area *area,
				      unsigned long first, unsigned long last)
{
	unsigned long start = max(first << PAGE_SHIFT, area->pages_offset);
	unsigned long end = min((last + 1) << PAGE_SHIFT,
				area->pages_offset + iopt_area_bytes(area));

	return end - start;
}

/*
 * Unmap the pages [first, last] of @area from @domain: into @gather, or
 * synced before returning if @gather is NULL
 */
static void area_unmap_pages(struct iopt_area *area,
			     struct iommu_domain *domain, unsigned long first,
			     unsigned long last, struct iommu_iotlb_gather *gather)
{
	unsigned long iova = area_index_iova(area, first);
	size_t len = area_range_bytes(area, first, last), unmapped;

	if (gather)
		unmapped = iommu_unmap_fast(domain, iova, len, gather);
	else
		unmapped = iommu_unmap(domain, iova, len);
	WARN_ON_ONCE(unmapped != len);
}

/* The PFN of page @index, read back from @area's keeper */
static unsigned long area_kept_pfn(struct iopt_area *area,
				   unsigned long index)
{
	return PHYS_PFN(iommu_iova_to_phys(area->keeper,
					   area_index_iova(area, index)));
}

/* The area a PFNS_KEPT chunk with page @index is kept for: its one user */
static struct iopt_area *pages_kept_owner(struct iopt_pages *pages,
					  unsigned long index)
{
	struct interval_tree_node *node;

	lockdep_assert_held(&pages->mutex);

	node = interval_tree_iter_first(&pages->domains_itree, index, index);
	return container_of(node, struct iopt_area, pages_node);
}

/*
 * A walk over the store's runs remembers the chunk it looked up last: in
 * fragmented memory every page is a run, and the runs of one chunk then
 * cost one xarray lookup for all of them rather than one or two each. Valid
 * while pages->mutex is held and no chunk is stored or erased.
 */
struct pfns_cursor {
	unsigned long chunk;	/* ULONG_MAX: none yet; no real chunk is */
	void *entry;
	struct iopt_area *owner;	/* PFNS_KEPT: whom it is kept for */
};

#define PFNS_CURSOR_INIT { .chunk = ULONG_MAX }

static void *pfns_lookup(struct iopt_pages *pages, struct pfns_cursor *cur,
			 unsigned long chunk)
{
	if (cur->chunk != chunk) {
		cur->entry = xa_load(&pages->pfns, chunk);
		cur->chunk = chunk;
		cur->owner = NULL;
	}
	return cur->entry;
}

/* The PFN of page @index, in @cur's chunk, which is PFNS_KEPT */
static unsigned long pfns_kept_pfn(struct iopt_pages *pages,
				   struct pfns_cursor *cur, unsigned long index)
{
	if (!cur->owner)
		cur->owner = pages_kept_owner(pages, index);
	return area_kept_pfn(cur->owner, index);
}

/*
 * The physically contiguous run of pinned pages starting at @index and not
 * going past @last nor a hard edge (the edge of a chunk that is an array or
 * kept: see "Keeping PFNs in a domain"): its length in pages, and its
 * first PFN in *@pfn. Costs one lookup per chunk not in @cur yet, plus one
 * compare per page of array chunks, and one read of the keeper per page of
 * kept chunks.
 */
static unsigned long pages_pfn_run(struct iopt_pages *pages,
				   unsigned long index, unsigned long last,
				   unsigned long *pfn, struct pfns_cursor *cur)
{
	unsigned long n = 0;
	void *prev = NULL;

	lockdep_assert_held(&pages->mutex);

	*pfn = 0;	/* callers never ask for an empty run */
	while (index + n <= last) {
		unsigned long i = index + n;
		void *entry = pfns_lookup(pages, cur, pfns_chunk(pages, i));
		unsigned int slot = pfns_slot(pages, i);
		unsigned long take = min(last - i + 1,
					 (unsigned long)IOPT_PFN_CHUNK - slot);
		unsigned long j;

		/*
		 * Past the first chunk, i is a chunk's first page: a hard
		 * edge unless both chunks are value chunks
		 */
		if (n && !(pfns_is_contiguous(prev) && pfns_is_contiguous(entry)))
			break;
		prev = entry;
		if (entry == PFNS_KEPT) {
			for (j = 0; j != take; j++) {
				unsigned long p = pfns_kept_pfn(pages, cur, i + j);

				if (!n && !j)
					*pfn = p;
				else if (p != *pfn + n + j)
					break;
			}
			n += j;
			if (j != take)
				break;
			continue;
		}
		if (!n)
			*pfn = pfns_entry_pfn(entry, slot);
		if (xa_is_value(entry)) {
			if (xa_to_value(entry) + slot != *pfn + n)
				break;
			n += take;
			continue;
		}
		for (j = 0; j != take; j++)
			if (((unsigned long *)entry)[slot + j] != *pfn + n + j)
				break;
		n += j;
		if (j != take)
			break;
	}
	return n;
}

/*
 * How many PFNs from @pfn on have their struct pages in one array, so that
 * the struct page of @pfn + i is the one of @pfn plus i: up to the end of
 * @pfn's memory section in SPARSEMEM without VMEMMAP, where each section
 * has an array of its own; ULONG_MAX, no limit, in the memory models with
 * a single array (VMEMMAP, FLATMEM).
 */
static unsigned long memmap_span(unsigned long pfn)
{
#if defined(CONFIG_SPARSEMEM) && !defined(CONFIG_SPARSEMEM_VMEMMAP)
	return PAGES_PER_SECTION - (pfn & ~PAGE_SECTION_MASK);
#else
	return ULONG_MAX;
#endif
}

/*
 * Are the @n pages at @pg, the first of which has PFN @first, physically
 * contiguous? Asked of every page pinned, so it compares struct page
 * pointers, which costs no read of the struct pages: in SPARSEMEM without
 * VMEMMAP, page_to_pfn() reads the page's flags to find its section.
 * Within a memmap span the struct page of the next PFN is the next struct
 * page, and no other struct page has its PFN. At the start of each span but
 * the first (whose PFN is @first) the PFNs themselves are compared: the
 * arrays of two sections can lie one after the other in memory with a hole
 * between their PFNs.
 */
static bool pages_contiguous(struct page **pg, unsigned long n,
			     unsigned long first)
{
	unsigned long i = 0;

	while (i < n) {
		unsigned long end = i + min(n - i, memmap_span(first + i));
		struct page *base = pg[i];
		unsigned long j;

		if (i && page_to_pfn(base) != first + i)
			return false;
		for (j = i + 1; j < end; j++)
			if (pg[j] != base + (j - i))
				return false;
		i = end;
	}
	return true;
}

/*
 * Record the @n pages at @pg, just pinned, at @index.. inside one chunk:
 * nothing to write if they fit the chunk's value entry, else the chunk
 * becomes (or stays) an array.
 */
static int pages_store_chunk(struct iopt_pages *pages, unsigned long index,
			     struct page **pg, unsigned long n)
{
	unsigned long chunk = pfns_chunk(pages, index);
	unsigned int slot = pfns_slot(pages, index);
	unsigned long first = page_to_pfn(pg[0]);
	bool contiguous = pages_contiguous(pg, n, first);
	void *entry = xa_load(&pages->pfns, chunk);
	unsigned long *arr, i;
	int rc;

	/* pages_pin_unused() took kept chunks back before pinning */
	if (WARN_ON_ONCE(entry == PFNS_KEPT))
		return -EINVAL;
	if (!entry && contiguous && first >= slot)
		return xa_err(xa_store(&pages->pfns, chunk,
				       xa_mk_value(first - slot),
				       GFP_KERNEL_ACCOUNT));
	if (xa_is_value(entry) && contiguous &&
	    xa_to_value(entry) + slot == first)
		return 0;

	if (!entry || xa_is_value(entry)) {
		arr = pfns_array_alloc(pages);
		if (!arr)
			return -ENOMEM;
		/* The pages still pinned under a value entry keep their PFN */
		if (entry)
			for (i = 0; i != IOPT_PFN_CHUNK; i++)
				arr[i] = xa_to_value(entry) + i;
		rc = xa_err(xa_store(&pages->pfns, chunk, arr,
				     GFP_KERNEL_ACCOUNT));
		if (rc) {
			pfns_array_free(pages, arr);
			return rc;
		}
	} else {
		arr = entry;
	}
	for (i = 0; i != n; i++)
		arr[slot + i] = page_to_pfn(pg[i]);
	return 0;
}

/* Record the @n pages at @pg, just pinned, at @index.. */
static int pages_store(struct iopt_pages *pages, unsigned long index,
		       struct page **pg, unsigned long n)
{
	lockdep_assert_held(&pages->mutex);

	while (n) {
		unsigned long take = min(n, (unsigned long)IOPT_PFN_CHUNK -
					       pfns_slot(pages, index));
		int rc;

		rc = pages_store_chunk(pages, index, pg, take);
		if (rc)
			return rc;
		index += take;
		pg += take;
		n -= take;
	}
	return 0;
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
 * Erase the chunks overlapping [start, last] none of whose pages is used
 * any more. Only chunks that exist are visited.
 */
static void pages_forget_pfns(struct iopt_pages *pages, unsigned long start,
			      unsigned long last)
{
	unsigned long chunk;
	void *entry;

	lockdep_assert_held(&pages->mutex);

	xa_for_each_range(&pages->pfns, chunk, entry, pfns_chunk(pages, start),
			  pfns_chunk(pages, last)) {
		unsigned long first, end;

		pfns_chunk_range(pages, chunk, &first, &end);
		if (pages_range_used(pages, first, end))
			continue;
		xa_erase(&pages->pfns, chunk);
		if (pfns_is_array(entry))
			pfns_array_free(pages, entry);
		else if (entry == PFNS_KEPT)
			pages->nkept--;
	}
}

/*
 * Unpinning. User pages carry one pin each, dropped over contiguous runs.
 * A file folio carries one pin for all its pinned pages, dropped with the
 * last of them.
 */

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
	/* A hole at index 0 has nothing before it: start - 1 would wrap */
	return (first < start && pages_range_used(pages, first, start - 1)) ||
	       (end > last && pages_range_used(pages, last + 1, end));
}

/* Drop our pin on each folio of a run of file pages that nobody else uses */
static void pages_unpin_file_run(struct iopt_pages *pages, unsigned long index,
				 unsigned long pfn, unsigned long n,
				 unsigned long start, unsigned long last)
{
	struct page *page = pfn_to_page(pfn);

	while (n) {
		struct folio *folio = page_folio(page);
		unsigned long k = min_t(unsigned long, n,
					folio_nr_pages(folio) -
					folio_page_idx(folio, page));

		if (!pages_folio_used_elsewhere(pages, page, index, start, last))
			unpin_user_page_range_dirty_lock(page, 1,
							 pages->writable);
		page = nth_page(page, k);
		index += k;
		n -= k;
	}
}

/* Unpin and uncharge [start, last], which nobody uses any more */
static void pages_unpin_range(struct iopt_pages *pages, unsigned long start,
			      unsigned long last)
{
	struct pfns_cursor cur = PFNS_CURSOR_INIT;
	unsigned long index = start;

	while (index <= last) {
		unsigned long pfn, n;

		n = pages_pfn_run(pages, index, last, &pfn, &cur);
		if (pages->source == IOPT_PAGES_FILE)
			pages_unpin_file_run(pages, index, pfn, n, start, last);
		else
			unpin_user_page_range_dirty_lock(pfn_to_page(pfn), n,
							 pages->writable);
		index += n;
	}
	pages_forget_pfns(pages, start, last);
	pages_uncharge(pages, last - start + 1);
	pages_count_pinned(pages, -(long)(last - start + 1));
}

/*
 * Pinning, in batches of page pointers. The batch is as large as
 * PAGES_BATCH_BYTES of pointers allows (smaller under the selftest's
 * memory limit), and falls back to one page of pointers if that much
 * cannot be had.
 */
#define PAGES_BATCH_BYTES SZ_64K
/* Pins of this many pages or fewer, the small maps, allocate no batch */
#define PAGES_BATCH_INLINE 4

/**
 * struct pages_batch - scratch space for pinning in batches
 * @pages: page pointers filled by one pin call
 * @folios: IOPT_PAGES_FILE only: folios filled by memfd_pin_folios(); the
 *          pins given back at once are NULLed. Both arrays are the inline
 *          ones, or both allocated: @pages == @inline_pages tells which
 * @nfolios: entries of @folios the last pin call filled
 * @max: entries in each array
 * @failed_at: first index of the hole whose pinning failed
 * @kept: IOPT_PAGES_FILE only: the last folio whose pin the hole being
 *        pinned keeps, or NULL
 * @inline_pages: @pages of a batch of at most PAGES_BATCH_INLINE pages
 * @inline_folios: @folios of such a batch
 */
struct pages_batch {
	struct page **pages;
	struct folio **folios;
	unsigned long nfolios;
	unsigned long max;
	unsigned long failed_at;
	struct folio *kept;
	struct page *inline_pages[PAGES_BATCH_INLINE];
	struct folio *inline_folios[PAGES_BATCH_INLINE];
};

/*
 * The bytes of scratch memory a pin or an unmap may use: PAGES_BATCH_BYTES,
 * less under the selftest's memory limit, at least @least
 */
static size_t pages_scratch_bytes(size_t least)
{
	size_t bytes = PAGES_BATCH_BYTES;

#ifdef CONFIG_IOMMUFD_TEST
	bytes = clamp_t(size_t, READ_ONCE(iommufd_test_memory_limit), least,
			bytes);
#endif
	return bytes;
}

static int pages_batch_init(struct pages_batch *batch,
			    struct iopt_pages *pages, unsigned long npages)
{
	size_t bytes = pages_scratch_bytes(sizeof(void *));

	memset(batch, 0, sizeof(*batch));
	batch->max = min(npages, bytes / sizeof(void *));
	/*
	 * On npages, not max: the selftest's small memory limits must still
	 * reach the allocations below and their failures
	 */
	if (npages <= PAGES_BATCH_INLINE) {
		batch->pages = batch->inline_pages;
		batch->folios = batch->inline_folios;
		return 0;
	}
	batch->pages = kvmalloc_array(batch->max, sizeof(*batch->pages),
				      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!batch->pages && batch->max > PAGE_SIZE / sizeof(void *)) {
		batch->max = PAGE_SIZE / sizeof(void *);
		batch->pages = kmalloc_array(batch->max, sizeof(*batch->pages),
					     GFP_KERNEL_ACCOUNT);
	}
	if (!batch->pages)
		return -ENOMEM;
	if (pages->source != IOPT_PAGES_FILE)
		return 0;

	batch->folios = kvmalloc_array(batch->max, sizeof(*batch->folios),
				       GFP_KERNEL_ACCOUNT);
	if (!batch->folios) {
		kvfree(batch->pages);
		return -ENOMEM;
	}
	return 0;
}

static void pages_batch_destroy(struct pages_batch *batch)
{
	if (batch->pages == batch->inline_pages)
		return;
	kvfree(batch->folios);
	kvfree(batch->pages);
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

	lockdep_assert_held(&pages->mutex);

	/* VFIO_DMA_UNMAP_FLAG_VADDR: no address to pin from, as in type1 */
	if (pages->uptr_invalid)
		return -EBUSY;

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
	batch->nfolios = nfolios;

	for (i = 0; i < nfolios; i++) {
		struct folio *folio = batch->folios[i];
		unsigned long first = i ? 0 : offset >> PAGE_SHIFT;
		unsigned long take = min(folio_nr_pages(folio) - first,
					 npages - done);
		unsigned long k;

		if (!take || folio == batch->kept ||
		    pages_folio_used_elsewhere(pages, folio_page(folio, first),
					       index + done, start, last)) {
			unpin_folio(folio);
			batch->folios[i] = NULL;
		} else {
			batch->kept = folio;
		}
		for (k = 0; k < take; k++)
			batch->pages[done++] = folio_page(folio, first + k);
	}
	return done;
}

/* Undo the pin call that filled @batch with @got pages, which failed */
static void pages_batch_unpin(struct iopt_pages *pages,
			      struct pages_batch *batch, unsigned long got)
{
	unsigned long i;

	if (pages->source != IOPT_PAGES_FILE) {
		unpin_user_pages(batch->pages, got);
		return;
	}
	for (i = 0; i != batch->nfolios; i++) {
		if (!batch->folios[i])
			continue;
		if (batch->folios[i] == batch->kept)
			batch->kept = NULL;
		unpin_folio(batch->folios[i]);
	}
}

/* Pin, charge and record every page of the hole [start, last] */
static int pages_pin_hole(struct iopt_pages *pages, unsigned long start,
			  unsigned long last, struct pages_batch *batch)
{
	unsigned long index = start;
	int rc;

	/* Charge it all first: a map over the limit pins nothing */
	rc = pages_charge(pages, last - start + 1);
	if (rc)
		return rc;

	batch->kept = NULL;
	while (index <= last) {
		unsigned long want = min(last - index + 1, batch->max);
		long got;

		/*
		 * Let the selftest's fault injection reach the unwinding: in
		 * the first batch (nothing to undo) and in the last (undo all
		 * the others). One point per batch would make fail-nth sweeps
		 * grow with the number of pages.
		 */
		if ((index == start || index + want > last) &&
		    iommufd_should_fail()) {
			rc = -EFAULT;
			goto err_unpin;
		}
		if (pages->source == IOPT_PAGES_FILE)
			got = pages_pin_file(pages, index, want, start, last,
					     batch);
		else
			got = pages_gup(pages, index, want, batch->pages);
		if (got <= 0) {
			rc = got ? got : -EFAULT;
			goto err_unpin;
		}
		rc = pages_store(pages, index, batch->pages, got);
		if (rc) {
			pages_batch_unpin(pages, batch, got);
			goto err_unpin;
		}
		pages_count_pinned(pages, got);
		index += got;
	}
	return 0;

err_unpin:
	pages_uncharge(pages, last - index + 1);
	if (index != start)
		pages_unpin_range(pages, start, index - 1);
	/* A failed batch may have recorded part of itself */
	pages_forget_pfns(pages, index, last);
	return rc;
}

/* Does anyone but @area use a page of [first, last]? */
static bool pages_used_by_other(struct iopt_pages *pages,
				struct iopt_area *area, unsigned long first,
				unsigned long last)
{
	struct interval_tree_node *node;

	if (interval_tree_iter_first(&pages->access_itree, first, last))
		return true;
	for (node = interval_tree_iter_first(&pages->domains_itree, first, last);
	     node; node = interval_tree_iter_next(node, first, last))
		if (node != &area->pages_node)
			return true;
	return false;
}

/**
 * iopt_area_keep_pfns() - let a domain keep the PFNs only an area uses
 * @area: an area just mapped into every domain of its table
 *
 * Frees the array of every chunk that lies wholly inside @area and that
 * nobody else uses; their PFNs are read back from the table's first
 * domain from then on. See "Keeping PFNs in a domain".
 *
 * Context: Process context; takes the pages mutex. The caller holds the
 * table's domains_rwsem, for write or while it fills the busy @area.
 */
void iopt_area_keep_pfns(struct iopt_area *area)
{
	struct iopt_pages *pages = area->pages;
	unsigned long start = iopt_area_index_first(area);
	unsigned long last = iopt_area_index_last(area);
	unsigned long chunk, first, end;
	struct iommu_domain *domain;
	void *entry;

	/* A chunk of one page is contiguous: never an array (small maps) */
	if (start == last)
		return;

	domain = xa_load(&area->iopt->domains, 0);
	mutex_lock(&pages->mutex);
	xa_for_each_range(&pages->pfns, chunk, entry, pfns_chunk(pages, start),
			  pfns_chunk(pages, last)) {
		if (!pfns_is_array(entry))
			continue;
		pfns_chunk_range(pages, chunk, &first, &end);
		if (first < start || end > last ||
		    pages_used_by_other(pages, area, first, end))
			continue;
		/* Replacing an entry allocates nothing */
		if (xa_is_err(xa_store(&pages->pfns, chunk, PFNS_KEPT,
				       GFP_KERNEL)))
			continue;
		pfns_array_free(pages, entry);
		pages->nkept++;
		area->keeper = domain;
	}
	mutex_unlock(&pages->mutex);
}

/**
 * iopt_area_move_keeper() - let another domain keep an area's PFNs
 * @area: an area of the table that domain @from is leaving
 * @from: the leaving domain
 * @to: another domain of the table, which maps @area as well
 *
 * Context: Process context; takes the pages mutex. The caller holds the
 * table's domains_rwsem for write.
 */
void iopt_area_move_keeper(struct iopt_area *area, struct iommu_domain *from,
			   struct iommu_domain *to)
{
	if (area->keeper != from)
		return;
	mutex_lock(&area->pages->mutex);
	area->keeper = to;
	mutex_unlock(&area->pages->mutex);
}

/*
 * A new user comes to [start, last]: every kept chunk there gets its array
 * back, read from its keeper, so that kept chunks keep their one user.
 */
static int pages_unkeep(struct iopt_pages *pages, unsigned long start,
			unsigned long last)
{
	unsigned long chunk, first, end, i;
	void *entry;

	lockdep_assert_held(&pages->mutex);

	if (!pages->nkept)
		return 0;
	xa_for_each_range(&pages->pfns, chunk, entry, pfns_chunk(pages, start),
			  pfns_chunk(pages, last)) {
		struct iopt_area *owner;
		unsigned long *arr;
		int rc;

		if (entry != PFNS_KEPT)
			continue;
		pfns_chunk_range(pages, chunk, &first, &end);
		owner = pages_kept_owner(pages, first);
		arr = pfns_array_alloc(pages);
		if (!arr)
			return -ENOMEM;
		for (i = first; i <= end; i++)
			arr[pfns_slot(pages, i)] = area_kept_pfn(owner, i);
		rc = xa_err(xa_store(&pages->pfns, chunk, arr,
				     GFP_KERNEL_ACCOUNT));
		if (rc) {
			pfns_array_free(pages, arr);
			return rc;
		}
		pages->nkept--;
	}
	return 0;
}

/* A physically contiguous run of pages */
struct pfn_run {
	unsigned long pfn;
	unsigned long npages;
};

#define KEPT_UNMAP_INLINE_RUNS 8

/**
 * struct kept_unmap - kept pages on their way out of their keeper
 * @area: the area leaving its keeper
 * @runs: the PFNs of the pages [@first, @next), read from the keeper
 * @nruns: entries of @runs used
 * @max: entries in @runs
 * @first: the first page read and not unmapped yet
 * @next: the page after the last read
 * @inline_runs: @runs when no larger array could be had
 *
 * @runs is NULL until the first kept stretch.
 */
struct kept_unmap {
	struct iopt_area *area;
	struct pfn_run *runs;
	unsigned int nruns;
	unsigned int max;
	unsigned long first;
	unsigned long next;
	struct pfn_run inline_runs[KEPT_UNMAP_INLINE_RUNS];
};

/*
 * Scratch for the runs: as much as the pinning batches may have, else a
 * page (not charged: it is freed before the unmap returns), else the inline
 * runs, with which a fragmented unmap syncs the IOTLB every eight pages
 */
static void kept_unmap_get_runs(struct kept_unmap *u)
{
	size_t bytes = pages_scratch_bytes(sizeof(struct pfn_run));

	u->runs = kvmalloc(bytes, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!u->runs && bytes > PAGE_SIZE) {
		bytes = PAGE_SIZE;
		u->runs = kmalloc(bytes, GFP_KERNEL | __GFP_NOWARN);
	}
	if (!u->runs) {
		u->runs = u->inline_runs;
		bytes = sizeof(u->inline_runs);
	}
	u->max = bytes / sizeof(*u->runs);
}

/* Unmap the pages read so far from the keeper, then unpin them */
static void kept_unmap_flush(struct kept_unmap *u)
{
	struct iopt_area *area = u->area;
	struct iopt_pages *pages = area->pages;
	unsigned long npages = u->next - u->first;
	unsigned long index = u->first;
	unsigned int i;

	if (!npages)
		return;
	area_unmap_pages(area, area->keeper, u->first, u->next - 1, NULL);
	for (i = 0; i != u->nruns; i++) {
		struct pfn_run *run = &u->runs[i];

		if (pages->source == IOPT_PAGES_FILE)
			pages_unpin_file_run(pages, index, run->pfn,
					     run->npages, u->first,
					     u->next - 1);
		else
			unpin_user_page_range_dirty_lock(pfn_to_page(run->pfn),
							 run->npages,
							 pages->writable);
		index += run->npages;
	}
	pages_uncharge(pages, npages);
	pages_count_pinned(pages, -(long)npages);
	u->first = u->next;
	u->nruns = 0;
}

/* Read the PFN of page u->next; unmap and unpin those before if full */
static void kept_unmap_add(struct kept_unmap *u)
{
	unsigned long pfn = area_kept_pfn(u->area, u->next);
	struct pfn_run *run = u->nruns ? &u->runs[u->nruns - 1] : NULL;

	if (run && run->pfn + run->npages == pfn) {
		run->npages++;
	} else {
		/* A stretch may end here: no IOPTE maps this page and the last */
		if (u->nruns == u->max)
			kept_unmap_flush(u);
		u->runs[u->nruns].pfn = pfn;
		u->runs[u->nruns].npages = 1;
		u->nruns++;
	}
	u->next++;
}

/*
 * Whether the chunks from page @index on are kept; *@end is the last page,
 * not past @last, up to which they all are, or all are not
 */
static bool pages_kept_stretch(struct iopt_pages *pages, unsigned long index,
			       unsigned long last, unsigned long *end)
{
	unsigned long chunk = pfns_chunk(pages, index), first;
	bool kept = xa_load(&pages->pfns, chunk) == PFNS_KEPT;

	for (;;) {
		pfns_chunk_range(pages, chunk, &first, end);
		if (*end >= last ||
		    (xa_load(&pages->pfns, chunk + 1) == PFNS_KEPT) != kept)
			break;
		chunk++;
	}
	*end = min(*end, last);
	return kept;
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

	rc = pages_unkeep(pages, start, last);
	if (rc)
		return rc;
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
 * @pinned: out: how many pages this pinned that were not pinned before
 *
 * Context: Process context; takes the pages mutex.
 * Return: 0, or -errno with nothing pinned.
 */
int iopt_area_pin_for_domains(struct iopt_area *area, unsigned long *pinned)
{
	struct iopt_pages *pages = area->pages;
	unsigned long start = iopt_area_index_first(area);
	unsigned long last = iopt_area_index_last(area);
	unsigned long before;
	int rc;

	mutex_lock(&pages->mutex);
	before = pages->npinned;
	rc = pages_pin_unused(pages, start, last);
	if (!rc) {
		area->pages_node.start = start;
		area->pages_node.last = last;
		interval_tree_insert(&area->pages_node, &pages->domains_itree);
		*pinned = pages->npinned - before;
		atomic_long_add(last - start + 1, &area->iopt->stat_pinned);
	}
	mutex_unlock(&pages->mutex);
	return rc;
}

/*
 * @area leaves its keeper, the last domain that maps it, and is out of
 * domains_itree already. Its kept chunks are read, unmapped and unpinned
 * in stretches as long as the scratch memory allows; the rest of the area
 * is unmapped with one IOTLB sync, then unpinned where nobody else uses it.
 */
static void pages_unmap_keeper(struct iopt_pages *pages,
			       struct iopt_area *area)
{
	unsigned long start = iopt_area_index_first(area);
	unsigned long last = iopt_area_index_last(area);
	struct kept_unmap u = { .area = area };
	struct iommu_iotlb_gather gather;
	unsigned long index, end;

	lockdep_assert_held(&pages->mutex);

	iommu_iotlb_gather_init(&gather);
	for (index = start; index <= last; index = end + 1) {
		if (pages_kept_stretch(pages, index, last, &end)) {
			if (!u.runs)
				kept_unmap_get_runs(&u);
			u.first = index;
			u.next = index;
			while (u.next <= end)
				kept_unmap_add(&u);
			kept_unmap_flush(&u);
			continue;
		}
		area_unmap_pages(area, area->keeper, index, end, &gather);
	}
	iommu_iotlb_sync(area->keeper, &gather);

	/* The kept chunks' pages are unpinned: forget them, unpin the rest */
	for (index = start; index <= last; index = end + 1) {
		if (pages_kept_stretch(pages, index, last, &end))
			pages_forget_pfns(pages, index, end);
		else
			pages_unpin_unused(pages, index, end);
	}
	area->keeper = NULL;
	if (u.runs != u.inline_runs)
		kvfree(u.runs);
}

/**
 * iopt_area_unpin_for_domains() - undo iopt_area_pin_for_domains()
 * @area: an area no longer mapped into any domain but its keeper, if it
 *        has one: this unmaps it from the keeper, reading the PFNs kept
 *        there first
 *
 * Context: Process context; takes the pages mutex.
 * Return: how many pages this unpinned (those no other user kept pinned).
 */
unsigned long iopt_area_unpin_for_domains(struct iopt_area *area)
{
	struct iopt_pages *pages = area->pages;
	unsigned long before, npages;

	mutex_lock(&pages->mutex);
	before = pages->npinned;
	interval_tree_remove(&area->pages_node, &pages->domains_itree);
	if (area->keeper)
		pages_unmap_keeper(pages, area);
	else
		pages_unpin_unused(pages, area->pages_node.start,
				   area->pages_node.last);
	npages = area->pages_node.last - area->pages_node.start + 1;
	atomic_long_sub(npages, &area->iopt->stat_pinned);
	npages = before - pages->npinned;
	mutex_unlock(&pages->mutex);
	return npages;
}

/*
 * Mapping into a domain. The PFNs of a stretch of the area are copied into
 * a scatterlist under the pages mutex, then mapped with one
 * iommu_map_sg() call, outside it: the IOMMU core maps each physically
 * contiguous run with the largest page sizes the domain, the IOVA and the
 * address allow, and the driver syncs its IOTLB (an invalidation, under a
 * caching-mode vIOMMU) once per call rather than once per run. The pages
 * stay pinned meanwhile: the area is in domains_itree.
 */
#define MAP_SG_ENTRIES 128
/* Maps of this many pages or fewer, the small maps, allocate no list */
#define MAP_SG_INLINE PAGES_BATCH_INLINE
/* The longest scatterlist entry: sg lengths are unsigned int */
#define MAP_SG_MAX_LEN SZ_1G

/*
 * Fill @sg with up to @max entries for the bytes [*off, end) of @pages,
 * physically contiguous runs (single pages if @one_page_each). Advances
 * *off past what was filled and returns the number of entries. Ends early
 * at a hard edge that a run goes on physically across: iommu_map_sg()
 * would map the entries on both sides with one driver call.
 */
static unsigned int pages_fill_sg(struct iopt_pages *pages,
				  struct scatterlist *sg, unsigned int max,
				  unsigned long *off, unsigned long end,
				  bool one_page_each)
{
	unsigned long last_index = (end - 1) >> PAGE_SHIFT;
	struct pfns_cursor cur = PFNS_CURSOR_INIT;
	unsigned long edge_pfn = 0;
	bool at_edge = false;	/* the entry before ended at a chunk's end */
	unsigned int n = 0;

	mutex_lock(&pages->mutex);
	sg_init_table(sg, max);
	while (*off < end && n != max) {
		unsigned long index = *off >> PAGE_SHIFT;
		unsigned long pfn, npages, len, run_end;

		npages = pages_pfn_run(pages, index,
				       one_page_each ? index : last_index,
				       &pfn, &cur);
		/* Only a hard edge stops a run that goes on physically */
		if (at_edge && pfn == edge_pfn)
			break;
		run_end = (index + npages) << PAGE_SHIFT;
		len = min(end, run_end) - *off;
		len = min_t(unsigned long, len, MAP_SG_MAX_LEN);
		sg_set_page(&sg[n++], pfn_to_page(pfn), len, *off % PAGE_SIZE);
		*off += len;
		at_edge = !one_page_each && *off == run_end &&
			  !pfns_slot(pages, index + npages);
		edge_pfn = pfn + npages;
	}
	mutex_unlock(&pages->mutex);
	return n;
}

/* Map the @nents entries of @sg at @iova, one call each if @one_each */
static long pages_map_sg(struct iommu_domain *domain, unsigned long iova,
			 struct scatterlist *sg, unsigned int nents, int prot,
			 bool one_each)
{
	unsigned long done = 0;
	unsigned int i;
	int rc;

	if (!one_each)
		return iommu_map_sg(domain, iova, sg, nents, prot,
				    GFP_KERNEL_ACCOUNT);

	/* PAGE_SIZE IOPTEs only: no run may be merged into larger ones */
	for (i = 0; i != nents; i++) {
		rc = iommu_map(domain, iova + done, sg_phys(&sg[i]),
			       sg[i].length, prot, GFP_KERNEL_ACCOUNT);
		if (rc) {
			if (done)
				iommu_unmap(domain, iova, done);
			return rc;
		}
		done += sg[i].length;
	}
	return done;
}

/**
 * iopt_area_map_domain() - map a pinned area into one domain
 * @area: an area pinned with iopt_area_pin_for_domains()
 * @domain: the domain
 * @disable_large_pages: map PAGE_SIZE IOPTEs only
 * @runs: out: the physically contiguous runs mapped, each with the largest
 *        IOPTEs the domain, IOVA and address allow (added to)
 *
 * Context: Process context; takes the pages mutex.
 * Return: 0, or -errno with nothing of @area left in @domain.
 */
int iopt_area_map_domain(struct iopt_area *area, struct iommu_domain *domain,
			 bool disable_large_pages, unsigned long *runs)
{
	unsigned long off = area->pages_offset;
	unsigned long end = off + iopt_area_bytes(area);
	unsigned long iova = area->node.start;
	/* No more entries than pages: a small map needs one, not a page */
	unsigned int max = min_t(unsigned long, MAP_SG_ENTRIES,
				 iopt_area_index_last(area) -
				 iopt_area_index_first(area) + 1);
	struct scatterlist sg_inline[MAP_SG_INLINE], *sg = sg_inline;
	long rc = 0;

	if (max > MAP_SG_INLINE) {
		sg = kmalloc_array(max, sizeof(*sg), GFP_KERNEL_ACCOUNT);
		if (!sg)
			return -ENOMEM;
	}
	while (off < end) {
		unsigned int nents;

		nents = pages_fill_sg(area->pages, sg, max, &off, end,
				      disable_large_pages);
		*runs += nents;
		rc = pages_map_sg(domain, iova, sg, nents, area->iommu_prot,
				  disable_large_pages);
		if (rc < 0)
			break;
		iova += rc;
		rc = 0;
	}
	if (sg != sg_inline)
		kfree(sg);

	if (rc && iova != area->node.start)
		iommu_unmap(domain, area->node.start, iova - area->node.start);
	return rc;
}

/**
 * iopt_area_clear_domain() - remove an area from one domain
 * @area: an area mapped into @domain
 * @domain: the domain; if it is @area's keeper, nothing happens:
 *          iopt_area_unpin_for_domains() unmaps the area from it
 * @gather: collects the IOTLB invalidation; the caller must sync it before
 *          the pages can be unpinned
 *
 * Context: Process context.
 */
void iopt_area_clear_domain(struct iopt_area *area,
			    struct iommu_domain *domain,
			    struct iommu_iotlb_gather *gather)
{
	/* The keeper is unmapped last, by iopt_area_unpin_for_domains() */
	if (domain == area->keeper)
		return;
	area_unmap_pages(area, domain, iopt_area_index_first(area),
			 iopt_area_index_last(area), gather);
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

/* Hand out the struct page of every index of [start, last] */
static void pages_fill_out(struct iopt_pages *pages, unsigned long start,
			   unsigned long last, struct page **out_pages)
{
	struct pfns_cursor cur = PFNS_CURSOR_INIT;

	while (start <= last) {
		unsigned long pfn, n, i;

		n = pages_pfn_run(pages, start, last, &pfn, &cur);
		for (i = 0; i != n; i++)
			*out_pages++ = pfn_to_page(pfn + i);
		start += n;
	}
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
		pages_fill_out(pages, start, last, out_pages);
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
 * -EAGAIN when it is not, so the caller pins instead, and -EBUSY while
 * VFIO_DMA_UNMAP_FLAG_VADDR has taken the address away (type1 fails
 * vfio_dma_rw() then too).
 */
static int pages_copy_user(struct iopt_pages *pages, unsigned long offset,
			   void *data, unsigned long length, unsigned int flags)
{
	struct mm_struct *mm;
	bool use_mm = false;
	int rc;

	if (current->mm != READ_ONCE(pages->payer.mm) &&
	    (!(flags & IOMMUFD_ACCESS_RW_KTHREAD) || current->mm ||
	     !(current->flags & PF_KTHREAD)))
		return -EAGAIN;

	/*
	 * The mutex keeps the address and its mm valid for the copy: a fault
	 * under it takes the mmap_lock, in the order pinning takes them too.
	 */
	guard(mutex)(&pages->mutex);
	if (pages->uptr_invalid)
		return -EBUSY;
	mm = pages->payer.mm;
	if (current->mm != mm) {
		if (current->mm)
			return -EAGAIN;
		if (!mmget_not_zero(mm))
			return -EFAULT;
		kthread_use_mm(mm);
		use_mm = true;
	}

	if (flags & IOMMUFD_ACCESS_RW_WRITE)
		rc = copy_to_user(pages->uptr + offset, data, length) ?
			     -EFAULT : 0;
	else
		rc = copy_from_user(data, pages->uptr + offset, length) ?
			     -EFAULT : 0;

	if (use_mm) {
		kthread_unuse_mm(mm);
		mmput(mm);
	}
	return rc;
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
