// Package appdb gives deployments databases of their own: a PostgreSQL
// database and role per deployment on the server CodeRunner manages (its
// embedded cluster, pgembed, or one named by --apps-postgres-url), the
// role's password sealed by server/secrets, and what a sandbox needs to
// reach it: the variables (DATABASE_URL, PG*) and a forward of
// 127.0.0.1:5432 inside the sandbox to that server.
package appdb
