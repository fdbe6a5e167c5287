// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd_inflight.c - what an IOAS does while a map is in flight.
 *
 * A map pins its memory and fills the domains without holding the IOAS's
 * IOVA lock: until it returns, its range is taken but not mapped. To hold a
 * map in that state for as long as a test needs, its memory is registered
 * with userfaultfd: pinning the first page faults, and the fault waits for
 * the test to resolve it (UFFDIO_COPY). Meanwhile the test checks that
 * every other operation on the IOAS goes on, and sees the range as free
 * for nothing and mapped for nobody.
 *
 * Needs the mock IOMMU (CONFIG_IOMMUFD_TEST, built in: its absence fails
 * the tests) and CONFIG_USERFAULTFD.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#include "../kselftest_harness.h"
#include "iommufd_test_util.h"
#include "iommufd_type1.h"

#define SLOW_PAGES	64
#define SLOW_LEN	(SLOW_PAGES * page_size)
/* IOVAs inside the mock's aperture */
#define IOVA_SLOW	(MOCK_APERTURE_START + 0x100000UL)
#define IOVA_QUICK	(MOCK_APERTURE_START + 0x800000UL)
/* How long a thread that must not be blocked may take */
#define PROMPT_MS	10000

/* A map run in a thread of its own */
struct map_job {
	int fd;
	__u32 ioas_id;
	void *buf;
	__u64 len;
	__u64 iova;
	int rc;
	atomic_int tid;
	atomic_bool done;
};

static void *map_job_run(void *arg)
{
	struct map_job *job = arg;

	atomic_store(&job->tid, syscall(SYS_gettid));
	job->rc = ioas_map_at(job->fd, job->ioas_id, job->buf, job->len,
			      job->iova);
	atomic_store(&job->done, true);
	return NULL;
}

/* A new paging HWPT on the IOAS, made in a thread of its own */
struct hwpt_job {
	int fd;
	__u32 idev_id;
	__u32 ioas_id;
	__u32 hwpt_id;
	int rc;
	atomic_bool done;
};

static void *hwpt_job_run(void *arg)
{
	struct hwpt_job *job = arg;

	job->rc = hwpt_alloc(job->fd, job->idev_id, job->ioas_id, 0,
			     &job->hwpt_id);
	atomic_store(&job->done, true);
	return NULL;
}

/* Reap child @pid within @ms; false if it is still there */
static bool wait_child(pid_t pid, int *status, int ms)
{
	while (ms-- > 0) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return true;
		usleep(1000);
	}
	return false;
}

/* Wait up to @ms for *@done; true if it came */
static bool wait_done(atomic_bool *done, int ms)
{
	while (!atomic_load(done) && ms-- > 0)
		usleep(1000);
	return atomic_load(done);
}

FIXTURE(inflight)
{
	int fd;
	__u32 ioas_id;
	__u32 stdev_id;
	__u32 hwpt_id;
	__u32 idev_id;
	int uffd;
	char *slow;	/* SLOW_LEN, userfaultfd-registered, then a hole */
	char *quick;	/* SLOW_LEN of ordinary memory */
	char *data;	/* what the faults are resolved with */
	struct map_job job;
	pthread_t thread;
	bool started;
};

FIXTURE_SETUP(inflight)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	self->uffd = -1;
	self->fd = iommufd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_OK(ioas_alloc(self->fd, &self->ioas_id));
	ASSERT_OK(mock_domain(self->fd, self->ioas_id, &self->stdev_id,
			      &self->hwpt_id, &self->idev_id));

	self->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, self->uffd)
		TH_LOG("userfaultfd: %s (CONFIG_USERFAULTFD?)",
		       strerror(errno));
	ASSERT_OK(ioctl(self->uffd, UFFDIO_API, &api));

	/* The slow buffer, followed by a page nothing can pin */
	self->slow = mmap(NULL, SLOW_LEN + page_size, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->slow);
	ASSERT_OK(mprotect(self->slow, SLOW_LEN, PROT_READ | PROT_WRITE));
	reg.range.start = (__u64)(uintptr_t)self->slow;
	reg.range.len = SLOW_LEN;
	ASSERT_OK(ioctl(self->uffd, UFFDIO_REGISTER, &reg));

	self->quick = alloc_shared(SLOW_LEN, page_size);
	ASSERT_NE(MAP_FAILED, self->quick);
	memset(self->quick, 0x5a, SLOW_LEN);
	self->data = alloc_shared(SLOW_LEN, page_size);
	ASSERT_NE(MAP_FAILED, self->data);
	memset(self->data, 0xa5, SLOW_LEN);

	self->job = (struct map_job){
		.fd = self->fd,
		.ioas_id = self->ioas_id,
		.buf = self->slow,
		.len = SLOW_LEN,
		.iova = IOVA_SLOW,
	};
}

FIXTURE_TEARDOWN(inflight)
{
	if (self->started)
		pthread_join(self->thread, NULL);
	if (self->uffd >= 0)
		close(self->uffd);
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * Start the map of the slow buffer (self->job, whose length the test may
 * change) and wait until it is stuck pinning its first page.
 */
static int start_slow_map(struct _test_data_inflight *self)
{
	struct pollfd pfd = { .fd = self->uffd, .events = POLLIN };
	struct uffd_msg msg;

	if (pthread_create(&self->thread, NULL, map_job_run, &self->job))
		return -EAGAIN;
	self->started = true;
	if (poll(&pfd, 1, PROMPT_MS) != 1)
		return -ETIMEDOUT;
	if (read(self->uffd, &msg, sizeof(msg)) != sizeof(msg))
		return -EIO;
	if (msg.event != UFFD_EVENT_PAGEFAULT ||
	    msg.arg.pagefault.address != (__u64)(uintptr_t)self->slow)
		return -EINVAL;
	/* It is blocked there for good, until resolve_slow_map() */
	return atomic_load(&self->job.done) ? -EALREADY : 0;
}

/*
 * Give the first @len bytes of the slow buffer their pages, copies of the
 * data buffer's, and so wake whatever waits on their userfaults; 0 or
 * -errno
 */
static int fill_slow(struct _test_data_inflight *self, size_t len)
{
	struct uffdio_copy copy = {
		.dst = (__u64)(uintptr_t)self->slow,
		.src = (__u64)(uintptr_t)self->data,
		.len = len,
	};

	return ioctl(self->uffd, UFFDIO_COPY, &copy) ? -errno : 0;
}

/* Give the slow buffer its pages and wait for the map to finish */
static int resolve_slow_map(struct _test_data_inflight *self)
{
	int rc = fill_slow(self, SLOW_LEN);

	if (rc)
		return rc;
	pthread_join(self->thread, NULL);
	self->started = false;
	return self->job.rc;
}

/*
 * While the map is in flight its range is taken (a fixed map there fails,
 * a kernel-chosen IOVA avoids it) but not mapped: unmap, copy, access
 * reads and pins find nothing there, and unmapping everything leaves it
 * alone. The IOVA ranges and the other mappings stay usable. Once the
 * pages come, the map completes with all of it in the domain.
 */
TEST_F(inflight, range_taken_but_not_mapped)
{
	struct iommu_iova_range ranges[8];
	__u64 iova, unmapped, copy_iova = 0;
	__u32 num = 8, item;
	int access_fd;
	char byte;

	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->quick, SLOW_LEN,
			      IOVA_QUICK));
	ASSERT_OK(mock_access_create(self->fd, self->ioas_id,
				     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				     &access_fd));
	ASSERT_OK(start_slow_map(self));

	ASSERT_OK(ioas_ranges(self->fd, self->ioas_id, ranges, &num, NULL));
	EXPECT_ERR(EEXIST, ioas_map_at(self->fd, self->ioas_id, self->quick,
				       page_size, IOVA_SLOW + page_size));
	ASSERT_OK(ioas_map_any(self->fd, self->ioas_id, self->quick, SLOW_LEN,
			       &iova));
	EXPECT_TRUE(iova + SLOW_LEN <= IOVA_SLOW ||
		    iova >= IOVA_SLOW + SLOW_LEN);
	EXPECT_OK(ioas_unmap(self->fd, self->ioas_id, iova, SLOW_LEN, NULL));

	EXPECT_ERR(ENOENT, ioas_unmap(self->fd, self->ioas_id, IOVA_SLOW,
				      SLOW_LEN, NULL));
	EXPECT_ERR(ENOENT, ioas_copy(self->fd, self->ioas_id, self->ioas_id,
				     IOVA_SLOW, page_size, &copy_iova,
				     IOMMU_IOAS_MAP_READABLE));
	EXPECT_ERR(ENOENT, mock_access_rw(self->fd, access_fd, IOVA_SLOW,
					  &byte, 1, 0));
	EXPECT_ERR(ENOENT, mock_access_pin(self->fd, access_fd, IOVA_SLOW,
					   page_size, self->slow, 0, &item));
	/* The live mapping is there to read, and unmapping all takes it */
	EXPECT_OK(mock_access_rw(self->fd, access_fd, IOVA_QUICK, &byte, 1,
				 0));
	EXPECT_EQ(0x5a, byte);
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	EXPECT_EQ(SLOW_LEN, unmapped);
	EXPECT_FALSE(atomic_load(&self->job.done));

	ASSERT_OK(resolve_slow_map(self));
	EXPECT_OK(mock_check_map(self->fd, self->hwpt_id, IOVA_SLOW,
				 self->slow, SLOW_LEN));
	EXPECT_OK(mock_check_pins(self->fd, self->slow, SLOW_LEN, 1));
	EXPECT_OK(mock_access_rw(self->fd, access_fd, IOVA_SLOW, &byte, 1,
				 0));
	EXPECT_EQ((char)0xa5, byte);
	ASSERT_OK(ioas_unmap_all(self->fd, self->ioas_id, &unmapped));
	EXPECT_EQ(SLOW_LEN, unmapped);
	EXPECT_OK(mock_check_pins(self->fd, self->slow, SLOW_LEN, 0));
	close(access_fd);
}

/* Another map of the same IOAS completes while the first is in flight */
TEST_F(inflight, maps_in_parallel)
{
	struct map_job other = {
		.fd = self->fd,
		.ioas_id = self->ioas_id,
		.buf = self->quick,
		.len = SLOW_LEN,
		.iova = IOVA_QUICK,
	};
	pthread_t thread;
	bool prompt;

	ASSERT_OK(start_slow_map(self));
	ASSERT_OK(pthread_create(&thread, NULL, map_job_run, &other));
	prompt = wait_done(&other.done, PROMPT_MS);
	EXPECT_TRUE(prompt);
	EXPECT_FALSE(atomic_load(&self->job.done));

	/* Resolving also frees a map stuck behind the first (a failure) */
	ASSERT_OK(resolve_slow_map(self));
	pthread_join(thread, NULL);
	ASSERT_OK(other.rc);
	EXPECT_OK(mock_check_map(self->fd, self->hwpt_id, IOVA_QUICK,
				 self->quick, SLOW_LEN));
	EXPECT_OK(mock_check_map(self->fd, self->hwpt_id, IOVA_SLOW,
				 self->slow, SLOW_LEN));
}

/*
 * A new domain must get every mapping: making one on the IOAS waits for
 * the map in flight, and then has it.
 */
TEST_F(inflight, new_domain_waits_for_the_fill)
{
	struct hwpt_job hwpt = {
		.fd = self->fd,
		.idev_id = self->idev_id,
		.ioas_id = self->ioas_id,
	};
	pthread_t thread;

	ASSERT_OK(start_slow_map(self));
	ASSERT_OK(pthread_create(&thread, NULL, hwpt_job_run, &hwpt));
	/* Not a measurement: a new domain that gets through is a bug */
	EXPECT_FALSE(wait_done(&hwpt.done, 300));

	ASSERT_OK(resolve_slow_map(self));
	pthread_join(thread, NULL);
	ASSERT_OK(hwpt.rc);
	EXPECT_OK(mock_check_map(self->fd, hwpt.hwpt_id, IOVA_SLOW,
				 self->slow, SLOW_LEN));
	EXPECT_OK(mock_check_map(self->fd, self->hwpt_id, IOVA_SLOW,
				 self->slow, SLOW_LEN));
}

/*
 * A map whose pinning fails after the wait (it runs into the page nothing
 * can pin) leaves nothing behind: the range is free, nothing is pinned or
 * mapped, and the domain can take the range again.
 */
TEST_F(inflight, failed_fill_leaves_nothing)
{
	self->job.len = SLOW_LEN + page_size;
	ASSERT_OK(start_slow_map(self));
	EXPECT_ERR(EFAULT, resolve_slow_map(self));

	EXPECT_OK(mock_check_pins(self->fd, self->slow, SLOW_LEN, 0));
	EXPECT_ERR(ENOENT, ioas_unmap(self->fd, self->ioas_id, IOVA_SLOW,
				      SLOW_LEN, NULL));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->slow, SLOW_LEN,
			      IOVA_SLOW));
	EXPECT_OK(mock_check_map(self->fd, self->hwpt_id, IOVA_SLOW,
				 self->slow, SLOW_LEN));
	EXPECT_OK(ioas_unmap(self->fd, self->ioas_id, IOVA_SLOW, SLOW_LEN,
			     NULL));
}

/* IOMMU_IOAS_CHANGE_PROCESS, run in a thread of its own */
struct change_job {
	int fd;
	int rc;
	atomic_int tid;
	atomic_bool done;
};

static int change_process(int fd)
{
	struct iommu_ioas_change_process cmd = { .size = sizeof(cmd) };

	return ifd_ioctl(fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd);
}

static void *change_job_run(void *arg)
{
	struct change_job *job = arg;

	atomic_store(&job->tid, syscall(SYS_gettid));
	job->rc = change_process(job->fd);
	atomic_store(&job->done, true);
	return NULL;
}

/* The state letter of /proc/@path/stat (R, S, D...), or 0 */
static char proc_state(const char *path)
{
	char buf[512], *paren;
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' ? paren[2] : 0;
}

/*
 * Wait up to @ms for the task of /proc/@path/stat to sleep in the kernel
 * unable to be woken but by a fatal signal (state D: a killable or
 * uninterruptible wait). False if it never does.
 */
static bool wait_blocked(const char *path, int ms)
{
	while (proc_state(path) != 'D' && ms-- > 0)
		usleep(1000);
	return proc_state(path) == 'D';
}

/*
 * IOMMU_IOAS_CHANGE_PROCESS is all or nothing for what is mapped when it
 * returns, so it waits for the map in flight; that map is of user memory,
 * which cannot follow a process, and so it fails once the map is done. A
 * change that answers before the map completes has missed it.
 */
TEST_F(inflight, change_process_waits_for_the_map)
{
	struct change_job change = { .fd = self->fd };
	pthread_t thread;

	char path[64];

	ASSERT_OK(start_slow_map(self));
	ASSERT_OK(pthread_create(&thread, NULL, change_job_run, &change));
	while (!atomic_load(&change.tid))
		usleep(1000);
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat",
		 atomic_load(&change.tid));
	/* Blocked in the kernel: a change that gets through is a bug */
	EXPECT_TRUE(wait_blocked(path, PROMPT_MS));
	EXPECT_FALSE(atomic_load(&change.done));

	ASSERT_OK(resolve_slow_map(self));
	pthread_join(thread, NULL);
	EXPECT_ERR(EINVAL, change.rc);
	EXPECT_OK(mock_check_map(self->fd, self->hwpt_id, IOVA_SLOW,
				 self->slow, SLOW_LEN));
}

/*
 * The wait for a map in flight can be killed: a process whose change is
 * stuck behind a map that never ends (its memory on userfaultfd) dies on
 * SIGKILL instead of hanging in D state, and the map then completes.
 */
TEST_F(inflight, change_process_wait_killable)
{
	char path[64];
	int status;
	pid_t pid;

	ASSERT_OK(start_slow_map(self));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(change_process(self->fd) ? 1 : 0);
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	EXPECT_TRUE(wait_blocked(path, PROMPT_MS));
	ASSERT_OK(kill(pid, SIGKILL));
	EXPECT_TRUE(wait_child(pid, &status, PROMPT_MS));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	ASSERT_OK(resolve_slow_map(self));
	EXPECT_OK(mock_check_map(self->fd, self->hwpt_id, IOVA_SLOW,
				 self->slow, SLOW_LEN));
}

/*
 * Dirty tracking goes on while a map is in flight: bits of the live
 * mappings can be read, the range in flight is not mapped yet (-EINVAL),
 * and it starts clean once mapped.
 */
TEST_F(inflight, dirty_read_during_fill)
{
	__u64 bitmap[SLOW_PAGES / 64 + 1] = {};
	__u32 dirty_hwpt;
	__u64 nr;

	ASSERT_OK(hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &dirty_hwpt));
	ASSERT_OK(mock_replace(self->fd, self->stdev_id, dirty_hwpt, NULL));
	ASSERT_OK(hwpt_set_dirty(self->fd, dirty_hwpt, true));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->quick, SLOW_LEN,
			      IOVA_QUICK));
	ASSERT_OK(start_slow_map(self));

	memset(bitmap, 0xff, sizeof(bitmap));
	ASSERT_OK(mock_dirty_mark(self->fd, dirty_hwpt, IOVA_QUICK, SLOW_LEN,
				  page_size, bitmap, &nr));
	EXPECT_LT(0, nr);
	memset(bitmap, 0, sizeof(bitmap));
	ASSERT_OK(hwpt_get_dirty(self->fd, dirty_hwpt, IOVA_QUICK, SLOW_LEN,
				 page_size, bitmap, 0));
	EXPECT_EQ(~0ULL, bitmap[0]);
	EXPECT_ERR(EINVAL, hwpt_get_dirty(self->fd, dirty_hwpt, IOVA_SLOW,
					  SLOW_LEN, page_size, bitmap, 0));
	EXPECT_FALSE(atomic_load(&self->job.done));

	ASSERT_OK(resolve_slow_map(self));
	/* The kernel only sets bits: the user clears the bitmap first */
	memset(bitmap, 0, sizeof(bitmap));
	ASSERT_OK(hwpt_get_dirty(self->fd, dirty_hwpt, IOVA_SLOW, SLOW_LEN,
				 page_size, bitmap, 0));
	EXPECT_EQ(0, bitmap[0]);
}

/* A raw IOMMU_IOAS_MAP with its struct at @cmd, run in a thread */
struct raw_map_job {
	int fd;
	struct iommu_ioas_map *cmd;
	int rc;
};

static void *raw_map_job_run(void *arg)
{
	struct raw_map_job *job = arg;

	job->rc = ioctl(job->fd, IOMMU_IOAS_MAP, job->cmd) ? -errno : 0;
	return NULL;
}

/*
 * A map whose answer cannot be written to userspace is taken back, but
 * only if the mapping is still its own: here, while the map waits to write
 * its answer (its struct is write-protected with userfaultfd), another
 * thread unmaps the new mapping and maps other memory at the same IOVA.
 * The answer then fails (the struct became read-only), and the other
 * thread's mapping must survive the undo.
 */
TEST_F(inflight, failed_answer_undoes_only_its_map)
{
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	struct pollfd pfd = { .fd = self->uffd, .events = POLLIN };
	struct raw_map_job job = { .fd = self->fd };
	struct uffdio_range wake;
	struct uffd_msg msg;
	pthread_t thread;
	char *page;

	page = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	job.cmd = (struct iommu_ioas_map *)page;
	*job.cmd = (struct iommu_ioas_map){
		.size = sizeof(*job.cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = self->ioas_id,
		.user_va = (__u64)(uintptr_t)self->quick,
		.length = SLOW_LEN,
		.iova = IOVA_QUICK,
	};
	reg.range.start = (__u64)(uintptr_t)page;
	reg.range.len = page_size;
	ASSERT_OK(ioctl(self->uffd, UFFDIO_REGISTER, &reg))
		TH_LOG("userfaultfd write-protect: %s", strerror(errno));
	wp.range = reg.range;
	ASSERT_OK(ioctl(self->uffd, UFFDIO_WRITEPROTECT, &wp));

	ASSERT_OK(pthread_create(&thread, NULL, raw_map_job_run, &job));
	ASSERT_EQ(1, poll(&pfd, 1, PROMPT_MS));
	ASSERT_EQ(sizeof(msg), read(self->uffd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	ASSERT_NE(0, msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP);

	/* The map is done, only its answer waits: replace it */
	ASSERT_OK(ioas_unmap(self->fd, self->ioas_id, IOVA_QUICK, SLOW_LEN,
			     NULL));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->data, SLOW_LEN,
			      IOVA_QUICK));

	/* Now the answer fails for good */
	ASSERT_OK(mprotect(page, page_size, PROT_READ));
	wake = reg.range;
	ASSERT_OK(ioctl(self->uffd, UFFDIO_WAKE, &wake));
	pthread_join(thread, NULL);
	EXPECT_EQ(-EFAULT, job.rc);

	EXPECT_OK(mock_check_map(self->fd, self->hwpt_id, IOVA_QUICK,
				 self->data, SLOW_LEN));
	EXPECT_OK(mock_check_pins(self->fd, self->quick, SLOW_LEN, 0));
	munmap(page, page_size);
}

/* Destroy an object in a thread of its own (a mock device: its unbind) */
struct destroy_job {
	int fd;
	__u32 id;
	int rc;
	atomic_bool done;
};

static void *destroy_job_run(void *arg)
{
	struct destroy_job *job = arg;

	job->rc = obj_destroy(job->fd, job->id);
	atomic_store(&job->done, true);
	return NULL;
}

/* Wait until a thread faults on the userfaultfd; 0, or -errno */
static int wait_fault(int uffd)
{
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };
	struct uffd_msg msg;

	if (poll(&pfd, 1, PROMPT_MS) != 1)
		return -ETIMEDOUT;
	if (read(uffd, &msg, sizeof(msg)) != sizeof(msg))
		return -EIO;
	return msg.event == UFFD_EVENT_PAGEFAULT ? 0 : -EINVAL;
}

/*
 * Unbinding a device waits for the ioctls that use it, so none may use it
 * while it waits for user memory: IOMMU_HWPT_ALLOC pins the IOAS's memory
 * (here stuck on a userfault) after it is done with the device, and the
 * device goes away meanwhile. The new HWPT still comes out whole.
 */
TEST_F(inflight, unbind_during_hwpt_fill)
{
	struct hwpt_job hwpt = { .fd = self->fd, .idev_id = self->idev_id };
	struct destroy_job destroy = { .fd = self->fd, .id = self->stdev_id };
	pthread_t hwpt_thread, destroy_thread;
	bool prompt;

	/* An IOAS with no domain: its memory is pinned by the new HWPT */
	ASSERT_OK(ioas_alloc(self->fd, &hwpt.ioas_id));
	ASSERT_OK(ioas_map_at(self->fd, hwpt.ioas_id, self->slow, SLOW_LEN,
			      IOVA_SLOW));
	ASSERT_OK(pthread_create(&hwpt_thread, NULL, hwpt_job_run, &hwpt));
	ASSERT_OK(wait_fault(self->uffd));

	ASSERT_OK(pthread_create(&destroy_thread, NULL, destroy_job_run,
				 &destroy));
	prompt = wait_done(&destroy.done, PROMPT_MS);
	EXPECT_TRUE(prompt);
	EXPECT_FALSE(atomic_load(&hwpt.done));

	ASSERT_OK(fill_slow(self, SLOW_LEN));
	pthread_join(hwpt_thread, NULL);
	pthread_join(destroy_thread, NULL);
	ASSERT_OK(destroy.rc);
	ASSERT_OK(hwpt.rc);
	EXPECT_OK(mock_check_map(self->fd, hwpt.hwpt_id, IOVA_SLOW,
				 self->slow, SLOW_LEN));
	EXPECT_OK(obj_destroy(self->fd, hwpt.hwpt_id));
}

/* IOMMU_GET_HW_INFO into @buf, run in a thread */
struct hw_info_job {
	int fd;
	__u32 dev_id;
	void *buf;
	int rc;
};

static void *hw_info_job_run(void *arg)
{
	struct hw_info_job *job = arg;
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = job->dev_id,
		.data_len = sizeof(struct iommu_test_hw_info),
		.data_uptr = (__u64)(uintptr_t)job->buf,
	};

	job->rc = ioctl(job->fd, IOMMU_GET_HW_INFO, &cmd) ? -errno : 0;
	return NULL;
}

/*
 * The same for IOMMU_GET_HW_INFO: its answer waits on a write-protected
 * buffer, the device's unbind does not wait for it.
 */
TEST_F(inflight, unbind_during_hw_info_copy)
{
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	struct destroy_job destroy = { .fd = self->fd, .id = self->stdev_id };
	struct hw_info_job info = { .fd = self->fd, .dev_id = self->idev_id };
	pthread_t info_thread, destroy_thread;
	bool prompt;

	info.buf = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, info.buf);
	reg.range.start = (__u64)(uintptr_t)info.buf;
	reg.range.len = page_size;
	ASSERT_OK(ioctl(self->uffd, UFFDIO_REGISTER, &reg));
	wp.range = reg.range;
	ASSERT_OK(ioctl(self->uffd, UFFDIO_WRITEPROTECT, &wp));

	ASSERT_OK(pthread_create(&info_thread, NULL, hw_info_job_run, &info));
	ASSERT_OK(wait_fault(self->uffd));
	ASSERT_OK(pthread_create(&destroy_thread, NULL, destroy_job_run,
				 &destroy));
	prompt = wait_done(&destroy.done, PROMPT_MS);
	EXPECT_TRUE(prompt);

	wp.mode = 0;
	ASSERT_OK(ioctl(self->uffd, UFFDIO_WRITEPROTECT, &wp));
	pthread_join(info_thread, NULL);
	pthread_join(destroy_thread, NULL);
	ASSERT_OK(destroy.rc);
	EXPECT_OK(info.rc);
	EXPECT_EQ(IOMMU_HW_INFO_SELFTEST_REGVAL,
		  ((struct iommu_test_hw_info *)info.buf)->test_reg);
	munmap(info.buf, page_size);
}

/* An IOMMU_IOAS_UNMAP run in a thread; @tid names it in /proc */
struct unmap_job {
	int fd;
	__u32 ioas_id;
	__u64 iova;
	__u64 len;
	int rc;
	atomic_int tid;
	atomic_bool done;
};

static void *unmap_job_run(void *arg)
{
	struct unmap_job *job = arg;

	atomic_store(&job->tid, syscall(SYS_gettid));
	job->rc = ioas_unmap(job->fd, job->ioas_id, job->iova, job->len, NULL);
	atomic_store(&job->done, true);
	return NULL;
}

/* How long a thread must stay asleep in the kernel to count as blocked */
#define BLOCKED_MS	100

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Wait until the thread that stores its id in *@tid, and sets *@done when
 * its ioctl returns, sleeps in the kernel (state D) without a break for
 * BLOCKED_MS and has not finished: true then; false if it finishes, or
 * does not block so within PROMPT_MS.
 */
static bool thread_blocked(atomic_int *tid, atomic_bool *done)
{
	long long start = now_ms(), asleep_since = -1, now;
	char path[64];

	while (!atomic_load(tid) && now_ms() - start < PROMPT_MS)
		usleep(1000);
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat",
		 atomic_load(tid));
	while (!atomic_load(done) && (now = now_ms()) - start < PROMPT_MS) {
		if (proc_state(path) != 'D')
			asleep_since = -1;
		else if (asleep_since < 0)
			asleep_since = now;
		else if (now - asleep_since >= BLOCKED_MS)
			return !atomic_load(done);
		usleep(1000);
	}
	return false;
}

/* VFIO_IOMMU_UNMAP_DMA with the dirty bitmap, run in a thread */
struct unmap_dirty_job {
	int fd;
	__u64 iova;
	__u64 len;
	__u64 *bitmap;
	__u64 unmapped;
	int rc;
};

static void *unmap_dirty_job_run(void *arg)
{
	struct unmap_dirty_job *job = arg;
	struct type1_unmap_dirty cmd;

	type1_unmap_dirty_init(&cmd, job->iova, job->len, page_size,
			       TYPE1_BITMAP_BYTES(job->len / page_size),
			       job->bitmap);
	job->rc = ifd_ioctl(job->fd, VFIO_IOMMU_UNMAP_DMA, &cmd);
	job->unmapped = cmd.unmap.size;
	return NULL;
}

/*
 * Make the IOAS the compat container's (type1v2) and start its dirty
 * tracking. With @hw, the mock device first moves to a HWPT with dirty
 * tracking, which leaves that the IOAS's only domain: the bits then come
 * from the domain (its id in *@dirty_hwpt), else every mapped page reads
 * dirty.
 */
static int compat_dirty_start(struct _test_data_inflight *self, bool hw,
			      __u32 *dirty_hwpt)
{
	struct iommu_vfio_ioas vioas = {
		.size = sizeof(vioas),
		.ioas_id = self->ioas_id,
		.op = IOMMU_VFIO_IOAS_SET,
	};
	struct vfio_iommu_type1_dirty_bitmap start = {
		.argsz = sizeof(start),
		.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
	};
	int rc;

	if (hw) {
		rc = hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
				IOMMU_HWPT_ALLOC_DIRTY_TRACKING, dirty_hwpt);
		if (!rc)
			rc = mock_replace(self->fd, self->stdev_id, *dirty_hwpt,
					  NULL);
		if (rc)
			return rc;
	}
	rc = ifd_ioctl(self->fd, IOMMU_VFIO_IOAS, &vioas);
	if (!rc)
		rc = ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) ?
			     -errno : 0;
	if (!rc)
		rc = ifd_ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, &start);
	return rc;
}

/*
 * An unmap with VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP reports the dirty
 * bits of exactly what it unmaps: no other unmap (or map) of the IOAS
 * comes between its read of the bits and its removal of the mappings.
 * Here the read waits on a userfault in the user's bitmap; an
 * IOMMU_IOAS_UNMAP of the same range from another thread must wait for it
 * too, and then finds nothing left. (Were they two steps, that unmap
 * would take the mapping whose bits were read, and the compat unmap would
 * take whatever is there next.) With @hw the bits come from a domain with
 * dirty tracking, read while the unmap holds the IOAS's lock for writing;
 * without, every mapped page is dirty.
 */
static void unmap_dirty_one_step(struct __test_metadata *_metadata,
				 struct _test_data_inflight *self, bool hw)
{
	struct unmap_dirty_job job = {
		.fd = self->fd,
		.iova = IOVA_QUICK,
		.len = SLOW_LEN,
		.bitmap = (__u64 *)self->slow,
	};
	struct unmap_job other = {
		.fd = self->fd,
		.ioas_id = self->ioas_id,
		.iova = IOVA_QUICK,
		.len = SLOW_LEN,
	};
	__u64 marks[SLOW_PAGES / 64] = {}, nr = 0;
	pthread_t thread, other_thread;
	__u32 dirty_hwpt = 0;

	ASSERT_OK(compat_dirty_start(self, hw, &dirty_hwpt));
	ASSERT_OK(ioas_map_at(self->fd, self->ioas_id, self->quick, SLOW_LEN,
			      IOVA_QUICK));
	if (hw) {
		/* The device writes the second page of each 64 */
		marks[0] = 2;
		ASSERT_OK(mock_dirty_mark(self->fd, dirty_hwpt, IOVA_QUICK,
					  SLOW_LEN, page_size, marks, &nr));
		ASSERT_LT(0, nr);
	}

	/* From here to the joins, nothing may leave with the threads blocked */
	ASSERT_OK(pthread_create(&thread, NULL, unmap_dirty_job_run, &job));
	EXPECT_OK(wait_fault(self->uffd));
	if (pthread_create(&other_thread, NULL, unmap_job_run, &other)) {
		EXPECT_OK(fill_slow(self, page_size));
		pthread_join(thread, NULL);
		ASSERT_TRUE(false);
	}
	EXPECT_TRUE(thread_blocked(&other.tid, &other.done));
	EXPECT_FALSE(atomic_load(&other.done));

	EXPECT_OK(fill_slow(self, page_size));
	pthread_join(thread, NULL);
	pthread_join(other_thread, NULL);
	EXPECT_OK(job.rc);
	EXPECT_EQ(SLOW_LEN, job.unmapped);
	EXPECT_EQ(hw ? 2ULL : ~0ULL, job.bitmap[0]);
	EXPECT_ERR(ENOENT, other.rc);
	EXPECT_OK(mock_check_pins(self->fd, self->quick, SLOW_LEN, 0));
}

TEST_F(inflight, unmap_dirty_bitmap_is_one_step)
{
	unmap_dirty_one_step(_metadata, self, false);
}

TEST_F(inflight, unmap_dirty_bitmap_is_one_step_hw)
{
	unmap_dirty_one_step(_metadata, self, true);
}

/* An IOMMU_IOAS_COPY run in a thread */
struct copy_job {
	int fd;
	__u32 dst_id;
	__u32 src_id;
	__u64 src_iova;
	__u64 len;
	__u64 dst_iova;
	int rc;
};

static void *copy_job_run(void *arg)
{
	struct copy_job *job = arg;

	job->rc = ioas_copy(job->fd, job->dst_id, job->src_id, job->src_iova,
			    job->len, &job->dst_iova,
			    IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			    IOMMU_IOAS_MAP_WRITEABLE);
	return NULL;
}

/*
 * A dirty bitmap read looks at the domains only where the IOAS has live
 * mappings. A map in flight may have filled part of a domain already
 * (here an IOMMU_IOAS_COPY of two mappings, the first in the domain while
 * the second waits on a userfault), and should it fail, its unwind frees
 * those page tables without the IOVA lock the reader holds, so a read
 * there would walk them while they go. The range in flight reads clean,
 * as it does for an IOAS without dirty tracking, and the bits the device
 * left there stay in the domain. (The mock frees no page tables, so this
 * shows what the read reports, not the use-after-free itself.)
 */
TEST_F(inflight, dirty_read_skips_map_in_flight)
{
	__u64 marks[2 * SLOW_PAGES / 64], bitmap[2 * SLOW_PAGES / 64];
	struct copy_job job = {
		.fd = self->fd,
		.dst_id = self->ioas_id,
		.src_iova = IOVA_QUICK,
		.len = 2 * SLOW_LEN,
		.dst_iova = IOVA_SLOW,
	};
	struct type1_dirty_get get;
	__u32 dirty_hwpt;
	pthread_t thread;
	__u64 nr = 0;

	ASSERT_OK(compat_dirty_start(self, true, &dirty_hwpt));
	/* A source IOAS without domains: nothing in it is pinned yet */
	ASSERT_OK(ioas_alloc(self->fd, &job.src_id));
	ASSERT_OK(ioas_map_at(self->fd, job.src_id, self->quick, SLOW_LEN,
			      IOVA_QUICK));
	ASSERT_OK(ioas_map_at(self->fd, job.src_id, self->slow, SLOW_LEN,
			      IOVA_QUICK + SLOW_LEN));
	/* From here to the join, nothing may leave with the copy blocked */
	ASSERT_OK(pthread_create(&thread, NULL, copy_job_run, &job));
	EXPECT_OK(wait_fault(self->uffd));

	/* The first half is in the domain, and the device writes all of it */
	memset(marks, 0xff, sizeof(marks));
	EXPECT_OK(mock_dirty_mark(self->fd, dirty_hwpt, IOVA_SLOW,
				  2 * SLOW_LEN, page_size, marks, &nr));
	EXPECT_LT(0, nr);

	memset(bitmap, 0x33, sizeof(bitmap));
	type1_dirty_get_init(&get, IOVA_SLOW, 2 * SLOW_LEN, page_size,
			     sizeof(bitmap), bitmap);
	EXPECT_OK(ifd_ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, &get));
	EXPECT_EQ(0, bitmap[0]);
	EXPECT_EQ(0, bitmap[1]);

	EXPECT_OK(fill_slow(self, SLOW_LEN));
	pthread_join(thread, NULL);
	ASSERT_OK(job.rc);
	ASSERT_EQ(IOVA_SLOW, job.dst_iova);
	memset(bitmap, 0, sizeof(bitmap));
	ASSERT_OK(ifd_ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, &get));
	EXPECT_EQ(~0ULL, bitmap[0]);
	EXPECT_EQ(0, bitmap[1]);
}

/* An access read, run in a thread */
struct rw_job {
	int fd;
	int access_fd;
	__u64 iova;
	char out[64];
	int rc;
	atomic_bool done;
};

static void *rw_job_run(void *arg)
{
	struct rw_job *job = arg;

	job->rc = mock_access_rw(job->fd, job->access_fd, job->iova, job->out,
				 sizeof(job->out), 0);
	atomic_store(&job->done, true);
	return NULL;
}

/*
 * An emulated device's copy is DMA: once an unmap of its range returns,
 * the copy is over. A copy through the user address that waits on a fault
 * (here a userfault; nothing pins the memory of an IOAS without a domain)
 * therefore holds the unmap until it completes, as VFIO type1 holds its
 * unmaps across vfio_dma_rw(); a map of other memory into the same IOAS
 * waits as well. All then complete, the copy with the data.
 */
TEST_F(inflight, unmap_waits_for_access_copy)
{
	struct rw_job rw = { .fd = self->fd, .iova = IOVA_SLOW };
	struct unmap_job unmap = {
		.fd = self->fd,
		.iova = IOVA_SLOW,
		.len = SLOW_LEN,
	};
	struct map_job map = {
		.fd = self->fd,
		.buf = self->quick,
		.len = SLOW_LEN,
		.iova = IOVA_QUICK,
	};
	pthread_t rw_thread, unmap_thread, map_thread;
	bool map_started, unmap_started = false;

	ASSERT_OK(ioas_alloc(self->fd, &unmap.ioas_id));
	map.ioas_id = unmap.ioas_id;
	ASSERT_OK(ioas_map_at(self->fd, unmap.ioas_id, self->slow, SLOW_LEN,
			      IOVA_SLOW));
	ASSERT_OK(mock_access_create(self->fd, unmap.ioas_id, 0,
				     &rw.access_fd));
	/* From here to the joins, nothing may leave with the threads blocked */
	ASSERT_OK(pthread_create(&rw_thread, NULL, rw_job_run, &rw));
	EXPECT_OK(wait_fault(self->uffd));

	/* A map of other memory elsewhere in the IOAS waits too */
	map_started = !pthread_create(&map_thread, NULL, map_job_run, &map);
	EXPECT_TRUE(map_started);
	if (map_started) {
		EXPECT_TRUE(thread_blocked(&map.tid, &map.done));
		unmap_started = !pthread_create(&unmap_thread, NULL,
						unmap_job_run, &unmap);
		EXPECT_TRUE(unmap_started);
	}
	if (unmap_started) {
		EXPECT_TRUE(thread_blocked(&unmap.tid, &unmap.done));
		EXPECT_FALSE(atomic_load(&unmap.done));
	}
	EXPECT_FALSE(atomic_load(&rw.done));

	EXPECT_OK(fill_slow(self, SLOW_LEN));
	pthread_join(rw_thread, NULL);
	if (map_started)
		pthread_join(map_thread, NULL);
	if (unmap_started)
		pthread_join(unmap_thread, NULL);
	EXPECT_OK(rw.rc);
	EXPECT_EQ((char)0xa5, rw.out[0]);
	EXPECT_EQ((char)0xa5, rw.out[63]);
	EXPECT_OK(map.rc);
	EXPECT_OK(unmap.rc);
	EXPECT_OK(close(rw.access_fd));
}

TEST_HARNESS_MAIN
