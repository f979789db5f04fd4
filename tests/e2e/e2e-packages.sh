#!/bin/sh
# Installed on every e2e node: the state of the packages [packages] added, in one line
# for the harness (run by the master locally and over ssh on the workers, as pi, so
# without systemctl: chronyd's cgroup names the unit that runs it). Waits up to a
# minute for chronyd, which systemd starts once pimint-packages.service is done.
audit=$(dpkg --audit | wc -l)
[ "$audit" = 0 ] && audit=none
tries=0
until pid=$(pidof chronyd) || [ "$tries" -ge 30 ]; do
    tries=$((tries + 1))
    sleep 2
done
pid=${pid%% *}
unit=none user=none
if [ -n "$pid" ]; then
    unit=$(sed -n 's|.*/system.slice/||p' "/proc/$pid/cgroup" | head -n 1)
    user=$(ps -o user= -p "$pid")
fi
echo "audit=$audit hello=$(hello) chronyd=$unit user=$user"
