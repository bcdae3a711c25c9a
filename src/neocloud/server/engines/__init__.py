"""The control plane's view of the engines: the registry, building engines from the fleet file,
their health and the nodes they report, the fleet check, and the drain policy.
"""
