/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iommufd_trace.h - the tracepoints of iommufd (TRACE_SYSTEM iommufd).
 *
 * What a map, an unmap, a domain fill, an attachment change, an I/O page
 * fault and a RLIMIT_MEMLOCK charge did, for perf trace and trace-cmd; the
 * fields are documented in Documentation/userspace-api/iommufd.rst
 * ("Observing iommufd"). They cost a static branch when disabled. main.c
 * defines them (CREATE_TRACE_POINTS); other files only include this.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM iommufd

#if !defined(_IOMMUFD_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _IOMMUFD_TRACE_H

#include <linux/tracepoint.h>

/* enum iommufd_account_mode, by the names IOMMU_OPTION_RLIMIT_MODE uses */
#define iommufd_show_account_mode(mode)                                      \
	__print_symbolic(mode, { 0, "none" }, { 1, "user" },                 \
			 { 2, "process" })

TRACE_EVENT(iommufd_map,
	    TP_PROTO(u32 ioas_id, unsigned long iova, unsigned long length,
		     unsigned long pinned, unsigned long runs, int rc),
	    TP_ARGS(ioas_id, iova, length, pinned, runs, rc),
	    TP_STRUCT__entry(__field(u32, ioas_id)
			     __field(unsigned long, iova)
			     __field(unsigned long, length)
			     __field(unsigned long, pinned)
			     __field(unsigned long, runs)
			     __field(int, rc)),
	    TP_fast_assign(__entry->ioas_id = ioas_id;
			   __entry->iova = iova;
			   __entry->length = length;
			   __entry->pinned = pinned;
			   __entry->runs = runs;
			   __entry->rc = rc;),
	    TP_printk("ioas=%u iova=0x%lx length=0x%lx pinned=%lu runs=%lu rc=%d",
		      __entry->ioas_id, __entry->iova, __entry->length,
		      __entry->pinned, __entry->runs, __entry->rc)
);

/*
 * An unmap's range is [iova, last]: the whole IOVA space is 2^64 bytes
 * long, which no 64-bit length holds.
 */
TRACE_EVENT(iommufd_unmap,
	    TP_PROTO(u32 ioas_id, unsigned long iova, unsigned long last,
		     unsigned long unmapped, unsigned long unpinned, int rc),
	    TP_ARGS(ioas_id, iova, last, unmapped, unpinned, rc),
	    TP_STRUCT__entry(__field(u32, ioas_id)
			     __field(unsigned long, iova)
			     __field(unsigned long, last)
			     __field(unsigned long, unmapped)
			     __field(unsigned long, unpinned)
			     __field(int, rc)),
	    TP_fast_assign(__entry->ioas_id = ioas_id;
			   __entry->iova = iova;
			   __entry->last = last;
			   __entry->unmapped = unmapped;
			   __entry->unpinned = unpinned;
			   __entry->rc = rc;),
	    TP_printk("ioas=%u iova=0x%lx last=0x%lx unmapped=0x%lx unpinned=%lu rc=%d",
		      __entry->ioas_id, __entry->iova, __entry->last,
		      __entry->unmapped, __entry->unpinned, __entry->rc)
);

TRACE_EVENT(iommufd_domain_fill,
	    TP_PROTO(u32 hwpt_id, u32 ioas_id, unsigned long areas,
		     unsigned long bytes, int rc),
	    TP_ARGS(hwpt_id, ioas_id, areas, bytes, rc),
	    TP_STRUCT__entry(__field(u32, hwpt_id)
			     __field(u32, ioas_id)
			     __field(unsigned long, areas)
			     __field(unsigned long, bytes)
			     __field(int, rc)),
	    TP_fast_assign(__entry->hwpt_id = hwpt_id;
			   __entry->ioas_id = ioas_id;
			   __entry->areas = areas;
			   __entry->bytes = bytes;
			   __entry->rc = rc;),
	    TP_printk("hwpt=%u ioas=%u areas=%lu bytes=0x%lx rc=%d",
		      __entry->hwpt_id, __entry->ioas_id, __entry->areas,
		      __entry->bytes, __entry->rc)
);

TRACE_EVENT(iommufd_attach,
	    TP_PROTO(u32 dev_id, u32 pt_id, u32 hwpt_id, int rc),
	    TP_ARGS(dev_id, pt_id, hwpt_id, rc),
	    TP_STRUCT__entry(__field(u32, dev_id)
			     __field(u32, pt_id)
			     __field(u32, hwpt_id)
			     __field(int, rc)),
	    TP_fast_assign(__entry->dev_id = dev_id;
			   __entry->pt_id = pt_id;
			   __entry->hwpt_id = hwpt_id;
			   __entry->rc = rc;),
	    TP_printk("dev=%u pt=%u hwpt=%u rc=%d", __entry->dev_id,
		      __entry->pt_id, __entry->hwpt_id, __entry->rc)
);

TRACE_EVENT(iommufd_replace,
	    TP_PROTO(u32 dev_id, u32 pt_id, u32 old_hwpt_id, u32 hwpt_id,
		     int rc),
	    TP_ARGS(dev_id, pt_id, old_hwpt_id, hwpt_id, rc),
	    TP_STRUCT__entry(__field(u32, dev_id)
			     __field(u32, pt_id)
			     __field(u32, old_hwpt_id)
			     __field(u32, hwpt_id)
			     __field(int, rc)),
	    TP_fast_assign(__entry->dev_id = dev_id;
			   __entry->pt_id = pt_id;
			   __entry->old_hwpt_id = old_hwpt_id;
			   __entry->hwpt_id = hwpt_id;
			   __entry->rc = rc;),
	    TP_printk("dev=%u pt=%u old_hwpt=%u hwpt=%u rc=%d", __entry->dev_id,
		      __entry->pt_id, __entry->old_hwpt_id, __entry->hwpt_id,
		      __entry->rc)
);

TRACE_EVENT(iommufd_detach,
	    TP_PROTO(u32 dev_id, u32 hwpt_id),
	    TP_ARGS(dev_id, hwpt_id),
	    TP_STRUCT__entry(__field(u32, dev_id)
			     __field(u32, hwpt_id)),
	    TP_fast_assign(__entry->dev_id = dev_id;
			   __entry->hwpt_id = hwpt_id;),
	    TP_printk("dev=%u hwpt=%u", __entry->dev_id, __entry->hwpt_id)
);

TRACE_EVENT(iommufd_fault_queue,
	    TP_PROTO(u32 fault_id, u32 dev_id, u64 addr, u32 grpid, u32 perm),
	    TP_ARGS(fault_id, dev_id, addr, grpid, perm),
	    TP_STRUCT__entry(__field(u32, fault_id)
			     __field(u32, dev_id)
			     __field(u64, addr)
			     __field(u32, grpid)
			     __field(u32, perm)),
	    TP_fast_assign(__entry->fault_id = fault_id;
			   __entry->dev_id = dev_id;
			   __entry->addr = addr;
			   __entry->grpid = grpid;
			   __entry->perm = perm;),
	    TP_printk("fault=%u dev=%u addr=0x%llx grpid=%u perm=0x%x",
		      __entry->fault_id, __entry->dev_id, __entry->addr,
		      __entry->grpid, __entry->perm)
);

TRACE_EVENT(iommufd_fault_answer,
	    TP_PROTO(u32 fault_id, u32 cookie, u32 code),
	    TP_ARGS(fault_id, cookie, code),
	    TP_STRUCT__entry(__field(u32, fault_id)
			     __field(u32, cookie)
			     __field(u32, code)),
	    TP_fast_assign(__entry->fault_id = fault_id;
			   __entry->cookie = cookie;
			   __entry->code = code;),
	    TP_printk("fault=%u cookie=%u code=%u", __entry->fault_id,
		      __entry->cookie, __entry->code)
);

/* Charging pins to RLIMIT_MEMLOCK: charged, refused and uncharged */

DECLARE_EVENT_CLASS(iommufd_account_class,
		    TP_PROTO(u8 mode, pid_t pid, uid_t uid,
			     unsigned long npages, unsigned long locked,
			     unsigned long limit),
		    TP_ARGS(mode, pid, uid, npages, locked, limit),
		    TP_STRUCT__entry(__field(u8, mode)
				     __field(pid_t, pid)
				     __field(uid_t, uid)
				     __field(unsigned long, npages)
				     __field(unsigned long, locked)
				     __field(unsigned long, limit)),
		    TP_fast_assign(__entry->mode = mode;
				   __entry->pid = pid;
				   __entry->uid = uid;
				   __entry->npages = npages;
				   __entry->locked = locked;
				   __entry->limit = limit;),
		    TP_printk("mode=%s pid=%d uid=%u npages=%lu locked=%lu limit=%lu",
			      iommufd_show_account_mode(__entry->mode),
			      __entry->pid, __entry->uid, __entry->npages,
			      __entry->locked, __entry->limit)
);

DEFINE_EVENT(iommufd_account_class, iommufd_account_charge,
	     TP_PROTO(u8 mode, pid_t pid, uid_t uid, unsigned long npages,
		      unsigned long locked, unsigned long limit),
	     TP_ARGS(mode, pid, uid, npages, locked, limit)
);

DEFINE_EVENT(iommufd_account_class, iommufd_account_refuse,
	     TP_PROTO(u8 mode, pid_t pid, uid_t uid, unsigned long npages,
		      unsigned long locked, unsigned long limit),
	     TP_ARGS(mode, pid, uid, npages, locked, limit)
);

DEFINE_EVENT(iommufd_account_class, iommufd_account_uncharge,
	     TP_PROTO(u8 mode, pid_t pid, uid_t uid, unsigned long npages,
		      unsigned long locked, unsigned long limit),
	     TP_ARGS(mode, pid, uid, npages, locked, limit)
);

#endif /* _IOMMUFD_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE iommufd_trace
#include <trace/define_trace.h>
