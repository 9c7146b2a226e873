-- The server (node) that runs a deployment. Several servers may share one
-- PostgreSQL database; each runs and reconciles only its own deployments.
-- An empty node (rows from before this column) is claimed by the first
-- server that reconciles it.
ALTER TABLE deployments ADD COLUMN node TEXT NOT NULL DEFAULT '';
