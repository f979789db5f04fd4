#!/bin/sh
# Installed on every e2e node: the state of the packages [packages] added, in one line
# for the harness (run by the master locally and over ssh on the workers).
audit=$(dpkg --audit | wc -l)
[ "$audit" = 0 ] && audit=none
echo "audit=$audit hello=$(hello) chrony=$(systemctl is-active chrony)" \
    "user=$(ps -o user= -C chronyd | sort -u | tr '\n' ' ' | sed 's/ $//')"
