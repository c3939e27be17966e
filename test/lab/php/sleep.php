<?php
// Wall-clock wait (like a slow DB/HTTP call): sleep.php?s=N (seconds, may be fractional).
// Does not burn CPU, so max_execution_time (CPU time on NTS Linux) never fires.
header('Content-Type: text/plain');
$s = isset($_GET['s']) ? (float) $_GET['s'] : 1.0;
$end = microtime(true) + $s;
while (($left = $end - microtime(true)) > 0) {
    usleep((int) min($left * 1e6, 200000));
}
echo "slept {$s}s\n";
