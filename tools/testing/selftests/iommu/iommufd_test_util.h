/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iommufd_test_util.h - helpers shared by the iommufd selftests and demo.
 *
 * Each wrapper below issues exactly one ioctl on a /dev/iommu descriptor and
 * returns 0 or a negative errno, so a test states what it expects in one
 * line:
 *
 *	ASSERT_OK(ioas_alloc(fd, &ioas_id));
 *	EXPECT_ERR(ENOENT, obj_destroy(fd, ioas_id + 100));
 *
 * Results come back through pointer arguments, and only when the call
 * succeeds, the same promise the kernel makes for its out_* members.
 *
 * The mock IOMMU driver that CONFIG_IOMMUFD_TEST builds into iommufd is
 * reached through IOMMU_TEST_CMD; those wrappers are named mock_*(). A
 * kernel built without it answers IOMMU_TEST_CMD with ENOTTY.
 *
 * Nothing here asserts by itself except the few helpers that take the
 * harness's _metadata, which are meant for fixture setup and teardown.
 */
#ifndef __IOMMUFD_TEST_UTIL_H
#define __IOMMUFD_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include "../../../../drivers/iommu/iommufd/iommufd_test.h"

/* Shorthands for "returns 0" and "fails with this errno" */
#define ASSERT_OK(expr) ASSERT_EQ(0, (expr))
#define EXPECT_OK(expr) EXPECT_EQ(0, (expr))
#define ASSERT_ERR(err, expr) ASSERT_EQ(-(err), (expr))
#define EXPECT_ERR(err, expr) EXPECT_EQ(-(err), (expr))

/* The device node, and the unmap-all encoding of IOMMU_IOAS_UNMAP */
#define IOMMUFD_PATH "/dev/iommu"
#define UNMAP_ALL_LENGTH ((__u64)-1)

/* Default size the kernel uses for its pinning scratch memory */
#define DEFAULT_TEMP_MEMORY_LIMIT 65536

/* Set once at start-up: the CPU page size, and the mock's IO page size */
static size_t page_size;
static size_t mock_io_page;

static void __attribute__((constructor)) iommufd_util_init(void)
{
	page_size = sysconf(_SC_PAGESIZE);
	mock_io_page = page_size / 2;
}

/* Run one ioctl: 0 on success, -errno on failure */
static inline int ifd_ioctl(int fd, unsigned long request, void *arg)
{
	if (ioctl(fd, request, arg) < 0)
		return -errno;
	return 0;
}

/* A new /dev/iommu context: the descriptor, or -errno */
static inline int iommufd_open(void)
{
	int fd = open(IOMMUFD_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static inline int obj_destroy(int fd, __u32 id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ifd_ioctl(fd, IOMMU_DESTROY, &cmd);
}

static inline int ioas_alloc(int fd, __u32 *ioas_id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int rc = ifd_ioctl(fd, IOMMU_IOAS_ALLOC, &cmd);

	if (!rc)
		*ioas_id = cmd.out_ioas_id;
	return rc;
}

/*
 * Map [@buf, @buf + @len) into @ioas_id. With IOMMU_IOAS_MAP_FIXED_IOVA in
 * @flags, *@iova is where; otherwise *@iova receives the kernel's choice.
 */
static inline int ioas_map_flags(int fd, __u32 ioas_id, const void *buf,
				 __u64 len, __u64 *iova, __u32 flags)
{
	struct iommu_ioas_map cmd = {
		.flags = flags,
		.ioas_id = ioas_id,
		.user_va = (__u64)(unsigned long)buf,
		.length = len,
		.iova = *iova,
		.size = sizeof(cmd),
	};
	int rc = ifd_ioctl(fd, IOMMU_IOAS_MAP, &cmd);

	if (!rc)
		*iova = cmd.iova;
	return rc;
}

/* Read-write mapping at an IOVA of the caller's choosing */
static inline int ioas_map_at(int fd, __u32 ioas_id, const void *buf,
			      __u64 len, __u64 iova)
{
	return ioas_map_flags(fd, ioas_id, buf, len, &iova,
			      IOMMU_IOAS_MAP_FIXED_IOVA |
			      IOMMU_IOAS_MAP_READABLE |
			      IOMMU_IOAS_MAP_WRITEABLE);
}

/* Read-write mapping at an IOVA of the kernel's choosing */
static inline int ioas_map_any(int fd, __u32 ioas_id, const void *buf,
			       __u64 len, __u64 *iova)
{
	*iova = 0;
	return ioas_map_flags(fd, ioas_id, buf, len, iova,
			      IOMMU_IOAS_MAP_READABLE |
			      IOMMU_IOAS_MAP_WRITEABLE);
}

static inline int ioas_map_file(int fd, __u32 ioas_id, int mfd, __u64 start,
				__u64 len, __u64 *iova, __u32 flags)
{
	struct iommu_ioas_map_file cmd = {
		.flags = flags,
		.ioas_id = ioas_id,
		.fd = mfd,
		.start = start,
		.length = len,
		.iova = *iova,
		.size = sizeof(cmd),
	};
	int rc = ifd_ioctl(fd, IOMMU_IOAS_MAP_FILE, &cmd);

	if (!rc)
		*iova = cmd.iova;
	return rc;
}

/* Unmap [@iova, @iova + @len); *@unmapped (may be NULL) gets the bytes */
static inline int ioas_unmap(int fd, __u32 ioas_id, __u64 iova, __u64 len,
			     __u64 *unmapped)
{
	struct iommu_ioas_unmap cmd = {
		.ioas_id = ioas_id,
		.iova = iova,
		.length = len,
		.size = sizeof(cmd),
	};
	int rc = ifd_ioctl(fd, IOMMU_IOAS_UNMAP, &cmd);

	if (!rc && unmapped)
		*unmapped = cmd.length;
	return rc;
}

static inline int ioas_unmap_all(int fd, __u32 ioas_id, __u64 *unmapped)
{
	return ioas_unmap(fd, ioas_id, 0, UNMAP_ALL_LENGTH, unmapped);
}

/*
 * Copy [@src_iova, @src_iova + @len) of @src_id into @dst_id. *@dst_iova is
 * in/out exactly like ioas_map_flags()'s *iova.
 */
static inline int ioas_copy(int fd, __u32 dst_id, __u32 src_id,
			    __u64 src_iova, __u64 len, __u64 *dst_iova,
			    __u32 flags)
{
	struct iommu_ioas_copy cmd = {
		.flags = flags,
		.dst_ioas_id = dst_id,
		.src_ioas_id = src_id,
		.length = len,
		.dst_iova = *dst_iova,
		.src_iova = src_iova,
		.size = sizeof(cmd),
	};
	int rc = ifd_ioctl(fd, IOMMU_IOAS_COPY, &cmd);

	if (!rc)
		*dst_iova = cmd.dst_iova;
	return rc;
}

/*
 * IOMMU_IOAS_IOVA_RANGES. *@num is the capacity of @ranges on input and the
 * kernel's count on output, which it also reports with -EMSGSIZE. @align
 * may be NULL.
 */
static inline int ioas_ranges(int fd, __u32 ioas_id,
			      struct iommu_iova_range *ranges, __u32 *num,
			      __u64 *align)
{
	struct iommu_ioas_iova_ranges cmd = {
		.ioas_id = ioas_id,
		.num_iovas = *num,
		.allowed_iovas = (__u64)(unsigned long)ranges,
		.size = sizeof(cmd),
	};
	int rc = ifd_ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd);

	if (!rc || rc == -EMSGSIZE)
		*num = cmd.num_iovas;
	if (!rc && align)
		*align = cmd.out_iova_alignment;
	return rc;
}

/* The IOVA alignment the IOAS currently demands, or -errno */
static inline long ioas_alignment(int fd, __u32 ioas_id)
{
	struct iommu_iova_range ranges[64];
	__u32 num = 64;
	__u64 align;
	int rc;

	rc = ioas_ranges(fd, ioas_id, ranges, &num, &align);
	return rc ? rc : (long)align;
}

static inline int ioas_allow(int fd, __u32 ioas_id,
			     const struct iommu_iova_range *ranges, __u32 num)
{
	struct iommu_ioas_allow_iovas cmd = {
		.ioas_id = ioas_id,
		.num_iovas = num,
		.allowed_iovas = (__u64)(unsigned long)ranges,
		.size = sizeof(cmd),
	};

	return ifd_ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

static inline int option_get(int fd, __u32 option, __u32 object_id,
			     __u64 *val)
{
	struct iommu_option cmd = {
		.option_id = option,
		.op = IOMMU_OPTION_OP_GET,
		.object_id = object_id,
		/* Something GET must overwrite */
		.val64 = 0x5a5a5a5a5a5a5a5aULL,
		.size = sizeof(cmd),
	};
	int rc = ifd_ioctl(fd, IOMMU_OPTION, &cmd);

	if (!rc)
		*val = cmd.val64;
	return rc;
}

static inline int option_set(int fd, __u32 option, __u32 object_id,
			     __u64 val)
{
	struct iommu_option cmd = {
		.option_id = option,
		.op = IOMMU_OPTION_OP_SET,
		.object_id = object_id,
		.val64 = val,
		.size = sizeof(cmd),
	};

	return ifd_ioctl(fd, IOMMU_OPTION, &cmd);
}

/* A paging HWPT for device @dev_id on the IOAS (or parent HWPT) @pt_id */
static inline int hwpt_alloc(int fd, __u32 dev_id, __u32 pt_id, __u32 flags,
			     __u32 *hwpt_id)
{
	struct iommu_hwpt_alloc cmd = {
		.flags = flags,
		.dev_id = dev_id,
		.pt_id = pt_id,
		.data_type = IOMMU_HWPT_DATA_NONE,
		.size = sizeof(cmd),
	};
	int rc = ifd_ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);

	if (!rc)
		*hwpt_id = cmd.out_hwpt_id;
	return rc;
}

/* The mock driver's command: @cmd->op and its arguments filled in */
static inline int mock_cmd(int fd, __u32 id, struct iommu_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	cmd->id = id;
	return ifd_ioctl(fd, IOMMU_TEST_CMD, cmd);
}

/* Reserve [@start, @start + @len) in an IOAS as a device region would */
static inline int mock_add_reserved(int fd, __u32 ioas_id, __u64 start,
				    __u64 len)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ADD_RESERVED,
		.add_reserved = { .start = start, .length = len },
	};

	return mock_cmd(fd, ioas_id, &cmd);
}

/*
 * Create a mock device and attach it to @pt_id (an IOAS or a HWPT). Any of
 * the out pointers may be NULL.
 */
static inline int mock_domain(int fd, __u32 pt_id, __u32 *stdev_id,
			      __u32 *hwpt_id, __u32 *idev_id)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	int rc = mock_cmd(fd, pt_id, &cmd);

	if (rc)
		return rc;
	if (stdev_id)
		*stdev_id = cmd.mock_domain.out_stdev_id;
	if (hwpt_id)
		*hwpt_id = cmd.mock_domain.out_hwpt_id;
	if (idev_id)
		*idev_id = cmd.mock_domain.out_idev_id;
	return 0;
}

/*
 * Does mock HWPT @hwpt_id translate [@iova, @iova + @len) to @buf, and, if
 * @perm is not 0, does every IOPTE allow exactly @perm (MOCK_CHECK_MAP_READ
 * and _WRITE)? -EINVAL if an address is wrong, -EACCES if only a permission
 * is.
 */
static inline int mock_check_map_perm(int fd, __u32 hwpt_id, __u64 iova,
				      const void *buf, __u64 len, __u32 perm)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_CHECK_MAP,
		.check_map = {
			.iova = iova,
			.length = len,
			.uptr = (__u64)(unsigned long)buf,
			.perm = perm,
		},
	};

	return mock_cmd(fd, hwpt_id, &cmd);
}

/* Does mock HWPT @hwpt_id translate [@iova, @iova + @len) to @buf? */
static inline int mock_check_map(int fd, __u32 hwpt_id, __u64 iova,
				 const void *buf, __u64 len)
{
	return mock_check_map_perm(fd, hwpt_id, iova, buf, len, 0);
}

/*
 * The IOPTEs of mock HWPT @hwpt_id over [@iova, @iova + @len): how many
 * IO-page-sized ones, how many large ones start there, how many IO pages
 * are unmapped. Any pointer may be NULL.
 */
static inline int mock_count_ioptes(int fd, __u32 hwpt_id, __u64 iova,
				    __u64 len, __u32 *small, __u32 *huge,
				    __u32 *empty)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_COUNT_IOPTES,
		.count_ioptes = { .iova = iova, .length = len },
	};
	int rc = mock_cmd(fd, hwpt_id, &cmd);

	if (rc)
		return rc;
	if (small)
		*small = cmd.count_ioptes.out_small;
	if (huge)
		*huge = cmd.count_ioptes.out_huge;
	if (empty)
		*empty = cmd.count_ioptes.out_empty;
	return 0;
}

/*
 * Does every page of [@buf, @buf + @len) carry exactly @pins long-term
 * pins? -EIO if not. The mock counts the pins of a large folio as one
 * number: with @pins 0 no page of a folio the range touches may be pinned,
 * even outside the range; otherwise a partly covered large folio must hold
 * at least the range's share.
 */
static inline int mock_check_pins(int fd, const void *buf, __u64 len,
				  unsigned int pins)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = {
			.length = len,
			.uptr = (__u64)(unsigned long)buf,
			.refs = pins,
		},
	};

	return mock_cmd(fd, 0, &cmd);
}

/* An emulated device on @ioas_id; *@access_fd names it from now on */
static inline int mock_access_create(int fd, __u32 ioas_id, __u32 flags,
				     int *access_fd)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_CREATE_ACCESS,
		.create_access = { .flags = flags },
	};
	int rc = mock_cmd(fd, ioas_id, &cmd);

	if (!rc)
		*access_fd = cmd.create_access.out_access_fd;
	return rc;
}

/* Pin [@iova, @iova + @len) through an access; *@item names the pin */
static inline int mock_access_pin(int fd, int access_fd, __u64 iova,
				  __u64 len, const void *buf, __u32 flags,
				  __u32 *item)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_PAGES,
		.access_pages = {
			.flags = flags,
			.iova = iova,
			.length = len,
			.uptr = (__u64)(unsigned long)buf,
		},
	};
	int rc = mock_cmd(fd, access_fd, &cmd);

	if (!rc)
		*item = cmd.access_pages.out_access_pages_id;
	return rc;
}

static inline int mock_access_unpin(int fd, int access_fd, __u32 item)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
		.destroy_access_pages = { .access_pages_id = item },
	};

	return mock_cmd(fd, access_fd, &cmd);
}

/*
 * Copy @len bytes between @buf and IOVA @iova through an access: into the
 * IOAS with MOCK_ACCESS_RW_WRITE in @flags, out of it otherwise.
 */
static inline int mock_access_rw(int fd, int access_fd, __u64 iova,
				 void *buf, __u64 len, __u32 flags)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_RW,
		.access_rw = {
			.iova = iova,
			.length = len,
			.uptr = (__u64)(unsigned long)buf,
			.flags = flags,
		},
	};

	return mock_cmd(fd, access_fd, &cmd);
}

static inline int mock_access_replace_ioas(int fd, int access_fd,
					   __u32 ioas_id)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
		.access_replace_ioas = { .ioas_id = ioas_id },
	};

	return mock_cmd(fd, access_fd, &cmd);
}

static inline int mock_temp_memory_limit(int fd, __u32 limit)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
		.memory_limit = { .limit = limit },
	};

	return mock_cmd(fd, 0, &cmd);
}

/*
 * What the kernel says about the mock driver: 0 if IOMMU_TEST_CMD works,
 * -ENOTTY for a kernel without CONFIG_IOMMUFD_TEST, or the errno of the
 * pin check on one fresh page (e.g. -EOPNOTSUPP while the mock lacks it).
 */
static inline int mock_probe(void)
{
	void *page;
	int fd, rc;

	fd = iommufd_open();
	if (fd < 0)
		return fd;
	page = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		rc = -errno;
	} else {
		rc = mock_check_pins(fd, page, page_size, 0);
		munmap(page, page_size);
	}
	close(fd);
	return rc;
}

/*
 * Close @fd, open a brand-new context and ask the mock whether any page of
 * [@buf, @buf + @len) still carries a pin: a context's pins must all be
 * gone by the time close() returns. 0, -EIO if pins remain, or -errno.
 */
static inline int close_check_unpinned(int fd, const void *buf, __u64 len)
{
	int check_fd, rc;

	if (close(fd))
		return -errno;
	check_fd = iommufd_open();
	if (check_fd < 0)
		return check_fd;
	rc = mock_check_pins(check_fd, buf, len, 0);
	if (close(check_fd) && !rc)
		rc = -errno;
	return rc;
}

/* Fixture teardown: close @fd and fail the test if a pin in @buf survived */
#define TEARDOWN_CLOSE_UNPINNED(fd, buf, len)                              \
	ASSERT_OK(close_check_unpinned(fd, buf, len))

/*
 * The mock driver is part of every kernel these tests run on (the suites
 * build it in, or load it with iommufd.ko): without it the kernel under
 * test is broken, and the test fails rather than skips.
 */
#define ASSERT_MOCK() ASSERT_OK(mock_probe())

/*
 * @len bytes of MAP_SHARED anonymous memory at an address aligned to
 * @align (a power of two). Shared, so forked children see the same pages,
 * and never backed by transparent huge pages, so the mock counts pins on
 * every page. MAP_FAILED on error.
 */
static inline void *alloc_shared(size_t len, size_t align)
{
	char *area, *buf;
	size_t slop;

	area = mmap(NULL, len + align, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED)
		return MAP_FAILED;
	buf = (char *)(((unsigned long)area + align - 1) & ~(align - 1));
	if (mmap(buf, len, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
		munmap(area, len + align);
		return MAP_FAILED;
	}
	slop = buf - area;
	if (slop)
		munmap(area, slop);
	if (align - slop)
		munmap(buf + len, align - slop);
	return buf;
}

/*
 * @len bytes of private anonymous base pages (THP off) of which hardly two
 * are physically contiguous, at an address aligned to @align (a power of
 * two, at least page_size): faulted in alternately with the pages of a
 * second buffer, which is then freed. MAP_FAILED, with errno, on error.
 */
static inline char *alloc_fragmented(size_t len, size_t align)
{
	size_t total = len + align - page_size, off, slop;
	char *a, *b, *buf;
	int err;

	a = mmap(NULL, total, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		return a;
	b = mmap(NULL, total, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED) {
		err = errno;
		munmap(a, total);
		errno = err;
		return MAP_FAILED;
	}
	madvise(a, total, MADV_NOHUGEPAGE);
	madvise(b, total, MADV_NOHUGEPAGE);
	for (off = 0; off < total; off += page_size) {
		a[off] = 1;
		b[off] = 2;
	}
	munmap(b, total);
	buf = (char *)(((unsigned long)a + align - 1) & ~(align - 1));
	slop = buf - a;
	if (slop)
		munmap(a, slop);
	if (total - slop - len)
		munmap(buf + len, total - slop - len);
	return buf;
}

/*
 * The PFNs of the @n pages from @va on, all faulted in, into @pfns, by
 * /proc/self/pagemap: 0, -errno if it cannot be read, or -EPERM if it shows
 * a page without its PFN (not root, or the page is not present).
 */
static inline int pagemap_pfns(const void *va, size_t n, __u64 *pfns)
{
	const __u64 pfn_mask = (1ULL << 55) - 1, present = 1ULL << 63;
	ssize_t want = n * sizeof(*pfns), rd;
	int fd, err;
	size_t i;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rd = pread(fd, pfns, want, (unsigned long)va / page_size * sizeof(*pfns));
	err = errno;
	close(fd);
	if (rd != want)
		return rd < 0 ? -err : -EIO;
	for (i = 0; i != n; i++) {
		if (!(pfns[i] & present) || !(pfns[i] & pfn_mask))
			return -EPERM;
		pfns[i] &= pfn_mask;
	}
	return 0;
}

/*
 * How many pages of [@va, @va + @len), all faulted in, follow their
 * predecessor physically, by /proc/self/pagemap: -errno as for
 * pagemap_pfns().
 */
static inline long pagemap_contiguous(const void *va, size_t len)
{
	size_t n = len / page_size, i, j, got, chunk = 4096;
	__u64 *pfn, prev = 0;
	long adjacent = 0;
	int rc;

	pfn = malloc(chunk * sizeof(*pfn));
	if (!pfn)
		return -ENOMEM;
	for (i = 0; i < n; i += got) {
		got = n - i < chunk ? n - i : chunk;
		rc = pagemap_pfns((const char *)va + i * page_size, got, pfn);
		if (rc) {
			adjacent = rc;
			break;
		}
		for (j = 0; j < got; j++) {
			if (i + j && pfn[j] == prev + 1)
				adjacent++;
			prev = pfn[j];
		}
	}
	free(pfn);
	return adjacent;
}

/*
 * The fdinfo of @fd, NUL terminated, in @out: all of it, or its first
 * @size - 1 bytes; 0 or -errno
 */
static inline int fdinfo_read(int fd, char *out, size_t size)
{
	size_t len = 0;
	char path[64];
	ssize_t n;
	int pfd;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	pfd = open(path, O_RDONLY);
	if (pfd < 0)
		return -errno;
	while ((n = read(pfd, out + len, size - 1 - len)) > 0)
		len += n;
	close(pfd);
	if (n < 0)
		return -errno;
	out[len] = 0;
	return 0;
}

/* The text after "@key:\t" on its line of @info, or NULL */
static inline const char *fdinfo_find(const char *info, const char *key)
{
	size_t klen = strlen(key);
	const char *line;

	for (line = info; *line; line = strchrnul(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, key, klen) && line[klen] == ':' &&
		    line[klen + 1] == '\t')
			return line + klen + 2;
	}
	return NULL;
}

/* The number of the "@key:" line of @fd's fdinfo, or -1 */
static inline long fdinfo_num(int fd, const char *key)
{
	char info[8192];
	const char *v;

	if (fdinfo_read(fd, info, sizeof(info)))
		return -1;
	v = fdinfo_find(info, key);
	return v ? strtol(v, NULL, 10) : -1;
}

/*
 * Whether the kernel has warned since it booted (TAINT_WARN in
 * /proc/sys/kernel/tainted): 1, 0, or -errno. A test that must not make
 * the kernel warn checks it was 0 before and is 0 after.
 */
static inline int kernel_warned(void)
{
	char buf[32] = {};
	ssize_t n;
	int fd;

	fd = open("/proc/sys/kernel/tainted", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n ? -errno : -EIO;
	return !!(strtoul(buf, NULL, 10) & (1UL << 9));
}

/* The value of the "@key:" line of the /proc file @path (KiB), or -1 */
static inline long proc_file_kib(const char *path, const char *key)
{
	size_t klen = strlen(key);
	char line[256];
	long val = -1;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			val = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/* The "@key:" line of /proc/self/status, in KiB, or -1 if absent */
static inline long proc_status_kib(const char *key)
{
	return proc_file_kib("/proc/self/status", key);
}

/* The "@key:" line of /proc/meminfo, in KiB, or -1 if absent */
static inline long meminfo_kib(const char *key)
{
	return proc_file_kib("/proc/meminfo", key);
}

/* Whether @cap is in the effective set of this thread */
static inline bool has_capability(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap);
}

/* Remove @cap from the effective and permitted sets of this thread */
static inline int drop_capability(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[CAP_TO_INDEX(cap)].effective &= ~CAP_TO_MASK(cap);
	data[CAP_TO_INDEX(cap)].permitted &= ~CAP_TO_MASK(cap);
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

/*
 * Run @fn(@arg) in a forked child and return its exit status, 0 meaning
 * success, or -errno if the child could not be run. The child leaves with
 * _exit(): it must not use the harness's ASSERT/EXPECT, whose bookkeeping
 * belongs to the test process.
 */
static inline int run_in_child(int (*fn)(void *arg), void *arg)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	if (!WIFEXITED(status))
		return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return WEXITSTATUS(status);
}

/*
 * For child functions: say which step failed and give back @code, the exit
 * status that tells the parent the same.
 */
static inline int child_failed(int code, const char *what)
{
	fprintf(stderr, "# child step %d failed: %s\n", code, what);
	return code;
}

/*
 * Devices, HWPTs, dirty tracking and faults. Same conventions as above:
 * one ioctl each, 0 or -errno, outputs only on success (except where a
 * helper says otherwise).
 */

/* mock_domain() for a device with MOCK_FLAGS_DEVICE_* @dev_flags */
static inline int mock_domain_flags(int fd, __u32 pt_id, __u32 dev_flags,
				    __u32 *stdev_id, __u32 *hwpt_id,
				    __u32 *idev_id)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
		.mock_domain_flags = { .dev_flags = dev_flags },
	};
	int rc = mock_cmd(fd, pt_id, &cmd);

	if (!rc && stdev_id)
		*stdev_id = cmd.mock_domain_flags.out_stdev_id;
	if (!rc && hwpt_id)
		*hwpt_id = cmd.mock_domain_flags.out_hwpt_id;
	if (!rc && idev_id)
		*idev_id = cmd.mock_domain_flags.out_idev_id;
	return rc;
}

/*
 * Move mock device @stdev_id to @pt_id (an IOAS or a HWPT); *@hwpt_id, which
 * may be NULL, gets the HWPT it is attached to now.
 */
static inline int mock_replace(int fd, __u32 stdev_id, __u32 pt_id,
			       __u32 *hwpt_id)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.mock_domain_replace = { .pt_id = pt_id },
	};
	int rc = mock_cmd(fd, stdev_id, &cmd);

	if (!rc && hwpt_id)
		*hwpt_id = cmd.mock_domain_replace.pt_id;
	return rc;
}

/*
 * IOMMU_HWPT_ALLOC with everything: @len bytes of driver data of type
 * @type at @data, and the FAULT object @fault (looked at only with
 * IOMMU_HWPT_FAULT_ID_VALID in @flags).
 */
static inline int hwpt_alloc_data(int fd, __u32 dev, __u32 pt, __u32 flags,
				  __u32 type, const void *data, __u32 len,
				  __u32 fault, __u32 *hwpt_id)
{
	struct iommu_hwpt_alloc cmd = {
		.dev_id = dev,
		.pt_id = pt,
		.flags = flags,
		.fault_id = fault,
		.data_type = type,
		.data_uptr = (__u64)(unsigned long)data,
		.data_len = len,
		.size = sizeof(cmd),
	};
	int rc = ifd_ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);

	if (!rc)
		*hwpt_id = cmd.out_hwpt_id;
	return rc;
}

/*
 * A mock nested HWPT on the nesting parent @parent_id, every IOTLB entry
 * starting out as @iotlb. @flags may add IOMMU_HWPT_FAULT_ID_VALID.
 */
static inline int hwpt_alloc_mock_nested(int fd, __u32 dev_id,
					 __u32 parent_id, __u32 flags,
					 __u32 fault_id, __u32 iotlb,
					 __u32 *hwpt_id)
{
	struct iommu_hwpt_selftest data = { .iotlb = iotlb };

	return hwpt_alloc_data(fd, dev_id, parent_id, flags,
			       IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data),
			       fault_id, hwpt_id);
}

/*
 * IOMMU_HWPT_INVALIDATE of *@num entries of @entry_len bytes. *@num gets
 * the entry_num the kernel writes back, which it does whether the call
 * succeeds or not (it keeps its input value if the kernel wrote nothing).
 */
static inline int hwpt_invalidate_entries(int fd, __u32 hwpt_id,
					  __u32 data_type, const void *entries,
					  __u32 entry_len, __u32 *num)
{
	struct iommu_hwpt_invalidate cmd = {
		.hwpt_id = hwpt_id,
		.data_uptr = (__u64)(unsigned long)entries,
		.data_type = data_type,
		.entry_len = entry_len,
		.entry_num = *num,
		.size = sizeof(cmd),
	};
	int rc = ifd_ioctl(fd, IOMMU_HWPT_INVALIDATE, &cmd);

	*num = cmd.entry_num;
	return rc;
}

/* Does IOTLB entry @slot of mock nested HWPT @hwpt_id hold @value? */
static inline int mock_check_iotlb(int fd, __u32 hwpt_id, __u32 slot,
				   __u32 value)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_CHECK_IOTLB,
		.check_iotlb = { .id = slot, .iotlb = value },
	};

	return mock_cmd(fd, hwpt_id, &cmd);
}

static inline int hwpt_set_dirty(int fd, __u32 hwpt_id, bool enable)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
		.hwpt_id = hwpt_id,
		.size = sizeof(cmd),
	};

	return ifd_ioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

/* Read (and clear, unless @flags says not to) dirty bits into @bitmap */
static inline int hwpt_get_dirty(int fd, __u32 hwpt_id, __u64 iova,
				 __u64 length, __u64 pgsize, void *bitmap,
				 __u32 flags)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.hwpt_id = hwpt_id,
		.flags = flags,
		.iova = iova,
		.length = length,
		.page_size = pgsize,
		.data = (__u64)(unsigned long)bitmap,
		.size = sizeof(cmd),
	};

	return ifd_ioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

/*
 * Play the device: write to the IOVA of every set bit of @bitmap (bit k
 * stands for [@iova + k * @pgsize, + @pgsize)) in mock HWPT @hwpt_id.
 * *@nr_dirty (may be NULL) gets how many IOPTEs were written to.
 */
static inline int mock_dirty_mark(int fd, __u32 hwpt_id, __u64 iova,
				  __u64 length, __u64 pgsize,
				  const void *bitmap, __u64 *nr_dirty)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_DIRTY,
		.dirty = {
			.iova = iova,
			.length = length,
			.page_size = pgsize,
			.uptr = (__u64)(unsigned long)bitmap,
		},
	};
	int rc = mock_cmd(fd, hwpt_id, &cmd);

	if (!rc && nr_dirty)
		*nr_dirty = cmd.dirty.out_nr_dirty;
	return rc;
}

/* A FAULT object and the descriptor its faults are read from */
static inline int fault_queue_new(int fd, __u32 *fault_id, int *fault_fd)
{
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd) };
	int rc = ifd_ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd);

	if (!rc) {
		*fault_id = cmd.out_fault_id;
		*fault_fd = cmd.out_fault_fd;
	}
	return rc;
}

/* Have the mock device @idev_id send one page request (a whole group) */
static inline int mock_trigger_iopf(int fd, __u32 idev_id, __u32 pasid,
				    __u32 grpid, __u32 perm, __u64 addr)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = {
			.dev_id = idev_id,
			.pasid = pasid,
			.grpid = grpid,
			.perm = perm,
			.addr = addr,
		},
	};

	return mock_cmd(fd, 0, &cmd);
}

#endif /* __IOMMUFD_TEST_UTIL_H */
