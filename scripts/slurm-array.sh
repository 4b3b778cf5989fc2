#!/usr/bin/env bash
# Runs docs/scaling-out.md's Slurm job array for real, on this one machine: starts munge and a
# single-node Slurm (slurmctld + slurmd, Debian's slurm-wlm) with a throw-away config, submits
# the documented array (flush, 4 shards), waits, merges, runs the same study in one process and
# byte-compares the two folders. Everything it starts is stopped and removed on exit.
#   sudo scripts/slurm-array.sh [work-dir]      (root: slurmd must run jobs as the submitting user)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
for b in slurmctld slurmd sbatch munged scontrol; do
  command -v "$b" >/dev/null || { echo "slurm-array: needs $b (apt-get install slurm-wlm munge)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "slurm-array: needs root (it starts munged, slurmctld and slurmd)" >&2; exit 2; }
WORK=${1:-$(mktemp -d /tmp/nfct-slurm.XXXXXX)}
mkdir -p "$WORK"/{state,spool,log,munge}
HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024))
export SLURM_CONF="$WORK/slurm.conf"
cat >"$SLURM_CONF" <<CONF
ClusterName=nfctsim
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$WORK/munge/munge.socket.2
CredType=cred/munge
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=nfct Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
KEY=/etc/munge/munge.key
[ -s "$KEY" ] || { dd if=/dev/urandom bs=1 count=1024 of="$KEY" 2>/dev/null; chmod 400 "$KEY"; }
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
munged -F --force --socket="$WORK/munge/munge.socket.2" --pid-file="$WORK/munge/munged.pid" \
  --log-file="$WORK/log/munged.log" --seed-file="$WORK/munge/munge.seed" &>"$WORK/log/munged.out" &
pids+=($!)
sleep 1
slurmctld -D -f "$SLURM_CONF" &>"$WORK/log/slurmctld.out" &
pids+=($!)
sleep 2
slurmd -D -f "$SLURM_CONF" &>"$WORK/log/slurmd.out" &
pids+=($!)
for _ in $(seq 60); do
  scontrol show node "$HOST" 2>/dev/null | grep -q 'State=IDLE' && break
  sleep 1
done
scontrol show node "$HOST" | grep -o 'State=[A-Z+]*'

# The array of docs/scaling-out.md, at the size this machine runs in a few minutes.
cat >"$WORK/flush-array.sh" <<JOB
#!/bin/sh
#SBATCH --array=1-4
#SBATCH --cpus-per-task=1
#SBATCH --output=$WORK/log/array-%a.out
cd $REPO
npx nfct-sim run flush --quick --seed 1 --runs 4 --jobs 1 --quiet \\
  --shard \${SLURM_ARRAY_TASK_ID}/4 --out $WORK/shards/flush-\${SLURM_ARRAY_TASK_ID}
JOB
start=$(date +%s)
sbatch --wait "$WORK/flush-array.sh"
echo "array finished in $(($(date +%s) - start)) s"
npx nfct-sim merge "$WORK"/shards/flush-* --out "$WORK/merged" >/dev/null
npx nfct-sim run flush --quick --seed 1 --runs 4 --jobs 2 --quiet --out "$WORK/single" >/dev/null
status=0
for f in results.csv summary.csv series.csv summary.md; do
  if cmp "$WORK/merged/$f" "$WORK/single/$f"; then echo "identical: $f"; else status=1; fi
done
[ $status = 0 ] && echo "slurm-array: merged shards are byte-identical to the single-process run ($WORK)"
exit $status
