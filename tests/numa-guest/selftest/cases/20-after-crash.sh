# Harness self-test: runs after the crashing case, in a fresh boot.
echo "CASE 20-after-crash PASS"
