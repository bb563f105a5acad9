#!/usr/bin/env bash
# Runs buddysim's validation traces inside a real Debian kernel under qemu (TCG) and records what
# the kernel did under tests/kernel/results/. See tests/kernel/README.md.
#
#   bash tests/kernel/run.sh                 every trace at every memory size
#   bash tests/kernel/run.sh fresh-order10   only the named traces (file names without .trace)
#
# Environment: BUDDYSIM_MEMS (MiB, default "512 1024"), BUDDYSIM_JOBS (parallel VMs, default: the number of CPUs),
# BUDDYSIM_WORK (build area, default /var/tmp/buddysim-kernel), BUDDYSIM_TIMEOUT (s per VM, 900).
# Needs root on Debian 12 (it installs packages with apt-get) and the Debian archive; the VM itself
# has no network.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${BUDDYSIM_WORK:-/var/tmp/buddysim-kernel}
MEMS=${BUDDYSIM_MEMS:-512 1024}
JOBS=${BUDDYSIM_JOBS:-$(nproc)}
TIMEOUT=${BUDDYSIM_TIMEOUT:-900}
RESULTS=$HERE/results
START=$(date +%s)

die() {
	echo "run.sh: ERROR: $*" >&2
	exit 1
}
say() { echo "run.sh: $*"; }

[ "$(id -u)" = 0 ] || die "run as root: the harness installs packages with apt-get"
command -v apt-get > /dev/null || die "apt-get not found: the harness expects Debian 12"

mkdir -p "$WORK"

# --- 1. Packages --------------------------------------------------------------------------------
say "apt-get update"
apt-get update -q > "$WORK/apt.log" 2>&1 || { cat "$WORK/apt.log" >&2; die "apt-get update failed"; }
KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$KPKG" ] || die "cannot resolve the linux-image-amd64 dependency (apt-cache depends)"
KREL=${KPKG#linux-image-}
KVER=$(apt-cache show "$KPKG" | awk '/^Version:/ { print $2; exit }')
say "kernel package $KPKG ($KVER)"
# qemu-system-x86 may replace a newer qemu-utils of the image with Debian's; that is acceptable.
say "apt-get install qemu-system-x86 busybox-static gcc make cpio linux-headers-$KREL"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	qemu-system-x86 busybox-static gcc make cpio libc6-dev "linux-headers-$KREL" \
	>> "$WORK/apt.log" 2>&1 || { tail -30 "$WORK/apt.log" >&2; die "apt-get install failed"; }

# --- 2. The kernel image ------------------------------------------------------------------------
KDIR=$WORK/kernel-$KREL-$KVER
if [ ! -f "$KDIR/done" ]; then
	say "apt-get download $KPKG"
	rm -rf "$KDIR" && mkdir -p "$KDIR/deb"
	chmod 777 "$KDIR/deb"
	(cd "$KDIR/deb" && apt-get download "$KPKG" > /dev/null) || die "apt-get download $KPKG failed"
	dpkg-deb -x "$KDIR"/deb/*.deb "$KDIR/root" || die "cannot unpack $KPKG"
	touch "$KDIR/done"
fi
VMLINUZ=$KDIR/root/boot/vmlinuz-$KREL
MODDIR=$KDIR/root/lib/modules/$KREL/kernel
[ -f "$VMLINUZ" ] || die "no $VMLINUZ in $KPKG"

# --- 3. The harness module and the helper -------------------------------------------------------
BUILD=$WORK/build
rm -rf "$BUILD" && mkdir -p "$BUILD"
cp -r "$HERE/module" "$HERE/common" "$HERE/helper" "$BUILD/"
say "building the harness module against linux-headers-$KREL"
make -s -C "$BUILD/module" KDIR="/usr/src/linux-headers-$KREL" > "$BUILD/module.log" 2>&1 ||
	{ cat "$BUILD/module.log" >&2; die "module build failed"; }
MAGIC=$(tr '\0' '\n' < "$BUILD/module/buddysim_harness.ko" | sed -n 's/^vermagic=//p')
case $MAGIC in "$KREL "*) ;; *) die "module vermagic '$MAGIC' does not match $KREL" ;; esac
say "building the static helper"
gcc -static -O2 -Wall -Wextra -Werror -o "$BUILD/bsh" "$BUILD/helper/bsh.c" ||
	die "helper build failed"

# --- 4. The initramfs ---------------------------------------------------------------------------
INITRD=$BUILD/initramfs
mkdir -p "$INITRD"/{bin,dev,proc,sys,tmp,mnt,modules,traces}
cp /bin/busybox "$INITRD/bin/busybox"
cp "$HERE/initramfs/init" "$INITRD/init"
cp "$BUILD/bsh" "$INITRD/bin/bsh"
cp "$BUILD/module/buddysim_harness.ko" "$INITRD/"
cp "$HERE"/traces/*.trace "$INITRD/traces/"

# Block device and file system modules, dependencies first (from each .ko's modinfo).
declare -A SEEN=()
ORDER=()
add_module() {
	local m=$1 f d
	[ -n "${SEEN[$m]:-}" ] && return
	SEEN[$m]=1
	f=$(find "$MODDIR" \( -name "$m.ko" -o -name "${m//_/-}.ko" \) | head -n 1)
	[ -n "$f" ] || die "module $m not found in $KPKG"
	for d in $(tr '\0' '\n' < "$f" | sed -n 's/^depends=//p' | tr ',' ' '); do
		add_module "$d"
	done
	cp "$f" "$INITRD/modules/$m.ko"
	ORDER+=("$m")
}
for m in virtio_pci virtio_blk crc32c_generic ext4; do add_module "$m"; done
printf '%s\n' "${ORDER[@]}" > "$INITRD/modules/order"
(cd "$INITRD" && find . | cpio -o -H newc --quiet) > "$BUILD/initramfs.cpio" ||
	die "cpio failed"

# --- 5. Runs: one boot per trace and memory size ------------------------------------------------
if [ $# -gt 0 ]; then
	TRACES=("$@")
else
	TRACES=()
	for t in "$HERE"/traces/*.trace; do TRACES+=("$(basename "$t" .trace)"); done
fi
for t in "${TRACES[@]}"; do [ -f "$HERE/traces/$t.trace" ] || die "no trace traces/$t.trace"; done
QEMU_VERSION=$(qemu-system-x86_64 --version | head -n 1)

# Splits the data port stream into files; fails unless every file is complete and @@DONE came.
split_stream() {
	local stream=$1 out=$2
	awk -v out="$out" '
		function fail(msg) { print "split: " msg > "/dev/stderr"; bad = 1; exit 1 }
		/^@@BEGIN / {
			if (path != "") fail("@@BEGIN inside " path)
			path = $2; n = 0; file = out "/" path
			if (path !~ /^[A-Za-z0-9_.\/-]+$/ || path ~ /\.\./) fail("bad path " path)
			dir = file; sub(/\/[^\/]*$/, "", dir); system("mkdir -p \"" dir "\"")
			printf "" > file; next
		}
		/^@@END / {
			if ($2 != path) fail("@@END " $2 " for " path)
			if ($3 != n) fail(path ": " n " bytes, expected " $3)
			close(file); path = ""; next
		}
		/^@@FAIL/ { fail("guest reported: " substr($0, 8)) }
		/^@@DONE/ { if (path != "") fail("@@DONE inside " path); done = 1; next }
		path != "" { print > file; n += length($0) + 1; next }
		END { if (!bad && !done) { print "split: no @@DONE: the trace did not finish" > "/dev/stderr"; exit 1 } }
	' "$stream"
}

run_one() {
	local trace=$1 mem=$2 name="$1-${2}M" dir
	dir=$WORK/runs/$name
	rm -rf "$dir" && mkdir -p "$dir/out"
	truncate -s "$((mem * 2))M" "$dir/disk.img"
	local cmdline="console=ttyS0 loglevel=4 panic=-1 bstrace=$trace"
	local qemu=(qemu-system-x86_64 -accel tcg -m "${mem}M" -smp 1 -nographic -no-reboot
		-monitor none -nic none -kernel "$VMLINUZ" -initrd "$BUILD/initramfs.cpio"
		-append "$cmdline" -drive "file=$dir/disk.img,if=virtio,format=raw"
		-serial "file:$dir/console.log" -serial "file:$dir/data.log")
	local t0=$SECONDS
	if ! timeout "$TIMEOUT" "${qemu[@]}" < /dev/null > "$dir/qemu.log" 2>&1; then
		echo "run.sh: $name: qemu failed or timed out after ${TIMEOUT}s; console tail:" >&2
		tail -n 30 "$dir/console.log" >&2 || true
		return 1
	fi
	tr -d '\r' < "$dir/data.log" > "$dir/data.txt"
	if ! split_stream "$dir/data.txt" "$dir/out"; then
		echo "run.sh: $name: incomplete output; console tail:" >&2
		tail -n 30 "$dir/console.log" >&2
		return 1
	fi
	{
		echo "trace $trace"
		echo "memory_mib $mem"
		echo "kernel_package $KPKG $KVER"
		echo "kernel_release $KREL"
		echo "guest_version $(head -n 1 "$dir/out/guest")"
		echo "guest_cmdline $(sed -n 2p "$dir/out/guest")"
		echo "qemu $QEMU_VERSION"
		echo "qemu_command ${qemu[*]//$WORK\//}"
		echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "boot_to_poweroff_s $((SECONDS - t0))"
	} > "$dir/out/meta"
	rm "$dir/out/guest"
	rm -rf "$RESULTS/$name.tmp" && cp -r "$dir/out" "$RESULTS/$name.tmp"
	rm -rf "${RESULTS:?}/$name" && mv "$RESULTS/$name.tmp" "$RESULTS/$name"
	say "$name done in $((SECONDS - t0)) s"
}

mkdir -p "$RESULTS" "$WORK/runs"
FAILED=()
PIDS=()
NAMES=()
for trace in "${TRACES[@]}"; do
	for mem in $MEMS; do
		say "running $trace at ${mem} MiB"
		run_one "$trace" "$mem" &
		PIDS+=($!)
		NAMES+=("$trace-${mem}M")
		if [ "${#PIDS[@]}" -ge "$JOBS" ]; then
			wait "${PIDS[0]}" || FAILED+=("${NAMES[0]}")
			PIDS=("${PIDS[@]:1}")
			NAMES=("${NAMES[@]:1}")
		fi
	done
done
for i in "${!PIDS[@]}"; do wait "${PIDS[$i]}" || FAILED+=("${NAMES[$i]}"); done

[ "${#FAILED[@]}" -eq 0 ] || die "failed runs: ${FAILED[*]} (logs under $WORK/runs/)"
say "all runs done in $(($(date +%s) - START)) s; results in $RESULTS"
