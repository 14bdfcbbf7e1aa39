-- The sweep deletes expired idempotency replies by expiry, without reading them all.
CREATE INDEX replies_expiry ON replies (expires_at);
