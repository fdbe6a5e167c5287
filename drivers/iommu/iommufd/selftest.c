// SPDX-License-Identifier: GPL-2.0-only
/*
 * selftest.c - a mock IOMMU, mock devices behind it, and IOMMU_TEST_CMD: what
 * tools/testing/selftests/iommu drives iommufd with. Only built with
 * CONFIG_IOMMUFD_TEST, which lets any user of /dev/iommu create devices.
 *
 * The mock IOMMU
 * --------------
 * A driver for a bus of its own ("iommufd-mock"), registered with
 * iommu_device_register_bus(). Its paging domains are stricter than any
 * hardware, so that the tests see what iommufd really does:
 *
 *  - the IO page is MOCK_IO_PAGE_SIZE, half a CPU page, so every mapping
 *    that is not CPU-page aligned at both ends is exercised;
 *  - the aperture is [MOCK_APERTURE_START, MOCK_APERTURE_LAST], never 0;
 *  - every IOPTE is recorded, one per IO page, holding the physical address
 *    it points at plus flags: the first and last IOPTE of each map_pages()
 *    call, huge-IOPTE membership, the dirty bit, and the read and write
 *    permissions. IOMMU_TEST_OP_MD_CHECK_MAP compares them with the pages
 *    of a user buffer (and, if asked, with the permissions expected), and
 *    IOMMU_TEST_OP_DIRTY plays the device writing.
 *
 * The IOPTEs live in a two-level table like a real one: an xarray of leaf
 * tables of MOCK_LEAF_PTES entries, allocated when a map first reaches
 * them and freed with the domain. Entries are written with atomics and no
 * lock, so maps and unmaps of different ranges run in parallel as they do
 * with real drivers.
 *
 * What iommufd can never do - map an IOVA twice, map outside the aperture,
 * unmap a hole, cut a single map_pages() call in two, free a domain that
 * still maps something - WARNs here. Nothing userspace does can get there:
 * every error userspace can cause is returned as an errno instead.
 *
 * A second mock IOMMU, with the same callbacks but ops of its own, drives
 * a second bus ("iommufd-mock-foreign") for MOCK_FLAGS_DEVICE_FOREIGN
 * devices: to iommufd it is another IOMMU driver, whose domains those of
 * the first must never be mixed with.
 *
 * Devices created with MOCK_FLAGS_DEVICE_HUGE_IOVA get domains that also
 * have a MOCK_HUGE_PAGE_SIZE IOPTE, dirty-tracked as one unit like a real
 * large IOPTE. Nested domains (IOMMU_HWPT_DATA_SELFTEST) have no page table,
 * only a small IOTLB that IOMMU_HWPT_INVALIDATE resets entry by entry.
 *
 * Each mock device is alone in its iommu_group. A PASID-capable one carries
 * a "pasid-num-bits" property, from which the IOMMU core computes
 * dev->iommu->max_pasids as for any platform device. Like the x86 IOMMU
 * drivers the mock registers without a fwnode, and the IOMMU core probes a
 * device without a fwspec with the first such IOMMU registered: where Intel
 * or AMD IOMMU hardware is active that is theirs, which refuses mock devices
 * (MOCK_DOMAIN fails with -ENODEV), so the suite needs a machine without
 * one. The mock refuses every device that is not on its bus in turn.
 *
 * Test objects
 * ------------
 * IOMMU_TEST_OP_MOCK_DOMAIN makes a mock device, binds it like VFIO would,
 * attaches it, and wraps the whole in an IOMMUFD_OBJ_SELFTEST object that
 * userspace owns: destroying it (or closing the file) detaches, unbinds and
 * deletes the device. The device object itself is owned by the binding, as
 * for VFIO, so userspace cannot destroy it directly.
 *
 * IOMMU_TEST_OP_CREATE_ACCESS makes an emulated device: an ACCESS wrapped in
 * an anonymous file whose descriptor the access ops take as their ID.
 * Closing it releases the pins and destroys the access.
 *
 * IOMMU_TEST_OP_TRIGGER_IOPF has a mock device send a page request. The
 * IOMMU core hands it to the fault-capable domain attached to the device;
 * for a PASID, to the nested domain of the RID (the mock leaves PASID tables
 * to the guest, ops->user_pasid_table). Like a real IOMMU's page request
 * queue, the mock reports it from its IOPF queue's workqueue, so that
 * iopf_queue_flush_dev() waits for a report in flight: iommufd relies on
 * that to retire an attachment that faults may still name.
 *
 * Lock order (on top of iommufd's):
 *   io_pagetable::domains_rwsem, iommufd_access::lock (held around the
 *   access unmap callback) -> mock_access::lock -> the locks taken by
 *   iommufd_access_pin_pages() and iommufd_access_unpin_pages()
 *   mock_domain::ptes xa_lock is innermost and never held across calls out.
 */
#include <linux/anon_inodes.h>
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/fault-inject.h>
#include <linux/file.h>
#include <linux/idr.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/overflow.h>
#include <linux/property.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <uapi/linux/iommufd.h>

#include "../iommu-priv.h"
#include "iommufd_private.h"
#include "iommufd_test.h"

/*
 * Test knobs
 */

/* Read by pages.c to bound its pinning batches; see SET_TEMP_MEMORY_LIMIT */
size_t iommufd_test_memory_limit = 65536;

/* Injected failures where failslab cannot reach (debugfs: fail_iommufd) */
static DECLARE_FAULT_ATTR(fail_iommufd);
static struct dentry *fail_iommufd_dir;

/**
 * iommufd_should_fail() - should this call site fail now?
 *
 * A fault injection point for paths whose failures failslab cannot produce
 * reliably, swept by the fail-nth selftest like any allocation.
 *
 * Context: Any context.
 * Return: true if the caller must fail as if it ran out of resources.
 */
bool iommufd_should_fail(void)
{
	return should_fail(&fail_iommufd, 1);
}

/*
 * The mock IOMMU
 */

#define MOCK_IO_PAGE_SHIFT (PAGE_SHIFT - 1)
#define MOCK_IO_PAGE_SIZE BIT(MOCK_IO_PAGE_SHIFT)
/* The large IOPTE of MOCK_FLAGS_DEVICE_HUGE_IOVA domains */
#define MOCK_HUGE_PAGE_SIZE (512 * MOCK_IO_PAGE_SIZE)
#define MOCK_HUGE_NR (MOCK_HUGE_PAGE_SIZE / MOCK_IO_PAGE_SIZE)

#define MOCK_DEV_FLAGS_ALL                                                  \
	(MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_HUGE_IOVA |          \
	 MOCK_FLAGS_DEVICE_PASID | MOCK_FLAGS_DEVICE_FOREIGN)

/*
 * A recorded IOPTE: the physical address in IO pages, shifted above these
 * flags. 0 is an empty entry.
 */
enum {
	/* The first and the last IOPTE of a map_pages() call */
	MOCK_PTE_START = BIT(0),
	MOCK_PTE_LAST = BIT(1),
	/* Part of a MOCK_HUGE_PAGE_SIZE IOPTE */
	MOCK_PTE_HUGE = BIT(2),
	/* Written to by the device; kept on the first entry of a huge IOPTE */
	MOCK_PTE_DIRTY_BIT = 3,
	MOCK_PTE_DIRTY = BIT(MOCK_PTE_DIRTY_BIT),
	/* Every recorded IOPTE has it, so none is 0 */
	MOCK_PTE_PRESENT = BIT(4),
	/* The device may read, write: IOMMU_READ and IOMMU_WRITE of the map */
	MOCK_PTE_READ = BIT(5),
	MOCK_PTE_WRITE = BIT(6),
	MOCK_PTE_PFN_SHIFT = 7,
};

/* IOPTEs per leaf table: one page of them */
#define MOCK_LEAF_PTES (PAGE_SIZE / sizeof(unsigned long))

static unsigned long mock_pte_make(phys_addr_t phys, unsigned long flags)
{
	return (phys >> MOCK_IO_PAGE_SHIFT) << MOCK_PTE_PFN_SHIFT |
	       MOCK_PTE_PRESENT | flags;
}

static phys_addr_t mock_pte_phys(unsigned long pte)
{
	return (phys_addr_t)(pte >> MOCK_PTE_PFN_SHIFT) << MOCK_IO_PAGE_SHIFT;
}

static bool mock_pte_test(unsigned long pte, unsigned long flag)
{
	return pte & flag;
}

/**
 * struct mock_dev - a device on the mock bus
 * @dev: the device; its release frees the whole
 * @flags: MOCK_FLAGS_DEVICE_*; immutable
 * @id: number in mock_dev_ida, which names the device
 */
struct mock_dev {
	struct device dev;
	u32 flags;
	int id;
};

static struct mock_dev *to_mock_dev(struct device *dev)
{
	return container_of(dev, struct mock_dev, dev);
}

/**
 * struct mock_domain - a paging domain of the mock IOMMU
 * @domain: the generic domain
 * @leaves: (IOVA / MOCK_IO_PAGE_SIZE) / MOCK_LEAF_PTES -> leaf table of
 *          recorded IOPTEs (see mock_pte_make())
 * @huge: also maps MOCK_HUGE_PAGE_SIZE IOPTEs; immutable
 * @nest_parent: may be the parent of nested domains; immutable
 * @dirty_tracking: device writes set dirty bits (set_dirty_tracking)
 * @nr_small: MOCK_IO_PAGE_SIZE IOPTEs mapped now
 * @nr_huge_slots: IO pages mapped now as parts of MOCK_HUGE_PAGE_SIZE
 *                 IOPTEs; counted at map and unmap time, so that fdinfo's
 *                 IOPTE sizes never walk the table
 */
struct mock_domain {
	struct iommu_domain domain;
	struct xarray leaves;
	bool huge;
	bool nest_parent;
	bool dirty_tracking;
	atomic_long_t nr_small;
	atomic_long_t nr_huge_slots;
};

/**
 * struct mock_nested - a nested domain of the mock IOMMU
 * @domain: the generic domain
 * @parent: the nesting parent; iommufd keeps it alive while we exist
 * @iotlb: the entries IOMMU_HWPT_INVALIDATE resets to 0
 */
struct mock_nested {
	struct iommu_domain domain;
	struct mock_domain *parent;
	u32 iotlb[MOCK_NESTED_DOMAIN_IOTLB_NUM];
};

static const struct iommu_ops mock_ops;
static const struct iommu_domain_ops mock_domain_ops;
static const struct iommu_domain_ops mock_nested_ops;
static const struct bus_type mock_bus = { .name = "iommufd-mock" };
static struct iommu_device mock_iommu = {
	.max_pasids = 1U << MOCK_PASID_WIDTH,
};

static struct notifier_block mock_bus_nb;

/* The second mock IOMMU: mock_ops' callbacks, another driver's identity */
static struct iommu_ops mock_foreign_ops;

static const struct bus_type mock_foreign_bus = {
	.name = "iommufd-mock-foreign",
};

static struct iommu_device mock_foreign_iommu = {
	.max_pasids = 1U << MOCK_PASID_WIDTH,
};

static struct notifier_block mock_foreign_bus_nb;
static DEFINE_IDA(mock_dev_ida);
/* Where the I/O page faults of devices with IOPF enabled wait; may be NULL */
static struct iopf_queue *mock_iopf_queue;

static struct mock_domain *to_mock_domain(struct iommu_domain *domain)
{
	return container_of(domain, struct mock_domain, domain);
}

static struct mock_nested *to_mock_nested(struct iommu_domain *domain)
{
	return container_of(domain, struct mock_nested, domain);
}

static int mock_domain_attach(struct iommu_domain *domain, struct device *dev)
{
	/* A device that cannot track dirty pages cannot use such a domain */
	if (domain->dirty_ops &&
	    (to_mock_dev(dev)->flags & MOCK_FLAGS_DEVICE_NO_DIRTY))
		return -EINVAL;
	return 0;
}

/*
 * The entry of IO page @index, or NULL if its leaf table does not exist;
 * with @gfp, the leaf is allocated if need be (NULL if that fails).
 */
static unsigned long *mock_pte_slot(struct mock_domain *mock,
				    unsigned long index, gfp_t gfp)
{
	unsigned long *leaf, *cur;

	leaf = xa_load(&mock->leaves, index / MOCK_LEAF_PTES);
	if (!leaf && gfp) {
		leaf = kcalloc(MOCK_LEAF_PTES, sizeof(*leaf), gfp);
		if (!leaf)
			return NULL;
		/* Another map may have reached the same leaf: take theirs */
		cur = xa_cmpxchg(&mock->leaves, index / MOCK_LEAF_PTES, NULL,
				 leaf, gfp);
		if (cur) {
			kfree(leaf);
			leaf = xa_is_err(cur) ? NULL : cur;
		}
	}
	return leaf ? &leaf[index % MOCK_LEAF_PTES] : NULL;
}

/* The IOPTE of IO page @index, 0 if none */
static unsigned long mock_pte_get(struct mock_domain *mock,
				  unsigned long index)
{
	unsigned long *slot = mock_pte_slot(mock, index, 0);

	return slot ? READ_ONCE(*slot) : 0;
}

static void mock_ptes_erase(struct mock_domain *mock, unsigned long first,
			    unsigned long n)
{
	/* Atomic, as every write of a slot: the device may be writing too */
	while (n--)
		xchg(mock_pte_slot(mock, first + n, 0), 0);
}

/*
 * A real IOMMU allocates page table memory when a map reaches a table that
 * does not exist yet, and only then can the map fail for lack of memory.
 * Play that with tables of MOCK_PTES_PER_TABLE IOPTEs: a map may fail
 * (fault injection) only if it touches a table that holds no IOPTE yet.
 * Failing every call instead would put one injection point in each
 * map_pages() of a fill, and fail-nth sweeps grow with the buffer size.
 */
#define MOCK_PTES_PER_TABLE 64UL
static_assert(MOCK_LEAF_PTES % MOCK_PTES_PER_TABLE == 0);

static bool mock_needs_table(struct mock_domain *mock, unsigned long first,
			     unsigned long last)
{
	unsigned long table, i;

	for (table = first / MOCK_PTES_PER_TABLE;
	     table <= last / MOCK_PTES_PER_TABLE; table++) {
		unsigned long index = table * MOCK_PTES_PER_TABLE;
		/* A table never straddles two leaves */
		unsigned long *slot = mock_pte_slot(mock, index, 0);

		for (i = 0; slot && i != MOCK_PTES_PER_TABLE; i++)
			if (READ_ONCE(slot[i]))
				break;
		if (!slot || i == MOCK_PTES_PER_TABLE)
			return true;
	}
	return false;
}

static int mock_domain_map_pages(struct iommu_domain *domain,
				 unsigned long iova, phys_addr_t paddr,
				 size_t pgsize, size_t pgcount, int prot,
				 gfp_t gfp, size_t *mapped)
{
	struct mock_domain *mock = to_mock_domain(domain);
	unsigned long first = iova / MOCK_IO_PAGE_SIZE;
	unsigned long n = pgsize * pgcount / MOCK_IO_PAGE_SIZE;
	unsigned long huge = pgsize > MOCK_IO_PAGE_SIZE ? MOCK_PTE_HUGE : 0;
	unsigned long perm = (prot & IOMMU_READ ? MOCK_PTE_READ : 0) |
			     (prot & IOMMU_WRITE ? MOCK_PTE_WRITE : 0);
	unsigned long i, last = iova + (n * MOCK_IO_PAGE_SIZE - 1);
	unsigned long *slot = NULL;
	int rc = 0;

	/* The IOMMU core aligns to pgsize_bitmap; iommufd to the aperture */
	if (WARN_ON_ONCE((iova | paddr) % MOCK_IO_PAGE_SIZE || !n ||
			 iova < MOCK_APERTURE_START || last < iova ||
			 last > MOCK_APERTURE_LAST))
		return -EINVAL;
	if (mock_needs_table(mock, first, first + n - 1) &&
	    iommufd_should_fail())
		return -ENOMEM;

	for (i = 0; i != n && !rc; i++) {
		unsigned long flags = huge | perm;

		if (i == 0)
			flags |= MOCK_PTE_START;
		if (i == n - 1)
			flags |= MOCK_PTE_LAST;
		/* Look the leaf up again only when crossing into the next */
		if (i == 0 || (first + i) % MOCK_LEAF_PTES == 0)
			slot = mock_pte_slot(mock, first + i, gfp);
		else
			slot++;
		if (!slot)
			rc = -ENOMEM;
		else if (cmpxchg(slot, 0,
				 mock_pte_make(paddr + i * MOCK_IO_PAGE_SIZE,
					       flags)))
			rc = -EBUSY;
	}
	if (rc) {
		/* -EBUSY: iommufd mapped over a live IOPTE */
		WARN_ON_ONCE(rc == -EBUSY);
		mock_ptes_erase(mock, first, i - 1);
		return rc;
	}
	atomic_long_add(n, huge ? &mock->nr_huge_slots : &mock->nr_small);
	*mapped = pgsize * pgcount;
	return 0;
}

/*
 * iommufd unmaps whole areas, each mapped by whole map_pages() calls: an
 * unmap starting or ending inside one would have split an IOPTE run that
 * real hardware may have mapped with a large page. Huge domains are not
 * checked, as the IOMMU core picks the page sizes of map and unmap
 * independently there.
 */
static bool mock_unmap_splits(struct mock_domain *mock, unsigned long pte,
			      unsigned long i, unsigned long n)
{
	if (mock->huge)
		return false;
	return (i == 0 && !mock_pte_test(pte, MOCK_PTE_START)) ||
	       (i == n - 1 && !mock_pte_test(pte, MOCK_PTE_LAST));
}

static size_t mock_domain_unmap_pages(struct iommu_domain *domain,
				      unsigned long iova, size_t pgsize,
				      size_t pgcount,
				      struct iommu_iotlb_gather *gather)
{
	struct mock_domain *mock = to_mock_domain(domain);
	unsigned long first = iova / MOCK_IO_PAGE_SIZE;
	unsigned long n = pgsize * pgcount / MOCK_IO_PAGE_SIZE;
	bool hole = false, split = false;
	unsigned long i, *slot = NULL;
	long small = 0, huge = 0;

	for (i = 0; i != n; i++) {
		unsigned long pte;

		if (i == 0 || (first + i) % MOCK_LEAF_PTES == 0)
			slot = mock_pte_slot(mock, first + i, 0);
		else if (slot)
			slot++;
		pte = slot ? xchg(slot, 0) : 0;

		if (!pte)
			hole = true;
		else if (mock_unmap_splits(mock, pte, i, n))
			split = true;
		if (pte && mock_pte_test(pte, MOCK_PTE_HUGE))
			huge++;
		else if (pte)
			small++;
	}
	atomic_long_sub(small, &mock->nr_small);
	atomic_long_sub(huge, &mock->nr_huge_slots);
	WARN_ON_ONCE(hole);
	WARN_ON_ONCE(split);
	return pgsize * pgcount;
}

/**
 * iommufd_selftest_show_ioptes() - the IOPTE sizes of a mock domain
 * @m: the fdinfo being written: one " iopte_<bytes>=<count>" per size
 * @domain: any domain; only a mock paging domain reports anything
 *
 * Context: Any context: reads counters only.
 */
void iommufd_selftest_show_ioptes(struct seq_file *m,
				  struct iommu_domain *domain)
{
	struct mock_domain *mock;

	if (domain->ops != &mock_domain_ops)
		return;
	mock = to_mock_domain(domain);
	seq_printf(m, " iopte_%lu=%ld", MOCK_IO_PAGE_SIZE,
		   atomic_long_read(&mock->nr_small));
	if (mock->huge)
		seq_printf(m, " iopte_%lu=%ld", MOCK_HUGE_PAGE_SIZE,
			   atomic_long_read(&mock->nr_huge_slots) /
				   MOCK_HUGE_NR);
}

static phys_addr_t mock_domain_iova_to_phys(struct iommu_domain *domain,
					    dma_addr_t iova)
{
	unsigned long pte = mock_pte_get(to_mock_domain(domain),
					 iova / MOCK_IO_PAGE_SIZE);

	if (!pte)
		return 0;
	return mock_pte_phys(pte) + iova % MOCK_IO_PAGE_SIZE;
}

static bool mock_domain_enforce_cache_coherency(struct iommu_domain *domain)
{
	return true;
}

static void mock_domain_free(struct iommu_domain *domain)
{
	struct mock_domain *mock = to_mock_domain(domain);

	unsigned long *leaf, n, i;
	bool mapped = false;

	xa_for_each(&mock->leaves, n, leaf) {
		for (i = 0; i != MOCK_LEAF_PTES; i++)
			mapped |= leaf[i];
		kfree(leaf);
	}
	/* iommufd takes every area out of a domain before freeing it */
	WARN_ON_ONCE(mapped);
	xa_destroy(&mock->leaves);
	kfree(mock);
}

static const struct iommu_domain_ops mock_domain_ops = {
	.attach_dev = mock_domain_attach,
	.map_pages = mock_domain_map_pages,
	.unmap_pages = mock_domain_unmap_pages,
	.iova_to_phys = mock_domain_iova_to_phys,
	.enforce_cache_coherency = mock_domain_enforce_cache_coherency,
	.free = mock_domain_free,
};

/* The mock paging domain behind @domain, or NULL if it is something else */
static struct mock_domain *mock_domain_of(struct iommu_domain *domain)
{
	if (domain->ops != &mock_domain_ops)
		return NULL;
	return to_mock_domain(domain);
}

/*
 * Dirty tracking. The dirty bit of a huge IOPTE lives on its head entry:
 * mock_pte_unit() finds the index and size of the IOPTE holding an index.
 */
static unsigned long mock_pte_unit(unsigned long pte, unsigned long index,
				   unsigned long *nr)
{
	if (!mock_pte_test(pte, MOCK_PTE_HUGE)) {
		*nr = 1;
		return index;
	}
	*nr = MOCK_HUGE_NR;
	return round_down(index, MOCK_HUGE_NR);
}

static int mock_set_dirty_tracking(struct iommu_domain *domain, bool enable)
{
	WRITE_ONCE(to_mock_domain(domain)->dirty_tracking, enable);
	return 0;
}

/*
 * Report the dirty state of the IOPTE holding @iova, clipped to
 * [@iova, @last], and clear it unless told not to or unless the IOPTE goes
 * on past @last (the next call will see the rest). Returns how far it went.
 */
static unsigned long mock_read_dirty_one(struct mock_domain *mock,
					 unsigned long iova, unsigned long last,
					 unsigned long flags,
					 struct iommu_dirty_bitmap *dirty)
{
	unsigned long index = iova / MOCK_IO_PAGE_SIZE, head, nr, end;
	unsigned long pte, *slot;
	bool was_dirty = false;

	pte = mock_pte_get(mock, index);
	if (!pte)
		return MOCK_IO_PAGE_SIZE - iova % MOCK_IO_PAGE_SIZE;
	head = mock_pte_unit(pte, index, &nr);
	slot = mock_pte_slot(mock, head, 0);
	end = (head + nr) * MOCK_IO_PAGE_SIZE - 1;
	if (slot && mock_pte_test(READ_ONCE(*slot), MOCK_PTE_DIRTY)) {
		was_dirty = true;
		if (!(flags & IOMMU_DIRTY_NO_CLEAR) && end <= last)
			clear_bit(MOCK_PTE_DIRTY_BIT, slot);
	}

	end = min(end, last);
	if (was_dirty)
		iommu_dirty_bitmap_record(dirty, iova, end - iova + 1);
	return end - iova + 1;
}

static int mock_read_and_clear_dirty(struct iommu_domain *domain,
				     unsigned long iova, size_t size,
				     unsigned long flags,
				     struct iommu_dirty_bitmap *dirty)
{
	struct mock_domain *mock = to_mock_domain(domain);
	unsigned long last, step;

	/* A bitmap to fill means a read: only while tracking */
	if (!READ_ONCE(mock->dirty_tracking) && dirty->bitmap)
		return -EINVAL;
	if (!size || check_add_overflow(iova, size - 1, &last))
		return -EINVAL;

	for (;;) {
		step = mock_read_dirty_one(mock, iova, last, flags, dirty);
		if (step > last - iova)
			return 0;
		iova += step;
	}
}

static const struct iommu_dirty_ops mock_dirty_ops = {
	.set_dirty_tracking = mock_set_dirty_tracking,
	.read_and_clear_dirty = mock_read_and_clear_dirty,
};

static struct iommu_domain *mock_domain_alloc_flags(struct device *dev,
						    u32 flags)
{
	struct mock_dev *mdev = to_mock_dev(dev);
	struct mock_domain *mock;

	if (flags & ~(IOMMU_HWPT_ALLOC_NEST_PARENT |
		      IOMMU_HWPT_ALLOC_DIRTY_TRACKING))
		return ERR_PTR(-EOPNOTSUPP);
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
	    (mdev->flags & MOCK_FLAGS_DEVICE_NO_DIRTY))
		return ERR_PTR(-EOPNOTSUPP);

	mock = kzalloc(sizeof(*mock), GFP_KERNEL_ACCOUNT);
	if (!mock)
		return ERR_PTR(-ENOMEM);
	xa_init(&mock->leaves);
	mock->huge = mdev->flags & MOCK_FLAGS_DEVICE_HUGE_IOVA;
	mock->nest_parent = flags & IOMMU_HWPT_ALLOC_NEST_PARENT;
	mock->domain.type = IOMMU_DOMAIN_UNMANAGED;
	mock->domain.ops = &mock_domain_ops;
	mock->domain.owner = dev_iommu_ops(dev);
	mock->domain.pgsize_bitmap = MOCK_IO_PAGE_SIZE;
	if (mock->huge)
		mock->domain.pgsize_bitmap |= MOCK_HUGE_PAGE_SIZE;
	mock->domain.geometry.aperture_start = MOCK_APERTURE_START;
	mock->domain.geometry.aperture_end = MOCK_APERTURE_LAST;
	mock->domain.geometry.force_aperture = true;
	if (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING)
		mock->domain.dirty_ops = &mock_dirty_ops;
	return &mock->domain;
}

static struct iommu_domain *mock_domain_alloc_paging(struct device *dev)
{
	return mock_domain_alloc_flags(dev, 0);
}

static struct iommu_domain *
mock_domain_alloc_nested(struct iommu_domain *parent, u32 flags,
			 const struct iommu_user_data *user_data)
{
	struct mock_domain *mparent = mock_domain_of(parent);
	struct iommu_hwpt_selftest data;
	struct mock_nested *nested;
	unsigned int i;
	int rc;

	if (flags)
		return ERR_PTR(-EOPNOTSUPP);
	if (!mparent || !mparent->nest_parent)
		return ERR_PTR(-EINVAL);
	if (!user_data || user_data->type != IOMMU_HWPT_DATA_SELFTEST)
		return ERR_PTR(-EOPNOTSUPP);
	rc = iommu_copy_struct_from_user(&data, user_data,
					 IOMMU_HWPT_DATA_SELFTEST, iotlb);
	if (rc)
		return ERR_PTR(rc);

	nested = kzalloc(sizeof(*nested), GFP_KERNEL_ACCOUNT);
	if (!nested)
		return ERR_PTR(-ENOMEM);
	nested->parent = mparent;
	for (i = 0; i != ARRAY_SIZE(nested->iotlb); i++)
		nested->iotlb[i] = data.iotlb;
	nested->domain.type = IOMMU_DOMAIN_NESTED;
	nested->domain.ops = &mock_nested_ops;
	nested->domain.owner = parent->owner;
	return &nested->domain;
}

static struct iommu_domain *
mock_domain_alloc_user(struct device *dev, u32 flags,
		       struct iommu_domain *parent,
		       const struct iommu_user_data *user_data)
{
	if (parent)
		return mock_domain_alloc_nested(parent, flags, user_data);
	/* Paging domains take no driver data */
	if (user_data)
		return ERR_PTR(-EOPNOTSUPP);
	return mock_domain_alloc_flags(dev, flags);
}

/* Blocking and nested domains take any device; they have no state to check */
static int mock_attach_any(struct iommu_domain *domain, struct device *dev)
{
	return 0;
}

/* Consume one request; -errno stops the array there */
static int
mock_nested_invalidate_one(struct mock_nested *nested,
			   const struct iommu_hwpt_invalidate_selftest *inv)
{
	unsigned int i;

	if (inv->flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL)
		return -EOPNOTSUPP;
	if (inv->flags & IOMMU_TEST_INVALIDATE_FLAG_ALL) {
		for (i = 0; i != ARRAY_SIZE(nested->iotlb); i++)
			WRITE_ONCE(nested->iotlb[i], 0);
		return 0;
	}
	if (inv->iotlb_id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX)
		return -EINVAL;
	WRITE_ONCE(nested->iotlb[inv->iotlb_id], 0);
	return 0;
}

static int
mock_nested_cache_invalidate_user(struct iommu_domain *domain,
				  struct iommu_user_data_array *array)
{
	const unsigned int type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST;
	struct mock_nested *nested = to_mock_nested(domain);
	struct iommu_hwpt_invalidate_selftest inv;
	u32 done;
	int rc = 0;

	/* Even with no entries: a zero-length array asks about the type */
	if (array->type != type) {
		array->entry_num = 0;
		return -EINVAL;
	}
	/* In order, each copied just before use, as hardware queues work */
	for (done = 0; done != array->entry_num; done++) {
		rc = iommu_copy_struct_from_user_array(&inv, array, type, done,
						       iotlb_id);
		if (!rc)
			rc = mock_nested_invalidate_one(nested, &inv);
		if (rc)
			break;
	}
	array->entry_num = done;
	return rc;
}

static void mock_nested_free(struct iommu_domain *domain)
{
	kfree(to_mock_nested(domain));
}

static const struct iommu_domain_ops mock_nested_ops = {
	.attach_dev = mock_attach_any,
	.cache_invalidate_user = mock_nested_cache_invalidate_user,
	.free = mock_nested_free,
};

static struct iommu_device *mock_probe_device(struct device *dev)
{
	if (dev->bus == &mock_bus)
		return &mock_iommu;
	if (dev->bus == &mock_foreign_bus)
		return &mock_foreign_iommu;
	/* A real device, probed with us by a core that had no better choice */
	return ERR_PTR(-ENODEV);
}

/* DMA is always coherent, and dirty-tracked unless the device says not */
static bool mock_capable(struct device *dev, enum iommu_cap cap)
{
	if (cap == IOMMU_CAP_DIRTY_TRACKING)
		return !(to_mock_dev(dev)->flags & MOCK_FLAGS_DEVICE_NO_DIRTY);
	return cap == IOMMU_CAP_CACHE_COHERENCY ||
	       cap == IOMMU_CAP_ENFORCE_CACHE_COHERENCY;
}

/* The caller frees what we return */
static void *mock_hw_info(struct device *dev, u32 *length, u32 *type)
{
	static const struct iommu_test_hw_info regs = {
		.test_reg = IOMMU_HW_INFO_SELFTEST_REGVAL,
	};
	void *copy = kmemdup(&regs, sizeof(regs), GFP_KERNEL);

	if (!copy)
		return ERR_PTR(-ENOMEM);
	*type = IOMMU_HW_INFO_TYPE_SELFTEST;
	*length = sizeof(regs);
	return copy;
}

/* Devices enable I/O page faults when attached to a fault-capable HWPT */
static int mock_dev_enable_feat(struct device *dev,
				enum iommu_dev_features feat)
{
	if (feat != IOMMU_DEV_FEAT_IOPF)
		return -EINVAL;
	if (!mock_iopf_queue)
		return -ENODEV;
	return iopf_queue_add_device(mock_iopf_queue, dev);
}

static int mock_dev_disable_feat(struct device *dev,
				 enum iommu_dev_features feat)
{
	if (feat != IOMMU_DEV_FEAT_IOPF)
		return -EINVAL;
	iopf_queue_remove_device(mock_iopf_queue, dev);
	return 0;
}

/* A real IOMMU would pass the answer on to the device; ours has no one */
static void mock_page_response(struct device *dev, struct iopf_fault *evt,
			       struct iommu_page_response *msg)
{
}

static const struct iommu_domain_ops mock_blocking_ops = {
	.attach_dev = mock_attach_any,
};

/*
 * Every group starts out, and returns to, blocked. Static: the IOMMU core
 * never frees a domain that has no free op.
 */
static struct iommu_domain mock_blocking_domain = {
	.ops = &mock_blocking_ops,
	.type = IOMMU_DOMAIN_BLOCKED,
};

static const struct iommu_ops mock_ops = {
	.owner = THIS_MODULE,
	.pgsize_bitmap = MOCK_IO_PAGE_SIZE,
	.capable = mock_capable,
	.hw_info = mock_hw_info,

	/* Devices: probed blocked, each in a group of its own */
	.default_domain = &mock_blocking_domain,
	.probe_device = mock_probe_device,
	.device_group = generic_device_group,
	.dev_enable_feat = mock_dev_enable_feat,
	.dev_disable_feat = mock_dev_disable_feat,

	/* Domains */
	.blocked_domain = &mock_blocking_domain,
	.domain_alloc_paging = mock_domain_alloc_paging,
	.domain_alloc_user = mock_domain_alloc_user,
	.default_domain_ops = &mock_domain_ops,

	/* PASID tables are the guest's: faults go to the RID's nested domain */
	.user_pasid_table = 1,
	.page_response = mock_page_response,
};

/*
 * Mock devices
 */

static const struct property_entry mock_pasid_props[] = {
	PROPERTY_ENTRY_U32("pasid-num-bits", MOCK_PASID_WIDTH),
	{}
};

static void mock_dev_release(struct device *dev)
{
	struct mock_dev *mdev = to_mock_dev(dev);

	/* A no-op unless device_add() failed before it could remove it */
	device_remove_software_node(dev);
	ida_free(&mock_dev_ida, mdev->id);
	kfree(mdev);
}

/*
 * Name @mdev, give it its properties and add it to the mock bus. On failure
 * the caller still holds the reference of device_initialize().
 */
static int mock_dev_add(struct mock_dev *mdev)
{
	struct device *dev = &mdev->dev;
	int rc;

	rc = dev_set_name(dev, "iommufd-mock.%d", mdev->id);
	if (rc)
		return rc;
	if (mdev->flags & MOCK_FLAGS_DEVICE_PASID) {
		rc = device_create_managed_software_node(dev, mock_pasid_props,
							 NULL);
		if (rc)
			return rc;
	}
	rc = device_add(dev);
	if (rc)
		return rc;
	/* The IOMMU probe runs from a bus notifier that cannot fail the add */
	if (!dev->iommu_group) {
		device_del(dev);
		return -ENODEV;
	}
	return 0;
}

/* A new device on the mock bus, probed by the mock IOMMU */
static struct mock_dev *mock_dev_create(u32 dev_flags)
{
	struct mock_dev *mdev;
	int rc;

	mdev = kzalloc(sizeof(*mdev), GFP_KERNEL);
	if (!mdev)
		return ERR_PTR(-ENOMEM);
	rc = ida_alloc(&mock_dev_ida, GFP_KERNEL);
	if (rc < 0) {
		kfree(mdev);
		return ERR_PTR(rc);
	}
	mdev->id = rc;
	mdev->flags = dev_flags;

	/* From here on mock_dev_release() frees everything */
	device_initialize(&mdev->dev);
	mdev->dev.release = mock_dev_release;
	mdev->dev.bus = dev_flags & MOCK_FLAGS_DEVICE_FOREIGN ?
			&mock_foreign_bus : &mock_bus;
	rc = mock_dev_add(mdev);
	if (rc) {
		put_device(&mdev->dev);
		return ERR_PTR(rc);
	}
	return mdev;
}

/**
 * iommufd_selftest_is_mock_dev() - is this a device of the mock bus?
 * @dev: any device
 *
 * Binding lets them through without MSI isolation: they raise no
 * interrupts at all.
 *
 * Context: Any context.
 * Return: true for mock devices.
 */
bool iommufd_selftest_is_mock_dev(struct device *dev)
{
	return dev->bus == &mock_bus || dev->bus == &mock_foreign_bus;
}

/*
 * The selftest object: a mock device bound and attached for userspace
 */

/**
 * struct mock_stdev - IOMMUFD_OBJ_SELFTEST
 * @obj: object header; owned by the object table
 * @idev: the bound device, always attached
 * @mdev: the mock device behind @idev
 */
struct mock_stdev {
	struct iommufd_object obj;
	struct iommufd_device *idev;
	struct mock_dev *mdev;
};

static struct mock_stdev *to_mock_stdev(struct iommufd_object *obj)
{
	return container_of(obj, struct mock_stdev, obj);
}

/**
 * iommufd_selftest_destroy() - destroy callback of IOMMUFD_OBJ_SELFTEST
 * @obj: the object, already unreachable
 *
 * Detaches and unbinds the device, then deletes it.
 *
 * Context: Process context.
 */
void iommufd_selftest_destroy(struct iommufd_object *obj)
{
	struct mock_stdev *stdev = to_mock_stdev(obj);

	iommufd_device_detach(stdev->idev);
	iommufd_device_unbind(stdev->idev);
	device_unregister(&stdev->mdev->dev);
}

/* Bind and attach a new mock device, filling in stdev */
static int iommufd_test_bind_mock(struct iommufd_ctx *ictx,
				  struct mock_stdev *stdev, u32 dev_flags,
				  u32 *pt_id, u32 *idev_id)
{
	int rc;

	stdev->mdev = mock_dev_create(dev_flags);
	if (IS_ERR(stdev->mdev))
		return PTR_ERR(stdev->mdev);
	stdev->idev = iommufd_device_bind(ictx, &stdev->mdev->dev, idev_id);
	if (IS_ERR(stdev->idev)) {
		rc = PTR_ERR(stdev->idev);
		goto err_destroy_mdev;
	}
	rc = iommufd_device_attach(stdev->idev, pt_id);
	if (rc)
		goto err_unbind;
	return 0;

err_unbind:
	iommufd_device_unbind(stdev->idev);
err_destroy_mdev:
	device_unregister(&stdev->mdev->dev);
	return rc;
}

/* IOMMU_TEST_OP_MOCK_DOMAIN and IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS */
static int iommufd_test_mock_domain(struct iommufd_ucmd *ucmd,
				    struct iommu_test_cmd *cmd)
{
	u32 dev_flags = cmd->op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS ?
				cmd->mock_domain_flags.dev_flags : 0;
	struct mock_stdev *stdev;
	u32 pt_id = cmd->id;
	u32 idev_id;
	int rc;

	/* Both ops answer in the same place */
	BUILD_BUG_ON(offsetof(struct iommu_test_cmd, mock_domain.out_idev_id) !=
		     offsetof(struct iommu_test_cmd,
			      mock_domain_flags.out_idev_id));
	if (dev_flags & ~MOCK_DEV_FLAGS_ALL)
		return -EOPNOTSUPP;

	stdev = iommufd_object_alloc(ucmd->ictx, struct mock_stdev, obj,
				     IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(stdev))
		return PTR_ERR(stdev);
	rc = iommufd_test_bind_mock(ucmd->ictx, stdev, dev_flags, &pt_id,
				    &idev_id);
	if (rc) {
		iommufd_object_abort(ucmd->ictx, &stdev->obj);
		return rc;
	}

	cmd->mock_domain.out_idev_id = idev_id;
	cmd->mock_domain.out_stdev_id = stdev->obj.id;
	cmd->mock_domain.out_hwpt_id = pt_id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		iommufd_object_abort_and_destroy(ucmd->ictx, &stdev->obj);
		return rc;
	}
	iommufd_object_publish(ucmd->ictx, &stdev->obj);
	return 0;
}

/*
 * IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE. If the answer cannot be copied out the
 * device stays where it moved: the HWPT it left may be gone already.
 */
static int iommufd_test_mock_domain_replace(struct iommufd_ucmd *ucmd,
					    struct iommu_test_cmd *cmd)
{
	struct iommufd_object *obj;
	u32 pt_id = cmd->mock_domain_replace.pt_id;
	int rc;

	obj = iommufd_get_object(ucmd->ictx, cmd->id, IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	rc = iommufd_device_replace(to_mock_stdev(obj)->idev, &pt_id);
	if (!rc) {
		cmd->mock_domain_replace.pt_id = pt_id;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, obj);
	return rc;
}

/*
 * Looking at what is mapped
 */

/* The mock paging domain of HWPT @id, with the HWPT held short-term */
static struct iommufd_hwpt_paging *
iommufd_test_get_mock_paging(struct iommufd_ucmd *ucmd, u32 id,
			     struct mock_domain **mock)
{
	struct iommufd_hwpt_paging *paging;

	paging = iommufd_get_hwpt_paging(ucmd->ictx, id);
	if (IS_ERR(paging))
		return paging;
	*mock = mock_domain_of(paging->common.domain);
	if (!*mock) {
		iommufd_put_hwpt(ucmd->ictx, &paging->common);
		return ERR_PTR(-EINVAL);
	}
	return paging;
}

/* Long walks over user memory yield, and stop for a dying task */
static int iommufd_test_yield(void)
{
	cond_resched();
	return fatal_signal_pending(current) ? -EINTR : 0;
}

/* The page behind user address @uaddr, with a reference (not a pin) */
static int iommufd_test_user_page(unsigned long uaddr, struct page **page)
{
	int rc;

	rc = get_user_pages_fast(uaddr & PAGE_MASK, 1, 0, page);
	if (rc < 0)
		return rc;
	return rc == 1 ? 0 : -EFAULT;
}

/*
 * Do the IOPTEs from @iova on point at the @length bytes from @phys, with
 * the permissions @perm (MOCK_PTE_READ and MOCK_PTE_WRITE; 0: any)?
 * -EINVAL if one points elsewhere or nowhere, -EACCES if the addresses are
 * right and a permission is not.
 */
static int mock_maps_phys(struct mock_domain *mock, unsigned long iova,
			  phys_addr_t phys, unsigned long length,
			  unsigned long perm)
{
	const unsigned long rw = MOCK_PTE_READ | MOCK_PTE_WRITE;
	unsigned long off, pte;
	int rc = 0;

	for (off = 0; off < length; off += MOCK_IO_PAGE_SIZE) {
		pte = mock_pte_get(mock, (iova + off) / MOCK_IO_PAGE_SIZE);
		if (!pte || mock_pte_phys(pte) != phys + off)
			return -EINVAL;
		if (perm && (pte & rw) != perm)
			rc = -EACCES;
	}
	return rc;
}

/*
 * Check that every IO page of [iova, iova + length) maps the user's bytes,
 * with the permissions @perm if it is not 0. A wrong address anywhere is
 * -EINVAL, even after a wrong permission (-EACCES) was seen.
 */
static int mock_check_map(struct mock_domain *mock, unsigned long iova,
			  unsigned long uptr, unsigned long length,
			  unsigned long perm)
{
	unsigned long off, n;
	struct page *page;
	bool denied = false;
	int rc;

	for (off = 0; off < length; off += n) {
		unsigned long uaddr = uptr + off;

		n = min(length - off, PAGE_SIZE - offset_in_page(uaddr));
		rc = iommufd_test_yield();
		if (!rc)
			rc = iommufd_test_user_page(uaddr, &page);
		if (rc)
			return rc;
		rc = mock_maps_phys(mock, iova + off,
				    page_to_phys(page) + offset_in_page(uaddr),
				    n, perm);
		put_page(page);
		if (rc == -EACCES)
			denied = true;
		else if (rc)
			return rc;
	}
	return denied ? -EACCES : 0;
}

/* IOMMU_TEST_OP_MD_CHECK_MAP */
static int iommufd_test_md_check_map(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	unsigned long iova = cmd->check_map.iova;
	unsigned long uptr = cmd->check_map.uptr;
	unsigned long length = cmd->check_map.length;
	u32 perm = cmd->check_map.perm;
	struct iommufd_hwpt_paging *paging;
	struct mock_domain *mock;
	unsigned long last;
	int rc;

	if (perm & ~(MOCK_CHECK_MAP_READ | MOCK_CHECK_MAP_WRITE))
		return -EOPNOTSUPP;
	if (iova != cmd->check_map.iova || uptr != cmd->check_map.uptr ||
	    length != cmd->check_map.length)
		return -EOVERFLOW;
	if ((iova | uptr | length) % MOCK_IO_PAGE_SIZE)
		return -EINVAL;
	/* Nothing to check is a successful check */
	if (!length)
		return 0;
	if (check_add_overflow(iova, length - 1, &last) ||
	    check_add_overflow(uptr, length - 1, &last))
		return -EOVERFLOW;

	paging = iommufd_test_get_mock_paging(ucmd, cmd->id, &mock);
	if (IS_ERR(paging))
		return PTR_ERR(paging);
	rc = mock_check_map(mock, iova, uptr, length,
			    (perm & MOCK_CHECK_MAP_READ ? MOCK_PTE_READ : 0) |
			    (perm & MOCK_CHECK_MAP_WRITE ? MOCK_PTE_WRITE : 0));
	iommufd_put_hwpt(ucmd->ictx, &paging->common);
	return rc;
}

/*
 * IOMMU_TEST_OP_MD_COUNT_IOPTES: which IOPTE sizes map a range, so tests can
 * see where large IOPTEs were used and that nothing split them
 */
static int iommufd_test_md_count_ioptes(struct iommufd_ucmd *ucmd,
					struct iommu_test_cmd *cmd)
{
	unsigned long first = cmd->count_ioptes.iova / MOCK_IO_PAGE_SIZE;
	unsigned long n = cmd->count_ioptes.length / MOCK_IO_PAGE_SIZE;
	u32 small = 0, huge = 0, empty = 0;
	struct iommufd_hwpt_paging *paging;
	struct mock_domain *mock;
	unsigned long i;
	int rc = 0;

	if ((cmd->count_ioptes.iova | cmd->count_ioptes.length) %
	    MOCK_IO_PAGE_SIZE)
		return -EINVAL;
	/* The counts are 32 bits; so is the range, in IO pages */
	if (cmd->count_ioptes.length > (u64)U32_MAX * MOCK_IO_PAGE_SIZE ||
	    first + n < first)
		return -EOVERFLOW;

	paging = iommufd_test_get_mock_paging(ucmd, cmd->id, &mock);
	if (IS_ERR(paging))
		return PTR_ERR(paging);
	for (i = 0; i != n && !rc; i++) {
		unsigned long pte = mock_pte_get(mock, first + i);

		if (!pte)
			empty++;
		else if (!mock_pte_test(pte, MOCK_PTE_HUGE))
			small++;
		else if ((first + i) % MOCK_HUGE_NR == 0)
			huge++;
		if (i % MOCK_LEAF_PTES == MOCK_LEAF_PTES - 1)
			rc = iommufd_test_yield();
	}
	iommufd_put_hwpt(ucmd->ictx, &paging->common);
	if (rc)
		return rc;
	cmd->count_ioptes.out_small = small;
	cmd->count_ioptes.out_huge = huge;
	cmd->count_ioptes.out_empty = empty;
	return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
}

/*
 * How many times is @folio pinned? Small folios count pins in their
 * refcount, GUP_PIN_COUNTING_BIAS each; large ones in _pincount, which
 * folio_maybe_dma_pinned() only reports as a yes or no.
 */
static unsigned int mock_folio_pins(struct folio *folio)
{
	if (folio_has_pincount(folio))
		return atomic_read(&folio->_pincount);
	return folio_ref_count(folio) / GUP_PIN_COUNTING_BIAS;
}

/*
 * @npages of @folio were found in the checked range, each expected to be
 * pinned @refs times. A large folio only counts pins of all its pages
 * together: exact when the range covers it whole, a lower bound otherwise.
 * A large file folio may also be pinned by IOMMU_IOAS_MAP_FILE, which
 * holds one pin per folio however many of its pages it uses.
 *
 * A lower bound of zero would pass whatever the folio holds, so zero is
 * asked of the whole folio: a pin on a page outside the range but in the
 * same folio fails the check too. It is the answer a caller asking "is
 * anything of this memory still pinned?" needs, as the pin keeps every
 * page of the folio in place.
 */
static bool mock_folio_pins_ok(struct folio *folio, unsigned long npages,
			       unsigned int refs)
{
	unsigned long pins = mock_folio_pins(folio);

	if (!refs)
		return !pins;
	if (!folio_test_large(folio))
		return pins == refs;
	if (!folio_test_anon(folio) && pins == 1)
		return true;
	if (npages == folio_nr_pages(folio))
		return pins == refs * npages;
	return pins >= refs * npages;
}

/* Walk [uptr, uptr + length) page by page, a folio at a time */
static int mock_check_refs(unsigned long uptr, unsigned long length,
			   unsigned int refs)
{
	struct folio *cur = NULL;
	unsigned long off, npages = 0;
	struct page *page;
	int rc = 0;

	for (off = 0; off < length && !rc; off += PAGE_SIZE) {
		rc = iommufd_test_yield();
		if (!rc)
			rc = iommufd_test_user_page(uptr + off, &page);
		if (rc)
			break;
		if (cur && page_folio(page) == cur) {
			npages++;
			put_page(page);
			continue;
		}
		/* A new folio: settle the last one, keep this one's ref */
		if (cur && !mock_folio_pins_ok(cur, npages, refs))
			rc = -EIO;
		if (cur)
			folio_put(cur);
		cur = page_folio(page);
		npages = 1;
	}
	if (cur && !rc && !mock_folio_pins_ok(cur, npages, refs))
		rc = -EIO;
	if (cur)
		folio_put(cur);
	return rc;
}

/* IOMMU_TEST_OP_MD_CHECK_REFS */
static int iommufd_test_md_check_refs(struct iommufd_ucmd *ucmd,
				      struct iommu_test_cmd *cmd)
{
	unsigned long uptr = cmd->check_refs.uptr;
	unsigned long length = cmd->check_refs.length;
	unsigned long last;

	if (uptr != cmd->check_refs.uptr || length != cmd->check_refs.length)
		return -EOVERFLOW;
	if ((uptr | length) % PAGE_SIZE)
		return -EINVAL;
	/* The tests ask about empty ranges of CPU pages too */
	if (!length)
		return 0;
	if (check_add_overflow(uptr, length - 1, &last))
		return -EOVERFLOW;
	return mock_check_refs(uptr, length, cmd->check_refs.refs);
}

/* IOMMU_TEST_OP_MD_CHECK_IOTLB */
static int iommufd_test_md_check_iotlb(struct iommufd_ucmd *ucmd,
				       struct iommu_test_cmd *cmd)
{
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_object *obj;
	struct mock_nested *nested;
	int rc = 0;

	if (cmd->check_iotlb.id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX)
		return -EINVAL;
	obj = iommufd_get_object(ucmd->ictx, cmd->id, IOMMUFD_OBJ_HWPT_NESTED);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
	if (hwpt->domain->ops != &mock_nested_ops) {
		rc = -EINVAL;
		goto out_put;
	}
	nested = to_mock_nested(hwpt->domain);
	if (READ_ONCE(nested->iotlb[cmd->check_iotlb.id]) !=
	    cmd->check_iotlb.iotlb)
		rc = -EINVAL;
out_put:
	iommufd_put_object(ucmd->ictx, obj);
	return rc;
}

/*
 * Set the dirty bit of the IOPTE holding @iova, as a device write would.
 * Returns how many bytes on that IOPTE goes; *marked is set if there is one
 * (dirty already or not: a write is a write). The device writes while
 * iommufd may be mapping and unmapping: like an IOMMU's walker, it sets the
 * bit with one atomic update of the live IOPTE it looked up, never on one
 * cleared under it (a dead IOPTE no map could replace) nor on one of
 * another size mapped there since (a bit where nobody reads it).
 */
static unsigned long mock_mark_dirty_one(struct mock_domain *mock,
					 unsigned long iova, bool *marked)
{
	unsigned long index = iova / MOCK_IO_PAGE_SIZE, head, nr;
	unsigned long pte, old, *slot;

	*marked = false;
	pte = mock_pte_get(mock, index);
	if (!pte)
		return MOCK_IO_PAGE_SIZE - iova % MOCK_IO_PAGE_SIZE;
	head = mock_pte_unit(pte, index, &nr);
	slot = mock_pte_slot(mock, head, 0);
	if (slot) {
		old = READ_ONCE(*slot);
		/* While it is the IOPTE looked up: live, of the same size */
		while (old && !((old ^ pte) & MOCK_PTE_HUGE)) {
			if (mock_pte_test(old, MOCK_PTE_DIRTY) ||
			    try_cmpxchg(slot, &old, old | MOCK_PTE_DIRTY)) {
				*marked = true;
				break;
			}
		}
	}
	return (head + nr) * MOCK_IO_PAGE_SIZE - iova;
}

/* Mark every IOPTE of [iova, iova + length); returns how many there were */
static unsigned long mock_mark_dirty(struct mock_domain *mock,
				     unsigned long iova, unsigned long length)
{
	unsigned long off, count = 0;
	bool marked;

	for (off = 0; off < length;) {
		off += mock_mark_dirty_one(mock, iova + off, &marked);
		count += marked;
	}
	return count;
}

/*
 * The bitmap is read in u64 words, a page at a time into @buf, so a huge
 * range never needs a huge buffer. Only the first @nbits bits count.
 */
static int mock_dirty_chunks(struct mock_domain *mock,
			     struct iommu_test_cmd *cmd, unsigned long nbits,
			     u64 *buf)
{
	const unsigned long chunk_bits = PAGE_SIZE * BITS_PER_BYTE;
	u64 __user *ubitmap = u64_to_user_ptr(cmd->dirty.uptr);
	u64 page_size = cmd->dirty.page_size;
	unsigned long base, bit, n;
	u64 count = 0;

	for (base = 0; base < nbits; base += chunk_bits) {
		n = min(nbits - base, chunk_bits);
		if (copy_from_user(buf, ubitmap + base / 64,
				   DIV_ROUND_UP(n, 64) * sizeof(u64)))
			return -EFAULT;
		for (bit = 0; bit != n; bit++) {
			unsigned long iova;

			if (!(buf[bit / 64] & BIT_ULL(bit % 64)))
				continue;
			iova = cmd->dirty.iova + (base + bit) * page_size;
			count += mock_mark_dirty(mock, iova, page_size);
		}
		if (iommufd_test_yield())
			return -EINTR;
	}
	cmd->dirty.out_nr_dirty = count;
	return 0;
}

static int mock_dirty_from_bitmap(struct mock_domain *mock,
				  struct iommu_test_cmd *cmd,
				  unsigned long nbits)
{
	u64 *buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	int rc;

	if (!buf)
		return -ENOMEM;
	rc = mock_dirty_chunks(mock, cmd, nbits, buf);
	kfree(buf);
	return rc;
}

/*
 * IOMMU_TEST_OP_DIRTY: the range must lie in the aperture and the bitmap be
 * no finer than an IO page, which bounds the work at a few thousand words.
 */
static int iommufd_test_dirty(struct iommufd_ucmd *ucmd,
			      struct iommu_test_cmd *cmd)
{
	u64 page_size = cmd->dirty.page_size, length = cmd->dirty.length;
	struct iommufd_hwpt_paging *paging;
	struct mock_domain *mock;
	int rc;

	if (cmd->dirty.flags)
		return -EOPNOTSUPP;
	if (!length || !is_power_of_2(page_size) ||
	    page_size < MOCK_IO_PAGE_SIZE ||
	    (cmd->dirty.iova | length) & (page_size - 1))
		return -EINVAL;
	if (cmd->dirty.iova < MOCK_APERTURE_START ||
	    cmd->dirty.iova > MOCK_APERTURE_LAST ||
	    length - 1 > MOCK_APERTURE_LAST - cmd->dirty.iova)
		return -EINVAL;

	paging = iommufd_test_get_mock_paging(ucmd, cmd->id, &mock);
	if (IS_ERR(paging))
		return PTR_ERR(paging);
	/* Hardware records nothing unless tracking is on */
	if (!mock->domain.dirty_ops || !READ_ONCE(mock->dirty_tracking)) {
		rc = -EINVAL;
		goto out_put;
	}
	rc = mock_dirty_from_bitmap(mock, cmd, length / page_size);
	if (!rc)
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_put:
	iommufd_put_hwpt(ucmd->ictx, &paging->common);
	return rc;
}

/*
 * Emulated devices: accesses
 */

/**
 * struct mock_access - an emulated device of the tests
 * @access: the access it owns
 * @ictx: the context it was made in; the access holds the reference
 * @file: the anonymous file userspace names it by
 * @needs_pin: made with MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES; immutable
 * @lock: serialises pinning, unpinning and the unmap callback, so that a
 *        pin is in @items before an unmap can look for it
 * @items: out_access_pages_id -> struct mock_access_pin of each pin. IDs
 *         start at 0, so a lone pin sits in the xarray's head: pinning
 *         and unpinning one range over and over (make bench times it)
 *         then neither allocates an xa_node nor leaves one for RCU to
 *         free, whose callbacks would otherwise preempt the pinning task
 *         every few ms.
 */
struct mock_access {
	struct iommufd_access *access;
	struct iommufd_ctx *ictx;
	struct file *file;
	bool needs_pin;
	struct mutex lock; /* see @lock above */
	struct xarray items;
};

/**
 * struct mock_access_pin - pages pinned by IOMMU_TEST_OP_ACCESS_PAGES
 * @iova: first IOVA pinned
 * @length: bytes pinned
 */
struct mock_access_pin {
	unsigned long iova;
	unsigned long length;
};

/* Drop every pin that meets [first, last], as a driver must on unmap */
static void mock_access_unpin_range(struct mock_access *macc,
				    unsigned long first, unsigned long last)
{
	struct mock_access_pin *item;
	unsigned long id;

	lockdep_assert_held(&macc->lock);

	xa_for_each(&macc->items, id, item) {
		if (item->iova > last || item->iova + item->length - 1 < first)
			continue;
		iommufd_access_unpin_pages(macc->access, item->iova,
					   item->length);
		xa_erase(&macc->items, id);
		kfree(item);
	}
}

static void mock_access_unmap(void *data, unsigned long iova,
			      unsigned long length)
{
	struct mock_access *macc = data;
	unsigned long last;

	/* The whole IOVA space arrives as length 0: its size wrapped */
	if (!length || check_add_overflow(iova, length - 1, &last))
		last = ULONG_MAX;
	mutex_lock(&macc->lock);
	mock_access_unpin_range(macc, iova, last);
	mutex_unlock(&macc->lock);
}

static const struct iommufd_access_ops mock_access_ops_pin = {
	.needs_pin_pages = 1,
	.unmap = mock_access_unmap,
};

static const struct iommufd_access_ops mock_access_ops = {
	.unmap = mock_access_unmap,
};

static struct mock_access *mock_access_alloc(void)
{
	struct mock_access *macc;

	macc = kzalloc(sizeof(*macc), GFP_KERNEL_ACCOUNT);
	if (!macc)
		return NULL;
	mutex_init(&macc->lock);
	xa_init_flags(&macc->items, XA_FLAGS_ALLOC);
	return macc;
}

static void mock_access_free(struct mock_access *macc)
{
	xa_destroy(&macc->items);
	mutex_destroy(&macc->lock);
	kfree(macc);
}

static int mock_access_release(struct inode *inode, struct file *file)
{
	struct mock_access *macc = file->private_data;

	mutex_lock(&macc->lock);
	mock_access_unpin_range(macc, 0, ULONG_MAX);
	mutex_unlock(&macc->lock);
	iommufd_access_detach(macc->access);
	iommufd_access_destroy(macc->access);
	mock_access_free(macc);
	return 0;
}

static const struct file_operations mock_access_fops = {
	.owner = THIS_MODULE,
	.release = mock_access_release,
};

/* 0 if @file is a mock access of @ictx, else the errno to refuse it with */
static int mock_access_file_check(struct file *file, struct iommufd_ctx *ictx)
{
	struct mock_access *macc;

	if (file->f_op != &mock_access_fops)
		return -EBADFD;
	macc = file->private_data;
	return macc->ictx == ictx ? 0 : -EINVAL;
}

/* The access behind descriptor @fd, holding the file; fput() it after */
static struct mock_access *mock_access_get(struct iommufd_ucmd *ucmd, u32 fd)
{
	struct file *file = fget(fd);
	int rc;

	if (!file)
		return ERR_PTR(-EBADFD);
	rc = mock_access_file_check(file, ucmd->ictx);
	if (rc) {
		fput(file);
		return ERR_PTR(rc);
	}
	return file->private_data;
}

/*
 * Create an access attached to @ioas_id, and the file owning it. From then
 * on the file's release takes everything apart.
 */
static struct file *mock_access_open(struct iommufd_ctx *ictx, u32 ioas_id,
				     bool pin)
{
	const struct iommufd_access_ops *ops =
		pin ? &mock_access_ops_pin : &mock_access_ops;
	struct mock_access *macc;
	struct file *file;
	u32 id;
	int rc;

	macc = mock_access_alloc();
	if (!macc)
		return ERR_PTR(-ENOMEM);
	macc->ictx = ictx;
	macc->needs_pin = pin;
	macc->access = iommufd_access_create(ictx, ops, macc, &id);
	if (IS_ERR(macc->access)) {
		rc = PTR_ERR(macc->access);
		goto err_free;
	}
	rc = iommufd_access_attach(macc->access, ioas_id);
	if (rc)
		goto err_destroy;
	file = anon_inode_getfile("[iommufd_test_access]",
				  &mock_access_fops, macc, O_RDWR);
	if (IS_ERR(file)) {
		rc = PTR_ERR(file);
		goto err_detach;
	}
	macc->file = file;
	return file;

err_detach:
	iommufd_access_detach(macc->access);
err_destroy:
	iommufd_access_destroy(macc->access);
err_free:
	mock_access_free(macc);
	return ERR_PTR(rc);
}

/* IOMMU_TEST_OP_CREATE_ACCESS */
static int iommufd_test_create_access(struct iommufd_ucmd *ucmd,
				      struct iommu_test_cmd *cmd)
{
	u32 flags = cmd->create_access.flags;
	bool pin = flags & MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES;
	struct file *file;
	int fdno, rc;

	if (flags & ~MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)
		return -EOPNOTSUPP;

	fdno = get_unused_fd_flags(O_CLOEXEC);
	if (fdno < 0)
		return fdno;
	file = mock_access_open(ucmd->ictx, cmd->id, pin);
	if (IS_ERR(file)) {
		rc = PTR_ERR(file);
		goto err_put_fd;
	}
	cmd->create_access.out_access_fd = fdno;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto err_fput;
	fd_install(fdno, file);
	return 0;

err_fput:
	fput(file);
err_put_fd:
	put_unused_fd(fdno);
	return rc;
}

/* Are @pages the pages behind the user VA range from @uptr? */
static int mock_access_check_pages(struct page **pages, unsigned long npages,
				   unsigned long uptr)
{
	struct page *page;
	unsigned long i;
	int rc;

	for (i = 0; i != npages; i++, uptr += PAGE_SIZE) {
		rc = iommufd_test_yield();
		if (!rc)
			rc = iommufd_test_user_page(uptr, &page);
		if (rc)
			return rc;
		if (page_to_pfn(page) != page_to_pfn(pages[i]))
			rc = -EBADE;
		put_page(page);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * Pin, check against the user VA and record the pin, with macc->lock
 * held so that an unmap sees the pin only once it is recorded.
 */
static int mock_access_pin(struct mock_access *macc,
			   struct iommu_test_cmd *cmd, struct page **pages,
			   u32 *id)
{
	unsigned long iova = cmd->access_pages.iova;
	unsigned long length = cmd->access_pages.length;
	unsigned int flags = 0;
	struct mock_access_pin *item;
	int rc;

	lockdep_assert_held(&macc->lock);

	if (cmd->access_pages.flags & MOCK_FLAGS_ACCESS_WRITE)
		flags |= IOMMUFD_ACCESS_RW_WRITE;
	item = kzalloc(sizeof(*item), GFP_KERNEL_ACCOUNT);
	if (!item)
		return -ENOMEM;
	item->iova = iova;
	item->length = length;
	rc = xa_alloc(&macc->items, id, item, xa_limit_32b,
		      GFP_KERNEL_ACCOUNT);
	if (rc)
		goto err_free;
	rc = iommufd_access_pin_pages(macc->access, iova, length, pages,
				      flags);
	if (rc)
		goto err_erase;
	/* A user VA to compare with is optional */
	if (cmd->access_pages.uptr) {
		rc = mock_access_check_pages(pages, length / PAGE_SIZE,
					     cmd->access_pages.uptr);
		if (rc)
			goto err_unpin;
	}
	return 0;

err_unpin:
	iommufd_access_unpin_pages(macc->access, iova, length);
err_erase:
	xa_erase(&macc->items, *id);
err_free:
	kfree(item);
	return rc;
}

/* Undo mock_access_pin() of pin @id; -ENOENT if there is none */
static int mock_access_unpin(struct mock_access *macc, u32 id)
{
	struct mock_access_pin *item;

	lockdep_assert_held(&macc->lock);

	item = xa_erase(&macc->items, id);
	if (!item)
		return -ENOENT;
	iommufd_access_unpin_pages(macc->access, item->iova, item->length);
	kfree(item);
	return 0;
}

/* Pin for IOMMU_TEST_OP_ACCESS_PAGES and report the new pin's ID */
static int mock_access_pin_respond(struct iommufd_ucmd *ucmd,
				   struct mock_access *macc,
				   struct iommu_test_cmd *cmd)
{
	struct page **pages __free(kvfree) = NULL;
	u32 id;
	int rc;

	/* Only an access that said so may pin */
	if (!macc->needs_pin)
		return -EOPNOTSUPP;
	pages = kvcalloc(cmd->access_pages.length / PAGE_SIZE, sizeof(*pages),
			 GFP_KERNEL_ACCOUNT);
	if (!pages)
		return -ENOMEM;

	guard(mutex)(&macc->lock);
	rc = mock_access_pin(macc, cmd, pages, &id);
	if (rc)
		return rc;
	cmd->access_pages.out_access_pages_id = id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		mock_access_unpin(macc, id);
	return rc;
}

/* IOMMU_TEST_OP_ACCESS_PAGES */
static int iommufd_test_access_pages(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	unsigned long iova = cmd->access_pages.iova;
	unsigned long length = cmd->access_pages.length;
	struct mock_access *macc;
	unsigned long last;
	int rc;

	if (cmd->access_pages.flags & ~MOCK_FLAGS_ACCESS_WRITE)
		return -EOPNOTSUPP;
	if (iova != cmd->access_pages.iova ||
	    length != cmd->access_pages.length)
		return -EOVERFLOW;
	if (!length || (iova | length) % PAGE_SIZE ||
	    length / PAGE_SIZE > INT_MAX / sizeof(struct page *))
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;

	macc = mock_access_get(ucmd, cmd->id);
	if (IS_ERR(macc))
		return PTR_ERR(macc);
	rc = mock_access_pin_respond(ucmd, macc, cmd);
	fput(macc->file);
	return rc;
}

/* IOMMU_TEST_OP_DESTROY_ACCESS_PAGES */
static int iommufd_test_destroy_pages(struct iommufd_ucmd *ucmd,
				      struct iommu_test_cmd *cmd)
{
	struct mock_access *macc;
	int rc;

	macc = mock_access_get(ucmd, cmd->id);
	if (IS_ERR(macc))
		return PTR_ERR(macc);
	mutex_lock(&macc->lock);
	rc = mock_access_unpin(macc,
			       cmd->destroy_access_pages.access_pages_id);
	mutex_unlock(&macc->lock);
	fput(macc->file);
	return rc;
}

/* Copies go through a bounce buffer of at most this many bytes at a time */
#define MOCK_ACCESS_RW_CHUNK SZ_1M

/* Copy one chunk between user memory at @uptr and IOVA @iova */
static int mock_access_rw_chunk(struct mock_access *macc,
				unsigned long iova, void __user *uptr,
				void *buf, size_t n, unsigned int flags)
{
	int rc;

	if ((flags & IOMMUFD_ACCESS_RW_WRITE) && copy_from_user(buf, uptr, n))
		return -EFAULT;
	rc = iommufd_access_rw(macc->access, iova, buf, n, flags);
	if (rc)
		return rc;
	if (!(flags & IOMMUFD_ACCESS_RW_WRITE) && copy_to_user(uptr, buf, n))
		return -EFAULT;
	return 0;
}

static int mock_access_rw(struct mock_access *macc,
			  struct iommu_test_cmd *cmd, unsigned int flags)
{
	unsigned long length = cmd->access_rw.length;
	void __user *uptr = u64_to_user_ptr(cmd->access_rw.uptr);
	unsigned long done;
	size_t n;
	void *buf;
	int rc = 0;

	buf = kvzalloc(min_t(unsigned long, length, MOCK_ACCESS_RW_CHUNK),
		       GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	for (done = 0; done < length && !rc; done += n) {
		n = min_t(unsigned long, length - done, MOCK_ACCESS_RW_CHUNK);
		rc = mock_access_rw_chunk(macc,
					  cmd->access_rw.iova + done,
					  uptr + done, buf, n, flags);
		if (!rc)
			rc = iommufd_test_yield();
	}
	kvfree(buf);
	return rc;
}

/* IOMMU_TEST_OP_ACCESS_RW */
static int iommufd_test_access_rw(struct iommufd_ucmd *ucmd,
				  struct iommu_test_cmd *cmd)
{
	u32 uflags = cmd->access_rw.flags;
	struct mock_access *macc;
	unsigned int flags = 0;
	unsigned long last;
	int rc;

	if (uflags & ~(MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH))
		return -EOPNOTSUPP;
	if (!cmd->access_rw.length)
		return -EINVAL;
	if (cmd->access_rw.iova > ULONG_MAX ||
	    cmd->access_rw.length > ULONG_MAX ||
	    check_add_overflow((unsigned long)cmd->access_rw.iova,
			       (unsigned long)cmd->access_rw.length - 1,
			       &last))
		return -EOVERFLOW;
	if (uflags & MOCK_ACCESS_RW_WRITE)
		flags |= IOMMUFD_ACCESS_RW_WRITE;
	if (uflags & MOCK_ACCESS_RW_SLOW_PATH)
		flags |= __IOMMUFD_ACCESS_RW_SLOW_PATH;

	macc = mock_access_get(ucmd, cmd->id);
	if (IS_ERR(macc))
		return PTR_ERR(macc);
	rc = mock_access_rw(macc, cmd, flags);
	fput(macc->file);
	return rc;
}

/* IOMMU_TEST_OP_ACCESS_REPLACE_IOAS */
static int iommufd_test_access_replace_ioas(struct iommufd_ucmd *ucmd,
					    struct iommu_test_cmd *cmd)
{
	struct mock_access *macc;
	int rc;

	macc = mock_access_get(ucmd, cmd->id);
	if (IS_ERR(macc))
		return PTR_ERR(macc);
	rc = iommufd_access_replace(macc->access,
				    cmd->access_replace_ioas.ioas_id);
	fput(macc->file);
	return rc;
}

/*
 * The rest of the operations
 */

#define MOCK_PGFAULT_PERM_ALL                                               \
	(IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE |                \
	 IOMMU_PGFAULT_PERM_EXEC | IOMMU_PGFAULT_PERM_PRIV)

/* The uAPI's enum iommu_hwpt_pgfault_perm in the IOMMU core's terms */
static u32 mock_fault_perm(u32 uperm)
{
	u32 perm = 0;

	if (uperm & IOMMU_PGFAULT_PERM_READ)
		perm |= IOMMU_FAULT_PERM_READ;
	if (uperm & IOMMU_PGFAULT_PERM_WRITE)
		perm |= IOMMU_FAULT_PERM_WRITE;
	if (uperm & IOMMU_PGFAULT_PERM_EXEC)
		perm |= IOMMU_FAULT_PERM_EXEC;
	if (uperm & IOMMU_PGFAULT_PERM_PRIV)
		perm |= IOMMU_FAULT_PERM_PRIV;
	return perm;
}

/* A page request on its way through the mock IOPF queue's workqueue */
struct mock_iopf_report {
	struct work_struct work;
	struct device *dev;
	struct iopf_fault event;
	int rc;
};

static void mock_iopf_report_fn(struct work_struct *work)
{
	struct mock_iopf_report *report =
		container_of(work, struct mock_iopf_report, work);

	report->rc = iommu_report_device_fault(report->dev, &report->event);
}

/*
 * Report @report's fault as hardware does, from the IOPF queue, and wait
 * for the IOMMU core to take it. Without a queue no device has IOPF on,
 * and the core refuses the report wherever it is made.
 */
static int mock_iopf_report(struct mock_iopf_report *report)
{
	if (!mock_iopf_queue)
		return iommu_report_device_fault(report->dev, &report->event);
	INIT_WORK_ONSTACK(&report->work, mock_iopf_report_fn);
	queue_work(mock_iopf_queue->wq, &report->work);
	flush_work(&report->work);
	destroy_work_on_stack(&report->work);
	return report->rc;
}

/* IOMMU_TEST_OP_TRIGGER_IOPF: the device sends one last-page page request */
static int iommufd_test_trigger_iopf(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	struct mock_iopf_report report = {};
	struct iommu_fault_page_request *prm = &report.event.fault.prm;
	struct iommufd_device *idev;
	int rc;

	if (cmd->trigger_iopf.perm & ~MOCK_PGFAULT_PERM_ALL)
		return -EOPNOTSUPP;

	idev = iommufd_get_device(ucmd, cmd->trigger_iopf.dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	rc = -EINVAL;
	if (!iommufd_selftest_is_mock_dev(idev->dev))
		goto out_put;

	report.dev = idev->dev;
	report.event.fault.type = IOMMU_FAULT_PAGE_REQ;
	prm->flags = IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
	if (cmd->trigger_iopf.pasid != IOMMU_NO_PASID)
		prm->flags |= IOMMU_FAULT_PAGE_REQUEST_PASID_VALID;
	prm->pasid = cmd->trigger_iopf.pasid;
	prm->grpid = cmd->trigger_iopf.grpid;
	prm->perm = mock_fault_perm(cmd->trigger_iopf.perm);
	prm->addr = cmd->trigger_iopf.addr;
	/* -EINVAL when no fault-capable domain is attached to take it */
	rc = mock_iopf_report(&report);
out_put:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

/* IOMMU_TEST_OP_ADD_RESERVED: reserve IOVA as a device's region would */
static int iommufd_test_add_reserved(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	u64 start = cmd->add_reserved.start, length = cmd->add_reserved.length;
	struct iommufd_ioas *ioas;
	u64 last;
	int rc;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(start, length - 1, &last) || last > ULONG_MAX)
		return -EOVERFLOW;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	rc = iopt_reserve_range(&ioas->iopt, start, last, NULL);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT: pages.c reads it for each batch */
static int iommufd_test_memory_limit_set(struct iommufd_ucmd *ucmd,
					 struct iommu_test_cmd *cmd)
{
	WRITE_ONCE(iommufd_test_memory_limit, cmd->memory_limit.limit);
	return 0;
}

typedef int (*iommufd_test_op_fn)(struct iommufd_ucmd *ucmd,
				  struct iommu_test_cmd *cmd);

/* Indexed by IOMMU_TEST_OP_*; a hole is an unknown operation */
static const iommufd_test_op_fn iommufd_test_ops[] = {
	[IOMMU_TEST_OP_ADD_RESERVED] = iommufd_test_add_reserved,
	[IOMMU_TEST_OP_MOCK_DOMAIN] = iommufd_test_mock_domain,
	[IOMMU_TEST_OP_MD_CHECK_MAP] = iommufd_test_md_check_map,
	[IOMMU_TEST_OP_MD_CHECK_REFS] = iommufd_test_md_check_refs,
	[IOMMU_TEST_OP_CREATE_ACCESS] = iommufd_test_create_access,
	[IOMMU_TEST_OP_DESTROY_ACCESS_PAGES] = iommufd_test_destroy_pages,
	[IOMMU_TEST_OP_ACCESS_PAGES] = iommufd_test_access_pages,
	[IOMMU_TEST_OP_ACCESS_RW] = iommufd_test_access_rw,
	[IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT] = iommufd_test_memory_limit_set,
	[IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE] = iommufd_test_mock_domain_replace,
	[IOMMU_TEST_OP_ACCESS_REPLACE_IOAS] = iommufd_test_access_replace_ioas,
	[IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS] = iommufd_test_mock_domain,
	[IOMMU_TEST_OP_DIRTY] = iommufd_test_dirty,
	[IOMMU_TEST_OP_MD_CHECK_IOTLB] = iommufd_test_md_check_iotlb,
	[IOMMU_TEST_OP_TRIGGER_IOPF] = iommufd_test_trigger_iopf,
	[IOMMU_TEST_OP_MD_COUNT_IOPTES] = iommufd_test_md_count_ioptes,
};

/**
 * iommufd_test() - IOMMU_TEST_CMD: one operation of the mock driver
 * @ucmd: the ioctl, with a struct iommu_test_cmd
 *
 * Context: Process context.
 * Return: 0 or -errno; -EOPNOTSUPP for an unknown operation or a non-zero
 * reserved field.
 */
int iommufd_test(struct iommufd_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;
	iommufd_test_op_fn fn;

	/* Every operation has a handler: a new one must be added here too */
	BUILD_BUG_ON(ARRAY_SIZE(iommufd_test_ops) !=
		     IOMMU_TEST_OP_MD_COUNT_IOPTES + 1);
	if (cmd->__reserved || cmd->op >= ARRAY_SIZE(iommufd_test_ops))
		return -EOPNOTSUPP;
	fn = iommufd_test_ops[array_index_nospec(cmd->op,
						 ARRAY_SIZE(iommufd_test_ops))];
	if (!fn)
		return -EOPNOTSUPP;
	return fn(ucmd, cmd);
}

/* Register the second mock IOMMU and its bus */
static int __init mock_foreign_init(void)
{
	int rc;

	mock_foreign_ops = mock_ops;
	rc = bus_register(&mock_foreign_bus);
	if (rc)
		return rc;
	rc = iommu_device_sysfs_add(&mock_foreign_iommu, NULL, NULL, "%s",
				    mock_foreign_bus.name);
	if (rc)
		goto err_bus;
	rc = iommu_device_register_bus(&mock_foreign_iommu, &mock_foreign_ops,
				       &mock_foreign_bus, &mock_foreign_bus_nb);
	if (rc)
		goto err_sysfs;
	return 0;

err_sysfs:
	iommu_device_sysfs_remove(&mock_foreign_iommu);
err_bus:
	bus_unregister(&mock_foreign_bus);
	return rc;
}

static void mock_foreign_exit(void)
{
	iommu_device_unregister_bus(&mock_foreign_iommu, &mock_foreign_bus,
				    &mock_foreign_bus_nb);
	iommu_device_sysfs_remove(&mock_foreign_iommu);
	bus_unregister(&mock_foreign_bus);
}

/**
 * iommufd_test_init() - register the mock IOMMU and its bus
 *
 * Context: Module init.
 * Return: 0 or -errno.
 */
int __init iommufd_test_init(void)
{
	int rc;

	/* NULL without CONFIG_IOMMU_IOPF: then no device can enable IOPF */
	mock_iopf_queue = iopf_queue_alloc("iommufd-mock-iopfq");
	if (!mock_iopf_queue && IS_ENABLED(CONFIG_IOMMU_IOPF))
		return -ENOMEM;
	rc = bus_register(&mock_bus);
	if (rc)
		goto err_iopf;
	rc = iommu_device_sysfs_add(&mock_iommu, NULL, NULL, "%s",
				    mock_bus.name);
	if (rc)
		goto err_bus;
	rc = iommu_device_register_bus(&mock_iommu, &mock_ops, &mock_bus,
				       &mock_bus_nb);
	if (rc)
		goto err_sysfs;
	rc = mock_foreign_init();
	if (rc)
		goto err_register;

	/* Only fail-nth and debugfs users need it: failure is not fatal */
	fail_iommufd_dir = fault_create_debugfs_attr("fail_iommufd", NULL,
						     &fail_iommufd);
	return 0;

err_register:
	iommu_device_unregister_bus(&mock_iommu, &mock_bus, &mock_bus_nb);
err_sysfs:
	iommu_device_sysfs_remove(&mock_iommu);
err_bus:
	bus_unregister(&mock_bus);
err_iopf:
	iopf_queue_free(mock_iopf_queue);
	return rc;
}

/**
 * iommufd_test_exit() - undo iommufd_test_init()
 *
 * Every mock device is gone by then: each holds a module reference
 * through the IOMMU core.
 *
 * Context: Module exit.
 */
void iommufd_test_exit(void)
{
	debugfs_remove_recursive(fail_iommufd_dir);
	mock_foreign_exit();
	iommu_device_unregister_bus(&mock_iommu, &mock_bus, &mock_bus_nb);
	iommu_device_sysfs_remove(&mock_iommu);
	bus_unregister(&mock_bus);
	iopf_queue_free(mock_iopf_queue);
}
