// SPDX-License-Identifier: GPL-2.0
/*
 * buddysim_harness: kernel-side operations for buddysim's validation traces.
 *
 * The user-space helper (../helper/bsh.c) writes one command per write() to
 * /sys/kernel/debug/buddysim/ctl and reads the result line back from the same file:
 *
 *   alloc GROUP ORDER COUNT STOP GFP   COUNT alloc_pages(GFP, ORDER) calls; the pages join GROUP.
 *                                      STOP=1 stops at the first failure, STOP=0 tries all COUNT.
 *                                      GFP is a '|'-separated list of flag names (table below),
 *                                      translated here so the numbers are this kernel's own.
 *   free GROUP MODE PPM SEED           frees the entries of GROUP chosen by ../common/select.h
 *                                      (MODE 0 all, 1 every-other, 2 random with PPM and SEED).
 *   drain                              drain_all_pages(NULL): return per-cpu free pages to the
 *                                      buddy lists so /proc/buddyinfo shows them.
 *
 * Result: "ok requested=N done=M first_fail=F held=H" (first_fail -1 if nothing failed) or
 * "err MESSAGE". A group is a list of blocks chained through page->lru (the owner's field for
 * pages from alloc_pages), the block order kept in page_private, so tracking allocates nothing.
 */
#include <linux/module.h>
#include <linux/debugfs.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/kprobes.h>
#include <linux/uaccess.h>
#include <linux/mutex.h>
#include <linux/list.h>
#include <linux/string.h>
#include <linux/kernel.h>
#include <linux/sched.h>
#include "../common/select.h"

#define BS_MAX_GROUPS 128
#define BS_NAME_LEN 32
#define BS_CMD_LEN 512

struct bs_group {
	char name[BS_NAME_LEN];
	struct list_head blocks;
	unsigned long nr;
};

static struct bs_group bs_groups[BS_MAX_GROUPS];
static int bs_nr_groups;
static DEFINE_MUTEX(bs_lock);
static char bs_result[256] = "ok idle\n";
static struct dentry *bs_dir;
static void (*bs_drain_all_pages)(struct zone *zone);

static const struct {
	const char *name;
	gfp_t flags;
} bs_gfp_names[] = {
	{ "GFP_KERNEL", GFP_KERNEL },
	{ "GFP_ATOMIC", GFP_ATOMIC },
	{ "GFP_NOWAIT", GFP_NOWAIT },
	{ "GFP_NOIO", GFP_NOIO },
	{ "GFP_NOFS", GFP_NOFS },
	{ "GFP_USER", GFP_USER },
	{ "GFP_HIGHUSER", GFP_HIGHUSER },
	{ "GFP_HIGHUSER_MOVABLE", GFP_HIGHUSER_MOVABLE },
	{ "GFP_TRANSHUGE_LIGHT", GFP_TRANSHUGE_LIGHT },
	{ "GFP_TRANSHUGE", GFP_TRANSHUGE },
	{ "__GFP_NORETRY", __GFP_NORETRY },
	{ "__GFP_NOWARN", __GFP_NOWARN },
	{ "__GFP_RETRY_MAYFAIL", __GFP_RETRY_MAYFAIL },
	{ "__GFP_RECLAIMABLE", __GFP_RECLAIMABLE },
	{ "__GFP_MOVABLE", __GFP_MOVABLE },
	{ "__GFP_HIGH", __GFP_HIGH },
	{ "__GFP_NOMEMALLOC", __GFP_NOMEMALLOC },
	{ "__GFP_DIRECT_RECLAIM", __GFP_DIRECT_RECLAIM },
	{ "__GFP_KSWAPD_RECLAIM", __GFP_KSWAPD_RECLAIM },
	{ "__GFP_IO", __GFP_IO },
	{ "__GFP_FS", __GFP_FS },
	{ "__GFP_ZERO", __GFP_ZERO },
	{ "__GFP_COMP", __GFP_COMP },
	{ "__GFP_THISNODE", __GFP_THISNODE },
	{ "__GFP_ACCOUNT", __GFP_ACCOUNT },
};

static int bs_parse_gfp(char *text, gfp_t *out)
{
	char *name;
	gfp_t gfp = 0;

	while ((name = strsep(&text, "|")) != NULL) {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(bs_gfp_names); i++)
			if (!strcmp(name, bs_gfp_names[i].name))
				break;
		if (i == ARRAY_SIZE(bs_gfp_names))
			return -EINVAL;
		gfp |= bs_gfp_names[i].flags;
	}
	*out = gfp;
	return 0;
}

static struct bs_group *bs_group(const char *name, bool create)
{
	int i;

	for (i = 0; i < bs_nr_groups; i++)
		if (!strcmp(bs_groups[i].name, name))
			return &bs_groups[i];
	if (!create || bs_nr_groups == BS_MAX_GROUPS || strlen(name) >= BS_NAME_LEN)
		return NULL;
	strscpy(bs_groups[i].name, name, BS_NAME_LEN);
	INIT_LIST_HEAD(&bs_groups[i].blocks);
	bs_groups[i].nr = 0;
	bs_nr_groups++;
	return &bs_groups[i];
}

static void bs_free_block(struct page *page)
{
	unsigned int order = page_private(page);

	list_del(&page->lru);
	set_page_private(page, 0);
	__free_pages(page, order);
}

static int bs_cmd_alloc(char *args)
{
	char *gname = strsep(&args, " "), *s_order = strsep(&args, " ");
	char *s_count = strsep(&args, " "), *s_stop = strsep(&args, " "), *s_gfp = strsep(&args, " ");
	unsigned int order, count, stop, i, done = 0;
	long first_fail = -1;
	struct bs_group *g;
	gfp_t gfp;

	if (!s_gfp || args || kstrtouint(s_order, 10, &order) || order >= MAX_ORDER ||
	    kstrtouint(s_count, 10, &count) || kstrtouint(s_stop, 10, &stop))
		return -EINVAL;
	if (bs_parse_gfp(s_gfp, &gfp))
		return -ENOENT;
	g = bs_group(gname, true);
	if (!g)
		return -ENOSPC;
	for (i = 0; i < count; i++) {
		struct page *page = alloc_pages(gfp, order);

		cond_resched();
		if (!page) {
			if (first_fail < 0)
				first_fail = i;
			if (stop)
				break;
			continue;
		}
		set_page_private(page, order);
		list_add_tail(&page->lru, &g->blocks);
		g->nr++;
		done++;
	}
	snprintf(bs_result, sizeof(bs_result), "ok requested=%u done=%u first_fail=%ld held=%lu\n",
		 count, done, first_fail, g->nr);
	return 0;
}

static int bs_cmd_free(char *args)
{
	char *gname = strsep(&args, " "), *s_mode = strsep(&args, " ");
	char *s_ppm = strsep(&args, " "), *s_seed = strsep(&args, " ");
	unsigned int mode, ppm;
	unsigned long done = 0, requested;
	struct bs_select sel;
	struct page *page, *next;
	struct bs_group *g;
	u64 seed;

	if (!s_seed || args || kstrtouint(s_mode, 10, &mode) || mode > BS_RANDOM ||
	    kstrtouint(s_ppm, 10, &ppm) || ppm > 1000000 || kstrtou64(s_seed, 10, &seed))
		return -EINVAL;
	g = bs_group(gname, false);
	if (!g)
		return -ENOENT;
	requested = g->nr;
	bs_select_init(&sel, mode, ppm, seed);
	list_for_each_entry_safe(page, next, &g->blocks, lru) {
		if (bs_select_next(&sel)) {
			bs_free_block(page);
			done++;
			cond_resched();
		}
	}
	g->nr -= done;
	snprintf(bs_result, sizeof(bs_result), "ok requested=%lu done=%lu first_fail=-1 held=%lu\n",
		 requested, done, g->nr);
	return 0;
}

static int bs_cmd_drain(char *args)
{
	if (args)
		return -EINVAL;
	if (!bs_drain_all_pages)
		return -EOPNOTSUPP;
	bs_drain_all_pages(NULL);
	snprintf(bs_result, sizeof(bs_result), "ok requested=0 done=0 first_fail=-1 held=0\n");
	return 0;
}

static ssize_t bs_write(struct file *file, const char __user *ubuf, size_t len, loff_t *ppos)
{
	char buf[BS_CMD_LEN], *args, *cmd;
	int ret;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	strim(buf);
	args = buf;
	cmd = strsep(&args, " ");
	mutex_lock(&bs_lock);
	if (!strcmp(cmd, "alloc"))
		ret = bs_cmd_alloc(args);
	else if (!strcmp(cmd, "free"))
		ret = bs_cmd_free(args);
	else if (!strcmp(cmd, "drain"))
		ret = bs_cmd_drain(args);
	else
		ret = -EINVAL;
	if (ret)
		snprintf(bs_result, sizeof(bs_result), "err %d\n", ret);
	mutex_unlock(&bs_lock);
	return ret ? ret : len;
}

static ssize_t bs_read(struct file *file, char __user *ubuf, size_t len, loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&bs_lock);
	ret = simple_read_from_buffer(ubuf, len, ppos, bs_result, strlen(bs_result));
	mutex_unlock(&bs_lock);
	return ret;
}

static const struct file_operations bs_fops = {
	.owner = THIS_MODULE,
	.write = bs_write,
	.read = bs_read,
	.llseek = default_llseek,
};

/* drain_all_pages() is not exported: find it through kallsyms, reached via a kprobe. */
static void bs_resolve_drain(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	unsigned long (*lookup)(const char *name);

	if (register_kprobe(&kp) < 0) {
		pr_warn("buddysim_harness: no kprobe on kallsyms_lookup_name: drain unavailable\n");
		return;
	}
	lookup = (void *)kp.addr;
	unregister_kprobe(&kp);
	bs_drain_all_pages = (void *)lookup("drain_all_pages");
	if (!bs_drain_all_pages)
		pr_warn("buddysim_harness: drain_all_pages not found: drain unavailable\n");
}

static int __init bs_init(void)
{
	bs_resolve_drain();
	bs_dir = debugfs_create_dir("buddysim", NULL);
	debugfs_create_file("ctl", 0600, bs_dir, NULL, &bs_fops);
	pr_info("buddysim_harness: loaded, drain %s\n", bs_drain_all_pages ? "available" : "unavailable");
	return 0;
}

static void __exit bs_exit(void)
{
	int i;

	debugfs_remove_recursive(bs_dir);
	for (i = 0; i < bs_nr_groups; i++) {
		struct page *page, *next;

		list_for_each_entry_safe(page, next, &bs_groups[i].blocks, lru)
			bs_free_block(page);
	}
}

module_init(bs_init);
module_exit(bs_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("buddysim validation harness: page allocations driven from user space");
