<?php
// CPU busy loop for busy.php?s=N wall seconds. The pool sets max_execution_time high
// (php_admin_value) so request_terminate_timeout fires first.
header('Content-Type: text/plain');
$s = isset($_GET['s']) ? (float) $_GET['s'] : 1.0;
$end = microtime(true) + $s;
$n = 0;
while (microtime(true) < $end) {
    $n++;
}
echo "spun {$n} times\n";
