// SPDX-License-Identifier: GPL-2.0-only
/*
 * fault.c - FAULT objects: I/O page faults handed to userspace.
 *
 * A device whose DMA can fault (PCI PRI, or a stage-1 table a guest owns)
 * reports page faults to the IOMMU core, which gives every complete group
 * of them to the handler of the domain the device is attached to. For a
 * HWPT allocated with a FAULT object, that handler queues the group on the
 * object. Userspace reads the queue through the object's file descriptor
 * as struct iommu_hwpt_pgfault records, resolves the faults (usually by
 * fixing its stage-1 table), and writes back one struct
 * iommu_hwpt_page_response per group, naming it by the cookie it read.
 *
 * A group is always in exactly one place: queued for reading (@deliver),
 * waiting for an answer (@response, by cookie), or answered and freed.
 * Nothing is held while a read copies records out, which may fault on
 * user memory for as long as userspace likes: the IOMMU driver's fault
 * path only ever takes the spinlock of @deliver, and a device leaving the
 * HWPT only the mutex.
 * Whatever is left when a device leaves a fault-capable HWPT, or when the
 * object goes away, is answered with "invalid" so the device does not wait
 * forever.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "../iommu-priv.h"
#include "iommufd_private.h"
#include "iommufd_trace.h"

/**
 * struct iommufd_fault - a queue of I/O page fault groups
 * @obj: object header
 * @ictx: the context
 * @filep: the file userspace reads and answers through
 * @mutex: protects @response; serializes readers, answers and teardown
 * @lock: protects @deliver
 * @deliver: struct iopf_group not read yet, oldest first (by node)
 * @response: cookie -> struct iopf_group read but not answered
 * @wait_queue: readers and pollers waiting for @deliver
 * @stat_queued: groups queued since the object was made (fdinfo)
 * @stat_answered: groups userspace answered since then (fdinfo)
 */
struct iommufd_fault {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct file *filep;
	struct mutex mutex; /* see @mutex above */
	spinlock_t lock; /* see @lock above */
	struct list_head deliver;
	struct xarray response;
	wait_queue_head_t wait_queue;
	atomic_long_t stat_queued;
	atomic_long_t stat_answered;
};

static struct iommufd_fault *to_fault(struct iommufd_object *obj)
{
	return container_of(obj, struct iommufd_fault, obj);
}

/* Tell the device a group will not be resolved, and free it */
static void fault_answer_invalid(struct iopf_group *group)
{
	iopf_group_response(group, IOMMU_PAGE_RESP_INVALID);
	iopf_free_group(group);
}

/*
 * Answer every group of @fault that came through @handle (or every group,
 * for a NULL @handle) with "invalid".
 */
static void fault_answer_all(struct iommufd_fault *fault,
			     struct iommu_attach_handle *handle)
{
	struct iopf_group *group, *next;
	unsigned long index;
	LIST_HEAD(gone);

	mutex_lock(&fault->mutex);
	spin_lock(&fault->lock);
	list_for_each_entry_safe(group, next, &fault->deliver, node)
		if (!handle || group->attach_handle == handle)
			list_move_tail(&group->node, &gone);
	spin_unlock(&fault->lock);
	/* Answering sleeps: not under the spinlock */
	list_for_each_entry_safe(group, next, &gone, node) {
		list_del(&group->node);
		fault_answer_invalid(group);
	}
	xa_for_each(&fault->response, index, group) {
		if (handle && group->attach_handle != handle)
			continue;
		xa_erase(&fault->response, index);
		fault_answer_invalid(group);
	}
	mutex_unlock(&fault->mutex);
}

/**
 * iommufd_fault_forget_handle() - answer the faults of an ended attachment
 * @fault: the FAULT object of the HWPT the attachment was to
 * @handle: the attachment's handle, about to be freed
 *
 * Context: Process context.
 */
void iommufd_fault_forget_handle(struct iommufd_fault *fault,
				 struct iommu_attach_handle *handle)
{
	fault_answer_all(fault, handle);
}

void iommufd_fault_destroy(struct iommufd_object *obj)
{
	struct iommufd_fault *fault = to_fault(obj);

	/* No HWPT and no file refer to it any more: nothing new can come */
	fault_answer_all(fault, NULL);
	xa_destroy(&fault->response);
	mutex_destroy(&fault->mutex);
}

/**
 * iommufd_fault_show_fdinfo() - the fdinfo line of a FAULT object
 * @m: the fdinfo being written
 * @obj: a FAULT object the caller keeps alive
 *
 * Context: Any context: reads counters only.
 */
void iommufd_fault_show_fdinfo(struct seq_file *m, struct iommufd_object *obj)
{
	struct iommufd_fault *fault = to_fault(obj);

	seq_printf(m, "fault:\tid=%u queued=%ld answered=%ld\n", obj->id,
		   atomic_long_read(&fault->stat_queued),
		   atomic_long_read(&fault->stat_answered));
}

/**
 * iommufd_fault_id() - the object ID of a FAULT object
 * @fault: the object
 *
 * Return: its ID.
 */
u32 iommufd_fault_id(struct iommufd_fault *fault)
{
	return fault->obj.id;
}

/**
 * iommufd_fault_iopf_handler() - the iopf_handler of fault-capable domains
 * @group: a complete group of faults from one device
 *
 * Context: Process context (the IOMMU driver's fault work).
 * Return: 0; the group is answered later, from userspace or on teardown.
 */
int iommufd_fault_iopf_handler(struct iopf_group *group)
{
	struct iommufd_hw_pagetable *hwpt =
		group->attach_handle->domain->fault_data;
	struct iommufd_fault *fault = hwpt->fault;
	struct iommu_fault_page_request *prm = &group->last_fault.fault.prm;
	struct iommufd_attach_handle *handle =
		container_of(group->attach_handle, struct iommufd_attach_handle,
			     handle);

	trace_iommufd_fault_queue(fault->obj.id, handle->dev_id, prm->addr,
				  prm->grpid, prm->perm);
	atomic_long_inc(&fault->stat_queued);
	spin_lock(&fault->lock);
	list_add_tail(&group->node, &fault->deliver);
	spin_unlock(&fault->lock);
	wake_up_interruptible(&fault->wait_queue);
	return 0;
}

/* One user record of one fault of @group */
static void fault_fill_record(struct iommu_hwpt_pgfault *rec,
			      struct iopf_group *group, struct iopf_fault *iopf)
{
	struct iommu_fault_page_request *prm = &iopf->fault.prm;
	struct iommufd_attach_handle *handle;

	handle = container_of(group->attach_handle,
			      struct iommufd_attach_handle, handle);
	memset(rec, 0, sizeof(*rec));
	if (prm->flags & IOMMU_FAULT_PAGE_REQUEST_PASID_VALID)
		rec->flags |= IOMMU_PGFAULT_FLAGS_PASID_VALID;
	if (prm->flags & IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE)
		rec->flags |= IOMMU_PGFAULT_FLAGS_LAST_PAGE;
	rec->dev_id = handle->dev_id;
	rec->pasid = prm->pasid;
	rec->grpid = prm->grpid;
	rec->perm = prm->perm;
	rec->addr = prm->addr;
	rec->cookie = group->cookie;
}

/*
 * Take the oldest group off @deliver if its @len bytes of records fit in
 * @room, give it a cookie in @response, and return its records in a new
 * buffer. NULL and *@len 0 if there is none; an ERR_PTR() if it does not
 * fit (-EINVAL) or on allocation failure.
 */
static struct iommu_hwpt_pgfault *
fault_take_group(struct iommufd_fault *fault, size_t room, size_t *len,
		 u32 *cookie)
{
	struct iommu_hwpt_pgfault *recs;
	struct iopf_group *group;
	struct iopf_fault *iopf;
	unsigned int i = 0;
	int rc;

	lockdep_assert_held(&fault->mutex);

	*len = 0;
	/* Only readers, under the mutex, take groups off the list */
	spin_lock(&fault->lock);
	group = list_first_entry_or_null(&fault->deliver, struct iopf_group,
					 node);
	spin_unlock(&fault->lock);
	if (!group)
		return NULL;
	if (group->fault_count * sizeof(*recs) > room)
		return ERR_PTR(-EINVAL);

	recs = kcalloc(group->fault_count, sizeof(*recs), GFP_KERNEL_ACCOUNT);
	if (!recs)
		return ERR_PTR(-ENOMEM);
	rc = xa_alloc(&fault->response, &group->cookie, group, xa_limit_32b,
		      GFP_KERNEL_ACCOUNT);
	if (rc) {
		kfree(recs);
		return ERR_PTR(rc);
	}
	list_for_each_entry(iopf, &group->faults, list)
		fault_fill_record(&recs[i++], group, iopf);
	spin_lock(&fault->lock);
	list_del(&group->node);
	spin_unlock(&fault->lock);
	*len = group->fault_count * sizeof(*recs);
	*cookie = group->cookie;
	return recs;
}

/*
 * A group whose records could not be copied out goes back to the head of
 * @deliver, unless it was answered or forgotten meanwhile (userspace can
 * guess cookies; a device can leave).
 */
static void fault_untake_group(struct iommufd_fault *fault, u32 cookie)
{
	struct iopf_group *group;

	guard(mutex)(&fault->mutex);
	group = xa_erase(&fault->response, cookie);
	if (!group)
		return;
	spin_lock(&fault->lock);
	list_add(&group->node, &fault->deliver);
	spin_unlock(&fault->lock);
}

/*
 * Deliver whole groups, oldest first, as many as fit in @count bytes. The
 * records are copied out with no lock held.
 */
static ssize_t fault_deliver(struct iommufd_fault *fault, char __user *buf,
			     size_t count)
{
	struct iommu_hwpt_pgfault *recs;
	size_t len, done = 0;
	u32 cookie;

	while (done < count) {
		scoped_guard(mutex, &fault->mutex)
			recs = fault_take_group(fault, count - done, &len,
						&cookie);
		if (IS_ERR(recs))
			return done ?: PTR_ERR(recs);
		if (!recs)
			break;
		if (copy_to_user(buf + done, recs, len)) {
			kfree(recs);
			fault_untake_group(fault, cookie);
			return done ?: -EFAULT;
		}
		kfree(recs);
		done += len;
	}
	return done;
}

/*
 * read(): whole groups only, as many as fit. Never blocks: an empty queue
 * reads as 0 bytes; poll() says when there is something.
 */
static ssize_t iommufd_fault_read(struct file *filep, char __user *buf,
				  size_t count, loff_t *ppos)
{
	if (*ppos || count % sizeof(struct iommu_hwpt_pgfault))
		return -ESPIPE;
	return fault_deliver(filep->private_data, buf, count);
}

/*
 * Answer one group. The response goes out under @mutex, so that once
 * iommufd_fault_forget_handle() has run no answer is still on its way to
 * a device whose fault reporting may be turned off (which frees what is
 * pending) right after.
 */
static int fault_answer(struct iommufd_fault *fault,
			struct iommu_hwpt_page_response *resp)
{
	enum iommu_page_response_code code;
	struct iopf_group *group;

	switch (resp->code) {
	case IOMMUFD_PAGE_RESP_SUCCESS:
		code = IOMMU_PAGE_RESP_SUCCESS;
		break;
	case IOMMUFD_PAGE_RESP_INVALID:
		code = IOMMU_PAGE_RESP_INVALID;
		break;
	default:
		return -EINVAL;
	}

	guard(mutex)(&fault->mutex);
	group = xa_erase(&fault->response, resp->cookie);
	if (!group)
		return -EINVAL;
	trace_iommufd_fault_answer(fault->obj.id, resp->cookie, resp->code);
	atomic_long_inc(&fault->stat_answered);
	iopf_group_response(group, code);
	iopf_free_group(group);
	return 0;
}

/* write(): answers, in order; stops at the first bad one */
static ssize_t iommufd_fault_write(struct file *filep, const char __user *buf,
				   size_t count, loff_t *ppos)
{
	struct iommufd_fault *fault = filep->private_data;
	struct iommu_hwpt_page_response resp;
	size_t done;
	int rc;

	if (*ppos || count % sizeof(resp))
		return -ESPIPE;

	for (done = 0; done < count; done += sizeof(resp)) {
		if (copy_from_user(&resp, buf + done, sizeof(resp)))
			rc = -EFAULT;
		else
			rc = fault_answer(fault, &resp);
		if (rc)
			return done ?: rc;
	}
	return done;
}

static int iommufd_fault_release(struct inode *inode, struct file *filep)
{
	struct iommufd_fault *fault = filep->private_data;
	struct iommufd_ctx *ictx;

	/* NULL if its creation was undone: see iommufd_fault_alloc() */
	if (!fault)
		return 0;

	/* The object may be destroyed from now on, then the context */
	ictx = fault->ictx;
	iommufd_object_unhold(&fault->obj);
	iommufd_ctx_put(ictx);
	return 0;
}

static bool fault_has_deliver(struct iommufd_fault *fault)
{
	bool any;

	spin_lock(&fault->lock);
	any = !list_empty(&fault->deliver);
	spin_unlock(&fault->lock);
	return any;
}

static __poll_t iommufd_fault_poll(struct file *filep,
				   struct poll_table_struct *wait)
{
	struct iommufd_fault *fault = filep->private_data;

	poll_wait(filep, &fault->wait_queue, wait);
	/* Always writable: answers never wait */
	return EPOLLOUT | (fault_has_deliver(fault) ? EPOLLIN | EPOLLRDNORM : 0);
}

static const struct file_operations fault_fops = {
	.owner = THIS_MODULE,
	.open = nonseekable_open,
	.release = iommufd_fault_release,
	.poll = iommufd_fault_poll,
	.read = iommufd_fault_read,
	.write = iommufd_fault_write,
};

/*
 * The file descriptor (not installed yet) and file userspace reads and
 * answers faults through. The file takes its references on the object and
 * the context only once iommufd_fault_alloc() can no longer fail.
 */
static int fault_open_file(struct iommufd_fault *fault)
{
	int fdno;

	fdno = get_unused_fd_flags(O_CLOEXEC);
	if (fdno < 0)
		return fdno;
	fault->filep = anon_inode_getfile("[iommufd-pgfault]", &fault_fops,
					  fault, O_RDWR);
	if (IS_ERR(fault->filep)) {
		put_unused_fd(fdno);
		return PTR_ERR(fault->filep);
	}
	return fdno;
}

/*
 * IOMMU_FAULT_QUEUE_ALLOC: the object, plus a file descriptor holding a
 * reference on it and on the context.
 */
int iommufd_fault_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_fault_alloc *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_fault *fault;
	int fdno, rc;

	if (cmd->flags)
		return -EOPNOTSUPP;

	fault = iommufd_object_alloc(ictx, struct iommufd_fault, obj,
				     IOMMUFD_OBJ_FAULT);
	if (IS_ERR(fault))
		return PTR_ERR(fault);
	fault->ictx = ictx;
	mutex_init(&fault->mutex);
	spin_lock_init(&fault->lock);
	INIT_LIST_HEAD(&fault->deliver);
	xa_init_flags(&fault->response, XA_FLAGS_ALLOC1);
	init_waitqueue_head(&fault->wait_queue);

	fdno = fault_open_file(fault);
	if (fdno < 0) {
		rc = fdno;
		goto err_abort;
	}
	cmd->out_fault_fd = fdno;
	cmd->out_fault_id = fault->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto err_close_file;

	/* Dropped by iommufd_fault_release() */
	iommufd_object_hold(&fault->obj);
	iommufd_ctx_get(ictx);
	iommufd_object_publish(ictx, &fault->obj);
	fd_install(fdno, fault->filep);
	return 0;

err_close_file:
	/* Its release may run after the abort below: keep it off the object */
	fault->filep->private_data = NULL;
	fput(fault->filep);
	put_unused_fd(fdno);
err_abort:
	iommufd_object_abort_and_destroy(ictx, &fault->obj);
	return rc;
}

/**
 * iommufd_get_fault() - look up a FAULT object
 * @ucmd: the ioctl in flight
 * @id: the ID from userspace
 *
 * Return: the object held short-term, or ERR_PTR(-ENOENT).
 */
struct iommufd_fault *iommufd_get_fault(struct iommufd_ucmd *ucmd, u32 id)
{
	struct iommufd_object *obj;

	obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_FAULT);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return to_fault(obj);
}

/**
 * iommufd_fault_hold() - a HWPT starts delivering to @fault
 * @fault: held short-term by the caller
 */
void iommufd_fault_hold(struct iommufd_fault *fault)
{
	iommufd_object_hold(&fault->obj);
}

/**
 * iommufd_fault_unhold() - a HWPT stops delivering to @fault
 * @fault: the object
 */
void iommufd_fault_unhold(struct iommufd_fault *fault)
{
	iommufd_object_unhold(&fault->obj);
}

/**
 * iommufd_fault_put() - drop a short-term reference from iommufd_get_fault()
 * @ucmd: the ioctl in flight
 * @fault: the object
 */
void iommufd_fault_put(struct iommufd_ucmd *ucmd, struct iommufd_fault *fault)
{
	iommufd_put_object(ucmd->ictx, &fault->obj);
}
