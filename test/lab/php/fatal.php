<?php
// PHP fatal error (uncaught Error) -> 500 with "PHP message: PHP Fatal error:  ..." on FastCGI stderr.
header('Content-Type: text/plain');
lab_this_function_does_not_exist();
echo "not reached\n";
