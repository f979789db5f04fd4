# shellcheck shell=bash
# Sourced by the e2e cases: a private work directory whose serial logs survive a failure,
# a VDE switch on a unix socket (one emulated LAN: no packet reaches the host's network),
# nodes booted from pimint's output the way the Pi's firmware would (kernel and initrd
# from each image's boot partition), bounded waits, and the check of cpi's result.
# shellcheck disable=SC2034 # (these are for the cases that source this file)
src=${PIMINT_SOURCE_ROOT:?}
pimint=${PIMINT_EXE:?}
make_image=${PIMINT_MAKE_TEST_IMAGE:?}
boot_timeout=${PIMINT_E2E_TIMEOUT:-1200}

skip() { echo "SKIP: $*"; exit 77; }
stamp() { echo "e2e: [$((SECONDS - t0)) s] $*"; }
fail() { echo "e2e: FAIL: $*"; exit 1; }

# e2e_setup QEMU: skips (exit 77) when a tool is missing; makes $work.
e2e_setup() {
    local tool
    for tool in "$1" vde_switch mcopy sfdisk; do
        command -v "$tool" >/dev/null || skip "$tool is missing (tools/install-deps installs it)"
    done
    work=$(mktemp -d /tmp/pimint-e2e.XXXXXX)
    pids=()
    passed=0
    t0=$SECONDS
    trap e2e_finish EXIT
}

e2e_finish() {
    local pid log
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "$passed" = 1 ]; then
        rm -rf "$work"
        return
    fi
    for log in "$work"/*.serial; do
        [ -f "$log" ] || continue
        echo "---- last lines of $log"
        tail -n 40 "$log"
    done
    echo "e2e: serial logs kept in $work"
}

# node NAME FIELD: a field of a node's entry in the cluster's manifest.
node() {
    python3 -c 'import json, sys
print([n for n in json.load(open(sys.argv[1]))["nodes"] if n["hostname"] == sys.argv[2]][0][sys.argv[3]])' \
        "$work/out/manifest.json" "$1" "$2"
}

# e2e_cluster_recipes NODE-RECIPE: $work/cluster.toml makes every node from NODE-RECIPE;
# the master's recipe ($work/master.toml) adds the harness's first-boot job, e2e-cpi.sh.
e2e_cluster_recipes() {
    cp "$src/tests/e2e/e2e-cpi.sh" "$work/"
    cat >"$work/cluster.toml" <<TOML
include = ["$1"]
[cluster]
master_recipe = "master.toml"
TOML
    cat >"$work/master.toml" <<TOML
include = ["$1"]
[[files]]
path = "/usr/local/sbin/e2e-cpi"
source = "e2e-cpi.sh"
mode = "0755"
[firstboot]
# Detached: the first-boot service holds back user logins until it ends, and the job
# needs pi's ssh logins (to the master too).
commands = ["systemd-run --no-block --unit=e2e-cpi /usr/local/sbin/e2e-cpi"]
TOML
}

e2e_start_lan() {
    vde_switch -s "$work/switch" -d -p "$work/switch.pid" >/dev/null
    for _ in $(seq 50); do [ -s "$work/switch.pid" ] && break; sleep 0.1; done
    pids+=("$(cat "$work/switch.pid")")
}

# Several emulated CPUs share the host's cores: systemd's and udev's default time-outs
# (90 s for a device to appear) are made for real hardware.
slow_machine="systemd.default_device_timeout_sec=900 systemd.default_timeout_start_sec=900 udev.event_timeout=900"

# e2e_boot NAME MAC-SUFFIX QEMU [MACHINE OPTIONS...]: boots a node of $work/out on the
# LAN, from $work/NAME.img when the case made one, else from its overlay. Kernel and
# initrd come from the boot partition (an overlay's from its stage: the nodes' own steps
# leave them as they are).
e2e_boot() {
    local name=$1 mac=$2 qemu=$3
    shift 3
    local img=$work/out/$name.qcow2 format=qcow2 boot off
    boot=$work/out/$(node "$name" backing)
    if [ -f "$work/$name.img" ]; then
        img=$work/$name.img format=raw boot=$work/$name.img
    fi
    off=$(sfdisk -d "$boot" | awk -F'[=,]' '/start=/ { gsub(/ /, "", $2); print $2 * 512; exit }')
    mcopy -n -i "$boot@@$off" ::vmlinuz "$work/$name.vmlinuz"
    mcopy -n -i "$boot@@$off" ::initrd.img "$work/$name.initrd"
    "$qemu" "$@" -smp 1 -display none -monitor none -no-reboot -serial "file:$work/$name.serial" \
        -kernel "$work/$name.vmlinuz" -initrd "$work/$name.initrd" \
        -append "root=/dev/vda2 rw rootwait console=ttyAMA0 net.ifnames=0 $slow_machine" \
        -drive "if=none,file=$img,format=$format,id=hd" -device virtio-blk-device,drive=hd \
        -netdev "vde,id=lan,sock=$work/switch" -device "virtio-net-device,netdev=lan,mac=52:54:00:12:34:$mac" &
    pids+=($!)
}

# e2e_wait_for_master MASTER-PID WORKER...: the master powers itself off when its job
# is done; meanwhile each worker's login prompt is timed.
e2e_wait_for_master() {
    local master_pid=$1 vm started=$SECONDS deadline=$((SECONDS + boot_timeout))
    shift
    declare -A up
    while kill -0 "$master_pid" 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || fail "the master did not finish within $boot_timeout s"
        for vm in "$@"; do
            if [ -z "${up[$vm]:-}" ] && grep -aqs "$vm login:" "$work/$vm.serial"; then
                up[$vm]=$((SECONDS - started))
                stamp "$vm booted to its login prompt in ${up[$vm]} s"
            fi
        done
        sleep 2
    done
    stamp "master powered off"
    # A report may share its line with a login prompt that getty printed at the same
    # moment ("master login: E2E: ..."), so reports are found anywhere in a line.
    grep -ao 'E2E.*' "$work/master.serial" || true
}

# The master's report of cpi: mpiexec exited 0, pi to 1e-8, ranks on >= 3 hosts.
e2e_check_cpi() {
    local out error hosts
    out=$(grep -ao 'E2E-OUT: .*' "$work/master.serial" | sed 's/^E2E-OUT: //' | tr -d '\r')
    grep -aq 'E2E: mpiexec exit 0' "$work/master.serial" || fail "mpiexec did not exit 0"
    error=$(sed -n 's/.*Error is \([0-9.eE+-]*\).*/\1/p' <<<"$out" | head -n 1)
    [ -n "$error" ] || fail "cpi printed no result"
    python3 -c "import sys; sys.exit(0 if abs(float(sys.argv[1])) < 1e-8 else 1)" "$error" ||
        fail "cpi's error $error is not below 1e-8"
    hosts=$(sed -n 's/^Process [0-9]* of 6 is on \(.*\)$/\1/p' <<<"$out" | sort -u)
    echo "e2e: ranks ran on: $(echo $hosts)"
    [ "$(wc -l <<<"$hosts")" -ge 3 ] || fail "fewer than 3 distinct hosts"
    grep -a 'pi is approximately' <<<"$out"
}
