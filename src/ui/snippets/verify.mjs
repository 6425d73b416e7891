// A bookhook webhook receiver in Node.js 18+ (save as receiver.mjs):
//   npm install standardwebhooks
// Run it with: PORT=8000 node receiver.mjs
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

const SECRET = "{{SECRET}}";
const webhook = new Webhook(SECRET);

// Timekit's x-timekit-signature: hex HMAC-SHA256 of the raw body, keyed with the whole secret.
function timekitSignatureOk(body, signature) {
  const expected = Buffer.from(createHmac("sha256", SECRET).update(body).digest("hex"));
  const given = Buffer.from(String(signature ?? ""));
  return expected.length === given.length && timingSafeEqual(expected, given);
}

createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    let booking;
    try {
      // Checks webhook-signature over webhook-id, webhook-timestamp (at most 5 minutes old)
      // and the raw body, then parses the body.
      booking = webhook.verify(body.toString("utf8"), req.headers);
    } catch {
      res.writeHead(400).end("invalid webhook-signature");
      return;
    }
    if (!timekitSignatureOk(body, req.headers["x-timekit-signature"])) {
      res.writeHead(400).end("invalid x-timekit-signature");
      return;
    }
    // webhook-id is the same on every retry of a message: handle each id once.
    console.log(`${req.headers["webhook-id"]}: booking ${booking.id} is ${booking.state}`);
    res.writeHead(204).end();
  });
}).listen(Number(process.env.PORT ?? 8000));
