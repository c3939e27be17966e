<?php
// Normal fast request.
header('Content-Type: text/plain');
echo "ok\n";
