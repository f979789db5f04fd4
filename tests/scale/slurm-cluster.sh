# A private single-machine Slurm for the scale suite and tools/bench, sourced, not run.
# munged, slurmctld and slurmd are Debian's, started as this user's own processes in
# one state directory, with their own sockets, ports, logs and spool: nothing of the
# machine's configuration is read or changed, and slurm_stop ends them all.
#   slurm_install_if_missing   apt-get install munge and Slurm when a command is missing
#   slurm_start DIR CPUS MEM_MB   start them, declaring the node with CPUS and MEM_MB
#   slurm_stop                 stop them (call it from an EXIT trap)
#   slurm_wait_done JOB SECONDS   wait until no task of JOB is pending or running
#   slurm_state JOB            the state of JOB (or of one array task, JOB_TASK)
#   readme_block README MARKER the indented block after README's <!-- MARKER: line, so
#                              the suite runs what README shows, as it shows it

slurm_packages=(munge slurmctld slurmd slurm-client)

slurm_install_if_missing() {
    local missing=0 cmd
    for cmd in munged slurmctld slurmd sbatch scontrol scancel squeue; do
        command -v "$cmd" >/dev/null || missing=1
    done
    [ "$missing" = 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "slurm: munge and Slurm are missing; install them with:" \
            "sudo apt-get install ${slurm_packages[*]}" >&2
        return 1
    fi
    echo "slurm: installing ${slurm_packages[*]} (Debian's packages)" >&2
    # Installing the packages must not start the machine's own daemons: they would
    # read /etc/slurm, which this harness never uses.
    local rc=0 own_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
        --no-install-recommends \
        "${slurm_packages[@]}" >/dev/null || rc=$?
    [ "$own_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
    return "$rc"
}

# A TCP port nobody listens on, from the kernel.
slurm_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

slurm_pids=()

slurm_start() {
    local dir=$1 cpus=$2 mem_mb=$3 host
    host=$(hostname -s)
    mkdir -p "$dir/ctld" "$dir/spool"
    chmod 0700 "$dir"
    slurm_dir=$dir
    export SLURM_CONF=$dir/slurm.conf

    # munge: a fresh key for this cluster only, and its own socket.
    head -c 1024 /dev/urandom >"$dir/munge.key"
    chmod 0400 "$dir/munge.key"
    munged --force --socket="$dir/munge.socket" --key-file="$dir/munge.key" \
        --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munged.seed"
    slurm_pids+=("$(cat "$dir/munged.pid")")

    # More CPUs than the machine has may be declared (config_overrides): the shards then
    # really run side by side, as on a cluster with one node per shard.
    cat >"$SLURM_CONF" <<CONF
ClusterName=pimint-scale
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(slurm_free_port)
SlurmdPort=$(slurm_free_port)
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
AuthInfo=socket=$dir/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
ReturnToService=2
JobRequeue=1
MinJobAge=3600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=class Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    slurmctld -D -i -f "$SLURM_CONF" >"$dir/slurmctld.out" 2>&1 &
    slurm_pids+=($!)
    slurmd -D -f "$SLURM_CONF" -N "$host" >"$dir/slurmd.out" 2>&1 &
    slurm_pids+=($!)

    local waited=0
    until sinfo -h -N -o '%T' 2>/dev/null | grep -qx idle; do
        if [ "$waited" -ge 60 ]; then
            echo "slurm: the node did not come up in 60 s; logs in $dir" >&2
            tail -n 20 "$dir"/slurmctld.log "$dir"/slurmd.log "$dir"/*.out >&2 2>/dev/null || true
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    echo "slurm: $(sinfo -V) up on $host with $cpus CPUs and $mem_mb MB ($(munged -V 2>&1 | head -n 1))" >&2
}

slurm_stop() {
    local pid
    for pid in "${slurm_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${slurm_pids[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -9 "$pid" 2>/dev/null || true
    done
    slurm_pids=()
}

slurm_state() {
    scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -n 1 | cut -d= -f2
}

slurm_wait_done() {
    local job=$1 limit=$2 waited=0
    while squeue -h -j "$job" -o '%i' 2>/dev/null | grep -q .; do
        if [ "$waited" -ge "$limit" ]; then
            echo "slurm: job $job still queued or running after $limit s" >&2
            squeue -j "$job" >&2 || true
            return 1
        fi
        sleep 2
        waited=$((waited + 2))
    done
}

readme_block() {
    awk -v marker="<!-- $2:" 'index($0, marker) == 1 {on = 1; next}
        on && /^    / {print substr($0, 5); next}
        on && NF {exit}
        on {print}' "$1"
}
