# Harness self-test: the guest kernel panics in this case (sysrq 'c'). run-guest.sh must report
# it as a crash, retry it once, report it failed, and run the next case in a fresh boot.
echo c > /proc/sysrq-trigger
sleep 5
echo "CASE 10-crash PASS the kernel did not crash"
