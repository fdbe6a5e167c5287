// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd_demo.c - a narrated walk through /dev/iommu, for `make run`.
 *
 * Not a test: it tells in plain words what it does and what the kernel
 * answers, using the mock IOMMU that CONFIG_IOMMUFD_TEST builds in as the
 * device. It exits with status 0 when everything behaved as described, and
 * with status 1 and a message saying what did not.
 */
#define _GNU_SOURCE
#include <stdarg.h>

#include "iommufd_test_util.h"

#define DEMO_LEN (16 * page_size)

/* Stop the demo: @what went wrong, @rc says how */
static void fail(const char *what, int rc)
{
	fflush(stdout);
	fprintf(stderr, "\niommufd_demo: FAILED: %s", what);
	if (rc)
		fprintf(stderr, ": %s (errno %d)", strerror(-rc), -rc);
	fprintf(stderr, "\n");
	exit(1);
}

/* The step @what must have succeeded */
static void must(int rc, const char *what)
{
	if (rc)
		fail(what, rc);
}

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

/* Print the usable IOVA ranges of @ioas_id */
static void show_ranges(int fd, __u32 ioas_id)
{
	struct iommu_iova_range ranges[8];
	__u32 num = 8, i;
	__u64 align;

	must(ioas_ranges(fd, ioas_id, ranges, &num, &align),
	     "IOMMU_IOAS_IOVA_RANGES");
	say("   The IOAS can use %u IOVA range%s, in units of %llu byte%s:\n",
	    num, num == 1 ? "" : "s", (unsigned long long)align,
	    align == 1 ? "" : "s");
	for (i = 0; i != num; i++)
		say("     [0x%llx, 0x%llx]\n",
		    (unsigned long long)ranges[i].start,
		    (unsigned long long)ranges[i].last);
}

/* Check that each page of the buffer carries @pins pins, and say so */
static void show_pins(int fd, const void *buf, unsigned int pins,
		      const char *why)
{
	must(mock_check_pins(fd, buf, DEMO_LEN, pins),
	     "IOMMU_TEST_OP_MD_CHECK_REFS");
	say("   Every page of the buffer has exactly %u pin%s: %s.\n", pins,
	    pins == 1 ? "" : "s", why);
}

int main(void)
{
	__u32 ioas_id, copy_id, stdev_id, hwpt_id, idev_id, stdev2_id, hwpt2_id;
	__u64 iova = MOCK_APERTURE_START, copy_iova = 0, unmapped;
	char *buf;
	int fd, rc;

	say("iommufd demo: an I/O address space, a mock device, and memory.\n\n");

	say("1. Open /dev/iommu.\n");
	fd = iommufd_open();
	if (fd < 0)
		fail("opening " IOMMUFD_PATH, fd);
	say("   Got descriptor %d: a fresh iommufd context, no objects yet.\n",
	    fd);
	if (mock_probe() == -ENOTTY)
		fail("this kernel has no mock IOMMU (CONFIG_IOMMUFD_TEST)", 0);

	say("\n2. Allocate an IOAS, an I/O address space.\n");
	must(ioas_alloc(fd, &ioas_id), "IOMMU_IOAS_ALLOC");
	say("   The kernel named it IOAS %u.\n", ioas_id);
	show_ranges(fd, ioas_id);

	say("\n3. Map a %zu KiB buffer at IOVA 0x%llx.\n", DEMO_LEN / 1024,
	    (unsigned long long)iova);
	buf = alloc_shared(DEMO_LEN, page_size);
	if (buf == MAP_FAILED)
		fail("allocating the buffer", -errno);
	memset(buf, 0x42, DEMO_LEN);
	must(ioas_map_at(fd, ioas_id, buf, DEMO_LEN, iova), "IOMMU_IOAS_MAP");
	say("   Mapped. No device is attached, so nothing is pinned yet.\n");
	show_pins(fd, buf, 0, "no IOMMU needs the pages yet");

	say("\n4. Attach a mock device to the IOAS.\n");
	must(mock_domain(fd, ioas_id, &stdev_id, &hwpt_id, &idev_id),
	     "IOMMU_TEST_OP_MOCK_DOMAIN");
	say("   Device object %u (iommufd device %u) is attached through\n"
	    "   HWPT %u, an IOMMU domain the kernel made for it and filled\n"
	    "   with the existing mapping.\n", stdev_id, idev_id, hwpt_id);
	say("   Now the IOAS only offers what the mock IOMMU can translate:\n");
	show_ranges(fd, ioas_id);

	say("\n5. Ask the mock IOMMU what it translates.\n");
	must(mock_check_map(fd, hwpt_id, iova, buf, DEMO_LEN),
	     "IOMMU_TEST_OP_MD_CHECK_MAP");
	say("   HWPT %u translates IOVA 0x%llx..0x%llx to the buffer's pages.\n",
	    hwpt_id, (unsigned long long)iova,
	    (unsigned long long)(iova + DEMO_LEN - 1));
	show_pins(fd, buf, 1, "the domain pinned them");

	say("\n6. Attach a second mock device.\n");
	must(mock_domain(fd, ioas_id, &stdev2_id, &hwpt2_id, NULL),
	     "IOMMU_TEST_OP_MOCK_DOMAIN");
	say("   It joined HWPT %u%s.\n", hwpt2_id,
	    hwpt2_id == hwpt_id ? ", the same domain as the first one" : "");
	show_pins(fd, buf, 1, "one pin per page, however many devices");

	say("\n7. Copy the mapping into a second IOAS.\n");
	must(ioas_alloc(fd, &copy_id), "IOMMU_IOAS_ALLOC");
	must(ioas_copy(fd, copy_id, ioas_id, iova, DEMO_LEN, &copy_iova,
		       IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE),
	     "IOMMU_IOAS_COPY");
	say("   IOAS %u now maps the same memory at IOVA 0x%llx.\n", copy_id,
	    (unsigned long long)copy_iova);
	show_pins(fd, buf, 1, "the copy shares the pins of the original");

	say("\n8. Try to destroy IOAS %u while devices use it.\n", ioas_id);
	rc = obj_destroy(fd, ioas_id);
	if (rc != -EBUSY)
		fail("destroying a busy IOAS did not give EBUSY", rc);
	say("   Refused with EBUSY (\"%s\"): its HWPT still depends on it.\n",
	    strerror(EBUSY));

	say("\n9. Unmap the original mapping.\n");
	must(ioas_unmap(fd, ioas_id, iova, DEMO_LEN, &unmapped),
	     "IOMMU_IOAS_UNMAP");
	say("   %llu bytes unmapped.\n", (unsigned long long)unmapped);
	show_pins(fd, buf, 0,
		  "the copy's IOAS has no device, so it needs no pins");

	say("\n10. Detach the devices and destroy everything.\n");
	must(obj_destroy(fd, stdev_id), "IOMMU_DESTROY of the first device");
	must(obj_destroy(fd, stdev2_id), "IOMMU_DESTROY of the second device");
	rc = obj_destroy(fd, hwpt_id);
	if (rc != -ENOENT)
		fail("the automatic HWPT outlived its devices", rc);
	say("   The devices are gone, and HWPT %u went with them.\n", hwpt_id);
	must(obj_destroy(fd, ioas_id), "IOMMU_DESTROY of the IOAS");
	must(obj_destroy(fd, copy_id), "IOMMU_DESTROY of the copy's IOAS");
	say("   IOAS %u and IOAS %u destroyed.\n", ioas_id, copy_id);

	say("\n11. Close /dev/iommu.\n");
	must(close_check_unpinned(fd, buf, DEMO_LEN),
	     "closing and checking from a new context that nothing is pinned");
	munmap(buf, DEMO_LEN);
	say("   Closed; no page of the buffer is pinned any more.\n\n");
	say("iommufd demo: everything behaved as described.\n");
	return 0;
}
