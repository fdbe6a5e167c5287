// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd_vtd_demo.c - a narrated real-device walk through /dev/iommu, for
 * `make run`: QEMU's VT-d IOMMU and its "edu" PCI device, driven from
 * userspace through the VFIO device cdev (iommufd_edu.h).
 *
 * Not a test (iommufd_vtd is): it says in plain words what it does and
 * what the device did, checks each claim before making it, and exits with
 * status 0 when everything behaved as described, or with status 1 and a
 * message saying what did not.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdarg.h>

#include "iommufd_edu.h"

#define BUF_LEN (4 * page_size)
#define DMA_LEN 2048

#define IOVA_A		0x100000ULL
#define IOVA_B		0x200000ULL
#define IOVA_HOLE	0x300000ULL

static int kmsg = -1;

/* Stop the demo: @what went wrong, @rc says how */
static void fail(const char *what, int rc)
{
	fflush(stdout);
	fprintf(stderr, "\niommufd_vtd_demo: FAILED: %s", what);
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

/* What the demo states must be true */
static void check(bool ok, const char *what)
{
	if (!ok)
		fail(what, 0);
}

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

/* The first bytes of @buf, printable, in quotes */
static const char *text(const char *buf)
{
	static char out[4][64];
	static int which;
	char *o = out[which++ % 4];
	int i;

	o[0] = '"';
	for (i = 0; i < 44; i++)
		o[i + 1] = isprint((unsigned char)buf[i]) ? buf[i] : '.';
	memcpy(o + 45, "...\"", 5);
	return o;
}

/* Fill @buf with @msg over and over */
static void fill_text(char *buf, size_t len, const char *msg)
{
	size_t i, n = strlen(msg);

	for (i = 0; i != len; i++)
		buf[i] = msg[i % n];
}

static long pinned_kib(void)
{
	return proc_status_kib("VmPin");
}

/* Quote the IOMMU's report of a fault at @iova, if the log has it */
static void show_fault(__u64 iova)
{
	char needle[64], line[512];

	snprintf(needle, sizeof(needle), "fault addr 0x%llx ",
		 (unsigned long long)iova);
	if (kmsg_wait_for(kmsg, needle, line, sizeof(line), 1000))
		say("   The guest kernel logged the IOMMU's fault report:\n"
		    "     %s\n", line);
	else
		say("   (The IOMMU's fault report is not in the kernel log:\n"
		    "   QEMU and the DMAR driver both drop repeated reports.)\n");
}

static void show_ranges(int fd, __u32 ioas_id)
{
	struct iommu_iova_range r[8];
	__u32 num = 8, i;
	__u64 align;

	must(ioas_ranges(fd, ioas_id, r, &num, &align),
	     "IOMMU_IOAS_IOVA_RANGES");
	say("   IOAS %u can map these IOVA ranges, in %llu-byte units:\n",
	    ioas_id, (unsigned long long)align);
	for (i = 0; i != num; i++)
		say("     [0x%llx, 0x%llx]\n", (unsigned long long)r[i].start,
		    (unsigned long long)r[i].last);
}

static char *new_buffer(void)
{
	char *buf = alloc_shared(BUF_LEN, page_size);

	if (buf == MAP_FAILED)
		fail("allocating a buffer", -errno);
	return buf;
}

int main(void)
{
	__u32 ioas_id, ioas2_id, hwpt_id, hwpt2_id, pt_id, num = 8;
	struct iommu_iova_range r[8];
	struct iommu_hw_info_vtd vtd;
	struct iommu_hw_info info;
	char *a, *b, *c, *d, *save;
	char bdf[32], drv[64];
	__u64 unmapped;
	struct edu e;
	long pin0;
	int fd, rc;

	say("iommufd demo with a real IOMMU: QEMU's emulated Intel VT-d and its\n"
	    "\"edu\" PCI device, whose DMA engine copies between its own 4 KiB\n"
	    "buffer and memory. This program is the device's driver.\n\n");

	say("1. Find the device and hand it to VFIO.\n");
	rc = edu_find(bdf, sizeof(bdf));
	if (rc)
		fail("no edu device (PCI 1234:11e8) in this VM: run this in the vtd VM (make run)",
		     0);
	if (!pci_has_iommu_group(bdf))
		fail("the edu device is not behind an IOMMU (intel-iommu, intel_iommu=on)",
		     0);
	say("   The edu device (PCI 1234:11e8) is at %s.\n", bdf);
	must(edu_use_vfio_pci(bdf), "binding the device to vfio-pci");
	pci_driver(bdf, drv, sizeof(drv));
	say("   It is now driven by %s (driver_override, drivers_probe).\n",
	    drv);

	say("\n2. Open /dev/iommu and bind the device's VFIO cdev to it.\n");
	fd = iommufd_open();
	if (fd < 0)
		fail("opening " IOMMUFD_PATH, fd);
	kmsg = kmsg_open();
	must(edu_open(&e, bdf, fd),
	     "opening the cdev, VFIO_DEVICE_BIND_IOMMUFD, mapping BAR0");
	say("   %s is bound: iommufd calls the device object %u.\n", e.cdev,
	    e.dev_id);
	say("   BAR0 (%zu KiB) is mapped into this process; the device says it\n"
	    "   is edu version %u.%u; bus mastering is on. Its DMA is still\n"
	    "   blocked: it is not attached to any address space yet.\n",
	    e.bar0_size / 1024, edu_read32(&e, EDU_REG_ID) >> 24,
	    (edu_read32(&e, EDU_REG_ID) >> 16) & 0xff);
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.dev_id = e.dev_id;
	info.data_len = sizeof(vtd);
	info.data_uptr = (uintptr_t)&vtd;
	must(ifd_ioctl(fd, IOMMU_GET_HW_INFO, &info), "IOMMU_GET_HW_INFO");
	check(info.out_data_type == IOMMU_HW_INFO_TYPE_INTEL_VTD,
	      "IOMMU_GET_HW_INFO did not report Intel VT-d");
	say("   IOMMU_GET_HW_INFO: an Intel VT-d IOMMU, capability register\n"
	    "   0x%llx (%u-bit guest addresses), extended capability 0x%llx.\n",
	    (unsigned long long)vtd.cap_reg,
	    (unsigned int)((vtd.cap_reg >> 16) & 0x3f) + 1,
	    (unsigned long long)vtd.ecap_reg);

	say("\n3. Allocate an I/O address space (IOAS) and attach the device.\n");
	must(ioas_alloc(fd, &ioas_id), "IOMMU_IOAS_ALLOC");
	pt_id = ioas_id;
	must(vfio_attach_pt(e.devfd, &pt_id), "VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	hwpt_id = pt_id;
	say("   IOAS %u. VFIO_DEVICE_ATTACH_IOMMUFD_PT attached the device\n"
	    "   through HWPT %u: a VT-d page table the kernel made for IOAS %u.\n",
	    ioas_id, hwpt_id, ioas_id);
	show_ranges(fd, ioas_id);
	say("   The gap 0xfee00000..0xfeefffff is VT-d's interrupt window:\n"
	    "   device writes there are interrupts, so it can never be mapped.\n");

	say("\n4. Map two %zu KiB buffers.\n", BUF_LEN / 1024);
	pin0 = pinned_kib();
	a = new_buffer();
	b = new_buffer();
	save = malloc(BUF_LEN);
	check(save, "out of memory");
	fill_text(a, BUF_LEN, "Hello from buffer A, at IOVA 0x100000! ");
	memset(b, '.', BUF_LEN);
	must(ioas_map_at(fd, ioas_id, a, BUF_LEN, IOVA_A), "IOMMU_IOAS_MAP A");
	must(ioas_map_at(fd, ioas_id, b, BUF_LEN, IOVA_B), "IOMMU_IOAS_MAP B");
	say("   Buffer A at IOVA 0x%llx holds %s\n", IOVA_A, text(a));
	say("   Buffer B at IOVA 0x%llx holds %s\n", IOVA_B, text(b));
	check(pinned_kib() == pin0 + 2 * (long)BUF_LEN / 1024,
	      "VmPin did not grow by the mapped size");
	say("   Their pages are pinned now (VmPin: %ld kB): they cannot move\n"
	    "   while the device may use them.\n", pinned_kib());

	say("\n5. DMA from memory to the device, and back.\n");
	must(edu_from_ram(&e, IOVA_A, 0, DMA_LEN), "DMA from IOVA_A");
	say("   The device copied %d bytes from IOVA 0x%llx into its buffer.\n",
	    DMA_LEN, IOVA_A);
	must(edu_to_ram(&e, 0, IOVA_B, DMA_LEN), "DMA to IOVA_B");
	say("   The device copied them from its buffer to IOVA 0x%llx.\n",
	    IOVA_B);
	check(!memcmp(a, b, DMA_LEN), "buffer B does not hold A's bytes");
	check(all_bytes(b + DMA_LEN, '.', BUF_LEN - DMA_LEN),
	      "buffer B changed beyond the 2048 bytes");
	say("   Buffer B now holds %s\n"
	    "   exactly the %d bytes of A, and nothing else changed.\n",
	    text(b), DMA_LEN);

	say("\n6. DMA to an IOVA where nothing is mapped.\n");
	memcpy(save, b, BUF_LEN);
	must(edu_to_ram(&e, 0, IOVA_HOLE, DMA_LEN), "DMA to IOVA_HOLE");
	check(!memcmp(save, b, BUF_LEN), "buffer B changed");
	say("   The device wrote %d bytes to IOVA 0x%llx.\n", DMA_LEN,
	    IOVA_HOLE);
	say("   DMA to unmapped IOVA 0x%llx was blocked by the IOMMU: the\n"
	    "   buffers are unchanged.\n", IOVA_HOLE);
	show_fault(IOVA_HOLE);

	say("\n7. Unmap buffer B and try again.\n");
	must(ioas_unmap(fd, ioas_id, IOVA_B, BUF_LEN, &unmapped),
	     "IOMMU_IOAS_UNMAP");
	say("   IOMMU_IOAS_UNMAP removed %llu bytes at IOVA 0x%llx; VmPin is\n"
	    "   down to %ld kB.\n", (unsigned long long)unmapped, IOVA_B,
	    pinned_kib());
	memset(b, '.', BUF_LEN);
	must(edu_to_ram(&e, 0, IOVA_B, DMA_LEN), "DMA to unmapped IOVA_B");
	check(all_bytes(b, '.', BUF_LEN), "buffer B changed after unmap");
	say("   The device wrote to IOVA 0x%llx again: blocked. Buffer B is\n"
	    "   still in this process, but the device can no longer reach it\n"
	    "   (the kernel flushed the IOMMU's cached translation).\n",
	    IOVA_B);
	show_fault(IOVA_B);

	say("\n8. Replace the IOAS under the attached device.\n");
	must(ioas_alloc(fd, &ioas2_id), "IOMMU_IOAS_ALLOC");
	c = new_buffer();
	d = new_buffer();
	fill_text(c, BUF_LEN, "Greetings from buffer C, in the second IOAS. ");
	memset(d, '.', BUF_LEN);
	must(ioas_map_at(fd, ioas2_id, c, BUF_LEN, IOVA_A), "IOMMU_IOAS_MAP C");
	must(ioas_map_at(fd, ioas2_id, d, BUF_LEN, IOVA_B), "IOMMU_IOAS_MAP D");
	say("   IOAS %u maps buffer C at IOVA 0x%llx (where IOAS %u has A) and\n"
	    "   buffer D at IOVA 0x%llx.\n", ioas2_id, IOVA_A, ioas_id, IOVA_B);
	pt_id = ioas2_id;
	must(vfio_attach_pt(e.devfd, &pt_id),
	     "VFIO_DEVICE_ATTACH_IOMMUFD_PT (replace)");
	hwpt2_id = pt_id;
	say("   VFIO_DEVICE_ATTACH_IOMMUFD_PT with IOAS %u, while attached:\n"
	    "   the kernel moved the device from HWPT %u to HWPT %u without\n"
	    "   detaching it first (iommufd_device_replace).\n", ioas2_id,
	    hwpt_id, hwpt2_id);
	memcpy(save, a, BUF_LEN);
	must(edu_from_ram(&e, IOVA_A, 0, DMA_LEN), "DMA from IOVA_A");
	must(edu_to_ram(&e, 0, IOVA_B, DMA_LEN), "DMA to IOVA_B");
	check(!memcmp(d, c, DMA_LEN), "buffer D does not hold C's bytes");
	check(!memcmp(save, a, BUF_LEN), "buffer A changed");
	say("   The device copied %d bytes from IOVA 0x%llx to 0x%llx: D now\n"
	    "   holds %s\n"
	    "   IOVA 0x%llx now leads to buffer C; A is untouched.\n",
	    DMA_LEN, IOVA_A, IOVA_B, text(d), IOVA_A);
	check(obj_destroy(fd, hwpt_id) == -ENOENT,
	      "the first HWPT still exists");
	must(ioas_ranges(fd, ioas_id, r, &num, NULL), "IOMMU_IOAS_IOVA_RANGES");
	check(num == 1, "IOAS 1 still has reserved ranges");
	say("   HWPT %u went away with its last device, and IOAS %u, now without\n"
	    "   a device, can use every IOVA again. VmPin: %ld kB (C and D; A\n"
	    "   is no longer pinned, nothing translates to it).\n", hwpt_id,
	    ioas_id, pinned_kib());

	say("\n9. Detach the device.\n");
	must(vfio_detach_pt(e.devfd), "VFIO_DEVICE_DETACH_IOMMUFD_PT");
	memcpy(save, c, BUF_LEN);
	must(edu_to_ram(&e, 0, IOVA_A, DMA_LEN), "DMA to IOVA_A");
	check(!memcmp(save, c, BUF_LEN), "buffer C changed after detach");
	say("   VFIO_DEVICE_DETACH_IOMMUFD_PT: the device wrote to IOVA 0x%llx\n"
	    "   and was blocked; buffer C is unchanged. A detached device can\n"
	    "   reach nothing.\n", IOVA_A);
	show_fault(IOVA_A);

	say("\n10. Re-attach, then close everything while it is live.\n");
	pt_id = ioas_id;
	must(vfio_attach_pt(e.devfd, &pt_id), "VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	say("   Attached to IOAS %u again (HWPT %u); VmPin: %ld kB.\n", ioas_id,
	    pt_id, pinned_kib());
	must(edu_close(&e), "closing the device");
	close(fd);
	check(pinned_kib() == pin0, "pages are still pinned after close");
	say("   Closed the device and /dev/iommu without unmapping or\n"
	    "   detaching: VmPin is back to %ld kB, everything was released.\n",
	    pinned_kib());

	say("\nDone: the device reached exactly the memory the IOAS mapped, and\n"
	    "nothing else.\n");
	return 0;
}
