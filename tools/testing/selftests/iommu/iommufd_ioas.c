// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd_ioas.c - the IOAS and its io_pagetable: mapping, unmapping and
 * copying IOVA, the ranges that may be used, pinning and its accounting,
 * file mappings, in-kernel accesses, and mappings made by other processes.
 *
 * The "ioas" fixture runs every test against an IOAS with no domain, with
 * one mock device, with two mock devices sharing one domain, and with two
 * mock devices on two different domains (the second one on a HWPT that
 * the test allocates itself), and again with tiny pinning batches. The mock
 * domains translate only [MOCK_APERTURE_START, MOCK_APERTURE_LAST] in IO
 * pages of half a CPU page, so the alignment rules differ per variant;
 * "base" is an IOVA every variant can map at. The sweep_* tests go over
 * every start and end of a range (and every sub-range of a mapping) and
 * check each result in a second IOAS whose domain the mock records.
 *
 * The "account" fixture checks RLIMIT_MEMLOCK accounting in both modes of
 * IOMMU_OPTION_RLIMIT_MODE through /proc/self/status (VmPin counts the
 * per-user mode's pins, VmLck the per-process mode's).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "../kselftest_harness.h"
#include "iommufd_test_util.h"

#define BUF_PAGES 16
#define BUF_LEN (BUF_PAGES * page_size)
#define HUGE_2M (2UL * 1024 * 1024)

FIXTURE(ioas)
{
	int fd;
	__u32 ioas_id;
	unsigned int ndev;	/* mock devices attached */
	__u32 stdev_id[2];
	__u32 idev_id[2];
	unsigned int nhwpt;	/* distinct HWPTs, that is domains */
	__u32 hwpt_id[2];
	__u64 base;		/* an IOVA every variant can map at */
	__u64 align;		/* IOAS alignment the devices impose */
	char *buf;		/* BUF_LEN shared bytes, 2 MiB aligned */
};

FIXTURE_VARIANT(ioas)
{
	unsigned int mock_devices;
	bool own_hwpt;		/* second device on a HWPT of its own */
	__u32 temp_limit;	/* pinning scratch memory, 0: default */
};

/* Nothing translates: mapping is bookkeeping, pinning waits */
FIXTURE_VARIANT_ADD(ioas, no_device)
{
	.mock_devices = 0,
};

/* One device, on the domain the kernel makes for the IOAS */
FIXTURE_VARIANT_ADD(ioas, one_device)
{
	.mock_devices = 1,
};

/* Two devices that share that one domain */
FIXTURE_VARIANT_ADD(ioas, two_devices)
{
	.mock_devices = 2,
};

/* Two devices, the second on a HWPT of its own: two domains to fill */
FIXTURE_VARIANT_ADD(ioas, two_domains)
{
	.own_hwpt = true,
	.mock_devices = 2,
};

/* 16 bytes of scratch memory for pinning: the smallest batches */
FIXTURE_VARIANT_ADD(ioas, one_device_limit16)
{
	.temp_limit = 16,
	.mock_devices = 1,
};

/* 32 bytes of scratch memory, and two domains to fill */
FIXTURE_VARIANT_ADD(ioas, two_domains_limit32)
{
	.temp_limit = 32,
	.own_hwpt = true,
	.mock_devices = 2,
};

/*
 * Helpers take the fixture data as struct _test_data_ioas, the type that
 * FIXTURE_DATA(ioas) names.
 */

/* Attach mock device number @i as the variant wants */
static int ioas_add_device(struct _test_data_ioas *self, bool own_hwpt,
			   unsigned int i)
{
	__u32 pt_id = self->ioas_id, hwpt_id;
	int rc;

	if (i && own_hwpt) {
		rc = hwpt_alloc(self->fd, self->idev_id[0], self->ioas_id, 0,
				&pt_id);
		if (rc)
			return rc;
	}
	rc = mock_domain(self->fd, pt_id, &self->stdev_id[i], &hwpt_id,
			 &self->idev_id[i]);
	if (rc)
		return rc;
	if (!self->nhwpt || self->hwpt_id[0] != hwpt_id)
		self->hwpt_id[self->nhwpt++] = hwpt_id;
	self->ndev++;
	return 0;
}

FIXTURE_SETUP(ioas)
{
	unsigned int i;

	ASSERT_MOCK();
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_OK(ioas_alloc(self->fd, &self->ioas_id));
	for (i = 0; i != variant->mock_devices; i++)
		ASSERT_OK(ioas_add_device(self, variant->own_hwpt, i));
	self->base = MOCK_APERTURE_START;
	self->align = self->ndev ? mock_io_page : 1;
	self->buf = alloc_shared(BUF_LEN, HUGE_2M);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 0xa5, BUF_LEN);
	/* Last: the limit is global, and only a teardown puts it back */
	if (variant->temp_limit)
		ASSERT_OK(mock_temp_memory_limit(self->fd,
						 variant->temp_limit));
}

FIXTURE_TEARDOWN(ioas)
{
	if (variant->temp_limit)
		ASSERT_OK(mock_temp_memory_limit(self->fd,
						 DEFAULT_TEMP_MEMORY_LIMIT));
	TEARDOWN_CLOSE_UNPINNED(self->fd, self->buf, BUF_LEN);
	munmap(self->buf, BUF_LEN);
}

/* 0 if every domain of the fixture translates [iova, +len) to @p */
static int domains_map(struct _test_data_ioas *self, __u64 iova, const void *p,
		       __u64 len)
{
	unsigned int i;
	int rc;

	for (i = 0; i != self->nhwpt; i++) {
		rc = mock_check_map(self->fd, self->hwpt_id[i], iova, p, len);
		if (rc)
			return rc;
	}
	return 0;
}

/* 0 if every page of [@p, @p + @len) has @pins pins (-EIO if not) */
static int pins_are(struct _test_data_ioas *self, const void *p, __u64 len,
		    unsigned int pins)
{
	return mock_check_pins(self->fd, p, len, pins);
}

/* Pins a mapping of the fixture's IOAS holds: one if a domain needs them */
static unsigned int domain_pins(struct _test_data_ioas *self)
{
	return self->ndev ? 1 : 0;
}

/* Lowest set bit of @v */
static __u64 low_bit(__u64 v)
{
	return v & -v;
}

TEST_F(ioas, map_fixed)
{
	__u64 iova = self->base, unmapped;

	ASSERT_OK(ioas_map_flags(self->fd, self->ioas_id, self->buf, BUF_LEN,
				 &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
				 IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE));
	EXPECT_EQ(self->base, iova);
	EXPECT_OK(domains_map(self, self->base, self->buf, BUF_LEN));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, domain_pins(self)));

	/* The checks can fail: other memory is not what is mapped */
	if (self->ndev)
		EXPECT_ERR(EINVAL, domains_map(self, self->base,
					       self->buf + page_size,
					       page_size));
	if (self->ndev)
		EXPECT_ERR(EIO, pins_are(self, self->buf, BUF_LEN, 0));

	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, self->base, BUF_LEN,
			     &unmapped));
	EXPECT_EQ(BUF_LEN, unmapped);
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 0));
	if (self->ndev)
		EXPECT_ERR(EINVAL, domains_map(self, self->base, self->buf,
					       page_size));
	EXPECT_ERR(ENOENT, ioas_unmap(self->fd, self->ioas_id, self->base,
				      BUF_LEN, NULL));

	/* Map and unmap the same range over and over */
	for (iova = 0; iova != 8; iova++) {
		ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf,
				      2 * page_size, self->base));
		ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, self->base,
				     2 * page_size, &unmapped));
		EXPECT_EQ(2 * page_size, unmapped);
	}
}

/* A fixed mapping never replaces or overlaps another one */
TEST_F(ioas, map_fixed_overlap)
{
	__u64 area = self->base + 8 * page_size, unmapped;
	struct {
		__u64 iova_pages;	/* from the area's start */
		__u64 len_pages;
	} clash[] = {
		{ 0, 8 }, { 2, 2 }, { 7, 2 }, { -1ULL, 2 }, { -2ULL, 12 },
		{ 7, 1 }, { 0, 1 },
	};
	unsigned int i;

	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf,
			      8 * page_size, area));
	for (i = 0; i != ARRAY_SIZE(clash); i++)
		EXPECT_ERR(EEXIST,
			   ioas_map_at(self->fd, self->ioas_id, self->buf,
				       clash[i].len_pages * page_size,
				       area + clash[i].iova_pages * page_size));

	/* Right before and right after is fine */
	EXPECT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf,
			      2 * page_size, area - 2 * page_size));
	EXPECT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf,
			      2 * page_size, area + 8 * page_size));
	EXPECT_OK(domains_map(self, area - 2 * page_size, self->buf,
			      2 * page_size));
	EXPECT_OK(domains_map(self, area, self->buf, 8 * page_size));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	EXPECT_EQ(12 * page_size, unmapped);
}

/*
 * Without a domain anything goes, to the byte. A mock domain needs IOVA,
 * length and the offset of the memory in its page to be multiples of its
 * IO page, which is half a CPU page: IOVA and memory may then sit at
 * different offsets within their pages.
 */
TEST_F(ioas, map_alignment)
{
	__u64 half = mock_io_page, iova, unmapped;
	__u64 step = 16 * page_size;
	int expect = self->ndev ? -EINVAL : 0;

	EXPECT_EQ(self->align, ioas_alignment(self->fd, self->ioas_id));

	EXPECT_EQ(expect, ioas_map_at(self->fd, self->ioas_id, self->buf,
				      page_size, self->base + 1));
	EXPECT_EQ(expect, ioas_map_at(self->fd, self->ioas_id, self->buf,
				      page_size + 1, self->base + step));
	EXPECT_EQ(expect, ioas_map_at(self->fd, self->ioas_id, self->buf + 1,
				      page_size, self->base + 2 * step));
	EXPECT_EQ(expect, ioas_map_any(self->fd, self->ioas_id, self->buf,
				       1, &iova));
	EXPECT_EQ(expect, ioas_map_any(self->fd, self->ioas_id,
				       self->buf + 8, half, &iova));

	/* Half pages work everywhere, even half a page out of phase */
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf + half,
			      half, self->base + 3 * step));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf,
			      3 * half, self->base + 4 * step + half));
	EXPECT_OK(domains_map(self, self->base + 3 * step, self->buf + half,
			      half));
	EXPECT_OK(domains_map(self, self->base + 4 * step + half, self->buf,
			      3 * half));
	/* Only the pages touched are pinned, once per mapping */
	EXPECT_OK(pins_are(self, self->buf, page_size,
			   2 * domain_pins(self)));
	EXPECT_OK(pins_are(self, self->buf + page_size, page_size,
			   domain_pins(self)));
	EXPECT_OK(pins_are(self, self->buf + 2 * page_size, page_size, 0));

	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	if (self->ndev)
		EXPECT_EQ(4 * half, unmapped);
}

/* IOVA that a mock domain cannot translate, or that is reserved */
TEST_F(ioas, map_reserved_and_aperture)
{
	__u64 resv = self->base + 16 * page_size;
	__u64 top = (__u64)MOCK_APERTURE_LAST + 1;
	int outside = self->ndev ? -EINVAL : 0;
	__u64 unmapped;

	ASSERT_OK(mock_add_reserved(self->fd, self->ioas_id, resv,
				    16 * page_size));
	EXPECT_ERR(EINVAL, ioas_map_at(self->fd, self->ioas_id, self->buf,
				       2 * page_size, resv - page_size));
	EXPECT_ERR(EINVAL, ioas_map_at(self->fd, self->ioas_id, self->buf,
				       2 * page_size, resv + 15 * page_size));
	EXPECT_ERR(EINVAL, ioas_map_at(self->fd, self->ioas_id, self->buf,
				       page_size, resv + 4 * page_size));
	EXPECT_ERR(EINVAL, ioas_map_at(self->fd, self->ioas_id, self->buf,
				       BUF_LEN, resv - 8 * page_size));
	EXPECT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf,
			      2 * page_size, resv - 2 * page_size));
	EXPECT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf,
			      page_size, resv + 16 * page_size));

	/* Reserving what is mapped is refused */
	EXPECT_ERR(EADDRINUSE, mock_add_reserved(self->fd, self->ioas_id,
						 resv - page_size,
						 page_size));

	/* The ends of the aperture */
	EXPECT_EQ(outside, ioas_map_at(self->fd, self->ioas_id, self->buf,
				       page_size, 0));
	EXPECT_EQ(outside, ioas_map_at(self->fd, self->ioas_id, self->buf,
				       2 * page_size,
				       MOCK_APERTURE_START - page_size));
	EXPECT_EQ(outside, ioas_map_at(self->fd, self->ioas_id, self->buf,
				       2 * page_size, top - page_size));
	EXPECT_EQ(outside, ioas_map_at(self->fd, self->ioas_id, self->buf,
				       page_size, 1ULL << 40));
	EXPECT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, page_size,
			      top - 2 * page_size));
	EXPECT_OK(domains_map(self, top - 2 * page_size, self->buf,
			      page_size));

	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	EXPECT_EQ((self->ndev ? 4 : 10) * page_size, unmapped);
}

/* Where the kernel puts a mapping when it chooses */
TEST_F(ioas, map_auto_iova)
{
	static const unsigned int pages[] = { 1, 2, 3, 4, 5, 8, 13, 16 };
	__u64 iovas[ARRAY_SIZE(pages)], unmapped, iova, half = mock_io_page;
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(pages); i++) {
		__u64 len = pages[i] * page_size;

		ASSERT_OK(ioas_map_any(self->fd, self->ioas_id, self->buf,
				       len, &iovas[i]));
		iova = iovas[i];
		EXPECT_NE(0, iova);
		EXPECT_EQ(0, iova % low_bit(len));
		EXPECT_EQ(0, iova % page_size);
		if (self->ndev) {
			EXPECT_LE(MOCK_APERTURE_START, iova);
			EXPECT_GE(MOCK_APERTURE_LAST, iova + len - 1);
		}
		EXPECT_OK(domains_map(self, iova, self->buf, len));
	}

	/* The memory's offset in its page carries over to the IOVA */
	ASSERT_OK(ioas_map_any(self->fd, self->ioas_id, self->buf + half,
			       half, &iova));
	EXPECT_EQ(half, iova % page_size);
	EXPECT_OK(domains_map(self, iova, self->buf + half, half));

	/* None overlapped: each unmaps exactly what it mapped */
	for (i = 0; i != ARRAY_SIZE(pages); i++) {
		ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, iovas[i],
				     pages[i] * page_size, &unmapped));
		EXPECT_EQ(pages[i] * page_size, unmapped);
	}
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	EXPECT_EQ(half, unmapped);
}

/* Byte-sized lengths: fine without a domain, refused with one */
TEST_F(ioas, map_auto_odd_lengths)
{
	__u64 len, iova, unmapped, total = 0;

	for (len = 1; len < 3 * page_size; len += 333) {
		int rc = ioas_map_any(self->fd, self->ioas_id, self->buf, len,
				      &iova);

		if (self->ndev && len % mock_io_page) {
			EXPECT_ERR(EINVAL, rc);
			continue;
		}
		ASSERT_OK(rc);
		EXPECT_NE(0, iova);
		total += len;
	}
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	EXPECT_EQ(total, unmapped);
}

/* Kernel-chosen IOVA avoids reserved ranges and keeps to allowed ones */
TEST_F(ioas, map_auto_reserved_allowed)
{
	__u64 resv_start = self->base, resv_len = 64 * page_size;
	struct iommu_iova_range allowed = {
		.start = self->base + 300 * page_size,
		.last = self->base + 400 * page_size - 1,
	};
	struct iommu_iova_range clashing = {
		.start = self->base + 32 * page_size,
		.last = self->base + 100 * page_size - 1,
	};
	struct iommu_ioas_map raw = {
		.size = sizeof(raw),
		.flags = IOMMU_IOAS_MAP_READABLE,
		.iova = 0xfeedf00d000,
	};
	__u64 len = 4 * page_size, iova, unmapped;
	unsigned int i, n;
	int rc;

	ASSERT_OK(mock_add_reserved(self->fd, self->ioas_id, resv_start,
				    resv_len));
	for (i = 0; i != 20; i++) {
		ASSERT_OK(ioas_map_any(self->fd, self->ioas_id, self->buf, len,
				       &iova));
		EXPECT_TRUE(iova + len <= resv_start ||
			    iova >= resv_start + resv_len);
		EXPECT_OK(domains_map(self, iova, self->buf, len));
	}
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	EXPECT_EQ(20 * len, unmapped);

	/* An allowed range may not include reserved IOVA */
	EXPECT_ERR(EADDRINUSE, ioas_allow(self->fd, self->ioas_id, &clashing,
					  1));
	if (self->ndev) {
		clashing.start = page_size;
		clashing.last = 16 * page_size - 1;
		EXPECT_ERR(EADDRINUSE, ioas_allow(self->fd, self->ioas_id,
						  &clashing, 1));
	}
	ASSERT_OK(ioas_allow(self->fd, self->ioas_id, &allowed, 1));

	/* ... and a reservation may not take allowed IOVA */
	EXPECT_ERR(EADDRINUSE, mock_add_reserved(self->fd, self->ioas_id,
						 allowed.last, page_size));

	/* Fill the allowed range exactly, then there is no room */
	for (n = 0; n != 30; n++) {
		rc = ioas_map_any(self->fd, self->ioas_id, self->buf, len,
				  &iova);
		if (rc)
			break;
		EXPECT_LE(allowed.start, iova);
		EXPECT_GE(allowed.last, iova + len - 1);
	}
	EXPECT_ERR(ENOSPC, rc);
	EXPECT_EQ(25, n);

	/* A failed map writes no IOVA back */
	raw.ioas_id = self->ioas_id;
	raw.user_va = (__u64)(unsigned long)self->buf;
	raw.length = len;
	EXPECT_ERR(ENOSPC, ifd_ioctl(self->fd, IOMMU_IOAS_MAP, &raw));
	EXPECT_EQ(0xfeedf00d000, raw.iova);

	/* A failed update keeps the old list */
	EXPECT_ERR(EADDRINUSE, ioas_allow(self->fd, self->ioas_id, &clashing,
					  1));
	EXPECT_ERR(ENOSPC, ioas_map_any(self->fd, self->ioas_id, self->buf,
					len, &iova));

	/* Clearing the list frees the choice again */
	ASSERT_OK(ioas_allow(self->fd, self->ioas_id, NULL, 0));
	ASSERT_OK(ioas_map_any(self->fd, self->ioas_id, self->buf, len,
			       &iova));
	EXPECT_TRUE(iova + len <= allowed.start || iova > allowed.last);
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	EXPECT_EQ(26 * len, unmapped);
}

TEST_F(ioas, map_prot)
{
	__u32 fixed = IOMMU_IOAS_MAP_FIXED_IOVA;
	int expect_write = self->ndev ? -EFAULT : 0;
	__u64 iova, unmapped;
	char *ro;

	iova = self->base;
	EXPECT_ERR(EINVAL, ioas_map_flags(self->fd, self->ioas_id, self->buf,
					  page_size, &iova, fixed));
	EXPECT_OK(ioas_map_flags(self->fd, self->ioas_id, self->buf,
				 page_size, &iova,
				 fixed | IOMMU_IOAS_MAP_READABLE));
	iova += page_size;
	EXPECT_OK(ioas_map_flags(self->fd, self->ioas_id, self->buf,
				 page_size, &iova,
				 fixed | IOMMU_IOAS_MAP_WRITEABLE));

	/* Read-only memory can only back a mapping devices read */
	ro = mmap(NULL, 2 * page_size, PROT_READ,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	iova += page_size;
	EXPECT_OK(ioas_map_flags(self->fd, self->ioas_id, ro, 2 * page_size,
				 &iova, fixed | IOMMU_IOAS_MAP_READABLE));
	EXPECT_OK(domains_map(self, iova, ro, 2 * page_size));
	iova += 2 * page_size;
	EXPECT_EQ(expect_write,
		  ioas_map_flags(self->fd, self->ioas_id, ro, 2 * page_size,
				 &iova, fixed | IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE));
	EXPECT_OK(pins_are(self, ro, 2 * page_size, domain_pins(self)));

	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	EXPECT_EQ((self->ndev ? 4 : 6) * page_size, unmapped);
	EXPECT_OK(pins_are(self, ro, 2 * page_size, 0));
	munmap(ro, 2 * page_size);
}

/*
 * Memory with a hole: a domain pins at once and fails with nothing left
 * behind. Without a domain the map is only bookkeeping; the hole shows
 * when a domain arrives, which then fails and changes nothing.
 */
TEST_F(ioas, map_unmapped_memory)
{
	__u64 len = 4 * page_size, unmapped, iova;
	char *mem;

	mem = alloc_shared(len, page_size);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem, 1, len);
	ASSERT_OK(munmap(mem + 2 * page_size, page_size));

	if (self->ndev) {
		EXPECT_ERR(EFAULT, ioas_map_at(self->fd, self->ioas_id, mem,
					       len, self->base));
		EXPECT_ERR(EFAULT, ioas_map_any(self->fd, self->ioas_id, mem,
						len, &iova));
		EXPECT_OK(pins_are(self, mem, 2 * page_size, 0));
		EXPECT_OK(pins_are(self, mem + 3 * page_size, page_size, 0));
		ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
		EXPECT_EQ(0, unmapped);
		/* The same IOVA is still free */
		EXPECT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, len,
				      self->base));
	} else {
		ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, mem, len,
				      self->base));
		EXPECT_ERR(EFAULT, mock_domain(self->fd, self->ioas_id, NULL,
					       NULL, NULL));
		EXPECT_EQ(1, ioas_alignment(self->fd, self->ioas_id));
		EXPECT_OK(pins_are(self, mem, 2 * page_size, 0));
		ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
		EXPECT_EQ(len, unmapped);
	}
	munmap(mem, 2 * page_size);
	munmap(mem + 3 * page_size, page_size);
}

/* Unmap takes whole mappings, skips holes, and is all or nothing */
TEST_F(ioas, unmap_rules)
{
	__u64 b = self->base, p = page_size, unmapped;
	unsigned int i;

	/* Four mappings of two pages, two pages apart */
	for (i = 0; i != 4; i++)
		ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf,
				      2 * p, b + 4 * i * p));

	/* Cutting a mapping, at either end of the range */
	EXPECT_ERR(ENOENT, ioas_unmap(self->fd, self->ioas_id, b + p, 2 * p,
				      NULL));
	EXPECT_ERR(ENOENT, ioas_unmap(self->fd, self->ioas_id, b, p, NULL));
	EXPECT_ERR(ENOENT, ioas_unmap(self->fd, self->ioas_id, b, 5 * p,
				      NULL));
	EXPECT_ERR(ENOENT, ioas_unmap(self->fd, self->ioas_id, b + 3 * p,
				      10 * p, NULL));
	/* Nothing but holes */
	EXPECT_ERR(ENOENT, ioas_unmap(self->fd, self->ioas_id, b + 2 * p,
				      2 * p, NULL));
	EXPECT_ERR(ENOENT, ioas_unmap(self->fd, self->ioas_id, b + 16 * p,
				      64 * p, NULL));
	/* All four are still there, whole */
	for (i = 0; i != 4; i++)
		EXPECT_OK(domains_map(self, b + 4 * i * p, self->buf, 2 * p));

	/* A range with holes and two whole mappings in it */
	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, b - 2 * p, 8 * p,
			     &unmapped));
	EXPECT_EQ(4 * p, unmapped);
	EXPECT_ERR(ENOENT, ioas_unmap(self->fd, self->ioas_id, b, 2 * p,
				      NULL));

	/* Unmap-all reports what it removed, and works when empty */
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	EXPECT_EQ(4 * p, unmapped);
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	EXPECT_EQ(0, unmapped);
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 0));

	EXPECT_ERR(EINVAL, ioas_unmap(self->fd, self->ioas_id, b, 0, NULL));
	EXPECT_ERR(EOVERFLOW, ioas_unmap(self->fd, self->ioas_id, -p, 2 * p,
					 NULL));
}

/* Copies: sub-ranges, several source mappings, and what must be covered */
TEST_F(ioas, copy_ranges)
{
	__u32 rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	__u32 fixed = rw | IOMMU_IOAS_MAP_FIXED_IOVA;
	__u64 b = self->base, p = page_size, iova = 0, unmapped;
	__u32 other;
	char *more;

	more = alloc_shared(4 * p, p);
	ASSERT_NE(MAP_FAILED, more);
	ASSERT_OK(ioas_alloc(self->fd, &other));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN, b));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, more, 4 * p,
			      b + BUF_LEN));

	/*
	 * Part at a fixed IOVA (first, before the kernel picks IOVAs that
	 * could be there: with 64 KiB pages BUF_LEN is 1 MiB), whole, a few
	 * bytes, across the two mappings
	 */
	iova = 0x100000;
	EXPECT_OK(ioas_copy(self->fd, other, self->ioas_id, b + 3 * p, 5 * p,
			    &iova, fixed));
	EXPECT_EQ(0x100000, iova);
	EXPECT_OK(ioas_copy(self->fd, other, self->ioas_id, b, BUF_LEN, &iova,
			    rw));
	EXPECT_OK(ioas_copy(self->fd, other, self->ioas_id, b + 100, 1000,
			    &iova, rw));
	EXPECT_EQ(100, iova % page_size);
	EXPECT_OK(ioas_copy(self->fd, other, self->ioas_id, b + BUF_LEN - p,
			    3 * p, &iova, rw));
	/* Into the same IOAS */
	iova = b + 2 * BUF_LEN;
	EXPECT_OK(ioas_copy(self->fd, self->ioas_id, self->ioas_id, b, 2 * p,
			    &iova, fixed));
	EXPECT_OK(domains_map(self, b + 2 * BUF_LEN, self->buf, 2 * p));

	/* The source must be mapped all the way */
	EXPECT_ERR(ENOENT, ioas_copy(self->fd, other, self->ioas_id, b - p,
				     2 * p, &iova, rw));
	EXPECT_ERR(ENOENT, ioas_copy(self->fd, other, self->ioas_id,
				     b + BUF_LEN + 3 * p, 2 * p, &iova, rw));
	EXPECT_ERR(ENOENT, ioas_copy(self->fd, other, self->ioas_id,
				     b + 2 * BUF_LEN, 3 * p, &iova, rw));

	/* The destination's alignment applies, not the source's */
	iova = 0;
	EXPECT_EQ(self->ndev ? -EINVAL : 0,
		  ioas_copy(self->fd, self->ioas_id, other, 0x100000 + 100,
			    p, &iova, rw));

	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, domain_pins(self)));
	ASSERT_OK(ioas_unmap_all(self->fd, other, &unmapped));
	EXPECT_EQ(BUF_LEN + 5 * p + 1000 + 3 * p, unmapped);
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	EXPECT_EQ(BUF_LEN + 4 * p + 2 * p + (self->ndev ? 0 : p), unmapped);
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 0));
	EXPECT_OK(pins_are(self, more, 4 * p, 0));
	munmap(more, 4 * p);
}

TEST_F(ioas, copy_read_only_source)
{
	__u64 iova = 0;
	__u32 other;

	ASSERT_OK(ioas_alloc(self->fd, &other));
	iova = self->base;
	ASSERT_OK(ioas_map_flags(self->fd, self->ioas_id, self->buf, BUF_LEN,
				 &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
				 IOMMU_IOAS_MAP_READABLE));
	EXPECT_ERR(EPERM, ioas_copy(self->fd, other, self->ioas_id,
				    self->base, BUF_LEN, &iova,
				    IOMMU_IOAS_MAP_WRITEABLE));
	EXPECT_ERR(EPERM, ioas_copy(self->fd, other, self->ioas_id,
				    self->base, page_size, &iova,
				    IOMMU_IOAS_MAP_READABLE |
				    IOMMU_IOAS_MAP_WRITEABLE));
	EXPECT_OK(ioas_copy(self->fd, other, self->ioas_id, self->base,
			    BUF_LEN, &iova, IOMMU_IOAS_MAP_READABLE));
}

/*
 * Copy into the fixture's IOAS from one without domains: the copy is what
 * makes the memory pinned, and it stays when the source IOAS is destroyed.
 */
TEST_F(ioas, copy_outlives_source)
{
	__u64 iova = self->base, unmapped;
	__u32 src;

	ASSERT_OK(ioas_alloc(self->fd, &src));
	ASSERT_OK(ioas_map_at(self->fd, src, self->buf, BUF_LEN, 0x4000000));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 0));
	ASSERT_OK(ioas_copy(self->fd, self->ioas_id, src, 0x4000000, BUF_LEN,
			    &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
			    IOMMU_IOAS_MAP_READABLE |
			    IOMMU_IOAS_MAP_WRITEABLE));
	EXPECT_OK(domains_map(self, self->base, self->buf, BUF_LEN));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, domain_pins(self)));

	ASSERT_OK(obj_destroy(self->fd, src));
	EXPECT_OK(domains_map(self, self->base, self->buf, BUF_LEN));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, domain_pins(self)));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	EXPECT_EQ(BUF_LEN, unmapped);
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 0));
}

/*
 * A copy shares the pins of its source; a second IOAS_MAP of the same
 * memory is a mapping of its own, with pins of its own.
 */
TEST_F(ioas, copy_shares_pins)
{
	__u64 iova = 0x2000000, unmapped;
	__u32 other;

	ASSERT_OK(ioas_alloc(self->fd, &other));
	ASSERT_OK(mock_domain(self->fd, other, NULL, NULL, NULL));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      self->base));
	ASSERT_OK(ioas_copy(self->fd, other, self->ioas_id, self->base,
			    BUF_LEN, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
			    IOMMU_IOAS_MAP_READABLE));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 1));

	ASSERT_OK(ioas_map_at(self->fd, other, self->buf, BUF_LEN,
			      0x3000000));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 2));
	ASSERT_OK(ioas_unmap(self->fd, other, 0x3000000, BUF_LEN, &unmapped));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 1));

	/* The copy keeps the pages pinned once the original is gone */
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 1));
	ASSERT_OK(ioas_unmap_all(self->fd, other, &unmapped));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 0));
}

TEST_F(ioas, usable_ranges)
{
	struct iommu_iova_range r[3];
	__u64 align = 0, first = 0, last = UINT64_MAX;
	__u32 num;

	if (self->ndev) {
		first = MOCK_APERTURE_START;
		last = MOCK_APERTURE_LAST;
	}
	memset(r, 0xee, sizeof(r));
	num = 3;
	ASSERT_OK(ioas_ranges(self->fd, self->ioas_id, r, &num, &align));
	ASSERT_EQ(1, num);
	EXPECT_EQ(first, r[0].start);
	EXPECT_EQ(last, r[0].last);
	EXPECT_EQ(self->align, align);
	EXPECT_EQ(0xeeeeeeeeeeeeeeeeULL, r[1].start);

	/* Asking how many: no room at all */
	num = 0;
	EXPECT_ERR(EMSGSIZE, ioas_ranges(self->fd, self->ioas_id, NULL, &num,
					 NULL));
	EXPECT_EQ(1, num);

	/* A hole in the middle of what is usable makes two ranges */
	ASSERT_OK(mock_add_reserved(self->fd, self->ioas_id,
				    self->base + page_size, page_size));
	memset(r, 0xee, sizeof(r));
	num = 1;
	EXPECT_ERR(EMSGSIZE, ioas_ranges(self->fd, self->ioas_id, r, &num,
					 NULL));
	EXPECT_EQ(2, num);
	EXPECT_EQ(first, r[0].start);
	EXPECT_EQ(self->base + page_size - 1, r[0].last);
	EXPECT_EQ(0xeeeeeeeeeeeeeeeeULL, r[1].start);
	num = 3;
	ASSERT_OK(ioas_ranges(self->fd, self->ioas_id, r, &num, &align));
	ASSERT_EQ(2, num);
	EXPECT_EQ(self->base + 2 * page_size, r[1].start);
	EXPECT_EQ(last, r[1].last);

	/* A reservation where nothing was usable anyway changes nothing */
	if (self->ndev) {
		ASSERT_OK(mock_add_reserved(self->fd, self->ioas_id,
					    page_size, page_size));
		num = 3;
		ASSERT_OK(ioas_ranges(self->fd, self->ioas_id, r, &num,
				      NULL));
		EXPECT_EQ(2, num);
		EXPECT_EQ(first, r[0].start);
	}
}

/* A pinning access raises the alignment to the CPU page, a plain one not */
TEST_F(ioas, access_alignment)
{
	__u64 page_align = self->align > page_size ? self->align : page_size;
	__u32 pin_flag = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES;
	__u64 half = mock_io_page, iova;
	int plain, pinning;

	ASSERT_OK(mock_access_create(self->fd, self->ioas_id, 0, &plain));
	EXPECT_EQ(self->align, ioas_alignment(self->fd, self->ioas_id));
	ASSERT_OK(mock_access_create(self->fd, self->ioas_id,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				     &pinning));
	EXPECT_EQ(page_align, ioas_alignment(self->fd, self->ioas_id));
	EXPECT_ERR(EINVAL, ioas_map_any(self->fd, self->ioas_id,
					self->buf + half, half, &iova));
	ASSERT_OK(close(pinning));
	EXPECT_EQ(self->align, ioas_alignment(self->fd, self->ioas_id));

	/* A mapping that is not page aligned keeps pinning accesses away */
	ASSERT_OK(ioas_map_any(self->fd, self->ioas_id, self->buf + half,
			       half, &iova));
	EXPECT_ERR(EADDRINUSE, mock_access_create(self->fd, self->ioas_id,
						  pin_flag, &pinning));
	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, iova, half, NULL));
	ASSERT_OK(mock_access_create(self->fd, self->ioas_id,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				     &pinning));
	ASSERT_OK(close(pinning));
	ASSERT_OK(close(plain));
}

TEST_F(ioas, option_huge_pages)
{
	__u64 half = mock_io_page, val = 7, iova;
	__u32 id = self->ioas_id;

	ASSERT_OK(option_get(self->fd, IOMMU_OPTION_HUGE_PAGES, id, &val));
	EXPECT_EQ(1, val);
	EXPECT_ERR(EINVAL, option_set(self->fd, IOMMU_OPTION_HUGE_PAGES, id,
				      2));

	/* Off: whole CPU pages only */
	ASSERT_OK(option_set(self->fd, IOMMU_OPTION_HUGE_PAGES, id, 0));
	ASSERT_OK(option_get(self->fd, IOMMU_OPTION_HUGE_PAGES, id, &val));
	EXPECT_EQ(0, val);
	EXPECT_EQ(page_size, ioas_alignment(self->fd, id));
	EXPECT_ERR(EINVAL, ioas_map_at(self->fd, id, self->buf + half, half,
				       self->base));
	EXPECT_ERR(EINVAL, ioas_map_at(self->fd, id, self->buf, page_size,
				       self->base + half));
	ASSERT_OK(ioas_map_at(self->fd, id, self->buf, BUF_LEN, self->base));
	EXPECT_OK(domains_map(self, self->base, self->buf, BUF_LEN));
	/* Turning it off again is no change, even with mappings */
	EXPECT_OK(option_set(self->fd, IOMMU_OPTION_HUGE_PAGES, id, 0));

	/* Back on */
	ASSERT_OK(option_set(self->fd, IOMMU_OPTION_HUGE_PAGES, id, 1));
	EXPECT_EQ(self->align, ioas_alignment(self->fd, id));
	ASSERT_OK(option_get(self->fd, IOMMU_OPTION_HUGE_PAGES, id, &val));
	EXPECT_EQ(1, val);

	/* Off needs every mapping page aligned, and no domain in use */
	ASSERT_OK(ioas_map_any(self->fd, id, self->buf + half, half, &iova));
	EXPECT_NE(0, option_set(self->fd, IOMMU_OPTION_HUGE_PAGES, id, 0));
	ASSERT_OK(ioas_unmap(self->fd, id, iova, half, NULL));
	EXPECT_EQ(self->ndev ? -EINVAL : 0,
		  option_set(self->fd, IOMMU_OPTION_HUGE_PAGES, id, 0));
	ASSERT_OK(ioas_unmap_all(self->fd, id, NULL));
	ASSERT_OK(option_set(self->fd, IOMMU_OPTION_HUGE_PAGES, id, 0));
	ASSERT_OK(option_set(self->fd, IOMMU_OPTION_HUGE_PAGES, id, 1));
}

/* Without a domain: a misaligned mapping makes turning it off EADDRINUSE */
TEST_F(ioas, option_huge_pages_misaligned)
{
	__u64 half = mock_io_page, val;
	__u32 id = self->ioas_id;

	if (self->ndev)
		SKIP(return, "domains forbid it for any mapping at all");
	ASSERT_OK(ioas_map_at(self->fd, id, self->buf + half, half,
			      self->base + half));
	EXPECT_ERR(EADDRINUSE, option_set(self->fd, IOMMU_OPTION_HUGE_PAGES,
					  id, 0));
	ASSERT_OK(option_get(self->fd, IOMMU_OPTION_HUGE_PAGES, id, &val));
	EXPECT_EQ(1, val);
	EXPECT_EQ(1, ioas_alignment(self->fd, id));
	ASSERT_OK(ioas_unmap_all(self->fd, id, NULL));

	ASSERT_OK(ioas_map_at(self->fd, id, self->buf, 3 * half, self->base));
	EXPECT_ERR(EADDRINUSE, option_set(self->fd, IOMMU_OPTION_HUGE_PAGES,
					  id, 0));
	ASSERT_OK(ioas_unmap_all(self->fd, id, NULL));
	EXPECT_OK(option_set(self->fd, IOMMU_OPTION_HUGE_PAGES, id, 0));
}

/* Pins: one per page per mapping, however many domains */
TEST_F(ioas, pin_counts)
{
	__u64 b = self->base, half = mock_io_page, iova;

	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN, b));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, domain_pins(self)));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      b + BUF_LEN));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 2 * domain_pins(self)));
	iova = b + 2 * BUF_LEN;
	ASSERT_OK(ioas_copy(self->fd, self->ioas_id, self->ioas_id,
			    b + BUF_LEN, BUF_LEN, &iova,
			    IOMMU_IOAS_MAP_FIXED_IOVA |
			    IOMMU_IOAS_MAP_READABLE));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 2 * domain_pins(self)));

	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, b, BUF_LEN, NULL));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, domain_pins(self)));
	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, b + BUF_LEN, BUF_LEN,
			     NULL));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, domain_pins(self)));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 0));

	/* Half a page pins the whole page, and only that page */
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf + half, half,
			      b + half));
	EXPECT_OK(pins_are(self, self->buf, page_size, domain_pins(self)));
	EXPECT_OK(pins_are(self, self->buf + page_size, BUF_LEN - page_size,
			   0));
}

/*
 * A device attached to an IOAS that already has mappings gets them all in
 * its domain, pinned once; removing it leaves the other domains alone.
 */
TEST_F(ioas, domain_added_later)
{
	__u32 stdev_id, hwpt_id, idev_id, manual;
	unsigned int i;

	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      self->base));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, 2 * page_size,
			      self->base + BUF_LEN + page_size));
	ASSERT_OK(mock_domain(self->fd, self->ioas_id, &stdev_id, &hwpt_id,
			      &idev_id));
	EXPECT_OK(mock_check_map(self->fd, hwpt_id, self->base, self->buf,
				 BUF_LEN));
	EXPECT_OK(mock_check_map(self->fd, hwpt_id,
				 self->base + BUF_LEN + page_size, self->buf,
				 2 * page_size));
	EXPECT_OK(pins_are(self, self->buf, 2 * page_size, 2));
	EXPECT_OK(pins_are(self, self->buf + 2 * page_size,
			   BUF_LEN - 2 * page_size, 1));
	for (i = 0; i != self->nhwpt; i++)
		if (self->hwpt_id[i] == hwpt_id)
			break;

	/* A HWPT allocated by hand is filled the same way */
	ASSERT_OK(hwpt_alloc(self->fd, idev_id, self->ioas_id, 0, &manual));
	EXPECT_NE(hwpt_id, manual);
	EXPECT_OK(mock_check_map(self->fd, manual, self->base, self->buf,
				 BUF_LEN));
	EXPECT_OK(pins_are(self, self->buf + 2 * page_size,
			   BUF_LEN - 2 * page_size, 1));
	ASSERT_OK(obj_destroy(self->fd, manual));

	ASSERT_OK(obj_destroy(self->fd, stdev_id));
	EXPECT_OK(domains_map(self, self->base, self->buf, BUF_LEN));
	EXPECT_OK(pins_are(self, self->buf + 2 * page_size,
			   BUF_LEN - 2 * page_size, domain_pins(self)));
	/* Its own domain went with it, unless it had joined one of ours */
	if (i == self->nhwpt)
		EXPECT_ERR(ENOENT, mock_check_map(self->fd, hwpt_id,
						  self->base, self->buf,
						  page_size));
}

/*
 * A device attached to an IOAS joins the automatic domain already there,
 * never one allocated by hand. The domain lives while devices use it.
 */
TEST_F(ioas, devices_share_auto_domain)
{
	__u32 stdev_id, hwpt_id;

	if (!self->ndev)
		SKIP(return, "no device to share a domain with");
	EXPECT_EQ(variant->own_hwpt ? 2 : 1, self->nhwpt);
	ASSERT_OK(mock_domain(self->fd, self->ioas_id, &stdev_id, &hwpt_id,
			      NULL));
	EXPECT_EQ(self->hwpt_id[0], hwpt_id);
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, hwpt_id));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, self->ioas_id));
	ASSERT_OK(obj_destroy(self->fd, stdev_id));
	/* The fixture's devices still use it, and it still works */
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, hwpt_id));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      self->base));
	EXPECT_OK(mock_check_map(self->fd, hwpt_id, self->base, self->buf,
				 BUF_LEN));
}

/*
 * The IOAS can be destroyed with mappings in it, unless a device's HWPT
 * depends on it.
 */
TEST_F(ioas, destroy_with_mappings)
{
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      self->base));
	if (self->ndev) {
		EXPECT_ERR(EBUSY, obj_destroy(self->fd, self->ioas_id));
		EXPECT_OK(domains_map(self, self->base, self->buf, BUF_LEN));
	} else {
		EXPECT_OK(obj_destroy(self->fd, self->ioas_id));
		EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 0));
	}
}

/* Ten mappings of the same memory, closed with the context */
TEST_F(ioas, close_with_mappings)
{
	unsigned int i;

	for (i = 0; i != 10; i++)
		ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf,
				      page_size,
				      self->base + i * 2 * page_size));
	EXPECT_OK(pins_are(self, self->buf, page_size,
			   10 * domain_pins(self)));
	/* The teardown closes and checks that every pin went */
}

/*
 * A domain cannot join an IOAS whose mappings it could not translate:
 * outside its aperture, or not aligned to its IO page. Nothing changes.
 */
TEST_F(ioas, domain_refuses_mappings)
{
	__u64 inside = MOCK_APERTURE_START + BUF_LEN;
	__u32 other, hwpt_id;

	ASSERT_OK(ioas_alloc(self->fd, &other));
	ASSERT_OK(ioas_map_at(self->fd, other, self->buf, page_size, 0));
	EXPECT_NE(0, mock_domain(self->fd, other, NULL, NULL, NULL));
	if (self->ndev)
		EXPECT_NE(0, hwpt_alloc(self->fd, self->idev_id[0], other, 0,
					&hwpt_id));
	EXPECT_EQ(1, ioas_alignment(self->fd, other));
	ASSERT_OK(ioas_unmap_all(self->fd, other, NULL));

	ASSERT_OK(ioas_map_at(self->fd, other, self->buf + 1, page_size,
			      inside));
	EXPECT_NE(0, mock_domain(self->fd, other, NULL, NULL, NULL));
	ASSERT_OK(ioas_unmap_all(self->fd, other, NULL));
	ASSERT_OK(ioas_map_at(self->fd, other, self->buf, page_size + 1,
			      inside));
	EXPECT_NE(0, mock_domain(self->fd, other, NULL, NULL, NULL));
	EXPECT_OK(pins_are(self, self->buf, 2 * page_size, 0));
	ASSERT_OK(ioas_unmap_all(self->fd, other, NULL));

	/* With those gone it attaches */
	ASSERT_OK(ioas_map_at(self->fd, other, self->buf, page_size, inside));
	ASSERT_OK(mock_domain(self->fd, other, NULL, &hwpt_id, NULL));
	EXPECT_OK(mock_check_map(self->fd, hwpt_id, inside, self->buf,
				 page_size));
}

/* The mock's own argument checks, so later results can be trusted */
TEST_F(ioas, mock_arguments)
{
	__u64 b = self->base;
	int access_fd;
	__u32 item;
	char c;

	EXPECT_ERR(EINVAL, mock_add_reserved(self->fd, self->ioas_id, b, 0));
	EXPECT_ERR(EOVERFLOW, mock_add_reserved(self->fd, self->ioas_id,
						-page_size, 2 * page_size));
	EXPECT_ERR(ENOENT, mock_add_reserved(self->fd, self->ioas_id + 100, b,
					     page_size));
	EXPECT_ERR(ENOENT, mock_access_create(self->fd, self->ioas_id + 100,
					      0, &access_fd));
	EXPECT_ERR(EOPNOTSUPP, mock_access_create(self->fd, self->ioas_id,
						  1 << 1, &access_fd));
	EXPECT_ERR(ENOENT, mock_domain(self->fd, 0, NULL, NULL, NULL));

	/* An access is named by its descriptor, and only that works */
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN, b));
	EXPECT_ERR(EBADFD, mock_access_rw(self->fd, -1, b, &c, 1, 0));
	EXPECT_ERR(EBADFD, mock_access_rw(self->fd, self->fd, b, &c, 1, 0));
	EXPECT_ERR(EBADFD, mock_access_pin(self->fd, self->fd, b, page_size,
					   NULL, 0, &item));
	EXPECT_ERR(EBADFD, mock_access_unpin(self->fd, self->fd, 1));

	/* The page check of ACCESS_PAGES notices the wrong memory */
	ASSERT_OK(mock_access_create(self->fd, self->ioas_id,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				     &access_fd));
	EXPECT_NE(0, mock_access_pin(self->fd, access_fd, b, page_size,
				     self->buf + page_size, 0, &item));
	EXPECT_OK(pins_are(self, self->buf, page_size, domain_pins(self)));
	ASSERT_OK(close(access_fd));
}

/* Hugetlb memory: mapped as huge as possible, checked page by page */
TEST_F(ioas, hugetlb)
{
	__u64 len = 2 * HUGE_2M, iova, unmapped;
	char *huge;

	huge = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE,
		    -1, 0);
	if (huge == MAP_FAILED)
		SKIP(return, "no 2 MiB hugetlb pages available");
	memset(huge, 0x5a, len);

	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, huge, len,
			      self->base));
	EXPECT_OK(domains_map(self, self->base, huge, len));
	ASSERT_OK(ioas_map_any(self->fd, self->ioas_id, huge, len, &iova));
	EXPECT_EQ(0, iova % HUGE_2M);
	EXPECT_OK(domains_map(self, iova, huge, len));
	/* The mock counts the pins of a huge page over all its pages */
	EXPECT_OK(pins_are(self, huge, len, 2 * domain_pins(self)));

	/* A page out of the middle of a huge page */
	ASSERT_OK(ioas_map_any(self->fd, self->ioas_id, huge + 3 * page_size,
			       page_size, &iova));
	EXPECT_EQ(0, iova % page_size);
	EXPECT_OK(domains_map(self, iova, huge + 3 * page_size, page_size));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	EXPECT_EQ(2 * len + page_size, unmapped);
	EXPECT_OK(pins_are(self, huge, len, 0));

	/* The same with IOMMU pages no larger than CPU pages */
	ASSERT_OK(option_set(self->fd, IOMMU_OPTION_HUGE_PAGES, self->ioas_id,
			     0));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, huge, len,
			      self->base));
	EXPECT_OK(domains_map(self, self->base, huge, len));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));
	ASSERT_OK(option_set(self->fd, IOMMU_OPTION_HUGE_PAGES, self->ioas_id,
			     1));

	/* Half of it gone: a domain cannot pin it */
	ASSERT_OK(munmap(huge + HUGE_2M, HUGE_2M));
	EXPECT_EQ(self->ndev ? -EFAULT : 0,
		  ioas_map_at(self->fd, self->ioas_id, huge, len,
			      self->base));
	munmap(huge, HUGE_2M);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/*
 * Two pages in one chunk of the PFN store: the last page of a memory
 * section, then a page that is not its physical successor. The contiguity
 * check of pinned pages compares struct page pointers inside a section and
 * PFNs at the start of each section but the first. Without that PFN
 * compare the second page would pass for the first one's successor: stored
 * as such, handed out, mapped and later unpinned in its place. (Where it
 * really matters, two sections' struct page arrays adjacent in memory with
 * a hole between their PFNs, cannot be set up in the VMs.) Sections are
 * 128 MiB with 4 KiB pages on x86_64 and arm64; the page is searched for
 * in up to 1 GiB of memory.
 */
TEST_F(ioas, section_last_page)
{
	size_t step = 16UL << 20, n = step / page_size, i, j;
	__u64 section = (128UL << 20) / page_size, pfn[2], last_pfn = 0;
	char *bufs[64], *last = NULL, *other = NULL, *win;
	unsigned int nbufs = 0;
	__u32 item;
	int access_fd;
	__u64 *pfns;

	if (page_size != 4096)
		SKIP(return, "set up for 4 KiB pages and 128 MiB sections");
	pfns = malloc(n * sizeof(*pfns));
	ASSERT_NE(NULL, pfns);
	while (!last && nbufs != ARRAY_SIZE(bufs)) {
		char *b = mmap(NULL, step, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		ASSERT_NE(MAP_FAILED, b);
		bufs[nbufs++] = b;
		/* 4 KiB pages of our own: any of them can be moved alone */
		ASSERT_OK(madvise(b, step, MADV_NOHUGEPAGE));
		ASSERT_OK(madvise(b, step, MADV_POPULATE_WRITE));
		ASSERT_OK(pagemap_pfns(b, n, pfns));
		for (i = 0; i != n && !last; i++) {
			if (pfns[i] % section != section - 1)
				continue;
			last = b + i * page_size;
			last_pfn = pfns[i];
		}
		/* Any other page of ours that does not follow it */
		for (j = 0; last && !other && j != n; j++)
			if (b + j * page_size != last && pfns[j] != last_pfn + 1)
				other = b + j * page_size;
	}
	free(pfns);
	ASSERT_NE(NULL, last)
		TH_LOG("no page at the end of a section in %u MiB",
		       nbufs * (unsigned int)(step >> 20));
	ASSERT_NE(NULL, other);

	/* Side by side at the start of a 2 MiB window: one store chunk */
	win = alloc_shared(2 * page_size, HUGE_2M);
	ASSERT_NE(MAP_FAILED, win);
	ASSERT_EQ(win, mremap(last, page_size, page_size,
			      MREMAP_MAYMOVE | MREMAP_FIXED, win));
	ASSERT_EQ(win + page_size, mremap(other, page_size, page_size,
					  MREMAP_MAYMOVE | MREMAP_FIXED,
					  win + page_size));

	/* The domains pin them at the map, the access without a domain */
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, win, 2 * page_size,
			      self->base));
	ASSERT_OK(mock_access_create(self->fd, self->ioas_id,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				     &access_fd));
	ASSERT_OK(mock_access_pin(self->fd, access_fd, self->base,
				  2 * page_size, win, 0, &item));
	/* Pinned, they cannot have moved since: still the case to test */
	ASSERT_OK(pagemap_pfns(win, 2, pfn));
	ASSERT_EQ(section - 1, pfn[0] % section);
	ASSERT_NE(pfn[0] + 1, pfn[1]);
	EXPECT_OK(domains_map(self, self->base, win, 2 * page_size));
	/* One pin each, shared by the domains and the access */
	EXPECT_OK(pins_are(self, win, 2 * page_size, 1));

	ASSERT_OK(mock_access_unpin(self->fd, access_fd, item));
	ASSERT_OK(close(access_fd));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));
	EXPECT_OK(pins_are(self, win, 2 * page_size, 0));
	munmap(win, 2 * page_size);
	while (nbufs)
		munmap(bufs[--nbufs], step);
}

/* KiB of AnonHugePages in the mapping that contains @addr, or -1 */
static long thp_kib_at(void *addr)
{
	unsigned long start, end, a = (unsigned long)addr;
	bool inside = false;
	char line[256];
	long kib = -1;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			if (inside)
				break;
			inside = a >= start && a < end;
		} else if (inside && !strncmp(line, "AnonHugePages:", 14)) {
			kib = strtol(line + 14, NULL, 10);
		}
	}
	fclose(f);
	return kib;
}

/* Transparent huge pages: the same, with memory that can be split */
TEST_F(ioas, thp)
{
	__u64 len = 2 * HUGE_2M, iova;
	char *area, *thp;

	area = mmap(NULL, len + HUGE_2M, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	thp = (char *)(((unsigned long)area + HUGE_2M - 1) & ~(HUGE_2M - 1));
	if (madvise(thp, len, MADV_HUGEPAGE))
		SKIP(return, "madvise(MADV_HUGEPAGE): %s", strerror(errno));
	memset(thp, 0x77, len);
	if (thp_kib_at(thp) <= 0)
		SKIP(return, "the kernel gave no transparent huge page");

	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, thp, len, self->base));
	EXPECT_OK(domains_map(self, self->base, thp, len));
	EXPECT_OK(pins_are(self, thp, len, domain_pins(self)));
	ASSERT_OK(ioas_map_any(self->fd, self->ioas_id, thp, len, &iova));
	EXPECT_EQ(0, iova % HUGE_2M);
	EXPECT_OK(domains_map(self, iova, thp, len));
	ASSERT_OK(ioas_map_any(self->fd, self->ioas_id, thp + HUGE_2M / 2,
			       HUGE_2M, &iova));
	EXPECT_OK(domains_map(self, iova, thp + HUGE_2M / 2, HUGE_2M));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));
	EXPECT_OK(pins_are(self, thp, len, 0));
	munmap(area, len + HUGE_2M);
}

/*
 * Physically scattered memory: each page is a run of its own, and the PFN
 * store keeps whole arrays of them. Maps of it (whole, and at an offset
 * that puts the store's chunk boundaries inside the mapping), an access's
 * pin of part of it and a copy into a second IOAS that shares the pins:
 * every IOPTE and every page handed to the access must be the page behind
 * the user address, and every pin must go back.
 */
TEST_F(ioas, fragmented_memory)
{
	size_t npages = 1536, len = npages * page_size;
	__u64 b = self->base, cb = 0x40000000;
	__u32 item, other, hwpt2;
	int access_fd;
	long pairs;
	char *frag;

	frag = alloc_fragmented(len, page_size);
	ASSERT_NE(MAP_FAILED, frag);
	pairs = pagemap_contiguous(frag, len);
	ASSERT_LE(0, pairs) TH_LOG("/proc/self/pagemap: %s", strerror(-pairs));
	/* Else the test would not test what it says */
	ASSERT_GT((long)npages / 4, pairs);

	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, frag, len, b));
	EXPECT_OK(domains_map(self, b, frag, len));
	EXPECT_OK(pins_are(self, frag, len, domain_pins(self)));

	/* The mock checks that the pages are the ones behind the address */
	ASSERT_OK(mock_access_create(self->fd, self->ioas_id,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				     &access_fd));
	ASSERT_OK(mock_access_pin(self->fd, access_fd, b + 3 * page_size,
				  700 * page_size, frag + 3 * page_size, 0,
				  &item));

	ASSERT_OK(ioas_alloc(self->fd, &other));
	ASSERT_OK(mock_domain(self->fd, other, NULL, &hwpt2, NULL));
	ASSERT_OK(ioas_copy(self->fd, other, self->ioas_id, b, len, &cb,
			    IOMMU_IOAS_MAP_FIXED_IOVA |
			    IOMMU_IOAS_MAP_READABLE));
	EXPECT_OK(mock_check_map(self->fd, hwpt2, cb, frag, len));

	ASSERT_OK(mock_access_unpin(self->fd, access_fd, item));
	ASSERT_OK(close(access_fd));
	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, b, len, NULL));
	/* The copy's domain keeps them */
	EXPECT_OK(pins_are(self, frag, len, 1));
	EXPECT_OK(mock_check_map(self->fd, hwpt2, cb, frag, len));
	ASSERT_OK(ioas_unmap_all(self->fd, other, NULL));
	EXPECT_OK(pins_are(self, frag, len, 0));

	/* Chunks of the store no longer start where the mapping does */
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, frag + 5 * page_size,
			      1029 * page_size, b));
	EXPECT_OK(domains_map(self, b, frag + 5 * page_size,
			      1029 * page_size));
	EXPECT_OK(pins_are(self, frag + 5 * page_size, 1029 * page_size,
			   domain_pins(self)));
	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, b, 1029 * page_size,
			     NULL));
	EXPECT_OK(pins_are(self, frag, len, 0));
	munmap(frag, len);
}

/*
 * Fragmented memory in domains costs no arrays of PFNs: the first domain
 * keeps them (fdinfo pfn_arrays), and whatever needs them reads them back
 * from it. Two whole chunks of the store (IOPT_PFN_CHUNK pages, aligned to
 * the memory's address) are mapped, and both are kept. A second domain
 * is filled from the first; an access pin takes its chunk back into an
 * array; a second map of the same memory keeps its own and gives back
 * exactly its own pins; when the first domain leaves, the second keeps
 * them, and an access pin reads them there; the last domain leaves with
 * chunks kept, and unpins everything.
 */
TEST(pfns_kept_in_domain)
{
	size_t chunk = 512 * page_size, len = 2 * chunk;
	__u32 ioas, stdev, hwpt, idev, hwpt2, item;
	__u64 b = MOCK_APERTURE_START;
	int fd, access_fd;
	char *p;

	ASSERT_MOCK();
	fd = iommufd_open();
	ASSERT_LE(0, fd);
	ASSERT_OK(ioas_alloc(fd, &ioas));
	ASSERT_OK(mock_domain(fd, ioas, &stdev, &hwpt, &idev));
	p = alloc_fragmented(len, chunk);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, fdinfo_num(fd, "pfn_arrays"));

	ASSERT_OK(ioas_map_at(fd, ioas, p, len, b));
	EXPECT_EQ(0, fdinfo_num(fd, "pfn_arrays"));
	EXPECT_OK(mock_check_map(fd, hwpt, b, p, len));
	EXPECT_OK(mock_check_pins(fd, p, len, 1));

	ASSERT_OK(hwpt_alloc(fd, idev, ioas, 0, &hwpt2));
	EXPECT_OK(mock_check_map(fd, hwpt2, b, p, len));
	EXPECT_EQ(0, fdinfo_num(fd, "pfn_arrays"));

	/* The mock checks the pages are those behind the address */
	ASSERT_OK(mock_access_create(fd, ioas,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				     &access_fd));
	ASSERT_OK(mock_access_pin(fd, access_fd, b + 100 * page_size,
				  3 * page_size, p + 100 * page_size, 0,
				  &item));
	EXPECT_EQ(1, fdinfo_num(fd, "pfn_arrays"));
	ASSERT_OK(mock_access_unpin(fd, access_fd, item));
	EXPECT_OK(mock_check_pins(fd, p, len, 1));

	ASSERT_OK(ioas_map_at(fd, ioas, p, len, b + len));
	EXPECT_EQ(1, fdinfo_num(fd, "pfn_arrays"));
	EXPECT_OK(mock_check_pins(fd, p, len, 2));
	EXPECT_OK(mock_check_map(fd, hwpt2, b + len, p, len));
	ASSERT_OK(ioas_unmap(fd, ioas, b + len, len, NULL));
	EXPECT_OK(mock_check_pins(fd, p, len, 1));
	EXPECT_EQ(1, fdinfo_num(fd, "pfn_arrays"));

	/* The first domain (with its device) leaves: the second keeps */
	ASSERT_OK(obj_destroy(fd, stdev));
	EXPECT_OK(mock_check_map(fd, hwpt2, b, p, len));
	ASSERT_OK(mock_access_pin(fd, access_fd, b + chunk + 7 * page_size,
				  2 * page_size, p + chunk + 7 * page_size, 0,
				  &item));
	EXPECT_EQ(2, fdinfo_num(fd, "pfn_arrays"));
	ASSERT_OK(mock_access_unpin(fd, access_fd, item));
	ASSERT_OK(close(access_fd));

	/* The last domain leaves a map whose chunks it keeps */
	ASSERT_OK(ioas_map_at(fd, ioas, p, len, b + len));
	EXPECT_EQ(2, fdinfo_num(fd, "pfn_arrays"));
	EXPECT_OK(mock_check_pins(fd, p, len, 2));
	ASSERT_OK(obj_destroy(fd, hwpt2));
	EXPECT_OK(mock_check_pins(fd, p, len, 0));
	EXPECT_EQ(0, fdinfo_num(fd, "pfn_arrays"));

	ASSERT_OK(ioas_unmap_all(fd, ioas, NULL));
	ASSERT_OK(close(fd));
	munmap(p, len);
}

/*
 * Two physically contiguous pages, in a mapping of their own at *@pair:
 * two pages of fresh memory with consecutive PFNs, in whichever order
 * they were faulted in, each moved there with mremap(), which keeps the
 * page. 0 or -errno. The first pages faulted in may all be the freed
 * pages of an earlier test's scattered memory, none next to another: 32
 * MiB reaches past them.
 */
static int contiguous_pair(char **pair)
{
	size_t len = 32UL << 20, n = len / page_size, i, j;
	char *src, *dst;
	__u64 *pfns;
	int rc;

	dst = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	src = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pfns = calloc(n, sizeof(*pfns));
	if (dst == MAP_FAILED || src == MAP_FAILED || !pfns) {
		rc = -ENOMEM;
		goto out;
	}
	madvise(src, len, MADV_NOHUGEPAGE);
	for (i = 0; i != n; i++)
		src[i * page_size] = 3;
	rc = pagemap_pfns(src, n, pfns);
	if (rc)
		goto out;
	rc = -ENOENT;
	for (i = 0; i != n && rc == -ENOENT; i++) {
		/* The pages faulted in just before and after page i */
		for (j = i ? i - 1 : 1; j != n && j <= i + 1; j += 2) {
			if (pfns[j] != pfns[i] + 1)
				continue;
			rc = 0;
			if (mremap(src + i * page_size, page_size, page_size,
				   MREMAP_MAYMOVE | MREMAP_FIXED,
				   dst) == MAP_FAILED ||
			    mremap(src + j * page_size, page_size, page_size,
				   MREMAP_MAYMOVE | MREMAP_FIXED,
				   dst + page_size) == MAP_FAILED)
				rc = -errno;
			break;
		}
	}
out:
	free(pfns);
	if (src != MAP_FAILED)
		munmap(src, len);
	if (rc && dst != MAP_FAILED)
		munmap(dst, 2 * page_size);
	if (!rc)
		*pair = dst;
	return rc;
}

/*
 * Chunks of scattered pages whose border pages are physically contiguous
 * (a run crossing the edge: 4 KiB memory faulted in sequentially has a
 * few such breaks per GiB) are kept by the domain too. No map call of any
 * domain may then span the edge, or unmapping a kept chunk in stretches
 * next to one that is not would end inside it, which the mock refuses
 * with a WARN (checked by the kernel's taint): runs stop at the edges of
 * array and kept chunks. An access pin takes the second chunk back into
 * an array beside the kept first one; the map is unmapped from the first
 * domain, then mapped again and unmapped from a second domain that was
 * filled from the first and took over keeping.
 */
TEST(pfns_kept_run_across_edge)
{
	size_t chunk = 512 * page_size, len = 2 * chunk;
	__u32 ioas, stdev, hwpt, idev, hwpt2, item;
	__u64 b = MOCK_APERTURE_START, pfns[2];
	int fd, access_fd, rc, round;
	char *p, *pair, *m;
	size_t mlen;

	ASSERT_MOCK();
	/* A warning before this test would hide one of the mock's */
	ASSERT_EQ(0, kernel_warned());
	/* Found first: alloc_fragmented() frees every other page it faults */
	rc = contiguous_pair(&pair);
	ASSERT_OK(rc) TH_LOG("no contiguous pages: %s", strerror(-rc));
	p = alloc_fragmented(len, chunk);
	ASSERT_NE(MAP_FAILED, p);
	/* A page at a time: the two are two mappings */
	ASSERT_NE(MAP_FAILED, mremap(pair, page_size, page_size,
				     MREMAP_MAYMOVE | MREMAP_FIXED,
				     p + chunk - page_size));
	ASSERT_NE(MAP_FAILED, mremap(pair + page_size, page_size, page_size,
				     MREMAP_MAYMOVE | MREMAP_FIXED, p + chunk));
	ASSERT_OK(pagemap_pfns(p + chunk - page_size, 2, pfns));
	ASSERT_EQ(pfns[0] + 1, pfns[1]);
	/*
	 * Each page but the pair is a run, and a map call takes 128: from
	 * p, one would end at the edge by chance. The chunks of the map's
	 * pages are aligned to the address, so the first one still lies
	 * inside it.
	 */
	m = p + page_size;
	mlen = len - page_size;

	fd = iommufd_open();
	ASSERT_LE(0, fd);
	ASSERT_OK(ioas_alloc(fd, &ioas));
	ASSERT_OK(mock_domain(fd, ioas, &stdev, &hwpt, &idev));
	ASSERT_OK(mock_access_create(fd, ioas,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				     &access_fd));
	for (round = 0; round != 2; round++) {
		ASSERT_OK(ioas_map_at(fd, ioas, m, mlen, b));
		EXPECT_EQ(0, fdinfo_num(fd, "pfn_arrays"));
		EXPECT_OK(mock_check_map(fd, hwpt, b, m, mlen));
		ASSERT_OK(mock_access_pin(fd, access_fd, b + chunk,
					  page_size, p + chunk + page_size, 0,
					  &item));
		ASSERT_OK(mock_access_unpin(fd, access_fd, item));
		EXPECT_EQ(1, fdinfo_num(fd, "pfn_arrays"));
		if (round) {
			/* Filled from the first, then the keeper */
			ASSERT_OK(hwpt_alloc(fd, idev, ioas, 0, &hwpt2));
			EXPECT_OK(mock_check_map(fd, hwpt2, b, m, mlen));
			ASSERT_OK(obj_destroy(fd, stdev));
		}
		ASSERT_OK(ioas_unmap(fd, ioas, b, mlen, NULL));
		ASSERT_EQ(0, kernel_warned()) TH_LOG("an unmap split a map call?");
		EXPECT_OK(mock_check_pins(fd, p, len, 0));
		EXPECT_EQ(0, fdinfo_num(fd, "pfn_arrays"));
	}
	ASSERT_OK(close(access_fd));
	ASSERT_OK(obj_destroy(fd, hwpt2));
	ASSERT_OK(close(fd));
	munmap(p, len);
}

/*
 * A zero pin check means no pin on the folio at all. The mock counts a huge
 * page's pins as one number, so one pinned page of it used to pass a check
 * for zero pins on itself (at least zero per page is anything): a leaked
 * pin on a partly mapped huge page went unseen. A pin on any page of the
 * folio now fails a zero check of any page of it.
 */
TEST_F(ioas, pins_zero_is_zero_on_huge_pages)
{
	char *huge, *page3;
	__u64 iova;

	huge = mmap(NULL, HUGE_2M, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE,
		    -1, 0);
	if (huge == MAP_FAILED)
		SKIP(return, "no 2 MiB hugetlb pages available");
	page3 = huge + 3 * page_size;
	EXPECT_OK(pins_are(self, huge, HUGE_2M, 0));

	ASSERT_OK(ioas_map_any(self->fd, self->ioas_id, page3, page_size,
			       &iova));
	if (self->ndev) {
		/* The pinned page itself: passed before */
		EXPECT_ERR(EIO, pins_are(self, page3, page_size, 0));
		/* Its neighbour in the same huge page is held in place too */
		EXPECT_ERR(EIO, pins_are(self, huge, page_size, 0));
		EXPECT_ERR(EIO, pins_are(self, huge, HUGE_2M, 0));
		EXPECT_OK(pins_are(self, page3, page_size, 1));
	} else {
		/* No domain, no pin */
		EXPECT_OK(pins_are(self, page3, page_size, 0));
		EXPECT_OK(pins_are(self, huge, HUGE_2M, 0));
	}
	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, iova, page_size, NULL));
	EXPECT_OK(pins_are(self, page3, page_size, 0));
	EXPECT_OK(pins_are(self, huge, HUGE_2M, 0));
	munmap(huge, HUGE_2M);
}

/* A memfd of @len bytes (MFD_HUGETLB in @flags for huge pages), or -errno */
static int memfd_sized(size_t len, unsigned int flags)
{
	int mfd = memfd_create("iommufd_ioas", MFD_CLOEXEC | flags);

	if (mfd < 0)
		return -errno;
	if (ftruncate(mfd, len)) {
		close(mfd);
		return -errno;
	}
	return mfd;
}

/* Fill @p with a pattern that depends on @seed and the position */
static void fill_pattern(char *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i != len; i++)
		p[i] = (char)(i * 31 + seed + (i >> 12));
}

/*
 * What each way of mapping asks the IOMMU for, IOPTE by IOPTE: read-write,
 * read-only and write-only IOAS_MAP, a read-only MAP_FILE, a read-only
 * copy of a read-write mapping. The domains already there are filled at
 * map time; a domain that arrives later (a HWPT allocated on the IOAS, or
 * the first device's automatic domain) is filled from the areas and must
 * give each the same permissions.
 */
TEST_F(ioas, map_permissions)
{
	const __u32 r = MOCK_CHECK_MAP_READ, w = MOCK_CHECK_MAP_WRITE;
	const __u32 fixed = IOMMU_IOAS_MAP_FIXED_IOVA;
	__u64 p = page_size, b = self->base, iova;
	struct {
		__u64 iova;
		const char *va;
		__u32 perm;
	} want[5];
	__u32 hwpts[3], stdev_id = 0, late;
	unsigned int i, j, nhwpt;
	char *view;
	int mfd, rc;

	mfd = memfd_sized(2 * p, 0);
	ASSERT_LE(0, mfd);
	view = mmap(NULL, 2 * p, PROT_READ, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, view);

	want[0] = (typeof(want[0])){ b, self->buf, r | w };
	want[1] = (typeof(want[0])){ b + 2 * p, self->buf + 2 * p, r };
	want[2] = (typeof(want[0])){ b + 4 * p, self->buf + 4 * p, w };
	want[3] = (typeof(want[0])){ b + 6 * p, view, r };
	want[4] = (typeof(want[0])){ b + 8 * p, self->buf, r };
	for (i = 0; i != 3; i++) {
		iova = want[i].iova;
		ASSERT_OK(ioas_map_flags(self->fd, self->ioas_id, want[i].va,
					 2 * p, &iova, fixed |
					 (want[i].perm & r ?
					  IOMMU_IOAS_MAP_READABLE : 0) |
					 (want[i].perm & w ?
					  IOMMU_IOAS_MAP_WRITEABLE : 0)));
	}
	iova = want[3].iova;
	ASSERT_OK(ioas_map_file(self->fd, self->ioas_id, mfd, 0, 2 * p, &iova,
				fixed | IOMMU_IOAS_MAP_READABLE));
	iova = want[4].iova;
	ASSERT_OK(ioas_copy(self->fd, self->ioas_id, self->ioas_id, b, 2 * p,
			    &iova, fixed | IOMMU_IOAS_MAP_READABLE));

	/* The fixture's domains, then one filled from the areas */
	nhwpt = self->nhwpt;
	memcpy(hwpts, self->hwpt_id, sizeof(self->hwpt_id));
	if (self->ndev)
		rc = hwpt_alloc(self->fd, self->idev_id[0], self->ioas_id, 0,
				&late);
	else
		rc = mock_domain(self->fd, self->ioas_id, &stdev_id, &late,
				 NULL);
	ASSERT_OK(rc);
	hwpts[nhwpt++] = late;

	for (j = 0; j != nhwpt; j++) {
		for (i = 0; i != ARRAY_SIZE(want); i++) {
			__u32 wrong = want[i].perm == (r | w) ? r : r | w;

			EXPECT_OK(mock_check_map_perm(self->fd, hwpts[j],
						      want[i].iova, want[i].va,
						      2 * p, want[i].perm));
			/* The same addresses with another permission fail */
			EXPECT_ERR(EACCES,
				   mock_check_map_perm(self->fd, hwpts[j],
						       want[i].iova,
						       want[i].va, 2 * p,
						       wrong));
			/* Not asking about permissions passes as before */
			EXPECT_OK(mock_check_map(self->fd, hwpts[j],
						 want[i].iova, want[i].va,
						 2 * p));
		}
		/* An address error wins over a permission error... */
		EXPECT_ERR(EINVAL, mock_check_map_perm(self->fd, hwpts[j], b,
						       self->buf + p, p, r));
		/* ...also when it comes later: the write-only one, then view */
		EXPECT_ERR(EINVAL, mock_check_map_perm(self->fd, hwpts[j],
						       b + 4 * p,
						       self->buf + 4 * p,
						       4 * p, r | w));
		EXPECT_ERR(EOPNOTSUPP, mock_check_map_perm(self->fd, hwpts[j],
							   b, self->buf, p,
							   1 << 2));
	}

	/* The device, and its domain with it; or the HWPT */
	ASSERT_OK(obj_destroy(self->fd, stdev_id ?: late));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 0));
	munmap(view, 2 * p);
	close(mfd);
}

/*
 * GUP unshare. A MAP_PRIVATE page of a file that the process only read is
 * the file's page, shared with the page cache; pinning it for a device
 * that reads must take the process's own copy of it (break COW early) or
 * the device and the process part ways at the process's next write: the
 * process gets a new copy and the device goes on reading the old page.
 * Mapped read-only into the IOAS, then written by the process: the IOMMU
 * must still map the very page the process uses, a device read must see
 * the process's write, the file must not, and unmap must leave no pin.
 * The no_device variant attaches its domain after the map, so the pin
 * comes from filling the domain.
 */
TEST_F(ioas, gup_unshare_private_file)
{
	const __u32 pin = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES;
	const __u64 len = 2 * page_size;
	char *file, *got, *view;
	unsigned int touched;
	int mfd;

	mfd = memfd_sized(len, 0);
	ASSERT_LE(0, mfd);
	file = malloc(len);
	got = malloc(len);
	ASSERT_TRUE(file && got);
	fill_pattern(file, len, 7);
	ASSERT_EQ((ssize_t)len, pwrite(mfd, file, len, 0));

	/* The process reads the page first, or never touches it */
	for (touched = 0; touched != 2; touched++) {
		__u32 stdev_id = 0, hwpt_id, item = 0;
		__u64 iova;
		int access_fd;
		char *priv;

		priv = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE,
			    mfd, 0);
		ASSERT_NE(MAP_FAILED, priv);
		if (touched)
			ASSERT_EQ(0, memcmp(priv, file, len));

		/* In the aperture of the domain attached after it */
		iova = self->base;
		ASSERT_OK(ioas_map_flags(self->fd, self->ioas_id, priv, len,
					 &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
					 IOMMU_IOAS_MAP_READABLE));
		if (self->ndev) {
			hwpt_id = self->hwpt_id[0];
		} else {
			ASSERT_OK(mock_domain(self->fd, self->ioas_id,
					      &stdev_id, &hwpt_id, NULL));
		}
		/* The device reads the process's page, which it pinned */
		EXPECT_OK(mock_check_map_perm(self->fd, hwpt_id, iova, priv,
					      len, MOCK_CHECK_MAP_READ));
		EXPECT_OK(pins_are(self, priv, len, 1));

		/* The process writes: no new copy, the device sees it */
		memset(priv + 100, 0x11, len - 200);
		EXPECT_OK(mock_check_map_perm(self->fd, hwpt_id, iova, priv,
					      len, MOCK_CHECK_MAP_READ));
		ASSERT_OK(mock_access_create(self->fd, self->ioas_id, pin,
					     &access_fd));
		memset(got, 0, len);
		ASSERT_OK(mock_access_rw(self->fd, access_fd, iova, got, len,
					 0));
		EXPECT_EQ(0, memcmp(got, priv, len));
		EXPECT_NE(0, memcmp(got, file, len));
		/* A pin through the access finds the same pages */
		EXPECT_OK(mock_access_pin(self->fd, access_fd, iova, len, priv,
					  0, &item));
		EXPECT_OK(mock_access_unpin(self->fd, access_fd, item));
		ASSERT_OK(close(access_fd));

		/* The file kept its contents */
		memset(got, 0, len);
		ASSERT_EQ((ssize_t)len, pread(mfd, got, len, 0));
		EXPECT_EQ(0, memcmp(got, file, len));

		ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, iova, len,
				     NULL));
		EXPECT_OK(pins_are(self, priv, len, 0));
		if (stdev_id)
			ASSERT_OK(obj_destroy(self->fd, stdev_id));
		munmap(priv, len);
	}
	/* The file's own pages were never pinned, or not any more */
	view = mmap(NULL, len, PROT_READ, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, view);
	EXPECT_OK(pins_are(self, view, len, 0));
	munmap(view, len);
	free(file);
	free(got);
	close(mfd);
}

TEST_F(ioas, map_file_memfd)
{
	__u32 rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	__u64 len = BUF_LEN, iova, half = mock_io_page, unmapped;
	char *view;
	int mfd;

	mfd = memfd_sized(len, 0);
	ASSERT_LE(0, mfd);
	view = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, view);
	fill_pattern(view, len, 1);

	iova = self->base;
	ASSERT_OK(ioas_map_file(self->fd, self->ioas_id, mfd, 0, len, &iova,
				rw | IOMMU_IOAS_MAP_FIXED_IOVA));
	EXPECT_EQ(self->base, iova);
	EXPECT_OK(domains_map(self, self->base, view, len));
	EXPECT_OK(pins_are(self, view, len, domain_pins(self)));

	/* Part of the file, at a page offset, and at a half page offset */
	ASSERT_OK(ioas_map_file(self->fd, self->ioas_id, mfd, 4 * page_size,
				4 * page_size, &iova, rw));
	EXPECT_EQ(0, iova % page_size);
	EXPECT_OK(domains_map(self, iova, view + 4 * page_size,
			      4 * page_size));
	ASSERT_OK(ioas_map_file(self->fd, self->ioas_id, mfd,
				page_size + half, half, &iova,
				IOMMU_IOAS_MAP_READABLE));
	EXPECT_EQ(half, iova % page_size);
	EXPECT_OK(domains_map(self, iova, view + page_size + half, half));

	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	EXPECT_EQ(len + 4 * page_size + half, unmapped);
	EXPECT_OK(pins_are(self, view, len, 0));
	munmap(view, len);
	close(mfd);
}

TEST_F(ioas, map_file_hugetlb)
{
	__u32 rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	__u64 len = 2 * HUGE_2M, iova;
	char *view;
	int mfd;

	mfd = memfd_sized(len, MFD_HUGETLB);
	if (mfd < 0)
		SKIP(return, "no hugetlb memfd: %s", strerror(-mfd));
	view = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, mfd, 0);
	if (view == MAP_FAILED) {
		close(mfd);
		SKIP(return, "no 2 MiB hugetlb pages available");
	}
	fill_pattern(view, len, 2);

	iova = self->base;
	ASSERT_OK(ioas_map_file(self->fd, self->ioas_id, mfd, 0, len, &iova,
				rw | IOMMU_IOAS_MAP_FIXED_IOVA));
	EXPECT_OK(domains_map(self, self->base, view, len));
	EXPECT_OK(pins_are(self, view, len, domain_pins(self)));
	ASSERT_OK(ioas_map_file(self->fd, self->ioas_id, mfd, HUGE_2M,
				HUGE_2M, &iova, rw));
	EXPECT_EQ(0, iova % HUGE_2M);
	EXPECT_OK(domains_map(self, iova, view + HUGE_2M, HUGE_2M));
	ASSERT_OK(ioas_map_file(self->fd, self->ioas_id, mfd, 5 * page_size,
				2 * page_size, &iova, rw));
	EXPECT_OK(domains_map(self, iova, view + 5 * page_size,
			      2 * page_size));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));
	EXPECT_OK(pins_are(self, view, len, 0));
	munmap(view, len);
	close(mfd);
}

/*
 * MAP_FILE holds one pin per folio, for as long as any page of the folio
 * is used: a copy of a few pages of a 2 MiB folio keeps the folio pinned
 * after the mapping it was copied from is gone, and nothing else; unmapping
 * the copy releases it.
 */
TEST_F(ioas, map_file_hugetlb_folio_shared)
{
	__u32 rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	__u64 len = 2 * HUGE_2M, iova, copy_iova = 0;
	unsigned int pins = domain_pins(self);
	char *view;
	int mfd;

	mfd = memfd_sized(len, MFD_HUGETLB);
	if (mfd < 0)
		SKIP(return, "no hugetlb memfd: %s", strerror(-mfd));
	view = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, mfd, 0);
	if (view == MAP_FAILED) {
		close(mfd);
		SKIP(return, "no 2 MiB hugetlb pages available");
	}
	fill_pattern(view, len, 3);

	iova = self->base;
	ASSERT_OK(ioas_map_file(self->fd, self->ioas_id, mfd, 0, len, &iova,
				rw | IOMMU_IOAS_MAP_FIXED_IOVA));
	EXPECT_OK(pins_are(self, view, len, pins));
	/* Pages 1 and 2 of the first folio, then the whole second one */
	ASSERT_OK(ioas_copy(self->fd, self->ioas_id, self->ioas_id,
			    iova + page_size, 2 * page_size, &copy_iova, rw));
	EXPECT_OK(domains_map(self, copy_iova, view + page_size,
			      2 * page_size));

	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, iova, len, NULL));
	EXPECT_OK(pins_are(self, view, HUGE_2M, pins));
	EXPECT_OK(pins_are(self, view + HUGE_2M, HUGE_2M, 0));
	EXPECT_OK(domains_map(self, copy_iova, view + page_size,
			      2 * page_size));

	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, copy_iova,
			     2 * page_size, NULL));
	EXPECT_OK(pins_are(self, view, len, 0));
	munmap(view, len);
	close(mfd);
}

TEST_F(ioas, map_file_errors)
{
	__u32 rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	__u64 len = 4 * page_size, iova = 0, unmapped;
	int mfd, rc, pipefds[2], proc;

	mfd = memfd_sized(len, 0);
	ASSERT_LE(0, mfd);

	EXPECT_ERR(EBADF, ioas_map_file(self->fd, self->ioas_id, -1, 0, len,
					&iova, rw));
	ASSERT_OK(pipe(pipefds));
	EXPECT_ERR(EINVAL, ioas_map_file(self->fd, self->ioas_id, pipefds[1],
					 0, len, &iova, rw));
	close(pipefds[0]);
	close(pipefds[1]);
	EXPECT_ERR(EBADF, ioas_map_file(self->fd, self->ioas_id, pipefds[0],
					0, len, &iova, rw));
	proc = open("/proc/self/maps", O_RDONLY);
	ASSERT_LE(0, proc);
	EXPECT_ERR(EINVAL, ioas_map_file(self->fd, self->ioas_id, proc, 0,
					 len, &iova, IOMMU_IOAS_MAP_READABLE));
	close(proc);
	EXPECT_ERR(EINVAL, ioas_map_file(self->fd, self->ioas_id, mfd, 0, 0,
					 &iova, rw));
	EXPECT_ERR(EOVERFLOW, ioas_map_file(self->fd, self->ioas_id, mfd,
					    -page_size, 2 * page_size, &iova,
					    rw));
	/* Not aligned for the domains */
	EXPECT_EQ(self->ndev ? -EINVAL : 0,
		  ioas_map_file(self->fd, self->ioas_id, mfd, 100, page_size,
				&iova, rw));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));

	/*
	 * Past the end of the file: refused as soon as the pages are
	 * needed, at once with a domain, else when one arrives.
	 */
	rc = ioas_map_file(self->fd, self->ioas_id, mfd, 0, len + page_size,
			   &iova, rw);
	if (self->ndev) {
		EXPECT_NE(0, rc);
	} else if (!rc) {
		EXPECT_NE(0, mock_domain(self->fd, self->ioas_id, NULL, NULL,
					 NULL));
		EXPECT_EQ(1, ioas_alignment(self->fd, self->ioas_id));
	}
	rc = ioas_map_file(self->fd, self->ioas_id, mfd, len, page_size,
			   &iova, rw);
	if (self->ndev)
		EXPECT_NE(0, rc);
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	if (self->ndev)
		EXPECT_EQ(0, unmapped);
	close(mfd);
}

/*
 * A file mapping holds the file: closing and unmapping it in the process
 * changes nothing, and its contents stay reachable through the IOAS.
 */
TEST_F(ioas, map_file_outlives_fd)
{
	__u64 len = BUF_LEN, iova = self->base;
	char *view, *expect, *got;
	int mfd, access_fd;

	mfd = memfd_sized(len, 0);
	ASSERT_LE(0, mfd);
	view = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, view);
	fill_pattern(view, len, 3);
	expect = malloc(len);
	got = malloc(len);
	ASSERT_NE(NULL, expect);
	ASSERT_NE(NULL, got);
	memcpy(expect, view, len);

	ASSERT_OK(ioas_map_file(self->fd, self->ioas_id, mfd, 0, len, &iova,
				IOMMU_IOAS_MAP_FIXED_IOVA |
				IOMMU_IOAS_MAP_READABLE |
				IOMMU_IOAS_MAP_WRITEABLE));
	munmap(view, len);
	close(mfd);

	/* A new domain still finds the pages */
	ASSERT_OK(mock_domain(self->fd, self->ioas_id, NULL, NULL, NULL));
	ASSERT_OK(mock_access_create(self->fd, self->ioas_id, 0, &access_fd));
	ASSERT_OK(mock_access_rw(self->fd, access_fd, self->base, got, len,
				 0));
	EXPECT_EQ(0, memcmp(expect, got, len));
	ASSERT_OK(mock_access_rw(self->fd, access_fd, self->base, got, len,
				 MOCK_ACCESS_RW_SLOW_PATH));
	EXPECT_EQ(0, memcmp(expect, got, len));
	ASSERT_OK(close(access_fd));
	free(expect);
	free(got);
}

TEST_F(ioas, copy_of_file_mapping)
{
	__u64 len = BUF_LEN, iova = 0x1000000, dst = self->base;
	char *view;
	__u32 src;
	int mfd;

	mfd = memfd_sized(len, 0);
	ASSERT_LE(0, mfd);
	view = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, view);
	fill_pattern(view, len, 4);
	ASSERT_OK(ioas_alloc(self->fd, &src));
	ASSERT_OK(ioas_map_file(self->fd, src, mfd, 0, len, &iova,
				IOMMU_IOAS_MAP_FIXED_IOVA |
				IOMMU_IOAS_MAP_READABLE));
	ASSERT_OK(ioas_copy(self->fd, self->ioas_id, src, 0x1000000 + page_size,
			    len - page_size, &dst,
			    IOMMU_IOAS_MAP_FIXED_IOVA |
			    IOMMU_IOAS_MAP_READABLE));
	EXPECT_OK(domains_map(self, self->base, view + page_size,
			      len - page_size));
	EXPECT_OK(pins_are(self, view + page_size, len - page_size,
			   domain_pins(self)));
	ASSERT_OK(obj_destroy(self->fd, src));
	EXPECT_OK(domains_map(self, self->base, view + page_size,
			      len - page_size));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));
	EXPECT_OK(pins_are(self, view, len, 0));
	munmap(view, len);
	close(mfd);
}

/* Reading and writing through an access, byte exact */
TEST_F(ioas, access_rw_bytes)
{
	static const __u32 paths[] = { 0, MOCK_ACCESS_RW_SLOW_PATH };
	char *tmp, *want;
	__u64 iova, off, len, iova_ro;
	unsigned int i;
	int access_fd;

	tmp = malloc(BUF_LEN);
	want = malloc(BUF_LEN);
	ASSERT_NE(NULL, tmp);
	ASSERT_NE(NULL, want);
	ASSERT_OK(mock_access_create(self->fd, self->ioas_id, 0, &access_fd));
	ASSERT_OK(ioas_map_any(self->fd, self->ioas_id, self->buf, BUF_LEN,
			       &iova));
	fill_pattern(self->buf, BUF_LEN, 5);

	ASSERT_OK(mock_access_rw(self->fd, access_fd, iova, tmp, BUF_LEN, 0));
	EXPECT_EQ(0, memcmp(self->buf, tmp, BUF_LEN));

	/* Every small length at every offset around a page boundary */
	for (i = 0; i != ARRAY_SIZE(paths); i++) {
		for (off = page_size - 24; off != page_size + 8; off++) {
			for (len = 1; len < 48; len += 5) {
				memset(tmp, 0, len);
				ASSERT_OK(mock_access_rw(self->fd, access_fd,
							 iova + off, tmp, len,
							 paths[i]));
				ASSERT_EQ(0, memcmp(self->buf + off, tmp,
						    len));
				fill_pattern(want, len, off + len + i);
				ASSERT_OK(mock_access_rw(self->fd, access_fd,
							 iova + off, want, len,
							 paths[i] |
							 MOCK_ACCESS_RW_WRITE));
				ASSERT_EQ(0, memcmp(self->buf + off, want,
						    len));
			}
		}
	}

	/* A long write through the slow path lands byte for byte */
	fill_pattern(want, BUF_LEN - 3, 77);
	ASSERT_OK(mock_access_rw(self->fd, access_fd, iova + 3, want,
				 BUF_LEN - 3, MOCK_ACCESS_RW_WRITE |
				 MOCK_ACCESS_RW_SLOW_PATH));
	EXPECT_EQ(0, memcmp(self->buf + 3, want, BUF_LEN - 3));

	/* Outside what is mapped, empty, and unknown flags */
	EXPECT_ERR(ENOENT, mock_access_rw(self->fd, access_fd, iova + BUF_LEN,
					  tmp, 8, 0));
	EXPECT_ERR(ENOENT, mock_access_rw(self->fd, access_fd,
					  iova + BUF_LEN - 4, tmp, 8, 0));
	EXPECT_ERR(EINVAL, mock_access_rw(self->fd, access_fd, iova, tmp, 0,
					  0));
	EXPECT_ERR(EOPNOTSUPP, mock_access_rw(self->fd, access_fd, iova, tmp,
					      8, 1 << 1));

	/* Permissions of the mapping apply */
	iova_ro = 0;
	ASSERT_OK(ioas_map_flags(self->fd, self->ioas_id, self->buf,
				 page_size, &iova_ro,
				 IOMMU_IOAS_MAP_READABLE));
	EXPECT_OK(mock_access_rw(self->fd, access_fd, iova_ro, tmp, 8, 0));
	EXPECT_ERR(EPERM, mock_access_rw(self->fd, access_fd, iova_ro, tmp, 8,
					 MOCK_ACCESS_RW_WRITE));

	/* A plain access cannot pin */
	EXPECT_ERR(EOPNOTSUPP, mock_access_pin(self->fd, access_fd, iova,
					       page_size, self->buf, 0,
					       &i));
	ASSERT_OK(close(access_fd));
	free(tmp);
	free(want);
}

/* Reads and writes that cross from one mapping into the next */
TEST_F(ioas, access_rw_across_mappings)
{
	__u64 b = self->base;
	char tmp[256], *other;
	int access_fd;

	other = alloc_shared(page_size, page_size);
	ASSERT_NE(MAP_FAILED, other);
	fill_pattern(self->buf, BUF_LEN, 6);
	fill_pattern(other, page_size, 7);
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN, b));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, other, page_size,
			      b + BUF_LEN));
	ASSERT_OK(mock_access_create(self->fd, self->ioas_id, 0, &access_fd));

	ASSERT_OK(mock_access_rw(self->fd, access_fd, b + BUF_LEN - 100, tmp,
				 200, 0));
	EXPECT_EQ(0, memcmp(tmp, self->buf + BUF_LEN - 100, 100));
	EXPECT_EQ(0, memcmp(tmp + 100, other, 100));

	memset(tmp, 0x42, sizeof(tmp));
	ASSERT_OK(mock_access_rw(self->fd, access_fd, b + BUF_LEN - 128, tmp,
				 256, MOCK_ACCESS_RW_WRITE |
				 MOCK_ACCESS_RW_SLOW_PATH));
	EXPECT_EQ(0, memcmp(self->buf + BUF_LEN - 128, tmp, 128));
	EXPECT_EQ(0, memcmp(other, tmp, 128));
	ASSERT_OK(close(access_fd));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));
	munmap(other, page_size);
}

/* IOVA and memory half a page out of phase, read through an access */
TEST_F(ioas, access_rw_iova_offset)
{
	__u64 half = mock_io_page, iova = self->base + half;
	char tmp[64];
	int access_fd;

	ASSERT_OK(mock_access_create(self->fd, self->ioas_id, 0, &access_fd));
	fill_pattern(self->buf, BUF_LEN, 8);
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf,
			      2 * page_size, iova));
	EXPECT_EQ(self->align, ioas_alignment(self->fd, self->ioas_id));
	ASSERT_OK(mock_access_rw(self->fd, access_fd, iova + page_size - 32,
				 tmp, sizeof(tmp), 0));
	EXPECT_EQ(0, memcmp(tmp, self->buf + page_size - 32, sizeof(tmp)));
	EXPECT_OK(domains_map(self, iova, self->buf, 2 * page_size));
	ASSERT_OK(close(access_fd));
}

/* Pinning through an access: shared pins, items, errors */
TEST_F(ioas, access_pin_items)
{
	__u32 items[3], bogus;
	__u64 b = self->base, ro = 0;
	int access_fd;
	char *rom;

	rom = alloc_shared(page_size, page_size);
	ASSERT_NE(MAP_FAILED, rom);

	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN, b));
	ASSERT_OK(mock_access_create(self->fd, self->ioas_id,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				     &access_fd));

	ASSERT_OK(mock_access_pin(self->fd, access_fd, b, BUF_LEN, self->buf,
				  MOCK_FLAGS_ACCESS_WRITE, &items[0]));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 1));
	ASSERT_OK(mock_access_pin(self->fd, access_fd, b, BUF_LEN, self->buf,
				  0, &items[1]));
	ASSERT_OK(mock_access_pin(self->fd, access_fd, b + page_size,
				  2 * page_size, self->buf + page_size, 0,
				  &items[2]));
	/* Lowest free ID first, from 0: a lone pin needs no xa_node */
	EXPECT_EQ(0, items[0]);
	EXPECT_NE(items[0], items[1]);
	EXPECT_NE(items[1], items[2]);
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 1));

	ASSERT_OK(mock_access_unpin(self->fd, access_fd, items[0]));
	EXPECT_ERR(ENOENT, mock_access_unpin(self->fd, access_fd, items[0]));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 1));
	ASSERT_OK(mock_access_unpin(self->fd, access_fd, items[1]));
	EXPECT_OK(pins_are(self, self->buf + page_size, 2 * page_size, 1));
	EXPECT_OK(pins_are(self, self->buf + 3 * page_size,
			   BUF_LEN - 3 * page_size, domain_pins(self)));
	ASSERT_OK(mock_access_unpin(self->fd, access_fd, items[2]));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, domain_pins(self)));

	/* Half pages, nothing, unmapped, read-only for writing */
	EXPECT_ERR(EINVAL, mock_access_pin(self->fd, access_fd,
					   b + mock_io_page, page_size,
					   NULL, 0, &bogus));
	EXPECT_ERR(EINVAL, mock_access_pin(self->fd, access_fd, b, 0, NULL, 0,
					   &bogus));
	EXPECT_ERR(ENOENT, mock_access_pin(self->fd, access_fd, b + BUF_LEN,
					   page_size, NULL, 0, &bogus));
	EXPECT_ERR(ENOENT, mock_access_pin(self->fd, access_fd,
					   b + BUF_LEN - page_size,
					   2 * page_size, NULL, 0, &bogus));
	ASSERT_OK(ioas_map_flags(self->fd, self->ioas_id, rom, page_size, &ro,
				 IOMMU_IOAS_MAP_READABLE));
	EXPECT_ERR(EPERM, mock_access_pin(self->fd, access_fd, ro, page_size,
					  rom, MOCK_FLAGS_ACCESS_WRITE,
					  &bogus));
	ASSERT_OK(mock_access_pin(self->fd, access_fd, ro, page_size, rom, 0,
				  &bogus));
	EXPECT_OK(pins_are(self, rom, page_size, 1));
	ASSERT_OK(mock_access_unpin(self->fd, access_fd, bogus));
	EXPECT_OK(pins_are(self, rom, page_size, domain_pins(self)));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, domain_pins(self)));
	ASSERT_OK(close(access_fd));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));
	munmap(rom, page_size);
}

/*
 * Unmapping what an access pinned: the access is told, drops its pins,
 * and the unmap succeeds. Mappings the access did not pin are not its
 * business.
 */
TEST_F(ioas, access_unmap_notifies)
{
	__u64 b = self->base, unmapped;
	__u32 item, other_item;
	int access_fd;

	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN, b));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      b + BUF_LEN));
	ASSERT_OK(mock_access_create(self->fd, self->ioas_id,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				     &access_fd));
	ASSERT_OK(mock_access_pin(self->fd, access_fd, b + page_size,
				  page_size, self->buf + page_size, 0, &item));
	ASSERT_OK(mock_access_pin(self->fd, access_fd, b + BUF_LEN,
				  page_size, self->buf, 0, &other_item));

	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, b, BUF_LEN, &unmapped));
	EXPECT_EQ(BUF_LEN, unmapped);
	EXPECT_ERR(ENOENT, mock_access_unpin(self->fd, access_fd, item));
	EXPECT_OK(pins_are(self, self->buf + page_size, page_size,
			   domain_pins(self)));
	/* The pin in the other mapping is still there */
	EXPECT_OK(pins_are(self, self->buf, page_size, 1));
	EXPECT_OK(mock_access_unpin(self->fd, access_fd, other_item));

	/* Unmap-all notifies too */
	ASSERT_OK(mock_access_pin(self->fd, access_fd, b + BUF_LEN,
				  BUF_LEN, self->buf, 0, &item));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	EXPECT_EQ(BUF_LEN, unmapped);
	EXPECT_ERR(ENOENT, mock_access_unpin(self->fd, access_fd, item));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 0));
	ASSERT_OK(close(access_fd));
}

/* A device arriving while an access holds pins shares them */
TEST_F(ioas, access_pin_then_domain)
{
	__u32 item, stdev_id, hwpt_id;
	int access_fd;

	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      self->base));
	ASSERT_OK(mock_access_create(self->fd, self->ioas_id,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				     &access_fd));
	ASSERT_OK(mock_access_pin(self->fd, access_fd, self->base, BUF_LEN,
				  self->buf, 0, &item));
	ASSERT_OK(mock_domain(self->fd, self->ioas_id, &stdev_id, &hwpt_id,
			      NULL));
	EXPECT_OK(mock_check_map(self->fd, hwpt_id, self->base, self->buf,
				 BUF_LEN));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 1));
	ASSERT_OK(obj_destroy(self->fd, stdev_id));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 1));
	ASSERT_OK(mock_access_unpin(self->fd, access_fd, item));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, domain_pins(self)));
	ASSERT_OK(close(access_fd));
}

/*
 * Moving an access to another IOAS drops its pins in the old one and
 * releases the old IOAS.
 */
TEST_F(ioas, access_replace_ioas)
{
	__u32 other, item, item2;
	__u64 unmapped;
	int access_fd;

	ASSERT_OK(ioas_alloc(self->fd, &other));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      self->base));
	ASSERT_OK(ioas_map_at(self->fd, other, self->buf, BUF_LEN, 0x800000));
	ASSERT_OK(mock_access_create(self->fd, self->ioas_id,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				     &access_fd));
	ASSERT_OK(mock_access_pin(self->fd, access_fd, self->base, BUF_LEN,
				  self->buf, 0, &item));
	EXPECT_ERR(ENOENT, mock_access_replace_ioas(self->fd, access_fd,
						    other + 100));
	EXPECT_OK(mock_access_replace_ioas(self->fd, access_fd,
					   self->ioas_id));
	EXPECT_OK(mock_access_unpin(self->fd, access_fd, item));
	ASSERT_OK(mock_access_pin(self->fd, access_fd, self->base, BUF_LEN,
				  self->buf, 0, &item));

	ASSERT_OK(mock_access_replace_ioas(self->fd, access_fd, other));
	EXPECT_ERR(ENOENT, mock_access_unpin(self->fd, access_fd, item));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, domain_pins(self)));
	/* The old IOAS no longer has the access to notify or wait for */
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	EXPECT_EQ(BUF_LEN, unmapped);
	EXPECT_ERR(ENOENT, mock_access_pin(self->fd, access_fd, self->base,
					   page_size, NULL, 0, &item2));

	/* Pins now come from the new one */
	ASSERT_OK(mock_access_pin(self->fd, access_fd, 0x800000, BUF_LEN,
				  self->buf, 0, &item2));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 1));
	EXPECT_ERR(EBUSY, obj_destroy(self->fd, other));
	ASSERT_OK(close(access_fd));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 0));
	EXPECT_OK(obj_destroy(self->fd, other));
}

/* Arguments for the children of the fork tests */
struct fork_args {
	int fd;
	__u32 ioas_id;
	__u64 iova;
	char *buf;
	int ready_fd;	/* if >= 0: write one byte to it once mapped */
	int wait_fd;	/* if >= 0: then read one byte from it */
};

static int fork_child_map(void *arg)
{
	struct fork_args *a = arg;
	char c = 'm';

	if (ioas_map_at(a->fd, a->ioas_id, a->buf, BUF_LEN, a->iova))
		return child_failed(2, "map");
	if (a->ready_fd >= 0 && write(a->ready_fd, &c, 1) != 1)
		return child_failed(3, "say ready");
	if (a->wait_fd >= 0 && read(a->wait_fd, &c, 1) != 1)
		return child_failed(4, "wait");
	return 0;
}

/*
 * A child maps memory through the inherited context and exits. With a
 * domain the pages were pinned then, and still serve; without one they
 * never were, and a domain added now cannot get them.
 */
TEST_F(ioas, fork_mapper_exits)
{
	struct fork_args a = {
		.fd = self->fd, .ioas_id = self->ioas_id,
		.iova = self->base, .buf = self->buf,
		.ready_fd = -1, .wait_fd = -1,
	};
	char got[128];
	int access_fd;

	fill_pattern(self->buf, BUF_LEN, 9);
	ASSERT_EQ(0, run_in_child(fork_child_map, &a));

	if (!self->ndev) {
		EXPECT_ERR(EFAULT, mock_domain(self->fd, self->ioas_id, NULL,
					       NULL, NULL));
		EXPECT_EQ(1, ioas_alignment(self->fd, self->ioas_id));
		EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 0));
		ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));
		return;
	}
	EXPECT_OK(domains_map(self, self->base, self->buf, BUF_LEN));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 1));

	/* The mapper's mm is gone: accesses go through the pins */
	ASSERT_OK(mock_access_create(self->fd, self->ioas_id, 0, &access_fd));
	ASSERT_OK(mock_access_rw(self->fd, access_fd, self->base + 1000, got,
				 sizeof(got), 0));
	EXPECT_EQ(0, memcmp(self->buf + 1000, got, sizeof(got)));
	memset(got, 0x11, sizeof(got));
	ASSERT_OK(mock_access_rw(self->fd, access_fd,
				 self->base + 2 * page_size, got, sizeof(got),
				 MOCK_ACCESS_RW_WRITE));
	EXPECT_EQ(0, memcmp(self->buf + 2 * page_size, got, sizeof(got)));
	ASSERT_OK(close(access_fd));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));
}

/*
 * A child maps and stays alive: a domain added by the parent pins the
 * child's memory, and accesses reach it.
 */
TEST_F(ioas, fork_mapper_alive)
{
	struct fork_args a = {
		.fd = self->fd, .ioas_id = self->ioas_id,
		.iova = self->base, .buf = self->buf,
	};
	int ready[2], go[2], status, access_fd;
	__u32 stdev_id, hwpt_id;
	char got[64], c;
	pid_t pid;

	fill_pattern(self->buf, BUF_LEN, 10);
	ASSERT_OK(pipe(ready));
	ASSERT_OK(pipe(go));
	a.ready_fd = ready[1];
	a.wait_fd = go[0];
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(fork_child_map(&a));
	ASSERT_EQ(1, read(ready[0], &c, 1));

	ASSERT_OK(mock_domain(self->fd, self->ioas_id, &stdev_id, &hwpt_id,
			      NULL));
	EXPECT_OK(mock_check_map(self->fd, hwpt_id, self->base, self->buf,
				 BUF_LEN));
	EXPECT_OK(pins_are(self, self->buf, BUF_LEN, 1));
	ASSERT_OK(mock_access_create(self->fd, self->ioas_id, 0, &access_fd));
	ASSERT_OK(mock_access_rw(self->fd, access_fd, self->base + 5, got,
				 sizeof(got), 0));
	EXPECT_EQ(0, memcmp(self->buf + 5, got, sizeof(got)));
	ASSERT_OK(mock_access_rw(self->fd, access_fd, self->base + 5, got,
				 sizeof(got), MOCK_ACCESS_RW_SLOW_PATH));
	EXPECT_EQ(0, memcmp(self->buf + 5, got, sizeof(got)));
	ASSERT_OK(close(access_fd));

	ASSERT_EQ(1, write(go[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	ASSERT_OK(obj_destroy(self->fd, stdev_id));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

/*
 * Property sweeps. Every start and end of a range, at the granularity the
 * IOAS allows, goes through map, copy into a second IOAS whose domain the
 * mock records, a check of every IO page there, and unmap: each case is a
 * few ioctls, so the whole stays within seconds under TCG.
 */

/* The second IOAS of a sweep and its mock device's domain */
struct sweep_dst {
	__u32 ioas_id;
	__u32 stdev_id;
	__u32 hwpt_id;
};

static int sweep_dst_new(int fd, __u32 dev_flags, struct sweep_dst *dst)
{
	return ioas_alloc(fd, &dst->ioas_id) ?:
	       mock_domain_flags(fd, dst->ioas_id, dev_flags, &dst->stdev_id,
				 &dst->hwpt_id, NULL);
}

/*
 * The domain maps exactly [@iova, @iova + @len) of what is around it to
 * @va, read-write: with @each_page one check per IO page, else one check
 * of the whole (which the mock does IO page by IO page); and the IO page
 * before and the one after (those that lie in [@lo, @hi)) are not mapped.
 * 0, -errno, or the first failing IO page's offset + 1.
 */
static long sweep_check(int fd, __u32 hwpt_id, __u64 iova, const char *va,
			__u64 len, __u64 lo, __u64 hi, bool each_page)
{
	const __u32 rw = MOCK_CHECK_MAP_READ | MOCK_CHECK_MAP_WRITE;
	__u64 off, step = each_page ? mock_io_page : len;
	int rc;

	for (off = 0; off < len; off += step) {
		rc = mock_check_map_perm(fd, hwpt_id, iova + off, va + off,
					 step, rw);
		if (rc)
			return rc == -EINVAL ? (long)off + 1 : rc;
	}
	if (iova > lo && mock_check_map(fd, hwpt_id, iova - mock_io_page,
					va - mock_io_page, mock_io_page) !=
			 -EINVAL)
		return -EEXIST;
	if (iova + len < hi &&
	    mock_check_map(fd, hwpt_id, iova + len, va + len, mock_io_page) !=
		    -EINVAL)
		return -EEXIST;
	return 0;
}

/*
 * One case of the alignment sweep: [@s, @e) of @buf mapped in the fixture's
 * IOAS at base + @s, copied to @dst at MOCK_APERTURE_START + @s, checked,
 * pinned once on the CPU pages it touches, unmapped, and nothing pinned
 * after. Returns 0 or a number saying which step failed.
 */
static int sweep_one(struct _test_data_ioas *self, struct sweep_dst *dst,
		     char *buf, __u64 buf_len, __u64 s, __u64 e,
		     bool each_page)
{
	__u64 len = e - s, src = self->base + s;
	__u64 dst_iova = MOCK_APERTURE_START + s, unmapped = 0;
	__u64 first = s / page_size * page_size;
	__u64 last = (e + page_size - 1) / page_size * page_size;

	if (ioas_map_at(self->fd, self->ioas_id, buf + s, len, src))
		return 1;
	if (ioas_copy(self->fd, dst->ioas_id, self->ioas_id, src, len,
		      &dst_iova, IOMMU_IOAS_MAP_FIXED_IOVA |
		      IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE))
		return 2;
	if (sweep_check(self->fd, dst->hwpt_id, dst_iova, buf + s, len,
			MOCK_APERTURE_START, MOCK_APERTURE_START + buf_len,
			each_page))
		return 3;
	if (domains_map(self, src, buf + s, len))
		return 4;
	if (mock_check_pins(self->fd, buf + first, last - first, 1))
		return 5;
	if (ioas_unmap(self->fd, dst->ioas_id, dst_iova, len, &unmapped) ||
	    unmapped != len)
		return 6;
	if (ioas_unmap(self->fd, self->ioas_id, src, len, &unmapped) ||
	    unmapped != len)
		return 7;
	if (mock_check_pins(self->fd, buf, buf_len, 0))
		return 8;
	return 0;
}

/* Every start and end, in IO pages, over 4 CPU pages of ordinary memory */
TEST_F(ioas, sweep_alignment)
{
	const __u64 len = 4 * page_size;
	struct sweep_dst dst;
	__u64 s, e;

	ASSERT_OK(sweep_dst_new(self->fd, 0, &dst));
	for (s = 0; s < len; s += mock_io_page)
		for (e = s + mock_io_page; e <= len; e += mock_io_page)
			ASSERT_EQ(0, sweep_one(self, &dst, self->buf, len, s,
					       e, true))
				TH_LOG("[%llu, %llu) of %llu", s, e, len);
}

/*
 * The same over two 2 MiB hugetlb pages, with starts and ends at the
 * alignments that matter around and between them, into a domain that has
 * large IOPTEs. Each range is checked in one call (the mock goes IO page
 * by IO page), and the IO pages around it one by one.
 */
TEST_F(ioas, sweep_alignment_hugetlb)
{
	const __u64 len = 2 * HUGE_2M, io = mock_io_page, p = page_size;
	/* In order: each pair of them is a case */
	const __u64 at[] = {
		0, io, p, 2 * p, HUGE_2M - p, HUGE_2M - io, HUGE_2M,
		HUGE_2M + io, HUGE_2M + p, len - p, len - io, len,
	};
	struct sweep_dst dst;
	unsigned int i, j;
	char *huge;

	huge = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE,
		    -1, 0);
	if (huge == MAP_FAILED)
		SKIP(return, "no 2 MiB hugetlb pages available");
	ASSERT_OK(sweep_dst_new(self->fd, MOCK_FLAGS_DEVICE_HUGE_IOVA, &dst));
	for (i = 0; i != ARRAY_SIZE(at); i++) {
		for (j = i + 1; j != ARRAY_SIZE(at); j++) {
			__u64 s = at[i], e = at[j];

			ASSERT_EQ(0, sweep_one(self, &dst, huge, len, s, e,
					       false))
				TH_LOG("[%llu, %llu) of %llu", s, e, len);
		}
	}
	EXPECT_OK(pins_are(self, huge, len, 0));
	munmap(huge, len);
}

/*
 * Every sub-range, in IO pages, of one mapping of 8 CPU pages copied out
 * of it: each copy maps exactly its range, shares the mapping's pins, and
 * goes away whole.
 */
TEST_F(ioas, sweep_copy_subranges)
{
	const __u64 len = 8 * page_size;
	const __u32 rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	struct sweep_dst dst;
	__u64 s, e, unmapped;
	long rc;

	ASSERT_OK(sweep_dst_new(self->fd, 0, &dst));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, len,
			      self->base));
	for (s = 0; s < len; s += mock_io_page) {
		for (e = s + mock_io_page; e <= len; e += mock_io_page) {
			__u64 iova = MOCK_APERTURE_START + s;
			/* The CPU pages the copy touches */
			__u64 first = s / page_size * page_size;
			__u64 last = (e + page_size - 1) / page_size *
				     page_size;

			ASSERT_OK(ioas_copy(self->fd, dst.ioas_id,
					    self->ioas_id, self->base + s,
					    e - s, &iova,
					    IOMMU_IOAS_MAP_FIXED_IOVA | rw))
				TH_LOG("[%llu, %llu)", s, e);
			rc = sweep_check(self->fd, dst.hwpt_id, iova,
					 self->buf + s, e - s,
					 MOCK_APERTURE_START,
					 MOCK_APERTURE_START + len, true);
			ASSERT_EQ(0, rc) TH_LOG("[%llu, %llu)", s, e);
			/*
			 * One pin per page, however many copies; without
			 * a domain in the source IOAS, only the copy pins
			 */
			ASSERT_OK(pins_are(self, self->buf + first,
					   last - first, 1));
			if (!self->ndev) {
				ASSERT_OK(pins_are(self, self->buf, first, 0));
				ASSERT_OK(pins_are(self, self->buf + last,
						   len - last, 0));
			}
			ASSERT_OK(ioas_unmap(self->fd, dst.ioas_id, iova,
					     e - s, &unmapped));
			ASSERT_EQ(e - s, unmapped);
		}
	}
	/* The source is still whole and still pinned (if a domain needs it) */
	EXPECT_OK(domains_map(self, self->base, self->buf, len));
	EXPECT_OK(pins_are(self, self->buf, len, domain_pins(self)));
	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, self->base, len,
			     &unmapped));
	EXPECT_EQ(len, unmapped);
	EXPECT_OK(pins_are(self, self->buf, len, 0));
}

/*
 * Pinning memory that is not there fails at its first page, and costs no
 * kernel memory in proportion to the length, before or after: nothing is
 * allocated for pages that are not pinned and charged. Here 16 IOASes map
 * nearly 2 GiB (the mock's aperture) of PROT_NONE address space each, with
 * no domain, then get a device attached: each attach fails with EFAULT.
 * Storing PFNs for the whole length up front would take 64 MiB.
 */
TEST(failed_pin_allocates_nothing)
{
	const size_t len = (MOCK_APERTURE_LAST - MOCK_APERTURE_START + 1) -
			   HUGE_2M;
	__u32 ioas_id[16], stdev_id;
	long before, after;
	unsigned int i;
	void *none;
	int fd;

	fd = iommufd_open();
	ASSERT_LE(0, fd);
	none = mmap(NULL, len, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, none);
	for (i = 0; i != ARRAY_SIZE(ioas_id); i++) {
		ASSERT_OK(ioas_alloc(fd, &ioas_id[i]));
		ASSERT_OK(ioas_map_at(fd, ioas_id[i], none, len,
				      MOCK_APERTURE_START));
	}

	before = meminfo_kib("SUnreclaim");
	ASSERT_LT(0, before);
	for (i = 0; i != ARRAY_SIZE(ioas_id); i++)
		EXPECT_ERR(EFAULT, mock_domain(fd, ioas_id[i], &stdev_id, NULL,
					       NULL));
	after = meminfo_kib("SUnreclaim");
	EXPECT_GT(8 * 1024, after - before)
		TH_LOG("SUnreclaim grew by %ld KiB", after - before);

	ASSERT_OK(close(fd));
	munmap(none, len);
}

/* A memfd, mapped, and a context with two IOASes for it */
struct file_pins {
	int fd;
	int mfd;
	char *view;
	__u32 a;	/* maps the whole file */
	__u32 b;	/* has a device; gets a copy of the file's middle */
	__u32 stdev;	/* b's device */
};

static int file_pins_setup(struct file_pins *fp, size_t len)
{
	fp->mfd = memfd_sized(len, 0);
	if (fp->mfd < 0)
		return fp->mfd;
	fp->view = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			fp->mfd, 0);
	if (fp->view == MAP_FAILED)
		return -errno;
	memset(fp->view, 0x3c, len);
	fp->fd = iommufd_open();
	if (fp->fd < 0)
		return fp->fd;
	return ioas_alloc(fp->fd, &fp->a) ?: ioas_alloc(fp->fd, &fp->b) ?:
	       mock_domain(fp->fd, fp->b, &fp->stdev, NULL, NULL);
}

/*
 * A file mapping whose pages 4 to 7 are also mapped elsewhere (a copy in
 * another IOAS, with a domain): the pages before them, from file page 0,
 * and after them are pinned and unpinned on their own, one pin each. The
 * check for "another user of the same folio" once took the pages before
 * an index-0 hole for pages after it.
 */
TEST(map_file_pins_around_a_copy)
{
	__u32 rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	size_t len = 16 * page_size, quarter = 4 * page_size;
	__u64 iova = MOCK_APERTURE_START, dst = MOCK_APERTURE_START;
	struct file_pins fp;

	/* Pinning: the copy pins 4-7 first, a domain on a then the rest */
	ASSERT_OK(file_pins_setup(&fp, len));
	ASSERT_OK(ioas_map_file(fp.fd, fp.a, fp.mfd, 0, len, &iova,
				rw | IOMMU_IOAS_MAP_FIXED_IOVA));
	ASSERT_OK(ioas_copy(fp.fd, fp.b, fp.a, iova + quarter, quarter, &dst,
			    IOMMU_IOAS_MAP_FIXED_IOVA |
			    IOMMU_IOAS_MAP_READABLE));
	EXPECT_OK(mock_check_pins(fp.fd, fp.view, quarter, 0));
	EXPECT_OK(mock_check_pins(fp.fd, fp.view + quarter, quarter, 1));
	ASSERT_OK(mock_domain(fp.fd, fp.a, NULL, NULL, NULL));
	EXPECT_OK(mock_check_pins(fp.fd, fp.view, len, 1));
	EXPECT_OK(close_check_unpinned(fp.fd, fp.view, len));
	munmap(fp.view, len);
	close(fp.mfd);

	/* Unpinning: a's mapping goes first, the copy's pages stay */
	ASSERT_OK(file_pins_setup(&fp, len));
	ASSERT_OK(mock_domain(fp.fd, fp.a, NULL, NULL, NULL));
	ASSERT_OK(ioas_map_file(fp.fd, fp.a, fp.mfd, 0, len, &iova,
				rw | IOMMU_IOAS_MAP_FIXED_IOVA));
	ASSERT_OK(ioas_copy(fp.fd, fp.b, fp.a, iova + quarter, quarter, &dst,
			    IOMMU_IOAS_MAP_FIXED_IOVA |
			    IOMMU_IOAS_MAP_READABLE));
	EXPECT_OK(mock_check_pins(fp.fd, fp.view, len, 1));
	ASSERT_OK(ioas_unmap_all(fp.fd, fp.a, NULL));
	EXPECT_OK(mock_check_pins(fp.fd, fp.view, quarter, 0));
	EXPECT_OK(mock_check_pins(fp.fd, fp.view + quarter, quarter, 1));
	EXPECT_OK(mock_check_pins(fp.fd, fp.view + 2 * quarter, 2 * quarter,
				  0));
	ASSERT_OK(ioas_unmap_all(fp.fd, fp.b, NULL));
	EXPECT_OK(close_check_unpinned(fp.fd, fp.view, len));
	munmap(fp.view, len);
	close(fp.mfd);
}

/*
 * A memfd sealed against writes cannot be mapped for the device to write:
 * neither F_SEAL_WRITE nor F_SEAL_FUTURE_WRITE (no new writable mappings,
 * which a writable pin is), for shmem and hugetlb memfds alike. Mapping
 * it for the device to read is fine.
 */
TEST(map_file_write_sealed)
{
	static const unsigned int seals[] = {
		F_SEAL_WRITE, F_SEAL_FUTURE_WRITE,
	};
	__u32 rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	unsigned int flags[] = { 0, MFD_HUGETLB };
	__u64 iova = 0;
	unsigned int i, j;
	__u32 ioas_id;
	int fd;

	fd = iommufd_open();
	ASSERT_LE(0, fd);
	ASSERT_OK(ioas_alloc(fd, &ioas_id));
	for (i = 0; i != ARRAY_SIZE(flags); i++) {
		size_t len = flags[i] ? HUGE_2M : 4 * page_size;

		for (j = 0; j != ARRAY_SIZE(seals); j++) {
			int mfd = memfd_sized(len, MFD_ALLOW_SEALING | flags[i]);

			ASSERT_LE(0, mfd)
				TH_LOG("memfd flags 0x%x: %s", flags[i],
				       strerror(-mfd));
			/* Unsealed, both work */
			ASSERT_OK(ioas_map_file(fd, ioas_id, mfd, 0, len,
						&iova, rw));
			ASSERT_OK(ioas_unmap_all(fd, ioas_id, NULL));
			ASSERT_OK(fcntl(mfd, F_ADD_SEALS, seals[j]));
			EXPECT_ERR(EPERM, ioas_map_file(fd, ioas_id, mfd, 0,
							len, &iova, rw));
			EXPECT_ERR(EPERM, ioas_map_file(fd, ioas_id, mfd, 0,
							len, &iova,
							IOMMU_IOAS_MAP_WRITEABLE));
			EXPECT_OK(ioas_map_file(fd, ioas_id, mfd, 0, len, &iova,
						IOMMU_IOAS_MAP_READABLE));
			ASSERT_OK(ioas_unmap_all(fd, ioas_id, NULL));
			close(mfd);
		}
	}
	ASSERT_OK(close(fd));
}

/*
 * A file opened for reading only cannot be mapped for devices to write:
 * that would let them write to a file the caller may not write to.
 */
TEST(map_file_read_only_fd)
{
	__u32 rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	__u64 len = 4 * page_size, iova = 0, copy_iova = 0;
	int fd, mfd, ro, access_fd;
	__u32 ioas_id, other;
	char path[64], *view;

	fd = iommufd_open();
	ASSERT_LE(0, fd);
	ASSERT_OK(ioas_alloc(fd, &ioas_id));
	ASSERT_OK(ioas_alloc(fd, &other));
	mfd = memfd_sized(len, 0);
	ASSERT_LE(0, mfd);
	view = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, view);
	memset(view, 0x33, len);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	ro = open(path, O_RDONLY);
	ASSERT_LE(0, ro);

	EXPECT_ERR(EPERM, ioas_map_file(fd, ioas_id, ro, 0, len, &iova, rw));
	EXPECT_ERR(EPERM, ioas_map_file(fd, ioas_id, ro, 0, len, &iova,
					IOMMU_IOAS_MAP_WRITEABLE));
	ASSERT_OK(ioas_unmap_all(fd, ioas_id, NULL));
	ASSERT_OK(ioas_map_file(fd, ioas_id, ro, 0, len, &iova,
				IOMMU_IOAS_MAP_READABLE));

	/* Nor can a copy, or an access, make it writeable */
	EXPECT_ERR(EPERM, ioas_copy(fd, other, ioas_id, iova, len, &copy_iova,
				    rw));
	ASSERT_OK(mock_access_create(fd, ioas_id, 0, &access_fd));
	EXPECT_ERR(EPERM, mock_access_rw(fd, access_fd, iova, path, 8,
					 MOCK_ACCESS_RW_WRITE));
	EXPECT_OK(mock_access_rw(fd, access_fd, iova, path, 8, 0));
	EXPECT_EQ(0x33, path[0]);
	ASSERT_OK(close(access_fd));
	ASSERT_OK(close(fd));
	munmap(view, len);
	close(ro);
	close(mfd);
}

/* Arguments of the IOMMU_IOAS_CHANGE_PROCESS children */
struct change_args {
	int fd;
	int expect;	/* the result the child must see */
};

static int change_process_child(void *arg)
{
	struct iommu_ioas_change_process cmd = { .size = sizeof(cmd) };
	struct change_args *a = arg;
	int rc;

	rc = ifd_ioctl(a->fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd);
	if (rc != a->expect) {
		fprintf(stderr, "# change_process: %d, wanted %d\n", rc,
			a->expect);
		return 2;
	}
	return 0;
}

/*
 * IOMMU_IOAS_CHANGE_PROCESS moves file mappings to the calling process;
 * mappings of process memory cannot move.
 */
TEST(change_process)
{
	__u64 iova = 0, len = 4 * page_size;
	struct change_args a;
	__u32 ioas_id;
	char *mem;
	int mfd;

	a.fd = iommufd_open();
	ASSERT_LE(0, a.fd);
	a.expect = 0;
	ASSERT_EQ(0, run_in_child(change_process_child, &a));

	ASSERT_OK(ioas_alloc(a.fd, &ioas_id));
	mfd = memfd_sized(len, 0);
	ASSERT_LE(0, mfd);
	ASSERT_OK(ioas_map_file(a.fd, ioas_id, mfd, 0, len, &iova,
				IOMMU_IOAS_MAP_READABLE));
	ASSERT_EQ(0, run_in_child(change_process_child, &a));

	mem = alloc_shared(len, page_size);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_OK(ioas_map_any(a.fd, ioas_id, mem, len, &iova));
	a.expect = -EINVAL;
	ASSERT_EQ(0, run_in_child(change_process_child, &a));
	ASSERT_OK(ioas_unmap(a.fd, ioas_id, iova, len, NULL));
	a.expect = 0;
	ASSERT_EQ(0, run_in_child(change_process_child, &a));
	ASSERT_OK(close(a.fd));
	close(mfd);
	munmap(mem, len);
}

/*
 * RLIMIT_MEMLOCK accounting, in both modes of IOMMU_OPTION_RLIMIT_MODE.
 * What is charged shows in /proc/self/status: VmPin for the per-user mode
 * (which also charges the user's locked_vm, invisible from here), VmLck
 * for the per-process mode.
 */
FIXTURE(account)
{
	int fd;
	__u32 ioas_id;
	__u32 stdev_id;
	char *buf;
	long start;	/* the variant's counter before the test */
	long other;	/* the other counter, which must not move */
};

FIXTURE_VARIANT(account)
{
	__u64 mode;
	const char *counter;
	const char *untouched;
};

FIXTURE_VARIANT_ADD(account, per_user)
{
	.mode = 0,
	.counter = "VmPin",
	.untouched = "VmLck",
};

FIXTURE_VARIANT_ADD(account, per_process)
{
	.mode = 1,
	.counter = "VmLck",
	.untouched = "VmPin",
};

FIXTURE_SETUP(account)
{
	if (geteuid())
		SKIP(return, "needs CAP_SYS_RESOURCE to choose the mode");
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_OK(option_set(self->fd, IOMMU_OPTION_RLIMIT_MODE, 0,
			     variant->mode));
	ASSERT_OK(ioas_alloc(self->fd, &self->ioas_id));
	ASSERT_OK(mock_domain(self->fd, self->ioas_id, &self->stdev_id, NULL,
			      NULL));
	self->buf = alloc_shared(BUF_LEN, page_size);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 1, BUF_LEN);
	self->start = proc_status_kib(variant->counter);
	self->other = proc_status_kib(variant->untouched);
	ASSERT_LE(0, self->start);
	ASSERT_LE(0, self->other);
}

FIXTURE_TEARDOWN(account)
{
	TEARDOWN_CLOSE_UNPINNED(self->fd, self->buf, BUF_LEN);
	EXPECT_EQ(self->start, proc_status_kib(variant->counter));
	EXPECT_EQ(self->other, proc_status_kib(variant->untouched));
	munmap(self->buf, BUF_LEN);
}

/* KiB charged since the setup */
static long charged_kib(struct _test_data_account *self, const char *counter)
{
	return proc_status_kib(counter) - self->start;
}

TEST_F(account, map_and_unmap)
{
	long kib = BUF_LEN / 1024;
	__u32 other;
	__u64 iova = 0;

	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      MOCK_APERTURE_START));
	EXPECT_EQ(kib, charged_kib(self, variant->counter));
	EXPECT_EQ(self->other, proc_status_kib(variant->untouched));

	/* More domains and a copy pin nothing more */
	ASSERT_OK(mock_domain(self->fd, self->ioas_id, NULL, NULL, NULL));
	ASSERT_OK(ioas_alloc(self->fd, &other));
	ASSERT_OK(mock_domain(self->fd, other, NULL, NULL, NULL));
	ASSERT_OK(ioas_copy(self->fd, other, self->ioas_id,
			    MOCK_APERTURE_START, BUF_LEN, &iova,
			    IOMMU_IOAS_MAP_READABLE));
	EXPECT_EQ(kib, charged_kib(self, variant->counter));

	/* A second mapping of the same memory is charged again */
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      MOCK_APERTURE_START + BUF_LEN));
	EXPECT_EQ(2 * kib, charged_kib(self, variant->counter));

	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, MOCK_APERTURE_START,
			     BUF_LEN, NULL));
	EXPECT_EQ(2 * kib, charged_kib(self, variant->counter));
	ASSERT_OK(ioas_unmap_all(self->fd, other, NULL));
	EXPECT_EQ(kib, charged_kib(self, variant->counter));
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, NULL));
	EXPECT_EQ(0, charged_kib(self, variant->counter));
}

/* Charged when a domain needs the pages, not before; given back on close */
TEST_F(account, domain_and_close)
{
	long kib = BUF_LEN / 1024;
	__u32 lazy, stdev_id;

	ASSERT_OK(ioas_alloc(self->fd, &lazy));
	ASSERT_OK(ioas_map_at(self->fd, lazy, self->buf, BUF_LEN,
			      MOCK_APERTURE_START));
	EXPECT_EQ(0, charged_kib(self, variant->counter));
	ASSERT_OK(mock_domain(self->fd, lazy, &stdev_id, NULL, NULL));
	EXPECT_EQ(kib, charged_kib(self, variant->counter));
	ASSERT_OK(obj_destroy(self->fd, stdev_id));
	EXPECT_EQ(0, charged_kib(self, variant->counter));

	ASSERT_OK(mock_domain(self->fd, lazy, &stdev_id, NULL, NULL));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, BUF_LEN,
			      MOCK_APERTURE_START));
	EXPECT_EQ(2 * kib, charged_kib(self, variant->counter));
	/* The teardown closes and checks the counters are back */
}

/* Pins made through an access are charged the same way */
TEST_F(account, access_pins)
{
	long kib = BUF_LEN / 1024;
	int access_fd;
	__u32 lazy, item;

	ASSERT_OK(ioas_alloc(self->fd, &lazy));
	ASSERT_OK(ioas_map_at(self->fd, lazy, self->buf, BUF_LEN, 0));
	ASSERT_OK(mock_access_create(self->fd, lazy,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				     &access_fd));
	ASSERT_OK(mock_access_pin(self->fd, access_fd, page_size,
				  2 * page_size, self->buf + page_size, 0,
				  &item));
	EXPECT_EQ(2 * page_size / 1024, charged_kib(self, variant->counter));
	ASSERT_OK(mock_access_unpin(self->fd, access_fd, item));
	EXPECT_EQ(0, charged_kib(self, variant->counter));
	ASSERT_OK(mock_access_pin(self->fd, access_fd, 0, BUF_LEN, self->buf,
				  0, &item));
	EXPECT_EQ(kib, charged_kib(self, variant->counter));
	ASSERT_OK(close(access_fd));
	EXPECT_EQ(0, charged_kib(self, variant->counter));
}

/* What the RLIMIT_MEMLOCK child needs */
struct limit_args {
	__u64 mode;
	const char *counter;
	char *buf;
};

/* Below RLIMIT_MEMLOCK and without CAP_IPC_LOCK: ENOMEM, nothing pinned */
static int memlock_child(void *arg)
{
	struct limit_args *a = arg;
	struct rlimit lim;
	__u32 ioas_id, lazy, item;
	int fd, access_fd;
	long before;

	lim.rlim_cur = 8 * page_size;
	lim.rlim_max = lim.rlim_cur;
	if (setrlimit(RLIMIT_MEMLOCK, &lim))
		return child_failed(2, "setrlimit");
	if (drop_capability(CAP_IPC_LOCK))
		return child_failed(3, "drop CAP_IPC_LOCK");
	fd = iommufd_open();
	if (fd < 0 || option_set(fd, IOMMU_OPTION_RLIMIT_MODE, 0, a->mode))
		return child_failed(4, "open and set the mode");
	if (ioas_alloc(fd, &ioas_id) || ioas_alloc(fd, &lazy) ||
	    mock_domain(fd, ioas_id, NULL, NULL, NULL))
		return child_failed(5, "objects");
	before = proc_status_kib(a->counter);

	if (ioas_map_at(fd, ioas_id, a->buf, BUF_LEN, MOCK_APERTURE_START) !=
	    -ENOMEM)
		return child_failed(6, "map over the limit is not ENOMEM");
	if (mock_check_pins(fd, a->buf, BUF_LEN, 0) ||
	    proc_status_kib(a->counter) != before)
		return child_failed(7, "something stayed pinned");
	if (ioas_unmap_all(fd, ioas_id, NULL))
		return child_failed(8, "unmap-all");

	/* A domain arriving late fails the same way */
	if (ioas_map_at(fd, lazy, a->buf, BUF_LEN, MOCK_APERTURE_START))
		return child_failed(9, "lazy map");
	if (mock_domain(fd, lazy, NULL, NULL, NULL) != -ENOMEM)
		return child_failed(10, "late domain is not ENOMEM");
	if (mock_access_create(fd, lazy,
			       MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
			       &access_fd))
		return child_failed(11, "access");
	if (mock_access_pin(fd, access_fd, MOCK_APERTURE_START, BUF_LEN,
			    a->buf, 0, &item) != -ENOMEM)
		return child_failed(12, "access pin is not ENOMEM");
	if (mock_check_pins(fd, a->buf, BUF_LEN, 0) ||
	    proc_status_kib(a->counter) != before)
		return child_failed(13, "something stayed pinned");

	/* Within the limit it works, and is given back */
	if (ioas_map_at(fd, ioas_id, a->buf, 4 * page_size,
			MOCK_APERTURE_START))
		return child_failed(14, "map within the limit");
	if (proc_status_kib(a->counter) != before + 4 * (long)page_size / 1024)
		return child_failed(15, "charge");
	if (ioas_unmap_all(fd, ioas_id, NULL) ||
	    proc_status_kib(a->counter) != before)
		return child_failed(16, "uncharge");
	close(access_fd);
	if (close(fd))
		return child_failed(17, "close");
	return 0;
}

TEST_F(account, memlock_limit)
{
	struct limit_args a = {
		.mode = variant->mode,
		.counter = variant->counter,
		.buf = self->buf,
	};

	ASSERT_EQ(0, run_in_child(memlock_child, &a));
	EXPECT_EQ(0, charged_kib(self, variant->counter));
}

/*
 * CAP_IPC_LOCK lets a charge past RLIMIT_MEMLOCK (pages.c asks for it only
 * then): pins past the limit are still counted and given back, and once
 * the capability is gone the same limit refuses a map that needs more,
 * with nothing pinned. When it is asked cannot be seen from here; this
 * checks that asking late still lets the charge through.
 */
static int capability_child(void *arg)
{
	struct limit_args *a = arg;
	__u64 beyond = MOCK_APERTURE_START + BUF_LEN;
	struct rlimit lim;
	__u32 ioas_id;
	long before;
	int fd;

	lim.rlim_cur = 8 * page_size;
	lim.rlim_max = lim.rlim_cur;
	if (setrlimit(RLIMIT_MEMLOCK, &lim))
		return child_failed(2, "setrlimit");
	fd = iommufd_open();
	if (fd < 0 || option_set(fd, IOMMU_OPTION_RLIMIT_MODE, 0, a->mode))
		return child_failed(3, "open and set the mode");
	if (ioas_alloc(fd, &ioas_id) ||
	    mock_domain(fd, ioas_id, NULL, NULL, NULL))
		return child_failed(4, "objects");
	before = proc_status_kib(a->counter);

	/* Within the limit, then past it in one map: both counted */
	if (ioas_map_at(fd, ioas_id, a->buf, 4 * page_size, beyond))
		return child_failed(5, "map within the limit");
	if (ioas_map_at(fd, ioas_id, a->buf, BUF_LEN, MOCK_APERTURE_START))
		return child_failed(6, "map past the limit with CAP_IPC_LOCK");
	if (proc_status_kib(a->counter) !=
	    before + (long)(BUF_LEN + 4 * page_size) / 1024)
		return child_failed(7, "charge past the limit");

	if (drop_capability(CAP_IPC_LOCK))
		return child_failed(8, "drop CAP_IPC_LOCK");
	if (ioas_map_at(fd, ioas_id, a->buf, page_size,
			beyond + 4 * page_size) != -ENOMEM)
		return child_failed(9, "map without CAP_IPC_LOCK is not ENOMEM");
	if (proc_status_kib(a->counter) !=
	    before + (long)(BUF_LEN + 4 * page_size) / 1024 ||
	    mock_check_pins(fd, a->buf, 4 * page_size, 2) ||
	    mock_check_pins(fd, a->buf + 4 * page_size,
			    BUF_LEN - 4 * page_size, 1))
		return child_failed(10, "the refused map changed something");
	if (ioas_unmap_all(fd, ioas_id, NULL) ||
	    proc_status_kib(a->counter) != before)
		return child_failed(11, "uncharge");
	if (close(fd))
		return child_failed(12, "close");
	return 0;
}

TEST_F(account, capability_past_limit)
{
	struct limit_args a = {
		.mode = variant->mode,
		.counter = variant->counter,
		.buf = self->buf,
	};

	if (!has_capability(CAP_IPC_LOCK))
		SKIP(return, "needs CAP_IPC_LOCK");

	ASSERT_EQ(0, run_in_child(capability_child, &a));
	EXPECT_EQ(0, charged_kib(self, variant->counter));
}

/* What payer_child() maps, and how it hears when to go */
struct payer_args {
	int fd;			/* shared with the parent */
	__u32 ioas_id;		/* no domain: the map pins nothing */
	char *buf;
	const char *counter;	/* where the child's charges show */
	bool cap_at_map;	/* keep CAP_IPC_LOCK until it has mapped */
	pid_t parent;
	int ready[2];		/* the child says it has mapped */
	int go[2];		/* the parent says it has attached */
};

/*
 * Under an 8-page limit, map 16 pages into an IOAS without a domain
 * (nothing pinned or charged yet), without CAP_IPC_LOCK or dropping it
 * just after, then wait while the parent attaches a domain, which pins
 * them charged to us, and check what we were charged.
 */
static int payer_child(void *arg)
{
	struct payer_args *a = arg;
	struct rlimit lim;
	char c = 'r';
	long before;

	close(a->ready[0]);
	close(a->go[1]);
	/* Never outlive a parent that failed an ASSERT */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != a->parent)
		return child_failed(2, "parent death signal");
	lim.rlim_cur = 8 * page_size;
	lim.rlim_max = lim.rlim_cur;
	if (setrlimit(RLIMIT_MEMLOCK, &lim))
		return child_failed(3, "setrlimit");
	if (!a->cap_at_map && drop_capability(CAP_IPC_LOCK))
		return child_failed(4, "drop CAP_IPC_LOCK");
	if (ioas_map_at(a->fd, a->ioas_id, a->buf, BUF_LEN,
			MOCK_APERTURE_START))
		return child_failed(5, "map without a domain");
	if (a->cap_at_map && drop_capability(CAP_IPC_LOCK))
		return child_failed(6, "drop CAP_IPC_LOCK after the map");
	before = proc_status_kib(a->counter);
	if (write(a->ready[1], &c, 1) != 1 || read(a->go[0], &c, 1) != 1)
		return child_failed(7, "ready, wait");
	if (proc_status_kib(a->counter) !=
	    before + (a->cap_at_map ? (long)BUF_LEN / 1024 : 0))
		return child_failed(8, "charged the wrong amount");
	return 0;
}

/*
 * The child maps; the parent, which has CAP_IPC_LOCK, attaches a domain
 * that pins the child's pages past the child's limit. Returns what the
 * attach returned, after checking the pins, and the child's own checks.
 */
static int payer_attach(struct __test_metadata *_metadata,
			struct _test_data_account *self,
			const struct _fixture_variant_account *variant,
			bool cap_at_map)
{
	struct payer_args a = {
		.fd = self->fd, .buf = self->buf, .counter = variant->counter,
		.cap_at_map = cap_at_map, .parent = getpid(),
	};
	__u32 stdev_id;
	int rc, status;
	pid_t pid;
	char c;

	ASSERT_OK(ioas_alloc(self->fd, &a.ioas_id));
	ASSERT_OK(pipe(a.ready));
	ASSERT_OK(pipe(a.go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(payer_child(&a));
	close(a.ready[1]);
	close(a.go[0]);
	/* EOF: the child failed before it mapped; waitpid() says why */
	if (read(a.ready[0], &c, 1) == 1) {
		rc = mock_domain(self->fd, a.ioas_id, &stdev_id, NULL, NULL);
		EXPECT_OK(mock_check_pins(self->fd, self->buf, BUF_LEN,
					  rc ? 0 : 1));
		/* The pins are the child's to pay for, never ours */
		EXPECT_EQ(0, charged_kib(self, variant->counter));
		EXPECT_EQ(1, write(a.go[1], "g", 1));
	} else {
		rc = -ECHILD;
	}
	close(a.go[1]);
	close(a.ready[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	if (!rc)
		EXPECT_OK(obj_destroy(self->fd, stdev_id));
	EXPECT_OK(ioas_unmap_all(self->fd, a.ioas_id, NULL));
	EXPECT_OK(obj_destroy(self->fd, a.ioas_id));
	return rc;
}

/*
 * The process that pays for pins needs CAP_IPC_LOCK to go past its limit;
 * the one that makes the pins having it is not enough (a kernel thread
 * pinning for an emulated device has every capability): ENOMEM, nothing
 * pinned, nothing charged.
 */
TEST_F(account, payer_capability)
{
	if (!has_capability(CAP_IPC_LOCK))
		SKIP(return, "needs CAP_IPC_LOCK, to show it is not used");
	EXPECT_EQ(-ENOMEM, payer_attach(_metadata, self, variant, false));
}

/*
 * What counts is the capability the payer had when it mapped, as with
 * type1: a process that maps with CAP_IPC_LOCK and then drops it (QEMU's
 * -run-with user=) still has its pages pinned past its limit later.
 */
TEST_F(account, payer_capability_at_map)
{
	if (!has_capability(CAP_IPC_LOCK))
		SKIP(return, "needs CAP_IPC_LOCK");
	EXPECT_EQ(0, payer_attach(_metadata, self, variant, true));
}

/* Two processes, each pinning 6 of the 8 pages of RLIMIT_MEMLOCK */
struct sibling_args {
	__u64 mode;
	char *buf;		/* 6 pages of its own */
	int ready_fd;		/* the first one says it has pinned */
	int wait_fd;		/* then waits for this */
	int expect;		/* what the map must return */
};

static int sibling_child(void *arg)
{
	struct sibling_args *a = arg;
	struct rlimit lim;
	__u32 ioas_id;
	char c = 's';
	int fd, rc;

	lim.rlim_cur = 8 * page_size;
	lim.rlim_max = lim.rlim_cur;
	if (setrlimit(RLIMIT_MEMLOCK, &lim) || drop_capability(CAP_IPC_LOCK))
		return child_failed(2, "limit and capability");
	fd = iommufd_open();
	if (fd < 0 || option_set(fd, IOMMU_OPTION_RLIMIT_MODE, 0, a->mode) ||
	    ioas_alloc(fd, &ioas_id) ||
	    mock_domain(fd, ioas_id, NULL, NULL, NULL))
		return child_failed(3, "setup");
	rc = ioas_map_at(fd, ioas_id, a->buf, 6 * page_size,
			 MOCK_APERTURE_START);
	if (rc != a->expect) {
		fprintf(stderr, "# map: %d, wanted %d\n", rc, a->expect);
		return 4;
	}
	if (a->ready_fd >= 0 && write(a->ready_fd, &c, 1) != 1)
		return child_failed(5, "say ready");
	if (a->wait_fd >= 0 && read(a->wait_fd, &c, 1) != 1)
		return child_failed(6, "wait");
	close(fd);
	return 0;
}

/*
 * The per-user mode adds up the pins of all processes of the user; the
 * per-process mode counts each process on its own.
 */
TEST_F(account, limit_scope)
{
	struct sibling_args first = {
		.mode = variant->mode, .buf = self->buf, .expect = 0,
	};
	struct sibling_args second = {
		.mode = variant->mode, .buf = self->buf + 8 * page_size,
		.ready_fd = -1, .wait_fd = -1,
		.expect = variant->mode ? 0 : -ENOMEM,
	};
	int ready[2], go[2], status;
	pid_t pid;
	char c;

	ASSERT_OK(pipe(ready));
	ASSERT_OK(pipe(go));
	first.ready_fd = ready[1];
	first.wait_fd = go[0];
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(sibling_child(&first));
	ASSERT_EQ(1, read(ready[0], &c, 1));
	EXPECT_EQ(0, run_in_child(sibling_child, &second));
	ASSERT_EQ(1, write(go[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

TEST_HARNESS_MAIN
