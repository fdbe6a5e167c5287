// SPDX-License-Identifier: GPL-2.0
/*
 * IOVA bitmap: dirty IOVA reported into a bitmap in user memory.
 *
 * The caller describes an IOVA range [iova, iova + length) and hands us a
 * user pointer to an array of u64 words holding one bit per page_size bytes
 * of that range: bit n stands for the bytes from iova + n * page_size (the
 * last bit is cut short at the end of the range) and is bit n % 64 of word
 * n / 64, in native byte order. The pointer need not be aligned, not even to
 * a u64, so a word may straddle two user pages.
 *
 * Windows
 * -------
 * The bitmap can be large (32 MiB for 1 TiB of IOVA at 4 KiB per bit), so
 * it is never pinned as a whole. iova_bitmap_for_each() walks it in
 * windows. A window is a run of whole u64 words held by at most
 * IVB_MAX_PAGES user pages: one page worth of struct page pointers, which is
 * the only memory we allocate besides struct iova_bitmap (64 GiB of IOVA per
 * window at 4 KiB per bit and 4 KiB pages). For each window the walk pins
 * those pages, calls the function with the IOVA span of the window, then
 * unpins them and marks them dirty. Windows begin on a word boundary, so each
 * one covers a contiguous run of bits whatever the byte order; a word that
 * straddles the last pinned page is left to the next window.
 *
 * Setting bits
 * ------------
 * iova_bitmap_set() runs inside the function, possibly under a spinlock, so
 * it only touches the pinned pages, through kmap_local_page(). It turns the
 * IOVA range into a bit range and writes whole words: a masked
 * read-modify-write for the partial words at both ends, memset() for the
 * full words in between.
 *
 * Spills
 * ------
 * Drivers walking large IOPTEs report the whole IOPTE, which may reach
 * outside the window. Bits outside the bitmap are dropped. Bits inside it
 * but outside the window go to one of two pending spans:
 *  - "ahead" holds bits past the window. Each new window writes the part of
 *    it that it covers before the function is called.
 *  - "behind" holds bits before the window. When the function returns, the
 *    walk pins the pages holding them again and writes them.
 * A pending span is a single range, so spills on one side merge into their
 * hull. A range that overlaps the window spills into a span touching the
 * window, so such spills merge exactly. Only ranges lying wholly outside the
 * window, apart from each other, can make the hull larger than their union:
 * the clean pages between them are then reported dirty, but no dirty page
 * is ever lost. IOMMU drivers walk forward from where they are asked to
 * start, each live area's first IOVA in the window, so their spills are
 * always of the exact kind.
 *
 * Conventions: "first" and "last" are inclusive, "end" is exclusive. "bit"
 * indexes the bitmap, "word" indexes its u64 words, and "pos" is a byte
 * offset from the start of the first pinned page of the window.
 */
#include <linux/bitops.h>
#include <linux/bits.h>
#include <linux/export.h>
#include <linux/highmem.h>
#include <linux/iova_bitmap.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/unaligned.h>

#define IVB_WORD_BITS BITS_PER_TYPE(u64)
#define IVB_MAX_PAGES (PAGE_SIZE / sizeof(struct page *))

/* Two pages always hold a whole word, wherever it starts */
static_assert(IVB_MAX_PAGES >= 2);

/**
 * struct ivb_span - A range of bits of the bitmap
 * @first: First bit
 * @end: One past the last bit; the span is empty when @end <= @first
 */
struct ivb_span {
	unsigned long first;
	unsigned long end;
};

/**
 * struct iova_bitmap - A user bitmap of dirty IOVA, walked in windows
 * @iova: IOVA of bit 0
 * @last_iova: Last IOVA byte that the bitmap covers
 * @nbits: Number of bits in the bitmap
 * @nwords: Number of u64 words in the bitmap
 * @uaddr: User address of word 0
 * @ulast: User address of the last byte of the last word
 * @pgshift: log2 of the IOVA page size of one bit
 * @max_pages: Capacity of @pages
 * @pages: The pinned user pages of the window
 * @npinned: Number of valid entries in @pages, 0 outside a window
 * @win_pos: Offset in @pages[0] of the first word of the window
 * @win: Bits of the window
 * @ahead: Bits past @win still to be written
 * @behind: Bits before @win still to be written
 *
 * The fields up to @pages are immutable after iova_bitmap_alloc(). The rest
 * is walk state, owned by the single thread running iova_bitmap_for_each();
 * iova_bitmap_set() is only called from within that walk, so nothing here
 * is locked.
 */
struct iova_bitmap {
	unsigned long iova;
	unsigned long last_iova;
	unsigned long nbits;
	unsigned long nwords;
	unsigned long uaddr;
	unsigned long ulast;
	unsigned int pgshift;
	unsigned int max_pages;
	struct page **pages;
	unsigned int npinned;
	unsigned long win_pos;
	struct ivb_span win;
	struct ivb_span ahead;
	struct ivb_span behind;
};

/* Grow @span to the smallest range holding both it and [first, end) */
static void ivb_span_add(struct ivb_span *span, unsigned long first,
			 unsigned long end)
{
	if (span->first >= span->end) {
		span->first = first;
		span->end = end;
		return;
	}
	span->first = min(span->first, first);
	span->end = max(span->end, end);
}

/* First bit at or past word @word; @word may be one past the last word */
static unsigned long ivb_word_to_bit(struct iova_bitmap *bitmap,
				     unsigned long word)
{
	if (word >= bitmap->nwords)
		return bitmap->nbits;
	return word * IVB_WORD_BITS;
}

/* Position of word @word of the window in the pinned pages */
static unsigned long ivb_word_pos(struct iova_bitmap *bitmap,
				  unsigned long word)
{
	unsigned long first_word = bitmap->win.first / IVB_WORD_BITS;

	return bitmap->win_pos + (word - first_word) * sizeof(u64);
}

static void ivb_unpin_window(struct iova_bitmap *bitmap)
{
	unpin_user_pages_dirty_lock(bitmap->pages, bitmap->npinned, true);
	bitmap->npinned = 0;
}

/*
 * Pin the user pages holding the words from @word on, as many as @pages
 * takes, and make the words wholly inside them the window. A short pin
 * gives a shorter window; the next pin then reports the error.
 */
static int ivb_pin_window(struct iova_bitmap *bitmap, unsigned long word)
{
	unsigned long uaddr = bitmap->uaddr + word * sizeof(u64);
	unsigned long npages, nwords;
	int rc;

	npages = (bitmap->ulast >> PAGE_SHIFT) - (uaddr >> PAGE_SHIFT) + 1;
	npages = min_t(unsigned long, npages, bitmap->max_pages);
	rc = pin_user_pages_fast(uaddr & PAGE_MASK, npages, FOLL_WRITE,
				 bitmap->pages);
	if (rc <= 0)
		return rc ? rc : -EFAULT;
	bitmap->npinned = rc;

	/* ivb_word_to_bit() stops the window at the end of the bitmap */
	nwords = (rc * PAGE_SIZE - offset_in_page(uaddr)) / sizeof(u64);
	if (!nwords) {
		ivb_unpin_window(bitmap);
		return -EFAULT;
	}
	bitmap->win_pos = offset_in_page(uaddr);
	bitmap->win.first = ivb_word_to_bit(bitmap, word);
	bitmap->win.end = ivb_word_to_bit(bitmap, word + nwords);
	return 0;
}

/* Set the bits of @mask in word @word of the window */
static void ivb_or_word(struct iova_bitmap *bitmap, unsigned long word,
			u64 mask)
{
	unsigned long pos = ivb_word_pos(bitmap, word);
	u8 bytes[sizeof(u64)];
	unsigned int i;
	u8 *kaddr;

	if (offset_in_page(pos) <= PAGE_SIZE - sizeof(u64)) {
		kaddr = kmap_local_page(bitmap->pages[pos >> PAGE_SHIFT]);
		kaddr += offset_in_page(pos);
		put_unaligned(get_unaligned((u64 *)kaddr) | mask, (u64 *)kaddr);
		kunmap_local(kaddr);
		return;
	}

	/* The word straddles two pages: OR in its bytes one at a time */
	memcpy(bytes, &mask, sizeof(bytes));
	for (i = 0; i < sizeof(bytes); i++) {
		if (!bytes[i])
			continue;
		kaddr = kmap_local_page(bitmap->pages[(pos + i) >> PAGE_SHIFT]);
		kaddr[offset_in_page(pos + i)] |= bytes[i];
		kunmap_local(kaddr);
	}
}

/* Set every bit of @nwords words of the window, from word @word on */
static void ivb_fill_words(struct iova_bitmap *bitmap, unsigned long word,
			   unsigned long nwords)
{
	unsigned long pos = ivb_word_pos(bitmap, word);
	unsigned long len = nwords * sizeof(u64);

	while (len) {
		unsigned long chunk = min(len, PAGE_SIZE - offset_in_page(pos));
		u8 *kaddr = kmap_local_page(bitmap->pages[pos >> PAGE_SHIFT]);

		memset(kaddr + offset_in_page(pos), 0xff, chunk);
		kunmap_local(kaddr);
		pos += chunk;
		len -= chunk;
	}
}

/* Set bits [first, end), which must lie inside the window */
static void ivb_write_bits(struct iova_bitmap *bitmap, unsigned long first,
			   unsigned long end)
{
	unsigned long first_word = first / IVB_WORD_BITS;
	unsigned long last_word = (end - 1) / IVB_WORD_BITS;
	u64 head = GENMASK_ULL(IVB_WORD_BITS - 1, first % IVB_WORD_BITS);
	u64 tail = GENMASK_ULL((end - 1) % IVB_WORD_BITS, 0);

	if (first_word == last_word) {
		ivb_or_word(bitmap, first_word, head & tail);
		return;
	}
	ivb_or_word(bitmap, first_word, head);
	ivb_fill_words(bitmap, first_word + 1, last_word - first_word - 1);
	ivb_or_word(bitmap, last_word, tail);
}

/* Set bits [first, end) of the bitmap; what misses the window is pending */
static void ivb_set_bits(struct iova_bitmap *bitmap, unsigned long first,
			 unsigned long end)
{
	struct ivb_span *win = &bitmap->win;

	if (first < win->first)
		ivb_span_add(&bitmap->behind, first, min(end, win->first));
	if (end > win->end)
		ivb_span_add(&bitmap->ahead, max(first, win->end), end);

	first = max(first, win->first);
	end = min(end, win->end);
	if (first < end)
		ivb_write_bits(bitmap, first, end);
}

/* Write the part of the ahead span that the new window covers */
static void ivb_write_ahead(struct iova_bitmap *bitmap)
{
	struct ivb_span *ahead = &bitmap->ahead;
	unsigned long end = min(ahead->end, bitmap->win.end);

	if (ahead->first >= end)
		return;
	ivb_write_bits(bitmap, ahead->first, end);
	ahead->first = end;
}

/* Pin the pages before the window again to write the behind span */
static int ivb_write_behind(struct iova_bitmap *bitmap)
{
	struct ivb_span *behind = &bitmap->behind;
	unsigned long end;
	int rc;

	while (behind->first < behind->end) {
		rc = ivb_pin_window(bitmap, behind->first / IVB_WORD_BITS);
		if (rc)
			return rc;
		end = min(behind->end, bitmap->win.end);
		ivb_write_bits(bitmap, behind->first, end);
		behind->first = end;
		ivb_unpin_window(bitmap);
	}
	return 0;
}

/* Number of IOVA bytes that the window covers */
static size_t ivb_window_length(struct iova_bitmap *bitmap)
{
	unsigned long first = bitmap->win.first << bitmap->pgshift;
	unsigned long last;

	if (bitmap->win.end == bitmap->nbits)
		last = bitmap->last_iova - bitmap->iova;
	else
		last = (bitmap->win.end << bitmap->pgshift) - 1;
	return last - first + 1;
}

/* Walk the window starting at bit @first; return the first bit after it */
static int ivb_walk_window(struct iova_bitmap *bitmap, unsigned long *first,
			   void *opaque, iova_bitmap_fn_t fn)
{
	unsigned long iova;
	int rc;

	rc = ivb_pin_window(bitmap, *first / IVB_WORD_BITS);
	if (rc)
		return rc;
	*first = bitmap->win.end;
	ivb_write_ahead(bitmap);

	iova = bitmap->iova + (bitmap->win.first << bitmap->pgshift);
	rc = fn(bitmap, iova, ivb_window_length(bitmap), opaque);
	ivb_unpin_window(bitmap);
	if (rc)
		return rc;
	return ivb_write_behind(bitmap);
}

/* Check the arguments of iova_bitmap_alloc() and lay out the bitmap */
static int ivb_init_layout(struct iova_bitmap *bitmap, unsigned long iova,
			   size_t length, unsigned long page_size,
			   u64 __user *data)
{
	unsigned long uaddr = (unsigned long)data;
	unsigned long nbytes, npages;

	if (!length || !is_power_of_2(page_size))
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &bitmap->last_iova))
		return -EINVAL;

	bitmap->pgshift = __ffs(page_size);
	bitmap->nbits = ((length - 1) >> bitmap->pgshift) + 1;
	bitmap->nwords = bitmap->nbits / IVB_WORD_BITS +
			 !!(bitmap->nbits % IVB_WORD_BITS);
	if (check_mul_overflow(bitmap->nwords, sizeof(u64), &nbytes) ||
	    check_add_overflow(uaddr, nbytes - 1, &bitmap->ulast))
		return -EINVAL;

	bitmap->iova = iova;
	bitmap->uaddr = uaddr;
	npages = (bitmap->ulast >> PAGE_SHIFT) - (uaddr >> PAGE_SHIFT) + 1;
	bitmap->max_pages = min_t(unsigned long, npages, IVB_MAX_PAGES);
	return 0;
}

/**
 * iova_bitmap_alloc() - Describe a user bitmap of dirty IOVA
 * @iova: IOVA that bit 0 of the bitmap stands for
 * @length: Number of IOVA bytes that the bitmap covers
 * @page_size: IOVA bytes per bit, a power of two
 * @data: User address of the bitmap, an array of u64 words
 *
 * Bit n of the bitmap (bit n % 64 of word n / 64) stands for the IOVA bytes
 * from @iova + n * @page_size. Nothing is pinned yet: that happens window by
 * window in iova_bitmap_for_each(). @data need not be aligned. The
 * arguments are checked before anything is allocated.
 *
 * Context: Process context. May sleep.
 * Return: The bitmap, to be released with iova_bitmap_free(), or
 * ERR_PTR(-EINVAL) if @length is 0, @page_size is not a power of two, or the
 * IOVA range or the user buffer wraps around, or ERR_PTR(-ENOMEM).
 */
struct iova_bitmap *iova_bitmap_alloc(unsigned long iova, size_t length,
				      unsigned long page_size,
				      u64 __user *data)
{
	struct iova_bitmap layout = {};
	struct iova_bitmap *bitmap;
	struct page **pages;
	int rc;

	rc = ivb_init_layout(&layout, iova, length, page_size, data);
	if (rc)
		return ERR_PTR(rc);

	pages = kcalloc(layout.max_pages, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return ERR_PTR(-ENOMEM);
	bitmap = kmemdup(&layout, sizeof(layout), GFP_KERNEL_ACCOUNT);
	if (!bitmap)
		goto err_free_pages;
	bitmap->pages = pages;
	return bitmap;

err_free_pages:
	kfree(pages);
	return ERR_PTR(-ENOMEM);
}
EXPORT_SYMBOL_NS_GPL(iova_bitmap_alloc, IOMMUFD);

/**
 * iova_bitmap_free() - Release a bitmap from iova_bitmap_alloc()
 * @bitmap: The bitmap, or NULL
 *
 * The bitmap may or may not have been walked. The user memory keeps the
 * bits already written.
 *
 * Context: Process context. May sleep.
 * Return: Nothing.
 */
void iova_bitmap_free(struct iova_bitmap *bitmap)
{
	if (!bitmap)
		return;
	if (bitmap->npinned)
		ivb_unpin_window(bitmap);
	kfree(bitmap->pages);
	kfree(bitmap);
}
EXPORT_SYMBOL_NS_GPL(iova_bitmap_free, IOMMUFD);

/**
 * iova_bitmap_for_each() - Walk a bitmap window by window
 * @bitmap: The bitmap
 * @opaque: Passed to @fn
 * @fn: Called for each window with the IOVA range that the window covers
 *
 * Cuts [iova, iova + length) into consecutive windows, in increasing IOVA
 * order, and for each one pins the user pages holding its bits, calls @fn,
 * and unpins them. @fn reports dirty IOVA with iova_bitmap_set(). Each call
 * walks the whole range again.
 *
 * Context: Process context. May sleep; @fn is called without locks held.
 * Return: 0 once every window is done, the first non-zero value returned by
 * @fn, or a negative errno from pinning the user pages (-EFAULT if the
 * buffer is not writable user memory). On error some bits may be written
 * and others not.
 */
int iova_bitmap_for_each(struct iova_bitmap *bitmap, void *opaque,
			 iova_bitmap_fn_t fn)
{
	unsigned long first = 0;
	int rc = 0;

	might_sleep();
	bitmap->ahead = (struct ivb_span){};
	bitmap->behind = (struct ivb_span){};
	while (!rc && first < bitmap->nbits)
		rc = ivb_walk_window(bitmap, &first, opaque, fn);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iova_bitmap_for_each, IOMMUFD);

/**
 * iova_bitmap_set() - Mark an IOVA range dirty
 * @bitmap: The bitmap being walked
 * @iova: First IOVA byte of the range
 * @length: Number of bytes in the range
 *
 * Sets every bit whose IOVA page intersects [@iova, @iova + @length). The
 * range may reach outside the window being walked: bits outside the bitmap
 * are ignored, and bits outside the window are written when the walk comes
 * to them, or for those behind it, right after the function returns. Bits
 * are never cleared. Calls on one bitmap must not run concurrently.
 *
 * Context: Any context, but only from the function that
 * iova_bitmap_for_each() calls. Does not sleep or allocate.
 * Return: Nothing.
 */
void iova_bitmap_set(struct iova_bitmap *bitmap, unsigned long iova,
		     size_t length)
{
	unsigned long last, first_bit, last_bit;

	if (WARN_ON_ONCE(!bitmap->npinned) || !length)
		return;
	if (check_add_overflow(iova, length - 1, &last))
		last = ULONG_MAX;
	if (last < bitmap->iova || iova > bitmap->last_iova)
		return;

	first_bit = (max(iova, bitmap->iova) - bitmap->iova) >> bitmap->pgshift;
	last_bit = (min(last, bitmap->last_iova) - bitmap->iova) >>
		   bitmap->pgshift;
	ivb_set_bits(bitmap, first_bit, last_bit + 1);
}
EXPORT_SYMBOL_NS_GPL(iova_bitmap_set, IOMMUFD);
