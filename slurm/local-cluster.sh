#!/usr/bin/env bash
# A real single-node Slurm cluster on loopback: munged, slurmctld and slurmd started by hand,
# all state in one folder, nothing under /etc/slurm. For the end-to-end tests and for trying
# job scripts on a workstation. Needs root (slurmd runs jobs as their users) and the packages
# munge slurmctld slurmd slurm-client: 'start' installs whichever are missing with apt-get
# (package scripts are kept from starting system daemons); setup/setup.sh --for-tests does too.
#
#   slurm/local-cluster.sh start     start (or find running) and wait until the node is idle
#   slurm/local-cluster.sh stop      cancel jobs, stop the daemons
#   slurm/local-cluster.sh status    sinfo and squeue
#   slurm/local-cluster.sh env       print  export SLURM_CONF=...  for client commands
#
# Folder: $TWOBP_SLURM_DIR, default ${TMPDIR:-/tmp}/twobp-slurm. CPUs: this machine's.
#
# Timing settings, for short tests: cred_expire=5 (Slurm refuses 3) and scheduler passes
# every 2 s let a requeued job start again ~6 s after 'scontrol requeue' (cred_expire=10 with the
# default passes: 15-40 s; the default 120: ~2 min). batch_sched_delay=0 starts a batch job ~1 s
# after sbatch. Signals and time limits stay on slurmctld's fixed 30 s timer.
set -euo pipefail

D=${TWOBP_SLURM_DIR:-${TMPDIR:-/tmp}/twobp-slurm}
HOST=$(hostname -s)
export SLURM_CONF=$D/etc/slurm.conf

die() { printf 'local-cluster: ERROR: %s\n' "$*" >&2; exit 1; }
say() { printf 'local-cluster: %s\n' "$*"; }

alive() { # pid file -> running (zombies do not count: PID 1 may reap them late)
  local f=$1 pid
  [ -s "$f" ] || return 1
  pid=$(cat "$f" 2>/dev/null) || return 1
  [ -r "/proc/$pid/status" ] || return 1
  ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status"
}

write_config() { # $1: file
  local cpus; cpus=$(nproc)
  cat > "$1" <<CONF
ClusterName=twobplocal
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=${TWOBP_SLURMCTLD_PORT:-6817}
SlurmdPort=${TWOBP_SLURMD_PORT:-6818}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/run/munge.sock,cred_expire=5
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$D/spool/ctld
SlurmdSpoolDir=$D/spool/%n
TmpFS=$D/tmp/%n
SlurmctldPidFile=$D/run/slurmctld.pid
SlurmdPidFile=$D/run/slurmd-%n.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$D/log/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_interval=2,bf_interval=2
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
ReturnToService=2
KillWait=5
MinJobAge=300
InactiveLimit=0
NodeName=$HOST NodeHostname=$HOST NodeAddr=127.0.0.1 Port=${TWOBP_SLURMD_PORT:-6818} CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
}

PACKAGES="munge slurmctld slurmd slurm-client"

install_packages() {
  command -v apt-get >/dev/null || die "munge/Slurm missing and no apt-get: install $PACKAGES with your package manager"
  say "installing $PACKAGES"
  local guard=''
  if [ ! -e /usr/sbin/policy-rc.d ]; then # keep the packages' scripts from starting system daemons
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; guard=1
  fi
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $PACKAGES >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $PACKAGES >/dev/null; } ||
    { [ -z "$guard" ] || rm -f /usr/sbin/policy-rc.d; die "apt-get install $PACKAGES failed"; }
  [ -z "$guard" ] || rm -f /usr/sbin/policy-rc.d
}

start() {
  [ "$(id -u)" = 0 ] || die "needs root: slurmd must be able to run jobs as their users"
  local b missing=''
  for b in munged mungekey slurmctld slurmd sinfo sbatch srun scontrol; do command -v "$b" >/dev/null || missing=1; done
  [ -z "$missing" ] || install_packages
  for b in munged mungekey slurmctld slurmd sinfo sbatch srun scontrol; do
    command -v "$b" >/dev/null || die "$b not found: apt-get install $PACKAGES (or: setup/setup.sh --for-tests)"
  done
  if alive "$D/run/slurmctld.pid" && alive "$D/run/slurmd-$HOST.pid" && alive "$D/run/munged.pid" && ! config_changed; then
    say "already running ($D)"
  else
    stop quiet || true
    mkdir -p "$D"/{etc,run,log,munge,spool/ctld,spool/"$HOST",tmp/"$HOST"}
    chmod 755 "$D" "$D/run"; chmod 700 "$D/munge"; chmod 1777 "$D/tmp/$HOST"
    [ -s "$D/munge/munge.key" ] || mungekey -c -k "$D/munge/munge.key"
    chmod 600 "$D/munge/munge.key"
    write_config "$D/etc/slurm.conf"
    munged --key-file="$D/munge/munge.key" --socket="$D/run/munge.sock" --pid-file="$D/run/munged.pid" \
           --log-file="$D/log/munged.log" --seed-file="$D/munge/munged.seed"
    slurmctld -f "$SLURM_CONF"
    slurmd -f "$SLURM_CONF" -N "$HOST"
  fi
  local i
  for i in $(seq 1 300); do
    state=$(sinfo -h -o %T 2>/dev/null | head -n1 || true)
    case "$state" in idle|mixed|allocated) say "node $HOST is $state; export SLURM_CONF=$SLURM_CONF"; return 0;; esac
    sleep 0.1
  done
  tail -n 20 "$D/log/slurmctld.log" "$D/log/slurmd-$HOST.log" >&2 || true
  die "the node did not become idle in 30 s (state: ${state:-none}); logs above"
}

config_changed() { # running with settings older than this script's, and idle: restart it
  local now; now=$(mktemp)
  write_config "$now"
  if cmp -s "$now" "$D/etc/slurm.conf"; then rm -f "$now"; return 1; fi
  rm -f "$now"
  if [ -n "$(squeue -h 2>/dev/null)" ]; then
    say "running with older settings than this script's, but jobs are queued: keeping it (stop and start it later)"
    return 1
  fi
  say "running with older settings than this script's: restarting it"
  return 0
}

stop() {
  local quiet=${1:-}
  if [ -s "$D/run/slurmctld.pid" ] && alive "$D/run/slurmctld.pid"; then
    scancel --full -u root >/dev/null 2>&1 || true
    for _ in $(seq 1 50); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.1; done
  fi
  for f in "$D"/run/slurmd-*.pid "$D/run/slurmctld.pid" "$D/run/munged.pid"; do
    [ -s "$f" ] || continue
    if alive "$f"; then kill "$(cat "$f")" 2>/dev/null || true; fi
  done
  for _ in $(seq 1 50); do
    local any=0
    for f in "$D"/run/*.pid; do [ -e "$f" ] && alive "$f" && any=1; done
    [ $any = 0 ] && break; sleep 0.1
  done
  rm -f "$D"/run/*.pid
  [ -n "$quiet" ] || say "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) sinfo; squeue ;;
  env) echo "export SLURM_CONF=$SLURM_CONF" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
