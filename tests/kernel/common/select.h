/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which entries of a group a `free` line releases. Shared by the kernel module (kernel pages)
 * and the user-space helper (anonymous and page-cache pages), and mirrored bit for bit by the
 * Rust trace parser (sim/workload/trace.rs, `FreeSelection::picks`), so the simulator frees the
 * same entries.
 *
 * Entries are numbered 0, 1, 2, ... in the order they were added to the group (survivors of an
 * earlier `free` keep their relative order and are renumbered from 0).
 *   all          every entry;
 *   every-other  the odd-numbered entries (1, 3, 5, ...): entries 0, 2, 4, ... stay held;
 *   random       entry i is freed iff the i-th SplitMix64 output (state starts at SEED) modulo
 *                1000000 is below SHARE in parts per million.
 */
#ifndef BUDDYSIM_SELECT_H
#define BUDDYSIM_SELECT_H

#ifdef __KERNEL__
#include <linux/types.h>
typedef u64 bs_u64;
typedef u32 bs_u32;
#else
#include <stdint.h>
#include <stdbool.h>
typedef uint64_t bs_u64;
typedef uint32_t bs_u32;
#endif

enum bs_mode { BS_ALL = 0, BS_EVERY_OTHER = 1, BS_RANDOM = 2 };

struct bs_select {
	enum bs_mode mode;
	bs_u32 ppm;
	bs_u64 state;
	bs_u64 index;
};

static inline bs_u64 bs_splitmix64(bs_u64 *state)
{
	bs_u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void bs_select_init(struct bs_select *s, enum bs_mode mode, bs_u32 ppm, bs_u64 seed)
{
	s->mode = mode;
	s->ppm = ppm;
	s->state = seed;
	s->index = 0;
}

/* Whether the next entry (in group order) is freed. */
static inline bool bs_select_next(struct bs_select *s)
{
	bs_u64 i = s->index++;

	switch (s->mode) {
	case BS_ALL:
		return true;
	case BS_EVERY_OTHER:
		return i & 1;
	default:
		return bs_splitmix64(&s->state) % 1000000 < s->ppm;
	}
}

#endif
