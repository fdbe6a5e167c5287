// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd_vfio_reset.c - PCI hot reset of devices whose DMA iommufd owns.
 *
 * A bus reset hits every device on the bus, so VFIO lets a user reset only
 * when it owns them all, and VFIO_DEVICE_GET_PCI_HOT_RESET_INFO tells the
 * user which they are. For a device opened as a cdev, ownership is the
 * iommufd context: a device is owned when it is bound to the caller's
 * context, or when its IOMMU group is (iommufd_ctx_has_group()). QEMU
 * asserts on that answer. For a device opened through its group, it is
 * the groups the user passes in.
 *
 * The VM (scripts/suites/vtd) puts two edu functions of one slot behind a
 * PCIe root port, so they are reset together and share an IOMMU group (a
 * function without ACS is not isolated from its siblings). The tests open
 * function 0 and ask about both; function 1 stays bound to vfio-pci but
 * unopened, owned only through the group.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>

#include "../kselftest_harness.h"
#include "iommufd_real.h"

#define NFUNCS		2
#define IOVA_BUF	0x100000ULL
#define XFER		256

/* Room for the answer of a bus with a few devices */
struct reset_info {
	struct vfio_pci_hot_reset_info hdr;
	struct vfio_pci_dependent_device devices[8];
};

/* The hot reset request with room for two group fds */
struct reset_req {
	struct vfio_pci_hot_reset hdr;
	__s32 fds[2];
};

static int reset_info(int devfd, struct reset_info *info)
{
	memset(info, 0, sizeof(*info));
	info->hdr.argsz = sizeof(*info);
	return ioctl(devfd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info) ? -errno
								      : 0;
}

/* VFIO_DEVICE_PCI_HOT_RESET proving ownership with @nfds group fds */
static int hot_reset(int devfd, const int *fds, unsigned int nfds)
{
	struct reset_req req = {};
	unsigned int i;

	if (nfds > ARRAY_SIZE(req.fds))
		return -E2BIG;
	req.hdr.argsz = sizeof(req.hdr) + nfds * sizeof(__s32);
	req.hdr.count = nfds;
	for (i = 0; i != nfds; i++)
		req.fds[i] = fds[i];
	return ioctl(devfd, VFIO_DEVICE_PCI_HOT_RESET, &req) ? -errno : 0;
}

/* Parse "SSSS:BB:DD.F" */
static bool parse_bdf(const char *bdf, unsigned int *seg, unsigned int *bus,
		      unsigned int *dev, unsigned int *fn)
{
	return sscanf(bdf, "%x:%x:%x.%x", seg, bus, dev, fn) == 4;
}

/*
 * The edu functions 0 and 1 of one slot on a bus other than 0, into
 * @bdfs[0] and @bdfs[1]: -ENODEV if the VM has none.
 */
static int find_edu_pair(char bdfs[NFUNCS][32])
{
	unsigned long long vendor, device;
	unsigned int seg, bus, dev, fn;
	char path[PATH_MAX];
	bool found[NFUNCS] = {};
	struct dirent *d;
	DIR *dir;

	dir = opendir(SYS_PCI_DEVICES);
	if (!dir)
		return -ENODEV;
	while ((d = readdir(dir))) {
		if (!parse_bdf(d->d_name, &seg, &bus, &dev, &fn) || !bus ||
		    fn >= NFUNCS)
			continue;
		pci_path(path, sizeof(path), d->d_name, "vendor");
		if (sysfs_read_hex(path, &vendor) || vendor != EDU_VENDOR)
			continue;
		pci_path(path, sizeof(path), d->d_name, "device");
		if (sysfs_read_hex(path, &device) || device != EDU_DEVICE)
			continue;
		str_copy(bdfs[fn], sizeof(bdfs[fn]), d->d_name);
		found[fn] = true;
	}
	closedir(dir);
	return found[0] && found[1] ? 0 : -ENODEV;
}

/* The entry of @info for PCI function @fn of the pair, or NULL */
static struct vfio_pci_dependent_device *
info_entry(struct reset_info *info, const char *bdf)
{
	unsigned int seg, bus, dev, fn, i;

	if (!parse_bdf(bdf, &seg, &bus, &dev, &fn))
		return NULL;
	for (i = 0; i != info->hdr.count && i != ARRAY_SIZE(info->devices);
	     i++) {
		struct vfio_pci_dependent_device *d = &info->devices[i];

		if (d->segment == seg && d->bus == bus &&
		    d->devfn == ((dev << 3) | fn))
			return d;
	}
	return NULL;
}

FIXTURE(reset)
{
	char bdfs[NFUNCS][32];
	int group;	/* the IOMMU group both functions are in */
	int fd;		/* /dev/iommu */
	__u32 ioas_id;
	struct edu e;	/* function 0 */
	char *buf;
};

FIXTURE_SETUP(reset)
{
	unsigned int i;

	self->fd = -1;
	self->e.devfd = -1;
	if (find_edu_pair(self->bdfs))
		SKIP(return,
		     "no pair of edu functions behind a PCIe port: this test runs in scripts/suites/vtd");
	for (i = 0; i != NFUNCS; i++)
		ASSERT_OK(edu_use_vfio_pci(self->bdfs[i]))
			TH_LOG("binding %s to vfio-pci", self->bdfs[i]);
	self->group = pci_iommu_group(self->bdfs[0]);
	ASSERT_LE(0, self->group);
	/* The premise of the tests: the functions are not isolated */
	ASSERT_EQ(self->group, pci_iommu_group(self->bdfs[1]));

	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_OK(ioas_alloc(self->fd, &self->ioas_id));
	self->buf = alloc_shared(page_size, page_size);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(reset)
{
	edu_close(&self->e);
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * DMA through function 0 after attaching it to the IOAS: the device reads
 * a pattern from one page and writes it back to the next.
 */
static int dma_round_trip(struct _test_data_reset *self, unsigned int seed)
{
	__u32 pt_id = self->ioas_id;
	int rc;

	rc = vfio_attach_pt(self->e.devfd, &pt_id);
	if (rc)
		return rc;
	fill_pattern(self->buf, XFER, seed);
	memset(self->buf + XFER, 0, XFER);
	rc = edu_from_ram(&self->e, IOVA_BUF, 0, XFER);
	if (!rc)
		rc = edu_to_ram(&self->e, 0, IOVA_BUF + XFER, XFER);
	if (!rc && first_diff(self->buf, self->buf + XFER, XFER) >= 0)
		rc = -EIO;
	return rc;
}

/*
 * Through the cdev: both functions are reported by device ID, function 0
 * by its own and function 1 as owned (its group is the context's), so the
 * set is owned and the reset, with no group fds, goes through. DMA still
 * works after it.
 */
TEST_F(reset, cdev_owned_through_the_group)
{
	struct vfio_pci_dependent_device *d;
	struct reset_info info;

	ASSERT_OK(edu_open(&self->e, self->bdfs[0], self->fd));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->buf, page_size,
			      IOVA_BUF));
	ASSERT_OK(dma_round_trip(self, 1));

	ASSERT_OK(reset_info(self->e.devfd, &info));
	EXPECT_EQ(VFIO_PCI_HOT_RESET_FLAG_DEV_ID |
		  VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED, info.hdr.flags);
	EXPECT_EQ(NFUNCS, info.hdr.count);
	d = info_entry(&info, self->bdfs[0]);
	ASSERT_NE(NULL, d);
	EXPECT_EQ(self->e.dev_id, d->devid);
	d = info_entry(&info, self->bdfs[1]);
	ASSERT_NE(NULL, d);
	EXPECT_EQ(VFIO_PCI_DEVID_OWNED, d->devid);

	/* A cdev proves ownership by its context, never by groups */
	EXPECT_ERR(EINVAL, hot_reset(self->e.devfd, &self->fd, 1));
	ASSERT_OK(hot_reset(self->e.devfd, NULL, 0));
	/* Bus mastering back on, should the reset have left it off */
	ASSERT_OK(edu_set_command(&self->e, PCI_COMMAND_MEMORY |
						    PCI_COMMAND_MASTER));
	EXPECT_OK(dma_round_trip(self, 2));
}

/*
 * Both functions bound to the same context: each reported by its own ID.
 * A second context cannot take function 1 while the first holds the
 * group, and after function 1 leaves, the group is still the first's.
 * Either function's cdev may reset both.
 */
TEST_F(reset, cdev_two_functions_one_context)
{
	struct vfio_pci_dependent_device *d;
	struct reset_info info;
	struct edu e1;
	int other;

	ASSERT_OK(edu_open(&self->e, self->bdfs[0], self->fd));

	other = iommufd_open();
	ASSERT_LE(0, other);
	/* The IOMMU core's answer for a group that has another DMA owner */
	EXPECT_ERR(EPERM, edu_open(&e1, self->bdfs[1], other));
	EXPECT_OK(close(other));

	ASSERT_OK(edu_open(&e1, self->bdfs[1], self->fd));
	EXPECT_NE(self->e.dev_id, e1.dev_id);
	ASSERT_OK(reset_info(self->e.devfd, &info));
	EXPECT_EQ(VFIO_PCI_HOT_RESET_FLAG_DEV_ID |
		  VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED, info.hdr.flags);
	d = info_entry(&info, self->bdfs[1]);
	ASSERT_NE(NULL, d);
	EXPECT_EQ(e1.dev_id, d->devid);
	ASSERT_OK(hot_reset(e1.devfd, NULL, 0));

	EXPECT_OK(edu_close(&e1));
	ASSERT_OK(reset_info(self->e.devfd, &info));
	d = info_entry(&info, self->bdfs[1]);
	ASSERT_NE(NULL, d);
	EXPECT_EQ(VFIO_PCI_DEVID_OWNED, d->devid);
}

/*
 * The other way round: function 1 open, function 0 bound to vfio-pci but
 * not opened, and reported owned through the group.
 */
TEST_F(reset, cdev_unbound_sibling)
{
	struct vfio_pci_dependent_device *d;
	struct reset_info info;
	struct edu e1;

	ASSERT_OK(edu_open(&e1, self->bdfs[1], self->fd));
	ASSERT_OK(reset_info(e1.devfd, &info));
	d = info_entry(&info, self->bdfs[0]);
	ASSERT_NE(NULL, d);
	EXPECT_EQ(VFIO_PCI_DEVID_OWNED, d->devid);
	EXPECT_OK(edu_close(&e1));
}

/*
 * Through the group with a /dev/iommu container: group IDs, not device
 * IDs, and the reset needs the group fd, not the context.
 */
TEST_F(reset, group_path)
{
	struct vfio_pci_dependent_device *d;
	struct reset_info info;
	int groupfd, container;

	groupfd = vfio_group_open(self->bdfs[0], false);
	ASSERT_LE(0, groupfd);
	container = self->fd;
	ASSERT_OK(ioctl(groupfd, VFIO_GROUP_SET_CONTAINER, &container));
	ASSERT_OK(ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	ASSERT_OK(edu_open_group(&self->e, self->bdfs[0], groupfd));

	ASSERT_OK(reset_info(self->e.devfd, &info));
	EXPECT_EQ(0, info.hdr.flags);
	EXPECT_EQ(NFUNCS, info.hdr.count);
	d = info_entry(&info, self->bdfs[0]);
	ASSERT_NE(NULL, d);
	EXPECT_EQ(self->group, d->group_id);
	d = info_entry(&info, self->bdfs[1]);
	ASSERT_NE(NULL, d);
	EXPECT_EQ(self->group, d->group_id);

	EXPECT_ERR(EINVAL, hot_reset(self->e.devfd, NULL, 0));
	EXPECT_OK(hot_reset(self->e.devfd, &groupfd, 1));

	EXPECT_OK(edu_close(&self->e));
	EXPECT_OK(close(groupfd));
}

TEST_HARNESS_MAIN
