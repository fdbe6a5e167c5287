/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iommufd_edu.h - a userspace driver for QEMU's "edu" PCI device, reached
 * through a VFIO device cdev bound to /dev/iommu, or through a VFIO group.
 * Shared by the real-device tests (iommufd_real.c, iommufd_vfio_group.c) and
 * the narrated demo (iommufd_vtd_demo.c).
 *
 * The edu device (vendor 0x1234, device 0x11e8) has a 4 KiB buffer that BAR0
 * shows at offset 0x40000 of the device's own address space, and a DMA
 * engine that copies between that buffer and bus addresses, which with an
 * IOMMU are IOVAs:
 *
 *	BAR0 0x80  source address        BAR0 0x90  byte count
 *	BAR0 0x88  destination address   BAR0 0x98  command: bit 0 start,
 *	                                            bit 1 set: buffer to RAM
 *
 * A transfer runs from a timer about 100 ms (virtual time) after it is
 * started; the start bit clears when it is done. QEMU masks the RAM side
 * address to 28 bits, and QEMU 7.2 kills the whole VM when a transfer
 * touches the end of the buffer window, so edu_dma() refuses transfers that
 * are longer than 2 KiB, that end at the last byte of the window or beyond,
 * or whose RAM side reaches 256 MiB.
 *
 * Every helper returns 0 or a negative errno.
 */
#ifndef __IOMMUFD_EDU_H
#define __IOMMUFD_EDU_H

#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "iommufd_test_util.h"

#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8

/* BAR0 registers */
#define EDU_REG_ID		0x00	/* 0xRRrr00ed: major, minor, "ed" */
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_CNT		0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_DMA_RUN		0x1
#define EDU_DMA_TO_RAM		0x2

/* The device buffer, as the DMA engine addresses it */
#define EDU_BUF_ADDR		0x40000
#define EDU_BUF_SIZE		0x1000
/* What edu_dma() accepts: see the comment at the top */
#define EDU_DMA_MAX		2048
#define EDU_ADDR_LIMIT		0x10000000ULL	/* 28 bits */
/* How long a transfer may take before we give up on it */
#define EDU_DMA_TIMEOUT_MS	10000

#define SYS_PCI_DEVICES		"/sys/bus/pci/devices"
#define VFIO_CDEV_DIR		"/dev/vfio/devices"

struct edu {
	char bdf[32];		/* the PCI address, 0000:00:02.0 */
	char cdev[PATH_MAX];	/* its VFIO device node */
	int devfd;		/* the open cdev, -1 if none */
	__u32 dev_id;		/* its iommufd device ID once bound */
	__u8 *bar0;		/* BAR0, mmap()ed */
	size_t bar0_size;
	__u64 cfg_offset;	/* config space, in the cdev's file offsets */
};

/* Copy the string @src into @dst of @len bytes, cut short if need be */
static inline void str_copy(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

/* Read a sysfs file into @buf (NUL terminated, no trailing newline) */
static inline int sysfs_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = 0;
	return 0;
}

static inline int sysfs_write(const char *path, const char *val)
{
	ssize_t n, len = strlen(val);
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n != len) {
		n = n < 0 ? -errno : -EIO;
		close(fd);
		return n;
	}
	close(fd);
	return 0;
}

/* The hexadecimal number in a sysfs file */
static inline int sysfs_read_hex(const char *path, unsigned long long *val)
{
	char buf[64], *end;
	int rc;

	rc = sysfs_read(path, buf, sizeof(buf));
	if (rc)
		return rc;
	errno = 0;
	*val = strtoull(buf, &end, 16);
	if (errno || end == buf)
		return -EINVAL;
	return 0;
}

/* sysfs path of @what for the PCI device @bdf */
static inline void pci_path(char *path, size_t len, const char *bdf,
			    const char *what)
{
	snprintf(path, len, "%s/%s/%s", SYS_PCI_DEVICES, bdf, what);
}

/*
 * The PCI address of the edu device with the lowest address, or -ENODEV.
 * The lowest, as sysfs lists devices in no particular order and a VM may
 * have more than one (scripts/suites/vtd).
 */
static inline int edu_find(char *bdf, size_t len)
{
	unsigned long long vendor, device;
	char path[PATH_MAX];
	struct dirent *d;
	int rc = -ENODEV;
	DIR *dir;

	dir = opendir(SYS_PCI_DEVICES);
	if (!dir)
		return -ENODEV;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		pci_path(path, sizeof(path), d->d_name, "vendor");
		if (sysfs_read_hex(path, &vendor) || vendor != EDU_VENDOR)
			continue;
		pci_path(path, sizeof(path), d->d_name, "device");
		if (sysfs_read_hex(path, &device) || device != EDU_DEVICE)
			continue;
		if (rc || strcmp(d->d_name, bdf) < 0)
			str_copy(bdf, len, d->d_name);
		rc = 0;
	}
	closedir(dir);
	return rc;
}

/* Is the device behind an IOMMU, that is in an IOMMU group? */
static inline bool pci_has_iommu_group(const char *bdf)
{
	char path[PATH_MAX];
	struct stat st;

	pci_path(path, sizeof(path), bdf, "iommu_group");
	return !stat(path, &st);
}

/* The name of the driver @bdf is bound to, "" if none */
static inline void pci_driver(const char *bdf, char *name, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *slash;
	ssize_t n;

	pci_path(path, sizeof(path), bdf, "driver");
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		name[0] = 0;
		return;
	}
	target[n] = 0;
	slash = strrchr(target, '/');
	str_copy(name, len, slash ? slash + 1 : target);
}

/*
 * Hand @bdf to vfio-pci: unbind its current driver, if another, set
 * driver_override and ask the PCI core to probe it again. Harmless when it
 * is vfio-pci's already.
 */
static inline int edu_use_vfio_pci(const char *bdf)
{
	char path[PATH_MAX], drv[64];
	int rc;

	pci_driver(bdf, drv, sizeof(drv));
	if (!strcmp(drv, "vfio-pci"))
		return 0;
	if (drv[0]) {
		pci_path(path, sizeof(path), bdf, "driver/unbind");
		rc = sysfs_write(path, bdf);
		if (rc)
			return rc;
	}
	pci_path(path, sizeof(path), bdf, "driver_override");
	rc = sysfs_write(path, "vfio-pci");
	if (rc)
		return rc;
	rc = sysfs_write("/sys/bus/pci/drivers_probe", bdf);
	if (rc)
		return rc;
	pci_driver(bdf, drv, sizeof(drv));
	return strcmp(drv, "vfio-pci") ? -ENODEV : 0;
}

/*
 * The VFIO device node of @bdf: /dev/vfio/devices/vfioN, named after
 * sysfs's vfio-dev/vfioN. Made with mknod from its "dev" file if devtmpfs
 * did not make it.
 */
static inline int edu_cdev_path(const char *bdf, char *cdev, size_t len)
{
	char path[PATH_MAX], devnum[32];
	unsigned int major, minor;
	struct dirent *d;
	struct stat st;
	int rc = -ENODEV;
	DIR *dir;

	pci_path(path, sizeof(path), bdf, "vfio-dev");
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		if (!strncmp(d->d_name, "vfio", 4)) {
			rc = 0;
			break;
		}
	}
	if (rc) {
		closedir(dir);
		return rc;
	}
	snprintf(cdev, len, "%s/%s", VFIO_CDEV_DIR, d->d_name);
	pci_path(path, sizeof(path), bdf, "vfio-dev/");
	strncat(path, d->d_name, sizeof(path) - strlen(path) - 1);
	strncat(path, "/dev", sizeof(path) - strlen(path) - 1);
	closedir(dir);
	if (!stat(cdev, &st))
		return S_ISCHR(st.st_mode) ? 0 : -ENOTTY;

	rc = sysfs_read(path, devnum, sizeof(devnum));
	if (rc)
		return rc;
	if (sscanf(devnum, "%u:%u", &major, &minor) != 2)
		return -EINVAL;
	mkdir("/dev/vfio", 0755);
	mkdir(VFIO_CDEV_DIR, 0755);
	if (mknod(cdev, S_IFCHR | 0600, makedev(major, minor)))
		return -errno;
	return 0;
}

static inline int vfio_bind_iommufd(int devfd, int iommufd, __u32 *dev_id)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = iommufd,
	};

	if (ioctl(devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		return -errno;
	*dev_id = bind.out_devid;
	return 0;
}

/*
 * Attach the device to the IOAS or HWPT *@pt_id, or replace what it is
 * attached to; *@pt_id receives the HWPT the kernel used.
 */
static inline int vfio_attach_pt(int devfd, __u32 *pt_id)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
		.pt_id = *pt_id,
	};

	if (ioctl(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		return -errno;
	*pt_id = attach.pt_id;
	return 0;
}

static inline int vfio_detach_pt(int devfd)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};

	if (ioctl(devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach))
		return -errno;
	return 0;
}

static inline int vfio_region_info(int devfd, __u32 index,
				   struct vfio_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	if (ioctl(devfd, VFIO_DEVICE_GET_REGION_INFO, info))
		return -errno;
	return 0;
}

/*
 * MMIO: one plain load or store of the register's size each (relaxed
 * atomics: the compiler neither splits, merges nor drops them), kept in
 * program order with every other memory access, DMA buffers included, by
 * a barrier on each side:
 *  - x86 does not reorder ordinary memory accesses with uncached MMIO, so a
 *    compiler barrier is all it takes;
 *  - arm64 does: BAR0 is Device memory, the buffers Normal memory, and only
 *    a DSB orders the two kinds for an observer outside the CPUs, the
 *    device (the kernel's mb() is the same "dsb sy"). So the buffer
 *    writes are visible before the store that starts a transfer, and the
 *    load that sees it finished comes before reading what it wrote.
 */
static inline void edu_barrier(void)
{
#if defined(__aarch64__)
	__asm__ __volatile__("dsb sy" : : : "memory");
#elif defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__("" : : : "memory");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

static inline __u32 edu_read32(struct edu *e, unsigned int reg)
{
	__u32 val;

	edu_barrier();
	val = __atomic_load_n((__u32 *)(e->bar0 + reg), __ATOMIC_RELAXED);
	edu_barrier();
	return val;
}

static inline void edu_write64(struct edu *e, unsigned int reg, __u64 val)
{
	edu_barrier();
	__atomic_store_n((__u64 *)(e->bar0 + reg), val, __ATOMIC_RELAXED);
	edu_barrier();
}

/* Set bits of the PCI command register, through VFIO's config region */
static inline int edu_set_command(struct edu *e, __u16 bits)
{
	__u16 cmd;

	if (pread(e->devfd, &cmd, sizeof(cmd),
		  e->cfg_offset + PCI_COMMAND) != sizeof(cmd))
		return -EIO;
	cmd |= bits;
	if (pwrite(e->devfd, &cmd, sizeof(cmd),
		   e->cfg_offset + PCI_COMMAND) != sizeof(cmd))
		return -EIO;
	if (pread(e->devfd, &cmd, sizeof(cmd),
		  e->cfg_offset + PCI_COMMAND) != sizeof(cmd))
		return -EIO;
	return (cmd & bits) == bits ? 0 : -EIO;
}

/*
 * Finish opening the edu whose VFIO device fd is e->devfd, however it was
 * obtained (a cdev bound to an iommufd, or a group's
 * VFIO_GROUP_GET_DEVICE_FD): map BAR0, check that it is an edu and enable
 * bus mastering. Closes e->devfd on failure.
 */
static inline int edu_init(struct edu *e)
{
	struct vfio_region_info bar, cfg;
	void *map;
	int rc;

	rc = vfio_region_info(e->devfd, VFIO_PCI_BAR0_REGION_INDEX, &bar);
	if (rc)
		goto err_close;
	rc = vfio_region_info(e->devfd, VFIO_PCI_CONFIG_REGION_INDEX, &cfg);
	if (rc)
		goto err_close;
	rc = -ENODEV;
	if (!(bar.flags & VFIO_REGION_INFO_FLAG_MMAP) ||
	    bar.size < EDU_REG_DMA_CMD + 4)
		goto err_close;
	map = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   e->devfd, bar.offset);
	if (map == MAP_FAILED) {
		rc = -errno;
		goto err_close;
	}
	e->bar0 = map;
	e->bar0_size = bar.size;
	e->cfg_offset = cfg.offset;

	if ((edu_read32(e, EDU_REG_ID) & 0xff) != 0xed) {
		rc = -ENODEV;
		goto err_unmap;
	}
	rc = edu_set_command(e, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	if (rc)
		goto err_unmap;
	return 0;

err_unmap:
	munmap(e->bar0, e->bar0_size);
	e->bar0 = NULL;
err_close:
	close(e->devfd);
	e->devfd = -1;
	return rc;
}

/*
 * Open the cdev of @bdf (bound to vfio-pci) and bind it to @iommufd, then
 * edu_init(). The device is bound but not attached: its DMA is blocked.
 */
static inline int edu_open(struct edu *e, const char *bdf, int iommufd)
{
	int rc;

	memset(e, 0, sizeof(*e));
	e->devfd = -1;
	str_copy(e->bdf, sizeof(e->bdf), bdf);
	rc = edu_cdev_path(bdf, e->cdev, sizeof(e->cdev));
	if (rc)
		return rc;
	e->devfd = open(e->cdev, O_RDWR | O_CLOEXEC);
	if (e->devfd < 0)
		return -errno;
	rc = vfio_bind_iommufd(e->devfd, iommufd, &e->dev_id);
	if (rc) {
		close(e->devfd);
		e->devfd = -1;
		return rc;
	}
	return edu_init(e);
}

/* The number of the IOMMU group of @bdf, or -errno */
static inline int pci_iommu_group(const char *bdf)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *slash;
	ssize_t n;

	pci_path(path, sizeof(path), bdf, "iommu_group");
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = 0;
	slash = strrchr(target, '/');
	return atoi(slash ? slash + 1 : target);
}

/*
 * Open the VFIO group node of @bdf: /dev/vfio/N, or /dev/vfio/noiommu-N
 * for a device that VFIO's unsafe no-IOMMU mode took without an IOMMU.
 */
static inline int vfio_group_open(const char *bdf, bool noiommu)
{
	char path[PATH_MAX];
	int group, fd;

	group = pci_iommu_group(bdf);
	if (group < 0)
		return group;
	snprintf(path, sizeof(path), "/dev/vfio/%s%d",
		 noiommu ? "noiommu-" : "", group);
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * Get the device fd of @bdf from its group, which must be set to a
 * container (VFIO_GROUP_SET_CONTAINER) already, then edu_init(). This is
 * the path of DPDK, SPDK and every VFIO user older than iommufd.
 */
static inline int edu_open_group(struct edu *e, const char *bdf, int groupfd)
{
	memset(e, 0, sizeof(*e));
	str_copy(e->bdf, sizeof(e->bdf), bdf);
	e->devfd = ioctl(groupfd, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (e->devfd < 0) {
		e->devfd = -1;
		return -errno;
	}
	return edu_init(e);
}

/* Unmap BAR0 and close the cdev, which detaches and unbinds the device */
static inline int edu_close(struct edu *e)
{
	int rc = 0;

	if (e->bar0)
		munmap(e->bar0, e->bar0_size);
	e->bar0 = NULL;
	if (e->devfd >= 0 && close(e->devfd))
		rc = -errno;
	e->devfd = -1;
	return rc;
}

static inline long long edu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Wait, with sleeps, until no transfer is running */
static inline int edu_dma_wait(struct edu *e)
{
	long long end = edu_now_ms() + EDU_DMA_TIMEOUT_MS;

	while (edu_read32(e, EDU_REG_DMA_CMD) & EDU_DMA_RUN) {
		if (edu_now_ms() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

/*
 * Start one transfer of @len bytes between the device buffer at @dev_off
 * and the IOVA @iova, towards RAM if @to_ram, and wait for it to finish.
 * -EINVAL for a transfer the device cannot do safely (see the top).
 */
static inline int edu_dma(struct edu *e, bool to_ram, __u64 iova,
			  __u32 dev_off, __u32 len)
{
	__u64 dev = EDU_BUF_ADDR + dev_off;
	int rc;

	if (!len || len > EDU_DMA_MAX || dev_off >= EDU_BUF_SIZE ||
	    dev_off + len >= EDU_BUF_SIZE || iova >= EDU_ADDR_LIMIT ||
	    len > EDU_ADDR_LIMIT - iova)
		return -EINVAL;
	rc = edu_dma_wait(e);
	if (rc)
		return rc;
	edu_write64(e, EDU_REG_DMA_SRC, to_ram ? dev : iova);
	edu_write64(e, EDU_REG_DMA_DST, to_ram ? iova : dev);
	edu_write64(e, EDU_REG_DMA_CNT, len);
	edu_write64(e, EDU_REG_DMA_CMD,
		    EDU_DMA_RUN | (to_ram ? EDU_DMA_TO_RAM : 0));
	return edu_dma_wait(e);
}

/* The device reads @len bytes at @iova into its buffer at @dev_off */
static inline int edu_from_ram(struct edu *e, __u64 iova, __u32 dev_off,
			       __u32 len)
{
	return edu_dma(e, false, iova, dev_off, len);
}

/* The device writes @len bytes of its buffer at @dev_off to @iova */
static inline int edu_to_ram(struct edu *e, __u32 dev_off, __u64 iova,
			     __u32 len)
{
	return edu_dma(e, true, iova, dev_off, len);
}

/*
 * The kernel log, for the IOMMU's fault reports: kmsg_open() starts
 * reading at its end; kmsg_wait_for() looks at what was logged since, for
 * up to @ms milliseconds, for a line containing @needle, and copies it to
 * @line. The DMAR driver rate-limits its reports, so their absence is not
 * proof of anything.
 */
static inline int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	lseek(fd, 0, SEEK_END);
	return fd;
}

static inline bool kmsg_wait_for(int fd, const char *needle, char *line,
				 size_t len, int ms)
{
	long long end = edu_now_ms() + ms;
	char rec[1024];
	const char *msg;
	ssize_t n;

	if (fd < 0)
		return false;
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* records overwritten: go on */
		if (n < 0) {
			if (edu_now_ms() > end)
				return false;
			usleep(10000);
			continue;
		}
		rec[n] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		if (!strstr(msg, needle))
			continue;
		snprintf(line, len, "%.*s", (int)strcspn(msg, "\n"), msg);
		return true;
	}
}

/*
 * The interrupts taken so far, summed over the CPUs, by the handlers that
 * /proc/interrupts names one of @names (up to 3, the unused ones NULL): an
 * IOMMU's fault interrupt, counted before and after a DMA that it must
 * block. -ENOENT if no such handler exists, or -errno.
 */
static inline long long irq_count(const char *const names[3])
{
	long long total = -ENOENT, sum;
	int ncpu = 0, i, j;
	char line[1024], *tok, *save;
	bool match;
	FILE *f;

	f = fopen("/proc/interrupts", "r");
	if (!f)
		return -errno;
	/* The header: one "CPUn" per column of counts */
	if (fgets(line, sizeof(line), f))
		for (tok = strtok_r(line, " \t\n", &save); tok;
		     tok = strtok_r(NULL, " \t\n", &save))
			ncpu += !strncmp(tok, "CPU", 3);
	while (fgets(line, sizeof(line), f)) {
		sum = 0;
		match = false;
		/* "NN:", the counts, then chip, hwirq, type and handlers */
		tok = strtok_r(line, " \t\n", &save);
		for (i = 0; tok && i != ncpu; i++) {
			tok = strtok_r(NULL, " \t\n", &save);
			if (tok)
				sum += strtoll(tok, NULL, 10);
		}
		while (tok && (tok = strtok_r(NULL, " \t\n,", &save)))
			for (j = 0; j != 3; j++)
				if (names[j] && !strcmp(tok, names[j]))
					match = true;
		if (match)
			total = (total < 0 ? 0 : total) + sum;
	}
	fclose(f);
	return total;
}

/*
 * Fill @len bytes with a pattern that differs at every offset and for
 * every @seed, so that data landing at the wrong place shows.
 */
static inline void fill_pattern(void *buf, size_t len, unsigned int seed)
{
	__u8 *p = buf;
	__u32 x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i != len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = x >> 24;
	}
}

/* The offset of the first byte where @a and @b differ, or -1 */
static inline long first_diff(const void *a, const void *b, size_t len)
{
	const __u8 *pa = a, *pb = b;
	size_t i;

	for (i = 0; i != len; i++)
		if (pa[i] != pb[i])
			return i;
	return -1;
}

/* Is every one of the @len bytes at @buf equal to @c? */
static inline bool all_bytes(const void *buf, int c, size_t len)
{
	const __u8 *p = buf;
	size_t i;

	for (i = 0; i != len; i++)
		if (p[i] != (__u8)c)
			return false;
	return true;
}

#endif /* __IOMMUFD_EDU_H */
