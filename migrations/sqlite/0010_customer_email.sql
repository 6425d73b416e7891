-- Finding bookings and messages by a customer's email (the panel's search box, the API's
-- search=customer:…): the email as matched, ignoring case, with the booking it belongs to.
CREATE INDEX customers_email ON customers (lower(email), booking_id);
