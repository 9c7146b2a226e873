DROP TABLE deployment_databases;
