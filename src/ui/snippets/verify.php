<?php
// A bookhook webhook receiver in PHP 8 (receiver.php):
//   composer require standard-webhooks/standard-webhooks
// Run it with: php -S 0.0.0.0:8000 receiver.php
require __DIR__ . '/vendor/autoload.php';

const SECRET = '{{SECRET}}';

// Timekit's x-timekit-signature: hex HMAC-SHA256 of the raw body, keyed with the whole secret.
function timekit_signature_ok(string $body, string $signature): bool
{
    return hash_equals(hash_hmac('sha256', $body, SECRET), $signature);
}

$body = file_get_contents('php://input');
$headers = array_change_key_case(getallheaders(), CASE_LOWER);
try {
    // Checks webhook-signature over webhook-id, webhook-timestamp (at most 5 minutes old) and
    // the raw body, then decodes the body.
    $booking = (new \StandardWebhooks\Webhook(SECRET))->verify($body, $headers);
} catch (\Exception $e) {
    http_response_code(400);
    exit('invalid webhook-signature');
}
if (!timekit_signature_ok($body, $headers['x-timekit-signature'] ?? '')) {
    http_response_code(400);
    exit('invalid x-timekit-signature');
}
// webhook-id is the same on every retry of a message: handle each id once.
error_log("{$headers['webhook-id']}: booking {$booking['id']} is {$booking['state']}");
http_response_code(204);
