<?php
// Large response headers: bigheader.php?kb=N sends N Set-Cookie headers of ~1 KB each.
$kb = isset($_GET['kb']) ? (int) $_GET['kb'] : 8;
for ($i = 0; $i < $kb; $i++) {
    header('Set-Cookie: lab_big_' . $i . '=' . str_repeat('x', 1000) . '; Path=/; HttpOnly', false);
}
header('Content-Type: text/plain');
echo "sent {$kb} KB of cookies\n";
