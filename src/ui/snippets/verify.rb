# A bookhook webhook receiver in Ruby 3.3+ with Sinatra (receiver.rb):
#   gem install standardwebhooks sinatra rackup puma
# Run it with: ruby receiver.rb -p 8000
require "openssl"
require "sinatra"
require "standardwebhooks"

SECRET = "{{SECRET}}"
WEBHOOK = StandardWebhooks::Webhook.new(SECRET)

# Timekit's x-timekit-signature: hex HMAC-SHA256 of the raw body, keyed with the whole secret.
def timekit_signature_ok?(body, signature)
  expected = OpenSSL::HMAC.hexdigest("SHA256", SECRET, body)
  Rack::Utils.secure_compare(expected, signature.to_s)
end

post "/webhooks/bookhook" do
  body = request.body.read
  headers = {
    "webhook-id" => request.env["HTTP_WEBHOOK_ID"],
    "webhook-timestamp" => request.env["HTTP_WEBHOOK_TIMESTAMP"],
    "webhook-signature" => request.env["HTTP_WEBHOOK_SIGNATURE"],
  }
  begin
    # Checks webhook-signature over webhook-id, webhook-timestamp (at most 5 minutes old) and
    # the raw body, then parses the body.
    booking = WEBHOOK.verify(body, headers)
  rescue StandardError
    halt 400, "invalid webhook-signature"
  end
  halt 400, "invalid x-timekit-signature" unless timekit_signature_ok?(body, request.env["HTTP_X_TIMEKIT_SIGNATURE"])
  # webhook-id is the same on every retry of a message: handle each id once.
  puts "#{headers["webhook-id"]}: booking #{booking["id"]} is #{booking["state"]}"
  status 204
end
