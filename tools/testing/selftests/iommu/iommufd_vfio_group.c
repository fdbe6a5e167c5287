// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd_vfio_group.c - a real device through the VFIO group path, the way
 * DPDK, SPDK and every VFIO program older than iommufd reach us: a
 * container (/dev/vfio/vfio, which iommufd serves, or a /dev/iommu fd
 * handed to VFIO_GROUP_SET_CONTAINER), the type1 ioctls on it, and the
 * device fd from VFIO_GROUP_GET_DEVICE_FD.
 *
 * The device is QEMU's edu (iommufd_edu.h), which copies bytes between its
 * own buffer and IOVAs, so every mapping is checked by real DMA: bytes land
 * exactly where the container maps them, and DMA to an IOVA that is not
 * mapped is blocked and reported by the IOMMU.
 *
 * The fixture variants are the two kinds of container times the two type1
 * flavours DPDK and QEMU ask for (v1, DPDK 22.11; v2, QEMU). The fixture
 * opens the container and the group and nothing else; each test makes the
 * steps it is about.
 *
 * Runs in the real-IOMMU VMs (scripts/suites/vtd, amd, smmuv3). Without
 * an edu device every test is skipped, saying why.
 *
 * The program also runs on a kernel whose /dev/vfio/vfio is VFIO's own
 * type1 container (make KERNEL=type1), where the tests hold the same facts
 * except where the rst lists a difference (container_is_iommufd()). With
 * IOMMUFD_TRANSCRIPT set, it writes a transcript of every container and
 * group ioctl of the /dev/vfio/vfio variants, for `make compat-diff` to
 * compare between the two kernels (see "Transcript mode" below).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include "../kselftest_harness.h"
#include "iommufd_real.h"
#include "iommufd_type1.h"

#define BUF_PAGES	16
#define BUF_LEN		(BUF_PAGES * page_size)
#define HUGE_LEN	(2UL << 20)

/* IOVAs the tests use: all below the edu's 28-bit limit */
#define IOVA_A		0x100000ULL
#define IOVA_B		0x200000ULL
#define IOVA_HOLE	0x300000ULL	/* never mapped */
#define IOVA_HUGE	0x800000ULL	/* 2 MiB aligned */

/* Emulated DMA under TCG on a busy machine: be generous */
#define GROUP_TIMEOUT	600

/*
 * Transcript mode. IOMMUFD_TRANSCRIPT="-" (or "1") writes to standard
 * output, any other value names a file the lines are appended to. Each
 * container or group ioctl the /dev/vfio/vfio variants make goes through
 * vioctl(), which writes one line:
 *
 *	TRANSCRIPT <variant>.<test> <IOCTL> <inputs> = <result> <outputs>
 *
 * The result is the return value where it carries data (CHECK_EXTENSION,
 * GET_API_VERSION), "fd" for a new file descriptor, 0, or the errno's
 * name. Inputs and outputs are what the program chose or the kernel
 * returned, never a user address or descriptor number, so the lines are
 * the same from boot to boot and can be compared between kernels.
 */
#define TR_PREFIX	"TRANSCRIPT "

static int tr_fd = -1;		/* where lines go; -1: transcript off */
static char tr_where[96];	/* "<variant>.<test>" */

/* Turn the transcript on for this test, if asked to and @on */
static void tr_begin(const char *variant, const char *test, bool on)
{
	const char *dest = getenv("IOMMUFD_TRANSCRIPT");

	tr_fd = -1;
	if (!on || !dest || !*dest)
		return;
	snprintf(tr_where, sizeof(tr_where), "%s.%s", variant, test);
	if (!strcmp(dest, "-") || !strcmp(dest, "1"))
		tr_fd = STDOUT_FILENO;
	else
		tr_fd = open(dest, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			     0644);
}

/* One transcript line, written in one write() */
static void __printf(1, 2) tr_line(const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	if (tr_fd < 0)
		return;
	n = snprintf(line, sizeof(line), TR_PREFIX "%s ", tr_where);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	fflush(stdout);
	if (write(tr_fd, line, n) != n)
		tr_fd = -1;
}

/* Append to @buf (of @len, holding a string) */
static void __printf(3, 4) tr_cat(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used >= len - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static const char *tr_errno(int err)
{
	static const char *const names[] = {
		[EPERM] = "EPERM",	[ENOENT] = "ENOENT",
		[EIO] = "EIO",		[E2BIG] = "E2BIG",
		[EBADF] = "EBADF",	[EAGAIN] = "EAGAIN",
		[ENOMEM] = "ENOMEM",	[EACCES] = "EACCES",
		[EFAULT] = "EFAULT",	[EBUSY] = "EBUSY",
		[EEXIST] = "EEXIST",	[ENODEV] = "ENODEV",
		[EINVAL] = "EINVAL",	[ENOSPC] = "ENOSPC",
		[ENOTTY] = "ENOTTY",	[ERANGE] = "ERANGE",
		[ENXIO] = "ENXIO",	[EOVERFLOW] = "EOVERFLOW",
		[EOPNOTSUPP] = "EOPNOTSUPP", [EBADFD] = "EBADFD",
	};
	static char other[16];

	if (err > 0 && err < (int)ARRAY_SIZE(names) && names[err])
		return names[err];
	snprintf(other, sizeof(other), "errno%d", err);
	return other;
}

/* VFIO_CHECK_EXTENSION's and VFIO_SET_IOMMU's argument, by name */
static const char *tr_ext(unsigned long ext)
{
	static const char *const names[] = {
		[VFIO_TYPE1_IOMMU] = "TYPE1",
		[VFIO_SPAPR_TCE_IOMMU] = "SPAPR_TCE",
		[VFIO_TYPE1v2_IOMMU] = "TYPE1v2",
		[VFIO_DMA_CC_IOMMU] = "DMA_CC_IOMMU",
		[VFIO_EEH] = "EEH",
		[VFIO_TYPE1_NESTING_IOMMU] = "TYPE1_NESTING",
		[VFIO_SPAPR_TCE_v2_IOMMU] = "SPAPR_TCE_v2",
		[VFIO_NOIOMMU_IOMMU] = "NOIOMMU",
		[VFIO_UNMAP_ALL] = "UNMAP_ALL",
		[VFIO_UPDATE_VADDR] = "UPDATE_VADDR",
	};
	static char other[24];

	if (ext < ARRAY_SIZE(names) && names[ext])
		return names[ext];
	snprintf(other, sizeof(other), "%lu", ext);
	return other;
}

/* The dirty bitmap at @data, @size bytes: its first words in hex */
static void tr_bitmap(char *buf, size_t len, const __u64 *data, __u64 size)
{
	__u64 i, words = size / sizeof(__u64);

	tr_cat(buf, len, " bits=");
	for (i = 0; i != words && i != 4; i++)
		tr_cat(buf, len, "%s%llx", i ? "," : "",
		       (unsigned long long)data[i]);
	if (words > 4)
		tr_cat(buf, len, ",...");
}

/* What VFIO_IOMMU_GET_INFO returned in @info, @argsz bytes of it asked */
static void tr_info(char *buf, size_t len,
		    const struct vfio_iommu_type1_info *info, __u32 argsz)
{
	__u32 off = info->cap_offset, hops = 0, i;

	tr_cat(buf, len, " argsz=%u flags=0x%x iova_pgsizes=0x%llx cap_offset=%u",
	       info->argsz, info->flags,
	       (unsigned long long)info->iova_pgsizes, info->cap_offset);
	if (!(info->flags & VFIO_IOMMU_INFO_CAPS))
		return;
	while (off && off + sizeof(struct vfio_info_cap_header) <= argsz &&
	       hops++ < 16) {
		const struct vfio_info_cap_header *hdr = (void *)info + off;
		const struct vfio_iommu_type1_info_cap_iova_range *r;
		const struct vfio_iommu_type1_info_cap_migration *m;
		const struct vfio_iommu_type1_info_dma_avail *a;

		tr_cat(buf, len, " | cap@%u id=%u v=%u", off, hdr->id,
		       hdr->version);
		switch (hdr->id) {
		case VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE:
			r = (const void *)hdr;
			tr_cat(buf, len, " iova_ranges=%u", r->nr_iovas);
			for (i = 0; i != r->nr_iovas && i != 8; i++)
				tr_cat(buf, len, " 0x%llx-0x%llx",
				       (unsigned long long)r->iova_ranges[i].start,
				       (unsigned long long)r->iova_ranges[i].end);
			break;
		case VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION:
			m = (const void *)hdr;
			tr_cat(buf, len,
			       " migration flags=0x%x pgsize_bitmap=0x%llx max_dirty_bitmap_size=0x%llx",
			       m->flags, (unsigned long long)m->pgsize_bitmap,
			       (unsigned long long)m->max_dirty_bitmap_size);
			break;
		case VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL:
			a = (const void *)hdr;
			tr_cat(buf, len, " dma_avail=%u", a->avail);
			break;
		}
		off = hdr->next;
	}
}

/* The inputs of a container or group ioctl that matter, into @buf */
static void tr_inputs(unsigned long req, const void *arg, char *buf,
		      size_t len)
{
	const struct vfio_iommu_type1_dirty_bitmap *dirty = arg;
	const struct vfio_iommu_type1_dma_unmap *unmap = arg;
	const struct vfio_iommu_type1_dma_map *map = arg;
	const struct vfio_iommu_type1_dirty_bitmap_get *get;
	const struct vfio_bitmap *bitmap;

	buf[0] = 0;
	switch (req) {
	case VFIO_CHECK_EXTENSION:
	case VFIO_SET_IOMMU:
		tr_cat(buf, len, " %s", tr_ext((uintptr_t)arg));
		break;
	case VFIO_GROUP_SET_CONTAINER:
		tr_cat(buf, len, " fd=%s", *(const int *)arg < 0 ? "-1" : "fd");
		break;
	case VFIO_GROUP_GET_DEVICE_FD:
		tr_cat(buf, len, " %s", (const char *)arg);
		break;
	case VFIO_IOMMU_GET_INFO:
		tr_cat(buf, len, " argsz=%u", *(const __u32 *)arg);
		break;
	case VFIO_IOMMU_MAP_DMA:
		tr_cat(buf, len,
		       " argsz=%u flags=0x%x iova=0x%llx size=0x%llx vaddr%%page=0x%llx",
		       map->argsz, map->flags, (unsigned long long)map->iova,
		       (unsigned long long)map->size,
		       (unsigned long long)(map->vaddr % page_size));
		break;
	case VFIO_IOMMU_UNMAP_DMA:
		tr_cat(buf, len, " argsz=%u flags=0x%x iova=0x%llx size=0x%llx",
		       unmap->argsz, unmap->flags,
		       (unsigned long long)unmap->iova,
		       (unsigned long long)unmap->size);
		if (!(unmap->flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) ||
		    unmap->argsz < sizeof(*unmap) + sizeof(*bitmap))
			break;
		bitmap = (const void *)unmap->data;
		tr_cat(buf, len, " pgsize=0x%llx bitmap_size=%llu",
		       (unsigned long long)bitmap->pgsize,
		       (unsigned long long)bitmap->size);
		break;
	case VFIO_IOMMU_DIRTY_PAGES:
		tr_cat(buf, len, " argsz=%u flags=0x%x", dirty->argsz,
		       dirty->flags);
		if (!(dirty->flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP) ||
		    dirty->argsz < sizeof(*dirty) + sizeof(*get))
			break;
		get = (const void *)dirty->data;
		tr_cat(buf, len,
		       " iova=0x%llx size=0x%llx pgsize=0x%llx bitmap_size=%llu",
		       (unsigned long long)get->iova,
		       (unsigned long long)get->size,
		       (unsigned long long)get->bitmap.pgsize,
		       (unsigned long long)get->bitmap.size);
		break;
	}
}

/* What a successful container or group ioctl returned, into @buf */
static void tr_outputs(unsigned long req, const void *arg, __u32 argsz,
		       char *buf, size_t len)
{
	const struct vfio_iommu_type1_dirty_bitmap *dirty = arg;
	const struct vfio_iommu_type1_dma_unmap *unmap = arg;
	const struct vfio_iommu_type1_dirty_bitmap_get *get;
	const struct vfio_bitmap *bitmap;

	buf[0] = 0;
	switch (req) {
	case VFIO_GROUP_GET_STATUS:
		tr_cat(buf, len, " flags=0x%x",
		       ((const struct vfio_group_status *)arg)->flags);
		break;
	case VFIO_IOMMU_GET_INFO:
		tr_info(buf, len, arg, argsz);
		break;
	case VFIO_IOMMU_UNMAP_DMA:
		tr_cat(buf, len, " size=0x%llx",
		       (unsigned long long)unmap->size);
		if (!(unmap->flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP))
			break;
		bitmap = (const void *)unmap->data;
		tr_bitmap(buf, len, bitmap->data, bitmap->size);
		break;
	case VFIO_IOMMU_DIRTY_PAGES:
		if (!(dirty->flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP))
			break;
		get = (const void *)dirty->data;
		tr_bitmap(buf, len, get->bitmap.data, get->bitmap.size);
		break;
	}
}

static const char *tr_name(unsigned long req)
{
	switch (req) {
	case VFIO_GET_API_VERSION:	return "GET_API_VERSION";
	case VFIO_CHECK_EXTENSION:	return "CHECK_EXTENSION";
	case VFIO_SET_IOMMU:		return "SET_IOMMU";
	case VFIO_GROUP_GET_STATUS:	return "GROUP_GET_STATUS";
	case VFIO_GROUP_SET_CONTAINER:	return "GROUP_SET_CONTAINER";
	case VFIO_GROUP_UNSET_CONTAINER: return "GROUP_UNSET_CONTAINER";
	case VFIO_GROUP_GET_DEVICE_FD:	return "GROUP_GET_DEVICE_FD";
	case VFIO_IOMMU_GET_INFO:	return "IOMMU_GET_INFO";
	case VFIO_IOMMU_MAP_DMA:	return "IOMMU_MAP_DMA";
	case VFIO_IOMMU_UNMAP_DMA:	return "IOMMU_UNMAP_DMA";
	case VFIO_IOMMU_DIRTY_PAGES:	return "IOMMU_DIRTY_PAGES";
	default:			return "ioctl?";
	}
}

/*
 * ioctl() on a container or group, logged in transcript mode. Returns
 * what ioctl() returns, with errno.
 */
static int vioctl(int fd, unsigned long req, void *arg)
{
	char in[256], out[1536];
	__u32 argsz = 0;
	int rc, err;

	if (tr_fd >= 0) {
		tr_inputs(req, arg, in, sizeof(in));
		if (req == VFIO_IOMMU_GET_INFO)
			argsz = *(__u32 *)arg;
	}
	rc = ioctl(fd, req, arg);
	err = errno;
	if (tr_fd < 0) {
		errno = err;
		return rc;
	}
	if (rc < 0) {
		tr_line("%s%s = %s", tr_name(req), in, tr_errno(err));
	} else if (req == VFIO_GET_API_VERSION ||
		   req == VFIO_CHECK_EXTENSION) {
		tr_line("%s%s = %d", tr_name(req), in, rc);
	} else if (req == VFIO_GROUP_GET_DEVICE_FD) {
		tr_line("%s%s = fd", tr_name(req), in);
	} else {
		tr_outputs(req, arg, argsz, out, sizeof(out));
		tr_line("%s%s = %d%s", tr_name(req), in, rc, out);
	}
	errno = err;
	return rc;
}

/* vioctl() of the ioctls whose argument is a number */
static int vioctl_val(int fd, unsigned long req, unsigned long val)
{
	return vioctl(fd, req, (void *)(uintptr_t)val);
}

/*
 * Is @container one of ours (an iommufd context, /dev/iommu or our
 * /dev/vfio/vfio), rather than VFIO's own type1 container? Only iommufd
 * knows IOMMU_OPTION; VFIO's container answers EINVAL or ENOTTY.
 */
static bool container_is_iommufd(int container)
{
	struct iommu_option opt = {
		.size = sizeof(opt),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_GET,
	};

	return !ioctl(container, IOMMU_OPTION, &opt);
}

FIXTURE(group)
{
	char bdf[32];
	struct edu e;
	const struct real_iommu *iommu;	/* what the device is behind */
	int container;	/* /dev/vfio/vfio or /dev/iommu */
	bool iommufd;	/* the container is iommufd's, not VFIO's own type1 */
	int groupfd;	/* /dev/vfio/N */
	char *a, *b;	/* BUF_LEN each, 4 KiB pages */
	char *huge;	/* HUGE_LEN of hugetlb memory */
};

FIXTURE_VARIANT(group)
{
	const char *name;	/* for the transcript */
	const char *container_path;
	unsigned long type;
	/* Which accounting /proc/self/status shows the pins in */
	const char *pin_key;
};

/* /dev/vfio/vfio charges mm->locked_vm, like VFIO type1 */
FIXTURE_VARIANT_ADD(group, vfio_type1)
{
	.name = "vfio_type1",
	.container_path = "/dev/vfio/vfio",
	.type = VFIO_TYPE1_IOMMU,
	.pin_key = "VmLck",
};

FIXTURE_VARIANT_ADD(group, vfio_type1v2)
{
	.name = "vfio_type1v2",
	.container_path = "/dev/vfio/vfio",
	.type = VFIO_TYPE1v2_IOMMU,
	.pin_key = "VmLck",
};

/* /dev/iommu charges the user, and shows the pins in VmPin */
FIXTURE_VARIANT_ADD(group, iommufd_type1)
{
	.name = "iommufd_type1",
	.container_path = IOMMUFD_PATH,
	.type = VFIO_TYPE1_IOMMU,
	.pin_key = "VmPin",
};

FIXTURE_VARIANT_ADD(group, iommufd_type1v2)
{
	.name = "iommufd_type1v2",
	.container_path = IOMMUFD_PATH,
	.type = VFIO_TYPE1v2_IOMMU,
	.pin_key = "VmPin",
};

FIXTURE_SETUP(group)
{
	int rc;

	self->container = -1;
	self->groupfd = -1;
	self->e.devfd = -1;
	rc = edu_find(self->bdf, sizeof(self->bdf));
	if (rc)
		SKIP(return,
		     "no QEMU edu device (PCI %04x:%04x): this test runs in the real-IOMMU VMs (scripts/suites/vtd, amd, smmuv3)",
		     EDU_VENDOR, EDU_DEVICE);
	/* First: under a device tree, probing a driver makes the group */
	rc = edu_use_vfio_pci(self->bdf);
	if (!pci_has_iommu_group(self->bdf))
		SKIP(return, "the edu device %s is not behind an IOMMU",
		     self->bdf);
	ASSERT_OK(rc);
	self->iommu = real_iommu_of(self->bdf);
	ASSERT_NE(NULL, self->iommu);

	self->container = open(variant->container_path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->container)
		TH_LOG("open %s: %s", variant->container_path,
		       strerror(errno));
	self->iommufd = container_is_iommufd(self->container);
	/* The transcript compares /dev/vfio/vfio between kernels */
	tr_begin(variant->name, _metadata->name,
		 !strcmp(variant->container_path, "/dev/vfio/vfio"));
	self->groupfd = vfio_group_open(self->bdf, false);
	ASSERT_LE(0, self->groupfd);

	self->a = alloc_shared(BUF_LEN, page_size);
	self->b = alloc_shared(BUF_LEN, page_size);
	ASSERT_NE(MAP_FAILED, self->a);
	ASSERT_NE(MAP_FAILED, self->b);
	fill_pattern(self->a, BUF_LEN, 1);
	fill_pattern(self->b, BUF_LEN, 2);
	self->huge = mmap(NULL, HUGE_LEN, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	ASSERT_NE(MAP_FAILED, self->huge)
		TH_LOG("no 2 MiB hugetlb page (vm.nr_hugepages?)");
	fill_pattern(self->huge, HUGE_LEN, 3);
}

FIXTURE_TEARDOWN(group)
{
	edu_close(&self->e);
	if (self->groupfd >= 0)
		close(self->groupfd);
	if (self->container >= 0)
		close(self->container);
}

static int set_container(int groupfd, int container)
{
	return vioctl(groupfd, VFIO_GROUP_SET_CONTAINER, &container) ? -errno
								      : 0;
}

static int unset_container(int groupfd)
{
	return vioctl(groupfd, VFIO_GROUP_UNSET_CONTAINER, NULL) ? -errno : 0;
}

static int set_iommu(int container, unsigned long type)
{
	return vioctl_val(container, VFIO_SET_IOMMU, type) ? -errno : 0;
}

static int map_dma(int container, void *buf, __u64 iova, __u64 size,
		   __u32 flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = (uintptr_t)buf,
		.iova = iova,
		.size = size,
	};

	return vioctl(container, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

#define MAP_RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

/* UNMAP_DMA; *@unmapped (if not NULL) receives the size unmapped */
static int unmap_dma(int container, __u64 iova, __u64 size, __u32 flags,
		     __u64 *unmapped)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = flags,
		.iova = iova,
		.size = size,
	};

	if (vioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		return -errno;
	if (unmapped)
		*unmapped = unmap.size;
	return 0;
}

/* VFIO_GROUP_GET_DEVICE_FD, then the edu set up for DMA */
static int group_device_open(struct edu *e, const char *bdf, int groupfd)
{
	memset(e, 0, sizeof(*e));
	str_copy(e->bdf, sizeof(e->bdf), bdf);
	e->devfd = vioctl(groupfd, VFIO_GROUP_GET_DEVICE_FD, (void *)bdf);
	if (e->devfd < 0) {
		e->devfd = -1;
		return -errno;
	}
	return edu_init(e);
}

/*
 * Everything up to a device that can DMA: the group into the container,
 * the IOMMU type, the device fd. What DPDK's rte_vfio_setup_device() does.
 */
static int group_connect(int container, int groupfd, unsigned long type,
			 struct edu *e, const char *bdf)
{
	int rc;

	rc = set_container(groupfd, container);
	if (rc)
		return rc;
	rc = set_iommu(container, type);
	if (rc)
		return rc;
	return group_device_open(e, bdf, groupfd);
}

/*
 * The device copies 2 KiB from @src_iova into its buffer and back out to
 * @dst_iova; @src and @dst are what those IOVAs map. 0 if the bytes landed
 * exactly, else a negative errno or the offset of the first wrong byte + 1.
 */
static long dma_round_trip(struct edu *e, __u64 src_iova, const void *src,
			   __u64 dst_iova, void *dst)
{
	long diff;
	int rc;

	memset(dst, 0, 2048);
	rc = edu_from_ram(e, src_iova, 0, 2048);
	if (rc)
		return rc;
	rc = edu_to_ram(e, 0, dst_iova, 2048);
	if (rc)
		return rc;
	diff = first_diff(dst, src, 2048);
	return diff < 0 ? 0 : diff + 1;
}

/* VFIO_IOMMU_GET_INFO's capability @id in @info (argsz bytes), or NULL */
static struct vfio_info_cap_header *info_cap(struct vfio_iommu_type1_info *info,
					     __u16 id)
{
	__u32 off = info->cap_offset;
	int hops = 0;

	while (off && off + sizeof(struct vfio_info_cap_header) <= info->argsz &&
	       hops++ < 16) {
		struct vfio_info_cap_header *hdr = (void *)info + off;

		if (hdr->id == id)
			return hdr;
		off = hdr->next;
	}
	return NULL;
}

/*
 * After a DMA that the IOMMU blocked: it reported it, where it reports
 * blocked DMA at all (real_iommus[])
 */
#define EXPECT_BLOCKED_REPORTED(before)                                    \
	do {                                                               \
		const struct real_iommu *__iommu = self->iommu;            \
		long long __before = (before);                             \
		bool __fired = fault_reported(__iommu, __before);          \
		EXPECT_EQ(__iommu->faults_reported, __fired);              \
	} while (0)

/*
 * The whole start-up of a DPDK application with one device, each step
 * checked, then real DMA through 4 KiB and hugetlb mappings, blocked DMA,
 * and both kinds of unmap.
 */
TEST_F_TIMEOUT(group, dpdk_eal_flow, GROUP_TIMEOUT)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_iommu_type1_info_cap_iova_range *ranges;
	struct vfio_iommu_type1_info *info;
	struct vfio_info_cap_header *cap;
	bool a_in_range = false;
	__u64 unmapped = 0;
	long long before;
	__u32 i;

	ASSERT_EQ(VFIO_API_VERSION,
		  vioctl(self->container, VFIO_GET_API_VERSION, NULL));
	EXPECT_EQ(1, vioctl_val(self->container, VFIO_CHECK_EXTENSION,
				VFIO_TYPE1_IOMMU));
	EXPECT_EQ(1, vioctl_val(self->container, VFIO_CHECK_EXTENSION,
				VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(0, vioctl_val(self->container, VFIO_CHECK_EXTENSION,
				VFIO_SPAPR_TCE_IOMMU));

	ASSERT_OK(vioctl(self->groupfd, VFIO_GROUP_GET_STATUS, &status));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE, status.flags);
	/* No IOMMU type before a group is in the container */
	EXPECT_NE(0, set_iommu(self->container, variant->type));
	ASSERT_OK(set_container(self->groupfd, self->container));
	ASSERT_OK(vioctl(self->groupfd, VFIO_GROUP_GET_STATUS, &status));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  status.flags);
	ASSERT_OK(set_iommu(self->container, variant->type));
	/*
	 * Type1 answers for the domains it has: none is incoherent while
	 * there is none, as in ours until the device opens. VFIO's own
	 * container has had a domain since VFIO_SET_IOMMU, and QEMU's VT-d
	 * has no snoop control.
	 */
	i = vioctl_val(self->container, VFIO_CHECK_EXTENSION,
		       VFIO_DMA_CC_IOMMU);
	if (self->iommufd)
		EXPECT_EQ(1, i);

	/* GET_INFO: first the size, then the capability chain */
	info = calloc(1, 4096);
	ASSERT_NE(NULL, info);
	info->argsz = sizeof(*info);
	ASSERT_OK(vioctl(self->container, VFIO_IOMMU_GET_INFO, info));
	EXPECT_NE(0, info->flags & VFIO_IOMMU_INFO_PGSIZES);
	EXPECT_NE(0, info->iova_pgsizes & page_size);
	EXPECT_EQ(0, info->iova_pgsizes & (page_size - 1));
	ASSERT_GE(4096, info->argsz);
	if (info->flags & VFIO_IOMMU_INFO_CAPS) {
		ASSERT_LT(sizeof(*info), info->argsz);
		info->argsz = 4096;
		ASSERT_OK(vioctl(self->container, VFIO_IOMMU_GET_INFO, info));
		cap = info_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
		ASSERT_NE(NULL, cap);
		ranges = (void *)cap;
		ASSERT_LT(0, ranges->nr_iovas);
		for (i = 0; i != ranges->nr_iovas; i++)
			if (ranges->iova_ranges[i].start <= IOVA_A &&
			    ranges->iova_ranges[i].end >= IOVA_HUGE + HUGE_LEN)
				a_in_range = true;
		EXPECT_TRUE(a_in_range);
		EXPECT_NE(NULL,
			  info_cap(info, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL));
	}
	free(info);

	/* Memory first, the device afterwards, as DPDK does */
	ASSERT_OK(map_dma(self->container, self->a, IOVA_A, BUF_LEN, MAP_RW));
	ASSERT_OK(map_dma(self->container, self->b, IOVA_B, BUF_LEN, MAP_RW));
	ASSERT_OK(map_dma(self->container, self->huge, IOVA_HUGE, HUGE_LEN,
			  MAP_RW));
	EXPECT_ERR(EEXIST, map_dma(self->container, self->b, IOVA_A, BUF_LEN,
				   MAP_RW));
	ASSERT_OK(group_device_open(&self->e, self->bdf, self->groupfd));

	EXPECT_OK(dma_round_trip(&self->e, IOVA_A + 0x800, self->a + 0x800,
				 IOVA_B + 0x1000, self->b + 0x1000));
	EXPECT_OK(dma_round_trip(&self->e, IOVA_HUGE + HUGE_LEN - 4096,
				 self->huge + HUGE_LEN - 4096, IOVA_A,
				 self->a));
	EXPECT_OK(dma_round_trip(&self->e, IOVA_B, self->b,
				 IOVA_HUGE + 0x123000, self->huge + 0x123000));

	/* Nothing at IOVA_HOLE: the write goes nowhere, and is reported */
	memcpy(self->b, self->a, BUF_LEN);
	before = irq_count(self->iommu->fault_irqs);
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_HOLE, 2048));
	EXPECT_EQ(-1, first_diff(self->b, self->a, BUF_LEN));
	EXPECT_BLOCKED_REPORTED(before);

	/* Unmap one mapping: the device loses it, the others stay */
	ASSERT_OK(unmap_dma(self->container, IOVA_B, BUF_LEN, 0, &unmapped));
	EXPECT_EQ(BUF_LEN, unmapped);
	memcpy(self->a, self->b, BUF_LEN);
	fill_pattern(self->huge, 4096, 4);
	ASSERT_OK(edu_from_ram(&self->e, IOVA_HUGE, 0, 2048));
	before = irq_count(self->iommu->fault_irqs);
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_B, 2048));
	EXPECT_EQ(-1, first_diff(self->b, self->a, BUF_LEN));
	EXPECT_BLOCKED_REPORTED(before);
	EXPECT_OK(dma_round_trip(&self->e, IOVA_HUGE, self->huge, IOVA_A,
				 self->a));

	/* Unmap everything that is left: 4K + 2M */
	ASSERT_OK(unmap_dma(self->container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
			    &unmapped));
	EXPECT_EQ(BUF_LEN + HUGE_LEN, unmapped);
	memcpy(self->b, self->a, BUF_LEN);
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_A, 2048));
	EXPECT_EQ(-1, first_diff(self->a, self->b, BUF_LEN));
	ASSERT_OK(unmap_dma(self->container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
			    &unmapped));
	EXPECT_EQ(0, unmapped);
}

/*
 * Type1 v1 unmaps of hugetlb memory that a 2 MiB IOPTE may serve, as
 * DPDK makes them: an unmap from inside the mapping succeeds and unmaps
 * nothing (type1v2 refuses it), and the device still reaches every byte
 * of it, the "unmapped" page too; an unmap of its first page alone takes
 * all 2 MiB, after which the device reaches none of it, while the other
 * mapping keeps working.
 */
TEST_F_TIMEOUT(group, v1_partial_unmap_hugetlb, GROUP_TIMEOUT)
{
	const __u64 mid = 0x100000;
	bool v1 = variant->type == VFIO_TYPE1_IOMMU;
	__u64 unmapped = 1;
	long long before;

	ASSERT_OK(group_connect(self->container, self->groupfd, variant->type,
				&self->e, self->bdf));
	ASSERT_OK(map_dma(self->container, self->a, IOVA_A, BUF_LEN, MAP_RW));
	ASSERT_OK(map_dma(self->container, self->huge, IOVA_HUGE, HUGE_LEN,
			  MAP_RW));
	EXPECT_OK(dma_round_trip(&self->e, IOVA_HUGE + mid, self->huge + mid,
				 IOVA_A, self->a));

	if (v1) {
		ASSERT_OK(unmap_dma(self->container, IOVA_HUGE + mid,
				    page_size, 0, &unmapped));
		EXPECT_EQ(0, unmapped);
	} else {
		EXPECT_NE(0, unmap_dma(self->container, IOVA_HUGE + mid,
				       page_size, 0, NULL));
	}
	/* Every part of the 2 MiB still reaches its own bytes */
	fill_pattern(self->huge, HUGE_LEN, 5);
	EXPECT_OK(dma_round_trip(&self->e, IOVA_HUGE, self->huge,
				 IOVA_HUGE + mid, self->huge + mid));
	fill_pattern(self->a, BUF_LEN, 6);
	EXPECT_OK(dma_round_trip(&self->e, IOVA_A, self->a,
				 IOVA_HUGE + HUGE_LEN - 4096,
				 self->huge + HUGE_LEN - 4096));

	if (v1) {
		ASSERT_OK(unmap_dma(self->container, IOVA_HUGE, page_size, 0,
				    &unmapped));
	} else {
		EXPECT_NE(0, unmap_dma(self->container, IOVA_HUGE, page_size,
				       0, NULL));
		ASSERT_OK(unmap_dma(self->container, IOVA_HUGE, HUGE_LEN, 0,
				    &unmapped));
	}
	EXPECT_EQ(HUGE_LEN, unmapped);

	/* None of it is reachable now; IOVA_A is */
	fill_pattern(self->a, BUF_LEN, 7);
	ASSERT_OK(edu_from_ram(&self->e, IOVA_A, 0, 2048));
	memcpy(self->b, self->huge + mid, 2048);
	before = irq_count(self->iommu->fault_irqs);
	ASSERT_OK(edu_to_ram(&self->e, 0, IOVA_HUGE + mid, 2048));
	EXPECT_EQ(-1, first_diff(self->huge + mid, self->b, 2048));
	EXPECT_BLOCKED_REPORTED(before);
	EXPECT_OK(dma_round_trip(&self->e, IOVA_A + 0x800, self->a + 0x800,
				 IOVA_A + 0x2000, self->a + 0x2000));
}

/*
 * VFIO_UPDATE_VADDR with a device doing DMA: while the mapping's address
 * is invalid the device still reaches the memory (the pins and the IOMMU
 * mapping stay); the new address, another view of the same memory, then
 * serves the mapping, and unmapping releases every pin.
 */
TEST_F_TIMEOUT(group, vaddr_update, GROUP_TIMEOUT)
{
	long pin0 = proc_status_kib(variant->pin_key);
	__u64 unmapped = 0;
	char *alias;

	ASSERT_OK(group_connect(self->container, self->groupfd, variant->type,
				&self->e, self->bdf));
	EXPECT_EQ(1, vioctl_val(self->container, VFIO_CHECK_EXTENSION,
				VFIO_UPDATE_VADDR));
	ASSERT_OK(map_dma(self->container, self->a, IOVA_A, BUF_LEN, MAP_RW));
	ASSERT_OK(unmap_dma(self->container, IOVA_A, BUF_LEN,
			    VFIO_DMA_UNMAP_FLAG_VADDR, &unmapped));
	EXPECT_EQ(BUF_LEN, unmapped);
	EXPECT_EQ(pin0 + (long)BUF_LEN / 1024,
		  proc_status_kib(variant->pin_key));
	fill_pattern(self->a, BUF_LEN, 9);
	EXPECT_OK(dma_round_trip(&self->e, IOVA_A, self->a, IOVA_A + 0x2000,
				 self->a + 0x2000));

	/* A second view of the same shared memory */
	alias = mremap(self->a, 0, BUF_LEN, MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, alias);
	ASSERT_OK(map_dma(self->container, alias, IOVA_A, BUF_LEN,
			  VFIO_DMA_MAP_FLAG_VADDR));
	EXPECT_ERR(EINVAL, map_dma(self->container, alias, IOVA_A, BUF_LEN,
				   VFIO_DMA_MAP_FLAG_VADDR));
	fill_pattern(alias, BUF_LEN, 10);
	EXPECT_OK(dma_round_trip(&self->e, IOVA_A + 0x800, alias + 0x800,
				 IOVA_A + 0x3000, alias + 0x3000));
	ASSERT_OK(unmap_dma(self->container, IOVA_A, BUF_LEN, 0, &unmapped));
	EXPECT_EQ(BUF_LEN, unmapped);
	EXPECT_EQ(pin0, proc_status_kib(variant->pin_key));
	munmap(alias, BUF_LEN);
}

/* VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP of [@iova, @iova + @size) */
static int dirty_bitmap(int container, __u64 iova, __u64 size, __u64 *bits)
{
	struct type1_dirty_get get;

	type1_dirty_get_init(&get, iova, size, page_size,
			     TYPE1_BITMAP_BYTES(size / page_size), bits);
	return vioctl(container, VFIO_IOMMU_DIRTY_PAGES, &get) ? -errno : 0;
}

static int dirty_flag(int container, __u32 flags)
{
	struct vfio_iommu_type1_dirty_bitmap cmd = {
		.argsz = sizeof(cmd),
		.flags = flags,
	};

	return vioctl(container, VFIO_IOMMU_DIRTY_PAGES, &cmd) ? -errno : 0;
}

/*
 * Migration through the container: GET_INFO offers the migration
 * capability; with dirty tracking started, a page the device writes reads
 * as dirty (none of the emulated IOMMUs tracks dirty pages, so every
 * mapped page does, as with type1); an unmap hands over the bitmap too.
 * Type1 (v1) has no dirty tracking: EACCES.
 */
TEST_F_TIMEOUT(group, dirty_pages, GROUP_TIMEOUT)
{
	struct vfio_iommu_type1_info *info;
	struct type1_unmap_dirty unmap;
	const __u64 all = (1ULL << BUF_PAGES) - 1;
	__u64 bits[1];

	ASSERT_OK(group_connect(self->container, self->groupfd, variant->type,
				&self->e, self->bdf));
	info = calloc(1, 4096);
	ASSERT_NE(NULL, info);
	info->argsz = 4096;
	ASSERT_OK(vioctl(self->container, VFIO_IOMMU_GET_INFO, info));
	EXPECT_NE(NULL, info_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION));
	free(info);
	ASSERT_OK(map_dma(self->container, self->a, IOVA_A, BUF_LEN, MAP_RW));
	if (variant->type == VFIO_TYPE1_IOMMU) {
		EXPECT_ERR(EACCES, dirty_flag(self->container,
					      VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
		return;
	}
	ASSERT_OK(dirty_flag(self->container,
			     VFIO_IOMMU_DIRTY_PAGES_FLAG_START));

	/* The device copies page 0's first 2 KiB into page 5 */
	fill_pattern(self->a, BUF_LEN, 8);
	EXPECT_OK(dma_round_trip(&self->e, IOVA_A, self->a,
				 IOVA_A + 5 * page_size,
				 self->a + 5 * page_size));
	bits[0] = 0;
	ASSERT_OK(dirty_bitmap(self->container, IOVA_A, BUF_LEN, bits));
	EXPECT_NE(0, bits[0] & 1ULL << 5);
	EXPECT_EQ(all, bits[0]);

	type1_unmap_dirty_init(&unmap, IOVA_A, BUF_LEN, page_size,
			       sizeof(bits), bits);
	bits[0] = 0;
	ASSERT_OK(vioctl(self->container, VFIO_IOMMU_UNMAP_DMA, &unmap));
	EXPECT_EQ(BUF_LEN, unmap.unmap.size);
	EXPECT_EQ(all, bits[0]);
	ASSERT_OK(dirty_flag(self->container,
			     VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
}

/*
 * The steps that end a group-path user, in one order each: 'U' unset the
 * container, 'C' close the container, 'D' close the device, 'G' close the
 * group. 'U' needs the group open.
 */
static const char *const close_orders[] = {
	"CDG", "CGD", "DCG", "DGC", "GCD", "GDC",
	"UCDG", "UCGD", "UDCG", "UDGC", "UGCD", "UGDC",
	"CUDG", "CUGD", "DUCG", "DUGC", "CDUG", "DCUG",
};

/*
 * Every order in which a VFIO user can let go of the container, the group
 * and the device, with and without VFIO_GROUP_UNSET_CONTAINER: the device
 * keeps DMAing correctly for as long as its fd is open, whatever was closed
 * before, and once all is closed nothing stays pinned and the next user
 * starts from scratch. The order "UCDG" is the use-after-free of a context
 * freed under a bound device.
 */
TEST_F_TIMEOUT(group, close_orders, GROUP_TIMEOUT)
{
	long pin0 = proc_status_kib(variant->pin_key);
	unsigned int o;

	ASSERT_LE(0, pin0);
	for (o = 0; o != ARRAY_SIZE(close_orders); o++) {
		const char *order = close_orders[o], *step;
		__u32 seed = 10 + o;

		if (self->container < 0) {
			self->container = open(variant->container_path,
					       O_RDWR | O_CLOEXEC);
			ASSERT_LE(0, self->container);
		}
		if (self->groupfd < 0) {
			self->groupfd = vfio_group_open(self->bdf, false);
			ASSERT_LE(0, self->groupfd);
		}
		ASSERT_OK(group_connect(self->container, self->groupfd,
					variant->type, &self->e, self->bdf))
			TH_LOG("order %s", order);
		ASSERT_OK(map_dma(self->container, self->a, IOVA_A, BUF_LEN,
				  MAP_RW));
		ASSERT_OK(map_dma(self->container, self->huge, IOVA_HUGE,
				  HUGE_LEN, MAP_RW));
		ASSERT_EQ(pin0 + (long)(BUF_LEN + HUGE_LEN) / 1024,
			  proc_status_kib(variant->pin_key));

		for (step = order; *step; step++) {
			switch (*step) {
			case 'U':
				/*
				 * VFIO's own container keeps a group whose
				 * device is open (an iommufd one lets it go)
				 */
				if (!self->iommufd && self->e.devfd >= 0) {
					EXPECT_ERR(EBUSY,
						   unset_container(self->groupfd));
					break;
				}
				ASSERT_OK(unset_container(self->groupfd));
				break;
			case 'C':
				ASSERT_OK(close(self->container));
				self->container = -1;
				break;
			case 'D':
				ASSERT_OK(edu_close(&self->e));
				break;
			case 'G':
				ASSERT_OK(close(self->groupfd));
				self->groupfd = -1;
				break;
			}
			if (self->e.devfd < 0)
				continue;
			/* Whatever went, the device's mappings are intact */
			fill_pattern(self->a, BUF_LEN, seed++);
			EXPECT_OK(dma_round_trip(&self->e, IOVA_A, self->a,
						 IOVA_HUGE + 0x1000,
						 self->huge + 0x1000))
				TH_LOG("order %s after %c", order, *step);
		}
		EXPECT_EQ(pin0, proc_status_kib(variant->pin_key))
			TH_LOG("order %s left pages pinned", order);
	}
}

/*
 * A group is in one container at a time: another container cannot take it
 * while it is set, and unsetting it (with the device closed) frees it for
 * another, where the device works again.
 */
TEST_F_TIMEOUT(group, group_moves_between_containers, GROUP_TIMEOUT)
{
	int other;

	ASSERT_OK(group_connect(self->container, self->groupfd, variant->type,
				&self->e, self->bdf));
	other = open(variant->container_path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, other);
	EXPECT_ERR(EINVAL, set_container(self->groupfd, other));

	ASSERT_OK(edu_close(&self->e));
	ASSERT_OK(unset_container(self->groupfd));
	EXPECT_NE(0, unset_container(self->groupfd));

	ASSERT_OK(group_connect(other, self->groupfd, variant->type, &self->e,
				self->bdf));
	ASSERT_OK(map_dma(other, self->a, IOVA_A, BUF_LEN, MAP_RW));
	ASSERT_OK(map_dma(other, self->b, IOVA_B, BUF_LEN, MAP_RW));
	EXPECT_OK(dma_round_trip(&self->e, IOVA_A, self->a, IOVA_B, self->b));
	ASSERT_OK(edu_close(&self->e));
	ASSERT_OK(close(other));
}

/* VFIO_CHECK_EXTENSION of every extension number there is, and one more */
static void check_extensions(int container)
{
	unsigned long ext;

	for (ext = 0; ext <= VFIO_UPDATE_VADDR + 1; ext++)
		vioctl_val(container, VFIO_CHECK_EXTENSION, ext);
}

/* VFIO_IOMMU_GET_INFO into @info (4 KiB) with @argsz: 0 or -errno */
static int get_info(int container, __u32 argsz,
		    struct vfio_iommu_type1_info *info)
{
	memset(info, 0, 4096);
	info->argsz = argsz;
	return vioctl(container, VFIO_IOMMU_GET_INFO, info) ? -errno : 0;
}

/* VFIO_IOMMU_MAP_DMA with every field given, for the error cases */
static int map_raw(int container, __u32 argsz, __u32 flags, const void *va,
		   __u64 iova, __u64 size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = argsz,
		.flags = flags,
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = size,
	};

	return vioctl(container, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

/* VFIO_IOMMU_UNMAP_DMA with every field given; the size is not kept */
static int unmap_raw(int container, __u32 argsz, __u32 flags, __u64 iova,
		     __u64 size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = argsz,
		.flags = flags,
		.iova = iova,
		.size = size,
	};

	return vioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) ? -errno : 0;
}

/* UNMAP_DMA with GET_DIRTY_BITMAP; @bits receives the bitmap */
static int unmap_dirty(int container, __u64 iova, __u64 size, __u64 pgsize,
		       __u64 bitmap_size, __u64 *bits)
{
	struct type1_unmap_dirty cmd;

	type1_unmap_dirty_init(&cmd, iova, size, pgsize, bitmap_size, bits);
	return vioctl(container, VFIO_IOMMU_UNMAP_DMA, &cmd) ? -errno : 0;
}

/* DIRTY_PAGES GET_BITMAP with every field given */
static int dirty_get_raw(int container, __u64 iova, __u64 size,
			 __u64 pgsize, __u64 bitmap_size, __u64 *bits)
{
	struct type1_dirty_get get;

	type1_dirty_get_init(&get, iova, size, pgsize, bitmap_size, bits);
	return vioctl(container, VFIO_IOMMU_DIRTY_PAGES, &get) ? -errno : 0;
}

/*
 * The container API surface, error cases included, in one sequence: each
 * ioctl with well-formed and malformed arguments, before and after each
 * step of a user's start-up, every kind of unmap, VFIO_UPDATE_VADDR, and
 * dirty tracking with and without the device's DMA. Its transcript is what
 * `make compat-diff` compares most of; the assertions are what every
 * kernel agrees on, type1 included, and what we fixed to agree with type1.
 */
TEST_F_TIMEOUT(group, container_api, GROUP_TIMEOUT)
{
	const __u32 map_sz = sizeof(struct vfio_iommu_type1_dma_map);
	const __u32 unmap_sz = sizeof(struct vfio_iommu_type1_dma_unmap);
	struct vfio_group_status status = { .argsz = sizeof(status) };
	/* argsz up to iova_pgsizes: the fixed part type1 v1 had */
	const __u32 info_min = offsetof(struct vfio_iommu_type1_info,
					cap_offset);
	bool v2 = variant->type == VFIO_TYPE1v2_IOMMU;
	struct vfio_iommu_type1_info *info;
	const __u64 pg = page_size;
	__u64 unmapped = 0, bits[4];
	__u32 need;
	char *gone;
	int bad = -1;

	info = calloc(1, 4096);
	ASSERT_NE(NULL, info);
	gone = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, gone);
	munmap(gone, 4 * pg);

	/* A container without a group: no IOMMU to ask yet, EINVAL */
	EXPECT_EQ(VFIO_API_VERSION,
		  vioctl(self->container, VFIO_GET_API_VERSION, NULL));
	check_extensions(self->container);
	EXPECT_EQ(0, vioctl_val(self->container, VFIO_CHECK_EXTENSION,
				VFIO_DMA_CC_IOMMU));
	EXPECT_ERR(EINVAL, set_iommu(self->container, variant->type));
	EXPECT_ERR(EINVAL, get_info(self->container, 4096, info));
	EXPECT_ERR(EINVAL, map_raw(self->container, map_sz, MAP_RW, self->a,
				   IOVA_A, pg));
	EXPECT_ERR(EINVAL, unmap_raw(self->container, unmap_sz, 0, IOVA_A,
				     pg));
	if (v2)
		EXPECT_ERR(EINVAL,
			   dirty_flag(self->container,
				      VFIO_IOMMU_DIRTY_PAGES_FLAG_START));

	/* The group joins */
	ASSERT_OK(vioctl(self->groupfd, VFIO_GROUP_GET_STATUS, &status));
	EXPECT_ERR(EINVAL, unset_container(self->groupfd));
	EXPECT_ERR(EBADF, set_container(self->groupfd, bad));
	EXPECT_ERR(EBADFD, set_container(self->groupfd, self->groupfd));
	ASSERT_OK(set_container(self->groupfd, self->container));
	EXPECT_ERR(EINVAL, set_container(self->groupfd, self->container));
	ASSERT_OK(vioctl(self->groupfd, VFIO_GROUP_GET_STATUS, &status));
	check_extensions(self->container);
	/* Only the two type1 flavours are served: ENODEV for the others */
	EXPECT_ERR(ENODEV, set_iommu(self->container, VFIO_SPAPR_TCE_IOMMU));
	EXPECT_ERR(EINVAL, set_iommu(self->container,
				     VFIO_TYPE1_NESTING_IOMMU));
	EXPECT_ERR(ENODEV, set_iommu(self->container, VFIO_NOIOMMU_IOMMU));
	EXPECT_ERR(ENODEV, set_iommu(self->container, 0));
	ASSERT_OK(set_iommu(self->container, variant->type));
	check_extensions(self->container);

	/* GET_INFO at every size: too small, the fixed part, all of it */
	EXPECT_ERR(EINVAL, get_info(self->container, info_min - 1, info));
	ASSERT_OK(get_info(self->container, info_min, info));
	ASSERT_OK(get_info(self->container, sizeof(*info), info));
	need = info->argsz;
	ASSERT_GE(4096, need);
	ASSERT_OK(get_info(self->container, need - 1, info));
	EXPECT_EQ(need, info->argsz);
	EXPECT_EQ(0, info->cap_offset);
	ASSERT_OK(get_info(self->container, need, info));
	EXPECT_EQ(need, info->argsz);
	EXPECT_EQ(sizeof(*info), info->cap_offset);
	/* Room to spare: argsz stays what the caller said, as in type1 */
	ASSERT_OK(get_info(self->container, 4096, info));
	EXPECT_EQ(4096, info->argsz);

	/* MAP_DMA: malformed requests first */
	EXPECT_ERR(EINVAL, map_raw(self->container, map_sz - 1, MAP_RW,
				   self->a, IOVA_A, pg));
	EXPECT_ERR(EINVAL, map_raw(self->container, map_sz, 0, self->a, IOVA_A,
				   pg));
	EXPECT_ERR(EINVAL, map_raw(self->container, map_sz, MAP_RW | 1U << 3,
				   self->a, IOVA_A, pg));
	EXPECT_ERR(EINVAL, map_raw(self->container, map_sz,
				   MAP_RW | VFIO_DMA_MAP_FLAG_VADDR, self->a,
				   IOVA_A, pg));
	EXPECT_ERR(EINVAL, map_raw(self->container, map_sz, MAP_RW, self->a,
				   IOVA_A, 0));
	EXPECT_ERR(EINVAL, map_raw(self->container, map_sz, MAP_RW, self->a,
				   IOVA_A + 0x800, pg));
	EXPECT_ERR(EINVAL, map_raw(self->container, map_sz, MAP_RW, self->a,
				   IOVA_A, pg + 0x800));
	EXPECT_ERR(EINVAL, map_raw(self->container, map_sz, MAP_RW,
				   self->a + 0x800, IOVA_A, pg));
	EXPECT_ERR(EINVAL, map_raw(self->container, map_sz, MAP_RW, self->a,
				   -2 * pg, 4 * pg));
	/*
	 * Outside what the IOMMU translates, its MSI window, memory that is
	 * not there; each unmapped again where it was mapped
	 */
	map_raw(self->container, map_sz, MAP_RW, self->a, 1ULL << 60, pg);
	unmap_dma(self->container, 1ULL << 60, pg, 0, NULL);
	map_raw(self->container, map_sz, MAP_RW, self->a,
		self->iommu->msi_start, pg);
	unmap_dma(self->container, self->iommu->msi_start, pg, 0, NULL);
	map_raw(self->container, map_sz, MAP_RW, gone, IOVA_HOLE, 4 * pg);
	unmap_dma(self->container, IOVA_HOLE, 4 * pg, 0, NULL);
	/* VADDR of a mapping that does not exist */
	map_raw(self->container, map_sz, VFIO_DMA_MAP_FLAG_VADDR, self->a,
		IOVA_A, BUF_LEN);

	/* Mappings, read-only and write-only too, and overlaps */
	ASSERT_OK(map_dma(self->container, self->a, IOVA_A, BUF_LEN, MAP_RW));
	ASSERT_OK(map_dma(self->container, self->b, IOVA_B, 4 * pg,
			  VFIO_DMA_MAP_FLAG_READ));
	ASSERT_OK(map_dma(self->container, self->b + 4 * pg, IOVA_B + 4 * pg,
			  4 * pg, VFIO_DMA_MAP_FLAG_WRITE));
	ASSERT_OK(map_dma(self->container, self->huge, IOVA_HUGE, HUGE_LEN,
			  MAP_RW));
	EXPECT_ERR(EEXIST, map_dma(self->container, self->b, IOVA_A, BUF_LEN,
				   MAP_RW));
	EXPECT_ERR(EEXIST, map_dma(self->container, self->b, IOVA_A - pg,
				   2 * pg, MAP_RW));
	EXPECT_ERR(EEXIST, map_dma(self->container, self->b,
				   IOVA_A + BUF_LEN - pg, 2 * pg, MAP_RW));
	EXPECT_ERR(EEXIST, map_dma(self->container, self->b, IOVA_A + pg, pg,
				   MAP_RW));
	ASSERT_OK(get_info(self->container, 4096, info));

	/* The device */
	EXPECT_NE(0, vioctl(self->groupfd, VFIO_GROUP_GET_DEVICE_FD,
			    "0000:ff:1f.7"));
	ASSERT_OK(group_device_open(&self->e, self->bdf, self->groupfd));
	ASSERT_OK(vioctl(self->groupfd, VFIO_GROUP_GET_STATUS, &status));
	/* Now a domain answers: QEMU's VT-d has no snoop control */
	vioctl_val(self->container, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU);
	ASSERT_OK(get_info(self->container, 4096, info));
	EXPECT_OK(dma_round_trip(&self->e, IOVA_A, self->a, IOVA_HUGE + pg,
				 self->huge + pg));

	/* UNMAP_DMA: malformed requests */
	EXPECT_ERR(EINVAL, unmap_raw(self->container, unmap_sz - 1, 0, IOVA_A,
				     BUF_LEN));
	EXPECT_ERR(EINVAL, unmap_raw(self->container, unmap_sz, 1U << 5,
				     IOVA_A, BUF_LEN));
	EXPECT_ERR(EINVAL, unmap_raw(self->container, unmap_sz, 0, IOVA_A, 0));
	EXPECT_ERR(EINVAL, unmap_raw(self->container, unmap_sz, 0,
				     IOVA_A + 0x800, pg));
	EXPECT_ERR(EINVAL, unmap_raw(self->container, unmap_sz, 0, IOVA_A,
				     pg + 0x800));
	EXPECT_ERR(EINVAL, unmap_raw(self->container, unmap_sz, 0, -2 * pg,
				     4 * pg));
	EXPECT_ERR(EINVAL, unmap_raw(self->container, unmap_sz,
				     VFIO_DMA_UNMAP_FLAG_ALL, IOVA_A, 0));
	EXPECT_ERR(EINVAL, unmap_raw(self->container, unmap_sz,
				     VFIO_DMA_UNMAP_FLAG_ALL, 0, pg));
	EXPECT_ERR(EINVAL, unmap_raw(self->container, unmap_sz,
				     VFIO_DMA_UNMAP_FLAG_ALL |
				     VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
				     0, 0));
	EXPECT_ERR(EINVAL, unmap_raw(self->container, unmap_sz,
				     VFIO_DMA_UNMAP_FLAG_VADDR |
				     VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
				     IOVA_A, BUF_LEN));
	/* A bitmap without dirty tracking, or without room for it */
	EXPECT_ERR(EINVAL, unmap_raw(self->container, unmap_sz,
				     VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
				     IOVA_A, BUF_LEN));
	EXPECT_ERR(EINVAL, unmap_dirty(self->container, IOVA_A, BUF_LEN, pg,
				       sizeof(bits), bits));

	/* Nothing there: success, nothing unmapped */
	ASSERT_OK(unmap_dma(self->container, IOVA_HOLE, pg, 0, &unmapped));
	EXPECT_EQ(0, unmapped);
	/*
	 * Ranges that cut a mapping: v1 leaves a mapping it starts inside,
	 * and takes whole one whose start it covers; v2 refuses both, with
	 * EINVAL as type1 does
	 */
	if (v2) {
		EXPECT_ERR(EINVAL, unmap_dma(self->container, IOVA_A + pg, pg,
					     0, NULL));
		EXPECT_ERR(EINVAL, unmap_dma(self->container, IOVA_A, pg, 0,
					     NULL));
		EXPECT_ERR(EINVAL, unmap_dma(self->container, IOVA_A - pg,
					     2 * pg, 0, NULL));
	} else {
		ASSERT_OK(unmap_dma(self->container, IOVA_A + pg, pg, 0,
				    &unmapped));
		EXPECT_EQ(0, unmapped);
		ASSERT_OK(unmap_dma(self->container, IOVA_B, pg, 0,
				    &unmapped));
		EXPECT_EQ(4 * pg, unmapped);
		ASSERT_OK(map_dma(self->container, self->b, IOVA_B, 4 * pg,
				  VFIO_DMA_MAP_FLAG_READ));
	}
	/* Two whole mappings in one range */
	ASSERT_OK(unmap_dma(self->container, IOVA_B, 8 * pg, 0, &unmapped));
	EXPECT_EQ(8 * pg, unmapped);

	/* VFIO_UPDATE_VADDR */
	EXPECT_EQ(1, vioctl_val(self->container, VFIO_CHECK_EXTENSION,
				VFIO_UPDATE_VADDR));
	ASSERT_OK(unmap_dma(self->container, IOVA_A, BUF_LEN,
			    VFIO_DMA_UNMAP_FLAG_VADDR, &unmapped));
	EXPECT_EQ(BUF_LEN, unmapped);
	unmap_dma(self->container, IOVA_A, BUF_LEN, VFIO_DMA_UNMAP_FLAG_VADDR,
		  NULL);
	EXPECT_ERR(EINVAL, map_raw(self->container, map_sz,
				   VFIO_DMA_MAP_FLAG_VADDR, self->a, IOVA_A,
				   BUF_LEN - pg));
	EXPECT_ERR(EINVAL, map_raw(self->container, map_sz,
				   VFIO_DMA_MAP_FLAG_VADDR, self->a,
				   IOVA_A + pg, BUF_LEN - pg));
	ASSERT_OK(map_raw(self->container, map_sz, VFIO_DMA_MAP_FLAG_VADDR,
			  self->a, IOVA_A, BUF_LEN));
	EXPECT_ERR(EINVAL, map_raw(self->container, map_sz,
				   VFIO_DMA_MAP_FLAG_VADDR, self->a, IOVA_A,
				   BUF_LEN));
	ASSERT_OK(unmap_dma(self->container, 0, 0,
			    VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_ALL,
			    &unmapped));
	EXPECT_EQ(BUF_LEN + HUGE_LEN, unmapped);
	ASSERT_OK(map_raw(self->container, map_sz, VFIO_DMA_MAP_FLAG_VADDR,
			  self->a, IOVA_A, BUF_LEN));
	ASSERT_OK(map_raw(self->container, map_sz, VFIO_DMA_MAP_FLAG_VADDR,
			  self->huge, IOVA_HUGE, HUGE_LEN));

	/* Dirty pages: type1 v1 has none */
	if (!v2) {
		EXPECT_ERR(EACCES, dirty_flag(self->container,
					      VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
		goto out_close;
	}
	EXPECT_ERR(EINVAL, dirty_flag(self->container, 0));
	EXPECT_ERR(EINVAL, dirty_flag(self->container,
				      VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
				      VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
	EXPECT_ERR(EINVAL, dirty_flag(self->container, 1U << 3));
	EXPECT_ERR(EINVAL, dirty_flag(self->container,
				      VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP));
	EXPECT_ERR(EINVAL, dirty_get_raw(self->container, IOVA_A, BUF_LEN, pg,
					 sizeof(bits), bits));
	ASSERT_OK(dirty_flag(self->container,
			     VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	ASSERT_OK(dirty_flag(self->container,
			     VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	EXPECT_ERR(EINVAL, dirty_get_raw(self->container, IOVA_A, BUF_LEN,
					 2 * pg, sizeof(bits), bits));
	EXPECT_ERR(EINVAL, dirty_get_raw(self->container, IOVA_A, BUF_LEN, pg,
					 0, bits));
	EXPECT_ERR(EINVAL, dirty_get_raw(self->container, IOVA_A, 0, pg,
					 sizeof(bits), bits));
	EXPECT_ERR(EINVAL, dirty_get_raw(self->container, IOVA_A + 0x800,
					 BUF_LEN, pg, sizeof(bits), bits));
	EXPECT_ERR(EINVAL, dirty_get_raw(self->container, IOVA_A,
					 BUF_LEN + 0x800, pg, sizeof(bits),
					 bits));
	/* The device writes one page; then the whole mapping is asked */
	EXPECT_OK(dma_round_trip(&self->e, IOVA_HUGE, self->huge,
				 IOVA_A + 3 * pg, self->a + 3 * pg));
	memset(bits, 0, sizeof(bits));
	ASSERT_OK(dirty_get_raw(self->container, IOVA_A, BUF_LEN, pg,
				sizeof(bits), bits));
	/* A range that starts in a hole, bits set beforehand */
	memset(bits, 0xff, sizeof(bits));
	dirty_get_raw(self->container, IOVA_A - 16 * pg, 32 * pg, pg,
		      sizeof(bits), bits);
	/* A mapping made while tracking, then unmapped with its bitmap */
	ASSERT_OK(map_dma(self->container, self->b, IOVA_B, 4 * pg, MAP_RW));
	memset(bits, 0, sizeof(bits));
	ASSERT_OK(dirty_get_raw(self->container, IOVA_B, 4 * pg, pg,
				sizeof(bits), bits));
	EXPECT_ERR(EINVAL, unmap_dirty(self->container, IOVA_B, 4 * pg, 2 * pg,
				       sizeof(bits), bits));
	EXPECT_ERR(EINVAL, unmap_dirty(self->container, IOVA_B, 4 * pg, pg, 0,
				       bits));
	memset(bits, 0, sizeof(bits));
	ASSERT_OK(unmap_dirty(self->container, IOVA_B, 4 * pg, pg,
			      sizeof(bits), bits));
	memset(bits, 0, sizeof(bits));
	ASSERT_OK(unmap_dirty(self->container, IOVA_B, 4 * pg, pg,
			      sizeof(bits), bits));
	ASSERT_OK(dirty_flag(self->container,
			     VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
	ASSERT_OK(dirty_flag(self->container,
			     VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
	EXPECT_ERR(EINVAL, dirty_get_raw(self->container, IOVA_A, BUF_LEN, pg,
					 sizeof(bits), bits));

out_close:
	/* Unmap everything, then let go: the device first, then the group */
	ASSERT_OK(unmap_dma(self->container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
			    &unmapped));
	ASSERT_OK(unmap_dma(self->container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
			    &unmapped));
	EXPECT_EQ(0, unmapped);
	ASSERT_OK(get_info(self->container, 4096, info));
	ASSERT_OK(edu_close(&self->e));
	ASSERT_OK(unset_container(self->groupfd));
	ASSERT_OK(vioctl(self->groupfd, VFIO_GROUP_GET_STATUS, &status));
	EXPECT_ERR(EINVAL, unset_container(self->groupfd));
	free(info);
}

TEST_HARNESS_MAIN
