"""The control plane: HTTP API, auth, services and the control loops."""
