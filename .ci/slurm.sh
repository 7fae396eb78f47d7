#!/usr/bin/env bash
# A one-node Slurm on this machine (slurmctld + slurmd + munge) for Petri's Slurm tests.
#   .ci/slurm.sh up STATE     writes STATE/slurm.conf, starts munged, slurmctld and slurmd
#   .ci/slurm.sh down STATE   stops what `up` started (by recorded PIDs)
# Then: export SLURM_CONF=STATE/slurm.conf. Ports: 127.0.0.1:16817 (ctld), 16818 (slurmd).
set -euo pipefail
cmd=${1:?up|down}
state=$(realpath -m "${2:?state directory}")

wait_for() { # wait_for SECONDS COMMAND...
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

stop_pid() {
  local file=$1
  [[ -f $file ]] || return 0
  local pid; pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait_for 10 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

up() {
  command -v slurmctld >/dev/null && command -v munged >/dev/null \
    || { echo "slurm.sh: slurm-wlm and munge are not installed (apt-get install slurm-wlm munge)" >&2; exit 1; }
  mkdir -p "$state"/{ctld,spool,munge,log}
  chmod 700 "$state/munge"
  local host mem cpus
  host=$(hostname -s)
  # More CPUs than the machine has (config_overrides): test jobs mostly sleep, and several
  # tests run at once must not queue behind each other.
  cpus=$(( $(nproc) > 8 ? $(nproc) : 8 ))
  mem=$(awk '/MemTotal/ {print int($2/1024) - 1024}' /proc/meminfo)
  # The machine's own munge key when there is one; otherwise a key for this state dir alone.
  if [[ ! -s $state/munge/munge.key ]]; then
    if [[ -s /etc/munge/munge.key ]]; then cp /etc/munge/munge.key "$state/munge/munge.key"
    else dd if=/dev/urandom of="$state/munge/munge.key" bs=1024 count=1 status=none; fi
    chmod 400 "$state/munge/munge.key"
  fi
  if ! [[ -S $state/munge/socket ]] || ! MUNGE_SOCKET=$state/munge/socket munge -n -S "$state/munge/socket" >/dev/null 2>&1; then
    munged --force --key-file="$state/munge/munge.key" --socket="$state/munge/socket" \
      --pid-file="$state/munge/munged.pid" --log-file="$state/log/munged.log" \
      --seed-file="$state/munge/seed"
  fi
  cat >"$state/slurm.conf" <<CONF
ClusterName=petri
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$state/munge/socket
CredType=cred/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=1
JobAcctGatherParams=OverMemoryKill
MpiDefault=none
ReturnToService=2
MinJobAge=600
DefMemPerCPU=256
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
KillWait=5
InactiveLimit=0
SlurmdParameters=config_overrides
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
# Takes jobs but never starts them: jobs there pend with reason PartitionDown (tests).
PartitionName=closed Nodes=ALL MaxTime=INFINITE State=DOWN
CONF
  export SLURM_CONF=$state/slurm.conf
  slurmctld -f "$SLURM_CONF"
  wait_for 30 scontrol ping || { cat "$state/log/slurmctld.log" >&2; exit 1; }
  slurmd -f "$SLURM_CONF"
  wait_for 60 bash -c "sinfo -h -o %T | grep -Eq '^(idle|mixed|allocated)'" \
    || { sinfo >&2; tail -n 30 "$state/log/slurmd.log" >&2; exit 1; }
  echo "slurm up: SLURM_CONF=$SLURM_CONF ($(sinfo -h -o '%N %c CPUs %m MB %T'))"
}

down() {
  export SLURM_CONF=$state/slurm.conf
  stop_pid "$state/slurmd.pid"
  stop_pid "$state/slurmctld.pid"
  stop_pid "$state/munge/munged.pid"
  echo "slurm down"
}

"$cmd"
