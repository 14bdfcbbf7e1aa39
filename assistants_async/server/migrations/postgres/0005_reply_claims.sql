-- Idempotency keys claimed before their request runs, so that two processes given one
-- key at once do not both run it: a row of `replies` whose `claim` is set is a request
-- in flight (its owner's name), held until `claimed_until` (the database's clock, so
-- the processes' clocks need not agree) unless its process renews it; its reply fills
-- the row and clears the claim. A claim whose process died lapses with it.
ALTER TABLE replies ADD COLUMN claim TEXT;
ALTER TABLE replies ADD COLUMN claimed_until TIMESTAMPTZ;
-- The claims alone (few at any time), for their renewal by owner.
CREATE INDEX replies_claims ON replies (claim) WHERE claim IS NOT NULL;
