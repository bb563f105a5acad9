// SPDX-License-Identifier: GPL-2.0
/*
 * bsh: the guest side of buddysim's kernel harness. Runs one trace (format: ../README.md) inside
 * the VM and streams what the kernel did to a data port (the second serial line):
 *
 *   @@BEGIN <path>\n<content>@@END <path> <bytes>\n     one output file (path relative to the run)
 *   @@DONE\n                                           the trace ran to the end
 *   @@FAIL <message>\n                                 it did not
 *
 * Kernel allocations go through the harness module (/sys/kernel/debug/buddysim/ctl); anonymous
 * memory and page cache are this process's own; sysctls and snapshots go through /proc.
 *
 * Usage: bsh TRACE DATA_DEVICE FILE_DIR
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "../common/select.h"

#define PAGE 4096UL
#define CTL "/sys/kernel/debug/buddysim/ctl"
#define MAX_GROUPS 128
#define GROUP_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

enum gkind { G_KERNEL, G_ANON, G_FILE };

struct group {
	char name[32];
	enum gkind kind;
	uint64_t *ent; /* anon: page address; file: fd << 32 | page index */
	size_t n, cap;
};

static struct group groups[MAX_GROUPS];
static int ngroups;
static int out_fd;
static const char *trace_path;
static const char *file_dir;
static int lineno;
static uint64_t managed_pages;
static char *counts;
static size_t counts_len, counts_cap;
static int nmarks;
static int file_seq;

static void emit_raw(const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(out_fd, buf, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "bsh: writing the data port: %s\n", strerror(errno));
			exit(3);
		}
		buf += w;
		len -= (size_t)w;
	}
}

static void emit_str(const char *s)
{
	emit_raw(s, strlen(s));
}

static void die(const char *fmt, ...)
{
	char msg[512], line[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "%s:%d: %s", trace_path, lineno, msg);
	fprintf(stderr, "bsh: FAIL %s\n", line);
	if (out_fd > 0) {
		emit_str("\n@@FAIL ");
		emit_str(line);
		emit_str("\n");
	}
	exit(2);
}

static void emit_file(const char *path, const char *buf, size_t len)
{
	char hdr[300];

	snprintf(hdr, sizeof(hdr), "@@BEGIN %s\n", path);
	emit_str(hdr);
	emit_raw(buf, len);
	if (len && buf[len - 1] != '\n') {
		emit_str("\n");
		len++;
	}
	snprintf(hdr, sizeof(hdr), "@@END %s %zu\n", path, len);
	emit_str(hdr);
}

static void counts_add(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (counts_len + (size_t)n + 1 > counts_cap) {
		counts_cap = (counts_cap + (size_t)n + 1) * 2;
		counts = realloc(counts, counts_cap);
		if (!counts)
			die("out of memory");
	}
	memcpy(counts + counts_len, line, (size_t)n);
	counts_len += (size_t)n;
}

/* Reads a whole (proc) file into *buf; returns its length. */
static size_t slurp(const char *path, char **buf, size_t *cap)
{
	size_t len = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		die("cannot open %s: %s", path, strerror(errno));
	for (;;) {
		ssize_t r;

		if (len + 65536 > *cap) {
			*cap = (*cap + 65536) * 2;
			*buf = realloc(*buf, *cap);
			if (!*buf)
				die("out of memory");
		}
		r = read(fd, *buf + len, *cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("cannot read %s: %s", path, strerror(errno));
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	return len;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		die("cannot open %s: %s", path, strerror(errno));
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die("writing '%s' to %s: %s", text, path, strerror(errno));
	close(fd);
}

/* Sends one command to the module; returns 0 and the result line, or -errno. */
static int ctl(const char *cmd, char *result, size_t rlen)
{
	int fd = open(CTL, O_RDWR);
	ssize_t r;

	if (fd < 0)
		die("cannot open %s (is buddysim_harness.ko loaded?): %s", CTL, strerror(errno));
	if (write(fd, cmd, strlen(cmd)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	lseek(fd, 0, SEEK_SET);
	r = read(fd, result, rlen - 1);
	close(fd);
	if (r < 0)
		die("reading the result of '%s': %s", cmd, strerror(errno));
	result[r] = '\0';
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	uint64_t v;

	if (!s || !isdigit((unsigned char)*s))
		die("expected %s (a non-negative integer), found '%s'", what, s ? s : "end of line");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end || errno)
		die("expected %s (a non-negative integer), found '%s'", what, s);
	return v;
}

/* "N" (blocks or pages) or "P%" (share of the zones' managed pages, up to two decimals). */
static uint64_t parse_amount(const char *s, unsigned order, const char *what)
{
	size_t len = s ? strlen(s) : 0;
	uint64_t bp = 0;
	int frac = -1;

	if (!len || s[len - 1] != '%')
		return parse_u64(s, what);
	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] == '.' && frac < 0) {
			frac = 0;
			continue;
		}
		if (!isdigit((unsigned char)s[i]) || frac >= 2)
			die("expected %s as N or P%%, found '%s'", what, s);
		bp = bp * 10 + (uint64_t)(s[i] - '0');
		if (frac >= 0)
			frac++;
	}
	while (frac < 2) {
		bp *= 10;
		frac = frac < 0 ? 1 : frac + 1;
	}
	if (bp > 10000)
		die("%s above 100%%: '%s'", what, s);
	return managed_pages * bp / 10000 >> order;
}

/* SHARE in [0, 1] with up to six decimals, as parts per million. */
static uint32_t parse_share(const char *s)
{
	uint64_t ppm = 0;
	int frac = -1;

	if (!s || !*s)
		die("expected SHARE (0..1), found end of line");
	for (const char *p = s; *p; p++) {
		if (*p == '.' && frac < 0) {
			frac = 0;
			continue;
		}
		if (!isdigit((unsigned char)*p) || frac >= 6)
			die("expected SHARE (0..1, up to 6 decimals), found '%s'", s);
		ppm = ppm * 10 + (uint64_t)(*p - '0');
		if (frac >= 0)
			frac++;
	}
	for (int f = frac < 0 ? 0 : frac; f < 6; f++)
		ppm *= 10;
	if (ppm > 1000000)
		die("SHARE above 1: '%s'", s);
	return (uint32_t)ppm;
}

static struct group *group(const char *name, enum gkind kind, int create)
{
	for (int i = 0; i < ngroups; i++)
		if (!strcmp(groups[i].name, name)) {
			if (create && groups[i].kind != kind)
				die("group '%s' already holds another kind of memory", name);
			return &groups[i];
		}
	if (!create)
		die("unknown group '%s'", name);
	if (ngroups == MAX_GROUPS || strlen(name) >= sizeof(groups[0].name) ||
	    strspn(name, GROUP_CHARS) != strlen(name))
		die("too many groups, or not a GROUP name (1-31 of A-Z a-z 0-9 _ -): '%s'", name);
	strcpy(groups[ngroups].name, name);
	groups[ngroups].kind = kind;
	return &groups[ngroups++];
}

static void push(struct group *g, uint64_t e)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 4096;
		g->ent = realloc(g->ent, g->cap * sizeof(*g->ent));
		if (!g->ent)
			die("out of memory");
	}
	g->ent[g->n++] = e;
}

static void op_mark(const char *name)
{
	static const char *const files[] = { "buddyinfo", "pagetypeinfo", "zoneinfo", "vmstat" };
	static char *buf[4];
	static size_t cap[4];
	size_t len[4];
	char res[256], path[300];
	int drained = ctl("drain", res, sizeof(res)) == 0;

	/* Read all four first, then send: the snapshot is as close to one instant as we can. */
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "/proc/%s", files[i]);
		len[i] = slurp(path, &buf[i], &cap[i]);
	}
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%02d-%s/%s", nmarks, name, files[i]);
		emit_file(path, buf[i], len[i]);
	}
	counts_add("%d mark %02d-%s - - %d - - -\n", lineno, nmarks, name, drained);
	nmarks++;
}

static void op_kernel(const char *op, const char *gname, unsigned order, uint64_t count, int stop,
		      const char *gfp)
{
	char cmd[512], res[256];
	unsigned long long req, done, held;
	long long first_fail;
	uint64_t t0 = now_ms();
	int err;

	group(gname, G_KERNEL, 1);
	snprintf(cmd, sizeof(cmd), "alloc %s %u %" PRIu64 " %d %s", gname, order, count, stop, gfp);
	err = ctl(cmd, res, sizeof(res));
	if (err)
		die("module rejected '%s': %s", cmd, strerror(-err));
	if (sscanf(res, "ok requested=%llu done=%llu first_fail=%lld held=%llu", &req, &done,
		   &first_fail, &held) != 4)
		die("unexpected module answer '%s'", res);
	counts_add("%d %s %s %u %llu %llu %lld %llu %" PRIu64 "\n", lineno, op, gname, order, req, done,
		   first_fail, held, now_ms() - t0);
}

static void op_anon(const char *gname, uint64_t pages)
{
	struct group *g = group(gname, G_ANON, 1);
	uint64_t t0 = now_ms();
	char *p;

	if (!pages)
		die("anon needs at least one page");
	p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap of %" PRIu64 " pages: %s", pages, strerror(errno));
	if (madvise(p, pages * PAGE, MADV_NOHUGEPAGE))
		die("madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
	for (uint64_t i = 0; i < pages; i++) {
		p[i * PAGE] = (char)(i | 1);
		push(g, (uint64_t)(uintptr_t)(p + i * PAGE));
	}
	counts_add("%d anon %s 0 %" PRIu64 " %" PRIu64 " -1 %zu %" PRIu64 "\n", lineno, gname, pages,
		   pages, g->n, now_ms() - t0);
}

static void op_file(const char *gname, uint64_t pages)
{
	static char chunk[64 * 1024];
	struct group *g = group(gname, G_FILE, 1);
	uint64_t t0 = now_ms(), left = pages * PAGE;
	char path[300];
	int fd;

	if (!pages || pages >= (1ULL << 32))
		die("file needs 1..2^32-1 pages");
	memset(chunk, 0x5a, sizeof(chunk));
	snprintf(path, sizeof(path), "%s/%s.%d", file_dir, gname, file_seq++);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die("cannot create %s: %s", path, strerror(errno));
	while (left) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
		ssize_t w = write(fd, chunk, n);

		if (w <= 0)
			die("writing %s: %s", path, strerror(errno));
		left -= (uint64_t)w;
	}
	/* Written back, the pages are clean page cache: reclaimable, droppable, migratable. */
	if (fsync(fd))
		die("fsync %s: %s", path, strerror(errno));
	for (uint64_t i = 0; i < pages; i++)
		push(g, (uint64_t)fd << 32 | i);
	counts_add("%d file %s 0 %" PRIu64 " %" PRIu64 " -1 %zu %" PRIu64 "\n", lineno, gname, pages,
		   pages, g->n, now_ms() - t0);
}

static void op_free(const char *gname, enum bs_mode mode, uint32_t ppm, uint64_t seed)
{
	struct group *g = group(gname, G_KERNEL, 0);
	uint64_t t0 = now_ms();
	size_t requested = g->n, kept = 0, done = 0;
	struct bs_select sel;

	if (g->kind == G_KERNEL) {
		char cmd[256], res[256];
		unsigned long long req, d, held;
		long long ff;
		int err;

		snprintf(cmd, sizeof(cmd), "free %s %d %u %" PRIu64, gname, (int)mode, ppm, seed);
		err = ctl(cmd, res, sizeof(res));
		if (err)
			die("module rejected '%s': %s", cmd, strerror(-err));
		if (sscanf(res, "ok requested=%llu done=%llu first_fail=%lld held=%llu", &req, &d, &ff,
			   &held) != 4)
			die("unexpected module answer '%s'", res);
		counts_add("%d free %s - %llu %llu -1 %llu %" PRIu64 "\n", lineno, gname, req, d, held,
			   now_ms() - t0);
		return;
	}
	bs_select_init(&sel, mode, ppm, seed);
	for (size_t i = 0; i < g->n; i++) {
		uint64_t e = g->ent[i];

		if (!bs_select_next(&sel)) {
			g->ent[kept++] = e;
			continue;
		}
		done++;
		if (g->kind == G_ANON) {
			if (madvise((void *)(uintptr_t)e, PAGE, MADV_DONTNEED))
				die("madvise(MADV_DONTNEED): %s", strerror(errno));
		} else if (posix_fadvise((int)(e >> 32), (off_t)((e & 0xffffffffULL) * PAGE), PAGE,
					 POSIX_FADV_DONTNEED)) {
			die("posix_fadvise(DONTNEED) failed");
		}
	}
	g->n = kept;
	counts_add("%d free %s - %zu %zu -1 %zu %" PRIu64 "\n", lineno, gname, requested, done, kept,
		   now_ms() - t0);
}

static void op_simple(const char *op, const char *arg, uint64_t t0)
{
	counts_add("%d %s %s - - - - - %" PRIu64 "\n", lineno, op, arg, now_ms() - t0);
}

static void sum_managed(void)
{
	static char *buf;
	static size_t cap;
	size_t len = slurp("/proc/zoneinfo", &buf, &cap);
	char *line, *save = NULL;

	buf[len < cap ? len : cap - 1] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long v;

		if (sscanf(line, " managed %llu", &v) == 1)
			managed_pages += v;
	}
	if (!managed_pages)
		die("no 'managed' lines in /proc/zoneinfo");
}

static void run_line(char **tok, int ntok)
{
	const char *op = tok[0];
	uint64_t t0 = now_ms();

#define NEED(n, usage)                                                         \
	do {                                                                   \
		if (ntok != (n))                                               \
			die("expected '%s' (%d words), found %d words", usage, \
			    (n), ntok);                                        \
	} while (0)

	if (!strcmp(op, "mark")) {
		NEED(2, "mark NAME");
		if (strspn(tok[1], "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(tok[1]))
			die("mark NAME may hold only a-z, 0-9, '_' and '-': '%s'", tok[1]);
		op_mark(tok[1]);
	} else if (!strcmp(op, "alloc")) {
		static const char *const gfp[] = { "GFP_KERNEL", "GFP_KERNEL|__GFP_RECLAIMABLE",
						   "GFP_HIGHUSER_MOVABLE" };
		static const char *const kinds[] = { "unmovable", "reclaimable", "movable" };
		unsigned order;
		int k;

		NEED(5, "alloc GROUP unmovable|reclaimable|movable ORDER COUNT");
		for (k = 0; k < 3 && strcmp(tok[2], kinds[k]); k++)
			;
		if (k == 3)
			die("expected unmovable, reclaimable or movable, found '%s'", tok[2]);
		order = (unsigned)parse_u64(tok[3], "ORDER");
		if (order > 10)
			die("ORDER above 10");
		op_kernel("alloc", tok[1], order, parse_amount(tok[4], order, "COUNT"), 1, gfp[k]);
	} else if (!strcmp(op, "try")) {
		unsigned order;

		NEED(5, "try GROUP ORDER COUNT GFP");
		order = (unsigned)parse_u64(tok[2], "ORDER");
		if (order > 10)
			die("ORDER above 10");
		op_kernel("try", tok[1], order, parse_amount(tok[3], order, "COUNT"), 0, tok[4]);
	} else if (!strcmp(op, "anon")) {
		NEED(3, "anon GROUP PAGES");
		op_anon(tok[1], parse_amount(tok[2], 0, "PAGES"));
	} else if (!strcmp(op, "file")) {
		NEED(3, "file GROUP PAGES");
		op_file(tok[1], parse_amount(tok[2], 0, "PAGES"));
	} else if (!strcmp(op, "free")) {
		if (ntok == 3 && !strcmp(tok[2], "all"))
			op_free(tok[1], BS_ALL, 0, 0);
		else if (ntok == 3 && !strcmp(tok[2], "every-other"))
			op_free(tok[1], BS_EVERY_OTHER, 0, 0);
		else if (ntok == 5 && !strcmp(tok[2], "random"))
			op_free(tok[1], BS_RANDOM, parse_share(tok[3]), parse_u64(tok[4], "SEED"));
		else
			die("expected 'free GROUP all|every-other|random SHARE SEED'");
	} else if (!strcmp(op, "hold")) {
		NEED(2, "hold SECONDS");
		sleep((unsigned)parse_u64(tok[1], "SECONDS"));
		op_simple("hold", tok[1], t0);
	} else if (!strcmp(op, "compact")) {
		NEED(1, "compact");
		write_file("/proc/sys/vm/compact_memory", "1");
		op_simple("compact", "-", t0);
	} else if (!strcmp(op, "drop_caches")) {
		NEED(2, "drop_caches 1|2|3");
		parse_u64(tok[1], "1, 2 or 3");
		sync();
		write_file("/proc/sys/vm/drop_caches", tok[1]);
		op_simple("drop_caches", tok[1], t0);
	} else if (!strcmp(op, "sysctl")) {
		char path[300], arg[300];

		NEED(3, "sysctl vm.NAME VALUE");
		if (strncmp(tok[1], "vm.", 3) || strchr(tok[1], '/'))
			die("expected vm.NAME, found '%s'", tok[1]);
		parse_u64(tok[2], "VALUE");
		snprintf(path, sizeof(path), "/proc/sys/vm/%s", tok[1] + 3);
		write_file(path, tok[2]);
		snprintf(arg, sizeof(arg), "%s=%s", tok[1], tok[2]);
		op_simple("sysctl", arg, t0);
	} else {
		die("unknown operation '%s'", op);
	}
#undef NEED
}

/* The guest's kernel version and command line, for the run's meta file. */
static void emit_guest(void)
{
	static char *buf[2];
	static size_t cap[2];
	size_t v = slurp("/proc/version", &buf[0], &cap[0]);
	size_t c = slurp("/proc/cmdline", &buf[1], &cap[1]);
	char *all = malloc(v + c + 1);

	if (!all)
		die("out of memory");
	memcpy(all, buf[0], v);
	memcpy(all + v, buf[1], c);
	emit_file("guest", all, v + c);
	free(all);
}

int main(int argc, char **argv)
{
	static char *text;
	static size_t cap;
	char *line, *save = NULL, *next;
	struct termios tio;
	size_t len;

	if (argc != 4) {
		fprintf(stderr, "usage: bsh TRACE DATA_DEVICE FILE_DIR\n");
		return 1;
	}
	trace_path = argv[1];
	file_dir = argv[3];
	out_fd = open(argv[2], O_WRONLY | O_NOCTTY);
	if (out_fd < 0) {
		fprintf(stderr, "bsh: cannot open %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (isatty(out_fd)) {
		tcgetattr(out_fd, &tio);
		cfmakeraw(&tio);
		cfsetospeed(&tio, B115200);
		tcsetattr(out_fd, TCSANOW, &tio);
	}
	emit_guest();
	len = slurp(trace_path, &text, &cap);
	text[len] = '\0';
	sum_managed();
	counts_add("# trace %s, managed pages %" PRIu64 "\n", trace_path, managed_pages);
	counts_add("# line op group order requested done first_fail held ms\n");
	for (line = text; line; line = next) {
		char *tok[8], *hash;
		int ntok = 0;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
			if (ntok == 8)
				die("too many words");
			tok[ntok++] = t;
		}
		if (!ntok)
			continue;
		fprintf(stderr, "bsh: %s line %d: %s\n", trace_path, lineno, tok[0]);
		run_line(tok, ntok);
	}
	emit_file("counts", counts, counts_len);
	emit_str("@@DONE\n");
	fsync(out_fd);
	return 0;
}
