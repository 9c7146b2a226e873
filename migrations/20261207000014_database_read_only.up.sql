-- A database over its size quota (--database-max-mib) is made read-only
-- by the usage sampler until it shrinks below it again.
ALTER TABLE deployment_databases ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT FALSE;
