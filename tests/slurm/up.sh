#!/usr/bin/env bash
# Brings up a single-node Slurm on this machine for tests/slurm.rs: Debian's slurm-wlm and munge,
# installed when missing, a slurm.conf naming this host as controller and only compute node
# (its CPUs and memory, no cgroups), munged, slurmctld and slurmd. Needs root. Exits 0 with a
# message, leaving no Slurm, where the packages cannot be installed or the daemons do not start;
# the test then skips, saying so. Idempotent: a Slurm already answering is left as it is.
set -uo pipefail

say() { echo "tests/slurm/up.sh: $*" >&2; }

if sinfo -h >/dev/null 2>&1; then
    say "Slurm already answers"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    say "not root: no Slurm (tests/slurm.rs will skip)"
    exit 0
fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get install -y -q slurm-wlm munge >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q slurm-wlm munge >/dev/null 2>&1; }; }; then
        say "cannot install slurm-wlm and munge: no Slurm (tests/slurm.rs will skip)"
        exit 0
    fi
fi

host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512))
state=/var/lib/buddysim-slurm
mkdir -p /etc/slurm "$state/ctld" "$state/d" /run/munge /var/log/munge /var/lib/munge
chown -R munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge 2>/dev/null
[ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
cat >/etc/slurm/slurm.conf <<CONF
ClusterName=buddysim
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
pgrep -x munged >/dev/null || runuser -u munge -- munged || { say "munged does not start: no Slurm"; exit 0; }
pgrep -x slurmctld >/dev/null || slurmctld || { say "slurmctld does not start: no Slurm"; exit 0; }
pgrep -x slurmd >/dev/null || slurmd || { say "slurmd does not start: no Slurm"; exit 0; }
for _ in $(seq 30); do
    if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
        say "Slurm is up: node $host, $cpus CPUs"
        exit 0
    fi
    sleep 1
done
say "the node did not come up idle (see $state/*.log): tests/slurm.rs will skip"
exit 0
