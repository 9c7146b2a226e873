// Package projects groups a user's deployments. Every user has a default
// project, made the first time one is needed, where deployments created
// without a project go. A project holds deployments by their project_id;
// what is in one is asked of the orchestrator.
package projects
