DROP TABLE project_secrets;
--bun:split
ALTER TABLE projects DROP COLUMN env;
