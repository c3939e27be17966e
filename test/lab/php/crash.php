<?php
// Kills its own FPM worker mid-request: crash.php?sig=SEGV (default) or sig=KILL (looks like the OOM killer).
// Numeric signals: the pcntl extension (SIG* constants) is not loaded in FPM on Debian, posix is.
$signals = ['SEGV' => 11, 'KILL' => 9, 'BUS' => 7, 'ABRT' => 6];
$name = isset($_GET['sig']) ? strtoupper((string) $_GET['sig']) : 'SEGV';
$sig = $signals[$name] ?? 11;
if (!function_exists('posix_kill')) {
    http_response_code(500);
    echo "posix extension missing\n";
    exit;
}
posix_kill(getmypid(), $sig);
// Not reached for SEGV/KILL.
usleep(500000);
echo "still alive after SIG{$name}\n";
