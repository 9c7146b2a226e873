DROP INDEX deployments_slug_key;

--bun:split

CREATE UNIQUE INDEX deployments_slug_key ON deployments (slug);

--bun:split

DROP TABLE deployment_events;
