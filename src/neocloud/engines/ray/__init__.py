"""The Ray engine: attempts as Ray jobs, through the dashboard's HTTP API."""
