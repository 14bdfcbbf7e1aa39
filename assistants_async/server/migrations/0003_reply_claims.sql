-- Idempotency keys claimed before their request runs: a row of `replies` whose `claim`
-- is set is a request in flight (its owner's name), held until `claimed_until` (Unix
-- seconds) unless renewed; its reply fills the row and clears the claim. A claim whose
-- holder stopped renewing it (the process died) is taken by the next request.
ALTER TABLE replies ADD COLUMN claim TEXT;
ALTER TABLE replies ADD COLUMN claimed_until REAL;
-- The claims alone (few at any time), for their renewal by owner.
CREATE INDEX replies_claims ON replies (claim) WHERE claim IS NOT NULL;
