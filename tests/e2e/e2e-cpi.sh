#!/bin/sh
# Installed on the e2e master and started at its first boot: waits until both workers
# accept the cluster key over ssh, runs the classic cpi across the three nodes as pi
# with no input (a prompt fails instead of hanging), reports the workers' root filesystem
# sizes, each node's packages (where the case installed e2e-packages) and cloud-init's
# state (where the image runs cloud-init), and the result on the serial console, and
# powers the master off. Lines for the harness start with "E2E".
console=/dev/ttyAMA0
report() { echo "E2E: $*" >"$console"; }
report "master up after $(cut -d' ' -f1 /proc/uptime) s"
# The packages pimint unpacked are configured by pimint-packages.service, which ends
# before sshd and logins start (so the workers' are done once they accept ssh).
waited=0
while [ -e /var/lib/pimint/packages/configure ] && [ "$waited" -lt 900 ]; do
    sleep 5
    waited=$((waited + 5))
done
report "packages configured after $(cut -d' ' -f1 /proc/uptime) s"
# Failed units help a failing run, with their last words; WiFi's fails here by design (no
# wireless device).
systemctl --failed --no-legend --plain | while read -r unit _; do
    echo "E2E-DIAG: failed: $unit"
    journalctl -b -u "$unit" -n 4 --no-pager -o cat 2>&1 | sed "s/^/E2E-DIAG: $unit: /"
done >"$console" 2>&1
for host in worker001 worker002; do
    tries=0
    until su pi -c "ssh -o BatchMode=yes -o ConnectTimeout=5 $host true" </dev/null >/dev/null 2>&1; do
        tries=$((tries + 1))
        if [ "$tries" -ge 120 ]; then
            report "FAIL: $host never accepted the cluster key"
            # What ssh saw, and whether the LAN knows the host, for the harness's log tail.
            su pi -c "ssh -o BatchMode=yes -o ConnectTimeout=5 $host true" </dev/null 2>&1 |
                sed 's/^/E2E-DIAG: ssh: /' >"$console"
            ip neigh 2>&1 | sed 's/^/E2E-DIAG: neighbour: /' >"$console"
            poweroff
            exit 1
        fi
        sleep 5
    done
    report "$host reachable"
done
# on HOST COMMAND: COMMAND as pi on HOST (the master too, as the workers see it).
on() {
    if [ "$1" = master ]; then
        su pi -c "$2" </dev/null 2>&1
    else
        su pi -c "ssh -o BatchMode=yes $1 '$2'" </dev/null 2>&1
    fi
}
for host in master worker001 worker002; do
    if [ -x /usr/local/bin/e2e-packages ]; then
        report "$host packages: $(on "$host" /usr/local/bin/e2e-packages)"
    fi
    # cloud-init's state once it has finished (--wait, bounded; the dots it prints while
    # waiting dropped), its instance and the host name the node ended up with.
    if [ -x /usr/bin/cloud-init ]; then
        report "$host cloud-init: $(on "$host" 'timeout 600 cloud-init status --wait >/tmp/cloud-init-status; echo exit=$? $(tail -n 1 /tmp/cloud-init-status | tr -d .) instance=$(cat /var/lib/cloud/data/instance-id) hostname=$(uname -n)')"
    fi
done
report "running cpi"
su - pi -c 'timeout 900 /home/pi/mpich2-install/bin/mpiexec -f /home/pi/machinefile -ppn 2 -n 6 /home/pi/mpich2-build/examples/cpi' \
    </dev/null >/tmp/cpi.out 2>&1
status=$?
sed 's/^/E2E-OUT: /' /tmp/cpi.out >"$console"
report "mpiexec exit $status"
# The workers' root sizes: where a case published worker002 with --shrink, its root
# should have grown to the whole disk.
for host in worker001 worker002; do
    size=$(su pi -c "ssh -o BatchMode=yes $host df -B1 --output=size /" </dev/null | tail -n 1)
    report "$host root filesystem bytes: $size"
done
# Where the master's boot spent its time, for whoever makes first boot faster.
systemd-analyze blame --no-pager 2>&1 | head -n 8 | sed 's/^ */E2E-DIAG: slowest: /' >"$console"
poweroff
