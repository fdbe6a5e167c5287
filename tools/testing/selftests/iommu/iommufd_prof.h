/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iommufd_prof.h - where the kernel spends a benchmark's time, without perf.
 *
 * A software cpu-clock event on the calling thread, kernel side only, with
 * callchains: the program switches it on around the call it profiles and
 * off again, then drains the samples. Each sample counts once for the
 * function it hit ("self") and once for every function on its callchain
 * ("incl", the function and what it called), by the text symbols of
 * /proc/kallsyms; so the inclusive share of, say, pin_user_pages_fast() is
 * the part of the call spent pinning. The bench kernels have no
 * high-resolution timers: the samples come at the tick (250 per second), so
 * a profile wants a few seconds of calls, i.e. several repetitions.
 *
 * Only the calling thread is sampled, and only while it runs: time spent
 * asleep (waiting for a lock, say) is not in the profile.
 */
#ifndef __IOMMUFD_PROF_H
#define __IOMMUFD_PROF_H

#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PROF_DATA_PAGES	256	/* ring of 1 MiB: a repetition's samples */
#define PROF_TOP_SELF	15
#define PROF_TOP_INCL	25

struct prof_sym {
	unsigned long addr;
	char *name;
};

/* The kernel's text symbols, sorted by address; shared by every profile */
static struct prof_sym *prof_syms;
static size_t prof_nsyms;

struct prof {
	int fd;			/* -1: not profiling */
	void *ring;
	size_t ring_len;
	unsigned long samples;
	unsigned long lost;	/* samples the kernel could not store */
	unsigned int *self;	/* per symbol */
	unsigned int *incl;
	unsigned int *seen;	/* sample number that last counted a symbol */
};

static int prof_sym_cmp(const void *a, const void *b)
{
	const struct prof_sym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Read /proc/kallsyms once; -errno if it has no usable addresses */
static int prof_load_syms(void)
{
	char line[512], name[256], type;
	size_t cap = 0;
	unsigned long addr;
	FILE *f;

	if (prof_syms)
		return 0;
	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* A module's symbols have a fourth field, [module]: kept */
		if (sscanf(line, "%lx %c %255s", &addr, &type, name) != 3)
			continue;
		if ((type != 't' && type != 'T') || !addr)
			continue;
		if (prof_nsyms == cap) {
			struct prof_sym *n;

			cap = cap ? cap * 2 : 65536;
			n = realloc(prof_syms, cap * sizeof(*n));
			if (!n)
				break;
			prof_syms = n;
		}
		prof_syms[prof_nsyms].addr = addr;
		prof_syms[prof_nsyms].name = strdup(name);
		if (!prof_syms[prof_nsyms].name)
			break;
		prof_nsyms++;
	}
	fclose(f);
	if (!prof_nsyms)
		return -ENOENT;	/* kptr_restrict hides them: all zero */
	qsort(prof_syms, prof_nsyms, sizeof(*prof_syms), prof_sym_cmp);
	return 0;
}

/* The symbol @ip is in, or -1 before the first */
static long prof_sym_of(unsigned long ip)
{
	size_t lo = 0, hi = prof_nsyms;

	if (!prof_nsyms || ip < prof_syms[0].addr)
		return -1;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (prof_syms[mid].addr <= ip)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static void prof_reset(struct prof *p)
{
	p->samples = 0;
	p->lost = 0;
	if (p->self) {
		memset(p->self, 0, prof_nsyms * sizeof(*p->self));
		memset(p->incl, 0, prof_nsyms * sizeof(*p->incl));
		memset(p->seen, 0, prof_nsyms * sizeof(*p->seen));
	}
}

/* A disabled sampling event on this thread: 0 or -errno */
static int prof_open(struct prof *p)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = 1000000,	/* ns; the tick decides */
		.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_CALLCHAIN,
		.disabled = 1,
		.exclude_user = 1,
		.exclude_hv = 1,
		.exclude_callchain_user = 1,
	};
	long pg = sysconf(_SC_PAGESIZE);
	int rc;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	rc = prof_load_syms();
	if (rc)
		return rc;
	p->self = calloc(prof_nsyms, sizeof(*p->self));
	p->incl = calloc(prof_nsyms, sizeof(*p->incl));
	p->seen = calloc(prof_nsyms, sizeof(*p->seen));
	if (!p->self || !p->incl || !p->seen) {
		rc = -ENOMEM;
		goto err_free;
	}
	p->fd = syscall(__NR_perf_event_open, &attr, 0, -1, -1,
			PERF_FLAG_FD_CLOEXEC);
	if (p->fd < 0) {
		rc = -errno;
		goto err_free;
	}
	p->ring_len = (PROF_DATA_PAGES + 1) * pg;
	p->ring = mmap(NULL, p->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       p->fd, 0);
	if (p->ring == MAP_FAILED) {
		rc = -errno;
		close(p->fd);
		p->fd = -1;
		goto err_free;
	}
	return 0;

err_free:
	free(p->self);
	free(p->incl);
	free(p->seen);
	p->self = NULL;
	p->incl = NULL;
	p->seen = NULL;
	return rc;
}

static void prof_close(struct prof *p)
{
	if (p->fd < 0)
		return;
	munmap(p->ring, p->ring_len);
	close(p->fd);
	free(p->self);
	free(p->incl);
	free(p->seen);
	memset(p, 0, sizeof(*p));
	p->fd = -1;
}

static void prof_on(struct prof *p)
{
	if (p->fd >= 0)
		ioctl(p->fd, PERF_EVENT_IOC_ENABLE, 0);
}

/* Count one PERF_RECORD_SAMPLE: ip, nr, ips[nr] */
static void prof_count(struct prof *p, const __u64 *v, size_t n)
{
	unsigned int stamp;
	__u64 i, nr;
	long s;

	if (n < 2)
		return;
	nr = v[1];
	if (nr > n - 2)
		nr = n - 2;
	p->samples++;
	stamp = p->samples;
	s = prof_sym_of(v[0]);
	if (s >= 0)
		p->self[s]++;
	for (i = 0; i <= nr; i++) {
		/* v[0], then the chain; skip the context markers */
		__u64 ip = i ? v[1 + i] : v[0];

		if (ip >= (__u64)PERF_CONTEXT_MAX)
			continue;
		s = prof_sym_of(ip);
		if (s < 0 || p->seen[s] == stamp)
			continue;
		p->seen[s] = stamp;
		p->incl[s]++;
	}
}

/* Switch sampling off and count what the ring holds */
static void prof_off(struct prof *p)
{
	struct perf_event_mmap_page *mp;
	__u64 head, tail, rec[512];
	char *data;
	size_t size;

	if (p->fd < 0)
		return;
	ioctl(p->fd, PERF_EVENT_IOC_DISABLE, 0);
	mp = p->ring;
	data = (char *)p->ring + mp->data_offset;
	size = mp->data_size;
	head = __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE);
	tail = mp->data_tail;
	while (tail < head) {
		struct perf_event_header h;
		size_t i, len;

		for (i = 0; i < sizeof(h); i++)
			((char *)&h)[i] = data[(tail + i) % size];
		if (h.size < sizeof(h)) {
			/* Cannot happen; do not stop at it every drain */
			tail = head;
			break;
		}
		len = h.size - sizeof(h);
		if (len > sizeof(rec))
			len = sizeof(rec);
		for (i = 0; i < len; i++)
			((char *)rec)[i] = data[(tail + sizeof(h) + i) % size];
		if (h.type == PERF_RECORD_SAMPLE)
			prof_count(p, rec, len / sizeof(*rec));
		else if (h.type == PERF_RECORD_LOST)
			p->lost += rec[1];	/* id, lost */
		tail += h.size;
	}
	__atomic_store_n(&mp->data_tail, tail, __ATOMIC_RELEASE);
}

static const unsigned int *prof_by;

static int prof_cmp(const void *a, const void *b)
{
	unsigned int x = prof_by[*(const size_t *)a];
	unsigned int y = prof_by[*(const size_t *)b];

	return x > y ? -1 : x < y;
}

/* Print the @top symbols of @count as "<tag> <what> <percent> <symbol>" */
static void prof_print_top(struct prof *p, const char *tag, const char *what,
			   const unsigned int *count, size_t top)
{
	size_t i, n = 0, *idx;

	idx = malloc(prof_nsyms * sizeof(*idx));
	if (!idx)
		return;
	for (i = 0; i < prof_nsyms; i++)
		if (count[i])
			idx[n++] = i;
	prof_by = count;
	qsort(idx, n, sizeof(*idx), prof_cmp);
	for (i = 0; i < n && i < top; i++)
		printf("%s %s %5.1f %s\n", tag, what,
		       100.0 * count[idx[i]] / p->samples,
		       prof_syms[idx[i]].name);
	free(idx);
}

/*
 * The profile as BENCH-PROF lines: "<tag> samples <n> lost <n>", then the
 * functions with the largest self and inclusive shares, in percent of the
 * samples.
 */
static void prof_print(struct prof *p, const char *tag)
{
	if (p->fd < 0)
		return;
	printf("%s samples %lu lost %lu\n", tag, p->samples, p->lost);
	if (p->samples) {
		prof_print_top(p, tag, "self", p->self, PROF_TOP_SELF);
		prof_print_top(p, tag, "incl", p->incl, PROF_TOP_INCL);
	}
	fflush(stdout);
}

#endif /* __IOMMUFD_PROF_H */
